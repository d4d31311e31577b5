"""The sampler programs the benchmarks compile ahead of time and run.

  hyp = make_hypotheses_fn(sampler, H)          # jitted (params, key, problem)
  compiled, compile_s = timing.compile_timed(hyp, params, key, problem,
                                             compiler_options=options)
  flat = make_flat_hypotheses_fn(sampler, H)    # one [H * B] batch, no vmap
  timed = CompileTimedSampler(sampler)          # for GFPose.sample_rows

Compiling ahead keeps compilation out of the timed runs and reports it on
its own.
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from experiments.bench import timing
from jaxpose import checks
from jaxpose.core import sampling


def make_hypotheses_fn(sampler, num_hypotheses: int) -> Callable:
  """`f(params, key, problem) -> [H, B, ...]`: `sampler.hypotheses`, jitted.

  One jit around the library call, so callers can compile it ahead and time
  compilation separately, with or without the samplers' XLA options:
  `timing.compile_timed(f, params, key, problem, compiler_options=...)`.
  """
  h = checks.check_positive_int("num_hypotheses", num_hypotheses)
  return jax.jit(lambda params, key, problem: sampler.hypotheses(params, key,
                                                               problem, h))


def _tile_problem(problem: sampling.Problem, h: int) -> sampling.Problem:
  """The problem's rows repeated h times: row h * B + b is pose b."""
  b = jnp.shape(problem.x_init)[0]

  def tile(a):
    if jnp.ndim(a) == 0 or jnp.shape(a)[0] != b:
      return a  # scalars (t_start) and broadcast prior scales stay as they are
    return jnp.concatenate([a] * h, axis=0)
  return jax.tree.map(tile, problem)


def make_flat_hypotheses_fn(sampler, num_hypotheses: int) -> Callable:
  """Like `make_hypotheses_fn`, but one `[H * B, ...]` batch, no vmap.

  For measurement only: the hypotheses use other random draws than
  `sampler.hypotheses` (one key for the whole batch), same distribution for
  every per-example method (not PC with its batch-mean step size).
  """
  h = checks.check_positive_int("num_hypotheses", num_hypotheses)

  @jax.jit
  def flat(params, key, problem):
    b = jnp.shape(problem.x_init)[0]
    x = sampler(params, key, _tile_problem(problem, h))  # [H * B, ...]
    return x.reshape(h, b, *x.shape[1:])
  return flat


def _shapes_key(tree) -> tuple:
  leaves, treedef = jax.tree.flatten(tree)
  return treedef, tuple((jnp.shape(a), str(getattr(a, "dtype", type(a))))
                   for a in leaves)


class CompileTimedSampler:
  """A sampler whose hypotheses programs are compiled ahead, timed apart.

  Stands in for `sampler` wherever only `hypotheses` is called (such as
  `GFPose.sample_rows`): the first call per (H, options, shapes) compiles
  `make_hypotheses_fn(sampler, H)` with the `compiler_options` it is given
  and adds the time to `compile_s`, so a caller's wall-clock less
  `compile_s` is sampling alone. The outputs are the sampler's own.

  Attributes:
    sampler: the wrapped sampler.
    compile_s: seconds spent compiling so far.
  """

  def __init__(self, sampler):
    self.sampler = sampler
    self.compile_s = 0.0
    self._compiled = {}

  def hypotheses(self, params, key, problem, num_hypotheses: int, *,
                 compiler_options=None):
    """`sampler.hypotheses(params, key, problem, H)` through the compiled program."""
    k = (int(num_hypotheses), tuple(sorted((compiler_options or {}).items())),
         _shapes_key((params, key, problem)))
    if k not in self._compiled:
      self._compiled[k], seconds = timing.compile_timed(
          make_hypotheses_fn(self.sampler, num_hypotheses), params, key, problem,
          compiler_options=compiler_options)
      self.compile_s += seconds
    return self._compiled[k](params, key, problem)


__all__ = ["make_hypotheses_fn", "make_flat_hypotheses_fn",
           "CompileTimedSampler"]
