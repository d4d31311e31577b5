"""DiffPose's sampler and denoiser beside GFPose's and the authors' PyTorch.

  python -m experiments.bench.diffpose --out=bench_diffpose.json
      [--torch_python=/tmp/torchvenv/bin/python] [--quick] [--busy]

In one run: (a) hypotheses per second of DiffPose's DDIM sampler
(`process.make_hypotheses_fn`, N hypotheses from N kernel draws) at 16 poses
x N for N in --hypotheses, beside GFPose's sampler at the same poses x
hypotheses and steps (`throughput.bench_sampling_config`); (b) one denoiser
step (the network forward at 16 N rows) of jaxpose against the authors'
GraFormer-layout denoiser in PyTorch (experiments/bench/torch_diffpose.py,
run under --torch_python); the target is a step at least 1.2x as fast as
theirs.  Also turns the reverse-step results in experiments/results into an
error-against-network-evaluations curve.  JSON: ms, ratios, hardware (load
average before and after), versions, `target_met`, `busy`.
"""
from __future__ import annotations

import glob
import json
import os
import statistics
import subprocess

import jax
import jax.numpy as jnp
import numpy as np
from absl import app
from absl import flags

from experiments.bench import throughput
from experiments.bench import timing
from jaxpose import files
from jaxpose import models
from jaxpose.core import host_memory
from jaxpose.core import priors as priors_lib
from jaxpose.core import sampling
from jaxpose.core import sde as sde_lib
from jaxpose.methods.diffpose import process

TARGET_RATIO = 1.2
POSES = 16
J = 17
TORCH_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            "torch_diffpose.py")
PAPER = dict(hidden=96, embed_dim=384, num_layers=5, num_heads=4)
QUICK = dict(model=dict(hidden=16, embed_dim=32, num_layers=1, num_heads=2),
             gfpose=throughput.QUICK["model"], poses=2, hypotheses=(2,),
             steps=2, repeats=1)


def build_diffpose(model: dict, *, seed: int = 0, num_kernels: int = 3):
  """(noise_fn's apply, params, process) of a DiffPose denoiser at `model`.

  The mixture is random (timing does not depend on its values); the chain
  is the quickstart's 50-step linear schedule.
  """
  kwargs = dict(model, cond_dim=model["hidden"])
  graphdef, params = models.create_model("diffpose_denoiser",
                                         key=jax.random.key(seed), **kwargs)
  del graphdef
  apply_fn = models.make_apply(models.model_graphdef("diffpose_denoiser",
                                                     **kwargs))
  rng = np.random.default_rng(seed)
  mixture = priors_lib.MixturePrior(
      weights=np.full((num_kernels,), 1.0 / num_kernels, np.float32),
      means=rng.normal(0, 0.1, (num_kernels, J, 5)).astype(np.float32),
      scales=np.full((num_kernels, J, 5), 0.3, np.float32))
  proc = process.MixtureProcess(
      sde=sde_lib.DiscreteVP.linear(50, 1e-4, 0.2), mixture=mixture)
  return apply_fn, params, proc


def bench_diffpose_sampler(apply_fn, params, proc, *, poses: int,
                           hypotheses: int, steps: int, repeats: int,
                           seed: int = 0) -> dict:
  """Hypotheses per second of DDIM at `poses` x `hypotheses`."""
  noise_fn = process.make_noise_fn(apply_fn, network_input="standardised")
  sampler = sampling.make_sampler("ddim", proc.sde,
                                  process.make_score_fn(noise_fn, proc.sde),
                                  num_steps=steps, eps=0.0)
  fn = jax.jit(process.make_hypotheses_fn(sampler, proc, hypotheses, "x_init"))
  key = jax.random.key(seed)
  width = params_width(params)
  features = jax.random.normal(key, (poses, J, width))
  centre = jax.random.normal(jax.random.fold_in(key, 1), (poses, J, 5))
  args = (params, key, features, centre, jnp.float32(proc.sde.time(6)))
  compiled, compile_s = timing.compile_timed(fn, *args)
  t = timing.time_fn(compiled, *args, warmup=1, repeats=repeats)
  return dict(poses=poses, hypotheses=hypotheses, steps=steps,
              compile_s=compile_s, run_ms=1e3 * t["median_s"],
              step_ms=1e3 * t["median_s"] / steps,
              hypotheses_per_s=poses * hypotheses / t["median_s"])


