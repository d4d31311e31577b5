"""The main job end to end at toy sizes: train, resume, evaluate, refuse."""
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from experiments.configs import quickstart
from jaxpose import config as config_lib
from jaxpose import methods
from jaxpose import run_lib
from jaxpose.workdir import checkpoint as checkpoint_lib
from jaxpose.workdir import lock as lock_lib

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


@pytest.mark.slow
def test_train_resume_evaluate(tmp_path):
  workdir = str(tmp_path)
  config = tiny_config(num_steps=20)
  state = run_lib.train(config, workdir)
  assert int(state.step) == 20
  first_lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
  assert first_lines, "training wrote no metrics"

  config_before = (tmp_path / "config.json").read_text()

  # Settings that break exact resume are refused, naming them and the way
  # out, before anything is written.
  changed = tiny_config(num_steps=30)
  changed.seed = 7
  changed.train.batch_size = 32
  with pytest.raises(config_lib.ConfigError) as err:
    run_lib.train(changed, workdir)
  msg = str(err.value)
  assert "trained to step 20" in msg and "seed: 0 -> 7" in msg
  assert "train.batch_size: 64 -> 32" in msg
  assert "--config.train.allow_changed_resume=True" in msg
  assert (tmp_path / "config.json").read_text() == config_before
  assert not (tmp_path / lock_lib.LOCK_FILE).exists()  # released

  # Allowed explicitly, a changed setting is taken and recorded: one history
  # line per start, config.json the latest. Rows a stopped run logged past
  # the checkpoint (here a fake step 25) are not repeated.
  with open(tmp_path / "metrics.jsonl", "a") as f:
    f.write(json.dumps({"step": 25, "loss": -1.0}) + "\n")
  changed = tiny_config(num_steps=30)
  changed.train.update(learning_rate=5e-4, allow_changed_resume=True)
  state = run_lib.train(changed, workdir)
  assert int(state.step) == 30
  logged_steps = [json.loads(l)["step"] for l in
                  (tmp_path / "metrics.jsonl").read_text().splitlines()]
  assert logged_steps == [10, 20, 30]
  history = [json.loads(l) for l in
             (tmp_path / "config_history.jsonl").read_text().splitlines()]
  assert [h["start_step"] for h in history] == [0, 20]
  assert history[0]["changed"] == {}
  assert history[1]["changed"] == {"train.learning_rate": [1e-3, 5e-4]}
  assert history[0]["config"]["train"]["learning_rate"] == 1e-3
  assert json.loads((tmp_path / "config.json").read_text())["train"][
      "learning_rate"] == 5e-4
  # With nothing left to train nothing is checked or recorded.
  config.train.num_steps = 30
  assert int(run_lib.train(config, workdir).step) == 30
  assert len((tmp_path / "config_history.jsonl").read_text().splitlines()) == 2

  # Evaluation reads beside a training run that holds the workdir.
  with lock_lib.WorkdirLock(workdir):
    with pytest.raises(lock_lib.WorkdirBusyError, match="in use"):
      run_lib.train(config, workdir)
    results = run_lib.evaluate(config, workdir)
  summary = json.loads((tmp_path / "metrics.json").read_text())
  assert list(summary) == ["estimate"]
  on_disk = summary["estimate"]
  assert on_disk["results_file"] == "eval/estimate.json"
  assert on_disk["picture"] == "estimate.png"
  assert {k: results[k] for k in on_disk if k not in (
      "results_file", "picture")} == {k: v for k, v in on_disk.items() if k
                                      not in ("results_file", "picture")}
  full = json.loads((tmp_path / "eval" / "estimate.json").read_text())
  assert full["per_joint_mpjpe_mm"] == results["per_joint_mpjpe_mm"]
  # What the model received at test time: the quickstart's exact 2D alone.
  assert full["test_inputs"] == {"2d": "exact", "uncertainty": "none",
                                 "masks": "none", "camera": "none",
                                 "calibration_rows": "",
                                 "weights_chosen_on": ""}
  assert on_disk["train_step"] == 30
  for key in ("mpjpe_mm", "min_mpjpe_mm", "pa_mpjpe_mm", "num_hypotheses", "num_poses"):
    assert key in on_disk
  assert on_disk["num_hypotheses"] == 4 and on_disk["num_poses"] == 12
  assert np.isfinite(on_disk["mpjpe_mm"]) and on_disk["min_mpjpe_mm"] <= on_disk["mean_hypothesis_mpjpe_mm"]
  assert (tmp_path / "estimate.png").stat().st_size > 1000
  assert full["train_step"] == 30

  # A suffixed evaluation (e.g. noisy 2D) gets its own files and its own
  # entry of the summary, leaving the main one alone.
  config.eval.update(output_suffix="other", num_poses=8)
  other = run_lib.evaluate(config, workdir)
  assert other["num_poses"] == 8
  summary = json.loads((tmp_path / "metrics.json").read_text())
  assert summary["estimate"] == on_disk
  assert summary["estimate_other"]["num_poses"] == 8
  assert (tmp_path / "eval" / "estimate_other.json").exists()
  assert (tmp_path / "estimate_other.png").exists()


def _listing(directory):
  return sorted((str(p.relative_to(directory)), p.stat().st_mtime_ns)
                for p in directory.rglob("*"))


