"""The main job end to end at toy sizes: train, resume, evaluate, refuse."""
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from experiments.configs import quickstart
from jaxpose import run_lib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def tiny_config(num_steps=30):
  c = quickstart.get_config()
  c.model.update(hidden=64, embed_dim=32, num_groups=8)
  c.data.update(n_train=2000, n_test=40)
  c.train.update(num_steps=num_steps, batch_size=64, log_every=10,
                 ckpt_every=10, warmup_steps=5)
  c.eval.update(num_steps=20, num_hypotheses=4, num_poses=12, batch_poses=8,
                plot_hypotheses=3)
  return c


def test_train_resume_evaluate(tmp_path):
  workdir = str(tmp_path)
  config = tiny_config(num_steps=20)
  method = run_lib.build(config)
  state = run_lib.train(config, workdir, method=method)
  assert int(state.step) == 20
  first_lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
  assert first_lines, "training wrote no metrics"

  # Asking for more steps resumes from the checkpoint at step 20.
  config.train.num_steps = 30
  state = run_lib.train(config, workdir, method=method)
  assert int(state.step) == 30
  logged_steps = [json.loads(l)["step"] for l in
                  (tmp_path / "metrics.jsonl").read_text().splitlines()]
  assert max(logged_steps) == 30 and min(s for s in logged_steps if s > 20) > 20

  results = run_lib.evaluate(config, workdir, method=method)
  on_disk = json.loads((tmp_path / "metrics.json").read_text())
  assert {k: results[k] for k in on_disk} == on_disk
  full = json.loads((tmp_path / "eval" / "estimate.json").read_text())
  assert full["per_joint_mpjpe_mm"] == results["per_joint_mpjpe_mm"]
  assert on_disk["train_step"] == 30
  for key in ("mpjpe_mm", "min_mpjpe_mm", "pa_mpjpe_mm", "num_hypotheses", "num_poses"):
    assert key in on_disk
  assert on_disk["num_hypotheses"] == 4 and on_disk["num_poses"] == 12
  assert np.isfinite(on_disk["mpjpe_mm"]) and on_disk["min_mpjpe_mm"] <= on_disk["mean_hypothesis_mpjpe_mm"]
  assert (tmp_path / "hypotheses.png").stat().st_size > 1000
  assert full["train_step"] == 30

  # A suffixed evaluation (e.g. noisy 2D) gets its own files and leaves the
  # main summary alone.
  # Evaluation settings are checked when a method is built: build anew.
  config.eval.update(output_suffix="other", num_poses=8)
  other = run_lib.evaluate(config, workdir)
  assert other["num_poses"] == 8
  assert json.loads((tmp_path / "metrics.json").read_text()) == on_disk
  assert json.loads((tmp_path / "metrics_other.json").read_text())["num_poses"] == 8
  assert (tmp_path / "eval" / "estimate_other.json").exists()


def test_workdir_with_other_model_is_refused(tmp_path):
  config = tiny_config(num_steps=10)
  run_lib.train(config, str(tmp_path))
  before = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
  other = tiny_config(num_steps=20)
  other.model.hidden = 32
  with pytest.raises(ValueError, match="model"):
    run_lib.train(other, str(tmp_path))
  after = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
  assert before == after


def test_main_cli_runs_and_writes_metrics(tmp_path):
  args = [sys.executable, "-m", "experiments.main",
          "--config=experiments/configs/quickstart.py", f"--workdir={tmp_path}",
          "--config.model.hidden=64", "--config.model.embed_dim=32",
          "--config.model.num_groups=8", "--config.data.n_train=1000",
          "--config.data.n_test=20", "--config.train.num_steps=10",
          "--config.train.batch_size=32", "--config.train.log_every=5",
          "--config.eval.num_steps=10", "--config.eval.num_hypotheses=3",
          "--config.eval.num_poses=8", "--config.eval.batch_poses=8"]
  proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "best-of-3 MPJPE" in proc.stdout
  metrics = json.loads((tmp_path / "metrics.json").read_text())
  assert metrics["num_poses"] == 8
