"""Checks every reader of a user's .npz shares: open it with its required keys,
unwrap a pickled dict, refuse NaN/inf.

A file that does not match its documented layout fails with `FormatError`
naming the file, the key and what was expected; an array holding NaN/inf (a
lost marker or a failed fit) fails naming its first bad rows: jaxpose would
otherwise train or score on it silently, and which frames to drop is the
user's call.
"""
from __future__ import annotations

import os

import numpy as np


class FormatError(ValueError):
  """A file that does not have the documented layout."""


def open_npz(path, required) -> dict:
  """Every array of the .npz `path` (pickled objects allowed: VideoPose3D's
  files hold dicts).

  Raises:
    FormatError: not a readable .npz, or a key of `required` missing (the
      keys found listed).
  """
  path = os.fspath(path)
  try:
    data = np.load(path, allow_pickle=True)
  except Exception as e:  # OSError, zip, pickle and EOF errors alike
    raise FormatError(f"{path}: not a readable .npz ({e})") from None
  with data:
    missing = [k for k in required if k not in data.files]
    if missing:
      raise FormatError(f"{path}: missing key(s) {missing}; found {sorted(data.files)}")
    return {k: data[k] for k in data.files}


def pickled_dict(path, key, value):
  """Unwraps the 0-d object array np.savez makes of a pickled dict."""
  if isinstance(value, np.ndarray) and value.dtype == object and value.shape == ():
    value = value.item()
  if not isinstance(value, dict):
    raise FormatError(f"{path}: '{key}' must be a dict (saved with allow_pickle), "
                      f"got {type(value).__name__}")
  return value


def check_finite(path, where: str, arr: np.ndarray, rows: str = "frame") -> np.ndarray:
  """Returns `arr`, or FormatError naming the file, the array and its first
  rows with NaN/inf (`rows` says what a row is: "frame", "row", ...)."""
  if np.issubdtype(arr.dtype, np.inexact) and not np.isfinite(arr).all():
    ok = np.isfinite(arr).reshape(len(arr), -1).all(axis=1) if arr.ndim else []
    frames = np.flatnonzero(~np.asarray(ok, bool))
    raise FormatError(
        f"{path}: {where}: {arr.size - np.count_nonzero(np.isfinite(arr))} "
        f"non-finite value(s) (NaN/inf) in {rows}(s) {frames[:5].tolist()}"
        f"{' ...' if len(frames) > 5 else ''} of {len(arr)}; drop or repair "
        f"those {rows}s before loading")
  return arr


__all__ = ["FormatError", "open_npz", "pickled_dict", "check_finite"]
