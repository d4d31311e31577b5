"""Triangulation from calibrated views: exact on exact projections, an
unsure view counts less, a point seen once is not solved."""
import numpy as np
import pytest

from jaxpose.pose import cameras as cam_lib
from jaxpose.pose import triangulation


def _rig():
  return cam_lib.virtual_cameras(4, distance=4000.0)


def _points(seed=0, shape=(5, 17)):
  rng = np.random.default_rng(seed)
  return rng.normal(0, 300, shape + (3,)) + [0, 0, 900]


def _views(points, cams):
  return np.stack([cam_lib.project(cam_lib.world_to_camera(points, c), c)
                   for c in cams]).astype(np.float64)


def test_exact_projections_give_the_points_back():
  cams, points = _rig(), _points()
  px = _views(points, cams)
  got, count = triangulation.triangulate(px, np.ones(px.shape[:-1]), cams)
  np.testing.assert_allclose(got, points, atol=1e-3)
  assert (count == 4).all()
  assert triangulation.reprojection_px(got, px, cams).max() < 1e-3


def test_a_wrong_unsure_view_counts_less_and_one_view_solves_nothing():
  cams, points = _rig(), _points(shape=(8,))
  px = _views(points, cams)
  px[2] += 40.0  # one view 40 px off
  sure = np.ones(px.shape[:-1])
  unsure = sure.copy()
  unsure[2] = 0.05
  err = lambda w: np.linalg.norm(triangulation.triangulate(px, w, cams)[0]
                                 - points, axis=-1).mean()
  assert err(unsure) < 0.2 * err(sure)
  only_one = np.zeros_like(sure)
  only_one[0] = 1.0
  got, count = triangulation.triangulate(px, only_one, cams)
  assert np.isnan(got).all() and (count == 1).all()
  missing = px.copy()
  missing[1:, 3] = np.nan  # point 3 seen by view 0 alone
  got, count = triangulation.triangulate(missing, sure, cams)
  assert np.isnan(got[3]).all() and count[3] == 1
  assert np.isfinite(np.delete(got, 3, axis=0)).all()
  with pytest.raises(ValueError, match="expected"):
    triangulation.triangulate(px[:3], sure[:3], cams)


def test_a_view_far_off_the_others_is_left_out():
  cams, points = _rig(), _points(shape=(6,))
  px = _views(points, cams)
  px[1, 2] += 300.0  # view 1 puts point 2 far off
  sure = np.ones(px.shape[:-1])
  plain, _ = triangulation.triangulate(px, sure, cams)
  robust, count = triangulation.triangulate_robust(px, sure, cams)
  assert np.linalg.norm(plain[2] - points[2]) > 20.0
  np.testing.assert_allclose(robust, points, atol=1e-3)
  assert count[2] == 3 and (np.delete(count, 2) == 4).all()


def test_two_views_meeting_at_a_glancing_angle_solve_nothing():
  # Four cameras around the point: neighbours' lines of sight meet at
  # about 90 degrees.
  cams, points = _rig(), _points(shape=(3,))
  angles = triangulation.ray_angle_deg(points, np.ones((4, 3)), cams)
  assert (angles > 60).all()
  # Two opposite cameras alone, and points near the line between them
  # (their lines of sight nearly one line), each view a few pixels off:
  # the lines meet anywhere along it, at a glancing angle: unsolved.
  middle = (np.asarray(cams[0].t) + np.asarray(cams[2].t)) / 2
  near = middle + np.random.default_rng(1).normal(0, 30, (3, 3))
  px = _views(near, cams)
  weights = np.zeros((4, 3))
  weights[[0, 2]] = 1.0
  px[0, :, 0] += 3.0
  px[2, :, 0] += 3.0
  loose, count = triangulation.triangulate(px, weights, cams)
  assert (count == 2).all()
  assert triangulation.ray_angle_deg(loose, weights, cams).max() < 10
  robust, _ = triangulation.triangulate_robust(px, weights, cams)
  assert np.isnan(robust).all()
  # The same points seen by all four: solved.
  solved, _ = triangulation.triangulate_robust(_views(near, cams),
                                               np.ones((4, 3)), cams)
  np.testing.assert_allclose(solved, near, atol=1e-3)
