"""DiffPose's per-row H_K and the kernel told to the denoiser through
run_lib at toy sizes, the kernel experiment on that workdir, and H_K's fit
rows: refused, or recorded, when the encoder saw them all."""
import json

import jax
import ml_collections
import numpy as np
import pytest

from experiments.studies import diffpose_kernels
from jaxpose import methods
from jaxpose import rng
from jaxpose import run_lib
from jaxpose import settings
from jaxpose.methods import base
from jaxpose.methods.baseline import encoder as baseline_encoder
from jaxpose.methods.diffpose import data as data_lib
from jaxpose.methods.diffpose import initial as initial_lib
from jaxpose.workdir import prepared as prepared_lib
from tests.methods import test_diffpose_end_to_end as e2e

M = 2  # kernels (e2e.diffpose_config)


@pytest.fixture(scope="module")
def enc_dir(tmp_path_factory):
  """A tiny encoder with a quarter of its rows held out (100 rows)."""
  enc_dir = tmp_path_factory.mktemp("diffpose_options") / "encoder"
  enc_config = e2e.encoder_config()
  enc_config.holdout = ml_collections.ConfigDict(dict(fraction=0.25, seed=0))
  run_lib.train(enc_config, str(enc_dir))
  return enc_dir


@pytest.fixture(scope="module")
def workdirs(enc_dir):
  dp_dir = enc_dir.parent / "diffpose"
  config = e2e.diffpose_config(enc_dir, initial_scope="per_row",
                               kernel_input="index_scale")
  results = run_lib.run("train_and_eval", config, str(dp_dir))
  return dict(enc_dir=enc_dir, dp_dir=dp_dir, config=config, results=results)


@pytest.mark.slow
def test_a_per_row_h_k_and_the_told_kernel_train_and_evaluate(workdirs):
  dp_dir = workdirs["dp_dir"]
  written = json.loads((dp_dir / "eval" / "estimate.json").read_text())
  assert np.isfinite(written["mpjpe_mm"]) and np.isfinite(
      written["initial_samples"]["mpjpe_mm"])
  settings_ = written["diffpose"]
  assert settings_["kernel_input"] == "index_scale"
  assert settings_["initial"]["scope"] == "per_row"
  assert settings_["initial"]["row_uncertainty"] == "sigma"
  assert settings_["initial"]["fit_rows_seen_by_encoder"] is False
  # It read each row's noise std beside the 2D, its encoder the 2D alone.
  ours, encoder = written["test_inputs"], written["baseline_test_inputs"]
  assert ours["uncertainty"].startswith("pose2d_sigma (") and (
      "oracle" in ours["uncertainty"])
  assert encoder["uncertainty"] == "none" and encoder["figures"] == "encoder"
  assert ours["2d"] == encoder["2d"] == "exact"
  init, _ = e2e.stored_initial(dp_dir)
  assert init.scope == "per_row" and init.num_kernels == M
  assert init.info["num_rows"] == 100  # the encoder's held-out rows
  np.testing.assert_array_equal(init.calib_2d, [[0.0, 1.0]] * 17)
  # The training rows carry 2 px of simulated noise on a 1000 px image
  # (x7 in model units; root-relative 2D doubles the non-root variance).
  sigma = 2 * 2 / 1000 * 7
  assert init.info["mean_variance_2d"] == pytest.approx(
      2 * sigma**2 * 16 / 17, rel=1e-3)
  # The denoiser reads the kernel: the checkpoint's fingerprint says so,
  # and its condition is the encoder's 16 features + M one-hot + 5 log std.
  fp = json.loads((dp_dir / "checkpoints" / "fingerprint.json").read_text())
  assert fp["diffpose"]["kernel_input"] == "index_scale"
  loaded = run_lib.load_trained(str(dp_dir))
  assert loaded.model.network.abstract.cond_dim == 16 + M + 5
  # The test rows' 2D is exact: each row's (u, v) std is the floor.
  data = loaded.method.load_data(loaded.run, loaded.needs)
  test = data.splits["test"]
  np.testing.assert_array_equal(test[data_lib.UNCERTAINTY], 0.0)
  kernel = loaded.model.forward_process.draw_kernel(
      jax.random.key(0), np.concatenate([test["pose2d"], test["enc_pose3d"]],
                                        -1), test[data_lib.UNCERTAINTY])
  np.testing.assert_allclose(kernel.prior.scale[..., :2], 1e-3, rtol=1e-5)
  # Another scope or another kernel input is another model.
  for key, value in (("diffpose.initial_scope", "global"),
                     ("diffpose.kernel_input", "none")):
    with pytest.raises(settings.ConfigError, match=key):
      run_lib.evaluation_config(str(dp_dir), {key: value})


