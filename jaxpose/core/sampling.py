"""Reverse-time samplers: one `lax.scan` over the time grid per method.

Contract used by the rest of jaxpose:

  score_fn(params, x, t, cond) -> score   # x [B, ...], t a scalar (one time
                                          # for the whole batch), cond a
                                          # pytree or None (passed as is)
  sampler = make_sampler(spec, sde, score_fn, num_steps=..., eps=...)
  x0 = sampler(params, key, problem)          # [B, ...], jitted
  xs = sampler.hypotheses(params, key, problem, H)   # [H, B, ...]

`make_sampler` is memoised (see its Returns).  The samplers choose no XLA
compiler options; a caller opts in with `compiler_options=`
(`jaxpose.core.xla_options`).

Every method walks the grid t_k = time_grid(t_start, eps, num_steps, rho)
and makes one step from t_k to t_{k+1} per scan iteration.  rho = 1 (the
default) is the uniform grid of score_sde and GFPose; rho > 1 puts the steps
closer together near eps, rho < 1 near t_start (EDM's power-law spacing,
applied to t).  Methods (update rules in `jaxpose.core.samplers`):

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
                  spread of the samples.
  ddim            DDIM (option eta=0.0) through a(t), s(t), so it runs on
                  DiscreteVP and on every continuous SDE; eps_hat =
                  -s(t) score, x0_hat = (x - s eps_hat) / a.  The last step
                  adds no noise.
  ode_adaptive    probability-flow ODE with diffrax (Tsit5 + PIDController,
                  options rtol=1e-5, atol=1e-5, max_steps=4096).  It takes
                  no fixed grid; num_steps is only the first step's
                  fraction of the interval.  Not one `lax.scan`, but
                  jit- and vmap-able.

Priors: with `problem.prior = GaussianPrior(mu, c)` the process ends in
N(mu, (prior_std c)^2) (`jaxpose.core.priors`).  Every method then runs its
usual steps on y = (x - mu) / c with the score c * score_fn(params, mu + c y,
t, cond); x_init and the observations are mapped the same way and the
output is mapped back.  problem.prior = None runs on x itself.

Start (`problem.start`, static): 'prior' draws x at t_start from the
(per-example) prior; 'x_init' starts from x_init as given; 'diffuse' draws
x_{t_start} ~ q(x_t | x0 = x_init) with the sampler's key, so every
hypothesis starts from its own noisy copy of x_init.

Imputation (RePaint-style; GFPose completion): when `problem.observed` is set,
after every step the observed entries are replaced by the forward-diffused
observation at the new time, x <- x (1 - m) + (a obs + s z) m, with fresh z
for every method (deterministic ones included, so the unobserved entries see
observed entries at the right noise level).  `impute_noise=False` uses
a obs instead.  The initial state is imputed the same way, and the output has
the observed entries exactly equal to `obs`.

Range (`problem.x0_range`, a `box.Box`): every method runs on the score of
the clipped denoised estimate (`box.clip_score`, in the prior's coordinates)
and clips its output (observed entries stay `obs`); None changes nothing.
"""
from __future__ import annotations

import collections
import functools
from typing import Any, Callable

import jax
import jax.numpy as jnp
from flax import struct

from jaxpose import checks
from jaxpose import settings
from jaxpose.core import box as box_lib
from jaxpose.core import priors as priors_lib
from jaxpose.core import samplers
from jaxpose.core.samplers import (METHODS, ScoreFn, check_spec, format_spec,
                                   parse_spec)

Array = jax.Array

__all__ = ["Problem", "Sampler", "make_sampler", "sample_hypotheses", "METHODS",
           "STARTS", "time_grid", "parse_spec", "format_spec", "check_spec"]

STARTS = ("prior", "x_init", "diffuse")


def _check_start(start):
  settings.one_of("problem.start", start, STARTS)


