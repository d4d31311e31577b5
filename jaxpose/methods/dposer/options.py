"""DPoser's evaluation settings: those its tasks share (`config.eval`) and
each task's own (`config.eval.<task>`, `methods.tasks`).

Time ranges are (t_max, t_min) of the truncated schedule; prior weights are
by prior name (gmm, gfpose, dposer). `FORMERLY` maps each option to the
flat key configs wrote before the tasks had their groups.
"""
from __future__ import annotations

import dataclasses
from typing import Literal, Mapping

from jaxpose import settings
from jaxpose.core import regulariser
from jaxpose.evaluation import config as eval_config
from jaxpose.methods.dposer import body as body_lib
from jaxpose.methods.dposer import priors as priors_lib
from jaxpose.methods.dposer import schedule as schedule_lib


def _time_range(name: str, t: tuple[float, ...]):
  if len(t) != 2 or not 0 < t[1] <= t[0] <= 1:
    raise settings.ConfigError(
        f"{name}: expected (t_max, t_min) with 0 < t_min <= t_max <= 1, "
        f"got {t}")


def _weights(name: str, weights: Mapping[str, float]):
  settings.each_one_of(name, tuple(weights), priors_lib.WEIGHTED_KINDS)


@dataclasses.dataclass(frozen=True)
class EvalOptions:
  """What every DPoser task reads from `config.eval`.

  Attributes:
    priors: the rows of every table, from `priors.KINDS`.
    gfpose_workdir: a trained GFPose ("root_relative" space) whose joint
      prior makes the 'gfpose' rows ('' leaves them out, with a note).
    gmm_components, gmm_rows: the mixture prior's components and the
      training rows it is fitted on (0: all).
    body_model_path: an SMPL-family model file ('' = forward kinematics of
      the canonical skeleton); then MPVPE is reported too.
    batch_size: examples per compiled optimisation call.
  """
  priors: tuple[str, ...]
  gfpose_workdir: str
  gmm_components: int = settings.field(at_least=1)
  gmm_rows: int = settings.field(at_least=0)
  body_model_path: str
  batch_size: int = settings.field(at_least=1)

  def __post_init__(self):
    settings.each_one_of("eval.priors", self.priors, priors_lib.KINDS)


@dataclasses.dataclass(frozen=True)
class CompleteOptions:
  """`config.eval.complete`: a masked body part's rotations.

  Attributes:
    parts: the body parts masked (`body.PARTS`), each a table row.
    hypotheses, steps, lr, t: best-of-H, Adam's steps and learning rate,
      the schedule's time range.
    objective: 'prior' (the masked dimensions under the prior alone, the
      visible ones held) or 'dposer_released' (the authors' objective,
      `eval_tasks.make_released_completion_solver`, over `stages` stages).
    stages: the stages of 'dposer_released' (theirs: 2).
  """
  parts: tuple[str, ...]
  hypotheses: int = settings.field(at_least=1)
  steps: int = settings.field(at_least=1)
  lr: float = settings.field(above=0.0)
  t: tuple[float, ...]
  objective: Literal["prior", "dposer_released"] = "prior"
  stages: int = settings.field(default=2, at_least=1)

  def __post_init__(self):
    settings.each_one_of("eval.complete.parts", self.parts, body_lib.PARTS)
    _time_range("eval.complete.t", self.t)
    if self.objective == "dposer_released" and self.steps % self.stages:
      raise settings.ConfigError(
          f"eval.complete.steps={self.steps}: not a multiple of "
          f"eval.complete.stages={self.stages} (each stage of the "
          "'dposer_released' objective runs the same number of steps)")


