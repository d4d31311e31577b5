"""A trained workdir read back: its stored settings, the trained parts of
other workdirs it needs, its prepared artefacts, fingerprint and
checkpoints, and where its evaluations write. `run_lib` orchestrates on
top of these; every path comes from `layout.Workdir`.
"""
from __future__ import annotations

import copy
import os

from absl import logging
import jax
import ml_collections

from jaxpose import config as config_lib
from jaxpose import digest as digest_lib
from jaxpose import files
from jaxpose import methods
from jaxpose import rng
from jaxpose import settings
from jaxpose.data import datasets
from jaxpose.methods import base
from jaxpose.methods import parts
from jaxpose.training import config as train_config
from jaxpose.training import holdout as holdout_lib
from jaxpose.training import train as train_lib
from jaxpose.workdir import checkpoint as checkpoint_lib
from jaxpose.workdir import fingerprints
from jaxpose.workdir import layout
from jaxpose.workdir import lock as lock_lib
from jaxpose.workdir import prepared as prepared_lib
from jaxpose.workdir import run_config
from jaxpose.workdir import version

# What an evaluation in a trained workdir may change (besides the paths of
# its needed workdirs): the rest describes the trained model.
EVAL_SECTIONS = ("eval", "data", "seed")


def typed(config) -> tuple[base.Method, base.RunSettings]:
  """(method, typed settings) of a config; typed settings pass as they are."""
  if isinstance(config, base.RunSettings):
    return methods.get(config.method), config
  return methods.parse(config)


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


def _merged(a: dict, b: dict) -> dict:
  out = dict(a)
  for k, v in b.items():
    out[k] = (_merged(out[k], v) if isinstance(v, dict)
              and isinstance(out.get(k), dict) else v)
  return out


def legacy_state(method: base.Method, run: base.RunSettings,
                 where: layout.Workdir, needs, *, data=None
                 ) -> tuple[dict, dict] | None:
  """(artefacts, the fingerprint its checkpoints carry) of a workdir
  trained before prepared/ existed, None for any other.

  The method recovers the state (`method.legacy_prepared`: made again from
  the training data, or read back from where the older jaxpose kept it),
  and the fingerprint entries that jaxpose wrote of it must match the
  workdir's: the model is read with exactly the state it was trained with,
  or refused. Such a workdir (layout 1, a fingerprint naming no prepared
  state) holding out rows is refused: their draw was not kept.

  Raises:
    prepared.PreparedError: the method cannot recover it, or the recovered
      state is not the one the checkpoints were trained with.
  """
  if (method.prepare is None or prepared_lib.read_index(where) is not None
      or not checkpoint_lib.finished_steps(where.checkpoints)
      or version.read(where) != 1
      or "prepared" in (fingerprints.read(where.fingerprint) or {})):
    return None  # not of then: a missing prepared/ is refused as it is
  if method.legacy_prepared is None:
    return None  # `prepared.load` refuses it, saying why
  logging.warning("%s was trained before jaxpose kept %s's prepared state in "
                  "prepared/: making it again from the training data",
                  where.root, method.name)
  holdout = getattr(run.sections, "holdout", None)
  if holdout is not None and holdout.draws:
    raise prepared_lib.PreparedError(
        f"{where.root} was trained before prepared/ existed, with rows held "
        "out that the jaxpose of then drew and did not keep; train a new "
        "workdir")
  artefacts, entries = method.legacy_prepared(parts.LegacyContext(
      run=run, needs=needs, workdir=where, key=rng.purpose_key(run.seed, "fit"),
      load_data=lambda: method.load_data(run, needs) if data is None else data))
  old = _merged(config_lib.fingerprint(run.config, method.fingerprint_sections),
                entries)
  stored = fingerprints.read(where.fingerprint) or {}
  found = fingerprints.diff(stored, fingerprints.jsonable("fingerprint", old))
  if found:
    raise prepared_lib.PreparedError(
        f"{where.root} was trained before prepared/ existed, and the state "
        "made again from its training data is not what its checkpoints "
        f"were trained with ({fingerprints.diff_text(found)}); evaluate it "
        "with the data it was trained on, or train a new workdir")
  return dict(artefacts), old


def upgrade_legacy(method, run, where: layout.Workdir, data, needs,
                   need_digests) -> bool:
  """Before a training resumes a workdir trained before prepared/
  existed: writes its recovered state to prepared/ and today's fingerprint
  (the old one kept for its older steps, `fingerprints.replace`). Whether
  it was such a workdir."""
  legacy = legacy_state(method, run, where, needs, data=data)
  if legacy is None:
    return False
  artefacts, old = legacy
  prepared_lib.save(where, artefacts, made_from(method, run, with_data=True))
  fingerprints.replace(where.checkpoints, old,
                       fingerprint(method, run, artefacts, need_digests))
  logging.info("%s: its prepared state written to %s, its fingerprint "
               "brought up to date", where.root, where.prepared)
  return True


def checkpointer(workdir, run, fp, *, read_only=False):
  return checkpoint_lib.Checkpointer(
      layout.Workdir.of(workdir).checkpoints, fingerprint=fp,
      save_every=run.train.ckpt_every, keep=run.train.keep_ckpts,
      extra={"config": run.config}, read_only=read_only)


def prepare(method, run, data, needs, workdir) -> tuple[dict, bool]:
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


