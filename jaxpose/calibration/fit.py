"""Calibrating multi-hypothesis poses on held-out rows, and applying it.

`evaluation.calibration.calibration_metrics` measures whether the central
intervals of H hypotheses hold the truth as often as their level; this
module fits a correction on held-out training clips (never the test split)
and applies it to later hypotheses. Two calibrations, both about the
hypotheses' mean m (so the mean's MPJPE does not change):

- "spread_scale": every hypothesis x_h -> m + s (x_h - m), one number s
  for every pose, joint, coordinate and level, the s whose worst level is
  nearest its level. The result is still H hypotheses: every later use
  (best-of-H, energy score, plots, coverage) sees calibrated samples.
- "conformal": split-conformal intervals. Per level L the score
  |y - m| / sigma (sigma: the hypotheses' standard deviation of that
  coordinate) has its finite-sample quantile q_L, the ceil((n + 1) L)-th
  smallest of the n held-out scores, and the interval is m +- q_L sigma;
  radially ||y - m|| / spread gives a ball. For rows exchangeable with the
  held-out ones coverage is at least L (marginally), but the result is
  intervals, not hypotheses.

Both are global (one number, per level for the conformal quantiles), not
per joint: the figures it is judged by pool every joint, a global factor
keeps the relative spread the model learnt between joints (hence its
spread-error correlation), and a per-joint factor at the 90% level needs
many held-out rows per joint to be stable.

`choose` fits each on one half of the rows (whole clips when groups are
given), scores it on the other, both ways, and keeps the smaller
worst-level coverage error: the spread scale unless conformal wins by more
than `PREFER_SIMPLER` (it keeps hypotheses as samples and is one number),
then refitted on every row.

Joints exact at every row (`calibration_metrics`' `exact_joints`, e.g. the
root of root-relative poses, a completion's visible joints) are left out
of the fit and of the coverage.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping, Sequence

import numpy as np

from jaxpose import checks
from jaxpose.evaluation import calibration
from jaxpose.pose import metrics as metrics_lib

KINDS = ("spread_scale", "conformal")
LEVELS = (0.5, 0.9)  # the levels `calibration_metrics` reports by default
MIN_ROWS = 10  # rows a fit needs (each half of `choose`'s cross-fit too)
PREFER_SIMPLER = 0.01  # the coverage error by which conformal must win
# Scales the spread scale's search visits: a log grid (ratio ~1.004).
_SCALE_GRID = np.geomspace(1e-3, 1e4, 4001)
_TINY_MM = 1e-6  # added to a spread that divides a score


@dataclasses.dataclass(frozen=True)
class Calibration:
  """A fitted calibration of hypotheses (module docstring).

  Attributes:
    kind: one of `KINDS`.
    levels: the central interval levels it was fitted for.
    scale: "spread_scale": s.
    quantiles: "conformal": {level_key: q_L} of the coordinate score.
    radial_quantiles: "conformal": {level_key: q_L} of the radial score.
    fitted_on: what it was fitted on (rows, task, step, checkpoint digest,
      hypotheses), JSON-able; not used by `apply`.
  """
  kind: str
  levels: tuple[float, ...]
  scale: float | None = None
  quantiles: Mapping[str, float] | None = None
  radial_quantiles: Mapping[str, float] | None = None
  fitted_on: Mapping[str, Any] = dataclasses.field(default_factory=dict)

  def __post_init__(self):
    if self.kind not in KINDS:
      raise ValueError(f"calibration kind: expected one of {', '.join(KINDS)}, "
                       f"got {self.kind!r}")
    levels = calibration._check_levels(self.levels)  # pylint: disable=protected-access
    object.__setattr__(self, "levels", levels)
    positive = lambda v: v is not None and math.isfinite(v) and v > 0
    if self.kind == "spread_scale" and not positive(self.scale):
      raise ValueError(f"spread_scale: expected a finite scale > 0, got "
                       f"{self.scale!r}")
    if self.kind == "conformal":
      for name in ("quantiles", "radial_quantiles"):
        q = getattr(self, name) or {}
        keys = [calibration.level_key(l) for l in levels]
        if sorted(q) != sorted(keys) or not all(positive(q[k]) for k in keys):
          raise ValueError(f"conformal: expected a finite {name} value > 0 per "
                           f"level {keys}, got {q!r}")

  def to_json(self) -> dict:
    out = dict(kind=self.kind, levels=list(self.levels),
               fitted_on=dict(self.fitted_on))
    if self.kind == "spread_scale":
      out["scale"] = float(self.scale)
    else:
      out.update(quantiles={k: float(v) for k, v in self.quantiles.items()},
                 radial_quantiles={k: float(v) for k, v in
                                   self.radial_quantiles.items()})
    return out

  @classmethod
  def from_json(cls, d: Mapping[str, Any]) -> "Calibration":
    """The inverse of `to_json`; ValueError for a malformed value."""
    if not isinstance(d, Mapping) or "kind" not in d or "levels" not in d:
      raise ValueError(f"calibration: expected a dict with kind and levels, "
                       f"got {d!r:.200}")
    return cls(kind=d["kind"], levels=tuple(d["levels"]), scale=d.get("scale"),
               quantiles=d.get("quantiles"),
               radial_quantiles=d.get("radial_quantiles"),
               fitted_on=d.get("fitted_on") or {})


@dataclasses.dataclass(frozen=True)
class _Stats:
  """What every fit and coverage reads of hypotheses and truth (float64)."""
  mean: np.ndarray  # [N, J, 3]
  lo: np.ndarray  # [L, N, J, 3]: the central intervals' ends
  hi: np.ndarray  # [L, N, J, 3]
  sigma: np.ndarray  # [N, J, 3]: standard deviation over hypotheses
  spread: np.ndarray  # [N, J]: mean distance from the mean
  dev: np.ndarray  # [N, J, 3]: truth - mean
  free: np.ndarray  # [J] bool: joints that are not exact


def _checked(hyps_mm, gt_mm, *, min_rows: int = 1):
  sizes = metrics_lib.check_hypotheses(hyps_mm, gt_mm)
  h, n = sizes["H"], sizes["N"]
  if h < 2:
    raise ValueError(f"hyps_mm: {h} hypothesis per pose has no spread to "
                     "calibrate; expected H >= 2")
  if n < min_rows:
    raise ValueError(f"hyps_mm: {n} rows are too few to fit a calibration; "
                     f"expected at least {min_rows}")
  return np.asarray(hyps_mm, np.float64), np.asarray(gt_mm, np.float64)


def _stats(hyps, gt, levels) -> _Stats:
  mean = hyps.mean(axis=0)
  sorted_x = np.sort(hyps, axis=0)
  q = calibration._quantile_sorted  # pylint: disable=protected-access
  lo = np.stack([q(sorted_x, (1.0 - l) / 2) for l in levels])
  hi = np.stack([q(sorted_x, (1.0 + l) / 2) for l in levels])
  spread = np.linalg.norm(hyps - mean[None], axis=-1).mean(axis=0)
  dev = gt - mean
  exact = np.all((spread == 0) & (np.linalg.norm(dev, axis=-1) == 0), axis=0)
  if exact.all():
    raise ValueError("hyps_mm: every joint is exact (no spread, no error at "
                     "every row): nothing to calibrate")
  return _Stats(mean=mean, lo=lo, hi=hi, sigma=hyps.std(axis=0, ddof=1),
                spread=spread, dev=dev, free=~exact)


def _scale_ranges(a, b, d):
  """Per coordinate, the scales s > 0 whose interval [s a, s b] holds d:
  [lower, upper] (both inf where none does)."""
  with np.errstate(divide="ignore", invalid="ignore"):
    lower = np.maximum(np.where(a < 0, d / a, 0.0), np.where(b > 0, d / b, 0.0))
    upper = np.minimum(np.where(a > 0, d / a, np.inf),
                       np.where(b < 0, d / b, np.inf))
  never = ((a == 0) & (d < 0)) | ((b == 0) & (d > 0)) | (lower > upper)
  return np.where(never, np.inf, lower), np.where(never, np.inf, upper)


def scale_coverage(hyps_mm, gt_mm, scales, *,
                   levels: Sequence[float] = LEVELS) -> np.ndarray:
  """Coverage at each level of the hypotheses spread-scaled by each scale.

  Exactly `calibration_metrics`' coverage of `m + s (x_h - m)`: the Weibull
  quantiles of scaled hypotheses are the scaled quantiles.

  Returns:
    [S, L] fractions.
  """
  levels = calibration._check_levels(levels)  # pylint: disable=protected-access
  hyps, gt = _checked(hyps_mm, gt_mm)
  return _scale_coverage(_stats(hyps, gt, levels), np.asarray(scales, np.float64))


def _scale_coverage(st: _Stats, scales) -> np.ndarray:
  out = []
  d = st.dev[:, st.free].ravel()
  for lo, hi in zip(st.lo, st.hi):
    lower, upper = _scale_ranges((lo - st.mean)[:, st.free].ravel(),
                                 (hi - st.mean)[:, st.free].ravel(), d)
    lower, upper = np.sort(lower), np.sort(upper)
    # lower <= s <= upper: (#lower <= s) - (#upper < s).
    inside = (np.searchsorted(lower, scales, side="right")
              - np.searchsorted(upper, scales, side="left"))
    out.append(inside / d.size)
  return np.stack(out, axis=-1)


def _fit_scale(st: _Stats, levels) -> float:
  cov = _scale_coverage(st, _SCALE_GRID)  # [S, L]
  worst = np.abs(cov - np.asarray(levels)[None]).max(axis=-1)
  best = np.flatnonzero(worst <= worst.min() + 1e-12)
  run = np.split(best, np.flatnonzero(np.diff(best) > 1) + 1)[0]
  return float(_SCALE_GRID[run[len(run) // 2]])  # the first plateau's middle


def _conformal_quantile(scores: np.ndarray, level: float) -> float:
  n = scores.size
  k = math.ceil((n + 1) * level)
  if k > n:
    raise ValueError(f"conformal: {n} held-out scores are too few for the "
                     f"{level:g} level (it needs at least "
                     f"{math.ceil(level / (1 - level))})")
  return float(np.partition(scores, k - 1)[k - 1])


def _coordinate_scores(st: _Stats) -> np.ndarray:
  return (np.abs(st.dev) / (st.sigma + _TINY_MM))[:, st.free].ravel()


def coordinate_scores(hyps_mm, gt_mm) -> np.ndarray:
  """The conformal score |y - m| / sigma of every free coordinate of
  every row, flat: m +- q sigma holds a coordinate exactly when its score
  is at most q, so rows whose level-quantile exceeds q_L are covered less
  often than L.

  Raises:
    ValueError: as `calibration_metrics`' checks (bad shapes, NaN, H < 2).
  """
  hyps, gt = _checked(hyps_mm, gt_mm)
  return _coordinate_scores(_stats(hyps, gt, LEVELS))


def _fit_conformal(st: _Stats, levels) -> tuple[dict, dict]:
  coord = _coordinate_scores(st)
  radial = (np.linalg.norm(st.dev, axis=-1) / (st.spread + _TINY_MM))[:, st.free].ravel()
  key = calibration.level_key
  return ({key(l): max(_conformal_quantile(coord, l), _TINY_MM) for l in levels},
          {key(l): max(_conformal_quantile(radial, l), _TINY_MM) for l in levels})


def fit(kind: str, hyps_mm, gt_mm, *, levels: Sequence[float] = LEVELS,
        fitted_on: Mapping[str, Any] | None = None) -> Calibration:
  """A calibration of `kind` fitted on held-out rows.

  Args:
    kind: "spread_scale" or "conformal".
    hyps_mm: hypotheses of the held-out rows, H >= 2.  # [H, N, J, 3]
    gt_mm: their truth.  # [N, J, 3]
    levels: central interval levels.
    fitted_on: recorded as the calibration's `fitted_on`.

  Raises:
    ValueError: an unknown kind, bad shapes, NaN or inf, H < 2, fewer than
      `MIN_ROWS` rows, or no joint with spread or error.
  """
  if kind not in KINDS:
    raise ValueError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
  levels = calibration._check_levels(levels)  # pylint: disable=protected-access
  hyps, gt = _checked(hyps_mm, gt_mm, min_rows=MIN_ROWS)
  st = _stats(hyps, gt, levels)
  info = dict(fitted_on or {}, num_rows=int(gt.shape[0]),
              num_hypotheses=int(hyps.shape[0]))
  if kind == "spread_scale":
    return Calibration(kind, levels, scale=_fit_scale(st, levels), fitted_on=info)
  coord, radial = _fit_conformal(st, levels)
  return Calibration(kind, levels, quantiles=coord, radial_quantiles=radial,
                     fitted_on=info)


def apply(cal: Calibration, hyps_mm) -> np.ndarray:
  """Spread-scaled hypotheses m + s (x_h - m), float32.  # [H, N, J, 3]

  Raises:
    ValueError: a conformal calibration (intervals, not hypotheses: see
      `coverage_after`).
  """
  if cal.kind != "spread_scale":
    raise ValueError(f"apply: a {cal.kind!r} calibration gives intervals, not "
                     "hypotheses; use coverage_after")
  checks.check_array("hyps_mm", hyps_mm, ("H", "N", "J", 3))
  hyps = np.asarray(hyps_mm, np.float64)
  mean = hyps.mean(axis=0, keepdims=True)
  return (mean + cal.scale * (hyps - mean)).astype(np.float32)


def _coverage_dicts(covered, inside, free, levels) -> dict:
  """calibration_metrics' coverage keys from [L, N, J, 3] / [L, N, J]."""
  mean = lambda v: float(v.mean(dtype=np.float64)) if v.size else None
  out = {k: {} for k in ("coverage", "radial_coverage", "per_axis_coverage",
                         "per_joint_coverage", "per_joint_radial_coverage")}
  for i, level in enumerate(levels):
    key = calibration.level_key(level)
    out["coverage"][key] = mean(covered[i][:, free])
    out["radial_coverage"][key] = mean(inside[i][:, free])
    out["per_axis_coverage"][key] = [mean(covered[i][:, free, a]) for a in range(3)]
    out["per_joint_coverage"][key] = [mean(covered[i][:, j]) if free[j] else None
                                      for j in range(len(free))]
    out["per_joint_radial_coverage"][key] = [
        mean(inside[i][:, j]) if free[j] else None for j in range(len(free))]
  return out


