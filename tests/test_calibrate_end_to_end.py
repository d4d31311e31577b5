"""--mode=calibrate end to end at toy sizes: a model trained with held-out
clips, its calibration fitted on them into WORKDIR/calibration.json, and
the evaluation's coverage before and after; workdirs trained before the
holdout section still train on, evaluate, and are told what calibrate
needs."""
import dataclasses
import json

import ml_collections
import numpy as np
import pytest

from experiments import main
from experiments.configs import baseline_quickstart
from experiments.configs import dposer_quickstart
from experiments.configs import quickstart
from jaxpose import methods
from jaxpose import run_lib
from jaxpose import settings
from jaxpose.calibration import heldout
from jaxpose.calibration import store as calibration_store
from jaxpose.evaluation import novelty
from jaxpose.methods.dposer import body as body_lib
from jaxpose.training import holdout
from jaxpose.workdir import prepared as prepared_lib


def gfpose_config(fraction=0.1, num_steps=20):
  c = quickstart.get_config()
  c.model.update(hidden=64, embed_dim=32, num_groups=8)
  c.data.update(n_train=1000, n_test=30)
  c.train.update(num_steps=num_steps, batch_size=64, log_every=10,
                 ckpt_every=10, warmup_steps=5)
  c.eval.update(num_steps=8, num_hypotheses=20, num_poses=60, batch_poses=60,
                plot_poses=0, hypotheses_list=(1, 20))
  c.holdout.fraction = fraction
  return c


def dposer_config(*, num_steps=10, fraction=0.2):
  """DPoser's quickstart at toy size: 20 training clips of 60 frames."""
  c = dposer_quickstart.get_config()
  c.model.update(hidden=32, embed_dim=16, num_groups=8)
  c.data.update(n_train=1200, n_test=120)
  c.train.update(num_steps=num_steps, batch_size=64, log_every=num_steps,
                 ckpt_every=num_steps, warmup_steps=min(2, num_steps - 1))
  c.eval.update(plot_poses=0, batch_size=64)
  c.holdout.fraction = fraction
  return c


def _training_rows(config, workdir):
  method, run = methods.parse(config)
  trained = run_lib.load_trained(workdir)
  data = method.load_data(run, trained.needs)
  arrays = method.training(trained.model, data, trained.prepared).arrays
  return trained, data, len(next(iter(arrays.values())))


def _closer(after, before, level="0.9"):
  return abs(after[level] - float(level)) < abs(before[level] - float(level))


