"""Results files and caches, written atomically.

Every JSON file jaxpose writes (evaluation results, summaries, run configs,
benchmark figures) goes through `write_json_atomic`, and every .npz cache
through `write_npz_atomic`, so an interrupted write leaves the previous
file intact and a reader never sees half a file.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from typing import Any, Mapping

import numpy as np


def jsonable(obj: Any) -> Any:
  """Plain Python values for JSON; non-finite floats become None.

  Dict keys become strings; tuples lists; numpy scalars and arrays Python
  numbers and lists.
  """
  if isinstance(obj, dict):
    return {str(k): jsonable(v) for k, v in obj.items()}
  if isinstance(obj, (list, tuple)):
    return [jsonable(v) for v in obj]
  if isinstance(obj, np.ndarray):
    return jsonable(obj.tolist())
  if isinstance(obj, (bool, np.bool_)):
    return bool(obj)
  if isinstance(obj, np.integer):
    return int(obj)
  if isinstance(obj, (float, np.floating)):
    return float(obj) if np.isfinite(obj) else None
  return obj


def _stage(path: str, write, *, binary: bool) -> str:
  """Calls `write(f)` on a new temporary file beside `path`, flushed to
  disk; returns its name (removed again if the write fails).

  It sits in the same directory (os.replace is atomic only within one file
  system) and is created with mode 0o666 under the umask, so the result
  gets the permissions of any other new file (mkstemp would make it
  owner-only).
  """
  directory = os.path.dirname(os.path.abspath(path))
  tmp = os.path.join(directory,
                     f".tmp_{os.path.basename(path)}.{secrets.token_hex(4)}")
  with naming(path):
    os.makedirs(directory, exist_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
      with os.fdopen(fd, "wb" if binary else "w") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    except BaseException:
      if os.path.exists(tmp):
        os.remove(tmp)
      raise
  return tmp


def _commit(tmp: str, path: str):
  with naming(path):
    try:
      os.replace(tmp, path)
    except BaseException:
      if os.path.exists(tmp):
        os.remove(tmp)
      raise


def _write_atomic(path: str | os.PathLike, write, *, binary: bool) -> str:
  """Writes `path` through a temporary file beside it and os.replace, so an
  interrupted or failed write leaves any previous `path` untouched."""
  path = os.fspath(path)
  _commit(_stage(path, write, binary=binary), path)
  return path


@contextlib.contextmanager
def naming(path: str | os.PathLike):
  """Re-raises an OSError of writing `path` (a full disk, no permission) as
  one that names `path`: a write's own error names no file, and a temporary
  file's name is not the one the user knows."""
  try:
    yield
  except OSError as e:
    if e.errno is None:
      raise
    raise OSError(e.errno, e.strerror or str(e), os.fspath(path)) from e


def append_line(f, path: str | os.PathLike, line: str):
  """Appends `line` and a newline to the open text file `f` (at `path`) and
  flushes; a failed write (a full disk) is cut back off, so the file never
  keeps half a line, and the error names `path`."""
  start = f.tell()
  with naming(path):
    try:
      f.write(line + "\n")
      f.flush()
    except OSError:
      with contextlib.suppress(OSError):
        f.truncate(start)
      raise


def write_binary_atomic(path: str | os.PathLike, write) -> str:
  """Writes `path` atomically by `write(f)` on a binary file (a plot's
  `savefig`): never a half-written or empty file under its name."""
  return _write_atomic(path, write, binary=True)


def copy_atomic(source: str | os.PathLike, path: str | os.PathLike) -> str:
  """Copies `source` to `path` atomically; returns the path."""
  with open(source, "rb") as src:
    return write_binary_atomic(path, lambda f: shutil.copyfileobj(src, f))


@contextlib.contextmanager
def json_written_last(path: str | os.PathLike, obj: Any):
  """Writes `jsonable(obj)` beside `path` now, runs the block, and only
  then renames it into place.

  A full disk fails here, before anything the block writes; a failure in
  the block removes the staged file and leaves `path` as it was, so a
  complete-looking results file means everything after it was written too.
  """
  path = os.fspath(path)
  tmp = _stage(path, lambda f: json.dump(
      jsonable(obj), f, indent=2, sort_keys=True, allow_nan=False),
      binary=False)
  try:
    yield path
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise
  _commit(tmp, path)


def write_text_atomic(path: str | os.PathLike, text: str) -> str:
  """Writes `text` (UTF-8) to `path` atomically; returns the path."""
  return _write_atomic(path, lambda f: f.write(text.encode("utf-8")), binary=True)


def write_json_atomic(path: str | os.PathLike, obj: Any) -> str:
  """Writes `jsonable(obj)` to `path` atomically; returns the path."""
  return _write_atomic(
      path, lambda f: json.dump(jsonable(obj), f, indent=2, sort_keys=True,
                                allow_nan=False), binary=False)


def read_json(path: str | os.PathLike) -> Any:
  """The JSON value stored in `path`; None when there is no such file.

  Raises:
    ValueError: the file exists but cannot be read or holds no JSON; the
      message names the path and the cause.
  """
  path = os.fspath(path)
  if not os.path.exists(path):
    return None
  try:
    with open(path) as f:
      return json.load(f)
  except (OSError, ValueError) as e:
    raise ValueError(f"{path} cannot be read ({type(e).__name__}: {e})") from e


def write_npz_atomic(path: str | os.PathLike, arrays: Mapping[str, Any], *,
                     compressed: bool = False) -> str:
  """Writes `arrays` as an .npz to `path` atomically; returns the path.

  Args:
    path: the destination, written exactly as given (numpy's habit of
      appending '.npz' does not apply).
    arrays: name -> array, as for np.savez.
    compressed: use np.savez_compressed.
  """
  save = np.savez_compressed if compressed else np.savez
  return _write_atomic(path, lambda f: save(f, **arrays), binary=True)


__all__ = ["jsonable", "read_json", "write_json_atomic", "write_text_atomic",
           "write_npz_atomic", "write_binary_atomic", "copy_atomic",
           "json_written_last", "naming", "append_line"]
