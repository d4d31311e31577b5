"""Gaussian mixtures in JAX: fit by EM, log density, sampling.

DiffPose (Gong et al. 2023) diffuses toward a Gaussian mixture fitted to the
indeterminate pose distribution H_K (M = 5 kernels in the paper), and
DPoser compares its prior with a GMM pose prior; both need a mixture fit.

  fit_gmm(key, x [N, D], M)  -> GMMFit (checked: raises GMMFitError)
  em_gmm(key, x [N, D], M)   -> GMMFit (unchecked, jit- and vmap-able)
  gmm_logpdf(gmm, x [N, D])  -> [N]
  gmm_sample(key, gmm, n)    -> [n, D]
  GMM.to_mixture_prior()     -> priors.MixturePrior (diagonal covariances)

Why EM written here rather than a library's: the whole fit is one compiled
`lax.while_loop`, so it runs on the accelerator beside the model, can be
vmapped over examples (one mixture per pose), and adds no dependency
(scikit-learn is not one of jaxpose's).  The defaults follow scikit-learn's
GaussianMixture (tol 1e-3 on the mean log-likelihood per point, reg 1e-6
added to the covariances' diagonals, 100 iterations).

A fit that does not converge, or meets a non-finite value (a singular
covariance, overflow), is never returned silently: `fit_gmm` raises
`GMMFitError`, and `em_gmm` returns the flags `converged` and `finite` for
callers inside jit; a failed fit holds the last finite mixture, never NaN.
"""
from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxpose import checks
from jaxpose import settings
from jaxpose.core import priors as priors_lib

Array = jax.Array

__all__ = [
    "GMM", "GMMFit", "GMMFitError", "COVARIANCES", "INITS", "fit_gmm",
    "em_gmm", "gmm_logpdf", "gmm_sample",
]

COVARIANCES = ("full", "diag")
INITS = ("kmeans++", "random")
_LOG_2PI = float(np.log(2.0 * np.pi))


def _is_number(v) -> bool:
  numbers = (int, float, np.integer, np.floating)
  return isinstance(v, numbers) and not isinstance(v, bool)


@struct.dataclass
class GMM:
  """A Gaussian mixture sum_m w_m N(mean_m, cov_m) in D dimensions.

  Attributes:
    weights: `[M]`, non-negative, summing to 1.
    means: `[M, D]`.
    covs: `[M, D]` variances (diagonal covariances) or `[M, D, D]` full
      covariances; the rank says which.

  A vmapped fit returns a stack (leading batch dims on every field); the
  functions below take one mixture.
  """
  weights: Any  # [M]
  means: Any  # [M, D]
  covs: Any  # [M, D] or [M, D, D]

  def __post_init__(self):
    # Only concrete arrays are checked: unflattening under jit or vmap
    # rebuilds the class from tracers and placeholders.
    leaves = (self.weights, self.means, self.covs)
    if not all(isinstance(v, (np.ndarray, jax.Array)) and checks.is_concrete(v)
               for v in leaves):
      return
    # Shapes only: a failed fit's flags, not an error here, report values.
    batch = np.shape(self.means)[:-2]
    sizes = {}
    checks.check_array("GMM.weights", self.weights, batch + ("M",),
                       sizes=sizes, finite=False)
    checks.check_array("GMM.means", self.means, batch + ("M", "D"),
                       sizes=sizes, finite=False)
    full = np.ndim(self.covs) == np.ndim(self.means) + 1
    spec = batch + (("M", "D", "D") if full else ("M", "D"))
    checks.check_array("GMM.covs", self.covs, spec, sizes=sizes, finite=False)

  @property
  def covariance(self) -> str:
    """'diag' or 'full', from the rank of covs."""
    return "full" if jnp.ndim(self.covs) == jnp.ndim(self.means) + 1 else "diag"

  @property
  def num_components(self) -> int:
    return int(jnp.shape(self.means)[-2])

  @property
  def dim(self) -> int:
    return int(jnp.shape(self.means)[-1])

  def check_single(self, name: str = "gmm") -> "GMM":
    """Refuses a stack of mixtures (from vmap) where one is expected."""
    if jnp.ndim(self.means) != 2:
      raise ValueError(f"{name}: expected one mixture (means [M, D]), got a "
                       f"stack with means {jnp.shape(self.means)}; index it "
                       "or vmap the call")
    return self

  def to_mixture_prior(self, event_shape=None) -> priors_lib.MixturePrior:
    """The mixture as a forward process's terminal law (DiffPose).

    Args:
      event_shape: one example's shape, e.g. `(J, C)` for D = J * C; None
        keeps `(D,)`.

    Returns:
      `priors.MixturePrior` with means and scales (standard deviations)
      `[M, *event_shape]`.
    """
    self.check_single()
    if self.covariance != "diag":
      raise ValueError("to_mixture_prior: a full-covariance mixture has no "
                       "per-dimension scale; fit with covariance='diag'")
    shape = (self.dim,) if event_shape is None else tuple(event_shape)
    if int(np.prod(shape)) != self.dim:
      raise ValueError(f"event_shape: expected a shape with {self.dim} "
                       f"elements (D), got {shape}")
    m = self.num_components
    return priors_lib.MixturePrior(
        weights=jnp.asarray(self.weights),
        means=jnp.reshape(self.means, (m,) + shape),
        scales=jnp.reshape(jnp.sqrt(self.covs), (m,) + shape))


