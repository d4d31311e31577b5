"""Warnings for results no human body allows: errors or poses metres off.

A model that leaves the data's range (a barely trained score network, a
sampler without a range: `core.box`) can report MPJPE in the tens of
metres, and the figure alone looks like any other number. `warnings`
checks a task's result against one bound, `BODY_BOUND_MM` = 2,000 mm:

  * predictions: any predicted joint (`*_mm` arrays `[..., J, 3]` of
    root-relative mm, the ground truth left out) more than the bound from
    the root, and any NaN or inf.  No joint of a body lies 2 m from its
    pelvis: a wrist raised overhead lies about two thirds of the body's
    height from it, and the tallest people measure under 2.8 m.
  * figures: any MPJPE-family figure (a key holding 'mpjpe', nested
    figures and lists included) above the bound.  Most joints lie well
    under 1 m from the pelvis, so two real poses differ by far less than
    2 m on average over the joints: a mean error of 2 m means predicted
    joints metres from where any body puts them.

Each warning is one sentence naming what and how much; the runner logs them
and writes them to the results file (`warnings`).
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

__all__ = ["BODY_BOUND_MM", "warnings", "figure_warnings",
           "prediction_warnings"]

BODY_BOUND_MM = 2000.0

# Prediction arrays that hold the data, not a method's output.
_TRUTH_KEYS = ("pose3d_mm", "gt_mm", "truth_mm")


def _numbers(value, path: str):
  """(dotted path, number) of every number under `value`."""
  if isinstance(value, Mapping):
    for k, v in value.items():
      yield from _numbers(v, f"{path}.{k}" if path else str(k))
  elif isinstance(value, (list, tuple)):
    for i, v in enumerate(value):
      yield from _numbers(v, f"{path}[{i}]")
  elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
      value, bool):
    yield path, float(value)


def figure_warnings(figures: Mapping[str, Any],
                    bound_mm: float = BODY_BOUND_MM) -> list[str]:
  """Warnings for MPJPE-family figures above `bound_mm` or not finite."""
  over = [(p, v) for p, v in _numbers(figures, "")
          if "mpjpe" in p.lower() and not v <= bound_mm]
  if not over:
    return []
  finite = [pv for pv in over if np.isfinite(pv[1])]
  worst = max(finite, key=lambda pv: pv[1]) if finite else over[0]
  return [f"{len(over)} error figure(s) above {bound_mm:g} mm, more than any "
          f"human body allows (worst: {worst[0]} = {worst[1]:.6g} mm): the "
          "model's outputs left the data's range (an undertrained model, or a "
          "sampler without eval.x0_clip)"]


def prediction_warnings(predictions: Mapping[str, Any] | None,
                        bound_mm: float = BODY_BOUND_MM) -> list[str]:
  """Warnings for predicted joints farther than `bound_mm` from the root
  (the origin of root-relative mm) and for NaN/inf predictions."""
  out = []
  for name, value in (predictions or {}).items():
    if not name.endswith("_mm") or name in _TRUTH_KEYS:
      continue
    x = np.asarray(value)
    if x.ndim < 2 or x.shape[-1] != 3 or not np.issubdtype(x.dtype, np.floating):
      continue
    # Distances without a temporary of x's size (evaluations hold many).
    dist = np.sqrt(np.einsum("...i,...i->...", x, x))  # [..., J]
    finite = np.isfinite(dist)
    if not finite.all():
      out.append(f"predictions {name}: {int((~finite).sum())} joint(s) of "
                 f"{finite.size} are NaN or inf")
    far = finite & (dist > bound_mm)
    if far.any():
      poses = far.reshape(-1, far.shape[-1]).any(axis=-1)
      out.append(f"predictions {name}: {int(poses.sum())} of {poses.size} "
                 f"poses have joints more than {bound_mm:g} mm from the root "
                 f"(farthest {float(dist[far].max()):.6g} mm), which no human "
                 "body allows")
  return out


def warnings(figures: Mapping[str, Any],
             predictions: Mapping[str, Any] | None = None,
             bound_mm: float = BODY_BOUND_MM) -> list[str]:
  """Every warning of a task's figures and predictions (empty: plausible)."""
  return (figure_warnings(figures, bound_mm)
          + prediction_warnings(predictions, bound_mm))
