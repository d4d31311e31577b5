"""GFPose's own pose space ("image"): encode/decode, datasets, end to end."""
import functools
import json

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from experiments.configs import baseline_quickstart
from experiments.configs import quickstart
from jaxpose import methods
from jaxpose import run_lib
from jaxpose.methods import lifting
from jaxpose.pose import cameras as cam_lib
from jaxpose.pose import image_space
from jaxpose.pose import representation as rep_lib
from jaxpose.data import datasets
from jaxpose.data import mocap_2d
from jaxpose.data import synthetic
from jaxpose.data import synthetic_poses


@functools.lru_cache(maxsize=None)
def _synthetic_split():
  return synthetic.make_lifting_dataset(64, 8, seed=3)["train"]


def _random_poses(rng, lead, j=5):
  """Camera-frame poses about 4-6 m away with random per-row intrinsics."""
  root = np.stack([rng.uniform(-500, 500, lead), rng.uniform(-300, 300, lead),
                   rng.uniform(4000, 6000, lead)], -1)
  pose = root[..., None, :] + rng.normal(0, 300, lead + (j, 3))
  intr = np.stack([rng.uniform(900, 1300, lead), rng.uniform(900, 1300, lead),
                   rng.uniform(480, 520, lead), rng.uniform(380, 420, lead),
                   np.full(lead, 1000.0), np.full(lead, 800.0)], -1)
  return pose, intr


# --- image_space: the pure maps ---


def test_hand_made_two_joint_pose():
  # Root on the optical axis 5 m away; the second joint 0.5 m further back.
  fx = fy = 1000.0
  cx, cy, w, h = 510.0, 400.0, 1000.0, 800.0
  intr = np.array([fx, fy, cx, cy, w, h])
  pose = np.array([[0.0, 0.0, 5000.0], [100.0, -200.0, 5500.0]])
  got = image_space.encode(pose, intr)
  # u = 510 + 1000 * 100 / 5500, u_n = u / 500 - 1; v_n = v / 500 - 0.8;
  # z_n = 500 * 1000 / 5000 / 500 = 0.2.
  want = np.array([[0.02, 0.0, 0.0],
                   [0.02 + 200 / 5500, -400 / 5500, 0.2]])
  np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
  np.testing.assert_allclose(image_space.decode(want, intr, 5000.0), pose,
                             rtol=0, atol=1e-9)


def test_encode_matches_cameras_projection_and_dataset_2d():
  s = _synthetic_split()
  cams = cam_lib.virtual_cameras(4)
  enc = image_space.encode(s["pose3d_cam"].astype(np.float64), s["intrinsics"])
  for c, cam in enumerate(cams):
    idx = s["camera"] == c
    screen = cam_lib.normalize_screen(
        cam_lib.project(s["pose3d_cam"][idx].astype(np.float64), cam),
        cam.width, cam.height)
    np.testing.assert_allclose(enc[idx, :, :2], screen, atol=1e-9)
  np.testing.assert_allclose(enc[..., :2], s["pose2d"], atol=2e-6)
  np.testing.assert_array_equal(enc[:, 0, 2], 0.0)  # root depth is the origin


def test_exact_round_trip_float64_numpy_and_jit():
  pose, intr = _random_poses(np.random.default_rng(0), (3, 4))
  back = image_space.decode(image_space.encode(pose, intr), intr, pose[..., 0, 2])
  assert back.dtype == np.float64
  np.testing.assert_allclose(back, pose, rtol=0, atol=1e-9)
  with jax.enable_x64(True):
    f = jax.jit(lambda p, k: image_space.decode(
        image_space.encode(p, k), k, p[..., 0, 2]))
    back_j = f(jnp.asarray(pose), jnp.asarray(intr))
    assert back_j.dtype == jnp.float64
    np.testing.assert_allclose(np.asarray(back_j), pose, rtol=0, atol=1e-9)


def test_intrinsics_broadcast_over_hypotheses():
  pose, intr = _random_poses(np.random.default_rng(1), (4,))
  hyps = np.stack([pose, pose + 1.0])  # [H=2, N=4, J, 3], meta per N
  enc = image_space.encode(hyps, intr)
  np.testing.assert_allclose(enc[0], image_space.encode(pose, intr), atol=1e-12)


