"""Train, evaluate and sample: the logic behind `experiments/main.py`.

Every function takes a config (an `ml_collections.ConfigDict` from
`experiments/configs/`) and a workdir, so a notebook can call them directly:

  from experiments.configs import quickstart
  from jaxpose import run_lib
  run_lib.train(quickstart.get_config(), "runs/qs")
  metrics = run_lib.evaluate(quickstart.get_config(), "runs/qs")

Data flow: config -> `build()` (data splits in model units, SDE, network,
loss) -> `train()` (sharded steps, orbax checkpoints, metrics.jsonl) ->
`evaluate()` (restores EMA weights, runs `config.eval.task` through
`jaxpose.evaluation`: workdir/eval/<task>.json; the default "estimate" task
also writes workdir/metrics.json and workdir/hypotheses.png).
"""
from __future__ import annotations

import dataclasses
import logging as logging_std
import os
import pathlib
import shutil
from typing import Any, Callable

from absl import logging
import jax
import numpy as np

from jaxpose.training import checkpoint as checkpoint_lib
from jaxpose import config as config_lib
from jaxpose import evaluation
from jaxpose import gfpose
from jaxpose.pose import image_space
from jaxpose.core import losses
from jaxpose.methods.gfpose import masking
from jaxpose import models
from jaxpose.training import parallel
from jaxpose.core import sampling
from jaxpose.core import sde as sde_lib
from jaxpose.training import train as train_lib
from jaxpose.data import pipeline
from jaxpose.data import datasets

MODES = ("train_and_eval", "train", "eval", "sample")
METHODS = ("gfpose", "baseline")


@dataclasses.dataclass(frozen=True)
class Experiment:
  """Everything `train`/`evaluate` need, built once from a config."""
  config: Any
  representation: gfpose.Representation
  sde: Any
  graphdef: Any
  init_params: Any
  apply_fn: Callable
  score_fn: Callable | None
  splits: dict  # split name -> dict of numpy arrays in model units (+ mm copies)
  # Config sections a checkpoint must match to be resumed or evaluated.
  fingerprint_sections: tuple[str, ...] = ("method", "model", "sde", "representation")

  @property
  def fingerprint(self) -> dict:
    return config_lib.fingerprint(self.config, self.fingerprint_sections)


def load_data(config, representation: gfpose.Representation) -> dict:
  """The configured dataset as splits in model units.

  Each split holds `pose3d` [N, J, 3] and `pose2d` [N, J, 2] in model units,
  `pose3d_mm` [N, J, 3] root-relative millimetres, `pose2d_screen` [N, J, 2]
  for plots, `activity` [N], and, when the dataset has them, the camera
  fields `root_cam_mm` [N, 3] and `intrinsics` [N, 6] (`image_space`),
  which the "image" representation protocol needs.
  """
  splits = {}
  for name, split in datasets.load(config.data).items():
    pose3d_mm = np.asarray(split["pose3d"], np.float32)
    pose2d = np.asarray(split["pose2d"], np.float32)
    meta = image_space.camera_meta(split)
    if meta is None and representation.needs_camera:
      raise ValueError(
          f"representation.protocol={representation.protocol!r} needs the "
          f"camera fields {', '.join(image_space.META_KEYS)} per row, which "
          f"dataset {config.data.name!r} ({name} split) does not provide")
    splits[name] = dict(
        pose3d=np.asarray(representation.pose3d_to_model(pose3d_mm, meta), np.float32),
        pose2d=np.asarray(representation.pose2d_to_model(pose2d), np.float32),
        pose3d_mm=pose3d_mm - pose3d_mm[:, :1],
        pose2d_screen=pose2d,
        activity=np.asarray(split["activity"], np.int32),
        **({} if meta is None else
           {k: np.asarray(v, np.float32) for k, v in meta.items()}))
  return splits


def build(config) -> Experiment:
  """Builds data, SDE and network from a config; validates it on the way."""
  if config.method != "gfpose":
    raise ValueError(f"method: {config.method!r} is not built here; valid: "
                     f"{', '.join(METHODS)} (baseline: jaxpose.baseline)")
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


