"""2D in the camera's own geometry: drawn cameras over stated ranges, the
normalised camera coordinates a model reads (`representation.input_2d=
'camera'`), and a lift that changes its 3D as a pinhole camera says."""
import numpy as np
import pytest

from jaxpose import settings
from jaxpose.data import camera_rigs
from jaxpose.data import mocap_2d
from jaxpose.data import synthetic_poses
from jaxpose.pose import cameras as cam_lib
from jaxpose.pose import representation as rep_lib

ROOT_PELVIS = 0


def _world(n=50, seed=0):
  return synthetic_poses.generate_poses(n, seed=seed)["pose3d"]


def _inside(values, ranges):
  return np.any([(values >= lo - 1e-6) & (values <= hi + 1e-6)
                 for lo, hi in ranges], axis=0)


@pytest.mark.parametrize("name", ["varied", "varied_roll", "unseen",
                                  "unseen_pitch", "unseen_distance_focal",
                                  "unseen_roll"])
def test_drawn_cameras_keep_to_their_ranges(name):
  ranges = camera_rigs.RANGES[name]
  cams = camera_rigs.draw(np.random.default_rng(0), 2000, ranges)
  distance, pitch, focal, _, roll = cams.params.T
  assert _inside(distance, ranges.distance_mm).all()
  assert _inside(pitch, ranges.pitch_deg).all()
  assert _inside(focal, ranges.focal_px).all()
  assert _inside(roll, ranges.roll_deg).all()
  if name == "unseen":  # outside every training range, on every parameter
    train = camera_rigs.TRAINING
    assert not _inside(distance, train.distance_mm).any()
    assert not _inside(pitch, train.pitch_deg).any()
    assert not _inside(focal, train.focal_px).any()
  if name == "unseen_distance_focal":  # another lens and place, same pitch
    train = camera_rigs.TRAINING
    assert not _inside(distance, train.distance_mm).any()
    assert _inside(pitch, train.pitch_deg).all()
    assert not _inside(focal, train.focal_px).any()
  if name == "unseen_pitch":  # that range alone outside
    train = camera_rigs.TRAINING
    assert _inside(distance, train.distance_mm).all()
    assert not _inside(pitch, train.pitch_deg).any()
    assert _inside(focal, train.focal_px).all()
  if name == "varied_roll":  # any roll either way, ROLLED's included
    assert roll.min() < -25 and roll.max() > 25
    assert _inside(roll, camera_rigs.ROLLED.roll_deg).mean() > 0.4
  if name == "unseen_roll":  # turned about the axis beyond training's
    train = camera_rigs.TRAINING
    assert not _inside(roll, train.roll_deg).any()
    assert _inside(pitch, train.pitch_deg).all()
    # The world's up, seen in the image, turns from the image's up by the
    # roll (toward the image's left for a positive one: --roll_deg=-roll).
    up = cams.R[:, :, 2]  # world +Z in camera axes
    np.testing.assert_allclose(np.rad2deg(np.arctan2(up[:, 0], -up[:, 1])),
                               -roll, atol=1e-9)
    # So does a vertical edge through the image's centre, however pitched
    # (docs/video.md's way to read the roll off a frame).
    axis_point = np.array([0.0, 0.0, 4000.0])
    ends = axis_point + np.stack([-800.0 * up, 800.0 * up], 1)  # [N, 2, 3]
    k = cams.intrinsics
    px = ends[..., :2] / ends[..., 2:] * k[:, None, 0:2] + k[:, None, 2:4]
    edge = px[:, 1] - px[:, 0]  # bottom to top
    np.testing.assert_allclose(np.rad2deg(np.arctan2(edge[:, 0], -edge[:, 1])),
                               -roll, atol=1e-6)
  np.testing.assert_allclose(np.einsum("nij,nkj->nik", cams.R, cams.R),
                             np.broadcast_to(np.eye(3), cams.R.shape),
                             atol=1e-9)
  np.testing.assert_allclose(np.linalg.det(cams.R), 1.0, atol=1e-9)
  np.testing.assert_allclose(np.linalg.norm(cams.pelvis_cam_mm, axis=-1),
                             distance, rtol=1e-9)
  # Pitch is the optical axis below the horizontal (world Z up).
  np.testing.assert_allclose(np.rad2deg(np.arcsin(-cams.R[:, 2, 2])), pitch,
                             atol=1e-9)