def test_bad_inputs_are_named():
  pose, intr = _random_poses(np.random.default_rng(2), (2,))
  with pytest.raises(ValueError, match="intrinsics"):
    image_space.encode(pose, intr[:, :4])
  with pytest.raises(ValueError, match="pose_cam_mm"):
    image_space.encode(pose[..., :2], intr)
  with pytest.raises(ValueError, match="in front"):
    image_space.encode(pose * np.array([1, 1, -1]), intr)
  bad = pose.copy()
  bad[0, 1, 0] = np.nan
  with pytest.raises(ValueError, match="non-finite"):
    image_space.encode(bad, intr)
  with pytest.raises(ValueError, match="root_depth_mm"):
    image_space.decode(pose, intr, np.zeros(2))
  with pytest.raises(ValueError, match="root_cam_mm"):
    image_space.check_meta({"intrinsics": intr})


# --- Representation ---


def test_space_validation_and_default():
  with pytest.raises(ValueError, match="root_relative, image"):
    rep_lib.Representation(space="pixels")
  cfg = quickstart.get_config().representation
  assert cfg.space == "root_relative"
  old = ml_collections.ConfigDict({k: v for k, v in cfg.items() if k != "space"})
  assert rep_lib.Representation.from_section(old).space == "root_relative"
  cfg.space = "image"
  rep = rep_lib.Representation.from_section(cfg)
  assert rep.space == "image" and rep.to_dict()["space"] == "image"
  with pytest.raises(ValueError, match="camera_meta"):
    rep.pose3d_to_model(_synthetic_split()["pose3d"])


def test_root_relative_space_unchanged():
  s = _synthetic_split()
  rep = rep_lib.Representation(scale_3d_mm=300.0, scale_2d=7.0)
  meta = image_space.camera_meta(s)
  x = rep.pose3d_to_model(s["pose3d_cam"], meta)  # meta is ignored here
  np.testing.assert_array_equal(
      x, (s["pose3d_cam"] - s["pose3d_cam"][:, :1]) * np.float32(1.0 / 300.0))
  np.testing.assert_array_equal(rep.pose3d_from_model(x, meta), x * np.float32(300.0))
  np.testing.assert_array_equal(rep.pose2d_to_model(s["pose2d"]),
                                (s["pose2d"] - s["pose2d"][:, :1]) * 7.0)


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-3), (np.float32, 1e-2)])
def test_representation_round_trip_on_dataset_rows(dtype, tol):
  s = _synthetic_split()
  rep = rep_lib.Representation(scale_2d=7.0, data_scale=0.5, space="image")
  meta = {k: v.astype(dtype) for k, v in image_space.camera_meta(s).items()}
  rel = s["pose3d"].astype(dtype)
  x = rep.pose3d_to_model(rel, meta)
  assert x.dtype == dtype
  back = rep.pose3d_from_model(x, meta)
  assert np.max(np.abs(back - rel)) < tol
  # Same scale for the 2D condition and the pose's (x, y): they coincide.
  c = rep.pose2d_to_model(s["pose2d"].astype(dtype))
  np.testing.assert_allclose(c, x[..., :2], atol=1e-5)
  # The 3D target is absolute in the image: the root is not at the origin.
  assert np.max(np.abs(x[:, 0, :2])) > 0.1 and np.all(x[:, 0, 2] == 0)


def test_generation_falls_back_to_the_nominal_camera():
  rep = rep_lib.Representation(scale_2d=7.0, space="image")
  x = np.random.default_rng(4).normal(0, 1, (2, 3, 17, 3))
  nominal = image_space.nominal_meta((3,))
  with_meta = rep.pose3d_from_model(x, nominal)  # relative to the true root
  # Without a camera (generated poses: no true root) each pose is centred on
  # its own root.
  np.testing.assert_allclose(rep.pose3d_from_model(x),
                             with_meta - with_meta[..., :1, :], atol=1e-9)
  assert nominal["root_cam_mm"][0, 2] == image_space.NOMINAL_ROOT_DEPTH_MM
  # With a camera the predicted root's error is kept, as in the authors'
  # evaluation: a root shifted in depth stays shifted.
  shifted = x.copy()
  shifted[..., 0, 2] += 0.5
  moved = rep.pose3d_from_model(shifted, nominal) - with_meta
  assert np.all(np.abs(moved[..., 0, 2]) > 1.0)


# --- datasets carry the camera fields ---


