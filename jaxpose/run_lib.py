"""Train, evaluate and sample: the logic behind `experiments/main.py`.

Every function takes a config (an `ml_collections.ConfigDict` from
`experiments/configs/`) and a workdir, so a notebook can call them directly:

  from experiments.configs import quickstart
  from jaxpose import run_lib
  run_lib.train(quickstart.get_config(), "runs/qs")
  metrics = run_lib.evaluate(quickstart.get_config(), "runs/qs")

Data flow: config -> `build()` (data splits in model units, SDE, network,
loss) -> `train()` (sharded steps, orbax checkpoints, metrics.jsonl) ->
`evaluate()` (restores EMA weights, samples hypotheses, writes
workdir/metrics.json and workdir/hypotheses.png).
"""
from __future__ import annotations

import dataclasses
import json
import logging as logging_std
import os
import pathlib
import tempfile
import time
from typing import Any, Callable

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np

from jaxpose import checkpoint as checkpoint_lib
from jaxpose import config as config_lib
from jaxpose import gfpose
from jaxpose import losses
from jaxpose import masking
from jaxpose import metrics as metrics_lib
from jaxpose import models
from jaxpose import parallel
from jaxpose import sampling
from jaxpose import sde as sde_lib
from jaxpose import train as train_lib
from jaxpose.data import pipeline
from jaxpose.data import datasets

MODES = ("train_and_eval", "train", "eval", "sample")


@dataclasses.dataclass(frozen=True)
class Experiment:
  """Everything `train`/`evaluate` need, built once from a config."""
  config: Any
  representation: gfpose.Representation
  sde: Any
  graphdef: Any
  init_params: Any
  apply_fn: Callable
  score_fn: Callable
  splits: dict  # split name -> dict of numpy arrays in model units (+ mm copies)

  @property
  def fingerprint(self) -> dict:
    return config_lib.fingerprint(self.config)


def load_data(config, representation: gfpose.Representation) -> dict:
  """The configured dataset as splits in model units.

  Each split holds `pose3d` [N, J, 3] and `pose2d` [N, J, 2] in model units,
  `pose3d_mm` [N, J, 3] root-relative millimetres, `pose2d_screen` [N, J, 2]
  for plots, and `activity` [N].
  """
  splits = {}
  for name, split in datasets.load(config.data).items():
    pose3d_mm = np.asarray(split["pose3d"], np.float32)
    pose2d = np.asarray(split["pose2d"], np.float32)
    splits[name] = dict(
        pose3d=np.asarray(representation.pose3d_to_model(pose3d_mm), np.float32),
        pose2d=np.asarray(representation.pose2d_to_model(pose2d), np.float32),
        pose3d_mm=pose3d_mm - pose3d_mm[:, :1],
        pose2d_screen=pose2d,
        activity=np.asarray(split["activity"], np.int32))
  return splits


def build(config) -> Experiment:
  """Builds data, SDE and network from a config; validates it on the way."""
  if config.method != "gfpose":
    raise ValueError(f"method: unknown method {config.method!r}; valid: gfpose")
  rep = gfpose.Representation.from_config(config.representation)
  sde_kwargs = {k: v for k, v in config.sde.items() if k != "name"}
  sde = sde_lib.get_sde(config.sde.name, **sde_kwargs)
  model_kwargs = {k: v for k, v in config.model.items() if k != "name"}
  graphdef, params = models.create_model(
      config.model.name, key=jax.random.key(config.seed),
      data_dim=rep.data_dim, cond_dim=rep.data_dim, **model_kwargs)
  apply_fn = models.make_apply(graphdef)
  score_fn = losses.make_score_fn(apply_fn, sde)
  splits = load_data(config, rep)
  return Experiment(config=config, representation=rep, sde=sde,
                    graphdef=graphdef, init_params=params, apply_fn=apply_fn,
                    score_fn=score_fn, splits=splits)


def _checkpointer(config, workdir, exp: Experiment) -> checkpoint_lib.Checkpointer:
  # The representation travels with every checkpoint so evaluation can
  # always turn network outputs back into millimetres.
  return checkpoint_lib.Checkpointer(
      os.path.join(workdir, "checkpoints"), fingerprint=exp.fingerprint,
      save_every=int(config.train.ckpt_every), keep=int(config.train.keep_ckpts),
      extra={"representation": exp.representation.to_dict(),
             "config": config_lib.to_plain(config)})


def _optimizer(config):
  t = config.train
  return train_lib.make_optimizer(
      learning_rate=float(t.learning_rate), warmup_steps=int(t.warmup_steps),
      grad_clip=float(t.grad_clip))


