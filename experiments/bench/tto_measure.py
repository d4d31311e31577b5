"""How experiments/bench/tto.py measures: jaxpose's programs and the torch
reference's calls timed in the same rounds, and the figures taken from them.

`interleaved` runs the rounds (one call of each side per round, so drift in
the machine's speed cancels) and records what other processes used
meanwhile (`machine_load.OtherWork`); `summary` gives the median time per
unit, the torch side's beside it and the target's verdict;
`with_options_variant` / `options_figures` time a program also under the
samplers' CPU compiler options.
"""
from __future__ import annotations

import statistics
from typing import Mapping

from experiments.bench import machine_load
from experiments.bench import roofline
from experiments.bench import throughput
from experiments.bench import timing
from experiments.bench import torch_client
from jaxpose.core import xla_options


def torch_calls(torch_refs, op: str, **request):
  """name -> (fn, ()) returning the server's own seconds for `request`."""
  return {name: (lambda ref=ref: float(ref.request(op=op, **request)["s"]), ())
          for name, ref in torch_refs.items()}


def summary(times: Mapping[str, list[float]], own: str, torch_refs, *,
            per: int, target: float) -> dict:
  """Median time per unit, torch's side by side, and the target's verdict."""
  out = dict(step_s=statistics.median(times[own]) / per, times_s=times[own])
  out.update(torch_client.torch_measured(torch_refs, times, own, per=per))
  eager = out.get("torch_measured", {}).get("torch_eager")
  out["target_speedup_vs_torch_eager"] = target
  out["speedup_vs_torch_eager"] = eager["speedup"] if eager else None
  out["target_met"] = None if eager is None else bool(eager["speedup"] >= target)
  return out


def interleaved(calls, *, repeats: int, torch_refs, memory: dict | None = None,
                program=None) -> tuple[dict, dict]:
  """`timing.time_interleaved` and what other processes used meanwhile.

  The warm-up round runs first, outside the measured block: torch.compile
  compiles then, partly in worker processes that are not this one's
  descendants and would count as other work. With `memory` (a row), the
  measured block's memory goes into it (`timing.row_memory` of `program`,
  and the torch servers' peaks as `torch_memory`).
  """
  self_timed = [*torch_refs, *(
      [throughput.TORCH_PRODUCTS] if throughput.TORCH_PRODUCTS in calls else [])]
  timing.time_interleaved(calls, rounds=1, warmup=0, self_timed=self_timed)
  for ref in torch_refs.values():
    ref.memory()  # their peaks start again with this row
  sink = {} if memory is None else memory
  with machine_load.OtherWork() as other, timing.row_memory(sink, program):
    times = timing.time_interleaved(calls, rounds=repeats, warmup=0,
                                    self_timed=self_timed)
  if torch_refs:
    sink["torch_memory"] = {n: r.memory() for n, r in torch_refs.items()}
  return times, other.result


def with_products(calls: dict, params, rows: int, torch_refs, *,
                  backward: bool, shared_rows: int | None) -> float:
  """Adds the network's dense products alone ('matmul': jaxpose's, and
  PyTorch's on the same shapes) to `calls`; returns their FLOPs."""
  shapes = roofline.dense_shapes(params, rows, shared_rows=shared_rows)
  mm = roofline.matmul_roofline(shapes, backward=backward, time_it=False)
  calls["matmul"] = (mm["fn"], mm["args"])
  calls.update(throughput.with_torch_products({}, torch_refs, shapes,
                                              backward=backward))
  return mm["flops"]


def products_figures(times, own: str, flops: float, per: int) -> dict:
  """Both sides' GFLOP/s on the products and the roofline fraction (the
  products' time over the step's)."""
  matmul_s = statistics.median(times["matmul"])
  return dict(matmul_gflops=flops / matmul_s / 1e9,
              roofline_fraction=statistics.median(
                  m / (t / per) for m, t in zip(times["matmul"], times[own])),
              **throughput.products_gflops(times, flops))


def with_options_variant(calls: dict, name: str, jitted, args,
                         rows: int | None = None) -> dict:
  """The compiled program under XLA's defaults as `name`, and (when this
  jaxlib knows them) under the samplers' CPU options for `rows` rows (None:
  large) as `name`_options.

  Returns {'compile_s', 'compiler_options'}.
  """
  compiled, compile_s = timing.compile_timed(jitted, *args)
  calls[name] = (compiled, args)
  options = xla_options.sampling_options(rows=rows)
  if options:
    calls[f"{name}_options"] = (
        timing.compile_timed(jitted, *args, compiler_options=options)[0], args)
  return dict(compile_s=compile_s, compiler_options=options)


def options_figures(times, name: str, per: int) -> dict:
  """The options variant's time per unit and its speed-up over the default."""
  other = f"{name}_options"
  if other not in times:
    return {}
  return dict(options_step_s=statistics.median(times[other]) / per,
              speedup_of_options=statistics.median(
                  d / o for d, o in zip(times[name], times[other])))


__all__ = ["torch_calls", "summary", "interleaved", "with_products",
           "products_figures", "with_options_variant",
           "options_figures"]
