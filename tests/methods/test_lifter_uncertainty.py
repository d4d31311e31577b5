"""Lifters that read each keypoint's 2D uncertainty (`inputs.uncertainty`):
the channel's values, its mirror, the network's third input channel, the
training rows, rows without the field at test time, and what the results
record (the lifter's own, and DiffPose's of its encoder)."""
import json
import types

import jax
import jax.numpy as jnp
from absl import logging
import ml_collections
import numpy as np
import pytest

from jaxpose import methods
from jaxpose import models
from jaxpose import run_lib
from jaxpose import settings
from jaxpose.methods import base
from jaxpose.methods import lifting
from jaxpose.methods.baseline import encoder as encoder_lib
from jaxpose.methods.baseline import eval_tasks
from jaxpose.methods.diffpose import eval_tasks as diffpose_eval
from jaxpose.models.context_encoder import graph_lifter_num_params
from jaxpose.models.lifter_mlp import lifter_num_params
from jaxpose.pose import representation as rep_lib
from jaxpose.pose import skeleton as skeleton_lib
from tests.methods import test_baseline

REP = rep_lib.Representation(scale_3d_mm=1000.0, scale_2d=7.0, data_scale=1.0)


def _rows(n=3, seed=0):
  r = np.random.default_rng(seed)
  return dict(pose2d=r.normal(size=(n, 17, 2)).astype(np.float32),
              pose2d_confidence=r.uniform(size=(n, 17)).astype(np.float32),
              pose2d_sigma=r.uniform(0, 0.1, size=(n, 17)).astype(np.float32))


def test_keypoint_uncertainty_is_one_minus_confidence_or_the_scaled_std():
  rows = _rows()
  np.testing.assert_allclose(
      lifting.keypoint_uncertainty(rows, REP, "confidence",
                                   missing_is_exact=False),
      1.0 - rows["pose2d_confidence"], rtol=1e-6)
  # Screen std x scale_2d x data_scale: the std in model units.
  np.testing.assert_allclose(
      lifting.keypoint_uncertainty(rows, REP, "sigma", missing_is_exact=False),
      7.0 * rows["pose2d_sigma"], rtol=1e-6)
  clipped = dict(rows, pose2d_confidence=np.full((3, 17), 1.5, np.float32))
  np.testing.assert_array_equal(lifting.keypoint_uncertainty(
      clipped, REP, "confidence", missing_is_exact=False), 0.0)
  with pytest.raises(ValueError, match="pose2d_sigma: expected stds >= 0"):
    lifting.keypoint_uncertainty(dict(rows, pose2d_sigma=-rows["pose2d_sigma"]),
                                 REP, "sigma", missing_is_exact=False)
  with pytest.raises(ValueError, match="pose2d_confidence"):
    lifting.keypoint_uncertainty(dict(rows, pose2d_confidence=np.ones((3, 5))),
                                 REP, "confidence", missing_is_exact=False)


def test_rows_without_the_field_read_as_exact_only_where_allowed():
  plain = {"pose2d": _rows()["pose2d"]}
  with pytest.raises(ValueError, match="'pose2d_confidence'.*train_2d='noisy'"):
    lifting.keypoint_uncertainty(plain, REP, "confidence",
                                 missing_is_exact=False, where="the rows")
  warned = []
  with pytest.MonkeyPatch.context() as mp:
    mp.setattr(logging, "warning", lambda *a: warned.append(a))
    got = lifting.keypoint_uncertainty(plain, REP, "confidence",
                                       missing_is_exact=True)
  np.testing.assert_array_equal(got, np.zeros((3, 17)))
  assert len(warned) == 1 and "exact" in warned[0][0]


