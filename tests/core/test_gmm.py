"""Gaussian mixtures (jaxpose.core.gmm): EM recovery, densities against
scipy, sampling moments, and the failure paths (no convergence, NaN)."""
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from jaxpose.core import gmm as gmm_lib
from jaxpose.core import priors

WEIGHTS = np.array([0.5, 0.3, 0.2])
MEANS = np.array([[0.0, 0.0], [6.0, 5.0], [-5.0, 6.0]])
COVS = np.array([[[1.0, 0.6], [0.6, 1.0]],
                 [[0.5, -0.2], [-0.2, 0.8]],
                 [[0.3, 0.0], [0.0, 1.5]]])
TRUE = gmm_lib.GMM(weights=jnp.asarray(WEIGHTS, jnp.float32),
                   means=jnp.asarray(MEANS, jnp.float32),
                   covs=jnp.asarray(COVS, jnp.float32))


def _draw(n, seed):
  rng = np.random.default_rng(seed)
  comp = rng.choice(3, size=n, p=WEIGHTS)
  chol = np.linalg.cholesky(COVS)
  z = rng.normal(size=(n, 2))
  return (MEANS[comp] + np.einsum("nde,ne->nd", chol[comp], z)).astype(
      np.float32)


def _match(means):
  """The permutation of fitted components closest to MEANS."""
  return min(itertools.permutations(range(3)),
             key=lambda p: np.sum((np.asarray(means)[list(p)] - MEANS) ** 2))


@pytest.mark.parametrize("covariance, init", [
    ("full", "kmeans++"), ("diag", "kmeans++"), ("full", "random")])
def test_em_recovers_a_three_component_mixture(covariance, init):
  x = _draw(2000, seed=0)
  fit = gmm_lib.fit_gmm(jax.random.key(0), x, 3, covariance=covariance,
                        init=init)
  assert bool(fit.converged) and bool(fit.finite)
  hist = fit.history()
  assert hist.size == int(fit.num_iters) >= 2
  # EM never lowers the likelihood (up to float32 rounding).
  assert np.all(np.diff(hist) > -1e-4)
  assert float(fit.final_log_likelihood) >= hist[-1] - 1e-4
  perm = list(_match(fit.gmm.means))
  np.testing.assert_allclose(np.asarray(fit.gmm.means)[perm], MEANS, atol=0.15)
  np.testing.assert_allclose(np.asarray(fit.gmm.weights)[perm], WEIGHTS,
                             atol=0.03)
  covs = np.asarray(fit.gmm.covs)[perm]
  if covariance == "full":
    assert covs.shape == (3, 2, 2)
    np.testing.assert_allclose(covs, COVS, atol=0.15)
  else:
    assert covs.shape == (3, 2)
    np.testing.assert_allclose(covs, np.diagonal(COVS, axis1=1, axis2=2),
                               rtol=0.15)
  # The same key gives the same fit.
  again = gmm_lib.fit_gmm(jax.random.key(0), x, 3, covariance=covariance,
                          init=init)
  np.testing.assert_array_equal(again.gmm.means, fit.gmm.means)


def test_full_covariances_fit_correlated_data_better_than_diagonal():
  x, held_out = _draw(2000, seed=0), _draw(1000, seed=1)
  full = gmm_lib.fit_gmm(jax.random.key(0), x, 3, covariance="full").gmm
  diag = gmm_lib.fit_gmm(jax.random.key(0), x, 3, covariance="diag").gmm
  assert (gmm_lib.gmm_logpdf(full, held_out).mean()
          > gmm_lib.gmm_logpdf(diag, held_out).mean() + 0.05)


def test_logpdf_matches_scipy():
  x = np.random.default_rng(2).normal(size=(7, 2)).astype(np.float32) * 3
  # One Gaussian, full and diagonal.
  one = gmm_lib.GMM(weights=jnp.ones(1), means=TRUE.means[1:2],
                    covs=TRUE.covs[1:2])
  np.testing.assert_allclose(
      gmm_lib.gmm_logpdf(one, x),
      stats.multivariate_normal(MEANS[1], COVS[1]).logpdf(x), rtol=1e-5)
  var = np.array([0.4, 2.0])
  one_diag = gmm_lib.GMM(weights=jnp.ones(1), means=TRUE.means[1:2],
                         covs=jnp.asarray(var[None], jnp.float32))
  np.testing.assert_allclose(
      gmm_lib.gmm_logpdf(one_diag, x),
      stats.multivariate_normal(MEANS[1], np.diag(var)).logpdf(x), rtol=1e-5)
  # The mixture: log sum_m w_m N(x; mean_m, cov_m), by hand.
  want = np.log(sum(w * stats.multivariate_normal(m, c).pdf(x)
                    for w, m, c in zip(WEIGHTS, MEANS, COVS)))
  np.testing.assert_allclose(gmm_lib.gmm_logpdf(TRUE, x), want, rtol=1e-5)


