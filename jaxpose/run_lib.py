"""Train, evaluate and sample any registered method: the logic behind
`experiments/main.py`, usable from a notebook.

  from experiments.configs import quickstart
  from jaxpose import run_lib
  config = quickstart.get_config()
  run_lib.train(config, "runs/qs")
  results = run_lib.evaluate(config, "runs/qs")
  # later, from the workdir alone, changing only what the evaluation needs:
  results = run_lib.evaluate(run_lib.evaluation_config(
      "runs/qs", {"eval.task": "denoise"}), "runs/qs")

Data flow: config -> `methods.parse`, once (typed `RunSettings`) ->
`train` (needs, data, prepared state, the shared loop, checkpoints) ->
`evaluate` (`eval.task` through `evaluation.runner`). Nothing here names
a method, a task or a file of one.
"""
from __future__ import annotations

import dataclasses
import functools
import os

from absl import logging
import jax
import numpy as np

from jaxpose import files
from jaxpose import logs
from jaxpose import methods
from jaxpose import rng
from jaxpose import settings
from jaxpose.calibration import heldout
from jaxpose.calibration import store as calibration_store
from jaxpose.data import datasets
from jaxpose.data import pipeline
from jaxpose.evaluation import output_names
from jaxpose.evaluation import runner
from jaxpose.evaluation import summary as summary_lib
from jaxpose.methods import base
from jaxpose.training import augment
from jaxpose.training import parallel
from jaxpose.training import train as train_lib
from jaxpose.workdir import layout
from jaxpose.workdir import lock as lock_lib
from jaxpose.workdir import prepared as prepared_lib
from jaxpose.workdir import trained as trained_lib
from jaxpose.workdir import version
# A trained workdir read back (`workdir.trained`), here for notebooks.
from jaxpose.workdir.trained import (EVAL_SECTIONS, eval_output_dir,
                                     evaluation_config, fingerprint,
                                     load_trained, provided, resolve_needs,
                                     stored_config, typed)

MODES = ("train_and_eval", "train", "eval", "sample", "calibrate")


# ----------------------------------------------------------------------------
# Training


def train(config, workdir: str | layout.Workdir):
  """Trains (or resumes training) up to `config.train.num_steps`.
  `config`: a config, or its typed settings (`typed`).

  Returns the final `TrainState`. The workdir is held by this run (a second
  training on it is refused, `workdir.lock`); a workdir holding a
  checkpoint of another model, a resume with settings that break exact
  resume (`config.RESUME_SAFE_KEYS` lists those that may change) unless
  train.allow_changed_resume, and prepared artefacts made from other
  settings are refused, all before anything in it is written.
  """
  logs.configure_logging()
  method, run = typed(config)
  where = layout.Workdir.of(workdir)
  os.makedirs(where.root, exist_ok=True)
  with lock_lib.hold(where, purpose="training"):
    version.check(where)
    needs, need_digests = resolve_needs(method, run, training=True)
    data = method.load_data(run, needs)
    trained_lib.upgrade_legacy(method, run, where, data, needs, need_digests)
    artefacts, fresh = trained_lib.prepare(method, run, data, needs, where)
    model = method.build(run, artefacts, needs)
    state = trained_lib.init_state(run, model)
    ckpt = trained_lib.checkpointer(
        where, run, fingerprint(method, run, artefacts, need_digests))
    try:
      if fresh:  # the checkpointer has accepted this model's fingerprint
        prepared_lib.save(where, artefacts,
                          trained_lib.made_from(method, run, with_data=True))
      state, done = trained_lib.resume(where, run, ckpt, state)
      if done:
        return state
      training = method.training(model, data, artefacts)
      pipeline.check_weighted(data.splits.get("train", {}), training.arrays, method.name)
      return _fit(run, training, state, ckpt, where)
    finally:
      ckpt.close()


def _fit(run, training: base.Training, state, ckpt, where: layout.Workdir):
  arrays, weights = pipeline.without_weights(training.arrays)
  logging.info("Training on %d rows", len(next(iter(arrays.values()))))
  dataset = pipeline.ArrayDataset(arrays, batch_size=run.train.batch_size,
                                  seed=run.seed, weights=weights)
  loss = augment.mirrored(training.loss, training.mirror, run.train.mirror,
                          run.method)
  train_step = train_lib.make_train_step(
      loss, run.train.optimizer(), ema_max_decay=run.train.ema_decay)

  def batch_fn(step):
    return dataset.batch(step, process_index=jax.process_index(),
                         process_count=jax.process_count())

  return train_lib.fit(
      state, train_step, batch_fn, key=rng.purpose_key(run.seed, "train"),
      num_steps=run.train.num_steps, mesh=parallel.make_mesh(),
      checkpointer=ckpt, log_every=run.train.log_every,
      metrics_path=where.metrics_log, summary_dir=where.tensorboard,
      max_param_norm_growth=run.train.max_param_norm_growth)


# ----------------------------------------------------------------------------
# Evaluation and sampling