@struct.dataclass
class Problem:
  """What a sampling run is asked to solve; a pytree.

  A method's test-time task (estimation, completion, denoising,
  generation) as one value: what is observed, masked, where sampling starts.

  Attributes:
    x_init: `[B, ...]` start state (model space); with start='prior' only
      its shape (and dtype) is used.
    cond: any pytree handed to `score_fn` unchanged, or None.
    observed: `[B, ...]` values to impute (model space), or None.
    observed_mask: `[B, ...]` 1 where observed, 0 elsewhere; required with
      `observed`.
    t_start: scalar time the grid starts from (1.0 for generation; a small t,
      e.g. 0.05, to denoise `x_init`).
    prior: None (N(0, prior_std^2 I)) or a `priors.GaussianPrior` whose mean
      and scale broadcast to `[B, ...]` (one kernel per example).
    start: 'prior', 'x_init' or 'diffuse' (see the module docstring).
      Static.
    noise: None (draw from the key), or `[K, B, ...]` standard normal draws,
      one per step of the K-step grid, used instead (replay: the same
      numbers as another run or implementation; give the start state as
      x_init with start='x_init'). For samplers that draw once per step
      (em, ddim; deterministic ones ignore it) and no noisy imputation.
    x0_range: None or a `box.Box` (model space) that keeps the denoised
      estimate and the output in range (see the module docstring).
  """
  x_init: Array  # [B, ...]
  cond: Any = None
  observed: Array | None = None  # [B, ...]
  observed_mask: Array | None = None  # [B, ...]
  t_start: Array | float = 1.0  # scalar
  prior: priors_lib.GaussianPrior | None = None
  start: str = struct.field(pytree_node=False, default="prior")
  noise: Array | None = None  # [K, B, ...]
  x0_range: box_lib.Box | None = None

  def __post_init__(self):
    _check_start(self.start)


def _check_problem(problem: Problem,
                   example_shape: tuple[int, ...] | None = None):
  """Shape checks; they run at trace time, so they also guard jitted calls.

  example_shape: as in `make_sampler`.
  """
  if not isinstance(problem, Problem):
    raise TypeError(f"problem: expected a jaxpose.core.sampling.Problem, got {type(problem)}")
  _check_start(problem.start)
  shape = tuple(jnp.shape(problem.x_init))
  if len(shape) < 1:
    raise ValueError(f"problem.x_init: expected shape (B, ...), got {shape}")
  if example_shape is not None:
    checks.check_array("problem.x_init", problem.x_init, ("B", *example_shape),
                       finite=False)
  checks.check_array("problem.x_init", problem.x_init, shape,
                     finite=problem.start != "prior")
  if (problem.observed is None) != (problem.observed_mask is None):
    raise ValueError("problem.observed and problem.observed_mask must be given "
                     "together (both None or both arrays of x_init's shape "
                     f"{shape})")
  if problem.observed is not None:
    checks.check_array("problem.observed", problem.observed, shape)
    checks.check_array("problem.observed_mask", problem.observed_mask, shape)
  checks.check_array("problem.t_start", problem.t_start, ())
  if problem.prior is not None:
    priors_lib.check_gaussian(problem.prior, shape, "problem.prior")
  box_lib.check_box("problem.x0_range", problem.x0_range, shape)


class _Frame:
  """The standardised coordinates y = (x - mu) / c of a problem's prior."""

  def __init__(self, prior):
    self.prior = prior

  def to_y(self, x):
    return x if self.prior is None else self.prior.standardize(x)

  def to_x(self, y):
    return y if self.prior is None else self.prior.unstandardize(y)

  def score(self, score_fn: ScoreFn) -> ScoreFn:
    """score_y(y) = c * score_x(mu + c y), the chain rule of x = mu + c y."""
    if self.prior is None:
      return score_fn
    prior = self.prior

    def score_y(params, y, t, cond):
      return prior.scale * score_fn(params, prior.unstandardize(y), t, cond)
    return score_y


def _imputer(sde, problem: Problem, frame: _Frame, noise: bool):
  """impute(y, t, key) for the problem (identity without observations)."""
  if problem.observed is None:
    return lambda y, t, key: y
  m = problem.observed_mask.astype(problem.observed.dtype)
  observed = frame.to_y(problem.observed)

  def impute(y, t, key):
    known = sde.mean_coeff(t) * observed
    if noise:
      z = jax.random.normal(key, y.shape, y.dtype)
      known = known + sde.marginal_std(t) * z
    return y * (1 - m) + known * m
  return impute


