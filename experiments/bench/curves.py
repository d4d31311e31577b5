"""Error against network evaluations (NFE) for GFPose's samplers.

  result = run_sampler_curves(model, params, test, key=key, eps=eps,
                              num_poses=32)
  write_curves(result, out_dir)   # sampler_curves.json and .png
  print(format_default(result["default"]))

Every (sampler, steps) setting samples the same held-out 2D poses with the
same keys through `GFPoseModel.sample_rows` (the evaluation's own chunking
and XLA options), so the rows differ only by the sampler. The default is the
cheapest setting whose best-of-H error is within a tolerance of the
reference (1000-step Euler-Maruyama): `pick_default`.
"""
from __future__ import annotations

import os
import time
from typing import Any, Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from experiments.bench import programs
from experiments.bench import timing
from jaxpose import files
from jaxpose.core import samplers as samplers_lib
from jaxpose.core import sampling
from jaxpose.evaluation import estimation
from jaxpose.evaluation import runner
from jaxpose.methods.gfpose import problems

CURVE_SAMPLERS = ("euler_maruyama", "pc", "ode", "deterministic", "ddim",
                  "ode_adaptive")
CURVE_STEPS = (1000, 500, 200, 100, 50, 20, 10)
ADAPTIVE_TOLS = (1e-2, 1e-3, 1e-4, 1e-5)

# Network evaluations per step of each fixed-step method (PC with its
# default single corrector step; ODE with its default Heun solver).
NFE_PER_STEP = {"euler_maruyama": 1, "deterministic": 1, "ddim": 1,
                "pc": 2, "ode": 2}


# ------------------------------------------------------------------- NFE
def nfe_per_step(method: str, **options) -> int:
  """Network evaluations per step of a fixed-step method."""
  if method == "pc":
    return 1 + int(options.get("num_corrector_steps", 1))
  # grid_rho and the other options do not change the evaluations per step.
  if method == "ode" and options.get("solver", "heun") == "euler":
    return 1
  if method not in NFE_PER_STEP:
    raise ValueError(f"method: {method!r} has no fixed NFE per step; valid: "
                     f"{', '.join(NFE_PER_STEP)}")
  return NFE_PER_STEP[method]


def count_nfe(method: str, sde, score_fn, params, key, problem, *,
              num_steps: int, num_hypotheses: int, eps: float = 1e-3,
              **options) -> int:
  """Batched network evaluations one `sampler.hypotheses` call makes.

  A host callback in the score function counts the calls; under vmap a
  batched adaptive loop runs until its slowest hypothesis is done, so this
  is the work actually paid (for fixed-step methods it equals
  `num_steps * nfe_per_step`).  Slow (a callback per evaluation): use it
  once on a small batch, not for timing.

  Args:
    method: a method name or spec ('pc', 'ode_adaptive:rtol=0.01').
    sde, score_fn: the model's process and score function.
    params, key, problem: one sampling call's inputs.
    num_steps, num_hypotheses, eps: as for the sampler.
    **options: more method options (keyword form of the spec's).
  """
  counter = [0]

  def bump():
    counter[0] += 1

  def counting_score(p, x, t, cond):
    jax.debug.callback(bump)
    return score_fn(p, x, t, cond)

  sampler = sampling.make_sampler(method, sde, counting_score,
                                  num_steps=num_steps, eps=eps, **options)
  jax.block_until_ready(sampler.hypotheses(params, key, problem, num_hypotheses))
  jax.effects_barrier()
  return counter[0]


# ------------------------------------------------------- default sampler
def _row_id(row: Mapping[str, Any]) -> tuple:
  steps = row.get("steps")
  return (row["sampler"], None if steps is None else int(steps))


