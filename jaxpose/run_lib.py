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

import datetime
import functools
import hashlib
import json
import logging as logging_std
import os
import shutil
import socket

from absl import logging
import jax
import ml_collections
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
from jaxpose.training import workdir as workdir_lib

MODES = ("train_and_eval", "train", "eval", "sample")


def build(config) -> base.Method:
  """The method `config.method` built from the config (checked on the way)."""
  return methods.get(config.method)(config)


def fingerprint(config, method: base.Method) -> dict:
  """The config sections (and data-derived facts) a checkpoint of `method`
  must match."""
  return {**config_lib.fingerprint(config, method.fingerprint_sections),
          **method.fingerprint_extra()}


def _checkpointer(config, workdir, method: base.Method, *,
                  read_only: bool = False) -> checkpoint_lib.Checkpointer:
  return checkpoint_lib.Checkpointer(
      os.path.join(workdir, "checkpoints"), fingerprint=fingerprint(config, method),
      save_every=int(config.train.ckpt_every), keep=int(config.train.keep_ckpts),
      extra={**method.checkpoint_extra(), "config": config_lib.to_plain(config)},
      read_only=read_only)


def check_train_config(config):
  """Refuses training settings that cannot work, before anything runs.

  Raises:
    config_lib.ConfigError: naming the key and the fix.
  """
  for key in ("num_steps", "log_every", "ckpt_every", "keep_ckpts"):
    value = config.train.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
      what = "updates to train" if key == "num_steps" else "steps"
      raise config_lib.ConfigError(
          f"train.{key} must be a whole number >= 1 ({what}), got {value!r}; "
          f"set --config.train.{key}=N with N >= 1")
  growth = config.train.get("max_param_norm_growth", 0.0)
  if isinstance(growth, bool) or not isinstance(growth, (int, float)) or not (
      growth == 0 or growth > 1):
    raise config_lib.ConfigError(
        f"train.max_param_norm_growth must be > 1 (or 0 to disable the "
        f"check), got {growth!r}")


def _stored_config(workdir: str, extra: dict) -> dict | None:
  """The config the restored checkpoint was trained with (or config.json)."""
  if isinstance(extra.get("config"), dict):
    return extra["config"]
  path = os.path.join(workdir, "config.json")
  if os.path.exists(path):
    with open(path) as f:
      return json.load(f)
  return None


def _check_resume(config, workdir: str, step: int, stored: dict | None) -> dict:
  """Refuses a resume whose settings would not continue the same run.

  Returns:
    The accepted changes `{key: (stored, requested)}` (with
    train.allow_changed_resume=True), else {}.
  """
  if stored is None:
    return {}
  changes = config_lib.resume_changes(stored, config)
  if not changes:
    return {}
  listed = "; ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in changes.items())
  if not config.train.get("allow_changed_resume", False):
    raise config_lib.ConfigError(
        f"workdir {workdir} was trained to step {step} with other settings "
        f"({listed}); continuing with these would not be the same run. Use "
        "the original values, a new workdir, or "
        "--config.train.allow_changed_resume=True to continue anyway (the "
        "change is recorded in config_history.jsonl)")
  logging.warning("Resuming step %d with changed settings (allowed by "
                  "train.allow_changed_resume): %s", step, listed)
  return changes


