"""Calibration of multi-hypothesis 3D pose: can the hypotheses' spread be trusted?

A method that returns H hypotheses per 2D pose implicitly claims an
uncertainty: where its hypotheses spread out it should be wrong by more,
and a truth should fall inside the hypotheses' central 50% interval half
the time. `calibration_metrics` measures that claim for any method, in mm:

- spread-error correlation (Pearson and Spearman) per (pose, joint):
  positive is good, large spread flags large error.
- coverage of central intervals, per coordinate and radial: a calibrated
  method reaches the level itself, an over-confident one less, an
  under-confident one more.
- energy score (the multivariate CRPS): a proper score (lower is better,
  minimised in expectation by the true predictive distribution), of the
  whole pose and of each joint.

Exact definitions are in `calibration_metrics`. Cost: O(H^2 N J) time for
the pairs, a sort of the H hypotheses for the quantiles, both in chunks of
`chunk_poses` poses, so memory stays about 6 x H x chunk x J x 3 float32
values, never [H, H, N, J].
"""
from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxpose import checks
from jaxpose.pose import metrics as metrics_lib

# Float32 elements per [H, chunk, J, 3] array of a chunk: with about six
# such arrays alive (hypotheses, sorted copy, deviations, shifted copy,
# differences) a chunk takes ~200 MB, whatever H.
_CHUNK_ELEMENTS = 2**23

_NOTE_SINGLE = ("H = 1: a single hypothesis has no spread, so the spread-error "
                "correlation and the coverage are undefined (null); the energy "
                "score reduces to the error")


def level_key(level: float) -> str:
  """The key of a level in the coverage dicts: 0.5 -> "0.5"."""
  return f"{float(level):g}"


def _check_levels(levels: Sequence[float]) -> tuple[float, ...]:
  try:
    levels = tuple(float(l) for l in levels)
  except (TypeError, ValueError):
    raise ValueError(f"levels: expected a sequence of numbers in (0, 1), got "
                     f"{levels!r}") from None
  if not levels or any(not 0.0 < l < 1.0 for l in levels):
    raise ValueError(f"levels: expected at least one level in (0, 1), got {levels}")
  if len({level_key(l) for l in levels}) != len(levels):
    raise ValueError(f"levels: expected distinct levels, got {levels}")
  return levels


def _quantile_sorted(sorted_x, p: float):
  """The p-quantile of samples sorted along axis 0, Weibull positions.

  Position p (H + 1) in 1-based order statistics (numpy's "weibull"
  method), clipped to [1, H]: for a truth exchangeable with the H samples,
  P(truth <= quantile) = p wherever the position is an integer, so a
  calibrated sampler's coverage is the level itself, not about
  level (H-1)/(H+1) as with numpy's default linear positions.
  """
  h = sorted_x.shape[0]
  pos = min(max(p * (h + 1) - 1.0, 0.0), h - 1.0)  # 0-based, static
  lo = int(np.floor(pos))
  hi = min(lo + 1, h - 1)
  frac = pos - lo
  return sorted_x[lo] + frac * (sorted_x[hi] - sorted_x[lo])