@struct.dataclass
class GMMFit:
  """The outcome of an EM fit.

  Attributes:
    gmm: the fitted mixture (the last finite one if `finite` is False).
    log_likelihood: `[max_iters]` mean log-likelihood per point of the
      mixture entering each EM iteration; entries from `num_iters` on repeat
      the last one written (see `history`).
    final_log_likelihood: scalar, of `gmm`; -inf if it is not finite.
    num_iters: int32 scalar, the EM iterations completed with finite values.
    converged: bool scalar, the change in the mean log-likelihood fell
      below tol.
    finite: bool scalar, every value met was finite.
  """
  gmm: GMM
  log_likelihood: Any  # [max_iters]
  final_log_likelihood: Any  # []
  num_iters: Any  # [] int32
  converged: Any  # [] bool
  finite: Any  # [] bool

  def history(self) -> np.ndarray:
    """The log-likelihoods of the completed iterations (host), `[num_iters]`.

    For one fit; index a vmapped stack first.
    """
    return np.asarray(self.log_likelihood)[:int(self.num_iters)]


class GMMFitError(RuntimeError):
  """A mixture fit that did not converge or met non-finite values.

  Attributes:
    fit: the `GMMFit`, for callers that want to look at (or accept) it.
  """

  def __init__(self, message: str, fit: GMMFit):
    super().__init__(message)
    self.fit = fit


def _component_logpdf(gmm: GMM, x) -> Array:
  """log N(x_n; mean_m, cov_m), `[N, M]`, x `[N, D]`."""
  x = jnp.asarray(x)
  d = x.shape[-1]
  means = jnp.asarray(gmm.means)
  covs = jnp.asarray(gmm.covs)
  if covs.ndim == 2:
    diff = x[:, None, :] - means[None]  # [N, M, D]
    maha = jnp.sum(diff**2 / covs[None], axis=-1)  # [N, M]
    logdet = jnp.sum(jnp.log(covs), axis=-1)  # [M]
  else:
    chol = jnp.linalg.cholesky(covs)  # [M, D, D]; NaN if not PD

    def maha_one(l, mean):  # [D, D], [D] -> [N]
      y = jax.scipy.linalg.solve_triangular(l, (x - mean).T, lower=True)
      return jnp.sum(y**2, axis=0)

    maha = jax.vmap(maha_one, out_axes=1)(chol, means)  # [N, M]
    logdet = 2.0 * jnp.sum(jnp.log(jnp.diagonal(chol, axis1=-2, axis2=-1)),
                           axis=-1)  # [M]
  return -0.5 * (d * _LOG_2PI + logdet[None] + maha)


