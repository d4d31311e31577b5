"""The 2D side of jaxpose-mocap v1: cameras, placement, noise, the "mocap" dataset."""
import json

import numpy as np
import pytest

from jaxpose.pose import cameras as cam_lib
from jaxpose.data import datasets
from jaxpose.data import mocap_2d
from jaxpose.data import mocap_cache
from jaxpose.data import mocap_conversion
from jaxpose.data import synthetic_poses
from jaxpose.pose.skeleton import H36M_17

L_SH, R_SH = H36M_17.index("l_shoulder"), H36M_17.index("r_shoulder")
L_HIP, R_HIP = H36M_17.index("l_hip"), H36M_17.index("r_hip")
HEAD = H36M_17.index("head")


def _world_poses(n=400, seed=0):
  return synthetic_poses.generate_poses(n, seed=seed)["pose3d"]  # [N, 17, 3] Z up


@pytest.mark.parametrize("distort", [False, True])
def test_camera_frame_is_root_relative_and_in_image(distort):
  world = _world_poses()
  opts = mocap_2d.LiftingOptions(distort=distort, seed=3)
  out = mocap_2d.add_2d("train", {"pose3d_world": world}, options=opts)
  cams = mocap_2d.protocol_cameras("S1")
  assert out["camera"].shape == (len(world),) and set(out["camera"]) == {0, 1, 2, 3}
  np.testing.assert_allclose(out["pose3d"][:, 0], 0.0, atol=1e-4)
  # A rotation: distances to the root are those of the world pose.
  rel = world - world[:, :1]
  np.testing.assert_allclose(np.linalg.norm(out["pose3d"], axis=-1),
                             np.linalg.norm(rel, axis=-1), atol=1e-2)
  for c, cam in enumerate(cams):
    idx = out["camera"] == c
    # Same as the library's own placement followed by the world->camera map.
    placed = cam_lib.place_in_front(world[idx].astype(np.float64), cam, 5000.0)
    pose_cam = cam_lib.world_to_camera(placed, cam)
    np.testing.assert_allclose(out["pose3d"][idx], pose_cam - pose_cam[:, :1], atol=1e-2)
    np.testing.assert_allclose(pose_cam[:, 0], [[0, 0, 5000.0]] * idx.sum(), atol=1e-2)
    px = cam_lib.project(pose_cam, cam, distort=distort)
    np.testing.assert_allclose(out["pose2d_px"][idx], px, atol=1e-2)
    np.testing.assert_allclose(out["pose2d"][idx],
                               cam_lib.normalize_screen(px, cam.width, cam.height), atol=1e-5)
    p = out["pose2d_px"][idx]
    assert (p[..., 0] > 0).all() and (p[..., 0] < cam.width).all()
    assert (p[..., 1] > 0).all() and (p[..., 1] < cam.height).all()
  # The pelvis projects to (near) the principal point: it is on the axis.
  pelvis = out["pose2d_px"][:, 0]
  centres = np.stack([c.c for c in cams])[out["camera"]]
  assert np.abs(pelvis - centres).max() < (1e-2 if not distort else 1.0)


def test_handedness_is_preserved():
  """A proper rotation keeps the sign of (left, up, forward) triple products."""
  world = _world_poses(300, seed=1)
  out = mocap_2d.add_2d("test", {"pose3d_world": world})
  rep = np.repeat(world, 4, axis=0)

  def triple(p):
    return np.linalg.det(np.stack([p[:, L_HIP] - p[:, R_HIP], p[:, HEAD] - p[:, 0],
                                   p[:, L_SH] - p[:, 0]], axis=1))
  np.testing.assert_array_equal(np.sign(triple(out["pose3d"])), np.sign(triple(rep)))


