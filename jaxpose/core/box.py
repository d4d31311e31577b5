"""A per-coordinate box [lo, hi] that keeps the denoised estimate in range.

DDPM clips its denoised estimate x0_hat to its images' range [-1, 1] at
every step. Poses have no fixed range, so jaxpose takes each coordinate's
min and max over the training rows (`Box.of_data`), widened (`Box.widened`).

With a box, every sampler of `jaxpose.core.sampling` (`Problem.x0_range`)
runs on the score of the clipped estimate (`clip_score`):

  x0_hat = (x + s^2 score) / a,        x0_clip = clip(x0_hat, lo, hi),
  score' = score + a (x0_clip - x0_hat) / s^2,

so Tweedie's estimate of score' is exactly x0_clip and the score is
untouched (bit for bit) wherever x0_hat lies in the box.  Every sampler
(PC's corrector too) reads the score, so all stay consistent.  Their
output is projected onto the box as well: the last steps are stiff
(g^2 dt / s^2 near or above 1 on a coarse grid), so where x0_clip is far
from x they can overshoot it.  A model whose predictions are finite then
cannot produce poses outside the box, however wrong its score.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxpose import checks
from jaxpose.core.sde import broadcast_to_batch

Array = jax.Array

__all__ = ["Box", "clip", "clip_score", "check_box", "evaluation_box",
           "SOURCES"]

# Where an evaluation's box came from (`evaluation_box`), as results record it.
SOURCES = {
    "prepared": "the training split's range, stored with the model",
    "train_split": "the evaluation data's training split (the workdir stores "
                   "no range: trained before it was kept, or imported)",
}


@struct.dataclass
class Box:
  """Bounds per coordinate: lo <= x <= hi, a pytree.

  Attributes:
    lo: broadcastable to the data `[B, ...]` (typically one example's
      shape, e.g. `[J, 3]`).
    hi: like `lo`, with hi >= lo.
  """
  lo: Any  # broadcastable to [B, ...]
  hi: Any  # broadcastable to [B, ...]

  @classmethod
  def of_data(cls, x) -> "Box":
    """The smallest box holding every row of `x` `[N, ...]`: its min and
    max over the rows, `[...]` each (float32)."""
    x = np.asarray(x, np.float32)
    checks.check_array("x0_range data", x, ("N", *x.shape[1:]))
    if len(x) == 0:
      raise ValueError("x0_range data: no rows to take the range of")
    return cls(lo=x.min(axis=0), hi=x.max(axis=0))

  def widened(self, margin: float) -> "Box":
    """The box widened by `margin` times each channel's extent on both sides.

    A channel is the last axis (x, y, z of `[J, 3]`), its extent max(hi) -
    min(lo) over every other axis, so a coordinate of tiny own range (the
    root of root-relative poses) still gets room in proportion to the body.
    """
    if not margin >= 0:
      raise ValueError(f"margin: expected a number >= 0, got {margin!r}")
    lo, hi = np.asarray(self.lo, np.float32), np.asarray(self.hi, np.float32)
    axes = tuple(range(lo.ndim - 1))
    extent = hi.max(axis=axes) - lo.min(axis=axes)  # [C]
    return Box(lo=lo - margin * extent, hi=hi + margin * extent)

  def clip(self, x):
    """x clipped to the box, x `[B, ...]`."""
    return jnp.clip(x, self.lo, self.hi)

  def standardized(self, prior) -> "Box":
    """The box in a `priors.GaussianPrior`'s coordinates y = (x - mu) / c
    (c > 0 keeps the order; None: the box itself)."""
    if prior is None:
      return self
    return Box(lo=prior.standardize(self.lo), hi=prior.standardize(self.hi))

  def to_dict(self) -> dict:
    """{'lo': nested list, 'hi': nested list} for a results file."""
    return {"lo": np.asarray(self.lo).tolist(), "hi": np.asarray(self.hi).tolist()}


def clip(box: Box | None, x):
  """x clipped to `box`; x itself when the box is None."""
  return x if box is None else box.clip(x)


def check_box(name: str, box: Box | None, shape: tuple[int, ...]):
  """A box whose bounds broadcast to `shape`, finite (when concrete), lo <= hi
  (None passes)."""
  if box is None:
    return
  if not isinstance(box, Box):
    raise TypeError(f"{name}: expected a jaxpose.core.box.Box, got {type(box)}")
  for part in ("lo", "hi"):
    bound = getattr(box, part)
    bshape = tuple(jnp.shape(bound))
    try:
      broadcast = jnp.broadcast_shapes(bshape, tuple(shape))
    except ValueError:
      broadcast = None
    if broadcast != tuple(shape):
      raise ValueError(f"{name}.{part}: shape {bshape} does not broadcast to "
                       f"the data's {tuple(shape)}")
    if checks.is_concrete(bound):
      checks.check_array(f"{name}.{part}", bound, bshape)
  if checks.is_concrete(box.lo) and checks.is_concrete(box.hi):
    if np.any(np.asarray(box.lo) > np.asarray(box.hi)):
      raise ValueError(f"{name}: lo > hi for some coordinates")


def clip_score(score_fn: Callable, sde, box: Box | None, *,
               prior=None) -> Callable:
  """The score whose Tweedie estimate is x0_hat clipped to `box`.

  Args:
    score_fn: `score_fn(params, x, t, cond) -> score`, x `[B, ...]`, t a
      scalar or `[B]`: the score of the plain process (prior N(0,
      prior_std^2 I)); with a `prior`, the score in its standardised
      coordinates y = (x - mu) / c, as the samplers run it.
    sde: the forward process (`mean_coeff`, `marginal_std`).
    box: bounds on x0 (x's own coordinates), broadcastable to x; None
      returns `score_fn` itself.
    prior: None or the `priors.GaussianPrior` of those coordinates (the
      box is mapped into them).

  Returns:
    `score'(params, x, t, cond)` (module doc): `score_fn`'s where x0_hat
    lies in the box, and where s = 0.
  """
  if box is None:
    return score_fn
  box = box.standardized(prior)

  def clipped(params, x, t, cond):
    score = score_fn(params, x, t, cond)
    a = broadcast_to_batch(sde.mean_coeff(t), x)
    s2 = broadcast_to_batch(sde.marginal_std(t), x) ** 2
    x0_hat = (x + s2 * score) / a
    shift = box.clip(x0_hat) - x0_hat
    safe = s2 > 0
    return score + jnp.where(safe, a * shift / jnp.where(safe, s2, 1.0), 0.0)

  return clipped


def evaluation_box(*, clip: bool, margin: float, stored: Mapping | None,
                   train_data: Callable[[], Any]) -> tuple[Box | None, dict]:
  """The box an evaluation samples with, and what its results say of it.

  Args:
    clip: the option (a method's `eval.x0_clip`); False: no box.
    margin: `Box.widened`'s margin (`eval.x0_clip_margin`).
    stored: the range stored with the model (arrays 'lo' and 'hi', e.g.
      a prepared artefact), or None.
    train_data: `() -> [N, ...]` the training rows in model units, called
      only when nothing is stored.

  Returns:
    (box or None, {'clip', and with a box 'margin', 'source' (a key of
    `SOURCES`), 'source_text'}).
  """
  if not clip:
    return None, {"clip": False}
  if stored is not None:
    box, source = Box(lo=np.asarray(stored["lo"]), hi=np.asarray(stored["hi"])), "prepared"
  else:
    box, source = Box.of_data(train_data()), "train_split"
    logging.warning("x0 range: %s", SOURCES[source])
  return box.widened(margin), {"clip": True, "margin": float(margin),
                               "source": source, "source_text": SOURCES[source]}
