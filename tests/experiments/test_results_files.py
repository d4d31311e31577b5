"""The README's tables read results through one loader: a row not run yet
is None, a damaged file is named."""
import pytest

from experiments import results_calibration
from experiments import results_files


def test_absent_is_none_and_a_damaged_file_is_named(tmp_path):
  (tmp_path / "ok.json").write_text('{"mpjpe_mm": 1.5}')
  assert results_files.load(tmp_path, "ok.json") == {"mpjpe_mm": 1.5}
  assert results_files.load(tmp_path, "absent.json") is None
  assert results_files.load(tmp_path, "") is None
  (tmp_path / "cut.json").write_text('{"mpjpe_mm": 1.')
  with pytest.raises(ValueError, match="cut.json cannot be read"):
    results_files.load(tmp_path, "cut.json")


def test_a_table_names_the_damaged_file_it_reads(tmp_path):
  rel = results_calibration.DP_EXACT_SUBJECT
  (tmp_path / rel).parent.mkdir(parents=True)
  (tmp_path / rel).write_text("not json")
  with pytest.raises(ValueError, match=rel.split("/")[-1]):
    results_calibration.lines(tmp_path)


def test_mean_sd_gives_the_sample_spread_of_several_and_one_alone():
  assert results_files.mean_sd([79.0, 80.0, 81.0]) == "80.0 ± 1.0"
  assert results_files.mean_sd([0.31, 0.33], digits=2) == "0.32 ± 0.01"
  assert results_files.mean_sd([77.7]) == "77.7"


def test_single_run_becomes_a_one_seed_summary():
  s = results_files.as_summary(dict(mpjpe_mm=80.0, pa_mpjpe_mm=60.0, task="estimate",
                         num_poses=500, method="gfpose"))
  assert s["across_seeds"]["mpjpe_mm"] == dict(mean=80.0, std=None, n=1)
  assert s["same_rows"]["num_poses"] == 500
  summary = dict(across_seeds={"mpjpe_mm": dict(mean=1.0, std=0.5, n=3)})
  assert results_files.as_summary(summary) is summary


def test_cell_is_mean_and_spread_or_one_number_or_a_dash():
  summary = dict(across_seeds={"mpjpe_mm": dict(mean=80.04, std=1.26, n=3),
                               "one": dict(mean=0.456, std=None, n=1)})
  assert results_files.cell(summary, "mpjpe_mm") == "80.0 ± 1.3"
  assert results_files.cell(summary, "one", 2) == "0.46"
  assert results_files.cell(summary, "absent") == "-"


def test_seeds_file_names_the_seeds_before_the_task():
  assert results_files.seeds_file(
      "experiments/results/diffpose_mocap_small_heldout_cpu_estimate.json") == (
      "experiments/results/diffpose_mocap_small_heldout_cpu_seeds_estimate.json")
  assert results_files.seeds_file("experiments/results/a_cpu_estimate_noisy2d_n20.json") == (
      "experiments/results/a_cpu_seeds_estimate_noisy2d_n20.json")
  assert results_files.seeds_file("experiments/results/diffpose_quickstart_cpu.json") == ""


def test_hardware_from_the_summary_or_the_file_name():
  one_run = results_files.as_summary({"mpjpe_mm": 1.0})
  assert results_files.hardware("r/x_h100_estimate.json", one_run) == "1 H100"
  assert results_files.hardware("r/x_cpu_estimate.json", one_run) == "2 CPU cores"
  assert results_files.hardware("r/x_estimate.json", one_run) == "-"
  seeds = dict(one_run, hardware="2 CPU cores (AMD EPYC)")
  assert results_files.hardware("r/x_cpu_estimate.json", seeds) == "2 CPU cores (AMD EPYC)"
