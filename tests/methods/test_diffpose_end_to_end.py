"""DiffPose through run_lib at toy sizes: encoder, H_K, train, evaluate,
and the clear errors (bad encoder, bad 2D, a fit that does not converge,
H_K or an encoder other than the model was trained with)."""
import json
import os
import shutil

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from experiments.configs import baseline_quickstart
from experiments.configs import diffpose_quickstart
from jaxpose import digest as digest_lib
from jaxpose import methods
from jaxpose import run_lib
from jaxpose import settings
from jaxpose.core import gmm as gmm_lib
from jaxpose.methods import base
from jaxpose.methods.baseline import encoder as baseline_encoder
from jaxpose.methods.diffpose import data as data_lib
from jaxpose.methods.diffpose import initial as initial_lib
from jaxpose.workdir import checkpoint as checkpoint_lib
from jaxpose.workdir import prepared as prepared_lib
from jaxpose.workdir import trained as trained_lib

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


def stored_initial(workdir):
  """(H_K as DiffPose's workdir stores it, its artefact)."""
  artefacts, _ = prepared_lib.load(str(workdir))
  artefact = artefacts[initial_lib.ARTEFACT]
  return initial_lib.Initial.from_artefact(artefact), artefact


@pytest.mark.slow
def test_train_and_eval_writes_mean_best_of_n_encoder_and_calibration(trained):
  dp_dir, results = trained["dp_dir"], trained["results"]
  written = json.loads((dp_dir / "eval" / "estimate.json").read_text())
  assert written["method"] == "diffpose" and written["num_hypotheses"] == 3
  assert written["sampler"] == "ddim" and written["num_steps"] == 5
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
  assert enc["workdir"] == str(trained["enc_dir"])
  assert enc["network"] == "graph_lifter"
  assert written["gain_over_encoder_mm"] == pytest.approx(
      enc["mpjpe_mm"] - written["mpjpe_mm"])
  assert np.isfinite(written["initial_samples"]["min_mpjpe_mm"])
  init, artefact = stored_initial(dp_dir)
  assert written["diffpose"]["initial"]["digest"] == artefact.digest()
  # Fitted on the encoder's 100 held-out rows (fewer than fit_rows=200).
  assert init.num_kernels == 2 and init.info["num_rows"] == 100
  assert init.info["fit_rows_seen_by_encoder"] is False
  assert written["diffpose"]["initial"]["num_rows"] == 100
  # The encoder it was fitted with, by its parameters' digest.
  encoder = run_lib.load_trained(str(trained["enc_dir"]))
  assert init.info["encoder_digest"] == digest_lib.digest(encoder.params)
  # 2 px on a 1000 px wide image: 0.004 screen units, x7 in model units;
  # root-relative 2D doubles the variance of 16 joints, zeroes the root's.
  sigma = 2 * 2 / 1000 * 7
  assert init.info["rms_2d"] == pytest.approx(sigma * np.sqrt(2 * 16 / 17),
                                              rel=0.05)
  assert results["mpjpe_mm"] == written["mpjpe_mm"]
  # The workdir's summary: the headline figures and the encoder's beside.
  summary = json.loads((dp_dir / "metrics.json").read_text())["estimate"]
  assert summary["mpjpe_mm"] == written["mpjpe_mm"]
  assert summary["encoder_mpjpe_mm"] == enc["mpjpe_mm"]
  assert summary["gain_over_encoder_mm"] == written["gain_over_encoder_mm"]


