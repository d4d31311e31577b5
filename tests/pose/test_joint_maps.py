"""Joint regressors and the torso frame: known weights, rotations by hand."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpose.pose import joint_maps, rotations
from jaxpose.pose.skeleton import H36M_17, SMPL_22


def _known_w(rng, t, s):
  w = rng.normal(size=(t, s))
  w[:, 0] += 1.0 - w.sum(axis=1)  # rows sum to 1
  return w


def _random_rotation(rng, n=()):
  return rotations.axis_angle_to_matrix(rng.normal(size=n + (3,)) * 1.5)


def test_regressor_recovers_known_weights():
  rng = np.random.default_rng(0)
  w = _known_w(rng, 5, 8)
  # Far from the origin on purpose: centring must keep the fit conditioned.
  source = rng.normal(size=(40, 8, 3)) * 300 + np.array([2000.0, -500, 900])
  target = np.einsum("ts,nsc->ntc", w, source)
  fit = joint_maps.fit_joint_regressor(source, target, ridge=0.0)
  assert fit.shape == (5, 8) and fit.dtype == np.float32
  np.testing.assert_allclose(fit, w, atol=1e-5)
  np.testing.assert_allclose(fit.astype(np.float64).sum(axis=1), 1.0, atol=1e-6)
  # The default ridge (1e-3 of the mean Gram diagonal) shrinks a
  # well-determined fit by about 0.1% of the weights' size.
  np.testing.assert_allclose(joint_maps.fit_joint_regressor(source, target), w,
                             atol=2e-3 * np.abs(w).max())


def test_regressor_rows_sum_to_one_even_when_the_best_fit_would_not():
  rng = np.random.default_rng(1)
  source = rng.normal(size=(30, 4, 3))
  target = 2.0 * source[:, :1]  # unconstrained answer: row (2, 0, 0, 0)
  fit = joint_maps.fit_joint_regressor(source, target, ridge=0.0)
  np.testing.assert_allclose(fit.sum(axis=1), 1.0, atol=1e-6)


def test_selection_is_recovered_and_regressed_joints_follow_translation():
  rng = np.random.default_rng(2)
  source = rng.normal(size=(50, 6, 3)) * 100
  target = source[:, [4, 1]]
  fit = joint_maps.fit_joint_regressor(source, target, ridge=0.0)
  np.testing.assert_allclose(fit, np.eye(6)[[4, 1]], atol=1e-5)
  w = _known_w(rng, 3, 6).astype(np.float32)
  shift = np.array([1000.0, -300.0, 50.0])
  moved = joint_maps.apply_regressor(w, source + shift)
  np.testing.assert_allclose(moved, joint_maps.apply_regressor(w, source) + shift,
                             rtol=1e-5, atol=1e-3)


def test_apply_regressor_numpy_and_jax_agree_and_differentiate():
  rng = np.random.default_rng(3)
  w = _known_w(rng, 4, 5).astype(np.float32)
  joints = rng.normal(size=(2, 7, 5, 3)).astype(np.float32)  # any leading dims
  out_np = joint_maps.apply_regressor(w, joints)
  assert isinstance(out_np, np.ndarray) and out_np.shape == (2, 7, 4, 3)
  out_jax = jax.jit(joint_maps.apply_regressor)(jnp.asarray(w), jnp.asarray(joints))
  np.testing.assert_allclose(out_jax, out_np, rtol=1e-5, atol=1e-5)
  # d(sum of regressed joints)/d(source joint s) = sum_t w[t, s] per coordinate.
  grad = jax.grad(lambda j: joint_maps.apply_regressor(w, j).sum())(jnp.asarray(joints[0, 0]))
  np.testing.assert_allclose(grad, np.repeat(w.sum(0)[:, None], 3, axis=1), rtol=1e-6)


def test_regressor_errors_name_the_problem():
  good = np.zeros((4, 6, 3))
  with pytest.raises(ValueError, match=r"target: expected shape \(N, T, 3\) with N=4"):
    joint_maps.fit_joint_regressor(good, np.zeros((3, 2, 3)))
  with pytest.raises(ValueError, match=r"source: expected shape \(N, S, 3\)"):
    joint_maps.fit_joint_regressor(np.zeros((4, 6, 2)), np.zeros((4, 2, 3)))
  bad = np.ones((4, 6, 3))
  bad[1, 2, 0] = np.nan
  with pytest.raises(ValueError, match=r"source: non-finite values \(NaN or "
                     r"inf\) in 1 of 4 rows: 1 \(shape \(4, 6, 3\)\)"):
    joint_maps.fit_joint_regressor(bad, np.zeros((4, 2, 3)))
  with pytest.raises(ValueError, match="ridge"):
    joint_maps.fit_joint_regressor(good, np.zeros((4, 2, 3)), ridge=-1.0)
  with pytest.raises(ValueError, match="do not determine the regressor"):
    joint_maps.fit_joint_regressor(np.ones((4, 6, 3)), np.ones((4, 2, 3)), ridge=0.0)
  with pytest.raises(ValueError, match=r"joints: expected shape \(\.\.\., S, 3\) with S=6"):
    joint_maps.apply_regressor(np.zeros((2, 6)), np.zeros((10, 5, 3)))


def _h36m_pose(rng):
  """A rough upright H36M pose (mm), Y up, facing +Z, plus jitter."""
  base = np.zeros((17, 3))
  base[H36M_17.index("l_hip")] = [100, 0, 0]
  base[H36M_17.index("r_hip")] = [-100, 0, 0]
  base[H36M_17.index("thorax")] = [0, 500, 0]
  return base + rng.normal(size=(17, 3)) * 30


def test_torso_frame_by_hand_and_proper_rotation():
  # Hips along X, spine along Y: the torso frame is the identity.
  joints = np.zeros((17, 3))
  joints[H36M_17.index("l_hip")] = [1, 0, 0]
  joints[H36M_17.index("r_hip")] = [-1, 0, 0]
  joints[H36M_17.index("thorax")] = [0.3, 2, 0]  # X part removed by Gram-Schmidt
  idx = joint_maps.torso_joints(H36M_17)
  np.testing.assert_allclose(joint_maps.torso_frame(joints, **idx), np.eye(3), atol=1e-12)
  rng = np.random.default_rng(4)
  poses = rng.normal(size=(6, 17, 3)) * 200
  rot = joint_maps.torso_frame(poses, **idx)
  np.testing.assert_allclose(np.swapaxes(rot, -1, -2) @ rot, np.broadcast_to(np.eye(3), rot.shape),
                             atol=1e-10)
  np.testing.assert_allclose(np.linalg.det(rot), 1.0, atol=1e-10)
  # Z = X x Y points forward: a person facing +Z keeps Z.
  upright = _h36m_pose(np.random.default_rng(5))
  assert joint_maps.torso_frame(upright, **idx)[2, 2] > 0.9


@pytest.mark.parametrize("skeleton", [H36M_17, SMPL_22])
def test_to_torso_frame_ignores_global_rotation_and_translation(skeleton):
  rng = np.random.default_rng(6)
  poses = rng.normal(size=(5, skeleton.num_joints, 3)) * 200  # [5, J, 3]
  rot = _random_rotation(rng, (5,))  # [5, 3, 3]
  moved = np.einsum("nij,nkj->nki", rot, poses) + rng.normal(size=(5, 1, 3)) * 1000
  canon = joint_maps.to_torso_frame(poses, skeleton)
  np.testing.assert_allclose(joint_maps.to_torso_frame(moved, skeleton), canon, atol=1e-8)
  idx = joint_maps.torso_joints(skeleton)
  np.testing.assert_allclose(canon[:, idx["root"]], 0.0, atol=1e-9)
  across = canon[:, idx["left_hip"]] - canon[:, idx["right_hip"]]
  np.testing.assert_allclose(across[:, 1:], 0.0, atol=1e-9)  # along +X
  assert (across[:, 0] > 0).all()
  np.testing.assert_allclose(canon[:, idx["neck"], 2], 0.0, atol=1e-9)  # in the X-Y plane
  assert (canon[:, idx["neck"], 1] > 0).all()
  # Distances are kept (a rigid motion).
  np.testing.assert_allclose(np.linalg.norm(canon - canon[:, :1], axis=-1),
                             np.linalg.norm(poses - poses[:, :1], axis=-1), rtol=1e-9)


def test_to_torso_frame_jax_matches_numpy_under_jit():
  rng = np.random.default_rng(7)
  poses = (rng.normal(size=(3, 22, 3)) * 200).astype(np.float32)
  out = jax.jit(lambda p: joint_maps.to_torso_frame(p, SMPL_22))(jnp.asarray(poses))
  np.testing.assert_allclose(out, joint_maps.to_torso_frame(poses, SMPL_22), atol=1e-3)
  grad = jax.grad(lambda p: joint_maps.to_torso_frame(p, SMPL_22).sum())(jnp.asarray(poses))
  assert np.isfinite(np.asarray(grad)).all()


def test_torso_frame_errors_name_the_problem():
  with pytest.raises(ValueError, match=r"joints: expected shape \(\.\.\., 17, 3\)"):
    joint_maps.to_torso_frame(np.zeros((2, 22, 3)), H36M_17)
  with pytest.raises(ValueError, match="neck: joint index 30 out of range"):
    joint_maps.torso_frame(np.zeros((17, 3)), left_hip=4, right_hip=1, root=0, neck=30)
  flat = np.zeros((2, 17, 3))
  flat[1] = _h36m_pose(np.random.default_rng(8))
  with pytest.raises(ValueError, match=r"no torso frame for pose \(0,\)"):
    joint_maps.to_torso_frame(flat, H36M_17)
