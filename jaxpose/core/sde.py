"""Forward diffusion processes as immutable pytrees.

Each process maps clean data x0 to x_t = a(t) x0 + s(t) z with z ~ N(0, I),
t in [0, T], T = 1.  The processes share one interface, `ForwardProcess`,
so losses and samplers never ask which process they hold:

  mean_coeff(t) -> a(t)                  marginal_std(t) -> s(t)
  marginal(x0, t, prior) -> (mean, std)  perturb(key, x0, t, prior) -> (x_t, z)
  drift_diffusion(x, t) -> (f, g)        of dx = f dt + g dw
  discretize(x, t, dt) -> (f, G)         of the reverse-diffusion predictor
  corrector_alpha(t, dt)                 Langevin corrector factor
  prior_sample(key, shape, prior)        prior_logp(z, prior) -> [B]
  sample_time(key, shape, eps)           training times

The optional `prior` (`jaxpose.core.priors.GaussianPrior(mean=mu,
scale=c)`, per example) moves the terminal distribution: x_t = mu +
a(t) (x0 - mu) + s(t) c z and x_T ~ N(mu, (prior_std c)^2 I).  prior=None
is mu = 0, c = 1, computed exactly as without the argument.  drift_diffusion
and discretize describe the process in the standardised coordinates
y = (x - mu) / c, where every prior gives the plain process.

Time: `t` is a scalar (one time for the batch) or `[B]` (one per example).
Coefficients, the diffusion `g` and `G` included, come back in t's shape,
never broadcast to x; `broadcast_to_batch` lines them up with x.

The hyper-parameters (sigma_min, betas, ...) are pytree leaves, so an SDE can
be passed into `jax.jit` as an argument and mapped over with `jax.tree.map`.

References (facts only): Song et al. 2021 (score SDEs, VE/VP/sub-VP and the
reverse-diffusion predictor), Ho et al. 2020 (DDPM), Song et al. 2021
(DDIM), Gong et al. 2023 (DiffPose's forward process toward a fitted
Gaussian mixture).
"""
from __future__ import annotations

import math
from typing import Any, Callable, Protocol, runtime_checkable

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxpose import checks
from jaxpose.core import priors as priors_lib

Array = jax.Array

__all__ = [
    "ForwardProcess", "VESDE", "VPSDE", "SubVPSDE", "DiscreteVP", "get_sde",
    "SDE_NAMES", "broadcast_to_batch",
]


def broadcast_to_batch(v, x):
  """Reshapes a scalar or per-example `[B]` coefficient to broadcast with x.

  Args:
    v: scalar or `[B]` array.
    x: `[B, ...]` array.

  Returns:
    v unchanged if scalar, else `[B, 1, ..., 1]` with x's rank.
  """
  v = jnp.asarray(v)
  if v.ndim == 0:
    return v
  if v.ndim != 1 or (x.ndim >= 1 and v.shape[0] != x.shape[0]):
    raise ValueError(
        f"t: expected a scalar or shape ({x.shape[0] if x.ndim else '?'},) "
        f"matching x's batch dimension, got {v.shape} with x of shape "
        f"{x.shape}")
  return v.reshape(v.shape + (1,) * (x.ndim - 1))


def _gaussian_logp(z, std) -> Array:
  """log N(z; 0, std^2 I) summed over all non-batch dims.  z [B, ...]."""
  z = jnp.asarray(z)
  d = math.prod(z.shape[1:])
  sq = jnp.sum(jnp.reshape(z, (z.shape[0], -1)) ** 2, axis=-1)  # [B]
  return -0.5 * d * jnp.log(2 * jnp.pi * std**2) - 0.5 * sq / std**2


def _gaussian_logp_elementwise(r, std) -> Array:
  """log N(r; 0, diag(std^2)) per example, std broadcastable to r [B, ...]."""
  std = jnp.broadcast_to(std, r.shape)
  logp = -0.5 * jnp.log(2 * jnp.pi * std**2) - 0.5 * (r / std) ** 2
  return jnp.sum(jnp.reshape(logp, (r.shape[0], -1)), axis=-1)  # [B]


