"""Runs one evaluation task of any method and writes its results.

A method's evaluation task, its trained parts and options bound, is a
function `task(ctx: EvalContext) -> TaskResult`: it reads held-out rows
from the context, writes its plots under `ctx.out_dir` and returns its
figures. The runner adds what every result file records (`run_task`),
writes `<out_dir>/<stem>.json` atomically and prints the table:

  results = runner.run_task(name, task, context, extra=..., after=...)
"""
from __future__ import annotations

import dataclasses
import os
import time
from typing import Any, Callable, Mapping, Sequence

from absl import logging
import jax
import numpy as np

from jaxpose import files
from jaxpose.evaluation import inputs
from jaxpose.evaluation import output_names
from jaxpose.evaluation import plausibility
from jaxpose.evaluation.config import EvalConfig

TableRow = tuple[str, Any]  # (label, float or tuple of floats)


def output_stem(task: str, suffix: str = "") -> str:
  """The file stem of a task's outputs: `task` or `task_suffix`."""
  return f"{task}_{suffix}" if suffix else task


@dataclasses.dataclass(frozen=True)
class EvalContext:
  """What an evaluation task is given beside the trained parts and options.

  Attributes:
    test: the first `config.num_poses` rows of the test split.  # {k: [N, ...]}
    splits: every split of the evaluation data, whole (generation compares
      against the training split; windows reach past the first rows).
    key: every random draw of the task derives from it.
    config: the generic evaluation settings.
    out_dir: where the task writes its JSON and plots.
    stem: the file stem of this task's outputs (`output_stem`).
    activity_names: names of the test split's activity ids (or ()).
    input_2d: which 2D the test split holds ("exact", "noisy (5 px)", ...).
    data_name: the dataset's registry name.
    reads: what the method reads of each test row beside its 2D, and the
      baseline whose figures its results hold (`Method.test_inputs`).
  """
  test: Mapping[str, np.ndarray]
  splits: Mapping[str, Mapping[str, np.ndarray]]
  key: jax.Array
  config: EvalConfig
  out_dir: str
  stem: str
  activity_names: tuple[str, ...] = ()
  input_2d: str = "exact"
  data_name: str = ""
  reads: inputs.Reads = inputs.Reads()

  @property
  def num_poses(self) -> int:
    return len(next(iter(self.test.values())))

  @property
  def train(self) -> Mapping[str, np.ndarray]:
    """The whole training split of the evaluation data."""
    return self.splits["train"]

  def plot_path(self, what: str) -> tuple[str, str]:
    """(full path, file name) of the plot `<stem>_<what>.png`."""
    name = f"{self.stem}_{what}.png"
    return os.path.join(self.out_dir, name), name


@dataclasses.dataclass(frozen=True)
class TaskResult:
  """What a task measured.

  Attributes:
    figures: JSON-able figures (mm), written as they are.
    table: rows of the printed summary table.
    num_poses: poses (or generated samples, windows' frames) scored.
    num_hypotheses: outputs per pose.
    plots: file names of the plots written under the context's out_dir.
    predictions: the outputs and ground truth per test row (e.g.
      `hypotheses_mm` [H, N, J, 3], `pose3d_mm` [N, J, 3]), written to
      `<stem>_predictions.npz` when `config.save_predictions`.
    sampler, num_steps: the sampler spec and its steps, for tasks that
      sample a diffusion model (None otherwise; not written then).
    summary: the headline figures of the workdir's summary file
      (`metrics.json`); None: every top-level number of `figures`.
    summary_plot: the plot (one of `plots`) that pictures the result,
      copied beside the summary as `<stem>.png`; None: the first plot.
  """
  figures: dict
  table: Sequence[TableRow]
  num_poses: int
  num_hypotheses: int = 1
  plots: Sequence[str] = ()
  predictions: Mapping[str, np.ndarray] | None = None
  sampler: str | None = None
  num_steps: int | None = None
  summary: Mapping[str, Any] | None = None
  summary_plot: str | None = None


def first_rows(split: Mapping[str, np.ndarray], num: int) -> dict:
  """The first `num` rows of every array of a split (at least one row)."""
  return scored_rows(split, num, "shuffled")[0]


def scored_rows(split: Mapping[str, np.ndarray], num: int, order: str
                ) -> tuple[dict, str]:
  """(`num` rows of every array of a split, which ones in words).

  `order` is the split's (`datasets.Dataset.test_order`): 'shuffled' rows
  are a uniform sample in any prefix, so the first `num` are taken;
  'file' rows keep a file's order (often one activity after another), so
  `num` rows spread evenly over the split are taken, the first and last
  among them.
  """
  total = len(next(iter(split.values())))
  n = min(int(num), total)
  if n < 1:
    raise ValueError("the test split is empty (or eval.num_poses < 1)")
  if n == total:
    return {k: np.asarray(v) for k, v in split.items()}, f"all {total}"
  if order == "shuffled":
    return ({k: np.asarray(v)[:n] for k, v in split.items()},
            f"the first {n} of {total} (the split is in a seeded random order)")
  if order != "file":
    raise ValueError(f"order: expected 'shuffled' or 'file', got {order!r}")
  index = np.unique(np.round(np.linspace(0, total - 1, n)).astype(np.int64))
  return ({k: np.asarray(v)[index] for k, v in split.items()},
          f"{n} of {total} spread evenly over the file (rows 0, "
          f"{index[1] if n > 1 else 0}, ... {index[-1]}; about every "
          f"{total / n:.1f}th)")


