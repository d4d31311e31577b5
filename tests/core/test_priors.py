"""Prior values (jaxpose.core.priors) in the forward processes."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from jaxpose.core import priors
from jaxpose.core import sde as sde_lib

SDES = [sde_lib.VESDE(), sde_lib.VPSDE(), sde_lib.SubVPSDE(),
        sde_lib.DiscreteVP.linear(51, 1e-4, 1e-3)]
IDS = ["ve", "vp", "subvp", "discrete_vp"]


@pytest.mark.parametrize("sde", SDES, ids=IDS)
def test_every_process_implements_the_contract(sde):
  assert isinstance(sde, sde_lib.ForwardProcess)
  assert sde.T == 1.0


@pytest.mark.parametrize("sde", SDES, ids=IDS)
def test_no_prior_is_the_plain_process_bit_for_bit(sde):
  x0 = jax.random.normal(jax.random.key(0), (4, 5, 3))
  t = jnp.array([0.1, 0.3, 0.7, 1.0])
  a = sde_lib.broadcast_to_batch(sde.mean_coeff(t), x0)
  s = sde_lib.broadcast_to_batch(sde.marginal_std(t), x0)
  mean, std = sde.marginal(x0, t, None)
  np.testing.assert_array_equal(mean, a * x0)
  np.testing.assert_array_equal(std, jnp.broadcast_to(s, x0.shape))
  key = jax.random.key(1)
  x_t, z = sde.perturb(key, x0, t)
  np.testing.assert_array_equal(x_t, a * x0 + s * z)
  np.testing.assert_array_equal(
      sde.prior_sample(key, (4, 5, 3)),
      sde.prior_std * jax.random.normal(key, (4, 5, 3)))
  # The identity prior gives the same numbers (up to rounding).
  unit = priors.GaussianPrior(mean=0.0, scale=1.0)
  np.testing.assert_allclose(sde.perturb(key, x0, t, unit)[0], x_t,
                             rtol=1e-6, atol=1e-6)
  np.testing.assert_allclose(sde.prior_logp(x_t, unit), sde.prior_logp(x_t),
                             rtol=1e-6)


@pytest.mark.parametrize("sde", SDES, ids=IDS)
def test_gaussian_prior_marginal_and_terminal_distribution(sde):
  b, d = 6, 3
  rng = np.random.default_rng(0)
  mu = jnp.asarray(rng.normal(size=(b, d)), jnp.float32)  # per example
  c = jnp.asarray([0.5, 2.0, 1.0], jnp.float32)  # per dimension
  prior = priors.GaussianPrior(mean=mu, scale=c)
  x0 = jnp.asarray(rng.normal(size=(b, d)), jnp.float32)
  t = jnp.linspace(0.1, 1.0, b)
  a = np.asarray(sde.mean_coeff(t))[:, None]
  s = np.asarray(sde.marginal_std(t))[:, None]
  mean, std = sde.marginal(x0, t, prior)
  np.testing.assert_allclose(mean, mu + a * (x0 - mu), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(std, s * np.broadcast_to(c, (b, d)), rtol=1e-6)
  x_t, z = sde.perturb(jax.random.key(2), x0, t, prior)
  np.testing.assert_allclose(x_t, mean + std * z, rtol=1e-6, atol=1e-6)

  # x_T ~ N(mu, (prior_std c)^2): check the draws and the density.
  n = 20_000
  one = priors.GaussianPrior(mean=mu[0], scale=c)  # [D], shared by n rows
  draws = np.asarray(sde.prior_sample(jax.random.key(3), (n, d), one))
  want_std = sde.prior_std * np.asarray(c)
  np.testing.assert_array_less(np.abs(draws.mean(0) - mu[0]),
                               5 * want_std / math.sqrt(n))
  np.testing.assert_array_less(np.abs(draws.std(0) - want_std),
                               5 * want_std / math.sqrt(2 * n))
  ref = stats.norm.logpdf(draws[:5].astype(np.float64), loc=np.asarray(mu[0]),
                          scale=want_std).sum(-1)
  np.testing.assert_allclose(sde.prior_logp(draws[:5], one), ref, rtol=1e-5)


def test_mixture_prior_drawn_per_example_gives_the_mixture_marginal():
  sde = sde_lib.SubVPSDE()
  weights = jnp.array([0.2, 0.8])
  means = jnp.array([[-5.0, -5.0], [5.0, 5.0]])  # [M, D]
  scales = jnp.array([0.5, 1.0])  # [M]
  mixture = priors.MixturePrior(weights=weights, means=means, scales=scales)
  n = 20_000
  k_draw, k_noise = jax.random.split(jax.random.key(0))
  prior = mixture.draw(k_draw, n)
  assert prior.mean.shape == (n, 2) and prior.scale.shape == (n, 1)
  x0 = jnp.full((n, 2), 0.5)
  t = 0.6
  x_t, _ = sde.perturb(k_noise, x0, t, prior)
  x_t = np.asarray(x_t)
  a, s = float(sde.mean_coeff(t)), float(sde.marginal_std(t))
  # Both components are visible, in proportion to their weights (the
  # modes are 4.9 stds of the wider one apart from 0).
  low = x_t[:, 0] < 0
  np.testing.assert_array_equal(low, np.asarray(prior.mean[:, 0]) < 0)
  frac = low.mean()
  assert abs(frac - 0.2) < 5 * math.sqrt(0.2 * 0.8 / n), frac
  for sel, m, c in ((low, -5.0, 0.5), (~low, 5.0, 1.0)):
    part = x_t[sel]
    k = len(part)
    mean = m + a * (0.5 - m)
    np.testing.assert_array_less(np.abs(part.mean(0) - mean),
                                 5 * s * c / math.sqrt(k))
    np.testing.assert_array_less(np.abs(part.std(0) - s * c),
                                 5 * s * c / math.sqrt(2 * k) + 1e-3)


def test_mixture_prior_sample_and_logp_are_the_mixture():
  sde = sde_lib.VPSDE()
  mixture = priors.MixturePrior(
      weights=jnp.array([1.0, 3.0]),  # normalised on use: 0.25, 0.75
      means=jnp.array([[-2.0, 0.0], [2.0, 1.0]]),
      scales=jnp.array([[0.5, 0.5], [1.0, 2.0]]))
  n = 20_000
  z = sde.prior_sample(jax.random.key(0), (n, 2), mixture)
  # P(z_0 < 0) = 0.25 + 0.75 Phi(-2) = 0.2671.
  want = 0.25 + 0.75 * stats.norm.cdf(-2.0)
  frac = float(jnp.mean(z[:, 0] < 0))
  assert abs(frac - want) < 5 * math.sqrt(want * (1 - want) / n), frac
  pts = np.array([[-2.0, 0.1], [1.5, 0.0], [0.0, 3.0]])
  dens = sum(w * stats.norm.pdf(pts, loc=m, scale=c).prod(-1)
             for w, m, c in ((0.25, [-2, 0], [0.5, 0.5]),
                             (0.75, [2, 1], [1, 2])))
  np.testing.assert_allclose(sde.prior_logp(jnp.asarray(pts), mixture),
                             np.log(dens), rtol=1e-5)


def test_prior_errors_are_clear():
  sde = sde_lib.SubVPSDE()
  x0 = jnp.zeros((4, 3))
  mixture = priors.MixturePrior(weights=jnp.ones(2), means=jnp.zeros((2, 3)),
                                scales=jnp.ones(2))
  with pytest.raises(TypeError, match="draw"):
    sde.perturb(jax.random.key(0), x0, 0.5, mixture)
  with pytest.raises(ValueError, match=r"prior.mean: .*\(4, 3\), got \(5, 3\)"):
    sde.marginal(x0, 0.5, priors.GaussianPrior(mean=jnp.zeros((5, 3))))
  with pytest.raises(TypeError, match="GaussianPrior"):
    sde.marginal(x0, 0.5, (0.0, 1.0))
  with pytest.raises(ValueError, match="leading dimension of M=2"):
    priors.MixturePrior(weights=jnp.ones(2), means=jnp.zeros((3, 3)),
                        scales=jnp.ones(2))
  with pytest.raises(ValueError, match="non-negative"):
    priors.MixturePrior(weights=jnp.array([1.0, -1.0]),
                        means=jnp.zeros((2, 3)), scales=jnp.ones(2))


def test_priors_are_pytrees():
  prior = priors.GaussianPrior(mean=jnp.ones((2, 3)), scale=2.0)
  doubled = jax.tree.map(lambda v: 2 * v, prior)
  assert isinstance(doubled, priors.GaussianPrior) and doubled.scale == 4.0
  mixture = priors.MixturePrior(weights=jnp.ones(2), means=jnp.zeros((2, 3)),
                                scales=jnp.ones(2))
  drawn = jax.jit(lambda m, k: m.draw(k, 5))(mixture, jax.random.key(0))
  assert drawn.mean.shape == (5, 3)
