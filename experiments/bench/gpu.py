"""The side-by-side benchmarks against PyTorch on one accelerator, in one
command for a machine with a CUDA GPU whose Python has torch and jax[cuda]:

  python -m experiments.bench.gpu --name=gpu_h200 \\
      [--out_dir=experiments/results] [--torch_python=python3]
      [--test_set_steps=20] [--parts=sampling,test_set,tto] [--quick]

writes, with the authors' networks in PyTorch on the same GPU (eager and
torch.compile, in the same rounds as jaxpose):
  bench_sampling_<name>.json  GFPose's sampling and training table
                              (`experiments.bench.throughput.run_bench`);
  bench_tto_<name>.json       DPoser's TTO, sampler and training table
                              (`experiments.bench.tto.run_bench`);
  bench_test_set_<name>.json  200 hypotheses for each of 100,000 poses
                              (`experiments.bench.test_set.run_test_set`).
`--parts` runs some of them (a machine lent for minutes can give each part
its own process and time limit, so one that overruns costs only its file).
PyTorch runs on the device jaxpose runs on ('cuda' when JAX's backend is a
GPU, else the CPU), and both sides multiply float32 alike: in float32
itself (JAX's 'highest' precision, PyTorch's default), or with `--tf32` in
TF32 on both (JAX's default on a GPU). `--quick` runs tiny sizes without
PyTorch: a check of the command on any machine, not a figure. docs/accelerators.md says how to
send it to a GPU machine.
"""
from __future__ import annotations

import contextlib
import os

import jax
from absl import app
from absl import flags

from experiments.bench import test_set
from experiments.bench import throughput
from experiments.bench import torch_client
from experiments.bench import tto
from jaxpose import files
from jaxpose.core import host_memory

PARTS = ("sampling", "test_set", "tto")
_NAME = flags.DEFINE_string("name", None, "The machine's name in the files "
                            "(bench_sampling_<name>.json, ...).", required=True)
_OUT_DIR = flags.DEFINE_string("out_dir", "experiments/results",
                               "Where the JSON files go.")
_TORCH_PYTHON = flags.DEFINE_string(
    "torch_python", "python3", "A Python with torch (and CUDA), or '' to run "
    "jaxpose alone.")
_TEST_SET_STEPS = flags.DEFINE_integer(
    "test_set_steps", 20, "Sampler steps of the whole-test-set run.")
_QUICK = flags.DEFINE_bool("quick", False, "Tiny sizes, no PyTorch (a check "
                           "of the command, not a figure).")
_PARTS = flags.DEFINE_list("parts", list(PARTS), "Which of the three files "
                           f"to write: some of {', '.join(PARTS)}.")
_TF32 = flags.DEFINE_bool("tf32", False, "Float32 products in TF32 on both "
                          "sides (else float32 itself on both).")


def torch_device() -> str:
  """Where PyTorch runs: on the GPU when jaxpose's backend is one."""
  return "cuda" if jax.default_backend() == "gpu" else "cpu"


def run_all(name: str, out_dir: str, *, torch_python: str | None,
            test_set_steps: int = 20, quick: bool = False,
            tf32: bool = False, parts=PARTS) -> list[str]:
  """The benchmarks of the module docstring named in `parts`; returns the
  files."""
  unknown = sorted(set(parts) - set(PARTS))
  if unknown or not parts:
    raise ValueError(f"parts: expected some of {', '.join(PARTS)}, got "
                     f"{', '.join(parts) or 'none'}")
  python = None if quick else (torch_python or None)
  device = torch_device()
  precision = dict(jax="tensorfloat32" if tf32 else "highest",
                   torch="high" if tf32 else "highest")
  written = []

  def write(stem, result):
    result = dict(result, float32_products=precision)
    path = os.path.join(out_dir, f"{stem}_{name}.json")
    written.append(files.write_json_atomic(path, result))
    print(f"wrote {path}", flush=True)

  with jax.default_matmul_precision(precision["jax"]):
    with contextlib.ExitStack() as stack:
      refs = ({} if "sampling" not in parts and "test_set" not in parts else
              torch_client.start_torch_refs(
                  python, stack=stack, device=device,
                  matmul_precision=precision["torch"]))
      if "sampling" in parts:
        write("bench_sampling", throughput.run_bench(quick=quick,
                                                     torch_refs=refs))
      if "test_set" in parts:
        write("bench_test_set", test_set.run_test_set(
            **(dict(poses=8, hypotheses=4, steps=2, chunk_poses=4) if quick
               else dict(steps=test_set_steps)), quick=quick, torch_refs=refs))
    if "tto" not in parts:
      return written
    with contextlib.ExitStack() as stack:
      refs = tto.start_torch_refs(python, stack=stack, device=device,
                                  matmul_precision=precision["torch"])
      write("bench_tto", tto.run_bench(quick=quick, torch_refs=refs))
  return written


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  host_memory.retain_freed_memory()  # as the other benchmarks do
  run_all(_NAME.value, _OUT_DIR.value, torch_python=_TORCH_PYTHON.value,
          test_set_steps=_TEST_SET_STEPS.value, quick=_QUICK.value,
          tf32=_TF32.value, parts=tuple(_PARTS.value))


if __name__ == "__main__":
  app.run(main)
