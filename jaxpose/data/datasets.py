"""Datasets by name: what `config.data.name` selects, and its typed settings.

Every dataset gives the same thing, a `Dataset`, so everything downstream
(the representation, the pipeline, evaluation) is dataset-agnostic:

  Dataset.splits: {"train": split, "test": split}, each a dict of numpy arrays
    pose3d   [N, J, 3] float32  camera frame, root-relative, millimetres
    pose2d   [N, J, 2] float32  screen-normalised 2D (cameras.normalize_screen)
    activity [N] int32          activity / action id (0 when unknown)
  and optionally more per-frame fields (subject, clip, camera ...).

  Optional camera fields (`jaxpose.pose.image_space.META_KEYS`), which the
  "image" representation (GFPose's own) needs to encode and back-project:
    root_cam_mm [N, 3] float32  camera-frame root position, mm (z: root depth)
    intrinsics  [N, 6] float32  fx, fy, cx, cy (pixels), image width, height

  Optional per-keypoint 2D uncertainty (read by DiffPose's per-row H_K,
  `methods/diffpose/rows.py`): either
    pose2d_sigma      [N, J] float32  std per axis of each keypoint's error
                                      in pose2d, screen-normalised (0: exact)
    pose2d_confidence [N, J] float32  a detector's score in [0, 1]
  and `pose2d_noisy_sigma` / `pose2d_noisy_confidence` for a dataset's
  `pose2d_noisy` beside its `pose2d_exact`.

Settings: each registered dataset (`names()`) declares a frozen dataclass
of its `config.data` keys (`data_fields.field`), which `parse_settings`
checks; a key of another registered dataset is accepted and ignored, so one
config can hold two datasets' keys and switch with `--config.data.name=...`.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Any, Callable, Mapping

from absl import logging
import numpy as np

from jaxpose import config as config_lib
from jaxpose import settings
from jaxpose.data import data_fields
from jaxpose.data import h36m
from jaxpose.data import joints_to_body
from jaxpose.data import keypoints_dataset
from jaxpose.data import lcn
from jaxpose.data import mocap_dataset
from jaxpose.data import mpi_inf_3dhp
from jaxpose.data import npz_poses
from jaxpose.data import synthetic

_LOADERS: dict[str, Callable] = {}
_SETTINGS: dict[str, type | None] = {}
# What decides the train rows of a dataset registered without settings:
# every key but these and the test_* ones (they only pick test rows or say
# where the same files lie).
_NOT_TRAINING_KEYS = ("n_test", "max_test", "cache_dir")
_TEST_SIDE_PREFIX = "test_"


def register(name: str, settings_class: type | None = None):
  """Decorator registering a dataset loader under `config.data.name == name`.

  Args:
    name: the registry name.
    settings_class: the frozen dataclass of the dataset's data keys, every
      field made by `data_fields.field`; the loader is then called with a
      parsed instance.  Without one the loader is called with the section
      as given and reads its keys itself (none is checked).
  """
  if settings_class is not None:
    data_fields.check_declared(settings_class)

  def wrap(fn):
    _LOADERS[name] = fn
    _SETTINGS[name] = settings_class
    return fn
  return wrap


def names() -> tuple[str, ...]:
  return tuple(sorted(_LOADERS))


_PLACEHOLDERS = (("bool", False), ("int", 0), ("float", 0.0))


def section_for(name: str, keep: Mapping[str, Any] | None = None) -> dict:
  """A data section selecting dataset `name`: every key it declares, with
  its default (a required key: an empty value of its type, which the
  settings check refuses until it is given), and the values of `keep`'s
  keys that `name` declares too (e.g. data.body of the section replaced).

  Raises:
    settings.ConfigError: `name` is not a registered dataset with settings.
  """
  cls = _SETTINGS.get(name)
  if cls is None:
    raise settings.ConfigError(
        f"data.name={name!r}: not a dataset whose keys are declared; registered: "
        f"{', '.join(n for n in names() if _SETTINGS[n] is not None)}")
  out = {}
  for f in dataclasses.fields(cls):
    if f.default is not dataclasses.MISSING:
      out[f.name] = f.default
    else:
      out[f.name] = next((v for t, v in _PLACEHOLDERS if str(f.type) == t), "")
  out.update({k: v for k, v in (keep or {}).items() if k in out and k != "name"})
  out["name"] = name
  return out


@dataclasses.dataclass(frozen=True)
class Dataset:
  """A loaded dataset and what it knows about itself.

  Attributes:
    name: the registry name (`config.data.name`).
    splits: split name -> dict of per-row numpy arrays (module doc).
    activity_names: split name -> the name of each activity id of that
      split (`activity_names[s][i]` names id i); empty when the dataset has
      no names.
    input_2d: split name -> which 2D its `pose2d` holds, e.g. "exact" or
      "noisy (5 px)".
    truth_3d: whether `pose3d` is known (False: a video's keypoints, which
      are lifted, never scored).
    info: what the loader found out and chose (a keypoint file's person,
      camera, depth), for reports.
    test_order: 'shuffled' when the test split comes in a seeded random
      order (any prefix is a uniform sample), 'file' when it keeps its
      files' order (an evaluation of fewer rows then spreads them:
      `evaluation.runner.scored_rows`).
  """
  name: str
  splits: Mapping[str, dict]
  activity_names: Mapping[str, tuple[str, ...]]
  input_2d: Mapping[str, str]
  truth_3d: bool = True
  info: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  test_order: str = "file"


def _is_parsed(section) -> bool:
  return any(cls is not None and type(section) is cls for cls in _SETTINGS.values())


def name_of(section) -> str:
  """The dataset a data section (plain or parsed) names."""
  if _is_parsed(section):
    return section.name
  values = config_lib.to_plain(section)
  if not isinstance(values, Mapping):
    raise settings.ConfigError(f"data: expected a group of keys, got {values!r}")
  if "name" not in values:
    raise settings.ConfigError(f"data.name: missing; valid: {', '.join(names())}")
  return settings.one_of("data.name", values["name"], names())


def parse_settings(section) -> Any:
  """The data section checked against the chosen dataset's settings.

  Loads nothing, so a runner can refuse a bad data key before anything runs.

  Args:
    section: a ConfigDict, a plain mapping, or already-parsed settings
      (returned as they are).

  Returns:
    The dataset's settings instance (a dataset registered without settings:
    `section` unchanged).

  Raises:
    settings.ConfigError: an unknown `name`; a key no registered dataset
      knows (the chosen dataset's valid keys listed); a missing required
      key, a wrong type, a value out of range or not among the choices
      (each named by its dotted key, e.g. `data.n_train`).
  """
  name = name_of(section)
  if _is_parsed(section):
    return section
  settings_class = _SETTINGS[name]
  if settings_class is None:
    return section
  values = config_lib.to_plain(section)
  own = set(settings.field_names(settings_class))
  others = {key for cls in _SETTINGS.values() if cls is not None
            for key in settings.field_names(cls)}
  unknown = sorted(set(values) - own - others)
  if unknown:
    raise settings.ConfigError(
        f"data.{unknown[0]}: not a setting of dataset {name!r}; valid keys: "
        f"{', '.join(sorted(own))}")
  return settings.parse(settings_class,
                        {k: v for k, v in values.items() if k in own}, "data")


def training_data(section) -> dict:
  """`{key: value}` of the data settings that decide which rows form the
  train split (flat keys, plain values: tuples as lists).

  Equal `training_data` means the same training rows, so a part trained on
  one section may be used with the other (test-side keys such as `n_test`,
  and file locations, may differ).  Keys left out count as their defaults.

  Args:
    section: as for `parse_settings`.
  """
  parsed = parse_settings(section)
  if _is_parsed(parsed):
    keys = data_fields.train_row_keys(type(parsed))
    return {k: v for k, v in settings.as_dict(parsed).items() if k in keys}
  flat = config_lib.flatten(config_lib.to_plain(parsed) or {})
  return {k: v for k, v in flat.items()
          if k.split(".")[-1] not in _NOT_TRAINING_KEYS
          and not k.split(".")[-1].startswith(_TEST_SIDE_PREFIX)}


def training_data_defaults(section) -> dict:
  """`{'data.<key>': default}` of the `training_data` keys that have one:
  what a key meant in a config written before it existed."""
  parsed = parse_settings(section)
  if not _is_parsed(parsed):
    return {}
  keys = data_fields.train_row_keys(type(parsed))
  return {f"data.{f.name}": f.default for f in dataclasses.fields(parsed)
          if f.name in keys and f.default is not dataclasses.MISSING}


def check_same_training_data(ours, theirs, where: str):
  """ConfigError naming each key where the data sections `ours` and `theirs`
  give other training rows (`training_data`); `where` names the other."""
  ours, theirs = training_data(ours), training_data(theirs)
  missing = "<absent>"
  diffs = [f"data.{k}: {ours.get(k, missing)!r} here, {theirs.get(k, missing)!r} "
           "there" for k in sorted(set(ours) | set(theirs))
           if ours.get(k, missing) != theirs.get(k, missing)]
  if diffs:
    raise settings.ConfigError(
        f"{where}: it was trained on other training data ({'; '.join(diffs)}); "
        "train both on the same data section")


def for_evaluation(section) -> Any:
  """The data section an evaluation of the test split loads.

  A file read for the train split alone (`data_fields.field(
  training_file=True)`, e.g. npz's `train_path`) that is missing is left
  out (''), with a warning: the train split then has no rows and the test
  file alone is evaluated (the workdir keeps what the model needs of its
  training data: prepared artefacts, fingerprint, config.json).

  Raises:
    settings.ConfigError: nothing would be left to load (no test file).
  """
  parsed = parse_settings(section)
  if not _is_parsed(parsed):
    return parsed
  missing = tuple(k for k in data_fields.training_file_keys(type(parsed))
                  if getattr(parsed, k)
                  and not os.path.exists(os.path.expanduser(getattr(parsed, k))))
  if not missing:
    return parsed
  gone = ", ".join(f"data.{k}={getattr(parsed, k)!r}" for k in missing)
  try:
    parsed = dataclasses.replace(parsed, **{k: "" for k in missing})
  except settings.ConfigError as e:
    raise settings.ConfigError(f"{gone}: no such file, and an evaluation "
                               f"without it has no test rows ({e})") from None
  logging.warning("%s: no such file; evaluating without training rows (the "
                  "workdir holds what the model keeps of them)", gone)
  return parsed


def load(section) -> Dataset:
  """Loads the dataset `section.name` (`parse_settings` checks it first).

  A loader returns a `Dataset` or, when it knows nothing beyond the
  arrays, the splits alone (then: no activity names, exact 2D).

  Args:
    section: a ConfigDict, a plain mapping, or already-parsed settings.
  """
  parsed = parse_settings(section)
  name = name_of(parsed)
  loaded = _LOADERS[name](parsed)
  if not isinstance(loaded, Dataset):
    loaded = Dataset(name=name, splits=loaded,
                     activity_names={s: () for s in loaded},
                     input_2d={s: "exact" for s in loaded})
  splits = loaded.splits
  for split_name, split in splits.items():
    n = len(split["pose3d"])
    for key in ("pose3d", "pose2d"):
      if key not in split or len(split[key]) != n:
        raise ValueError(f"dataset {name!r}, split {split_name!r}: {key!r} missing "
                         f"or not of length {n}")
    split.setdefault("activity", np.zeros(n, np.int32))
  return loaded


@register("synthetic", synthetic.SyntheticSettings)
def _synthetic(data: synthetic.SyntheticSettings) -> Dataset:
  """Synthetic poses; data.body=True adds the body-space rotations and
  data.clip_frames > 0 makes the rows motion clips of that many frames."""
  splits, activity_names, input_2d = synthetic.load_splits(data)
  return Dataset(name="synthetic", splits=splits, activity_names=activity_names,
                 input_2d=input_2d, test_order="shuffled")


@register("mocap", mocap_dataset.MocapSettings)
def _mocap(data: mocap_dataset.MocapSettings) -> Dataset:
  """jaxpose-mocap v1 (real Bandai + CMU poses, Human3.6M cameras)."""
  splits = mocap_dataset.load_splits(data)
  inputs_2d = {"train": data.train_2d, "test": data.test_2d}
  # A mocap activity id indexes its split's sorted clip names.
  return Dataset(
      name="mocap", splits=splits,
      activity_names={s: tuple(str(c) for c in np.unique(split["clip"]))
                      for s, split in splits.items()},
      input_2d={s: inputs_2d[s] for s in splits}, test_order="shuffled")


@register("h36m", h36m.H36MSettings)
def _h36m(data: h36m.H36MSettings) -> Dataset:
  """Human3.6M, the papers' protocol (train S1 S5 S6 S7 S8, test S9 S11)."""
  splits, input_2d = h36m.load_splits(data)
  if data.body:
    for name, split in splits.items():
      view = np.char.add(np.char.add(split["subject"].astype(str), " "),
                         split["take"].astype(str))
      split["clip"] = np.char.add(np.char.add(view, " cam"),
                                  split["camera"].astype(str))
      splits[name] = joints_to_body.with_body(split, where=f"h36m {name}")
  # Both splits index the same 15 sorted action names.
  return Dataset(name="h36m", splits=splits,
                 activity_names={s: h36m.ACTIONS for s in splits},
                 input_2d=input_2d)


@register("h36m_lcn", lcn.LCNSettings)
def _h36m_lcn(data: lcn.LCNSettings) -> Dataset:
  """Human3.6M from LCN's pickles, GFPose's released protocol."""
  splits, input_2d = lcn.load_splits(data)
  return Dataset(name="h36m_lcn", splits=splits,
                 activity_names={s: lcn.ACTIONS for s in splits},
                 input_2d=input_2d)


@register("npz", npz_poses.NpzSettings)
def _npz(data: npz_poses.NpzSettings) -> Dataset:
  """Poses from .npz files, one per split (layout: jaxpose/data/npz_poses.py)."""
  splits, names_, input_2d = npz_poses.load_splits(data)
  if data.body:
    splits = {name: joints_to_body.with_body(split, where=f"npz {name}")
              for name, split in splits.items()}
  return Dataset(name="npz", splits=splits, activity_names=names_,
                 input_2d=input_2d)


@register("mpi_inf_3dhp", mpi_inf_3dhp.MPIINF3DHPSettings)
def _mpi_inf_3dhp(data: mpi_inf_3dhp.MPIINF3DHPSettings) -> Dataset:
  """The MPI-INF-3DHP test set (TS1-6, valid frames only; no train split)."""
  splits, input_2d = mpi_inf_3dhp.load_splits(data)
  # The protocol's activity ids are 1..7; ACTIVITY_NAMES[0] is "unknown".
  return Dataset(name="mpi_inf_3dhp", splits=splits,
                 activity_names={s: mpi_inf_3dhp.ACTIVITY_NAMES for s in splits},
                 input_2d=input_2d)


@register("keypoints", keypoints_dataset.KeypointsSettings)
def _keypoints(data: keypoints_dataset.KeypointsSettings) -> Dataset:
  """A video's 2D keypoints from a detector's file: lifted, never scored."""
  splits, input_2d, info = keypoints_dataset.load_splits(data)
  return Dataset(name="keypoints", splits=splits,
                 activity_names={s: () for s in splits}, input_2d=input_2d,
                 truth_3d=False, info=info)


__all__ = ["Dataset", "register", "names", "section_for", "parse_settings", "name_of",
           "training_data", "check_same_training_data", "for_evaluation",
           "load"]
