"""GFPose's test-time tasks as data: what is observed, what is masked, where
sampling starts.

One conditional score network serves every task; a task differs only in
the `sampling.Problem` value built here. Poses are `[B, J, 3]` model units
(the network's boundary), conditions `(c, c_mask)` of the same shape.
"""
from __future__ import annotations

import jax.numpy as jnp

from jaxpose import checks
from jaxpose.core import sampling
from jaxpose.methods.gfpose import masking


def estimation_problem(pose2d, *, visible=None) -> sampling.Problem:
  """2D-to-3D estimation: condition on every (visible) joint's 2D position.

  pose2d: [B, J, 2] model units; visible: optional [B, J] in {0, 1}.
  """
  checks.check_array("pose2d", pose2d, ("B", None, 2))
  cond, cond_mask = masking.condition_from_2d(pose2d, visible)
  batch, joints = pose2d.shape[:2]
  return sampling.Problem(x_init=jnp.zeros((batch, joints, 3), jnp.float32),
                       cond=(cond, cond_mask))


def completion_problem(pose3d, visible, *, impute: bool = True) -> sampling.Problem:
  """3D completion: condition on the visible joints and impute them.

  pose3d: [B, J, 3] model units (missing joints may hold anything finite);
  visible: [B, J] in {0, 1}.
  """
  checks.check_array("pose3d", pose3d, ("B", "J", 3))
  checks.check_array("visible", visible, ("B", "J"))
  cond, cond_mask = masking.condition_from_3d(pose3d, visible)
  return sampling.Problem(
      x_init=jnp.zeros_like(cond), cond=(cond, cond_mask),
      observed=cond if impute else None,
      observed_mask=cond_mask if impute else None)


def denoising_problem(noisy_pose3d, *, t_start: float = 0.05) -> sampling.Problem:
  """Denoising: start from the noisy pose at a small time, unconditionally."""
  checks.check_array("noisy_pose3d", noisy_pose3d, ("B", None, 3))
  return sampling.Problem(x_init=jnp.asarray(noisy_pose3d), cond=None,
                       t_start=t_start, start="x_init")


def generation_problem(batch_size: int, num_joints: int = 17) -> sampling.Problem:
  """Unconditional generation from the prior (the null condition)."""
  batch_size = checks.check_positive_int("batch_size", batch_size)
  return sampling.Problem(x_init=jnp.zeros((batch_size, num_joints, 3), jnp.float32),
                       cond=None)


__all__ = ["estimation_problem", "completion_problem", "denoising_problem",
           "generation_problem"]
