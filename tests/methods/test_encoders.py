"""DiffPose's context encoders as baseline lifters: the graph and temporal
lifters trained and evaluated through run_lib, the `protocols.ContextEncoder` a
trained one provides (`baseline.encoder.context_encoder`), each row's
window of its own clip and camera, and the clear errors."""
import json

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from experiments.configs import baseline_quickstart
from experiments.configs import encoder_mocap
from experiments.configs import encoder_quickstart
from jaxpose import digest as digest_lib
from jaxpose import methods
from jaxpose import run_lib
from jaxpose import settings
from jaxpose.data import datasets
from jaxpose.data import synthetic
from jaxpose.evaluation import runner
from jaxpose.methods import base
from jaxpose.methods import protocols
from jaxpose.methods.baseline import encoder as encoder_lib

FRAMES, CAMERAS = 6, 2


@datasets.register("test_encoder_clips")
def _clips(data_config):
  """Clips of FRAMES frames seen by CAMERAS cameras, rows shuffled.

  data.views: 'all' (every camera sees every frame), 'random' (one row per
  frame, from a random camera) or 'none' (no clip, frame or camera fields).
  """
  out = {}
  for i, (name, clips) in enumerate((("train", 6), ("test", 3))):
    # Row r of the grid: clip r // (F C), frame 2 ((r // C) % F), camera r % C.
    r = np.arange(clips * FRAMES * CAMERAS)
    if data_config["views"] == "random":  # one row per frame, its own camera
      r = r[r % CAMERAS == 0] + np.random.default_rng(i).integers(
          0, CAMERAS, clips * FRAMES)
    r = np.random.default_rng(i).permutation(r)
    n = len(r)
    s = synthetic.make_lifting_dataset(n, 1, seed=i)["train"]
    split = dict(pose3d=s["pose3d"].astype(np.float32),
                 pose2d=s["pose2d"].astype(np.float32),
                 activity=np.zeros(n, np.int32))
    if data_config["views"] != "none":
      split.update(clip=np.array([f"c{k}" for k in r // (FRAMES * CAMERAS)]),
                   frame=(2 * ((r // CAMERAS) % FRAMES)).astype(np.int32),
                   camera=(r % CAMERAS).astype(np.int32))
    out[name] = split
  return out


def tiny_config(model, *, views="all", short_clips="error", num_steps=4):
  c = baseline_quickstart.get_config()
  c.model = ml_collections.ConfigDict(model)
  c.data = ml_collections.ConfigDict(dict(name="test_encoder_clips", views=views))
  c.windows = ml_collections.ConfigDict(dict(short_clips=short_clips))
  c.train.update(num_steps=num_steps, batch_size=8, log_every=2,
                 ckpt_every=num_steps, warmup_steps=2)
  # 7 of the 36 test rows in chunks of 4: the last chunk is padded.
  c.eval.update(num_poses=7, lift_batch_size=4, plot_poses=0)
  return c


GRAPH = dict(name="graph_lifter", hidden=8, num_layers=1, num_heads=2)
# No graph layers: the window wiring is what is tested, and it compiles fast.
TEMPORAL = dict(name="temporal_lifter", num_frames=5, hidden=8,
                num_spatial_layers=0, num_head_layers=0, num_heads=2)


def hand_window(rows, i, length):
  """Row i's window found the slow way: same clip and camera, frames
  f - 2h ... f + 2h in steps of 2, clamped to the clip's frames."""
  same = np.flatnonzero((rows["clip"] == rows["clip"][i])
                        & (rows["camera"] == rows["camera"][i]))
  by_frame = dict(zip(rows["frame"][same].tolist(), same.tolist()))
  lo, hi = min(by_frame), max(by_frame)
  h = length // 2
  return [by_frame[int(np.clip(rows["frame"][i] + 2 * o, lo, hi))]
          for o in range(-h, h + 1)]


def _data(config):
  """(the method, its run settings, its data) of a config."""
  method, run = methods.parse(config)
  return method, run, method.load_data(run, {})


def _scored(data, num: int) -> np.ndarray:
  """The test rows an evaluation of `num` poses scores."""
  n = len(data.splits["test"]["pose2d"])
  return runner.scored_rows({"row": np.arange(n)}, num,
                            data.dataset.test_order)[0]["row"]


def test_graph_lifter_trains_evaluates_and_encodes(tmp_path):
  config = tiny_config(GRAPH)
  state = run_lib.train(config, str(tmp_path))
  assert int(state.step) == 4
  result = run_lib.evaluate(config, str(tmp_path))
  on_disk = json.loads((tmp_path / "eval" / "estimate.json").read_text())
  assert on_disk == result and result["model"] == "graph_lifter"
  assert result["num_hypotheses"] == 1 and result["num_poses"] == 7
  assert np.isfinite(result["mpjpe_mm"]) and "sampler" not in result
  # What DiffPose does with a trained encoder: reload, encode rows.
  trained = run_lib.load_trained(str(tmp_path))
  encoder = encoder_lib.context_encoder(trained)
  assert isinstance(encoder, protocols.ContextEncoder)
  assert encoder.feature_dim == 8 and trained.model.num_frames == 1
  assert encoder.network == "graph_lifter"
  assert encoder.workdir == str(tmp_path)
  assert encoder.digest == digest_lib.digest(trained.params)
  _, _, data = _data(config)
  assert encoder.heldout_rows(data.splits["train"]) is None  # none held out
  test = data.splits["test"]
  features, pose3d = encoder.encode(test, batch_size=4)
  assert features.shape == (36, 17, 8) and pose3d.shape == (36, 17, 3)
  assert isinstance(features, np.ndarray) and features.dtype == np.float32
  # The reloaded encoder predicts what the evaluation lifted.
  lifted = trained.model.predict(trained.params, test, batch_size=4)
  np.testing.assert_allclose(pose3d, lifted, rtol=1e-5, atol=1e-6)
  scored = _scored(data, 7)
  pred_mm = trained.model.representation.pose3d_from_model(lifted[scored])
  err = np.linalg.norm(pred_mm - test["pose3d_mm"][scored], axis=-1).mean()
  assert result["mpjpe_mm"] == pytest.approx(float(err), rel=1e-4)
  rows = np.array([3, 0, 35, 8, 1])
  some = trained.model.predict(trained.params, test, batch_size=4,
                               row_indices=rows)
  np.testing.assert_allclose(some, pose3d[rows], rtol=1e-5, atol=1e-6)
  # Encoding a subset of the rows (one frame each) gives their rows.
  sub_features, sub_pose3d = encoder.encode(
      {"pose2d": test["pose2d"][rows]}, batch_size=4)
  np.testing.assert_allclose(sub_pose3d, pose3d[rows], rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(sub_features, features[rows], rtol=1e-5,
                             atol=1e-6)
  # The estimate is the encoder's 3D (root as predicted, not zeroed).
  assert np.any(lifted[:, 0] != 0.0)
  with pytest.raises(ValueError, match=r"rows\['pose2d'\]: expected shape "
                     r"\(N, 17, 2\)"):
    encoder.encode({"pose2d": test["pose2d"][:, :16]}, batch_size=4)
  with pytest.raises(ValueError, match="row_indices"):
    trained.model.predict(trained.params, test, batch_size=4,
                          row_indices=np.array([36]))


def test_temporal_lifter_reads_each_rows_own_window(tmp_path):
  config = tiny_config(TEMPORAL)
  run_lib.train(config, str(tmp_path))
  result = run_lib.evaluate(config, str(tmp_path))
  assert result["model"] == "temporal_lifter" and result["num_frames"] == 5
  trained = run_lib.load_trained(str(tmp_path))
  model, params = trained.model, trained.params
  encoder = encoder_lib.context_encoder(trained)
  method, _, data = _data(config)
  test = data.splits["test"]
  # The split's windows: one camera's video of one clip, centred, by hand.
  for i in range(len(test["pose2d"])):
    assert test["window"][i].tolist() == hand_window(test, i, 5), i
  features, pose3d = encoder.encode(test, batch_size=4)
  assert features.shape == (36, 17, 8) and pose3d.shape == (36, 17, 3)
  direct = jax.jit(model.network.apply)(
      params, jnp.asarray(test["pose2d"][test["window"]]))
  np.testing.assert_allclose(pose3d, direct.pose3d, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(features, direct.features, rtol=1e-5, atol=1e-5)
  # The estimate of the 7 rows it scored used the same windows.
  scored = _scored(data, 7)
  pred_mm = model.representation.pose3d_from_model(pose3d[scored])
  err = np.linalg.norm(pred_mm - test["pose3d_mm"][scored], axis=-1).mean()
  assert result["mpjpe_mm"] == pytest.approx(float(err), rel=1e-4)
  # encode draws windows from the rows it is given: the first 3 frames of a
  # clip alone are shorter than the window.
  part = np.flatnonzero((test["clip"] == "c0") & (test["frame"] <= 4))
  rows = {k: test[k][part] for k in ("pose2d", "clip", "frame", "camera")}
  with pytest.raises(ValueError, match="window of 5 frames is longer than"):
    encoder.encode(rows, batch_size=4)
  # Training batches name windows by row; the loss gathers their 2D.
  training = method.training(model, data, trained.prepared)
  assert tuple(training.arrays) == ("pose3d", "window")
  train = data.splits["train"]
  np.testing.assert_array_equal(training.arrays["window"], train["window"])
  pick = np.array([5, 0, 17, 3])
  batch = {"pose3d": train["pose3d"][pick], "window": train["window"][pick]}
  key = jax.random.key(1)

  @jax.jit
  def losses(params, batch, pose2d):
    # The same loss from windows gathered by hand (same key: same dropout).
    pred = model.lift(params, pose2d, train=True, key=key)
    return (training.loss(params, batch, key)[0],
            jnp.mean(jnp.square(pred - batch["pose3d"])))

  loss, want = losses(params, batch, train["pose2d"][train["window"][pick]])
  assert float(loss) == pytest.approx(float(want), rel=1e-5)


def test_clear_errors():
  # The synthetic quickstart data have no clips.
  with pytest.raises(ValueError, match="no per-row clip and frame.*graph_lifter"):
    _data(tiny_config(TEMPORAL, views="none"))
  # One camera per frame: a window would mix views.
  with pytest.raises(ValueError, match="clip 'c0' is not seen whole by each of "
                     "its cameras.*mix views.*train_cameras='all'"):
    _data(tiny_config(TEMPORAL, views="random"))
  # Clips of 6 frames, a window of 7: named, unless padded.
  long = dict(TEMPORAL, num_frames=7)
  with pytest.raises(ValueError, match=(
      r"the train split.*window of 7 frames is longer than 12 clip run.*"
      r"\(6 frames\).*short_clips='pad'")):
    _data(tiny_config(long))
  padded = _data(tiny_config(long, short_clips="pad"))[2].splits["test"]
  assert padded["window"].shape == (36, 7)
  with pytest.raises(settings.ConfigError,
                     match="windows.short_clips: expected one of"):
    methods.parse(tiny_config(TEMPORAL, short_clips="skip"))
  with pytest.raises(settings.ConfigError,
                     match="model.name: expected one of lifter_mlp, "
                           "graph_lifter, temporal_lifter"):
    methods.parse(tiny_config(dict(name="score_mlp")))
  with pytest.raises(ValueError, match="num_frames"):
    method, run = methods.parse(tiny_config(dict(TEMPORAL, num_frames=4)))
    method.build(run, {}, {})
  # The MLP has no per-joint features to condition DiffPose on.
  method, run = methods.parse(baseline_quickstart.get_config())
  mlp = method.build(run, {}, {})
  assert mlp.feature_dim is None
  trained = base.Trained(method=method, run=run, model=mlp, params=None,
                         prepared={}, needs={}, workdir="runs/mlp", step=0)
  with pytest.raises(settings.ConfigError,
                     match="runs/mlp: its network 'lifter_mlp' gives no "
                           "per-joint features.*graph_lifter"):
    encoder_lib.context_encoder(trained)


def test_encoder_configs():
  q = encoder_quickstart.get_config()
  b = baseline_quickstart.get_config()
  assert q.model.name == "graph_lifter" and q.model.hidden == 96
  assert (q.model.num_layers, q.model.num_heads) == (5, 4)
  for section in ("data", "representation", "eval"):
    assert q[section].to_dict() == b[section].to_dict(), section
  method, run = methods.parse(q)
  assert method.build(run, {}, {}).feature_dim == 96
  assert run.sections.holdout.fraction == 0.0  # the quickstart's results hold out none
  for variant, frames in (("graph", 1), ("temporal27", 27), ("temporal81", 81),
                          ("temporal27_cpu", 27), ("temporal81_cpu", 81)):
    c = encoder_mocap.get_config(variant)
    method, run = methods.parse(c)  # no data are loaded here: no caches needed
    assert method.build(run, {}, {}).num_frames == frames
    assert run.sections.holdout.fraction == 0.1
    if frames > 1:
      assert c.data.train_cameras == c.data.test_cameras == "all"
    if variant.endswith("_cpu"):
      assert (c.model.hidden, c.model.num_spatial_layers) == (64, 1)
  with pytest.raises(ValueError, match="variant"):
    encoder_mocap.get_config("temporal9")


def test_a_temporal_lifter_lifts_a_video_along_its_windows(tmp_path):
  from jaxpose import lift
  from jaxpose.data import datasets
  from jaxpose.pose import cameras as cam_lib
  config = tiny_config(TEMPORAL)
  run_lib.train(config, str(tmp_path / "w"))
  trained = run_lib.load_trained(str(tmp_path / "w"))
  _, _, data = _data(config)
  test = data.splits["test"]
  # One camera's video of one clip, in frame order, as a detector's file
  # (the dataset's screen 2D in pixels; the method's rows are in its units).
  rows = np.flatnonzero((test["clip"] == test["clip"][0])
                        & (test["camera"] == test["camera"][0]))
  rows = rows[np.argsort(test["frame"][rows])]
  screen = datasets.load(config.data).splits["test"]["pose2d"][rows]
  w, h = 1000, 1000
  path = str(tmp_path / "video.npz")
  np.savez(path, keypoints=cam_lib.unnormalize_screen(screen, w, h),
           image_size=np.array([w, h]))
  lifted = lift.lift_keypoints(str(tmp_path / "w"), path, num_hypotheses=1)
  # Each frame from its own window of the video, as the clip's rows are.
  expected = trained.model.representation.pose3d_from_model(
      trained.model.predict(trained.params, test, batch_size=4, row_indices=rows))
  np.testing.assert_allclose(lifted.mean_mm, expected, atol=1e-3)
