"""Optimiser, EMA, train state, the train step and the training loop.

The recipe of GFPose/DPoser (score_sde lineage): Adam, learning rate ramped
linearly from 0 then constant, gradients clipped to a global norm, and an
EMA of the parameters whose decay is itself warmed up (`ema_decay`).

Everything that varies during training lives in `TrainState`; the step is a
pure function of `(state, batch, key)` and derives its randomness as
`fold_in(key, state.step)`, so a run is a function of the initial state, the
base key and the data alone. `fit` runs it over a mesh (see `parallel.py`)
and resumes wherever `state.step` says.
"""
from __future__ import annotations

import json
import math
import os
import time
from typing import Any, Callable, Iterable

import flax
import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import logging

from jaxpose import files
from jaxpose import summary_writer
from jaxpose.training import parallel

LossFn = Callable[[Any, Any, jax.Array], tuple[jax.Array, Any]]


# ----------------------------------------------------------------- optimiser
def make_lr_schedule(learning_rate: float = 2e-4, warmup_steps: int = 5000
                     ) -> optax.Schedule:
  """`lr * min(step / warmup_steps, 1)`: 0 at the first update (GFPose)."""
  if learning_rate <= 0:
    raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
  if warmup_steps < 0:
    raise ValueError(f"warmup_steps must be >= 0, got {warmup_steps}")
  if warmup_steps == 0:
    return optax.constant_schedule(learning_rate)

  # Written out rather than optax.linear_schedule, whose `end - (end - init)
  # * (1 - frac)` loses most float32 digits on the tiny early rates.
  def schedule(count):
    return learning_rate * jnp.minimum(count / warmup_steps, 1.0)

  return schedule


def make_optimizer(*, learning_rate: float = 2e-4, warmup_steps: int = 5000,
                   grad_clip: float | None = 1.0, b1: float = 0.9,
                   b2: float = 0.999, eps: float = 1e-8,
                   weight_decay: float = 0.0
                   ) -> optax.GradientTransformation:
  """Global-norm clipping, then Adam(W) with a linear warm-up.

  The learning rate is injected as a hyperparameter, so each update's value
  can be read back (`current_learning_rate`) and logged.

  Args:
    learning_rate: the rate after warm-up.
    warmup_steps: updates over which the rate ramps from 0.
    grad_clip: maximum global gradient norm; None or <= 0 disables clipping.
    b1, b2, eps: Adam's moment decays and denominator offset.
    weight_decay: decoupled weight decay (AdamW); 0 gives plain Adam.
  """
  schedule = make_lr_schedule(learning_rate, warmup_steps)

  def chain(learning_rate):
    parts = []
    if grad_clip is not None and grad_clip > 0:
      parts.append(optax.clip_by_global_norm(grad_clip))
    if weight_decay:
      parts.append(optax.adamw(learning_rate, b1=b1, b2=b2, eps=eps,
                               weight_decay=weight_decay))
    else:
      parts.append(optax.adam(learning_rate, b1=b1, b2=b2, eps=eps))
    return optax.chain(*parts)

  return optax.inject_hyperparams(chain)(learning_rate=schedule)


def current_learning_rate(opt_state) -> jax.Array | None:
  """The learning rate of the last update, if the optimiser exposes one."""
  found = []

  def visit(node):
    hp = getattr(node, "hyperparams", None)
    if isinstance(hp, dict) and "learning_rate" in hp:
      found.append(hp["learning_rate"])
      return True
    return False

  jax.tree.leaves(opt_state, is_leaf=visit)
  return found[0] if found else None


# ----------------------------------------------------------------------- EMA
def ema_decay(step, max_decay: float = 0.9999):
  """EMA decay after `step` updates: `min(max_decay, (1 + n) / (10 + n))`.

  Early on the average follows the parameters closely (0.1 at n = 0), later
  it averages over about `1 / (1 - max_decay)` updates.
  """
  if isinstance(step, (int, float, np.integer, np.floating)):
    n = float(step)
    return min(max_decay, (1.0 + n) / (10.0 + n))
  n = jnp.asarray(step).astype(jnp.result_type(float))  # f64 under x64
  return jnp.minimum(max_decay, (1.0 + n) / (10.0 + n))


def ema_update(ema_params, params, decay):
  """`decay * ema + (1 - decay) * params`, leaf by leaf."""
  return jax.tree.map(
      lambda e, p: (decay * e + (1.0 - decay) * p).astype(e.dtype),
      ema_params, params)