def test_the_mirror_swaps_each_keypoints_uncertainty_with_its_2d():
  skeleton = skeleton_lib.H36M_17
  batch = {"pose3d": np.zeros((2, 17, 3), np.float32),
           "pose2d": _rows(2)["pose2d"],
           lifting.UNCERTAINTY: np.arange(34, dtype=np.float32).reshape(2, 17)}
  out = lifting.mirror(REP)(batch)
  perm = skeleton.flip_permutation
  np.testing.assert_array_equal(out[lifting.UNCERTAINTY],
                                batch[lifting.UNCERTAINTY][:, perm])
  np.testing.assert_array_equal(out["pose2d"][..., 0],
                                -batch["pose2d"][:, perm, 0])


@pytest.mark.parametrize("name,kw,count", [
    ("lifter_mlp", dict(hidden=24, num_blocks=1),
     lambda c: lifter_num_params(17, 24, 1, in_channels=c)),
    ("graph_lifter", dict(hidden=16, num_layers=1, num_heads=2),
     lambda c: graph_lifter_num_params(hidden=16, num_layers=1, in_channels=c)),
])
def test_a_third_input_channel_is_read(name, kw, count):
  _, params = models.create_model(name, key=jax.random.key(0), in_channels=3,
                                  **kw)
  assert models.count_params(params) == count(3) > count(2)
  network = models.NetworkSpec(name, kw).build(num_joints=17, in_channels=3)
  params = network.init(jax.random.key(1))
  x = jnp.asarray(_rows(4)["pose2d"])
  lift = lambda u: network.apply(params, jnp.concatenate(
      [x, jnp.full((4, 17, 1), u)], -1))
  out = lambda o: o if name == "lifter_mlp" else o.pose3d
  assert not np.allclose(out(lift(0.0)), out(lift(1.0)))
  with pytest.raises(ValueError, match="pose2d"):
    network.apply(params, x)  # 2 channels to a network of 3
  with pytest.raises(ValueError, match="in_channels"):
    models.create_model(name, key=jax.random.key(0), in_channels=4, **kw)


def _config(uncertainty="confidence", noise_px=8.0, num_steps=4):
  c = test_baseline.tiny_config(num_steps)
  c.inputs = ml_collections.ConfigDict(dict(uncertainty=uncertainty))
  c.data.noise_2d_px = noise_px
  return c


def test_the_training_rows_carry_the_channel_and_need_the_field():
  method, run = methods.parse(_config())
  model = method.build(run, {}, {})
  assert model.network.abstract.in_channels == 3
  data = method.load_data(run, {})
  arrays = encoder_lib.training(model, data, {}).arrays
  np.testing.assert_allclose(
      arrays[lifting.UNCERTAINTY],
      1.0 - data.splits["train"]["pose2d_confidence"], rtol=1e-6)
  assert arrays[lifting.UNCERTAINTY].std() > 0.01  # noisy 2D: informative
  train = dict(data.splits["train"])
  del train["pose2d_confidence"]
  with pytest.raises(ValueError, match="training rows.*'pose2d_confidence'"):
    encoder_lib.training(model, base.Data(dataset=data.dataset,
                                          splits=dict(train=train)), {})


def test_the_temporal_lifter_refuses_it():
  c = _config()
  c.model = ml_collections.ConfigDict(dict(name="temporal_lifter",
                                           num_frames=3, hidden=8))
  with pytest.raises(settings.ConfigError, match="inputs.uncertainty"):
    methods.parse(c)


