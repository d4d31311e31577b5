"""GFPose's hierarchical condition masking, as pure data augmentation.

One network serves every task because, in training, the condition it sees is
randomly thinned at three nested levels, each an independent Bernoulli draw:
the whole pose (p_pose), each body part of the skeleton (p_part) and each
joint (p_joint).  A joint is visible only if none of the three hid it, so

  P(joint visible) = (1 - p_pose) (1 - p_part) (1 - p_joint),

and joints of one part are hidden together more often than joints of two
parts.  On top of that, with probability p_swap3d a row's 2D condition is
replaced by its ground-truth 3D pose, which is what lets the same model
complete 3D poses at test time.

Conditions are `[..., J, 3]` with a mask of the same shape: a 2D keypoint
(u, v) becomes (u, v, 0) with mask (1, 1, 0); a 3D joint keeps all three
coordinates with mask (1, 1, 1); hidden joints have mask and value zero.  The
score network consumes `c_mask * (x - c)`.

Key use (fixed, so tests can redraw by hand):
  joint_visibility: k_pose, k_part, k_joint = jax.random.split(key, 3)
  make_condition:   k_vis, k_swap = jax.random.split(key); the visibility
                    comes from joint_visibility(k_vis, ...).
"""
from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp

from jaxpose import checks
from jaxpose.pose.skeleton import H36M_17, Skeleton


@dataclasses.dataclass(frozen=True)
class MaskConfig:
  """Probabilities of the training-time condition augmentation.

  Attributes:
    p_pose: hide the whole condition (the null condition; trains the
      unconditional score used for generation and denoising).
    p_part: hide each body part independently.
    p_joint: hide each joint independently.
    p_swap3d: replace the 2D condition by the ground-truth 3D pose.
  """
  p_pose: float = 0.1
  p_part: float = 0.1
  p_joint: float = 0.1
  p_swap3d: float = 0.1

  def __post_init__(self):
    for f in dataclasses.fields(self):
      checks.check_probability(f.name, getattr(self, f.name))


def joint_visibility(key: jax.Array, batch_size: int, cfg: MaskConfig,
                     skeleton: Skeleton = H36M_17) -> jax.Array:
  """Draws the hierarchical visibility mask.

  Args:
    key: PRNG key.
    batch_size: B (static).
    cfg: masking probabilities.
    skeleton: supplies the joints and the body parts.

  Returns:
    `[B, J]` float32, 1 where the joint's condition is kept.
  """
  batch_size = checks.check_positive_int("batch_size", batch_size)
  return _draw_visibility(key, batch_size, cfg,
                          tuple(int(p) for p in skeleton.part_of_joint))


# Jitted core: eager callers (data pipelines, tests) compile it once per
# (batch size, config, skeleton) instead of dispatching every op.  Skeleton
# holds a dict, so its static content enters as the part index tuple.
@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _draw_visibility(key, batch_size: int, cfg: MaskConfig,
                     part_of_joint: tuple[int, ...]) -> jax.Array:
  num_joints = len(part_of_joint)
  num_parts = max(part_of_joint) + 1
  k_pose, k_part, k_joint = jax.random.split(key, 3)
  pose_hidden = jax.random.bernoulli(k_pose, cfg.p_pose, (batch_size,))  # [B]
  part_hidden = jax.random.bernoulli(k_part, cfg.p_part,
                                     (batch_size, num_parts))  # [B, P]
  joint_hidden = jax.random.bernoulli(k_joint, cfg.p_joint,
                                      (batch_size, num_joints))  # [B, J]
  part_hidden_j = part_hidden[:, jnp.array(part_of_joint)]  # [B, J]
  hidden = pose_hidden[:, None] | part_hidden_j | joint_hidden
  return (~hidden).astype(jnp.float32)


