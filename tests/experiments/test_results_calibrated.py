"""The README's calibrated-hypotheses row over seeds: read from the summary
experiments.seed_summary writes of each seed's evaluation and held-out
calibration report."""
from experiments import results_diffpose
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
  row = results_diffpose._calibrated_seed_row("GFPose", summary)
  assert row == ("| GFPose (2 seeds) | 500 | conformal x1, spread_scale x1 | "
                 "0.30 ± 0.00 -> 0.40 ± 0.00 | 0.65 ± 0.07 -> 0.85 ± 0.07 | "
                 "0.70 ± 0.00 -> 0.89 ± 0.01 | 55.0 ± 7.1 / 85.0 ± 1.4 |")


def test_dposer_reports_before_beside_its_settings():
  results = {s: _eval(0.2, 0.3, 300.0, before_key="calibration_before")
             for s in (0, 1)}
  row = results_diffpose._calibrated_seed_row(
      "DPoser", seed_summary.summarise(results, what="w", command="c",
                                       hardware="cpu"))
  assert "| 0.30 ± 0.00 -> 0.40 ± 0.00 | 0.20 ± 0.00 -> 0.30 ± 0.00 | - -> - |" in row
  assert row.endswith("| - / 300.0 ± 0.0 |")
