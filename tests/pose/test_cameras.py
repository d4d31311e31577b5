"""Tests of jaxpose.pose.cameras against hand-made projections and closed forms."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpose.pose import cameras

CAM = cameras.make_camera(f=(1000.0, 1100.0), c=(500.0, 480.0), width=1000,
                          height=1002)


def test_point_on_optical_axis_hits_principal_point():
  px = cameras.project(np.array([0.0, 0.0, 4000.0]), CAM)
  np.testing.assert_allclose(px, [500.0, 480.0])


def test_known_offset_projects_to_f_x_over_z_plus_c():
  pts = np.array([[300.0, -200.0, 5000.0], [-100.0, 50.0, 2500.0]])
  px = cameras.project(pts, CAM)
  expected = np.stack([1000 * pts[:, 0] / pts[:, 2] + 500,
                       1100 * pts[:, 1] / pts[:, 2] + 480], -1)
  np.testing.assert_allclose(px, expected, rtol=1e-6)
  # Same under jit with jax arrays.
  px_j = jax.jit(cameras.project)(jnp.asarray(pts, jnp.float32), CAM)
  np.testing.assert_allclose(px_j, expected, rtol=1e-5)


def test_points_behind_camera_rejected():
  with pytest.raises(ValueError, match="in front"):
    cameras.project(np.array([0.0, 0.0, -1.0]), CAM)
  with pytest.raises(ValueError, match="points_cam"):
    cameras.project(np.zeros((4, 2)), CAM)


def test_world_camera_round_trip():
  cam = cameras.virtual_cameras(3)[1]
  pts = np.random.default_rng(0).normal(0, 1000, (10, 17, 3))
  back = cameras.camera_to_world(cameras.world_to_camera(pts, cam), cam)
  np.testing.assert_allclose(back, pts, atol=1e-6)
  # X_cam = R (X - t): the camera centre maps to the origin.
  np.testing.assert_allclose(cameras.world_to_camera(cam.t, cam), 0, atol=1e-9)


def test_normalize_screen_round_trip_and_convention():
  px = np.random.default_rng(1).uniform(0, 1000, (5, 17, 2))
  xy = cameras.normalize_screen(px, 1000, 1002)
  np.testing.assert_allclose(cameras.unnormalize_screen(xy, 1000, 1002), px,
                             rtol=1e-6)
  # VideoPose3D: X / w * 2 - [1, h / w].
  np.testing.assert_allclose(
      cameras.normalize_screen(np.array([0.0, 0.0]), 1000, 1002), [-1, -1.002])
  np.testing.assert_allclose(
      cameras.normalize_screen(np.array([1000.0, 500.0]), 1000, 1002),
      [1.0, -0.002])


def test_look_at_puts_target_on_axis():
  target = np.array([100.0, -200.0, 900.0])
  cam = cameras.look_at_camera((3000.0, 4000.0, 1500.0), target)
  t_cam = cameras.world_to_camera(target, cam)
  np.testing.assert_allclose(t_cam[:2], 0, atol=1e-6)
  assert t_cam[2] > 0
  np.testing.assert_allclose(cameras.project(t_cam, cam), cam.c, atol=1e-6)
  # World up appears upwards in the image (smaller v).
  above = cameras.world_to_camera(target + [0, 0, 500.0], cam)
  assert cameras.project(above, cam)[1] < cam.c[1]
  np.testing.assert_allclose(cam.R @ cam.R.T, np.eye(3), atol=1e-12)
  assert np.linalg.det(cam.R) > 0


def test_virtual_cameras_see_subject():
  cams = cameras.virtual_cameras(4, distance=5000.0)
  assert len(cams) == 4
  pelvis = np.array([0.0, 0.0, 900.0])
  for cam in cams:
    np.testing.assert_allclose(np.linalg.norm(cam.t[:2]), 5000.0)
    np.testing.assert_allclose(
        cameras.project(cameras.world_to_camera(pelvis, cam), cam), cam.c,
        atol=1e-6)


def test_zero_distortion_equals_pinhole():
  pts = np.random.default_rng(2).normal([0, 0, 4000], [800, 800, 300], (50, 3))
  np.testing.assert_allclose(cameras.project(pts, CAM, distort=True),
                             cameras.project(pts, CAM), rtol=1e-12)


def test_distortion_closed_form():
  cam = cameras.make_camera(f=1000.0, c=(500.0, 500.0), width=1000, height=1000,
                            k=(0.1, 0.01, 0.001), p=(0.002, -0.003))
  x, y = 0.2, -0.1
  r2 = x * x + y * y
  radial = 1 + 0.1 * r2 + 0.01 * r2 ** 2 + 0.001 * r2 ** 3
  tan = 0.002 * x - 0.003 * y
  expected = [1000 * (x * (radial + tan) + 0.002 * r2) + 500,
              1000 * (y * (radial + tan) - 0.003 * r2) + 500]
  px = cameras.project(np.array([x * 3000, y * 3000, 3000.0]), cam, distort=True)
  np.testing.assert_allclose(px, expected, rtol=1e-10)


def test_back_project_inverts_project():
  pts = np.random.default_rng(3).normal([0, 0, 4000], [800, 800, 300], (20, 17, 3))
  px = cameras.project(pts, CAM)
  np.testing.assert_allclose(cameras.back_project(px, pts[..., 2], CAM), pts,
                             rtol=1e-9)


def test_place_in_front():
  cam = cameras.virtual_cameras(4)[2]
  pose = np.random.default_rng(4).normal(0, 300, (3, 17, 3))
  placed = cameras.place_in_front(pose, cam, 4500.0)
  root_cam = cameras.world_to_camera(placed[:, 0], cam)
  np.testing.assert_allclose(root_cam, np.tile([0, 0, 4500.0], (3, 1)), atol=1e-6)
  np.testing.assert_allclose(placed - placed[:, :1], pose - pose[:, :1], atol=1e-9)


@pytest.mark.parametrize("use_jax", [False, True])
def test_noise_statistics(use_jax):
  px = np.zeros((4000, 17, 2), np.float32)
  rng = jax.random.key(0) if use_jax else np.random.default_rng(0)
  noisy = np.asarray(cameras.draw_2d_noise(rng, px, sigma_px=2.0).px)
  assert noisy.shape == px.shape and noisy.dtype == np.float32
  assert abs(noisy.std() - 2.0) < 0.05
  assert abs(noisy.mean()) < 0.05
  rng = jax.random.key(1) if use_jax else np.random.default_rng(1)
  noisy = np.asarray(cameras.draw_2d_noise(rng, px, sigma_px=2.0,
                                           outlier_prob=0.1,
                                           outlier_px=200.0).px)
  far = np.abs(noisy).max(-1) > 8.0  # 4 sigma: a Gaussian point almost never
  # Outliers are uniform on [-200, 200]^2; a fraction (8/200)^2 lands inside.
  expected = 0.1 * (1 - (8.0 / 200.0) ** 2)
  assert abs(far.mean() - expected) < 0.01


@pytest.mark.parametrize("use_jax", [False, True])
def test_noise_names_its_outliers_and_each_keypoint_std(use_jax):
  px = np.zeros((3000, 17, 2), np.float32)
  make = (lambda: jax.random.key(2)) if use_jax else (
      lambda: np.random.default_rng(2))
  drawn = cameras.draw_2d_noise(make(), px, sigma_px=2.0, outlier_prob=0.1,
                                outlier_px=200.0)
  out = np.asarray(drawn.outlier)
  assert out.shape == (3000, 17) and abs(out.mean() - 0.1) < 0.01
  sigma = np.asarray(drawn.sigma_px)
  np.testing.assert_allclose(sigma[out], 200.0 / np.sqrt(3.0), rtol=1e-6)
  np.testing.assert_allclose(sigma[~out], 2.0)
  offsets = np.asarray(drawn.px)
  assert abs(offsets[out].std() - 200.0 / np.sqrt(3.0)) < 3.0
  assert abs(offsets[~out].std() - 2.0) < 0.05
  exact = cameras.draw_2d_noise(make(), px, sigma_px=0.0)
  assert not np.asarray(exact.outlier).any()
  np.testing.assert_array_equal(exact.sigma_px, 0.0)


def test_noise_bad_args():
  with pytest.raises(ValueError, match="outlier_prob"):
    cameras.draw_2d_noise(np.random.default_rng(0), np.zeros((3, 2)),
                          sigma_px=1.0, outlier_prob=1.5)
  with pytest.raises(ValueError, match="px"):
    cameras.draw_2d_noise(np.random.default_rng(0), np.zeros((3, 3)), sigma_px=1.0)


def test_h36m_constants():
  cams = cameras.h36m_cameras("S1")
  assert len(cams) == 4
  c0 = cams[0]
  np.testing.assert_allclose(c0.f, [1145.0494, 1143.7811], atol=1e-3)
  assert (c0.width, c0.height) == (1000, 1002)
  assert cams[1].height == 1000
  assert c0.k.shape == (3,) and c0.p.shape == (2,) and c0.R.shape == (3, 3)
  np.testing.assert_allclose(c0.t, [1841.107, 4955.285, 1563.445], atol=1e-2)
  for cam in cams:
    np.testing.assert_allclose(cam.R @ cam.R.T, np.eye(3), atol=1e-6)
    # Every camera looks at the capture area: a point 1 m above the world
    # origin is in front of it and lands inside the image.
    p = cameras.world_to_camera(np.array([0.0, 0.0, 1000.0]), cam)
    assert p[2] > 2000
    u, v = cameras.project(p, cam, distort=True)
    assert 0 < u < cam.width and 0 < v < cam.height
    # ...and world up points up in the image.
    q = cameras.world_to_camera(np.array([0.0, 0.0, 1500.0]), cam)
    assert cameras.project(q, cam)[1] < cameras.project(p, cam)[1]
  with pytest.raises(KeyError, match="S2"):
    cameras.h36m_cameras("S2")


def test_camera_is_a_pytree():
  cams = cameras.stack_cameras(cameras.virtual_cameras(4))
  assert cams.R.shape == (4, 3, 3) and cams.width == 1000
  pts = np.random.default_rng(5).normal([0, 0, 900], 300, (4, 17, 3))
  batched = jax.vmap(lambda p, c: cameras.project(cameras.world_to_camera(p, c), c))(
      jnp.asarray(pts, jnp.float32), cams)
  for i, cam in enumerate(cameras.virtual_cameras(4)):
    np.testing.assert_allclose(
        batched[i], cameras.project(cameras.world_to_camera(pts[i], cam), cam),
        rtol=1e-4)
