"""The programs the benchmarks compile ahead of time and run.

  hyp = make_hypotheses_fn(sampler, H)          # jitted (params, key, problem)
  compiled, compile_s = timing.compile_timed(hyp, params, key, problem,
                                             compiler_options=options)
  calls = compiled_variants(hyp, (params, key, problem), {"a": {}, "b": opts})
  flat = make_flat_hypotheses_fn(sampler, H)    # one [H * B] batch, no vmap
  timed = CompileTimedSampler(sampler)          # for GFPose.sample_rows
  program = training_steps(calls, step, state, batch, key)  # 'step' & co.

Compiling ahead keeps compilation out of the timed runs and reports it on
its own.
"""
from __future__ import annotations

import statistics
from typing import Callable, Mapping

import jax
import jax.numpy as jnp

from experiments.bench import timing
from jaxpose import checks
from jaxpose.core import sampling
from jaxpose.core import xla_options


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


def compiled_variants(jitted, args: tuple, variants: Mapping[str, Mapping],
                      prefix: str = "") -> dict:
  """'<prefix><name>' -> (compiled, args): `jitted` compiled ahead for
  `args` under each variant's XLA `compiler_options`, ready for
  `timing.time_interleaved`."""
  calls = {}
  for name, options in variants.items():
    compiled, _ = timing.compile_timed(jitted, *args, compiler_options=options)
    calls[f"{prefix}{name}"] = (compiled, args)
  return calls


TRAINING_DEFAULTS = "step_xla_defaults"


def training_steps(calls: dict, jitted, state, *args) -> dict:
  """Adds a donating training step `jitted(state, *args)` to `calls`:
  'step', compiled as `training.parallel.jit_train_step` does (with
  `xla_options.training_options()`), and, when those options are not
  empty, TRAINING_DEFAULTS under XLA's defaults.  Each call goes on from
  the state its previous call returned, in buffers of its own.

  Returns {'compile_s', 'compiler_options', 'program' (the compiled
  'step'), 'last' (a function giving 'step''s latest (state, metrics))}.
  """
  options = xla_options.training_options()
  variants = {"step": options, **({TRAINING_DEFAULTS: {}} if options else {})}
  out = {}
  for name, opts in variants.items():
    compiled, compile_s = timing.compile_timed(jitted, state, *args,
                                               compiler_options=opts)
    once = stepping(compiled, state, *args)
    calls[name] = (once, ())
    if name == "step":
      out = dict(compile_s=compile_s, compiler_options=dict(opts),
                 program=compiled, last=once.last)
  return out


def stepping(compiled, state, *args) -> Callable:
  """`once()`: one call of a donating step `compiled(state, *args)` that
  goes on from the state its previous call returned, starting from a copy
  of `state`; `once.last()` gives the latest (state, metrics)."""
  box = {"state": jax.tree.map(jnp.copy, state), "metrics": None}

  def once():
    box["state"], box["metrics"] = compiled(box["state"], *args)
    return box["state"], box["metrics"]
  once.last = lambda: (box["state"], box["metrics"])
  return once


def training_figures(times) -> dict:
  """XLA's defaults' step time and the training options' speed-up on it."""
  if TRAINING_DEFAULTS not in times:
    return {}
  return dict(defaults_step_s=statistics.median(times[TRAINING_DEFAULTS]),
              speedup_of_options=statistics.median(
                  d / o for d, o in zip(times[TRAINING_DEFAULTS],
                                        times["step"])))


__all__ = ["make_hypotheses_fn", "make_flat_hypotheses_fn", "compiled_variants",
           "CompileTimedSampler", "training_steps", "stepping",
           "training_figures"]