def train(config, workdir: str, *, exp: Experiment | None = None,
          loss_fn: Callable | None = None):
  """Trains (or resumes training) up to `config.train.num_steps`.

  Args:
    config: the run's config.
    workdir: checkpoints, config.json and metrics.jsonl go here.
    exp: a built experiment (default: `build(config)`).
    loss_fn: `loss_fn(params, batch, key) -> (loss, aux)` on batches of the
      train split's `pose3d`/`pose2d`; default: GFPose's masked-condition
      denoising score matching.  The baseline passes its regression loss.

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
  evaluation.write_json_atomic(os.path.join(workdir, "config.json"),
                               config_lib.to_plain(config))

  mesh = parallel.make_mesh()
  t = config.train
  dataset = pipeline.ArrayDataset(
      {k: exp.splits["train"][k] for k in ("pose3d", "pose2d")},
      batch_size=int(t.batch_size), seed=int(config.seed))
  if loss_fn is None:
    loss_fn = gfpose.make_loss_fn(
        exp.apply_fn, exp.sde, masking.MaskConfig(**config.mask.to_dict()),
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


def evaluate(config, workdir: str, *, exp: Experiment | None = None) -> dict:
  """Runs `config.eval.task` on held-out poses with the latest checkpoint.

  Every task writes workdir/eval/<task>.json and its plots (see
  `jaxpose.evaluation`).  The main job's task, "estimate", also writes the
  summary workdir/metrics.json and workdir/hypotheses.png.
  """
  exp = exp or build(config)
  e = config.eval
  params, step = restore_params(config, workdir, exp, use_ema=bool(e.use_ema))
  results = evaluation.run_task(e.task, exp=exp, params=params, config_eval=e,
                                key=jax.random.key(config.seed + 2), workdir=workdir,
                                extra={"train_step": step})
  if e.task == "estimate":
    # A suffixed run (e.g. noisy 2D) gets its own summary, never replacing
    # the main one.
    suffix = f"_{e.output_suffix}" if e.get("output_suffix") else ""
    write_summary(workdir, results, name=f"metrics{suffix}.json")
    fans = [p for p in results.get("plots", []) if p.endswith("_pose0.png")]
    if fans:
      shutil.copyfile(os.path.join(workdir, "eval", fans[0]),
                      os.path.join(workdir, f"hypotheses{suffix}.png"))
  return results


def write_summary(workdir: str, results: dict, *, name: str = "metrics.json") -> dict:
  """workdir/metrics.json: the scalar figures of an estimation run."""
  summary = {k: v for k, v in results.items()
             if not isinstance(v, (dict, list)) or k == "best_of_h"}
  evaluation.write_json_atomic(os.path.join(workdir, name), summary)
  return summary


def sample(config, workdir: str, *, exp: Experiment | None = None) -> np.ndarray:
  """Unconditional generation: writes samples.npz and samples.png."""
  from jaxpose import plotting
  exp = exp or build(config)
  params, _ = restore_params(config, workdir, exp, use_ema=bool(config.eval.use_ema))
  sample_fn = make_sampler(config, exp)
  n = int(config.eval.plot_hypotheses) * 2
  x = sample_fn(params, jax.random.key(config.seed + 3),
                gfpose.generation_task(n, exp.representation.num_joints))
  # No camera here: the "image" protocol back-projects with the nominal one.
  poses_mm = np.asarray(exp.representation.pose3d_from_model(
      np.asarray(x).reshape(n, -1, 3)))
  np.savez(os.path.join(workdir, "samples.npz"), pose3d_mm=poses_mm)
  plotting.plot_poses_3d(poses_mm, path=os.path.join(workdir, "samples.png"))
  print(f"wrote {n} generated poses to {workdir}/samples.npz and samples.png")
  return poses_mm


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
  if config.method == "baseline":
    from jaxpose import baseline  # Local: baseline builds on run_lib.
    return baseline.run(mode, config, workdir)
  exp = build(config)
  if mode in ("train", "train_and_eval"):
    train(config, workdir, exp=exp)
  if mode in ("eval", "train_and_eval"):
    evaluate(config, workdir, exp=exp)
  if mode == "sample":
    sample(config, workdir, exp=exp)