def _conformal_figures(cal: Calibration, st: _Stats) -> dict:
  keys = [calibration.level_key(l) for l in cal.levels]
  half = np.stack([cal.quantiles[k] * st.sigma for k in keys])  # [L, N, J, 3]
  radius = np.stack([cal.radial_quantiles[k] * st.spread for k in keys])
  covered = np.abs(st.dev)[None] <= half
  inside = np.linalg.norm(st.dev, axis=-1)[None] <= radius
  out = _coverage_dicts(covered, inside, st.free, cal.levels)
  out["mean_half_width_mm"] = {k: float(half[i][:, st.free].mean())
                               for i, k in enumerate(keys)}
  out["note"] = ("conformal intervals mean +- q sigma (and balls of radius q "
                 "spread): intervals, not hypotheses, so no energy score or "
                 "spread-error correlation")
  return out


def coverage_after(cal: Calibration, hyps_mm, gt_mm) -> dict:
  """How the calibrated hypotheses (or intervals) cover the truth.

  Returns:
    For "spread_scale": `calibration_metrics` of `apply(cal, hyps_mm)`; for
    "conformal": its coverage keys (coverage, radial_coverage,
    per_axis_coverage, per_joint_coverage, per_joint_radial_coverage) of
    the intervals and balls, `mean_half_width_mm` and a note. Both add
    `kind`, `levels`, `exact_joints`, `num_hypotheses` and
    `mean_mpjpe_mm` (of the hypotheses' mean, which calibration keeps).
  """
  hyps, gt = _checked(hyps_mm, gt_mm)
  mpjpe = float(np.mean(metrics_lib.mpjpe(hyps.mean(axis=0), gt)))
  if cal.kind == "spread_scale":
    out = calibration.calibration_metrics(apply(cal, hyps), gt, levels=cal.levels)
  else:
    st = _stats(hyps, gt, cal.levels)
    out = _conformal_figures(cal, st)
    out.update(exact_joints=[int(j) for j in np.flatnonzero(~st.free)])
  out.update(kind=cal.kind, levels=list(cal.levels), mean_mpjpe_mm=mpjpe,
             num_hypotheses=int(hyps.shape[0]))
  return out


