"""Denoising score matching in the epsilon parameterisation.

The network predicts the noise z of x_t = a(t) x0 + s(t) z; the score of the
perturbed marginal is then -eps(x_t, t) / s(t).  Training minimises

  E_{t ~ U(eps, T), x0, z} || eps_theta(x_t, t, c) - z ||^2,

summed over the data dimensions (GFPose) or averaged over them (DPoser), and
averaged over the batch.  With the optimal predictor E[z | x_t] the loss does
not reach zero: what remains is the posterior variance of z, the quantity
tests/test_losses.py checks against its closed form for Gaussian data.
"""
from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

from jaxpose import checks
from jaxpose import settings

_REDUCTIONS = ("sum", "mean", "half_sum")


def _per_example_scale(v, x):
  """Scalar stays scalar; `[B]` becomes `[B, 1, ..., 1]` to broadcast with x."""
  v = jnp.asarray(v)
  return v if v.ndim == 0 else v.reshape(v.shape + (1,) * (x.ndim - 1))


def make_score_fn(apply_fn: Callable, sde) -> Callable:
  """Wraps an epsilon network as a score function.

  Args:
    apply_fn: `apply_fn(params, x, t, cond, *, train, dropout_key) -> eps`.
    sde: a forward process with `marginal_std(t)`.

  Returns:
    `score_fn(params, x [B, D], t (scalar or [B]), cond=None) -> [B, D]`,
    the score `-eps(x, t, cond) / s(t)` of the deterministic network.
  """

  def score_fn(params, x, t, cond=None):
    eps = apply_fn(params, x, t, cond)
    return -eps / _per_example_scale(sde.marginal_std(t), eps)

  return score_fn


def dsm_loss(params, x0: jax.Array, cond: Any, key: jax.Array, *,
             apply_fn: Callable, sde, eps: float = 1e-5,
             reduce: str = "sum", train: bool = True, prior=None):
  """Monte-Carlo denoising score matching loss of one batch.

  Args:
    params: network parameters (differentiated).
    x0: `[B, ...]` clean, normalised data (e.g. `[B, D]` or `[B, J, 3]`).
    cond: the network's condition for x0 (already masked/augmented), or None.
    key: randomness for t, the noise and (when training) dropout.
    apply_fn: `apply_fn(params, x, t, cond, *, train, dropout_key) -> eps`.
    sde: forward process (`sample_time`, `perturb`).
    eps: smallest training time of a continuous process (a discrete chain
      draws integer steps and ignores it).
    reduce: 'sum' over the non-batch dims (GFPose), 'mean' (DPoser) or
      'half_sum' (half the sum: GFPose's released training code, whose
      gradient clipping at norm 1 then acts on half the gradient), then the
      mean over the batch.
    train: dropout on, with a key derived from `key`.
    prior: None or a `priors.GaussianPrior` broadcastable to x0 (one kernel
      per example for DiffPose): x_t = mu + a (x0 - mu) + s c z, and the
      network still predicts z (so its score is -eps / (s c), where
      `make_score_fn` divides by s alone).

  Returns:
    `(loss, aux)`: the scalar loss and a dict with `t` `[B]` and
    `per_example` `[B]` losses.
  """
  settings.one_of("reduce", reduce, _REDUCTIONS)
  shape = checks.check_batched("x0", x0)
  batch = shape[0]
  k_t, k_noise, k_drop = jax.random.split(key, 3)
  t = sde.sample_time(k_t, (batch,), eps)  # [B]
  x_t, noise = sde.perturb(k_noise, x0, t, prior)  # [B, ...] each
  pred = apply_fn(params, x_t, t, cond, train=train,
                  dropout_key=k_drop if train else None)  # [B, ...]
  sq = jnp.square(pred - noise).reshape(batch, -1)  # [B, D]
  per_example = (sq.mean(-1) if reduce == "mean"
                 else sq.sum(-1) * (0.5 if reduce == "half_sum" else 1.0))  # [B]
  return per_example.mean(), {"t": t, "per_example": per_example}


__all__ = ["make_score_fn", "dsm_loss"]
