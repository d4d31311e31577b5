"""Prepared artefacts: state fitted on the training data, kept beside the
checkpoints.

A method's `prepare` step (normalisation statistics, a fitted mixture,
held-out rows, a fitted regressor) returns `Artefact`s; `save` writes each
to `WORKDIR/prepared/<name>.npz` and an index, `WORKDIR/prepared/index.json`,
recording each artefact's digest and the settings it was made from.
`load` reads them back and checks every digest, so an evaluation (on any
data) uses exactly the state the model was trained with, never a refit.
Every file is written atomically by process 0.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Any, Mapping

import jax
import numpy as np

from jaxpose import digest as digest_lib
from jaxpose import files
from jaxpose.workdir import layout

DIRECTORY = layout.PREPARED


class PreparedError(ValueError):
  """Prepared artefacts that are missing, corrupt or made otherwise."""


@dataclasses.dataclass(frozen=True)
class Artefact:
  """Arrays fitted on the training data, and facts about the fit.

  Attributes:
    arrays: name -> numpy array (the state itself).
    info: JSON-able facts (rows used, the fit's diagnostics); not part of
      the digest.
  """
  arrays: Mapping[str, np.ndarray]
  info: Mapping[str, Any] = dataclasses.field(default_factory=dict)

  def digest(self) -> str:
    """The digest of the arrays (`jaxpose.digest`)."""
    return digest_lib.digest({k: np.asarray(v) for k, v in self.arrays.items()})

  def __getitem__(self, name: str) -> np.ndarray:
    return self.arrays[name]


def directory(workdir: str) -> str:
  return layout.Workdir.of(workdir).prepared


def digests(artefacts: Mapping[str, Artefact]) -> dict[str, str]:
  """name -> digest, the fingerprint's record of the artefacts."""
  return {name: a.digest() for name, a in sorted(artefacts.items())}


def read_index(workdir: str) -> dict | None:
  """The index of `workdir`'s artefacts, or None when it has none yet."""
  try:
    return files.read_json(layout.Workdir.of(workdir).prepared_index)
  except ValueError as e:
    raise PreparedError(f"{e}; delete the workdir's prepared/ folder to "
                        "prepare again (only if no checkpoint was trained "
                        "with it)") from e


def save(workdir: str, artefacts: Mapping[str, Artefact],
         made_from: Mapping[str, Any]) -> dict:
  """Writes every artefact and the index; returns the index.

  Args:
    workdir: the training's workdir.
    artefacts: name -> artefact.
    made_from: the dotted config keys and values the artefacts were made
      from (a later training or evaluation must agree).
  """
  index = {"artefacts": {}, "made_from": files.jsonable(dict(made_from))}
  for name, artefact in sorted(artefacts.items()):
    file = f"{name}.npz"
    index["artefacts"][name] = {"file": file, "digest": artefact.digest(),
                                "info": files.jsonable(dict(artefact.info))}
  if jax.process_index() == 0:
    for name, artefact in artefacts.items():
      arrays = {k: np.asarray(v) for k, v in artefact.arrays.items()}
      files.write_npz_atomic(
          layout.Workdir.of(workdir).prepared_file(
              index["artefacts"][name]["file"]),
          arrays)
    # The index last: it names only complete files.
    files.write_json_atomic(layout.Workdir.of(workdir).prepared_index,
                            index)
  return index


def check_made_from(workdir: str, index: dict, made_from: Mapping[str, Any],
                    defaults: Mapping[str, Any] | None = None):
  """Refuses artefacts made from other settings than `made_from`, naming
  the keys. A key recorded as None, or not at all, was left out of the
  config they were made with, so it had its default: `defaults[key]`."""
  theirs = dict(index.get("made_from") or {})
  ours = files.jsonable(dict(made_from))
  for key, default in files.jsonable(dict(defaults or {})).items():
    if key in ours and theirs.get(key) is None:
      theirs[key] = default
  missing = "<absent>"
  diffs = [f"{k}: {theirs.get(k, missing)!r} there, {ours.get(k, missing)!r} here"
           for k in sorted(set(ours) | set(theirs))
           if theirs.get(k, missing) != ours.get(k, missing)]
  if diffs:
    raise PreparedError(
        f"{directory(workdir)} was prepared from other settings "
        f"({'; '.join(diffs)}); use the original settings or a new workdir")


def load(workdir: str) -> tuple[dict[str, Artefact], dict]:
  """(artefacts by name, the index) of `workdir`, every digest checked.

  Raises:
    PreparedError: no index, a missing or unreadable file, or a file whose
      content no longer matches its recorded digest.
  """
  index = read_index(workdir)
  if index is None:
    path = layout.Workdir.of(workdir).prepared_index
    if os.path.isdir(layout.Workdir.of(workdir).checkpoints):
      raise PreparedError(
          f"{path} missing beside checkpoints: the workdir was trained before "
          "jaxpose kept the method's prepared state there (or its prepared/ "
          "folder was deleted); train a new workdir")
    raise PreparedError(
        f"{path} missing: the method's prepared state is written when "
        "training starts; train this workdir first (--mode=train or "
        "train_and_eval)")
  out = {}
  for name, entry in index.get("artefacts", {}).items():
    path = layout.Workdir.of(workdir).prepared_file(entry["file"])
    try:
      with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
      raise PreparedError(f"{path} cannot be read ({type(e).__name__}); it "
                          "is missing or corrupt") from e
    artefact = Artefact(arrays=arrays, info=entry.get("info") or {})
    if artefact.digest() != entry["digest"]:
      raise PreparedError(f"{path} has changed since it was prepared (its "
                          "digest differs from the index's); it is corrupt "
                          "or was replaced")
    out[name] = artefact
  return out, index


__all__ = ["Artefact", "PreparedError", "DIRECTORY", "directory",
           "digests", "read_index", "save", "load", "check_made_from"]
