"""A model's held-out training rows, read back to calibrate and evaluate on.

The rows are drawn once, when the model prepares (`training.holdout`), and
stored beside its checkpoints; the runner (`run_lib`) reads them back here,
checked to be rows of the data the model was trained on:

  calibrate         `--mode=calibrate`: fits `eval.task`'s calibration on
                    them (`calibration.store`)
  borrow            `eval.calibration_from`: a sibling workdir's
                    calibration, for a model trained on every row
  heldout_splits    `eval.rows='heldout'`: the splits that evaluate them
"""
from __future__ import annotations

import dataclasses
import functools
import os
import typing
from typing import Any, Mapping

import numpy as np

from jaxpose import config as config_lib
from jaxpose import files
from jaxpose import rng
from jaxpose import settings
from jaxpose.calibration import store
from jaxpose.data import datasets
from jaxpose.evaluation import runner
from jaxpose.methods import base
from jaxpose.training import holdout as holdout_lib
from jaxpose.workdir import layout
from jaxpose.workdir import run_config


def _heldout_of(trained: base.Trained, data: base.Data, mode: str
                ) -> np.ndarray:
  """The model's held-out rows of `data`'s train split, checked to be rows
  of the data it was trained on; `mode` names the asking mode in errors."""
  run, workdir = trained.run, trained.workdir
  trained_data = run_config.read_data(workdir) or run.data
  if files.jsonable(datasets.training_data(run.data)) != (
      files.jsonable(datasets.training_data(trained_data))):
    raise settings.ConfigError(
        f"{mode}: held-out rows are rows of the training data; leave the "
        "--config.data.* flags out")
  train = data.splits["train"]
  held = holdout_lib.rows(trained.prepared, len(next(iter(train.values()))),
              holdout=getattr(run.sections, "holdout", None),
              where=f"the train split of dataset {data.dataset.name!r}")
  if held is None or not len(held):
    raise settings.ConfigError(
        f"{mode}: {workdir} has no held-out training rows (trained with "
        "holdout.fraction=0 and no holdout.subjects, or a method without a "
        "holdout section); train a new workdir with "
        "--config.holdout.fraction=0.1 (whole clips it never trains on) or "
        "--config.holdout.subjects=cmu:006 (whole people), then run it there")
  return held


def heldout_splits(trained: base.Trained, data: base.Data) -> dict:
  """`data.splits` with the model's held-out training clips as the test
  split and the rest, what the model trained on, as the train split (so
  baselines fitted on it see no held-out row either): what
  `eval.rows='heldout'` evaluates, so that choosing settings (prior
  weights, samplers) on them leaves the test split unseen until the end.

  Raises:
    settings.ConfigError: the model has no held-out rows, or they were
      drawn from other data.
  """
  held = _heldout_of(trained, data, "eval.rows=heldout")
  train = data.splits["train"]
  keep = np.ones(len(next(iter(train.values()))), bool)
  keep[held] = False
  per_row = lambda v: np.ndim(v) > 0 and len(v) == len(keep)
  pick = lambda idx: {k: np.asarray(v)[idx] if per_row(v) else v
                      for k, v in train.items()}
  return {**data.splits, "train": pick(keep), "test": pick(held)}


def calibration_rows(held: np.ndarray, prepared: Mapping[str, base.Artefact],
                     train: Mapping[str, Any], num_rows: int) -> np.ndarray:
  """Up to `num_rows` of the held-out rows `held`, evenly spaced (so over
  many clips); only the named subjects' rows when the model holds some out
  (people never seen: what a test split of other people is)."""
  subjects = prepared[holdout_lib.ARTEFACT].info.get("subjects")
  if subjects:
    held = held[np.isin(holdout_lib.subject_ids(train)[held], subjects)]
  pick = np.linspace(0, len(held) - 1, min(len(held), int(num_rows)))
  return held[np.unique(pick.round().astype(np.int64))]


def calibration_run(run: base.RunSettings) -> base.RunSettings:
  """`run` with the training 2D that `eval.calibration_2d` names (the data
  loaded from it then carries that 2D in model units on every row, the
  held-out ones included); `run` itself for ''.

  Raises:
    settings.ConfigError: the dataset has one 2D (no `data.train_2d`), or
      not one of that name.
  """
  name = run.eval.calibration_2d
  if not name:
    return run
  hints = typing.get_type_hints(type(run.data))
  if "train_2d" not in hints:
    raise settings.ConfigError(
        f"eval.calibration_2d={name!r}: this dataset's rows carry one 2D "
        "(its data section has no train_2d); leave it ''")
  allowed = typing.get_args(hints["train_2d"])
  if allowed and name not in allowed:
    raise settings.ConfigError(
        f"eval.calibration_2d={name!r}: the data's 2D are "
        f"{', '.join(map(repr, allowed))}")
  return dataclasses.replace(run, data=dataclasses.replace(run.data, train_2d=name))


