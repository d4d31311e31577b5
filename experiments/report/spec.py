"""The vocabulary of the results spec: pages of tables of rows.

A row is one results JSON (under experiments/results/), where it came
from (command, seeds, hardware) and what its model receives at test time
(`Row.sees`); a column is one field of it (a path, a
format). A table says which row another is compared with, and carries the
paragraph, written by hand, that says what its figures mean. Nothing here
computes a figure: a number a page shows is a number a run wrote.
"""
from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

Path = str | tuple  # 'a.b[key=value].c' or a tuple of keys (keys with dots)


@dataclasses.dataclass(frozen=True)
class Col:
  """One column: a field of each row's JSON.

  path: where the field is (`lookup.get`); a row may prefix it (`Row.at`).
  fmt: a format spec ('.1f', '.2f', '.1%', 'd', 's', '.2e') or 'met'
    (True -> met, False -> missed). A {mean, std} record (a summary over
    seeds) prints as 'mean ± std'.
  change: also print the change against the table's baseline row, as a
    percentage ('pct' whole, 'pct1' to one decimal) or a difference in the
    column's units ('diff').
  """
  title: str
  path: Path
  fmt: str = ".1f"
  change: str = ""


@dataclasses.dataclass(frozen=True)
class Row:  # pylint: disable=too-many-instance-attributes
  """One row: a results JSON and how it was made.

  file: the JSON, relative to experiments/results/.
  command: the command that wrote it; '' takes the JSON's own `command`.
  seeds: the training seeds; '' takes the JSON's (`seeds` of a summary over
    seeds, else `seed`).
  hardware: where it ran; '' takes the JSON's `hardware`.
  at: a path prefixed to every column's (one entry of a list of settings).
  fields: {column title: path} for the columns whose field this row's file
    keeps elsewhere (used as is, without `at`); None: the figure does not
    apply to this row ('-').
  baseline: the `name` of the row of this table it is compared with.
  name: what `baseline` calls this row (default: its label).
  cells: the label's extra cells before the figures (e.g. the 2D it read).
  method: the method whose config keys the file's own `command` (a record
    of a past run) names: the keys it has renamed since
    (`Tasks.renamed_keys`) print under their new names, so the page gives
    a command that runs now.
  configs_renamed: {config reference: today's}: the config variants the
    file's own `command` names that mean other settings since (e.g.
    'diffpose_mocap.py:per_row_kernel': 'diffpose_mocap.py:
    per_row_kernel_oracle'), replaced wherever named whole.
  sees: what the row's model receives at test time, as a results file's
    `test_inputs` records it (`jaxpose.evaluation.inputs`), for a file
    written before the record; a file's own record is read first.
  baseline_sees: the same of the baseline whose figures the row's file
    holds beside its own (its `baseline_test_inputs`).
  shows_baseline: the row shows the figures of that baseline (e.g. the
    frozen encoder a method starts from), so its inputs are the baseline's.
  file_baseline_compared: False when the row is compared with its named
    `baseline` row alone, not with the baseline its file holds beside its
    figures (whose figures the table does not show on this row).
  """
  label: str
  file: str
  command: str = ""
  seeds: str = ""
  hardware: str = ""
  at: Path = ""
  baseline: str = ""
  cells: tuple[str, ...] = ()
  name: str = ""
  fields: Mapping[str, Path | None] = dataclasses.field(default_factory=dict)
  method: str = ""
  configs_renamed: Mapping[str, str] = dataclasses.field(default_factory=dict)
  sees: Mapping[str, str] | None = None
  baseline_sees: Mapping[str, str] | None = None
  shows_baseline: bool = False
  file_baseline_compared: bool = True

  @property
  def key(self) -> str:
    return self.name or self.label

  def path(self, col: "Col") -> Path | None:
    """Where this row's file keeps `col`'s field."""
    if col.title in self.fields:
      return self.fields[col.title]
    if not self.at:
      return col.path
    if isinstance(self.at, tuple) or isinstance(col.path, tuple):
      as_tuple = lambda p: p if isinstance(p, tuple) else (p,)
      return as_tuple(self.at) + as_tuple(col.path)
    return f"{self.at}.{col.path}"


@dataclasses.dataclass(frozen=True)
class Table:
  """A table and the paragraph beside it.

  title: its heading. intro: what the rows are (data, protocol), one or
  two sentences. note: what the figures mean, or why one misses its
  target, written once by hand. label_titles: the headings of the label
  column and of each row's `cells`. images: (caption, file under
  experiments/results/) shown under it. like_for_like_only: refuse a row
  that receives at test time what its baseline does not, or the other way
  round (the headline table). no_test_rows: its figures are of no test
  rows (speed on random inputs), though its files record an evaluation's:
  no column of what the model sees.
  """
  title: str
  columns: Sequence[Col]
  rows: Sequence[Row]
  intro: str = ""
  note: str = ""
  label_titles: tuple[str, ...] = ("model",)
  images: tuple[tuple[str, str], ...] = ()
  like_for_like_only: bool = False
  no_test_rows: bool = False


@dataclasses.dataclass(frozen=True)
class Page:
  """One page docs/results/<name>.md: a title, what it answers, tables."""
  name: str
  title: str
  intro: str
  tables: Sequence[Table]


__all__ = ["Col", "Row", "Table", "Page", "Path"]