# ---------------------------------------------------------------- train state
@flax.struct.dataclass
class TrainState:
  """Everything that changes during training.

  Attributes:
    step: int32 scalar array, the number of updates applied so far.
    params: the model parameters (a pytree, e.g. NNX `nnx.State`).
    opt_state: the optimiser state.
    ema_params: the EMA of `params` (the weights to evaluate).
  """
  step: jax.Array
  params: Any
  opt_state: Any
  ema_params: Any


def init_train_state(params, tx: optax.GradientTransformation) -> TrainState:
  """A step-0 state holding copies of `params` (and an EMA copy)."""
  # Real copies: the step donates its input state, which would otherwise
  # delete the caller's `params` and alias `params` with `ema_params`.
  return TrainState(step=jnp.zeros((), jnp.int32),
                    params=jax.tree.map(jnp.copy, params),
                    opt_state=tx.init(params),
                    ema_params=jax.tree.map(jnp.copy, params))


def make_train_step(loss_fn: LossFn, tx: optax.GradientTransformation, *,
                    ema_max_decay: float = 0.9999) -> Callable:
  """Builds `train_step(state, batch, key) -> (state, metrics)`.

  Args:
    loss_fn: `loss_fn(params, batch, key) -> (loss, aux)`, the mean loss over
      the batch; if `aux` is a dict of scalars they join the metrics.
    tx: the optimiser, e.g. from `make_optimizer`.
    ema_max_decay: the EMA's final decay.

  Returns:
    A pure, jittable step. Its randomness is `fold_in(key, state.step)`.
    Metrics: `loss`, `grad_norm` (before clipping), `lr` (when the optimiser
    exposes it), `ema_decay`, plus `aux` entries.
  """
  grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

  def train_step(state: TrainState, batch, key):
    step_key = jax.random.fold_in(key, state.step)
    (loss, aux), grads = grad_fn(state.params, batch, step_key)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    step = state.step + 1
    # n counts this update too, as in the papers' EMA (n = 1 on the first).
    decay = ema_decay(step, ema_max_decay)
    ema_params = ema_update(state.ema_params, params, decay)
    metrics = {"loss": loss, "grad_norm": optax.tree.norm(grads),
               "ema_decay": decay}
    lr = current_learning_rate(opt_state)
    if lr is not None:
      metrics["lr"] = lr
    if isinstance(aux, dict):
      metrics.update({k: jnp.asarray(v) for k, v in aux.items()
                      if k not in metrics and jnp.ndim(v) == 0})
    new_state = state.replace(step=step, params=params, opt_state=opt_state,
                              ema_params=ema_params)
    return new_state, metrics

  return train_step


# ---------------------------------------------------------------------- loop
def _is_main_process() -> bool:
  return jax.process_index() == 0


def _fmt_duration(seconds: float) -> str:
  seconds = int(max(seconds, 0))
  h, rem = divmod(seconds, 3600)
  m, s = divmod(rem, 60)
  return f"{h}:{m:02d}:{s:02d}"


class TrainingDivergedError(FloatingPointError):
  """Training produced a non-finite or exploding state; nothing was saved.

  Attributes:
    step: the update at which it was detected.
    last_checkpoint: the newest checkpoint complete on disk, or None.
  """

  def __init__(self, message: str, *, step: int, last_checkpoint: int | None):
    super().__init__(message)
    self.step = step
    self.last_checkpoint = last_checkpoint


@jax.jit
def _norms(params, ema_params):
  """(|params|, |ema_params|): one small program, run only at checks."""
  return optax.tree.norm(params), optax.tree.norm(ema_params)


def _divergence(loss: float, norm: float, ema_norm: float, last_norm: float,
                max_growth: float | None) -> str | None:
  """Why the state must not be saved, or None when it looks sane."""
  if not math.isfinite(loss):
    return f"the loss is {loss}"
  if not math.isfinite(norm):
    return (f"the parameter norm is {norm} (non-finite or overflowing "
            "parameters)")
  if not math.isfinite(ema_norm):
    return f"the EMA parameter norm is {ema_norm}"
  if max_growth and last_norm > 0 and norm > max_growth * last_norm:
    return (f"the parameter norm jumped from {last_norm:.4g} to {norm:.4g} "
            f"(more than x{max_growth:g} since the last check)")
  return None


