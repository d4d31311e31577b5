"""The samplers' update rules, one constructor per method, and their specs.

A constructor takes the process and a score function plus the method's
options (keyword-only, with defaults: `sampling.check_spec` reads the
accepted option names and types off these signatures) and returns

  step(params, cond, x, t, t_next, key, is_last) -> x at t_next

for the fixed-grid methods, or, for 'ode_adaptive',

  solve(params, cond, x, t_start, t_end, num_steps) -> x at t_end.

Constructors check their options' values and touch neither the process nor
the score function, so they can run with `None` for both to validate a
spec.  The rules are written for the plain process (prior N(0, prior_std^2
I)); `jaxpose.core.sampling` runs them in a prior's standardised
coordinates.

A sampler spec names a method and its options in one string, as configs
and flags hold it: 'pc:snr=0.1,grid_rho=2' (`parse_spec`, `check_spec`).
"""
from __future__ import annotations

from typing import Any, Callable

import inspect

import jax
import jax.numpy as jnp

from jaxpose import checks
from jaxpose.core.sde import broadcast_to_batch

Array = jax.Array
ScoreFn = Callable[[Any, Array, Array, Any], Array]
# A step maps (params, cond, x, t, t_next, key, is_last) to x at t_next.
StepFn = Callable[..., Array]

__all__ = ["METHODS", "ADAPTIVE_METHODS", "CONSTRUCTORS", "StepFn", "ScoreFn",
           "parse_spec", "format_spec", "check_spec", "accepted_options"]


def step_noise(key, x: Array) -> Array:
  """The standard normal draw of one step, `x`'s shape.

  `key` is a PRNG key, or (replay, `sampling.Problem.noise`) the draw
  itself as a float array of x's shape: a step then uses noise given from
  outside, e.g. the same numbers another implementation used.
  """
  if _is_given_draw(key):
    checks.check_array("problem.noise step", key, tuple(x.shape), finite=False)
    return key.astype(x.dtype)
  return jax.random.normal(key, x.shape, x.dtype)


def _is_given_draw(key) -> bool:
  return jnp.issubdtype(key.dtype, jnp.floating)


def _one_draw(method: str, key):
  if _is_given_draw(key):
    raise ValueError(f"problem.noise: the {method} sampler draws more than "
                     "one normal per step; replayed noise works with em, "
                     "ddim and the deterministic samplers")


def euler_maruyama(sde, score_fn) -> StepFn:
  """Reverse SDE dx = [f - g^2 score] dt + g dw; the last step is the mean."""
  def step(params, cond, x, t, t_next, key, is_last):
    dt = t - t_next
    f, g = sde.drift_diffusion(x, t)
    g = broadcast_to_batch(g, x)
    mean = x - (f - g**2 * score_fn(params, x, t, cond)) * dt
    noise = step_noise(key, x)
    return jnp.where(is_last, mean, mean + g * jnp.sqrt(dt) * noise)
  return step


def deterministic(sde, score_fn) -> StepFn:
  """GFPose's noise-free reverse SDE dx = [f - g^2 score] dt, Euler."""
  def step(params, cond, x, t, t_next, key, is_last):
    del key, is_last
    f, g = sde.drift_diffusion(x, t)
    g = broadcast_to_batch(g, x)
    return x - (f - g**2 * score_fn(params, x, t, cond)) * (t - t_next)
  return step


def ode(sde, score_fn, *, solver: str = "heun") -> StepFn:
  """Probability-flow ODE dx = [f - g^2 score / 2] dt, Heun or Euler."""
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


def pc(sde, score_fn, *, snr: float = 0.16, num_corrector_steps: int = 1,
       per_example_step: bool = False) -> StepFn:
  """score_sde's Langevin corrector, then the reverse-diffusion predictor."""
  if not isinstance(num_corrector_steps, int) or num_corrector_steps != 0:
    checks.check_positive_int("num_corrector_steps", num_corrector_steps)
  if not snr > 0:
    raise ValueError(f"pc: snr must be positive, got {snr!r}")

  def norm(v):  # [B, ...] -> [B] or scalar (score_sde: batch mean)
    n = jnp.linalg.norm(v.reshape(v.shape[0], -1), axis=-1)
    return n if per_example_step else jnp.mean(n)

  def step(params, cond, x, t, t_next, key, is_last):
    dt = t - t_next
    _one_draw("pc", key)
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


def ddim(sde, score_fn, *, eta: float = 0.0) -> StepFn:
  """DDIM through a(t), s(t); eta = 1 is ancestral sampling."""
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
    noise = step_noise(key, x)
    return (a2 * x0_hat + jnp.sqrt(s2**2 - var) * eps_hat
            + jnp.sqrt(var) * noise)
  return step


