"""Tests of jaxpose.core.sampling with Gaussian data, where every score is exact.

For x0 ~ N(mu, Sigma) and x_t = a x0 + s z the marginal is N(a mu, a^2 Sigma +
s^2 I), so score(x, t) = -(a^2 Sigma + s^2 I)^{-1} (x - a mu).  Any error left
is the sampler's: its time discretisation and the Monte-Carlo error.
"""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpose.core import sampling
from jaxpose.core import sde as sde_lib

MU = np.array([1.0, -0.5, 0.3], np.float32)
_L = np.array([[1.0, 0, 0], [0.6, 0.8, 0], [-0.3, 0.4, 0.5]], np.float32)
SIGMA = _L @ _L.T  # non-diagonal, eigenvalues about 0.13, 0.76, 1.61
PARAMS = (jnp.asarray(MU), jnp.asarray(SIGMA))
D = 3


def gaussian_score_fn(sde):
  """Exact score of the diffused N(mu, Sigma); params = (mu, Sigma)."""
  def score_fn(params, x, t, cond):
    del cond
    mu, sigma = params
    assert jnp.ndim(t) == 0, "samplers must pass one scalar time"
    a, s = sde.mean_coeff(t), sde.marginal_std(t)
    # One 3x3 inverse per step, then a matmul: cheaper than a batched solve.
    precision = jnp.linalg.inv(a**2 * sigma + s**2 * jnp.eye(D))
    return -(x - a * mu) @ precision
  return score_fn


def _moment_tolerances(n, bias):
  """5 standard errors of the sample mean/covariance of n draws + a bias.

  SE of the mean_i: sqrt(Sigma_ii / n); of the covariance_ij:
  sqrt((Sigma_ii Sigma_jj + Sigma_ij^2) / n) (Gaussian data).
  """
  d = np.diag(SIGMA)
  tol_mean = 5 * np.sqrt(d / n) + bias
  tol_cov = 5 * np.sqrt((np.outer(d, d) + SIGMA**2) / n) + bias
  return tol_mean, tol_cov


NUM_SAMPLES = 20_000
NUM_STEPS = 200

# Every fixed-step method here is first order, so its bias in the moments is
# about c / K for K steps.  c was measured with 200k samples at K = 100 (the
# largest |moment error| times K, MC error about 0.004): EM 1.4, PC 2.3
# (1.6 on DiscreteVP), ODE 0.6, DDIM(eta=0) 4.2, DDIM(eta=1) 8.1.  The
# allowance is about 1.5 c / K.
CASES = [
    ("euler_maruyama", "vp", {}, 2.0),
    ("euler_maruyama", "subvp", {}, 2.0),
    ("euler_maruyama", "ve", {}, 2.0),
    ("pc", "vp", {}, 3.5),
    ("pc", "ve", {}, 3.5),
    ("pc", "discrete_vp", {}, 3.5),
    ("ode", "vp", {}, 1.0),
    ("ode", "subvp", {"solver": "euler"}, 1.0),
    ("ddim", "discrete_vp", {}, 6.5),
    ("ddim", "subvp", {}, 6.5),
    ("ddim", "vp", {"eta": 1.0}, 12.0),
    ("ode_adaptive", "subvp", {}, 1.0),
    # Non-uniform time grids keep the sampler consistent (same allowance).
    ("euler_maruyama", "subvp", {"grid_rho": 2.0}, 2.0),
    ("pc", "subvp", {"grid_rho": 0.5}, 3.5),
]


@pytest.mark.parametrize("method,sde_name,options,c", CASES,
                         ids=[f"{m}-{s}-{o}" for m, s, o, _ in CASES])
def test_sampler_reproduces_gaussian_moments(method, sde_name, options, c):
  sde = sde_lib.get_sde(sde_name)
  sample_fn = sampling.make_sampler(method, sde, gaussian_score_fn(sde),
                                    num_steps=NUM_STEPS, **options)
  problem = sampling.Problem(x_init=jnp.zeros((NUM_SAMPLES, D)))
  x = np.asarray(sample_fn(PARAMS, jax.random.key(0), problem), np.float64)
  assert x.shape == (NUM_SAMPLES, D)
  tol_mean, tol_cov = _moment_tolerances(NUM_SAMPLES, c / NUM_STEPS)
  np.testing.assert_array_less(np.abs(x.mean(0) - MU), tol_mean)
  np.testing.assert_array_less(np.abs(np.cov(x.T) - SIGMA), tol_cov)