def test_drawn_views_project_the_pelvis_inside_the_image_centre():
  world = _world()
  cams = camera_rigs.draw(np.random.default_rng(1), len(world),
                          camera_rigs.TRAINING)
  out = camera_rigs.view(world, cams)
  np.testing.assert_allclose(out["pose3d"][:, ROOT_PELVIS], 0.0, atol=1e-3)
  # Bone lengths survive the rotation.
  np.testing.assert_allclose(
      np.linalg.norm(out["pose3d"][:, 5] - out["pose3d"][:, 4], axis=-1),
      np.linalg.norm(world[:, 5] - world[:, 4], axis=-1), rtol=1e-5)
  w, h = camera_rigs.IMAGE_SIZE
  pelvis = out["pose2d_px"][:, ROOT_PELVIS]
  assert (np.abs(pelvis[:, 0] - w / 2) <= w / 4 + 1e-3).all()
  assert (np.abs(pelvis[:, 1] - h / 2) <= h / 4 + 1e-3).all()
  # The 2D is the pinhole projection of the camera-frame 3D.
  k = cams.intrinsics
  absolute = out["pose3d"] + out["root_cam_mm"][:, None]
  np.testing.assert_allclose(
      absolute[..., :2] / absolute[..., 2:] * k[:, None, :2] + k[:, None, 2:4],
      out["pose2d_px"], rtol=1e-5, atol=1e-3)


def test_varied_training_rows_and_one_camera_per_test_clip():
  world = _world(12, seed=2)
  clips = np.repeat(["a", "b", "c"], 4)
  opts = mocap_2d.LiftingOptions(train_cameras="varied",
                                 test_cameras="unseen", seed=5)
  train = mocap_2d.add_2d("train", {"pose3d_world": world}, options=opts)
  assert len(np.unique(train["intrinsics"][:, 0])) == 12  # one per row
  assert (train["camera"] == -1).all()
  test = mocap_2d.add_2d("test", {"pose3d_world": world, "clip": clips},
                         options=opts)
  for clip in "abc":
    rows = test["camera_params"][clips == clip]
    assert (rows == rows[0]).all()
  assert len(np.unique(test["camera_params"][:, 0])) == 3
  np.testing.assert_allclose(
      cam_lib.unnormalize_screen(test["pose2d"][0], 1920, 1080),
      test["pose2d_px"][0], atol=1e-3)
  again = mocap_2d.add_2d("test", {"pose3d_world": world, "clip": clips},
                          options=opts)
  np.testing.assert_array_equal(again["pose2d_noisy"], test["pose2d_noisy"])


def test_any_roll_training_rows_come_from_turned_cameras():
  # Every joint on one vertical line above the pelvis: a pole.
  world = np.zeros((400, 17, 3), np.float32)
  world[..., 2] = 900.0 + 50.0 * np.arange(17)
  rolls = {}
  for mode in ("varied", "varied_roll"):
    train = mocap_2d.add_2d("train", {"pose3d_world": world},
                            options=mocap_2d.LiftingOptions(train_cameras=mode))
    rolls[mode] = train["camera_params"][:, 4]
    # The pole, seen in the image, leans from the image's up by the
    # camera's roll (within the perspective of a pelvis off the axis).
    pole = train["pose2d_px"][:, 16] - train["pose2d_px"][:, 0]
    seen = np.rad2deg(np.arctan2(pole[:, 0], -pole[:, 1]))
    assert np.median(np.abs(seen + rolls[mode])) < 5.0
  assert np.abs(rolls["varied"]).max() <= 3.0 + 1e-4
  assert np.abs(rolls["varied_roll"]).max() <= 30.0 + 1e-4
  assert (np.abs(rolls["varied_roll"]) > 15.0).mean() > 0.4


