"""The Martinez et al. lifter baseline: network, loss, prediction, end to end."""
import json
import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from experiments.configs import baseline_quickstart
from experiments.configs import quickstart
from jaxpose import methods
from jaxpose import models
from jaxpose import run_lib
from jaxpose import settings
from jaxpose.data import windows as windows_lib
from jaxpose.methods import base
from jaxpose.methods import lifting
from jaxpose.methods.baseline import model as baseline
from jaxpose.models.lifter_mlp import lifter_num_params
from jaxpose.pose.skeleton import H36M_17
from jaxpose.training import train as train_lib
from jaxpose.workdir import checkpoint as checkpoint_lib
from jaxpose.workdir import prepared as prepared_lib


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


def _model(config):
  """(the lifter's model, its run settings) built from a config alone."""
  method, run = methods.parse(config)
  return method.build(run, {}, {}), run


def test_predict_chunks_equal_one_shot():
  model, _ = _model(tiny_config())
  params = model.init(jax.random.key(0))
  x = np.asarray(jax.random.normal(jax.random.key(3), (13, 17, 2)))
  one_shot = np.asarray(model.lift(params, x))
  for batch_size in (5, 13, 32):
    chunked = model.predict(params, x, batch_size=batch_size)
    assert chunked.shape == (13, 17, 3)
    np.testing.assert_allclose(chunked, one_shot, rtol=1e-5, atol=1e-6)
  with pytest.raises(ValueError, match="pose2d"):
    model.predict(params, x[0], batch_size=4)


def test_flip_averaging_cancels_what_is_not_mirror_symmetric():
  """A lift biased along x (u + b, v, 0) averaged with its mirrored lift
  of mirrored 2D loses the bias: (u, v, 0) exactly."""
  from jaxpose.methods.baseline import eval_tasks

  class Biased:
    representation = _model(tiny_config())[0].representation
    uncertainty = "none"

    def predict(self, params, rows, *, batch_size):
      del params, batch_size
      x = np.asarray(rows["pose2d"])
      return np.concatenate([x + [0.3, 0.0], np.zeros_like(x[..., :1])], -1)

  x = np.asarray(jax.random.normal(jax.random.key(4), (6, 17, 2)))
  model = Biased()
  averaged = eval_tasks._flip_averaged(
      model, None, {"pose2d": x}, model.predict(None, {"pose2d": x},
                                                batch_size=8), 8)
  np.testing.assert_allclose(averaged[..., :2], x, atol=1e-6)
  np.testing.assert_array_equal(averaged[..., 2], 0.0)


def test_flip_averaging_swaps_each_keypoints_confidence_with_its_2d():
  """A lift whose depth is each joint's uncertainty: the mirrored lift reads
  the mirrored joint's, so after mirroring back each joint's depth is its
  own again (an uncertainty left unswapped would give the other side's)."""
  from jaxpose.methods.baseline import eval_tasks

  class ReadsConfidence:
    representation = _model(tiny_config())[0].representation
    uncertainty = "confidence"

    def predict(self, params, rows, *, batch_size):
      del params, batch_size
      x = np.asarray(rows["pose2d"])
      return np.concatenate([x, rows[lifting.UNCERTAINTY][..., None]], -1)

  x = np.asarray(jax.random.normal(jax.random.key(5), (4, 17, 2)))
  conf = np.asarray(jax.random.uniform(jax.random.key(6), (4, 17)))
  rows = {"pose2d": x, lifting.UNCERTAINTY: conf}
  model = ReadsConfidence()
  averaged = eval_tasks._flip_averaged(
      model, None, rows, model.predict(None, rows, batch_size=8), 8)
  np.testing.assert_allclose(averaged[..., 2], conf, atol=1e-6)


# --------------------------------------------------------------- end to end
@pytest.mark.slow
def test_train_evaluate_is_deterministic(tmp_path):
  config = tiny_config()
  results = []
  for name in ("a", "b"):
    workdir = tmp_path / name
    state = run_lib.train(config, str(workdir))
    assert int(state.step) == 10
    results.append(run_lib.evaluate(config, str(workdir)))
    on_disk = json.loads((workdir / "eval" / "estimate.json").read_text())
    assert on_disk == results[-1]
  r = results[0]
  metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
  summary = metrics["estimate"]
  full = json.loads((tmp_path / "a" / "eval" / "estimate.json").read_text())
  assert full == r
  for key in ("mpjpe_mm", "pa_mpjpe_mm", "min_mpjpe_mm", "min_pa_mpjpe_mm",
              "mean_hypothesis_mpjpe_mm", "apd_mm", "best_of_h",
              "num_hypotheses", "num_poses", "task", "train_step"):
    assert key in summary, key
  assert summary["mpjpe_mm"] == r["mpjpe_mm"]
  assert summary["results_file"] == "eval/estimate.json"
  # The summary picture: the task's first plot, beside metrics.json.
  assert summary["picture"] == "estimate.png"
  assert (tmp_path / "a" / "estimate.png").stat().st_size > 1000
  assert r["num_hypotheses"] == 1 and r["num_poses"] == 12
  assert r["method"] == "baseline" and r["train_step"] == 10
  # A lifter samples nothing: no sampler fields, rather than placeholders.
  assert "sampler" not in r and "num_steps" not in r
  assert "sampler" not in summary and "num_steps" not in summary
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
  metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
  assert metrics["estimate_again"]["mpjpe_mm"] == again["mpjpe_mm"]
  assert metrics["estimate"] == summary  # the unsuffixed entry is kept
  assert (tmp_path / "a" / "estimate_again.png").exists()