def _check_concrete_order(name_lo, lo, name_hi, hi):
  """Validates lo < hi when both are plain numbers (not tracers/sentinels)."""
  if isinstance(lo, (int, float)) and isinstance(hi, (int, float)):
    if not 0 < lo < hi:
      raise ValueError(f"expected 0 < {name_lo} < {name_hi}, got "
                       f"{name_lo}={lo!r}, {name_hi}={hi!r}")


@runtime_checkable
class ForwardProcess(Protocol):
  """The interface every forward process implements.

  Losses, samplers and Tweedie's formula are written against it alone.
  Times `t` are scalars or `[B]` vectors; data `x`, `x0`, `z` are `[B, ...]`.
  `prior` is None or a per-example `priors.GaussianPrior` (mu, c);
  `prior_sample` and `prior_logp` also take a `priors.MixturePrior`.

  Attributes:
    T: the end time of the process (1.0).
  """

  T: float

  def mean_coeff(self, t) -> Array:
    """a(t) in t's shape: the factor on x0 - mu in the mean of x_t."""

  def marginal_std(self, t) -> Array:
    """s(t) in t's shape: the std of x_t | x0 for c = 1."""

  def marginal(self, x0, t, prior=None) -> tuple[Array, Array]:
    """(mu + a (x0 - mu), s c), both `[B, ...]`: the law of x_t | x0."""

  def perturb(self, key, x0, t, prior=None) -> tuple[Array, Array]:
    """(x_t, z): a draw x_t = mu + a (x0 - mu) + s c z and its noise z."""

  def drift_diffusion(self, x, t) -> tuple[Array, Array]:
    """(f `[B, ...]`, g in t's shape) of dy = f dt + g dw, y standardised."""

  def discretize(self, x, t, dt) -> tuple[Array, Array]:
    """(f, G) of the reverse-diffusion predictor's step from t to t - dt."""

  def corrector_alpha(self, t, dt) -> Array:
    """The alpha_i factor of the Langevin corrector's step size."""

  def prior_sample(self, key, shape, prior=None) -> Array:
    """x_T ~ N(mu, (prior_std c)^2 I) of the given shape `[B, ...]`."""

  def prior_logp(self, z, prior=None) -> Array:
    """log density of the terminal distribution at z, per example `[B]`."""

  def sample_time(self, key, shape, eps=...) -> Array:
    """Training times of the given shape."""


class _ContinuousMixin:
  """Methods shared by all processes, written via a(t), s(t), f, g."""

  T = 1.0

  def marginal(self, x0, t, prior=None):
    """(mu + a (x0 - mu), s c), both x0's shape `[B, ...]`: x_t | x0.

    prior: None (mu = 0, c = 1) or a `GaussianPrior` broadcastable to x0.
    """
    a = broadcast_to_batch(self.mean_coeff(t), x0)
    s = broadcast_to_batch(self.marginal_std(t), x0)
    if prior is None:
      return a * x0, jnp.broadcast_to(s, jnp.shape(x0))
    priors_lib.check_gaussian(prior, jnp.shape(x0))
    mu = prior.mean
    return mu + a * (x0 - mu), jnp.broadcast_to(s * prior.scale, jnp.shape(x0))

  def perturb(self, key, x0, t, prior=None):
    """(x_t, z), x0's shape: x_t = mu + a(t) (x0 - mu) + s(t) c z."""
    noise = jax.random.normal(key, jnp.shape(x0), jnp.result_type(x0, float))
    mean, std = self.marginal(x0, t, prior)
    return mean + std * noise, noise

  def prior_sample(self, key, shape, prior=None):
    """x_T ~ N(mu, (prior_std c)^2 I) of shape `[B, ...]`; a
    `MixturePrior` first draws one component per example."""
    if prior is None:
      return self.prior_std * jax.random.normal(key, shape)
    if isinstance(prior, priors_lib.MixturePrior):
      k_comp, key = jax.random.split(key)
      prior = prior.draw(k_comp, shape[0])
    priors_lib.check_gaussian(prior, shape)
    return prior.unstandardize(self.prior_std * jax.random.normal(key, shape))

  def prior_logp(self, z, prior=None):
    """log density of the terminal law at z `[B, ...]`, `[B]`; for a
    `MixturePrior`, of sum_m w_m N(z; mu_m, (prior_std c_m)^2)."""
    if prior is None:
      return _gaussian_logp(z, self.prior_std)
    z = jnp.asarray(z)
    if isinstance(prior, priors_lib.MixturePrior):
      means = jnp.asarray(prior.means)
      scales = prior.component_scales()
      def component(mean, scale):  # one component's log density, [B]
        return _gaussian_logp_elementwise(z - mean, self.prior_std * scale)
      logps = jax.vmap(component)(means, scales)  # [M, B]
      return jax.nn.logsumexp(logps + prior.log_weights()[:, None], axis=0)
    priors_lib.check_gaussian(prior, z.shape)
    return _gaussian_logp_elementwise(z - prior.mean,
                                      self.prior_std * prior.scale)

  def sample_time(self, key, shape, eps: float = 1e-5):
    """Training times t ~ U(eps, T) of the given shape (e.g. `(B,)`)."""
    return jax.random.uniform(key, shape, minval=eps, maxval=self.T)

  def corrector_alpha(self, t, dt):
    """The alpha_i factor of score_sde's Langevin corrector step size."""
    del dt
    return jnp.ones_like(jnp.asarray(t, float))