def _seen(points_cam, focal, centre, size):
  """Screen 2D and camera fields of camera-frame points seen by a pinhole."""
  px = points_cam[..., :2] / points_cam[..., 2:] * focal + np.asarray(centre)
  w, h = size
  screen = cam_lib.normalize_screen(px, w, h)
  intr = np.tile(np.float64([focal, focal, *centre, w, h]), (len(px), 1))
  return screen, {"intrinsics": intr, "root_cam_mm": points_cam[:, 0]}


def _rel_poses(n=20, seed=3):
  return camera_rigs.view(_world(n, seed=seed), camera_rigs.draw(
      np.random.default_rng(seed), n, camera_rigs.TRAINING))["pose3d"].astype(
          np.float64)


def test_the_root_rotation_turns_its_ray_onto_the_axis():
  roots = np.float64([[1500.0, 300.0, 4500.0], [-800.0, 900.0, 2500.0],
                      [0.0, 0.0, 5000.0]])
  rot = rep_lib.root_rotation(roots)
  turned = np.einsum("nij,nj->ni", rot, roots)
  np.testing.assert_allclose(turned[:, :2], 0.0, atol=1e-9)
  np.testing.assert_allclose(turned[:, 2], np.linalg.norm(roots, axis=-1))
  np.testing.assert_allclose(np.linalg.det(rot), 1.0)
  np.testing.assert_allclose(rot[2], np.eye(3), atol=1e-12)


def test_one_pose_is_one_input_whatever_the_lens_and_place():
  rel = _rel_poses()
  points = rel + np.float64([300.0, -200.0, 5000.0])
  a = _seen(points, 1000.0, (960.0, 540.0), (1920, 1080))
  b = _seen(points, 1700.0, (640.0, 360.0), (1280, 720))
  rep = rep_lib.Representation(input_2d="camera")
  np.testing.assert_allclose(rep.pose2d_to_model(*a), rep.pose2d_to_model(*b),
                             atol=1e-5)
  # Elsewhere in the image, facing its ray the same way: the same input.
  root = np.float64([1800.0, 700.0, 4200.0])
  root *= np.linalg.norm(points[0, 0]) / np.linalg.norm(root)  # as far away
  turn = np.einsum("ji,jk->ik", rep_lib.root_rotation(root),
                   rep_lib.root_rotation(points[0, 0]))
  elsewhere = np.einsum("ij,nkj->nki", turn, rel) + root
  c = _seen(elsewhere, 1000.0, (960.0, 540.0), (1920, 1080))
  np.testing.assert_allclose(rep.pose2d_to_model(*a), rep.pose2d_to_model(*c),
                             atol=1e-5)
  # And its 3D is one target, turned back on the way out.
  target_a = rep.pose3d_to_model(points, a[1])
  np.testing.assert_allclose(target_a, rep.pose3d_to_model(elsewhere, c[1]),
                             atol=1e-5)
  np.testing.assert_allclose(rep.pose3d_from_model(target_a, c[1]),
                             elsewhere - elsewhere[:, :1], atol=1e-2)
  # The same body twice as far away (on the same ray) reads the same but
  # for perspective: a depth spread of ~400 mm is 8% of 5 m, 4% of 10 m.
  far = rel + np.float64([600.0, -400.0, 10000.0])
  d = _seen(far, 1000.0, (960.0, 540.0), (1920, 1080))
  moved = np.abs(rep.pose2d_to_model(*a) - rep.pose2d_to_model(*d)).max()
  assert moved < 0.15 * rep_lib.CAMERA_2D_SPREAD
  # Screen units do depend on the lens.
  screen = rep_lib.Representation()
  assert np.abs(screen.pose2d_to_model(a[0]) - screen.pose2d_to_model(b[0])
                ).max() > 0.05
  # Spread: a masked joint (at the root's position) counts for nothing.
  masked = a[0].copy()
  masked[:, 16] = masked[:, 0]
  got = rep.pose2d_to_model(masked, a[1])
  dist = np.linalg.norm(got - got[:, :1], axis=-1)
  np.testing.assert_allclose(dist[:, 1:16].mean(-1),
                             rep_lib.CAMERA_2D_SPREAD, rtol=1e-5)