def _coverage(cal: Calibration, hyps, gt) -> dict[str, float]:
  """{level_key: coverage} as `coverage_after` reports it, without its
  other figures (float64 hypotheses and truth)."""
  st = _stats(hyps, gt, cal.levels)
  if cal.kind == "conformal":
    return _conformal_figures(cal, st)["coverage"]
  cov = _scale_coverage(st, np.asarray([cal.scale]))[0]
  return {calibration.level_key(l): float(c) for l, c in zip(cal.levels, cov)}


def worst_error(coverage: Mapping[str, float], levels) -> float:
  """max over levels of |coverage - level|."""
  return max(abs(coverage[calibration.level_key(l)] - l) for l in levels)


def _folds(n: int, groups) -> np.ndarray:
  """[N] 0/1: two halves, whole groups alternately when each half holds
  at least `MIN_ROWS` rows, else alternate rows."""
  if groups is not None:
    _, code = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    fold = code.reshape(-1) % 2
    if min(np.sum(fold == 0), np.sum(fold == 1)) >= MIN_ROWS:
      return fold
  return np.arange(n) % 2


def choose(hyps_mm, gt_mm, *, levels: Sequence[float] = LEVELS, groups=None,
           fitted_on: Mapping[str, Any] | None = None
           ) -> tuple[Calibration, dict]:
  """Both calibrations, compared by cross-fitting; the kept one refitted.

  Args:
    hyps_mm: hypotheses of the held-out rows.  # [H, N, J, 3]
    gt_mm: their truth.  # [N, J, 3]
    levels: central interval levels.
    groups: each row's clip (whole clips make the halves), or None.  # [N]
    fitted_on: recorded in the calibrations.

  Returns:
    (the kept calibration fitted on every row, a JSON-able report: `rule`,
    `kept`, `before` (coverage of the raw hypotheses) and per kind its
    calibration, `cross_fitted_coverage` (each half scored by the fit on
    the other, pooled), `cross_fitted_error` and `heldout_coverage` (in
    sample)).

  Raises:
    ValueError: as `fit`, or fewer than 2 x `MIN_ROWS` rows.
  """
  levels = calibration._check_levels(levels)  # pylint: disable=protected-access
  hyps, gt = _checked(hyps_mm, gt_mm, min_rows=2 * MIN_ROWS)
  n = gt.shape[0]
  if groups is not None:
    checks.check_array("groups", np.asarray(groups), (n,), finite=False)
  fold = _folds(n, groups)
  st_all = _stats(hyps, gt, levels)
  before = _raw_coverage(st_all, levels)
  report = dict(levels=list(levels), num_rows=n, before=before,
                folds=[int(np.sum(fold == k)) for k in (0, 1)],
                rule=(f"the smaller worst-level coverage error on the half "
                      f"each was not fitted on; the spread scale unless "
                      f"conformal wins by more than {PREFER_SIMPLER}"),
                candidates={})
  fitted = {}
  for kind in KINDS:
    counts = {calibration.level_key(l): 0.0 for l in levels}
    for k in (0, 1):
      train, test = fold != k, fold == k
      cal = fit(kind, hyps[:, train], gt[train], levels=levels)
      cov = _coverage(cal, hyps[:, test], gt[test])
      for key in counts:  # pooled: weighted by each half's rows
        counts[key] += cov[key] * np.sum(test)
    crossed = {key: v / n for key, v in counts.items()}
    fitted[kind] = fit(kind, hyps, gt, levels=levels, fitted_on=fitted_on)
    report["candidates"][kind] = dict(
        calibration={k: v for k, v in fitted[kind].to_json().items()
                     if k != "fitted_on"},  # the kept one's records it
        cross_fitted_coverage=crossed,
        cross_fitted_error=worst_error(crossed, levels),
        heldout_coverage=_coverage(fitted[kind], hyps, gt))
  errors = {k: v["cross_fitted_error"] for k, v in report["candidates"].items()}
  kept = ("conformal" if errors["conformal"] < errors["spread_scale"] - PREFER_SIMPLER
          else "spread_scale")
  report["kept"] = kept
  return fitted[kept], report


def _raw_coverage(st: _Stats, levels) -> dict:
  """Coverage of the raw hypotheses' intervals (calibration_metrics')."""
  covered = (st.lo <= st.dev[None] + st.mean[None]) & (
      st.dev[None] + st.mean[None] <= st.hi)
  return {calibration.level_key(l): float(covered[i][:, st.free].mean())
          for i, l in enumerate(levels)}


__all__ = ["KINDS", "LEVELS", "MIN_ROWS", "PREFER_SIMPLER", "Calibration",
           "fit", "apply", "coverage_after", "scale_coverage", "choose",
           "coordinate_scores", "worst_error"]