def _diverged_error(reason: str, step: int, checkpointer
                    ) -> TrainingDivergedError:
  """The error for a diverged run, naming the checkpoint really on disk."""
  last = None
  if checkpointer is not None:
    # Pending asynchronous saves hold states that passed their check: let
    # them land, then read what is on disk.
    last = checkpointer.latest_step_on_disk()
  if last is not None:
    kept = (f"the last checkpoint on disk is step {last} "
            f"({os.path.join(checkpointer.directory, str(last))}); a rerun "
            f"resumes from it")
  else:
    kept = "no checkpoint is on disk; a rerun starts from step 0"
  return TrainingDivergedError(
      f"training diverged at step {step}: {reason}; nothing after the last "
      f"check was saved and {kept}. Lower train.learning_rate (or check the "
      "data for NaN/inf) before rerunning.", step=step, last_checkpoint=last)


def _trim_metrics(path: str, step: int):
  """Keeps the rows of `path` up to `step` (the state a run starts from).

  A run that stopped after logging past its last checkpoint left rows the
  resumed run will write again: dropping them keeps one row per step.
  Unreadable lines (a write cut short) go too. Rewritten atomically.
  """
  if not os.path.exists(path):
    return
  with open(path) as f:
    lines = f.read().splitlines()
  kept = []
  for line in lines:
    try:
      row_step = json.loads(line)["step"]
    except (ValueError, KeyError, TypeError):
      continue
    if isinstance(row_step, int) and row_step <= step:
      kept.append(line)
  if kept == lines:
    return
  tmp = f"{path}.tmp"
  with open(tmp, "w") as f:
    f.write("".join(line + "\n" for line in kept))
  os.replace(tmp, path)


def _train_scalars(values: dict[str, float], param_norm: float,
                   steps_per_sec: float) -> dict[str, float]:
  """TensorBoard tags of one log: the step's metrics under `train/`."""
  names = {"lr": "learning_rate"}
  scalars = {f"train/{names.get(k, k)}": v for k, v in values.items()}
  scalars.update({"train/param_norm": param_norm,
                  "train/steps_per_sec": steps_per_sec})
  return scalars


