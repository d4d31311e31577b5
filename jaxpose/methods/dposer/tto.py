"""Test-time optimisation: one compiled Adam loop, vmapped over examples.

DPoser solves every task (completion, motion denoising, fitting to 2D) by
optimising a small set of variables per example under a data term plus a
prior term.  `adam_loop` turns a per-example objective into one function
`run(variables, key)` whose whole loop (`lax.scan` over the steps) is a
single XLA program; `batched` vmaps it over examples (each with its own key),
so a task compiles once however many examples it has, and a time t shared
by the batch reaches the score network as a scalar (one time embedding,
broadcast; the authors' code embeds t per row).
"""
from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxpose import checks
from jaxpose.evaluation import chunks

# loss_fn(variables, key, step) -> scalar, for one example.
Objective = Callable[[Any, jax.Array, jax.Array], jax.Array]


def adam_loop(objective: Objective, num_steps: int, learning_rate: float, *,
              b1: float = 0.9, b2: float = 0.999):
  """`run(variables, key) -> (variables, losses [num_steps])`.

  Step i calls `objective(variables, fold_in(key, i), i)`; the objective may
  change its weights with i (staged fitting, a time schedule).  Not jitted
  here: the caller jits the vmapped function once (`batched`).
  """
  num_steps = checks.check_positive_int("num_steps", num_steps)
  if not learning_rate > 0:
    raise ValueError(f"learning_rate: expected > 0, got {learning_rate!r}")
  optimizer = optax.adam(learning_rate, b1=b1, b2=b2)
  grad_fn = jax.value_and_grad(objective)

  def run(variables, key):
    def step(carry, i):
      params, opt_state = carry
      loss, grads = grad_fn(params, jax.random.fold_in(key, i), i)
      updates, opt_state = optimizer.update(grads, opt_state, params)
      return (optax.apply_updates(params, updates), opt_state), loss

    (params, _), losses = jax.lax.scan(step, (variables, optimizer.init(variables)),
                                       jnp.arange(num_steps))
    return params, losses

  return run


def batched(run):
  """jit(vmap(run)) over a leading example axis of variables and keys."""
  return jax.jit(jax.vmap(run))


def example_keys(key, num: int):
  """One key per example, `[num]` keys."""
  return jax.random.split(key, num)


def gmof(residual_sq, sigma):
  """Geman-McClure robust penalty of squared residuals (SMPLify's GMoF):
  sigma^2 r^2 / (sigma^2 + r^2), quadratic near 0, bounded by sigma^2."""
  s2 = jnp.square(sigma)
  return s2 * residual_sq / (s2 + residual_sq)


def map_examples(solve, inputs: dict, key, *, batch_size: int, desc: str):
  """`solve(**chunk, key=[B] keys)` over fixed-size chunks of examples.

  `solve` is jitted and vmapped (`tto.batched`); every chunk has the same
  size, so it compiles once, and a size whose program would not fit in
  memory is halved until it does (`chunks.fit_to_memory`). Chunk i draws
  from `fold_in(key, i)`.
  """
  n = len(next(iter(inputs.values())))
  if hasattr(solve, "lower"):  # sized from the memory its program needs
    def compile_for(size):
      example = {k: jnp.asarray(np.repeat(np.asarray(v[:1]), size, 0))
                 for k, v in inputs.items()}
      return solve.lower(**example, key=example_keys(key, size)).compile()

    batch_size, solve = chunks.fit_to_memory(batch_size, n, compile_for,
                                             desc=desc)

  def one(chunk, index):
    size = len(next(iter(chunk.values())))
    keys = example_keys(jax.random.fold_in(key, index), size)
    return solve(**chunk, key=keys)

  return chunks.map_chunks(one, inputs, chunk_size=batch_size, desc=desc)


__all__ = ["adam_loop", "batched", "example_keys", "gmof", "map_examples",
           "Objective"]
