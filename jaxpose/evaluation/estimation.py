"""Estimation figures: one or many 3D hypotheses per 2D pose, in mm.

`estimation_metrics` computes the papers' figures (MPJPE and PA-MPJPE of
the hypotheses' mean, best-of-H, per joint and per activity, APD and the
hypotheses' spread) and whether that spread can be trusted
(`calibration.calibration_metrics`: spread-error correlation, interval
coverage, energy score) for any method; `estimation_result` turns a method's
hypotheses into a `TaskResult` with the plots, so GFPose's "estimate",
its single-hypothesis mode and the baseline's lifter share one code path.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from jaxpose import checks
from jaxpose.evaluation import calibration
from jaxpose.evaluation import pck
from jaxpose.evaluation.runner import EvalContext, TaskResult
from jaxpose.pose import metrics as metrics_lib


def _per_hypothesis(metric, hyps_mm, gt_mm, chunk: int = 65536) -> np.ndarray:
  """metric(hyps[h, n], gt[n]) -> [H, N], in row chunks to bound memory."""
  h, n = hyps_mm.shape[:2]
  flat = hyps_mm.reshape(h * n, *hyps_mm.shape[2:])
  gt_flat = np.broadcast_to(gt_mm[None], hyps_mm.shape).reshape(flat.shape)
  out = [np.asarray(metric(flat[i:i + chunk], gt_flat[i:i + chunk]))
         for i in range(0, h * n, chunk)]
  return np.concatenate(out).reshape(h, n)


def _group_means(values: np.ndarray, groups: np.ndarray,
                 names: Sequence[str] = ()) -> dict:
  """Mean per group id present, keyed by the id's name (or str(id))."""
  num = max(int(groups.max()) + 1, len(names))
  means = np.asarray(metrics_lib.mean_by_group(values, groups, num))
  label = lambda g: names[g] if g < len(names) else str(g)
  return {label(g): float(means[g]) for g in np.unique(groups)}