def row_ids(test: Mapping[str, np.ndarray]) -> dict:
  """What identifies each test row: its index in the test split and every
  per-row label the dataset has (subject, clip, frame, camera, ...)."""
  n = len(next(iter(test.values())))
  ids = {"row": np.arange(n)}
  for key, value in test.items():
    value = np.asarray(value)
    if value.ndim == 1 and key != "activity" and (
        value.dtype.kind in "iuU" or value.dtype == object):
      ids[key] = value.astype(str) if value.dtype == object else value
  return ids


def write_predictions(ctx: EvalContext, predictions: Mapping[str, np.ndarray]) -> str:
  """`<out_dir>/<stem>_predictions.npz`: predictions, truth and row ids, as
  plain arrays (no pickles) that `numpy.load` reads without jaxpose."""
  arrays = {f"id_{k}": v for k, v in row_ids(ctx.test).items()}
  arrays.update({k: np.asarray(v) for k, v in predictions.items()})
  arrays["activity"] = np.asarray(ctx.test["activity"]) if "activity" in ctx.test else (
      np.zeros(ctx.num_poses, np.int32))
  if ctx.activity_names:
    arrays["activity_names"] = np.asarray(ctx.activity_names, dtype=str)
  path = os.path.join(ctx.out_dir, f"{ctx.stem}_predictions.npz")
  files.write_npz_atomic(path, arrays)
  return path


def format_table(title: str, rows: Sequence[TableRow], footer: str = "") -> str:
  """A plain-text table; a row's value is a float or a tuple of floats."""
  width = max([len(r[0]) for r in rows] + [6])
  lines = [title, f"{'metric (mm)':<{width}}  value", "-" * (width + 18)]
  for name, value in rows:
    vals = value if isinstance(value, tuple) else (value,)
    lines.append(f"{name:<{width}}  " + " / ".join(f"{float(v):7.2f}" for v in vals))
  if footer:
    lines.append(footer)
  return "\n".join(lines)


def run_task(task_name: str, task_fn: Callable[[EvalContext], TaskResult],
             ctx: EvalContext, *, extra: Mapping[str, Any] | None = None,
             after: Callable[[EvalContext, TaskResult, dict], Sequence[str]]
             | None = None) -> dict:
  """Runs `task_fn(ctx)`, writes `<out_dir>/<stem>.json`, prints a table.

  Args:
    task_name: the task's name (recorded as `task`).
    task_fn: the task, its trained parts and options already bound.
    ctx: the task's context.
    extra: more fields of the results file (e.g. the method, the step).
    after: `after(ctx, result, results) -> paths`: writes what else the
      run keeps (the workdir's summary); its paths close the table.

  Returns:
    The written results: the task's figures plus `task`, `num_poses`,
    `num_hypotheses`, `input_2d`, `data`, `seconds`, `plots`, `sampler`
    and `num_steps` when the task sampled, `warnings` (errors beyond what
    a human body allows, `plausibility`; empty when none), `test_inputs`
    (what the model received, `inputs.records`; `baseline_test_inputs`
    too when its results hold a baseline's figures) and `extra`'s fields.
  """
  try:
    return _run_task(task_name, task_fn, ctx, extra, after)
  finally:  # the stem `output_names.for_run` reserved
    output_names.release(ctx.out_dir, ctx.stem)


def _run_task(task_name, task_fn, ctx: EvalContext, extra, after) -> dict:
  os.makedirs(ctx.out_dir, exist_ok=True)
  t0 = time.time()
  result = task_fn(ctx)
  seconds = round(time.time() - t0, 2)
  res = dict(result.figures)
  res.update(task=task_name, num_poses=int(result.num_poses),
             num_hypotheses=int(result.num_hypotheses), input_2d=ctx.input_2d,
             data=ctx.data_name, seconds=seconds, plots=list(result.plots),
             **dict(extra or {}))
  if result.sampler is not None:
    res.update(sampler=result.sampler, num_steps=int(result.num_steps or 0))
  res.update(inputs.records(ctx.input_2d, ctx.reads, result.figures))
  res["warnings"] = plausibility.warnings(result.figures, result.predictions)
  for warning in res["warnings"]:
    logging.warning("%s: %s", task_name, warning)
  written = []
  if ctx.config.save_predictions:
    if not result.predictions:
      raise ValueError(f"eval.save_predictions: task {task_name!r} has no "
                       "per-row predictions to save")
    written.append(write_predictions(ctx, result.predictions))
    res["predictions_file"] = os.path.basename(written[-1])
  res = files.jsonable(res)
  # The results file is written first and renamed into place last: it
  # exists under its name only once everything `after` writes is written.
  with files.json_written_last(os.path.join(ctx.out_dir, f"{ctx.stem}.json"),
                               res) as path:
    if after is not None:
      written += list(after(ctx, result, res))
  written.insert(0, path)
  h = result.num_hypotheses
  how = (f", {result.sampler} x {result.num_steps} steps"
         if result.sampler is not None else "")
  footer = (f"({result.num_poses} poses, {h} hypothes{'i' if h == 1 else 'e'}s"
            f"{how}, {ctx.input_2d} 2D, {seconds:.1f} s)\nwrote: "
            + ", ".join(written))
  if result.plots:
    footer += (f"\nplots in {ctx.out_dir}: " + ", ".join(result.plots))
  print(format_table(task_name, result.table, footer))
  return res


__all__ = ["EvalContext", "TaskResult", "output_stem", "first_rows", "scored_rows",
           "row_ids", "write_predictions", "format_table", "run_task"]
