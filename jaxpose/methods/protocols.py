"""What one method offers another: the protocols of `Capabilities.provides` and
`Need.protocol` that the shipped methods share.

A protocol is a value a trained workdir hands to another method (the runner
loads the workdir read-only, asks its method's `provides[protocol]` and
injects the result as the asking method's `needs[name]`). The generic
runner never looks inside one, so a new method that provides or needs one
of these touches no generic file; a protocol of its own can be any type,
defined in its own package and named by the methods that use it.

  ContextEncoder  a trained lifter's per-joint features (the graph lifter
                  provides it, DiffPose needs it)
  JointPrior      a score prior of root-relative 3D joints (GFPose
                  provides it, DPoser's completion may use it)
  MotionSmoother  smoothing of a lifted motion (DPoser provides it, the
                  video lift uses it)
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, Protocol, runtime_checkable

import jax
import numpy as np


@runtime_checkable
class ContextEncoder(Protocol):
  """A frozen context encoder (DiffPose's), as a trained lifter provides it.

  Attributes:
    workdir: where it was trained; network: its network's name.
    feature_dim: F, the width of its per-joint features.
    digest: the digest of its parameters.
  """
  workdir: str
  network: str
  feature_dim: int
  digest: str

  def encode(self, rows: Mapping[str, np.ndarray], *, batch_size: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """(features `[N, J, F]`, pose3d `[N, J, 3]` model units) of split rows."""

  def heldout_rows(self, train: Mapping[str, np.ndarray]) -> np.ndarray | None:
    """Rows of a train split (its own training data) it never trained on,
    or None when it trained on all of them.  # [n] int"""


@dataclasses.dataclass(frozen=True)
class JointPrior:
  """A trained score prior of root-relative 3D joints, as a value.

  Attributes:
    skeleton: the joints it scores (a `pose.skeleton.Skeleton`).
    to_model: jit-able `[B, J, 3]` root-relative mm in a camera frame (x
      right, y down, z forward) -> the network's `[B, J, C]` model units.
    score_fn: `score_fn(params, x, t, cond) -> score` (cond None: no
      condition).
    params: the network's parameters.
    sde: the forward process it was trained with.
    sample: `sample(key, num) -> [num, J, 3]` mm, unconditional samples.
  """
  skeleton: Any
  to_model: Callable
  score_fn: Callable
  params: Any
  sde: Any
  sample: Callable[[jax.Array, int], np.ndarray]


@dataclasses.dataclass(frozen=True)
class MotionSmoother:
  """A trained prior that smooths a lifted motion, as a value.

  Attributes:
    smooth: `smooth(joints_mm [T, 17, 3], key) -> [T, 17, 3]`: Human3.6M
      joints, root-relative, camera frame, in and out.
    window: the frames it fits at a time.
    describe: what it is, for reports.
  """
  smooth: Callable[[np.ndarray, Any], np.ndarray]
  window: int
  describe: str


__all__ = ["ContextEncoder", "JointPrior", "MotionSmoother"]
