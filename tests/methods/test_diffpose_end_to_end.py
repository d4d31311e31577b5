"""DiffPose through run_lib at toy sizes: encoder, H_K, train, evaluate,
and the clear errors (bad encoder, bad 2D, a fit that does not converge)."""
import json
import os

import jax
import ml_collections
import numpy as np
import pytest

from experiments.configs import baseline_quickstart
from experiments.configs import diffpose_quickstart
from jaxpose import run_lib
from jaxpose.core import gmm as gmm_lib
from jaxpose.methods.diffpose import encoder as encoder_lib
from jaxpose.methods.diffpose import initial as initial_lib
from jaxpose.training import checkpoint as checkpoint_lib

N_TRAIN, N_TEST = 400, 20


def encoder_config(model=None):
  c = baseline_quickstart.get_config()
  c.model = ml_collections.ConfigDict(model or dict(
      name="graph_lifter", hidden=16, num_layers=1, num_heads=2, dropout=0.0,
      conv_dropout=0.0))
  c.data.update(n_train=N_TRAIN, n_test=N_TEST)
  c.train.update(num_steps=4, batch_size=32, log_every=4, ckpt_every=4,
                 warmup_steps=2)
  c.eval.update(num_poses=8, lift_batch_size=8)
  return c


def diffpose_config(encoder_workdir, **diffpose):
  c = diffpose_quickstart.get_config()
  c.model.update(hidden=16, embed_dim=32, num_layers=1, num_heads=2)
  c.data.update(n_train=N_TRAIN, n_test=N_TEST)
  # Training under 2 px of simulated 2D noise (exact 2D in the data).
  c.diffpose.update(dict(dict(
      encoder_workdir=str(encoder_workdir), num_kernels=2, fit_rows=200,
      encoder_batch_size=256, noise_2d_px=2.0, noisy_train_2d=True),
      **diffpose))
  c.train.update(num_steps=4, batch_size=32, log_every=4, ckpt_every=4,
                 warmup_steps=2)
  c.eval.update(num_poses=8, batch_poses=8, num_hypotheses=3,
                hypotheses_list=(1, 3), plot_poses=0)
  return c


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  root = tmp_path_factory.mktemp("diffpose")
  enc_dir, dp_dir = root / "encoder", root / "diffpose"
  enc_config = encoder_config()
  # A quarter of the training rows (100 single poses) never train the
  # encoder: H_K is fitted on them.
  enc_config.holdout = ml_collections.ConfigDict(dict(fraction=0.25, seed=0))
  run_lib.train(enc_config, str(enc_dir))
  config = diffpose_config(enc_dir)
  results = run_lib.run("train_and_eval", config, str(dp_dir))
  return dict(enc_dir=enc_dir, dp_dir=dp_dir, config=config, results=results)


def test_train_and_eval_writes_mean_best_of_n_encoder_and_calibration(trained):
  dp_dir, results = trained["dp_dir"], trained["results"]
  written = json.loads((dp_dir / "eval" / "estimate.json").read_text())
  assert written["method"] == "diffpose" and written["num_hypotheses"] == 3
  for key in ("mpjpe_mm", "pa_mpjpe_mm", "min_mpjpe_mm"):
    assert np.isfinite(written[key])
  assert set(written["best_of_h"]) == {"1", "3"}
  assert written["best_of_h"]["3"]["mpjpe_mm"] <= written["best_of_h"]["1"]["mpjpe_mm"]
  # Issue item 6: the calibration block, defined for N > 1.
  cal = written["calibration"]
  assert cal["num_hypotheses"] == 3 and cal["coverage"] is not None
  assert len(written["calibration"]["per_joint_energy_score_mm"]) == 17
  # The paper's question on the same rows: the encoder alone, H_K alone.
  enc = written["encoder"]
  assert np.isfinite(enc["mpjpe_mm"]) and len(enc["per_joint_mpjpe_mm"]) == 17
  assert written["gain_over_encoder_mm"] == pytest.approx(
      enc["mpjpe_mm"] - written["mpjpe_mm"])
  assert np.isfinite(written["initial_samples"]["min_mpjpe_mm"])
  init = initial_lib.Initial.load(str(dp_dir / initial_lib.FILE_NAME))
  assert written["diffpose"]["initial"]["sha1"] == init.sha1()
  # Fitted on the encoder's 100 held-out rows (fewer than fit_rows=200).
  assert init.num_kernels == 2 and init.info["num_rows"] == 100
  assert init.info["fit_rows_seen_by_encoder"] is False
  # 2 px on a 1000 px wide image: 0.004 screen units, x7 in model units;
  # root-relative 2D doubles the variance of 16 joints, zeroes the root's.
  sigma = 2 * 2 / 1000 * 7
  assert init.info["rms_2d"] == pytest.approx(sigma * np.sqrt(2 * 16 / 17),
                                              rel=0.05)
  assert results["mpjpe_mm"] == written["mpjpe_mm"]


