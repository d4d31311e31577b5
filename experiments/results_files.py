"""The README's tables read experiments/results/*.json through `load`."""
from __future__ import annotations

import pathlib

from jaxpose import files


def load(root: pathlib.Path, rel: str) -> dict | None:
  """The JSON in `root / rel`; None when `rel` is empty or the file is
  absent (a row not run yet: its table or paragraph is left out).

  Raises:
    ValueError: the file exists but holds no JSON, naming it.
  """
  return files.read_json(pathlib.Path(root) / rel) if rel else None


__all__ = ["load"]
