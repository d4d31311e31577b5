"""A mocap cache packed small enough to travel, and unpacked back.

A GPU machine here receives at most 64 MiB, and the caches
(`mocap_cache`) hold float32 positions, the rig's rotations and the body
space's, some 330 MB. A pack keeps what a position model trains on (the
Human3.6M joints `pose17` and the per-frame ids, names and frame rates
that `mocap_protocol.load_protocol` reads) and, with `body=True`, the body
space's arrays DPoser trains on; the rig's own rotations never travel.
Numbers are integers on a grid: positions (mm) at `resolution_mm`, angles
(rad) at `resolution_rad`, each stored as its change from the frame
before within a clip (the clip's first frame as it is), which compresses
well. Unpacking gives a cache whose every value is within half a grid
step of the original's; the pack records the largest error it measured.
A position model loads an unpacked cache as it loads the original; a
model that needs rotations is refused by name when they were not packed.
"""
from __future__ import annotations

import os
from typing import Mapping

import numpy as np

from jaxpose import files as files_lib
from jaxpose.data import mocap_cache

PACK_VERSION = 1
# Kept as they are: scalars, ids, names, frame rates.
_AS_IS = ("dataset", "rig", "stride", "subject", "subject_names", "frame",
          "clip", "clip_names", "clip_fps")
# Per-frame float arrays on a grid, and their grid: "mm" or "rad".
_GRIDDED = {"pose17": "mm"}
_BODY_GRIDDED = {"body_pose": "rad", "body_root_orient": "rad",
                 "body_trans": "mm"}
_BODY_AS_IS = ("body_bone_lengths",)  # per clip, few


def _clip_starts(clip: np.ndarray) -> np.ndarray:
  """`[N]` bool: a row whose clip differs from the row before's."""
  starts = np.ones(len(clip), bool)
  starts[1:] = clip[1:] != clip[:-1]
  return starts


def _to_steps(values: np.ndarray, step: float, starts: np.ndarray
              ) -> np.ndarray:
  """Values on the grid as changes from the row before (a clip's first
  row: its own value): int16, or int32 where a change is too large for it
  (an axis-angle that wraps round), which compression makes cheap."""
  grid = np.round(np.asarray(values, np.float64) / step).astype(np.int64)
  prev = np.zeros_like(grid)
  prev[1:] = grid[:-1]
  prev[starts] = 0
  change = grid - prev
  largest = np.abs(change).max(initial=0)
  if largest > np.iinfo(np.int32).max:
    raise ValueError(f"a change of {largest * step:g} between rows does not "
                     f"fit the pack's grid of {step:g}; use a coarser "
                     "resolution")
  return change.astype(np.int16 if largest <= np.iinfo(np.int16).max
                       else np.int32)


def _from_steps(change: np.ndarray, step: float, starts: np.ndarray
                ) -> np.ndarray:
  total = np.cumsum(change.astype(np.int64), axis=0)
  before = np.zeros_like(total)
  before[1:] = total[:-1]
  # Each row's clip began after the running total at its first row's left.
  offset = before[np.maximum.accumulate(np.where(starts, np.arange(len(starts)),
                                                 0))]
  return ((total - offset) * step).astype(np.float32)


def pack(cache: Mapping[str, np.ndarray], *, body: bool = False,
         resolution_mm: float = 0.5, resolution_rad: float = 1e-3) -> dict:
  """The arrays of a pack of `cache` (the module docstring).

  Raises:
    ValueError: a cache without what a pack needs (named), `body` on a
      cache without the body space, or a resolution <= 0.
  """
  if not (resolution_mm > 0 and resolution_rad > 0):
    raise ValueError(f"resolution_mm={resolution_mm}, resolution_rad="
                     f"{resolution_rad}: both must be > 0")
  gridded = {**_GRIDDED, **(_BODY_GRIDDED if body else {})}
  needed = ("version", *_AS_IS, *gridded, *(_BODY_AS_IS if body else ()))
  missing = [k for k in needed if k not in cache]
  if missing:
    raise ValueError(f"cache: no {', '.join(missing)}; "
                     + ("pack it without body=True, or " if body else "")
                     + "rebuild it with python -m experiments.prepare")
  steps = {"mm": resolution_mm, "rad": resolution_rad}
  starts = _clip_starts(np.asarray(cache["clip"]))
  out = {k: np.asarray(cache[k]) for k in _AS_IS}
  out.update({k: np.asarray(cache[k], np.float32)
              for k in (_BODY_AS_IS if body else ())})
  errors = {}
  for key, unit in gridded.items():
    out[key] = _to_steps(cache[key], steps[unit], starts)
    back = _from_steps(out[key], steps[unit], starts)
    errors[key] = float(np.abs(back - np.asarray(cache[key], np.float32)).max())
  out.update(pack_version=np.int32(PACK_VERSION),
             cache_version=np.asarray(cache["version"]),
             resolution_mm=np.float64(resolution_mm),
             resolution_rad=np.float64(resolution_rad),
             gridded=np.array(sorted(gridded)),
             max_error=np.array([errors[k] for k in sorted(gridded)]))
  return out


def unpack(packed: Mapping[str, np.ndarray]) -> dict:
  """The cache a pack holds (`mocap_cache`'s keys, float32 values).

  Raises:
    mocap_cache.CacheError: not a pack of this version.
  """
  if int(packed.get("pack_version", -1)) != PACK_VERSION:
    raise mocap_cache.CacheError(
        f"not a mocap pack of version {PACK_VERSION} (pack_version "
        f"{packed.get('pack_version')}); re-pack with python -m "
        "experiments.pack_caches")
  starts = _clip_starts(np.asarray(packed["clip"]))
  steps = {"mm": float(packed["resolution_mm"]),
           "rad": float(packed["resolution_rad"])}
  cache = {k: np.asarray(packed[k]) for k in _AS_IS}
  cache["version"] = np.asarray(packed["cache_version"])
  for key in packed["gridded"].tolist():
    unit = {**_GRIDDED, **_BODY_GRIDDED}[key]
    cache[key] = _from_steps(packed[key], steps[unit], starts)
  cache.update({k: np.asarray(packed[k], np.float32) for k in _BODY_AS_IS
                if k in packed})
  return cache


def write_pack(path: str | os.PathLike, cache_path: str | os.PathLike, *,
               body: bool = False, **resolution) -> dict:
  """Packs the cache file `cache_path` into `path` (compressed .npz);
  returns {bytes of each, max_error per gridded array}."""
  packed = pack(mocap_cache.load_cache(cache_path), body=body, **resolution)
  files_lib.write_npz_atomic(path, packed, compressed=True)
  return {"cache_bytes": os.path.getsize(cache_path),
          "pack_bytes": os.path.getsize(path),
          "max_error": dict(zip(packed["gridded"].tolist(),
                                packed["max_error"].tolist()))}


def read_pack(path: str | os.PathLike) -> dict:
  """The cache held by the pack file `path`."""
  try:
    with np.load(path, allow_pickle=False) as f:
      packed = {k: f[k] for k in f.files}
  except FileNotFoundError:
    raise
  except Exception as e:  # zip, EOF, OS and format errors alike
    raise mocap_cache.CacheError(f"{path}: not a readable pack "
                                 f"({type(e).__name__}: {e})") from e
  try:
    return unpack(packed)
  except mocap_cache.CacheError as e:
    raise mocap_cache.CacheError(f"{path}: {e}") from e


__all__ = ["PACK_VERSION", "pack", "read_pack", "unpack", "write_pack"]
