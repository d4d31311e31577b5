"""Mirroring: an involution that maps a person to a person, and that
commutes with forward kinematics of the body space."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpose.pose import body_space
from jaxpose.pose import mirror
from jaxpose.pose.skeleton import H36M_17, SMPL_22


def _random_body(rng, n):
  pose = rng.normal(0.0, 0.3, (n, 63)).astype(np.float32)
  root = rng.normal(0.0, 1.0, (n, 3)).astype(np.float32)
  trans = rng.normal(0.0, 500.0, (n, 3)).astype(np.float32)
  lengths = np.abs(rng.normal(300.0, 60.0, (n, 22))).astype(np.float32)
  return pose, root, trans, lengths


def test_joints_swap_sides_and_negate_x():
  joints = np.zeros((17, 3), np.float32)
  left_wrist, right_wrist = H36M_17.index("l_wrist"), H36M_17.index("r_wrist")
  joints[left_wrist] = (100.0, 20.0, 30.0)
  out = mirror.mirror_joints(joints, H36M_17)
  np.testing.assert_allclose(out[right_wrist], (-100.0, 20.0, 30.0))
  np.testing.assert_allclose(out[left_wrist], 0.0)


@pytest.mark.parametrize("skeleton", [H36M_17, SMPL_22])
def test_mirroring_twice_is_the_identity(skeleton):
  x = np.random.default_rng(0).normal(size=(4, skeleton.num_joints, 3))
  np.testing.assert_allclose(
      mirror.mirror_joints(mirror.mirror_joints(x, skeleton), skeleton), x)
  uv = x[..., :2]
  np.testing.assert_allclose(mirror.mirror_2d(mirror.mirror_2d(
      uv, skeleton, center=960.0), skeleton, center=960.0), uv)


def test_2d_flips_about_the_principal_point():
  uv = np.zeros((17, 2), np.float32)
  uv[H36M_17.index("l_knee")] = (1000.0, 500.0)
  out = mirror.mirror_2d(uv, H36M_17, center=960.0)
  np.testing.assert_allclose(out[H36M_17.index("r_knee")], (920.0, 500.0))


def test_rotations_mirror_as_their_joints_do():
  """FK(mirrored rotations, swapped bone lengths) = mirrored FK(pose)."""
  pose, root, trans, lengths = _random_body(np.random.default_rng(1), 8)
  joints = body_space.forward_kinematics(pose, lengths, root, trans)
  root_m, trans_m = mirror.mirror_root(root, trans)
  mirrored = body_space.forward_kinematics(
      mirror.mirror_body_pose(pose), mirror.mirror_per_joint(lengths, SMPL_22),
      root_m, trans_m)
  np.testing.assert_allclose(mirrored, mirror.mirror_joints(joints, SMPL_22),
                             atol=1e-2)  # mm, float32
  np.testing.assert_allclose(mirror.mirror_body_pose(
      mirror.mirror_body_pose(pose)), pose)


def test_a_knee_bend_stays_a_knee_bend():
  """Knees flex about +X on both sides (body_space's convention): the left
  knee's flexion becomes the right knee's, the same angle."""
  pose = np.zeros(63, np.float32)
  left_knee = SMPL_22.index("left_knee") - 1
  right_knee = SMPL_22.index("right_knee") - 1
  pose[3 * left_knee] = 1.2
  out = mirror.mirror_body_pose(pose).reshape(21, 3)
  np.testing.assert_allclose(out[right_knee], (1.2, 0.0, 0.0))
  np.testing.assert_allclose(out[left_knee], 0.0)


def test_works_under_jit_on_jax_arrays():
  pose, root, trans, _ = _random_body(np.random.default_rng(2), 3)
  out = jax.jit(mirror.mirror_body_pose)(jnp.asarray(pose))
  np.testing.assert_allclose(out, mirror.mirror_body_pose(pose), atol=1e-6)
  joints = jax.jit(lambda j: mirror.mirror_joints(j, H36M_17))(
      jnp.ones((2, 17, 3)))
  assert isinstance(joints, jax.Array) and joints.shape == (2, 17, 3)


def test_a_wrong_shape_is_named():
  with pytest.raises(ValueError, match="body_pose"):
    mirror.mirror_body_pose(np.zeros((2, 60)))
  with pytest.raises(ValueError, match="joints"):
    mirror.mirror_joints(np.zeros((2, 16, 3)), H36M_17)