def _person(facing_deg):
  """A hand-built upright person at the origin facing azimuth `facing_deg`.

  Anatomy fixes the chirality: with forward F and up U, the person's left
  is U x F (facing +y with Z up, the left hand is at -x).
  """
  a = np.deg2rad(facing_deg)
  fwd = np.array([np.cos(a), np.sin(a), 0.0])
  up = np.array([0.0, 0.0, 1.0])
  left = np.cross(up, fwd)
  p = np.zeros((17, 3))
  for j, (l, u) in {"r_hip": (-130, 0), "r_knee": (-130, -450), "r_ankle": (-130, -900),
                    "l_hip": (130, 0), "l_knee": (130, -450), "l_ankle": (130, -900),
                    "spine": (0, 230), "thorax": (0, 480), "neck": (0, 590),
                    "head": (0, 700), "l_shoulder": (150, 480), "l_elbow": (150, 200),
                    "l_wrist": (150, -50), "r_shoulder": (-150, 480),
                    "r_elbow": (-150, 200), "r_wrist": (-150, -50)}.items():
    p[H36M_17.index(j)] = l * left + u * up
  return p + np.array([0.0, 0.0, 1000.0])


@pytest.mark.parametrize("camera", [0, 1, 2, 3])
def test_left_is_left_in_the_image(camera):
  cam = mocap_2d.protocol_cameras("S1")[camera]
  # Azimuth from the person towards the camera (the optical axis reversed).
  towards = np.rad2deg(np.arctan2(-cam.optical_axis[1], -cam.optical_axis[0]))
  poses = np.stack([_person(towards), _person(towards + 180.0)])
  v = mocap_2d.view_poses(poses, np.array([camera, camera]), mocap_2d.protocol_cameras("S1"))
  u = v["pose2d_px"][..., 0]
  # Facing the camera, the person's left shows on the image's right (+u);
  # seen from behind, on the image's left.
  assert u[0, L_SH] > u[0, R_SH] + 20 and u[0, L_HIP] > u[0, R_HIP] + 20
  assert u[1, L_SH] < u[1, R_SH] - 20 and u[1, L_HIP] < u[1, R_HIP] - 20
  # Head above the pelvis (image y grows downwards).
  assert (v["pose2d_px"][:, HEAD, 1] < v["pose2d_px"][:, 0, 1] - 100).all()


def test_noise_statistics_and_determinism():
  world = _world_poses(3000, seed=2)
  opts = mocap_2d.LiftingOptions(sigma_px=4.0, outlier_prob=0.1, outlier_px=80.0, seed=7)
  out = mocap_2d.add_2d("train", {"pose3d_world": world}, options=opts)
  d = (out["pose2d_px_noisy"] - out["pose2d_px"]).reshape(-1, 2)  # [N * J, 2]
  big = np.abs(d).max(-1) > 4.0 * 6  # beyond 6 sigma: outliers only
  # Outlier share: P(outlier) * P(offset beyond 24 px | uniform on [-80, 80]^2).
  expect = 0.1 * (1 - (24 / 80) ** 2)
  assert abs(big.mean() - expect) < 0.01
  assert np.abs(d).max() <= 80.0 + 1e-3
  inliers = d[np.abs(d).max(-1) < 12]  # 3 sigma (keeps a few small outliers)
  assert abs(inliers.std() - 4.0) < 0.25
  # Each keypoint's noise std (screen units: 2 / width per pixel) and
  # whether it is an outlier; the exact 2D's is 0.
  out_flag = out["pose2d_noisy_outlier"]
  assert out_flag.shape == (3000, 17) and abs(out_flag.mean() - 0.1) < 0.01
  width = out["intrinsics"][:, 4:5]  # [N, 1]
  np.testing.assert_allclose(out["pose2d_noisy_sigma"] * width / 2, np.where(
      out_flag, 80.0 / np.sqrt(3.0), 4.0), rtol=1e-5)
  assert np.all(np.abs(d[~out_flag.reshape(-1)]) < 4.0 * 6)
  np.testing.assert_array_equal(out["pose2d_sigma"], 0.0)
  again = mocap_2d.add_2d("train", {"pose3d_world": world}, options=opts)
  for key in ("pose2d_px_noisy", "pose2d_noisy", "camera", "pose3d"):
    np.testing.assert_array_equal(out[key], again[key])
  other = mocap_2d.add_2d("train", {"pose3d_world": world},
                    options=mocap_2d.LiftingOptions(sigma_px=4.0, seed=8))
  assert not np.array_equal(out["camera"], other["camera"])
  # Exact 2D only depends on the cameras, never on the noise settings.
  same_cams = mocap_2d.add_2d("train", {"pose3d_world": world},
                        options=mocap_2d.LiftingOptions(sigma_px=0.0, outlier_prob=0.0, seed=7))
  np.testing.assert_array_equal(same_cams["pose2d_px"], out["pose2d_px"])
  np.testing.assert_array_equal(same_cams["pose2d_px_noisy"], out["pose2d_px"])


