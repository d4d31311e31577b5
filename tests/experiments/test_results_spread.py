"""The README's table of the hypotheses' spread before calibration: a
single run's row, then the mean over seeds in its place."""
import json

import pytest

from experiments import results_spread
from experiments import seed_summary

_RUN = "experiments/results/dp_mocap_cpu_estimate_noisy2d_n20.json"
_DPOSER = "experiments/results/dposer_mocap_cpu_complete.json"


def _calibration(cov90, r, energy, n=20):
  return dict(coverage={"0.5": 0.4, "0.9": cov90}, spread_error_pearson=r,
              energy_score_mm=energy, num_hypotheses=n)


def _result(cov90, r, energy):
  return dict(task="estimate", data="mocap", input_2d="noisy", num_poses=500,
              num_hypotheses=20, sampler="ddim", num_steps=5, mpjpe_mm=120.0,
              train_step=6000, calibration=_calibration(cov90, r, energy))


def _write(root, rel, obj):
  path = root / rel
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(json.dumps(obj))


@pytest.fixture
def rows(monkeypatch):
  monkeypatch.setattr(results_spread, "CALIBRATION", (
      ("DiffPose noisy, N=20", _RUN, None),
      ("DPoser completion", _DPOSER, ("dposer", "l_leg"))))


def test_single_runs_then_seeds_in_their_place(tmp_path, rows):
  _write(tmp_path, _RUN, _result(0.81, 0.44, 436.0))
  _write(tmp_path, _DPOSER, dict(settings=[
      dict(prior="none", part="l_leg", calibration=_calibration(0.9, 0.1, 1.0, 10)),
      dict(prior="dposer", part="l_leg", calibration=_calibration(0.16, 0.56, 711.1, 10))]))
  out = results_spread.lines(tmp_path)
  assert "| DiffPose noisy, N=20 | 20 | 0.40 | 0.81 | 0.44 | 436.0 | 1 run | 2 CPU cores |" in out
  # DPoser's row is the named prior's row of its settings, not the first.
  assert "| DPoser completion | 10 | 0.40 | 0.16 | 0.56 | 711.1 | 1 run | 2 CPU cores |" in out
  assert not any(line.startswith("What changed") for line in out)

  summary = seed_summary.summarise(
      {0: _result(0.80, 0.48, 430.0), 1: _result(0.82, 0.50, 433.0),
       2: _result(0.84, 0.52, 436.0)},
      what="w", command="c $S", hardware="2 CPU cores (test)")
  _write(tmp_path, "experiments/results/dp_mocap_cpu_seeds_estimate_noisy2d_n20.json",
         summary)
  out = results_spread.lines(tmp_path)
  assert ("| DiffPose noisy, N=20 | 20 | 0.40 ± 0.00 | 0.82 ± 0.02 | 0.50 ± 0.02 | "
          "433.0 ± 3.0 | 0,1,2 | 2 CPU cores (test) |") in out
  paragraph = out[-1]
  assert paragraph.startswith("Over seeds: 1 of 2 rows")
  assert "three training seeds); still one run: DPoser completion. " in paragraph
  # 0.82 against the run's 0.81; 433.0 against 436.0.
  assert "90% coverage by at most 0.01 (DiffPose noisy, N=20)" in paragraph
  assert "energy score by at most 3.0 mm" in paragraph
  assert "cover 0.82 to 0.82" in paragraph


def test_a_seeds_file_without_its_single_run(tmp_path, rows):
  summary = seed_summary.summarise({0: _result(0.80, 0.48, 430.0)},
                                   what="w", command="c", hardware="cpu")
  _write(tmp_path, "experiments/results/dp_mocap_cpu_seeds_estimate_noisy2d_n20.json",
         summary)
  out = results_spread.lines(tmp_path)
  assert out[-3] == ("| DiffPose noisy, N=20 | 20 | 0.40 ± 0.00 | 0.80 ± 0.00 | "
                     "0.48 ± 0.00 | 430.0 ± 0.0 | 0 | cpu |")
  # Nothing to compare against: no sentence on how far the seeds moved.
  assert "at most" not in out[-1]
  # Every row over seeds (the DPoser file is absent): no "others".
  assert out[-1].startswith("Over seeds: 1 of 1 rows")
  assert "still one run" not in out[-1]


def test_no_files_no_rows(tmp_path, rows):
  out = results_spread.lines(tmp_path)
  assert out[-1] == "|---|---|---|---|---|---|---|---|"


def _completion(cov90, r, energy):
  return dict(task="complete", data="mocap", input_2d="exact", num_poses=200,
              num_hypotheses=10, train_step=20000, settings=[
                  dict(prior="none", part="l_leg", missing_mpjpe_mm=350.0),
                  dict(prior="dposer", part="l_leg", missing_mpjpe_mm=300.0,
                       calibration=_calibration(cov90, r, energy, 10))])


def test_a_settings_row_over_seeds_from_its_mapped_summary(tmp_path, rows,
                                                           monkeypatch):
  seeds_rel = "experiments/results/dposer_other_name_seeds.json"
  monkeypatch.setattr(results_spread, "SPREAD_OVER_SEEDS", {_DPOSER: seeds_rel})
  _write(tmp_path, _DPOSER, _completion(0.16, 0.56, 711.1))
  _write(tmp_path, seeds_rel, seed_summary.summarise(
      {0: _completion(0.14, 0.54, 600.0), 1: _completion(0.16, 0.56, 610.0),
       2: _completion(0.18, 0.58, 620.0)},
      what="w", command="c $S", hardware="2 CPU cores (test)"))
  out = results_spread.lines(tmp_path)
  assert ("| DPoser completion | 10 | 0.40 ± 0.00 | 0.16 ± 0.02 | 0.56 ± 0.02 | "
          "610.0 ± 10.0 | 0,1,2 | 2 CPU cores (test) |") in out
  # 610.0 against the single run's 711.1.
  assert "energy score by at most 101.1 mm (DPoser completion)" in out[-1]


def test_a_seeds_summary_without_the_rows_prior_is_refused(tmp_path, rows,
                                                           monkeypatch):
  seeds_rel = "experiments/results/dposer_other_name_seeds.json"
  monkeypatch.setattr(results_spread, "SPREAD_OVER_SEEDS", {_DPOSER: seeds_rel})
  other = _completion(0.16, 0.56, 600.0)
  other["settings"] = other["settings"][:1]
  _write(tmp_path, seeds_rel, seed_summary.summarise(
      {0: other}, what="DPoser w", command="c", hardware="cpu"))
  with pytest.raises(KeyError, match="no settings row {'prior': 'dposer', "
                     "'part': 'l_leg'} in 'DPoser w'"):
    results_spread.lines(tmp_path)
