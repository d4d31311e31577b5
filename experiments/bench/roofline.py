"""The network's dense products timed alone, and checks of a traced program.

  shapes = dense_shapes(params, rows=B * H, shared_rows=1)   # [(m, k, n)]
  t_mm = matmul_roofline(shapes, backward=False)["median_s"]
  fraction = t_mm / step_time

The roofline here is empirical: the time the same backend needs for exactly
the network's dense products (same shapes, same dtype, same process), so a
fraction near 1 means the rest of the step (normalisation, activations, the
sampler's arithmetic, the optimiser) costs little next to the products.
`time_embedding_is_shared` reads a traced sampler to check that its time
path runs once per step, not once per hypothesis.
"""
from __future__ import annotations

import functools
from typing import Callable, Iterable, Mapping, Sequence

import jax
from jax.extend import core as jax_core
import jax.numpy as jnp
import numpy as np

from experiments.bench import timing
from jaxpose import checks

Shape3 = tuple[int, int, int]


def _path_names(path) -> tuple[str, ...]:
  names = []
  for entry in path:
    for attr in ("key", "name", "idx"):
      if hasattr(entry, attr):
        names.append(str(getattr(entry, attr)))
        break
  return tuple(names)


def dense_shapes(params, rows: int, *, shared_rows: int | None = None,
                 shared_names: Sequence[str] = ("time_embed", "lin_t")
                 ) -> list[Shape3]:
  """The (m, k, n) of every dense product of one network call.

  Every 2-D parameter named `kernel` is a `[k, n]` weight applied to `rows`
  input rows.  Layers on the time path (`shared_names`) see one row per call
  when the time is a scalar shared by the batch: pass `shared_rows=1` for
  sampling and None (every row has its own time, as in training) otherwise.

  Args:
    params: the network's parameter pytree (an `nnx.State` or nested dicts).
    rows: m, the batch the network sees.
    shared_rows: rows of the time-path layers; None means `rows`.
    shared_names: path components that mark a time-path layer.

  Returns:
    A list of `(m, k, n)`, in the order of `jax.tree` flattening.
  """
  rows = checks.check_positive_int("rows", rows)
  out = []
  for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
    names = _path_names(path)
    if "kernel" not in names or np.ndim(leaf) != 2:
      continue
    m = rows
    if shared_rows is not None and any(n in shared_names for n in names):
      m = int(shared_rows)
    k, n = np.shape(leaf)
    out.append((m, int(k), int(n)))
  if not out:
    raise ValueError("params: found no 2-D 'kernel' parameters (is this a "
                     "network of nnx.Linear / flax Dense layers?)")
  return out


def matmul_flops(shapes: Iterable[Shape3], *, backward: bool = False) -> float:
  """2 m k n per product; three products per layer with the backward pass."""
  total = float(sum(2 * m * k * n for m, k, n in shapes))
  return 3 * total if backward else total