def test_all_cameras_repeats_every_field():
  world = _world_poses(5, seed=4)
  split = {"pose3d_world": world, "clip": np.array(list("abcde")),
           "frame": np.arange(5, dtype=np.int32)}
  out = mocap_2d.add_2d("test", split)
  np.testing.assert_array_equal(out["camera"], np.tile(np.arange(4), 5))
  np.testing.assert_array_equal(out["clip"], np.repeat(list("abcde"), 4))
  np.testing.assert_array_equal(out["pose3d_world"], np.repeat(world, 4, axis=0))
  assert out["pose2d"].shape == (20, 17, 2)


def test_bad_input_and_missing_cache(tmp_path):
  with pytest.raises(ValueError, match="pose3d_world"):
    mocap_2d.add_2d("train", {"pose3d_world": np.zeros((4, 17, 2))})
  with pytest.raises(ValueError, match="train_cameras"):
    mocap_2d.LiftingOptions(train_cameras="every")
  with pytest.raises(FileNotFoundError, match="experiments.prepare --dataset=cmu"):
    mocap_cache.resolve_cache_dir(tmp_path)


# ----------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def cache_dir(real_files, tmp_path_factory):
  out = tmp_path_factory.mktemp("caches")
  for dataset, paths in real_files.items():
    arrays, summary = mocap_conversion.convert_tree(
        dataset, paths[0].parents[2], files=paths, workers=1, progress=False)
    assert summary["converted"] == len(paths)
    if dataset == "cmu":
      # The sample clips belong to one or two subjects: relabel them so that
      # the first clip is a training subject and the last a test subject.
      names = np.array(["001", "002", "003", "005", "006", "007"])
      last = arrays["clip"] == arrays["clip"].max()
      arrays["subject"] = np.where(last, 5, 0).astype(np.int16)
      arrays["subject_names"] = names
    mocap_cache.save_cache(out / f"{dataset}.npz", arrays)
  return out


def test_mocap_dataset_trains_gfpose(cache_dir, tmp_path):
  from experiments.configs import gfpose_mocap
  from jaxpose import run_lib

  config = gfpose_mocap.get_config()
  config.data.update(cache_dir=str(cache_dir), train_stride=1, max_test=40)
  dataset = datasets.load(config.data)
  splits = dataset.splits
  assert dataset.activity_names["test"] == tuple(sorted(set(splits["test"]["clip"])))
  train, test = splits["train"], splits["test"]
  assert set(train["subject"]) == {"001", "bandai-1"} and set(test["subject"]) == {"007"}
  assert (test["frame"] % 4 == 0).all() and len(test["pose3d"]) == 40
  for split in (train, test):
    np.testing.assert_allclose(split["pose3d"][:, 0], 0.0, atol=1e-3)
    assert np.isfinite(split["pose2d"]).all() and np.abs(split["pose2d"]).max() < 1.0
    assert split["activity"].dtype == np.int32
    # Real people stand upright in every camera: head above pelvis.
    assert np.median(split["pose2d_px"][:, HEAD, 1] - split["pose2d_px"][:, 0, 1]) < -100
  # Halving the training frames with train_stride=2 (Bandai 15 fps, CMU 15 fps).
  config.data.update(train_stride=2, max_train=100, test_2d="noisy")
  small = datasets.load(config.data).splits
  assert len(small["train"]["pose3d"]) == 100
  assert (small["train"]["frame"][small["train"]["dataset"] == "bandai"] % 2 == 0).all()
  np.testing.assert_array_equal(small["test"]["pose2d"], small["test"]["pose2d_noisy"])
  np.testing.assert_array_equal(small["test"]["pose2d_sigma"],
                                small["test"]["pose2d_noisy_sigma"])
  np.testing.assert_array_equal(small["train"]["pose2d_sigma"], 0.0)

  config.model.update(hidden=64, embed_dim=32, num_groups=8)
  config.train.update(num_steps=4, batch_size=32, log_every=2, ckpt_every=4,
                      warmup_steps=1)
  state = run_lib.train(config, str(tmp_path))
  assert int(state.step) == 4
  lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
  assert lines and json.loads(lines[-1])["step"] == 4