@pytest.mark.parametrize("covariance", ["full", "diag"])
def test_sample_moments(covariance):
  covs = COVS if covariance == "full" else np.diagonal(COVS, axis1=1, axis2=2)
  gmm = gmm_lib.GMM(weights=TRUE.weights, means=TRUE.means,
                    covs=jnp.asarray(covs, jnp.float32))
  full_covs = COVS if covariance == "full" else np.stack(
      [np.diag(c) for c in covs])
  n = 40_000
  x = np.asarray(gmm_lib.gmm_sample(jax.random.key(3), gmm, n))
  assert x.shape == (n, 2)
  mean = WEIGHTS @ MEANS
  second = np.einsum("m,mde->de", WEIGHTS,
                     full_covs + np.einsum("md,me->mde", MEANS, MEANS))
  np.testing.assert_allclose(x.mean(0), mean, atol=0.06)
  np.testing.assert_allclose(np.cov(x.T), second - np.outer(mean, mean),
                             rtol=0.03, atol=0.05)


def test_no_convergence_within_max_iters_is_an_error():
  x = _draw(300, seed=4)
  with pytest.raises(gmm_lib.GMMFitError, match="did not converge within "
                     "max_iters=2") as info:
    gmm_lib.fit_gmm(jax.random.key(0), x, 3, max_iters=2)
  fit = info.value.fit
  assert not bool(fit.converged) and int(fit.num_iters) == 2
  accepted = gmm_lib.fit_gmm(jax.random.key(0), x, 3, max_iters=2,
                             require_convergence=False)
  assert not bool(accepted.converged)
  assert np.all(np.isfinite(np.asarray(accepted.gmm.means)))


def test_non_finite_fits_are_errors_and_never_nan():
  rng = np.random.default_rng(5)
  # Points on a line: the full covariance is singular without reg.
  u = rng.normal(size=(300, 1))
  line = np.concatenate([u, 2 * u], axis=1).astype(np.float32)
  with pytest.raises(gmm_lib.GMMFitError, match="non-finite") as info:
    gmm_lib.fit_gmm(jax.random.key(0), line, 3, reg=0.0)
  assert not bool(info.value.fit.finite)
  # A point mass collapses a diagonal component to zero variance after a
  # few iterations; the fit keeps its last finite mixture.
  lump = np.concatenate([np.zeros((100, 2)), rng.normal(size=(200, 2)) + 5])
  with pytest.raises(gmm_lib.GMMFitError, match="non-finite") as info:
    gmm_lib.fit_gmm(jax.random.key(0), lump.astype(np.float32), 3, reg=0.0,
                    covariance="diag")
  fit = info.value.fit
  assert int(fit.num_iters) >= 1
  for leaf in jax.tree.leaves(fit):
    assert not np.any(np.isnan(np.asarray(leaf)))
  # With the default reg the same data fit cleanly.
  assert bool(gmm_lib.fit_gmm(jax.random.key(0), lump.astype(np.float32), 3,
                              covariance="diag").finite)


@pytest.mark.parametrize("kwargs, match", [
    (dict(x=np.full((10, 2), np.nan, np.float32)), "x:"),
    (dict(x=np.zeros((10,), np.float32)), "x:"),
    (dict(num_components=11), "num_components:"),
    (dict(covariance="spherical"), "covariance:"),
    (dict(init="kmeans"), "init:"),
    (dict(tol=0.0), "tol:"),
    (dict(reg=-1.0), "reg:"),
    (dict(max_iters=0), "max_iters:"),
])
def test_bad_arguments_are_named(kwargs, match):
  args = dict(x=np.zeros((10, 2), np.float32), num_components=2)
  args.update(kwargs)
  with pytest.raises(ValueError, match=match):
    gmm_lib.fit_gmm(jax.random.key(0), **args)


def test_vmapped_fits_match_single_fits():
  # One mixture per example, as DiffPose fits one per pose.
  xs = np.stack([_draw(300, seed=6), _draw(300, seed=7) * 2.0])
  keys = jax.random.split(jax.random.key(8), 2)
  fits = jax.vmap(lambda k, x: gmm_lib.em_gmm(k, x, 3, covariance="diag"))(
      keys, xs)
  for i in range(2):
    one = gmm_lib.em_gmm(keys[i], xs[i], 3, covariance="diag")
    np.testing.assert_allclose(fits.gmm.means[i], one.gmm.means, rtol=1e-4,
                               atol=1e-4)
    assert int(fits.num_iters[i]) == int(one.num_iters)


def test_diagonal_mixture_as_a_prior():
  gmm = gmm_lib.GMM(weights=TRUE.weights, means=jnp.zeros((3, 6)) + 1.0,
                    covs=jnp.full((3, 6), 4.0))
  prior = gmm.to_mixture_prior(event_shape=(2, 3))
  assert isinstance(prior, priors.MixturePrior)
  assert prior.means.shape == (3, 2, 3)
  np.testing.assert_allclose(prior.scales, 2.0)
  with pytest.raises(ValueError, match="covariance='diag'"):
    TRUE.to_mixture_prior()
  with pytest.raises(ValueError, match="event_shape"):
    gmm.to_mixture_prior(event_shape=(4, 2))