def _record_start(config, workdir: str, step: int, changes: dict):
  """config.json (the latest start) and one config_history.jsonl line per
  start, so the configurations behind every trained step stay known."""
  if jax.process_index() != 0:
    return
  plain = config_lib.to_plain(config)
  files.write_json_atomic(os.path.join(workdir, "config.json"), plain)
  record = {"started": datetime.datetime.now().astimezone().isoformat(
                timespec="seconds"),
            "start_step": step, "num_steps": int(config.train.num_steps),
            "host": socket.gethostname(), "pid": os.getpid(),
            "changed": {k: list(v) for k, v in changes.items()},
            "config": plain}
  with open(os.path.join(workdir, "config_history.jsonl"), "a") as f:
    f.write(json.dumps(files.jsonable(record), sort_keys=True) + "\n")


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

  Returns the final `TrainState`. The workdir is held by this run (a second
  training on it is refused, `training.workdir`); a workdir holding a
  checkpoint of another model configuration is refused by the checkpointer,
  and a resume with settings that break exact resume
  (`config.RESUME_SAFE_KEYS` lists those that may change) unless
  train.allow_changed_resume; all before anything in it is written.
  """
  check_train_config(config)
  os.makedirs(workdir, exist_ok=True)
  with workdir_lib.hold(workdir, purpose="training"):
    method = method or build(config)
    method.use_workdir(workdir, training=True)
    tx = _optimizer(config)
    state = _init_state(config, method)
    ckpt = _checkpointer(config, workdir, method)
    try:
      restored = ckpt.restore_or_none(state)
      changes = {}
      if restored is not None:
        state, extra = restored
        step = int(state.step)
        if step >= int(config.train.num_steps):
          # Nothing is trained, so nothing is resumed or recorded (e.g.
          # train_and_eval run again to evaluate on other data).
          logging.info("Nothing to train: %s holds step %d >= "
                       "train.num_steps=%d", workdir, step,
                       int(config.train.num_steps))
          return state
        changes = _check_resume(config, workdir, step,
                                _stored_config(workdir, extra))
        logging.info("Resumed from step %d in %s", step, workdir)
      _record_start(config, workdir, int(state.step), changes)
      opt = config.train
      arrays = {k: method.splits["train"][k] for k in method.train_fields}
      rows = method.train_rows()
      if rows is not None:
        arrays = {k: np.asarray(v)[rows] for k, v in arrays.items()}
        logging.info("Training on %d of the train split's %d rows (the "
                     "others held out)", len(rows),
                     len(method.splits["train"][method.train_fields[0]]))
      dataset = pipeline.ArrayDataset(arrays,
          batch_size=int(opt.batch_size), seed=int(config.seed))
      train_step = train_lib.make_train_step(method.loss_fn(), tx,
                                             ema_max_decay=float(opt.ema_decay))

      def batch_fn(step):
        return dataset.batch(step, process_index=jax.process_index(),
                             process_count=jax.process_count())

      state = train_lib.fit(
          state, train_step, batch_fn, key=rng.purpose_key(config.seed, "train"),
          num_steps=int(opt.num_steps), mesh=parallel.make_mesh(),
          checkpointer=ckpt, log_every=int(opt.log_every),
          metrics_path=os.path.join(workdir, "metrics.jsonl"),
          max_param_norm_growth=float(opt.get("max_param_norm_growth", 0.0)))
    finally:
      ckpt.close()
  return state


def restore_params(config, workdir: str, method: base.Method, *,
                   use_ema: bool = True):
  """(parameters, step) of the latest checkpoint in `workdir` (EMA by default).

  Reads only (nothing in the workdir is written), so it may run beside a
  training run: it sees the latest finished checkpoint.
  """
  method.use_workdir(workdir, training=False)
  template = _init_state(config, method)
  ckpt = _checkpointer(config, workdir, method, read_only=True)
  try:
    restored = ckpt.restore_or_none(template)
  except checkpoint_lib.CheckpointError as e:
    info = workdir_lib.holder(workdir)
    if info is None:
      raise
    raise checkpoint_lib.CheckpointError(
        f"{e} (a training run holds this workdir, pid {info.get('pid')} on "
        f"{info.get('host')}: it may have replaced that checkpoint while it "
        "was read; retry before deleting anything)") from e
  finally:
    ckpt.close()
  if restored is None:
    raise FileNotFoundError(
        f"no checkpoint in {os.path.join(workdir, 'checkpoints')}: train first "
        "(--mode=train or train_and_eval)")
  state, _ = restored
  return (state.ema_params if use_ema else state.params), int(state.step)


def load_trained(workdir: str, *, use_ema: bool = True):
  """(method, params, config) of the training in `workdir`, read-only.

  The method is rebuilt from the workdir's own config.json, so one method
  can use another's trained networks (a prior as a regulariser, a frozen
  context encoder) knowing only the workdir. Its data are loaded only if
  the caller touches them (the methods load data lazily).
  """
  stored = _stored_config(workdir, {})
  if stored is None:
    raise FileNotFoundError(
        f"{os.path.join(workdir, 'config.json')} missing: {workdir!r} is not a "
        "trained jaxpose workdir (train it first with experiments.main)")
  config = ml_collections.ConfigDict(stored)
  method = build(config)
  params, _ = restore_params(config, workdir, method, use_ema=use_ema)
  return method, params, config


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


def eval_output_dir(config, workdir: str) -> str:
  """Where an evaluation of `config` on `workdir`'s model writes.

  `eval.output_dir` when set; WORKDIR/eval for the data the model was
  trained on; WORKDIR/eval/<data.name>-<hash of the data section> for any
  other data (another dataset, other 2D, other cameras), so evaluating
  elsewhere never overwrites the training data's results.
  """
  if config.eval.get("output_dir", ""):
    return str(config.eval.output_dir)
  base_dir = os.path.join(workdir, "eval")
  trained_on = _trained_data(workdir)
  data = config_lib.to_plain(config.get("data", {}))
  if trained_on is None or trained_on == data:
    return base_dir
  digest = hashlib.sha1(json.dumps(data, sort_keys=True).encode()).hexdigest()[:8]
  return os.path.join(base_dir, f"{data.get('name', 'data')}-{digest}")


def _trained_data(workdir: str) -> dict | None:
  """The data section the workdir's model was trained with (config.json)."""
  stored = _stored_config(workdir, {})
  return None if stored is None else stored.get("data")