def params_width(params) -> int:
  """The condition width (cond_in's input features) of denoiser params."""
  return int(jax.tree.leaves(params["cond_in"]["kernel"])[0].shape[0])


def bench_denoiser_step(apply_fn, params, *, rows: int, repeats: int,
                        seed: int = 0) -> dict:
  """Milliseconds of one jitted denoiser forward at `rows` rows."""
  key = jax.random.key(seed)
  x = jax.random.normal(key, (rows, J, 5))
  cond = jax.random.normal(jax.random.fold_in(key, 1),
                           (rows, J, params_width(params)))
  fn = jax.jit(lambda p, x, c: apply_fn(p, x, jnp.float32(0.2), c))
  compiled, compile_s = timing.compile_timed(fn, params, x, cond)
  t = timing.time_fn(compiled, params, x, cond, warmup=1, repeats=repeats)
  return dict(rows=rows, compile_s=compile_s, step_ms=1e3 * t["median_s"],
              times_ms=[1e3 * s for s in t["times_s"]],
              params=int(sum(np.size(v) for v in jax.tree.leaves(params))))


def torch_denoiser_step(python: str, *, rows: int, repeats: int,
                        model: dict) -> dict:
  """The PyTorch denoiser's step at `rows` rows, from its own process."""
  out = subprocess.run(
      [python, TORCH_SCRIPT, f"--rows={rows}", f"--repeats={repeats}",
       f"--hidden={model['hidden']}", f"--layers={model['num_layers']}"],
      capture_output=True, text=True, check=True,
      env=host_memory.subprocess_env())
  r = json.loads(out.stdout.strip().splitlines()[-1])
  return dict(step_ms=1e3 * r["step_s"], times_ms=[1e3 * s for s in r["times_s"]],
              params=r["params"], torch_version=r["torch"], threads=r["threads"])


def steps_curve(results_dir: str) -> list[dict]:
  """Error against network evaluations from the quickstart's step results.

  One row per diffpose_quickstart_cpu.json / _steps*.json (the same
  settings but the reverse steps):
  reverse steps, hypotheses, evaluations (steps x N per pose) and MPJPE.
  """
  rows = []
  paths = glob.glob(os.path.join(results_dir, "diffpose_quickstart_cpu.json"))
  paths += glob.glob(os.path.join(results_dir,
                                  "diffpose_quickstart_cpu_steps*.json"))
  for path in sorted(paths):
    with open(path) as f:
      d = json.load(f)
    if "num_steps" not in d or "mpjpe_mm" not in d:
      continue
    n = int(d.get("num_hypotheses", 1))
    rows.append(dict(file=os.path.basename(path), reverse_steps=d["num_steps"],
                     hypotheses=n, network_evals_per_pose=d["num_steps"] * n,
                     mpjpe_mm=d["mpjpe_mm"], min_mpjpe_mm=d.get("min_mpjpe_mm")))
  return sorted(rows, key=lambda r: (r["reverse_steps"], r["file"]))