def pick_default(rows: Sequence[Mapping[str, Any]], *,
                 reference: tuple[str, int] = ("euler_maruyama", 1000),
                 tolerance_mm: float = 1.0, metric: str = "best_of_h_mm",
                 min_ratio: float = 10.0) -> dict:
  """The cheapest (sampler, steps) within `tolerance_mm` of the reference.

  Args:
    rows: one mapping per run with keys "sampler", "steps" (None for an
      adaptive solver), "nfe", `metric` and optionally "wall_s" and "label".
    reference: (sampler, steps) of the reference row.
    tolerance_mm: allowed excess error over the reference.
    metric: the error to compare (best-of-H MPJPE by default).
    min_ratio: the NFE saving asked for; reported as `meets_target`.

  Returns:
    {"sampler", "steps", "label", "nfe", metric, "reference": {...},
    "nfe_ratio", "speedup" (reference wall / chosen wall, when both timed,
    else None), "meets_target"}.  Ties in NFE go to the lower error.
  """
  reference = (reference[0], int(reference[1]))
  ref = [r for r in rows if _row_id(r) == reference]
  if not ref:
    raise ValueError(f"rows: no reference row {reference}; have "
                     f"{sorted(map(_row_id, rows), key=str)}")
  ref = ref[0]
  limit = float(ref[metric]) + float(tolerance_mm)
  ok = [r for r in rows if np.isfinite(float(r[metric]))
        and float(r[metric]) <= limit]
  best = min(ok, key=lambda r: (float(r["nfe"]), float(r[metric])))
  speedup = None
  if best.get("wall_s") and ref.get("wall_s"):
    speedup = float(ref["wall_s"]) / float(best["wall_s"])
  ratio = float(ref["nfe"]) / float(best["nfe"])
  return dict(sampler=best["sampler"], steps=_row_id(best)[1],
              label=best.get("label", f"{best['sampler']} {best.get('steps')}"),
              nfe=float(best["nfe"]), **{metric: float(best[metric])},
              reference=dict(sampler=ref["sampler"], steps=int(ref["steps"]),
                             nfe=float(ref["nfe"]), **{metric: float(ref[metric])},
                             wall_s=ref.get("wall_s")),
              tolerance_mm=float(tolerance_mm), nfe_ratio=ratio,
              wall_s=best.get("wall_s"), speedup=speedup,
              meets_target=bool(ratio >= min_ratio))


# ---------------------------------------------------------------- curves
def curve_point(model, params, rows: Mapping[str, np.ndarray], *, spec: str,
                eps: float, num_hypotheses: int, chunk_size: int,
                key: jax.Array, num_steps: int | None = None,
                count_adaptive_nfe: bool = True) -> dict:
  """Errors, NFE and wall-clock of one sampler setting on fixed poses.

  Args:
    model: a GFPose model (`base.Trained.model`): its samplers,
      `sample_rows` and `to_mm`.
    params: network parameters.
    rows: the held-out rows: "pose2d" in model units `[N, J, 2]`,
      "pose3d_mm" root-relative mm `[N, J, 3]`, and camera fields where the
      representation needs them to back-project.
    spec: a sampler spec ('pc:snr=0.1', 'ode_adaptive:rtol=0.001,atol=0.001').
    eps: the samplers' end time (the evaluation's `eval.eps`).
    num_hypotheses: H.
    chunk_size: poses per call (the last chunk is padded).
    key: PRNG key shared by every setting (chunk i uses fold_in(key, i)).
    num_steps: steps of a fixed-step method; ode_adaptive uses it for its
      first step only (default 100 there).
    count_adaptive_nfe: count ode_adaptive's evaluations on chunk 0 (one
      extra run); otherwise NFE is None for it.

  Returns:
    A row: sampler, steps, label, nfe, wall_s (sampling only), compile_s,
    best_of_h_mm, mean_of_h_mm (MPJPE of the hypotheses' mean), their
    PA-MPJPE, mean single-hypothesis MPJPE and the best-of-H curve.
  """
  sampling.check_spec(spec)
  # Rows are named by the spec as written ('ddim:eta=1', not 'eta=1.0').
  name, options = sampling.parse_spec(spec)
  adaptive = name in samplers_lib.ADAPTIVE_METHODS
  if not adaptive and not num_steps:
    raise ValueError(f"num_steps: {spec!r} is a fixed-step sampler; give its "
                     "steps")
  steps = int(num_steps or 100)
  h = int(num_hypotheses)
  if adaptive:
    label = f"{name} rtol={options.get('rtol', 1e-5):g}"
  else:
    # A fixed-step row is named by its full spec, so variants of one method
    # (e.g. 'pc:snr=0.1') stay apart and the default can be used as it is.
    label = f"{sampling.format_spec(name, options)} {steps}"
  sampler = programs.CompileTimedSampler(model.make_sampler(spec, steps,
                                                           eps=eps))

  def make_problem(chunk):
    return problems.estimation_problem(chunk["pose2d"])

  start = time.perf_counter()
  hyps = model.sample_rows(sampler, params, key, make_problem,
                            {"pose2d": rows["pose2d"]}, num_hypotheses=h,
                            chunk_size=chunk_size, desc=label)  # [H, N, J, 3]
  wall_s = time.perf_counter() - start - sampler.compile_s
  nfe = None
  if not adaptive:
    nfe = steps * nfe_per_step(name, **options)
  elif count_adaptive_nfe:
    first = {"pose2d": jnp.asarray(rows["pose2d"][:chunk_size])}
    nfe = count_nfe(spec, model.sde, model.score_fn, params,
                    jax.random.fold_in(key, 0), make_problem(first),
                    num_steps=steps, num_hypotheses=h, eps=float(eps))
  hyps_mm = model.to_mm(hyps, rows)
  row = dict(sampler=name if adaptive else sampling.format_spec(name, options),
             method=name, steps=None if adaptive else steps, label=label,
             options=dict(options), nfe=nfe, wall_s=wall_s,
             compile_s=sampler.compile_s,
             nonfinite_fraction=float(np.mean(~np.isfinite(hyps_mm))))
  if row["nonfinite_fraction"] > 0:
    # A diverged setting (too few steps for a stiff score) stays in the
    # table as NaN errors rather than stopping the sweep.
    nan = float("nan")
    return dict(row, best_of_h_mm=nan, mean_of_h_mm=nan, best_of_h_pa_mm=nan,
                mean_of_h_pa_mm=nan, mean_hypothesis_mm=nan, apd_mm=nan,
                best_of_h={})
  m = estimation.estimation_metrics(hyps_mm, rows["pose3d_mm"],
                                    hypotheses_list=(1, 10, 50, 200, h))
  return dict(row, best_of_h_mm=m["min_mpjpe_mm"], mean_of_h_mm=m["mpjpe_mm"],
              best_of_h_pa_mm=m["min_pa_mpjpe_mm"],
              mean_of_h_pa_mm=m["pa_mpjpe_mm"],
              mean_hypothesis_mm=m["mean_hypothesis_mpjpe_mm"],
              apd_mm=m["apd_mm"], best_of_h=m["best_of_h"])