@pytest.mark.slow
def test_gfpose_calibrate_then_evaluate(tmp_path):
  workdir = str(tmp_path / "gfpose")
  config = gfpose_config()
  run_lib.train(config, workdir)
  trained, data, num_training = _training_rows(config, workdir)
  held = holdout.rows(trained.prepared, 1000)
  assert len(held) == 100 and num_training == 900
  fp = json.loads(open(f"{workdir}/checkpoints/fingerprint.json").read())
  assert fp["prepared"]["holdout"] == trained.prepared["holdout"].digest()

  entry = run_lib.run("calibrate", config, workdir)
  stored = calibration_store.read(workdir, "estimate")
  assert stored == json.loads(json.dumps(entry))
  cal = stored["calibration"]
  fitted = cal["fitted_on"]
  assert fitted["step"] == 20 and fitted["task"] == "estimate"
  assert fitted["method"] == "gfpose" and fitted["num_rows"] == 60
  assert fitted["input_2d"] == "exact"  # the training 2D
  assert set(fitted["rows"]) <= set(held.tolist())  # held-out rows only
  assert set(stored["report"]["candidates"]) == {"spread_scale", "conformal"}
  assert stored["report"]["kept"] == cal["kind"]
  held_json = json.loads((tmp_path / "gfpose" / "calibration" /
                          "estimate.json").read_text())
  assert _closer(held_json["after"]["coverage"], held_json["before"]["coverage"])
  # The task's own figures of the held-out rows: numbers only, the mean's
  # error as the calibration's own scoring of the same hypotheses has it.
  assert held_json["num_rows"] == 60
  task_figures = held_json["task_figures"]
  assert all(isinstance(v, float) for v in task_figures.values())
  assert task_figures["mpjpe_mm"] == pytest.approx(
      held_json["after"]["mean_mpjpe_mm"], rel=1e-4)

  res = run_lib.run("eval", config, workdir)
  after, before = res["calibration_after"], res["calibration"]
  assert after["kind"] == cal["kind"] and "calibration_note" not in res
  assert _closer(after["coverage"], before["coverage"])
  assert after["mean_mpjpe_mm"] == pytest.approx(res["mpjpe_mm"], rel=1e-4)
  written = json.loads((tmp_path / "gfpose" / "eval" / "estimate.json").read_text())
  assert written["calibration_after"]["coverage"] == after["coverage"]
  assert written["test_inputs"]["calibration_rows"] == (
      "this model's held-out training rows, exact 2D")
  # Turned off, the same hypotheses (same key) and no calibration.
  raw = run_lib.run("eval", config, workdir, overrides={
      "eval.apply_calibration": False, "eval.output_suffix": "raw"})
  assert "calibration_after" not in raw and raw["mpjpe_mm"] == res["mpjpe_mm"]
  assert raw["test_inputs"]["calibration_rows"] == ""
  # Held-out rows are rows of the training data: other data is refused.
  with pytest.raises(settings.ConfigError, match="rows of the training data"):
    run_lib.run("calibrate", config, workdir, overrides={"data.n_train": 999})
  # Another 2D of the same rows is asked of `eval.calibration_2d`, and one
  # the data does not carry (the quickstart's 2D is exact alone) is named.
  with pytest.raises(settings.ConfigError,
                     match="calibration_2d='noisy': this dataset's rows carry one 2D"):
    run_lib.run("calibrate", config, workdir,
                overrides={"eval.calibration_2d": "noisy"})
  # The command line finds the workdir's config in calibrate mode too.
  argv = main.with_workdir_config(["main", f"--workdir={workdir}",
                                   "--mode=calibrate"])
  assert argv[1].startswith("--config=") and argv[1].endswith(workdir)


@pytest.mark.slow
def test_a_model_trained_on_every_row_borrows_its_siblings_calibration(tmp_path):
  sibling, full_dir = str(tmp_path / "sibling"), str(tmp_path / "full")
  run_lib.train(gfpose_config(fraction=0.1), sibling)
  full = gfpose_config(fraction=0.0)
  run_lib.train(full, full_dir)
  borrow = {"eval.calibration_from": sibling}
  with pytest.raises(settings.ConfigError, match="no calibration of task 'estimate'"):
    run_lib.run("calibrate", full, full_dir, overrides=borrow)
  theirs = run_lib.run("calibrate", gfpose_config(fraction=0.1), sibling)
  with pytest.raises(settings.ConfigError, match="no held-out training rows"):
    run_lib.run("calibrate", full, full_dir)  # nothing of its own to fit on
  entry = run_lib.run("calibrate", full, full_dir, overrides=borrow)
  ours_cal, their_cal = entry["calibration"], theirs["calibration"]
  assert {k: v for k, v in ours_cal.items() if k != "fitted_on"} == {
      k: v for k, v in their_cal.items() if k != "fitted_on"}
  fitted, source = ours_cal["fitted_on"], their_cal["fitted_on"]
  assert fitted["borrowed_from"] == dict(workdir=sibling, step=source["step"],
                                         params_digest=source["params_digest"])
  full_params = run_lib.load_trained(full_dir).params
  assert fitted["params_digest"] == calibration_store.params_digest(full_params)
  assert fitted["params_digest"] != source["params_digest"]
  held = json.loads((tmp_path / "full" / "calibration" / "estimate.json").read_text())
  assert held["borrowed_from"]["workdir"] == sibling and "after" in held
  # Applied at evaluation, with where it came from; the mean is this model's.
  res = run_lib.run("eval", full, full_dir)
  after = res["calibration_after"]
  assert after["calibration"]["fitted_on"]["borrowed_from"]["workdir"] == sibling
  assert res["test_inputs"]["calibration_rows"].startswith(
      "a sibling workdir's held-out training rows (eval.calibration_from)")
  assert after["mean_mpjpe_mm"] == pytest.approx(res["mpjpe_mm"], rel=1e-4)
  # Not from itself, nor from another model.
  with pytest.raises(settings.ConfigError, match="this workdir itself"):
    run_lib.run("calibrate", full, full_dir,
                overrides={"eval.calibration_from": full_dir})
  other = gfpose_config(fraction=0.1, num_steps=10)
  other.model.hidden = 32
  run_lib.train(other, str(tmp_path / "other"))
  with pytest.raises(settings.ConfigError, match="another model .*: model"):
    run_lib.run("calibrate", full, full_dir,
                overrides={"eval.calibration_from": str(tmp_path / "other")})
  # The same network trained another way: its spread is another model's.
  other = gfpose_config(fraction=0.1, num_steps=10)
  other.train.learning_rate = 2 * full.train.learning_rate
  run_lib.train(other, str(tmp_path / "other_lr"))
  with pytest.raises(settings.ConfigError,
                     match=r"trained another way \(train.learning_rate: .*; "
                           r"train.num_steps: 20 here, 10 there\)"):
    run_lib.run("calibrate", full, full_dir,
                overrides={"eval.calibration_from": str(tmp_path / "other_lr")})
  # The same training stopped short: another checkpoint's spread.
  stopped = dataclasses.replace(run_lib.load_trained(sibling), step=10)
  with pytest.raises(settings.ConfigError,
                     match="its checkpoint is at step 10, this one's at 20"):
    heldout.borrow(run_lib.load_trained(full_dir), stopped)