def test_evaluation_reads_the_stored_h_k_and_refuses_a_changed_one(trained):
  dp_dir, config = trained["dp_dir"], trained["config"]
  # Read-only rebuild from the workdir alone, with its stored mixture.
  loaded = run_lib.load_trained(str(dp_dir))
  stored, artefact = stored_initial(dp_dir)
  assert loaded.prepared[initial_lib.ARTEFACT].digest() == artefact.digest()
  np.testing.assert_array_equal(loaded.model.initial.means, stored.means)
  np.testing.assert_array_equal(loaded.model.initial.scales, stored.scales)
  # The stored H_K is in the checkpoint's fingerprint.
  fp = json.loads((dp_dir / "checkpoints" / "fingerprint.json").read_text())
  assert fp["prepared"]["initial"] == artefact.digest()
  index = prepared_lib.read_index(str(dp_dir))
  moved = initial_lib.Initial(weights=stored.weights, means=stored.means + 0.1,
                              scales=stored.scales, centred=True,
                              info=stored.info)
  file = dp_dir / "prepared" / index["artefacts"]["initial"]["file"]
  original = file.read_bytes()
  try:
    # A file replaced behind the index's back is refused ...
    np.savez(file, **moved.to_artefact().arrays)
    with pytest.raises(prepared_lib.PreparedError,
                       match="has changed since it was prepared"):
      run_lib.evaluate(config, str(dp_dir))
    # ... and another fit, recorded properly, is not this model's H_K.
    prepared_lib.save(str(dp_dir), {initial_lib.ARTEFACT: moved.to_artefact()},
                      index["made_from"])
    with pytest.raises(checkpoint_lib.CheckpointMismatchError,
                       match="prepared.initial"):
      run_lib.evaluate(config, str(dp_dir))
  finally:  # every artefact back (the stored range too)
    prepared_lib.save(str(dp_dir), dict(loaded.prepared), index["made_from"])
  assert file.read_bytes() == original
  assert prepared_lib.read_index(str(dp_dir)) == index
  # Training on with other H_K settings is refused, naming them, and
  # nothing in the workdir changes.
  other = diffpose_config(trained["enc_dir"], num_kernels=3)
  with pytest.raises(prepared_lib.PreparedError,
                     match="diffpose.num_kernels: 2 there, 3 here"):
    run_lib.train(other, str(dp_dir))
  assert file.read_bytes() == original
  # So is evaluating with them (the flag contradicts the trained model),
  # whether through the workdir's config or a config of one's own.
  with pytest.raises(settings.ConfigError, match="diffpose.num_kernels"):
    run_lib.evaluation_config(str(dp_dir), {"diffpose.num_kernels": 3})
  with pytest.raises(prepared_lib.PreparedError,
                     match="diffpose.num_kernels: 2 there, 3 here"):
    run_lib.load_trained(str(dp_dir), config=other)
  # Wrong joint count in the 2D: named.
  data = loaded.method.load_data(loaded.run, loaded.needs)
  rows = {k: np.asarray(data.splits["test"][k])[:4]
          for k in ("pose2d", "enc_features", "enc_pose3d")}
  opts = loaded.run.eval_options
  states = loaded.model.sample_states(loaded.params, jax.random.key(0), rows,
                                      opts, num_hypotheses=2)
  assert states.shape == (2, 4, 17, 5) and np.isfinite(states).all()
  # The chunk's program compiled ahead (and measured for memory) draws what
  # the jitted program draws on the same chunk.
  model = loaded.model
  t_start = (1.0 if opts.start == "initial"
             else float(model.sde.time(model.start_step(opts))))
  program = model._hypotheses_fn(  # pylint: disable=protected-access
      opts.sampler, opts.num_steps, 2, opts.start)
  direct = program(
      loaded.params, jax.random.fold_in(jax.random.key(0), 0),
      jnp.asarray(rows["enc_features"], jnp.float32),
      jnp.asarray(np.concatenate([rows["pose2d"], rows["enc_pose3d"]], -1),
                  jnp.float32), jnp.asarray(t_start, jnp.float32), None, None)
  np.testing.assert_array_equal(states, np.asarray(direct))
  rows["pose2d"] = rows["pose2d"][:, :16]
  with pytest.raises(ValueError, match="pose2d"):
    loaded.model.sample_states(loaded.params, jax.random.key(0), rows, opts,
                               num_hypotheses=2)


def test_evaluation_refuses_a_retrained_encoder(trained, tmp_path):
  # Copies, so the module's workdirs stay as they are.
  enc_dir, dp_dir = tmp_path / "encoder", tmp_path / "diffpose"
  shutil.copytree(trained["enc_dir"], enc_dir)
  shutil.copytree(trained["dp_dir"], dp_dir)
  before = (dp_dir / "eval" / "estimate.json").read_text()
  override = {"diffpose.encoder_workdir": str(enc_dir)}
  # The same encoder's parameters, wherever they lie: accepted.
  loaded = run_lib.load_trained(
      str(dp_dir), config=run_lib.evaluation_config(str(dp_dir), override))
  assert loaded.needs["encoder"].workdir == str(enc_dir)
  fp = json.loads((dp_dir / "checkpoints" / "fingerprint.json").read_text())
  assert fp["needs"]["encoder"] == loaded.needs["encoder"].digest
  # The encoder trained further in place is another encoder: DiffPose's
  # denoiser and H_K were made with the old one's features.
  enc_config = encoder_config()
  enc_config.holdout = ml_collections.ConfigDict(dict(fraction=0.25, seed=0))
  enc_config.train.num_steps = 6
  run_lib.train(enc_config, str(enc_dir))
  assert run_lib.load_trained(str(enc_dir)).step == 6
  with pytest.raises(checkpoint_lib.CheckpointMismatchError,
                     match="needs.encoder"):
    run_lib.evaluate(run_lib.evaluation_config(str(dp_dir), override),
                     str(dp_dir))
  # Refused before anything was written.
  assert (dp_dir / "eval" / "estimate.json").read_text() == before


def test_a_mixture_fit_that_does_not_converge_writes_nothing(trained, tmp_path):
  config = diffpose_config(trained["enc_dir"], gmm_max_iters=1, gmm_tol=1e-9)
  with pytest.raises(gmm_lib.GMMFitError, match="did not converge"):
    run_lib.train(config, str(tmp_path))
  assert not (tmp_path / prepared_lib.DIRECTORY).exists()
  assert not (tmp_path / "checkpoints").exists() or not os.listdir(
      tmp_path / "checkpoints")


