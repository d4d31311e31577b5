"""Samplers with a prior value, start modes and unconditional problems.

Data x0 ~ N(m0, v0 I) diffused toward the prior (mu, c): x_t = mu +
a (x0 - mu) + s c z ~ N(mu + a (m0 - mu), (a^2 v0 + s^2 c^2) I), whose score
is exact.  Whatever the prior, the samples must come back as N(m0, v0 I).
"""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpose.core import priors
from jaxpose.core import sampling
from jaxpose.core import sde as sde_lib

D = 3
M0 = np.array([1.0, -0.5, 0.3], np.float32)
V0 = 0.6
# The prior sits away from the data: a shared offset plus a per-example
# jitter, and a scale per dimension.
PRIOR_MEAN = np.array([2.0, -1.5, -0.5], np.float32)
PRIOR_SCALE = np.array([0.5, 2.0, 1.5], np.float32)


def exact_score_fn(sde, *, expect_cond=None):
  """Exact score of the diffused data; params = (m0, v0, mu, c)."""
  def score_fn(params, x, t, cond):
    if expect_cond is None:
      assert cond is None, "an unconditional problem must pass cond=None"
    m0, v0, mu, c = params
    a, s = sde.mean_coeff(t), sde.marginal_std(t)
    return -(x - (mu + a * (m0 - mu))) / (a**2 * v0 + s**2 * c**2)
  return score_fn


def _prior(n, seed=0):
  jitter = np.random.default_rng(seed).normal(scale=0.3, size=(n, D))
  mean = jnp.asarray(PRIOR_MEAN + jitter, jnp.float32)  # [n, D]
  return priors.GaussianPrior(mean=mean, scale=jnp.asarray(PRIOR_SCALE))


def _params(prior):
  return (jnp.asarray(M0), jnp.float32(V0), prior.mean, prior.scale)


NUM_SAMPLES = 20_000
NUM_STEPS = 200

# (method, sde, options, bias allowance c: |moment error| < 5 SE + c / K).
CASES = [
    ("euler_maruyama", "subvp", {}, 3.0),
    ("euler_maruyama", "ve", {}, 3.0),
    ("pc", "vp", {}, 5.0),
    ("pc", "discrete_vp", {}, 5.0),
    ("ode", "subvp", {}, 1.5),
    ("ode", "vp", {"solver": "euler"}, 1.5),
    ("ddim", "discrete_vp", {}, 9.0),
    ("ddim", "subvp", {"eta": 1.0}, 16.0),
    ("ode_adaptive", "subvp", {}, 1.5),
]


@pytest.mark.parametrize("method,sde_name,options,c", CASES,
                         ids=[f"{m}-{s}-{o}" for m, s, o, _ in CASES])
def test_sampler_recovers_data_moments_with_a_prior(method, sde_name, options,
                                                    c):
  sde = sde_lib.get_sde(sde_name)
  prior = _prior(NUM_SAMPLES)
  sampler = sampling.make_sampler(method, sde, exact_score_fn(sde),
                                  num_steps=NUM_STEPS, **options)
  problem = sampling.Problem(x_init=jnp.zeros((NUM_SAMPLES, D)), prior=prior)
  x = np.asarray(sampler(_params(prior), jax.random.key(0), problem), np.float64)
  # The terminal law is N(mu + a(1) (m0 - mu), ...), not the prior N(mu,
  # ...); a deterministic flow carries that gap, scaled by the ratio of the
  # stds sqrt(v0) / c, down to t = 0.
  gap = (float(sde.mean_coeff(1.0)) * np.abs(M0 - PRIOR_MEAN).max()
         * math.sqrt(V0) / PRIOR_SCALE.min())
  bias = c / NUM_STEPS + gap
  tol_mean = 5 * math.sqrt(V0 / NUM_SAMPLES) + bias
  tol_var = 5 * V0 * math.sqrt(2 / NUM_SAMPLES) + bias
  np.testing.assert_array_less(np.abs(x.mean(0) - M0), tol_mean)
  np.testing.assert_array_less(np.abs(x.var(0) - V0), tol_var)


def test_deterministic_sampler_with_a_prior_keeps_the_mean_and_shrinks():
  sde = sde_lib.SubVPSDE()
  prior = _prior(NUM_SAMPLES)
  sampler = sampling.make_sampler("deterministic", sde, exact_score_fn(sde),
                                  num_steps=NUM_STEPS)
  problem = sampling.Problem(x_init=jnp.zeros((NUM_SAMPLES, D)), prior=prior)
  x = np.asarray(sampler(_params(prior), jax.random.key(1), problem), np.float64)
  np.testing.assert_array_less(np.abs(x.mean(0) - M0),
                               5 * math.sqrt(V0 / NUM_SAMPLES) + 0.02)
  assert np.all(x.var(0) < 0.9 * V0), x.var(0)  # mode seeking