def fit(state: TrainState, train_step: Callable, batch_fn: Callable[[int], Any],
        *, key: jax.Array, num_steps: int, mesh=None, checkpointer=None,
        log_every: int = 100, metrics_path: str | os.PathLike | None = None,
        summary_dir: str | os.PathLike | None = None,
        hooks: Iterable[Callable] = (),
        max_param_norm_growth: float | None = None) -> TrainState:
  """Runs `train_step` from `state.step` up to `num_steps` updates.

  Args:
    state: the state to start from (fresh or restored); it is donated.
    train_step: from `make_train_step` (not jitted; `fit` compiles it for the
      mesh, once).
    batch_fn: `batch_fn(step) -> batch`, host numpy arrays, this process's
      rows of the global batch of update `step` (0-based). A stateless
      function of `step` makes a resumed run see the same data.
    key: the base PRNG key (the step folds in `state.step`).
    num_steps: total number of updates (>= 1); a state already there returns
      as is.
    mesh: device mesh, default `parallel.make_mesh()` (all devices).
    checkpointer: a `checkpoint.Checkpointer`, asked to save after every
      update (it keeps only its interval) and forced at the end.
    log_every: log (and sync with the device) every this many updates.
    metrics_path: if given, one JSON line per log is appended here; rows
      past the starting step are dropped first (one row per step on resume).
    summary_dir: if given, process 0 writes TensorBoard scalars here at every
      log: `train/<metric>` for each metric of the step (`lr` as
      `train/learning_rate`), `train/param_norm` and `train/steps_per_sec`;
      events past the starting step are hidden (a purge).
    hooks: callables `hook(step, state, metrics)` run after every update,
      `step` being the number of updates done; they must not keep `state`
      (the next update donates its buffers).
    max_param_norm_growth: stop when the parameter norm grows by more than
      this factor between two checks; None or 0 disables.

  Checks: at every log and checkpoint step (where the host already waits
  for the device) the loss, the norms of the parameters and EMA parameters
  after the update, and the norm's growth since the previous check are
  tested before anything is saved; a failed check raises
  `TrainingDivergedError` naming the last checkpoint complete on disk.

  Returns:
    The state after `num_steps` updates.
  """
  if log_every < 1:
    raise ValueError(f"log_every must be >= 1, got {log_every}")
  if isinstance(num_steps, bool) or int(num_steps) < 1:
    raise ValueError(f"num_steps must be >= 1, got {num_steps!r}")
  mesh = parallel.make_mesh() if mesh is None else mesh
  state = parallel.replicate(mesh, state)
  key = parallel.replicate(mesh, key)
  start = int(parallel.fetch(state.step))
  hooks = tuple(hooks)
  main = _is_main_process()
  metrics_file = None
  if metrics_path is not None and main:
    metrics_path = os.fspath(metrics_path)
    os.makedirs(os.path.dirname(os.path.abspath(metrics_path)), exist_ok=True)
    _trim_metrics(metrics_path, start)
    metrics_file = open(metrics_path, "a")

  summary = None
  try:
    if start >= num_steps:
      logging.info("fit: state is at step %d >= num_steps=%d; nothing to do",
                   start, num_steps)
      return state
    if summary_dir is not None:
      # A purge marker on every start, resumed or not (TensorBoard's Python
      # loader ignores a run's first one), from start + 1: the events of
      # step `start` describe the state resumed from (metrics.jsonl keeps
      # its row too).
      summary = summary_writer.SummaryWriter(summary_dir,
                                             purge_step=start + 1)
    batch = parallel.shard_batch(mesh, batch_fn(start))
    t0 = time.perf_counter()
    # Ahead-of-time compilation: the compile time is measured on its own and
    # a batch of another shape raises instead of silently recompiling.
    step_fn = parallel.jit_train_step(train_step, mesh).lower(
        state, batch, key).compile()
    logging.info("fit: compiled the train step in %.1fs; steps %d -> %d on "
                 "%d device(s), %d process(es)", time.perf_counter() - t0,
                 start, num_steps, mesh.size, jax.process_count())
    last_norm = float(parallel.fetch(_norms(state.params, state.ema_params)[0]))
    t_start = t_last = time.perf_counter()
    last_logged = start
    for step in range(start, num_steps):
      if step > start:
        batch = parallel.shard_batch(mesh, batch_fn(step))
      state, metrics = step_fn(state, batch, key)
      done = step + 1
      for hook in hooks:
        hook(done, state, metrics)
      saving = (checkpointer is not None and done < num_steps
                and done % checkpointer.save_every == 0)
      logging_now = done % log_every == 0 or done == num_steps
      if not (saving or logging_now):
        continue
      norm, ema_norm = (float(x) for x in parallel.fetch(
          _norms(state.params, state.ema_params)))
      values = {k: float(v) for k, v in parallel.fetch(metrics).items()}
      reason = _divergence(values["loss"], norm, ema_norm, last_norm,
                           max_param_norm_growth)
      if reason is not None:
        raise _diverged_error(reason, done, checkpointer)
      last_norm = norm
      if saving:
        checkpointer.save(done, state)
      if logging_now:
        now = time.perf_counter()
        rate = (done - last_logged) / max(now - t_last, 1e-9)
        t_last, last_logged = now, done
        eta = (num_steps - done) / rate
        logging.info("step %d/%d  loss %.5g  grad_norm %.3g  %.2f steps/s  "
                     "ETA %s", done, num_steps, values["loss"],
                     values["grad_norm"], rate, _fmt_duration(eta))
        if metrics_file is not None:
          record = {"step": done, **values, "param_norm": norm,
                    "steps_per_sec": rate,
                    "eta_sec": eta, "elapsed_sec": now - t_start,
                    "wall_time": time.time()}
          record.setdefault("lr", None)
          files.append_line(metrics_file, metrics_path, json.dumps(record))
        if summary is not None:
          summary.scalars(done, _train_scalars(values, norm, rate))
    if checkpointer is not None:
      checkpointer.save(num_steps, state, force=True)
      checkpointer.wait_until_finished()
    return state
  except BaseException:
    if checkpointer is not None:
      # Saves started before the failure hold checked states: finish them
      # rather than leave a temporary directory behind.
      try:
        checkpointer.wait_until_finished()
      except Exception:  # pylint: disable=broad-except
        logging.exception("fit: a pending checkpoint save failed")
    raise
  finally:
    if metrics_file is not None:
      metrics_file.close()
    if summary is not None:
      summary.close()