def _deterministic_reference(sde, factor, eps=1e-3, n=200_001):
  """Mean and covariance after the noise-free reverse flow, float64.

  dx/dt = f - factor g^2 score is linear for Gaussian data and every matrix
  in it commutes with Sigma.  Along an eigenvector (eigenvalue lam) the
  variance p obeys d log p / dt = 2 m(t), m = -beta/2 + factor g^2 /
  (a^2 lam + s^2), and the mean offset u = E[x] - a mu obeys du/dt = m u.
  Integrated (trapezoid, n points) from the prior at t = 1 down to eps.
  """
  t = np.linspace(eps, 1.0, n)
  b0, b1 = 0.1, 20.0
  beta = b0 + t * (b1 - b0)
  a = np.exp(-0.25 * t**2 * (b1 - b0) - 0.5 * t * b0)
  assert isinstance(sde, sde_lib.SubVPSDE)
  s = 1 - a**2
  g2 = beta * (1 - a**4)
  lam, vec = np.linalg.eigh(SIGMA.astype(np.float64))
  m = -0.5 * beta[:, None] + factor * g2[:, None] / (
      a[:, None]**2 * lam + s[:, None]**2)  # [n, D]
  integral = np.trapezoid(m, t, axis=0)  # int_eps^1 m dt, [D]
  shrink = np.exp(-integral)  # factor on std (and mean offset) from 1 to eps
  cov = vec @ np.diag(shrink**2) @ vec.T  # prior variance 1
  u1 = vec.T @ (-a[-1] * MU)  # mean offset at t = 1 in eigen coordinates
  mean = a[0] * MU + vec @ (shrink * u1)
  return mean, cov


def test_deterministic_sampler_is_mode_seeking():
  sde = sde_lib.SubVPSDE()
  # The reference integrator is right: with the probability-flow factor 0.5
  # it must give back Sigma (a(eps) ~ 1, s(eps) ~ 1e-4).
  _, cov_pf = _deterministic_reference(sde, 0.5)
  np.testing.assert_allclose(cov_pf, SIGMA, atol=2e-3)
  mean_ref, cov_ref = _deterministic_reference(sde, 1.0)
  # Mode seeking: every variance along Sigma's eigenvectors shrinks.
  lam, vec = np.linalg.eigh(SIGMA.astype(np.float64))
  shrunk = np.diag(vec.T @ cov_ref @ vec)
  assert np.all(shrunk < 0.9 * lam), (shrunk, lam)

  # The sampler is an affine map x_T -> A x_T + b; read A and b off exactly
  # from the unit vectors (start="x_init" at t_start = 1), so the
  # comparison has no Monte-Carlo error: cov = A A^T for x_T ~ N(0, I).
  num_steps = 1000
  sample_fn = sampling.make_sampler("deterministic", sde,
                                    gaussian_score_fn(sde),
                                    num_steps=num_steps)
  basis = jnp.concatenate([jnp.zeros((1, D)), jnp.eye(D)])
  out = np.asarray(sample_fn(
      PARAMS, jax.random.key(0),
      sampling.Problem(x_init=basis, t_start=1.0, start="x_init")),
      np.float64)
  b, amat = out[0], (out[1:] - out[0]).T
  # Euler's first-order error: ~1/K relative, with a 3x margin.
  np.testing.assert_allclose(amat @ amat.T, cov_ref, atol=3.0 / num_steps)
  np.testing.assert_allclose(b, mean_ref, atol=3.0 / num_steps)
  np.testing.assert_allclose(b, MU, atol=0.01)  # the mean is still right
  # And with random prior draws the sampler agrees with the same map.
  x = np.asarray(sample_fn(PARAMS, jax.random.key(1),
                           sampling.Problem(x_init=jnp.zeros((2000, D)))))
  assert np.all(np.linalg.eigvalsh(np.cov(x.T)) < 1.7)


