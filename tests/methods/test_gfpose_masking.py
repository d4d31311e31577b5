"""Hierarchical condition masking (GFPose): exact draws and empirical rates.

Rate tests use one large batch per configuration; every tolerance is a
multiple Z of the binomial standard error sqrt(p (1 - p) / n) of the
estimated frequency (Z = 5: a false alarm has probability below 1e-6 per
check).
"""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpose.methods.gfpose import masking
from jaxpose.methods.gfpose.masking import MaskConfig
from jaxpose.pose.skeleton import H36M_17

J = H36M_17.num_joints
PART_OF = H36M_17.part_of_joint
Z = 5.0


def _close(freq, p, n, z=Z):
  se = math.sqrt(max(p * (1 - p), 1e-12) / n)
  assert abs(freq - p) <= z * se, (freq, p, z * se)


def test_config_validation():
  MaskConfig(0.0, 1.0, 0.5, 0.0)
  for bad in (dict(p_pose=-0.1), dict(p_part=1.5), dict(p_joint=2),
              dict(p_swap3d=-1e-3)):
    with pytest.raises(ValueError, match=next(iter(bad))):
      MaskConfig(**bad)


def test_visibility_matches_hand_draws():
  cfg = MaskConfig(p_pose=0.2, p_part=0.3, p_joint=0.25)
  key = jax.random.key(11)
  vis = np.asarray(masking.joint_visibility(key, 64, cfg))
  k_pose, k_part, k_joint = jax.random.split(key, 3)
  pose = np.asarray(jax.random.bernoulli(k_pose, 0.2, (64,)))
  part = np.asarray(jax.random.bernoulli(k_part, 0.3, (64, 5)))
  joint = np.asarray(jax.random.bernoulli(k_joint, 0.25, (64, J)))
  hidden = pose[:, None] | part[:, PART_OF] | joint
  want = np.where(hidden, 0.0, 1.0).astype(np.float32)
  assert vis.dtype == np.float32 and vis.shape == (64, J)
  np.testing.assert_array_equal(vis, want)
  # The draw is a function of the key alone, and works under jit.
  jitted = jax.jit(masking.joint_visibility, static_argnums=(1, 2))
  np.testing.assert_array_equal(jitted(key, 64, cfg), vis)


@pytest.mark.parametrize("field", ["p_pose", "p_part", "p_joint"])
def test_any_level_at_one_hides_everything(field):
  vis = masking.joint_visibility(jax.random.key(0), 32,
                                 MaskConfig(**{"p_pose": 0.0, "p_part": 0.0,
                                               "p_joint": 0.0, field: 1.0}))
  np.testing.assert_array_equal(vis, 0.0)


def test_all_zero_keeps_everything():
  vis = masking.joint_visibility(jax.random.key(0), 32,
                                 MaskConfig(0.0, 0.0, 0.0, 0.0))
  np.testing.assert_array_equal(vis, 1.0)


def test_part_level_hides_whole_parts_only():
  cfg = MaskConfig(p_pose=0.0, p_part=0.5, p_joint=0.0)
  vis = np.asarray(masking.joint_visibility(jax.random.key(3), 256, cfg))
  for i, (name, joints) in enumerate(H36M_17.parts.items()):
    block = vis[:, list(joints)]
    # Within a part every joint shares the part's fate ...
    assert np.all(block == block[:, :1]), name
  # ... and the parts are drawn independently (not all the same each row).
  per_part = np.stack([vis[:, list(j)[0]] for j in H36M_17.parts.values()], 1)
  assert np.any(per_part.min(1) != per_part.max(1))


def test_masked_part_hides_exactly_its_joints():
  # Find rows where exactly one part is hidden and nothing else; the hidden
  # joints must be that part's joints, no more, no fewer.
  cfg = MaskConfig(p_pose=0.0, p_part=0.2, p_joint=0.0)
  key = jax.random.key(5)
  vis = np.asarray(masking.joint_visibility(key, 512, cfg))
  part = np.asarray(jax.random.bernoulli(jax.random.split(key, 3)[1], 0.2,
                                         (512, 5)))
  rows = np.flatnonzero(part.sum(1) == 1)
  assert rows.size > 50
  for b in rows:
    p = int(np.flatnonzero(part[b])[0])
    hidden = set(np.flatnonzero(vis[b] == 0).tolist())
    assert hidden == set(list(H36M_17.parts.values())[p])


