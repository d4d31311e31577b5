"""The README's calibrated-hypotheses row over seeds: read from the summary
experiments.seed_summary writes of each seed's evaluation and held-out
calibration report."""
import json

import pytest

from experiments import results_calibration
from experiments import seed_summary


def _eval(before_90, after_90, mpjpe, *, before_key="calibration"):
  return {"task": "estimate", "num_poses": 500, "mpjpe_mm": mpjpe + 1.0,
          before_key: {"coverage": {"0.5": 0.3, "0.9": before_90}},
          "calibration_after": {
              "coverage": {"0.5": 0.4, "0.9": after_90}, "mean_mpjpe_mm": mpjpe,
              "calibration": {"kind": "conformal",
                              "fitted_on": {"num_rows": 500}}}}


def _report(kind, after_90, mpjpe):
  return {"task": "estimate", "before": {"coverage": {"0.5": 0.4, "0.9": 0.7}},
          "after": {"kind": kind, "coverage": {"0.5": 0.5, "0.9": after_90},
                    "mean_mpjpe_mm": mpjpe}}


def test_seed_row_reads_means_and_spreads():
  results = {0: _eval(0.6, 0.8, 84.0), 1: _eval(0.7, 0.9, 86.0)}
  held = {0: _report("conformal", 0.9, 50.0), 1: _report("spread_scale", 0.88, 60.0)}
  summary = seed_summary.summarise(results, what="w", command="c", hardware="cpu",
                                   heldout=held)
  row = results_calibration._calibrated_seed_row("GFPose", summary)
  assert row == ("| GFPose (2 seeds) | 500 | conformal x1, spread_scale x1 | "
                 "0.30 ± 0.00 -> 0.40 ± 0.00 | 0.65 ± 0.07 -> 0.85 ± 0.07 | "
                 "0.70 ± 0.00 -> 0.89 ± 0.01 | 55.0 ± 7.1 / 85.0 ± 1.4 |")


def test_dposer_reports_before_beside_its_settings():
  results = {s: _eval(0.2, 0.3, 300.0, before_key="calibration_before")
             for s in (0, 1)}
  row = results_calibration._calibrated_seed_row(
      "DPoser", seed_summary.summarise(results, what="w", command="c",
                                       hardware="cpu"))
  assert "| 0.30 ± 0.00 -> 0.40 ± 0.00 | 0.20 ± 0.00 -> 0.30 ± 0.00 | - -> - |" in row
  assert row.endswith("| - / 300.0 ± 0.0 |")


def test_after_reads_one_run_or_the_mean_over_seeds(tmp_path):
  one = _eval(0.6, 0.87, 84.0)
  summary = seed_summary.summarise({0: _eval(0.6, 0.8, 84.0),
                                    1: _eval(0.7, 0.9, 86.0)},
                                   what="w", command="c", hardware="cpu")
  for name, result in (("one.json", one), ("seeds.json", summary)):
    (tmp_path / name).write_text(json.dumps(result))
  assert results_calibration._after(tmp_path, "one.json") == "0.87"
  assert results_calibration._after(tmp_path, "seeds.json") == "0.85 ± 0.07"
  assert results_calibration._after(tmp_path, "seeds.json", "0.5") == "0.40 ± 0.00"
  assert results_calibration._after(tmp_path, "absent.json") == "-"


def test_bands_and_cost_read_the_mean_over_seeds():
  def summary(c50, c90, mpjpe):
    return {"across_seeds": {
        "calibration_after.coverage.0.5": {"mean": c50},
        "calibration_after.coverage.0.9": {"mean": c90},
        "calibration_after.mean_mpjpe_mm": {"mean": mpjpe}}}
  assert results_calibration._bands(summary(0.43, 0.88, 1.0)) == "both bands met"
  assert results_calibration._bands(summary(0.38, 0.88, 1.0)) == "one band met"
  assert results_calibration._bands(summary(0.38, 0.96, 1.0)) == "neither band met"
  base = {"across_seeds": {"mpjpe_mm": {"mean": 80.0}}}
  assert (results_calibration._cost(summary(0.4, 0.9, 84.0), base, "mpjpe_mm")
          == "84.0 mm against 80.0, +5.0%")


