"""Reverse-time samplers: one `lax.scan` over the time grid per method.

Contract used by the rest of jaxpose:

  score_fn(params, x, t, cond) -> score   # x [B, ...], t a scalar (one time
                                          # for the whole batch), cond a
                                          # pytree or None
  sample_fn = make_sampler(method, sde, score_fn, num_steps=..., eps=...)
  x0 = sample_fn(params, key, task)        # [B, ...], jitted
  xs = sample_hypotheses(sample_fn, params, key, task, H)   # [H, B, ...]

Every method walks the grid t_k = time_grid(t_start, eps, num_steps, rho)
and makes one step from t_k to t_{k+1} per scan iteration.  rho = 1 (the
default) is the uniform grid of score_sde and GFPose; rho > 1 puts the steps
closer together near eps, rho < 1 near t_start (EDM's power-law spacing,
applied to t).  Methods:

  euler_maruyama  reverse SDE dx = [f - g^2 score] dt + g dw, Euler-Maruyama;
                  the last step returns the noise-free mean (GFPose,
                  score_sde).
  pc              score_sde predictor-corrector: Langevin corrector (options
                  snr=0.16, num_corrector_steps=1, per_example_step=False)
                  followed by the reverse-diffusion predictor
                  (`sde.discretize`); the last predictor step is noise-free.
  ode             probability-flow ODE dx = [f - g^2 score / 2] dt, fixed step,
                  option solver='heun' (default) or 'euler'.
  deterministic   GFPose's "probability flow" flag: dx = [f - g^2 score] dt
                  without noise, Euler.  Mode-seeking: it shrinks the
                  spread of the samples (see the tests for a Gaussian).
  ddim            DDIM (option eta=0.0) through a(t), s(t), so it runs on
                  DiscreteVP and on every continuous SDE; eps_hat =
                  -s(t) score, x0_hat = (x - s eps_hat) / a.  The last step
                  adds no noise.
  ode_adaptive    probability-flow ODE with diffrax (Tsit5 + PIDController,
                  options rtol=1e-5, atol=1e-5, max_steps=4096).  It takes
                  no fixed grid; num_steps is only the first step's
                  fraction of the interval.  Not one `lax.scan`, but
                  jit- and vmap-able.

Imputation (RePaint-style; GFPose completion): when `task.observed` is set,
after every step the observed entries are replaced by the forward-diffused
observation at the new time, x <- x (1 - m) + (a obs + s z) m, with fresh z
for every method (deterministic ones included, so the unobserved entries see
observed entries at the right noise level).  `impute_noise=False` uses
a obs instead.  The initial state is imputed the same way, and the output has
the observed entries exactly equal to `obs`.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

import jax
import jax.numpy as jnp
from flax import struct

from jaxpose import checks
from jaxpose.core import xla_options
from jaxpose.core.sde import broadcast_to_batch

Array = jax.Array
ScoreFn = Callable[[Any, Array, Array, Any], Array]

__all__ = ["Task", "make_sampler", "sample_hypotheses", "METHODS",
           "time_grid", "parse_spec", "format_spec"]


@struct.dataclass
class Task:
  """What a sampling run is asked to do; a pytree.

  Attributes:
    x_init: `[B, ...]` start state; with `start_from_prior` only its shape
      (and dtype) is used.
    cond: any pytree handed to `score_fn` unchanged, or None.
    observed: `[B, ...]` values to impute (model space), or None.
    observed_mask: `[B, ...]` 1 where observed, 0 elsewhere; required with
      `observed`.
    t_start: scalar time the grid starts from (1.0 for generation; a small t,
      e.g. 0.05, to denoise `x_init`).
    start_from_prior: draw x ~ sde.prior_sample at t_start (True) or start
      from `x_init` as it is, adding no noise (False).  Static.
  """
  x_init: Array  # [B, ...]
  cond: Any = None
  observed: Array | None = None  # [B, ...]
  observed_mask: Array | None = None  # [B, ...]
  t_start: Array | float = 1.0  # scalar
  start_from_prior: bool = struct.field(pytree_node=False, default=True)


def _check_task(task: Task):
  """Shape checks; they run at trace time, so they also guard jitted calls."""
  if not isinstance(task, Task):
    raise TypeError(f"task: expected a jaxpose.core.sampling.Task, got {type(task)}")
  shape = tuple(jnp.shape(task.x_init))
  if len(shape) < 1:
    raise ValueError(f"task.x_init: expected shape (B, ...), got {shape}")
  checks.check_array("task.x_init", task.x_init, shape,
                     finite=not task.start_from_prior)
  if (task.observed is None) != (task.observed_mask is None):
    raise ValueError("task.observed and task.observed_mask must be given "
                     "together (both None or both arrays of x_init's shape "
                     f"{shape})")
  if task.observed is not None:
    checks.check_array("task.observed", task.observed, shape)
    checks.check_array("task.observed_mask", task.observed_mask, shape)
  checks.check_array("task.t_start", task.t_start, ())


# A step maps (params, cond, x, t, t_next, key, is_last) to x at t_next.
StepFn = Callable[..., Array]


def _euler_maruyama(sde, score_fn) -> StepFn:
  def step(params, cond, x, t, t_next, key, is_last):
    dt = t - t_next
    f, g = sde.drift_diffusion(x, t)
    g = broadcast_to_batch(g, x)
    mean = x - (f - g**2 * score_fn(params, x, t, cond)) * dt
    noise = jax.random.normal(key, x.shape, x.dtype)
    return jnp.where(is_last, mean, mean + g * jnp.sqrt(dt) * noise)
  return step


def _deterministic(sde, score_fn) -> StepFn:
  def step(params, cond, x, t, t_next, key, is_last):
    del key, is_last
    f, g = sde.drift_diffusion(x, t)
    g = broadcast_to_batch(g, x)
    return x - (f - g**2 * score_fn(params, x, t, cond)) * (t - t_next)
  return step


def _ode(sde, score_fn, *, solver: str = "heun") -> StepFn:
  if solver not in ("euler", "heun"):
    raise ValueError(f"ode: unknown solver {solver!r}; valid: 'euler', 'heun'")

  def velocity(params, cond, x, t):
    f, g = sde.drift_diffusion(x, t)
    g = broadcast_to_batch(g, x)
    return f - 0.5 * g**2 * score_fn(params, x, t, cond)

  def step(params, cond, x, t, t_next, key, is_last):
    del key, is_last
    dt = t - t_next
    v = velocity(params, cond, x, t)
    x_euler = x - v * dt
    if solver == "euler":
      return x_euler
    return x - 0.5 * (v + velocity(params, cond, x_euler, t_next)) * dt
  return step


def _pc(sde, score_fn, *, snr: float = 0.16, num_corrector_steps: int = 1,
        per_example_step: bool = False) -> StepFn:
  if num_corrector_steps != 0:
    checks.check_positive_int("num_corrector_steps", num_corrector_steps)
  if not snr > 0:
    raise ValueError(f"pc: snr must be positive, got {snr!r}")

  def norm(v):  # [B, ...] -> [B] or scalar (score_sde: batch mean)
    n = jnp.linalg.norm(v.reshape(v.shape[0], -1), axis=-1)
    return n if per_example_step else jnp.mean(n)

  def step(params, cond, x, t, t_next, key, is_last):
    dt = t - t_next
    key_c, key_p = jax.random.split(key)
    alpha = sde.corrector_alpha(t, dt)

    def langevin(i, x):
      noise = jax.random.normal(jax.random.fold_in(key_c, i), x.shape, x.dtype)
      grad = score_fn(params, x, t, cond)
      tiny = jnp.finfo(x.dtype).tiny
      step_size = 2 * alpha * (snr * norm(noise) / jnp.maximum(norm(grad), tiny))**2
      step_size = broadcast_to_batch(step_size, x)
      return x + step_size * grad + jnp.sqrt(2 * step_size) * noise

    x = jax.lax.fori_loop(0, num_corrector_steps, langevin, x)
    f, big_g = sde.discretize(x, t, dt)
    big_g = broadcast_to_batch(big_g, x)
    mean = x - (f - big_g**2 * score_fn(params, x, t, cond))
    noise = jax.random.normal(key_p, x.shape, x.dtype)
    return jnp.where(is_last, mean, mean + big_g * noise)
  return step


def _ddim(sde, score_fn, *, eta: float = 0.0) -> StepFn:
  if not eta >= 0:
    raise ValueError(f"ddim: eta must be >= 0, got {eta!r}")

  def step(params, cond, x, t, t_next, key, is_last):
    a, s = sde.mean_coeff(t), sde.marginal_std(t)
    a2, s2 = sde.mean_coeff(t_next), sde.marginal_std(t_next)
    eps_hat = -s * score_fn(params, x, t, cond)
    x0_hat = (x - s * eps_hat) / a
    # DDPM posterior variance of x_{t_next} | x_t, x0 for a general (a, s):
    # s2^2 (s^2 - (a/a2)^2 s2^2) / s^2; eta = 1 is ancestral sampling.
    safe_s2 = jnp.where(s > 0, s**2, 1.0)
    var = eta**2 * s2**2 * (s**2 - (a / a2)**2 * s2**2) / safe_s2
    var = jnp.clip(jnp.where(is_last, 0.0, var), 0.0, s2**2)
    noise = jax.random.normal(key, x.shape, x.dtype)
    return (a2 * x0_hat + jnp.sqrt(s2**2 - var) * eps_hat
            + jnp.sqrt(var) * noise)
  return step


METHODS: dict[str, Callable[..., StepFn]] = {
    "euler_maruyama": _euler_maruyama,
    "pc": _pc,
    "ode": _ode,
    "deterministic": _deterministic,
    "ddim": _ddim,
}
_ALL_METHODS = tuple(METHODS) + ("ode_adaptive",)


def _imputer(sde, task: Task, noise: bool):
  """Returns impute(x, t, key) for the task (identity without observations)."""
  if task.observed is None:
    return lambda x, t, key: x
  m = task.observed_mask.astype(task.observed.dtype)

  def impute(x, t, key):
    known = sde.mean_coeff(t) * task.observed
    if noise:
      z = jax.random.normal(key, x.shape, x.dtype)
      known = known + sde.marginal_std(t) * z
    return x * (1 - m) + known * m
  return impute


def _initial_state(sde, key, task: Task):
  if task.start_from_prior:
    dtype = jnp.result_type(task.x_init, float)
    return sde.prior_sample(key, jnp.shape(task.x_init)).astype(dtype)
  return jnp.asarray(task.x_init, jnp.result_type(task.x_init, float))


def _finish(x, task: Task):
  if task.observed is None:
    return x
  m = task.observed_mask.astype(x.dtype)
  return x * (1 - m) + task.observed.astype(x.dtype) * m


def time_grid(t_start, eps: float, num_steps: int, rho: float = 1.0):
  """[K + 1] times from t_start down to eps, power-law spaced.

  t_k = (t_start^(1/rho) + k/K (eps^(1/rho) - t_start^(1/rho)))^rho; rho = 1
  is `linspace(t_start, eps, K + 1)` exactly.
  """
  t_start = jnp.asarray(t_start, float)
  if rho == 1.0:
    return jnp.linspace(t_start, eps, num_steps + 1)
  frac = jnp.linspace(0.0, 1.0, num_steps + 1)  # [K + 1]
  hi, lo = t_start ** (1.0 / rho), jnp.asarray(eps, float) ** (1.0 / rho)
  # The convex form keeps both ends exact in float32 (hi + frac (lo - hi)
  # loses eps when rho < 1 makes lo tiny).
  return ((1.0 - frac) * hi + frac * lo) ** rho


def _parse_value(text: str):
  for cast in (int, float):
    try:
      return cast(text)
    except ValueError:
      pass
  if text.lower() in ("true", "false"):
    return text.lower() == "true"
  return text


def parse_spec(spec: str) -> tuple[str, dict]:
  """'pc:snr=0.1,grid_rho=2' -> ('pc', {'snr': 0.1, 'grid_rho': 2}).

  The sampler spec a config or a flag names: a method, then optionally
  `:` and comma-separated `option=value` pairs for `make_sampler`.
  """
  if not isinstance(spec, str) or not spec.strip():
    raise ValueError(f"sampler spec: expected 'method[:option=value,...]', got {spec!r}")
  method, _, rest = spec.strip().partition(":")
  options = {}
  for item in filter(None, (p.strip() for p in rest.split(","))):
    name, sep, value = item.partition("=")
    if not sep or not name.strip() or not value.strip():
      raise ValueError(f"sampler spec {spec!r}: option {item!r} is not "
                       "of the form name=value")
    options[name.strip()] = _parse_value(value.strip())
  if method not in _ALL_METHODS:
    raise ValueError(f"sampler spec {spec!r}: unknown sampling method "
                     f"{method!r}; valid names: {', '.join(_ALL_METHODS)}")
  return method, options


def format_spec(method: str, options: dict | None = None) -> str:
  """Inverse of `parse_spec` (options sorted by name)."""
  items = ",".join(f"{k}={v}" for k, v in sorted((options or {}).items()))
  return f"{method}:{items}" if items else method


def make_sampler(method: str, sde, score_fn: ScoreFn, *, num_steps: int,
                 eps: float = 1e-3, impute_noise: bool = True,
                 grid_rho: float = 1.0, **method_options) -> Callable[[Any, Array, Task], Array]:
  """Builds a jitted sampler `sample_fn(params, key, task) -> x0 [B, ...]`.

  Args:
    method: one of 'euler_maruyama', 'pc', 'ode', 'deterministic', 'ddim',
      'ode_adaptive', optionally as a spec with options ('ddim:eta=1',
      see `parse_spec`).
    sde: a process from `jaxpose.sde`.
    score_fn: `score_fn(params, x, t, cond) -> score` with x `[B, ...]` and t
      a scalar.
    num_steps: number of steps from task.t_start down to eps (the number of
      score evaluations for EM, 'deterministic', DDIM and Euler ODE; twice
      that for Heun; (1 + num_corrector_steps) times for PC).
    eps: end time of the grid (score_sde's sampling eps).
    impute_noise: imputation draws a obs + s z (True) or a obs (False).
    grid_rho: spacing of the time grid (`time_grid`); 1 is uniform.  Not
      used by 'ode_adaptive'.
    **method_options: the method's options (see the module docstring).

  Returns:
    `sample_fn(params, key, task)`: a `jax.jit` function (`.jitted`) behind
    an input check (shapes; NaN/inf when the inputs are concrete).  It
    compiles once per input shape and is pure, so it can be vmapped over
    keys and called inside other jitted functions.
  """
  num_steps = checks.check_positive_int("num_steps", num_steps)
  method, spec_options = parse_spec(method)
  clash = sorted(set(spec_options) & (set(method_options) | {"grid_rho"}))
  if "grid_rho" in spec_options and grid_rho == 1.0:
    clash.remove("grid_rho")
  if clash:
    raise ValueError(f"sampler options {clash} given both in the spec and as "
                     "keyword arguments")
  grid_rho = spec_options.pop("grid_rho", grid_rho)
  method_options = {**spec_options, **method_options}
  if not eps >= 0:
    raise ValueError(f"eps: expected a non-negative end time, got {eps!r}")
  if not grid_rho > 0:
    raise ValueError(f"grid_rho: expected a positive number, got {grid_rho!r}")
  grid_rho = float(grid_rho)
  if method == "ode_adaptive":
    if grid_rho != 1.0:
      raise ValueError("grid_rho: ode_adaptive chooses its own steps; "
                       f"got grid_rho={grid_rho}")
    return _make_adaptive_ode(sde, score_fn, num_steps=num_steps, eps=eps,
                              impute_noise=impute_noise, **method_options)
  if method not in METHODS:
    raise ValueError(f"unknown sampling method {method!r}; valid names: "
                     f"{', '.join(_ALL_METHODS)}")
  step = METHODS[method](sde, score_fn, **method_options)

  def sample_fn(params, key, task: Task):
    _check_task(task)
    key_init, key_imp, key_steps = jax.random.split(key, 3)
    impute = _imputer(sde, task, impute_noise)
    t_start = jnp.asarray(task.t_start, float)
    ts = time_grid(t_start, eps, num_steps, grid_rho)  # [K + 1]
    x = impute(_initial_state(sde, key_init, task), ts[0], key_imp)
    is_last = jnp.arange(num_steps) == num_steps - 1  # [K]

    def body(x, inputs):
      t, t_next, k, last = inputs
      k_step, k_imp = jax.random.split(k)
      x = step(params, task.cond, x, t, t_next, k_step, last)
      return impute(x, t_next, k_imp), None

    x, _ = jax.lax.scan(
        body, x, (ts[:-1], ts[1:], jax.random.split(key_steps, num_steps),
                  is_last))
    return _finish(x, task)

  return _checked_jit(sample_fn)


def _under_trace(*args) -> bool:
  return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(args))


def _checked_jit(sample_fn):
  """jax.jit(sample_fn) behind a check of the task at the call boundary.

  Shapes are checked again at trace time; the check here also rejects
  NaN/inf in concrete inputs, which a jitted function cannot see.
  """
  jitted = jax.jit(sample_fn)
  # XLA options apply to whole programs only, so only a call from outside
  # any jit gets them; inside another jit the outer program's options rule.
  top_level = jax.jit(sample_fn,
                      compiler_options=xla_options.sampling_options())

  @functools.wraps(sample_fn)
  def checked(params, key, task: Task):
    _check_task(task)
    if (_under_trace(params, key, task) or
        not xla_options.sampling_options(rows=task.x_init.shape[0])):
      return jitted(params, key, task)
    return top_level(params, key, task)

  checked.jitted = jitted  # inside other jitted functions; small batches
  checked.top_level = top_level
  return checked


def _make_adaptive_ode(sde, score_fn, *, num_steps, eps, impute_noise,
                       rtol: float = 1e-5, atol: float = 1e-5,
                       max_steps: int = 4096):
  """Probability-flow ODE with diffrax Tsit5 and a PID step-size controller.

  Imputation, if asked, is applied to the initial state and the output only
  (an adaptive solver has no fixed steps to impute after).
  """
  import diffrax  # imported here: only this sampler needs it

  def sample_fn(params, key, task: Task):
    _check_task(task)
    key_init, key_imp = jax.random.split(key)
    impute = _imputer(sde, task, impute_noise)
    t_start = jnp.asarray(task.t_start, float)
    x = impute(_initial_state(sde, key_init, task), t_start, key_imp)

    def velocity(t, y, args):
      f, g = sde.drift_diffusion(y, t)
      g = broadcast_to_batch(g, y)
      return f - 0.5 * g**2 * score_fn(params, y, t, task.cond)

    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(velocity), diffrax.Tsit5(), t0=t_start, t1=eps,
        dt0=(eps - t_start) / num_steps, y0=x,
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        max_steps=max_steps, saveat=diffrax.SaveAt(t1=True))
    return _finish(sol.ys[0], task)

  return _checked_jit(sample_fn)


def _vmapped_hypotheses(sample_fn, params, key, task, num_hypotheses):
  keys = jax.random.split(key, num_hypotheses)  # [H]
  return jax.vmap(sample_fn, in_axes=(None, 0, None))(params, keys, task)


@functools.cache
def _hypotheses_jit(options_key):
  # Built on first use, not at import: finding the options needs a backend.
  return jax.jit(_vmapped_hypotheses, static_argnums=(0, 4),
                 compiler_options=dict(options_key))


def _hypotheses_program(rows: int | None = None, nested: bool = False):
  """The jitted `_vmapped_hypotheses`: with the sampling options for `rows`
  at the top level, without any inside another jit (where XLA takes none)."""
  if nested:
    return _hypotheses_jit(())
  return _hypotheses_jit(xla_options.options_key(
      xla_options.sampling_options(rows=rows)))


def sample_hypotheses(sample_fn, params, key, task: Task,
                      num_hypotheses: int) -> Array:
  """Draws H independent samples per task: `[H, B, ...]`.

  Hypothesis h uses `jax.random.split(key, H)[h]`, so the result equals a
  loop calling `sample_fn` with those keys.  Jitted with `sample_fn` and
  `num_hypotheses` static: repeated calls with the same shapes and H reuse
  one compilation.
  """
  num_hypotheses = checks.check_positive_int("num_hypotheses", num_hypotheses)
  _check_task(task)
  program = _hypotheses_program(
      rows=task.x_init.shape[0] * num_hypotheses,
      nested=_under_trace(params, key, task))
  return program(sample_fn, params, key, task, num_hypotheses)
