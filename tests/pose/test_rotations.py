"""Rotation conversions against hand-computed rotations and round trips."""
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpose.pose import rotations as rot

ORDERS = ["".join(p) for p in itertools.permutations("XYZ")]


def _random_matrices(n, seed=0):
  rng = np.random.default_rng(seed)
  q = rng.normal(size=(n, 4))
  return rot.quaternion_to_matrix(q)


def test_axis_rotations_by_hand():
  ex, ey, ez = np.eye(3)
  np.testing.assert_allclose(rot.axis_rotation("Z", np.pi / 2) @ ex, ey, atol=1e-12)
  np.testing.assert_allclose(rot.axis_rotation("X", np.pi / 2) @ ey, ez, atol=1e-12)
  np.testing.assert_allclose(rot.axis_rotation("Y", np.pi / 2) @ ez, ex, atol=1e-12)
  # 90 degrees about z as a rotvec, a quaternion and Euler angles agree.
  expect = np.array([[0., -1, 0], [1, 0, 0], [0, 0, 1]])
  np.testing.assert_allclose(rot.axis_angle_to_matrix(np.array([0, 0, np.pi / 2])), expect, atol=1e-12)
  s = np.sqrt(0.5)
  np.testing.assert_allclose(rot.quaternion_to_matrix(np.array([s, 0, 0, s])), expect, atol=1e-12)
  np.testing.assert_allclose(rot.euler_to_matrix(np.array([90., 0, 0]), "ZXY", degrees=True), expect, atol=1e-12)


def test_euler_is_intrinsic_product_in_named_order():
  a = np.array([30., -50., 70.])
  got = rot.euler_to_matrix(a, "ZXY", degrees=True)
  r = np.deg2rad(a)
  expect = rot.axis_rotation("Z", r[0]) @ rot.axis_rotation("X", r[1]) @ rot.axis_rotation("Y", r[2])
  np.testing.assert_allclose(got, expect, atol=1e-12)
  # Rz(90) then (intrinsic) Rx(90): x -> y stays y; z -> Rz(Rx z) = Rz(-y) = x.
  m = rot.euler_to_matrix(np.array([90., 90., 0.]), "ZXY", degrees=True)
  np.testing.assert_allclose(m @ np.array([0., 0., 1.]), [1., 0., 0.], atol=1e-12)


@pytest.mark.parametrize("order", ORDERS)
def test_euler_round_trip(order):
  rng = np.random.default_rng(1)
  angles = rng.uniform(-np.pi, np.pi, size=(64, 3))
  angles[:, 1] = rng.uniform(-1.4, 1.4, size=64)  # away from gimbal lock
  m = rot.euler_to_matrix(angles, order)
  back = rot.matrix_to_euler(m, order)
  np.testing.assert_allclose(back, angles, atol=1e-9)


@pytest.mark.parametrize("order", ORDERS)
def test_euler_at_gimbal_lock_reproduces_the_matrix(order):
  rng = np.random.default_rng(2)
  angles = rng.uniform(-np.pi, np.pi, size=(64, 3))
  angles[:, 1] = rng.choice([np.pi / 2, -np.pi / 2], 64)
  # Conjugating by a random rotation leaves rounding noise where the lock
  # has exact zeros: the general formula then divides noise by noise.
  q = _random_matrices(64)
  qt = np.swapaxes(q, -1, -2)
  m = q @ (qt @ rot.euler_to_matrix(angles, order) @ q) @ qt
  back = rot.matrix_to_euler(m, order)
  np.testing.assert_allclose(rot.euler_to_matrix(back, order), m, atol=1e-6)
  np.testing.assert_allclose(np.abs(back[:, 1]), np.pi / 2, atol=1e-6)
  np.testing.assert_array_equal(back[:, 2], 0.0)  # the turn is the first angle's
  # The same under jit (jnp backend).
  back_jax = jax.jit(lambda x: rot.matrix_to_euler(x, order))(jnp.asarray(m, jnp.float32))
  np.testing.assert_allclose(rot.euler_to_matrix(np.asarray(back_jax, np.float64), order),
                             m, atol=2e-3)


