"""A diffusion prior as a regulariser of test-time optimisation.

Any jaxpose prior (a forward process `sde`, a score function and its
parameters) becomes a loss term on the variable x being fitted:

  draw z,  x_t = a(t) x + s(t) z,
  x0_hat = stop_gradient(Tweedie's one-step denoise of x_t),
  loss   = w(t) ||x - x0_hat||^2.

Because x0_hat is a constant to the optimiser, the gradient is
2 w (x - x0_hat): no backpropagation through the network (score
distillation).  With the exact score of the data,
E_z[x0_hat] = E[x0 | x_t = a x + s z] is pulled toward the data, so the
term draws x toward the data manifold; for Gaussian data N(m, v I) it
equals, in expectation, a quadratic pull 2 w s^2 / (a^2 v + s^2) (x - m)
(tests/core/test_regulariser.py checks this).

The time t changes over the optimisation (`TimeSchedule`):

  truncated  t falls linearly from t_max to t_min over the n steps.
  random     t ~ U(t_min, t_max), redrawn every step.
  fixed      a constant t.
  uniform    t ~ U(eps, T = 1), redrawn every step.

The weight w(t) is a named function of the process (`WEIGHTS`: 'snr',
1/2 sqrt(1 + a(t)/s(t)), or 'constant', 1/2) or any callable
`w(t, sde)`.  Which schedule, range and weight a method uses is that
method's data (DPoser's: jaxpose/methods/dposer/schedule.py).

Replay: a float array of x's shape given where a PRNG key is taken for z
is z itself (another run's numbers; `samplers.step_noise`, as
`sampling.Problem.noise` for samplers); schedules that draw t refuse it.
"""
from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxpose import checks
from jaxpose import settings
from jaxpose.core import samplers
from jaxpose.core import tweedie

Array = jax.Array

__all__ = [
    "TimeSchedule", "SCHEDULE_KINDS", "WEIGHTS", "snr_weight",
    "constant_weight", "diffusion_regulariser", "scheduled_regulariser",
]

SCHEDULE_KINDS = ("truncated", "random", "fixed", "uniform")

_T_END = 1.0  # T of every jaxpose forward process
_REDUCTIONS = ("sum", "mean")


def _is_number(v) -> bool:
  numbers = (int, float, np.integer, np.floating)
  return isinstance(v, numbers) and not isinstance(v, bool)


def _check_time(name: str, v, required: bool = False):
  """0 < v <= T for plain numbers; traced values are the caller's business.

  None is refused only when `required` (the constructors): unflattening a
  pytree may rebuild the class from placeholders.
  """
  if v is None:
    if required:
      raise ValueError(f"{name}: expected a time in (0, {_T_END}], got None")
    return
  if _is_number(v) and not 0.0 < float(v) <= _T_END:
    raise ValueError(f"{name}: expected a time in (0, {_T_END}], got {v!r}")