def evaluate(config, workdir: str | layout.Workdir, *,
             trained: base.Trained | None = None) -> dict:
  """Runs the method's task `config.eval.task` on the latest checkpoint.

  Writes <out>/<stem>.json and its plots (<out>: `eval_output_dir`, stem
  `<task>[_<suffix>]`, or beside one of other settings: `output_names`), the
  summary `metrics.json`, the task's picture `<stem>.png` (in WORKDIR for
  the training data, else beside the results) and TensorBoard events.
  Returns the results dict; it says which rows were scored (`rows_scored`).
  """
  logs.configure_logging()
  method, run = typed(config)
  where = layout.Workdir.of(workdir)
  logging.info("Evaluating %s (task %s): restoring the trained model",
               where, run.eval.task)
  trained = trained or load_trained(where, config=run)
  logging.info("Loading the evaluation data (%s)", datasets.name_of(run.data))
  # A missing file of the train split alone is done without.
  data = method.load_data(run if run.eval.rows != "test" else dataclasses.replace(
      run, data=datasets.for_evaluation(run.data)), trained.needs)
  if not data.dataset.truth_3d:
    raise settings.ConfigError(
        f"data.name={data.dataset.name!r} has no 3D truth to score against; "
        f"lift it: python -m experiments.lift --workdir={where} ...")
  out_dir = eval_output_dir(run, where)
  if (summary_dir := where.root if out_dir == where.eval
      else out_dir) != where.root:
    logging.info("Other data (or eval.output_dir): results go to %s", out_dir)
  dataset = data.dataset
  splits, split, suffix = data.splits, "test", run.eval.output_suffix
  if run.eval.rows == "heldout":
    splits, split = heldout.heldout_splits(trained, data), "train"
    suffix = "_".join(s for s in (suffix, "heldout") if s)
  stem, recorded = output_names.for_run(  # beside other settings' results
      method, run, out_dir, runner.output_stem(run.eval.task, suffix),
      EVAL_SECTIONS)
  test, which_rows = runner.scored_rows(  # held-out clips: in file order
      splits["test"], run.eval.num_poses,
      dataset.test_order if split == "test" else "file")
  ctx = runner.EvalContext(
      test=test, splits=splits, key=rng.purpose_key(run.seed, "eval"),
      config=run.eval, out_dir=out_dir, stem=stem, reads=method.reads(run, run.eval.task),
      activity_names=tuple(dataset.activity_names.get(split, ())),
      input_2d=dataset.input_2d.get(split, "exact"), data_name=dataset.name)
  logging.info("Running %s on %s %s rows", run.eval.task, which_rows,
               "held-out" if split == "train" else "test")
  task = calibration_store.applying(  # WORKDIR/calibration.json, if any
      functools.partial(method.tasks[run.eval.task], trained,
                        run.task_options[run.eval.task]),
      where, task=run.eval.task, step=trained.step, params=trained.params,
      enabled=run.eval.apply_calibration and split == "test")
  return runner.run_task(
      run.eval.task, task, ctx,
      extra={"method": method.name, "train_step": trained.step,
             "rows_scored": which_rows, output_names.FIELD: recorded,
             **({"rows": "heldout"} if split == "train" else {})},
      after=functools.partial(summary_lib.write_summaries,
                              summary_dir=summary_dir, step=trained.step))


def sample(config, workdir: str | layout.Workdir) -> np.ndarray:
  """`eval.num_poses` unconditional samples in mm: writes samples.npz, and
  samples.png of the first 2 x `eval.plot_hypotheses` (none at 0)."""
  from jaxpose import plotting
  method, run = typed(config)
  if method.capabilities.sample is None:
    raise settings.ConfigError(f"mode: {method.name} does not generate samples;"
                               " use --mode=train, eval or train_and_eval")
  where = layout.Workdir.of(workdir)
  trained = load_trained(where, config=run)
  n = run.eval.num_poses
  poses_mm = np.asarray(method.capabilities.sample(trained, rng.purpose_key(run.seed, "sample"), n))
  files.write_npz_atomic(where.samples,
                         {"pose3d_mm": poses_mm})
  shown = min(n, 2 * run.eval.plot_hypotheses)
  if shown:
    plotting.plot_poses_3d(poses_mm[:shown],
                           path=where.samples_plot)
  print(f"wrote {n} generated poses to {where.samples}"
        + (f", {shown} of them drawn in samples.png" if shown else ""))
  return poses_mm


def calibrate(config, workdir: str | layout.Workdir) -> dict:
  """`eval.task`'s calibration fitted on held-out training rows (or borrowed
  from `eval.calibration_from`, `calibration.heldout`) into
  WORKDIR/calibration.json; returns its entry."""
  logs.configure_logging()
  method, run = typed(config)
  trained = load_trained(layout.Workdir.of(workdir), config=run)
  if run.eval.calibration_from:
    return heldout.borrow(trained, load_trained(run.eval.calibration_from))
  return heldout.calibrate(trained, method.load_data(
      heldout.calibration_run(run), trained.needs))


def run(mode: str, config, workdir: str | layout.Workdir, *, overrides=None):
  """`experiments/main.py`'s job: train and/or evaluate, sample, calibrate.
  Outside training the workdir's config.json gives the settings
  (`evaluation_config`), `config` the keys it lacks, `overrides` changes."""
  settings.one_of("mode", mode, MODES)
  where = layout.Workdir.of(workdir)  # typed once, as the config is
  if mode in ("eval", "sample", "calibrate") and where.has_config():
    config = evaluation_config(where, overrides, base_config=config)
  _, settings_ = methods.parse(config)  # the one parse: all checked first
  if mode in ("train", "train_and_eval"):
    train(settings_, where)
  if mode in ("eval", "train_and_eval"):
    return evaluate(settings_, where)
  if mode == "sample":
    return sample(settings_, where)
  if mode == "calibrate":
    return calibrate(settings_, where)
  return None


__all__ = ["MODES", "EVAL_SECTIONS", "typed", "train", "evaluate", "sample", "run",
           "calibrate", "load_trained", "evaluation_config", "stored_config",
           "resolve_needs", "provided", "fingerprint", "eval_output_dir"]
