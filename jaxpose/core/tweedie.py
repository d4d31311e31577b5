"""Tweedie's formula: the one-step denoised estimate of x0 from x_t.

For x_t = mu + a (x0 - mu) + s c z (prior (mu, c); mu = 0, c = 1 without
one) the posterior mean of x0 is

  E[x0 | x_t] = mu + (x_t - mu + (s c)^2 grad log p_t(x_t)) / a,

exact when the score is.  DPoser's regulariser denoises this way at a
randomly drawn t and compares the estimate with the pose being fitted; DDIM
takes the same estimate at every step.
"""
from __future__ import annotations

from typing import Any, Callable

import jax

from jaxpose.core import priors as priors_lib
from jaxpose.core.sde import broadcast_to_batch

Array = jax.Array

__all__ = ["tweedie_x0"]


def tweedie_x0(score_fn: Callable, params, x_t, t, cond: Any = None, *, sde,
               prior=None, stop_gradient: bool = False) -> Array:
  """x0_hat = mu + (x_t - mu + (s c)^2 score(x_t, t)) / a.

  Args:
    score_fn: `score_fn(params, x, t, cond) -> score`, x `[B, ...]`.
    params: the score function's parameters.
    x_t: `[B, ...]` noisy data at time t.
    t: scalar or `[B]`, passed to score_fn as given.
    cond: the score function's condition, or None.
    sde: the forward process (`mean_coeff`, `marginal_std`).
    prior: None or a `priors.GaussianPrior` (mu, c) broadcastable to x_t.
    stop_gradient: cut the gradient through the score (to x_t and params);
      the affine path x_t / a keeps its gradient.  To treat the whole
      estimate as a constant, as DPoser's loss does, wrap the result in
      `jax.lax.stop_gradient` instead.

  Returns:
    x0_hat, `[B, ...]`.
  """
  score = score_fn(params, x_t, t, cond)  # [B, ...]
  if stop_gradient:
    score = jax.lax.stop_gradient(score)
  a = broadcast_to_batch(sde.mean_coeff(t), x_t)
  s = broadcast_to_batch(sde.marginal_std(t), x_t)
  if prior is None:
    return (x_t + s**2 * score) / a
  priors_lib.check_gaussian(prior, x_t.shape)
  mu = prior.mean
  return mu + (x_t - mu + (s * prior.scale) ** 2 * score) / a
