"""`--mode=eval` with a test file needs nothing of the training data: a
workdir trained on an .npz of poses evaluates another file after its
training file has moved (`datasets.for_evaluation`); the workdir holds what
the model keeps of its training data."""
import json
import os
import shutil

import ml_collections
import numpy as np
import pytest

from experiments import workdir_config
from experiments.configs import baseline_quickstart
from experiments.configs import diffpose_quickstart
from experiments.configs import dposer_quickstart
from jaxpose import logs
from jaxpose import run_lib
from jaxpose import settings
from jaxpose.data import datasets
from tests.test_end_to_end import tiny_config


def _write_poses(path, n, seed):
  """Synthetic poses as an npz of absolute camera-frame poses."""
  split = datasets.load(dict(datasets.section_for("synthetic"), n_train=n,
                             n_test=n, data_seed=seed)).splits["test"]
  np.savez(path, pose3d=split["pose3d"] + split["root_cam_mm"][:, None],
           intrinsics=split["intrinsics"])


def _npz(config, train, test, **data):
  config.data = ml_collections.ConfigDict(datasets.section_for(
      "npz", keep=dict(train_path=str(train), test_path=str(test), **data)))
  return config


def _small_train(config):
  config.train.update(num_steps=2, batch_size=16, log_every=2, ckpt_every=2,
                      warmup_steps=1)
  return config


def _gfpose(files):
  config = _npz(tiny_config(num_steps=2), *files)
  config.eval.update(num_poses=4, num_steps=2, num_hypotheses=2, plot_poses=0)
  return {"model": _small_train(config)}


def _dposer(files):
  config = _npz(dposer_quickstart.get_config(), *files, body=True)
  config.model.update(hidden=16, embed_dim=16, num_groups=4)
  config.eval.update(num_poses=4, plot_poses=0,
                     priors=("none", "dposer"))  # no rows to fit a GMM on
  config.eval.complete.update(parts=("l_leg",), hypotheses=2, steps=2)
  return {"model": _small_train(config)}


def _diffpose(files):
  encoder = _small_train(_npz(baseline_quickstart.get_config(), *files))
  encoder.model = ml_collections.ConfigDict(dict(
      name="graph_lifter", hidden=16, num_layers=1, num_heads=2, dropout=0.0,
      conv_dropout=0.0))
  encoder.eval.update(num_poses=4, plot_poses=0)
  config = _small_train(_npz(diffpose_quickstart.get_config(), *files))
  config.model.update(hidden=16, embed_dim=16, num_layers=1, num_heads=2)
  config.diffpose.update(num_kernels=2, fit_rows=100, encoder_batch_size=64,
                         seen_fit_rows="warn")
  config.eval.update(num_poses=4, batch_poses=4, num_hypotheses=2,
                     hypotheses_list=(1, 2), plot_poses=0)
  return {"encoder": encoder, "model": config}


@pytest.mark.slow
@pytest.mark.parametrize("configs", [_gfpose, _dposer, _diffpose],
                         ids=["gfpose", "dposer", "diffpose"])
def test_a_moved_training_file_is_not_needed_to_evaluate(tmp_path, configs):
  files = (tmp_path / "train.npz", tmp_path / "test.npz")
  _write_poses(files[0], 120, seed=1)
  _write_poses(files[1], 8, seed=2)
  _write_poses(tmp_path / "other.npz", 6, seed=3)
  made = configs(files)
  workdir = str(tmp_path / "model")
  if "encoder" in made:
    run_lib.train(made["encoder"], str(tmp_path / "encoder"))
    made["model"].diffpose.encoder_workdir = str(tmp_path / "encoder")
  run_lib.train(made["model"], workdir)
  os.makedirs(tmp_path / "moved")
  shutil.move(files[0], tmp_path / "moved" / "train.npz")

  def main_eval(**overrides):  # what experiments.main does for --mode=eval
    return run_lib.run("eval", workdir_config.get_config(workdir), workdir,
                       overrides=overrides)

  results = main_eval(**{"data.test_path": str(tmp_path / "other.npz")})
  assert results["num_poses"] == 4 and results["data"] == "npz"
  # An npz keeps its file's order: 4 of its 6 rows spread over it.
  assert results["rows_scored"].startswith("4 of 6 spread evenly")
  out = run_lib.eval_output_dir(run_lib.methods.parse(
      run_lib.evaluation_config(workdir, {
          "data.test_path": str(tmp_path / "other.npz")}))[1], workdir)
  with open(os.path.join(out, f"{results['task']}.json")) as f:
    assert json.load(f) == results
  # No test file either: one line naming it.
  os.remove(tmp_path / "other.npz")
  with pytest.raises(FileNotFoundError) as err:
    main_eval(**{"data.test_path": str(tmp_path / "other.npz")})
  line = logs.error_line(err.value)
  assert "other.npz: no such poses file" in line and "\n" not in line


def test_no_test_file_and_a_moved_training_file_is_one_clear_error(tmp_path):
  section = datasets.section_for("npz", keep=dict(
      train_path=str(tmp_path / "gone.npz")))
  with pytest.raises(settings.ConfigError) as err:
    datasets.for_evaluation(section)
  assert "data.train_path=" in str(err.value) and "gone.npz" in str(err.value)
  assert "no test rows" in str(err.value)
  # A training file that is there is loaded as before.
  _write_poses(tmp_path / "train.npz", 4, seed=0)
  section["train_path"] = str(tmp_path / "train.npz")
  assert datasets.for_evaluation(section).train_path == section["train_path"]
