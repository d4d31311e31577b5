"""Training rows a method never trains on: whole clips of the train split.

Any method with a `holdout` section (`Holdout`) draws them once when it
prepares (`draw`, from `methods.parts.prepare` and `.with_heldout`), as the
prepared artefact "holdout" stored beside the checkpoints, and trains on
the other rows (`training_rows`, `without_heldout`).  Every later use reads
the same rows (`rows`) instead of drawing them again from whatever data is
at hand: DiffPose fits H_K to a context encoder's error on them, and
`--mode=calibrate` fits the calibration of a model's hypotheses on them
(`jaxpose.calibration`).

Frames of one clip are near-copies, so the rows are whole clips.  Named
`subjects` are held out whole besides: people the model never sees, as a
test split's are; `calibration.heldout.calibrate` then fits on their rows
alone (clips of people the model trained on have smaller errors than the
test's).  At `fraction` 0 and no subjects (the defaults) nothing is drawn
or stored, so configs, fingerprints and workdirs from before a method had
the section stay valid.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import numpy as np

from jaxpose import settings
from jaxpose.data import windows as windows_lib
from jaxpose.workdir.prepared import Artefact

ARTEFACT = "holdout"


@dataclasses.dataclass(frozen=True)
class Holdout:
  """`config.holdout`: training rows the model never trains on.

  Attributes:
    fraction: their share of the rows they are drawn from (the train
      split, or a method's own pool), as whole clips
      (`data.windows.heldout_clips`; single poses one by one); 0: none.
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
         pool: np.ndarray | None = None) -> dict[str, Artefact]:
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
  return {ARTEFACT: Artefact(arrays={"rows": rows}, info=info)}


def _drawn_with(artefact: Artefact | None) -> Holdout:
  """The section `artefact`'s rows were drawn with (the default for None)."""
  info = {} if artefact is None else artefact.info
  return Holdout(fraction=float(info.get("fraction", 0.0)),
                 seed=int(info.get("seed", 0)),
                 subjects=tuple(info.get("subjects", ())))


def rows(prepared: Mapping[str, Artefact], num_rows: int | None = None, *,
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
    drawn = _drawn_with(artefact)
    # The seed picks only the clips: at fraction 0 it picked nothing.
    if (drawn.fraction != holdout.fraction or drawn.subjects != holdout.subjects
        or (holdout.fraction and drawn.seed != holdout.seed)):
      raise settings.ConfigError(
          f"holdout: fraction={holdout.fraction}, seed={holdout.seed}, "
          f"subjects={list(holdout.subjects)} here, but the model's held-out "
          f"rows were drawn with fraction={drawn.fraction}, seed={drawn.seed}, "
          f"subjects={list(drawn.subjects)}; use the workdir's own settings, "
          "or a new workdir")
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
  are already out (`calibration.heldout.heldout_splits`' train) or it is
  other data."""
  num_rows = len(next(iter(train.values())))
  held = rows(prepared)
  drawn_from = (prepared.get(ARTEFACT).info.get("train_rows")
                if held is not None else None)
  if held is None or drawn_from is None or int(drawn_from) != num_rows:
    return dict(train)
  return without_heldout(train, prepared)


__all__ = ["ARTEFACT", "Holdout", "subject_ids", "draw", "rows",
           "training_rows", "without_heldout", "trained_on"]