def _initial_state(sde, key, problem: Problem, frame: _Frame, t_start):
  """The state at t_start in standardised coordinates, `[B, ...]`."""
  dtype = jnp.result_type(problem.x_init, float)
  if problem.start == "prior":
    return sde.prior_sample(key, jnp.shape(problem.x_init)).astype(dtype)
  y0 = frame.to_y(jnp.asarray(problem.x_init, dtype))
  if problem.start == "x_init":
    return y0
  return sde.perturb(key, y0, t_start)[0].astype(dtype)  # 'diffuse'


def _finish(y, problem: Problem, frame: _Frame):
  x = box_lib.clip(problem.x0_range, frame.to_x(y))
  if problem.observed is None:
    return x
  m = problem.observed_mask.astype(x.dtype)
  return x * (1 - m) + problem.observed.astype(x.dtype) * m


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


# ---------------------------------------------------------------- sampler
def _program(method, step_ctor, options, sde, score_fn, *, num_steps, eps,
             grid_rho, impute_noise):
  """The pure function `sample_fn(params, key, problem) -> x0 [B, ...]`."""
  adaptive = method in samplers.ADAPTIVE_METHODS

  def sample_fn(params, key, problem: Problem):
    _check_problem(problem)
    frame = _Frame(problem.prior)
    # Built per trace: the score depends on the problem's prior and range.
    score = box_lib.clip_score(frame.score(score_fn), sde, problem.x0_range,
                               prior=problem.prior)
    rule = step_ctor(sde, score, **options)
    impute = _imputer(sde, problem, frame, impute_noise)
    t_start = jnp.asarray(problem.t_start, float)
    if adaptive:
      # An adaptive solver has no fixed steps to impute after: imputation,
      # if asked, is applied to the initial state and the output only.
      key_init, key_imp = jax.random.split(key)
      y = impute(_initial_state(sde, key_init, problem, frame, t_start), t_start,
                 key_imp)
      return _finish(rule(params, problem.cond, y, t_start, eps, num_steps),
                     problem, frame)
    key_init, key_imp, key_steps = jax.random.split(key, 3)
    step_keys = jax.random.split(key_steps, num_steps)  # [K]
    if problem.noise is not None:
      if impute_noise and problem.observed is not None:
        raise ValueError("problem.noise: replayed noise with noisy imputation "
                         "(impute_noise=True) is not supported")
      checks.check_array("problem.noise", problem.noise,
                         (num_steps, *jnp.shape(problem.x_init)), finite=False)
      step_keys = problem.noise.astype(jnp.result_type(problem.x_init, float))
    ts = time_grid(t_start, eps, num_steps, grid_rho)  # [K + 1]
    y = impute(_initial_state(sde, key_init, problem, frame, ts[0]), ts[0],
               key_imp)
    is_last = jnp.arange(num_steps) == num_steps - 1  # [K]

    def body(y, inputs):
      t, t_next, k, last = inputs
      if problem.noise is None:
        k_step, k_imp = jax.random.split(k)
      else:  # the step's given draw; imputation is noise-free here
        k_step, k_imp = k, None
      y = rule(params, problem.cond, y, t, t_next, k_step, last)
      return impute(y, t_next, k_imp), None

    y, _ = jax.lax.scan(body, y, (ts[:-1], ts[1:], step_keys, is_last))
    return _finish(y, problem, frame)

  return sample_fn


def _options_key(options) -> tuple[tuple[str, str], ...]:
  return tuple(sorted((options or {}).items()))


