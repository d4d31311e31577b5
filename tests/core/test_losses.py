"""Denoising score matching against the closed form of Gaussian data.

For x0 ~ N(mu, Sigma) and x_t = a x0 + s z, the best epsilon predictor is
E[z | x_t] = s (a^2 Sigma + s^2 I)^{-1} (x_t - a mu), and its expected loss
at time t is the posterior variance of z, tr(I - s^2 (a^2 Sigma + s^2 I)^{-1})
= sum_k a^2 l_k / (a^2 l_k + s^2) over the eigenvalues l_k of Sigma.
Averaging over t ~ U(eps, 1) by quadrature gives the exact expected loss, which
the Monte-Carlo loss must match within Z standard errors of its own sample.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpose import models
from jaxpose.core import losses
from jaxpose.core import sde as sde_lib

Z = 5.0  # tolerance in standard errors; false alarm probability < 1e-6
EPS_T = 1e-5
SDE = sde_lib.SubVPSDE(beta_min=0.1, beta_max=20.0)

MU = np.array([2.0, -1.0, 0.5])
_A = np.array([[1.0, 0.3, 0.0], [0.2, 0.7, 0.4], [0.0, -0.5, 1.2]])
SIGMA = _A @ _A.T + 0.1 * np.eye(3)
LAM, U = np.linalg.eigh(SIGMA)


def _a_s_numpy(t):
  """GFPose's sub-VP coefficients, written out independently of jaxpose.core.sde."""
  a = np.exp(-t ** 2 * (20.0 - 0.1) / 4 - t * 0.1 / 2)
  return a, 1.0 - a ** 2


def _expected(wrong_mean=False, n=200_001):
  t = np.linspace(EPS_T, 1.0, n)
  a, s = _a_s_numpy(t)
  denom = a[:, None] ** 2 * LAM + s[:, None] ** 2  # [n, 3]
  f = (a[:, None] ** 2 * LAM / denom).sum(1)
  if wrong_mean:  # excess of a predictor that assumes mu = 0
    m = U.T @ MU
    f = f + ((s * a)[:, None] * m / denom) ** 2 @ np.ones(3)
  return np.trapezoid(f, t) / (1.0 - EPS_T)


def _oracle_apply(params, x, t, cond=None, *, train=False, dropout_key=None):
  """Exact E[z | x_t] for Gaussian data; params = (mu, eigvals, eigvecs)."""
  del cond, train, dropout_key
  mu, lam, u = params
  a = sde_lib.broadcast_to_batch(SDE.mean_coeff(t), x)
  s = sde_lib.broadcast_to_batch(SDE.marginal_std(t), x)
  y = (x - a * mu) @ u  # eigenbasis
  return (y * s / (a ** 2 * lam + s ** 2)) @ u.T


ORACLE = (jnp.asarray(MU, jnp.float32), jnp.asarray(LAM, jnp.float32),
          jnp.asarray(U, jnp.float32))
WRONG = (jnp.zeros(3), ORACLE[1], ORACLE[2])


def _gaussian_batch(n, seed=0):
  z = np.random.default_rng(seed).normal(size=(n, 3))
  return jnp.asarray(MU + z @ np.linalg.cholesky(SIGMA).T, jnp.float32)


@functools.partial(jax.jit, static_argnames=("reduce",))
def _oracle_loss(params, x0, key, reduce="sum"):
  return losses.dsm_loss(params, x0, None, key, apply_fn=_oracle_apply,
                         sde=SDE, eps=EPS_T, reduce=reduce)


def test_sde_matches_paper_coefficients():
  t = np.array([1e-3, 0.1, 0.5, 1.0])
  a, s = _a_s_numpy(t)
  np.testing.assert_allclose(SDE.mean_coeff(t), a, rtol=1e-5)
  np.testing.assert_allclose(SDE.marginal_std(t), s, rtol=1e-4)


