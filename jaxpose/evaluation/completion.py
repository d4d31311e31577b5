"""Completion and corruption: which joints are missing, how poses are noised,
and the errors on what was missing.

Shared by every method that completes or cleans poses (GFPose's 2D/3D
completion and denoising; prior-based fitting uses the same masks and
noise).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxpose import checks
from jaxpose.pose import metrics as metrics_lib
from jaxpose.pose.skeleton import H36M_17, Skeleton

NOISE_TYPES = ("gaussian", "uniform")


def draw_missing_joints(key: jax.Array, num_poses: int, k: int,
                        skeleton: Skeleton = H36M_17) -> np.ndarray:
  """Per pose, k distinct joints drawn uniformly from the limb ends.

  GFPose's missing-joint protocol.  A pure function of the key.

  Returns:
    Visibility, 0 on the k missing joints and 1 elsewhere.  # [N, J] float32
  """
  num_poses = checks.check_positive_int("num_poses", num_poses)
  ends = np.asarray(skeleton.limb_ends, np.int32)
  if not 1 <= k <= len(ends):
    raise ValueError(f"missing_joints: expected k in [1, {len(ends)}] (the "
                     f"limb ends of {skeleton.name}), got {k!r}")
  # Ranks of i.i.d. uniforms form a uniform random permutation per row.
  u = jax.random.uniform(key, (num_poses, len(ends)))
  ranks = np.asarray(jnp.argsort(jnp.argsort(u, axis=1), axis=1))
  vis = np.ones((num_poses, skeleton.num_joints), np.float32)
  rows, cols = np.nonzero(ranks < k)
  vis[rows, ends[cols]] = 0.0
  return vis


def part_visibility(num_poses: int, part: str,
                    skeleton: Skeleton = H36M_17) -> np.ndarray:
  """Visibility with one whole body part missing.  -> [N, J] float32."""
  if part not in skeleton.parts:
    raise ValueError(f"missing_parts: unknown body part {part!r}; valid: "
                     f"{', '.join(skeleton.part_names)}")
  vis = np.ones((num_poses, skeleton.num_joints), np.float32)
  vis[:, list(skeleton.parts[part])] = 0.0
  return vis


def completion_metrics(hyps_mm: np.ndarray, gt_mm: np.ndarray,
                       visible: np.ndarray) -> dict:
  """Completion errors on the missing joints only, and over all joints (mm).

  Args:
    hyps_mm: completed poses, H >= 1, N >= 1.  # [H, N, J, 3]
    gt_mm: ground truth.  # [N, J, 3]
    visible: 1 on observed joints, 0 on missing ones; every pose needs at
      least one missing joint.  # [N, J]

  Returns:
    `missing_mpjpe_mm` (of the hypotheses' mean), `missing_min_mpjpe_mm`
    (best-of-H per pose), `missing_mean_hypothesis_mpjpe_mm`, and the same
    three over all joints (`all_*`).
  """
  sizes = metrics_lib.check_hypotheses(hyps_mm, gt_mm)
  checks.check_array("visible", visible, ("N", "J"), sizes=sizes)
  missing = 1.0 - np.asarray(visible, np.float64)  # [N, J]
  count = missing.sum(axis=-1)  # [N]
  if np.any(count == 0):
    raise ValueError("visible: every pose needs at least one missing joint "
                     f"(rows without one: {np.flatnonzero(count == 0)[:5]})")
  hyps_mm = np.asarray(hyps_mm, np.float32)
  err = np.asarray(metrics_lib.per_joint_error(hyps_mm, gt_mm[None]))  # [H, N, J]
  err_mean = np.asarray(metrics_lib.per_joint_error(hyps_mm.mean(0), gt_mm))
  miss_h = (err * missing).sum(-1) / count  # [H, N]
  miss_mean = (err_mean * missing).sum(-1) / count  # [N]
  all_h = err.mean(-1)  # [H, N]
  return dict(
      missing_mpjpe_mm=float(miss_mean.mean()),
      missing_min_mpjpe_mm=float(miss_h.min(0).mean()),
      missing_mean_hypothesis_mpjpe_mm=float(miss_h.mean()),
      all_mpjpe_mm=float(err_mean.mean()),
      all_min_mpjpe_mm=float(all_h.min(0).mean()),
      all_mean_hypothesis_mpjpe_mm=float(all_h.mean()),
      missing_joints_per_pose=float(count.mean()))


def add_pose_noise(key: jax.Array, pose_mm: np.ndarray, noise_type: str,
                   level_mm: float) -> np.ndarray:
  """Noise on every joint but the root (poses are root-relative).

  'gaussian': N(0, level^2) per coordinate; 'uniform': U[-level, level] per
  coordinate.  pose_mm [N, J, 3] -> [N, J, 3].
  """
  checks.check_array("pose_mm", pose_mm, ("N", "J", 3))
  if noise_type not in NOISE_TYPES:
    raise ValueError(f"noise_types: unknown noise {noise_type!r}; valid: "
                     f"{', '.join(NOISE_TYPES)}")
  if not level_mm >= 0:
    raise ValueError(f"noise_levels_mm: expected a level >= 0, got {level_mm!r}")
  shape = np.shape(pose_mm)
  if noise_type == "gaussian":
    noise = jax.random.normal(key, shape) * level_mm
  else:
    noise = jax.random.uniform(key, shape, minval=-level_mm, maxval=level_mm)
  noise = np.array(noise, np.float32)  # a writable copy
  noise[:, 0] = 0.0
  return np.asarray(pose_mm, np.float32) + noise


__all__ = ["NOISE_TYPES", "draw_missing_joints", "part_visibility",
           "completion_metrics", "add_pose_noise"]