def train(config, workdir: str, *, exp: Experiment | None = None):
  """Trains (or resumes training) up to `config.train.num_steps`.

  Returns the final `TrainState`.  A workdir holding a checkpoint of another
  model configuration is refused by the checkpointer, never overwritten.
  """
  exp = exp or build(config)
  pathlib.Path(workdir).mkdir(parents=True, exist_ok=True)
  tx = _optimizer(config)
  state = train_lib.init_train_state(exp.init_params, tx)
  ckpt = _checkpointer(config, workdir, exp)
  restored = ckpt.restore_or_none(state)
  if restored is not None:
    state, _ = restored
    logging.info("Resumed from step %d in %s", int(state.step), workdir)
  _write_json_atomic(os.path.join(workdir, "config.json"),
                     config_lib.to_plain(config))

  mesh = parallel.make_mesh()
  t = config.train
  dataset = pipeline.ArrayDataset(
      {k: exp.splits["train"][k] for k in ("pose3d", "pose2d")},
      batch_size=int(t.batch_size), seed=int(config.seed))
  mask_cfg = masking.MaskConfig(**config.mask.to_dict())
  loss_fn = gfpose.make_loss_fn(exp.apply_fn, exp.sde, mask_cfg,
                                eps=float(t.loss_eps), reduce=t.loss_reduce)
  train_step = train_lib.make_train_step(loss_fn, tx, ema_max_decay=float(t.ema_decay))

  def batch_fn(step):
    return dataset.batch(step, process_index=jax.process_index(),
                         process_count=jax.process_count())

  state = train_lib.fit(
      state, train_step, batch_fn, key=jax.random.key(config.seed + 1),
      num_steps=int(t.num_steps), mesh=mesh, checkpointer=ckpt,
      log_every=int(t.log_every),
      metrics_path=os.path.join(workdir, "metrics.jsonl"))
  ckpt.close()
  return state


def restore_params(config, workdir: str, exp: Experiment, *, use_ema: bool = True):
  """Parameters of the latest checkpoint in `workdir` (EMA by default)."""
  tx = _optimizer(config)
  template = train_lib.init_train_state(exp.init_params, tx)
  ckpt = _checkpointer(config, workdir, exp)
  restored = ckpt.restore_or_none(template)
  ckpt.close()
  if restored is None:
    raise FileNotFoundError(
        f"no checkpoint in {os.path.join(workdir, 'checkpoints')}: train first "
        "(--mode=train or train_and_eval)")
  state, _ = restored
  return (state.ema_params if use_ema else state.params), int(state.step)


def make_sampler(config, exp: Experiment):
  e = config.eval
  return sampling.make_sampler(e.sampler, exp.sde, exp.score_fn,
                               num_steps=int(e.num_steps), eps=float(e.eps))


def estimate_hypotheses(sample_fn, params, key, pose2d, *, num_hypotheses: int,
                        batch_poses: int) -> np.ndarray:
  """Samples H hypotheses per 2D pose, in chunks of `batch_poses` poses.

  pose2d: [N, J, 2] model units.  Returns [H, N, J, 3] model units.  The
  last chunk is padded to `batch_poses` so every chunk reuses one compiled
  program.
  """
  n, joints = pose2d.shape[:2]
  out = np.zeros((num_hypotheses, n, joints, 3), np.float32)
  start_time = time.time()
  for i, start in enumerate(range(0, n, batch_poses)):
    chunk = pose2d[start:start + batch_poses]
    valid = len(chunk)
    if valid < batch_poses:
      chunk = np.concatenate([chunk, np.repeat(chunk[-1:], batch_poses - valid, 0)])
    task = gfpose.estimation_task(jnp.asarray(chunk))
    hyps = sampling.sample_hypotheses(sample_fn, params, jax.random.fold_in(key, i),
                                      task, num_hypotheses)
    out[:, start:start + valid] = np.asarray(hyps).reshape(
        num_hypotheses, batch_poses, joints, 3)[:, :valid]
    done = start + valid
    elapsed = time.time() - start_time
    logging.info("sampled %d/%d poses x %d hypotheses, %.1fs elapsed, ETA %.1fs",
                 done, n, num_hypotheses, elapsed, elapsed / done * (n - done))
  return out


def estimation_metrics(hyps_mm: np.ndarray, gt_mm: np.ndarray) -> dict:
  """Summary of multi-hypothesis estimates against ground truth (mm)."""
  mean_pose = hyps_mm.mean(axis=0)
  per_hyp = np.asarray(metrics_lib.mpjpe(hyps_mm, gt_mm[None]))  # [H, N]
  per_hyp_pa = np.asarray(metrics_lib.pa_mpjpe(hyps_mm, np.broadcast_to(gt_mm, hyps_mm.shape)))
  return dict(
      mpjpe_mm=float(np.mean(metrics_lib.mpjpe(mean_pose, gt_mm))),
      pa_mpjpe_mm=float(np.mean(metrics_lib.pa_mpjpe(mean_pose, gt_mm))),
      min_mpjpe_mm=float(per_hyp.min(axis=0).mean()),
      min_pa_mpjpe_mm=float(per_hyp_pa.min(axis=0).mean()),
      mean_hypothesis_mpjpe_mm=float(per_hyp.mean()),
      apd_mm=float(np.mean(metrics_lib.apd(hyps_mm))) if len(hyps_mm) > 1 else 0.0,
      num_hypotheses=int(hyps_mm.shape[0]),
      num_poses=int(hyps_mm.shape[1]),
  )