class _VPFamilyMixin(_ContinuousMixin):
  """Linear beta(t) = b0 + t (b1 - b0); a(t)^2 = exp(-int_0^t beta)."""

  prior_std = 1.0

  def __post_init__(self):
    _check_concrete_order("beta_min", self.beta_min, "beta_max", self.beta_max)

  def beta(self, t):
    return self.beta_min + t * (self.beta_max - self.beta_min)

  def _log_mean_coeff(self, t):
    t = jnp.asarray(t, float)
    return -0.25 * t**2 * (self.beta_max - self.beta_min) - 0.5 * t * self.beta_min

  def mean_coeff(self, t):
    return jnp.exp(self._log_mean_coeff(t))

  def discretize(self, x, t, dt):
    """score_sde's VP discretisation, beta_i = beta(t) dt: f = (sqrt(1 -
    beta_i) - 1) x and G = sqrt(beta_i) (in t's shape)."""
    b = self.beta(jnp.asarray(t, float)) * dt
    f = broadcast_to_batch(jnp.sqrt(1.0 - b) - 1.0, x) * x
    return f, jnp.sqrt(b)

  def corrector_alpha(self, t, dt):
    return 1.0 - self.beta(jnp.asarray(t, float)) * dt


@struct.dataclass
class VESDE(_ContinuousMixin):
  """Variance exploding: dx = sigma(t) sqrt(2 log(smax/smin)) dw.

  sigma(t) = sigma_min (sigma_max/sigma_min)^t, a(t) = 1, s(t) = sigma(t).
  As in score_sde, data at t = 0 is taken to carry noise of std sigma_min
  already: the SDE started from N(x0, sigma_min^2) has exactly these
  marginals.  Prior N(0, sigma_max^2 I).
  """
  sigma_min: Any = 0.01
  sigma_max: Any = 50.0

  def __post_init__(self):
    _check_concrete_order("sigma_min", self.sigma_min, "sigma_max", self.sigma_max)

  @property
  def prior_std(self):
    return self.sigma_max

  def mean_coeff(self, t):
    return jnp.ones_like(jnp.asarray(t, float))

  def marginal_std(self, t):
    t = jnp.asarray(t, float)
    return self.sigma_min * (self.sigma_max / self.sigma_min) ** t

  def drift_diffusion(self, x, t):
    """f = 0 `[B, ...]`, g = sigma(t) sqrt(2 log(smax/smin)) in t's shape."""
    g = self.marginal_std(t) * jnp.sqrt(
        2.0 * jnp.log(self.sigma_max / self.sigma_min))
    return jnp.zeros_like(x), g

  def discretize(self, x, t, dt):
    """score_sde's VE step: f = 0, G = sqrt(sigma(t)^2 - sigma(t-dt)^2)."""
    t = jnp.asarray(t, float)
    prev = jnp.where(t - dt > 0, self.marginal_std(jnp.maximum(t - dt, 0.0)), 0.0)
    g2 = self.marginal_std(t) ** 2 - prev**2
    return jnp.zeros_like(x), jnp.sqrt(jnp.maximum(g2, 0.0))