@pytest.mark.slow
def test_a_workdir_trained_before_the_section_still_works(tmp_path):
  workdir = str(tmp_path / "old")
  old = gfpose_config(num_steps=10)
  with old.unlocked():
    del old["holdout"]
  run_lib.train(old, workdir)
  assert "holdout" not in json.loads(open(f"{workdir}/config.json").read())
  new = gfpose_config(fraction=0.0, num_steps=20)
  # Resumed with today's config (the section at its default): no refusal.
  assert int(run_lib.train(new, workdir).step) == 20
  res = run_lib.run("eval", new, workdir)
  assert "calibration_after" not in res
  with pytest.raises(settings.ConfigError,
                     match="no held-out training rows .*holdout.fraction=0.1"):
    run_lib.run("calibrate", new, workdir)
  with pytest.raises(settings.ConfigError,
                     match="eval.rows=heldout: .* no held-out training rows"):
    run_lib.run("eval", new, workdir, overrides={"eval.rows": "heldout"})
  # A lifter (one hypothesis) has nothing to calibrate.
  lifter = baseline_quickstart.get_config()
  lifter.data.update(n_train=400, n_test=20)
  lifter.train.update(num_steps=2, batch_size=32, log_every=2, ckpt_every=2,
                      warmup_steps=1)
  lifter.eval.update(num_poses=30, plot_poses=0)
  lifter.holdout = ml_collections.ConfigDict(dict(fraction=0.1, seed=0))
  run_lib.train(lifter, str(tmp_path / "lifter"))
  with pytest.raises(ValueError, match="expected H >= 2"):
    run_lib.run("calibrate", lifter, str(tmp_path / "lifter"))