def matmul_roofline(shapes: Sequence[Shape3], *, backward: bool = False,
                    dtype=jnp.float32, warmup: int = 1, repeats: int = 5,
                    seed: int = 0, time_it: bool = True,
                    compiler_options: Mapping[str, str] | None = None) -> dict:
  """Time of exactly the given dense products, alone, on this backend.

  One jitted function computes every `x [m, k] @ w [k, n]`; with `backward`
  it also computes the two products of the backward pass, `g [m, n] @ w^T`
  (input gradient) and `x^T @ g` (weight gradient), as a training step does.
  Every product is returned, so none is optimised away.

  Args:
    shapes: `(m, k, n)` per product, e.g. from `dense_shapes`.
    backward: add the backward products (3x the forward work).
    dtype: operand dtype.
    warmup, repeats: as in `timing.time_fn`.
    seed: operand values (they do not change the time).
    time_it: False returns {"fn", "args", "flops"} untimed, for
      `timing.time_interleaved`.
    compiler_options: XLA options, as the timed step was compiled with
      (the same backend means the same dot implementation too).

  Returns:
    `time_fn`'s dict plus "flops" and "gflops" (at the median time).
  """
  shapes = [tuple(int(v) for v in s) for s in shapes]
  if not shapes or any(len(s) != 3 or min(s) < 1 for s in shapes):
    raise ValueError(f"shapes: expected a non-empty list of positive (m, k, n),"
                     f" got {shapes}")
  key = jax.random.key(seed)
  operands = []
  for i, (m, k, n) in enumerate(shapes):
    kx, kw, kg = jax.random.split(jax.random.fold_in(key, i), 3)
    ops = [jax.random.normal(kx, (m, k), dtype), jax.random.normal(kw, (k, n), dtype)]
    if backward:
      ops.append(jax.random.normal(kg, (m, n), dtype))
    operands.append(tuple(ops))

  @functools.partial(jax.jit, compiler_options=dict(compiler_options or {}))
  def products(operands):
    outs = []
    for ops in operands:
      x, w = ops[0], ops[1]
      if outs:
        # One product after the other, as in the network: the barrier makes
        # x wait for the previous product, so independent dots cannot run
        # side by side and fight over the cores.
        x, _ = jax.lax.optimization_barrier((x, outs[-1]))
      outs.append(x @ w)  # [m, n]
      if backward:
        g = ops[2]
        outs.append(g @ w.T)  # [m, k]
        outs.append(x.T @ g)  # [k, n]
    return outs

  flops = matmul_flops(shapes, backward=backward)
  if not time_it:
    return dict(fn=products, args=(operands,), flops=flops)
  result = timing.time_fn(products, operands, warmup=warmup, repeats=repeats)
  result.update(flops=flops, gflops=flops / result["median_s"] / 1e9)
  return result


# ------------------------------------------------------- traced programs
def _visit_eqns(fn: Callable, *args):
  """Every equation of fn's jaxpr, sub-jaxprs (scan, while, pjit) included."""
  def visit(jaxpr):
    for eqn in jaxpr.eqns:
      yield eqn
      for sub in jax_core.jaxprs_in_params(eqn.params):
        yield from visit(sub)
  return visit(jax.make_jaxpr(fn)(*args).jaxpr)


def primitive_shapes(fn: Callable, *args, name: str = "sin") -> list[tuple]:
  """Output shapes of every `name` primitive in fn's jaxpr (all sub-jaxprs).

  Used to check where the time embedding (the only `sin` of a sampler step)
  is computed and at which batch size.
  """
  return [tuple(v.aval.shape) for eqn in _visit_eqns(fn, *args)
          if eqn.primitive.name == name for v in eqn.outvars]


def time_embedding_is_shared(hyp_fn: Callable, params, key, problem) -> dict:
  """Whether a step embeds its time once, not once per hypothesis or pose.

  Traces `hyp_fn(params, key, problem)` and reads the shapes of its `sin`
  primitives (the sinusoidal time embedding): a leading size of 1 means one
  embedding per network call; H or H * B would mean the time path (and its
  Lt projections, which take the embedding as input) runs per hypothesis.
  Also reports whether a host callback (Python inside the loop) is traced
  and whether the steps are one `scan` or `while` loop.
  """
  shapes = primitive_shapes(hyp_fn, params, key, problem, name="sin")
  prims = {eqn.primitive.name for eqn in _visit_eqns(hyp_fn, params, key, problem)}
  callbacks = sorted(p for p in prims if "callback" in p)
  rows = sorted({int(np.prod(s[:-1])) for s in shapes})
  return dict(sin_shapes=[list(s) for s in shapes], embedding_rows=rows,
              once_per_step=bool(shapes) and rows == [1],
              host_callbacks=callbacks,
              loop_primitives=sorted(p for p in prims if p in ("scan", "while")))


def peak_gflops(size: int = 2048, repeats: int = 5) -> float:
  """GFLOP/s of one large square float32 product on this backend: the
  CPU's practical peak, beside which the network's products are read."""
  shape = (int(size), int(size), int(size))
  return matmul_roofline([shape], repeats=repeats)["gflops"]


__all__ = ["dense_shapes", "matmul_flops", "matmul_roofline", "peak_gflops",
           "primitive_shapes", "time_embedding_is_shared"]

