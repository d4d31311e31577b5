"""Checkpoints of the train state with orbax, guarded by a config fingerprint.

A workdir belongs to one model configuration. Its fingerprint (a JSON-able
dict: model name and sizes, SDE, data normalisation, ...) is written to
`<directory>/fingerprint.json` when a fresh directory is first opened for
writing, and beside every checkpoint. Opening the directory with another
fingerprint is refused before anything in it is touched, so a changed config
never resumes from, or overwrites, weights of a different model. A directory
holding checkpoints but no fingerprint.json is refused too (never
re-fingerprinted): the file must be restored, or another workdir used.

Errors are one line each: what is wrong, where, and the fix. An unreadable
checkpoint is named by its step directory, with the cause in the user's
terms and the advice to delete it; it is not skipped silently: a broken
checkpoint means a disk or concurrent-writer problem the user must know
about, and skipping it would quietly retrain steps.

Layout: `<directory>/<step>/state` (the `TrainState`, restored with the
sharding of the abstract state given) and `<directory>/<step>/meta` (JSON:
fingerprint, step and the caller's `extra` metadata, e.g. normalisation
statistics).
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
from typing import Any

from absl import logging
import jax
import orbax.checkpoint as ocp

from jaxpose import files
from jaxpose.training import parallel
from jaxpose.workdir import fingerprints
from jaxpose.workdir import layout

FINGERPRINT_FILE = layout.FINGERPRINT


class CheckpointError(RuntimeError):
  """A checkpoint directory that cannot be read."""


class CheckpointWriteError(CheckpointError):
  """A checkpoint that could not be written (a full disk, no permission):
  the message names the directory and the cause, in one line."""


_NO_SPACE = re.compile(r"No space left on device|os_error_code='28'|"
                       r"\[Errno 28\]")


def write_cause(e: BaseException) -> str:
  """A failed write's cause in a few words: 'no space left on device' when
  any error of the chain says so (tensorstore buries it in a long line)."""
  link, seen = e, set()
  while link is not None and id(link) not in seen:
    seen.add(id(link))
    if _NO_SPACE.search(str(link)) or getattr(link, "errno", None) == 28:
      return "no space left on device"
    link = link.__cause__ or link.__context__
  return _first_line(e, limit=120)


class CheckpointMismatchError(ValueError):
  """The directory holds checkpoints of another configuration."""


# Reprs of library objects (`<bound method X.spec of TensorStore({`, `<function
# f at 0x7f..>`, `<Foo object at 0x7f..>`) say nothing to a user. Only a
# message's first line is kept, so a repr spanning lines is removed up to
# that line's end (its closing `>` is on a later line).
_OBJECT_REPR = re.compile(
    r"<(?:bound method|built-in method|method|function)\b[^<>]*(?:>|$)"
    r"|<[^<>]*\bat 0x[0-9a-fA-F]+>")
# tensorstore appends the store's whole JSON spec; the file named before it
# already says where.
_TENSORSTORE_SPEC = re.compile(r"\s*\[tensorstore_spec=.*$")
# tensorstore's chain of drivers opened on the way to the file.
_DRIVER_CHAIN = re.compile(r'(?:Error opening "\w+" driver: )+')


def _readable(text: str) -> str:
  """The first line of a library message without object reprs or specs."""
  text = (text.strip().splitlines() or [""])[0]
  text = _TENSORSTORE_SPEC.sub("", text)
  text = _DRIVER_CHAIN.sub("", text)
  text = _OBJECT_REPR.sub("", text)
  text = re.sub(r"\s+", " ", text).strip()
  return re.sub(r"\s+([.,:;)])", r"\1", text).rstrip(":;, ")


def _first_line(e: BaseException, limit: int = 240) -> str:
  """`Type: first line of the message`, readable and short: a one-line cause.

  The innermost exception of `e`'s chain with a readable message is used:
  orbax wraps tensorstore's error (which names the file and what is wrong
  with it) in its own, whose text is an object's repr.
  """
  chain, seen, link = [], set(), e
  while link is not None and id(link) not in seen:
    seen.add(id(link))
    chain.append(link)
    link = link.__cause__ or (None if link.__suppress_context__
                              else link.__context__)
  for exc in reversed(chain):
    text = _readable(str(exc))
    if text:
      break
  else:
    exc, text = chain[0], ""
  if len(text) > limit:
    text = text[:limit] + "..."
  return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# The files of a step that orbax writes as JSON.
_JSON_FILES = ("_CHECKPOINT_METADATA", "_METADATA", "_sharding", "metadata")


def _unparsable_json_files(step_dir: str) -> list[str]:
  """The JSON files of a step directory that do not parse, relative to it."""
  broken = []
  for root, _, names in sorted(os.walk(step_dir)):
    for name in sorted(names):
      if not (name in _JSON_FILES
              or os.path.basename(root) == "array_metadatas"):
        continue
      path = os.path.join(root, name)
      try:
        with open(path, encoding="utf-8") as f:
          json.load(f)
      except (OSError, ValueError):  # UnicodeDecodeError is a ValueError.
        broken.append(os.path.relpath(path, step_dir))
  return broken


def _is_closed_loop_noise(exc) -> bool:
  return isinstance(exc, RuntimeError) and str(exc) == "Event loop is closed"


def _quiet_closed_event_loop_noise():
  """Drops orbax's late 'Event loop is closed' reports after a failed restore.

  When one array of a restore fails, orbax closes its event loop while
  tensorstore still completes the other reads, each of which Python then
  reports as an unraisable exception, hundreds of tracebacks after the real
  error. Only that exact message is dropped.
  """
  previous = sys.unraisablehook
  if getattr(previous, "_jaxpose_quiet_loop", False):
    return

  def hook(unraisable):
    if not _is_closed_loop_noise(unraisable.exc_value):
      previous(unraisable)

  hook._jaxpose_quiet_loop = True
  sys.unraisablehook = hook


def finished_steps(directory: str | os.PathLike) -> list[int]:
  """The steps of the finished step directories under `directory` (orbax
  renames a step's temporary directory to its bare number once it is
  complete); [] when there are none or no such directory."""
  try:
    names = os.listdir(directory)
  except FileNotFoundError:
    return []
  return sorted(int(n) for n in names if n.isdigit()
                and os.path.isdir(os.path.join(directory, n)))


def require_finished_step(directory: str | os.PathLike) -> None:
  """Raises FileNotFoundError, naming `directory`, when it holds no
  finished step (a workdir that was never trained)."""
  if not finished_steps(directory):
    raise FileNotFoundError(f"no checkpoint in {directory}: train first "
                            "(--mode=train or train_and_eval)")


_jsonable = fingerprints.jsonable
fingerprint_diff = fingerprints.diff
_diff_text = fingerprints.diff_text


def _abstract(tree, default_sharding):
  """ShapeDtypeStructs with a sharding for every leaf of `tree`."""
  def leaf(x):
    sharding = getattr(x, "sharding", None)
    if sharding is None:
      sharding = default_sharding
    return jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding)
  return jax.tree.map(leaf, tree)


class Checkpointer:
  """Saves and restores `TrainState`s in one directory.

  Args:
    directory: the checkpoint directory (created if missing).
    fingerprint: JSON-able dict describing the configuration.
    save_every: `save` writes only at multiples of this step (or when forced).
    keep: how many recent checkpoints to keep.
    extra: default JSON-able metadata saved with every checkpoint.
    async_save: write in a background thread (`save` returns once the arrays
      are copied off the devices).
    read_only: only restore (evaluation): nothing in the directory is
      created, written or deleted, and a missing directory reads as empty.

  Raises:
    CheckpointMismatchError: the directory was made for another fingerprint.
    CheckpointError: the stored fingerprint cannot be read, or is missing
      beside existing checkpoints.
  """

  def __init__(self, directory: str | os.PathLike, *, fingerprint: dict,
               save_every: int, keep: int = 3, extra: dict | None = None,
               async_save: bool = True, read_only: bool = False):
    if not isinstance(fingerprint, dict):
      raise ValueError(f"fingerprint must be a dict, got {type(fingerprint)}")
    if save_every < 1 or keep < 1:
      raise ValueError(f"save_every and keep must be >= 1, got {save_every} "
                       f"and {keep}")
    self.save_every = int(save_every)
    self.directory = os.path.abspath(os.fspath(directory))
    self.fingerprint = _jsonable("fingerprint", fingerprint)
    self.extra = _jsonable("extra", extra or {})
    self.read_only = bool(read_only)
    self._manager = None
    self._write_failed = False
    fresh = self._check_fingerprint()
    if self.read_only and not os.path.isdir(self.directory):
      return  # Nothing to read; and an evaluation creates no directory.
    if self.read_only:
      # Not orbax's read_only option, which warns on every open: with no
      # saves and nothing to keep, this manager writes and deletes nothing.
      options = ocp.CheckpointManagerOptions(
          save_interval_steps=1, max_to_keep=None, create=False,
          enable_async_checkpointing=False)
    else:
      options = ocp.CheckpointManagerOptions(
          # The interval is applied in `save` (orbax would also save the
          # first step it sees, whatever its number).
          save_interval_steps=1, max_to_keep=keep, create=True,
          enable_async_checkpointing=async_save)
    try:
      self._manager = ocp.CheckpointManager(self.directory, options=options)
    except Exception as e:  # orbax raises many kinds; name the directory.
      raise CheckpointError(
          f"cannot open checkpoint directory {self.directory}: "
          f"{_first_line(e)}") from e
    if fresh and not self.read_only and jax.process_index() == 0:
      tmp = self._fp_path + ".tmp"
      with files.naming(self._fp_path):
        try:
          with open(tmp, "w") as f:
            json.dump(self.fingerprint, f, indent=2, sort_keys=True)
          os.replace(tmp, self._fp_path)
        finally:
          if os.path.exists(tmp):
            os.remove(tmp)

  @contextlib.contextmanager
  def _writing(self):
    """Runs an orbax call that writes checkpoints: its failure becomes one
    CheckpointWriteError naming the directory and the cause, and the
    unfinished step directories it left are removed."""
    _quiet_closed_event_loop_noise()
    try:
      yield
    except CheckpointError:
      raise
    except Exception as e:  # orbax/tensorstore raise many kinds.
      self._write_failed = True
      self._remove_unfinished()
      # The failed save may be an earlier step's (orbax reports a
      # background failure at the next call).
      raise CheckpointWriteError(f"checkpoint not written to "
                                 f"{self.directory}: {write_cause(e)}") from e

  def _remove_unfinished(self):
    try:
      names = os.listdir(self.directory)
    except OSError:
      return
    for name in names:
      if ".orbax-checkpoint-tmp" in name:
        shutil.rmtree(os.path.join(self.directory, name), ignore_errors=True)

  @property
  def _fp_path(self) -> str:
    return layout.fingerprint_in(self.directory)

  def _step_dirs(self) -> list[int]:
    return finished_steps(self.directory)

  def _check_fingerprint(self) -> bool:
    """Compares the stored fingerprint with the requested one.

    Returns:
      True when the directory is fresh: no fingerprint and no checkpoint.
    """
    if not os.path.exists(self._fp_path):
      steps = self._step_dirs()
      if not steps:
        return True
      meta = os.path.join(self.directory, str(steps[-1]), "meta", "metadata")
      raise CheckpointError(
          f"checkpoint directory {self.directory} holds checkpoints (steps "
          f"{', '.join(map(str, steps))}) but no {FINGERPRINT_FILE}, so "
          "nothing says which configuration they belong to; restore "
          f"{self._fp_path} (its content is the 'fingerprint' entry of "
          f"{meta}) or use another workdir (nothing was changed)")
    try:
      with open(self._fp_path) as f:
        stored = json.load(f)
    except (OSError, ValueError) as e:
      raise CheckpointError(
          f"the fingerprint file {self._fp_path} is unreadable "
          f"({_first_line(e)}); restore it from a backup (or from the "
          "'fingerprint' entry of a step's meta/metadata) or use another "
          "workdir") from e
    diff = fingerprint_diff(stored, self.fingerprint)
    if diff:
      raise CheckpointMismatchError(
          f"checkpoint directory {self.directory} belongs to another "
          f"configuration; differing keys: {_diff_text(diff)}; pick another "
          "workdir (nothing in this one was changed)")
    return False

  def latest_step(self) -> int | None:
    """The newest saved step, or None."""
    return None if self._manager is None else self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return [] if self._manager is None else list(self._manager.all_steps())

  def latest_step_on_disk(self) -> int | None:
    """The newest checkpoint that is complete on disk, pending saves done.

    `latest_step` counts a step as soon as its (asynchronous) save starts;
    this waits for pending saves to finish and reads the directory again.
    """
    if self._manager is None:
      return None
    try:
      self._manager.wait_until_finished()
    except Exception as e:  # pylint: disable=broad-except
      # A failed save is simply not on disk; the directory says what is.
      logging.warning("a pending checkpoint save failed: %s", _first_line(e))
    self._manager.reload()
    on_disk = set(self._step_dirs())
    steps = [s for s in self._manager.all_steps() if s in on_disk]
    return max(steps) if steps else None

  def save(self, step: int, state, *, extra: dict | None = None,
           force: bool = False) -> bool:
    """Saves `state` at `step` if the interval says so (or `force`).

    Returns:
      Whether a checkpoint was started.
    """
    if self.read_only:
      raise CheckpointError(f"checkpoint directory {self.directory} was "
                            "opened read-only (evaluation): not saving")
    step = int(step)
    if not force and step % self.save_every:
      return False
    if step in self._manager.all_steps():
      return False
    meta = {"step": step, "fingerprint": self.fingerprint,
            "extra": self.extra if extra is None else _jsonable("extra", extra)}
    with self._writing():
      return self._manager.save(
          step, force=force,
          args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                  meta=ocp.args.JsonSave(meta)))

  def restore_or_none(self, abstract_state, *, step: int | None = None,
                      mesh=None):
    """Restores the latest (or a given) checkpoint, or None when empty.

    Args:
      abstract_state: a state of the right structure: concrete arrays or
        `jax.ShapeDtypeStruct`s (e.g. from `jax.eval_shape`). Leaves come
        back with its shardings; leaves without one are replicated on `mesh`.
      step: the step to restore, default the latest.
      mesh: default `parallel.make_mesh()`.

    Returns:
      `(state, extra)` or None if the directory holds no checkpoint.

    Raises:
      CheckpointError: the checkpoint cannot be read (corrupt, truncated or
        of another structure).
    """
    step = self.latest_step() if step is None else int(step)
    if step is None:
      return None
    mesh = parallel.make_mesh() if mesh is None else mesh
    target = _abstract(abstract_state, parallel.replicated_sharding(mesh))
    _quiet_closed_event_loop_noise()
    try:
      restored = self._manager.restore(
          step, args=ocp.args.Composite(state=ocp.args.StandardRestore(target),
                                        meta=ocp.args.JsonRestore()))
    except Exception as e:  # orbax/tensorstore raise many kinds.
      raise CheckpointError(self._unreadable_message(step, e)) from e
    meta = restored.meta or {}
    stored_fp = meta.get("fingerprint")
    diff = (fingerprints.accepts(self.directory, stored_fp, self.fingerprint)
            if stored_fp else {})
    if diff:
      raise CheckpointMismatchError(
          f"checkpoint {os.path.join(self.directory, str(step))} was written "
          f"for another configuration; differing keys: {_diff_text(diff)}; "
          "pick another workdir")
    return restored.state, meta.get("extra", {})

  def _unreadable_message(self, step: int, e: BaseException) -> str:
    step_dir = os.path.join(self.directory, str(step))
    earlier = [s for s in self.all_steps() if s < step]
    if earlier:
      then = (f"training then resumes from step {earlier[-1]}, the previous "
              "checkpoint")
    else:
      then = "training then starts from step 0"
    cause = _first_line(e)
    broken = _unparsable_json_files(step_dir)
    if broken:
      # A JSON parser's error names a line and column, not the file.
      verb = "is" if len(broken) == 1 else "are"
      cause = f"{', '.join(broken)} {verb} not valid JSON: {cause}"
    # The fix before the cause: a long cause is what a one-line error cuts.
    return (f"checkpoint {step_dir} cannot be read (corrupt, incomplete or "
            f"of another state structure): delete {step_dir} ({then}) or "
            f"use another workdir; cause: {cause}")

  def wait_until_finished(self):
    if self._manager is not None:
      with self._writing():
        self._manager.wait_until_finished()

  def close(self):
    if self._manager is None:
      return
    failed_before = self._write_failed
    try:
      self.wait_until_finished()
    except CheckpointWriteError:
      # A failure already raised to the caller is not raised again from
      # the `finally` that closes the checkpointer.
      if not failed_before:
        raise
    finally:
      with (contextlib.suppress(Exception) if self._write_failed
            else contextlib.nullcontext()):
        self._manager.close()

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()
