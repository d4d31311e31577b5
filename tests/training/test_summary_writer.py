"""TensorBoard event files, read back the way TensorBoard reads them."""
import io
import json
import math

import jax
import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.backend.event_processing import plugin_event_accumulator
from tensorboard.util import tensor_util

from jaxpose import summary_writer
from jaxpose.training import train
from tests.helpers import toy


def _read(logdir):
  """Every scalar and image event under `logdir` (no sampling)."""
  events = event_accumulator.EventAccumulator(
      str(logdir), size_guidance={event_accumulator.SCALARS: 0,
                                  event_accumulator.IMAGES: 0})
  events.Reload()
  return events


def _steps_and_values(events, tag):
  return [(e.step, e.value) for e in events.Scalars(tag)]


def _server_steps_and_values(logdir, tag):
  """What `tensorboard --load_fast=false` serves: its loader purges
  differently (it ignores a run's first purge marker)."""
  events = plugin_event_accumulator.EventAccumulator(
      str(logdir), size_guidance={plugin_event_accumulator.TENSORS: 0})
  events.Reload()
  return [(e.step, float(tensor_util.make_ndarray(e.tensor_proto)))
          for e in events.Tensors(tag)]


def _png(path, pixels):
  Image.fromarray(pixels).save(path, format="PNG")
  return path


# --------------------------------------------------------------- the writer
def test_scalars_and_images_come_back_with_their_steps(tmp_path):
  logdir = tmp_path / "run"
  pixels = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
  plot = _png(tmp_path / "plot.png", np.full((5, 7, 4), 200, np.uint8))
  with summary_writer.SummaryWriter(logdir) as writer:
    assert writer.enabled
    writer.scalars(1, {"a/x": 1.5, "a/np": np.float32(2.5), "a/int": 3,
                       "a/nan": math.nan, "a/inf": np.inf, "a/text": "s",
                       "a/flag": True, "a/list": [1.0, 2.0],
                       "a/array": np.ones(3)})
    writer.scalars(2, {"a/x": -0.25, "a/zero_d": np.asarray(4.0)})
    writer.images(2, {"img/array": pixels})
    writer.images(3, {"img/file": plot})
    writer.flush()
  writer.close()  # a second close is harmless

  events = _read(logdir)
  assert sorted(events.Tags()["scalars"]) == [
      "a/int", "a/np", "a/x", "a/zero_d"]
  assert _steps_and_values(events, "a/x") == [(1, 1.5), (2, -0.25)]
  assert _steps_and_values(events, "a/np") == [(1, 2.5)]
  assert _steps_and_values(events, "a/int") == [(1, 3.0)]
  assert _steps_and_values(events, "a/zero_d") == [(2, 4.0)]

  [array_image] = events.Images("img/array")
  assert (array_image.step, array_image.height, array_image.width) == (2, 4, 6)
  encoded = io.BytesIO(array_image.encoded_image_string)
  np.testing.assert_array_equal(np.asarray(Image.open(encoded)), pixels)
  [file_image] = events.Images("img/file")
  assert (file_image.step, file_image.height, file_image.width) == (3, 5, 7)
  assert file_image.encoded_image_string == plot.read_bytes()


def test_bad_images_and_purge_steps_are_refused(tmp_path):
  with summary_writer.SummaryWriter(tmp_path) as writer:
    with pytest.raises(ValueError, match="uint8"):
      writer.images(0, {"x": np.zeros((4, 4, 3), np.float32)})
    with pytest.raises(ValueError, match="shape"):
      writer.images(0, {"x": np.zeros((4, 4, 2), np.uint8)})
  with pytest.raises(ValueError, match="purge_step"):
    summary_writer.SummaryWriter(tmp_path, purge_step=-1)


def test_flat_scalars_of_a_nested_results_dict():
  figures = {"mpjpe_mm": 50.0, "best_of_h": {1: {"mpjpe_mm": np.float64(60.0)},
                                             "5": {"mpjpe_mm": 40}},
             "per_joint_mm": [1.0, 2.0], "joint_names": ["a", "b"],
             "sampler": "ddim", "converged": True, "apd_mm": None,
             "nan_mm": math.nan, "empty": {}}
  assert summary_writer.flat_scalars(figures, "eval/estimate/") == {
      "eval/estimate/mpjpe_mm": 50.0,
      "eval/estimate/best_of_h/1/mpjpe_mm": 60.0,
      "eval/estimate/best_of_h/5/mpjpe_mm": 40.0}
  assert summary_writer.flat_scalars({"a": {"b": 1}}) == {"a/b": 1.0}


def test_a_later_writer_purges_the_steps_it_writes_again(tmp_path):
  """Writers within one second keep their files, read in order; an
  evaluation between them hides nothing and is not hidden."""
  with summary_writer.SummaryWriter(tmp_path, purge_step=1) as stopped:
    for step in range(1, 7):
      stopped.scalars(step, {"loss": float(step)})
  summary_writer.write_evaluation(tmp_path, 3, "estimate", {"mpjpe_mm": 9.0})
  with summary_writer.SummaryWriter(tmp_path, purge_step=4) as resumed:
    resumed.scalars(4, {"loss": 40.0})
    resumed.scalars(5, {"loss": 50.0})
  assert len(list(tmp_path.glob("events.out.tfevents.*"))) == 3
  want = [(1, 1.0), (2, 2.0), (3, 3.0), (4, 40.0), (5, 50.0)]
  assert _steps_and_values(_read(tmp_path), "loss") == want
  assert _server_steps_and_values(tmp_path, "loss") == want
  for read in (lambda tag: _steps_and_values(_read(tmp_path), tag),
               lambda tag: _server_steps_and_values(tmp_path, tag)):
    assert read("eval/estimate/mpjpe_mm") == [(3, 9.0)]