def evaluate(config, workdir: str, *, exp: Experiment | None = None) -> dict:
  """2D-to-3D estimation on held-out poses; writes metrics.json and a PNG."""
  exp = exp or build(config)
  e = config.eval
  if e.task != "estimate":
    raise ValueError(f"eval.task: {e.task!r} is not available yet; valid: estimate")
  params, step = restore_params(config, workdir, exp, use_ema=bool(e.use_ema))
  test = exp.splits["test"]
  n = min(int(e.num_poses), len(test["pose3d"]))
  sample_fn = make_sampler(config, exp)
  t0 = time.time()
  hyps = estimate_hypotheses(
      sample_fn, params, jax.random.key(config.seed + 2), test["pose2d"][:n],
      num_hypotheses=int(e.num_hypotheses),
      batch_poses=min(int(e.batch_poses), n))
  seconds = time.time() - t0
  hyps_mm = np.asarray(exp.representation.pose3d_from_model(hyps))
  gt_mm = test["pose3d_mm"][:n]
  results = estimation_metrics(hyps_mm, gt_mm)
  results.update(task="estimate", sampler=e.sampler, sampler_steps=int(e.num_steps),
                 train_step=step, sampling_seconds=round(seconds, 2),
                 data=config.data.name)
  _write_json_atomic(os.path.join(workdir, "metrics.json"), results)
  print(format_table(results))
  _plot_examples(config, exp, test, hyps_mm, os.path.join(workdir, "hypotheses.png"))
  return results


def sample(config, workdir: str, *, exp: Experiment | None = None) -> np.ndarray:
  """Unconditional generation: writes samples.npz and samples.png."""
  from jaxpose import plotting
  exp = exp or build(config)
  params, _ = restore_params(config, workdir, exp, use_ema=bool(config.eval.use_ema))
  sample_fn = make_sampler(config, exp)
  n = int(config.eval.plot_hypotheses) * 2
  x = sample_fn(params, jax.random.key(config.seed + 3),
                gfpose.generation_task(n, exp.representation.num_joints))
  poses_mm = np.asarray(exp.representation.pose3d_from_model(
      np.asarray(x).reshape(n, -1, 3)))
  np.savez(os.path.join(workdir, "samples.npz"), pose3d_mm=poses_mm)
  plotting.plot_poses_3d(poses_mm, path=os.path.join(workdir, "samples.png"))
  print(f"wrote {n} generated poses to {workdir}/samples.npz and samples.png")
  return poses_mm


def _plot_examples(config, exp, test, hyps_mm, path):
  from jaxpose import plotting
  k = int(config.eval.plot_hypotheses)
  plotting.plot_hypotheses(test["pose2d_screen"][0], test["pose3d_mm"][0],
                           hyps_mm[:k, 0], path=path,
                           title=f"{hyps_mm.shape[0]} hypotheses, first {k} shown")


def format_table(results: dict) -> str:
  rows = [("MPJPE of the hypotheses' mean (mm)", results["mpjpe_mm"]),
          ("PA-MPJPE of the mean (mm)", results["pa_mpjpe_mm"]),
          (f"best-of-{results['num_hypotheses']} MPJPE (mm)", results["min_mpjpe_mm"]),
          (f"best-of-{results['num_hypotheses']} PA-MPJPE (mm)", results["min_pa_mpjpe_mm"]),
          ("mean single-hypothesis MPJPE (mm)", results["mean_hypothesis_mpjpe_mm"]),
          ("APD across hypotheses (mm)", results["apd_mm"])]
  width = max(len(r[0]) for r in rows)
  lines = [f"{'metric':<{width}}  value", "-" * (width + 9)]
  lines += [f"{name:<{width}}  {value:7.2f}" for name, value in rows]
  lines.append(f"({results['num_poses']} held-out poses, {results['num_hypotheses']} "
               f"hypotheses, {results['sampler']} x {results['sampler_steps']} steps)")
  return "\n".join(lines)


def _write_json_atomic(path: str, obj) -> None:
  """Writes JSON via a temporary file and a rename, so a crash never leaves
  a half-written results file behind."""
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp_", suffix=".json")
  try:
    with os.fdopen(fd, "w") as f:
      json.dump(obj, f, indent=2, sort_keys=True)
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise


class _DropLibraryInfo(logging_std.Filter):
  """Keeps orbax's per-save INFO chatter out of the training log."""

  def filter(self, record):
    return record.levelno >= logging_std.WARNING or "orbax" not in record.pathname


def quiet_library_logs():
  """Hides INFO records of checkpointing internals (warnings still show)."""
  handler = logging.get_absl_handler()
  if not any(isinstance(f, _DropLibraryInfo) for f in handler.filters):
    handler.addFilter(_DropLibraryInfo())


def run(mode: str, config, workdir: str):
  if mode not in MODES:
    raise ValueError(f"mode: {mode!r}; valid: {', '.join(MODES)}")
  exp = build(config)
  if mode in ("train", "train_and_eval"):
    train(config, workdir, exp=exp)
  if mode in ("eval", "train_and_eval"):
    evaluate(config, workdir, exp=exp)
  if mode == "sample":
    sample(config, workdir, exp=exp)
