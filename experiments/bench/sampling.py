"""Sampler and training-step throughput at the paper network size.

  python -m experiments.bench.sampling [--out=bench_sampling.json]
      [--workdir=W] [--quick] [--steps=10] [--repeats=3]
      [--torch_python=PATH [--torch_modes=eager,compiled]]

Prints and writes JSON: hardware (devices, CPU model, cores, load average,
jax version), compile time, hypotheses x steps per second of 1000-step-style
Euler-Maruyama sampling for (poses, hypotheses) in {(1, 1), (1, 200),
(16, 200)} (per step; --steps only sets how many steps a timed run makes),
one training step at batch 1000, peak memory, and the roofline fraction:
the time of the same dense products alone (same shapes, same backend, same
run) over the measured step time.  The authors' PyTorch figures quoted in
the issue sit beside ours as ratios; with --torch_python, their network is
also timed in PyTorch (eager and torch.compile) in the same rounds as
jaxpose, which is the fair comparison on a machine whose speed drifts.  The
logic is in `experiments.bench.throughput.run_bench`.
"""
import contextlib
import os

from absl import app
from absl import flags

from experiments.bench import throughput
from experiments.bench import torch_client
from jaxpose import files
from jaxpose.core import host_memory

_OUT = flags.DEFINE_string("out", None, "JSON path (default: "
                           "bench_sampling.json in --workdir or the current dir).")
_OUT_DIR = flags.DEFINE_string(
    "workdir", None, "Directory for the JSON (any folder: nothing of a "
    "jaxpose workdir is read).")
_QUICK = flags.DEFINE_bool("quick", False, "Tiny sizes and one repeat (tests).")
_STEPS = flags.DEFINE_integer("steps", None, "Sampler steps per timed run.")
_REPEATS = flags.DEFINE_integer("repeats", None, "Timed repeats (median).")
_TORCH_PYTHON = flags.DEFINE_string(
    "torch_python", None, "A Python with torch: time the authors' network "
    "in PyTorch (experiments/bench/torch_reference.py) in the same rounds as "
    "jaxpose, so the ratios are side by side.")
_TORCH_MODES = flags.DEFINE_list(
    "torch_modes", list(torch_client.TORCH_MODES),
    "With --torch_python: eager PyTorch, torch.compile, or both.")
_TORCH_DEVICE = flags.DEFINE_string(
    "torch_device", "cpu", "With --torch_python: PyTorch's device (cpu, "
    "cuda: the GPU jaxpose runs on).")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  host_memory.retain_freed_memory()
  out = _OUT.value or os.path.join(_OUT_DIR.value or ".", "bench_sampling.json")
  with contextlib.ExitStack() as stack:
    torch_refs = torch_client.start_torch_refs(
        _TORCH_PYTHON.value, modes=_TORCH_MODES.value, stack=stack,
        device=_TORCH_DEVICE.value)
    result = throughput.run_bench(quick=_QUICK.value, steps=_STEPS.value,
                                  repeats=_REPEATS.value, torch_refs=torch_refs)
  print(f"wrote {files.write_json_atomic(out, result)}")


if __name__ == "__main__":
  app.run(main)
