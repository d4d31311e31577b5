"""Optimiser, EMA, train step and the training loop."""
import json
import logging as py_logging

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from jaxpose.training import parallel
from jaxpose.training import train
from tests.helpers import toy


# ------------------------------------------------------------------ optimiser
def test_warmup_schedule_values():
  sched = train.make_lr_schedule(2e-4, 5000)
  for step, want in [(0, 0.0), (1, 2e-4 / 5000), (2500, 1e-4), (4999, 2e-4 *
                     4999 / 5000), (5000, 2e-4), (10**6, 2e-4)]:
    np.testing.assert_allclose(sched(step), want, rtol=1e-6, atol=1e-12)
  np.testing.assert_allclose(train.make_lr_schedule(1e-3, 0)(0), 1e-3)


def test_optimizer_uses_and_reports_the_warmup_rate():
  tx = train.make_optimizer(learning_rate=1.0, warmup_steps=4, grad_clip=None)
  params = {"w": jnp.zeros(3)}
  state = tx.init(params)
  grads = {"w": jnp.array([1.0, -2.0, 0.5])}
  for k in range(6):
    updates, state = tx.update(grads, state, params)
    lr = min(k / 4, 1.0)
    np.testing.assert_allclose(train.current_learning_rate(state), lr)
    # Adam with a constant gradient: m_hat / sqrt(v_hat) = sign(g).
    np.testing.assert_allclose(updates["w"], -lr * np.sign(grads["w"]),
                               rtol=1e-5, atol=1e-7)
  assert train.current_learning_rate(optax.adam(1e-3).init(params)) is None


@pytest.mark.parametrize("scale", [1e-3, 1e3])
def test_clipping_bounds_the_gradient_fed_to_adam(scale):
  g = {"a": jnp.array([3.0, 4.0]) * scale, "b": jnp.array([12.0]) * scale}
  norm = 13.0 * scale
  params = jax.tree.map(jnp.zeros_like, g)

  def first_moment(tx):
    _, state = tx.update(g, tx.init(params), params)
    return optax.tree_utils.tree_get(state, "mu")

  mu = first_moment(train.make_optimizer(grad_clip=1.0, b1=0.9))
  # mu = (1 - b1) * clip(g): the clipped gradient has norm min(|g|, 1).
  want = jax.tree.map(lambda x: 0.1 * x * min(1.0, 1.0 / norm), g)
  chex.assert_trees_all_close(mu, want, rtol=1e-5)
  assert float(optax.tree.norm(mu)) <= 0.1 * 1.0 + 1e-6
  unclipped = first_moment(train.make_optimizer(grad_clip=None, b1=0.9))
  chex.assert_trees_all_close(unclipped, jax.tree.map(lambda x: 0.1 * x, g),
                              rtol=1e-5)


def test_weight_decay_is_decoupled():
  tx = train.make_optimizer(learning_rate=0.5, warmup_steps=0, grad_clip=None,
                            weight_decay=0.1)
  params = {"w": jnp.array([2.0])}
  updates, _ = tx.update({"w": jnp.array([0.0])}, tx.init(params), params)
  np.testing.assert_allclose(updates["w"], [-0.5 * 0.1 * 2.0], rtol=1e-6)


# ------------------------------------------------------------------------ EMA
def test_ema_decay_values():
  assert train.ema_decay(0) == pytest.approx(0.1)
  assert train.ema_decay(1) == pytest.approx(2 / 11)
  assert train.ema_decay(90) == pytest.approx(0.91)
  assert train.ema_decay(10**7) == pytest.approx(0.9999)
  assert train.ema_decay(10**7, max_decay=0.999) == pytest.approx(0.999)
  steps = jnp.array([0, 1, 90, 10**7], jnp.int32)
  np.testing.assert_allclose(train.ema_decay(steps),
                             [0.1, 2 / 11, 0.91, 0.9999], rtol=1e-6)


def test_train_step_ema_and_key_by_hand():
  """SGD(lr=1) on 0.5 (w - 3)^2 from w = 0: w = 3 after one step, then 3."""
  key = jax.random.key(5)

  def loss_fn(params, batch, k):
    loss = 0.5 * jnp.sum((params["w"] - batch["target"]) ** 2)
    return loss, {"draw": jax.random.normal(k, ())}

  tx = optax.sgd(1.0)
  step = jax.jit(train.make_train_step(loss_fn, tx, ema_max_decay=0.9999))
  state = train.init_train_state({"w": jnp.zeros(2)}, tx)
  batch = {"target": jnp.full((2,), 3.0)}

  state, m1 = step(state, batch, key)
  d1 = 2 / 11  # ema_decay after 1 update
  np.testing.assert_allclose(state.params["w"], [3.0, 3.0])
  np.testing.assert_allclose(state.ema_params["w"], [(1 - d1) * 3.0] * 2,
                             rtol=1e-6)
  np.testing.assert_allclose(m1["grad_norm"], 3.0 * np.sqrt(2), rtol=1e-6)
  np.testing.assert_allclose(m1["loss"], 9.0)
  np.testing.assert_allclose(m1["ema_decay"], d1, rtol=1e-6)
  assert "lr" not in m1  # plain sgd exposes no learning rate
  np.testing.assert_allclose(
      m1["draw"], jax.random.normal(jax.random.fold_in(key, 0), ()))

  state, m2 = step(state, batch, key)
  d2 = 3 / 12
  np.testing.assert_allclose(state.params["w"], [3.0, 3.0])
  np.testing.assert_allclose(state.ema_params["w"],
                             [d2 * (1 - d1) * 3.0 + (1 - d2) * 3.0] * 2,
                             rtol=1e-6)
  assert int(state.step) == 2
  np.testing.assert_allclose(
      m2["draw"], jax.random.normal(jax.random.fold_in(key, 1), ()))
  assert float(m1["draw"]) != float(m2["draw"])


