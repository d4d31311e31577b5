"""Which file an evaluation writes, so that no evaluation replaces another
made with other settings.

Every results file records the settings it was made with (`FIELD`:
`{dotted key: value}` of the evaluation's sections, less the keys that
change no figure, `PRESENTATION_KEYS`). An evaluation whose stem
(`<task>[_<suffix>]`) is free, or whose file records the same settings (a
rerun, a later checkpoint), writes there; one whose settings differ writes
beside it, its stem naming the differing keys when that is short
(`estimate_num_hypotheses-50`), else their digest (`estimate_3fa9c1d2`),
and says so in one log line. `eval.overwrite=True` writes over it.

Two evaluations of one folder at once never take one name for two
settings: `for_run` chooses under a lock of the folder and reserves the
stem (`<stem>.json.reserved`, holding the settings, locked by the
evaluation until `release`, which `runner.run_task` calls); a name
reserved by a live evaluation counts as holding its settings, and a
reservation whose evaluation died is ignored.

  stem = output_names.choose(out_dir, "estimate", settings, defaults=...)
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from typing import Mapping

from absl import logging

from jaxpose import config as config_lib
from jaxpose import digest as digest_lib
from jaxpose import files
from jaxpose import settings as settings_lib
from jaxpose.evaluation.config import EvalConfig

# The field of a results file that records its settings.
FIELD = "eval_settings"
# Keys that change only what is drawn or where it goes, never a figure
# (calibration_* are read by --mode=calibrate, not by an evaluation).
PRESENTATION_KEYS = frozenset(f"eval.{k}" for k in (
    "output_suffix", "output_dir", "plot_poses", "plot_hypotheses",
    "save_predictions", "overwrite", "calibration_from", "calibration_2d"))
# A readable stem's part naming the differing keys is at most this long.
_READABLE_CHARS = 40
_UNKNOWN = object()
_FREE = object()
# A stem being written by a live evaluation (module doc).
RESERVED = ".reserved"
_LOCK = ".stems.lock"
_HELD: dict[str, int] = {}  # this process's reservations -> locked fds


def evaluation_settings(config: Mapping, keys) -> dict:
  """`{dotted key: value}` of `config` under `keys` (sections such as 'eval'
  or dotted keys), less `PRESENTATION_KEYS`; plain JSON values."""
  out = {}
  for key in keys:
    node = config_lib.get_dotted(config, key, _UNKNOWN)
    if node is not _UNKNOWN:
      out.update(config_lib.flatten(files.jsonable(node), key))
  return {k: v for k, v in sorted(out.items()) if k not in PRESENTATION_KEYS}


def recorded(path: str):
  """The settings the results file `path` records; None when it records
  none (written before they were), or when it cannot be read."""
  try:
    with open(path) as f:
      stored = json.load(f)
  except (OSError, ValueError):
    return None
  value = stored.get(FIELD) if isinstance(stored, dict) else None
  return value if isinstance(value, dict) else None


def differing(settings: Mapping, earlier: Mapping, defaults: Mapping) -> dict:
  """`{key: value}` of `settings` that `earlier` records otherwise; a key
  `earlier` lacks counts at its default (`defaults`) and is not compared
  without one (the record predates the key)."""
  out = {}
  for key, value in settings.items():
    old = earlier.get(key, defaults.get(key, _UNKNOWN))
    if old is not _UNKNOWN and files.jsonable(old) != files.jsonable(value):
      out[key] = value
  return out


def _renamed(record: Mapping | None, renamed: Mapping[str, str]):
  """`record` with its keys under an older name (a key or its prefix, as
  'eval.denoise_weights.gmm') under the new one."""
  if record is None:
    return None
  out = {}
  for key, value in record.items():
    for old, new in renamed.items():
      if key == old or key.startswith(old + "."):
        key = new + key[len(old):]
        break
    out[key] = value
  return out


def _readable(diff: Mapping) -> str | None:
  """'num_hypotheses-50_seed-3', or None when a value is not a scalar or
  the text is long."""
  parts = []
  for key, value in diff.items():
    if isinstance(value, (dict, list)) or value is None:
      return None
    text = re.sub(r"[^A-Za-z0-9.+]+", "-", str(value).lower()).strip("-")
    if not text:
      return None
    parts.append(f"{key.split('.')[-1]}-{text}")
  out = "_".join(parts)
  return out if out and len(out) <= _READABLE_CHARS else None


def choose(out_dir: str, stem: str, settings: Mapping, *,
           defaults: Mapping | None = None, overwrite: bool = False,
           renamed: Mapping[str, str] | None = None) -> str:
  """The stem this evaluation writes `<out_dir>/<stem>.json` under.

  Args:
    out_dir: where the results go.
    stem: the stem asked for (`<task>[_<suffix>]`).
    settings: this evaluation's settings (`evaluation_settings`).
    defaults: `{dotted key: default}` of keys a record may lack.
    overwrite: `eval.overwrite`: `stem` whatever it holds.
    renamed: {old key: new key} of keys a record may hold under an older
      name (`Tasks.renamed_keys`).

  Raises:
    settings.ConfigError: every name this evaluation could take holds
      results of other settings.
  """
  defaults = defaults or {}
  path = lambda s: os.path.join(out_dir, f"{s}.json")
  held = _held(path(stem))
  if overwrite or held is _FREE:
    if overwrite and held is not _FREE:
      logging.info("eval.overwrite=True: %s is replaced", path(stem))
    return stem
  earlier = _renamed(held, renamed or {})
  if earlier is not None:
    diff = differing(settings, earlier, defaults)
    if not diff:
      logging.info("%s: same settings as before; rewritten", path(stem))
      return stem
    why = "other settings: " + ", ".join(
        f"{k}={v!r}, was {earlier.get(k, defaults.get(k))!r}"
        for k, v in diff.items())
    named = _readable(diff) or digest_lib.digest(diff, length=8)
  else:
    why = "it records no settings: written before they were recorded"
    named = None
  whole = digest_lib.digest(dict(settings), length=8)
  for candidate in [f"{stem}_{n}" for n in (named, whole) if n]:
    held = _held(path(candidate))
    if held is not _FREE:
      held = _renamed(held, renamed or {})
      if held is None or differing(settings, held, defaults):
        continue
    logging.info("%s holds another evaluation (%s): this one writes %s beside "
                 "it (eval.overwrite=True writes over it; eval.output_suffix "
                 "names it)", path(stem), why, path(candidate))
    return candidate
  raise settings_lib.ConfigError(
      f"{path(stem)} holds another evaluation ({why}), and so do the names "
      "beside it; name this one with --config.eval.output_suffix=..., "
      "or replace it with --config.eval.overwrite=True")


def for_run(method, run, out_dir: str, stem: str,
            sections: tuple[str, ...]) -> tuple[str, dict]:
  """(the stem `run`'s evaluation writes, the settings it records): the
  config's `sections` (less other tasks' options) and the workdir keys of
  the method's needs, compared with what `<out_dir>/<stem>.json` records
  (`choose`); keys a record lacks count at their dataclass defaults."""
  keys = tuple(sections) + tuple(need.config_key for need in method.needs)
  # Other tasks' options change nothing this task computes.
  others = tuple(f"eval.{t}." for t in method.tasks.options()
                 if t != run.eval.task)
  ours = {k: v for k, v in evaluation_settings(run.config, keys).items()
          if not k.startswith(others)}
  defaults = {f"eval.{k}": v for cls in (EvalConfig, method.eval_options)
              for k, v in settings_lib.defaults(cls).items()}
  defaults.update(config_lib.flatten(method.tasks.defaults(), "eval"))
  with _folder_lock(out_dir):
    chosen = choose(out_dir, stem, ours, defaults=files.jsonable(defaults),
                    overwrite=run.eval.overwrite,
                    renamed=method.tasks.renamed_keys(run.eval.task))
    _reserve(os.path.join(out_dir, f"{chosen}.json"), ours)
  return chosen, ours


@contextlib.contextmanager
def _folder_lock(out_dir: str):
  """Held while a stem is chosen and reserved (a moment, not the run)."""
  path = os.path.join(out_dir, _LOCK)
  with files.naming(path):
    os.makedirs(out_dir, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
  try:
    fcntl.flock(fd, fcntl.LOCK_EX)
    yield
  finally:
    os.close(fd)


def _held(results: str):
  """What `results` (a results file's path) holds: the settings a live
  evaluation reserved it for, else those its file records (None: none
  recorded), else _FREE."""
  reservation = results + RESERVED
  try:
    fd = os.open(reservation, os.O_RDONLY)
  except OSError:
    fd = None
  if fd is not None:
    try:
      fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:  # held: a live evaluation writes this stem
      with os.fdopen(fd) as f:
        try:
          value = json.load(f)
        except ValueError:
          value = None
      return value if isinstance(value, dict) else None
    os.close(fd)  # its evaluation died: as if it were not there
  if os.path.exists(results):
    return recorded(results)
  return _FREE


def _reserve(results: str, settings: Mapping):
  """Reserves `results` for this evaluation's `settings` until `release`."""
  reservation = results + RESERVED
  if reservation in _HELD:
    return
  with files.naming(reservation):
    fd = os.open(reservation, os.O_RDWR | os.O_CREAT, 0o666)
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # a live evaluation of the same settings has it
      os.close(fd)
      return
    try:
      os.ftruncate(fd, 0)
      os.write(fd, json.dumps(files.jsonable(dict(settings))).encode())
    except BaseException:
      os.close(fd)
      with contextlib.suppress(OSError):
        os.remove(reservation)
      raise
  _HELD[reservation] = fd


def release(out_dir: str, stem: str):
  """Ends this process's reservation of `stem` (its results are written,
  or its evaluation failed); nothing if it holds none."""
  reservation = os.path.join(out_dir, f"{stem}.json{RESERVED}")
  fd = _HELD.pop(reservation, None)
  if fd is not None:
    with contextlib.suppress(OSError):
      os.remove(reservation)
    os.close(fd)


__all__ = ["FIELD", "PRESENTATION_KEYS", "RESERVED", "evaluation_settings",
           "recorded", "differing", "choose", "for_run", "release"]
