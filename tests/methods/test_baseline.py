"""The Martinez et al. lifter baseline: network, loss, prediction, end to end."""
import json

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from experiments.configs import baseline_quickstart
from experiments.configs import quickstart
from jaxpose import models
from jaxpose import run_lib
from jaxpose.methods import baseline
from jaxpose.training import checkpoint as checkpoint_lib
from jaxpose.training import train as train_lib
from jaxpose.models.lifter_mlp import lifter_num_params
from jaxpose.pose.skeleton import H36M_17


def tiny_config(num_steps=10):
  c = baseline_quickstart.get_config()
  c.model.update(hidden=32, dropout=0.1)
  c.data.update(n_train=500, n_test=30)
  c.train.update(num_steps=num_steps, batch_size=32, log_every=5,
                 ckpt_every=10, warmup_steps=5)
  # 12 poses in chunks of 5: the last chunk is padded.
  c.eval.update(num_poses=12, lift_batch_size=5)
  return c


# ------------------------------------------------------------------ network
def test_paper_size_parameter_count():
  _, params = models.create_model("lifter_mlp", key=jax.random.key(0))
  # By hand: 34*1024+1024 + 2*2*(1024*1024+1024) + 1024*51+51 + 5*2*1024.
  assert models.count_params(params) == 4_296_755 == lifter_num_params()


@pytest.mark.parametrize("joints,hidden,blocks,norm",
                         [(17, 48, 0, "layer"), (5, 16, 3, "layer"),
                          (17, 24, 2, "none")])
def test_parameter_count_matches_formula(joints, hidden, blocks, norm):
  _, params = models.create_model(
      "lifter_mlp", key=jax.random.key(0), num_joints=joints, hidden=hidden,
      num_blocks=blocks, norm=norm)
  assert models.count_params(params) == lifter_num_params(
      joints, hidden, blocks, norm)


def test_shapes_root_and_bad_input():
  graphdef, params = models.create_model("lifter_mlp", key=jax.random.key(0),
                                         hidden=32, dropout=0.5)
  apply_fn = models.make_apply(graphdef)
  x = jax.random.normal(jax.random.key(1), (6, 17, 2))
  assert apply_fn(params, x).shape == (6, 17, 3)
  with pytest.raises(ValueError, match="pose2d"):
    apply_fn(params, x.reshape(6, 34))
  lift = baseline.make_lift_fn(apply_fn)
  out = lift(params, x)
  assert out.shape == (6, 17, 3)
  assert np.all(np.asarray(out[:, 0]) == 0.0)  # root-relative by construction
  assert np.any(np.asarray(out[:, 1:]) != 0.0)
  # Dropout: a function of the key; off when not training.
  k = jax.random.key(2)
  np.testing.assert_array_equal(lift(params, x, train=True, key=k),
                                lift(params, x, train=True, key=k))
  assert not np.allclose(lift(params, x, train=True, key=k), out)
  with pytest.raises(ValueError, match="dropout_key"):
    lift(params, x, train=True)
  with pytest.raises(ValueError, match="pose2d"):
    lift(params, x[..., :1])
  with pytest.raises(TypeError):
    apply_fn(params, x, 0.5)  # a lifter takes no diffusion time
  with pytest.raises(ValueError, match="norm"):
    models.create_model("lifter_mlp", key=jax.random.key(0), norm="batch")


def test_lifter_fits_a_tiny_dataset():
  """A fixed smooth 2D->3D map is learned: the loss falls far below its start."""
  rng = np.random.default_rng(0)
  n, j = 256, 5
  pose2d = rng.normal(size=(n, j, 2)).astype(np.float32)
  w = rng.normal(size=(2 * j, 3 * j)).astype(np.float32) / np.sqrt(2 * j)
  pose3d = np.tanh(pose2d.reshape(n, -1) @ w).reshape(n, j, 3)
  pose3d = (pose3d - pose3d[:, :1]).astype(np.float32)  # root-relative
  batch = {"pose3d": jnp.asarray(pose3d), "pose2d": jnp.asarray(pose2d)}
  graphdef, params = models.create_model(
      "lifter_mlp", key=jax.random.key(0), num_joints=j, hidden=64,
      num_blocks=1, dropout=0.0)
  loss_fn = baseline.make_loss_fn(baseline.make_lift_fn(models.make_apply(graphdef)))
  tx = train_lib.make_optimizer(learning_rate=3e-3, warmup_steps=10)
  step = train_lib.make_train_step(loss_fn, tx)
  key = jax.random.key(1)

  @jax.jit
  def run(params):
    # One compiled program for all 300 updates.
    state = train_lib.init_train_state(params, tx)
    state, metrics = jax.lax.scan(lambda s, _: step(s, batch, key), state,
                                  length=300)
    return state, metrics

  first = float(loss_fn(params, batch, key)[0])
  state, metrics = run(params)
  last = float(loss_fn(state.params, batch, key)[0])
  assert np.isfinite(last) and last < 0.05 * first, (first, last)
  assert float(metrics["mpjpe_model"][-1]) < float(metrics["mpjpe_model"][0])


def test_predict_chunks_equal_one_shot():
  method = run_lib.build(tiny_config())
  params = method.init_params(jax.random.key(0))
  x = np.asarray(jax.random.normal(jax.random.key(3), (13, 17, 2)))
  one_shot = np.asarray(method.lift(params, x))
  for batch_size in (5, 13, 32):
    chunked = method.predict(params, x, batch_size=batch_size)
    assert chunked.shape == (13, 17, 3)
    np.testing.assert_allclose(chunked, one_shot, rtol=1e-5, atol=1e-6)
  with pytest.raises(ValueError, match="pose2d"):
    method.predict(params, x[0], batch_size=4)


