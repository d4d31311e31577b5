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


def mean_sd(values, digits: int = 1) -> str:
  """'mean ± standard deviation (ddof 1)' of several numbers, the number
  alone of one."""
  values = [float(v) for v in values]
  mean = sum(values) / len(values)
  if len(values) == 1:
    return f"{mean:.{digits}f}"
  sd = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5
  return f"{mean:.{digits}f} ± {sd:.{digits}f}"


__all__ = ["load", "mean_sd"]
