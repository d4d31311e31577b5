"""`config.eval` as typed values, checked before anything runs.

A config's `eval` section holds the generic fields of `EvalConfig` and the
fields of the method's own options dataclass side by side; `parse` builds
both (`settings.parse_shared`) and refuses a missing field, an unknown one
(naming the valid keys) or a value of the wrong type. The configs
(experiments/configs/) give every key; a default here only keeps the
workdirs whose config.json predates its key.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Literal

from jaxpose import settings
from jaxpose.core import sampling


@dataclasses.dataclass(frozen=True)
class EvalConfig:
  """What every method's evaluation reads from `config.eval`.

  Attributes:
    task: the evaluation task to run (one of the method's tasks).
    num_poses: held-out poses scored (`runner.scored_rows`: a shuffled test
      split's first rows, else rows spread evenly over it).
    use_ema: evaluate the EMA weights rather than the raw ones.
    plot_poses: poses drawn in the task's plots.
    plot_hypotheses: hypotheses drawn per pose.
    output_suffix: appended to every output name (`<task>_<suffix>.json`),
      so an evaluation of other inputs (e.g. noisy 2D) keeps its own files.
    output_dir: where results go ('' = WORKDIR/eval, or
      WORKDIR/eval/<dataset> for data other than the training data).
    save_predictions: also write `<task>_predictions.npz` (the outputs,
      the ground truth and row ids per test row; `--mode=calibrate`: per
      held-out row, in WORKDIR/calibration).
    apply_calibration: apply WORKDIR/calibration.json (`--mode=calibrate`,
      `calibration.store`) to the task's hypotheses and report coverage
      after it beside before. The configs give it; the default (True) is
      for workdirs whose config.json predates the key.
    calibration_from: '' (fit on this model's held-out rows), or a sibling
      workdir: `--mode=calibrate` then stores the calibration of `task`
      fitted there (`calibration.heldout.borrow`), for a model trained on
      every row; the sibling holds people out and differs in nothing else.
      The default ('') is for workdirs whose config.json predates the key.
    calibration_2d: '' (`--mode=calibrate` fits on the held-out rows' own
      2D, the training 2D), or another 2D the dataset offers as its
      training 2D (`data.train_2d`'s values, 'exact' or 'noisy':
      `calibration.heldout.calibration_run`), for test 2D unlike the training
      2D (a model trained on exact 2D, used on noisy).
      The default ('') is for workdirs whose config.json predates the key.
    rows: 'test': the test split (num_poses of its rows); 'heldout':
      the model's held-out training clips (`holdout.fraction` > 0 or
      `holdout.subjects`;
      `calibration.heldout.heldout_splits`), where settings such as prior
      weights are chosen without looking at the test split. Outputs get the
      suffix 'heldout' and no calibration is applied (it was fitted there).
      The default ('test') is for workdirs whose config.json predates the key.
    overwrite: write `<stem>.json` even over the results of an evaluation
      with other settings (False: this one then writes beside it, named by
      the settings that differ, `evaluation.output_names`). The default
      (False) is for workdirs whose config.json predates the key.
    matmul_dtype: the dtype of the score network's dense products while
      sampling ('float32', or 'bfloat16' operands accumulated in float32:
      `models.precision`); training is float32 whatever this says. The
      default ('float32') is for workdirs whose config.json predates the
      key.
  """
  task: str
  num_poses: int = settings.field(at_least=1)
  use_ema: bool
  plot_poses: int = settings.field(at_least=0)
  plot_hypotheses: int = settings.field(at_least=0)
  output_suffix: str
  output_dir: str
  save_predictions: bool
  apply_calibration: bool = True
  calibration_from: str = ""
  calibration_2d: str = ""
  rows: Literal["test", "heldout"] = "test"
  overwrite: bool = False
  matmul_dtype: Literal["float32", "bfloat16"] = "float32"


def parse(section, options_cls) -> tuple[EvalConfig, Any]:
  """`config.eval` -> (EvalConfig, options_cls instance), checked.

  Raises:
    settings.ConfigError: a field of either dataclass is missing, a key of
      the section belongs to neither, or a value is of the wrong type or
      out of range.
  """
  return settings.parse_shared(section, (EvalConfig, options_cls), "eval")


def check_sampler(name: str, spec: str):
  """A sampler spec of `eval.<name>` ('' passes), or ConfigError naming it."""
  if spec:
    try:
      sampling.check_spec(spec)
    except ValueError as e:
      raise settings.ConfigError(f"eval.{name}: {e}") from e


__all__ = ["EvalConfig", "parse", "check_sampler"]
