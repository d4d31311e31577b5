"""Reading one field of a results JSON, and one row's provenance and
test inputs."""
from __future__ import annotations

import functools
import math
import re
from typing import Any, Mapping

from experiments.report import changes
from experiments.report import spec
from jaxpose.evaluation import inputs as inputs_lib

_STEP = re.compile(r"^([^\[\]]*)((?:\[[^\]]*\])*)$")
_SELECTOR = re.compile(r"\[([^\]]*)\]")


def _split(path: spec.Path) -> list[str]:
  if isinstance(path, tuple):
    return [str(p) for p in path]
  return [p for p in str(path).split(".") if p]


def _select(value: Any, selector: str, where: str) -> Any:
  """`[3]`: the fourth item; `[k=v]` (`[k=v,k2=v2]`): the one item whose
  keys print as those values."""
  if selector.lstrip("-").isdigit():
    return value[int(selector)]
  wanted = dict(part.split("=", 1) for part in selector.split(","))
  found = [item for item in value if isinstance(item, dict) and all(
      str(item.get(k)) == v for k, v in wanted.items())]
  if len(found) != 1:
    raise KeyError(f"{where}: {len(found)} items match [{selector}]")
  return found[0]


def get(result: Any, path: spec.Path, where: str = "") -> Any:
  """The field at `path` ('a.b[k=v][0].c', or a tuple of keys, which may
  hold dots, and of steps with selectors ('settings[part=legs]', 'figures',
  'calibration.coverage.0.9')).

  Raises:
    KeyError: a step of the path is absent, naming the path and `where`.
  """
  value = result
  for step in _split(path):
    if isinstance(path, tuple) and "[" not in step:
      key, selectors = step, ""  # a key that may hold dots
    else:
      match = _STEP.match(step)
      if match is None:
        raise KeyError(f"{where}: bad path step {step!r} in {path!r}")
      key, selectors = match.groups()
    try:
      if key:
        value = value[key]
      for selector in _SELECTOR.findall(selectors):
        value = _select(value, selector, where)
    except (KeyError, IndexError, TypeError) as err:
      raise KeyError(f"{where}: no {path!r} ({step!r}: {err})") from None
  return value


def number(value: Any) -> float | None:
  """The number a cell stands for: a plain number, or the mean of a
  {mean, std} summary; None for anything else."""
  if isinstance(value, dict) and "mean" in value:
    value = value["mean"]
  if isinstance(value, bool) or not isinstance(value, (int, float)):
    return None
  return float(value)


def text(value: Any, fmt: str) -> str:
  """One cell: `value` in `fmt` ('-' for None or NaN)."""
  if value is None:
    return "-"
  if fmt == "met":
    return {True: "met", False: "missed"}.get(value, str(value))
  if isinstance(value, dict) and "mean" in value:
    mean = text(value["mean"], fmt)
    std = value.get("std")
    return mean if std is None or value.get("n", 2) < 2 else (
        f"{mean} ± {text(std, fmt)}")
  if isinstance(value, float) and math.isnan(value):
    return "-"
  if fmt == "s" or isinstance(value, str):
    return str(value)
  if isinstance(value, (list, tuple)):
    return ", ".join(text(v, fmt) for v in value)
  return format(value, fmt)


def change(value: Any, base: Any, how: str, fmt: str) -> str:
  """`value` against `base`: '+3%' ('pct'), '+3.2%' ('pct1') or '+1.2'
  ('diff', in `fmt`)."""
  v, b = number(value), number(base)
  if v is None or b is None:
    return "-"
  if how in ("pct", "pct1"):
    digits = 0 if how == "pct" else 1
    return f"{100 * (v / b - 1):+.{digits}f}%" if b else "-"
  if how == "diff":
    return "+" + format(v - b, fmt) if v >= b else format(v - b, fmt)
  raise ValueError(f"change: 'pct', 'pct1' or 'diff', got {how!r}")


def seeds(row: spec.Row, result: dict) -> str:
  """The training seeds of a row: the spec's, else the file's.

  Raises:
    ValueError: neither says, naming the file.
  """
  if row.seeds:
    return row.seeds
  if isinstance(result.get("seeds"), dict):
    return ", ".join(result["seeds"])
  for key in ("seed", "train_seed"):
    if key in result:
      return str(result[key])
  raise ValueError(f"{row.file}: no seeds in the file; give the row's seeds")


def _stated(row: spec.Row, result: dict, key: str) -> str:
  """The row's `key` (hardware, command): the spec's, else the file's.

  Raises:
    ValueError: neither says it as text, naming the file.
  """
  found = getattr(row, key) or result.get(key)
  if not found or not isinstance(found, str):
    raise ValueError(f"{row.file}: no {key} in the file as text; give the "
                     f"row's {key}")
  return found