def calibrate(trained: base.Trained, data: base.Data) -> dict:
  """Fits the calibration of `eval.task`'s hypotheses on held-out rows.

  The task runs without plots on `calibration_rows` (up to `eval.num_poses`,
  never the test split; with the 2D of `eval.calibration_2d` when `data`
  was loaded by `calibration_run`), and `calibration.store.calibrate` fits,
  keeps and writes WORKDIR/calibration.json (and, with
  `eval.save_predictions`, WORKDIR/calibration/<task>_predictions.npz).
  Returns its entry for the task.

  Raises:
    settings.ConfigError: the model has no held-out rows, or they were
      drawn from other data.
  """
  run, workdir = trained.run, trained.workdir
  held = _heldout_of(trained, data, "calibrate")
  train = data.splits["train"]
  held = calibration_rows(held, trained.prepared, train, run.eval.num_poses)
  dataset = data.dataset
  input_2d = dataset.input_2d.get("train", "exact")
  ctx = runner.EvalContext(
      test={k: np.asarray(v)[held] for k, v in train.items()},
      splits=data.splits, key=rng.purpose_key(run.seed, "eval"),
      config=dataclasses.replace(run.eval, plot_poses=0),
      out_dir=layout.Workdir(workdir).calibration_runs, stem=run.eval.task,
      activity_names=tuple(dataset.activity_names.get("train", ())),
      input_2d=input_2d, data_name=dataset.name)
  task = functools.partial(trained.method.tasks[run.eval.task], trained,
                           run.task_options[run.eval.task])
  return store.calibrate(task, ctx, workdir, fitted_on=dict(
      method=trained.method.name, task=run.eval.task, step=trained.step,
      params_digest=store.params_digest(trained.params),
      use_ema=run.eval.use_ema, data=dataset.name, input_2d=input_2d,
      rows=held, heldout_rows=int(len(holdout_lib.rows(trained.prepared)))))


# What a sibling may do otherwise: hold people out (the point of it), draw
# with another seed, read other test rows (`data` is compared as training
# data alone, by `datasets.check_same_training_data`).
_SIBLING_MAY_DIFFER = ("holdout", "seed", "data")
# Safe to change on resume (a run may be extended), but not between
# siblings: a schedule stretched over more steps trains another model.
_SIBLING_MUST_KEEP = ("train.num_steps",)


def training_differences(ours, theirs, method: base.Method
                         ) -> dict[str, tuple[Any, Any]]:
  """`{dotted key: (ours, theirs)}` of the settings that make the configs
  `ours` and `theirs` train otherwise, besides what a sibling may change.

  Compared: what an exact resume must keep (`config.resume_changes`:
  optimiser, loss, batch, model, the method's own sections such as
  DiffPose's `diffpose.noisy_train_2d`) and `train.num_steps` (the
  learning-rate schedule spans it). A sibling may also hold people out,
  use another seed, and name its own trained parts (`method.needs`, e.g.
  DiffPose's encoder, itself trained without those people).
  """
  allowed = _SIBLING_MAY_DIFFER + tuple(n.config_key for n in method.needs)
  changes = config_lib.resume_changes(theirs, ours)
  out = {k: (ours_v, theirs_v) for k, (theirs_v, ours_v) in changes.items()
         if not any(k == a or k.startswith(a + ".") for a in allowed)}
  ours_flat = config_lib.flatten(config_lib.to_plain(ours))
  theirs_flat = config_lib.flatten(config_lib.to_plain(theirs))
  for key in _SIBLING_MUST_KEEP:
    if ours_flat.get(key) != theirs_flat.get(key):
      out[key] = (ours_flat.get(key), theirs_flat.get(key))
  return dict(sorted(out.items()))


def borrow(trained: base.Trained, sibling: base.Trained) -> dict:
  """`eval.calibration_from`: the calibration of `eval.task` fitted in the
  workdir of `sibling`, stored as `trained`'s (`calibration.store.borrow`).

  A model trained on every row has no held-out rows; its sibling, trained
  alike but with people held out (`holdout.subjects`), was calibrated on
  them. Their errors relative to their hypotheses' spread are close, but
  the sibling's held-out rows are not exchangeable with this model's test
  rows, so the conformal guarantee does not carry over (as with
  cross-validated intervals around a model refitted on every row): the
  evaluation's `calibration_after` reports the coverage reached.

  Raises:
    settings.ConfigError: the sibling is this workdir, holds another method
      or model (`method.fingerprint_sections`), was trained another way
      (`training_differences`) or on other training data, or has no
      calibration of the task.
  """
  run, where = trained.run, f"eval.calibration_from={sibling.workdir!r}"
  if os.path.realpath(sibling.workdir) == os.path.realpath(trained.workdir):
    raise settings.ConfigError(
        f"{where}: this workdir itself; name a sibling trained with people "
        "held out, or leave it empty to fit on this model's held-out rows")
  sections = trained.method.fingerprint_sections
  ours = config_lib.fingerprint(run.config, sections)
  theirs = config_lib.fingerprint(sibling.run.config, sections)
  diffs = sorted(k for k in set(ours) | set(theirs)
                 if ours.get(k) != theirs.get(k))
  if diffs or sibling.method.name != trained.method.name:
    raise settings.ConfigError(
        f"{where}: another model ({sibling.method.name} there, "
        f"{trained.method.name} here; sections that differ: "
        f"{', '.join(diffs) or 'none'}); a sibling is the same model trained "
        "on the same data with people held out")
  trained_otherwise = training_differences(
      run.config, sibling.run.config, trained.method)
  if trained_otherwise:
    listed = "; ".join(f"{k}: {ours!r} here, {theirs!r} there"
                       for k, (ours, theirs) in trained_otherwise.items())
    raise settings.ConfigError(
        f"{where}: trained another way ({listed}); a sibling is the same "
        "training with people held out, so its calibration would describe "
        "another model's spread")
  if int(sibling.step) != int(trained.step):
    raise settings.ConfigError(
        f"{where}: its checkpoint is at step {int(sibling.step)}, this one's at "
        f"{int(trained.step)}; a sibling's calibration describes its own "
        "checkpoint, so borrow from one trained as far as this model")
  datasets.check_same_training_data(run.data, sibling.run.data, where)
  return store.borrow(
      trained.workdir, sibling.workdir, run.eval.task, step=trained.step,
      digest=store.params_digest(trained.params))


__all__ = ["heldout_splits", "calibration_run", "calibration_rows", "calibrate",
           "training_differences", "borrow"]
