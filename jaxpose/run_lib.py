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

import copy
import dataclasses
import functools
import os

from absl import logging
import jax
import ml_collections
import numpy as np

from jaxpose import config as config_lib
from jaxpose import digest as digest_lib
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
from jaxpose.training import checkpoint as checkpoint_lib
from jaxpose.training import parallel
from jaxpose.training import prepared as prepared_lib
from jaxpose.training import run_config
from jaxpose.training import train as train_lib
from jaxpose.training import workdir as workdir_lib

MODES = ("train_and_eval", "train", "eval", "sample", "calibrate")
# What an evaluation in a trained workdir may change (besides the paths of
# its needed workdirs): the rest describes the trained model.
EVAL_SECTIONS = ("eval", "data", "seed")


def typed(config) -> tuple[base.Method, base.RunSettings]:
  """(method, typed settings) of a config; typed settings pass as they are."""
  if isinstance(config, base.RunSettings):
    return methods.get(config.method), config
  return methods.parse(config)


# ----------------------------------------------------------------------------
# Trained parts of other workdirs


def resolve_needs(method: base.Method, run: base.RunSettings, *,
                  training: bool) -> tuple[dict, dict]:
  """(needs by name, the digests of those that are part of the model).

  Each `Need`'s workdir (named by its config key) is loaded read-only, asked
  for the need's protocol and checked.

  Raises:
    settings.ConfigError: an empty or missing workdir, a workdir whose
      method does not provide the protocol, a failed check.
  """
  needs, digests = {}, {}
  for need in method.needs:
    path = str(run.setting(need.config_key) or "")
    where = f"{need.config_key}={path!r}"
    if not path:
      if need.optional:
        needs[need.name] = None
        continue
      raise settings.ConfigError(f"{need.config_key}: empty; {need.hint}")
    trained, part = provided(path, need.protocol, where=where, hint=need.hint)
    if need.check is not None:
      need.check(run, trained)
    if training and need.same_training_data:
      datasets.check_same_training_data(run.data, trained.run.data, where)
    needs[need.name] = part
    if need.part_of_model:
      digests[need.name] = digest_lib.digest(trained.params)
  return needs, digests


def provided(path: str, protocol: type, *, where: str, hint: str, config=None):
  """(the trained workdir `path` (with `config`, else its own), the
  `protocol` its method provides); ConfigError naming `where` and `hint`
  when it is missing or provides none."""
  if not os.path.isdir(path):
    raise settings.ConfigError(f"{where}: no such directory; {hint}")
  trained = load_trained(path, config=config)
  provide = trained.method.capabilities.provides.get(protocol)
  if provide is None:
    raise settings.ConfigError(
        f"{where}: it holds a {trained.method.name!r} model, which provides "
        f"no {protocol.__name__}; {hint}")
  return trained, provide(trained)


# ----------------------------------------------------------------------------
# Prepared artefacts, fingerprints, checkpoints


def made_from(method: base.Method, run: base.RunSettings, *,
               with_data: bool) -> dict:
  """The settings a method's artefacts are made from."""
  out = {k: run.setting(k) for k in method.prepare_keys}
  return {**out, **({f"data.{k}": v for k, v in datasets.training_data(
      run.data).items()} if with_data else {})}


def _prepare_defaults(method, run) -> dict:  # keys older configs left out
  return {**{k: run.default(k) for k in method.prepare_keys},
          **datasets.training_data_defaults(run.data)}


def fingerprint(method: base.Method, run: base.RunSettings, artefacts,
                need_digests: dict) -> dict:
  """What a checkpoint must match: the method's config sections, the
  digests of its prepared artefacts (but `method.eval_artefacts`) and of
  the trained parts it uses."""
  out = config_lib.fingerprint(run.config, method.fingerprint_sections)
  artefacts = {k: v for k, v in (artefacts or {}).items()
               if k not in method.eval_artefacts}
  if artefacts:
    out["prepared"] = prepared_lib.digests(artefacts)
  if need_digests:
    out["needs"] = dict(sorted(need_digests.items()))
  return out


def checkpointer(workdir, run, fp, *, read_only=False):
  return checkpoint_lib.Checkpointer(
      os.path.join(workdir, "checkpoints"), fingerprint=fp,
      save_every=run.train.ckpt_every, keep=run.train.keep_ckpts,
      extra={"config": run.config}, read_only=read_only)