def test_matrix_axis_angle_round_trip_and_edges():
  m = _random_matrices(200)
  v = rot.matrix_to_axis_angle(m)
  assert np.all(np.linalg.norm(v, axis=-1) <= np.pi + 1e-12)
  np.testing.assert_allclose(rot.axis_angle_to_matrix(v), m, atol=1e-10)
  # Near zero: angle 1e-9 survives (no 0/0), exact zero gives zero.
  tiny = np.array([[1e-9, -2e-9, 3e-9], [0., 0., 0.]])
  np.testing.assert_allclose(rot.matrix_to_axis_angle(rot.axis_angle_to_matrix(tiny)), tiny, atol=1e-15)
  # Near pi and at pi: the axis is recovered up to the sign ambiguity at pi.
  axis = np.array([1., 2., -2.]) / 3
  for angle in (np.pi - 1e-7, np.pi):
    back = rot.matrix_to_axis_angle(rot.axis_angle_to_matrix(angle * axis))
    assert abs(np.linalg.norm(back) - angle) < 1e-7
    assert abs(abs(back @ axis) - angle) < 1e-7


def test_quaternion_round_trips():
  m = _random_matrices(100, seed=3)
  q = rot.matrix_to_quaternion(m)
  assert np.all(q[..., 0] >= 0)
  np.testing.assert_allclose(np.linalg.norm(q, axis=-1), 1.0, atol=1e-12)
  np.testing.assert_allclose(rot.quaternion_to_matrix(q), m, atol=1e-10)
  v = rot.quaternion_to_axis_angle(q)
  np.testing.assert_allclose(rot.axis_angle_to_quaternion(v), q, atol=1e-10)
  # 180 degrees about x: pivot on x, not w.
  q180 = rot.matrix_to_quaternion(np.diag([1., -1., -1.]))
  np.testing.assert_allclose(np.abs(q180), [0, 1, 0, 0], atol=1e-12)


def test_rot6d_round_trip_and_gram_schmidt():
  m = _random_matrices(50, seed=4)
  np.testing.assert_allclose(rot.rot6d_to_matrix(rot.matrix_to_rot6d(m)), m, atol=1e-12)
  out = rot.rot6d_to_matrix(np.random.default_rng(0).normal(size=(10, 6)))
  np.testing.assert_allclose(out @ np.swapaxes(out, -1, -2), np.broadcast_to(np.eye(3), out.shape), atol=1e-12)
  np.testing.assert_allclose(np.linalg.det(out), 1.0, atol=1e-12)


def test_jax_backend_jit_and_finite_gradient_at_zero():
  v = jnp.zeros((2, 3))
  m = jax.jit(rot.axis_angle_to_matrix)(v)
  assert isinstance(m, jax.Array)
  np.testing.assert_allclose(m, np.broadcast_to(np.eye(3), (2, 3, 3)), atol=1e-7)
  g = jax.grad(lambda x: rot.axis_angle_to_matrix(x)[0, 1])(jnp.zeros(3))
  # d R01 / d v at 0 is -e_z (R ~ I + [v]_x).
  np.testing.assert_allclose(g, [0., 0., -1.], atol=1e-6)
  g2 = jax.grad(lambda x: jnp.sum(rot.matrix_to_axis_angle(rot.axis_angle_to_matrix(x))))(jnp.array([0.1, 0.2, 0.3]))
  np.testing.assert_allclose(g2, np.ones(3), atol=1e-4)
  mats = np.asarray(_random_matrices(8))
  np.testing.assert_allclose(rot.matrix_to_axis_angle(jnp.asarray(mats, jnp.float32)),
                             rot.matrix_to_axis_angle(mats), atol=1e-4)


def test_bad_shapes_name_argument():
  with pytest.raises(ValueError, match="rotvec"):
    rot.axis_angle_to_matrix(np.zeros((4, 2)))
  with pytest.raises(ValueError, match="order"):
    rot.euler_to_matrix(np.zeros(3), "XQZ")
  with pytest.raises(ValueError, match="angles"):
    rot.euler_to_matrix(np.zeros(2), "XYZ")
