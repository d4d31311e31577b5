"""A workdir's summary of its evaluations, the same for every method.

After each task the runner keeps, in the summary folder (the workdir for
the training data, else the evaluation's own folder):

  metrics.json   `{stem: headline figures}` of every task run there (the
                 task's `TaskResult.summary`, else its top-level numbers),
                 each with the step evaluated and its full results file;
                 one entry per stem, so an evaluation with other settings
                 (its own stem, `output_names`) keeps its own;
  <stem>.png     the task's summary picture (`TaskResult.summary_plot`);
  TensorBoard    events of every number and plot of the results.

`metrics.json` is read, updated for this stem and rewritten atomically,
by process 0 only.
"""
from __future__ import annotations

import os
from typing import Any, Mapping

from absl import logging
import jax

from jaxpose import files
from jaxpose import summary_writer
from jaxpose.evaluation import output_names
from jaxpose.evaluation.runner import EvalContext, TaskResult
from jaxpose.workdir import layout

# The fields of every results file that say what was evaluated.
_RUN_FIELDS = ("task", "method", "train_step", "data", "input_2d", "num_poses",
               "num_hypotheses", "sampler", "num_steps", "seconds")


def _is_number_or_text(value: Any) -> bool:
  return value is None or isinstance(value, (bool, int, float, str))


def headline(result: TaskResult, results: Mapping[str, Any]) -> dict:
  """The summary entry of one task: what was run and its headline figures."""
  entry = {k: results[k] for k in _RUN_FIELDS if k in results}
  figures = (result.summary if result.summary is not None else
             {k: v for k, v in results.items() if _is_number_or_text(v)})
  entry.update(files.jsonable(dict(figures)))
  return entry


def read(summary_dir: str) -> dict:
  """`{stem: entry}` of `summary_dir/metrics.json` ({} when absent)."""
  path = layout.summary_in(summary_dir)
  try:
    stored = files.read_json(path) or {}
  except ValueError:
    logging.warning("%s cannot be read; it is rewritten", path)
    return {}
  if not all(isinstance(v, dict) for v in stored.values()):
    return {}  # one task's flat figures, as jaxpose once wrote it
  return stored


def write_summaries(ctx: EvalContext, result: TaskResult, results: dict, *,
                    summary_dir: str, step: int) -> list[str]:
  """Writes the summary of one task run; returns the paths written."""
  if jax.process_index() != 0:
    return []
  # Events first, the picture, then metrics.json: a write that fails (a
  # full disk) leaves no summary of an evaluation whose results are not
  # complete (`runner.run_task` renames the results file into place last).
  events = summary_writer.write_evaluation(  # figures, not the settings
      summary_dir, step, ctx.stem,
      {k: v for k, v in results.items() if k != output_names.FIELD},
      [os.path.join(ctx.out_dir, p) for p in result.plots])
  try:
    written = _picture_and_headline(ctx, result, results, summary_dir)
  except BaseException:
    if events and os.path.exists(events):
      os.remove(events)  # no events of an evaluation that did not finish
    raise
  written.append(f"TensorBoard events in {summary_dir}")
  return written


def _picture_and_headline(ctx: EvalContext, result: TaskResult,
                          results: dict, summary_dir: str) -> list[str]:
  written = []
  entry = headline(result, results)
  entry["results_file"] = os.path.relpath(
      os.path.join(ctx.out_dir, f"{ctx.stem}.json"), summary_dir)
  plot = result.summary_plot or (result.plots[0] if result.plots else None)
  if plot is not None:
    picture = layout.picture_in(summary_dir, ctx.stem)
    files.copy_atomic(os.path.join(ctx.out_dir, plot), picture)
    entry["picture"] = os.path.basename(picture)
    written.append(picture)
  summary = read(summary_dir)
  summary[ctx.stem] = entry
  written.insert(0, files.write_json_atomic(layout.summary_in(summary_dir),
                                            summary))
  return written


__all__ = ["headline", "read", "write_summaries"]