def test_camera_input_needs_intrinsics_and_the_standard_space():
  rep = rep_lib.Representation(input_2d="camera")
  with pytest.raises(ValueError, match="root_cam_mm"):
    rep.pose2d_to_model(np.zeros((2, 17, 2)))
  with pytest.raises(settings.ConfigError, match="space='root_relative'"):
    rep_lib.Representation(input_2d="camera", space="image")
  with pytest.raises(settings.ConfigError, match="input_2d"):
    rep_lib.Representation(input_2d="pixels")


@pytest.fixture(scope="module")
def camera_lifter(tmp_path_factory):
  from experiments.configs import baseline_quickstart
  from jaxpose import run_lib
  c = baseline_quickstart.get_config()
  c.data.update(n_train=2000, n_test=8)
  c.model.update(hidden=64)
  c.representation.input_2d = "camera"
  c.train.update(num_steps=300, batch_size=64, log_every=100,
                 ckpt_every=300, warmup_steps=10)
  workdir = str(tmp_path_factory.mktemp("camera_lifter") / "w")
  run_lib.train(c, workdir)
  return workdir


def _video(path, points_cam, focal, centre, size):
  px = points_cam[..., :2] / points_cam[..., 2:] * focal + np.asarray(centre)
  np.savez(path, keypoints=px, image_size=np.array(size))
  return str(path)


@pytest.mark.slow
def test_the_same_motion_through_two_cameras_lifts_to_one_pose(
    camera_lifter, tmp_path):
  from jaxpose import lift
  rel = camera_rigs.view(_world(16, seed=7), camera_rigs.draw(
      np.random.default_rng(7), 16, camera_rigs.TRAINING))["pose3d"]
  # Off the optical axis (18 degrees), where the lens decides the rays.
  points = rel.astype(np.float64) + np.float64([1500.0, 300.0, 4500.0])
  wide = _video(tmp_path / "wide.npz", points, 1000.0, (960, 540), (1920, 1080))
  tele = _video(tmp_path / "tele.npz", points, 1800.0, (1280, 720),
                (2560, 1440))
  a = lift.lift_keypoints(camera_lifter, wide, num_hypotheses=1,
                          keypoints={"focal_px": 1000.0})
  b = lift.lift_keypoints(camera_lifter, tele, num_hypotheses=1,
                          keypoints={"focal_px": 1800.0})
  assert np.abs(a.mean_mm - b.mean_mm).max() < 1.0
  # The focal length given is the one the 3D follows: the tele video read
  # as if seen by the wide lens is a person 1.8 times farther off the axis
  # (another perspective); with the person on the axis, a focal length
  # only scales the image, which says nothing of the pose.
  wrong = lift.lift_keypoints(camera_lifter, tele, num_hypotheses=1,
                              keypoints={"focal_px": 1000.0})
  assert np.abs(wrong.mean_mm - b.mean_mm).max() > 5.0
  # Farther away on the same ray: the same pose within a few mm.
  far = rel.astype(np.float64) + np.float64([1500.0, 300.0, 4500.0]) * 7 / 4.5
  c = lift.lift_keypoints(
      camera_lifter, _video(tmp_path / "far.npz", far, 1000.0, (960, 540),
                            (1920, 1080)),
      num_hypotheses=1, keypoints={"focal_px": 1000.0})
  assert np.abs(c.mean_mm - a.mean_mm).mean() < 5.0


def test_a_frame_without_a_root_keeps_the_last_one():
  from jaxpose.data import keypoints_dataset
  px = np.float64([[10, 10], [20, 20], [99, 99], [99, 99], [40, 40]])
  seen = np.array([False, True, False, False, True])
  np.testing.assert_array_equal(
      keypoints_dataset.held_root(px, seen, (500, 500)),
      [[20, 20], [20, 20], [20, 20], [20, 20], [40, 40]])
  np.testing.assert_array_equal(
      keypoints_dataset.held_root(px, np.zeros(5, bool), (500, 300)),
      np.tile([500, 300], (5, 1)))
