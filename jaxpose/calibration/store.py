"""A workdir's calibration of its hypotheses: fitted once, applied after.

`--mode=calibrate` runs the workdir's task `eval.task` on its held-out
training rows (`calibration.heldout.calibrate`) and hands the result to
`calibrate`, which fits both calibrations of `calibration.fit`, keeps one
(`fit.choose`) and writes it to WORKDIR/calibration.json, one entry per task:

  {"format": 1, "tasks": {task: {"calibration": {kind, levels, scale |
   quantiles, fitted_on: {method, task, step, params_digest, rows, ...}},
   "report": the comparison of both}}}

and the held-out evaluation's figures to WORKDIR/calibration/<task>.json:
coverage before and after, and under `task_figures` the task's own numbers
on those rows (a model that beats its baseline there but not on the test
split has met people it cannot generalise to).  `borrow` stores a sibling
workdir's entry instead (a model trained on every row has no held-out rows).
Every later evaluation of that task (`applying`, `eval.apply_calibration`)
adds `calibration_after` (and `calibration_before` when the task's figures
hold no top-level `calibration`) and two table rows, if the calibration was
fitted on this checkpoint (same step and parameter digest) and on the same
predictions; otherwise it applies nothing and says why (`calibration_note`).

A task offers hypotheses to calibrate through `TaskResult.predictions`
(`hypotheses_mm` [H, N, J, 3], `pose3d_mm` [N, J, 3]); a task whose
predictions are one of several settings names it in
`figures["predictions_of"]`.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Any, Callable, Mapping

from absl import logging
import numpy as np

from jaxpose import digest as digest_lib
from jaxpose import files
from jaxpose import settings
from jaxpose import summary_writer
from jaxpose.calibration import fit as fit_lib
from jaxpose.evaluation import calibration
from jaxpose.evaluation import runner
from jaxpose.workdir import layout

FILE = layout.CALIBRATION
FORMAT = 1
PREDICTIONS_OF = "predictions_of"


def params_digest(params) -> str:
  """The digest a calibration records of the parameters it was fitted with."""
  return digest_lib.digest(params, length=16)


def path(workdir: str) -> str:
  return layout.Workdir.of(workdir).calibration


def predictions(result: runner.TaskResult, task: str):
  """(hypotheses [H, N, J, 3], truth [N, J, 3]) mm of a task's result.

  Raises:
    ValueError: the task offers no hypotheses.
  """
  pred = result.predictions or {}
  if "hypotheses_mm" not in pred or "pose3d_mm" not in pred:
    raise ValueError(f"calibration: task {task!r} gives no hypotheses to "
                     "calibrate (TaskResult.predictions hypotheses_mm and "
                     "pose3d_mm); calibrate a task that samples hypotheses")
  return np.asarray(pred["hypotheses_mm"]), np.asarray(pred["pose3d_mm"])


def read(workdir: str, task: str) -> dict | None:
  """The entry of `task` in WORKDIR/calibration.json, or None."""
  stored = files.read_json(path(workdir))
  if stored is None:
    return None
  if not isinstance(stored, dict) or stored.get("format") != FORMAT:
    raise ValueError(f"{path(workdir)}: not a calibration file of format "
                     f"{FORMAT}; run --mode=calibrate again")
  return (stored.get("tasks") or {}).get(task)


def write(workdir: str, task: str, entry: Mapping[str, Any]) -> str:
  """Stores `entry` as `task`'s, keeping the other tasks' (atomically)."""
  stored = files.read_json(path(workdir))
  tasks = dict(stored.get("tasks") or {}) if isinstance(stored, dict) else {}
  tasks[task] = dict(entry)
  return files.write_json_atomic(path(workdir), dict(format=FORMAT, tasks=tasks))


def _pair(cov: Mapping[str, float] | None, levels) -> tuple[float, ...]:
  num = lambda v: float("nan") if v is None else float(v)
  return tuple(num((cov or {}).get(calibration.level_key(l))) for l in levels)


def _percent(levels) -> str:
  return " / ".join(f"{100 * l:g}%" for l in levels)


def _headline_numbers(figures: Mapping[str, Any]) -> dict[str, float]:
  """The task's numbers and those one dict down ('encoder/mpjpe_mm'); deeper
  breakdowns (per activity, threshold) would outweigh the rest of the file."""
  return {tag: value for tag, value in summary_writer.flat_scalars(figures).items()
          if tag.count("/") <= 1}


def calibrate(task_fn: Callable[[runner.EvalContext], runner.TaskResult],
              ctx: runner.EvalContext, workdir: str, *,
              fitted_on: Mapping[str, Any]) -> dict:
  """Runs the task on held-out rows (`ctx.test`), fits, keeps, writes.

  Args:
    task_fn: the task, its trained parts and options bound.
    ctx: its context, `test` the held-out training rows (their `clip`, when
      they have one, keeps whole clips together in the cross-fit).
    workdir: where calibration.json goes.
    fitted_on: what the calibration records of its fit (`task`, `step`,
      `params_digest`, rows, ...); `predictions_of` is added.

  Returns:
    The task's entry of calibration.json. With `ctx.config.save_predictions`
    the rows' predictions also go to `<out_dir>/<stem>_predictions.npz`.
  """
  task = str(fitted_on["task"])
  os.makedirs(ctx.out_dir, exist_ok=True)
  result = task_fn(ctx)
  hyps, gt = predictions(result, task)
  info = dict(fitted_on, predictions_of=result.figures.get(PREDICTIONS_OF),
              sampler=result.sampler, num_steps=result.num_steps)
  groups = ctx.test.get("clip")
  kept, report = fit_lib.choose(hyps, gt, groups=groups, fitted_on=info)
  entry = files.jsonable(dict(calibration=kept.to_json(), report=report))
  figures = dict(before=calibration.calibration_metrics(hyps, gt,
                                                        levels=kept.levels),
                 after=fit_lib.coverage_after(kept, hyps, gt),
                 num_rows=int(len(gt)),
                 task_figures=_headline_numbers(result.figures),
                 **{k: v for k, v in info.items() if k != "rows"})
  held_json = files.write_json_atomic(
      os.path.join(ctx.out_dir, f"{ctx.stem}.json"), figures)
  if ctx.config.save_predictions:  # the held-out rows' hypotheses, to study
    held_json += ", " + runner.write_predictions(ctx, result.predictions)
  written = write(workdir, task, entry)
  levels = kept.levels
  rows = [(f"coverage {_percent(levels)} of the hypotheses", _pair(report["before"], levels))]
  for kind, cand in report["candidates"].items():
    rows.append((f"{kind}: cross-fitted / in-sample worst error",
                 (cand["cross_fitted_error"],
                  fit_lib.worst_error(cand["heldout_coverage"], levels))))
    rows.append((f"{kind}: cross-fitted coverage {_percent(levels)}",
                 _pair(cand["cross_fitted_coverage"], levels)))
  rows.append((f"kept: {report['kept']}, coverage {_percent(levels)}",
               _pair(figures["after"]["coverage"], levels)))
  print(runner.format_table(
      f"calibrate {task} ({len(gt)} held-out training rows, "
      f"{hyps.shape[0]} hypotheses)", rows,
      f"kept {report['kept']}: {report['rule']}\nwrote: {written}, {held_json}"))
  return entry


def borrow(workdir: str, sibling: str, task: str, *, step: int,
           digest: str) -> dict:
  """Stores `sibling`'s calibration of `task` as `workdir`'s, for its
  checkpoint (`step`, parameter `digest`): `fitted_on.borrowed_from` keeps
  the sibling's workdir, step and digest, and its held-out figures
  (calibration/<task>.json) are copied with the same note.

  Raises:
    settings.ConfigError: `sibling` has no calibration of `task`.
  """
  theirs = read(sibling, task)
  if theirs is None:
    raise settings.ConfigError(
        f"eval.calibration_from={sibling!r}: no calibration of task {task!r} "
        f"there ({path(sibling)}); run --mode=calibrate there first")
  cal = dict(theirs["calibration"])
  fitted = dict(cal["fitted_on"])
  source = dict(workdir=sibling, step=fitted.get("step"),
                params_digest=fitted.get("params_digest"))
  fitted.update(step=step, params_digest=digest, borrowed_from=source)
  entry = files.jsonable(dict(theirs, calibration=dict(cal, fitted_on=fitted)))
  held = files.read_json(layout.Workdir(sibling).calibration_run(task))
  if held is not None:
    files.write_json_atomic(layout.Workdir(workdir).calibration_run(task),
                            dict(held, borrowed_from=source))
  written = write(workdir, task, entry)
  print(f"calibrate {task}: {cal['kind']} of {sibling} (step {source['step']}, "
        f"{fitted.get('num_rows')} of its held-out rows) for this checkpoint "
        f"(step {step}); wrote {written}")
  return entry


def _summary(cal: fit_lib.Calibration) -> dict:
  """The calibration as a results file records it (rows left out)."""
  out = cal.to_json()
  out["fitted_on"] = {k: v for k, v in cal.fitted_on.items() if k != "rows"}
  return out


def _why_not(cal: fit_lib.Calibration, result: runner.TaskResult, *,
             step: int, digest: str) -> str | None:
  fitted = cal.fitted_on
  if fitted.get("step") != step or fitted.get("params_digest") != digest:
    return (f"calibration.json was fitted on the checkpoint of step "
            f"{fitted.get('step')} (parameters {fitted.get('params_digest')}), "
            f"not this one (step {step}, {digest}): not applied; run "
            "--mode=calibrate again")
  ours = result.figures.get(PREDICTIONS_OF)
  if fitted.get("predictions_of") != ours:
    return (f"calibration.json was fitted on predictions of "
            f"{fitted.get('predictions_of')!r}, these are of {ours!r}: not "
            "applied; run --mode=calibrate with the same task settings")
  return None


def _other_2d(cal: fit_lib.Calibration, input_2d: str | None) -> str | None:
  """A warning when the calibration was fitted with another 2D than the
  evaluation's: its intervals are sized for that 2D's errors."""
  fitted = cal.fitted_on.get("input_2d")
  if fitted is None or input_2d is None or fitted == input_2d:
    return None
  return (f"the calibration was fitted with {fitted} 2D and is applied to "
          f"{input_2d} 2D: its intervals are sized for the errors of {fitted} "
          "2D; for coverage that holds here, fit one on this 2D "
          "(--mode=calibrate with eval.calibration_2d naming it)")


def applied(cal: fit_lib.Calibration, result: runner.TaskResult, *,
            task: str, step: int, digest: str,
            input_2d: str | None = None) -> runner.TaskResult:
  """`result` with the calibration's figures and table rows added; a
  warning in the log and `calibration_note` when it was fitted with another
  2D than `input_2d`, the evaluation's."""
  figures, table = dict(result.figures), list(result.table)
  note = _why_not(cal, result, step=step, digest=digest)
  if note is None:
    try:
      hyps, gt = predictions(result, task)
      after = fit_lib.coverage_after(cal, hyps, gt)
    except ValueError as e:
      note = f"calibration not applied: {e}"
  if note is not None:
    logging.warning("%s: %s", task, note)
    return dataclasses.replace(result, figures=dict(figures, calibration_note=note))
  before = figures.get("calibration")
  if not isinstance(before, dict) or "coverage" not in before:
    before = figures["calibration_before"] = calibration.calibration_metrics(
        hyps, gt, levels=cal.levels)
  after["calibration"] = _summary(cal)
  figures["calibration_after"] = after
  mismatch = _other_2d(cal, input_2d)
  if mismatch is not None:
    logging.warning("%s: %s", task, mismatch)
    figures["calibration_note"] = mismatch
  levels, n = cal.levels, cal.fitted_on.get("num_rows")
  what = (f"s = {cal.scale:.3g}" if cal.kind == "spread_scale"
          else "q = " + " / ".join(f"{v:.3g}" for v in cal.quantiles.values()))
  table += [(f"coverage {_percent(levels)} before calibration",
             _pair(before.get("coverage"), levels)),
            (f"coverage {_percent(levels)} after {cal.kind} ({what}, "
             f"{n} held-out rows)", _pair(after["coverage"], levels))]
  return dataclasses.replace(result, figures=figures, table=table)


def applying(task_fn: Callable[[runner.EvalContext], runner.TaskResult],
             workdir: str, *, task: str, step: int, params,
             enabled: bool) -> Callable[[runner.EvalContext], runner.TaskResult]:
  """`task_fn`, applying WORKDIR/calibration.json's entry for `task` to its
  result when there is one and `enabled` (`eval.apply_calibration`)."""
  entry = read(workdir, task) if enabled else None
  if entry is None:
    return task_fn
  cal = fit_lib.Calibration.from_json(entry["calibration"])
  digest = params_digest(params)
  return lambda ctx: applied(cal, task_fn(ctx), task=task, step=step,
                             digest=digest, input_2d=ctx.input_2d)


__all__ = ["FILE", "PREDICTIONS_OF", "params_digest", "path", "predictions", "borrow",
           "read", "write", "calibrate", "applied", "applying"]
