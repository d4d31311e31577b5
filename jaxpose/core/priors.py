"""Terminal distributions of the forward processes, as values.

Every process in `jaxpose.core.sde` diffuses toward N(0, prior_std^2 I) by
default.  A prior value moves and scales that target per example: with
`GaussianPrior(mean=mu, scale=c)`

  x_t = mu + a(t) (x0 - mu) + s(t) c z,     x_T ~ N(mu, (prior_std c)^2 I),

so in the standardised coordinates y = (x - mu) / c the process is the
plain one again.  That is how the samplers handle a prior: they run their
usual steps on y, with the score score_y(y) = c * score_x(mu + c y).

DiffPose's forward process ends in a Gaussian mixture fitted to the 2D
detection's uncertainty: each example diffuses toward one kernel, drawn by
its weight (`MixturePrior.draw`).

Both classes are flax struct dataclasses: pytrees, so they pass through
`jit`, `vmap` and `jax.tree.map` like arrays.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxpose import checks

Array = jax.Array

__all__ = ["GaussianPrior", "MixturePrior", "check_gaussian"]


@struct.dataclass
class GaussianPrior:
  """The Gaussian N(mean, (prior_std scale)^2) a process diffuses toward.

  Attributes:
    mean: array broadcastable to the data `[B, ...]` (e.g. `[B, D]` per
      example, `[D]` shared, or a scalar).
    scale: positive, broadcastable like `mean` (usually a scalar); it
      multiplies the process's own noise std.
  """
  mean: Any  # broadcastable to [B, ...]
  scale: Any = 1.0  # broadcastable to [B, ...]

  def standardize(self, x):
    """y = (x - mean) / scale, x `[B, ...]`."""
    return (x - self.mean) / self.scale

  def unstandardize(self, y):
    """x = mean + scale y, y `[B, ...]`."""
    return self.mean + self.scale * y


@struct.dataclass
class MixturePrior:
  """A mixture of M Gaussian priors (DiffPose's fitted GMM).

  Attributes:
    weights: `[M]` non-negative component weights (normalised on use).
    means: `[M, ...]` component means; the trailing dims broadcast to one
      example's shape.
    scales: `[M, ...]` like `means`, or `[M]` (one scale per component).
  """
  weights: Any  # [M]
  means: Any  # [M, ...]
  scales: Any  # [M, ...] or [M]

  def __post_init__(self):
    # Only concrete arrays are checked: unflattening under jit or tree_map
    # rebuilds the class from tracers and placeholders.
    leaves = (self.weights, self.means, self.scales)
    if not all(isinstance(v, (np.ndarray, jax.Array)) and checks.is_concrete(v)
               for v in leaves):
      return
    checks.check_array("MixturePrior.weights", self.weights, (None,))
    m = np.shape(self.weights)[0]
    for name, v in (("means", self.means), ("scales", self.scales)):
      if np.ndim(v) < 1 or np.shape(v)[0] != m:
        raise ValueError(f"MixturePrior.{name}: expected a leading dimension "
                         f"of M={m} (the number of weights), got shape "
                         f"{np.shape(v)}")
    w = np.asarray(self.weights)
    if np.any(w < 0) or not np.sum(w) > 0:
      raise ValueError("MixturePrior.weights: expected non-negative weights "
                       f"with a positive sum, got {w}")

  @property
  def num_components(self) -> int:
    return int(jnp.shape(self.weights)[0])

  def component_scales(self):
    """scales as `[M, ...]` with means' rank (a `[M]` scale gets 1s)."""
    s = jnp.asarray(self.scales)
    if s.ndim == 1:
      s = s.reshape(s.shape + (1,) * (jnp.ndim(self.means) - 1))
    return s

  def log_weights(self):
    """Normalised log weights, `[M]`."""
    w = jnp.asarray(self.weights, float)
    return jnp.log(w) - jnp.log(jnp.sum(w))

  def draw_index(self, key, batch_size: int):
    """One component index per example, each with probability its weight.

    Args:
      key: PRNG key.
      batch_size: B.

    Returns:
      `[B]` int indices into the M components.
    """
    batch_size = checks.check_positive_int("batch_size", batch_size)
    return jax.random.categorical(key, self.log_weights(),
                                  shape=(batch_size,))  # [B]

  def component(self, index) -> GaussianPrior:
    """The components of `index` `[B]` as a per-example `GaussianPrior`."""
    means = jnp.asarray(self.means)
    return GaussianPrior(mean=means[index],
                         scale=self.component_scales()[index])

  def draw(self, key, batch_size: int) -> GaussianPrior:
    """`component(draw_index(key, batch_size))`.

    Args:
      key: PRNG key.
      batch_size: B.

    Returns:
      `GaussianPrior` with mean and scale `[B, ...]` (scale `[B, 1, ...]`
      for `[M]` scales).
    """
    return self.component(self.draw_index(key, batch_size))


def check_gaussian(prior, shape, name: str = "prior") -> GaussianPrior:
  """Checks that `prior` is a GaussianPrior broadcastable to `shape`.

  Args:
    prior: the value to check.
    shape: the data's shape `[B, ...]`.
    name: the argument name for messages.

  Returns:
    prior, unchanged.
  """
  if isinstance(prior, MixturePrior):
    raise TypeError(f"{name}: a MixturePrior must be drawn per example "
                    "first: pass prior.draw(key, batch_size), a GaussianPrior")
  if not isinstance(prior, GaussianPrior):
    raise TypeError(f"{name}: expected a jaxpose.core.priors.GaussianPrior or "
                    f"None, got {type(prior)}")
  shape = tuple(shape)
  for field in ("mean", "scale"):
    v_shape = tuple(jnp.shape(getattr(prior, field)))
    try:
      ok = jnp.broadcast_shapes(v_shape, shape) == shape
    except ValueError:
      ok = False
    if not ok:
      raise ValueError(f"{name}.{field}: expected a shape that broadcasts to "
                       f"the data's shape {shape}, got {v_shape}")
  return prior