def ode_adaptive(sde, score_fn, *, rtol: float = 1e-5, atol: float = 1e-5,
                 max_steps: int = 4096):
  """Probability-flow ODE with diffrax Tsit5 and a PID step-size controller.

  Returns `solve(params, cond, x, t_start, t_end, num_steps)`; the first
  step is (t_end - t_start) / num_steps.
  """
  for name, value in (("rtol", rtol), ("atol", atol)):
    if not value > 0:
      raise ValueError(f"ode_adaptive: {name} must be positive, got {value!r}")
  checks.check_positive_int("max_steps", max_steps)

  def solve(params, cond, x, t_start, t_end, num_steps):
    import diffrax  # imported here: only this sampler needs it

    def velocity(t, y, args):
      f, g = sde.drift_diffusion(y, t)
      g = broadcast_to_batch(g, y)
      return f - 0.5 * g**2 * score_fn(params, y, t, cond)

    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(velocity), diffrax.Tsit5(), t0=t_start, t1=t_end,
        dt0=(t_end - t_start) / num_steps, y0=x,
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        max_steps=max_steps, saveat=diffrax.SaveAt(t1=True))
    return sol.ys[0]
  return solve


METHODS: dict[str, Callable[..., StepFn]] = {
    "euler_maruyama": euler_maruyama,
    "pc": pc,
    "ode": ode,
    "deterministic": deterministic,
    "ddim": ddim,
}
ADAPTIVE_METHODS: dict[str, Callable[..., Any]] = {"ode_adaptive": ode_adaptive}
CONSTRUCTORS = {**METHODS, **ADAPTIVE_METHODS}
ALL_METHODS = tuple(CONSTRUCTORS)


# ------------------------------------------------------------------ specs
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
  `:` and comma-separated `option=value` pairs for `make_sampler`.  Only
  the syntax and the method name are checked; `check_spec` checks options.
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
  if method not in ALL_METHODS:
    raise ValueError(f"sampler spec {spec!r}: unknown sampling method "
                     f"{method!r}; valid names: {', '.join(ALL_METHODS)}")
  return method, options


def format_spec(method: str, options: dict | None = None) -> str:
  """Inverse of `parse_spec` (options sorted by name)."""
  items = ",".join(f"{k}={v}" for k, v in sorted((options or {}).items()))
  return f"{method}:{items}" if items else method


def accepted_options(method: str) -> dict[str, Any]:
  """Option name -> default for a method, from its constructor's signature."""
  params = inspect.signature(CONSTRUCTORS[method]).parameters.values()
  accepted = {p.name: p.default for p in params
              if p.kind is inspect.Parameter.KEYWORD_ONLY}
  if method in METHODS:
    accepted["grid_rho"] = 1.0
  return accepted


_TYPE_NAMES = {bool: "true or false", int: "an integer", float: "a number",
               str: "a string"}


def _typed_value(default, value):
  """value converted to default's type, or None when it does not fit."""
  kind = type(default)
  if kind is bool:
    return value if isinstance(value, bool) else None
  if isinstance(value, bool):
    return None
  if kind is int:
    return value if isinstance(value, int) else None
  if kind is float:
    return float(value) if isinstance(value, (int, float)) else None
  return value if isinstance(value, kind) else None


def _validate_options(method: str, options: dict):
  """Range checks: the constructor's own (it touches no sde/score_fn)."""
  options = dict(options)
  grid_rho = options.pop("grid_rho", 1.0)
  if not grid_rho > 0:
    raise ValueError(f"grid_rho: expected a positive number, got {grid_rho!r}")
  CONSTRUCTORS[method](None, None, **options)


def check_spec(spec: str) -> tuple[str, dict]:
  """Parses and validates a sampler spec: (method, options).

  Beyond `parse_spec`, every option must be one the method accepts (its
  constructor's keyword options in `jaxpose.core.samplers`, plus grid_rho
  for the fixed-grid methods), of the default's type (an int is accepted as
  a number and converted to float), and within the method's range.

  Raises:
    ValueError: naming the spec, the option and what was expected.
  """
  method, options = parse_spec(spec)
  accepted = accepted_options(method)
  checked = {}
  for name, value in options.items():
    if name not in accepted:
      raise ValueError(
          f"sampler spec {spec!r}: unknown option {name!r} for {method}; "
          f"accepted: {', '.join(sorted(accepted)) or 'none'}")
    typed = _typed_value(accepted[name], value)
    if typed is None:
      expected = _TYPE_NAMES.get(type(accepted[name]),
                                 type(accepted[name]).__name__)
      raise ValueError(f"sampler spec {spec!r}: option {name} expects "
                       f"{expected}, got {value!r}")
    checked[name] = typed
  try:
    _validate_options(method, checked)
  except ValueError as e:
    raise ValueError(f"sampler spec {spec!r}: {e}") from None
  return method, checked
