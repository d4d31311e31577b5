"""One digest for everything jaxpose identifies by content.

`digest(value)` is the SHA-1 of a value's content: parameter pytrees (which
network another method was trained on), prepared artefacts (statistics, a
fitted mixture, held-out rows), and config sections (the folder of an
evaluation on other data).  Arrays contribute their key path, dtype, shape
and bytes; other leaves their JSON text; so equal content gives equal
digests across processes and machines.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

import jax
import numpy as np


def _update(h, value) -> None:
  leaves = jax.tree_util.tree_leaves_with_path(
      value, is_leaf=lambda x: x is None)
  for path, leaf in leaves:
    h.update(jax.tree_util.keystr(path).encode())
    if isinstance(leaf, (np.ndarray, np.generic, jax.Array)):
      a = np.ascontiguousarray(np.asarray(leaf))
      h.update(f"{a.dtype.str}{a.shape}".encode())
      h.update(a.tobytes())
    else:
      h.update(json.dumps(leaf, sort_keys=True, default=str).encode())


def digest(value: Any, *, length: int | None = None) -> str:
  """The hex SHA-1 of `value`'s content (arrays, pytrees, JSON-able values).

  Args:
    value: a pytree (dicts, lists, `nnx.State`, dataclass pytrees) of
      arrays and plain values.
    length: keep the first `length` hex digits (None: all 40).
  """
  h = hashlib.sha1()
  _update(h, value)
  text = h.hexdigest()
  return text if length is None else text[:length]


__all__ = ["digest"]