class Sampler:
  """A sampler, jitted: `sampler(params, key, problem) -> x0 [B, ...]`.

  Calls check the problem (shapes; NaN/inf when concrete), then run
  `jitted`, compiled once per input shape; pure, so it vmaps over keys and
  nests in other jitted functions.  `compiler_options` (XLA options, a dict
  of strings) apply to top-level calls only: inside another jit the outer
  program's options rule.

  Attributes:
    spec: the method and its options, as `format_spec` writes them.
    num_steps: steps of the time grid.
    eps: end time of the grid.
    jitted: `jax.jit` of the unchecked sampler, without compiler options.
  """

  def __init__(self, sample_fn: Callable, *, spec: str, num_steps: int,
               eps: float, check: Callable[[Any], None]):
    self.spec = spec
    self.num_steps = num_steps
    self.eps = eps
    self._check = check
    self.jitted = jax.jit(sample_fn)
    self._programs = {}  # options key -> jitted (params, key, problem)
    self._hypotheses_programs = {}  # options key -> jitted (..., H)

  def __repr__(self):
    return (f"Sampler({self.spec!r}, num_steps={self.num_steps}, "
            f"eps={self.eps})")

  def __call__(self, params, key, problem: Problem, *, compiler_options=None):
    self._check(problem)
    if checks.under_trace(params, key, problem):
      return self.jitted(params, key, problem)
    return self.program(compiler_options)(params, key, problem)

  def _call_jitted(self, params, key, problem):
    # The nested jit shares `jitted`'s trace, so options cost no retrace.
    return self.jitted(params, key, problem)

  def program(self, compiler_options=None):
    """The top-level program `(params, key, problem) -> x0` for the options."""
    k = _options_key(compiler_options)
    if not k:
      return self.jitted
    if k not in self._programs:
      self._programs[k] = jax.jit(self._call_jitted, compiler_options=dict(k))
    return self._programs[k]

  def _vmapped(self, params, key, problem, num_hypotheses):
    keys = jax.random.split(key, num_hypotheses)  # [H]
    return jax.vmap(self.jitted, in_axes=(None, 0, None))(params, keys, problem)

  def hypotheses_program(self, compiler_options=None):
    """The program `(params, key, problem, H) -> [H, B, ...]`, H static."""
    k = _options_key(compiler_options)
    if k not in self._hypotheses_programs:
      self._hypotheses_programs[k] = jax.jit(
          self._vmapped, static_argnums=3, compiler_options=dict(k) or None)
    return self._hypotheses_programs[k]

  def hypotheses(self, params, key, problem: Problem, num_hypotheses: int, *,
                 compiler_options=None) -> Array:
    """Draws H independent samples per problem: `[H, B, ...]`.

    Hypothesis h uses `jax.random.split(key, H)[h]`, so the result equals a
    loop calling the sampler with those keys.  Compiled once per (shapes,
    H, compiler_options).
    """
    num_hypotheses = checks.check_positive_int("num_hypotheses", num_hypotheses)
    self._check(problem)
    if checks.under_trace(params, key, problem):
      compiler_options = None
    return self.hypotheses_program(compiler_options)(params, key, problem,
                                                     num_hypotheses)


def sample_hypotheses(sample_fn, params, key, problem: Problem, num_hypotheses: int,
                      *, compiler_options=None) -> Array:
  """`sample_fn.hypotheses(params, key, problem, H)`: `[H, B, ...]`.

  sample_fn: a `Sampler` (from `make_sampler`) or anything with its
  `hypotheses` method (e.g. `xla_options.fast_sampling(sampler)`).
  """
  if not hasattr(sample_fn, "hypotheses"):
    raise TypeError("sample_fn: expected a Sampler from jaxpose.core."
                    f"sampling.make_sampler, got {type(sample_fn)}")
  return sample_fn.hypotheses(params, key, problem, num_hypotheses,
                              compiler_options=compiler_options)


# Recently built samplers by their arguments; a bounded LRU, since entries
# hold their score functions (and what those close over) alive.
_MEMO: collections.OrderedDict = collections.OrderedDict()
_MEMO_SIZE = 64


def _memo_key(*args, sde):
  """A hashable key, or None when an argument (e.g. an sde holding an
  array) cannot be hashed."""
  leaf_types = tuple(type(v) for v in jax.tree.leaves(sde))
  key = args + (type(sde), jax.tree.structure(sde), leaf_types, sde)
  try:
    hash(key)
  except TypeError:
    return None
  return key


