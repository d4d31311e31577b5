"""A tiny self-contained model and loss for the training-machinery tests.

The loss draws randomness from its key the way the score-matching losses do:
per-example input noise and dropout masks, so tests see whether the step's
randomness is handled right (fold-in of the step, independence from the
device count).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

D_IN, D_OUT, HIDDEN = 4, 2, 16


class ToyMLP(nnx.Module):
  """Linear -> tanh -> dropout -> linear."""

  def __init__(self, rngs: nnx.Rngs, dropout: float = 0.2):
    self.fc1 = nnx.Linear(D_IN, HIDDEN, rngs=rngs)
    self.fc2 = nnx.Linear(HIDDEN, D_OUT, rngs=rngs)
    self.rate = dropout

  def __call__(self, x, dropout_key=None):  # x: [B, D_IN]
    h = jnp.tanh(self.fc1(x))
    if dropout_key is not None and self.rate > 0:
      keep = jax.random.bernoulli(dropout_key, 1.0 - self.rate, h.shape)
      h = jnp.where(keep, h / (1.0 - self.rate), 0.0)
    return self.fc2(h)


def make_model(seed: int = 0, dropout: float = 0.2):
  """Returns (graphdef, params) of the toy MLP."""
  model = ToyMLP(nnx.Rngs(seed), dropout=dropout)
  graphdef, params = nnx.split(model, nnx.Param)
  return graphdef, params


def make_loss_fn(graphdef, noise_std: float = 0.1):
  """`loss_fn(params, batch, key) -> (loss, aux)` with noise and dropout."""

  def loss_fn(params, batch, key):
    x, y = batch["x"], batch["y"]  # [B, D_IN], [B, D_OUT]
    k_noise, k_drop = jax.random.split(key)
    x = x + noise_std * jax.random.normal(k_noise, x.shape, x.dtype)
    pred = nnx.merge(graphdef, params)(x, dropout_key=k_drop)
    loss = jnp.mean(jnp.sum((pred - y) ** 2, axis=-1))
    return loss, {"mse": loss}

  return loss_fn


TRUE_W = np.linspace(-1.0, 1.0, D_IN * D_OUT).reshape(D_IN, D_OUT)


def make_batch_fn(batch_size: int, seed: int = 0, rows: slice | None = None,
                  dtype=np.float32):
  """Stateless data: `batch_fn(step)` draws a regression batch from `step`.

  `rows` selects this process's share of the global batch.
  """
  rows = slice(None) if rows is None else rows

  def batch_fn(step):
    rng = np.random.default_rng([seed, step])
    x = rng.normal(size=(batch_size, D_IN))
    y = np.sin(x @ TRUE_W)
    return {"x": x[rows].astype(dtype), "y": y[rows].astype(dtype)}

  return batch_fn
