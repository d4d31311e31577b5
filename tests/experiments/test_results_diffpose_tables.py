"""The README's DiffPose tables: a single run's row, replaced by the mean
over seeds once `seed_summary` has written the seeds' file, and whether
seed 0 reproduced the run it replaces."""
import json

from experiments import results_diffpose as rd
from experiments import results_files
from experiments import seed_summary

_SINGLE = "experiments/results/diffpose_mocap_small_heldout_cpu_estimate.json"


def _write(root, rel, data):
  path = root / rel
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(json.dumps(data))


def _run(mpjpe, best, seed_shift=0.0, coverage=0.5, encoder=77.0):
  return dict(task="estimate", data="mocap", input_2d="exact", num_poses=500,
              num_hypotheses=5, sampler="ddim", num_steps=5, train_step=6000,
              mpjpe_mm=mpjpe + seed_shift, pa_mpjpe_mm=80.0, min_mpjpe_mm=best,
              gain_over_encoder_mm=encoder - mpjpe - seed_shift,
              encoder=dict(mpjpe_mm=encoder, pa_mpjpe_mm=60.0),
              calibration=dict(coverage={"0.9": coverage}))


def _seeds(root, rel, runs):
  summary = seed_summary.summarise(dict(enumerate(runs)), what="w",
                                   command="train --config.seed=$S",
                                   hardware="2 CPU cores (test)")
  _write(root, results_files.seeds_file(rel), summary)


def test_a_single_run_row_then_the_seeds_in_its_place(tmp_path):
  _write(tmp_path, _SINGLE, _run(110.0, 88.0))
  text = "\n".join(rd._diffpose_lines(tmp_path))
  assert ("| mocap small (H_K on held-out clips), exact test 2D, N=5 | 500 | "
          "77.0 / 60.0 | 110.0 / 80.0 | -33.0 | 88.0 | 6000 | 0 | 2 CPU cores |") in text
  assert "What changed" not in text  # nothing over seeds yet
  _seeds(tmp_path, _SINGLE, [_run(110.0, 88.0), _run(110.0, 88.0, 2.0),
                             _run(110.0, 88.0, 4.0)])
  text = "\n".join(rd._diffpose_lines(tmp_path))
  assert ("| mocap small (H_K on held-out clips), exact test 2D, N=5 | 500 | "
          "77.0 ± 0.0 / 60.0 ± 0.0 | 112.0 ± 2.0 / 80.0 ± 0.0 | -35.0 ± 2.0 | "
          "88.0 ± 0.0 | 6000 | 0,1,2 | 2 CPU cores (test) |") in text
  assert "| 6000 | 0 | 2 CPU cores |" not in text
  assert "Seed 0 reproduces the single run it replaces in every such row" in text
  assert "Their encoder scores what the single run's encoder scored" in text
  assert "1 mocap row is now that" in text and "still one run" not in text
  _write(tmp_path, rd.DIFFPOSE[-1][1], _run(80.0, 70.0))
  assert "1 mocap row is still one run (seed 0)" in "\n".join(rd._diffpose_lines(tmp_path))
  assert "`diffpose_mocap_small_heldout_cpu_seeds_estimate.json`: `train --config.seed=$S`" in text


def test_a_seed_0_that_scores_otherwise_is_named(tmp_path):
  _write(tmp_path, _SINGLE, _run(110.0, 88.0))
  _seeds(tmp_path, _SINGLE, [_run(111.0, 88.0, encoder=76.3), _run(112.0, 88.0, encoder=76.3)])
  text = "\n".join(rd._diffpose_lines(tmp_path))
  assert "1 of 1 stand on another training of the encoder" in text
  assert ("Seed 0 scores within 1.0 mm of the single run it replaces (mean and "
          "best-of-N), not bit for bit in 1 of 1 rows") in text


def test_training_settings_rows_over_seeds(tmp_path):
  label, exact, noisy = rd.ABLATION[1]
  _write(tmp_path, exact, _run(100.0, 90.0))
  _write(tmp_path, noisy, _run(112.0, 103.0, coverage=0.41))
  assert ("| M=1 (a single Gaussian) | 77.0 | 100.0 / 90.0 | 77.0 | 112.0 / 103.0 "
          "| 0.41 | 0 | 2 CPU cores |") in "\n".join(rd._ablation_lines(tmp_path))
  _seeds(tmp_path, exact, [_run(100.0, 90.0), _run(100.0, 92.0, 1.0)])
  _seeds(tmp_path, noisy, [_run(112.0, 103.0, coverage=0.41),
                           _run(112.0, 103.0, coverage=0.43)])
  text = "\n".join(rd._ablation_lines(tmp_path))
  assert (f"| {label} | 77.0 ± 0.0 | 100.5 ± 0.7 / 91.0 ± 1.4 | 77.0 ± 0.0 | "
          "112.0 ± 0.0 / 103.0 ± 0.0 | 0.42 ± 0.01 | 0,1 | 2 CPU cores (test) |") in text
  assert "Seed 0 reproduces the single run" in text
  assert "Their encoder scores what the single run's encoder scored" in text


def test_training_settings_list_the_commands_the_first_table_does_not(tmp_path):
  label, exact, noisy = rd.ABLATION[2]  # K=20: no row of the first table
  for rel in (exact, noisy):
    _write(tmp_path, rel, _run(100.0, 90.0))
    _seeds(tmp_path, rel, [_run(100.0, 90.0), _run(100.0, 90.0, 1.0)])
  text = "\n".join(rd._ablation_lines(tmp_path))
  assert "listed under the table above, except these:" in text
  assert "`: `train --config.seed=$S`" in text
  # M=1's noisy row is in the first table: its command is listed there.
  label, exact, noisy = rd.ABLATION[1]
  assert noisy in [rel for _, rel in rd.DIFFPOSE]
  tmp = tmp_path / "m1"
  for rel in (exact, noisy):
    _write(tmp, rel, _run(100.0, 90.0))
    _seeds(tmp, rel, [_run(100.0, 90.0), _run(100.0, 90.0, 1.0)])
  text = "\n".join(rd._ablation_lines(tmp))
  assert "listed under the table above." in text and "except" not in text