def make_sampler(method: str, sde, score_fn: ScoreFn, *, num_steps: int,
                 eps: float = 1e-3, impute_noise: bool = True,
                 grid_rho: float = 1.0,
                 example_shape: tuple[int, ...] | None = None,
                 **method_options) -> Sampler:
  """Builds (or returns the memoised) `Sampler` for these arguments.

  Args:
    method: one of 'euler_maruyama', 'pc', 'ode', 'deterministic', 'ddim',
      'ode_adaptive', optionally as a spec with options ('ddim:eta=1',
      checked by `check_spec`).
    sde: a `jaxpose.core.sde.ForwardProcess`.
    score_fn: `score_fn(params, x, t, cond) -> score` with x `[B, ...]` and t
      a scalar.
    num_steps: number of steps from problem.t_start down to eps (the number of
      score evaluations for EM, 'deterministic', DDIM and Euler ODE; twice
      that for Heun; (1 + num_corrector_steps) times for PC).
    eps: end time of the grid (score_sde's sampling eps).
    impute_noise: imputation draws a obs + s z (True) or a obs (False).
    grid_rho: spacing of the time grid (`time_grid`); 1 is uniform.  Not
      used by 'ode_adaptive'.
    example_shape: one example's shape as score_fn takes it (e.g. (17, 3));
      problems are checked against it, so a wrong size is named as
      `problem.x_init`, not as the network's input.  None: any shape.
    **method_options: the method's options (see the module docstring).

  Returns:
    A `Sampler`: `sampler(params, key, problem) -> x0 [B, ...]` and
    `sampler.hypotheses(params, key, problem, H) -> [H, B, ...]`.  Two calls
    with equal arguments (the same score_fn object, an equal hashable sde)
    return the same Sampler, so its compilations are shared.

  Raises:
    ValueError: bad spec, option value, num_steps, eps or grid_rho.
    TypeError: a keyword option the method does not accept.
  """
  num_steps = checks.check_positive_int("num_steps", num_steps)
  method, spec_options = check_spec(method)
  clash = sorted(set(spec_options) & (set(method_options) | {"grid_rho"}))
  if "grid_rho" in spec_options and grid_rho == 1.0:
    clash.remove("grid_rho")
  if clash:
    raise ValueError(f"sampler options {clash} given both in the spec and as "
                     "keyword arguments")
  accepted = samplers.accepted_options(method)
  unknown = sorted(set(method_options) - set(accepted))
  if unknown:
    raise TypeError(f"{method}: unknown option(s) {unknown}; accepted: "
                    f"{', '.join(sorted(accepted)) or 'none'}")
  grid_rho = spec_options.pop("grid_rho", grid_rho)
  options = {**spec_options, **method_options}
  if not eps >= 0:
    raise ValueError(f"eps: expected a non-negative end time, got {eps!r}")
  if not grid_rho > 0:
    raise ValueError(f"grid_rho: expected a positive number, got {grid_rho!r}")
  grid_rho = float(grid_rho)
  if method in samplers.ADAPTIVE_METHODS and grid_rho != 1.0:
    raise ValueError(f"grid_rho: {method} chooses its own steps; "
                     f"got grid_rho={grid_rho}")
  step_ctor = samplers.CONSTRUCTORS[method]
  step_ctor(sde, score_fn, **options)  # checks the option values now
  if example_shape is not None:
    example_shape = tuple(checks.check_positive_int("example_shape", d)
                          for d in example_shape)
  key = _memo_key(method, tuple(sorted(options.items())), num_steps, eps,
                  grid_rho, bool(impute_noise), example_shape, score_fn,
                  sde=sde)
  if key is not None and key in _MEMO:
    _MEMO.move_to_end(key)
    return _MEMO[key]
  fn = _program(method, step_ctor, options, sde, score_fn,
                num_steps=num_steps, eps=eps, grid_rho=grid_rho,
                impute_noise=impute_noise)
  spec = format_spec(method, {**options, **({"grid_rho": grid_rho}
                                            if grid_rho != 1.0 else {})})
  sampler = Sampler(fn, spec=spec, num_steps=num_steps, eps=eps,
                    check=functools.partial(_check_problem,
                                            example_shape=example_shape))
  if key is not None:
    _MEMO[key] = sampler
    while len(_MEMO) > _MEMO_SIZE:
      _MEMO.popitem(last=False)
  return sampler