@struct.dataclass
class VPSDE(_VPFamilyMixin):
  """Variance preserving: dx = -beta(t)/2 x dt + sqrt(beta(t)) dw.

  a(t) = exp(-t^2 (b1-b0)/4 - t b0/2), s(t) = sqrt(1 - a(t)^2), prior N(0, I).
  """
  beta_min: Any = 0.1
  beta_max: Any = 20.0

  def marginal_std(self, t):
    # 1 - a^2 via expm1 keeps precision at small t.
    return jnp.sqrt(-jnp.expm1(2.0 * self._log_mean_coeff(t)))

  def drift_diffusion(self, x, t):
    """f = -beta(t) x / 2 `[B, ...]`, g = sqrt(beta(t)) in t's shape."""
    b = self.beta(jnp.asarray(t, float))
    return -0.5 * broadcast_to_batch(b, x) * x, jnp.sqrt(b)


@struct.dataclass
class SubVPSDE(_VPFamilyMixin):
  """Sub-VP: dx = -beta(t)/2 x dt + sqrt(beta(t) (1 - a(t)^4)) dw.

  a(t) as VP, s(t) = 1 - a(t)^2 (no square root, as in the papers), prior
  N(0, I).  This is the process of GFPose and DPoser.
  """
  beta_min: Any = 0.1
  beta_max: Any = 20.0

  def marginal_std(self, t):
    return -jnp.expm1(2.0 * self._log_mean_coeff(t))

  def drift_diffusion(self, x, t):
    """f = -beta(t) x / 2, g = sqrt(beta(t) (1 - a(t)^4)) in t's shape."""
    t = jnp.asarray(t, float)
    b = self.beta(t)
    discount = -jnp.expm1(4.0 * self._log_mean_coeff(t))
    return -0.5 * broadcast_to_batch(b, x) * x, jnp.sqrt(b * discount)

  def discretize(self, x, t, dt):
    """Generic Euler form: f dt, g sqrt(dt) (score_sde has no sub-VP rule)."""
    f, g = self.drift_diffusion(x, t)
    return f * dt, g * jnp.sqrt(dt)