def test_seed_by_seed_says_when_each_retrained_seed_is_the_same_model():
  ours = {"seeds": {"0": {"calibration_after.mean_mpjpe_mm": 82.87},
                    "1": {"calibration_after.mean_mpjpe_mm": 81.73}}}
  same = {"seeds": {"0": {"mpjpe_mm": 82.871}, "1": {"mpjpe_mm": 81.731}}}
  other = {"seeds": {"0": {"mpjpe_mm": 82.871}, "1": {"mpjpe_mm": 83.0}}}
  assert (results_calibration._seed_by_seed(ours, same)
          == "seeds 0, 1: 82.9 / 81.7 mm, each the same as that seed's own "
          "evaluation")
  moved = results_calibration._seed_by_seed(
      dict(ours, hardware="2 CPU cores (Intel Xeon)"),
      dict(same, hardware="2 CPU cores (AMD EPYC)"))
  assert moved.endswith("evaluation, retrained on 2 CPU cores (Intel Xeon) "
                        "(that one: 2 CPU cores (AMD EPYC))")
  assert (results_calibration._seed_by_seed(ours, other)
          == "seed by seed 82.9 / 81.7 mm against 82.9 / 83.0")


def test_cost_never_prints_minus_zero_and_range_spans_the_seeds():
  base = {"across_seeds": {"mpjpe_mm": {"mean": 82.164}}}
  ours = {"across_seeds": {"calibration_after.mean_mpjpe_mm": {"mean": 82.1639}}}
  assert (results_calibration._cost(ours, base, "mpjpe_mm")
          == "82.2 mm against 82.2, +0.0%")
  seeds = {"seeds": {"0": {"mpjpe_mm": 137.5}, "1": {"mpjpe_mm": 183.2},
                     "2": {"mpjpe_mm": 168.1}}}
  assert results_calibration._seed_range(seeds) == "137.5 to 183.2"


def test_setting_reads_one_row_of_a_settings_table_over_seeds():
  def dposer(l_leg, r_arm):
    return {"task": "complete", "num_poses": 200, "settings": [
        {"prior": "dposer", "part": "l_leg", "missing_mpjpe_mm": l_leg},
        {"prior": "dposer", "part": "r_arm", "missing_mpjpe_mm": r_arm},
        {"prior": "none", "part": "l_leg", "missing_mpjpe_mm": 1.0}]}
  summary = seed_summary.summarise({0: dposer(300.0, 90.0), 1: dposer(340.0, 80.0)},
                                   what="w", command="c", hardware="cpu")
  base = results_calibration._setting(summary, "missing_mpjpe_mm",
                                      prior="dposer", part="l_leg")
  assert base["across_seeds"]["missing_mpjpe_mm"]["mean"] == 320.0
  ours = {"across_seeds": {"calibration_after.mean_mpjpe_mm": {"mean": 320.0}}}
  assert (results_calibration._cost(ours, base, "missing_mpjpe_mm")
          == "320.0 mm against 320.0, +0.0%")
  with pytest.raises(KeyError, match="legs"):
    results_calibration._setting(summary, "missing_mpjpe_mm", prior="dposer",
                                 part="legs")


def test_exact_trained_lines_read_the_held_out_and_borrowed_seeds(tmp_path):
  from experiments import results_calibration_rows as rows

  def evaluation(mpjpe, after_50, after_90):
    return {"task": "estimate", "num_poses": 500, "mpjpe_mm": mpjpe,
            "encoder": {"mpjpe_mm": 76.0},
            "calibration": {"coverage": {"0.5": 0.3, "0.9": 0.5}},
            "calibration_after": {"coverage": {"0.5": after_50, "0.9": after_90},
                                  "mean_mpjpe_mm": mpjpe}}

  def write(rel, results, heldout=None):
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(seed_summary.summarise(
        results, what="w", command="c", hardware="cpu", heldout=heldout)))

  assert results_calibration._exact_trained_lines(tmp_path) == []
  write(rows.DP_EXACT_SUBJECT, {0: evaluation(84.0, 0.45, 0.88),
                                1: evaluation(86.0, 0.47, 0.90)},
        heldout={s: _report("conformal", 0.9, 55.0) for s in (0, 1)})
  write(rows.DP_EXACT_BORROWED, {0: evaluation(79.0, 0.38, 0.84),
                                 1: evaluation(81.0, 0.40, 0.86)})
  assert results_calibration._exact_trained_lines(tmp_path) == []  # no plain
  write(rows.DP_EXACT_PLAIN, {0: evaluation(79.5, 0.3, 0.5),
                              1: evaluation(80.0, 0.3, 0.5)})
  text = " ".join(results_calibration._exact_trained_lines(tmp_path))
  assert "is 55.0 mm against 85.0 on the test people" in text
  assert "cover 0.46 ± 0.01 and 0.89 ± 0.01 (both bands met)" in text
  assert "85.0 mm against 80.0, +6.2%" in text
  assert "0.39 ± 0.01 and 0.85 ± 0.01 (one band met)" in text
  assert "(against its encoder: 80.0 mm against 76.0, +5.3%;" in text
  assert "seed by seed 79.0 / 81.0 mm against 79.5 / 80.0" in text
  # With the encoder's error on the held-out person's rows in the reports.
  for encoder, verdict in ((50.0, "+10.0%: on a person neither network saw "
                                  "the denoiser does not improve its encoder"),
                           (60.0, "-8.3%: on a person neither network saw "
                                  "the denoiser improves its encoder")):
    write(rows.DP_EXACT_SUBJECT, {0: evaluation(84.0, 0.45, 0.88),
                                  1: evaluation(86.0, 0.47, 0.90)},
          heldout={s: dict(_report("conformal", 0.9, 55.0),
                           task_figures={"encoder/mpjpe_mm": encoder})
                   for s in (0, 1)})
    text = " ".join(results_calibration._exact_trained_lines(tmp_path))
    assert (f"is 55.0 mm (its encoder on the same rows: {encoder:.1f}, "
            f"{verdict}) against 85.0 on the test people") in text


