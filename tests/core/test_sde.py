"""Tests of jaxpose.core.sde against closed forms and simulation of the processes."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from jaxpose.core import sde as sde_lib

X0 = np.array([1.5, -0.7], np.float32)  # fixed start values, one per dim
NUM_PATHS = 20_000
NUM_SIM_STEPS = 1000
CHECK_TIMES = (0.1, 0.3, 0.6, 1.0)


def _simulate_forward(sde, key):
  """Euler-Maruyama of dx = f dt + g dw from t=0 to 1, coefficients at midpoints.

  Midpoint coefficients make the variance integral sum(g^2 dt) second-order
  accurate, so the simulation bias (well below 1e-3 here) is negligible next
  to the Monte-Carlo error.  Returns {t: [P, 2] states} at CHECK_TIMES.
  """
  dt = 1.0 / NUM_SIM_STEPS
  key0, key = jax.random.split(key)
  x = jnp.broadcast_to(X0, (NUM_PATHS, 2))
  if isinstance(sde, sde_lib.VESDE):
    # score_sde convention: VE data at t=0 already carries std sigma_min.
    x = x + sde.sigma_min * jax.random.normal(key0, x.shape)

  def step(x, inp):
    i, k = inp
    f, g = sde.drift_diffusion(x, (i + 0.5) * dt)
    x = x + f * dt + g * jnp.sqrt(dt) * jax.random.normal(k, x.shape)
    return x, x

  keys = jax.random.split(key, NUM_SIM_STEPS)
  _, xs = jax.lax.scan(step, x, (jnp.arange(NUM_SIM_STEPS), keys))
  return {t: np.asarray(xs[round(t * NUM_SIM_STEPS) - 1]) for t in CHECK_TIMES}


@pytest.mark.parametrize("sde", [sde_lib.VESDE(), sde_lib.VPSDE(),
                                 sde_lib.SubVPSDE()],
                         ids=["ve", "vp", "subvp"])
def test_marginals_match_simulated_forward_sde(sde):
  paths = _simulate_forward(sde, jax.random.key(0))
  for t, xt in paths.items():
    mean, std = sde.marginal(jnp.asarray(X0)[None], jnp.float32(t))
    mean, std = np.asarray(mean[0]), np.asarray(std[0])
    # Standard errors of the sample mean and std of P Gaussian draws:
    # std/sqrt(P) and std/sqrt(2P).  5 SE, plus 0.2% for float32 and the
    # (midpoint) discretisation.
    se_mean = std / math.sqrt(NUM_PATHS)
    se_std = std / math.sqrt(2 * NUM_PATHS)
    np.testing.assert_array_less(np.abs(xt.mean(0) - mean),
                                 5 * se_mean + 2e-3 * (np.abs(mean) + std),
                                 err_msg=f"mean at t={t}")
    np.testing.assert_array_less(np.abs(xt.std(0) - std),
                                 5 * se_std + 2e-3 * std,
                                 err_msg=f"std at t={t}")


@pytest.mark.parametrize("num_steps,beta_start,beta_end",
                         [(51, 1e-4, 1e-3), (1000, 1e-4, 0.02)],
                         ids=["diffpose", "ddpm"])
def test_discrete_vp_matches_markov_chain(num_steps, beta_start, beta_end):
  sde = sde_lib.DiscreteVP.linear(num_steps, beta_start, beta_end)
  betas = np.linspace(beta_start, beta_end, num_steps)
  abar = np.cumprod(1 - betas)
  # Exactly the DDPM marginals at every step index.
  i = np.arange(num_steps)
  t = sde.time(i)
  np.testing.assert_array_equal(np.asarray(sde.index(t)), i)
  np.testing.assert_allclose(sde.mean_coeff(t), np.sqrt(abar), rtol=1e-5)
  np.testing.assert_allclose(sde.marginal_std(t), np.sqrt(1 - abar),
                             rtol=2e-4)
  assert float(sde.mean_coeff(0.0)) == 1.0 and float(sde.marginal_std(0.0)) == 0.0
  # discretize: one DDPM step for dt = 1/N; composed steps for dt = 3/N.
  x = jnp.ones((1, 2))
  f, g = sde.discretize(x, sde.time(7), 1 / num_steps)
  np.testing.assert_allclose(g**2, betas[7], rtol=1e-3)
  np.testing.assert_allclose(f, (np.sqrt(1 - betas[7]) - 1) * x, rtol=1e-3)
  _, g3 = sde.discretize(x, sde.time(7), 3 / num_steps)
  np.testing.assert_allclose(1 - g3**2, np.prod(1 - betas[5:8]), rtol=1e-5)

  # Simulate x_i = sqrt(1 - b_i) x_{i-1} + sqrt(b_i) z from x_{-1} = X0.
  def step(x, inp):
    b, k = inp
    x = jnp.sqrt(1 - b) * x + jnp.sqrt(b) * jax.random.normal(k, x.shape)
    return x, x

  x = jnp.broadcast_to(X0, (NUM_PATHS, 2))
  keys = jax.random.split(jax.random.key(1), num_steps)
  _, xs = jax.lax.scan(step, x, (sde.betas, keys))
  for idx in (0, num_steps // 3, num_steps - 1):
    mean, std = sde.marginal(jnp.asarray(X0)[None], sde.time(idx))
    mean, std = np.asarray(mean[0]), np.asarray(std[0])
    sim = np.asarray(xs[idx])
    np.testing.assert_array_less(np.abs(sim.mean(0) - mean),
                                 5 * std / math.sqrt(NUM_PATHS) + 1e-5)
    np.testing.assert_array_less(np.abs(sim.std(0) - std),
                                 5 * std / math.sqrt(2 * NUM_PATHS) + 1e-5)


def test_discrete_vp_training_times_are_grid_points():
  sde = sde_lib.DiscreteVP.linear(51, 1e-4, 1e-3)
  t = sde.sample_time(jax.random.key(0), (5000,))
  idx = np.asarray(sde.index(t))
  np.testing.assert_allclose(np.asarray(t), (idx + 1) / 51, rtol=1e-6)
  assert idx.min() == 0 and idx.max() == 50 and len(np.unique(idx)) == 51


def test_continuous_training_times_uniform_in_range():
  t = np.asarray(sde_lib.VPSDE().sample_time(jax.random.key(0), (20000,), 0.1))
  assert t.min() >= 0.1 and t.max() <= 1.0
  # U(0.1, 1) has mean 0.55 and std 0.9/sqrt(12); 5 SE.
  assert abs(t.mean() - 0.55) < 5 * 0.9 / math.sqrt(12 * 20000)


def test_subvp_std_is_one_minus_a_squared_by_hand():
  sde = sde_lib.SubVPSDE()
  # t = 0.5: log a = -0.25^2... = -(0.25)(19.9)/4*... computed by hand:
  # log a = -0.25 * 0.5^2 * 19.9 - 0.5 * 0.5 * 0.1 = -1.26875.
  a_hand = 0.2811828807967524   # exp(-1.26875)
  s_hand = 0.9209361875468394   # 1 - exp(-2.5375), no square root
  np.testing.assert_allclose(sde.mean_coeff(0.5), a_hand, rtol=1e-6)
  np.testing.assert_allclose(sde.marginal_std(0.5), s_hand, rtol=1e-6)
  vp = sde_lib.VPSDE()
  np.testing.assert_allclose(vp.marginal_std(0.5), math.sqrt(s_hand), rtol=1e-6)


def test_ve_closed_forms():
  sde = sde_lib.VESDE(sigma_min=0.01, sigma_max=50.0)
  np.testing.assert_allclose(sde.marginal_std(0.5), 0.01 * 5000**0.5, rtol=1e-6)
  np.testing.assert_allclose(sde.mean_coeff(jnp.array([0.2, 0.9])), [1, 1])
  x = jnp.ones((2, 3))
  _, g = sde.discretize(x, 0.5, 0.1)
  np.testing.assert_allclose(g**2, (0.01 * 5000**0.5)**2 - (0.01 * 5000**0.4)**2,
                             rtol=1e-5)


def test_vp_discretize_is_beta_dt_form():
  sde = sde_lib.VPSDE()
  x = jnp.full((2, 3), 2.0)
  f, g = sde.discretize(x, 0.4, 0.01)
  beta_i = (0.1 + 0.4 * 19.9) * 0.01
  np.testing.assert_allclose(g, math.sqrt(beta_i), rtol=1e-6)
  np.testing.assert_allclose(f, (math.sqrt(1 - beta_i) - 1) * 2.0, rtol=1e-5)


@pytest.mark.parametrize("sde", [sde_lib.VESDE(), sde_lib.VPSDE(),
                                 sde_lib.SubVPSDE(),
                                 sde_lib.DiscreteVP.linear(51, 1e-4, 1e-3)],
                         ids=["ve", "vp", "subvp", "discrete_vp"])
def test_prior_logp_is_gaussian_closed_form(sde):
  z = sde.prior_sample(jax.random.key(0), (7, 4, 3))
  std = {sde_lib.VESDE: 50.0}.get(type(sde), 1.0)
  assert z.shape == (7, 4, 3)
  ref = stats.norm.logpdf(np.asarray(z, np.float64), scale=std).sum(axis=(1, 2))
  np.testing.assert_allclose(sde.prior_logp(z), ref, rtol=1e-5)


@pytest.mark.parametrize("sde", [sde_lib.VESDE(), sde_lib.VPSDE(),
                                 sde_lib.SubVPSDE(),
                                 sde_lib.DiscreteVP.linear(51, 1e-4, 1e-3)],
                         ids=["ve", "vp", "subvp", "discrete_vp"])
def test_shapes_for_scalar_and_batched_t(sde):
  x = jnp.ones((4, 5, 3))
  tb = jnp.array([0.1, 0.2, 0.5, 1.0])
  for t, tshape in ((tb, (4,)), (jnp.float32(0.3), ())):
    assert sde.mean_coeff(t).shape == tshape
    assert sde.marginal_std(t).shape == tshape
    mean, std = sde.marginal(x, t)
    assert mean.shape == std.shape == x.shape
    f, g = sde.drift_diffusion(x, t)
    assert f.shape == x.shape and jnp.shape(g) == tshape
    f, g = sde.discretize(x, t, 0.01)
    assert f.shape == x.shape and jnp.shape(g) == tshape
  xt, noise = sde.perturb(jax.random.key(0), x, tb)
  mean, std = sde.marginal(x, tb)
  np.testing.assert_allclose(xt, mean + std * noise, rtol=1e-6)
  # Row b uses t[b].
  np.testing.assert_allclose(std[2], sde.marginal_std(0.5) * np.ones((5, 3)))
  with pytest.raises(ValueError, match="t: expected"):
    sde.marginal(x, jnp.ones((3,)))


def test_sde_is_a_pytree_under_jit_and_tree_map():
  traces = []

  @jax.jit
  def std_at(sde, t):
    traces.append(1)
    return sde.marginal_std(t)

  a = std_at(sde_lib.VESDE(sigma_max=50.0), 0.5)
  b = std_at(sde_lib.VESDE(sigma_max=20.0), 0.5)
  assert len(traces) == 1  # hyper-parameters are data, not static
  np.testing.assert_allclose([a, b], [0.01 * 5000**0.5, 0.01 * 2000**0.5],
                             rtol=1e-5)

  doubled = jax.tree.map(lambda v: 2 * v, sde_lib.VPSDE())
  assert isinstance(doubled, sde_lib.VPSDE)
  assert doubled.beta_max == 40.0 and doubled.beta_min == 0.2
  dvp = sde_lib.DiscreteVP.linear(51, 1e-4, 1e-3)
  assert len(jax.tree.leaves(dvp)) == 1
  out = jax.jit(lambda s: s.mean_coeff(s.time(10)))(dvp)
  np.testing.assert_allclose(out, dvp.mean_coeff(dvp.time(10)))


def test_registry_and_bad_arguments():
  assert isinstance(sde_lib.get_sde("subvp"), sde_lib.SubVPSDE)
  assert isinstance(sde_lib.get_sde("ve", sigma_max=20.0), sde_lib.VESDE)
  dvp = sde_lib.get_sde("discrete_vp", num_steps=51, beta_start=1e-4,
                        beta_end=1e-3)
  assert dvp.num_steps == 51
  with pytest.raises(ValueError, match="valid names: ve, vp, subvp, discrete_vp"):
    sde_lib.get_sde("vpsde")
  with pytest.raises(ValueError, match="sigma_min"):
    sde_lib.VESDE(sigma_min=10.0, sigma_max=1.0)
  with pytest.raises(ValueError, match="beta_start"):
    sde_lib.DiscreteVP.linear(10, 0.5, 0.1)
  with pytest.raises(ValueError, match="num_steps"):
    sde_lib.DiscreteVP.linear(0)
