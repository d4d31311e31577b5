"""bfloat16 dense products while sampling, against float32: speed and error.

  python -m experiments.bench.precision --workdir=W [--num_poses=500]
      [--out=experiments/results/bench_precision_<machine>.json] [--quick]

Speed: GFPose at the paper's network size (`throughput.bench_model`,
random weights: the work does not depend on them) samples (poses,
hypotheses) = (1, 200) and (16, 200) with Euler-Maruyama under
`eval.matmul_dtype` float32 and bfloat16, each compiled for each
dense-product back end that changes the program here (`BACKENDS`), all timed in
alternation (`timing.time_interleaved`), so each round's ratio compares
like with like on a machine whose speed drifts.

Error: the trained workdir W's `estimate` evaluation run twice on the same
test rows with the same seed, once per dtype: MPJPE of the mean hypothesis,
PA-MPJPE, best-of-H, and how far each bfloat16 hypothesis lands from its
float32 twin (same noise, same start: only the products differ).
"""
from __future__ import annotations

import dataclasses
import os
import statistics
import tempfile

from absl import app
from absl import flags
import jax
import numpy as np

from experiments import workdir_config
from experiments.bench import cpu_backends
from experiments.bench import programs
from experiments.bench import throughput
from experiments.bench import timing
from jaxpose import files
from jaxpose import methods
from jaxpose import run_lib
from jaxpose.core import host_memory
from jaxpose.core import xla_options
from jaxpose.methods.gfpose import problems

DTYPES = ("float32", "bfloat16")
SPEED_CONFIGS = ((1, 200), (16, 200))
ERROR_KEYS = ("mpjpe_mm", "pa_mpjpe_mm", "min_mpjpe_mm", "min_pa_mpjpe_mm")


# The dense-product back ends that compile to programs of their own here
# (`cpu_backends` tries all that XLA 0.10 offers): YNNPACK subgraphs that
# also take the elementwise work (XLA's default), YNNPACK for the products
# alone, and XLA's own dot (no YNNPACK).
BACKENDS = {name: dict(cpu_backends.CANDIDATES[name])
            for name in ("ynnpack_fused", "ynnpack_dots", "xla_dot")}


def _chosen(rows: int, dtype: str, backends: dict) -> str:
  """The back end `xla_options.sampling_options` picks; options of a choice
  measured on this CPU (`xla_options.cpu_choice`) that `backends` lacks
  join it as 'installed_<n>'."""
  options = xla_options.sampling_options(rows=rows, matmul_dtype=dtype)
  name = next((n for n, o in backends.items() if o == options), None)
  if name is None:
    name = f"installed_{len(backends) - len(BACKENDS)}"
    backends[name] = options
  return name


def speed(*, configs=SPEED_CONFIGS, num_steps: int = 10, repeats: int = 5,
          model_overrides=None) -> list[dict]:
  """Per (poses, hypotheses): the step time of each dtype under each back
  end (`BACKENDS`), all timed in the same rounds; each dtype's time under
  the back end jaxpose picks, and the median of the per-round ratios of
  those two (float32 / bfloat16: above 1, bfloat16 is faster)."""
  _, run = throughput.bench_model(**(model_overrides or {}))
  built = {dtype: methods.get(run.method).build(run_with_dtype(run, dtype),
                                                 {}, {}) for dtype in DTYPES}
  params = built["float32"].init(jax.random.key(0))
  eps = run.eval_options.eps
  rows = []
  for b, h in configs:
    key = jax.random.key(b * 1000 + h)
    pose2d = jax.random.normal(jax.random.fold_in(key, 1),
                               (b, built["float32"].representation.num_joints, 2))
    problem = problems.estimation_problem(pose2d)
    calls, backends = {}, dict(BACKENDS)
    chosen = {dtype: _chosen(b * h, dtype, backends) for dtype in DTYPES}
    for dtype, model in built.items():
      hyp = programs.make_hypotheses_fn(
          model.make_sampler("euler_maruyama", num_steps, eps=eps), h)
      calls.update(programs.compiled_variants(
          hyp, (params, key, problem), backends, prefix=f"{dtype}/"))
    memory = {}
    with timing.row_memory(memory):
      times = timing.time_interleaved(calls, rounds=max(repeats, 3))
    row = dict(poses=b, hypotheses=h, steps=num_steps, chosen=chosen,
               backends={dtype: {
                   backend: statistics.median(times[f"{dtype}/{backend}"])
                   / num_steps for backend in backends} for dtype in DTYPES},
               **memory)
    for dtype in DTYPES:
      row[f"{dtype}_step_s"] = row["backends"][dtype][chosen[dtype]]
    row["bfloat16_speedup"] = statistics.median(
        f / g for f, g in zip(times[f"float32/{chosen['float32']}"],
                              times[f"bfloat16/{chosen['bfloat16']}"]))
    print(f"{b} x {h}: " + ", ".join(
        f"{name} {statistics.median(t) / num_steps * 1e3:.1f}"
        for name, t in times.items())
          + f" ms/step; chosen: float32 {row['float32_step_s'] * 1e3:.1f}, "
          f"bfloat16 {row['bfloat16_step_s'] * 1e3:.1f} "
          f"({row['bfloat16_speedup']:.2f}x)", flush=True)
    rows.append(row)
  return rows


