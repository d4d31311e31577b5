"""`data.name=npz`: any .npz of poses as a train and/or test split."""
import numpy as np
import pytest

from jaxpose.data import datasets
from jaxpose.data import npz_poses
from jaxpose.pose import cameras as cam_lib

INTR = np.array([1100.0, 1090.0, 480.0, 500.0, 960.0, 1000.0])


def _poses(n, seed=0):
  """[n, 17, 3] absolute camera-frame mm, about 4.5 m in front."""
  rng = np.random.default_rng(seed)
  body = rng.uniform(-400, 400, size=(n, 17, 3))
  return body + rng.uniform([-500, -300, 4000], [500, 300, 5000], size=(n, 1, 3))


def _config(**kw):
  from experiments.configs import gfpose_h36m
  data = gfpose_h36m.get_config().data
  data.update(dict(dict(name="npz"), **kw))
  return data


def _pinhole(cam_mm, intr):
  return cam_mm[..., :2] / cam_mm[..., 2:] * intr[..., None, 0:2] + intr[..., None, 2:4]


def test_camera_frame_poses_projected_and_named(tmp_path):
  pose = _poses(6)
  acts = np.array(["walk", "sit", "walk", "jump", "sit", "walk"])
  np.savez(tmp_path / "train.npz", pose3d=pose, intrinsics=INTR, activity=acts)
  px = _pinhole(pose[:4], INTR) + 3.0  # a detector's 2D, not the projection
  np.savez(tmp_path / "test.npz", pose3d=pose[:4], intrinsics=np.tile(INTR, (4, 1)),
           pose2d=px)
  ds = datasets.load(_config(train_path=str(tmp_path / "train.npz"),
                             test_path=str(tmp_path / "test.npz")))
  train, test = ds.splits["train"], ds.splits["test"]
  np.testing.assert_allclose(train["pose3d"], pose - pose[:, :1], atol=1e-3)
  np.testing.assert_allclose(train["root_cam_mm"], pose[:, 0], atol=1e-3)
  np.testing.assert_allclose(train["intrinsics"], np.tile(INTR, (6, 1)))
  # Projected when absent, screen-normalised: u/w*2 - 1, v/w*2 - h/w.
  want = _pinhole(pose, INTR) / 960 * 2 - [1, 1000 / 960]
  np.testing.assert_allclose(train["pose2d"], want, atol=1e-5)
  np.testing.assert_allclose(test["pose2d"], px / 960 * 2 - [1, 1000 / 960], atol=1e-5)
  assert ds.activity_names["train"] == ("jump", "sit", "walk")
  assert [ds.activity_names["train"][i] for i in train["activity"]] == list(acts)
  assert ds.activity_names["test"] == () and (test["activity"] == 0).all()
  assert ds.input_2d == {"train": "exact", "test": "given (test.npz)"}
  np.testing.assert_array_equal(train["row"], np.arange(6))


def test_world_poses_with_file_cameras(tmp_path):
  pose_cam = _poses(5, seed=1)
  cam = cam_lib.look_at_camera((3000.0, -2000.0, 1500.0), (0.0, 0.0, 900.0))
  world = cam_lib.camera_to_world(pose_cam, cam)
  np.savez(tmp_path / "w.npz", pose3d_world=world, camera_R=cam.R, camera_t=cam.t,
           intrinsics=INTR)
  split, _, given = npz_poses.load_file(tmp_path / "w.npz")
  assert not given
  np.testing.assert_allclose(split["root_cam_mm"], pose_cam[:, 0], atol=1e-2)
  np.testing.assert_allclose(split["pose3d"], pose_cam - pose_cam[:, :1], atol=1e-2)


def test_world_poses_with_the_published_cameras(tmp_path):
  rng = np.random.default_rng(2)
  world = rng.uniform([-300, -300, 100], [300, 300, 1700], size=(3, 17, 3))
  np.savez(tmp_path / "w.npz", pose3d_world=world, activity=np.array(["a", "b", "a"]))
  ds = datasets.load(_config(test_path=str(tmp_path / "w.npz"), train_path=str(tmp_path / "w.npz"),
                             cameras="h36m:S9"))
  test = ds.splits["test"]
  assert len(test["pose3d"]) == 12
  np.testing.assert_array_equal(test["camera"], np.tile(np.arange(4), 3))
  np.testing.assert_array_equal(test["row"], np.repeat(np.arange(3), 4))
  assert [ds.activity_names["test"][i] for i in test["activity"]] == ["a"] * 4 + ["b"] * 4 + ["a"] * 4
  cams = cam_lib.h36m_cameras("S9")
  for c, cam in enumerate(cams):
    in_cam = cam_lib.world_to_camera(world, cam)
    np.testing.assert_allclose(test["root_cam_mm"][c::4], in_cam[:, 0], atol=1e-2)
    px = cam_lib.project(in_cam, cam, distort=True)
    np.testing.assert_allclose(
        test["pose2d"][c::4], cam_lib.normalize_screen(px, cam.width, cam.height), atol=1e-5)