@struct.dataclass
class TimeSchedule:
  """The diffusion time t of each optimisation step.

  Build one with `truncated`, `random`, `fixed` or `uniform`; the
  fields a kind does not use are None.  A pytree (the kind is static), so a
  schedule can be closed over or passed into `jit`.

  Attributes:
    kind: one of `SCHEDULE_KINDS`.
    t_min: lower end of 'truncated' and 'random'.
    t_max: upper end of 'truncated' and 'random'.
    t_fixed: the time of 'fixed'.
    eps: lower end of 'uniform' (its upper end is T = 1).
    hit_t_max: 'truncated' only: True (default) puts the first step at
      t_max and the last at t_min; False is DPoser's released grid
      t_i = t_min + (n - 1 - i)/n (t_max - t_min) (last step t_min, first
      one step below t_max), computed as their code does.
  """
  kind: str = struct.field(pytree_node=False)
  t_min: Any = None
  t_max: Any = None
  t_fixed: Any = None
  eps: Any = None
  hit_t_max: bool = struct.field(pytree_node=False, default=True)

  def __post_init__(self):
    settings.one_of("kind", self.kind, SCHEDULE_KINDS)
    if self.kind in ("truncated", "random"):
      _check_time("t_min", self.t_min)
      _check_time("t_max", self.t_max)
      if (_is_number(self.t_min) and _is_number(self.t_max)
          and not self.t_min <= self.t_max):
        raise ValueError(f"expected t_min <= t_max, got t_min={self.t_min!r}, "
                         f"t_max={self.t_max!r}")
    elif self.kind == "fixed":
      _check_time("t_fixed", self.t_fixed)
    else:
      _check_time("eps", self.eps)

  @classmethod
  def truncated(cls, t_max, t_min, *, hit_t_max: bool = True
                ) -> "TimeSchedule":
    """t falls linearly from t_max (first step) to t_min (last step);
    `hit_t_max=False`: DPoser's released grid (class docstring)."""
    _check_time("t_max", t_max, required=True)
    _check_time("t_min", t_min, required=True)
    return cls(kind="truncated", t_min=t_min, t_max=t_max,
               hit_t_max=bool(hit_t_max))

  @classmethod
  def random(cls, t_min, t_max) -> "TimeSchedule":
    """t ~ U(t_min, t_max), a fresh draw every step."""
    _check_time("t_min", t_min, required=True)
    _check_time("t_max", t_max, required=True)
    return cls(kind="random", t_min=t_min, t_max=t_max)

  @classmethod
  def fixed(cls, t) -> "TimeSchedule":
    """The same t at every step."""
    _check_time("t", t, required=True)
    return cls(kind="fixed", t_fixed=t)

  @classmethod
  def uniform(cls, eps=1e-3) -> "TimeSchedule":
    """t ~ U(eps, 1), a fresh draw every step."""
    _check_time("eps", eps, required=True)
    return cls(kind="uniform", eps=eps)

  @property
  def needs_key(self) -> bool:
    return self.kind in ("random", "uniform")

  def __call__(self, step, num_steps, key=None) -> Array:
    """The time of step `step` (0-based) of `num_steps`.

    Args:
      step: int or traced int scalar; a traced step does not recompile.
        Outside [0, num_steps - 1] a plain int is refused and a traced one
        clipped.
      num_steps: n, the number of optimisation steps (a positive int, or
        traced).
      key: PRNG key of this step for 'random' and 'uniform' (derive it per
        step, e.g. `fold_in(key, step)`); ignored otherwise.

    Returns:
      t, a float32 scalar (hit_t_max=False: of the default float type,
      float64 with jax_enable_x64).
    """
    if _is_number(num_steps):
      num_steps = checks.check_positive_int("num_steps", num_steps)
      if _is_number(step) and not 0 <= step < num_steps:
        raise ValueError(f"step: expected an int in [0, {num_steps - 1}], got "
                         f"{step!r}")
    if self.needs_key and key is None:
      raise ValueError(f"key: the {self.kind!r} schedule draws t at random and "
                       "needs a PRNG key per step")
    if self.kind == "truncated" and not self.hit_t_max:
      # As DPoser's code: the default float type, ends' difference first.
      dtype = jnp.result_type(float)
      n = jnp.asarray(num_steps, dtype)
      left = jnp.clip(n - 1.0 - jnp.asarray(step, dtype), 0.0, n)
      return (jnp.asarray(self.t_min, dtype)
              + left / n * jnp.asarray(self.t_max - self.t_min, dtype))
    if self.kind == "truncated":
      # frac = 0 at the first step and 1 at the last; the convex form (not
      # t_max + frac (t_min - t_max)) makes both ends exact in float32.
      denom = jnp.maximum(jnp.asarray(num_steps, jnp.float32) - 1.0, 1.0)
      frac = jnp.clip(jnp.asarray(step, jnp.float32) / denom, 0.0, 1.0)
      t_max = jnp.asarray(self.t_max, jnp.float32)
      t_min = jnp.asarray(self.t_min, jnp.float32)
      return (1.0 - frac) * t_max + frac * t_min
    if self.kind == "fixed":
      return jnp.asarray(self.t_fixed, jnp.float32)
    lo, hi = ((self.t_min, self.t_max) if self.kind == "random"
              else (self.eps, _T_END))
    return jax.random.uniform(key, (), jnp.float32, minval=lo, maxval=hi)

  def sequence(self, num_steps: int, key=None) -> Array:
    """All n times, `[n]`; entry i equals `self(i, n, fold_in(key, i))`."""
    num_steps = checks.check_positive_int("num_steps", num_steps)
    steps = jnp.arange(num_steps)
    if not self.needs_key:
      return jax.vmap(lambda i: self(i, num_steps))(steps)
    if key is None:
      raise ValueError(f"key: the {self.kind!r} schedule draws t at random and "
                       "needs a PRNG key")
    return jax.vmap(lambda i: self(i, num_steps, jax.random.fold_in(key, i)))(
        steps)


def _is_given_draw(key) -> bool:
  """A float array where a key is expected: the draw itself (replay)."""
  dtype = getattr(key, "dtype", None)
  return dtype is not None and bool(jnp.issubdtype(dtype, jnp.floating))


def snr_weight(t, sde) -> Array:
  """w(t) = 1/2 sqrt(1 + a(t) / s(t)), in t's shape: larger where the signal
  dominates the noise (a prior's scale c does not enter)."""
  return 0.5 * jnp.sqrt(1.0 + sde.mean_coeff(t) / sde.marginal_std(t))


def constant_weight(t, sde) -> Array:
  """w = 1/2, so that the gradient is exactly x - x0_hat (per example)."""
  del sde
  return jnp.full(jnp.shape(t), 0.5, jnp.float32)


WEIGHTS = {"snr": snr_weight, "constant": constant_weight}