# --------------------------------------------------------------- end to end
def test_train_evaluate_is_deterministic(tmp_path):
  config = tiny_config()
  method = run_lib.build(config)
  results = []
  for name in ("a", "b"):
    workdir = tmp_path / name
    state = run_lib.train(config, str(workdir), method=method)
    assert int(state.step) == 10
    results.append(run_lib.evaluate(config, str(workdir), method=method))
    on_disk = json.loads((workdir / "eval" / "estimate.json").read_text())
    assert on_disk == results[-1]
  r = results[0]
  summary = json.loads((tmp_path / "a" / "metrics.json").read_text())
  full = json.loads((tmp_path / "a" / "eval" / "estimate.json").read_text())
  assert full == r
  for key in ("mpjpe_mm", "pa_mpjpe_mm", "min_mpjpe_mm", "min_pa_mpjpe_mm",
              "mean_hypothesis_mpjpe_mm", "apd_mm", "best_of_h",
              "num_hypotheses", "num_poses", "task", "train_step"):
    assert key in summary, key
  assert r["num_hypotheses"] == 1 and r["num_poses"] == 12
  assert r["method"] == "baseline" and r["train_step"] == 10
  assert r["mpjpe_mm"] == pytest.approx(r["min_mpjpe_mm"], rel=1e-6)
  assert r["joint_names"] == list(H36M_17.joint_names)
  assert r["per_joint_mpjpe_mm"][0] == 0.0  # the root is exact
  assert set(r["per_activity"]["mpjpe_mm"]) <= set(r["activity_names"])
  assert np.isfinite(r["mpjpe_mm"]) and r["mpjpe_mm"] > 0
  # Same config, two fresh workdirs: the same numbers.
  assert results[0] == {**results[1], "seconds": results[0]["seconds"]}
  # A suffixed evaluation (e.g. noisy 2D) keeps its own files and leaves
  # the unsuffixed ones as they were.
  before = (tmp_path / "a" / "eval" / "estimate.json").read_text()
  with config.unlocked():
    config.eval.output_suffix = "again"
  again = run_lib.evaluate(config, str(tmp_path / "a"))
  assert (tmp_path / "a" / "eval" / "estimate.json").read_text() == before
  assert json.loads((tmp_path / "a" / "eval" / "estimate_again.json").read_text()) == again
  assert json.loads((tmp_path / "a" / "metrics_again.json").read_text())["mpjpe_mm"] == (
      again["mpjpe_mm"])


def test_holdout_trains_on_the_other_rows_and_is_in_the_fingerprint(
    tmp_path, monkeypatch):
  c = tiny_config(num_steps=2)
  c.holdout = ml_collections.ConfigDict(dict(fraction=0.2, seed=1))
  method = run_lib.build(c)
  held, kept = method.heldout_train_rows(), method.train_rows()
  n = len(method.splits["train"]["pose2d"])
  assert len(held) == 100  # single poses: held out one by one
  np.testing.assert_array_equal(np.sort(np.concatenate([held, kept])),
                                np.arange(n))
  seen = {}
  real = run_lib.pipeline.ArrayDataset

  def spy(arrays, **kwargs):
    seen.update(arrays)
    return real(arrays, **kwargs)

  monkeypatch.setattr(run_lib.pipeline, "ArrayDataset", spy)
  run_lib.train(c, str(tmp_path), method=method)
  np.testing.assert_array_equal(seen["pose3d"],
                                method.splits["train"]["pose3d"][kept])
  # Resuming with other held-out rows would train on the unseen ones.
  other = tiny_config(num_steps=4)
  other.holdout = ml_collections.ConfigDict(dict(fraction=0.2, seed=2))
  with pytest.raises(checkpoint_lib.CheckpointMismatchError, match="holdout"):
    run_lib.train(other, str(tmp_path))
  no_holdout = run_lib.build(tiny_config())
  assert no_holdout.train_rows() is None and no_holdout.fingerprint_extra() == {}
  bad = tiny_config()
  bad.holdout = ml_collections.ConfigDict(dict(fraction=1.0, seed=0))
  with pytest.raises(ValueError, match="holdout.fraction"):
    run_lib.build(bad)


def test_gfpose_workdir_is_refused(tmp_path):
  # A directory fingerprinted by a GFPose run (what run_lib.train leaves).
  gf = quickstart.get_config()
  checkpoint_lib.Checkpointer(
      tmp_path / "checkpoints",
      fingerprint=run_lib.fingerprint(gf, run_lib.build(gf)),
      save_every=10).close()
  before = (tmp_path / "checkpoints" / "fingerprint.json").read_text()
  with pytest.raises(checkpoint_lib.CheckpointMismatchError, match="method"):
    run_lib.train(tiny_config(), str(tmp_path))
  after = (tmp_path / "checkpoints" / "fingerprint.json").read_text()
  assert before == after
  with pytest.raises(ValueError, match="mode"):
    run_lib.run("sample", tiny_config(), str(tmp_path))


def test_config_shares_data_and_budget_with_quickstart():
  b, q = baseline_quickstart.get_config(), quickstart.get_config()
  assert b.method == "baseline" and b.model.name == "lifter_mlp"
  for section in ("data", "train", "representation"):
    assert b[section].to_dict() == q[section].to_dict(), section
  assert b.seed == q.seed and b.eval.num_poses == q.eval.num_poses
  assert "sampler" not in b.eval  # a lifter has no sampler settings
