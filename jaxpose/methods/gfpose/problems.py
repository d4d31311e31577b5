"""GFPose's test-time tasks as data: what is observed, what is masked, where
sampling starts.

One conditional score network serves every task; a task differs only in
the `sampling.Problem` value built here. Poses are `[N, J, 3]` model units
(the network's boundary), conditions `(c, c_mask)` of the same shape.

These functions are where a user's poses enter: each checks its arguments
against the network's J joints (H36M's 17 unless `num_joints` says
otherwise), so a pose of the wrong size is named as the user's argument,
not as the network's internal `x`.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from jaxpose import checks
from jaxpose.core import sampling
from jaxpose.methods.gfpose import masking
from jaxpose.pose.skeleton import H36M_17

# The joints of GFPose's network: H36M's 17, the only skeleton a
# representation takes.
NUM_JOINTS = H36M_17.num_joints


def estimation_problem(pose2d, *, visible=None,
                       num_joints: int = NUM_JOINTS) -> sampling.Problem:
  """2D-to-3D estimation: condition on every (visible) joint's 2D position.

  Args:
    pose2d: `[N, J, 2]` model units.
    visible: optional `[N, J]` in {0, 1}.
    num_joints: J, the network's joints.
  """
  sizes = {}
  checks.check_array("pose2d", pose2d, ("N", num_joints, 2), sizes=sizes)
  if visible is not None:
    checks.check_array("visible", visible, ("N", num_joints), sizes=sizes)
  cond, cond_mask = masking.condition_from_2d(pose2d, visible)
  batch, joints = pose2d.shape[:2]
  return sampling.Problem(x_init=jnp.zeros((batch, joints, 3), jnp.float32),
                          cond=(cond, cond_mask))


def confidence_visibility(pose2d, confidence, threshold: float, *,
                          num_joints: int = NUM_JOINTS) -> np.ndarray:
  """Which 2D joints stay conditions when the unsure ones are masked
  (`eval.mask_below_confidence`).

  A joint whose confidence is below `threshold` is masked, as 2D
  completion masks its missing joints: GFPose completes it from the
  others. A row whose every joint is below keeps its most confident one
  (the first of equals) visible, so no row is left with the null
  condition (unconditional sampling) by accident. The comparison is in
  float32, the scores' own precision.

  Args:
    pose2d: `[N, J, 2]` model units (the rows the scores belong to).
    confidence: `[N, J]` scores in [0, 1] (`pose2d_confidence`), or None:
      every joint's score is 1 (nothing masked).
    threshold: in [0, 1]; 0 masks nothing.
    num_joints: J, the network's joints.

  Returns:
    `[N, J]` float32, 1 for a condition, 0 for a masked joint (the
    `visible` of `estimation_problem`).
  """
  threshold = float(threshold)
  if not 0.0 <= threshold <= 1.0:
    raise ValueError(f"threshold: expected a value in [0, 1], got {threshold}")
  sizes = {}
  checks.check_array("pose2d", pose2d, ("N", num_joints, 2), sizes=sizes)
  if confidence is None:
    return np.ones(np.shape(pose2d)[:2], np.float32)
  checks.check_array("pose2d_confidence", confidence, ("N", num_joints),
                     sizes=sizes)
  score = np.asarray(confidence, np.float32)
  visible = score >= np.float32(threshold)
  empty = ~visible.any(axis=1)
  visible[empty, np.argmax(score[empty], axis=1)] = True
  return visible.astype(np.float32)


def completion_problem(pose3d, visible, *, impute: bool = True,
                       num_joints: int = NUM_JOINTS) -> sampling.Problem:
  """3D completion: condition on the visible joints and impute them.

  Args:
    pose3d: `[N, J, 3]` model units (missing joints may hold anything
      finite).
    visible: `[N, J]` in {0, 1}.
    impute: replace the visible joints by their observation along the way.
    num_joints: J, the network's joints.
  """
  sizes = {}
  checks.check_array("pose3d", pose3d, ("N", num_joints, 3), sizes=sizes)
  checks.check_array("visible", visible, ("N", num_joints), sizes=sizes)
  cond, cond_mask = masking.condition_from_3d(pose3d, visible)
  return sampling.Problem(
      x_init=jnp.zeros_like(cond), cond=(cond, cond_mask),
      observed=cond if impute else None,
      observed_mask=cond_mask if impute else None)


def denoising_problem(noisy_pose3d, *, t_start: float = 0.05,
                      num_joints: int = NUM_JOINTS) -> sampling.Problem:
  """Denoising: start from the noisy pose at a small time, unconditionally.

  Args:
    noisy_pose3d: `[N, J, 3]` model units.
    t_start: the diffusion time the noisy poses are taken to be at.
    num_joints: J, the network's joints.
  """
  checks.check_array("noisy_pose3d", noisy_pose3d, ("N", num_joints, 3))
  return sampling.Problem(x_init=jnp.asarray(noisy_pose3d), cond=None,
                          t_start=t_start, start="x_init")


def generation_problem(batch_size: int,
                       num_joints: int = NUM_JOINTS) -> sampling.Problem:
  """Unconditional generation from the prior (the null condition)."""
  batch_size = checks.check_positive_int("batch_size", batch_size)
  num_joints = checks.check_positive_int("num_joints", num_joints)
  return sampling.Problem(
      x_init=jnp.zeros((batch_size, num_joints, 3), jnp.float32), cond=None)


__all__ = ["estimation_problem", "confidence_visibility", "completion_problem",
           "denoising_problem", "generation_problem"]