def _weight_fn(weight) -> Callable:
  if callable(weight):
    return weight
  try:
    return WEIGHTS[weight]
  except (KeyError, TypeError):
    raise ValueError(f"weight: expected one of {tuple(WEIGHTS)} or a callable "
                     f"weight(t, sde), got {weight!r}") from None


def diffusion_regulariser(score_fn: Callable, params, x, key, t, *, sde,
                          cond: Any = None, weight="snr",
                          reduce: str = "sum", prior=None) -> Array:
  """The regulariser w(t) ||x - stop_gradient(x0_hat(x_t))||^2.

  The squared norm is taken per example (summed over the data dims, or
  averaged with reduce='mean'), weighted, then averaged over the batch: a
  data term also averaged over the batch then keeps the same balance with
  this one whatever the batch size, and each example's gradient is its own
  2 w (x - x0_hat) / B.  (The authors' code averages over the batch in
  motion denoising, and over every element in completion: reduce='mean'.)

  Args:
    score_fn: `score_fn(params, x, t, cond) -> score`, x `[B, ...]` (e.g.
      `losses.make_score_fn(apply_fn, sde)`).
    params: the score function's parameters (they get no gradient).
    x: `[B, D]` or `[B, J, C]`, the variable being fitted.
    key: PRNG key of the noise z (one per call; derive it per step), or
      the draw z itself, a float array of x's shape (replay).
    t: scalar or `[B]` time in (0, T], e.g. from a `TimeSchedule`.
    sde: the forward process the score was trained with.
    cond: the score function's condition, or None.
    weight: 'snr' (1/2 sqrt(1 + a/s)), 'constant' (1/2) or a callable
      `weight(t, sde)` returning a scalar or `[B]`.
    reduce: 'sum' or 'mean' over the non-batch dims.
    prior: None or the process's per-example `priors.GaussianPrior`.

  Returns:
    The scalar loss; jit-able and differentiable in x.
  """
  weight_fn = _weight_fn(weight)
  settings.one_of("reduce", reduce, _REDUCTIONS)
  shape = checks.check_batched("x", x)
  if checks.is_concrete(t):
    t_np = np.asarray(t)
    if t_np.ndim > 1 or (t_np.ndim == 1 and t_np.shape[0] != shape[0]):
      raise ValueError(f"t: expected a scalar or shape ({shape[0]},), got "
                       f"{t_np.shape}")
    if not np.all((t_np > 0) & (t_np <= sde.T)):
      raise ValueError(f"t: expected times in (0, {sde.T}], got {t_np}")
  if _is_given_draw(key):
    mean, std = sde.marginal(x, t, prior)
    x_t = mean + std * samplers.step_noise(key, x)  # [B, ...]
  else:
    x_t, _ = sde.perturb(key, x, t, prior)  # [B, ...]
  x0_hat = jax.lax.stop_gradient(tweedie.tweedie_x0(
      score_fn, params, x_t, t, cond, sde=sde, prior=prior))  # [B, ...]
  sq = jnp.square(x - x0_hat).reshape(shape[0], -1)  # [B, D]
  per_example = sq.sum(-1) if reduce == "sum" else sq.mean(-1)  # [B]
  w = jax.lax.stop_gradient(jnp.asarray(weight_fn(t, sde)))  # scalar or [B]
  return jnp.mean(w * per_example)


def scheduled_regulariser(score_fn: Callable, params, x, key, step, num_steps,
                          *, sde, schedule: TimeSchedule, cond: Any = None,
                          weight="snr", reduce: str = "sum",
                          prior=None) -> Array:
  """`diffusion_regulariser` at the schedule's time for step `step` of n.

  One key per step (e.g. `fold_in(key, step)`) is split into t's draw and
  the noise; or `key` is this step's given draw z (replay, x's shape), for a
  schedule that draws nothing ('truncated', 'fixed').  `step` may be
  traced: an optax loop under `jit` compiles once.

  Args:
    score_fn, params, x, sde, cond, weight, reduce, prior: as in
      `diffusion_regulariser`.
    key: this step's PRNG key, or its given draw z (replay).
    step: the step index (int or traced int scalar).
    num_steps: n, the number of steps of the optimisation.
    schedule: a `TimeSchedule`.

  Returns:
    The scalar loss.
  """
  if not isinstance(schedule, TimeSchedule):
    raise TypeError(f"schedule: expected a TimeSchedule, got {type(schedule)}")
  if _is_given_draw(key):
    if schedule.needs_key:
      raise ValueError(f"key: a given draw (replay) fixes z only; the "
                       f"{schedule.kind!r} schedule draws t at random too")
    k_t, k_z = None, key
  else:
    k_t, k_z = jax.random.split(key)
  t = schedule(step, num_steps, k_t)
  return diffusion_regulariser(score_fn, params, x, k_z, t, sde=sde, cond=cond,
                               weight=weight, reduce=reduce, prior=prior)