def test_evaluation_reads_the_stored_h_k_and_refuses_a_changed_one(trained):
  dp_dir, config = trained["dp_dir"], trained["config"]
  # Read-only rebuild from the workdir alone, with its stored mixture.
  method, params, _ = run_lib.load_trained(str(dp_dir))
  stored = initial_lib.Initial.load(str(dp_dir / initial_lib.FILE_NAME))
  assert method.initial.sha1() == stored.sha1()
  # Another fit beside the checkpoints is refused, not silently mixed.
  moved = initial_lib.Initial(weights=stored.weights, means=stored.means + 0.1,
                              scales=stored.scales, centred=True,
                              info=stored.info)
  moved.save(str(dp_dir / initial_lib.FILE_NAME))
  try:
    with pytest.raises(checkpoint_lib.CheckpointMismatchError,
                       match="diffpose.initial_sha1"):
      run_lib.evaluate(config, str(dp_dir))
  finally:
    stored.save(str(dp_dir / initial_lib.FILE_NAME))
  # Training on with other H_K settings is refused, naming them.
  other = run_lib.build(diffpose_config(trained["enc_dir"], num_kernels=3))
  with pytest.raises(ValueError, match="num_kernels: 2 in the file, 3 here"):
    other.use_workdir(str(dp_dir), training=True)
  # Wrong joint count in the 2D: named.
  rows = {k: np.asarray(v)[:4] for k, v in method.splits["test"].items()}
  rows["pose2d"] = rows["pose2d"][:, :16]
  with pytest.raises(ValueError, match="pose2d"):
    method.sample_states(params, jax.random.key(0), rows, num_hypotheses=2)


def test_a_mixture_fit_that_does_not_converge_writes_nothing(trained, tmp_path):
  config = diffpose_config(trained["enc_dir"], gmm_max_iters=1, gmm_tol=1e-9)
  with pytest.raises(gmm_lib.GMMFitError, match="did not converge"):
    run_lib.train(config, str(tmp_path))
  assert not (tmp_path / initial_lib.FILE_NAME).exists()
  assert not (tmp_path / "checkpoints").exists() or not os.listdir(
      tmp_path / "checkpoints")


def test_encoder_on_other_data_or_units_is_refused(trained, tmp_path):
  config = diffpose_config(trained["enc_dir"])
  config.data.n_train = N_TRAIN + 10
  with pytest.raises(encoder_lib.EncoderError, match="data.n_train: 410 here, 400"):
    run_lib.train(config, str(tmp_path / "a"))
  config = diffpose_config(trained["enc_dir"])
  config.data.n_test = N_TEST + 5  # test-side keys may differ
  config.representation.scale_2d = 3.0
  with pytest.raises(encoder_lib.EncoderError, match="representation.scale_2d"):
    run_lib.train(config, str(tmp_path / "b"))
  with pytest.raises(encoder_lib.EncoderError, match="encoder_workdir: empty"):
    run_lib.train(diffpose_config(""), str(tmp_path / "c"))


def test_an_encoder_without_features_is_refused(tmp_path, monkeypatch):
  from jaxpose.methods.baseline import Baseline
  enc = encoder_config(dict(name="lifter_mlp", hidden=16, num_blocks=1,
                            dropout=0.0, norm="layer"))
  # What load_trained would rebuild from an MLP baseline's workdir.
  monkeypatch.setattr(run_lib, "load_trained",
                      lambda workdir: (Baseline(enc), None, enc))
  with pytest.raises(encoder_lib.EncoderError, match="no per-joint features"):
    encoder_lib.load(str(tmp_path), diffpose_config(tmp_path))
  with pytest.raises(encoder_lib.EncoderError, match="no such directory"):
    encoder_lib.load(str(tmp_path / "absent"), diffpose_config(tmp_path))


def test_a_window_longer_than_a_clip_is_named(trained):
  # A temporal encoder over clips of 3 frames asked for windows of 5.
  from jaxpose.methods.baseline import Baseline
  enc_cfg = encoder_config(dict(name="temporal_lifter", num_frames=5, hidden=8,
                                num_spatial_layers=1, num_head_layers=0,
                                num_heads=2, dropout=0.0, conv_dropout=0.0))
  temporal = Baseline(enc_cfg)
  params = temporal.init_params(jax.random.key(0))
  method = run_lib.build(diffpose_config(trained["enc_dir"]))
  method.__dict__["encoder"] = encoder_lib.FrozenEncoder(
      workdir="(in memory)", method=temporal, params=params, config=enc_cfg,
      feature_dim=8)
  rows = dict(pose2d=np.zeros((6, 17, 2), np.float32),
              clip=np.array(["a"] * 3 + ["b"] * 3), frame=np.tile(np.arange(3), 2))
  with pytest.raises(ValueError, match="longer than"):
    method.encode_rows(rows)


def test_diffpose_on_a_temporal_encoder_fits_h_k_on_its_held_out_clips(tmp_path):
  temporal = dict(name="temporal_lifter", num_frames=3, hidden=8,
                  num_spatial_layers=1, num_head_layers=0, num_heads=2,
                  dropout=0.0, conv_dropout=0.0)
  enc = encoder_config(temporal)
  enc.data.update(clip_frames=10)  # 40 training clips of 10 frames
  enc.holdout = ml_collections.ConfigDict(dict(fraction=0.25, seed=0))
  run_lib.train(enc, str(tmp_path / "encoder"))
  config = diffpose_config(tmp_path / "encoder")
  config.data.update(clip_frames=10)
  results = run_lib.run("train_and_eval", config, str(tmp_path / "diffpose"))
  init = initial_lib.Initial.load(str(tmp_path / "diffpose" / initial_lib.FILE_NAME))
  # Ten whole clips were held out: H_K is fitted on their 100 rows.
  assert init.info["num_rows"] == 100
  assert init.info["fit_rows_seen_by_encoder"] is False
  written = json.loads((tmp_path / "diffpose" / "eval" / "estimate.json").read_text())
  assert np.isfinite(written["encoder"]["mpjpe_mm"])
  assert results["mpjpe_mm"] == written["mpjpe_mm"] and np.isfinite(results["mpjpe_mm"])
