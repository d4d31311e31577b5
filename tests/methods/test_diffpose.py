"""DiffPose's forward process, H_K fit and sampler against closed forms.

The state is [u, v, x, y, z] per joint; a kernel (mean m, std c) of the
mixture sits around each row's centre, mu = centre + m, and

  h_t = mu + a(t) (h_0 - mu) + s(t) c z  ~  N(mu + a (h_0 - mu), (s c)^2).

For Gaussian data h_0 ~ N(m0, v0) that law is N(mu + a (m0 - mu), a^2 v0 +
s^2 c^2), whose noise posterior E[z | h_t] is exact, so DDIM driven by it
must bring N(m0, v0) back from H_K.
"""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpose.core import gmm as gmm_lib
from jaxpose.core import priors
from jaxpose.core import sampling
from jaxpose.core import sde as sde_lib
from jaxpose.methods.diffpose import initial as initial_lib
from jaxpose.methods.diffpose import process
from jaxpose.workdir import prepared as prepared_lib

J = 3
S = process.STATE_DIM


def _mixture(means, scales, weights):
  return priors.MixturePrior(weights=jnp.asarray(weights, jnp.float32),
                             means=jnp.asarray(means, jnp.float32),
                             scales=jnp.asarray(scales, jnp.float32))


def _kernel(seed=0):
  rng = np.random.default_rng(seed)
  mean = rng.normal(scale=0.5, size=(1, J, S)).astype(np.float32)
  scale = rng.uniform(0.2, 1.5, size=(1, J, S)).astype(np.float32)
  return mean, scale


@pytest.mark.parametrize("centred", [True, False])
def test_forward_marginal_of_a_fixed_kernel_matches_the_closed_form(centred):
  sde = sde_lib.DiscreteVP.linear(50, 1e-4, 0.2)
  mean, scale = _kernel()
  proc = process.MixtureProcess(sde=sde, mixture=_mixture(mean, scale, [1.0]),
                                centred=centred)
  n, k = 40_000, 17
  rng = np.random.default_rng(1)
  h0_row = rng.normal(size=(J, S)).astype(np.float32)
  centre_row = rng.normal(size=(J, S)).astype(np.float32)
  h0 = jnp.broadcast_to(h0_row, (n, J, S))
  centre = jnp.broadcast_to(centre_row, (n, J, S))
  t = sde.time(k)
  drawn = proc.perturb(jax.random.key(0), h0, t, centre)
  h_t, z, prior = drawn.h_t, drawn.z, drawn.prior
  np.testing.assert_array_equal(drawn.kernel, 0)  # the one kernel
  a = float(np.sqrt(np.prod(1 - np.linspace(1e-4, 0.2, 50)[:k + 1])))
  s = math.sqrt(1 - a * a)
  mu = (centre_row if centred else 0.0) + mean[0]
  # The draw itself is the paper's line, term by term.
  np.testing.assert_allclose(prior.mean[0], mu, atol=1e-6)
  np.testing.assert_allclose(
      h_t, mu + a * (h0 - mu) + s * scale[0] * z, atol=1e-5)
  # And its moments over many draws are the closed form's.
  h_t = np.asarray(h_t, np.float64)
  sd = s * scale[0]
  np.testing.assert_array_less(np.abs(h_t.mean(0) - (mu + a * (h0_row - mu))),
                               5 * sd / math.sqrt(n))
  np.testing.assert_array_less(np.abs(h_t.std(0) / sd - 1),
                               5 / math.sqrt(2 * n))


def test_kernels_are_drawn_by_their_weights():
  weights = np.array([1.0, 2.5, 1.5])  # unnormalised: 0.2, 0.5, 0.3
  means = np.stack([np.full((J, S), v, np.float32) for v in (-10.0, 0.0, 10.0)])
  proc = process.MixtureProcess(
      sde=sde_lib.DiscreteVP.linear(10),
      mixture=_mixture(means, np.full((3, J, S), 0.1), weights))
  n = 30_000
  centre = jnp.zeros((n, J, S))
  prior = proc.draw(jax.random.key(3), centre)
  picked = np.round(np.asarray(prior.mean[:, 0, 0]) / 10).astype(int) + 1
  freq = np.bincount(picked, minlength=3) / n
  p = weights / weights.sum()
  np.testing.assert_array_less(np.abs(freq - p), 5 * np.sqrt(p * (1 - p) / n))
  # Every number of a row comes from the one kernel drawn for it.
  assert np.all(np.asarray(prior.mean) == np.asarray(prior.mean)[:, :1, :1])


