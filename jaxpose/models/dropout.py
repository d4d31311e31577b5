"""Inverted dropout from a counter-based hash, a fraction of `bernoulli`'s cost.

`bernoulli` draws one uniform float (a 32-bit word) per element, and on the
CPU JAX lowers its Threefry hash to a rolled loop that XLA cannot fuse with
the work around it.  Here the hash
is Threefry-2x32 itself (the one behind JAX's default PRNG), written out
round by round in `jnp` ops, so XLA fuses it into one elementwise loop on
every backend.  Each counter yields 64 bits, cut into bytes (one per
element) for rates that are multiples of 1/256 (0.25 and 0.5, the papers'
GFPose and lifter rates), or into 16-bit halves otherwise, with the
threshold rounded to the nearest 1/65536 (DPoser's 0.1 becomes
6554/65536).  The mask's keep probability is the rounded one exactly, and
`dropout` scales by that probability, so the layer's expectation is
unchanged; rates that 16 bits cannot realise to 0.1% fall back to
`bernoulli`.  The speed against `bernoulli` is a benchmark figure
(`experiments.bench.dropout`), not a property stated here.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from jaxpose import checks

# (bits per element, unsigned dtype), cheapest first.
_CHUNKS = ((8, jnp.uint8), (16, jnp.uint16))
# A rounded rate may differ from the asked one by this fraction of it.
RATE_TOLERANCE = 1e-3
# Threefry-2x32's rotation schedule and key-schedule parity (Salmon et al.
# 2011, "Parallel random numbers: as easy as 1, 2, 3").
_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = 0x1BD11BDA


def _rotate_left(x: jax.Array, d: int) -> jax.Array:
  return (x << jnp.uint32(d)) | (x >> jnp.uint32(32 - d))


def threefry2x32(key: tuple[jax.Array, jax.Array],
                 counter: tuple[jax.Array, jax.Array]
                 ) -> tuple[jax.Array, jax.Array]:
  """Threefry-2x32 with 20 rounds of two uint32 words `counter` under the
  two uint32 words `key` (each broadcast against the others): the hash of
  `jax.extend.random.threefry_2x32`, as plain elementwise ops."""
  k0, k1 = (jnp.asarray(k, jnp.uint32) for k in key)
  schedule = (k0, k1, k0 ^ k1 ^ jnp.uint32(_PARITY))
  x0 = jnp.asarray(counter[0], jnp.uint32) + k0
  x1 = jnp.asarray(counter[1], jnp.uint32) + k1
  for block in range(5):
    for d in _ROTATIONS[block % 2]:
      x0 = x0 + x1
      x1 = _rotate_left(x1, d) ^ x0
    x0 = x0 + schedule[(block + 1) % 3]
    x1 = x1 + schedule[(block + 2) % 3] + jnp.uint32(block + 1)
  return x0, x1


def _threshold(rate: float) -> tuple[int, object] | None:
  """(threshold, dtype) with P(uniform bits < threshold) the rate rounded to
  the chunk's resolution: exact in bytes, or within RATE_TOLERANCE of it in
  16-bit halves; None where neither holds."""
  for bits, dtype in _CHUNKS:
    scaled = rate * (1 << bits)
    if abs(scaled - round(scaled)) < 1e-9:
      return int(round(scaled)), dtype
  bits, dtype = _CHUNKS[-1]
  scaled = rate * (1 << bits)
  threshold = int(round(scaled))
  if 0 < threshold < (1 << bits) and (abs(scaled - threshold)
                                      <= RATE_TOLERANCE * scaled):
    return threshold, dtype
  return None


def realized_rate(rate: float) -> float:
  """The rate `keep_mask` drops with: `rate` rounded as `_threshold` does."""
  found = _threshold(rate)
  if found is None:
    return float(rate)
  threshold, dtype = found
  return threshold / float(1 << jnp.iinfo(dtype).bits)


def _counters(shape: tuple[int, ...]) -> jax.Array:
  """uint32 index of every entry of `shape`, row-major (iota per axis, so a
  leading batch axis stays shardable)."""
  index = jnp.zeros(shape, jnp.uint32)
  stride = 1
  for axis in reversed(range(len(shape))):
    index = index + jax.lax.broadcasted_iota(jnp.uint32, shape, axis) * \
        jnp.uint32(stride)
    stride *= shape[axis]
  return index


def keep_mask(key: jax.Array, rate: float, shape: tuple[int, ...]) -> jax.Array:
  """Boolean mask, True with probability 1 - `realized_rate(rate)`,
  independently per entry, a function of `key` (any PRNG key) and `shape`.

  Each entry's bits come from hashing its counter (its row-major index,
  `_counters`), so the mask of a batch split over devices is the mask of
  the whole batch, and a batch axis stays leading in every intermediate.
  """
  shape = tuple(int(s) for s in shape)
  found = _threshold(rate) if shape and shape[-1] > 0 else None
  if found is None:
    return jax.random.bernoulli(key, 1.0 - rate, shape)
  threshold, dtype = found
  per_counter = 64 // jnp.iinfo(dtype).bits
  last = shape[-1]
  counters_shape = shape[:-1] + (-(-last // per_counter),)
  total = 1
  for s in counters_shape:
    total *= s
  if total >= 1 << 32:
    return jax.random.bernoulli(key, 1.0 - rate, shape)
  seed = jax.random.bits(key, (2,), jnp.uint32)
  words = threefry2x32((seed[0], seed[1]),
                       (_counters(counters_shape), jnp.uint32(0)))
  # Each word's chunks by shifts, not a bitcast: XLA keeps the hash, the
  # shifts and the comparison in one fused loop.
  bits = jnp.iinfo(dtype).bits
  shifts = jnp.arange(0, 32, bits, dtype=jnp.uint32)
  low = jnp.uint32((1 << bits) - 1)
  keep = jnp.concatenate(
      [((w[..., None] >> shifts) & low) >= jnp.uint32(threshold)
       for w in words], axis=-1)  # [..., counters, per_counter]
  keep = keep.reshape(counters_shape[:-1] + (counters_shape[-1] * per_counter,))
  return keep[..., :last] if keep.shape[-1] != last else keep


def dropout(x: jax.Array, rate: float, key: jax.Array) -> jax.Array:
  """Inverted dropout: zero with probability `realized_rate(rate)`, the rest
  scaled by the inverse of its keep probability, so the mean is kept."""
  if rate == 0.0:
    return x
  if rate == 1.0:
    return jnp.zeros_like(x)
  keep = keep_mask(key, rate, x.shape)
  return jnp.where(keep, x / (1.0 - realized_rate(rate)), jnp.zeros_like(x))


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
