"""The detector-depth study's parts on hand-made cases: the scale from a
detector's depth onto the reference's, each part's means, and the
reference in a camera's frame (`real_footage`, which both studies use)."""
import numpy as np
import pytest

from experiments.studies import detector_depth as dd
from experiments.studies import real_footage as rf
from jaxpose.data import keypoints as kp_lib
from jaxpose.pose import cameras as cam_lib


def _reference_in_camera(frames=5):
  rng = np.random.default_rng(0)
  ref = rng.normal(0, 300, (frames, 17, 3)) + [0, 0, 4000]
  ref[:, 0] = [0, 0, 4000]
  return ref


def test_the_scale_is_the_factor_from_the_detectors_depth_onto_the_truths():
  ref = _reference_in_camera()
  focal, depth = 1500.0, ref[:, 0, 2]
  truth = ref[..., 2] - ref[:, :1, 2]
  # A detector that overstates depth 3.2 times, as read (times the scale).
  read = 3.2 * truth * focal / depth[:, None] * kp_lib.DEPTH_SCALE["mediapipe"]
  visible = np.ones(truth.shape, bool)
  got = dd.depth_scale(read, depth, ref, visible, focal)
  assert got["scale"] == pytest.approx(1 / 3.2, abs=1e-3)
  assert got["correlation"] == pytest.approx(1.0, abs=1e-6)
  assert got["joints"] == 5 * 16  # the pelvis is 0 on both sides
  # Unseen joints and unplaced frames are left out; nothing left: None.
  noisy = read.copy()
  noisy[:, 5] = 1e4  # a joint the detector did not give
  visible[:, 5] = False
  assert dd.depth_scale(noisy, depth, ref, visible, focal)["scale"] == (
      pytest.approx(1 / 3.2, abs=1e-3))
  assert dd.depth_scale(read, depth, ref, np.zeros_like(visible),
                        focal) == {"scale": None, "correlation": None,
                                   "joints": 0}


def test_the_reference_in_a_camera_keeps_unplaced_frames_unplaced():
  cam = cam_lib.virtual_cameras(1, distance=4000.0)[0]
  world = _reference_in_camera(3) - [0, 0, 4000]
  world[1, 4] = np.nan
  got = rf.reference_in_camera(world, cam)
  assert np.isnan(got[1]).all() and np.isfinite(got[[0, 2]]).all()
  np.testing.assert_allclose(got[[0, 2]],
                             cam_lib.world_to_camera(world[[0, 2]], cam))


def test_each_parts_pull_is_averaged_over_its_views_sigma_by_sigma():
  row = lambda part, view, a, b, pulled=-10.0, bone=0.0: {
      "part": part, "person": "P", "view": view, "kind": "pull",
      "method": "baseline", "bone_sigma_mm": bone,
      "by_sigma": {dd.sigma_key(0): {"mpjpe_mm": a, "pa_mpjpe_mm": b},
                   dd.sigma_key(30.0): {"mpjpe_mm": a + pulled,
                                        "pa_mpjpe_mm": b}}}
  rows = [row("choose", "v1", 100.0, 60.0), row("choose", "v2", 120.0, 70.0),
          row("choose", "v1", 95.0, 60.0, 10.0, 30.0),
          row("choose", "v2", 110.0, 70.0, -20.0, 30.0),
          {"part": "choose", "view": "v1", "kind": "scale"},
          row("held_out", "v3", 90.0, 50.0)]
  choose, bone, held_out = dd.part_means(rows)
  assert choose == {"part": "choose", "kind": "mean", "bone_sigma_mm": 0.0,
                    "bone_key": "s0", "views": 2, "method": "baseline",
                    "by_sigma": {
                        "s0": {"mpjpe_mm": 110.0, "pa_mpjpe_mm": 65.0,
                               "worse_views": 0},
                        "s30": {"mpjpe_mm": 100.0, "pa_mpjpe_mm": 65.0,
                                "worse_views": 0}}}
  # Each bone sigma apart; a view left farther than the fit without the
  # detector's depth (both sigmas 0) is counted.
  assert bone["bone_sigma_mm"] == 30.0 and bone["by_sigma"] == {
      "s0": {"mpjpe_mm": 102.5, "pa_mpjpe_mm": 65.0, "worse_views": 0},
      "s30": {"mpjpe_mm": 97.5, "pa_mpjpe_mm": 65.0, "worse_views": 1}}
  assert held_out["views"] == 1 and held_out["by_sigma"]["s30"] == {
      "mpjpe_mm": 80.0, "pa_mpjpe_mm": 50.0, "worse_views": 0}


def test_the_true_depth_error_is_what_the_views_own_2d_leaves():
  cam = cam_lib.make_camera(f=1500.0, c=(960.0, 540.0), width=1920,
                            height=1080)
  ref = _reference_in_camera(4)
  pixels = np.asarray(cam_lib.project(ref, cam), np.float64)
  visible = np.ones(ref.shape[:2], bool)
  exact = dd.true_depth_error(ref, pixels, visible, cam)
  assert exact == {"mpjpe_mm": 0.0, "pa_mpjpe_mm": 0.0,
                   "moved_median_mm": 0.0, "frames_scored": 4}
  # One joint's keypoint 30 px to the right: at its depth that is
  # 30 Z / f mm, one joint of 17 in each frame's mean.
  off = pixels.copy()
  off[:, 5, 0] += 30.0
  got = dd.true_depth_error(ref, off, visible, cam)
  want = np.mean(30.0 * ref[:, 5, 2] / 1500.0) / 17
  assert got["mpjpe_mm"] == pytest.approx(want, abs=0.06)
  # Procrustes lowers the squared error, so each frame's mean distance
  # is at most the root of d^2 / 17.
  assert 0 < got["pa_mpjpe_mm"] <= want * np.sqrt(17) + 0.06
  # A keypoint the detector did not give keeps the reference's place; a
  # frame the reference could not place is left out.
  hidden = visible.copy()
  hidden[:, 5] = False
  ref_gap = ref.copy()
  ref_gap[2, 3] = np.nan
  assert dd.true_depth_error(ref_gap, off, hidden, cam) == {
      "mpjpe_mm": 0.0, "pa_mpjpe_mm": 0.0, "moved_median_mm": 0.0,
      "frames_scored": 3}


def test_the_height_slope_is_how_much_farther_per_mm_up():
  ref = _reference_in_camera()
  focal, depth = 1500.0, ref[:, 0, 2]
  truth = ref[..., 2] - ref[:, :1, 2]
  up = np.array([0.0, -np.cos(0.4), -np.sin(0.4)])  # a camera looking down
  height = (ref - ref[:, :1]) @ up
  # Read as the fit reads it (mm = px Z / f): right, then 0.25 mm farther
  # per mm of height plus a constant, which is no lean.
  as_read = lambda mm: mm * focal / depth[:, None]
  visible = np.ones(truth.shape, bool)
  assert dd.height_slope(as_read(truth), depth, ref, visible, focal,
                         up) == pytest.approx(0.0, abs=1e-6)
  assert dd.height_slope(as_read(truth + 0.25 * height + 40.0), depth, ref,
                         visible, focal, up) == pytest.approx(0.25, abs=1e-3)
  assert dd.height_slope(as_read(truth), depth, ref,
                         np.zeros_like(visible), focal, up) is None