def test_single_kernel_fit_is_the_sample_moments():
  rng = np.random.default_rng(0)
  error = rng.normal(loc=0.3, scale=0.7, size=(500, J, S)).astype(np.float32)
  error[..., :2] = 0.0  # exact 2D: no spread, only the regulariser's
  fit = initial_lib.fit_initial(jax.random.key(0), error, 1, max_iters=50,
                                tol=1e-6, reg=1e-6)
  assert fit.centred and fit.num_kernels == 1
  np.testing.assert_allclose(fit.weights, [1.0], atol=1e-6)
  np.testing.assert_allclose(fit.means[0], error.mean(0), atol=1e-5)
  np.testing.assert_allclose(fit.scales[0], np.sqrt(error.var(0) + 1e-6),
                             rtol=1e-4)
  assert fit.info["rms_2d"] == 0.0
  assert fit.info["rms_3d"] == pytest.approx(
      np.sqrt(np.mean(error[..., 2:] ** 2)), rel=1e-5)


def test_mixture_fit_recovers_a_synthetic_mixture_and_round_trips(tmp_path):
  rng = np.random.default_rng(1)
  true_w = np.array([0.2, 0.5, 0.3])
  true_means = np.stack([np.full((J, S), v) for v in (-2.0, 0.0, 3.0)])
  true_means += rng.normal(scale=0.3, size=true_means.shape)
  true_scales = rng.uniform(0.2, 0.5, size=(3, J, S))
  n = 4000
  comp = rng.choice(3, size=n, p=true_w)
  error = (true_means[comp] + true_scales[comp]
           * rng.normal(size=(n, J, S))).astype(np.float32)
  fit = initial_lib.fit_initial(jax.random.key(2), error, 3, max_iters=300,
                                tol=1e-5, reg=1e-6, info={"note": "synthetic"})
  order = np.argsort(fit.means[:, 0, 0])  # kernels in the truth's order
  np.testing.assert_allclose(fit.weights[order], true_w, atol=0.03)
  np.testing.assert_allclose(fit.means[order], true_means, atol=0.08)
  np.testing.assert_allclose(fit.scales[order], true_scales, rtol=0.15)
  assert fit.info["note"] == "synthetic" and fit.info["num_rows"] == n
  # Stored as DiffPose's prepared artefact and read back, bit for bit.
  artefact = fit.to_artefact()
  prepared_lib.save(str(tmp_path), {initial_lib.ARTEFACT: artefact}, {})
  loaded, index = prepared_lib.load(str(tmp_path))
  assert index["artefacts"][initial_lib.ARTEFACT]["digest"] == artefact.digest()
  back = initial_lib.Initial.from_artefact(loaded[initial_lib.ARTEFACT])
  assert back.to_artefact().digest() == artefact.digest()
  assert back.info == fit.info and back.centred is True
  for name in ("weights", "means", "scales"):
    np.testing.assert_array_equal(getattr(back, name), getattr(fit, name))
  moved = initial_lib.Initial(weights=fit.weights, means=fit.means + 1e-3,
                              scales=fit.scales, centred=True, info={})
  assert moved.to_artefact().digest() != artefact.digest()
  # Around 0 rather than each row's centre is another H_K too.
  uncentred = initial_lib.Initial(weights=fit.weights, means=fit.means,
                                  scales=fit.scales, centred=False, info={})
  assert uncentred.to_artefact().digest() != artefact.digest()


def test_a_fit_that_does_not_converge_raises_with_the_reason():
  rng = np.random.default_rng(2)
  error = rng.normal(size=(300, J, S)).astype(np.float32)
  error[:100] += 3.0
  with pytest.raises(gmm_lib.GMMFitError, match="did not converge"):
    initial_lib.fit_initial(jax.random.key(0), error, 5, max_iters=1,
                            tol=1e-8, reg=1e-6)
  with pytest.raises(ValueError, match="error"):
    initial_lib.fit_initial(jax.random.key(0), error[..., :3], 1, max_iters=5,
                            tol=1e-3, reg=1e-6)


def test_standard_prior_and_start_matching():
  error = np.zeros((10, J, S), np.float32)
  error[..., :2] = 0.02
  init = initial_lib.standard_initial(error, scale_3d=1.0, floor=1e-3)
  assert not init.centred and init.num_kernels == 1
  np.testing.assert_allclose(init.scales[..., :2], 0.02, rtol=1e-6)
  np.testing.assert_allclose(init.scales[..., 2:], 1.0)
  np.testing.assert_array_equal(init.means, 0.0)
  # The released schedule: s_k = sqrt(1 - abar_k) runs 0.01 .. 0.166.
  sde = sde_lib.DiscreteVP.linear(51, 1e-4, 1e-3)
  stds = np.sqrt(1 - np.cumprod(1 - np.linspace(1e-4, 1e-3, 51)))
  k = initial_lib.match_start_step(sde, 0.08, 1.0)
  assert abs(stds[k] - 0.08) == np.min(np.abs(stds - 0.08))
  assert initial_lib.match_start_step(sde, 0.08, 2.0) < k