def _settings(specs: Sequence[str], steps_list, adaptive_tols):
  """(spec, num_steps) of every point: ode_adaptive once per tolerance."""
  settings = []
  for spec in specs:
    name, options = sampling.check_spec(spec)
    if name not in CURVE_SAMPLERS:
      raise ValueError(f"samplers: unknown {spec!r}; valid: "
                       f"{', '.join(CURVE_SAMPLERS)}, each optionally with "
                       "':option=value,...'")
    if name == "ode_adaptive":
      if options:
        raise ValueError(f"samplers: {spec!r}: ode_adaptive takes its "
                         "tolerances from adaptive_tols, not options")
      settings += [(sampling.format_spec(name, dict(rtol=float(t), atol=float(t))),
                    None) for t in adaptive_tols]
    else:
      settings += [(spec, int(s)) for s in steps_list]
  return settings


def run_sampler_curves(model, params, test: Mapping[str, np.ndarray], *,
                       key: jax.Array, eps: float,
                       samplers: Sequence[str] = CURVE_SAMPLERS,
                       steps_list: Sequence[int] = CURVE_STEPS,
                       adaptive_tols: Sequence[float] = ADAPTIVE_TOLS,
                       num_poses: int = 32, num_hypotheses: int = 200,
                       chunk_size: int = 16, tolerance_mm: float = 1.0,
                       reference: tuple[str, int] = ("euler_maruyama", 1000),
                       log: Callable[[str], None] = print) -> dict:
  """Error against NFE for every sampler and step count, and the default.

  The held-out poses are the first `num_poses` rows of `test` (the test
  split as the method's `load_data` gives it); every setting uses them
  and the same keys (see `curve_point`).  ode_adaptive runs once per
  tolerance (rtol = atol) instead of per step count. `eps`: the samplers'
  end time (the evaluation's `eval.eps`).

  Returns:
    {"rows": [...], "default": pick_default(...) or an "error" string,
    "num_poses", "num_hypotheses", "hardware", ...}.
  """
  settings = _settings(samplers, steps_list, adaptive_tols)  # checked first
  rows = runner.first_rows(test, num_poses)
  n = len(rows["pose2d"])
  chunk_size = min(int(chunk_size), n)
  # Building a problem runs eager ops that compile on first use; do it once
  # here, or the first setting's wall-clock (the reference's, by default)
  # would pay for that.
  jax.block_until_ready(problems.estimation_problem(
      jnp.asarray(rows["pose2d"][:chunk_size])).cond)
  jax.block_until_ready(jax.random.fold_in(key, 0))
  points = []
  for spec, steps in settings:
    point = curve_point(model, params, rows, spec=spec, eps=eps,
                        num_steps=steps, num_hypotheses=num_hypotheses,
                        chunk_size=chunk_size, key=key)
    points.append(point)
    log(format_curve_row(point))
  result = dict(num_poses=n, num_hypotheses=int(num_hypotheses),
                chunk_size=int(chunk_size),
                eps=float(eps),
                hardware=timing.hardware_info(), rows=points)
  try:
    result["default"] = pick_default(points, reference=reference,
                                     tolerance_mm=tolerance_mm)
  except ValueError as err:  # e.g. the reference was not run
    result["default"] = dict(error=str(err))
  return result