@jax.jit
def _energy_scores(x, y) -> tuple[jax.Array, jax.Array]:
  """Energy scores of one chunk of poses, per joint (3-D) and per pose.

  Args:
    x: hypotheses.  # [H, n, J, 3]
    y: truth.  # [n, J, 3]

  Returns:
    Per-joint energy scores [n, J] and whole-pose ones [n].
  """
  num = x.shape[0]
  # One [H, n, J] array per coordinate: XLA on CPU runs these loops
  # faster than over a trailing axis of 3 (or a leading one).
  xs = [x[..., c] for c in range(3)]
  sq_y = sum((v - y[None, ..., c]) ** 2 for c, v in enumerate(xs))  # [H, n, J]
  term1_joint = jnp.sqrt(sq_y).mean(axis=0)  # [n, J]
  term1_pose = jnp.sqrt(sq_y.sum(axis=-1)).mean(axis=0)  # [n]
  if num == 1:  # no pairs: the score is the error
    return term1_joint, term1_pose

  # sum_{h<k} ||x_h - x_k|| without an [H, H, ...] tensor: shifting the
  # hypotheses by s = 1 .. H//2 pairs each h with (h + s) mod H, which
  # visits every unordered pair once, except s = H/2 (H even), which visits
  # each pair twice and is weighted by 1/2. Half the work of all H^2 pairs.
  doubled = [jnp.concatenate([v, v]) for v in xs]  # [2H, n, J]: shift = slice

  def shift_sums(s, acc):
    joint_acc, pose_acc = acc
    sq = sum((v - jax.lax.dynamic_slice_in_dim(vv, s, num)) ** 2
             for v, vv in zip(xs, doubled))  # [H, n, J]
    w = jnp.where(2 * s == num, 0.5, 1.0)
    return (joint_acc + w * jnp.sqrt(sq).sum(axis=0),
            pose_acc + w * jnp.sqrt(sq.sum(axis=-1)).sum(axis=0))

  zeros = (jnp.zeros_like(term1_joint), jnp.zeros_like(term1_pose))
  pair_joint, pair_pose = jax.lax.fori_loop(1, num // 2 + 1, shift_sums, zeros)
  # E||X - X'|| / 2 = sum_{h<k} / (H (H - 1)): the mean over distinct pairs.
  return (term1_joint - pair_joint / (num * (num - 1)),
          term1_pose - pair_pose / (num * (num - 1)))


def _interval_figures(x: np.ndarray, y: np.ndarray,
                      levels: tuple[float, ...]) -> dict:
  """Spread, error and coverage of one chunk of poses (numpy: its sort
  along the hypotheses is faster than XLA's on CPU).

  Args:
    x: hypotheses.  # [H, n, J, 3]
    y: truth.  # [n, J, 3]
    levels: central interval levels.

  Returns:
    spread, error: [n, J]; for H > 1 also covered [L, n, J, 3] and radial
    [L, n, J] (True where the truth is inside).
  """
  num = x.shape[0]
  mean = x.mean(axis=0)  # [n, J, 3]
  dist_h = np.linalg.norm(x - mean[None], axis=-1)  # [H, n, J]
  out = dict(spread=dist_h.mean(axis=0), error=np.linalg.norm(mean - y, axis=-1))
  if num == 1:
    return out
  sorted_x = np.sort(x, axis=0)
  # Leave-one-out radii: a hypothesis' distance from the mean of the other
  # H - 1, H / (H - 1) times its distance from the mean of all H, so that a
  # truth (which did not pull the mean towards itself) and a hypothesis are
  # compared alike.
  sorted_r = np.sort(dist_h * (num / (num - 1)), axis=0)  # [H, n, J]
  covered, radial = [], []
  for level in levels:
    lo = _quantile_sorted(sorted_x, (1.0 - level) / 2)
    hi = _quantile_sorted(sorted_x, (1.0 + level) / 2)
    covered.append((lo <= y) & (y <= hi))
    radial.append(out["error"] <= _quantile_sorted(sorted_r, level))
  out.update(covered=np.stack(covered), radial=np.stack(radial))
  return out


def _chunked(hyps, gt, levels, chunk: int) -> dict:
  """The per-(pose, joint) figures, in chunks of `chunk` poses.

  The jitted energy scores see fixed-size chunks (the last one padded with
  its last pose, dropped afterwards): one compiled program for all.
  """
  n = gt.shape[0]
  parts = []
  for start in range(0, n, chunk):
    valid = min(chunk, n - start)
    x, y = hyps[:, start:start + valid], gt[start:start + valid]
    part = _interval_figures(x, y, levels)
    if valid < chunk:
      x = np.concatenate([x, np.repeat(x[:, -1:], chunk - valid, axis=1)], axis=1)
      y = np.concatenate([y, np.repeat(y[-1:], chunk - valid, axis=0)], axis=0)
    es_joint, es_pose = _energy_scores(jnp.asarray(x), jnp.asarray(y))
    part.update(es_joint=np.asarray(es_joint)[:valid], es_pose=np.asarray(es_pose)[:valid])
    parts.append(part)
  # The pose axis is 1 for the per-level arrays, 0 for the rest.
  return {k: np.concatenate([p[k] for p in parts],
                            axis=1 if k in ("covered", "radial") else 0)
          for k in parts[0]}


def _average_ranks(v: np.ndarray) -> np.ndarray:
  """Ranks 0..M-1 of a [M] vector, ties given their average rank."""
  ranks = np.empty(len(v))
  ranks[np.argsort(v, kind="stable")] = np.arange(len(v))
  _, inverse, counts = np.unique(v, return_inverse=True, return_counts=True)
  return (np.bincount(inverse, weights=ranks) / counts)[inverse]


def _pearson(a: np.ndarray, b: np.ndarray) -> float | None:
  """Pearson correlation of two [M] vectors; None if either is constant."""
  if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
    return None
  a = np.asarray(a, np.float64) - np.mean(a, dtype=np.float64)
  b = np.asarray(b, np.float64) - np.mean(b, dtype=np.float64)
  return float(np.sum(a * b) / np.sqrt(np.sum(a * a) * np.sum(b * b)))


def _spearman(a: np.ndarray, b: np.ndarray) -> float | None:
  """Spearman correlation: Pearson's of the ranks (a constant has none)."""
  return _pearson(_average_ranks(a), _average_ranks(b))


def calibration_metrics(hyps_mm, gt_mm, *, levels: Sequence[float] = (0.5, 0.9),
                        chunk_poses: int | None = None) -> dict:
  """Whether the hypotheses' spread predicts their error (mm).

  Definitions, with x_1..x_H the hypotheses of one joint of one pose (3-D
  points), m their mean and y the truth:
    spread = mean_h ||x_h - m||, error = ||m - y||.
    Per-coordinate coverage at `level`: for each of x, y, z the central
      interval [q((1 - level) / 2), q((1 + level) / 2)] of the H values,
      q the empirical quantile at Weibull positions p (H + 1) (exact for a
      truth exchangeable with the hypotheses); coverage = the fraction of
      true coordinates inside. The ideal is the level itself while
      level <= (H - 1) / (H + 1) (`max_central_level`); above it the
      interval is the hypotheses' range and even a calibrated method
      covers only (H - 1) / (H + 1).
    Radial coverage at `level`: the fraction of joints whose error is at
      most the `level` quantile of the leave-one-out radii
      ||x_h - mean of the other hypotheses||.
    Energy score of a d-vector: ES = 1/H sum_h ||x_h - y||
      - 1 / (2 H (H - 1)) sum_{h != k} ||x_h - x_k|| (unbiased over
      distinct pairs); `energy_score_mm` over the pose as one J*3 vector,
      `per_joint_energy_score_mm` in 3-D per joint; both averaged over
      poses. For H = 1 it is the error: the pose vector's Euclidean
      distance, and per joint the joint error (so the mean over joints is
      the MPJPE).
  Joints that every hypothesis and the truth hold fixed at every pose
  (e.g. the root of root-relative poses: zero spread, zero error) are
  listed in `exact_joints`, left out of the pooled correlation and
  coverage (they would count as perfectly covered and predicted) and get
  None per joint; their energy score is 0.

  Args:
    hyps_mm: hypotheses, H >= 1.  # [H, N, J, 3]
    gt_mm: ground truth.  # [N, J, 3]
    levels: central interval levels, each in (0, 1).
    chunk_poses: poses per jitted chunk; by default as many as keep one
      [H, chunk, J, 3] float32 array near 32 MB. The figures do not depend
      on it.

  Returns:
    A dict (JSON-ready; None where a figure is undefined):
      num_hypotheses, levels, max_central_level;
      spread_error_pearson, spread_error_spearman (pooled over (pose,
        joint) pairs) and per_joint_spread_error_pearson / _spearman ([J]);
      coverage, radial_coverage ({level_key(level): fraction}),
        per_axis_coverage ({level: [3]}), per_joint_coverage and
        per_joint_radial_coverage ({level: [J]});
      energy_score_mm, mean_joint_energy_score_mm (the mean over joints
        of per_joint_energy_score_mm, comparable to the MPJPE),
        per_joint_energy_score_mm ([J]);
      exact_joints (indices); for H = 1 a `note`, and the correlations
      and coverages are None.
  """
  metrics_lib.check_hypotheses(hyps_mm, gt_mm)
  metrics_lib.check_nonempty("gt_mm", gt_mm, {0: "poses (N)", 1: "joints (J)"})
  levels = _check_levels(levels)
  hyps_mm = np.asarray(hyps_mm, np.float32)
  gt_mm = np.asarray(gt_mm, np.float32)
  h, n, j = hyps_mm.shape[:3]
  if chunk_poses is None:
    chunk_poses = max(1, _CHUNK_ELEMENTS // (h * j * 3))
  chunk = min(checks.check_positive_int("chunk_poses", chunk_poses), n)
  fig = _chunked(hyps_mm, gt_mm, levels, chunk)

  per_joint_es = fig["es_joint"].mean(axis=0, dtype=np.float64)  # [J]
  results = dict(
      num_hypotheses=h, levels=list(levels),
      max_central_level=(h - 1) / (h + 1),
      energy_score_mm=float(fig["es_pose"].mean(dtype=np.float64)),
      mean_joint_energy_score_mm=float(per_joint_es.mean()),
      per_joint_energy_score_mm=[float(v) for v in per_joint_es])
  exact = np.all((fig["spread"] == 0) & (fig["error"] == 0), axis=0)  # [J]
  results["exact_joints"] = [int(i) for i in np.flatnonzero(exact)]
  if h == 1:
    results.update(
        spread_error_pearson=None, spread_error_spearman=None,
        per_joint_spread_error_pearson=None, per_joint_spread_error_spearman=None,
        coverage=None, radial_coverage=None, per_axis_coverage=None,
        per_joint_coverage=None, per_joint_radial_coverage=None,
        note=_NOTE_SINGLE)
    return results

  free = ~exact
  spread, error = fig["spread"], fig["error"]  # [N, J]
  pooled_s, pooled_e = spread[:, free].ravel(), error[:, free].ravel()
  per_joint = lambda fn: [None if exact[k] else fn(spread[:, k], error[:, k])
                          for k in range(j)]
  results.update(
      spread_error_pearson=_pearson(pooled_s, pooled_e),
      spread_error_spearman=_spearman(pooled_s, pooled_e),
      per_joint_spread_error_pearson=per_joint(_pearson),
      per_joint_spread_error_spearman=per_joint(_spearman))
  mean_or_none = lambda v: float(v.mean(dtype=np.float64)) if v.size else None
  coverage, radial, per_axis, joint_cov, joint_radial = {}, {}, {}, {}, {}
  for i, level in enumerate(levels):
    key = level_key(level)
    covered = fig["covered"][i]  # [N, J, 3]
    inside = fig["radial"][i]  # [N, J]
    coverage[key] = mean_or_none(covered[:, free])
    per_axis[key] = [mean_or_none(covered[:, free, a]) for a in range(3)]
    radial[key] = mean_or_none(inside[:, free])
    joint_cov[key] = [None if exact[k] else mean_or_none(covered[:, k])
                      for k in range(j)]
    joint_radial[key] = [None if exact[k] else mean_or_none(inside[:, k])
                         for k in range(j)]
  results.update(coverage=coverage, radial_coverage=radial,
                 per_axis_coverage=per_axis, per_joint_coverage=joint_cov,
                 per_joint_radial_coverage=joint_radial)
  return results


__all__ = ["calibration_metrics", "level_key"]
