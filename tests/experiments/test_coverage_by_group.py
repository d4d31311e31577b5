"""Coverage per group of test rows: hand-made hypotheses whose conformal
intervals hold one group at both levels, another at 90% only, a third at
neither."""
import json

import numpy as np
import pytest

from experiments.studies import coverage_by_group
from jaxpose.calibration import fit as calibration_fit

# Conformal intervals mean +- q sigma; with two hypotheses mean +- 1 per
# coordinate, sigma (ddof 1) is sqrt(2), so the half-widths are 1.41 (50%)
# and 2.83 (90%).
CAL = calibration_fit.Calibration(
    kind="conformal", levels=(0.5, 0.9), quantiles={"0.5": 1.0, "0.9": 2.0},
    radial_quantiles={"0.5": 1.0, "0.9": 2.0})


def _rows(offsets, joints=2):
  """Hypotheses gt + d +- 1 on every coordinate, one row per offset d."""
  d = np.asarray(offsets, np.float64)[:, None, None] * np.ones((1, joints, 3))
  gt = np.zeros_like(d)
  return np.stack([gt + d + 1.0, gt + d - 1.0]), gt


def test_each_group_gets_its_own_coverage_and_error():
  hyps, gt = _rows([1.0, 1.0, 2.0, 2.0, 2.0, 5.0])
  groups = np.array([7, 7, 5, 5, 5, 9])
  out = coverage_by_group.by_group(hyps, gt, groups, CAL)
  assert sorted(out) == ["5", "7", "9"]
  assert [out[g]["rows"] for g in ("5", "7", "9")] == [3, 2, 1]
  assert out["7"]["after"] == {"0.5": 1.0, "0.9": 1.0}
  assert out["5"]["after"] == {"0.5": 0.0, "0.9": 1.0}
  assert out["9"]["after"] == {"0.5": 0.0, "0.9": 0.0}
  for group, d in (("7", 1.0), ("5", 2.0), ("9", 5.0)):
    assert out[group]["mean_mpjpe_mm"] == pytest.approx(d * np.sqrt(3))
  # The raw hypotheses' range [d-1, d+1] holds the truth 0 only for d = 1.
  assert [out[g]["before"]["0.9"] for g in ("7", "5", "9")] == [1.0, 0.0, 0.0]
  # Every coordinate's score is d / sqrt(2): the half-width in sigmas each
  # group needs, against the fitted q (1.0 at 50%, 2.0 at 90%).
  for group, d in (("7", 1.0), ("5", 2.0), ("9", 5.0)):
    assert out[group]["score_quantile"] == pytest.approx(
        {"0.5": d / np.sqrt(2), "0.9": d / np.sqrt(2)})


def test_groups_must_match_the_rows():
  hyps, gt = _rows([1.0, 2.0])
  with pytest.raises(ValueError, match="groups: 3 rows"):
    coverage_by_group.by_group(hyps, gt, [1, 2, 3], CAL)


def test_summary_over_seeds_reads_saved_predictions(tmp_path):
  hyps, gt = _rows([1.0, 2.0, 2.0])
  for seed, groups in ((0, [1, 2, 2]), (1, [1, 1, 2])):
    w = tmp_path / f"s{seed}"
    (w / "eval").mkdir(parents=True)
    (w / "config.json").write_text(json.dumps({"seed": seed,
                                               "eval": {"task": "complete"}}))
    (w / "calibration.json").write_text(json.dumps(
        {"format": 1, "tasks": {"complete": {"calibration": CAL.to_json()}}}))
    np.savez(w / "eval" / "complete_x_predictions.npz", hypotheses_mm=hyps,
             pose3d_mm=gt, id_subject=np.asarray(groups))
  out = coverage_by_group.summarise([str(tmp_path / "s0"), str(tmp_path / "s1")],
                                    "complete_x", "subject")
  assert out["task"] == ["complete"]
  assert out["seeds"]["0"]["2"]["after"]["0.5"] == 0.0
  assert out["seeds"]["1"]["1"]["after"]["0.5"] == 0.5
  mean = out["mean_over_seeds"]
  assert mean["1"]["rows"] == 1.5 and mean["1"]["after.0.5"] == 0.75
  assert mean["2"]["after.0.9"] == 1.0
  # Group 1: seed 0 holds d = 1; seed 1 holds d = 1 and 2, and its
  # 0.9-quantile of six scores 1/sqrt(2) and six 2/sqrt(2) is the latter.
  assert mean["1"]["score_quantile.0.9"] == pytest.approx(1.5 / np.sqrt(2))
  assert out["fitted_quantile"] == {"0": CAL.quantiles, "1": CAL.quantiles}
  assert out["fitted_quantile_mean"] == {"0.5": 1.0, "0.9": 2.0}
  with pytest.raises(ValueError, match="no id_clip"):
    coverage_by_group.read(str(tmp_path / "s0"), "complete_x", "clip")
  with pytest.raises(FileNotFoundError, match="save_predictions"):
    coverage_by_group.read(str(tmp_path / "s0"), "absent", "subject")
