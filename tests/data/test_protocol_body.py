"""load_protocol(..., body=True): body-space rows aligned with pose17."""
import numpy as np
import pytest

from jaxpose.data import mocap_cache, mocap_protocol


def _fake_cache(path, subjects, frames_per_clip, *, body=True, stride=1):
  """One clip per subject; every body value encodes (clip, frame) so a test
  can tell which cache row a split row came from."""
  c, f = len(subjects), frames_per_clip
  n = c * f
  clip = np.repeat(np.arange(c, dtype=np.int32), f)
  frame = np.tile(np.arange(f, dtype=np.int32) * stride, c)
  tag = (1000 * clip + frame).astype(np.float64)  # [N], unique per row
  arrays = dict(
      version=np.int32(mocap_cache.CACHE_VERSION), stride=np.int32(stride),
      pose17=np.broadcast_to(tag[:, None, None], (n, 17, 3)).astype(np.float32),
      clip=clip, frame=frame,
      subject=np.repeat(np.arange(c, dtype=np.int16), f),
      subject_names=np.array(subjects), clip_names=np.array([f"{s}_01" for s in subjects]))
  if body:
    arrays.update(
        body_pose=np.broadcast_to(tag[:, None], (n, 63)).copy(),  # float64 on purpose
        body_root_orient=np.broadcast_to(tag[:, None] + 0.5, (n, 3)).copy(),
        body_trans=np.broadcast_to(tag[:, None] + 0.25, (n, 3)).copy(),
        body_bone_lengths=np.broadcast_to(
            100.0 + np.arange(c)[:, None], (c, 22)).copy())  # [C, 22]
  mocap_cache.save_cache(path, arrays)


_CMU = ["001", "002", "003", "005", "006", "007"]


def test_body_rows_follow_pose_rows(tmp_path):
  _fake_cache(tmp_path / "bandai.npz", ["bandai-1", "bandai-2"], 4)
  _fake_cache(tmp_path / "cmu.npz", _CMU, 8)
  out = mocap_protocol.load_protocol("jaxpose-mocap-v1", tmp_path, body=True)
  for name in ("train", "test"):
    s = out[name]
    n = len(s["pose3d"])
    shapes = dict(body_pose=(n, 63), body_root_orient=(n, 3), body_trans=(n, 3),
                  body_bone_lengths=(n, 22))
    for key, shape in shapes.items():
      assert s[key].shape == shape and s[key].dtype == np.float32, key
    tag = s["pose3d_world"][:, 0, 0]  # the cache row's (clip, frame) code
    np.testing.assert_array_equal(s["body_pose"], np.broadcast_to(tag[:, None], (n, 63)))
    np.testing.assert_array_equal(s["body_root_orient"][:, 1], tag + 0.5)
    np.testing.assert_array_equal(s["body_trans"][:, 2], tag + 0.25)
    # Bone lengths are the row's clip's: 100 + clip index in its cache.
    np.testing.assert_array_equal(s["body_bone_lengths"][:, 5], 100 + tag // 1000)
  # CMU test subjects 005 and 007 are clips 3 and 5; stride 4 of 8 frames.
  np.testing.assert_array_equal(out["test"]["body_bone_lengths"][:, 0], [103, 103, 105, 105])
  np.testing.assert_array_equal(out["test"]["body_trans"][:, 0],
                                [3000.25, 3004.25, 5000.25, 5004.25])


def test_without_body_the_splits_are_unchanged(tmp_path):
  _fake_cache(tmp_path / "bandai.npz", ["bandai-1"], 4)
  _fake_cache(tmp_path / "cmu.npz", _CMU, 8)
  plain = mocap_protocol.load_protocol("jaxpose-mocap-v1", tmp_path)
  with_body = mocap_protocol.load_protocol("jaxpose-mocap-v1", tmp_path, body=True)
  for name in ("train", "test"):
    assert not any(k.startswith("body_") for k in plain[name])
    for k, v in plain[name].items():
      np.testing.assert_array_equal(with_body[name][k], v)


def test_add_2d_sees_the_body_arrays(tmp_path):
  _fake_cache(tmp_path / "bandai.npz", ["bandai-1"], 4)
  _fake_cache(tmp_path / "cmu.npz", _CMU, 8)
  out = mocap_protocol.load_protocol(
      "jaxpose-mocap-v1", tmp_path, body=True,
      add_2d=lambda name, s: {"n_body": len(s["body_pose"])})
  assert out["test"]["n_body"] == len(out["test"]["pose3d"]) == 4


def test_old_cache_without_body_keys_names_file_and_command(tmp_path):
  _fake_cache(tmp_path / "bandai.npz", ["bandai-1"], 4, body=False)
  _fake_cache(tmp_path / "cmu.npz", _CMU, 8)
  mocap_protocol.load_protocol("jaxpose-mocap-v1", tmp_path)  # fine without body
  with pytest.raises(mocap_cache.CacheError) as err:
    mocap_protocol.load_protocol("jaxpose-mocap-v1", tmp_path, body=True)
  msg = str(err.value)
  assert str(tmp_path / "bandai.npz") in msg and "body_pose" in msg
  assert "python -m experiments.prepare --dataset=bandai" in msg


def test_body_array_of_the_wrong_shape_is_named(tmp_path):
  _fake_cache(tmp_path / "bandai.npz", ["bandai-1"], 4)
  _fake_cache(tmp_path / "cmu.npz", _CMU, 8)
  cache = mocap_cache.load_cache(tmp_path / "cmu.npz")
  cache["body_bone_lengths"] = cache["body_bone_lengths"][:, :21]
  mocap_cache.save_cache(tmp_path / "cmu.npz", cache)
  with pytest.raises(mocap_cache.CacheError, match=r"body_bone_lengths has shape \(6, 21\)"):
    mocap_protocol.load_protocol("jaxpose-mocap-v1", tmp_path, body=True)