def _exact_noise_net(sde, m0, v0, mean, scale, network_input):
  """The exact E[z | h_t] of h_0 ~ N(m0, v0) under the kernel (mean, scale)
  around the centre, which the fake network reads from its features; it
  rebuilds h from what it is handed (`network_input`)."""

  def apply_fn(params, x, t, features):
    del params
    mu = features + mean
    h = x + features if network_input == "residual" else mu + scale * x
    a = sde.mean_coeff(t)
    s = sde.marginal_std(t)
    var = a**2 * v0 + s**2 * scale**2
    return s * scale * (h - (mu + a * (m0 - mu))) / var

  return apply_fn


@pytest.mark.parametrize("network_input", ["residual", "standardised"])
def test_ddim_from_h_k_with_the_exact_noise_recovers_gaussian_data(
    network_input):
  sde = sde_lib.DiscreteVP.linear(200, 1e-4, 0.1)  # sqrt(abar_K) = 0.004
  mean, scale = _kernel(3)
  rng = np.random.default_rng(4)
  m0 = rng.normal(size=(J, S)).astype(np.float32)
  v0 = 0.3
  proc = process.MixtureProcess(sde=sde, mixture=_mixture(mean, scale, [1.0]))
  apply_fn = _exact_noise_net(sde, m0, v0, mean[0], scale[0], network_input)
  noise_fn = process.make_noise_fn(apply_fn, network_input=network_input)
  sampler = sampling.make_sampler("ddim", sde,
                                  process.make_score_fn(noise_fn, sde),
                                  num_steps=100, eps=0.0)
  fn = jax.jit(process.make_hypotheses_fn(sampler, proc, 2, "prior"))
  n = 3000
  centre = jnp.asarray(rng.normal(scale=0.5, size=(n, J, S)), jnp.float32)
  out = np.asarray(fn(None, jax.random.key(5), centre, centre, 1.0),
                   np.float64).reshape(-1, J, S)
  assert out.shape == (2 * n, J, S)
  # Bias: the terminal law misses H_K by sqrt(abar_K) (m0 - mu) and DDIM's
  # discretisation; both small against the sampling error's 5 SE.
  se = math.sqrt(v0 / (2 * n))
  np.testing.assert_array_less(np.abs(out.mean(0) - m0), 5 * se + 0.02)
  np.testing.assert_array_less(np.abs(out.var(0) - v0),
                               5 * v0 * math.sqrt(2 / (2 * n)) + 0.02)


def test_each_hypothesis_draws_its_own_kernel():
  # With a zero noise net and tiny stds, DDIM lands on its kernel's mean,
  # so the outputs name the kernel each hypothesis drew.
  sde = sde_lib.DiscreteVP.linear(20, 1e-4, 0.4)
  weights = np.array([0.2, 0.5, 0.3])
  means = np.stack([np.full((J, S), v, np.float32) for v in (-10.0, 0.0, 10.0)])
  proc = process.MixtureProcess(
      sde=sde, mixture=_mixture(means, np.full((3, J, S), 1e-4), weights))
  zero = lambda params, h, t, features: jnp.zeros_like(h)
  noise_fn = process.make_noise_fn(zero, network_input="state")
  sampler = sampling.make_sampler("ddim", sde, process.make_score_fn(noise_fn, sde),
                                  num_steps=4, eps=0.0)
  n, hyps = 2000, 8
  centre = jnp.zeros((n, J, S))
  out = np.asarray(jax.jit(process.make_hypotheses_fn(sampler, proc, hyps,
                                                      "prior"))(
      None, jax.random.key(6), centre, centre, 1.0))  # [N, n, J, S]
  picked = np.round(out[..., 0, 0] / 10).astype(int) + 1  # [N, n]
  np.testing.assert_allclose(np.abs(out - (picked[..., None, None] - 1) * 10),
                             0.0, atol=0.05)
  freq = np.bincount(picked.ravel(), minlength=3) / picked.size
  np.testing.assert_array_less(
      np.abs(freq - weights), 5 * np.sqrt(weights * (1 - weights) / picked.size))
  # Not one draw per row shared by its hypotheses.
  assert np.mean(np.all(picked == picked[:1], axis=0)) < 0.01
