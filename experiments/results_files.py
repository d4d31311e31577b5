"""The README's tables read experiments/results/*.json through `load`."""
from __future__ import annotations

import pathlib

from experiments import seed_summary
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


def as_summary(result: dict) -> dict:
  """A seed_summary JSON as it is; a single run's results JSON as a summary
  of one seed (`seeds` "1 run", no spread) with the figures a seeds file
  keeps."""
  if "across_seeds" in result:
    return result
  figs = {k: v for k, v in seed_summary.seed_figures(result).items()
          if k != "train_step"}
  return dict(what="", command="", hardware="", seeds={"1 run": figs},
              same_rows={k: result.get(k) for k in seed_summary.SAME_ROWS},
              across_seeds={k: dict(mean=v, std=None, n=1) for k, v in figs.items()})


def cell(summary: dict, figure: str, digits: int = 1) -> str:
  """A summary's figure as 'mean ± sd', the number alone of one run, '-'
  where the file lacks it."""
  s = summary["across_seeds"].get(figure)
  if s is None:
    return "-"
  if s["std"] is None:
    return f"{s['mean']:.{digits}f}"
  return f"{s['mean']:.{digits}f} ± {s['std']:.{digits}f}"


__all__ = ["load", "mean_sd", "as_summary", "cell"]
