"""Where everything a run leaves in a workdir lives: every file and folder
name of the layout, written once.

  WORKDIR/
    layout.json             the layout's version (absent: layout 1)
    config.json             the settings the model was trained with
    config_history.jsonl    one line per training start (what changed)
    workdir.lock            held by a training run while it runs
    prepared/index.json     prepared artefacts (made before training) ...
    prepared/<name>.npz     ... and their arrays
    checkpoints/            orbax steps and fingerprint.json (and
                            fingerprint.earlier.json: what older steps carry)
    metrics.jsonl           the training log, one line per logged step
    events.out.tfevents.*   TensorBoard events (training and evaluations)
    metrics.json            the headline of the latest evaluations
    eval/                   evaluations of the training data ...
    eval/<data>-<digest>/   ... and of other data
    <task>.png              the latest evaluation's picture of each task
    calibration.json        the calibrations applied by evaluations
    calibration/            the held-out rows' results they were fitted on
    samples.npz, .png       generated poses (`--mode=sample`)
    imported.json           where imported weights came from

`docs/usage.md` has the same table with who writes each file and when.
Other modules take these paths from a `Workdir`; a test fails if one joins
a workdir path with a literal name.
"""
from __future__ import annotations

import dataclasses
import os

# Layout 1: every workdir written before layout.json existed (GFPose's
# evaluation options flat in config.json's eval). Layout 2: layout.json,
# GFPose's options in their tasks' groups. A reader takes every layout up
# to VERSION (older configs are upgraded as they are read).
VERSION = 2
VERSION_FILE = "layout.json"
CONFIG = "config.json"
CONFIG_HISTORY = "config_history.jsonl"
LOCK = "workdir.lock"
PREPARED = "prepared"
PREPARED_INDEX = "index.json"
CHECKPOINTS = "checkpoints"
FINGERPRINT = "fingerprint.json"
EARLIER_FINGERPRINT = "fingerprint.earlier.json"
METRICS_LOG = "metrics.jsonl"
SUMMARY = "metrics.json"
EVAL = "eval"
CALIBRATION = "calibration.json"
CALIBRATION_RUNS = "calibration"
SAMPLES = "samples.npz"
SAMPLES_PLOT = "samples.png"
PROVENANCE = "imported.json"


def summary_in(directory: str | os.PathLike) -> str:
  """The headline file of evaluations written to `directory` (the workdir
  for its training data, the output folder for other data)."""
  return os.path.join(os.fspath(directory), SUMMARY)


def picture_in(directory: str | os.PathLike, stem: str) -> str:
  """The latest evaluation's picture of a task, beside its summary."""
  return os.path.join(os.fspath(directory), f"{stem}.png")


def fingerprint_in(checkpoints: str | os.PathLike) -> str:
  """The fingerprint file of a checkpoint folder."""
  return os.path.join(os.fspath(checkpoints), FINGERPRINT)


def earlier_fingerprint_in(checkpoints: str | os.PathLike) -> str:
  """The fingerprint a checkpoint folder's older steps were written with,
  kept when a later jaxpose rewrote it (`workdir.fingerprints`)."""
  return os.path.join(os.fspath(checkpoints), EARLIER_FINGERPRINT)


@dataclasses.dataclass(frozen=True)
class Workdir:
  """The paths of one workdir (nothing is read or created here).

  `Workdir.of(path_or_workdir)` accepts either; `str(w)` is the root.
  """
  root: str

  @classmethod
  def of(cls, where: "str | os.PathLike | Workdir") -> "Workdir":
    return where if isinstance(where, Workdir) else cls(os.fspath(where))

  def __str__(self) -> str:
    return self.root

  def __fspath__(self) -> str:
    return self.root

  def _at(self, *names: str) -> str:
    return os.path.join(self.root, *names)

  @property
  def version_file(self) -> str:
    return self._at(VERSION_FILE)

  @property
  def config(self) -> str:
    return self._at(CONFIG)

  @property
  def config_history(self) -> str:
    return self._at(CONFIG_HISTORY)

  @property
  def lock(self) -> str:
    return self._at(LOCK)

  @property
  def prepared(self) -> str:
    return self._at(PREPARED)

  @property
  def prepared_index(self) -> str:
    return self._at(PREPARED, PREPARED_INDEX)

  def prepared_file(self, name: str) -> str:
    return self._at(PREPARED, name)

  @property
  def checkpoints(self) -> str:
    return self._at(CHECKPOINTS)

  @property
  def fingerprint(self) -> str:
    return fingerprint_in(self.checkpoints)

  @property
  def metrics_log(self) -> str:
    return self._at(METRICS_LOG)

  @property
  def summary(self) -> str:
    return summary_in(self.root)

  @property
  def tensorboard(self) -> str:
    """The folder TensorBoard's event files are written to."""
    return self.root

  @property
  def eval(self) -> str:
    return self._at(EVAL)

  def eval_of(self, data_key: str) -> str:
    """The results folder of an evaluation on other data than the model's."""
    return self._at(EVAL, data_key)

  def picture(self, stem: str) -> str:
    """The latest evaluation's picture of a task (training data only)."""
    return picture_in(self.root, stem)

  @property
  def calibration(self) -> str:
    return self._at(CALIBRATION)

  @property
  def calibration_runs(self) -> str:
    return self._at(CALIBRATION_RUNS)

  def calibration_run(self, task: str, suffix: str = ".json") -> str:
    """A held-out run's results of `task` (`suffix`: `_predictions.npz`)."""
    return self._at(CALIBRATION_RUNS, f"{task}{suffix}")

  def results(self, stem: str, suffix: str = ".json") -> str:
    """An evaluation's results on the training data (`eval/<stem><suffix>`)."""
    return self._at(EVAL, f"{stem}{suffix}")

  @property
  def samples(self) -> str:
    return self._at(SAMPLES)

  @property
  def samples_plot(self) -> str:
    return self._at(SAMPLES_PLOT)

  @property
  def provenance(self) -> str:
    return self._at(PROVENANCE)

  def companion(self, name: str) -> str:
    """A workdir kept inside this one (an import's encoder, say)."""
    return self._at(name)

  def legacy_file(self, name: str) -> str:
    """A file an older jaxpose kept at the workdir's top (a method's state
    before prepared/ existed), read to recover it."""
    return self._at(name)

  def has_config(self) -> bool:
    return os.path.isfile(self.config)

  def has_checkpoints(self) -> bool:
    return os.path.isdir(self.checkpoints) and bool(os.listdir(self.checkpoints))


__all__ = ["Workdir", "summary_in", "picture_in", "fingerprint_in",
           "earlier_fingerprint_in", "EARLIER_FINGERPRINT",
           "VERSION", "VERSION_FILE", "CONFIG",
           "CONFIG_HISTORY", "LOCK", "PREPARED", "PREPARED_INDEX",
           "CHECKPOINTS", "FINGERPRINT", "METRICS_LOG", "SUMMARY", "EVAL",
           "CALIBRATION", "CALIBRATION_RUNS", "SAMPLES", "SAMPLES_PLOT",
           "PROVENANCE"]