def test_write_evaluation(tmp_path, caplog):
  plot = _png(tmp_path / "estimate_hypotheses.png",
              np.zeros((3, 3, 3), np.uint8))
  other = _png(tmp_path / "curve.png", np.zeros((2, 2, 3), np.uint8))
  figures = {"mpjpe_mm": 50.0, "per_activity": {"mpjpe_mm": {"0": 30.0}},
             "plots": ["estimate_hypotheses.png"], "per_joint_mm": [1.0]}
  summary_writer.write_evaluation(tmp_path / "workdir", 120, "estimate",
                                  figures,
                                  [plot, other, tmp_path / "missing.png"])
  assert "missing.png" in caplog.text
  events = _read(tmp_path / "workdir")
  assert sorted(events.Tags()["scalars"]) == [
      "eval/estimate/mpjpe_mm", "eval/estimate/per_activity/mpjpe_mm/0"]
  assert _steps_and_values(events, "eval/estimate/mpjpe_mm") == [(120, 50.0)]
  assert sorted(events.Tags()["images"]) == ["eval/estimate/curve",
                                             "eval/estimate/hypotheses"]
  assert events.Images("eval/estimate/hypotheses")[0].step == 120


def test_other_processes_write_nothing(tmp_path, monkeypatch):
  monkeypatch.setattr(jax, "process_index", lambda: 1)
  logdir = tmp_path / "runs" / "one"
  with summary_writer.SummaryWriter(logdir, purge_step=3) as writer:
    assert not writer.enabled
    writer.scalars(1, {"loss": 1.0})
    writer.images(1, {"img": np.zeros((2, 2, 3), np.uint8)})
    writer.flush()
  summary_writer.write_evaluation(logdir, 1, "estimate", {"mpjpe_mm": 1.0})
  assert not (tmp_path / "runs").exists()


# ---------------------------------------------------------------- training
def _toy():
  graphdef, params = toy.make_model(0)
  tx = train.make_optimizer(learning_rate=2e-2, warmup_steps=5)
  step = train.make_train_step(toy.make_loss_fn(graphdef), tx,
                               ema_max_decay=0.9)
  return graphdef, train.init_train_state(params, tx), step


def test_fit_writes_train_scalars_at_each_log_step(tmp_path):
  metrics_path = tmp_path / "metrics.jsonl"
  _, state, step = _toy()
  train.fit(state, step, toy.make_batch_fn(16), key=jax.random.key(0),
            num_steps=5, log_every=2, metrics_path=metrics_path,
            summary_dir=tmp_path)
  rows = [json.loads(l) for l in metrics_path.read_text().splitlines()]
  events = _read(tmp_path)
  assert sorted(events.Tags()["scalars"]) == [
      "train/ema_decay", "train/grad_norm", "train/learning_rate",
      "train/loss", "train/mse", "train/param_norm", "train/steps_per_sec"]
  for tag, field in [("train/loss", "loss"), ("train/grad_norm", "grad_norm"),
                     ("train/learning_rate", "lr"),
                     ("train/param_norm", "param_norm"),
                     ("train/steps_per_sec", "steps_per_sec")]:
    logged = _steps_and_values(events, tag)
    assert [s for s, _ in logged] == [2, 4, 5], tag
    # Event files hold float32.
    np.testing.assert_allclose([v for _, v in logged],
                               [r[field] for r in rows], rtol=1e-6)


def test_resumed_fit_hides_the_steps_of_the_interrupted_run(tmp_path):
  batch_fn = toy.make_batch_fn(16)
  _, state, step = _toy()
  state = train.fit(state, step, batch_fn, key=jax.random.key(0),
                    num_steps=4, log_every=2, summary_dir=tmp_path)
  # As if the run had gone on to step 8 and died before saving past step 4.
  with summary_writer.SummaryWriter(tmp_path) as stopped:
    for stale_step in (6, 8):
      stopped.scalars(stale_step, {"train/loss": 123.0})
  state = train.fit(state, step, batch_fn, key=jax.random.key(0),
                    num_steps=8, log_every=2, summary_dir=tmp_path)
  logged = _steps_and_values(_read(tmp_path), "train/loss")
  assert [s for s, _ in logged] == [2, 4, 6, 8]
  assert all(v != 123.0 for _, v in logged)
  assert _server_steps_and_values(tmp_path, "train/loss") == logged
  files = sorted(tmp_path.glob("events.out.tfevents.*"))
  assert len(files) == 3
  # Nothing to do: no new event file.
  train.fit(state, step, batch_fn, key=jax.random.key(0), num_steps=8,
            summary_dir=tmp_path)
  assert sorted(tmp_path.glob("events.out.tfevents.*")) == files


def test_fit_closes_the_event_file_when_a_step_fails(tmp_path):
  def stop_at_three(done, state, metrics):
    del state, metrics
    if done == 3:
      raise RuntimeError("stop")

  _, state, step = _toy()
  with pytest.raises(RuntimeError, match="stop"):
    train.fit(state, step, toy.make_batch_fn(16), key=jax.random.key(0),
              num_steps=6, log_every=2, summary_dir=tmp_path,
              hooks=[stop_at_three])
  assert [s for s, _ in _steps_and_values(_read(tmp_path), "train/loss")
          ] == [2]