# ---------------------------------------------------------------- output
def format_curve_row(r: Mapping[str, Any]) -> str:
  nfe = "?" if r["nfe"] is None else f"{r['nfe']:.0f}"
  return (f"{r['label']:<28} NFE {nfe:>6}  best-of-H {r['best_of_h_mm']:7.2f} mm"
          f"  mean {r['mean_of_h_mm']:7.2f} mm  wall {r['wall_s']:8.2f} s")


def format_default(d: Mapping[str, Any]) -> str:
  if "error" in d:
    return f"default: not chosen ({d['error']})"
  speed = "n/a" if d["speedup"] is None else f"{d['speedup']:.1f}x"
  ref = d["reference"]
  return (f"default: {d['label']} (NFE {d['nfe']:.0f}, best-of-H "
          f"{d['best_of_h_mm']:.2f} mm vs {ref['best_of_h_mm']:.2f} mm for "
          f"{ref['sampler']} {ref['steps']}): {d['nfe_ratio']:.1f}x fewer "
          f"network evaluations, {speed} faster wall-clock; target >= 10x "
          f"{'met' if d['meets_target'] else 'NOT met'}")


def plot_sampler_curves(rows: Sequence[Mapping[str, Any]], path: str,
                        title: str = "") -> str:
  """Error against NFE (log x): best-of-H solid, mean-of-H dashed."""
  import matplotlib
  matplotlib.use("Agg")
  from matplotlib.figure import Figure
  fig = Figure(figsize=(7, 4.5), dpi=100)
  ax = fig.add_subplot(1, 1, 1)
  colors = {}
  for r in rows:
    if r["nfe"] is None:
      continue
    colors.setdefault(r["sampler"], f"C{len(colors)}")
  for name, color in colors.items():
    pts = sorted((float(r["nfe"]), r["best_of_h_mm"], r["mean_of_h_mm"])
                 for r in rows if r["sampler"] == name and r["nfe"] is not None
                 and np.isfinite(r["best_of_h_mm"]))
    x = [p[0] for p in pts]
    ax.plot(x, [p[1] for p in pts], "-o", ms=3, color=color,
            label=f"{name} best-of-H")
    ax.plot(x, [p[2] for p in pts], "--", color=color, alpha=0.6,
            label=f"{name} mean-of-H")
  finite = [v for r in rows for v in (r["best_of_h_mm"], r["mean_of_h_mm"])
            if r["nfe"] is not None and np.isfinite(v)]
  if finite:
    # Very short grids can be off by metres; keep the interesting range
    # readable (the JSON and the table hold every value).
    lo, hi = min(finite), max(finite)
    ax.set_ylim(0.9 * lo, 1.05 * min(hi, 2.5 * lo))
  ax.set_xscale("log")
  ax.set_xlabel("network evaluations (NFE)")
  ax.set_ylabel("MPJPE (mm)")
  ax.grid(True, which="both", alpha=0.3)
  ax.legend(fontsize=7, ncol=2)
  if title:
    ax.set_title(title)
  fig.tight_layout()
  fig.savefig(path)
  return path


def write_curves(result: Mapping[str, Any], out_dir: str) -> tuple[str, str]:
  """OUT_DIR/sampler_curves.json and sampler_curves.png; their paths."""
  os.makedirs(out_dir, exist_ok=True)
  png = plot_sampler_curves(
      result["rows"], os.path.join(out_dir, "sampler_curves.png"),
      title=f"{result['num_poses']} poses x {result['num_hypotheses']} hypotheses")
  path = files.write_json_atomic(os.path.join(out_dir, "sampler_curves.json"),
                                 result)
  return path, png


__all__ = ["CURVE_SAMPLERS", "CURVE_STEPS", "ADAPTIVE_TOLS", "NFE_PER_STEP",
           "nfe_per_step", "count_nfe", "pick_default", "curve_point",
           "run_sampler_curves", "format_curve_row", "format_default",
           "plot_sampler_curves", "write_curves"]