def _estep(gmm: GMM, x) -> tuple[Array, Array]:
  """(log p(x_n) `[N]`, log responsibilities `[N, M]`)."""
  joint = _component_logpdf(gmm, x) + jnp.log(gmm.weights)[None]  # [N, M]
  logp = jax.nn.logsumexp(joint, axis=1)  # [N]
  return logp, joint - logp[:, None]


def _mstep(x, log_resp, covariance: str, reg) -> GMM:
  """Maximum-likelihood mixture for responsibilities `[N, M]`, x `[N, D]`."""
  resp = jnp.exp(log_resp)  # [N, M]
  # As scikit-learn: a tiny floor keeps an emptied component finite.
  nk = resp.sum(0) + 10 * jnp.finfo(x.dtype).eps  # [M]
  means = (resp.T @ x) / nk[:, None]  # [M, D]
  diff = x[None] - means[:, None]  # [M, N, D]
  if covariance == "diag":
    covs = jnp.einsum("nm,mnd->md", resp, diff**2) / nk[:, None] + reg
  else:
    covs = jnp.einsum("nm,mnd,mne->mde", resp, diff, diff) / nk[:, None, None]
    covs = covs + reg * jnp.eye(x.shape[1], dtype=x.dtype)
  return GMM(weights=nk / jnp.sum(nk), means=means, covs=covs)


def _kmeanspp(key, x, m: int) -> Array:
  """k-means++ seeding: centres drawn with probability ~ squared distance."""
  keys = jax.random.split(key, m)
  first = x[jax.random.randint(keys[0], (), 0, x.shape[0])]
  centres = jnp.zeros((m, x.shape[1]), x.dtype).at[0].set(first)
  d2 = jnp.sum((x - first) ** 2, axis=-1)  # [N]

  def body(i, carry):
    centres, d2 = carry
    # All points on the centres already (duplicates): draw uniformly.
    weights = jnp.where(jnp.sum(d2) > 0, d2, 1.0)
    c = x[jax.random.categorical(keys[i], jnp.log(weights))]
    return centres.at[i].set(c), jnp.minimum(d2, jnp.sum((x - c) ** 2, -1))

  centres, _ = jax.lax.fori_loop(1, m, body, (centres, d2))
  return centres  # [M, D]


def _lloyd(x, centres, num_iters: int) -> Array:
  """k-means steps; a centre left without points stays where it is."""

  def body(_, centres):
    d2 = jnp.sum((x[:, None] - centres[None]) ** 2, axis=-1)  # [N, M]
    onehot = jax.nn.one_hot(jnp.argmin(d2, axis=1), centres.shape[0],
                            dtype=x.dtype)  # [N, M]
    counts = onehot.sum(0)  # [M]
    new = (onehot.T @ x) / jnp.maximum(counts, 1.0)[:, None]
    return jnp.where(counts[:, None] > 0, new, centres)

  return jax.lax.fori_loop(0, num_iters, body, centres)


def _init(key, x, m: int, covariance: str, reg, init: str,
          kmeans_iters: int) -> GMM:
  """The initial mixture (`em_gmm`'s `init`)."""
  if init == "kmeans++":
    centres = _kmeanspp(key, x, m)
  else:
    centres = x[jax.random.choice(key, x.shape[0], (m,), replace=False)]
  centres = _lloyd(x, centres, kmeans_iters)
  diff = x - jnp.mean(x, axis=0)  # [N, D]
  if covariance == "diag":
    cov = jnp.mean(diff**2, axis=0) + reg  # [D]
  else:
    cov = diff.T @ diff / x.shape[0] + reg * jnp.eye(x.shape[1], dtype=x.dtype)
  covs = jnp.broadcast_to(cov, (m,) + cov.shape)
  return GMM(weights=jnp.full((m,), 1.0 / m, x.dtype), means=centres,
             covs=covs)


def _all_finite(tree) -> Array:
  return jnp.all(jnp.stack([jnp.all(jnp.isfinite(v))
                            for v in jax.tree.leaves(tree)]))