def hardware(row: spec.Row, result: dict) -> str:
  """Where a row ran (`_stated`)."""
  return _stated(row, result, "hardware")


def with_keys_renamed(command: str, renamed: Mapping[str, str]) -> str:
  """`command` with each config key of `renamed` ({'eval.fit_lr':
  'eval.fit2d.lr'}) under its new name, wherever it is named whole
  (--config.eval.fit_lr=..., --set=eval.fit_lr=..., eval.fit_lr.x);
  a longer key it begins (eval.fit_lr_x) is left alone."""
  if not renamed:
    return command
  keys = "|".join(map(re.escape, sorted(renamed, key=len, reverse=True)))
  pattern = re.compile(rf"(?:(?<=--config\.)|(?<![\w.]))({keys})(?![\w])")
  return pattern.sub(lambda m: renamed[m.group(1)], command)


@functools.cache
def renamed_keys(method: str, task: str | None = None) -> dict[str, str]:
  """{old config key: new} of the settings `method` has renamed (a key
  that fed several tasks under `task`'s name)."""
  from jaxpose import methods  # pylint: disable=import-outside-toplevel
  return methods.get(method).tasks.renamed_keys(task)  # (imports jax: here)


def command(row: spec.Row, result: dict) -> str:
  """The command that wrote a row's file (`_stated`), with the defaults
  changed since restated (`changes.restated`); the file's own in the
  current names of `row.method`'s keys and of the configs it names
  (`row.configs_renamed`)."""
  found = changes.restated(row.file, _stated(row, result, "command"))
  if row.command:
    return found
  if row.configs_renamed:
    names = "|".join(map(re.escape, sorted(row.configs_renamed, key=len,
                                           reverse=True)))
    found = re.sub(rf"({names})(?![\w:])",
                   lambda m: row.configs_renamed[m.group(1)], found)
  if not row.method:
    return found
  task = result.get("task")  # a file of several tasks' rows has a list
  return with_keys_renamed(found, renamed_keys(
      row.method, task if isinstance(task, str) else None))


def _inputs(result: Mapping, key: str, declared: Mapping | None,
            where: str) -> Mapping | None:
  """The record `key` of a results file (at its top, or a summary over
  seeds' `same_rows`), else `declared`, else None.

  Raises:
    ValueError: the file's record and the declared one disagree.
  """
  found = result.get(key)
  if found is None and isinstance(result.get("same_rows"), Mapping):
    found = result["same_rows"].get(key)
  if found is not None and declared is not None and not (
      inputs_lib.like_for_like(found, declared)):
    raise ValueError(f"{where}: the spec's inputs {dict(declared)} disagree "
                     f"with the file's {key} {found}")
  return found if found is not None else declared


def sees(row: spec.Row, result: Mapping, where: str = "") -> Mapping | None:
  """What a row's model receives at test time (`evaluation.inputs`): the
  file's record, else the row's `sees`; None when neither says."""
  key = inputs_lib.BASELINE if row.shows_baseline else "test_inputs"
  return _inputs(result, key, row.sees, where)


def baseline_in_file(row: spec.Row, result: Mapping, where: str = ""
                     ) -> Mapping | None:
  """What the baseline whose figures a row's file holds beside its own
  receives at test time (`baseline_test_inputs`, else `Row.baseline_sees`);
  None for a row that shows that baseline, or a file that holds none."""
  if row.shows_baseline:
    return None
  return _inputs(result, inputs_lib.BASELINE, row.baseline_sees, where)


_SEES_LABELS = {"uncertainty": "uncertainty", "masks": "masked",
                "camera": "camera",
                "calibration_rows": "calibrated on",
                "weights_chosen_on": "weights chosen on"}


def sees_text(record: Mapping | None) -> str:
  """A `test_inputs` record in words ('noisy 2D; uncertainty: ...')."""
  if record is None:
    return "not recorded"
  value = lambda f: str(record.get(f) or inputs_lib.NONE)
  parts = ["no 2D" if value("2d") == inputs_lib.NONE else f"{value('2d')} 2D"]
  parts += [f"{label}: {value(f)}" for f, label in _SEES_LABELS.items()
            if value(f) != inputs_lib.NONE]
  return "; ".join(parts)


__all__ = ["get", "number", "text", "change", "seeds", "hardware",
           "command", "with_keys_renamed", "renamed_keys", "sees",
           "baseline_in_file", "sees_text"]
