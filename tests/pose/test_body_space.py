"""Tests of the body space (jaxpose.pose.body_space) and SMPL_22."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpose.data import amass
from jaxpose.pose import body_space, kinematics, rotations
from jaxpose.pose.skeleton import SMPL_22

J = SMPL_22.index
LENGTHS = np.array([0, 90, 90, 110, 400, 400, 100, 410, 410, 60, 120, 120, 200,
                    120, 120, 80, 110, 110, 260, 260, 240, 240], np.float64)


def _rotvecs(rng, n, scale=0.6):
  return rng.normal(scale=scale, size=(n, 3))


def test_smpl_22_tree_and_sides():
  assert SMPL_22.parents == (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12,
                             13, 14, 16, 17, 18, 19)
  for l, r in zip(SMPL_22.left, SMPL_22.right):
    left, right = SMPL_22.joint_names[l], SMPL_22.joint_names[r]
    assert left.startswith("left_") and right == "right_" + left[5:]
  assert body_space.BODY_POSE_DIM == 63


def test_rest_directions_are_a_mirror_symmetric_t_pose():
  d = body_space.REST_DIRECTIONS
  np.testing.assert_allclose(np.linalg.norm(d[1:], axis=-1), 1.0)
  np.testing.assert_allclose(d[SMPL_22.flip_permutation] * [-1, 1, 1], d, atol=1e-12)
  for name in ("left_knee", "left_ankle"):  # legs down
    np.testing.assert_allclose(d[J(name)], [0, -1, 0])
  for name in ("left_elbow", "left_wrist"):  # the left arm along +X
    np.testing.assert_allclose(d[J(name)], [1, 0, 0])
  for name in ("spine1", "spine2", "spine3", "neck", "head"):
    np.testing.assert_allclose(d[J(name)], [0, 1, 0])
  assert d[J("left_foot"), 2] > 0.9  # the foot points forward (+Z)


def test_zero_pose_is_the_rest_skeleton():
  joints = body_space.forward_kinematics(np.zeros(63), LENGTHS)  # [22, 3]
  np.testing.assert_allclose(body_space.bone_lengths(joints), LENGTHS, atol=1e-9)
  np.testing.assert_allclose(joints[J("left_elbow")] - joints[J("left_shoulder")],
                             [260, 0, 0], atol=1e-9)
  assert joints[J("left_hip"), 0] > 0 > joints[J("right_hip"), 0]  # X is left


def test_knee_flexion_is_plus_x_and_elbow_flexion_minus_y_left():
  """The hinge semantics every source shares: flexing moves the shin back
  (-Z) and the left forearm forward (+Z)."""
  pose = np.zeros((21, 3))
  pose[J("left_knee") - 1] = body_space.HINGE_AXES["left_knee"][1] * np.pi / 2
  pose[J("left_elbow") - 1] = body_space.HINGE_AXES["left_elbow"][1] * np.pi / 2
  pose[J("right_elbow") - 1] = body_space.HINGE_AXES["right_elbow"][1] * np.pi / 2
  joints = body_space.forward_kinematics(pose.reshape(63), LENGTHS)
  shin = joints[J("left_ankle")] - joints[J("left_knee")]
  np.testing.assert_allclose(shin / 410, [0, 0, -1], atol=1e-9)
  for side in ("left", "right"):
    forearm = joints[J(f"{side}_wrist")] - joints[J(f"{side}_elbow")]
    np.testing.assert_allclose(forearm / 240, [0, 0, 1], atol=1e-9)
  np.testing.assert_array_equal(body_space.HINGE_AXES["left_knee"][1], [1, 0, 0])
  np.testing.assert_array_equal(body_space.HINGE_AXES["left_elbow"][1], [0, -1, 0])


def test_forward_kinematics_numpy_jax_root_and_batch():
  rng = np.random.default_rng(0)
  pose = _rotvecs(rng, 4 * 21).reshape(4, 63)
  root, trans = _rotvecs(rng, 4), rng.normal(size=(4, 3)) * 1000
  out = body_space.forward_kinematics(pose, LENGTHS, root, trans)  # [4, 22, 3]
  assert out.shape == (4, 22, 3)
  np.testing.assert_allclose(out[:, 0], trans)
  # The root orientation turns the whole root-relative body.
  plain = body_space.forward_kinematics(pose, LENGTHS)
  r = rotations.axis_angle_to_matrix(root)
  np.testing.assert_allclose(out - trans[:, None], plain @ np.swapaxes(r, -1, -2), atol=1e-6)
  fk = jax.jit(body_space.forward_kinematics)
  got = fk(jnp.asarray(pose, jnp.float32), jnp.asarray(LENGTHS, jnp.float32),
           jnp.asarray(root, jnp.float32), jnp.asarray(trans, jnp.float32))
  np.testing.assert_allclose(np.asarray(got), out, atol=0.05)


def test_from_world_inverts_forward_kinematics():
  rng = np.random.default_rng(1)
  local = _rotvecs(rng, 5 * 22).reshape(5, 22, 3)
  world, _ = kinematics.forward_kinematics(
      rotations.axis_angle_to_matrix(local), np.zeros((22, 3)), SMPL_22.parents)
  out = body_space.from_world(world, np.ones((5, 3)))
  np.testing.assert_allclose(out["body_pose"], local[:, 1:].reshape(5, 63), atol=1e-5)
  np.testing.assert_allclose(out["root_orient"], local[:, 0], atol=1e-5)
  assert out["body_pose"].dtype == np.float32


def test_fill_world_parent_and_mid():
  rng = np.random.default_rng(2)
  world = rotations.axis_angle_to_matrix(_rotvecs(rng, 22, 0.3))
  out = body_space.fill_world(world, {J("spine2"): "mid", J("left_foot"): "parent"})
  np.testing.assert_allclose(out[J("left_foot")], world[J("left_ankle")])
  # 'mid' splits spine3's turn relative to spine1 evenly over two joints.
  local = lambda a, b: rotations.matrix_to_axis_angle(out[a].T @ out[b])
  np.testing.assert_allclose(local(J("spine1"), J("spine2")),
                             local(J("spine2"), J("spine3")), atol=1e-9)
  with pytest.raises(ValueError, match="'mid' or 'parent'|expected 'parent'"):
    body_space.fill_world(world, {3: "half"})


def test_calibration_algebra():
  rng = np.random.default_rng(3)
  r = rotations.axis_angle_to_matrix(_rotvecs(rng, 1, 1.0))[0]
  u = rng.normal(size=(4, 3))
  u /= np.linalg.norm(u, axis=-1, keepdims=True)
  np.testing.assert_allclose(body_space.wahba(u, u @ r.T), r, atol=1e-9)
  a, b = u[0], u[1]
  np.testing.assert_allclose(body_space.shortest_arc(a, b) @ a, b, atol=1e-9)
  f = body_space.frame_from_pairs(a, r @ a, u[2], r @ u[2])
  np.testing.assert_allclose(f, r, atol=1e-9)
  jitter = rotations.axis_angle_to_matrix(_rotvecs(rng, 50, 0.05))
  np.testing.assert_allclose(body_space.mean_rotation(r @ jitter), r, atol=0.03)
  # A hinge about h with a twist about the bone: the swing's axis is h.
  h, bone = np.array([0.0, 0.6, 0.8]), np.array([1.0, 0, 0])
  flex = rng.uniform(0.2, 1.5, 200)
  twist = rotations.axis_angle_to_matrix(np.outer(rng.normal(0, 0.3, 200), bone))
  rel = rotations.axis_angle_to_matrix(np.outer(flex, h)) @ twist
  np.testing.assert_allclose(body_space.hinge_axis(rel, bone), h, atol=1e-6)
  np.testing.assert_allclose(body_space.hinge_axis(np.swapaxes(rel, -1, -2), bone),
                             -h, atol=0.05)


def test_median_bone_lengths_is_symmetric():
  lengths = np.stack([LENGTHS, LENGTHS + 10, LENGTHS + 30])
  lengths[:, J("left_knee")] += 6
  med = body_space.median_bone_lengths(lengths)
  assert med[J("left_knee")] == med[J("right_knee")] == LENGTHS[J("left_knee")] + 13
  assert med[J("spine1")] == LENGTHS[J("spine1")] + 10


@pytest.mark.parametrize("width, fps_key", [(156, "mocap_framerate"),
                                            (165, "mocap_frame_rate")])
def test_amass_pose_body_maps_unchanged(tmp_path, width, fps_key):
  """An AMASS file (SMPL-H or SMPL-X layout) enters the body space as is:
  its pose_body is the body pose, its root orientation the root's."""
  rng = np.random.default_rng(4)
  poses = rng.normal(scale=0.4, size=(6, width))
  path = tmp_path / "walk_poses.npz"
  np.savez(path, poses=poses, trans=rng.normal(size=(6, 3)), betas=np.zeros(16),
           gender=np.array("male"), **{fps_key: np.array(60.0)})
  out = body_space.from_amass(amass.load_amass(path))
  np.testing.assert_array_equal(out["body_pose"], poses[:, 3:66].astype(np.float32))
  np.testing.assert_array_equal(out["root_orient"], poses[:, :3].astype(np.float32))
  np.testing.assert_allclose(out["trans"], np.load(path)["trans"] * 1000, rtol=1e-6)
  # A left knee bent by AMASS's +X rotation moves the shin backwards here too.
  pose = np.zeros((1, width))
  pose[0, 3 * J("left_knee"):3 * J("left_knee") + 3] = [np.pi / 2, 0, 0]
  np.savez(path, poses=pose, trans=np.zeros((1, 3)), betas=np.zeros(16),
           gender=np.array("male"), **{fps_key: np.array(60.0)})
  body = body_space.from_amass(amass.load_amass(path))
  joints = body_space.forward_kinematics(body["body_pose"], LENGTHS)
  assert (joints[0, J("left_ankle")] - joints[0, J("left_knee")])[2] < -400
  with pytest.raises(KeyError, match="pose_body"):
    body_space.from_amass({"trans": np.zeros((1, 3))})
  # A path is the data reader's to read: pose never imports data.
  with pytest.raises(TypeError, match="load_amass"):
    body_space.from_amass(path)