def _prepare(method, run, data, needs, workdir) -> tuple[dict, bool]:
  """(artefacts, whether they are new and still to be written)."""
  if prepared_lib.read_index(workdir) is not None:
    artefacts, index = prepared_lib.load(workdir)
    prepared_lib.check_made_from(workdir, index,
                                 made_from(method, run, with_data=True),
                                 _prepare_defaults(method, run))
    return artefacts, False
  if method.prepare is None:
    return {}, True
  logging.info("Preparing %s's state from the training data", method.name)
  ctx = base.PrepareContext(run=run, data=data, needs=needs,
                            key=rng.purpose_key(run.seed, "fit"))
  return dict(method.prepare(ctx)), True


def init_state(run, model, *, abstract: bool = False):
  tx = run.train.optimizer()
  init = lambda: train_lib.init_train_state(
      model.init(rng.purpose_key(run.seed, "init")), tx)
  return jax.eval_shape(init) if abstract else init()


# ----------------------------------------------------------------------------
# Training


def train(config, workdir: str):
  """Trains (or resumes training) up to `config.train.num_steps`.
  `config`: a config, or its typed settings (`typed`).

  Returns the final `TrainState`. The workdir is held by this run (a second
  training on it is refused, `training.workdir`); a workdir holding a
  checkpoint of another model, a resume with settings that break exact
  resume (`config.RESUME_SAFE_KEYS` lists those that may change) unless
  train.allow_changed_resume, and prepared artefacts made from other
  settings are refused, all before anything in it is written.
  """
  logs.configure_logging()
  method, run = typed(config)
  os.makedirs(workdir, exist_ok=True)
  with workdir_lib.hold(workdir, purpose="training"):
    needs, need_digests = resolve_needs(method, run, training=True)
    data = method.load_data(run, needs)
    artefacts, fresh = _prepare(method, run, data, needs, workdir)
    model = method.build(run, artefacts, needs)
    state = init_state(run, model)
    ckpt = checkpointer(workdir, run,
                         fingerprint(method, run, artefacts, need_digests))
    try:
      if fresh:  # the checkpointer has accepted this model's fingerprint
        prepared_lib.save(workdir, artefacts,
                          made_from(method, run, with_data=True))
      restored = ckpt.restore_or_none(state)
      changes = {}
      if restored is not None:
        state, extra = restored
        step = int(state.step)
        if step >= run.train.num_steps:
          logging.info("Nothing to train: %s holds step %d >= "
                       "train.num_steps=%d", workdir, step, run.train.num_steps)
          return state
        changes = run_config.check_resume(
            run.config, workdir, step, run_config.read(workdir, extra),
            allow_changed=run.train.allow_changed_resume)
        logging.info("Resumed from step %d in %s", step, workdir)
      run_config.record_start(run.config, workdir, int(state.step),
                              run.train.num_steps, changes)
      training = method.training(model, data, artefacts)
      pipeline.check_weighted(data.splits.get("train", {}), training.arrays, method.name)
      return _fit(run, training, state, ckpt, workdir)
    finally:
      ckpt.close()


def _fit(run, training: base.Training, state, ckpt, workdir):
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
      metrics_path=os.path.join(workdir, "metrics.jsonl"), summary_dir=workdir,
      max_param_norm_growth=run.train.max_param_norm_growth)


# ----------------------------------------------------------------------------
# Trained workdirs


def stored_config(workdir: str) -> dict:
  """The config `workdir`'s model was trained with (its config.json), the
  flat eval keys of an older one in their tasks' groups (`Tasks.upgrade`)."""
  stored = run_config.read(workdir)
  if stored is None:
    raise FileNotFoundError(
        f"{os.path.join(workdir, run_config.FILE)} missing: {workdir!r} is not "
        "a trained jaxpose workdir (train it first with experiments.main)")
  if stored.get("method") in methods.names() and "eval" in stored:
    tasks = methods.get(stored["method"]).tasks
    stored = {**stored, "eval": tasks.upgrade(stored["eval"])}
  return stored


