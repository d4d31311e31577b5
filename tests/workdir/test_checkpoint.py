"""Checkpoints: exact resume, retention, fingerprint guard, corrupt data."""
import hashlib
import json
import pathlib
import shutil
import sys

import jax
import numpy as np
import pytest

from jaxpose.training import parallel
from jaxpose.training import train
from jaxpose.workdir import checkpoint
from tests.helpers import toy

FP = {"model": {"name": "toy_mlp", "hidden": toy.HIDDEN}, "sde": "vpsde",
      "norm": [1.0, 2.0]}
NUM_STEPS = 6
BATCH = 16


def _setup(seed=0):
  graphdef, params = toy.make_model(seed)
  tx = train.make_optimizer(learning_rate=1e-2, warmup_steps=3)
  step = train.make_train_step(toy.make_loss_fn(graphdef), tx,
                               ema_max_decay=0.99)
  return train.init_train_state(params, tx), step, tx


def _leaves(state):
  return [np.asarray(x) for x in jax.tree.leaves(parallel.fetch(state))]


def _assert_same(a, b):
  la, lb = _leaves(a), _leaves(b)
  assert len(la) == len(lb)
  for x, y in zip(la, lb):
    np.testing.assert_array_equal(x, y)  # bitwise


def _tree_digest(directory):
  out = {}
  for p in sorted(pathlib.Path(directory).rglob("*")):
    if p.is_file():
      out[str(p.relative_to(directory))] = hashlib.sha256(
          p.read_bytes()).hexdigest()
  return out


