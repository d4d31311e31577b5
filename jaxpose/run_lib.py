"""Train, evaluate and sample any registered method: the logic behind
`experiments/main.py`, usable from a notebook.

  from experiments.configs import quickstart
  from jaxpose import run_lib
  config = quickstart.get_config()
  run_lib.train(config, "runs/qs")
  results = run_lib.evaluate(config, "runs/qs")

Data flow: config -> `build()` (the method named by `config.method`, from
`jaxpose.methods`; its data, networks and evaluation settings, all checked)
-> `train()` (the method's loss through the shared train step, sharded
batches, orbax checkpoints, metrics.jsonl) -> `evaluate()` (EMA weights, the
method's task `config.eval.task` through `evaluation.runner`:
WORKDIR/eval/<task>.json; "estimate" also writes the summary
WORKDIR/metrics.json and WORKDIR/hypotheses.png). Nothing here names a
method.
"""
from __future__ import annotations

import functools
import logging as logging_std
import os
import pathlib
import shutil

from absl import logging
import jax
import numpy as np

from jaxpose import config as config_lib
from jaxpose import files
from jaxpose import methods
from jaxpose import rng
from jaxpose.data import pipeline
from jaxpose.evaluation import runner
from jaxpose.methods import base
from jaxpose.training import checkpoint as checkpoint_lib
from jaxpose.training import parallel
from jaxpose.training import train as train_lib

MODES = ("train_and_eval", "train", "eval", "sample")


def build(config) -> base.Method:
  """The method `config.method` built from the config (checked on the way)."""
  return methods.get(config.method)(config)


def fingerprint(config, method: base.Method) -> dict:
  """The config sections a checkpoint of `method` must match."""
  return config_lib.fingerprint(config, method.fingerprint_sections)


def _checkpointer(config, workdir, method: base.Method) -> checkpoint_lib.Checkpointer:
  return checkpoint_lib.Checkpointer(
      os.path.join(workdir, "checkpoints"), fingerprint=fingerprint(config, method),
      save_every=int(config.train.ckpt_every), keep=int(config.train.keep_ckpts),
      extra={**method.checkpoint_extra(), "config": config_lib.to_plain(config)})


def _optimizer(config):
  opt = config.train
  return train_lib.make_optimizer(
      learning_rate=float(opt.learning_rate), warmup_steps=int(opt.warmup_steps),
      grad_clip=float(opt.grad_clip))


def _init_state(config, method: base.Method):
  params = method.init_params(rng.purpose_key(config.seed, "init"))
  return train_lib.init_train_state(params, _optimizer(config))


def train(config, workdir: str, *, method: base.Method | None = None):
  """Trains (or resumes training) up to `config.train.num_steps`.

  Returns the final `TrainState`. A workdir holding a checkpoint of another
  model configuration is refused by the checkpointer, never overwritten.
  """
  method = method or build(config)
  pathlib.Path(workdir).mkdir(parents=True, exist_ok=True)
  tx = _optimizer(config)
  state = _init_state(config, method)
  ckpt = _checkpointer(config, workdir, method)
  restored = ckpt.restore_or_none(state)
  if restored is not None:
    state, _ = restored
    logging.info("Resumed from step %d in %s", int(state.step), workdir)
  files.write_json_atomic(os.path.join(workdir, "config.json"),
                          config_lib.to_plain(config))
  opt = config.train
  dataset = pipeline.ArrayDataset(
      {k: method.splits["train"][k] for k in method.train_fields},
      batch_size=int(opt.batch_size), seed=int(config.seed))
  train_step = train_lib.make_train_step(method.loss_fn(), tx,
                                         ema_max_decay=float(opt.ema_decay))

  def batch_fn(step):
    return dataset.batch(step, process_index=jax.process_index(),
                         process_count=jax.process_count())

  state = train_lib.fit(
      state, train_step, batch_fn, key=rng.purpose_key(config.seed, "train"),
      num_steps=int(opt.num_steps), mesh=parallel.make_mesh(), checkpointer=ckpt,
      log_every=int(opt.log_every),
      metrics_path=os.path.join(workdir, "metrics.jsonl"))
  ckpt.close()
  return state


