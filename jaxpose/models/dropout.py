"""Inverted dropout whose mask needs a quarter of `bernoulli`'s random bits.

`bernoulli` compares one uniform float per element, and JAX's (partitionable)
threefry computes a whole 32-bit word per element to make it.  A dropout
decision needs far fewer bits: here every 32-bit word is cut into four
bytes, one per element, and an element is kept when its byte is at least
`rate * 256`.  For rates that are multiples of 1/256 (0.25 and 0.5, the
papers' rates, among them) the keep probability is exact; other rates use
16-bit halves (two elements per word, exact for multiples of 1/65536) and
anything finer falls back to `bernoulli`.  Its speed against `bernoulli`
is a benchmark figure (experiments/bench/), not a property stated here.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from jaxpose import checks

# (bits per element, unsigned dtype), cheapest first.
_CHUNKS = ((8, jnp.uint8), (16, jnp.uint16))


def _threshold(rate: float) -> tuple[int, object] | None:
  """(threshold, dtype) with P(uniform bits < threshold) == rate, if exact."""
  for bits, dtype in _CHUNKS:
    scaled = rate * (1 << bits)
    if abs(scaled - round(scaled)) < 1e-9:
      return int(round(scaled)), dtype
  return None


def keep_mask(key: jax.Array, rate: float, shape: tuple[int, ...]) -> jax.Array:
  """Boolean mask, True with probability 1 - rate, independently per entry.

  The last axis is filled from words drawn per leading index, so a batch
  axis stays leading (and shardable) in every intermediate.
  """
  shape = tuple(int(s) for s in shape)
  found = _threshold(rate) if shape and shape[-1] > 0 else None
  if found is None:
    return jax.random.bernoulli(key, 1.0 - rate, shape)
  threshold, dtype = found
  per_word = 32 // jnp.iinfo(dtype).bits
  last = shape[-1]
  words = -(-last // per_word)  # ceil
  bits = jax.random.bits(key, shape[:-1] + (words,), jnp.uint32)
  # [..., words] -> [..., words, per_word] -> [..., words * per_word]
  chunks = jax.lax.bitcast_convert_type(bits, dtype)
  chunks = chunks.reshape(shape[:-1] + (words * per_word,))
  if words * per_word != last:
    chunks = chunks[..., :last]
  return chunks >= threshold


def dropout(x: jax.Array, rate: float, key: jax.Array) -> jax.Array:
  """Inverted dropout: zero with probability `rate`, scale the rest up."""
  if rate == 0.0:
    return x
  if rate == 1.0:
    return jnp.zeros_like(x)
  keep = keep_mask(key, rate, x.shape)
  return jnp.where(keep, x / (1.0 - rate), jnp.zeros_like(x))


class Dropout(nnx.Module):
  """`nnx.Dropout`'s interface (rate, call-time `rngs`) with `keep_mask`."""

  def __init__(self, rate: float, *, rng_collection: str = "dropout"):
    self.rate = float(checks.check_rate("rate", rate))
    self.rng_collection = rng_collection

  def __call__(self, x, *, deterministic: bool, rngs: nnx.Rngs | None = None):
    if deterministic or self.rate == 0.0:
      return x
    if rngs is None:
      raise ValueError("rngs: dropout is active (deterministic=False) but no "
                       "nnx.Rngs was given")
    return dropout(x, self.rate, rngs[self.rng_collection]())


def check_dropout_rngs(model, deterministic: bool, rngs) -> None:
  """A model with `dropout_rate` > 0 run with dropout needs `rngs`."""
  if not deterministic and model.dropout_rate > 0 and rngs is None:
    raise ValueError("rngs: dropout is active (deterministic=False) but no "
                     "nnx.Rngs with a 'dropout' stream was given")