@pytest.mark.slow
def test_a_lifter_reading_confidence_trains_evaluates_and_says_so(tmp_path):
  workdir = tmp_path / "lifter"
  results = run_lib.run("train_and_eval", _config(), str(workdir))
  written = json.loads((workdir / "eval" / "estimate.json").read_text())
  assert np.isfinite(written["mpjpe_mm"])
  assert written["test_inputs"]["uncertainty"] == (
      "pose2d_confidence (a detector-like score)")
  fp = json.loads((workdir / "checkpoints" / "fingerprint.json").read_text())
  assert fp["inputs"] == {"uncertainty": "confidence"}
  del results
  # A file of 2D alone: read as exact 2D (confidence 1) with one warning,
  # the same lift as rows of confidence 1.
  trained = run_lib.load_trained(str(workdir))
  pose2d = _rows(5)["pose2d"]
  warned = []
  with pytest.MonkeyPatch.context() as mp:
    mp.setattr(logging, "warning", lambda *a: warned.append(a))
    bare = eval_tasks._predict_mm(trained, {"pose2d": pose2d})
  assert len(warned) == 1
  sure = eval_tasks._predict_mm(trained, {
      "pose2d": pose2d, "pose2d_confidence": np.ones((5, 17), np.float32)})
  np.testing.assert_array_equal(bare, sure)
  unsure = eval_tasks._predict_mm(trained, {
      "pose2d": pose2d, "pose2d_confidence": np.zeros((5, 17), np.float32)})
  assert not np.allclose(bare, unsure)
  # DiffPose on this encoder: it and its encoder read the confidence.
  assert diffpose_eval.encoder_uncertainty(str(workdir)) == "confidence"
  assert diffpose_eval.encoder_uncertainty(str(tmp_path / "absent")) == "none"
  for scope, source, ours in [
      ("global", "sigma", "pose2d_confidence (a detector-like score)"),
      ("per_row", "confidence", "pose2d_confidence (a detector-like score)"),
      ("per_row", "sigma", "pose2d_sigma (the noise model's own record of "
       "each keypoint's error, outliers included: an oracle no detector "
       "gives); pose2d_confidence (a detector-like score)")]:
    run = types.SimpleNamespace(sections=types.SimpleNamespace(
        diffpose=types.SimpleNamespace(encoder_workdir=str(workdir),
                                       initial_scope=scope,
                                       row_uncertainty=source)))
    reads = diffpose_eval.test_inputs(run, "estimate")
    assert reads.uncertainty == ours
    assert reads.baseline.uncertainty == (
        "pose2d_confidence (a detector-like score)")


def test_diffpose_training_hands_its_encoder_the_noisy_2ds_own_scores():
  """DiffPose trains on the noisy 2D: an encoder that reads confidences
  must read the noisy keypoints' scores (pose2d_noisy_confidence), not
  the exact 2D's ones, and with simulated noise ('px') none at all."""
  from jaxpose.methods.diffpose import data as diffpose_data
  r = np.random.default_rng(0)
  n = 6
  exact = r.normal(size=(n, 17, 2)).astype(np.float32) * 0.1
  rows = dict(pose2d=exact, pose2d_exact=exact,
              pose2d_noisy=exact + np.float32(0.01),
              pose2d_screen=exact,
              pose3d=np.zeros((n, 17, 3), np.float32),
              pose2d_confidence=np.ones((n, 17), np.float32),
              pose2d_noisy_confidence=r.uniform(size=(n, 17)).astype(np.float32),
              pose2d_sigma=np.zeros((n, 17), np.float32),
              pose2d_noisy_sigma=np.full((n, 17), 0.01, np.float32),
              intrinsics=np.tile(np.float32([1, 1, 0, 0, 1000, 1000]), (n, 1)))
  seen = []

  class Encoder:
    def encode(self, rows, *, batch_size):
      del batch_size
      seen.append(rows)
      return np.zeros((n, 17, 4), np.float32), np.zeros((n, 17, 3), np.float32)

  for noise_2d in ("data", "px"):
    dp = types.SimpleNamespace(noisy_train_2d=True, noise_2d=noise_2d,
                               noise_2d_px=2.0, encoder_batch_size=8,
                               initial_scope="global")
    run = types.SimpleNamespace(seed=0, sections=types.SimpleNamespace(
        diffpose=dp, representation=REP))
    diffpose_data._encode_split(run, Encoder(), "train", rows)
  with_data, with_px = seen
  np.testing.assert_array_equal(with_data["pose2d_confidence"],
                                rows["pose2d_noisy_confidence"])
  np.testing.assert_array_equal(with_data["pose2d_sigma"],
                                rows["pose2d_noisy_sigma"])
  assert "pose2d_confidence" not in with_px and "pose2d_sigma" not in with_px