def test_imputation_moves_toward_conditional_mean():
  sde = sde_lib.SubVPSDE()
  n = 2000
  obs_value = MU[0] + 1.5  # far from the mean along a correlated coordinate
  observed = jnp.zeros((n, D)).at[:, 0].set(obs_value)
  mask = jnp.zeros((n, D)).at[:, 0].set(1.0)
  cond_mean = MU[1:] + SIGMA[1:, 0] / SIGMA[0, 0] * (obs_value - MU[0])
  shift = cond_mean - MU[1:]  # 0.9 and -0.45
  problem = sampling.Problem(x_init=jnp.zeros((n, D)), observed=observed,
                       observed_mask=mask)
  for method in ("euler_maruyama", "pc", "ode", "deterministic", "ddim"):
    sample_fn = sampling.make_sampler(method, sde, gaussian_score_fn(sde),
                                      num_steps=100)
    x = np.asarray(sample_fn(PARAMS, jax.random.key(2), problem))
    np.testing.assert_array_equal(x[:, 0], np.float32(obs_value))
    # Replacement imputation is approximate (measured fractions of the shift
    # at K=100: EM 0.63/0.85, PC 0.81/1.09, deterministic 0.63/0.88, ODE and
    # DDIM 0.41/0.67).  Require at least 30% of the way from mu to the
    # conditional mean and no overshoot beyond 150%; MC error of the means
    # is about 0.02 / 0.45 = 0.05 of the shift.
    moved = (x[:, 1:].mean(0) - MU[1:]) / shift
    assert np.all(moved > 0.3) and np.all(moved < 1.5), (method, moved)


def test_hypotheses_vmap_equals_loop_and_compile_once():
  sde = sde_lib.SubVPSDE()
  traces = []
  base = gaussian_score_fn(sde)

  def counting_score_fn(params, x, t, cond):
    traces.append(x.shape)  # runs at trace time only
    return base(params, x, t, cond)

  sample_fn = sampling.make_sampler("euler_maruyama", sde, counting_score_fn,
                                    num_steps=20)
  problem = sampling.Problem(x_init=jnp.zeros((5, D)))
  key = jax.random.key(3)
  hyps = sampling.sample_hypotheses(sample_fn, PARAMS, key, problem, 4)
  assert hyps.shape == (4, 5, D)
  loop = np.stack([sample_fn(PARAMS, k, problem)
                   for k in jax.random.split(key, 4)])
  np.testing.assert_allclose(hyps, loop, atol=1e-5)
  assert not np.allclose(hyps[0], hyps[1])  # hypotheses differ

  # Same shapes again (new key, new parameter values): no new trace or
  # compilation.  (jit caches the traced sample_fn by input types, so the
  # score is traced once in all, vmapped or not.)
  hyp_cache = sample_fn.hypotheses_program()._cache_size()
  params2 = (PARAMS[0] + 1.0, PARAMS[1])
  for i in range(3):
    sample_fn(params2, jax.random.key(10 + i), problem)
    sampling.sample_hypotheses(sample_fn, params2, jax.random.key(i), problem, 4)
  assert len(traces) == 1
  assert sample_fn.jitted._cache_size() == 1
  assert sample_fn.hypotheses_program()._cache_size() == hyp_cache
  # A new hypothesis count is a new program (static), compiled once.
  sampling.sample_hypotheses(sample_fn, PARAMS, key, problem, 2)
  sampling.sample_hypotheses(sample_fn, PARAMS, key, problem, 2)
  assert sample_fn.hypotheses_program()._cache_size() == hyp_cache + 1


def test_sample_fn_traces_once_with_chex():
  sde = sde_lib.VPSDE()

  @chex.assert_max_traces(n=1)
  def score_fn(params, x, t, cond):
    return gaussian_score_fn(sde)(params, x, t, cond)

  sample_fn = sampling.make_sampler("ddim", sde, score_fn, num_steps=10)
  problem = sampling.Problem(x_init=jnp.zeros((7, D)), t_start=0.5)
  for i in range(3):
    sample_fn(PARAMS, jax.random.key(i),
              problem.replace(t_start=jnp.float32(0.5 - 0.1 * i)))