def test_mocap_add_2d_carries_camera_fields():
  world = synthetic_poses.generate_poses(3, seed=5)["pose3d"]
  opts = mocap_2d.LiftingOptions(distort=False, distance_mm=4500.0)
  out = mocap_2d.add_2d("test", {"pose3d_world": world}, options=opts)
  cams = mocap_2d.protocol_cameras("S1")
  assert out["root_cam_mm"].shape == (12, 3) and out["intrinsics"].shape == (12, 6)
  np.testing.assert_array_equal(out["root_cam_mm"], [[0.0, 0.0, 4500.0]] * 12)
  np.testing.assert_array_equal(out["intrinsics"][5],
                                image_space.intrinsics_of(cams[out["camera"][5]]))
  # Without distortion the 2D input is exactly the image target's (x, y).
  enc = image_space.encode(out["pose3d"] + out["root_cam_mm"][:, None],
                           out["intrinsics"])
  np.testing.assert_allclose(enc[..., :2], out["pose2d"], atol=1e-5)


def test_load_data_keeps_fields_and_refuses_datasets_without_them(monkeypatch):
  config = quickstart.get_config()
  config.data.update(n_train=20, n_test=6)
  config.representation.space = "image"
  _, run = methods.parse(config)
  splits = lifting.load_data(run).splits
  assert splits["test"]["intrinsics"].shape == (6, 6)
  assert splits["train"]["root_cam_mm"].shape == (20, 3)
  monkeypatch.setitem(datasets._LOADERS, "synthetic", lambda c: {
      "train": {k: v for k, v in _synthetic_split().items()
                if k in ("pose3d", "pose2d")}})
  with pytest.raises(ValueError, match="root_cam_mm, intrinsics"):
    lifting.load_data(run)


# --- end to end ---


@pytest.mark.slow
def test_train_and_evaluate_in_image_space(tmp_path):
  c = quickstart.get_config()
  c.representation.space = "image"
  c.model.update(hidden=64, embed_dim=32, num_groups=8)
  c.data.update(n_train=500, n_test=16)
  c.train.update(num_steps=50, batch_size=64, log_every=25, ckpt_every=50,
                 warmup_steps=5)
  c.eval.update(num_steps=10, num_hypotheses=3, num_poses=8, batch_poses=8,
                plot_poses=1, plot_hypotheses=3)
  method, run = methods.parse(c)
  # The test rows' cameras reach the mm conversion: the targets come back.
  test = method.load_data(run, {}).splits["test"]
  model = method.build(run, {}, {})
  back = model.to_mm(test["pose3d"][None], test)
  np.testing.assert_allclose(back[0], test["pose3d_mm"], atol=1e-2)
  run_lib.train(c, str(tmp_path))
  run_lib.evaluate(c, str(tmp_path))
  res = json.loads((tmp_path / "eval" / "estimate.json").read_text())
  assert res["num_poses"] == 8 and res["num_hypotheses"] == 3
  assert np.isfinite(res["mpjpe_mm"]) and np.isfinite(res["min_mpjpe_mm"])
  fp = json.loads((tmp_path / "checkpoints" / "fingerprint.json").read_text())
  assert fp["representation"]["space"] == "image"
  poses = run_lib.sample(c, str(tmp_path))  # eval.num_poses of them
  assert poses.shape == (8, 17, 3) and np.all(np.isfinite(poses))
  np.testing.assert_array_equal(poses[:, 0], 0.0)  # root-relative mm
  # Nothing to draw still writes the samples (and no picture).
  (tmp_path / "samples.png").unlink()
  c.eval.plot_hypotheses = 0
  run_lib.sample(c, str(tmp_path))
  with np.load(tmp_path / "samples.npz") as saved:
    assert saved["pose3d_mm"].shape == (8, 17, 3)
  assert not (tmp_path / "samples.png").exists()


def test_baseline_lifter_in_image_space(tmp_path):
  c = baseline_quickstart.get_config()
  c.representation.space = "image"
  c.model.update(hidden=32, dropout=0.1)
  c.data.update(n_train=200, n_test=10)
  c.train.update(num_steps=10, batch_size=32, log_every=5, ckpt_every=10,
                 warmup_steps=5)
  c.eval.update(num_poses=6, lift_batch_size=6)
  res = run_lib.run("train_and_eval", c, str(tmp_path))
  assert res["num_poses"] == 6 and np.isfinite(res["mpjpe_mm"])
