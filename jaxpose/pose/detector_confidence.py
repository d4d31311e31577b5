"""A 2D detector's per-keypoint confidence, simulated from its error.

Heatmap detectors (the CPN and HRNet 2D that lifting papers read) give each
keypoint a score that ranks its error: informative but imperfect, lower at
limb ends (wrists, ankles) than at the torso, and lower the further the
keypoint is off. This model draws such a score from what the noise model
knows (each keypoint's error and whether it is a limb end), so that a
method reading confidence is never told which keypoints are outliers:

  logit = bias - slope * log(1 + error_px / scale_px)
          - limb_end_drop * [limb end] + spread * N(0, 1)
  confidence = sigmoid(logit)

With the defaults, under the mocap noise model (5 px Gaussian, 5% outliers
uniform in +-100 px), inliers and outliers overlap with a ranking AUC of
outliers by confidence near 0.86 (tests/pose/test_detector_confidence.py),
in the 0.8-0.9 range that detectors' scores reach on their own failures.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from jaxpose.checks import check_array
from jaxpose.pose.skeleton import H36M_17


@dataclasses.dataclass(frozen=True)
class ConfidenceModel:
  """The score's parameters (module docstring); `spread` sets how well it
  ranks errors (0: perfectly)."""
  bias: float = 2.5
  slope: float = 1.0
  scale_px: float = 10.0
  limb_end_drop: float = 0.5
  spread: float = 1.0

  def __post_init__(self):
    if self.scale_px <= 0 or self.slope < 0 or self.spread < 0:
      raise ValueError(f"ConfidenceModel: expected scale_px > 0, slope >= 0 "
                       f"and spread >= 0, got {self}")

  def draw(self, rng_or_key, error_px, limb_end=None):
    """Confidences in (0, 1), error_px's shape.

    Args:
      rng_or_key: a `np.random.Generator` (host data) or a jax key (jit).
      error_px: each keypoint's distance from the truth, pixels.
        # [..., J]
      limb_end: bool [J] (or error_px's shape): the limb-end keypoints.
    """
    check_array("error_px", error_px, ("...", None), finite=True)
    if isinstance(rng_or_key, np.random.Generator):
      xp, z = np, rng_or_key.normal(size=np.shape(error_px))
    else:
      xp = jnp
      z = jax.random.normal(rng_or_key, jnp.shape(error_px))
    error_px = xp.asarray(error_px, dtype=xp.float32)
    logit = self.bias - self.slope * xp.log1p(error_px / self.scale_px)
    if limb_end is not None:
      logit = logit - self.limb_end_drop * xp.asarray(limb_end, xp.float32)
    logit = logit + self.spread * z
    return (1.0 / (1.0 + xp.exp(-logit))).astype(xp.float32)


def of_keypoints(rng: np.random.Generator, noisy_px, exact_px) -> np.ndarray:
  """`ConfidenceModel()` scores `[..., J]` of noisy keypoints `[..., J, 2]`
  against the exact ones, Human3.6M's limb ends marked when J is 17."""
  error = np.linalg.norm(np.asarray(noisy_px) - np.asarray(exact_px), axis=-1)
  limb_end = np.zeros(error.shape[-1], bool)
  if error.shape[-1] == H36M_17.num_joints:
    limb_end[list(H36M_17.limb_ends)] = True
  return ConfidenceModel().draw(rng, error, limb_end)


def ranking_auc(confidence, outlier) -> float:
  """P(an inlier's confidence > an outlier's), ties counting half: how well
  the score ranks the outliers (0.5: not at all, 1: perfectly).

  Raises:
    ValueError: no inlier or no outlier.
  """
  confidence = np.asarray(confidence, np.float64).reshape(-1)
  outlier = np.asarray(outlier, bool).reshape(-1)
  n_in, n_out = int((~outlier).sum()), int(outlier.sum())
  if n_in == 0 or n_out == 0:
    raise ValueError(f"ranking_auc: needs inliers and outliers, got {n_in} "
                     f"and {n_out}")
  # Mann-Whitney: each value's mean rank among all, ties sharing theirs.
  _, inverse, counts = np.unique(confidence, return_inverse=True,
                                 return_counts=True)
  last = np.cumsum(counts)
  ranks = ((last - counts + 1 + last) / 2.0)[inverse]
  return float((ranks[~outlier].sum() - n_in * (n_in + 1) / 2) / (n_in * n_out))


__all__ = ["ConfidenceModel", "of_keypoints", "ranking_auc"]