@pytest.mark.slow
def test_the_kernel_experiment_explains_a_trained_workdir(workdirs, tmp_path):
  path = diffpose_kernels.run([str(workdirs["dp_dir"])], name="tiny",
                              num_poses=6, hypotheses=(1, 3),
                              out_dir=str(tmp_path))
  assert path == str(tmp_path / "diffpose_kernels_tiny.json")
  result = json.loads((tmp_path / "diffpose_kernels_tiny.json").read_text())
  (one,) = result["workdirs"]
  assert one["num_kernels"] == M and one["initial"]["scope"] == "per_row"
  kernels = one["kernels"]
  assert sum(k["weight"] for k in kernels) == pytest.approx(1.0, abs=1e-5)
  assert sum(k["test_share"] for k in kernels) == pytest.approx(1.0)
  assert [k["kernel"] for k in one["per_kernel"]] == list(range(M))
  for entry in one["per_kernel"] + list(one["oracle"].values()):
    assert entry["num_hypotheses"] == 3
    assert entry["best_of_n_mpjpe_mm"] <= entry["mean_hypothesis_mpjpe_mm"]
  for entry in one["per_kernel"]:
    assert np.isfinite(entry["draws_no_diffusion"]["mean_of_n_mpjpe_mm"])
  assert [v["num_hypotheses"] for v in one["versus_n"]] == [1, 3]
  assert one["versus_n"][0]["spread_mm"] == 0.0
  assert np.isfinite(one["encoder"]["mpjpe_mm"])
  assert diffpose_kernels.parse_overrides(["data.test_2d=noisy", "seed=3"]) == {
      "data.test_2d": "noisy", "seed": 3}


@pytest.mark.slow
def test_a_per_row_model_lifts_a_detector_file_given_its_error(workdirs, tmp_path):
  from jaxpose import lift
  from jaxpose.data import datasets
  from jaxpose.pose import cameras as cam_lib
  test = datasets.load(workdirs["config"].data).splits["test"]
  w, h = (int(v) for v in np.asarray(test["intrinsics"])[0, 4:6])
  path = str(tmp_path / "video.npz")
  np.savez(path, image_size=np.array([w, h]), keypoints=cam_lib.unnormalize_screen(
      np.asarray(test["pose2d"][:6]), w, h))
  # Its H_K reads a noise std per keypoint, which a detector's file lacks.
  with pytest.raises(ValueError, match="data.sigma_px"):
    lift.lift_keypoints(str(workdirs["dp_dir"]), path, num_hypotheses=3)
  spread = {}
  for sigma in (1.0, 30.0):
    lifted = lift.lift_keypoints(str(workdirs["dp_dir"]), path, num_hypotheses=8,
                                 keypoints={"sigma_px": sigma})
    assert np.isfinite(lifted.hypotheses_mm).all()
    spread[sigma] = float(lifted.spread_mm.mean())
  # A larger error: wider kernels, hypotheses further apart.
  assert spread[30.0] > spread[1.0], spread


@pytest.mark.parametrize("noisy_train_2d", [True, False])
def test_fit_rows_the_encoder_saw_are_refused_or_recorded(
    enc_dir, tmp_path, monkeypatch, noisy_train_2d):
  # An encoder trained on every row (no held-out rows).
  monkeypatch.setattr(baseline_encoder.LifterEncoder, "heldout_rows",
                      lambda self, train: None)
  # The configs' default (the quickstart's own 'warn's: its encoder holds
  # out no rows).
  config = e2e.diffpose_config(enc_dir, seen_fit_rows="refuse",
                               noisy_train_2d=noisy_train_2d)
  with pytest.raises(settings.ConfigError, match="seen_fit_rows=warn"):
    run_lib.train(config, str(tmp_path / "a"))
  assert not (tmp_path / "a" / prepared_lib.DIRECTORY).exists()
  assert not (tmp_path / "a" / "checkpoints").exists()
  # 'warn': fitted on those rows, and H_K says so.
  config.diffpose.seen_fit_rows = "warn"
  method, run = methods.parse(config)
  needs, _ = run_lib.resolve_needs(method, run, training=True)
  ctx = base.PrepareContext(run=run, data=method.load_data(run, needs),
                            needs=needs, key=rng.purpose_key(run.seed, "fit"))
  fitted = initial_lib.Initial.from_artefact(
      data_lib.prepare(ctx)[initial_lib.ARTEFACT])
  assert fitted.info["fit_rows_seen_by_encoder"] is True
  assert fitted.info["num_rows"] == 200  # fit_rows of all 400