def _holdout_config(num_steps=2, seed=1):
  c = tiny_config(num_steps=num_steps)
  c.holdout = ml_collections.ConfigDict(dict(fraction=0.2, seed=seed))
  return c


def test_holdout_trains_on_the_other_rows_and_is_in_the_fingerprint(
    tmp_path, monkeypatch):
  c = _holdout_config()
  method, run = methods.parse(c)
  train = method.load_data(run, {}).splits["train"]
  n = len(train["pose2d"])
  seen = {}
  real = run_lib.pipeline.ArrayDataset

  def spy(arrays, **kwargs):
    seen.update(arrays)
    return real(arrays, **kwargs)

  monkeypatch.setattr(run_lib.pipeline, "ArrayDataset", spy)
  run_lib.train(c, str(tmp_path))
  trained = run_lib.load_trained(str(tmp_path))
  held = trained.prepared["holdout"]["rows"]
  assert len(held) == 100  # single poses: held out one by one
  assert trained.prepared["holdout"].info["train_rows"] == n == 500
  # The rows the data's own draw names (whole "clips" of one row each).
  np.testing.assert_array_equal(held, np.flatnonzero(
      windows_lib.heldout_clips(np.arange(n), 0.2, seed=1)))
  keep = np.setdiff1d(np.arange(n), held)
  np.testing.assert_array_equal(seen["pose3d"], train["pose3d"][keep])
  np.testing.assert_array_equal(seen["pose2d"], train["pose2d"][keep])
  # Written beside the checkpoints, with the settings it was made from,
  # and its digest in the fingerprint.
  artefacts, index = prepared_lib.load(str(tmp_path))
  np.testing.assert_array_equal(artefacts["holdout"]["rows"], held)
  assert index["made_from"]["holdout.fraction"] == 0.2
  assert index["made_from"]["holdout.seed"] == 1
  fp = json.loads((tmp_path / "checkpoints" / "fingerprint.json").read_text())
  assert fp["prepared"]["holdout"] == artefacts["holdout"].digest()
  # Resuming with other held-out rows would train on the unseen ones:
  # refused by the prepared state, naming the key ...
  with pytest.raises(prepared_lib.PreparedError,
                     match="holdout.seed: 1 there, 2 here"):
    run_lib.train(_holdout_config(num_steps=4, seed=2), str(tmp_path))
  # ... and, with the prepared state gone, by the checkpoint's fingerprint.
  for f in (tmp_path / "prepared").iterdir():
    f.unlink()
  (tmp_path / "prepared").rmdir()
  with pytest.raises(checkpoint_lib.CheckpointMismatchError,
                     match="prepared.holdout"):
    run_lib.train(_holdout_config(num_steps=4, seed=2), str(tmp_path))
  # No held-out rows: nothing prepared, nothing in the fingerprint.
  method, run = methods.parse(tiny_config())
  data = method.load_data(run, {})
  ctx = base.PrepareContext(run=run, data=data, needs={},
                            key=jax.random.key(0))
  assert method.prepare(ctx) == {}
  assert "prepared" not in run_lib.fingerprint(method, run, {}, {})
  training = method.training(method.build(run, {}, {}), data, {})
  np.testing.assert_array_equal(training.arrays["pose3d"],
                                data.splits["train"]["pose3d"])
  bad = tiny_config()
  bad.holdout = ml_collections.ConfigDict(dict(fraction=1.0, seed=0))
  with pytest.raises(settings.ConfigError, match="holdout.fraction"):
    methods.parse(bad)


def _npz_poses(n, seed=0):
  """[n, 17, 3] absolute camera-frame mm, about 4.5 m in front."""
  rng = np.random.default_rng(seed)
  body = rng.uniform(-400, 400, size=(n, 17, 3))
  return body + rng.uniform([-500, -300, 4000], [500, 300, 5000], size=(n, 1, 3))