@dataclasses.dataclass(frozen=True)
class DenoiseMotionOptions:
  """`config.eval.denoise_motion`: noisy motion clips cleaned.

  Attributes:
    window, max_windows: clip length in frames and how many windows of the
      test split are denoised (0: all).
    noise_mm: the per-coordinate noise sigmas, each a table.
    steps, lr, t: Adam and the schedule.
    smooth_weight: the temporal term's weight.
    weights: each prior's weight by name.
    schedule_ablation: schedule kinds compared at the middle noise level.
    weight_schedules: the weights over the steps, each a row
      (`schedule.DENOISE_WEIGHT_SCHEDULES`): 'fixed', 'annealed' (the
      authors' factors over `stages` equal runs: data 1/(1+k^2), temporal
      and prior 1+k) and/or 'released' (the authors' whole objective and
      their steps, rate and time range per noise level, in place of
      smooth_weight, steps, lr, t and stages; `schedule.denoise_recipe`);
      the first also runs the schedule ablation.
    stages: the runs k of 'annealed' (theirs: 3).
  """
  window: int = settings.field(at_least=1)
  max_windows: int = settings.field(at_least=0)
  noise_mm: tuple[float, ...] = settings.field(at_least=0.0)
  steps: int = settings.field(at_least=1)
  lr: float = settings.field(above=0.0)
  t: tuple[float, ...]
  smooth_weight: float = settings.field(at_least=0.0)
  weights: Mapping[str, float] = settings.field(at_least=0.0)
  schedule_ablation: tuple[str, ...]
  weight_schedules: tuple[str, ...] = ("fixed",)
  stages: int = settings.field(default=3, at_least=1)

  def __post_init__(self):
    where = "eval.denoise_motion"
    _time_range(f"{where}.t", self.t)
    _weights(f"{where}.weights", self.weights)
    settings.each_one_of(f"{where}.schedule_ablation", self.schedule_ablation,
                         regulariser.SCHEDULE_KINDS)
    settings.each_one_of(f"{where}.weight_schedules", self.weight_schedules,
                         schedule_lib.DENOISE_WEIGHT_SCHEDULES)
    if not self.weight_schedules:
      raise settings.ConfigError(f"{where}.weight_schedules: give at least "
                                 f"one of {schedule_lib.DENOISE_WEIGHT_SCHEDULES}")
    if self.stages > self.steps:
      raise settings.ConfigError(
          f"{where}.stages={self.stages}: more stages than "
          f"{where}.steps={self.steps}")
    if "released" in self.weight_schedules:
      schedule_lib.check_released_levels(self.noise_mm)


@dataclasses.dataclass(frozen=True)
class Fit2DOptions:
  """`config.eval.fit2d`: rotations, root and camera fitted to 2D.

  Attributes:
    steps, lr, t: Adam and the schedule.
    weights: each prior's weight by name.
    sigma_px: the GMoF robust scale.
    inputs: which 2D is fitted: 'exact' and/or 'noisy'.
  """
  steps: int = settings.field(at_least=1)
  lr: float = settings.field(above=0.0)
  t: tuple[float, ...]
  weights: Mapping[str, float] = settings.field(at_least=0.0)
  sigma_px: float = settings.field(above=0.0)
  inputs: tuple[Literal["exact", "noisy"], ...]

  def __post_init__(self):
    _time_range("eval.fit2d.t", self.t)
    _weights("eval.fit2d.weights", self.weights)


@dataclasses.dataclass(frozen=True)
class GenerateOptions:
  """`config.eval.generate`: prior samples (also `--mode=sample`'s).

  Attributes:
    num: samples drawn.
    sampler, steps: the sampler spec and its steps.
    eps: end time of the grid; 0 with 1000 steps is the authors' sampler
      (linspace(1, 1e-3, 1000) with dt = 1/1000).
  """
  num: int = settings.field(at_least=1)
  sampler: str
  steps: int = settings.field(at_least=1)
  eps: float = settings.field(default=1e-3, at_least=0.0, below=1.0)

  def __post_init__(self):
    eval_config.check_sampler("generate.sampler", self.sampler)


def _weights_by_name(old):
  """Weights as configs wrote them before they were named: three numbers in
  the order of `WEIGHTED_KINDS`."""
  if isinstance(old, Mapping):
    return old
  if len(old) != len(priors_lib.WEIGHTED_KINDS):
    raise settings.ConfigError(
        f"prior weights {list(old)}: expected one per prior "
        f"{priors_lib.WEIGHTED_KINDS}")
  return dict(zip(priors_lib.WEIGHTED_KINDS, old))


# {task: {flat key of older configs: option, or (option, conversion)}}.
FORMERLY = {
    "complete": {f"complete_{k}": k for k in (
        "parts", "hypotheses", "steps", "lr", "t", "objective", "stages")},
    "denoise_motion": {
        "window": "window", "max_windows": "max_windows",
        "denoise_noise_mm": "noise_mm", "denoise_steps": "steps",
        "denoise_lr": "lr", "denoise_t": "t", "smooth_weight": "smooth_weight",
        "denoise_weights": ("weights", _weights_by_name),
        "schedule_ablation": "schedule_ablation",
        "denoise_weight_schedules": "weight_schedules",
        "denoise_stages": "stages"},
    "fit2d": {**{f"fit_{k}": k for k in (
        "steps", "lr", "t", "sigma_px", "inputs")},
              "fit_weights": ("weights", _weights_by_name)},
    "generate": {"num_generate": "num", "generate_sampler": "sampler",
                 "generate_steps": "steps", "generate_eps": "eps"},
}

__all__ = ["EvalOptions", "CompleteOptions", "DenoiseMotionOptions",
           "Fit2DOptions", "GenerateOptions", "FORMERLY"]
