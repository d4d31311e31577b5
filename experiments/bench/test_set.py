"""Sampling a whole test set: H hypotheses for each of N poses, jaxpose
and the authors' network in PyTorch taking turns chunk by chunk.

  python -m experiments.bench.test_set [--poses=100000] [--hypotheses=200]
      [--steps=20] [--chunk_poses=500] [--out=bench_test_set.json]
      [--torch_python=PATH [--torch_device=cuda] [--torch_modes=eager]]

100,000 poses is Human3.6M's test size. GFPose's network at the paper's
size (random weights: the work does not depend on them) samples
Euler-Maruyama for `steps` steps, `chunk_poses` poses x H hypotheses per
compiled call (the last chunk is a full one too: the figures count the
chunks' rows); after each jaxpose chunk every PyTorch server samples the
same rows and steps, so drift in the machine's speed reaches both sides.
The result is each side's wall time for the whole set (compilation and
torch.compile's first call apart), jaxpose's speed-up on each, and the
peaks of host and device memory. The logic is `run_test_set`.
"""
from __future__ import annotations

import contextlib
import math
import time
from typing import Callable, Mapping

import jax

from experiments.bench import programs
from experiments.bench import throughput
from experiments.bench import timing
from experiments.bench import torch_client
from jaxpose import checks
from jaxpose import files
from jaxpose import models
from jaxpose import rng
from jaxpose.core import host_memory
from jaxpose.core import xla_options
from jaxpose.methods.gfpose import problems

TEST_POSES = 100_000  # Human3.6M's test set
TARGET_SPEEDUP = 2.0  # over the faster PyTorch mode (the issue's)