def test_holdout_evaluated_on_a_test_file_alone_reads_the_stored_rows(
    tmp_path, monkeypatch):
  """A lifter trained with held-out rows, scored on a test-only .npz: the
  held-out rows are read back from the workdir, never drawn again from
  the evaluation's (empty) train split."""
  from experiments.configs import baseline_h36m
  intr = np.array([1100.0, 1090.0, 480.0, 500.0, 960.0, 1000.0])
  np.savez(tmp_path / "train.npz", pose3d=_npz_poses(60), intrinsics=intr)
  np.savez(tmp_path / "test.npz", pose3d=_npz_poses(8, seed=1),
           intrinsics=intr, activity=np.array(["x", "y"] * 4))
  config = baseline_h36m.get_config()
  config.data.update(name="npz", train_path=str(tmp_path / "train.npz"))
  config.model.update(hidden=32)
  config.holdout = ml_collections.ConfigDict(dict(fraction=0.1, seed=0))
  config.train.update(num_steps=4, batch_size=16, log_every=2, ckpt_every=4)
  config.eval.update(plot_poses=0, lift_batch_size=8)
  workdir = str(tmp_path / "w")
  run_lib.train(config, workdir)
  stored = run_lib.load_trained(workdir).prepared["holdout"]
  assert len(stored["rows"]) == 6 and stored.info["train_rows"] == 60
  # The evaluation must not draw held-out rows (0 training rows here).
  def no_draw(*args, **kwargs):
    raise AssertionError("held-out rows drawn again at evaluation")
  monkeypatch.setattr(windows_lib, "heldout_clips", no_draw)
  eval_config = run_lib.evaluation_config(workdir, {
      "data.train_path": "", "data.test_path": str(tmp_path / "test.npz")})
  trained = run_lib.load_trained(workdir, config=eval_config)
  np.testing.assert_array_equal(trained.prepared["holdout"]["rows"],
                                stored["rows"])
  assert trained.prepared["holdout"].digest() == stored.digest()
  results = run_lib.evaluate(eval_config, workdir)
  assert results["num_poses"] == 8 and np.isfinite(results["mpjpe_mm"])
  assert results["activity_names"] == ["x", "y"]
  # Other data than the training data: its own results folder.
  out = run_lib.eval_output_dir(methods.parse(eval_config)[1], workdir)
  assert out != os.path.join(workdir, "eval")
  assert json.loads(open(os.path.join(out, "estimate.json")).read()) == results


def test_gfpose_workdir_is_refused(tmp_path):
  # A directory fingerprinted by a GFPose run (what run_lib.train leaves).
  gf_method, gf_run = methods.parse(quickstart.get_config())
  checkpoint_lib.Checkpointer(
      tmp_path / "checkpoints",
      fingerprint=run_lib.fingerprint(gf_method, gf_run, {}, {}),
      save_every=10).close()
  before = (tmp_path / "checkpoints" / "fingerprint.json").read_text()
  with pytest.raises(checkpoint_lib.CheckpointMismatchError, match="method"):
    run_lib.train(tiny_config(), str(tmp_path))
  after = (tmp_path / "checkpoints" / "fingerprint.json").read_text()
  assert before == after
  assert not (tmp_path / "prepared").exists()
  with pytest.raises(settings.ConfigError,
                     match="mode: baseline does not generate samples"):
    run_lib.run("sample", tiny_config(), str(tmp_path))


def test_config_shares_data_and_budget_with_quickstart():
  b, q = baseline_quickstart.get_config(), quickstart.get_config()
  assert b.method == "baseline" and b.model.name == "lifter_mlp"
  for section in ("data", "representation"):
    assert b[section].to_dict() == q[section].to_dict(), section
  # The same training budget, without the score loss's own keys.
  train = q.train.to_dict()
  for key in ("loss_eps", "loss_reduce"):
    del train[key]
  assert b.train.to_dict() == train
  assert b.seed == q.seed and b.eval.num_poses == q.eval.num_poses
  assert "sampler" not in b.eval  # a lifter has no sampler settings
  # Nor an SDE or condition masking: a lifter's sections only.
  assert "sde" not in b and "mask" not in b
  methods.parse(b)


def test_subtract_root_scores_the_lift_about_its_own_root():
  """A graph lifter predicts its root: `eval.subtract_root` moves each
  lifted pose so that its root is 0, keeping every joint's offset from it
  (as DiffPose scores its encoder)."""
  import types
  from jaxpose.methods.baseline import eval_tasks

  representation = _model(tiny_config())[0].representation
  lifted = np.asarray(jax.random.normal(jax.random.key(7), (5, 17, 3)))

  class PredictsRoot:
    is_temporal = False
    uncertainty = "none"

    def __init__(self):
      self.representation = representation

    def uncertainty_of(self, rows):
      del rows

    def predict(self, params, rows, *, batch_size):
      del params, rows, batch_size
      return lifted

  rows = {"pose2d": np.zeros((5, 17, 2), np.float32)}
  for subtract in (False, True):
    trained = types.SimpleNamespace(
        model=PredictsRoot(), params=None,
        run=types.SimpleNamespace(eval_options=baseline.EvalOptions(
            lift_batch_size=8, subtract_root=subtract)))
    got = eval_tasks._predict_mm(trained, rows)
    want = lifted - lifted[:, :1] if subtract else lifted
    np.testing.assert_allclose(
        got, representation.pose3d_from_model(want, None), rtol=1e-6)
  np.testing.assert_array_equal(got[:, 0], 0.0)
