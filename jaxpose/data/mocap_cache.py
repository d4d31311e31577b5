"""Mocap caches: the .npz files `experiments.prepare` writes, and where they lie.

A cache (`<dataset>.npz`, uncompressed) holds one dataset's converted clips
(`mocap_conversion.convert_tree`): version (`CACHE_VERSION`), dataset, rig
and stride; Human3.6M joints pose17 [N, 17, 3] (mm, Z up); the rig's
rotations (rotvec, root_orient, trans, rest_offsets, parents, body_names,
root_name); per-frame clip, frame and subject ids with clip_names, clip_fps
and subject_names; and, when every clip could be retargeted, the body
space's body_pose, body_root_orient, body_trans and body_bone_lengths.

* `save_cache` writes atomically and refuses NaN/inf; `load_cache` refuses
  a truncated file or another version, naming the command that rebuilds it.
* `resolve_cache_dir` finds the folder holding bandai.npz and cmu.npz.
"""
from __future__ import annotations

import os
import pathlib
from typing import Mapping

import numpy as np

from jaxpose import checks
from jaxpose import files as files_lib
from jaxpose.data import data_files
from jaxpose.data.data_files import ARCHIVES

# 2: the body space's rotations calibrated on standing frames per rig
# (`retarget.calibrate(standing=...)`); version-1 caches hold the old ones.
CACHE_VERSION = 2
CACHE_FILES = ("bandai.npz", "cmu.npz")


class CacheError(ValueError):
  """A cache file that cannot be read or was made by another version."""


def prepare_hint(path) -> str:
  """The `experiments.prepare` command that rebuilds the cache `path`."""
  stem = pathlib.Path(path).stem
  dataset = stem if stem in ARCHIVES else "<dataset>"
  return (f"re-run python -m experiments.prepare --dataset={dataset} "
          f"--src=<raw tree> --out={path}")


def save_cache(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> str:
  """Writes a cache atomically: an interrupted write keeps the old file.

  Uncompressed .npz, so loading is a read of about 0.5 KB per frame.

  Raises:
    ValueError: a float array holds NaN/inf (named), so a cache is never
      written with values no model should train on.
  """
  for key, value in arrays.items():
    value = np.asarray(value)
    try:
      checks.check_array(f"arrays[{key!r}]", value, ("...",))
    except ValueError as e:
      raise ValueError(f"{e}; {path} was not written") from e
  return files_lib.write_npz_atomic(path, arrays)


def load_cache(path: str | os.PathLike) -> dict:
  """Reads a cache written by `save_cache`.

  Raises:
    CacheError: the file is not a readable cache (truncated, empty, not an
      .npz) or has another version; the message names it and says how to
      rebuild it.
  """
  try:
    with np.load(path, allow_pickle=False) as f:
      out = {k: f[k] for k in f.files}
  except FileNotFoundError:
    raise FileNotFoundError(f"{path} missing: {prepare_hint(path)}") from None
  except Exception as e:  # zip, EOF, OS and format errors alike
    raise CacheError(f"{path}: not a readable cache ({type(e).__name__}: {e}); "
                     f"it may be truncated by an interrupted write: "
                     f"{prepare_hint(path)}") from e
  if "version" not in out or int(out["version"]) != CACHE_VERSION:
    raise CacheError(f"{path}: cache version {out.get('version')} != {CACHE_VERSION}; "
                     f"{prepare_hint(path)}")
  return out



def _prepare_commands(cache_dir: pathlib.Path) -> str:
  return "\n".join(
      f"  python -m experiments.prepare --dataset={d} --src={src} "
      f"--out={cache_dir / (d + '.npz')}"
      for d, src in (("bandai", "~/.cache/jaxpose-data/dataset"),
                     ("cmu", "~/.cache/jaxpose-data/IClone-CMU-Mocap")))


def resolve_cache_dir(cache_dir: str | os.PathLike | None = None) -> pathlib.Path:
  """The folder holding bandai.npz and cmu.npz.

  `cache_dir` when given; else the first of `<project>/caches`,
  `<data dir>` and `<data dir>/caches` (data dir: `data_files.resolve_data_dir`,
  i.e. $JAXPOSE_DATA or ../shared/data) that holds both caches.

  Raises:
    FileNotFoundError: naming the folders searched and printing the two
      `experiments.prepare` commands that make the caches.
  """
  if cache_dir:
    candidates = [pathlib.Path(cache_dir).expanduser()]
  else:
    candidates = [data_files.PROJECT_ROOT / "caches"]
    data = data_files.resolve_data_dir()
    if data is not None:
      candidates += [data, data / "caches"]
  for cand in candidates:
    if all((cand / f).is_file() for f in CACHE_FILES):
      return cand
  searched = ", ".join(str(c) for c in candidates)
  raise FileNotFoundError(
      f"data.cache_dir: no {' and '.join(CACHE_FILES)} in {searched}. Unpack "
      "the archives (see the data README) and make the caches with\n"
      + _prepare_commands(candidates[0])
      + "\nthen pass --config.data.cache_dir=<that folder> (or set JAXPOSE_DATA).")
