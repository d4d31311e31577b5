"""Datasets by name: what `config.data.name` selects.

Every dataset gives the same thing, a `Dataset`, so everything downstream
(the representation, the pipeline, evaluation) is dataset-agnostic:

  Dataset.splits: {"train": split, "test": split}, each a dict of numpy arrays
    pose3d   [N, J, 3] float32  camera frame, root-relative, millimetres
    pose2d   [N, J, 2] float32  screen-normalised 2D (cameras.normalize_screen)
    activity [N] int32          activity / action id (0 when unknown)
  and optionally more per-frame fields (subject, clip, camera ...).

  Optional camera fields (`jaxpose.pose.image_space.META_KEYS`), needed by the
  "image" representation protocol (GFPose's own) to encode poses and to
  back-project them; both embedded datasets provide them:
    root_cam_mm [N, 3] float32  camera-frame root position, mm (z: root depth)
    intrinsics  [N, 6] float32  fx, fy, cx, cy (pixels), image width, height

Registered: synthetic (embedded), mocap (jaxpose-mocap v1), h36m
(Human3.6M from VideoPose3D's files, `jaxpose/data/h36m.py`) and npz (any
file of poses, `jaxpose/data/npz_poses.py`).
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Mapping

import numpy as np

from jaxpose.data import synthetic
from jaxpose.pose import cameras as cam_lib

_LOADERS: dict[str, Callable] = {}


def register(name: str):
  def wrap(fn):
    _LOADERS[name] = fn
    return fn
  return wrap


def names() -> tuple[str, ...]:
  return tuple(sorted(_LOADERS))


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
  """
  name: str
  splits: Mapping[str, dict]
  activity_names: Mapping[str, tuple[str, ...]]
  input_2d: Mapping[str, str]


def load(data_config) -> Dataset:
  """Loads the dataset `data_config.name`.

  A loader returns a `Dataset` or, when it knows nothing beyond the
  arrays, the splits alone (then: no activity names, exact 2D).
  """
  name = data_config.name
  if name not in _LOADERS:
    raise ValueError(f"data.name: unknown dataset {name!r}; valid: {', '.join(names())}")
  loaded = _LOADERS[name](data_config)
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


_BODY_KEYS = ("body_pose", "body_root_orient", "body_trans", "body_bone_lengths")


def _synthetic_body_splits(data_config, noise) -> dict:
  """Synthetic splits with the body space (and clips when clip_frames > 0).

  The same seeds as `make_lifting_dataset`, so without clips the rows equal
  its rows, with the body-space keys and the world-frame poses beside them.
  """
  cameras = cam_lib.virtual_cameras(4)
  clip_frames = int(data_config.get("clip_frames", 0) or 0)
  seed = int(data_config.data_seed)
  out = {}
  for i, (name, n, subjects) in enumerate((("train", int(data_config.n_train), 5),
                                           ("test", int(data_config.n_test), 2))):
    if clip_frames > 0:
      poses = synthetic.generate_clips(max(1, n // clip_frames), clip_frames,
                                       seed=(seed, i), num_subjects=subjects)
    else:
      poses = synthetic.generate_poses(n, seed=(seed, i), num_subjects=subjects,
                                       return_body_space=True)
    split = synthetic.project_split(poses["pose3d"], cameras, seed=(seed, i, 1),
                                    noise_2d=noise)
    split.update({k: poses[k] for k in ("activity", *_BODY_KEYS)})
    if clip_frames > 0:
      split.update(clip=poses["clip"], frame=poses["frame"])
    out[name] = split
  return out


@register("synthetic")
def _synthetic(data_config) -> Dataset:
  """Synthetic poses; data.body=True adds the body-space rotations and
  data.clip_frames > 0 makes the rows motion clips of that many frames."""
  noise = float(data_config.get("noise_2d_px", 0.0)) or None
  body = bool(data_config.get("body", False))
  if body or int(data_config.get("clip_frames", 0) or 0) > 0:
    raw = _synthetic_body_splits(data_config, noise)
  else:
    raw = synthetic.make_lifting_dataset(
        int(data_config.n_train), int(data_config.n_test),
        seed=int(data_config.data_seed), noise_2d=noise)
  extra = ("pose3d_world", *_BODY_KEYS, "clip", "frame") if body else ("clip", "frame")
  splits = {name: dict(pose3d=np.asarray(s["pose3d"], np.float32),
                       pose2d=np.asarray(s["pose2d"], np.float32),
                       activity=np.asarray(s["activity"], np.int32),
                       root_cam_mm=np.asarray(s["root_cam_mm"], np.float32),
                       intrinsics=np.asarray(s["intrinsics"], np.float32),
                       **{k: s[k] for k in extra if k in s})
            for name, s in raw.items()}
  label = f"noisy ({noise:g} px)" if noise else "exact"
  return Dataset(name="synthetic", splits=splits,
                 activity_names={s: tuple(synthetic.ACTIVITIES) for s in splits},
                 input_2d={s: label for s in splits})


@register("mocap")
def _mocap(data_config) -> Dataset:
  """jaxpose-mocap v1 (real Bandai + CMU poses, Human3.6M cameras)."""
  from jaxpose.data import mocap_lifting
  splits = mocap_lifting.load_mocap_lifting(data_config)
  # A mocap activity id indexes its split's sorted clip names.
  return Dataset(
      name="mocap", splits=splits,
      activity_names={s: tuple(str(c) for c in np.unique(split["clip"]))
                      for s, split in splits.items()},
      input_2d={s: str(data_config.get(f"{s}_2d", "exact") or "exact")
                for s in splits})


@register("h36m")
def _h36m(data_config) -> Dataset:
  """Human3.6M, the papers' protocol (train S1 S5 S6 S7 S8, test S9 S11)."""
  from jaxpose.data import h36m
  splits, input_2d = h36m.load_splits(data_config)
  # Both splits index the same 15 sorted action names.
  return Dataset(name="h36m", splits=splits,
                 activity_names={s: h36m.ACTIONS for s in splits},
                 input_2d=input_2d)


@register("npz")
def _npz(data_config) -> Dataset:
  """Poses from .npz files, one per split (layout: jaxpose/data/npz_poses.py)."""
  from jaxpose.data import npz_poses
  splits, names, input_2d = npz_poses.load_splits(data_config)
  return Dataset(name="npz", splits=splits, activity_names=names, input_2d=input_2d)