def test_start_from_clean_sample_at_small_time_stays_close():
  sde = sde_lib.SubVPSDE()
  x_clean = jax.random.multivariate_normal(
      jax.random.key(4), PARAMS[0], PARAMS[1], (2000,))
  t_start = 0.02
  s = float(sde.marginal_std(t_start))  # ~0.006 for sub-VP
  sample_fn = sampling.make_sampler("euler_maruyama", sde,
                                    gaussian_score_fn(sde), num_steps=20)
  out = sample_fn(PARAMS, jax.random.key(5),
                  sampling.Problem(x_init=x_clean, t_start=t_start,
                                start="x_init"))
  # The reverse process from t_start adds and removes noise of scale about
  # s(t_start) per coordinate; allow an RMS change of 3 s.
  rms = float(jnp.sqrt(jnp.mean((out - x_clean)**2)))
  assert 0 < rms < 3 * s, (rms, s)
  # Starting from the prior instead lands far away: x_init was used.
  far = sample_fn(PARAMS, jax.random.key(5),
                  sampling.Problem(x_init=x_clean, t_start=t_start))
  assert float(jnp.sqrt(jnp.mean((far - x_clean)**2))) > 0.5


def test_bad_inputs_raise_clear_errors():
  sde = sde_lib.VPSDE()
  score_fn = gaussian_score_fn(sde)
  with pytest.raises(ValueError, match="valid names: euler_maruyama, pc, ode"):
    sampling.make_sampler("langevin", sde, score_fn, num_steps=10)
  with pytest.raises(ValueError, match="num_steps"):
    sampling.make_sampler("pc", sde, score_fn, num_steps=0)
  with pytest.raises(ValueError, match="solver"):
    sampling.make_sampler("ode", sde, score_fn, num_steps=5, solver="rk4")
  with pytest.raises(TypeError):
    sampling.make_sampler("euler_maruyama", sde, score_fn, num_steps=5, snr=0.1)
  sample_fn = sampling.make_sampler("euler_maruyama", sde, score_fn,
                                    num_steps=5)
  x = jnp.zeros((4, D))
  with pytest.raises(ValueError, match=r"problem.observed: expected shape \(4, 3\)"):
    sample_fn(PARAMS, jax.random.key(0),
              sampling.Problem(x_init=x, observed=jnp.zeros((4, 2)),
                            observed_mask=jnp.zeros((4, 2))))
  with pytest.raises(ValueError, match="observed_mask must be given"):
    sample_fn(PARAMS, jax.random.key(0), sampling.Problem(x_init=x, observed=x))
  with pytest.raises(ValueError, match="non-finite"):
    sample_fn(PARAMS, jax.random.key(0),
              sampling.Problem(x_init=x.at[0, 0].set(jnp.nan),
                            start="x_init"))
  with pytest.raises(ValueError, match="num_hypotheses"):
    sampling.sample_hypotheses(sample_fn, PARAMS, jax.random.key(0),
                               sampling.Problem(x_init=x), 0)


def test_time_grid_endpoints_spacing_and_uniform_case():
  uniform = np.asarray(sampling.time_grid(1.0, 1e-3, 10))
  np.testing.assert_array_equal(uniform, np.asarray(jnp.linspace(1.0, 1e-3, 11)))
  for rho in (0.5, 2.0, 7.0):
    ts = np.asarray(sampling.time_grid(1.0, 1e-3, 10, rho), np.float64)
    np.testing.assert_allclose([ts[0], ts[-1]], [1.0, 1e-3], rtol=1e-5)
    steps = -np.diff(ts)
    assert np.all(steps > 0)
    # rho > 1: steps shrink towards eps; rho < 1: they grow.
    assert (steps[-1] < steps[0]) == (rho > 1)
  # rho = 2 by hand: t_k = (1 + k/K (sqrt(eps) - 1))^2.
  ts = np.asarray(sampling.time_grid(1.0, 0.04, 2, 2.0), np.float64)
  np.testing.assert_allclose(ts, [1.0, 0.6**2, 0.04], rtol=1e-6)