def run_with_dtype(run, dtype: str):
  """Typed settings `run` with `eval.matmul_dtype` = `dtype`."""
  return dataclasses.replace(run, eval=dataclasses.replace(
      run.eval, matmul_dtype=dtype))


def error(workdir: str, *, num_poses: int, out_dir: str) -> dict:
  """Each dtype's `estimate` figures on `num_poses` test rows of the trained
  `workdir`, and the distance of bfloat16's hypotheses from float32's."""
  results, hyps = {}, {}
  for dtype in DTYPES:
    where = os.path.join(out_dir, dtype)
    config = run_lib.evaluation_config(
        workdir, {"eval.task": "estimate", "eval.num_poses": num_poses,
                  "eval.matmul_dtype": dtype, "eval.output_dir": where,
                  "eval.save_predictions": True, "eval.plot_poses": 0},
        base_config=workdir_config.get_config(workdir))
    result = run_lib.evaluate(config, workdir)
    results[dtype] = {k: result[k] for k in ERROR_KEYS if k in result}
    test_inputs = result.get("test_inputs")  # the same rows and 2D in both
    with np.load(os.path.join(where, "estimate_predictions.npz")) as z:
      hyps[dtype] = z["hypotheses_mm"]
  gap = np.linalg.norm(hyps["bfloat16"] - hyps["float32"], axis=-1)  # [N, H, J]
  out = dict(num_poses=num_poses, hypotheses=int(hyps["float32"].shape[1]),
             test_inputs=test_inputs,
             **{dtype: results[dtype] for dtype in DTYPES},
             hypothesis_gap_mm=dict(
                 mean=float(gap.mean()), median=float(np.median(gap)),
                 p99=float(np.percentile(gap, 99)), max=float(gap.max())))
  out["mpjpe_change_mm"] = {k: results["bfloat16"][k] - results["float32"][k]
                            for k in results["float32"]}
  print(f"{workdir}: " + "; ".join(
      f"{k} {results['float32'][k]:.2f} -> {results['bfloat16'][k]:.2f}"
      for k in results["float32"]) + "; hypotheses move "
      f"{out['hypothesis_gap_mm']['median']:.2f} mm (median), "
      f"{out['hypothesis_gap_mm']['max']:.1f} (max)", flush=True)
  return out


def measure(workdir: str | None, *, num_poses: int, quick: bool = False,
            num_steps: int = 10, repeats: int = 5) -> dict:
  """The benchmark's whole result (`main` writes it)."""
  overrides = throughput.QUICK["model"] if quick else None
  configs = ((1, 4), (2, 4)) if quick else SPEED_CONFIGS
  result = dict(benchmark="precision", hardware=timing.hardware_info(),
                speed=speed(configs=configs, num_steps=2 if quick else num_steps,
                            repeats=1 if quick else repeats,
                            model_overrides=overrides))
  if workdir:
    with tempfile.TemporaryDirectory() as tmp:
      result["error"] = error(workdir, num_poses=num_poses, out_dir=tmp)
      result["workdir"] = workdir
      # What the model received of each test row, where the pages look.
      result["test_inputs"] = result["error"].pop("test_inputs")
  return result


if __name__ == "__main__":
  _WORKDIR = flags.DEFINE_string("workdir", None, "A trained GFPose workdir "
                                 "(the error part; left out without one).")
  _NUM_POSES = flags.DEFINE_integer("num_poses", 500, "Test rows scored.")
  _OUT = flags.DEFINE_string("out", "bench_precision.json", "JSON path.")
  _QUICK = flags.DEFINE_bool("quick", False, "Tiny network (tests).")

  def main(argv):
    if len(argv) > 1:
      raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    host_memory.retain_freed_memory()
    result = measure(_WORKDIR.value, num_poses=_NUM_POSES.value,
                     quick=_QUICK.value)
    print(f"wrote {files.write_json_atomic(_OUT.value, result)}")

  app.run(main)
