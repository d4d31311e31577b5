"""How far a row's input lies from the training inputs, and intervals that
would widen with it (an experiment on calibration: `experiments/studies/novelty_transfer.py`).

A calibration fitted on held-out people is exchangeable with other people
only as far as they look like the held-out ones. When the test people sit
further from the training poses than the held-out people did, the model's
errors grow faster than its hypotheses' spread, and intervals m +- q sigma
fitted on the held-out people cover the test people less often than their
level.

The novelty of a row is the mean distance of its input (what the model is
given, e.g. the visible joints of a completion) to its `K` nearest
training inputs, as the root-mean-square per point (mm per joint, so
inputs of different sizes compare). A novelty-scaled conformal interval
is m +- q sigma w with w = (novelty / reference) ** exponent, the
reference the median novelty of the rows q was fitted on.

The exponent is fitted between groups of rows (people), not between rows:
per row, novelty is a noisy measure of difficulty, and a slope fitted on
noisy rows is biased towards 0 (errors in variables); between people the
noise averages out and the systematic difference is what a new person
brings. `fit_exponent` picks the exponent on a grid that makes the score
quantiles of the groups most alike (the smallest spread of their
logarithms, averaged over levels).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from jaxpose import checks

K = 10  # nearest training inputs averaged
EXPONENTS = np.round(np.arange(0.0, 3.0001, 0.05), 2)  # `fit_exponent`'s grid
_CHUNK_ROWS = 128  # query rows per distance block (128 x 100k float64: 100 MB)


def knn_distance(query, reference, *, k: int = K) -> np.ndarray:
  """Mean distance of each query row to its k nearest reference rows.

  Args:
    query: [N, P, D] inputs (points of D coordinates, e.g. joints in mm).
    reference: [M, P, D] training inputs, M >= k.
    k: neighbours averaged.

  Returns:
    [N] float64: the mean over the k nearest of the root-mean-square
    distance per point (the input's unit: mm per joint).

  Raises:
    ValueError: shapes that disagree, NaN or inf, k < 1 or M < k.
  """
  sizes = {}
  checks.check_array("query", query, ("N", "P", "D"), sizes=sizes)
  checks.check_array("reference", reference, ("M", "P", "D"), sizes=sizes)
  if k < 1 or sizes["M"] < k:
    raise ValueError(f"knn_distance: k={k} needs at least k >= 1 reference "
                     f"rows, got {sizes['M']}")
  points = sizes["P"]
  ref = np.asarray(reference, np.float64).reshape(sizes["M"], -1)
  ref_sq = (ref ** 2).sum(axis=1)
  q_all = np.asarray(query, np.float64).reshape(sizes["N"], -1)
  out = np.empty(sizes["N"])
  for start in range(0, len(q_all), _CHUNK_ROWS):
    q = q_all[start:start + _CHUNK_ROWS]
    d2 = (q ** 2).sum(axis=1)[:, None] - 2.0 * q @ ref.T + ref_sq[None]
    nearest = np.partition(d2, k - 1, axis=1)[:, :k]
    out[start:start + len(q)] = np.sqrt(np.maximum(nearest, 0.0) / points
                                        ).mean(axis=1)
  return out


def _check_novelty(novelty, num_rows: int) -> np.ndarray:
  """`novelty` as [num_rows] float64, or ValueError (wrong length, NaN,
  inf, or a value <= 0, which no scale can be taken of)."""
  checks.check_array("novelty", novelty, (num_rows,))
  novelty = np.asarray(novelty, np.float64)
  if np.any(novelty <= 0):
    raise ValueError(f"novelty: expected values > 0, got a minimum of "
                     f"{novelty.min():g} (a row identical to its k nearest "
                     "training inputs: a training row evaluated as held out?)")
  return novelty


def row_widths(novelty, exponent: float, reference: float) -> np.ndarray:
  """[N] w = (novelty / reference) ** exponent."""
  return (np.asarray(novelty, np.float64) / float(reference)) ** float(exponent)


def fit_exponent(scores, novelty, groups, levels: Sequence[float], *,
                 min_rows: int) -> float:
  """The exponent whose widths make the groups' score quantiles most alike.

  Args:
    scores: [N, C] each row's conformal scores |y - m| / sigma.
    novelty: [N] each row's novelty.
    groups: [N] each row's group (a person); groups of fewer than
      `min_rows` rows are left out.
    levels: the levels whose quantiles are compared.
    min_rows: rows a group needs.

  Returns:
    The smallest exponent of `EXPONENTS` minimising the mean over levels of
    the standard deviation of log(the group's L-quantile of scores / w).

  Raises:
    ValueError: fewer than 2 groups of `min_rows` rows.
  """
  scores = np.asarray(scores, np.float64)
  novelty = _check_novelty(novelty, scores.shape[0])
  groups = np.asarray(groups).astype(str).reshape(-1)
  names, counts = np.unique(groups, return_counts=True)
  kept = names[counts >= min_rows]
  if len(kept) < 2:
    raise ValueError(f"fit_exponent: {len(kept)} group(s) of at least "
                     f"{min_rows} rows; the exponent is fitted between groups "
                     "and needs 2 or more")
  log_n = np.log(novelty)
  spreads = []
  for exponent in EXPONENTS:
    scaled = np.log(scores + 1e-300) - exponent * log_n[:, None]
    per_level = []
    for level in levels:
      per_group = [np.quantile(scaled[groups == g], level) for g in kept]
      per_level.append(np.std(per_group))
    spreads.append(np.mean(per_level))
  spreads = np.asarray(spreads)
  return float(EXPONENTS[np.flatnonzero(spreads <= spreads.min() + 1e-12)[0]])


__all__ = ["K", "EXPONENTS", "knn_distance", "row_widths", "fit_exponent"]