def load_trained(workdir: str, *, config=None,
                 use_ema: bool | None = None) -> base.Trained:
  """The trained parts of `workdir`, read-only.

  Args:
    workdir: a trained workdir.
    config: the settings to evaluate it with, a config or typed settings
      (default: its config.json, read back into types); its model sections
      must match the checkpoint's.
    use_ema: the EMA parameters (default: `eval.use_ema`).

  Nothing in the workdir is written, so this may run beside a training
  run: it sees the latest finished checkpoint.
  """
  config = stored_config(workdir) if config is None else config
  method, run = typed(config)
  # Before the model is built: an untrained workdir lacks its prepared state.
  checkpoint_lib.require_finished_step(os.path.join(workdir, "checkpoints"))
  needs, need_digests = resolve_needs(method, run, training=False)
  if ((method.prepare is None or method.eval_artefacts)
      and prepared_lib.read_index(workdir) is None):
    artefacts = {}  # nothing prepared, or only evaluation's (made later)
  else:
    artefacts, index = prepared_lib.load(workdir)
    prepared_lib.check_made_from(workdir, {
        "made_from": {k: v for k, v in index.get("made_from", {}).items()
                      if k in method.prepare_keys}},
        made_from(method, run, with_data=False), _prepare_defaults(method, run))
  model = method.build(run, artefacts, needs)
  ckpt = checkpointer(workdir, run,
                       fingerprint(method, run, artefacts, need_digests),
                       read_only=True)
  try:
    restored = ckpt.restore_or_none(init_state(run, model, abstract=True))
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
    raise FileNotFoundError(f"no checkpoint in {workdir}/checkpoints")
  state, _ = restored
  use_ema = run.eval.use_ema if use_ema is None else use_ema
  return base.Trained(method=method, run=run, model=model,
                      params=state.ema_params if use_ema else state.params,
                      prepared=artefacts, needs=needs, workdir=workdir,
                      step=int(state.step))


def evaluation_config(workdir: str, overrides=None, *, base_config=None
                      ) -> ml_collections.ConfigDict:
  """The settings of an evaluation (or sampling) in a trained workdir.

  The workdir's config.json, completed by `base_config` for keys it lacks
  (keys added since it was trained), with `overrides` applied.

  Args:
    workdir: a trained workdir.
    overrides: `{dotted key: value}`: what this evaluation changes. Keys of
      `EVAL_SECTIONS` and the workdir paths of the method's needs may take
      any value; any other must equal the model's (`trained_value`).
    base_config: a config whose keys fill those config.json lacks.

  Raises:
    settings.ConfigError: an override that contradicts the trained model,
      naming the key and both values.
  """
  stored = stored_config(workdir)
  merged = config_lib.fill_missing(copy.deepcopy(stored),
                         config_lib.to_plain(base_config) or {})
  method = methods.get(stored.get("method", ""))
  free = {need.config_key for need in method.needs}
  missing = object()
  for key, value in (overrides or {}).items():
    old = config_lib.trained_value(stored, key, missing)
    changeable = key.split(".")[0] in EVAL_SECTIONS or key in free
    if not changeable and files.jsonable(old) != files.jsonable(value):
      was = "absent" if old is missing else repr(old)
      raise settings.ConfigError(
          f"--config.{key}={value!r} contradicts the model trained in "
          f"{workdir} ({key} is {was} there); an evaluation takes the "
          f"model's settings from {os.path.join(workdir, run_config.FILE)}: "
          "leave the flag out, or train a new workdir with it")
    config_lib.set_dotted(merged, key, config_lib.to_plain(value))
  return ml_collections.ConfigDict(merged)


# ----------------------------------------------------------------------------
# Evaluation and sampling


def eval_output_dir(run: base.RunSettings, workdir: str) -> str:
  """Where an evaluation of `run` on `workdir`'s model writes.

  `eval.output_dir` when set; WORKDIR/eval for the data the model was
  trained on; WORKDIR/eval/<data.name>-<digest of the data section> for any
  other data (another dataset, other 2D, other cameras), so evaluating
  elsewhere never overwrites the training data's results.
  """
  if run.eval.output_dir:
    return run.eval.output_dir
  base_dir = os.path.join(workdir, "eval")
  trained_data = run_config.read_data(workdir)
  if trained_data is None or trained_data == run.data:
    return base_dir
  plain = files.jsonable(settings.as_dict(run.data))
  return os.path.join(base_dir, f"{datasets.name_of(run.data)}-"
                      f"{digest_lib.digest(plain, length=8)}")


