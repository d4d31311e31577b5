"""The method interface: a method is parts, given to the generic runner.

A method (GFPose, DiffPose, DPoser, the lifters, or one of your own) is a
`Method` value registered by name (`jaxpose.methods.register`). Its parts
are typed settings, pure functions and frozen values; none keeps state:

  settings    a dataclass whose fields are the method's own config sections
              (typed, parsed before anything runs), and its share of the
              `train` and `eval` sections (`train_options`, `eval_options`)
  data        `load_data(run, needs) -> Data`: the splits in its units
  prepare     `prepare(PrepareContext) -> {name: Artefact}`: state fitted
              on the training data before training (statistics, H_K,
              held-out rows); the runner writes it beside the checkpoints,
              records the settings it was made with and puts its digests in
              the checkpoint fingerprint, so evaluation reads it back and
              never refits it on other data
  model       `build(run, prepared, needs)` -> a frozen model with pure
              `init(key)` and `loss(params, batch, key)`, and whatever its
              tasks use (samplers, conversions to millimetres)
  training    `training(model, data, prepared) -> Training`: the per-row
              arrays batched by the loop, and the loss over them
  tasks       `Tasks`: evaluation tasks by name, each
              `task(trained, options, ctx) -> TaskResult`, with its own
              typed options in `config.eval.<task>` (`methods.tasks`)
  needs       `Need`s: trained parts of other workdirs it uses, each named
              by a config key and a protocol (`jaxpose.methods.protocols`,
              or any type the providing method defines); the runner
              loads, checks and injects them
  check       optional: settings that must agree across sections
  test_inputs optional: what its tasks read of each test row beside the
              2D (a per-keypoint uncertainty, masked joints), recorded in
              every results file (`evaluation.inputs`)

Besides, optional `Capabilities`: what it `provides` other methods (a
protocol of `jaxpose.methods.protocols`), unconditional `sample`s
(`--mode=sample`), `lift` of a video's keypoints, `import_checkpoint` of
the authors' released weights.

`jaxpose.run_lib` trains, evaluates and samples any method through these
parts alone; WORKSPACE.md has the checklist for adding one.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

import jax
import numpy as np

from jaxpose import config as config_lib
from jaxpose import settings as settings_lib
from jaxpose.data import datasets
from jaxpose.evaluation import config as eval_config_lib
from jaxpose.evaluation import inputs as inputs_lib
from jaxpose.methods.tasks import Tasks, TaskFn
from jaxpose.training import config as train_config_lib
from jaxpose.workdir.prepared import Artefact

LossFn = Callable[[Any, Mapping[str, Any], Any], tuple[Any, dict]]

# The config sections every method has; the others are the method's own.
GENERIC_SECTIONS = ("method", "seed", "data", "train", "eval")


# ----------------------------------------------------------------------------
# Typed run settings


@dataclasses.dataclass(frozen=True)
class RunSettings:
  """A whole config, typed: what every part of a method is handed.

  Attributes:
    method: the method's registry name.
    seed: the run's seed (`rng.purpose_key`).
    data: the dataset's typed `data` section (`datasets.parse_settings`).
    train: the generic `train` settings; train_options: the method's own.
    eval: the generic `eval` settings; eval_options: the method's shared
      ones; task_options: {task: what the task is handed}: its own typed
      options (`Tasks.register`), or `eval_options` when it has none.
    sections: the method's `settings` dataclass: its own sections.
    config: the config as plain values: the run's record (config.json,
      the checkpoint's fingerprint, results' settings); settings are read
      from the typed fields (`setting` for a key a part declares).
  """
  method: str
  seed: int
  data: Any
  train: train_config_lib.TrainConfig
  train_options: Any
  eval: eval_config_lib.EvalConfig
  eval_options: Any
  sections: Any
  config: Mapping[str, Any]
  task_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)

  def setting(self, config_key: str) -> Any:
    """The typed value of the setting a config key names (a `Need`'s
    workdir, a `prepare_keys` entry): read from the parsed sections, with
    their defaults, never from the raw config.

    Raises:
      KeyError: no such setting (a method declaring a key it lacks).
    """
    holder, last = self._holder(config_key)
    return holder[last] if isinstance(holder, Mapping) else getattr(holder, last)

  def default(self, config_key: str) -> Any:
    """The default of the setting `config_key` names (what a config that
    left the key out had), or None when it has none."""
    holder, last = self._holder(config_key)
    for field in (dataclasses.fields(holder)
                  if dataclasses.is_dataclass(holder) else ()):
      if field.name == last:
        if field.default is not dataclasses.MISSING:
          return field.default
        if field.default_factory is not dataclasses.MISSING:
          return field.default_factory()
    return None

  def _holder(self, config_key: str) -> tuple[Any, str]:
    """(the typed object holding the setting, the setting's name)."""
    section, *path = config_key.split(".")
    if not path:
      if section == "seed":
        return self, "seed"
      raise KeyError(f"{config_key}: not a setting of method {self.method!r}")
    holders = {"data": (self.data,), "train": (self.train, self.train_options),
               "eval": (self.eval, self.eval_options, self.task_options)
               }.get(section)
    if holders is None:
      holders = (getattr(self.sections, section, _MISSING),)
    *parents, last = path
    for holder in holders:
      node = holder
      for part in parents:
        node = (node.get(part, _MISSING) if isinstance(node, Mapping)
                else getattr(node, part, _MISSING))
      present = (last in node if isinstance(node, Mapping)
                 else hasattr(node, last))
      if node is not _MISSING and present:
        return node, last
    raise KeyError(f"{config_key}: not a setting of method {self.method!r}")


_MISSING = object()


# ----------------------------------------------------------------------------
# What flows between the parts


@dataclasses.dataclass(frozen=True)
class Data:
  """A dataset in a method's units.

  Attributes:
    dataset: what the dataset knows of itself (name, activity names, which
      2D each split holds); its raw splits are not used.
    splits: split name -> per-row arrays in the method's units.
  """
  dataset: datasets.Dataset
  splits: Mapping[str, Mapping[str, np.ndarray]]


@dataclasses.dataclass(frozen=True)
class PrepareContext:
  """What `prepare` is handed.

  Attributes:
    run: the typed settings.
    data: the training data (`load_data`'s).
    needs: the injected trained parts (`Need.name` -> provided value).
    key: `rng.purpose_key(seed, "fit")`: every random draw of the
      preparation derives from it.
  """
  run: RunSettings
  data: Data
  needs: Mapping[str, Any]
  key: jax.Array


@dataclasses.dataclass(frozen=True)
class Training:
  """What the training loop is fed.

  Attributes:
    arrays: per-row arrays of the rows trained on; a batch is a dict of
      the same keys with `train.batch_size` rows.  # {k: [N, ...]}
    loss: `loss(params, batch, key) -> (loss, aux)`, pure.
    mirror: `mirror(batch) -> batch`, every row left-right mirrored in the
      method's units (`pose.mirror`), other fields as they are; None: the
      method cannot mirror its rows (`train.mirror` must stay 0).
  """
  arrays: Mapping[str, np.ndarray]
  loss: LossFn
  mirror: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None


@dataclasses.dataclass(frozen=True)
class Trained:
  """A trained workdir as values: what tasks and other methods are given.

  Attributes:
    method: the method that trained it.
    run: its typed settings (the workdir's config, or the one evaluated).
    model: `method.build`'s model.
    params: the evaluated parameters (EMA unless `eval.use_ema` is off).
    prepared: its prepared artefacts by name.
    needs: the trained parts it uses, by `Need.name` (None: left out).
    workdir: where it was trained.
    step: the training step of the checkpoint.
  """
  method: "Method"
  run: RunSettings
  model: Any
  params: Any
  prepared: Mapping[str, Artefact]
  needs: Mapping[str, Any]
  workdir: str
  step: int


@dataclasses.dataclass(frozen=True)
class LiftRequest:
  """What `Method.lift` is given: a video's frames to lift.

  Attributes:
    rows: the frames as the method's `load_data` gives a split (model-unit
      `pose2d`, `pose2d_screen`, the camera fields), with `visible` [T, J]
      bool (a joint below the detector's threshold is not a condition) and
      `pose2d_confidence` [T, J].
    num_hypotheses: H, the hypotheses per frame (a method with one answer
      gives it once, whatever H).
    key: the draws' key.
    sampler, num_steps: the sampler spec and its steps ('' / 0: the
      method's evaluation settings).
  """
  rows: Mapping[str, np.ndarray]
  num_hypotheses: int
  key: Any
  sampler: str = ""
  num_steps: int = 0


class MissingJointsError(ValueError):
  """A method that needs every joint met a masked one: names the first
  frame and joint, and what lifts such frames."""


def refuse_missing(rows: Mapping[str, np.ndarray], joint_names, method: str) -> None:
  """MissingJointsError unless every joint of every row is visible."""
  visible = np.asarray(rows.get("visible", True), bool)
  if visible.all():
    return
  t, j = np.argwhere(~np.broadcast_to(visible, rows["pose2d"].shape[:2]))[0]
  raise MissingJointsError(
      f"{method} needs every joint's 2D, but frame {t} has joint {joint_names[j]!r} "
      f"below the confidence threshold ({int((~visible).sum())} masked joint(s) "
      "in all); lift with a GFPose workdir, which completes masked joints, or "
      "lower the threshold (--threshold of experiments.lift, data.threshold "
      "in a config)")


# ----------------------------------------------------------------------------
# Dependencies between methods


@dataclasses.dataclass(frozen=True)
class Need:
  """A trained part of another workdir that a method uses.

  Attributes:
    name: how the method's parts find it in `needs`.
    config_key: the dotted config key holding the workdir's path.
    protocol: what the workdir's method must provide (`Capabilities.provides`).
    optional: an empty path leaves it out (`needs[name]` is None).
    part_of_model: the method's model is trained with it, so the digest of
      its parameters enters the checkpoint fingerprint (an evaluation with
      another one is refused); False for parts used only at evaluation.
    same_training_data: training is refused unless the part was trained
      on the same training rows (`datasets.training_data`).
    check: `check(run, trained)`: refuses a part this method cannot use
      (raise `settings.ConfigError`), e.g. other model units.
    hint: how to make one, for the error when the path is empty.
  """
  name: str
  config_key: str
  protocol: type
  optional: bool = False
  part_of_model: bool = True
  same_training_data: bool = False
  check: Callable[[RunSettings, Trained], None] | None = None
  hint: str = ""


# ----------------------------------------------------------------------------
# The method


@dataclasses.dataclass(frozen=True)
class ImportRequest:
  """What a method's `import_checkpoint` is handed (experiments.import_weights).

  Attributes:
    checkpoint: the released weights file.
    files: other files by name (e.g. DPoser's "statistics", DiffPose's
      "encoder"); a method declares the names it reads in `import_files`.
    options: method options as strings (e.g. "weights": "ema" or "raw").
    workdir: the workdir the import is written to (its final path).
    base_config: `base_config(method_name)` -> a full plain config of that
      method, onto which the importer sets the sections the checkpoint fixes.
  """
  checkpoint: str
  files: Mapping[str, str]
  options: Mapping[str, str]
  workdir: str
  base_config: Callable[[str], dict]


@dataclasses.dataclass(frozen=True)
class Imported:
  """A released checkpoint in jaxpose's terms, ready to be written.

  Attributes:
    config: the full config the workdir is trained with (as config.json).
    params: jaxpose parameter path ('blocks/0/layer1/lin/kernel') -> array;
      `state_dicts.fill` checks it against the network the config builds.
    prepared: the prepared artefacts the method's tasks read.
    step: the authors' training step (0 where the file does not say).
    source: provenance written to WORKDIR/imported.json (files, digests,
      which weights, the conventions the importer set).
    companions: subdirectory -> another import written first (DiffPose's
      lifter, the context encoder its config names).
  """
  config: Mapping[str, Any]
  params: Mapping[str, np.ndarray]
  prepared: Mapping[str, Artefact] = dataclasses.field(default_factory=dict)
  step: int = 0
  source: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  companions: Mapping[str, "Imported"] = dataclasses.field(
      default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Capabilities:
  """What a method may offer beyond training and evaluating (all optional).

  Attributes:
    provides: protocol -> `fn(trained)` giving it to another method
      (`jaxpose.methods.protocols`).
    sample: `sample(trained, key, num) -> [num, J, 3]` mm: unconditional
      samples (`--mode=sample`).
    lift: `lift(trained, LiftRequest) -> [H, T, J, 3]` root-relative mm:
      a video's 2D keypoints to 3D (`jaxpose.lift`).
    lifts_masked_joints: `lift` completes joints masked in 2D itself (as
      GFPose's condition masking does); otherwise the lift fills them in
      across time before lifting (`keypoints_dataset.fill_across_time`).
    import_checkpoint: `import_checkpoint(ImportRequest) -> Imported`: the
      authors' released weights as a jaxpose workdir
      (`experiments.import_weights`).
    import_files: names of the extra files `import_checkpoint` reads.
  """
  provides: Mapping[type, Callable[[Trained], Any]] = dataclasses.field(
      default_factory=dict)
  sample: Callable[[Trained, jax.Array, int], np.ndarray] | None = None
  lift: Callable[[Trained, LiftRequest], np.ndarray] | None = None
  lifts_masked_joints: bool = False
  import_checkpoint: Callable[[ImportRequest], Imported] | None = None
  import_files: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Method:
  """A method's parts (module docstring): the core every method gives, and
  its optional `capabilities`.

  Attributes:
    name: the registry name (`config.method`).
    settings: dataclass type whose fields are the method's own config
      sections (e.g. `model`, `sde`, `diffpose`), each typed.
    fingerprint_sections: what a checkpoint must match: section names,
      dotted keys, or `(dotted key, default)` pairs for keys added later
      (`config.fingerprint`).
    load_data: `load_data(run, needs) -> Data`.
    build: `build(run, prepared, needs) -> model`.
    training: `training(model, data, prepared) -> Training`.
    tasks: the evaluation tasks.
    train_options: dataclass type of the method's keys of `train`.
    eval_options: dataclass type of the method's keys of `eval`.
    prepare: `prepare(PrepareContext) -> {name: Artefact}`, or None.
    prepare_keys: dotted config keys the artefacts are made from (the
      training data's keys always count); a workdir prepared with other
      values is refused, naming them.
    eval_artefacts: names of prepared artefacts that only evaluation reads
      (GFPose's training range): they stay out of the checkpoint
      fingerprint, so a workdir trained before they existed still loads,
      without them (its tasks then say what they used instead); a
      workdir with no prepared index at all loads too when the method
      names any.
    legacy_prepared: for workdirs trained before prepared/ existed (and
      holding out no rows): `legacy_prepared(parts.LegacyContext) ->
      (artefacts, entries)`: the artefacts the model was trained with
      (read from where the older jaxpose kept them, or made again from
      the training data) and the fingerprint entries that jaxpose wrote of
      them in place of `prepared`, which must match the workdir's. None:
      such workdirs are refused.
    needs: trained parts of other workdirs it uses.
    check: `check(run)`: settings that must agree across sections (raise
      `settings.ConfigError`), or None.
    capabilities: what it offers besides (`Capabilities`).
    test_inputs: `test_inputs(run, task) -> evaluation.inputs.Reads`: what
      task `task` reads of each test row beside its 2D, and of the
      baseline its results hold beside its own; None: the 2D alone.
  """
  name: str
  settings: type
  fingerprint_sections: tuple[str | tuple[str, Any], ...]
  load_data: Callable[[RunSettings, Mapping[str, Any]], Data]
  build: Callable[[RunSettings, Mapping[str, Artefact], Mapping[str, Any]], Any]
  training: Callable[[Any, Data, Mapping[str, Artefact]], Training]
  tasks: Tasks
  train_options: type = settings_lib.NoSettings
  eval_options: type = settings_lib.NoSettings
  prepare: Callable[[PrepareContext], Mapping[str, Artefact]] | None = None
  prepare_keys: tuple[str, ...] = ()
  eval_artefacts: tuple[str, ...] = ()
  legacy_prepared: Callable[..., tuple[Mapping[str, Artefact], dict]] | None = None
  needs: tuple[Need, ...] = ()
  check: Callable[[RunSettings], None] | None = None
  capabilities: Capabilities = Capabilities()
  test_inputs: Callable[[RunSettings, str], inputs_lib.Reads] | None = None

  def reads(self, run: RunSettings, task: str) -> inputs_lib.Reads:
    """What `task` reads of each test row beside its 2D (`test_inputs`),
    with the camera geometry its representation reads (the baseline's
    too: it lifts the same rows in the same representation)."""
    reads = (inputs_lib.Reads() if self.test_inputs is None
             else self.test_inputs(run, task))
    camera = getattr(getattr(run.sections, "representation", None),
                     "camera_read", "")
    if not camera:
      return reads
    baseline = (None if reads.baseline is None
                else dataclasses.replace(reads.baseline, camera=camera))
    return dataclasses.replace(reads, camera=camera, baseline=baseline)


def parse(method: Method, config) -> RunSettings:
  """The whole config as typed settings of `method`, checked.

  Raises:
    settings.ConfigError: an unknown section or key (the valid ones named),
      a missing key, a bad type or value, an unknown task.
  """
  plain = config_lib.to_plain(config)
  own = settings_lib.field_names(method.settings)
  unknown = sorted(set(plain) - set(GENERIC_SECTIONS) - set(own))
  if unknown:
    raise settings_lib.ConfigError(
        f"{unknown[0]}: not a section of method {method.name!r}; valid "
        f"sections: {', '.join(sorted(set(GENERIC_SECTIONS) | set(own)))}")
  for section in GENERIC_SECTIONS:
    if section not in plain:
      raise settings_lib.ConfigError(f"{section}: missing from the config")
  seed = settings_lib.coerce("seed", plain["seed"], int)
  sections = settings_lib.parse(method.settings,
                                {k: plain.get(k) for k in own}, "")
  train, train_options = settings_lib.parse_shared(
      plain["train"], (train_config_lib.TrainConfig, method.train_options),
      "train")
  plain["eval"] = method.tasks.upgrade(plain["eval"])
  shared, task_options = method.tasks.parse(
      plain["eval"], settings_lib.field_names(eval_config_lib.EvalConfig)
      + settings_lib.field_names(method.eval_options))
  evaluation, eval_options = eval_config_lib.parse(shared, method.eval_options)
  settings_lib.one_of("eval.task", evaluation.task, method.tasks.names())
  run = RunSettings(method=method.name, seed=seed,
                    data=datasets.parse_settings(plain["data"]), train=train,
                    train_options=train_options, eval=evaluation,
                    eval_options=eval_options, sections=sections,
                    config=plain, task_options={
                        name: task_options.get(name, eval_options)
                        for name in method.tasks.names()})
  if method.check is not None:
    method.check(run)
  return run


__all__ = ["Method", "Capabilities", "RunSettings", "Data", "PrepareContext", "Training",
           "Trained", "Need", "Tasks",
           "TaskFn", "LossFn", "Artefact", "GENERIC_SECTIONS",
           "parse",
           "LiftRequest", "MissingJointsError", "refuse_missing"]