def test_evaluating_a_workdir_that_was_never_trained_says_so(trained, tmp_path):
  # DiffPose's model reads prepared state (H_K) an untrained workdir lacks:
  # the missing checkpoint is named, not the missing artefact.
  config = diffpose_config(trained["enc_dir"])
  with pytest.raises(FileNotFoundError, match="no checkpoint in .*train first"):
    run_lib.evaluate(config, str(tmp_path))


def test_encoder_on_other_data_or_units_is_refused(trained, tmp_path):
  config = diffpose_config(trained["enc_dir"])
  config.data.n_train = N_TRAIN + 10
  with pytest.raises(settings.ConfigError, match=(
      "diffpose.encoder_workdir=.*trained on other training data "
      r"\(data.n_train: 410 here, 400 there\)")):
    run_lib.train(config, str(tmp_path / "a"))
  config = diffpose_config(trained["enc_dir"])
  config.data.n_test = N_TEST + 5  # test-side keys may differ
  config.representation.scale_2d = 3.0
  with pytest.raises(settings.ConfigError,
                     match="representation.scale_2d: 3.0 here, 7.0 in the encoder"):
    run_lib.train(config, str(tmp_path / "b"))
  with pytest.raises(settings.ConfigError,
                     match="diffpose.encoder_workdir: empty; train a context "
                           "encoder first"):
    run_lib.train(diffpose_config(""), str(tmp_path / "c"))
  for name in ("a", "b", "c"):
    assert not (tmp_path / name / "checkpoints").exists()
    assert not (tmp_path / name / prepared_lib.DIRECTORY).exists()


def _in_memory_trained(config, workdir):
  """A `base.Trained` of a config with initial parameters, as load_trained
  would rebuild it from a workdir."""
  method, run = methods.parse(config)
  model = method.build(run, {}, {})
  return base.Trained(method=method, run=run, model=model,
                      params=model.init(jax.random.key(0)), prepared={},
                      needs={}, workdir=str(workdir), step=0)


def test_an_encoder_without_features_or_of_another_kind_is_refused(
    tmp_path, monkeypatch):
  from experiments.configs import quickstart
  enc = encoder_config(dict(name="lifter_mlp", hidden=16, num_blocks=1,
                            dropout=0.0, norm="layer"))
  # What load_trained would rebuild from an MLP baseline's workdir.
  monkeypatch.setattr(trained_lib, "load_trained",
                      lambda workdir, **kw: _in_memory_trained(enc, workdir))
  with pytest.raises(settings.ConfigError, match="no per-joint features"):
    run_lib.train(diffpose_config(tmp_path), str(tmp_path / "dp"))
  with pytest.raises(settings.ConfigError, match="no such directory"):
    run_lib.train(diffpose_config(tmp_path / "absent"), str(tmp_path / "dp"))
  # A GFPose workdir provides no context encoder at all.
  gf = quickstart.get_config()
  gf.model.update(hidden=16, embed_dim=16, num_groups=8)
  monkeypatch.setattr(trained_lib, "load_trained",
                      lambda workdir, **kw: _in_memory_trained(gf, workdir))
  with pytest.raises(settings.ConfigError,
                     match="it holds a 'gfpose' model, which provides no "
                           "ContextEncoder"):
    run_lib.train(diffpose_config(tmp_path), str(tmp_path / "dp"))
  assert not (tmp_path / "dp" / "checkpoints").exists()


def test_a_window_longer_than_a_clip_is_named(trained):
  # A temporal encoder over clips of 3 frames asked for windows of 5.
  enc_cfg = encoder_config(dict(name="temporal_lifter", num_frames=5, hidden=8,
                                num_spatial_layers=1, num_head_layers=0,
                                num_heads=2, dropout=0.0, conv_dropout=0.0))
  encoder = baseline_encoder.context_encoder(
      _in_memory_trained(enc_cfg, "(in memory)"))
  assert encoder.feature_dim == 8
  _, run = methods.parse(diffpose_config(trained["enc_dir"]))
  rows = dict(pose2d=np.zeros((6, 17, 2), np.float32),
              clip=np.array(["a"] * 3 + ["b"] * 3), frame=np.tile(np.arange(3), 2))
  with pytest.raises(ValueError, match="longer than"):
    data_lib.encode_rows(run, encoder, rows)


@pytest.mark.slow
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
  init, _ = stored_initial(tmp_path / "diffpose")
  # Ten whole clips were held out: H_K is fitted on their 100 rows.
  assert init.info["num_rows"] == 100
  assert init.info["fit_rows_seen_by_encoder"] is False
  encoder = run_lib.load_trained(str(tmp_path / "encoder"))
  held = encoder.prepared["holdout"]["rows"]
  train = encoder.method.load_data(encoder.run, {}).splits["train"]
  clips = np.unique(train["clip"][held])
  assert len(held) == 100 and len(clips) == 10
  assert np.isin(train["clip"], clips).sum() == 100  # whole clips
  written = json.loads((tmp_path / "diffpose" / "eval" / "estimate.json").read_text())
  assert np.isfinite(written["encoder"]["mpjpe_mm"])
  assert results["mpjpe_mm"] == written["mpjpe_mm"] and np.isfinite(results["mpjpe_mm"])
