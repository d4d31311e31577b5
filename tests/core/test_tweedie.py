"""Tweedie's formula against the posterior mean of Gaussian data.

x0 ~ N(m0, v0 I), x_t = mu + a (x0 - mu) + s c z: with V = a^2 v0 +
(s c)^2, E[x0 | x_t] = m0 + (a v0 / V) (x_t - mu - a (m0 - mu)), and
d E[x0 | x_t] / d x_t = a v0 / V per coordinate.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpose.core import priors
from jaxpose.core import sde as sde_lib
from jaxpose.core import tweedie

M0 = jnp.array([1.0, -0.5, 0.3])
V0 = 0.6


def _score_fn(sde, prior):
  mu, c = (0.0, 1.0) if prior is None else (prior.mean, prior.scale)

  def score_fn(params, x, t, cond):
    assert cond is None
    a = sde_lib.broadcast_to_batch(sde.mean_coeff(t), x)
    s = sde_lib.broadcast_to_batch(sde.marginal_std(t), x)
    return -(x - mu - a * (params - mu)) / (a**2 * V0 + (s * c)**2)
  return score_fn


def _posterior_mean(sde, x_t, t, prior):
  mu, c = (0.0, 1.0) if prior is None else (prior.mean, prior.scale)
  a = sde_lib.broadcast_to_batch(sde.mean_coeff(t), x_t)
  s = sde_lib.broadcast_to_batch(sde.marginal_std(t), x_t)
  gain = a * V0 / (a**2 * V0 + (s * c)**2)
  return M0 + gain * (x_t - mu - a * (M0 - mu))


PRIORS = {
    "none": None,
    "shifted": priors.GaussianPrior(
        mean=jnp.array([[2.0, -1.0, 0.5]] * 4) + jnp.arange(4.0)[:, None],
        scale=jnp.array([0.5, 2.0, 1.5])),
}


@pytest.mark.parametrize("prior_name", list(PRIORS))
@pytest.mark.parametrize("sde", [sde_lib.SubVPSDE(), sde_lib.VESDE(),
                                 sde_lib.DiscreteVP.linear(51, 1e-4, 1e-3)],
                         ids=["subvp", "ve", "discrete_vp"])
def test_tweedie_is_the_posterior_mean(sde, prior_name):
  prior = PRIORS[prior_name]
  x_t = jax.random.normal(jax.random.key(0), (4, 3)) * 2.0
  score_fn = _score_fn(sde, prior)
  for t in (jnp.float32(0.3), jnp.array([0.1, 0.4, 0.7, 1.0])):
    got = tweedie.tweedie_x0(score_fn, M0, x_t, t, sde=sde, prior=prior)
    np.testing.assert_allclose(got, _posterior_mean(sde, x_t, t, prior),
                               rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("prior_name", list(PRIORS))
def test_tweedie_gradients(prior_name):
  sde = sde_lib.SubVPSDE()
  prior = PRIORS[prior_name]
  score_fn = _score_fn(sde, prior)
  x_t = jax.random.normal(jax.random.key(1), (4, 3))
  t = jnp.array([0.1, 0.4, 0.7, 1.0])

  def total(x, stop):
    return jnp.sum(tweedie.tweedie_x0(score_fn, M0, x, t, sde=sde,
                                      prior=prior, stop_gradient=stop))

  a = sde_lib.broadcast_to_batch(sde.mean_coeff(t), x_t)
  # Without the score's gradient only the affine path x_t / a remains.
  np.testing.assert_allclose(jax.grad(total)(x_t, True),
                             jnp.broadcast_to(1.0 / a, x_t.shape), rtol=1e-5)
  want = jax.grad(lambda x: jnp.sum(_posterior_mean(sde, x, t, prior)))(x_t)
  np.testing.assert_allclose(jax.grad(total)(x_t, False), want, rtol=1e-4,
                             atol=1e-5)
  # ... and the parameters get no gradient through a stopped score.
  grad_params = jax.grad(lambda p: jnp.sum(tweedie.tweedie_x0(
      score_fn, p, x_t, t, sde=sde, prior=prior, stop_gradient=True)))(M0)
  np.testing.assert_array_equal(grad_params, 0.0)