# ---------------------------------------------------------------------- loop
def _toy(lr=2e-2, warmup=5):
  graphdef, params = toy.make_model(0)
  tx = train.make_optimizer(learning_rate=lr, warmup_steps=warmup)
  step = train.make_train_step(toy.make_loss_fn(graphdef), tx,
                               ema_max_decay=0.9)
  return graphdef, train.init_train_state(params, tx), step


def _clean_mse(graphdef, params, batch):
  pred = nnx.merge(graphdef, params)(jnp.asarray(batch["x"]))
  return float(jnp.mean(jnp.sum((pred - batch["y"]) ** 2, -1)))


def test_fit_reduces_toy_regression_loss_and_logs(tmp_path, caplog):
  graphdef, state, step = _toy()
  held_out = toy.make_batch_fn(256, seed=99)(0)
  before = _clean_mse(graphdef, state.params, held_out)
  # Tracing more than once would mean a recompilation inside the loop.
  step = chex.assert_max_traces(step, n=1)
  calls = []
  path = tmp_path / "sub" / "metrics.jsonl"
  caplog.set_level(py_logging.INFO)
  state = train.fit(state, step, toy.make_batch_fn(32), key=jax.random.key(0),
                    num_steps=80, log_every=30, metrics_path=path,
                    hooks=[lambda s, st, m: calls.append(s)])
  after = _clean_mse(graphdef, state.params, held_out)
  after_ema = _clean_mse(graphdef, state.ema_params, held_out)
  assert after < 0.3 * before and after_ema < 0.5 * before, (before, after,
                                                             after_ema)
  assert calls == list(range(1, 81))
  assert int(parallel.fetch(state.step)) == 80

  records = [json.loads(l) for l in path.read_text().splitlines()]
  assert [r["step"] for r in records] == [30, 60, 80]
  for r in records:
    for field in ("step", "loss", "grad_norm", "steps_per_sec", "lr",
                  "wall_time", "elapsed_sec", "eta_sec", "ema_decay"):
      assert field in r, field
    assert np.isfinite(r["loss"]) and r["steps_per_sec"] > 0
    # lr of the update that produced step s: warm-up over 5 updates is done.
    assert r["lr"] == pytest.approx(2e-2)
  assert records[-1]["eta_sec"] == 0
  text = caplog.text
  assert "compiled the train step" in text
  assert "step 30/80" in text and "steps/s" in text and "ETA" in text

  # Resuming at or beyond num_steps is a no-op; appending keeps old lines.
  again = train.fit(state, step, toy.make_batch_fn(32), key=jax.random.key(0),
                    num_steps=80, metrics_path=path)
  assert int(parallel.fetch(again.step)) == 80
  assert len(path.read_text().splitlines()) == 3


def test_fit_is_a_function_of_state_key_and_data():
  """Two 3-step runs then 3 more equal one 6-step run (no checkpoint)."""
  key = jax.random.key(3)
  batch_fn = toy.make_batch_fn(16)
  _, s, step = _toy()
  full = train.fit(s, step, batch_fn, key=key, num_steps=6)
  _, s, step = _toy()
  part = train.fit(s, step, batch_fn, key=key, num_steps=3)
  part = train.fit(part, step, batch_fn, key=key, num_steps=6)
  chex.assert_trees_all_equal(parallel.fetch(full), parallel.fetch(part))
  _, s, step = _toy()
  other = train.fit(s, step, batch_fn, key=jax.random.key(4), num_steps=6)
  assert not np.array_equal(parallel.fetch(other.params["fc1"]["kernel"][...]),
                            parallel.fetch(full.params["fc1"]["kernel"][...]))


def test_resumed_metrics_have_one_row_per_step(tmp_path):
  """Rows a stopped run logged past its last checkpoint are not repeated."""
  path = tmp_path / "metrics.jsonl"
  batch_fn = toy.make_batch_fn(16)
  _, s, step = _toy()
  s = train.fit(s, step, batch_fn, key=jax.random.key(0), num_steps=4,
                log_every=2, metrics_path=path)
  # As if the run had gone on to step 6 and died before saving it, its last
  # line cut short.
  with open(path, "a") as f:
    f.write(json.dumps({"step": 6, "loss": 1.0}) + "\n" + '{"step": 8, "lo')
  train.fit(s, step, batch_fn, key=jax.random.key(0), num_steps=8,
            log_every=2, metrics_path=path)
  rows = [json.loads(l) for l in path.read_text().splitlines()]
  assert [r["step"] for r in rows] == [2, 4, 6, 8]
  assert rows[2]["loss"] != 1.0  # the resumed run's row, not the stale one
  assert all(np.isfinite(r["param_norm"]) for r in rows)


def test_bad_arguments():
  with pytest.raises(ValueError, match="learning_rate"):
    train.make_optimizer(learning_rate=0.0)
  with pytest.raises(ValueError, match="warmup_steps"):
    train.make_optimizer(warmup_steps=-1)
  _, s, step = _toy()
  with pytest.raises(ValueError, match="log_every"):
    train.fit(s, step, toy.make_batch_fn(8), key=jax.random.key(0),
              num_steps=1, log_every=0)
  for bad in (0, -5):
    with pytest.raises(ValueError, match="num_steps must be >= 1"):
      train.fit(s, step, toy.make_batch_fn(8), key=jax.random.key(0),
                num_steps=bad)