def test_oracle_loss_matches_closed_form_and_wrong_scores_higher():
  n = 200_000
  x0 = _gaussian_batch(n)
  key = jax.random.key(0)
  loss, aux = _oracle_loss(ORACLE, x0, key)
  per = np.asarray(aux["per_example"], np.float64)
  se = per.std() / np.sqrt(n)
  want = _expected()
  assert Z * se < 0.05 * want  # the check has teeth
  assert abs(float(loss) - want) < Z * se, (float(loss), want, se)
  assert aux["t"].shape == (n,)
  assert float(aux["t"].min()) >= EPS_T and float(aux["t"].max()) <= 1.0

  wrong, aux_w = _oracle_loss(WRONG, x0, key)
  se_w = np.asarray(aux_w["per_example"], np.float64).std() / np.sqrt(n)
  want_w = _expected(wrong_mean=True)
  assert want_w - want > 10 * (se + se_w)
  assert float(wrong) > float(loss) + 10 * (se + se_w)
  assert abs(float(wrong) - want_w) < Z * se_w


def test_mean_reduction_is_sum_over_dims():
  x0 = _gaussian_batch(1000, seed=1)
  key = jax.random.key(3)
  total, aux = _oracle_loss(ORACLE, x0, key, reduce="sum")
  mean, aux_m = _oracle_loss(ORACLE, x0, key, reduce="mean")
  np.testing.assert_allclose(mean, total / 3, rtol=1e-6)
  np.testing.assert_allclose(aux_m["per_example"], aux["per_example"] / 3,
                             rtol=1e-6)
  # GFPose's released training: half the sum over dims.
  half, _ = _oracle_loss(ORACLE, x0, key, reduce="half_sum")
  np.testing.assert_allclose(half, total / 2, rtol=1e-6)


def test_score_fn_is_gaussian_score():
  x = _gaussian_batch(8, seed=2) * 0.5
  score_fn = losses.make_score_fn(_oracle_apply, SDE)
  sigma = jnp.asarray(SIGMA, jnp.float32)
  for t in (0.3, jnp.linspace(0.05, 1.0, 8)):
    a = sde_lib.broadcast_to_batch(SDE.mean_coeff(t), x)
    s = sde_lib.broadcast_to_batch(SDE.marginal_std(t), x)
    # grad log N(x; a mu, a^2 Sigma + s^2 I), row by row.
    cov = (a[..., None] ** 2 * sigma
           + s[..., None] ** 2 * jnp.eye(3))  # [B or 1, 3, 3]
    cov = jnp.broadcast_to(cov, (8, 3, 3))
    want = -jnp.linalg.solve(cov, (x - a * ORACLE[0])[..., None])[..., 0]
    np.testing.assert_allclose(score_fn(ORACLE, x, t), want, rtol=2e-4,
                               atol=2e-4)


SMALL = dict(data_dim=6, cond_dim=6, hidden=32, embed_dim=16, num_blocks=1,
             dropout=0.25, num_groups=8)


@pytest.fixture(scope="module")
def net():
  graphdef, params = models.create_model("score_mlp", key=jax.random.key(0),
                                         **SMALL)
  return models.make_apply(graphdef), params


def _batch(n=16):
  rng = np.random.default_rng(4)
  x0 = jnp.asarray(rng.normal(size=(n, 6)), jnp.float32)
  c = jnp.asarray(rng.normal(size=(n, 6)), jnp.float32)
  m = jnp.asarray(rng.random((n, 6)) < 0.8, jnp.float32)
  return x0, (c, m)


def test_jit_grad_through_model(net):
  apply, params = net
  x0, cond = _batch()
  loss_fn = functools.partial(losses.dsm_loss, apply_fn=apply, sde=SDE)
  grad_fn = jax.jit(jax.value_and_grad(loss_fn, has_aux=True))
  (loss, aux), grads = grad_fn(params, x0, cond, jax.random.key(1))
  assert np.isfinite(float(loss)) and float(loss) > 0
  leaves = jax.tree.leaves(grads)
  assert all(np.all(np.isfinite(g)) for g in leaves)
  # The output layer and the condition path both receive gradient.
  assert float(jnp.abs(grads["out"]["kernel"][...]).sum()) > 0
  assert float(jnp.abs(grads["cond_embed"]["kernel"][...]).sum()) > 0
  # A gradient step lowers the loss on the same draw (the gradient is real).
  step = jax.tree.map(lambda p, g: p - 1e-3 * g, params, grads)
  eval_fn = functools.partial(loss_fn, train=False)
  assert (float(eval_fn(step, x0, cond, jax.random.key(1))[0])
          < float(eval_fn(params, x0, cond, jax.random.key(1))[0]))


