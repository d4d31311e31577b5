"""README table: can the hypotheses' spread be trusted, before any calibration.

`lines(root)` renders, for each multi-hypothesis result of
`results_calibration_rows.CALIBRATION`, the coverage of the central 50% and
90% intervals, the correlation of per-joint spread and error and the energy
score, from the `calibration` block of its JSON (DPoser's completion: of
one row of its `settings`). A row reads the mean over training seeds in
place of its single run once `experiments.seed_summary` has written the
seeds file (`results_calibration_rows.SPREAD_OVER_SEEDS`, else
`results_files.seeds_file`), and the paragraph under the table says how
far the seeds moved each row.
"""
from __future__ import annotations

import pathlib
from typing import NamedTuple

from experiments.results_calibration_rows import CALIBRATION
from experiments.results_calibration_rows import SPREAD_OVER_SEEDS
from experiments.results_files import as_summary
from experiments.results_files import cell
from experiments.results_files import hardware
from experiments.results_files import load
from experiments.results_files import seeds_file
from experiments.results_files import settings_row

COVERAGE_50 = "calibration.coverage.0.5"
COVERAGE_90 = "calibration.coverage.0.9"
SPREAD_ERROR_R = "calibration.spread_error_pearson"
ENERGY = "calibration.energy_score_mm"


class Row(NamedTuple):
  label: str
  rel: str  # the file read: the seeds summary once it exists
  summary: dict  # results_files.as_summary
  hypotheses: int
  replaced: dict | None  # the single run's figures a seeds summary replaces


def calibration_of(result: dict, where) -> dict | None:
  """The calibration block of a result (`where` None) or of its `settings`
  row (prior, part): DPoser reports each prior's completion there."""
  if where is None:
    return result.get("calibration")
  prior, part = where
  for s in result.get("settings", []):
    if s.get("prior") == prior and s.get("part") == part:
      return s.get("calibration")
  return None


def _one_run(result: dict | None, where) -> tuple[dict, int] | None:
  """A single run's calibration block as a one-seed summary, and its
  number of hypotheses."""
  c = None if result is None else calibration_of(result, where)
  if not c:
    return None
  return as_summary({"calibration": c}), int(c["num_hypotheses"])


def read_row(root, label: str, rel: str, where) -> Row | None:
  """The row of `rel`, over seeds when its seeds summary exists
  (`SPREAD_OVER_SEEDS`, else `results_files.seeds_file`); None when
  neither file is there."""
  single = _one_run(load(root, rel), where)
  seeds_rel = SPREAD_OVER_SEEDS.get(rel) or seeds_file(rel)
  seeds = load(root, seeds_rel)
  if seeds is not None:
    summary = seeds if where is None else dict(  # one settings row's figures
        seeds, across_seeds=settings_row(seeds, prior=where[0], part=where[1]))
    return Row(label, seeds_rel, summary,
               int(seeds["same_rows"]["num_hypotheses"]),
               None if single is None else single[0]["seeds"]["1 run"])
  if single is None:
    return None
  return Row(label, rel, single[0], single[1], None)


def _seeds(summary: dict) -> str:
  names = sorted(summary["seeds"], key=lambda s: (not s.isdigit(), s))
  return ",".join(names)


def _largest_move(rows: list[Row], figure: str) -> tuple[float, str] | None:
  moves = [(abs(r.summary["across_seeds"][figure]["mean"] - r.replaced[figure]),
            r.label) for r in rows
           if r.replaced and figure in r.replaced
           and figure in r.summary["across_seeds"]]
  return max(moves) if moves else None


def what_changed(rows: list[Row]) -> str:
  """The paragraph under the table: which rows are over seeds and how far
  their means moved from the single runs they replace."""
  over = [r for r in rows if r.summary["seeds"].keys() != {"1 run"}]
  if not over:
    return ""
  text = (f"Over seeds: {len(over)} of {len(rows)} rows are the mean "
          "± standard deviation (ddof 1) over training seeds, read from their "
          "`seed_summary` files, where they were one run (a row is "
          "the mean over three training seeds)"
          + ("; still one run: " + "; ".join(r.label for r in rows if r not in over)
             + "." if len(over) < len(rows) else "."))
  cov, energy = _largest_move(over, COVERAGE_90), _largest_move(over, ENERGY)
  if cov and energy:
    text += (f" Against the single runs they replace, the mean over seeds moves "
             f"the 90% coverage by at most {cov[0]:.2f} ({cov[1]}) and the "
             f"energy score by at most {energy[0]:.1f} mm ({energy[1]}).")
  span = [r.summary["across_seeds"][COVERAGE_90]["mean"] for r in over
          if COVERAGE_90 in r.summary["across_seeds"]]
  if span:
    text += (f" Over seeds their 90% intervals cover {min(span):.2f} to "
             f"{max(span):.2f} of the test joints (ideally 0.90).")
  return text


def lines(root: pathlib.Path) -> list[str]:
  out = ["", "### Can the hypotheses' spread be trusted?", "",
         "Per joint and coordinate: the central 50% and 90% intervals of the "
         "hypotheses should hold the true joint 50% and 90% of the time; the "
         "Pearson correlation of per-joint spread and error, and the energy "
         "score (lower is better; mm). Per-joint figures are in each JSON's "
         "`calibration` block. Seeds: the training seeds a row's mean ± "
         "standard deviation is over, or '1 run'.", "",
         "| result | hypotheses | coverage 50% | coverage 90% | spread-error r | "
         "energy score | seeds | hardware |", "|---|---|---|---|---|---|---|---|"]
  rows = [row for label, rel, where in CALIBRATION
          if (row := read_row(root, label, rel, where)) is not None]
  for r in rows:
    s = r.summary
    out.append(f"| {r.label} | {r.hypotheses} | {cell(s, COVERAGE_50, 2)} | "
               f"{cell(s, COVERAGE_90, 2)} | {cell(s, SPREAD_ERROR_R, 2)} | "
               f"{cell(s, ENERGY)} | {_seeds(s)} | {hardware(r.rel, s)} |")
  paragraph = what_changed(rows)
  return out + (["", paragraph] if paragraph else [])


__all__ = ["lines", "read_row", "what_changed", "calibration_of", "Row"]
