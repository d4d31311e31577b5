"""`data.mocap_pack` and `experiments.pack_caches`: a cache packed and
unpacked within half a grid step, clip by clip; what a position model
reads loads from it; what it lacks is refused by name."""
import numpy as np
import pytest

from experiments import pack_caches
from jaxpose.data import mocap_cache
from jaxpose.data import mocap_pack
from jaxpose.data import mocap_protocol


def _cache(clips=3, frames=20, seed=0, subjects=("001", "002", "003")):
  """A cache of walking points whose clips start far from where the one
  before ended, with body-space arrays whose angles wrap round."""
  rng = np.random.default_rng(seed)
  n = clips * frames
  clip = np.repeat(np.arange(clips, dtype=np.int32), frames)
  walk = np.cumsum(rng.normal(0, 15, (n, 17, 3)), axis=0)
  walk += 4000.0 * clip[:, None, None]  # each clip 4 m from the last
  angles = rng.uniform(-np.pi, np.pi, (n, 63))
  return dict(
      version=np.int32(mocap_cache.CACHE_VERSION), dataset=np.array("cmu"),
      rig=np.array("cmu"), stride=np.int32(1),
      pose17=walk.astype(np.float32), clip=clip,
      frame=np.tile(np.arange(frames, dtype=np.int32), clips),
      subject=(clip % len(subjects)).astype(np.int16),
      subject_names=np.array(subjects),
      clip_names=np.array([f"c{i}" for i in range(clips)]),
      clip_fps=np.full(clips, 30.0, np.float32),
      rotvec=rng.normal(size=(n, 27, 3)).astype(np.float32),
      body_pose=angles.astype(np.float32),
      body_root_orient=angles[:, :3].astype(np.float32),
      body_trans=walk[:, 0].astype(np.float32),
      body_bone_lengths=rng.uniform(50, 500, (clips, 22)).astype(np.float32))


def test_a_pack_unpacks_within_half_a_step_clip_by_clip():
  cache = _cache()
  packed = mocap_pack.pack(cache, body=True, resolution_mm=0.5,
                           resolution_rad=1e-4)
  assert packed["pose17"].dtype == np.int16  # small changes, even at clips
  # An angle wrapping round changes by 2 pi: more than int16 holds at 1e-4.
  assert packed["body_pose"].dtype == np.int32
  assert mocap_pack.pack(cache, body=True)["body_pose"].dtype == np.int16
  back = mocap_pack.unpack(packed)
  assert np.abs(back["pose17"] - cache["pose17"]).max() <= 0.25 + 1e-3
  assert np.abs(back["body_pose"] - cache["body_pose"]).max() <= 5e-5 + 1e-6
  np.testing.assert_array_equal(back["body_bone_lengths"],
                                cache["body_bone_lengths"])
  for key in ("clip", "frame", "subject", "subject_names", "clip_names",
              "clip_fps", "stride", "version"):
    np.testing.assert_array_equal(back[key], cache[key])
  assert "rotvec" not in back  # the rig's own rotations never travel
  assert packed["max_error"].max() <= 0.25 + 1e-3


def test_positions_only_load_for_a_position_model_and_refuse_the_body(
    tmp_path):
  packs, caches = tmp_path / "packs", tmp_path / "caches"
  originals = tmp_path / "originals"
  originals.mkdir()
  mocap_cache.save_cache(originals / "bandai.npz",
                         _cache(subjects=("bandai-1", "bandai-2"), seed=1))
  mocap_cache.save_cache(originals / "cmu.npz", _cache(
      clips=6, subjects=("001", "002", "003", "005", "006", "007")))
  measured = pack_caches.pack_all(str(originals), str(packs), body=False)
  assert measured["cmu"]["pack_bytes"] < measured["cmu"]["cache_bytes"]
  pack_caches.unpack_all(str(packs), str(caches))
  got = mocap_protocol.load_protocol("jaxpose-mocap-v1", caches)
  want = mocap_protocol.load_protocol("jaxpose-mocap-v1", originals)
  np.testing.assert_allclose(got["test"]["pose3d"], want["test"]["pose3d"],
                             atol=0.5)
  np.testing.assert_array_equal(got["train"]["clip"], want["train"]["clip"])
  with pytest.raises(mocap_cache.CacheError, match="body_pose"):
    mocap_protocol.load_protocol("jaxpose-mocap-v1", caches, body=True)


def test_what_cannot_be_packed_or_read_is_named(tmp_path):
  cache = _cache()
  del cache["body_pose"]
  with pytest.raises(ValueError, match="no body_pose.*without body=True"):
    mocap_pack.pack(cache, body=True)
  with pytest.raises(ValueError, match="must be > 0"):
    mocap_pack.pack(cache, resolution_mm=0.0)
  with pytest.raises(mocap_cache.CacheError, match="pack_version"):
    mocap_pack.unpack({"pack_version": np.int32(99)})
  bad = tmp_path / "bad.pack.npz"
  bad.write_bytes(b"not a zip")
  with pytest.raises(mocap_cache.CacheError, match="bad.pack.npz: not a "
                     "readable pack"):
    mocap_pack.read_pack(bad)
  assert pack_caches.main(["--cache_dir", str(tmp_path)]) == 1  # no --out