def test_workdir_with_other_model_is_refused(tmp_path):
  config = tiny_config(num_steps=10)
  run_lib.train(config, str(tmp_path))
  before = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
  other = tiny_config(num_steps=20)
  other.model.hidden = 32
  with pytest.raises(ValueError, match="model.hidden: stored 64, requested 32"):
    run_lib.train(other, str(tmp_path))
  after = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
  assert before == after

  # Without fingerprint.json nothing says which model the checkpoints are:
  # refused with the fix, and nothing (no new fingerprint) written.
  fp_path = tmp_path / "checkpoints" / "fingerprint.json"
  saved = fp_path.read_text()
  fp_path.unlink()
  before = _listing(tmp_path)
  with pytest.raises(checkpoint_lib.CheckpointError,
                     match="no fingerprint.json.*restore"):
    run_lib.train(other, str(tmp_path))
  assert _listing(tmp_path) == before
  fp_path.write_text(saved)
  state = run_lib.train(config, str(tmp_path))  # the right one still resumes
  assert int(state.step) == 10


def test_training_settings_are_checked_before_anything_runs(tmp_path):
  for bad in (0, -5):
    config = tiny_config(num_steps=bad)
    for call in (lambda: run_lib.train(config, str(tmp_path / "w")),
                 lambda: run_lib.run("train_and_eval", config,
                                     str(tmp_path / "w"))):
      with pytest.raises(config_lib.ConfigError,
                         match=f"train.num_steps: expected values >= 1, got {bad}"):
        call()
  config = tiny_config()
  config.train.max_param_norm_growth = 0.5
  with pytest.raises(config_lib.ConfigError, match="max_param_norm_growth"):
    run_lib.train(config, str(tmp_path / "w"))
  assert not (tmp_path / "w").exists()


def test_resume_changes_list():
  a = tiny_config()
  b = tiny_config(num_steps=99)
  b.train.update(log_every=3, ckpt_every=3, keep_ckpts=1,
                 allow_changed_resume=True, max_param_norm_growth=0.0)
  b.eval.num_poses = 1
  assert config_lib.resume_changes(a, b) == {}
  b.seed, b.data.n_train, b.mask.p_pose = 1, 5, 0.5
  b.train.update(batch_size=8, learning_rate=1.0)
  assert set(config_lib.resume_changes(a, b)) == {
      "seed", "data.n_train", "mask.p_pose", "train.batch_size",
      "train.learning_rate"}
  # Tuples read back from JSON as lists are no change.
  stored = json.loads(json.dumps(config_lib.to_plain(a)))
  assert config_lib.resume_changes(stored, a) == {}


@pytest.mark.slow
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
  assert metrics["estimate"]["num_poses"] == 8
  # The table's last lines name every file the run wrote.
  lines = proc.stdout.strip().splitlines()
  wrote = next(l for l in lines if l.startswith("wrote: "))
  for name in ("eval/estimate.json", "metrics.json", "estimate.png"):
    assert str(tmp_path / name) in wrote
  # No platform-probe chatter on a CPU machine.
  assert "Unable to initialize backend" not in proc.stderr
  # Evaluating from the workdir alone: no --config, the trained model's own
  # settings (hidden 64, given only at training), one change typed.
  proc = _cli(f"--workdir={tmp_path}", "--mode=eval",
              "--config.eval.num_poses=4", "--config.eval.output_suffix=four")
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert json.loads((tmp_path / "metrics.json").read_text())[
      "estimate_four"]["num_poses"] == 4
  proc = _cli(f"--workdir={tmp_path}", "--mode=eval",
              "--config.model.hidden=128")
  assert proc.returncode != 0
  assert _last_line(proc.stderr).startswith(
      "error: --config.model.hidden=128 contradicts the model trained in")


def _cli(*args, timeout=300):
  return subprocess.run([sys.executable, "-m", "experiments.main", *args],
                        cwd=ROOT, capture_output=True, text=True,
                        timeout=timeout)


def _last_line(stderr):
  return stderr.strip().splitlines()[-1]


def test_cli_errors_are_one_line(tmp_path):
  proc = _cli("--config=experiments/configs/no_such_config.py",
              f"--workdir={tmp_path}")
  assert proc.returncode != 0
  assert proc.stderr.strip().splitlines() == [
      _last_line(proc.stderr)], proc.stderr
  assert "--config file not found: experiments/configs/no_such_config.py" in (
      proc.stderr)
  # The traceback on request.
  proc = _cli("--config=experiments/configs/no_such_config.py",
              f"--workdir={tmp_path}", "--debug")
  assert "Traceback" in proc.stderr

  # A corrupt latest checkpoint: one line naming its step directory and
  # the fix, no tracebacks (and none of orbax's late event-loop reports).
  # Any small state will do: the read fails before its structure matters.
  config = tiny_config()
  fp = config_lib.fingerprint(config,
                              methods.get(config.method).fingerprint_sections)
  with checkpoint_lib.Checkpointer(tmp_path / "checkpoints", fingerprint=fp,
                                   save_every=2) as ckpt:
    for step in (2, 4):
      ckpt.save(step, {"w": np.zeros(3, np.float32)})
  (tmp_path / "checkpoints" / "4" / "state" / "manifest.ocdbt").unlink()
  proc = _cli("--config=experiments/configs/quickstart.py",
              f"--workdir={tmp_path}", "--mode=eval",
              "--config.model.hidden=64", "--config.model.embed_dim=32",
              "--config.model.num_groups=8", "--config.data.n_train=200",
              "--config.data.n_test=40")
  assert proc.returncode == 1
  line = _last_line(proc.stderr)
  step_dir = tmp_path / "checkpoints" / "4"
  assert line.startswith(f"error: checkpoint {step_dir} cannot be read"), line
  assert f"delete {step_dir} (training then resumes from step 2" in line
  assert "Traceback" not in proc.stderr and "Event loop" not in proc.stderr
