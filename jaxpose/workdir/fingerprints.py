"""A checkpoint folder's fingerprint: what its model is, compared key by key.

`fingerprint.json` names the configuration every checkpoint in the folder
belongs to; each step's metadata repeats it. When a later jaxpose describes
the same model with other entries (a workdir trained before prepared/
existed: its methods recorded their state under other names), the folder's
fingerprint is rewritten once, after the old entries were checked against
the state recovered, and the old one kept as `fingerprint.earlier.json`:
steps written before then carry it and are still accepted.
"""
from __future__ import annotations

import json

import jax

from jaxpose import files
from jaxpose.workdir import layout


def jsonable(name: str, value):
  """`value` as JSON gives it back (tuples as lists, keys as strings), so
  what is compared with a file compares equal to it."""
  try:
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


def diff(stored: dict, requested: dict) -> dict:
  """`{dotted key: (stored, requested)}` for the keys that differ."""
  a, b = _flatten(stored), _flatten(requested)
  missing = object()
  out = {}
  for k in sorted(set(a) | set(b)):
    va, vb = a.get(k, missing), b.get(k, missing)
    if va != vb:
      out[k] = ("<absent>" if va is missing else va,
                "<absent>" if vb is missing else vb)
  return out


def diff_text(d: dict) -> str:
  return "; ".join(f"{k}: stored {a!r}, requested {b!r}" for k, (a, b) in d.items())


def read(path: str) -> dict | None:
  """The fingerprint in `path`, None when there is none (ValueError when it
  cannot be read)."""
  return files.read_json(path)


def earlier(checkpoints: str) -> dict | None:
  """The fingerprint the folder's older steps were written with, kept when
  it was replaced (`replace`), or None."""
  return read(layout.earlier_fingerprint_in(checkpoints))


def accepts(checkpoints: str, stored: dict, requested: dict) -> dict:
  """The differences of a step's `stored` fingerprint from `requested`:
  none when it is the requested one or the folder's earlier one."""
  found = diff(stored, requested)
  if found and stored == earlier(checkpoints):
    return {}
  return found


def replace(checkpoints: str, old: dict, new: dict):
  """Writes `new` as the folder's fingerprint, keeping `old` (the one its
  steps were written with) as the earlier one; process 0 only. The earlier
  one first, so a run stopped between the two leaves both readable."""
  if jax.process_index() != 0:
    return
  files.write_json_atomic(layout.earlier_fingerprint_in(checkpoints),
                          jsonable("fingerprint", old))
  files.write_json_atomic(layout.fingerprint_in(checkpoints),
                          jsonable("fingerprint", new))


__all__ = ["jsonable", "diff", "diff_text", "read", "earlier", "accepts",
           "replace"]
