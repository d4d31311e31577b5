"""Readers of VideoPose3D and AMASS files, on small files in the exact layouts."""
import numpy as np
import pytest

from jaxpose.data import amass, file_checks, videopose3d
from jaxpose.pose.skeleton import H36M_17


def _write_3d(path, positions):
  np.savez_compressed(path, positions_3d=positions)


def test_videopose3d_3d_keeps_the_17_joints_in_mm(tmp_path):
  rng = np.random.default_rng(0)
  walk = rng.normal(size=(5, 32, 3)).astype(np.float32)
  # Tag joints so the kept indices are visible: joint i holds x = i.
  walk[:, :, 0] = np.arange(32)
  path = tmp_path / "data_3d_h36m.npz"
  _write_3d(path, {"S1": {"Walking": walk, "Sitting 1": walk[:2]}, "S9": {"Eating": walk[:3]}})
  out = videopose3d.load_videopose3d_3d(path)
  assert set(out) == {"S1", "S9"} and set(out["S1"]) == {"Walking", "Sitting 1"}
  got = out["S1"]["Walking"]
  assert got.shape == (5, 17, 3) and got.dtype == np.float32
  # VideoPose3D removes joints 4, 5, 9, 10, 11, 16, 20-24, 28-31.
  removed = {4, 5, 9, 10, 11, 16, 20, 21, 22, 23, 24, 28, 29, 30, 31}
  np.testing.assert_array_equal(got[0, :, 0] / 1000, sorted(set(range(32)) - removed))
  np.testing.assert_allclose(got[..., 1], walk[:, videopose3d.H36M32_TO_17, 1] * 1000, rtol=1e-6)
  assert videopose3d.load_videopose3d_3d(path, to_mm=False)["S9"]["Eating"].shape == (3, 17, 3)


def test_videopose3d_3d_errors(tmp_path):
  path = tmp_path / "bad.npz"
  np.savez(path, positions=np.zeros(3))
  with pytest.raises(file_checks.FormatError, match="missing key.*positions_3d"):
    videopose3d.load_videopose3d_3d(path)
  _write_3d(path, {"S1": {"Walking": np.zeros((4, 30, 3))}})
  with pytest.raises(file_checks.FormatError, match=r"\['S1'\]\['Walking'\].*\(F, 32, 3\).*\(4, 30, 3\)"):
    videopose3d.load_videopose3d_3d(path)


def _meta(**kw):
  meta = dict(layout_name="h36m", num_joints=17,
              keypoints_symmetry=[[4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]])
  meta.update(kw)
  return meta


def test_videopose3d_2d(tmp_path):
  rng = np.random.default_rng(1)
  cams = [rng.uniform(0, 1000, size=(6, 17, 2)).astype(np.float32) for _ in range(4)]
  path = tmp_path / "data_2d_h36m_gt.npz"
  np.savez_compressed(path, positions_2d={"S1": {"Walking": cams}}, metadata=_meta())
  pos, meta = videopose3d.load_videopose3d_2d(path)
  assert len(pos["S1"]["Walking"]) == 4
  np.testing.assert_array_equal(pos["S1"]["Walking"][2], cams[2])
  assert meta["layout_name"] == "h36m" and meta["num_joints"] == 17
  assert tuple(meta["keypoints_symmetry"][0]) == H36M_17.left


def test_videopose3d_2d_errors(tmp_path):
  path = tmp_path / "d.npz"
  np.savez(path, positions_2d={"S1": {}})
  with pytest.raises(file_checks.FormatError, match="metadata"):
    videopose3d.load_videopose3d_2d(path)
  np.savez(path, positions_2d={"S1": {"Walking": [np.zeros((3, 16, 2))]}}, metadata=_meta())
  with pytest.raises(file_checks.FormatError, match=r"\[0\]: expected shape \(F, 17, 2\), got \(3, 16, 2\)"):
    videopose3d.load_videopose3d_2d(path)
  np.savez(path, positions_2d={"S1": {}}, metadata=_meta(keypoints_symmetry=[[1, 2], [4, 5]]))
  with pytest.raises(file_checks.FormatError, match="keypoints_symmetry"):
    videopose3d.load_videopose3d_2d(path)
  np.savez(path, positions_2d=np.zeros(3), metadata=_meta())
  with pytest.raises(file_checks.FormatError, match="must be a dict"):
    videopose3d.load_videopose3d_2d(path)


