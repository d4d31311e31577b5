"""Datasets by name: what `config.data.name` selects.

Every dataset returns the same thing, so everything downstream (the
representation, the pipeline, evaluation) is dataset-agnostic:

  {"train": split, "test": split}, each split a dict of numpy arrays
    pose3d   [N, J, 3] float32  camera frame, root-relative, millimetres
    pose2d   [N, J, 2] float32  screen-normalised 2D (cameras.normalize_screen)
    activity [N] int32          activity / action id (0 when unknown)
  and optionally more per-frame fields (subject, clip, camera ...).

  Optional camera fields (`jaxpose.pose.image_space.META_KEYS`), needed by the
  "image" representation protocol (GFPose's own) to encode poses and to
  back-project them; both embedded datasets provide them:
    root_cam_mm [N, 3] float32  camera-frame root position, mm (z: root depth)
    intrinsics  [N, 6] float32  fx, fy, cx, cy (pixels), image width, height
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from jaxpose.data import synthetic

_LOADERS: dict[str, Callable] = {}


def register(name: str):
  def wrap(fn):
    _LOADERS[name] = fn
    return fn
  return wrap


def names() -> tuple[str, ...]:
  return tuple(sorted(_LOADERS))


def load(data_config) -> dict:
  """Loads the dataset `data_config.name` as train/test lifting splits."""
  name = data_config.name
  if name not in _LOADERS:
    raise ValueError(f"data.name: unknown dataset {name!r}; valid: {', '.join(names())}")
  splits = _LOADERS[name](data_config)
  for split_name, split in splits.items():
    n = len(split["pose3d"])
    for key in ("pose3d", "pose2d"):
      if key not in split or len(split[key]) != n:
        raise ValueError(f"dataset {name!r}, split {split_name!r}: {key!r} missing "
                         f"or not of length {n}")
    split.setdefault("activity", np.zeros(n, np.int32))
  return splits


@register("synthetic")
def _synthetic(data_config) -> dict:
  noise = float(data_config.get("noise_2d_px", 0.0)) or None
  raw = synthetic.make_lifting_dataset(
      int(data_config.n_train), int(data_config.n_test),
      seed=int(data_config.data_seed), noise_2d=noise)
  return {name: dict(pose3d=np.asarray(s["pose3d"], np.float32),
                     pose2d=np.asarray(s["pose2d"], np.float32),
                     activity=np.asarray(s["activity"], np.int32),
                     root_cam_mm=np.asarray(s["root_cam_mm"], np.float32),
                     intrinsics=np.asarray(s["intrinsics"], np.float32))
          for name, s in raw.items()}


@register("mocap")
def _mocap(data_config) -> dict:
  """jaxpose-mocap v1 (real Bandai + CMU poses, Human3.6M cameras)."""
  from jaxpose.data import mocap_lifting
  return mocap_lifting.load_mocap_lifting(data_config)
