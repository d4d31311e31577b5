"""Augmentation of training rows as a pure function of the step's key.

Like GFPose's condition masking, an augmentation is drawn inside the loss
from the key the loop hands it, so it is a function of (seed, step) only:
a resumed run sees the same augmented rows, and no dataset is rewritten.

  mirrored(loss, mirror, probability, method): each row of a batch is
  replaced by its left-right mirror (`mirror(batch)`, the method's, e.g.
  `pose.mirror` on its units) with `probability`; 0 leaves the loss (and
  its key) as it was.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp

from jaxpose import settings

Batch = Mapping[str, Any]


def mirrored(loss: Callable, mirror: Callable[[Batch], Batch] | None,
             probability: float, method: str) -> Callable:
  """`loss(params, batch, key)` on batches whose rows are mirrored with
  `probability` (`train.mirror`).

  Raises:
    settings.ConfigError: a probability above 0 for a method that gives no
      mirror of its rows.
  """
  if not probability:
    return loss
  if mirror is None:
    raise settings.ConfigError(
        f"train.mirror={probability}: method {method!r} (with these "
        "settings) gives no left-right mirror of its training rows; set "
        "train.mirror=0")

  def augmented(params, batch, key):
    flip_key, key = jax.random.split(key)
    rows = jax.tree.leaves(batch)[0].shape[0]
    flip = jax.random.bernoulli(flip_key, probability, (rows,))
    flipped = mirror(batch)
    batch = {k: jnp.where(flip.reshape((-1,) + (1,) * (jnp.ndim(v) - 1)),
                          flipped[k], v) for k, v in batch.items()}
    return loss(params, batch, key)

  return augmented


__all__ = ["mirrored"]
