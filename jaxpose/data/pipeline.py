"""Stateless, seeded, fixed-shape batches.

`ArrayDataset.batch(step)` is a pure function of (seed, step): the epoch is
`step // steps_per_epoch` and its order is the permutation drawn from
`np.random.default_rng((seed, epoch))` (with per-row `weights`: as many rows
drawn with replacement, each with probability proportional to its weight,
from the same generator).  Training therefore resumes exactly from a
checkpointed step number with no iterator state to save, and every host of
a multi-host job computes the same global batch and takes its own
contiguous share of rows.

A `Training`'s arrays may carry `SAMPLE_WEIGHT` beside what its loss reads:
`run_lib` takes it out and passes it as `weights` (a dataset's data option
puts it in the train split, e.g. the mocap dataset's `train_balance`;
`balanced_weights` gives each source an equal share).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from jaxpose import settings
from jaxpose.checks import check_positive_int

# The per-row array of sampling weights a train split or a `Training` may
# carry (not a loss input).
SAMPLE_WEIGHT = "sample_weight"


def balanced_weights(groups) -> np.ndarray:
  """Per-row weights giving every group the same total weight.

  Args:
    groups: [N] labels (e.g. each row's source dataset).

  Returns:
    float32 [N]: N / (number of groups * rows of the row's group), so the
    weights average 1 and each group sums to N / groups.
  """
  groups = np.asarray(groups)
  if groups.ndim != 1 or not len(groups):
    raise ValueError(f"groups: expected [N] labels, N > 0, got shape {groups.shape}")
  _, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
  return (len(groups) / (len(counts) * counts[inverse.reshape(-1)])).astype(np.float32)


def without_weights(arrays: Mapping[str, np.ndarray]):
  """(arrays less `SAMPLE_WEIGHT`, the weights or None): a `Training`'s rows
  as `ArrayDataset` takes them."""
  arrays = dict(arrays)
  return arrays, arrays.pop(SAMPLE_WEIGHT, None)


def check_weighted(train: Mapping[str, np.ndarray], arrays: Mapping[str, np.ndarray],
                   method: str) -> None:
  """ConfigError if the train split has sampling weights (a data option
  such as `train_balance`) that the method's training rows do not carry."""
  if SAMPLE_WEIGHT in train and SAMPLE_WEIGHT not in arrays:
    raise settings.ConfigError(
        f"data: the train split has sampling weights ({SAMPLE_WEIGHT!r}, e.g. "
        f"data.train_balance) but {method}'s training does not sample by "
        "them; leave the option out")


class ArrayDataset:
  """In-memory arrays served as deterministic shuffled batches.

  Args:
    arrays: name -> array; all share the leading (example) dimension.
    batch_size: global batch size (all processes together).
    seed: shuffling seed.
    drop_remainder: if True an epoch has N // B full batches and the last
      N % B examples of each epoch's order are skipped (they are different
      examples every epoch).  If False an epoch has ceil(N / B) batches and
      the last one is padded with examples from the start of the same
      order; every batch then also carries `valid` (bool [B]) marking the
      rows that are not padding, so evaluation can count each example once.
    shuffle: if False the order is the identity every epoch (evaluation).
    weights: per-row sampling weights [N] (non-negative, not all zero), or
      None.  With weights an epoch is N rows drawn with replacement, row i
      with probability weights[i] / sum(weights) (rows of a rare source
      recur, a common one's are partly left out); without, every row once.
  """

  def __init__(self, arrays: Mapping[str, np.ndarray], *, batch_size: int,
               seed: int, drop_remainder: bool = True, shuffle: bool = True,
               weights=None):
    if not arrays:
      raise ValueError("arrays: expected at least one array")
    self._arrays = {k: np.asarray(v) for k, v in arrays.items()}
    lengths = {k: (v.shape[0] if v.ndim else None)
               for k, v in self._arrays.items()}
    if None in lengths.values() or len(set(lengths.values())) != 1:
      raise ValueError(f"arrays: leading dimensions must all be equal (one row "
                       f"per example), got {lengths}")
    self._n = next(iter(lengths.values()))
    self.batch_size = check_positive_int("batch_size", batch_size)
    if self.batch_size > self._n:
      raise ValueError(f"batch_size: {batch_size} is larger than the dataset "
                       f"({self._n} examples)")
    self.seed = int(seed)
    self.drop_remainder = bool(drop_remainder)
    self.shuffle = bool(shuffle)
    self._p = None
    if weights is not None:
      w = np.asarray(weights, np.float64)
      if (w.shape != (self._n,) or not np.isfinite(w).all() or (w < 0).any()
          or not w.sum()):
        raise ValueError(f"weights: expected {self._n} finite non-negative values, "
                         f"not all zero, got shape {w.shape}")
      if not self.shuffle:
        raise ValueError("weights: sampling by weight needs shuffle=True")
      self._p = w / w.sum()
    self._cached = None

  @property
  def num_examples(self) -> int:
    return self._n

  @property
  def steps_per_epoch(self) -> int:
    if self.drop_remainder:
      return self._n // self.batch_size
    return -(-self._n // self.batch_size)

  def _order(self, epoch: int) -> np.ndarray:
    # Consecutive steps share an epoch: keep its permutation, a pure
    # function of (seed, epoch), instead of redrawing it every batch.
    if self._cached is None or self._cached[0] != epoch:
      rng = np.random.default_rng((self.seed, epoch))
      if self._p is not None:
        order = rng.choice(self._n, size=self._n, replace=True, p=self._p)
      else:
        order = rng.permutation(self._n) if self.shuffle else np.arange(self._n)
      self._cached = (epoch, order)
    return self._cached[1]

  def indices(self, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Example indices of the global batch at `step`, and the valid mask."""
    if step < 0:
      raise ValueError(f"step: expected >= 0, got {step}")
    epoch, within = divmod(int(step), self.steps_per_epoch)
    order = self._order(epoch)
    pos = within * self.batch_size + np.arange(self.batch_size)
    valid = pos < self._n
    return order[pos % self._n], valid

  def batch(self, step: int, *, process_index: int = 0,
            process_count: int = 1) -> dict:
    """The rows of global batch `step` that belong to `process_index`.

    Args:
      step: global training step (any non-negative int; epochs wrap).
      process_index: this process's index in [0, process_count).
      process_count: number of processes sharing the global batch; must
        divide `batch_size`.

    Returns:
      name -> array with leading dim batch_size // process_count (plus
      `valid` when drop_remainder is False).
    """
    process_count = check_positive_int("process_count", process_count)
    if self.batch_size % process_count:
      raise ValueError(f"process_count: {process_count} does not divide "
                       f"batch_size {self.batch_size}")
    if not 0 <= process_index < process_count:
      raise ValueError(f"process_index: expected in [0, {process_count}), got "
                       f"{process_index}")
    idx, valid = self.indices(step)
    share = self.batch_size // process_count
    rows = slice(process_index * share, (process_index + 1) * share)
    idx, valid = idx[rows], valid[rows]
    out = {k: v[idx] for k, v in self._arrays.items()}
    if not self.drop_remainder:
      out["valid"] = valid
    return out