def run_test_set(*, poses: int = TEST_POSES, hypotheses: int = 200,
                 steps: int = 20, chunk_poses: int = 500, quick: bool = False,
                 torch_refs: Mapping[str, torch_client.TorchReference]
                 | None = None, seed: int = 0,
                 log: Callable[[str], None] = print) -> dict:
  """The whole measurement as a dict (the module docstring)."""
  for name, value in (("poses", poses), ("hypotheses", hypotheses),
                      ("steps", steps), ("chunk_poses", chunk_poses)):
    checks.check_positive_int(name, value)
  torch_refs = dict(torch_refs or {})
  if quick and torch_refs:
    raise ValueError("torch_refs: the torch reference is the paper-size "
                     "network; it cannot be compared with quick sizes")
  model, run = throughput.bench_model(
      **(throughput.QUICK["model"] if quick else {}))
  params = model.init(rng.purpose_key(0, "init"))
  chunk = min(chunk_poses, poses)
  chunks = math.ceil(poses / chunk)
  rows = chunk * hypotheses
  key = jax.random.key(seed)
  pose2d = jax.random.normal(jax.random.fold_in(key, 1),
                             (chunk, model.representation.num_joints, 2))
  problem = problems.estimation_problem(pose2d)
  sampler = model.make_sampler("euler_maruyama", steps,
                               eps=run.eval_options.eps)
  options = xla_options.sampling_options(rows=rows)
  compiled, compile_s = timing.compile_timed(
      programs.make_hypotheses_fn(sampler, hypotheses), params, key, problem,
      compiler_options=options)
  jax.block_until_ready(compiled(params, key, problem))  # warm-up
  first_call_s = {name: ref.em(rows, steps) for name, ref in torch_refs.items()}
  for ref in torch_refs.values():
    ref.memory()  # their peaks start again with the timed chunks
  own_s, torch_s = 0.0, dict.fromkeys(torch_refs, 0.0)
  start = time.perf_counter()
  for i in range(chunks):
    began = time.perf_counter()
    jax.block_until_ready(compiled(params, jax.random.fold_in(key, i), problem))
    own_s += time.perf_counter() - began
    for name, ref in torch_refs.items():
      torch_s[name] += ref.em(rows, steps)
    if (i + 1) % max(1, chunks // 10) == 0 or i + 1 == chunks:
      elapsed = time.perf_counter() - start
      log(f"chunk {i + 1}/{chunks}: jaxpose {own_s:.1f} s"
          + "".join(f", {n} {s:.1f} s" for n, s in torch_s.items())
          + f"; about {elapsed / (i + 1) * (chunks - i - 1):.0f} s left")
  out = dict(
      hardware=timing.hardware_info(), quick=quick,
      network=dict(num_params=models.count_params(params)),
      poses=poses, hypotheses=hypotheses, steps=steps, chunk_poses=chunk,
      chunks=chunks, rows_sampled=chunks * rows, sampler="euler_maruyama",
      compiler_options=options, compile_s=compile_s, wall_s=own_s,
      hypothesis_steps_per_s=chunks * rows * steps / own_s,
      memory=_memory())
  if torch_refs:
    out["torch_memory"] = {n: r.memory() for n, r in torch_refs.items()}
    measured = {name: dict(wall_s=s, speedup=s / own_s,
                           first_call_s=first_call_s[name],
                           compiled=torch_refs[name].compiled)
                for name, s in torch_s.items()}
    fastest = min(measured, key=lambda n: measured[n]["wall_s"])
    out.update(torch_measured=measured, torch_fastest=fastest,
               speedup_vs_torch_fastest=measured[fastest]["speedup"],
               target_speedup=TARGET_SPEEDUP,
               target_met=measured[fastest]["speedup"] >= TARGET_SPEEDUP,
               torch_side_by_side={n: r.info for n, r in torch_refs.items()})
  return out


def _memory() -> dict:
  """This process's host peak and the device's allocator peak (GPU, TPU),
  in `timing.memory_text`'s keys."""
  peak = timing.peak_memory()
  return dict(host_peak_mib=peak["host_peak_rss_mib"], host_scope="process",
              device_peak_mib=peak.get("device_peak_mib"))


def format_result(r: Mapping) -> str:
  """One line of a `run_test_set` result."""
  line = (f"{r['poses']} poses x {r['hypotheses']} hypotheses x {r['steps']} "
          f"steps: jaxpose {r['wall_s']:.1f} s (compile {r['compile_s']:.1f} "
          f"s), {r['hypothesis_steps_per_s']:.3g} hypothesis-steps/s")
  for name, m in r.get("torch_measured", {}).items():
    line += f"; {name} {m['wall_s']:.1f} s (x{m['speedup']:.2f})"
  return line + timing.memory_text(r)


def main(argv):
  from absl import app  # pylint: disable=import-outside-toplevel
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  host_memory.retain_freed_memory()
  with contextlib.ExitStack() as stack:
    refs = torch_client.start_torch_refs(
        _TORCH_PYTHON.value, modes=_TORCH_MODES.value, stack=stack,
        device=_TORCH_DEVICE.value)
    result = run_test_set(poses=_POSES.value, hypotheses=_HYPOTHESES.value,
                          steps=_STEPS.value, chunk_poses=_CHUNK.value,
                          quick=_QUICK.value, torch_refs=refs)
  print(format_result(result))
  print(f"wrote {files.write_json_atomic(_OUT.value, result)}")


if __name__ == "__main__":
  from absl import app
  from absl import flags
  _POSES = flags.DEFINE_integer("poses", TEST_POSES, "Poses in the test set.")
  _HYPOTHESES = flags.DEFINE_integer("hypotheses", 200, "Hypotheses per pose.")
  _STEPS = flags.DEFINE_integer("steps", 20, "Sampler steps.")
  _CHUNK = flags.DEFINE_integer("chunk_poses", 500, "Poses per compiled call.")
  _QUICK = flags.DEFINE_bool("quick", False, "A tiny network (tests).")
  _OUT = flags.DEFINE_string("out", "bench_test_set.json", "JSON path.")
  _TORCH_PYTHON = flags.DEFINE_string(
      "torch_python", None, "A Python with torch: sample the same rows with "
      "the authors' network (experiments/bench/torch_reference.py).")
  _TORCH_MODES = flags.DEFINE_list(
      "torch_modes", list(torch_client.TORCH_MODES),
      "With --torch_python: eager PyTorch, torch.compile, or both.")
  _TORCH_DEVICE = flags.DEFINE_string(
      "torch_device", "cpu", "With --torch_python: PyTorch's device.")
  app.run(main)