def test_noisy_2d_lines_compare_the_two_ways_to_calibrate_for_it(tmp_path):
  from experiments import results_calibration_rows as rows

  def evaluation(mpjpe, after_90, before_90=0.4):
    return {"task": "estimate", "num_poses": 500, "mpjpe_mm": mpjpe,
            "calibration": {"coverage": {"0.5": 0.2, "0.9": before_90}},
            "calibration_after": {"coverage": {"0.5": 0.47, "0.9": after_90},
                                  "mean_mpjpe_mm": mpjpe}}

  def write(rel, results):
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(seed_summary.summarise(
        results, what="w", command="c", hardware="cpu")))

  write(rows.GF_NOISY_CAL, {0: evaluation(120.0, 0.88), 1: evaluation(122.0, 0.90)})
  write(rows.GF_NOISY_TRAINED, {0: evaluation(145.0, 0.89),
                                1: evaluation(147.0, 0.89)})
  assert results_calibration._noisy_2d_lines(tmp_path) == []  # no plain
  plain = {0: {"task": "estimate", "num_poses": 500, "mpjpe_mm": 118.0,
               "calibration": {"coverage": {"0.5": 0.19, "0.9": 0.40}}},
           1: {"task": "estimate", "num_poses": 500, "mpjpe_mm": 118.0,
               "calibration": {"coverage": {"0.5": 0.19, "0.9": 0.42}}}}
  write(rows.GF_NOISY_PLAIN, plain)
  text = " ".join(results_calibration._noisy_2d_lines(tmp_path))
  assert "its 90% interval covers 0.41 ± 0.01 of the test joints" in text
  assert ("reaches 0.47 ± 0.00 and 0.89 ± 0.01 (both bands met, 2 seeds) at "
          "121.0 mm against 118.0, +2.5%") in text
  assert "146.0 mm against 118.0, +23.7%: training on noisy 2D costs 25.0 mm" in text
  write(rows.GF_NOISY_TRAINED, {0: evaluation(110.0, 0.89),
                                1: evaluation(112.0, 0.89)})
  text = " ".join(results_calibration._noisy_2d_lines(tmp_path))
  assert "training on noisy 2D is 10.0 mm better." in text


def test_one_person_row_reads_its_seeds_once_they_replace_the_run(tmp_path):
  run, held = "run.json", "run_heldout.json"
  (tmp_path / run).write_text(json.dumps(_eval(0.2, 0.66, 339.9)))
  (tmp_path / held).write_text(json.dumps(_report("conformal", 0.9, 143.5)))
  errors = lambda: results_calibration._one_person_errors(tmp_path, run, held)
  rows = dict(results_calibration.CALIBRATED_OVER_SEEDS)
  try:
    results_calibration.CALIBRATED_OVER_SEEDS.clear()
    assert results_calibration._runs(tmp_path, run) == "1 run"
    assert errors() == (143.5, 339.9)
    assert results_calibration._one_person_errors(tmp_path, "absent.json", held) is None
    # A summary over seeds replaces the run: its means, and its seed count.
    summary = seed_summary.summarise(
        {0: _eval(0.2, 0.66, 340.0), 1: _eval(0.2, 0.7, 320.0)}, what="w",
        command="c", hardware="cpu",
        heldout={0: _report("conformal", 0.9, 140.0),
                 1: _report("conformal", 0.9, 150.0)})
    (tmp_path / "seeds.json").write_text(json.dumps(summary))
    results_calibration.CALIBRATED_OVER_SEEDS[run] = "seeds.json"
    assert results_calibration._runs(tmp_path, run) == "2 seeds"
    assert errors() == pytest.approx((145.0, 330.0))
  finally:
    results_calibration.CALIBRATED_OVER_SEEDS.clear()
    results_calibration.CALIBRATED_OVER_SEEDS.update(rows)