def evaluate(config, workdir: str, *, trained: base.Trained | None = None
             ) -> dict:
  """Runs the method's task `config.eval.task` on the latest checkpoint.

  Writes <out>/<stem>.json and its plots (<out>: `eval_output_dir`, stem
  `<task>[_<suffix>]`, or beside one of other settings: `output_names`), the
  summary `metrics.json`, the task's picture `<stem>.png` (in WORKDIR for
  the training data, else beside the results) and TensorBoard events.
  Returns the results dict; it says which rows were scored (`rows_scored`).
  """
  logs.configure_logging()
  method, run = typed(config)
  logging.info("Evaluating %s (task %s): restoring the trained model",
               workdir, run.eval.task)
  trained = trained or load_trained(workdir, config=run)
  logging.info("Loading the evaluation data (%s)", datasets.name_of(run.data))
  # A missing file of the train split alone is done without.
  data = method.load_data(run if run.eval.rows != "test" else dataclasses.replace(
      run, data=datasets.for_evaluation(run.data)), trained.needs)
  if not data.dataset.truth_3d:
    raise settings.ConfigError(
        f"data.name={data.dataset.name!r} has no 3D truth to score against; "
        f"lift it: python -m experiments.lift --workdir={workdir} ...")
  out_dir = eval_output_dir(run, workdir)
  if (summary_dir := workdir if out_dir == os.path.join(workdir, "eval")
      else out_dir) != workdir:
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
      workdir, task=run.eval.task, step=trained.step, params=trained.params,
      enabled=run.eval.apply_calibration and split == "test")
  return runner.run_task(
      run.eval.task, task, ctx,
      extra={"method": method.name, "train_step": trained.step,
             "rows_scored": which_rows, output_names.FIELD: recorded,
             **({"rows": "heldout"} if split == "train" else {})},
      after=functools.partial(summary_lib.write_summaries,
                              summary_dir=summary_dir, step=trained.step))


def sample(config, workdir: str) -> np.ndarray:
  """`eval.num_poses` unconditional samples in mm: writes samples.npz, and
  samples.png of the first 2 x `eval.plot_hypotheses` (none at 0)."""
  from jaxpose import plotting
  method, run = typed(config)
  if method.capabilities.sample is None:
    raise settings.ConfigError(f"mode: {method.name} does not generate samples;"
                               " use --mode=train, eval or train_and_eval")
  trained = load_trained(workdir, config=run)
  n = run.eval.num_poses
  poses_mm = np.asarray(method.capabilities.sample(trained, rng.purpose_key(run.seed, "sample"), n))
  files.write_npz_atomic(os.path.join(workdir, "samples.npz"),
                         {"pose3d_mm": poses_mm})
  shown = min(n, 2 * run.eval.plot_hypotheses)
  if shown:
    plotting.plot_poses_3d(poses_mm[:shown],
                           path=os.path.join(workdir, "samples.png"))
  print(f"wrote {n} generated poses to {workdir}/samples.npz"
        + (f", {shown} of them drawn in samples.png" if shown else ""))
  return poses_mm


def calibrate(config, workdir: str) -> dict:
  """`eval.task`'s calibration fitted on held-out training rows (or borrowed
  from `eval.calibration_from`, `calibration.heldout`) into
  WORKDIR/calibration.json; returns its entry."""
  logs.configure_logging()
  method, run = typed(config)
  trained = load_trained(workdir, config=run)
  if run.eval.calibration_from:
    return heldout.borrow(trained, load_trained(run.eval.calibration_from))
  return heldout.calibrate(trained, method.load_data(
      heldout.calibration_run(run), trained.needs))


def run(mode: str, config, workdir: str, *, overrides=None):
  """`experiments/main.py`'s job: train and/or evaluate, sample, calibrate.
  Outside training the workdir's config.json gives the settings
  (`evaluation_config`), `config` the keys it lacks, `overrides` changes."""
  settings.one_of("mode", mode, MODES)
  if mode in ("eval", "sample", "calibrate") and run_config.read(workdir):
    config = evaluation_config(workdir, overrides, base_config=config)
  _, settings_ = methods.parse(config)  # the one parse: all checked first
  if mode in ("train", "train_and_eval"):
    train(settings_, workdir)
  if mode in ("eval", "train_and_eval"):
    return evaluate(settings_, workdir)
  if mode == "sample":
    return sample(settings_, workdir)
  if mode == "calibrate":
    return calibrate(settings_, workdir)
  return None


__all__ = ["MODES", "EVAL_SECTIONS", "typed", "train", "evaluate", "sample", "run",
           "calibrate", "load_trained", "evaluation_config", "stored_config",
           "resolve_needs", "provided", "fingerprint", "eval_output_dir"]
