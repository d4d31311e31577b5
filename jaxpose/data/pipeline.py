"""Stateless, seeded, fixed-shape batches and pose normalisation.

`ArrayDataset.batch(step)` is a pure function of (seed, step): the epoch is
`step // steps_per_epoch` and its order is the permutation drawn from
`np.random.default_rng((seed, epoch))`.  Training therefore resumes exactly
from a checkpointed step number with no iterator state to save, and every
host of a multi-host job computes the same global batch and takes its own
contiguous share of rows.
"""
from __future__ import annotations

import dataclasses
from typing import Mapping

import numpy as np

from jaxpose.checks import check_array, check_positive_int


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
  """

  def __init__(self, arrays: Mapping[str, np.ndarray], *, batch_size: int,
               seed: int, drop_remainder: bool = True, shuffle: bool = True):
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
    self._cached = None

  @property
  def num_examples(self) -> int:
    return self._n

  @property
  def steps_per_epoch(self) -> int:
    if self.drop_remainder:
      return self._n // self.batch_size
    return -(-self._n // self.batch_size)

  @property
  def element_spec(self) -> dict:
    """name -> (shape, dtype) of one global batch."""
    spec = {k: ((self.batch_size,) + v.shape[1:], v.dtype)
            for k, v in self._arrays.items()}
    if not self.drop_remainder:
      spec["valid"] = ((self.batch_size,), np.dtype(bool))
    return spec

  def _order(self, epoch: int) -> np.ndarray:
    # Consecutive steps share an epoch: keep its permutation, a pure
    # function of (seed, epoch), instead of redrawing it every batch.
    if self._cached is None or self._cached[0] != epoch:
      order = (np.random.default_rng((self.seed, epoch)).permutation(self._n)
               if self.shuffle else np.arange(self._n))
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


_MODES = ("per_dim", "global")


@dataclasses.dataclass(frozen=True)
class Normalizer:
  """Affine normalisation of 3D and 2D poses: (x - mean) / std.

  Statistics are stored flat as tuples (JSON-friendly, hashable), one entry
  per coordinate of a [J, 3] (or [J, 2]) pose; in "global" mode the mean is
  zero and every entry of std is one shared scale.

  Attributes:
    mode: "per_dim" or "global".
    mean3d, std3d: length J * 3.
    mean2d, std2d: length J * 2.
  """
  mode: str
  mean3d: tuple[float, ...]
  std3d: tuple[float, ...]
  mean2d: tuple[float, ...]
  std2d: tuple[float, ...]

  def __post_init__(self):
    if self.mode not in _MODES:
      raise ValueError(f"mode: expected one of {_MODES}, got {self.mode!r}")
    if len(self.mean3d) != len(self.std3d) or len(self.mean3d) % 3:
      raise ValueError("mean3d/std3d: expected equal lengths J * 3")
    if len(self.mean2d) != len(self.std2d) or len(self.mean2d) % 2:
      raise ValueError("mean2d/std2d: expected equal lengths J * 2")
    if min(self.std3d + self.std2d) <= 0:
      raise ValueError("std3d/std2d: every entry must be positive")

  @classmethod
  def fit(cls, pose3d, pose2d, *, mode: str = "per_dim",
          min_std: float = 1e-3) -> "Normalizer":
    """Statistics of a training split.

    Args:
      pose3d: training 3D poses (e.g. root-relative mm).  # [N, J, 3]
      pose2d: training 2D poses.  # [N, J, 2]
      mode: "per_dim": per-coordinate mean and std (a std below `min_std`,
        e.g. the root of root-relative poses, is raised to `min_std`; those
        entries normalise to about 0).  "global": zero mean, one scale per
        modality = the root-mean-square coordinate, so values are O(1) and
        the pose geometry is only scaled.
      min_std: floor for per-dimension stds.
    """
    sizes = {}
    check_array("pose3d", pose3d, ("N", "J", 3), sizes=sizes)
    check_array("pose2d", pose2d, ("N", "J", 2), sizes=sizes)
    out = {}
    for name, x in (("3d", np.asarray(pose3d, np.float64)),
                    ("2d", np.asarray(pose2d, np.float64))):
      flat = x.reshape(x.shape[0], -1)
      if mode == "per_dim":
        mean = flat.mean(0)
        std = np.maximum(flat.std(0), min_std)
      elif mode == "global":
        mean = np.zeros(flat.shape[1])
        std = np.full(flat.shape[1], max(np.sqrt(np.mean(flat ** 2)), min_std))
      else:
        raise ValueError(f"mode: expected one of {_MODES}, got {mode!r}")
      out["mean" + name] = tuple(float(v) for v in mean)
      out["std" + name] = tuple(float(v) for v in std)
    return cls(mode=mode, **out)

  @classmethod
  def from_split(cls, split: Mapping[str, np.ndarray], **kwargs) -> "Normalizer":
    """`fit` on a split dict holding `pose3d` and `pose2d` (see synthetic)."""
    missing = [k for k in ("pose3d", "pose2d") if k not in split]
    if missing:
      raise KeyError(f"split: missing {missing}; has {sorted(split)}")
    return cls.fit(split["pose3d"], split["pose2d"], **kwargs)

  def _stats(self, which: str, x):
    dim = 3 if which == "3d" else 2
    mean = np.asarray(getattr(self, "mean" + which), np.float32).reshape(-1, dim)
    std = np.asarray(getattr(self, "std" + which), np.float32).reshape(-1, dim)
    check_array("pose" + which, x, ("...", mean.shape[0], dim))
    return mean, std

  def normalize_3d(self, pose3d):
    """[..., J, 3] -> [..., J, 3] normalised (numpy or jax)."""
    mean, std = self._stats("3d", pose3d)
    return (pose3d - mean) / std

  def denormalize_3d(self, x):
    mean, std = self._stats("3d", x)
    return x * std + mean

  def normalize_2d(self, pose2d):
    """[..., J, 2] -> [..., J, 2] normalised (numpy or jax)."""
    mean, std = self._stats("2d", pose2d)
    return (pose2d - mean) / std

  def denormalize_2d(self, x):
    mean, std = self._stats("2d", x)
    return x * std + mean

  def to_dict(self) -> dict:
    """A JSON-serialisable dict (lists of floats)."""
    return {k: (list(v) if isinstance(v, tuple) else v)
            for k, v in dataclasses.asdict(self).items()}

  @classmethod
  def from_dict(cls, d: Mapping) -> "Normalizer":
    return cls(mode=d["mode"], **{k: tuple(float(x) for x in d[k]) for k in
                                  ("mean3d", "std3d", "mean2d", "std2d")})