def estimation_metrics(hyps_mm: np.ndarray, gt_mm: np.ndarray,
                       activity: np.ndarray | None = None, *,
                       hypotheses_list: Sequence[int] = (1, 10, 50, 200),
                       activity_names: Sequence[str] = (),
                       levels: Sequence[float] = (0.5, 0.9)) -> dict:
  """Multi-hypothesis estimation figures (mm).

  Args:
    hyps_mm: hypotheses, H >= 1, N >= 1.  # [H, N, J, 3]
    gt_mm: ground truth.  # [N, J, 3]
    activity: activity id >= 0 per pose, for per-activity means.  # [N] int
    activity_names: the name of each activity id; per-activity figures are
      keyed by name (by the id as a string where there is none).
    hypotheses_list: the H of the best-of-H curve; each uses the first H
      hypotheses, values above the sampled H are dropped and the sampled H
      is always included.
    levels: the central interval levels of the calibration's coverage.

  Returns:
    A dict of figures; `best_of_h` maps str(H) to best-of-H MPJPE/PA-MPJPE,
    `calibration` holds `calibration.calibration_metrics` (for H = 1 its
    correlations and coverages are None, and a `note` says why).
  """
  sizes = metrics_lib.check_hypotheses(hyps_mm, gt_mm)
  if activity is not None:
    checks.check_array("activity", activity, ("N",), sizes=sizes)
    activity = np.asarray(activity)
    if not np.issubdtype(activity.dtype, np.integer) or activity.min() < 0:
      raise ValueError(f"activity: expected integer ids >= 0 per pose, got dtype "
                       f"{activity.dtype} with minimum {activity.min()}")
  hyps_mm = np.asarray(hyps_mm, np.float32)
  gt_mm = np.asarray(gt_mm, np.float32)
  h = hyps_mm.shape[0]
  mean_pose = hyps_mm.mean(axis=0)  # [N, J, 3]
  err_mean = np.asarray(metrics_lib.mpjpe(mean_pose, gt_mm))  # [N]
  pa_mean = np.asarray(metrics_lib.pa_mpjpe(mean_pose, gt_mm))  # [N]
  per_hyp = _per_hypothesis(metrics_lib.mpjpe, hyps_mm, gt_mm)  # [H, N]
  per_hyp_pa = _per_hypothesis(metrics_lib.pa_mpjpe, hyps_mm, gt_mm)  # [H, N]
  # Running minima: row H-1 is the best of the first H hypotheses.
  best_run = np.minimum.accumulate(per_hyp, axis=0)
  best_run_pa = np.minimum.accumulate(per_hyp_pa, axis=0)
  hs = sorted({int(x) for x in hypotheses_list if 1 <= int(x) <= h} | {h})
  best_of_h = {str(k): dict(mpjpe_mm=float(best_run[k - 1].mean()),
                            pa_mpjpe_mm=float(best_run_pa[k - 1].mean()))
               for k in hs}
  best_idx = per_hyp.argmin(axis=0)  # [N]
  best_pose = hyps_mm[best_idx, np.arange(len(gt_mm))]  # [N, J, 3]
  # Spread: mean distance of a hypothesis' joint from the hypotheses' mean.
  spread = np.linalg.norm(hyps_mm - mean_pose[None], axis=-1).mean(axis=(0, 1))
  results = dict(
      mpjpe_mm=float(err_mean.mean()),
      pa_mpjpe_mm=float(pa_mean.mean()),
      min_mpjpe_mm=float(best_run[-1].mean()),
      min_pa_mpjpe_mm=float(best_run_pa[-1].mean()),
      mean_hypothesis_mpjpe_mm=float(per_hyp.mean()),
      best_of_h=best_of_h,
      per_joint_mpjpe_mm=[float(v) for v in np.asarray(
          metrics_lib.per_joint_error(mean_pose, gt_mm)).mean(axis=0)],
      per_joint_min_mpjpe_mm=[float(v) for v in np.asarray(
          metrics_lib.per_joint_error(best_pose, gt_mm)).mean(axis=0)],
      per_joint_spread_mm=[float(v) for v in spread],
      apd_mm=float(np.mean(metrics_lib.apd(hyps_mm))) if h > 1 else 0.0,
      calibration=calibration.calibration_metrics(hyps_mm, gt_mm, levels=levels),
  )
  if activity is not None:
    activity = np.asarray(activity, np.int32)
    per_activity = {
        name: _group_means(values, activity, activity_names)
        for name, values in (("mpjpe_mm", err_mean), ("pa_mpjpe_mm", pa_mean),
                             ("min_mpjpe_mm", best_run[-1]),
                             ("min_pa_mpjpe_mm", best_run_pa[-1]))}
    results["per_activity"] = per_activity
    # Human3.6M's convention: average within each activity, then across them.
    for name, by_act in per_activity.items():
      results[f"{name}_activity_mean"] = float(np.mean(list(by_act.values())))
  return results


def plot_hypothesis_fans(ctx: EvalContext, hyps_mm: np.ndarray,
                         title: str) -> list[str]:
  """The first `plot_poses` test poses with their hypotheses, one PNG each."""
  from jaxpose import plotting
  k = ctx.config.plot_hypotheses
  names = []
  for i in range(min(ctx.config.plot_poses, hyps_mm.shape[1])):
    path, name = ctx.plot_path(f"pose{i}")
    plotting.plot_hypotheses(ctx.test["pose2d_screen"][i], ctx.test["pose3d_mm"][i],
                             hyps_mm[:k, i], path=path, max_hyps=max(k, 1),
                             unit_2d=plotting.SCREEN_UNIT, title=title)
    names.append(name)
  return names


def _calibration_rows(cal: dict) -> list[tuple[str, tuple[float, ...]]]:
  """The summary table's calibration rows (an undefined figure shows as nan).

  Coverage is a fraction (ideal: the level itself), the correlation is
  unitless, the energy score is in mm; the JSON holds the rest.
  """
  num = lambda v: float("nan") if v is None else float(v)
  keys = [calibration.level_key(l) for l in cal["levels"]]
  percent = " / ".join(f"{100 * l:g}%" for l in cal["levels"])
  return [
      (f"coverage {percent} (ideal: the level)",
       tuple(num(cal["coverage"][k]) for k in keys)),
      ("spread-error correlation Pearson / Spearman",
       (num(cal["spread_error_pearson"]), num(cal["spread_error_spearman"]))),
      ("energy score pose / mean joint",
       (cal["energy_score_mm"], cal["mean_joint_energy_score_mm"])),
  ]