@functools.partial(jax.jit, static_argnames=(
    "num_components", "covariance", "max_iters", "init", "kmeans_iters"))
def _em(key, x, tol, reg, *, num_components, covariance, max_iters, init,
        kmeans_iters) -> GMMFit:
  """The compiled fit: initialisation, then EM in one while loop."""
  x = jnp.asarray(x, jnp.result_type(x, jnp.float32))
  gmm0 = _init(key, x, num_components, covariance, reg, init, kmeans_iters)
  hist0 = jnp.zeros((max_iters,), x.dtype)

  def cond(state):
    i, _, _, _, converged, finite = state
    return (i < max_iters) & ~converged & finite

  def body(state):
    i, gmm, prev, hist, _, _ = state
    logp, log_resp = _estep(gmm, x)
    ll = jnp.mean(logp)
    new = _mstep(x, log_resp, covariance, reg)
    ok = jnp.isfinite(ll) & _all_finite(new)
    # Only finite values are written: a failed fit keeps its last mixture.
    gmm = jax.tree.map(lambda a, b: jnp.where(ok, a, b), new, gmm)
    hist = jnp.where(ok, hist.at[i].set(ll), hist)
    converged = ok & (jnp.abs(ll - prev) < tol)
    return (i + ok.astype(jnp.int32), gmm, jnp.where(ok, ll, prev), hist,
            converged, ok)

  state = (jnp.int32(0), gmm0, jnp.array(-jnp.inf, x.dtype), hist0,
           jnp.array(False), _all_finite(gmm0))
  n, gmm, _, hist, converged, finite = jax.lax.while_loop(cond, body, state)
  final = jnp.mean(_estep(gmm, x)[0])
  final_ok = jnp.isfinite(final)
  last = hist[jnp.maximum(n - 1, 0)]
  hist = jnp.where(jnp.arange(max_iters) < n, hist, last)
  return GMMFit(gmm=gmm, log_likelihood=hist,
                final_log_likelihood=jnp.where(final_ok, final, -jnp.inf),
                num_iters=n, converged=converged & final_ok,
                finite=finite & final_ok)


def _check_options(x, num_components, covariance, max_iters, tol, reg, init,
                   kmeans_iters):
  shape = tuple(np.shape(x))
  checks.check_array("x", x, ("N", "D"))
  num_components = checks.check_positive_int("num_components", num_components)
  if num_components > shape[0]:
    raise ValueError(f"num_components: expected at most N={shape[0]} (the "
                     f"number of points in x), got {num_components}")
  settings.one_of("covariance", covariance, COVARIANCES)
  settings.one_of("init", init, INITS)
  max_iters = checks.check_positive_int("max_iters", max_iters)
  kmeans_iters = checks.check_nonnegative_int("kmeans_iters", kmeans_iters)
  if _is_number(tol) and not tol > 0:
    raise ValueError(f"tol: expected a positive number, got {tol!r}")
  if _is_number(reg) and not reg >= 0:
    raise ValueError(f"reg: expected a number >= 0, got {reg!r}")
  return num_components, max_iters, kmeans_iters


def em_gmm(key, x, num_components: int, *, covariance: str = "full",
           max_iters: int = 100, tol=1e-3, reg=1e-6, init: str = "kmeans++",
           kmeans_iters: int = 10) -> GMMFit:
  """Fits a Gaussian mixture by EM without checking the outcome.

  Compiled once per (N, D, options); vmap it over keys and data sets to fit
  one mixture per example.  Check `converged` and `finite` yourself, or use
  `fit_gmm`.

  Args:
    key: PRNG key of the initialisation.
    x: `[N, D]` data.
    num_components: M <= N.
    covariance: 'full' (`[M, D, D]`) or 'diag' (`[M, D]`).
    max_iters: the most EM iterations.
    tol: convergence when the mean log-likelihood per point changes by less.
    reg: added to every covariance's diagonal (keeps them positive definite).
    init: 'kmeans++' (k-means++ seeding) or 'random' (M distinct points),
      then `kmeans_iters` k-means steps give the initial means; every
      component starts with the data's covariance and weight 1/M.
    kmeans_iters: k-means steps after seeding (0: none).

  Returns:
    A `GMMFit`.
  """
  num_components, max_iters, kmeans_iters = _check_options(
      x, num_components, covariance, max_iters, tol, reg, init, kmeans_iters)
  return _em(key, x, tol, reg, num_components=num_components,
             covariance=covariance, max_iters=max_iters, init=init,
             kmeans_iters=kmeans_iters)