def test_dropout_follows_train_flag(net):
  apply, params = net
  x0, cond = _batch()
  key = jax.random.key(2)
  kw = dict(apply_fn=apply, sde=SDE)
  train_a = losses.dsm_loss(params, x0, cond, key, **kw)[0]
  train_b = losses.dsm_loss(params, x0, cond, key, **kw)[0]
  evals = losses.dsm_loss(params, x0, cond, key, train=False, **kw)[0]
  assert float(train_a) == float(train_b)  # key-determined
  assert float(train_a) != float(evals)  # dropout was on
  # Without dropout both modes agree exactly (same t and noise from the key).
  graphdef, p0 = models.create_model("score_mlp", key=jax.random.key(0),
                                     **{**SMALL, "dropout": 0.0})
  kw0 = dict(apply_fn=models.make_apply(graphdef), sde=SDE)
  np.testing.assert_allclose(
      losses.dsm_loss(p0, x0, cond, key, **kw0)[0],
      losses.dsm_loss(p0, x0, cond, key, train=False, **kw0)[0], rtol=1e-6)


def test_bad_arguments(net):
  apply, params = net
  x0, cond = _batch()
  with pytest.raises(ValueError, match="reduce"):
    losses.dsm_loss(params, x0, cond, jax.random.key(0), apply_fn=apply,
                    sde=SDE, reduce="max")
  with pytest.raises(ValueError, match="x0"):
    losses.dsm_loss(params, x0[0], cond, jax.random.key(0), apply_fn=apply,
                    sde=SDE)
  with pytest.raises(ValueError, match=r"x: expected shape \(B, "):
    losses.dsm_loss(params, x0[:, :5], cond, jax.random.key(0),
                    apply_fn=apply, sde=SDE)


def test_prior_reaches_the_perturbation():
  # An oracle told x0 and the prior through cond recovers the noise exactly
  # when it assumes the prior the loss used, and not otherwise.
  from jaxpose.core import priors
  n = 64
  x0 = _gaussian_batch(n, seed=5)
  prior = priors.GaussianPrior(
      mean=jnp.asarray(np.random.default_rng(6).normal(size=(n, 3)),
                       jnp.float32),
      scale=jnp.array([0.5, 2.0, 1.5]))

  def oracle(params, x_t, t, cond, *, train=False, dropout_key=None):
    del params, train, dropout_key
    x0, mu, c = cond
    a = sde_lib.broadcast_to_batch(SDE.mean_coeff(t), x_t)
    s = sde_lib.broadcast_to_batch(SDE.marginal_std(t), x_t)
    return (x_t - mu - a * (x0 - mu)) / (s * c)

  key = jax.random.key(7)
  kw = dict(apply_fn=oracle, sde=SDE, eps=1e-2)
  told = (x0, prior.mean, prior.scale)
  loss, _ = losses.dsm_loss(None, x0, told, key, prior=prior, **kw)
  assert float(loss) < 1e-6
  loss_none, _ = losses.dsm_loss(None, x0, (x0, 0.0, 1.0), key, **kw)
  assert float(loss_none) < 1e-6
  wrong, _ = losses.dsm_loss(None, x0, (x0, 0.0, 1.0), key, prior=prior, **kw)
  assert float(wrong) > 1.0


def test_structured_data_reduces_over_every_non_batch_dim():
  # [B, J, 3] poses give the loss of the same data flattened to [B, 3 J].
  def apply(params, x, t, cond, *, train=False, dropout_key=None):
    del params, t, cond, train, dropout_key
    return 0.5 * x

  x0 = jax.random.normal(jax.random.key(8), (5, 4, 3))
  key = jax.random.key(9)
  for reduce in ("sum", "mean"):
    kw = dict(apply_fn=apply, sde=SDE, reduce=reduce)
    loss, aux = losses.dsm_loss(None, x0, None, key, **kw)
    flat, aux_flat = losses.dsm_loss(None, x0.reshape(5, 12), None, key, **kw)
    np.testing.assert_allclose(loss, flat, rtol=1e-6)
    assert aux["per_example"].shape == (5,)