@pytest.mark.parametrize("width, model, fps_key", [(156, "smplh", "mocap_framerate"),
                                                   (165, "smplx", "mocap_frame_rate")])
def test_amass(tmp_path, width, model, fps_key):
  f = 7
  poses = np.arange(f * width, dtype=np.float64).reshape(f, width)
  path = tmp_path / "seq_poses.npz"
  np.savez(path, poses=poses, trans=np.ones((f, 3)), betas=np.zeros(16),
           gender=np.array("female"), **{fps_key: np.array(120.0)})
  out = amass.load_amass(path)
  assert out["model"] == model and out["fps"] == 120.0 and out["gender"] == "female"
  np.testing.assert_array_equal(out["root_orient"], poses[:, :3])
  np.testing.assert_array_equal(out["pose_body"], poses[:, 3:66])
  assert out["pose_hand"].shape == (f, 90)
  np.testing.assert_array_equal(out["pose_hand"][:, -1], poses[:, -1])
  if model == "smplx":
    np.testing.assert_array_equal(out["pose_jaw"], poses[:, 66:69])
    assert out["pose_eye"].shape == (f, 6)
  assert out["trans"].shape == (f, 3) and out["betas"].shape == (16,)


def test_amass_errors(tmp_path):
  path = tmp_path / "a.npz"
  np.savez(path, poses=np.zeros((3, 72)), trans=np.zeros((3, 3)), betas=np.zeros(10),
           gender="male", mocap_framerate=60.0)
  with pytest.raises(file_checks.FormatError, match=r"'poses'.*\(F, 156\).*\(3, 72\)"):
    amass.load_amass(path)
  np.savez(path, poses=np.zeros((3, 156)), trans=np.zeros((3, 3)), betas=np.zeros(10),
           gender="male")
  with pytest.raises(file_checks.FormatError, match="mocap_framerate"):
    amass.load_amass(path)
  np.savez(path, poses=np.zeros((3, 156)), trans=np.zeros((2, 3)), betas=np.zeros(10),
           gender=b"male", mocap_framerate=60.0)
  with pytest.raises(file_checks.FormatError, match=r"'trans'.*\(3, 3\)"):
    amass.load_amass(path)
  (tmp_path / "junk.npz").write_text("not a zip")
  with pytest.raises(file_checks.FormatError, match="not a readable"):
    amass.load_amass(tmp_path / "junk.npz")


def test_nonfinite_values_are_refused_with_their_place(tmp_path):
  walk = np.ones((6, 32, 3))
  walk[4, 7, 1] = np.nan
  path = tmp_path / "data_3d_h36m.npz"
  _write_3d(path, {"S1": {"Walking": walk}})
  with pytest.raises(file_checks.FormatError,
                     match=r"\['S1'\]\['Walking'\]: 1 non-finite.*frame\(s\) \[4\] of 6"):
    videopose3d.load_videopose3d_3d(path)
  cams = [np.ones((3, 17, 2)), np.ones((3, 17, 2))]
  cams[1][0, 0, 0] = np.inf
  np.savez(path, positions_2d={"S1": {"Walking": cams}}, metadata=_meta())
  with pytest.raises(file_checks.FormatError, match=r"\['Walking'\]\[1\]: 1 non-finite"):
    videopose3d.load_videopose3d_2d(path)
  good = dict(poses=np.zeros((3, 156)), trans=np.zeros((3, 3)), betas=np.zeros(10),
              gender="male", mocap_framerate=60.0)
  for key in ("poses", "trans", "betas"):
    arrays = {k: np.array(v, copy=True) for k, v in good.items()}
    arrays[key].reshape(-1)[-1] = np.nan
    np.savez(path, **arrays)
    with pytest.raises(file_checks.FormatError, match=f"'{key}': 1 non-finite"):
      amass.load_amass(path)
  np.savez(path, **{**good, "mocap_framerate": 0.0})
  with pytest.raises(file_checks.FormatError, match="'mocap_framerate': expected a positive"):
    amass.load_amass(path)