def restore_params(config, workdir: str, method: base.Method, *,
                   use_ema: bool = True):
  """(parameters, step) of the latest checkpoint in `workdir` (EMA by default)."""
  template = _init_state(config, method)
  ckpt = _checkpointer(config, workdir, method)
  restored = ckpt.restore_or_none(template)
  ckpt.close()
  if restored is None:
    raise FileNotFoundError(
        f"no checkpoint in {os.path.join(workdir, 'checkpoints')}: train first "
        "(--mode=train or train_and_eval)")
  state, _ = restored
  return (state.ema_params if use_ema else state.params), int(state.step)


def evaluate_params(method: base.Method, params, out_dir: str, *, key,
                    extra: dict | None = None) -> dict:
  """Runs the method's task `eval_config.task` on `params`; writes to `out_dir`.

  The task sees the first `eval.num_poses` test rows; its JSON and plots go
  to `out_dir` under the stem `<task>[_<suffix>]`. Returns the results.
  """
  ev = method.eval_config
  dataset = method.dataset
  ctx = runner.EvalContext(
      test=runner.first_rows(method.splits["test"], ev.num_poses),
      train=method.splits["train"], params=params, key=key, config=ev,
      out_dir=out_dir, stem=runner.output_stem(ev.task, ev.output_suffix),
      activity_names=tuple(dataset.activity_names.get("test", ())),
      input_2d=dataset.input_2d.get("test", "exact"), data_name=dataset.name)
  return runner.run_task(ev.task, method.eval_tasks()[ev.task], ctx,
                         extra={"method": method.name, **(extra or {})})


def evaluate(config, workdir: str, *, method: base.Method | None = None) -> dict:
  """Runs the method's task `config.eval.task` with the latest checkpoint.

  Writes WORKDIR/eval/<task>[_<suffix>].json and its plots; "estimate" also
  writes the summary WORKDIR/metrics[_<suffix>].json and
  WORKDIR/hypotheses[_<suffix>].png. Returns the results dict.
  """
  method = method or build(config)
  ev = method.eval_config
  params, step = restore_params(config, workdir, method, use_ema=ev.use_ema)
  out_dir = os.path.join(workdir, "eval")
  results = evaluate_params(method, params, out_dir,
                            key=rng.purpose_key(config.seed, "eval"),
                            extra={"train_step": step})
  if ev.task == "estimate":
    stem = functools.partial(runner.output_stem, suffix=ev.output_suffix)
    write_summary(workdir, results, name=stem("metrics") + ".json")
    fans = [p for p in results.get("plots", []) if p.endswith("_pose0.png")]
    if fans:
      shutil.copyfile(os.path.join(out_dir, fans[0]),
                      os.path.join(workdir, stem("hypotheses") + ".png"))
  return results


def write_summary(workdir: str, results: dict, *, name: str = "metrics.json") -> dict:
  """WORKDIR/metrics.json: the scalar figures of an estimation run."""
  summary = {k: v for k, v in results.items()
             if not isinstance(v, (dict, list)) or k == "best_of_h"}
  files.write_json_atomic(os.path.join(workdir, name), summary)
  return summary


def sample(config, workdir: str, *, method: base.Method | None = None) -> np.ndarray:
  """Unconditional samples: writes samples.npz and samples.png."""
  from jaxpose import plotting
  method = method or build(config)
  if not method.can_sample:
    raise ValueError(f"mode: {method.name} does not generate samples; "
                     "use --mode=train, eval or train_and_eval")
  params, _ = restore_params(config, workdir, method,
                             use_ema=method.eval_config.use_ema)
  n = 2 * method.eval_config.plot_hypotheses
  poses_mm = method.sample(params, rng.purpose_key(config.seed, "sample"), n)
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
  """`experiments/main.py`'s job: train and/or evaluate, or sample."""
  if mode not in MODES:
    raise ValueError(f"mode: {mode!r}; valid: {', '.join(MODES)}")
  method = build(config)
  if mode == "sample" and not method.can_sample:
    raise ValueError(f"mode: {method.name} does not generate samples; "
                     "use --mode=train, eval or train_and_eval")
  if mode in ("train", "train_and_eval"):
    train(config, workdir, method=method)
  if mode in ("eval", "train_and_eval"):
    return evaluate(config, workdir, method=method)
  if mode == "sample":
    return sample(config, workdir, method=method)
  return None