def test_test_only_file_gives_an_empty_train_split(tmp_path):
  np.savez(tmp_path / "t.npz", pose3d=_poses(4), intrinsics=INTR)
  ds = datasets.load(_config(test_path=str(tmp_path / "t.npz")))
  assert len(ds.splits["test"]["pose3d"]) == 4
  train = ds.splits["train"]
  assert set(train) == set(ds.splits["test"]) and len(train["pose3d"]) == 0
  assert train["pose3d"].shape == (0, 17, 3) and ds.input_2d["train"] == "none"


def test_root_relative_3d_with_2d_has_no_camera_fields(tmp_path):
  pose = _poses(3)
  np.savez(tmp_path / "r.npz", pose3d=pose - pose[:, :1], pose2d=_pinhole(pose, INTR),
           intrinsics=INTR)
  split, _, given = npz_poses.load_file(tmp_path / "r.npz")
  assert given and "root_cam_mm" not in split and "intrinsics" not in split


@pytest.mark.parametrize("keys, cameras, match", [
    (dict(pose=np.zeros((3, 17, 3))), "",
     r"bad.npz: expected exactly one of 'pose3d'.*found keys \['pose'\]"),
    (dict(pose3d=np.zeros((3, 16, 3)), intrinsics=INTR), "",
     r"bad.npz: 'pose3d': expected .*\(N, 17, 3\), got \(3, 16, 3\)"),
    (dict(pose3d=_poses(3)), "", r"bad.npz: missing key 'intrinsics'"),
    (dict(pose3d=_poses(3), intrinsics=INTR[:5]), "",
     r"'intrinsics': expected .*\(6\) or \(3, 6\), got \(5,\)"),
    (dict(pose3d=_poses(3), intrinsics=INTR, pose2d=np.zeros((2, 17, 2))), "",
     r"'pose2d': expected .*\(3, 17, 2\), got \(2, 17, 2\)"),
    (dict(pose3d_world=_poses(3), intrinsics=INTR, camera_R=np.eye(3)), "",
     r"'pose3d_world' needs the cameras: missing key\(s\) \['camera_t'\]"),
    (dict(pose3d_world=_poses(3), intrinsics=INTR, camera_R=2 * np.eye(3),
          camera_t=np.zeros(3)), "", r"'camera_R': expected rotation matrices"),
    (dict(pose3d=_poses(3) - 9000.0, intrinsics=INTR), "", r"behind the camera"),
    (dict(pose3d=_poses(3)), "h36m:S1", r"views world poses"),
    (dict(pose3d_world=_poses(3), intrinsics=INTR), "h36m:S1", r"also has \['intrinsics'\]"),
    (dict(pose3d=_poses(3), intrinsics=INTR, activity=np.array(["a"])), "",
     r"'activity': expected shape \(3,\)"),
])
def test_errors_name_the_file_and_key(tmp_path, keys, cameras, match):
  np.savez(tmp_path / "bad.npz", **keys)
  with pytest.raises(npz_poses.NpzPosesError, match=match):
    npz_poses.load_file(tmp_path / "bad.npz", cameras)


def test_config_errors(tmp_path):
  with pytest.raises(ValueError, match="data.train_path, data.test_path: both empty"):
    datasets.load(_config())
  with pytest.raises(FileNotFoundError, match="nope.npz"):
    datasets.load(_config(train_path=str(tmp_path / "nope.npz")))
  np.savez(tmp_path / "w.npz", pose3d_world=_poses(2))
  with pytest.raises(ValueError, match="data.cameras: expected '' or 'h36m:<subject>'"):
    datasets.load(_config(train_path=str(tmp_path / "w.npz"), cameras="S1"))
  with pytest.raises(ValueError, match="data.cameras: .*'S2'"):
    datasets.load(_config(train_path=str(tmp_path / "w.npz"), cameras="h36m:S2"))


def test_a_test_file_alone_evaluates_a_model(tmp_path):
  from experiments.configs import baseline_h36m
  from jaxpose import run_lib
  np.savez(tmp_path / "train.npz", pose3d=_poses(64), intrinsics=INTR)
  np.savez(tmp_path / "test.npz", pose3d=_poses(8), intrinsics=INTR,
           activity=np.array(["x", "y"] * 4))
  config = baseline_h36m.get_config()
  config.data.update(name="npz", train_path=str(tmp_path / "train.npz"))
  config.model.update(hidden=32)
  config.train.update(num_steps=4, batch_size=16, log_every=2, ckpt_every=4)
  config.eval.update(plot_poses=0, lift_batch_size=8)
  workdir = str(tmp_path / "w")
  run_lib.train(config, workdir)
  # Trained elsewhere; scored on a test file alone, from the workdir.
  results = run_lib.evaluate(run_lib.evaluation_config(workdir, {
      "data.train_path": "", "data.test_path": str(tmp_path / "test.npz")}),
      workdir)
  assert results["num_poses"] == 8 and np.isfinite(results["mpjpe_mm"])
  assert results["activity_names"] == ["x", "y"]
  assert set(results["per_activity"]["mpjpe_mm"]) in ({"x", "y"}, {"0", "1"})
  assert (tmp_path / "w" / "eval").is_dir()