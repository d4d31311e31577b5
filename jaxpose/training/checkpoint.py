"""Checkpoints of the train state with orbax, guarded by a config fingerprint.

A workdir belongs to one model configuration. Its fingerprint (a JSON-able
dict: model name and sizes, SDE, data normalisation, ...) is written to
`<directory>/fingerprint.json` when the directory is first used and beside
every checkpoint. Opening the directory with another fingerprint is refused
before anything in it is touched, so a changed config never resumes from, or
overwrites, weights of a different model.

Layout: `<directory>/<step>/state` (the `TrainState`, restored with the
sharding of the abstract state given) and `<directory>/<step>/meta` (JSON:
fingerprint, step and the caller's `extra` metadata, e.g. normalisation
statistics).
"""
from __future__ import annotations

import json
import os
from typing import Any

import jax
import orbax.checkpoint as ocp

from jaxpose.training import parallel

FINGERPRINT_FILE = "fingerprint.json"


class CheckpointError(RuntimeError):
  """A checkpoint directory that cannot be read."""


class CheckpointMismatchError(ValueError):
  """The directory holds checkpoints of another configuration."""


def _jsonable(name: str, value) -> Any:
  try:
    # Round trip so tuples and lists (and int/float keys) compare equal to
    # what comes back from disk.
    return json.loads(json.dumps(value, sort_keys=True))
  except (TypeError, ValueError) as e:
    raise ValueError(f"{name} must be JSON-serialisable: {e}") from e


def _flatten(d, prefix=""):
  out = {}
  if isinstance(d, dict):
    for k, v in d.items():
      out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
  else:
    out[prefix] = d
  return out


def fingerprint_diff(stored: dict, requested: dict) -> dict:
  """`{key: (stored, requested)}` for the dotted keys that differ."""
  a, b = _flatten(stored), _flatten(requested)
  missing = object()
  diff = {}
  for k in sorted(set(a) | set(b)):
    va, vb = a.get(k, missing), b.get(k, missing)
    if va != vb:
      diff[k] = ("<absent>" if va is missing else va,
                 "<absent>" if vb is missing else vb)
  return diff


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

  Raises:
    CheckpointMismatchError: the directory was made for another fingerprint.
    CheckpointError: the stored fingerprint cannot be read.
  """

  def __init__(self, directory: str | os.PathLike, *, fingerprint: dict,
               save_every: int, keep: int = 3, extra: dict | None = None,
               async_save: bool = True):
    if not isinstance(fingerprint, dict):
      raise ValueError(f"fingerprint must be a dict, got {type(fingerprint)}")
    if save_every < 1 or keep < 1:
      raise ValueError(f"save_every and keep must be >= 1, got {save_every} "
                       f"and {keep}")
    self.save_every = int(save_every)
    self.directory = os.path.abspath(os.fspath(directory))
    self.fingerprint = _jsonable("fingerprint", fingerprint)
    self.extra = _jsonable("extra", extra or {})
    self._check_fingerprint()
    options = ocp.CheckpointManagerOptions(
        # The interval is applied in `save` (orbax would also save the first
        # step it sees, whatever its number).
        save_interval_steps=1, max_to_keep=keep, create=True,
        enable_async_checkpointing=async_save)
    try:
      self._manager = ocp.CheckpointManager(self.directory, options=options)
    except Exception as e:  # orbax raises many kinds; name the directory.
      raise CheckpointError(
          f"cannot open checkpoint directory {self.directory}: {e}") from e
    if jax.process_index() == 0 and not os.path.exists(self._fp_path):
      tmp = self._fp_path + ".tmp"
      with open(tmp, "w") as f:
        json.dump(self.fingerprint, f, indent=2, sort_keys=True)
      os.replace(tmp, self._fp_path)

  @property
  def _fp_path(self) -> str:
    return os.path.join(self.directory, FINGERPRINT_FILE)

  def _check_fingerprint(self):
    if not os.path.exists(self._fp_path):
      return
    try:
      with open(self._fp_path) as f:
        stored = json.load(f)
    except (OSError, ValueError) as e:
      raise CheckpointError(
          f"the fingerprint file {self._fp_path} is unreadable ({e}); the "
          "checkpoint directory is corrupt. Use another workdir or repair "
          "it by hand") from e
    diff = fingerprint_diff(stored, self.fingerprint)
    if diff:
      lines = "\n".join(f"  {k}: stored {a!r}, requested {b!r}"
                        for k, (a, b) in diff.items())
      raise CheckpointMismatchError(
          f"checkpoint directory {self.directory} belongs to another "
          f"configuration; differing keys:\n{lines}\nPick another workdir "
          "(nothing in this one was changed).")

  def latest_step(self) -> int | None:
    """The newest saved step, or None."""
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return list(self._manager.all_steps())

  def save(self, step: int, state, *, extra: dict | None = None,
           force: bool = False) -> bool:
    """Saves `state` at `step` if the interval says so (or `force`).

    Returns:
      Whether a checkpoint was started.
    """
    step = int(step)
    if not force and step % self.save_every:
      return False
    if step in self._manager.all_steps():
      return False
    meta = {"step": step, "fingerprint": self.fingerprint,
            "extra": self.extra if extra is None else _jsonable("extra", extra)}
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
    try:
      restored = self._manager.restore(
          step, args=ocp.args.Composite(state=ocp.args.StandardRestore(target),
                                        meta=ocp.args.JsonRestore()))
    except Exception as e:  # orbax/tensorstore raise many kinds.
      raise CheckpointError(
          f"cannot restore step {step} from checkpoint directory "
          f"{self.directory}: {type(e).__name__}: {e}. The checkpoint is "
          "corrupt or was written for another state structure; use another "
          "workdir or delete the broken step directory.") from e
    meta = restored.meta or {}
    stored_fp = meta.get("fingerprint")
    if stored_fp is not None and fingerprint_diff(stored_fp, self.fingerprint):
      raise CheckpointMismatchError(
          f"checkpoint {step} in {self.directory} was written for another "
          "configuration: "
          f"{fingerprint_diff(stored_fp, self.fingerprint)}")
    return restored.state, meta.get("extra", {})

  def wait_until_finished(self):
    self._manager.wait_until_finished()

  def close(self):
    self._manager.wait_until_finished()
    self._manager.close()

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()
