"""DiffPose workdirs trained before prepared/ existed.

That jaxpose kept H_K at the workdir's top (`FILE`) and fingerprinted it,
and the encoder it was trained beside, by SHA-1s of their arrays. H_K is
read back from that file (a refit need not give the same mixture).
"""
from __future__ import annotations

import hashlib
import json

import jax
import numpy as np

from jaxpose.methods import base
from jaxpose.methods.diffpose import initial as initial_lib
from jaxpose.workdir import prepared as prepared_lib

FILE = "diffpose_initial.npz"


def _initial_sha1(arrays) -> str:
  h = hashlib.sha1()
  for name in ("weights", "means", "scales"):
    a = np.ascontiguousarray(arrays[name], np.float32)
    h.update(str(a.shape).encode())
    h.update(a.tobytes())
  h.update(b"centred" if bool(arrays["centred"]) else b"around0")
  return h.hexdigest()


def _params_sha1(params) -> str:
  h = hashlib.sha1()
  for path, leaf in jax.tree_util.tree_leaves_with_path(params):
    h.update(jax.tree_util.keystr(path).encode())
    h.update(np.ascontiguousarray(np.asarray(leaf), np.float32).tobytes())
  return h.hexdigest()


def read_initial(path: str) -> base.Artefact:
  """H_K as the older jaxpose wrote it, as today's artefact."""
  try:
    with np.load(path, allow_pickle=False) as z:
      arrays = {k: z[k] for k in ("weights", "means", "scales", "centred")}
      info = json.loads(str(z["info"]))
  except (OSError, KeyError, ValueError) as e:
    raise prepared_lib.PreparedError(
        f"{path} cannot be read ({type(e).__name__}): it held this "
        "workdir's H_K, which its checkpoints were trained with; restore it "
        "or train a new workdir") from e
  return base.Artefact(arrays={**arrays, "centred": np.asarray(
      bool(arrays["centred"]))}, info=info)


def legacy_prepared(ctx):
  """({"initial": H_K from the workdir's file}, the fingerprint entries
  that jaxpose wrote of H_K and the encoder), from a `parts.LegacyContext`
  (no training data read). The training range is left out, as that
  jaxpose had none: its tasks say what they use instead."""
  initial = read_initial(ctx.workdir.legacy_file(FILE))
  return {initial_lib.ARTEFACT: initial}, {"diffpose": {
      "initial_sha1": _initial_sha1(initial.arrays),
      "encoder_sha1": _params_sha1(ctx.needs["encoder"].params)}}


__all__ = ["FILE", "read_initial", "legacy_prepared"]