def estimation_result(ctx: EvalContext, hyps_mm: np.ndarray, *,
                      sampler: str | None = None, num_steps: int | None = None,
                      hypotheses_list: Sequence[int] = (),
                      title: str = "estimate") -> TaskResult:
  """The estimation figures, plots and table of hypotheses for `ctx.test`.

  Args:
    ctx: the task's context (its test rows hold `pose3d_mm`, `activity`,
      `pose2d_screen`).
    hyps_mm: hypotheses for every test row, root-relative mm.  # [H, N, J, 3]
    sampler, num_steps: the sampler spec and steps that drew them (None for
      a method that does not sample, e.g. a lifter).
    hypotheses_list: the H of the best-of-H curve (see `estimation_metrics`).
    title: the plots' title prefix.
  """
  h, n = hyps_mm.shape[:2]
  figures = estimation_metrics(hyps_mm, ctx.test["pose3d_mm"], ctx.test["activity"],
                               hypotheses_list=hypotheses_list or (h,),
                               activity_names=ctx.activity_names)
  if ctx.activity_names:
    figures["activity_names"] = list(ctx.activity_names)
  gt_mm = ctx.test["pose3d_mm"]
  if gt_mm.shape[1] == pck.NUM_JOINTS:
    # MPI-INF-3DHP's protocol (PCK at 150 mm, AUC, per activity and per
    # sequence) on the mean of the hypotheses: its own test set reports it,
    # and it reads the same on any Human3.6M-17 data.
    figures["pck"] = pck.protocol_metrics(
        hyps_mm.mean(axis=0), gt_mm, activity=ctx.test["activity"],
        activity_names=ctx.activity_names, sequence=ctx.test.get("sequence"))
    figures["pck150"] = figures["pck"]["overall"]["pck"]
    figures["auc"] = figures["pck"]["overall"]["auc"]
  how = f" ({sampler})" if sampler else ""
  plots = plot_hypothesis_fans(ctx, hyps_mm, f"{title}: {h} hypotheses{how}")
  fans = list(plots)
  if h > 1:
    from jaxpose import plotting
    hs = [int(k) for k in figures["best_of_h"]]
    path, name = ctx.plot_path("error_vs_h")
    best = figures["best_of_h"]
    plotting.plot_curve(
        hs, {"best-of-H MPJPE": [best[str(k)]["mpjpe_mm"] for k in hs],
             "best-of-H PA-MPJPE": [best[str(k)]["pa_mpjpe_mm"] for k in hs],
             "MPJPE of the mean": [figures["mpjpe_mm"]] * len(hs)},
        xlabel="hypotheses H", ylabel="error (mm)", logx=True, path=path,
        title=f"error against H ({n} poses)")
    plots.append(name)
    table = [("MPJPE of the mean", figures["mpjpe_mm"]),
             ("PA-MPJPE of the mean", figures["pa_mpjpe_mm"])]
    table += [(f"best-of-{k} MPJPE / PA-MPJPE", (v["mpjpe_mm"], v["pa_mpjpe_mm"]))
              for k, v in best.items()]
    table += [("mean single-hypothesis MPJPE", figures["mean_hypothesis_mpjpe_mm"]),
              ("APD across hypotheses", figures["apd_mm"]),
              ("mean per-joint spread", float(np.mean(figures["per_joint_spread_mm"])))]
    table += _calibration_rows(figures["calibration"])
  else:
    table = [("MPJPE", figures["mpjpe_mm"]), ("PA-MPJPE", figures["pa_mpjpe_mm"])]
  if "pck" in figures:
    table.append(("PCK@150mm / AUC (3DHP protocol, %)",
                  (figures["pck150"], figures["auc"])))
  summary = {k: v for k, v in figures.items()
             if not isinstance(v, (dict, list)) or k == "best_of_h"}
  return TaskResult(figures=figures, table=table, num_poses=n, num_hypotheses=h,
                    sampler=sampler, num_steps=num_steps, plots=plots,
                    predictions=dict(hypotheses_mm=hyps_mm,
                                     pose3d_mm=ctx.test["pose3d_mm"]),
                    summary=summary, summary_plot=fans[0] if fans else None)


__all__ = ["estimation_metrics", "estimation_result", "plot_hypothesis_fans"]