def _visibility_or_ones(name, visible, batch_shape, num_joints):
  if visible is None:
    return jnp.ones(batch_shape + (num_joints,), jnp.float32)
  visible = jnp.asarray(visible)
  if visible.shape != batch_shape + (num_joints,):
    raise ValueError(f"{name}: expected shape {batch_shape + (num_joints,)} "
                     f"(the pose's leading dims and J), got {visible.shape}")
  return visible.astype(jnp.float32)


def condition_from_2d(pose2d: jax.Array, visible: jax.Array | None = None):
  """Builds a 2D condition (estimation, 2D completion).

  Args:
    pose2d: `[..., J, 2]` keypoints, in the model's normalised units.
    visible: optional `[..., J]` (bool or {0, 1}); None = all visible.

  Returns:
    `(cond [..., J, 3], cond_mask [..., J, 3])` with z and hidden joints zero.
  """
  checks.check_array("pose2d", pose2d, ("...", None, 2))
  pose2d = jnp.asarray(pose2d)
  *batch, num_joints, _ = pose2d.shape
  vis = _visibility_or_ones("visible", visible, tuple(batch), num_joints)
  mask = jnp.broadcast_to(jnp.array([1.0, 1.0, 0.0], pose2d.dtype),
                          pose2d.shape[:-1] + (3,)) * vis[..., None]
  cond = jnp.concatenate([pose2d, jnp.zeros_like(pose2d[..., :1])], axis=-1)
  return cond * mask, mask


def condition_from_3d(pose3d: jax.Array, visible: jax.Array | None = None):
  """Builds a 3D condition (3D completion).

  Args:
    pose3d: `[..., J, 3]` poses, in the model's normalised units.
    visible: optional `[..., J]` (bool or {0, 1}); None = all visible.

  Returns:
    `(cond [..., J, 3], cond_mask [..., J, 3])`, hidden joints zero.
  """
  checks.check_array("pose3d", pose3d, ("...", None, 3))
  pose3d = jnp.asarray(pose3d)
  *batch, num_joints, _ = pose3d.shape
  vis = _visibility_or_ones("visible", visible, tuple(batch), num_joints)
  mask = jnp.broadcast_to(vis[..., None], pose3d.shape).astype(pose3d.dtype)
  return pose3d * mask, mask


def make_condition(key: jax.Array, pose3d: jax.Array, pose2d: jax.Array,
                   cfg: MaskConfig, skeleton: Skeleton = H36M_17):
  """Training condition for a batch: 2D/3D swap, then hierarchical masking.

  Args:
    key: PRNG key.
    pose3d: `[B, J, 3]` ground-truth poses (the diffused data).
    pose2d: `[B, J, 2]` their 2D keypoints.
    cfg: masking probabilities.
    skeleton: supplies J and the body parts.

  Returns:
    `(cond [B, J, 3], cond_mask [B, J, 3])`, each row a 2D or (swapped) 3D
    condition as in the module docstring, hidden joints zero.
  """
  sizes = {}
  num_joints = skeleton.num_joints
  checks.check_array("pose3d", pose3d, ("B", num_joints, 3), sizes=sizes)
  checks.check_array("pose2d", pose2d, ("B", num_joints, 2), sizes=sizes)
  return _make_condition(key, jnp.asarray(pose3d), jnp.asarray(pose2d), cfg,
                         tuple(int(p) for p in skeleton.part_of_joint))


@functools.partial(jax.jit, static_argnums=(3, 4))
def _make_condition(key, pose3d, pose2d, cfg: MaskConfig,
                    part_of_joint: tuple[int, ...]):
  batch = pose3d.shape[0]
  k_vis, k_swap = jax.random.split(key)
  vis = _draw_visibility(k_vis, batch, cfg, part_of_joint)  # [B, J]
  swap = jax.random.bernoulli(k_swap, cfg.p_swap3d, (batch,))  # [B]
  c2, m2 = condition_from_2d(pose2d, vis)
  c3, m3 = condition_from_3d(pose3d, vis)
  pick = swap[:, None, None]
  return jnp.where(pick, c3, c2), jnp.where(pick, m3, m2)
