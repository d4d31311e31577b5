"""Training rows a method never trains on: whole clips of the train split.

Any method with a `holdout` section (`Holdout`) draws them once when it
prepares (`prepare`, or `artefacts` beside its own), as the prepared
artefact "holdout" that the runner stores beside the checkpoints, and
trains on the other rows (`fields_training`, `training_rows`). Every later
use reads the same rows instead of drawing them again from whatever data
is at hand: DiffPose fits H_K to a context encoder's error on them, and
`calibrate` (`--mode=calibrate`) fits the calibration of a model's
hypotheses on them (`evaluation.calibration_store`).

Frames of one clip are near-copies, so the rows are whole clips
(`data.windows.heldout_clips`); data without clips hold single poses out
one by one. Named `subjects` are held out whole besides: people the model
never sees, as a test split of other people is; `calibrate` then fits on
their rows alone (one fitted on clips of people the model trained on is
fitted on smaller errors than the test's).
At `fraction` 0 and no subjects (the defaults) nothing is drawn and nothing
is stored, so configs, fingerprints and workdirs from before a method had
the section stay valid.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import typing
from typing import Any, Callable, Mapping

import numpy as np

from jaxpose import config as config_lib
from jaxpose import files
from jaxpose import rng
from jaxpose import settings
from jaxpose.data import datasets
from jaxpose.data import windows as windows_lib
from jaxpose.evaluation import calibration_store
from jaxpose.evaluation import runner
from jaxpose.methods import base
from jaxpose.training import run_config

ARTEFACT = "holdout"


@dataclasses.dataclass(frozen=True)
class Holdout:
  """`config.holdout`: training rows the model never trains on.

  Attributes:
    fraction: their share of the rows they are drawn from (the train
      split, or a method's own pool), as whole clips
      (`data.windows.heldout_clips`; single poses one by one); 0: none.
      The model's error on them is its error on poses it has not seen:
      what DiffPose fits its initial distribution to, and what
      `--mode=calibrate` calibrates hypotheses on.
    seed: which clips.
    subjects: people held out whole besides, as `dataset:subject` (e.g.
      'cmu:006') where the split names datasets, else `subject`; `fraction`
      is then of the other rows.
  """
  fraction: float = settings.field(default=0.0, at_least=0.0, below=1.0)
  seed: int = settings.field(default=0, at_least=0)
  subjects: tuple[str, ...] = ()

  @property
  def draws(self) -> bool:
    return self.fraction > 0.0 or bool(self.subjects)


def subject_ids(split: Mapping[str, Any]) -> np.ndarray | None:
  """Each row's `dataset:subject` (or `subject`) id; None without subjects."""
  if "subject" not in split:
    return None
  subject = np.asarray(split["subject"]).astype(str)
  if "dataset" not in split:
    return subject
  return np.char.add(np.char.add(np.asarray(split["dataset"]).astype(str), ":"),
                     subject)


def _named_subjects(train, subjects, pool) -> np.ndarray:
  """True where a row of `pool` belongs to one of `subjects`."""
  ids = subject_ids(train)
  if ids is None:
    raise settings.ConfigError(
        f"holdout.subjects={list(subjects)}: the train split names no "
        "subjects; hold out random clips with holdout.fraction instead")
  ids = ids[pool]
  known = sorted(set(ids.tolist()))
  unknown = [s for s in subjects if s not in known]
  if unknown:
    raise settings.ConfigError(
        f"holdout.subjects: {unknown} not among the subjects of the rows "
        f"drawn from {known} (a method drawing from another network's "
        "held-out rows needs the person held out of that network too)")
  named = np.isin(ids, list(subjects))
  if named.all():
    raise settings.ConfigError(
        f"holdout.subjects={list(subjects)} holds out every training row")
  return named


def draw(train: Mapping[str, Any], holdout: Holdout, *,
         pool: np.ndarray | None = None) -> dict[str, base.Artefact]:
  """{"holdout": the drawn rows} when `holdout` draws any, else {}.

  Args:
    train: the train split (its `clip` ids, when it has them, group rows).
    holdout: the method's `holdout` section.
    pool: rows of `train` to draw from (default: all); the fraction is of
      the pool less the named subjects' rows.

  Raises:
    settings.ConfigError: too few clips to hold some out, or subjects the
      pool does not have.
  """
  if not holdout.draws:
    return {}
  n = len(next(iter(train.values())))
  pool = np.arange(n) if pool is None else np.asarray(pool, np.int64)
  named = (_named_subjects(train, holdout.subjects, pool) if holdout.subjects
           else np.zeros(len(pool), bool))
  held = named.copy()
  if holdout.fraction:
    rest = np.flatnonzero(~named)
    groups = (np.asarray(train["clip"]).astype(str)[pool[rest]]
              if "clip" in train else rest)
    try:
      held[rest] = windows_lib.heldout_clips(groups, holdout.fraction,
                                             seed=holdout.seed)
    except ValueError as e:
      raise settings.ConfigError(f"holdout.fraction={holdout.fraction}: {e}") from e
  rows = np.sort(pool[held]).astype(np.int64)
  info = dict(fraction=holdout.fraction, seed=holdout.seed,
              num_rows=int(len(rows)), train_rows=n)
  if holdout.subjects:  # absent at the default: older artefacts stay valid
    info.update(subjects=list(holdout.subjects),
                subject_rows=int(named.sum()))
  return {ARTEFACT: base.Artefact(arrays={"rows": rows}, info=info)}


def prepare(ctx: base.PrepareContext) -> dict[str, base.Artefact]:
  """A method's `prepare` when the held-out rows are all it prepares."""
  return draw(ctx.data.splits["train"], ctx.run.sections.holdout)


def with_heldout(prepare: Callable[[base.PrepareContext], Mapping[str, base.Artefact]]
                 ) -> Callable[[base.PrepareContext], dict[str, base.Artefact]]:
  """A method's `prepare` that first draws the held-out rows, then runs
  `prepare` on the other training rows, and returns both."""

  def prepare_all(ctx: base.PrepareContext) -> dict[str, base.Artefact]:
    train = ctx.data.splits["train"]
    held = draw(train, ctx.run.sections.holdout)
    if held:
      rest = without_heldout(dict(train), held)
      ctx = dataclasses.replace(ctx, data=base.Data(
          dataset=ctx.data.dataset, splits={**ctx.data.splits, "train": rest}))
    return {**held, **prepare(ctx)}

  return prepare_all


def rows(prepared: Mapping[str, base.Artefact], num_rows: int | None = None, *,
         holdout: Holdout | None = None, where: str = "the train split"
         ) -> np.ndarray | None:
  """The held-out rows of a train split of `num_rows` rows, or None.

  Args:
    prepared: the model's prepared artefacts.
    num_rows: the train split's rows, checked against the split they were
      drawn from (None: not checked).
    holdout: the run's `holdout` section, checked against the artefact.
    where: how messages name the split.

  Raises:
    settings.ConfigError: other data, or a section that says otherwise.
  """
  artefact = prepared.get(ARTEFACT)
  if holdout is not None:
    info = {} if artefact is None else artefact.info
    stored = (float(info.get("fraction", 0.0)), int(info.get("seed", 0)),
              tuple(info.get("subjects", ())))
    if stored[0] != holdout.fraction or stored[2] != holdout.subjects or (
        holdout.fraction and stored[1] != holdout.seed):
      raise settings.ConfigError(
          f"holdout: fraction={holdout.fraction}, seed={holdout.seed}, "
          f"subjects={list(holdout.subjects)} here, but the model's held-out "
          f"rows were drawn with fraction={stored[0]}, seed={stored[1]}, "
          f"subjects={list(stored[2])}; use the workdir's own settings, or "
          "a new workdir")
  if artefact is None:
    return None
  expected = artefact.info.get("train_rows")
  if num_rows is not None and expected is not None and int(expected) != num_rows:
    raise settings.ConfigError(
        f"{where} has {num_rows} rows, but the held-out rows were drawn from "
        f"a train split of {expected}: it is other data")
  return np.asarray(artefact["rows"], np.int64)


def training_rows(prepared, num_rows: int, *, holdout: Holdout | None = None
                  ) -> np.ndarray | None:
  """The rows a model trains on (None: every row)."""
  held = rows(prepared, num_rows, holdout=holdout)
  if held is None:
    return None
  keep = np.ones(num_rows, bool)
  keep[held] = False
  return np.flatnonzero(keep)


def without_heldout(arrays: Mapping[str, Any], prepared, *,
                    holdout: Holdout | None = None) -> dict:
  """`arrays` (per-row arrays of the train split, the first one's length
  the split's) less the held-out rows; arrays of another length (tables,
  not rows) are kept whole."""
  num_rows = len(next(iter(arrays.values())))
  keep = training_rows(prepared, num_rows, holdout=holdout)
  if keep is None:
    return dict(arrays)
  per_row = lambda v: np.ndim(v) > 0 and len(v) == num_rows
  return {k: np.asarray(v)[keep] if per_row(v) else v for k, v in arrays.items()}


def trained_on(train: Mapping[str, Any], prepared) -> dict:
  """The rows of an evaluation's train split the model learnt from: the
  split less the model's held-out rows, or the split as it is when they
  are already out (`heldout_splits`' train) or it is other data."""
  num_rows = len(next(iter(train.values())))
  held = rows(prepared)
  drawn_from = (prepared.get(ARTEFACT).info.get("train_rows")
                if held is not None else None)
  if held is None or drawn_from is None or int(drawn_from) != num_rows:
    return dict(train)
  return without_heldout(train, prepared)


def fields_training(*fields: str) -> Callable[[Any, base.Data, Mapping],
                                               base.Training]:
  """`base.fields_training` less the held-out rows."""

  def training(model, data: base.Data, prepared) -> base.Training:
    train = data.splits["train"]
    return base.Training(arrays=without_heldout(
        {k: train[k] for k in fields}, prepared), loss=model.loss)

  return training


def _heldout_of(trained: base.Trained, data: base.Data, mode: str
                ) -> np.ndarray:
  """The model's held-out rows of `data`'s train split, checked to be rows
  of the data it was trained on; `mode` names the asking mode in errors."""
  run, workdir = trained.run, trained.workdir
  stored = run_config.read(workdir) or run.config
  if files.jsonable(datasets.training_data(run.config["data"])) != (
      files.jsonable(datasets.training_data(stored["data"]))):
    raise settings.ConfigError(
        f"{mode}: held-out rows are rows of the training data; leave the "
        "--config.data.* flags out")
  train = data.splits["train"]
  held = rows(trained.prepared, len(next(iter(train.values()))),
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
  split and the other training rows as the train split (what the model
  trained on, so baselines fitted on `train` see no held-out row either).

  What `eval.rows='heldout'` evaluates: choosing settings (prior weights,
  samplers) on these rows leaves the test split unseen until the end.

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
  subjects = prepared[ARTEFACT].info.get("subjects")
  if subjects:
    held = held[np.isin(subject_ids(train)[held], subjects)]
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

  The task runs on up to `eval.num_poses` held-out training rows (evenly
  spaced over them, so over many clips; never the test split; only the
  named `holdout.subjects`' rows when there are some; with the 2D of
  `eval.calibration_2d` when `data` was loaded by `calibration_run`), without
  plots, and `evaluation.calibration_store.calibrate` fits, keeps and
  writes WORKDIR/calibration.json (and, with `eval.save_predictions`,
  WORKDIR/calibration/<task>_predictions.npz). Returns its entry for the
  task.

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
      out_dir=os.path.join(workdir, "calibration"), stem=run.eval.task,
      activity_names=tuple(dataset.activity_names.get("train", ())),
      input_2d=input_2d, data_name=dataset.name)
  task = functools.partial(trained.method.tasks[run.eval.task], trained,
                           run.eval_options)
  return calibration_store.calibrate(task, ctx, workdir, fitted_on=dict(
      method=trained.method.name, task=run.eval.task, step=trained.step,
      params_digest=calibration_store.params_digest(trained.params),
      use_ema=run.eval.use_ema, data=dataset.name, input_2d=input_2d,
      rows=held, heldout_rows=int(len(rows(trained.prepared)))))


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

  What an update computes is what an exact resume must keep
  (`config.resume_changes`): optimiser, loss, batch, the method's own
  sections (DiffPose's `diffpose.noisy_train_2d`, GFPose's `mask`) and the
  model, and besides what a resume may change, the length of training
  (`train.num_steps`: its learning-rate schedule spans it).
  A sibling may besides hold people out, use another seed, and name its
  own trained parts (`method.needs`, e.g. DiffPose's encoder, itself
  trained without those people).
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
  workdir of `sibling`, stored as `trained`'s (`calibration_store.borrow`).

  A model trained on every row has no held-out rows to calibrate on; its
  sibling, trained with the same settings but people held out
  (`holdout.subjects`), was calibrated on them. The two models differ only
  in those rows, so their errors relative to their hypotheses' spread are
  close; but the sibling's held-out rows are not exchangeable with this
  model's test rows, so the conformal guarantee does not carry over (as
  with cross-validated intervals around a model refitted on every row):
  the evaluation's `calibration_after` reports the coverage reached.

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
  datasets.check_same_training_data(run.config["data"],
                                    sibling.run.config["data"], where)
  return calibration_store.borrow(
      trained.workdir, sibling.workdir, run.eval.task, step=trained.step,
      digest=calibration_store.params_digest(trained.params))


__all__ = ["ARTEFACT", "Holdout", "subject_ids", "draw", "prepare", "with_heldout",
           "rows", "training_rows", "without_heldout", "trained_on",
           "fields_training", "heldout_splits", "calibration_run",
           "calibration_rows", "calibrate", "training_differences", "borrow"]