def evaluate(config, workdir: str, *, method: base.Method | None = None) -> dict:
  """Runs the method's task `config.eval.task` with the latest checkpoint.

  Writes <out>/<task>[_<suffix>].json and its plots, <out> being
  `eval_output_dir` (WORKDIR/eval for the training data); "estimate" also
  writes the summary metrics[_<suffix>].json and hypotheses[_<suffix>].png
  (into WORKDIR for the training data, else beside the results). Returns
  the results dict.
  """
  configure_logging()
  method = method or build(config)
  ev = method.eval_config
  params, step = restore_params(config, workdir, method, use_ema=ev.use_ema)
  out_dir = eval_output_dir(config, workdir)
  summary_dir = workdir if out_dir == os.path.join(workdir, "eval") else out_dir
  if summary_dir != workdir:
    logging.info("Data other than the training data (or eval.output_dir): "
                 "results go to %s", out_dir)
  results = evaluate_params(method, params, out_dir,
                            key=rng.purpose_key(config.seed, "eval"),
                            extra={"train_step": step})
  if ev.task == "estimate":
    stem = functools.partial(runner.output_stem, suffix=ev.output_suffix)
    write_summary(summary_dir, results, name=stem("metrics") + ".json")
    fans = [p for p in results.get("plots", []) if p.endswith("_pose0.png")]
    if fans:
      shutil.copyfile(os.path.join(out_dir, fans[0]),
                      os.path.join(summary_dir, stem("hypotheses") + ".png"))
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


LIBRARY_LOGS_ENV = "JAXPOSE_LIBRARY_LOGS"


class _DropLibraryInfo(logging_std.Filter):
  """Drops INFO records of checkpointing internals (orbax); warnings pass."""

  def filter(self, record):
    return record.levelno >= logging_std.WARNING or "orbax" not in record.pathname


def configure_logging(library_logs: bool | None = None):
  """A run's own progress on, the libraries' INFO chatter off.

  From a script, a notebook or `experiments/main.py` alike: jaxpose's INFO
  records (progress, ETA, checkpoints) are shown, orbax's per-save INFO
  records are not. `library_logs=True`, or JAXPOSE_LIBRARY_LOGS=1 in the
  environment, keeps the libraries' records too. Idempotent.
  """
  if library_logs is None:
    library_logs = os.environ.get(LIBRARY_LOGS_ENV, "") not in ("", "0")
  if logging.get_verbosity() < logging.INFO:  # plain Python starts at WARNING
    logging.set_verbosity(logging.INFO)
  targets = [logging_std.getLogger("absl"), logging.get_absl_handler()]
  for target in targets:
    for f in [f for f in target.filters if isinstance(f, _DropLibraryInfo)]:
      target.removeFilter(f)
    if not library_logs:
      target.addFilter(_DropLibraryInfo())


def run(mode: str, config, workdir: str):
  """`experiments/main.py`'s job: train and/or evaluate, or sample."""
  if mode not in MODES:
    raise ValueError(f"mode: {mode!r}; valid: {', '.join(MODES)}")
  if mode in ("train", "train_and_eval"):
    check_train_config(config)  # before the data is built
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