@struct.dataclass
class DiscreteVP(_ContinuousMixin):
  """DDPM/DDIM discrete-time VP chain x_i = sqrt(1-b_i) x_{i-1} + sqrt(b_i) z.

  Step i = 0..N-1 applies beta_i; alphabar_i = prod_{j<=i} (1 - beta_j);
  x_i | x0 ~ N(sqrt(alphabar_i) x0, (1 - alphabar_i) I), exactly DDPM.

  Time mapping: step i <-> t = (i + 1) / N, so t = T = 1 is the last (most
  noisy) step and t = 0 is clean data (i = -1, a = 1, s = 0).  Any t is
  snapped to the nearest grid point, index(t) = clip(round(t N), 0, N) - 1,
  so the marginals stay exactly the DDPM ones at every t.

  For the continuous-time samplers (Euler-Maruyama, probability flow) the
  chain is read as a VP SDE with beta(t) = N beta_{index(t)}, the usual
  DDPM <-> VP SDE correspondence; `discretize` is the exact ancestral step
  (composed over the skipped steps when dt > 1/N).
  """
  betas: Any  # [N]

  @classmethod
  def linear(cls, num_steps: int = 1000, beta_start: float = 1e-4,
             beta_end: float = 0.02) -> "DiscreteVP":
    """DDPM's linear schedule (defaults); DiffPose: linear(51, 1e-4, 1e-3)."""
    num_steps = checks.check_positive_int("num_steps", num_steps)
    if not 0.0 < beta_start <= beta_end < 1.0:
      raise ValueError("expected 0 < beta_start <= beta_end < 1, got "
                       f"beta_start={beta_start!r}, beta_end={beta_end!r}")
    return cls(betas=jnp.linspace(beta_start, beta_end, num_steps))

  def __post_init__(self):
    b = self.betas
    if isinstance(b, (np.ndarray, jax.Array)) and checks.is_concrete(b):
      checks.check_array("betas", b, (None,))
      bn = np.asarray(b)
      if bn.size == 0 or not np.all((bn > 0) & (bn < 1)):
        raise ValueError("betas: expected a non-empty [N] array with values in "
                         "(0, 1)")

  prior_std = 1.0

  @property
  def num_steps(self) -> int:
    return int(jnp.shape(self.betas)[0])

  @property
  def alphas_cumprod(self):
    """alphabar_i, `[N]`."""
    return jnp.cumprod(1.0 - self.betas)

  def index(self, t):
    """Step index in -1..N-1 of time t (-1 is clean data); t's shape, int32."""
    n = self.num_steps
    return jnp.clip(jnp.round(jnp.asarray(t, float) * n), 0, n).astype(jnp.int32) - 1

  def time(self, i):
    """Time t = (i + 1) / N of step index i."""
    return (jnp.asarray(i) + 1.0) / self.num_steps

  def _alphabar(self, t):
    ext = jnp.concatenate([jnp.ones((1,), self.alphas_cumprod.dtype),
                           self.alphas_cumprod])
    return ext[self.index(t) + 1]

  def _beta_at(self, t):
    # beta of the step that ends at t; clean data (i = -1) uses beta_0.
    return self.betas[jnp.maximum(self.index(t), 0)]

  def mean_coeff(self, t):
    return jnp.sqrt(self._alphabar(t))

  def marginal_std(self, t):
    return jnp.sqrt(1.0 - self._alphabar(t))

  def drift_diffusion(self, x, t):
    """VP reading: beta(t) = N beta_i; f = -beta x/2, g = sqrt(beta)."""
    b = self.num_steps * self._beta_at(t)
    return -0.5 * broadcast_to_batch(b, x) * x, jnp.sqrt(b)

  def _step_beta(self, t, dt):
    t = jnp.asarray(t, float)
    return 1.0 - self._alphabar(t) / self._alphabar(jnp.maximum(t - dt, 0.0))

  def discretize(self, x, t, dt):
    """The DDPM step from t - dt to t: f = (sqrt(1-b) - 1) x, G = sqrt(b).

    b = 1 - alphabar(t) / alphabar(t - dt), i.e. beta_i for dt = 1/N and the
    composition of the skipped steps on a coarser grid (b = 0, a no-op, if
    t and t - dt snap to the same step).
    """
    b = self._step_beta(t, dt)
    return broadcast_to_batch(jnp.sqrt(1.0 - b) - 1.0, x) * x, jnp.sqrt(b)

  def corrector_alpha(self, t, dt):
    return 1.0 - self._step_beta(t, dt)

  def sample_time(self, key, shape, eps: float = 0.0):
    """Integer steps i ~ U{0..N-1} mapped to t = time(i).  eps is unused."""
    del eps
    i = jax.random.randint(key, shape, 0, self.num_steps)
    return self.time(i)


SDE_NAMES = ("ve", "vp", "subvp", "discrete_vp")

_REGISTRY: dict[str, Callable[..., Any]] = {
    "ve": VESDE,
    "vp": VPSDE,
    "subvp": SubVPSDE,
    "discrete_vp": DiscreteVP.linear,
}


def get_sde(name: str, **kwargs):
  """Builds an SDE by name: 've', 'vp', 'subvp' or 'discrete_vp'.

  kwargs go to the constructor (`DiscreteVP.linear(num_steps, beta_start,
  beta_end)` for 'discrete_vp').
  """
  try:
    ctor = _REGISTRY[name]
  except (KeyError, TypeError):
    raise ValueError(f"unknown sde name {name!r}; valid names: "
                     f"{', '.join(SDE_NAMES)}") from None
  return ctor(**kwargs)