def test_imputation_with_a_prior():
  # Independent coordinates: imputing one leaves the others' law alone.
  sde = sde_lib.SubVPSDE()
  n = 5000
  prior = _prior(n, seed=1)
  obs = jnp.full((n, D), 1.7)
  mask = jnp.zeros((n, D)).at[:, 0].set(1.0)
  problem = sampling.Problem(x_init=jnp.zeros((n, D)), observed=obs,
                       observed_mask=mask, prior=prior)
  for method in ("euler_maruyama", "pc", "ode", "ddim", "ode_adaptive"):
    sampler = sampling.make_sampler(method, sde, exact_score_fn(sde),
                                    num_steps=100)
    x = np.asarray(sampler(_params(prior), jax.random.key(2), problem))
    np.testing.assert_array_equal(x[:, 0], np.float32(1.7))
    np.testing.assert_array_less(np.abs(x[:, 1:].mean(0) - M0[1:]),
                                 5 * math.sqrt(V0 / n) + 0.05)


def _initial_states(sde, problem, params, key, num_hypotheses):
  """The samplers' initial states: a one-step grid of length zero.

  With t_start = eps every step has dt = 0, so Euler-Maruyama returns its
  initial state unchanged.
  """
  sampler = sampling.make_sampler("euler_maruyama", sde, exact_score_fn(sde),
                                  num_steps=1, eps=float(problem.t_start))
  return np.asarray(sampler.hypotheses(params, key, problem, num_hypotheses))


def test_start_modes():
  sde = sde_lib.SubVPSDE()
  b, h = 2, 4000
  prior = _prior(b, seed=2)
  params = _params(prior)
  x_init = jnp.asarray([[0.5, 0.0, -0.5], [1.0, 2.0, 3.0]], jnp.float32)
  t0 = 0.4
  problem = sampling.Problem(x_init=x_init, t_start=t0, prior=prior, start="diffuse")
  xs = _initial_states(sde, problem, params, jax.random.key(3), h)  # [H, B, D]
  assert xs.shape == (h, b, D)
  assert not np.allclose(xs[0], xs[1])  # each hypothesis its own noise
  a, s = float(sde.mean_coeff(t0)), float(sde.marginal_std(t0))
  mu, c = np.asarray(prior.mean), np.asarray(prior.scale)
  want_mean = mu + a * (np.asarray(x_init) - mu)
  want_std = np.broadcast_to(s * c, (b, D))
  np.testing.assert_array_less(np.abs(xs.mean(0) - want_mean),
                               5 * want_std / math.sqrt(h))
  np.testing.assert_array_less(np.abs(xs.std(0) - want_std),
                               5 * want_std / math.sqrt(2 * h))

  # 'x_init': every hypothesis starts from x_init itself.
  xs = _initial_states(sde, problem.replace(start="x_init"), params,
                       jax.random.key(3), 3)
  np.testing.assert_allclose(xs, np.broadcast_to(x_init, (3, b, D)),
                             rtol=1e-6, atol=1e-6)

  # 'prior' at t = 1: N(mu, (prior_std c)^2), x_init's values unused.
  task1 = problem.replace(start="prior", t_start=1.0,
                       x_init=jnp.full((b, D), jnp.nan))
  xs = _initial_states(sde, task1, params, jax.random.key(4), h)
  c = np.broadcast_to(c, (b, D))
  np.testing.assert_array_less(np.abs(xs.mean(0) - mu), 5 * c / math.sqrt(h))
  np.testing.assert_array_less(np.abs(xs.std(0) - c),
                               5 * c / math.sqrt(2 * h))

  with pytest.raises(ValueError, match="problem.start: expected one of prior, "
                     "x_init, diffuse, got 'noise'"):
    sampling.Problem(x_init=x_init, start="noise")
  with pytest.raises(ValueError, match="non-finite"):
    _initial_states(sde, task1.replace(start="diffuse"), params,
                    jax.random.key(4), 2)
  with pytest.raises(ValueError, match=r"problem.prior.mean: .*\(2, 3\)"):
    _initial_states(sde, problem.replace(prior=_prior(5)), params,
                    jax.random.key(4), 2)
  with pytest.raises(TypeError, match="draw"):
    _initial_states(sde, problem.replace(prior=priors.MixturePrior(
        weights=jnp.ones(2), means=jnp.zeros((2, D)), scales=jnp.ones(2))),
                    params, jax.random.key(4), 2)


@pytest.mark.parametrize("method", ["euler_maruyama", "pc", "ode",
                                    "deterministic", "ddim", "ode_adaptive"])
def test_unconditional_task_passes_cond_none(method):
  sde = sde_lib.SubVPSDE()
  seen = []

  def score_fn(params, x, t, cond):
    seen.append(cond)
    return exact_score_fn(sde)(params, x, t, cond)

  # 40 steps: PC's VP-family corrector needs beta(t) dt < 1.
  sampler = sampling.make_sampler(method, sde, score_fn, num_steps=40)
  prior = _prior(5, seed=3)
  for p in (None, prior):
    problem = sampling.Problem(x_init=jnp.zeros((5, D)), prior=p)
    params = _params(prior if p is not None else priors.GaussianPrior(
        mean=jnp.zeros((5, D)), scale=1.0))
    x = sampler(params, jax.random.key(0), problem)
    xs = sampler.hypotheses(params, jax.random.key(0), problem, 2)
    assert x.shape == (5, D) and xs.shape == (2, 5, D)
    assert bool(jnp.all(jnp.isfinite(xs)))
  assert seen and all(c is None for c in seen)
