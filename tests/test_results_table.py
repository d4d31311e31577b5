"""The results page (docs/results.md) comes from the JSON files, so it cannot\ndrift."""
import pathlib

import pytest

from experiments import results_table

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_results_page_matches_json_files():
  text = results_table.PAGE.read_text()
  assert results_table.updated_readme(
      text, results_table.page_section(results_table.render())) == text, (
          "docs/results.md is stale: run python -m experiments.results_table")


@pytest.mark.parametrize("entry", results_table.ENTRIES, ids=lambda e: e[1])
def test_every_entry_has_the_summary_fields(entry):
  import json
  result = json.loads((ROOT / entry[1]).read_text())
  for key in ("mpjpe_mm", "min_mpjpe_mm", "pa_mpjpe_mm", "num_hypotheses", "num_poses"):
    assert key in result


def test_missing_markers_are_reported():
  with pytest.raises(ValueError, match="markers"):
    results_table.updated_readme("no markers here", "x")


def test_every_diffpose_table_file_exists():
  # Those tables skip a missing file, so a misspelt name would drop its row.
  from experiments import results_calibration
  from experiments import results_calibration_rows
  from experiments import results_diffpose
  named = [e[1] for e in results_diffpose.DIFFPOSE]
  named += [p for e in results_diffpose.ABLATION for p in e[1:]]
  named += [e[1] for e in results_calibration_rows.CALIBRATION]
  named += [e[1] for e in results_calibration.CALIBRATED]
  named += [e[1] for e in results_calibration.CALIBRATED_SEEDS]
  named += list(results_calibration.DPOSER_BY_SUBJECT)
  named += list(results_calibration.CALIBRATED_OVER_SEEDS.values())
  # A summary over seeds replaces a row only when it names that row's file.
  rows = {e[1] for e in results_calibration.CALIBRATED}
  assert set(results_calibration.CALIBRATED_OVER_SEEDS) <= rows
  missing = [p for p in named if not (ROOT / p).exists()]
  assert not missing, missing


def test_sampler_cell_of_files_with_and_without_a_sampler():
  # Lifters' files: sampler "lifter" before the method interface's rewrite,
  # no sampler (nor num_steps) since.
  assert results_table._sampler(
      dict(method="baseline", sampler="lifter", num_steps=0)) == "deterministic lifter"
  assert results_table._sampler(dict(method="baseline")) == "deterministic lifter"
  assert results_table._sampler(dict(sampler="ddim:eta=1", num_steps=50)) == "ddim:eta=1 x 50"
  assert results_table._sampler(dict(method="other")) == "-"