def test_stop_and_resume_is_exact(tmp_path):
  key = jax.random.key(42)
  batch_fn = toy.make_batch_fn(BATCH)

  state, step, _ = _setup()
  full = train.fit(state, step, batch_fn, key=key, num_steps=NUM_STEPS,
                   log_every=100)

  ckdir = tmp_path / "ck"
  state, step, _ = _setup()
  with checkpoint.Checkpointer(ckdir, fingerprint=FP, save_every=3,
                               extra={"mean": [0.5]}) as ck:
    half = train.fit(state, step, batch_fn, key=key,
                     num_steps=NUM_STEPS // 2, checkpointer=ck)
  assert int(parallel.fetch(half.step)) == NUM_STEPS // 2

  # A fresh process would rebuild everything from scratch: another init seed
  # makes sure every leaf comes from the checkpoint.
  fresh, step, _ = _setup(seed=1)
  with pytest.raises(AssertionError):
    _assert_same(fresh, half)
  with checkpoint.Checkpointer(ckdir, fingerprint=FP, save_every=3) as ck:
    assert ck.latest_step() == NUM_STEPS // 2
    restored, extra = ck.restore_or_none(fresh)
    assert extra == {"mean": [0.5]}
    _assert_same(restored, half)
    resumed = train.fit(restored, step, batch_fn, key=key,
                        num_steps=NUM_STEPS, checkpointer=ck)
    assert ck.all_steps() == [3, 6]
  assert int(parallel.fetch(resumed.step)) == NUM_STEPS
  _assert_same(resumed, full)  # params, EMA params and Adam moments

  # The run did move: without the restore the result would differ.
  with pytest.raises(AssertionError):
    _assert_same(half, full)


def test_saves_inside_the_loop_survive_donation(tmp_path):
  """Async saves at steps 2 and 4 while later steps donate the buffers."""
  key = jax.random.key(1)
  batch_fn = toy.make_batch_fn(BATCH)
  state, step, _ = _setup()
  four = train.fit(state, step, batch_fn, key=key, num_steps=4)
  state, step, _ = _setup()
  with checkpoint.Checkpointer(tmp_path, fingerprint=FP, save_every=2,
                               keep=5) as ck:
    train.fit(state, step, batch_fn, key=key, num_steps=NUM_STEPS,
              checkpointer=ck)
    assert ck.all_steps() == [2, 4, 6]
    restored, _ = ck.restore_or_none(_setup(seed=3)[0], step=4)
  _assert_same(restored, four)


def test_restore_from_abstract_state_and_empty_dir(tmp_path):
  state, step, tx = _setup()
  abstract = jax.eval_shape(lambda: state)
  with checkpoint.Checkpointer(tmp_path, fingerprint=FP, save_every=1) as ck:
    assert ck.latest_step() is None
    assert ck.restore_or_none(abstract) is None
    ck.save(0, state)
    ck.wait_until_finished()
    restored, extra = ck.restore_or_none(abstract)
  assert extra == {}
  assert isinstance(restored, train.TrainState)
  _assert_same(restored, state)
  assert restored.params["fc1"]["kernel"][...].sharding.is_fully_replicated


def test_keep_and_interval(tmp_path):
  state, _, _ = _setup()
  with checkpoint.Checkpointer(tmp_path / "a", fingerprint=FP, save_every=1,
                               keep=2) as ck:
    for s in range(1, 6):
      ck.save(s, state)
    ck.wait_until_finished()
    assert ck.all_steps() == [4, 5]
  with checkpoint.Checkpointer(tmp_path / "b", fingerprint=FP, save_every=3,
                               keep=3) as ck:
    saved = [s for s in range(1, 8) if ck.save(s, state)]
    assert saved == [3, 6]
    assert ck.save(7, state, force=True)
    ck.wait_until_finished()
    assert ck.all_steps() == [3, 6, 7]


def test_fingerprint_mismatch_is_refused_and_nothing_changes(tmp_path):
  state, _, _ = _setup()
  with checkpoint.Checkpointer(tmp_path, fingerprint=FP, save_every=1) as ck:
    ck.save(1, state)
  before = _tree_digest(tmp_path)
  assert "fingerprint.json" in before and any(k.startswith("1/") for k in before)

  other = {"model": {"name": "toy_mlp", "hidden": 32}, "sde": "vpsde",
           "norm": [1.0, 2.0], "extra_key": True}
  with pytest.raises(checkpoint.CheckpointMismatchError) as err:
    checkpoint.Checkpointer(tmp_path, fingerprint=other, save_every=1)
  msg = str(err.value)
  assert str(tmp_path) in msg
  assert "model.hidden: stored 16, requested 32" in msg
  assert "extra_key: stored '<absent>', requested True" in msg
  assert "another workdir" in msg
  assert "sde" not in msg.split("differing keys")[1]  # equal keys not listed
  assert _tree_digest(tmp_path) == before

  # Tuples and lists are the same JSON: not a mismatch.
  same = dict(FP, norm=(1.0, 2.0))
  checkpoint.Checkpointer(tmp_path, fingerprint=same, save_every=1).close()


def test_corrupt_checkpoint_gives_clear_error(tmp_path):
  state, _, _ = _setup()
  with checkpoint.Checkpointer(tmp_path, fingerprint=FP, save_every=1) as ck:
    ck.save(1, state)
    ck.save(2, state)
  for p in (tmp_path / "2" / "state").rglob("*"):
    if p.is_file() and p.name != "commit_success.txt":
      p.write_bytes(b"garbage")
  with checkpoint.Checkpointer(tmp_path, fingerprint=FP, save_every=1) as ck:
    with pytest.raises(checkpoint.CheckpointError) as err:
      ck.restore_or_none(state)
    # Not skipped silently: the older checkpoint is still there, named.
    assert ck.all_steps() == [1, 2]
  msg = str(err.value)
  assert "\n" not in msg
  assert f"delete {tmp_path / '2'} " in msg
  assert "resumes from step 1, the previous checkpoint" in msg

  # Deleting it, as the message says, resumes from the previous one.
  shutil.rmtree(tmp_path / "2")
  with checkpoint.Checkpointer(tmp_path, fingerprint=FP, save_every=1) as ck:
    restored, _ = ck.restore_or_none(state)
  _assert_same(restored, state)

  (tmp_path / "fingerprint.json").write_text("{not json")
  with pytest.raises(checkpoint.CheckpointError, match="fingerprint.json"):
    checkpoint.Checkpointer(tmp_path, fingerprint=FP, save_every=1)


def _assert_no_object_reprs(msg):
  for repr_start in ("<bound method", "<function", " at 0x", "pybind11",
                     "tensorstore_spec"):
    assert repr_start not in msg, msg


def test_truncated_array_data_names_the_file_not_an_object(tmp_path):
  """orbax reports a short data file as an object repr (`<bound method
  ...spec of TensorStore(...)>`); the message gives tensorstore's cause."""
  # Large enough that its values live in a data file of their own (small
  # arrays are stored inline in the OCDBT index).
  state = {"w": jax.numpy.asarray(
      np.random.RandomState(0).randn(64, 64).astype(np.float32))}
  with checkpoint.Checkpointer(tmp_path, fingerprint=FP, save_every=1) as ck:
    ck.save(1, state)
    ck.save(2, state)
  data_files = [p for p in (tmp_path / "2" / "state").rglob("d/*")
                if p.stat().st_size > 64 * 64 * 2]
  assert data_files
  for p in data_files:
    p.write_bytes(p.read_bytes()[:p.stat().st_size // 2])
  with checkpoint.Checkpointer(tmp_path, fingerprint=FP, save_every=1) as ck:
    with pytest.raises(checkpoint.CheckpointError) as err:
      ck.restore_or_none(state)
  msg = str(err.value)
  assert "\n" not in msg
  _assert_no_object_reprs(msg)
  assert f"checkpoint {tmp_path / '2'} cannot be read" in msg
  assert "is not valid for value of size" in msg  # tensorstore's cause
  assert "resumes from step 1" in msg


def test_corrupt_json_file_is_named(tmp_path):
  state, _, _ = _setup()
  with checkpoint.Checkpointer(tmp_path, fingerprint=FP, save_every=1) as ck:
    ck.save(1, state)
  (tmp_path / "1" / "state" / "_METADATA").write_text("{not json")
  with checkpoint.Checkpointer(tmp_path, fingerprint=FP, save_every=1) as ck:
    with pytest.raises(checkpoint.CheckpointError) as err:
      ck.restore_or_none(state)
  msg = str(err.value)
  assert "state/_METADATA is not valid JSON: JSONDecodeError" in msg
  assert "training then starts from step 0" in msg
  _assert_no_object_reprs(msg)


def test_causes_lose_object_reprs_and_specs():
  inner = ValueError(
      'DATA_LOSS: Error opening "cast" driver: Error opening "zarr" driver: '
      'Error reading "w/0.0" in local file "/ck/2/state/": bad checksum '
      "[tensorstore_spec='{\"driver\":\"zarr\"}']")
  outer = Exception(
      "Encountered error while reading array index: (slice(0, 4, 1),). See "
      "full TensorStore details: <bound method pybind11_detail_function_"
      "record_v1.spec of TensorStore({\n  'base': {}})>.")
  outer.__cause__ = inner
  assert checkpoint._first_line(outer) == (
      'ValueError: DATA_LOSS: Error reading "w/0.0" in local file '
      '"/ck/2/state/": bad checksum')
  # Alone, the wrapper keeps its words and loses the repr.
  alone = checkpoint._first_line(Exception(
      "failed in <function load at 0x7f3a2b> with <Foo object at 0xdeadbeef> "
      "and <bound method Store.spec of Store(a=1)>"))
  assert alone == "Exception: failed in with and"
  _assert_no_object_reprs(alone)
  assert checkpoint._first_line(RuntimeError("<function f at 0x1>")) == (
      "RuntimeError")


def test_failed_restore_leaves_no_event_loop_noise(tmp_path):
  """orbax's late 'Event loop is closed' reports are dropped, others kept."""
  state, _, _ = _setup()
  with checkpoint.Checkpointer(tmp_path, fingerprint=FP, save_every=1) as ck:
    ck.save(1, state)
  (tmp_path / "1" / "state" / "manifest.ocdbt").unlink()
  with checkpoint.Checkpointer(tmp_path, fingerprint=FP, save_every=1) as ck:
    with pytest.raises(checkpoint.CheckpointError, match="manifest|NOT_FOUND"):
      ck.restore_or_none(state)
  # The hook that drops them is in place, and drops only them.
  assert getattr(sys.unraisablehook, "_jaxpose_quiet_loop", False)
  assert checkpoint._is_closed_loop_noise(RuntimeError("Event loop is closed"))
  assert not checkpoint._is_closed_loop_noise(RuntimeError("other"))
  assert not checkpoint._is_closed_loop_noise(
      ValueError("Event loop is closed"))


def test_missing_fingerprint_beside_checkpoints_is_refused(tmp_path):
  state, _, _ = _setup()
  with checkpoint.Checkpointer(tmp_path, fingerprint=FP, save_every=1) as ck:
    ck.save(1, state)
  (tmp_path / "fingerprint.json").unlink()
  before = _tree_digest(tmp_path)
  other = dict(FP, model={"name": "toy_mlp", "hidden": 32})
  for fp in (other, FP):  # any fingerprint: nothing says which is right
    with pytest.raises(checkpoint.CheckpointError) as err:
      checkpoint.Checkpointer(tmp_path, fingerprint=fp, save_every=1)
    msg = str(err.value)
    assert "no fingerprint.json" in msg and "steps 1" in msg
    assert str(tmp_path / "1" / "meta" / "metadata") in msg
    assert "another workdir" in msg
  assert _tree_digest(tmp_path) == before  # nothing written

  # Restored from the checkpoint's meta, as the message says: it opens.
  meta = json.loads((tmp_path / "1" / "meta" / "metadata").read_text())
  (tmp_path / "fingerprint.json").write_text(json.dumps(meta["fingerprint"]))
  with checkpoint.Checkpointer(tmp_path, fingerprint=FP, save_every=1) as ck:
    assert ck.latest_step() == 1
  with pytest.raises(checkpoint.CheckpointMismatchError, match="hidden"):
    checkpoint.Checkpointer(tmp_path, fingerprint=other, save_every=1)


def test_read_only_writes_nothing(tmp_path):
  state, _, _ = _setup()
  ro = checkpoint.Checkpointer(tmp_path / "none", fingerprint=FP, save_every=1,
                               read_only=True)
  assert ro.restore_or_none(state) is None and ro.latest_step() is None
  ro.close()
  assert not (tmp_path / "none").exists()
  with checkpoint.Checkpointer(tmp_path / "ck", fingerprint=FP,
                               save_every=1) as ck:
    ck.save(1, state)
  before = _tree_digest(tmp_path / "ck")
  with checkpoint.Checkpointer(tmp_path / "ck", fingerprint=FP, save_every=1,
                               read_only=True) as ro:
    restored, _ = ro.restore_or_none(state)
    with pytest.raises(checkpoint.CheckpointError, match="read-only"):
      ro.save(2, state)
  _assert_same(restored, state)
  assert _tree_digest(tmp_path / "ck") == before


def test_bad_arguments():
  with pytest.raises(ValueError, match="JSON"):
    checkpoint.Checkpointer("unused", fingerprint={"f": object()},
                            save_every=1)
  with pytest.raises(ValueError, match="save_every"):
    checkpoint.Checkpointer("unused", fingerprint={}, save_every=0)


def test_diverged_training_raises_and_keeps_the_last_good_checkpoint(tmp_path):
  clean = toy.make_batch_fn(BATCH)

  def batch_fn(step):  # NaN data from the 5th update on
    batch = clean(step)
    if step >= 4:
      batch["x"] = np.full_like(batch["x"], np.nan)
    return batch

  state, step, _ = _setup()
  ckdir = tmp_path / "ck"
  with checkpoint.Checkpointer(ckdir, fingerprint=FP, save_every=2) as ck:
    with pytest.raises(train.TrainingDivergedError,
                       match=r"at step 6: the loss is nan; .*the last "
                       r"checkpoint on disk is step 4") as err:
      train.fit(state, step, batch_fn, key=jax.random.key(0), num_steps=8,
                checkpointer=ck, log_every=100)
    assert err.value.last_checkpoint == 4
    assert ck.all_steps() == [2, 4]
  template, _, _ = _setup()
  with checkpoint.Checkpointer(ckdir, fingerprint=FP, save_every=2) as ck:
    restored, _ = ck.restore_or_none(template)
  for leaf in jax.tree.leaves(parallel.fetch(restored.params)):
    assert np.all(np.isfinite(np.asarray(leaf)))


def _exploding(lr, warmup):
  graphdef, params = toy.make_model(0)
  tx = train.make_optimizer(learning_rate=lr, warmup_steps=warmup)
  step = train.make_train_step(toy.make_loss_fn(graphdef), tx)
  return train.init_train_state(params, tx), step


def test_exploding_parameters_are_never_saved(tmp_path):
  """learning_rate=1e36, a checkpoint every step (the issue's run).

  The warm-up makes update 1 a no-op (rate 0), so step 1 is a good state,
  saved asynchronously; update 2 overflows the parameters while its loss,
  computed before the update, is still finite.
  """
  state, step = _exploding(1e36, warmup=2)
  with checkpoint.Checkpointer(tmp_path, fingerprint=FP, save_every=1) as ck:
    with pytest.raises(train.TrainingDivergedError) as err:
      train.fit(state, step, toy.make_batch_fn(BATCH), key=jax.random.key(0),
                num_steps=5, checkpointer=ck, log_every=100)
  msg = str(err.value)
  assert "at step 2: the parameter norm is inf" in msg
  assert f"last checkpoint on disk is step 1 ({tmp_path / '1'})" in msg
  # What the message names is on disk, complete, and all there is.
  assert sorted(p.name for p in tmp_path.iterdir()) == ["1", "fingerprint.json"]
  template, step = _exploding(1e36, warmup=2)
  with checkpoint.Checkpointer(tmp_path, fingerprint=FP, save_every=1) as ck:
    restored, _ = ck.restore_or_none(template)
  assert int(parallel.fetch(restored.step)) == 1
  _assert_same(restored.params, _exploding(1e36, warmup=2)[0].params)

  # Without a warm-up the first update already overflows: nothing saved.
  state, step = _exploding(1e36, warmup=0)
  with checkpoint.Checkpointer(tmp_path / "b", fingerprint=FP,
                               save_every=1) as ck:
    with pytest.raises(train.TrainingDivergedError,
                       match="at step 1: .*no checkpoint is on disk"):
      train.fit(state, step, toy.make_batch_fn(BATCH), key=jax.random.key(0),
                num_steps=5, checkpointer=ck)
  assert [p.name for p in (tmp_path / "b").iterdir()] == ["fingerprint.json"]


def test_a_finite_parameter_norm_jump_stops_training(tmp_path):
  # lr=10: finite parameters, but their norm grows far past x10 at once.
  state, step = _exploding(10.0, warmup=0)
  with checkpoint.Checkpointer(tmp_path, fingerprint=FP, save_every=4) as ck:
    with pytest.raises(train.TrainingDivergedError,
                       match=r"at step 2: the parameter norm jumped from "
                       r".* \(more than x10 since the last check\)"):
      train.fit(state, step, toy.make_batch_fn(BATCH), key=jax.random.key(0),
                num_steps=8, checkpointer=ck, log_every=2,
                max_param_norm_growth=10.0)
    assert ck.all_steps() == []
