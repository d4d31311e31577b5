"""The method interface: what a method gives the generic runner.

A method (GFPose, the Martinez baseline, ...) is a subclass of `Method`
registered by name (`jaxpose.methods.register`); `jaxpose.run_lib` trains,
evaluates and samples any of them through this interface alone, so adding
a method changes nothing generic (WORKSPACE.md has the checklist).

What a method provides:
  networks and parameters   `init_params(key)`; the method keeps its own
                            graphdef / apply functions
  data in its units         `splits` (train/test dicts of per-row arrays)
                            and `dataset` (names, which 2D)
  the training loss         `loss_fn()` -> `loss_fn(params, batch, key)` on
                            batches of `train_fields` of the train split
                            (of its `train_rows()`, when some are held out)
  checkpoint identity       `fingerprint_sections` (config sections a
                            checkpoint must match) and `checkpoint_extra()`
  evaluation tasks          `eval_tasks()`: name -> fn(EvalContext) ->
                            TaskResult, with a typed `EvalOptions` dataclass
                            of the method's own `config.eval` fields
  sampling (optional)       `sample(params, key, num)` -> poses in mm
  a joint prior (optional)  `joint_prior(params)` -> `JointPrior`, so another
                            method can regularise with it
  data-derived identity     `fingerprint_extra()` (e.g. z-score statistics)
"""
from __future__ import annotations

import abc
import dataclasses
from typing import Any, Callable, ClassVar, Mapping

import numpy as np

from jaxpose.data import datasets
from jaxpose.evaluation import config as eval_config_lib
from jaxpose.evaluation.runner import EvalContext, TaskResult

LossFn = Callable[[Any, Mapping[str, Any], Any], tuple[Any, dict]]
EvalTaskFn = Callable[[EvalContext], TaskResult]


@dataclasses.dataclass(frozen=True)
class NoEvalOptions:
  """A method without evaluation options of its own."""


class Method(abc.ABC):
  """One method of jaxpose, built from a config.

  Subclasses set the class attributes and implement the abstract methods.
  The constructor parses `config.eval` into `self.eval_config` (the generic
  `EvalConfig`) and `self.eval_options` (the method's `EvalOptions`), so a
  mistyped or missing evaluation setting fails before any training.
  """

  name: ClassVar[str] = ""
  # Config sections a checkpoint must match to be resumed or evaluated.
  fingerprint_sections: ClassVar[tuple[str, ...]] = ("method", "model")
  # Fields of the train split that make up a training batch.
  train_fields: ClassVar[tuple[str, ...]] = ()
  # The typed dataclass of this method's own `config.eval` fields.
  EvalOptions: ClassVar[type] = NoEvalOptions

  def __init__(self, config):
    self.config = config
    self.eval_config, self.eval_options = eval_config_lib.parse(
        config.eval, self.EvalOptions)
    tasks = self.eval_tasks()
    if self.eval_config.task not in tasks:
      raise eval_config_lib.EvalConfigError(
          f"eval.task: {self.name} has no task {self.eval_config.task!r}; "
          f"valid: {', '.join(tasks)}")

  # --- Data. ---

  @property
  @abc.abstractmethod
  def dataset(self) -> datasets.Dataset:
    """The loaded dataset (names of activities, which 2D each split holds)."""

  @property
  @abc.abstractmethod
  def splits(self) -> Mapping[str, dict[str, np.ndarray]]:
    """Split name -> per-row arrays in this method's units."""

  # --- Training. ---

  @abc.abstractmethod
  def init_params(self, key) -> Any:
    """Freshly initialised parameters of every trained network."""

  @abc.abstractmethod
  def loss_fn(self) -> LossFn:
    """The pure training loss `loss_fn(params, batch, key) -> (loss, aux)`."""

  def train_rows(self) -> np.ndarray | None:
    """Rows of the train split the loss trains on, or None for every row.

    A method that sets training rows aside (a context encoder whose error
    on unseen poses another method measures) returns the others here; the
    runner batches only these rows.  # [n] int
    """
    return None

  def checkpoint_extra(self) -> dict:
    """JSON-able facts stored with every checkpoint (e.g. units)."""
    return {}

  def fingerprint_extra(self) -> dict:
    """JSON-able data-derived facts a checkpoint must match (e.g. the
    normalisation statistics of the training split), beside the config
    sections of `fingerprint_sections`."""
    return {}

  def use_workdir(self, workdir: str, *, training: bool) -> None:
    """Hands the method its workdir before any checkpoint is read or written.

    A method whose model includes data-derived state kept beside its
    checkpoints (DiffPose's fitted initial distribution) reads it here or,
    when `training` starts on a workdir without it, fits and writes it;
    `fingerprint_extra` can then name it. The default does nothing.
    """
    del workdir, training

  # --- Evaluation and sampling. ---

  @abc.abstractmethod
  def eval_tasks(self) -> Mapping[str, EvalTaskFn]:
    """Task name -> the function that runs it (`evaluation.runner`)."""

  def sample(self, params, key, num: int) -> np.ndarray:
    """`num` unconditional samples as poses in mm, `[num, J, 3]`."""
    raise NotImplementedError(f"{self.name} does not generate samples")

  @property
  def can_sample(self) -> bool:
    return type(self).sample is not Method.sample

  def joint_prior(self, params) -> "JointPrior | None":
    """This method's score prior on 3D joint positions, if it has one.

    Lets another method use it as a regulariser (e.g. DPoser's test-time
    optimisation through forward kinematics); None when the method has no
    unconditional score of joint positions.
    """
    del params
    return None


@dataclasses.dataclass(frozen=True)
class JointPrior:
  """A trained score prior of root-relative 3D joints, as a value.

  Attributes:
    skeleton: the joints it scores (a `pose.skeleton.Skeleton`).
    to_model: jit-able `[B, J, 3]` root-relative mm in a camera frame (x
      right, y down, z forward) -> the network's `[B, J, C]` model units.
    score_fn: `score_fn(params, x, t, cond) -> score` (cond None: no
      condition).
    params: the network's parameters.
    sde: the forward process it was trained with.
  """
  skeleton: Any
  to_model: Callable
  score_fn: Callable
  params: Any
  sde: Any


__all__ = ["Method", "JointPrior", "LossFn", "EvalTaskFn", "NoEvalOptions"]