def fit_gmm(key, x, num_components: int, *, covariance: str = "full",
            max_iters: int = 100, tol=1e-3, reg=1e-6, init: str = "kmeans++",
            kmeans_iters: int = 10, require_convergence: bool = True) -> GMMFit:
  """Fits a Gaussian mixture by EM and checks the outcome (host side).

  Args: as `em_gmm`, and
    require_convergence: refuse a fit that is finite but did not converge
      within max_iters (False: return it, `converged` False).

  Returns:
    A `GMMFit`; its `gmm` is the mixture.

  Raises:
    GMMFitError: non-finite values (always) or no convergence (when
      required); the error holds the fit as `.fit`.
  """
  fit = em_gmm(key, x, num_components, covariance=covariance,
               max_iters=max_iters, tol=tol, reg=reg, init=init,
               kmeans_iters=kmeans_iters)
  n = int(fit.num_iters)
  if not bool(fit.finite):
    raise GMMFitError(
        f"fit_gmm: EM met non-finite values (NaN or inf) after {n} finite "
        f"iteration(s) (num_components={num_components}, covariance="
        f"{covariance!r}, reg={reg!r}, N={np.shape(x)[0]}): a component's "
        "covariance became singular or the data overflow; raise reg, use "
        "covariance='diag', fit fewer components or rescale x", fit)
  if require_convergence and not bool(fit.converged):
    hist = fit.history()
    change = abs(hist[-1] - hist[-2]) if hist.size >= 2 else float("inf")
    raise GMMFitError(
        f"fit_gmm: EM did not converge within max_iters={max_iters} "
        f"iterations (the mean log-likelihood changed by {change:.3g} in the "
        f"last one, tol={tol!r}); raise max_iters or tol, or pass "
        "require_convergence=False to accept the fit", fit)
  return fit


def gmm_logpdf(gmm: GMM, x) -> Array:
  """log sum_m w_m N(x_n; mean_m, cov_m), `[N]`, for x `[N, D]`."""
  if not isinstance(gmm, GMM):
    raise TypeError(f"gmm: expected a jaxpose.core.gmm.GMM, got {type(gmm)}")
  gmm.check_single()
  checks.check_array("x", x, (None, jnp.shape(gmm.means)[1]))
  joint = _component_logpdf(gmm, x) + jnp.log(gmm.weights)[None]  # [N, M]
  return jax.nn.logsumexp(joint, axis=1)


def gmm_sample(key, gmm: GMM, n: int) -> Array:
  """n draws, `[n, D]`: a component by its weight, then its Gaussian."""
  if not isinstance(gmm, GMM):
    raise TypeError(f"gmm: expected a jaxpose.core.gmm.GMM, got {type(gmm)}")
  gmm.check_single()
  n = checks.check_positive_int("n", n)
  k_comp, k_z = jax.random.split(key)
  weights = jnp.asarray(gmm.weights)
  idx = jax.random.categorical(k_comp, jnp.log(weights), shape=(n,))  # [n]
  means = jnp.asarray(gmm.means)
  z = jax.random.normal(k_z, (n, means.shape[1]), means.dtype)  # [n, D]
  covs = jnp.asarray(gmm.covs)
  if covs.ndim == 2:
    return means[idx] + jnp.sqrt(covs[idx]) * z
  chol = jnp.linalg.cholesky(covs)  # [M, D, D]
  return means[idx] + jnp.einsum("nde,ne->nd", chol[idx], z)