@pytest.mark.parametrize("cfg", [MaskConfig(),
                                 MaskConfig(0.3, 0.2, 0.15, 0.4),
                                 MaskConfig(0.05, 0.5, 0.3, 0.7)])
def test_empirical_rates(cfg):
  n = 40_000
  vis = np.asarray(masking.joint_visibility(jax.random.key(123), n, cfg))
  q_pose, q_part, q_joint = 1 - cfg.p_pose, 1 - cfg.p_part, 1 - cfg.p_joint
  # Marginal visibility, per joint.
  p_vis = q_pose * q_part * q_joint
  for j in range(J):
    _close(vis[:, j].mean(), p_vis, n)
  # Whole pose hidden: the pose draw, or every part lost to its part draw or
  # to all of its joints' draws.
  p_all = cfg.p_pose + q_pose * math.prod(
      cfg.p_part + q_part * cfg.p_joint ** len(joints)
      for joints in H36M_17.parts.values())
  _close((vis.sum(1) == 0).mean(), p_all, n)
  # Co-visibility: joints of one part share the pose and part draws, joints
  # of two parts only the pose draw.  This is the hierarchical correlation.
  same = q_pose * q_part * q_joint ** 2
  diff = q_pose * q_part ** 2 * q_joint ** 2
  for i, j in [(1, 2), (11, 13), (0, 10), (7, 9)]:
    assert PART_OF[i] == PART_OF[j]
    _close((vis[:, i] * vis[:, j]).mean(), same, n)
  for i, j in [(1, 4), (13, 16), (0, 3), (10, 12)]:
    assert PART_OF[i] != PART_OF[j]
    _close((vis[:, i] * vis[:, j]).mean(), diff, n)
  # Both hidden, within a part.
  i, j = 4, 6
  co_hidden = 1 - 2 * p_vis + same
  _close(((1 - vis[:, i]) * (1 - vis[:, j])).mean(), co_hidden, n)


def _poses(seed, b):
  rng = np.random.default_rng(seed)
  # Offset away from zero so "zeroed" is distinguishable from the data.
  return (rng.normal(size=(b, J, 3)).astype(np.float32) + 5.0,
          rng.normal(size=(b, J, 2)).astype(np.float32) - 5.0)


def test_make_condition_semantics_on_fixed_key():
  cfg = MaskConfig(0.1, 0.2, 0.3, 0.5)
  b = 48
  pose3d, pose2d = _poses(0, b)
  key = jax.random.key(9)
  cond, mask = map(np.asarray,
                   masking.make_condition(key, pose3d, pose2d, cfg))
  assert cond.shape == mask.shape == (b, J, 3)
  k_vis, k_swap = jax.random.split(key)
  vis = np.asarray(masking.joint_visibility(k_vis, b, cfg))
  swap = np.asarray(jax.random.bernoulli(k_swap, 0.5, (b,)))
  assert 0 < swap.sum() < b
  p3, p2 = np.asarray(pose3d), np.asarray(pose2d)
  want_c = np.zeros((b, J, 3), np.float32)
  want_m = np.zeros((b, J, 3), np.float32)
  for r in range(b):
    if swap[r]:  # 3D row: all three coordinates, visible joints only
      want_c[r] = p3[r] * vis[r, :, None]
      want_m[r] = vis[r, :, None]
    else:  # 2D row: (u, v, 0), mask (1, 1, 0) on visible joints
      want_c[r, :, :2] = p2[r] * vis[r, :, None]
      want_m[r, :, :2] = vis[r, :, None]
  np.testing.assert_allclose(cond, want_c, rtol=1e-6)
  np.testing.assert_array_equal(mask, want_m)
  # Masked entries of cond are exactly zero.
  assert np.all(cond[mask == 0] == 0)
  # jit with static config gives the same.
  jitted = jax.jit(masking.make_condition, static_argnums=(3,))
  c2, m2 = jitted(key, pose3d, pose2d, cfg)
  np.testing.assert_array_equal(c2, cond)
  np.testing.assert_array_equal(m2, mask)