def resume(workdir, run, ckpt, state):
  """(the state to train from, whether `train.num_steps` is reached): the
  latest checkpoint restored, its settings checked against `run`
  (`run_config.check_resume`), and this start recorded."""
  restored = ckpt.restore_or_none(state)
  changes = {}
  if restored is not None:
    state, extra = restored
    step = int(state.step)
    if step >= run.train.num_steps:
      logging.info("Nothing to train: %s holds step %d >= train.num_steps=%d",
                   workdir, step, run.train.num_steps)
      return state, True
    changes = run_config.check_resume(
        run.config, workdir, step, run_config.read(workdir, extra),
        allow_changed=run.train.allow_changed_resume)
    logging.info("Resumed from step %d in %s", step, workdir)
  run_config.record_start(run.config, workdir, int(state.step),
                          run.train.num_steps, changes)
  return state, False


def init_state(run, model, *, abstract: bool = False):
  tx = run.train.optimizer()
  init = lambda: train_lib.init_train_state(
      model.init(rng.purpose_key(run.seed, "init")), tx)
  return jax.eval_shape(init) if abstract else init()


def stored_config(workdir: str | layout.Workdir) -> dict:
  """The config `workdir`'s model was trained with (its config.json), the
  flat eval keys of an older one in their tasks' groups (`Tasks.upgrade`)."""
  where = layout.Workdir.of(workdir)
  written_by = version.check(where)
  stored = run_config.read(where)
  if stored is None:
    raise FileNotFoundError(
        f"{where.config} missing: {where.root!r} is not "
        "a trained jaxpose workdir (train it first with experiments.main)")
  if stored.get("method") not in methods.names():
    return stored  # parsing names the unknown method
  method = methods.get(stored["method"])
  if written_by == 1:
    # Configs of then carried every method's sections, read by none but
    # their own method's.
    known = set(base.GENERIC_SECTIONS) | set(settings.field_names(
        method.settings))
    train_keys = set(settings.field_names(train_config.TrainConfig)) | set(
        settings.field_names(method.train_options))
    unread = sorted(set(stored) - known) + [
        f"train.{k}" for k in sorted(set(stored.get("train") or {}) - train_keys)]
    if unread:
      logging.info("%s: left out %s, which its %s model never read (configs "
                   "before layout 2 carried every method's keys)",
                   where.config, ", ".join(unread), method.name)
      stored = {k: v for k, v in stored.items() if k in known}
      if "train" in stored:
        stored["train"] = {k: v for k, v in stored["train"].items()
                           if k in train_keys}
  if "eval" in stored:
    stored = {**stored, "eval": method.tasks.upgrade(stored["eval"])}
  return stored


def load_trained(workdir: str | layout.Workdir, *, config=None,
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
  where = layout.Workdir.of(workdir)
  version.check(where)
  config = stored_config(where) if config is None else config
  method, run = typed(config)
  # Before the model is built: an untrained workdir lacks its prepared state.
  checkpoint_lib.require_finished_step(where.checkpoints)
  needs, need_digests = resolve_needs(method, run, training=False)
  legacy = legacy_state(method, run, where, needs)
  if legacy is not None:
    artefacts, fp = legacy
  elif ((method.prepare is None or method.eval_artefacts)
        and prepared_lib.read_index(where) is None):
    artefacts = {}  # nothing prepared, or only evaluation's (made later)
  else:
    artefacts, index = prepared_lib.load(where)
    prepared_lib.check_made_from(where, {
        "made_from": {k: v for k, v in index.get("made_from", {}).items()
                      if k in method.prepare_keys}},
        made_from(method, run, with_data=False), _prepare_defaults(method, run))
  if legacy is None:
    fp = fingerprint(method, run, artefacts, need_digests)
  model = method.build(run, artefacts, needs)
  ckpt = checkpointer(where, run, fp, read_only=True)
  try:
    restored = ckpt.restore_or_none(init_state(run, model, abstract=True))
  except checkpoint_lib.CheckpointError as e:
    info = lock_lib.holder(where)
    if info is None:
      raise
    raise checkpoint_lib.CheckpointError(
        f"{e} (a training run holds this workdir, pid {info.get('pid')} on "
        f"{info.get('host')}: it may have replaced that checkpoint while it "
        "was read; retry before deleting anything)") from e
  finally:
    ckpt.close()
  if restored is None:
    raise FileNotFoundError(f"no checkpoint in {where.checkpoints}")
  state, _ = restored
  use_ema = run.eval.use_ema if use_ema is None else use_ema
  return base.Trained(method=method, run=run, model=model,
                      params=state.ema_params if use_ema else state.params,
                      prepared=artefacts, needs=needs, workdir=where.root,
                      step=int(state.step))


def evaluation_config(workdir: str | layout.Workdir, overrides=None, *,
                      base_config=None) -> ml_collections.ConfigDict:
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
  where = layout.Workdir.of(workdir)
  stored = stored_config(where)
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
          f"{where} ({key} is {was} there); an evaluation takes the "
          f"model's settings from {where.config}: "
          "leave the flag out, or train a new workdir with it")
    config_lib.set_dotted(merged, key, config_lib.to_plain(value))
  return ml_collections.ConfigDict(merged)


def eval_output_dir(run: base.RunSettings, workdir: str | layout.Workdir
                    ) -> str:
  """Where an evaluation of `run` on `workdir`'s model writes.

  `eval.output_dir` when set; WORKDIR/eval for the data the model was
  trained on; WORKDIR/eval/<data.name>-<digest of the data section> for any
  other data (another dataset, other 2D, other cameras), so evaluating
  elsewhere never overwrites the training data's results.
  """
  if run.eval.output_dir:
    return run.eval.output_dir
  where = layout.Workdir.of(workdir)
  trained_data = run_config.read_data(where)
  if trained_data is None or trained_data == run.data:
    return where.eval
  plain = files.jsonable(settings.as_dict(run.data))
  return where.eval_of(f"{datasets.name_of(run.data)}-"
                       f"{digest_lib.digest(plain, length=8)}")
