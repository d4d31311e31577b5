"""Named mocap protocols (jaxpose-mocap v1): the clips and frames of each split.

`PROTOCOLS` names, per split, the datasets, subjects and frame strides;
`load_protocol(name, cache_dir)` reads the caches (`mocap_cache`) and gives
each split's world-frame Human3.6M poses (and, with `body`, the body-space
rotations), with a hook for the 2D side (`mocap_2d.add_2d`).
"""
from __future__ import annotations

import dataclasses
import os
import pathlib
from typing import Callable, Mapping

import numpy as np

from jaxpose.data import mocap_cache


@dataclasses.dataclass(frozen=True)
class Split:
  """Clips of one split: per dataset, the subjects kept (None = all)."""
  sources: Mapping[str, tuple[str, ...] | None]
  strides: Mapping[str, int]  # frame stride per dataset, of the raw frame rate


@dataclasses.dataclass(frozen=True)
class Protocol:
  """A named protocol: its splits and a one-line description."""
  name: str
  splits: Mapping[str, Split]
  description: str


PROTOCOLS = {
    "jaxpose-mocap-v1": Protocol(
        name="jaxpose-mocap-v1",
        splits={
            # Bandai is 30 fps, CMU 60 fps: both train at 30 fps.
            "train": Split(sources={"bandai": None, "cmu": ("001", "002", "003", "006")},
                           strides={"bandai": 1, "cmu": 2}),
            # Unseen people; every 4th frame of 60 fps (15 fps).
            "test": Split(sources={"cmu": ("005", "007")}, strides={"cmu": 4}),
        },
        description=("train: all Bandai (stride 1 of 30 fps) + CMU 001, 002, 003, "
                     "006 (stride 2 of 60 fps); test: CMU 005, 007 (stride 4 of "
                     "60 fps); poses root-relative, mm, Z up."),
    ),
    # Other people on another rig: Bandai's one body and joint conventions
    # in training, v1's CMU test people.
    "jaxpose-mocap-newrig": Protocol(
        name="jaxpose-mocap-newrig",
        splits={
            "train": Split(sources={"bandai": None}, strides={"bandai": 1}),
            "test": Split(sources={"cmu": ("005", "007")}, strides={"cmu": 4}),
        },
        description=("train: all Bandai (stride 1 of 30 fps); test: CMU 005, "
                     "007 (stride 4 of 60 fps), v1's test rows; poses "
                     "root-relative, mm, Z up."),
    ),
}


# The body-space arrays of a cache and their widths; bone lengths are per clip
# (gathered to rows), the rest per frame.
_BODY_WIDTHS = {"body_pose": 63, "body_root_orient": 3, "body_trans": 3,
                "body_bone_lengths": 22}


def _body_rows(dataset, path, c, keep) -> dict:
  """The body-space arrays of the kept rows of one cache, float32."""
  missing = [k for k in _BODY_WIDTHS if k not in c]
  if missing:
    raise mocap_cache.CacheError(
        f"{path}: no body-space arrays ({', '.join(missing)} missing; the cache "
        f"was prepared by an older jaxpose or from a rig without a body map), "
        f"but body=True needs them: re-run python -m experiments.prepare "
        f"--dataset={dataset} --src=<raw tree> --out={path}")
  num_clips = len(c["clip_names"]) if "clip_names" in c else int(c["clip"].max()) + 1
  for k, width in _BODY_WIDTHS.items():
    rows = num_clips if k == "body_bone_lengths" else len(keep)
    if c[k].shape != (rows, width):
      raise mocap_cache.CacheError(f"{path}: {k} has shape {c[k].shape}, expected "
                                   f"{(rows, width)}; {mocap_cache.prepare_hint(path)}")
  out = dict(body_pose=c["body_pose"][keep],  # [N, 63]
             body_root_orient=c["body_root_orient"][keep],  # [N, 3]
             body_trans=c["body_trans"][keep],  # [N, 3] mm
             body_bone_lengths=c["body_bone_lengths"][c["clip"][keep]])  # [N, 22]
  return {k: v.astype(np.float32) for k, v in out.items()}


def load_protocol(name: str, cache_dir: str | os.PathLike, *,
                  add_2d: Callable[[str, dict], Mapping] | None = None,
                  body: bool = False) -> dict:
  """The splits of a named protocol from the caches in `cache_dir`.

  Needs `<cache_dir>/<dataset>.npz` from `experiments.prepare` for each
  dataset the protocol uses, prepared with a stride that divides the
  protocol's strides (stride 1 always works).

  Args:
    name: e.g. 'jaxpose-mocap-v1'.
    cache_dir: folder with bandai.npz, cmu.npz.
    add_2d: the hook for 2D inputs: called as add_2d(split_name, split) and
      its dict is merged into the split (e.g. virtual-camera projections from
      `mocap_2d.add_2d`, exact and noisy).
    body: also give each row its body-space rotations
      (jaxpose.pose.body_space), same row order as pose3d.

  Returns:
    {split: dict(pose3d float32 [N, 17, 3] root-relative mm Z up,
                 pose3d_world [N, 17, 3], dataset [N] str, subject [N] str,
                 clip [N] str, frame [N] int32)}, plus 'protocol' (description).
    With `body`, each split also holds float32 body_pose [N, 63] (axis-angle
    of SMPL_22 joints 1..21), body_root_orient [N, 3] (body axes -> world),
    body_trans [N, 3] (pelvis, mm, Z up) and body_bone_lengths [N, 22] (mm,
    its clip's).

  Raises:
    mocap_cache.CacheError: with `body`, a cache without the body_* arrays
      (named, with the command that rebuilds it).
  """
  if name not in PROTOCOLS:
    raise ValueError(f"name: unknown protocol {name!r}; known: {sorted(PROTOCOLS)}")
  proto = PROTOCOLS[name]
  cache_dir = pathlib.Path(cache_dir)
  caches = {}
  out = {"protocol": proto.description}
  for split_name, split in proto.splits.items():
    parts = []
    for dataset, subjects in split.sources.items():
      if dataset not in caches:
        path = cache_dir / f"{dataset}.npz"
        if not path.is_file():
          raise FileNotFoundError(
              f"{path} missing: run python -m experiments.prepare --dataset={dataset} "
              f"--src=<raw tree> --out={path}")
        caches[dataset] = mocap_cache.load_cache(path)
      c = caches[dataset]
      stride = split.strides[dataset]
      if stride % int(c["stride"]):
        raise ValueError(f"{dataset}.npz was prepared with stride {int(c['stride'])}, "
                         f"which does not divide the protocol stride {stride}")
      names = c["subject_names"][c["subject"]]
      keep = c["frame"] % stride == 0
      if subjects is not None:
        missing = set(subjects) - set(c["subject_names"].tolist())
        if missing:
          raise ValueError(f"{dataset}.npz lacks subject(s) {sorted(missing)}")
        keep &= np.isin(names, subjects)
      pose = c["pose17"][keep]
      part = dict(pose3d_world=pose, pose3d=pose - pose[:, :1],
                  dataset=np.full(pose.shape[0], dataset),
                  subject=names[keep], clip=c["clip_names"][c["clip"][keep]],
                  frame=c["frame"][keep])
      if body:
        part.update(_body_rows(dataset, cache_dir / f"{dataset}.npz", c, keep))
      parts.append(part)
    split_out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    if add_2d is not None:
      split_out.update(add_2d(split_name, split_out))
    out[split_name] = split_out
  return out
