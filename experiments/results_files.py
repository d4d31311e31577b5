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


def settings_row(summary: dict, **row) -> dict:
  """{figure: spread} of the `settings_across_seeds` row of a seeds summary
  matching `row` (DPoser's prior and part).

  Raises:
    KeyError: no row matches, naming it and the summary.
  """
  for setting in summary.get("settings_across_seeds", []):
    if all(setting.get(k) == v for k, v in row.items()):
      return setting["figures"]
  raise KeyError(f"no settings row {row} in {summary.get('what')!r}")


def seeds_file(rel: str) -> str:
  """The `seed_summary` file that replaces a single run's row once it
  exists: the run's name with `_seeds` before its task
  ('..._cpu_estimate_noisy2d.json' -> '..._cpu_seeds_estimate_noisy2d.json');
  '' for a name without a task (the quickstart's runs)."""
  return rel.replace("_cpu_estimate", "_cpu_seeds_estimate") if "_cpu_estimate" in rel else ""


def hardware(rel: str, summary: dict) -> str:
  """Where a row ran: a seeds summary says so; a single run's file name
  carries it ('_cpu': 2 CPU cores, '_h100': 1 H100), else '-'."""
  if summary["hardware"]:
    return summary["hardware"]
  for tag, words in (("_cpu", "2 CPU cores"), ("_h100", "1 H100")):
    if tag in rel:
      return words
  return "-"


__all__ = ["load", "mean_sd", "as_summary", "cell", "settings_row", "seeds_file",
           "hardware"]