@pytest.mark.parametrize("p_swap", [0.0, 1.0])
def test_swap_edge_cases(p_swap):
  cfg = MaskConfig(0.0, 0.0, 0.0, p_swap)
  pose3d, pose2d = _poses(1, 16)
  cond, mask = masking.make_condition(jax.random.key(2), pose3d, pose2d, cfg)
  if p_swap == 1.0:
    np.testing.assert_array_equal(cond, pose3d)
    np.testing.assert_array_equal(mask, 1.0)
  else:
    np.testing.assert_array_equal(cond[..., :2], pose2d)
    np.testing.assert_array_equal(cond[..., 2], 0.0)
    np.testing.assert_array_equal(mask, np.broadcast_to([1, 1, 0], (16, J, 3)))


@pytest.mark.parametrize("p_swap", [0.1, 0.35])
def test_swap_rate(p_swap):
  n = 40_000
  cfg = MaskConfig(0.0, 0.0, 0.0, p_swap)
  pose3d = jnp.ones((n, J, 3))
  pose2d = jnp.ones((n, J, 2))
  _, mask = masking.make_condition(jax.random.key(4), pose3d, pose2d, cfg)
  swapped = np.asarray(mask[:, 0, 2])  # z is conditioned only in 3D rows
  _close(swapped.mean(), p_swap, n)


def test_swap_independent_of_visibility():
  # Swapped rows are masked at the default rates too: P(visible and
  # swapped) = p_visible * p_swap3d.
  n = 40_000
  cfg = MaskConfig(0.2, 0.1, 0.1, 0.3)
  _, mask = masking.make_condition(jax.random.key(8), jnp.ones((n, J, 3)),
                                   jnp.ones((n, J, 2)), cfg)
  z_on = np.asarray(mask[:, 3, 2])  # joint 3 visible and row swapped
  _close(z_on.mean(), (1 - cfg.p_pose) * (1 - cfg.p_part) * (1 - cfg.p_joint)
         * 0.3, n)


def test_condition_builders():
  pose3d, pose2d = _poses(3, 4)
  visible = np.ones((4, J), bool)
  visible[:, [2, 3]] = False
  c, m = masking.condition_from_2d(pose2d, visible)
  np.testing.assert_array_equal(m[:, 2], 0.0)
  np.testing.assert_array_equal(m[:, 0], [[1, 1, 0]] * 4)
  np.testing.assert_array_equal(c[:, 0, :2], pose2d[:, 0])
  np.testing.assert_array_equal(c[:, [2, 3]], 0.0)
  np.testing.assert_array_equal(c[..., 2], 0.0)
  c, m = masking.condition_from_3d(pose3d)
  np.testing.assert_array_equal(c, pose3d)
  np.testing.assert_array_equal(m, 1.0)
  c, m = masking.condition_from_3d(pose3d, visible.astype(np.float32))
  np.testing.assert_array_equal(c[:, [2, 3]], 0.0)
  np.testing.assert_array_equal(c[:, 4], pose3d[:, 4])
  # Any leading dims (e.g. [H, B, J, 2] hypotheses).
  c, m = masking.condition_from_2d(jnp.zeros((2, 3, J, 2)))
  assert c.shape == m.shape == (2, 3, J, 3)


def test_bad_inputs():
  pose3d, pose2d = _poses(0, 4)
  cfg = MaskConfig()
  with pytest.raises(ValueError, match="pose2d"):
    masking.make_condition(jax.random.key(0), pose3d, pose2d[:3], cfg)
  with pytest.raises(ValueError, match="pose3d"):
    masking.make_condition(jax.random.key(0), pose3d[..., :2], pose2d, cfg)
  with pytest.raises(ValueError, match="pose2d"):
    masking.condition_from_2d(pose3d)
  with pytest.raises(ValueError, match="visible"):
    masking.condition_from_2d(pose2d, np.ones((4, J - 1)))
  with pytest.raises(ValueError, match="batch_size"):
    masking.joint_visibility(jax.random.key(0), 0, cfg)