def test_sampler_specs_parse_and_round_trip():
  assert sampling.parse_spec("pc") == ("pc", {})
  method, opts = sampling.parse_spec("pc: snr=0.1, grid_rho=2,per_example_step=true")
  assert method == "pc"
  assert opts == {"snr": 0.1, "grid_rho": 2, "per_example_step": True}
  assert sampling.parse_spec(sampling.format_spec(method, opts)) == (method, opts)
  with pytest.raises(ValueError, match="unknown sampling method 'euler'"):
    sampling.parse_spec("euler")
  with pytest.raises(ValueError, match="name=value"):
    sampling.parse_spec("pc:snr")
  with pytest.raises(ValueError, match="grid_rho"):
    sampling.make_sampler("euler_maruyama", sde_lib.get_sde("subvp"),
                          gaussian_score_fn(sde_lib.get_sde("subvp")),
                          num_steps=10, grid_rho=0.0)


def test_make_sampler_takes_a_spec_like_keyword_options():
  sde = sde_lib.get_sde("subvp")
  score_fn = gaussian_score_fn(sde)
  problem = sampling.Problem(x_init=jnp.zeros((5, D)))
  key = jax.random.key(3)
  by_spec = sampling.make_sampler("ddim:eta=1,grid_rho=2", sde, score_fn, num_steps=8)
  by_kwargs = sampling.make_sampler("ddim", sde, score_fn, num_steps=8, eta=1.0,
                                    grid_rho=2.0)
  plain = sampling.make_sampler("ddim", sde, score_fn, num_steps=8)
  np.testing.assert_array_equal(by_spec(PARAMS, key, problem), by_kwargs(PARAMS, key, problem))
  assert not np.allclose(by_spec(PARAMS, key, problem), plain(PARAMS, key, problem))
  with pytest.raises(ValueError, match="both in the spec and as keyword"):
    sampling.make_sampler("ddim:eta=1", sde, score_fn, num_steps=8, eta=0.5)


def test_replayed_noise_is_the_hand_written_euler_maruyama():
  # Problem.noise: the sampler uses the given draws, one per step, and
  # equals the update written out by hand with the same numbers.
  sde = sde_lib.SubVPSDE()
  score = gaussian_score_fn(sde)
  k, b = 8, 4
  rng = np.random.default_rng(0)
  x_t = rng.normal(size=(b, D)).astype(np.float32)
  noise = rng.normal(size=(k, b, D)).astype(np.float32)
  sample_fn = sampling.make_sampler("euler_maruyama", sde, score,
                                    num_steps=k, eps=1e-3)
  problem = sampling.Problem(x_init=jnp.asarray(x_t), start="x_init",
                             noise=jnp.asarray(noise))
  got = sample_fn(PARAMS, jax.random.key(0), problem)
  again = sample_fn(PARAMS, jax.random.key(1), problem)  # the key is unused
  np.testing.assert_array_equal(got, again)
  ts = np.linspace(1.0, 1e-3, k + 1)
  x = jnp.asarray(x_t)
  for i in range(k):
    t, dt = ts[i], ts[i] - ts[i + 1]
    f, g = sde.drift_diffusion(x, jnp.asarray(t, jnp.float32))
    mean = x - (f - g**2 * score(PARAMS, x, jnp.asarray(t, jnp.float32),
                                 None)) * dt
    x = mean if i == k - 1 else mean + g * np.sqrt(dt) * noise[i]
  np.testing.assert_allclose(got, x, atol=1e-5)
  pc = sampling.make_sampler("pc", sde, score, num_steps=k)
  with pytest.raises(ValueError, match="more than one normal per step"):
    pc(PARAMS, jax.random.key(0), problem)
  with pytest.raises(ValueError, match="problem.noise"):
    sample_fn(PARAMS, jax.random.key(0), problem.replace(
        noise=jnp.zeros((k + 1, b, D))))
