"""jaxpose.models.dropout: a byte-per-element dropout mask."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxpose.models import dropout as dropout_lib

SHAPE = (512, 1024)  # 524,288 decisions: the keep rate is known to +-0.0025


@pytest.mark.parametrize("rate, expected", [
    (0.25, (64, jnp.uint8)), (0.5, (128, jnp.uint8)),
    (3 / 256, (3, jnp.uint8)), (1 / 1024, (64, jnp.uint16)), (0.1, None)])
def test_threshold_is_exact_or_absent(rate, expected):
  assert dropout_lib._threshold(rate) == expected


@pytest.mark.parametrize("rate", [0.25, 0.5, 1 / 1024, 0.1])
def test_keep_rate_and_independence_of_neighbours(rate):
  keep = np.asarray(dropout_lib.keep_mask(jax.random.key(0), rate, SHAPE))
  assert keep.shape == SHAPE and keep.dtype == bool
  p = 1.0 - rate
  n = keep.size
  sigma = np.sqrt(p * (1 - p) / n)
  assert abs(keep.mean() - p) < 5 * sigma
  # Four neighbours share one random word: each pair of entries from the
  # same word must still be independent, P(both kept) = p^2.
  for lag in (1, 2, 3, 4):
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
