"""jaxpose.models.dropout: a dropout mask hashed from counters."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax.extend import random as jax_random

from jaxpose.models import dropout as dropout_lib

SHAPE = (512, 1024)  # 524,288 decisions: the keep rate is known to +-0.0025


def test_threefry_matches_the_published_vector_and_jax():
  # Salmon et al. 2011's known answer for Threefry-2x32, 20 rounds.
  out = dropout_lib.threefry2x32((0x13198A2E, 0x03707344),
                                 (0x243F6A88, 0x85A308D3))
  assert [int(w) for w in out] == [0xC4923A9C, 0x483DF7A0]
  rng = np.random.default_rng(0)
  counters = rng.integers(0, 2**32, (2, 999), dtype=np.uint32)
  key = rng.integers(0, 2**32, 2, dtype=np.uint32)
  theirs = jax_random.threefry_2x32(
      (jnp.uint32(key[0]), jnp.uint32(key[1])), counters.reshape(-1))
  ours = dropout_lib.threefry2x32(tuple(key), tuple(counters))
  np.testing.assert_array_equal(np.concatenate(ours), theirs)


@pytest.mark.parametrize("rate, expected", [
    (0.25, (64, jnp.uint8)), (0.5, (128, jnp.uint8)),
    (3 / 256, (3, jnp.uint8)), (1 / 1024, (64, jnp.uint16)),
    (0.1, (6554, jnp.uint16)), (1e-6, None), (1 - 1e-6, None)])
def test_threshold_is_exact_rounded_or_absent(rate, expected):
  assert dropout_lib._threshold(rate) == expected
  realized = dropout_lib.realized_rate(rate)
  assert abs(realized - rate) <= dropout_lib.RATE_TOLERANCE * rate
  if expected is not None and expected[1] == jnp.uint8:
    assert realized == rate


@pytest.mark.parametrize("rate", [0.25, 0.5, 1 / 1024, 0.1])
def test_keep_rate_and_independence_of_neighbours(rate):
  keep = np.asarray(dropout_lib.keep_mask(jax.random.key(0), rate, SHAPE))
  assert keep.shape == SHAPE and keep.dtype == bool
  p = 1.0 - dropout_lib.realized_rate(rate)
  n = keep.size
  sigma = np.sqrt(p * (1 - p) / n)
  assert abs(keep.mean() - p) < 5 * sigma
  # Up to eight neighbours share one hashed counter: each pair of entries
  # from the same counter must still be independent, P(both kept) = p^2.
  for lag in range(1, 9):
    both = (keep[:, lag:] & keep[:, :-lag]).mean()
    assert abs(both - p * p) < 6 * np.sqrt(p * p * (1 - p * p) / n), lag
  # Rows are not copies of each other.
  assert not np.array_equal(keep[0], keep[1])


def test_mask_is_a_function_of_the_key_and_handles_ragged_last_axis():
  key = jax.random.key(3)
  a = dropout_lib.keep_mask(key, 0.25, (7, 1023))
  b = dropout_lib.keep_mask(key, 0.25, (7, 1023))
  c = dropout_lib.keep_mask(jax.random.key(4), 0.25, (7, 1023))
  assert a.shape == (7, 1023)
  np.testing.assert_array_equal(a, b)
  assert not np.array_equal(a, c)
  assert dropout_lib.keep_mask(key, 0.25, (5, 3)).shape == (5, 3)


def test_dropout_zeroes_and_rescales_so_the_mean_is_kept():
  x = jnp.ones(SHAPE)
  y = np.asarray(dropout_lib.dropout(x, 0.25, jax.random.key(1)))
  np.testing.assert_allclose(np.unique(y), [0.0, 1 / 0.75], rtol=1e-6)
  assert abs(y.mean() - 1.0) < 0.01
  np.testing.assert_array_equal(dropout_lib.dropout(x, 0.0, None), x)
  # A rounded rate scales by its own keep probability: the mean is exact.
  keep = 1.0 - dropout_lib.realized_rate(0.1)
  y = np.asarray(dropout_lib.dropout(x, 0.1, jax.random.key(1)))
  np.testing.assert_allclose(np.unique(y), [0.0, 1 / keep], rtol=1e-6)
  assert abs(y.mean() - 1.0) < 0.01



def test_dropout_gradient_is_the_mask_over_keep_prob():
  key = jax.random.key(2)
  x = jnp.linspace(-1, 1, 64).reshape(4, 16)
  grad = jax.grad(lambda v: dropout_lib.dropout(v, 0.5, key).sum())(x)
  keep = dropout_lib.keep_mask(key, 0.5, x.shape)
  np.testing.assert_allclose(grad, np.where(keep, 2.0, 0.0))


def test_module_is_identity_when_deterministic_and_needs_rngs_otherwise():
  layer = dropout_lib.Dropout(0.25)
  x = jnp.ones((4, 8))
  np.testing.assert_array_equal(layer(x, deterministic=True), x)
  with pytest.raises(ValueError, match="rngs"):
    layer(x, deterministic=False)
  y = layer(x, deterministic=False, rngs=nnx.Rngs(dropout=0))
  assert y.shape == x.shape and float(jnp.min(y)) == 0.0
  with pytest.raises(ValueError, match="rate"):
    dropout_lib.Dropout(1.0)