@pytest.mark.slow
def test_dposer_completion_calibrates_on_held_out_clips(tmp_path):
  workdir = str(tmp_path / "dposer")
  c = dposer_config(fraction=0.2)  # 4 of the 20 clips of 60 frames
  c.eval.update(num_poses=40, priors=("dposer",))
  c.eval.complete.update(parts=("l_leg",), hypotheses=4, steps=5)
  run_lib.train(c, workdir)
  trained, data, num_training = _training_rows(c, workdir)
  held = holdout.rows(trained.prepared, 1200)
  clips = set(np.asarray(data.splits["train"]["clip"])[held])
  assert len(held) == 240 and len(clips) == 4 and num_training == 960
  # The body's statistics come from the other rows only.
  assert trained.prepared["body"].info["train_rows"] == 960
  entry = run_lib.run("calibrate", c, workdir,
                      overrides={"eval.save_predictions": True})
  assert entry["calibration"]["fitted_on"]["predictions_of"] == (
      "prior dposer, part l_leg, moved joints")
  # The held-out rows' predictions, kept to study: each row's novelty is
  # its visible joints' distance to the poses trained on (none of them).
  saved = np.load(tmp_path / "dposer" / "calibration" / "complete_predictions.npz")
  assert saved["hypotheses_mm"].shape == (4, 40, 3, 3)
  assert saved["novelty_mm"].shape == (40,)
  train = data.splits["train"]
  rows = heldout.calibration_rows(held, trained.prepared, train, 40)
  moved = body_lib.descendants(body_lib.PARTS["l_leg"])
  shown = [j for j in range(1, 22) if j not in moved]
  joints = np.asarray(trained.model.body.joints(
      np.asarray(train["body_pose"], np.float32)))[:, shown]
  # Against every row, each held-out row would find itself (distance 0).
  np.testing.assert_array_less(novelty.knn_distance(joints[rows], joints),
                               saved["novelty_mm"])
  res = run_lib.run("eval", c, workdir)
  assert res["predictions_of"] == entry["calibration"]["fitted_on"]["predictions_of"]
  assert _closer(res["calibration_after"]["coverage"],
                 res["calibration_before"]["coverage"])

  # Settings are chosen on the held-out clips (eval.rows=heldout): they
  # become the test split, the train split keeps only what the model
  # trained on, and the calibration fitted there is not applied there.
  splits = heldout.heldout_splits(trained, data)
  assert set(np.asarray(splits["test"]["clip"])) == clips
  assert len(splits["train"]["clip"]) == 960
  assert not clips & set(np.asarray(splits["train"]["clip"]))
  held_res = run_lib.run("eval", c, workdir, overrides={"eval.rows": "heldout"})
  assert held_res["rows"] == "heldout" and "calibration_after" not in held_res
  assert (tmp_path / "dposer" / "eval" / "complete_heldout.json").exists()
  assert held_res["settings"] != res["settings"]  # other rows
  motion = run_lib.run("eval", c, workdir, overrides={
      "eval.rows": "heldout", "eval.task": "denoise_motion",
      "eval.priors": ("none",), "eval.denoise_motion.noise_mm": (20.0,),
      "eval.denoise_motion.steps": 5, "eval.denoise_motion.max_windows": 2,
      "eval.denoise_motion.schedule_ablation": (), "eval.output_suffix": "w"})
  assert motion["num_windows"] == 2
  assert (tmp_path / "dposer" / "eval" / "denoise_motion_w_heldout.json").exists()


@pytest.mark.slow
def test_diffpose_holds_out_clips_neither_network_saw(tmp_path):
  from tests.methods import test_diffpose_end_to_end as dp_tests
  enc_dir, dp_dir = str(tmp_path / "encoder"), str(tmp_path / "diffpose")
  enc = dp_tests.encoder_config()
  enc.holdout = ml_collections.ConfigDict(dict(fraction=0.25, seed=0))
  run_lib.train(enc, enc_dir)
  c = dp_tests.diffpose_config(enc_dir)
  c.holdout.fraction = 0.5  # half of the encoder's 100 held-out rows
  c.eval.update(num_poses=40, num_hypotheses=5, hypotheses_list=(1, 5))
  run_lib.train(c, dp_dir)
  trained, _, num_training = _training_rows(c, dp_dir)
  encoder_held = set(prepared_lib.load(enc_dir)[0]["holdout"]["rows"].tolist())
  ours = holdout.rows(trained.prepared, dp_tests.N_TRAIN)
  assert len(ours) == 50 and set(ours.tolist()) <= encoder_held
  assert num_training == dp_tests.N_TRAIN - 50
  assert trained.prepared["initial"].info["num_rows"] == 50  # the other half
  run_lib.run("calibrate", c, dp_dir)
  # Its encoder scored on the same held-out rows, so the two can be compared
  # on rows neither network saw.
  held_json = json.loads((tmp_path / "diffpose" / "calibration" /
                          "estimate.json").read_text())
  task_figures = held_json["task_figures"]
  assert task_figures["mpjpe_mm"] == pytest.approx(
      held_json["after"]["mean_mpjpe_mm"], rel=1e-4)
  assert task_figures["encoder/mpjpe_mm"] - task_figures["mpjpe_mm"] == pytest.approx(
      task_figures["gain_over_encoder_mm"], abs=1e-3)
  res = run_lib.run("eval", c, dp_dir)
  assert res["calibration_after"]["kind"] in ("spread_scale", "conformal")
  assert res["calibration_after"]["mean_mpjpe_mm"] == pytest.approx(
      res["mpjpe_mm"], rel=1e-4)