@pytest.mark.parametrize("cameras", ["random", "varied"])
def test_noisy_keypoints_carry_a_detector_like_confidence(cameras):
  """A score from each keypoint's error, never its outlier flag: it ranks
  outliers as a detector does, and the 2D draws are those without it."""
  from jaxpose.pose import detector_confidence
  world = _world_poses(1500, seed=5)
  opts = mocap_2d.LiftingOptions(sigma_px=5.0, outlier_prob=0.05,
                                 outlier_px=100.0, seed=3,
                                 train_cameras=cameras)
  out = mocap_2d.add_2d("train", {"pose3d_world": world}, options=opts)
  conf = out["pose2d_noisy_confidence"]
  assert conf.shape == (1500, 17) and ((conf > 0) & (conf < 1)).all()
  auc = detector_confidence.ranking_auc(conf, out["pose2d_noisy_outlier"])
  assert 0.8 <= auc <= 0.9
  np.testing.assert_array_equal(out["pose2d_confidence"], 1.0)
  # The same noise as a draw that never made scores: the stream is its own.
  noise = cam_lib.draw_2d_noise(
      np.random.default_rng((3, mocap_2d.split_id("train"), 1)),
      out["pose2d_px"], sigma_px=5.0, outlier_prob=0.05, outlier_px=100.0)
  np.testing.assert_array_equal(out["pose2d_px_noisy"], noise.px)


def test_new_rig_protocol_and_other_bodies(cache_dir):
  """'newrig' trains on Bandai alone and tests v1's rows; train_bodies
  re-poses whole training clips before projection, the test rows as they
  were."""
  from experiments.configs import gfpose_mocap
  config = gfpose_mocap.get_config()
  config.data.update(cache_dir=str(cache_dir), train_stride=1, max_test=40)
  v1 = datasets.load(config.data).splits
  config.data.update(protocol="jaxpose-mocap-newrig")
  newrig = datasets.load(config.data).splits
  assert set(newrig["train"]["dataset"]) == {"bandai"}
  np.testing.assert_array_equal(newrig["test"]["pose3d"], v1["test"]["pose3d"])
  config.data.update(train_bodies=1.0)
  other = datasets.load(config.data).splits
  assert other["train"]["reposed"].all()
  np.testing.assert_array_equal(other["test"]["pose2d"], newrig["test"]["pose2d"])
  bones = lambda p: np.linalg.norm(
      p[:, 1:] - p[:, np.asarray(H36M_17.parents)[1:]], axis=-1)
  ratio = bones(other["train"]["pose3d"]) / bones(newrig["train"]["pose3d"])
  for clip in set(other["train"]["clip"]):
    rows = ratio[other["train"]["clip"] == clip]
    np.testing.assert_allclose(rows, rows[:1].repeat(len(rows), 0), rtol=1e-3)
  assert np.abs(np.log(ratio)).max() > 0.01
  # The 2D is the re-posed body's: projected from the same cameras.
  assert not np.allclose(other["train"]["pose2d"], newrig["train"]["pose2d"])
  np.testing.assert_array_equal(other["train"]["camera"], newrig["train"]["camera"])
  config.data.update(body=True)
  with pytest.raises(Exception, match="data.train_bodies"):
    datasets.load(config.data)