def run_bench(*, quick: bool = False, busy: bool = False,
              hypotheses=(5, 20), steps: int = 5, repeats: int = 5,
              torch_python: str | None = None,
              results_dir: str | None = None) -> dict:
  """Both parts of the benchmark; returns the JSON-ready result."""
  load_before = timing.load_average()
  model, gf_model, poses = PAPER, {}, POSES
  if quick:
    model, gf_model, poses = QUICK["model"], QUICK["gfpose"], QUICK["poses"]
    hypotheses, steps, repeats = QUICK["hypotheses"], QUICK["steps"], 1
  elif busy:
    hypotheses, repeats = (min(hypotheses),), min(repeats, 3)
  apply_fn, params, proc = build_diffpose(model)
  gf, gf_run = throughput.bench_model(**gf_model)
  gf_params = gf.init(jax.random.key(0))
  sampler_rows, step_rows = [], []
  for n in hypotheses:
    dp = bench_diffpose_sampler(apply_fn, params, proc, poses=poses,
                                hypotheses=n, steps=steps, repeats=repeats)
    gf_row = throughput.bench_sampling_config(
        gf, gf_params, eps=gf_run.eval_options.eps, num_poses=poses,
        num_hypotheses=n, num_steps=steps, repeats=repeats, flat=False,
        compare_torch=False)
    sampler_rows.append(dict(
        diffpose=dp, gfpose=dict(
            spec=gf_row["method"], run_ms=1e3 * gf_row["run_s"],
            step_ms=1e3 * gf_row["step_s"],
            hypotheses_per_s=poses * n / gf_row["run_s"]),
        diffpose_over_gfpose_hypotheses_per_s=(
            dp["hypotheses_per_s"] * gf_row["run_s"] / (poses * n))))
    ours = bench_denoiser_step(apply_fn, params, rows=poses * n,
                               repeats=repeats)
    row = dict(rows=poses * n, jaxpose=ours)
    if torch_python:
      theirs = torch_denoiser_step(torch_python, rows=poses * n,
                                   repeats=max(repeats, 3), model=model)
      row.update(torch=theirs, speedup_vs_torch=theirs["step_ms"]
                 / ours["step_ms"])
    step_rows.append(row)
  speedups = [r["speedup_vs_torch"] for r in step_rows if "speedup_vs_torch" in r]
  hw = timing.hardware_info()
  hw.update(load_average_before=load_before,
            load_average_after=timing.load_average())
  return dict(
      hardware=hw, busy=bool(busy), quick=bool(quick), model=model,
      poses=poses, steps=steps, repeats=repeats, sampler="ddim",
      sampling=sampler_rows, denoiser_step=step_rows,
      torch_version=(step_rows[0]["torch"]["torch_version"] if speedups
                     else None),
      target_ratio=TARGET_RATIO,
      min_speedup_vs_torch=min(speedups) if speedups else None,
      target_met=(min(speedups) >= TARGET_RATIO) if speedups else None,
      error_vs_evaluations=steps_curve(results_dir) if results_dir else [])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  host_memory.retain_freed_memory()
  result = run_bench(quick=_QUICK.value, busy=_BUSY.value,
                     hypotheses=tuple(int(n) for n in _HYPOTHESES.value),
                     steps=_STEPS.value, repeats=_REPEATS.value,
                     torch_python=_TORCH_PYTHON.value,
                     results_dir=_RESULTS.value)
  print(json.dumps(dict(sampling=result["sampling"],
                        denoiser_step=result["denoiser_step"],
                        target_met=result["target_met"]), default=str)[:4000])
  print(f"wrote {files.write_json_atomic(_OUT.value, result)}")


if __name__ == "__main__":
  # Flags only when run as a script: the bench modules share flag names
  # and are imported side by side (tests, the README tables).
  _OUT = flags.DEFINE_string("out", "bench_diffpose.json", "JSON path.")
  _TORCH_PYTHON = flags.DEFINE_string(
      "torch_python", None, "A Python with torch: time the authors' denoiser "
      "layout (experiments/bench/torch_diffpose.py).")
  _QUICK = flags.DEFINE_bool("quick", False, "Tiny sizes, one repeat (tests).")
  _BUSY = flags.DEFINE_bool("busy", False, "Smallest settings (a loaded "
                            "machine); marks `busy` in the JSON.")
  _HYPOTHESES = flags.DEFINE_list("hypotheses", ["5", "20"], "N values.")
  _STEPS = flags.DEFINE_integer("steps", 5, "DDIM steps (quickstart: 5).")
  _REPEATS = flags.DEFINE_integer("repeats", 5, "Timed repeats (median).")
  _RESULTS = flags.DEFINE_string("results", "experiments/results",
                                 "Where diffpose_quickstart_cpu*.json lie.")
  app.run(main)
