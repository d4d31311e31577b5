"""GFPose's evaluation settings: those its tasks share (`config.eval`) and
each task's own (`config.eval.<task>`, `methods.tasks`).

`FORMERLY` maps each task's options to the flat keys configs wrote before
the tasks had their groups; a flat key that fed two tasks (the
single-hypothesis sampler: estimate_single and denoise; the completion
settings: complete2d and complete3d) feeds both.
"""
from __future__ import annotations

import dataclasses

from jaxpose import settings
from jaxpose.core import sampling
from jaxpose.evaluation import completion
from jaxpose.evaluation import config as eval_config
from jaxpose.pose.skeleton import H36M_17


def _check_sampler(spec: str):
  """A sampler spec ('' passes); ValueError, which the group's name prefixes."""
  if spec:
    try:
      sampling.check_spec(spec)
    except ValueError as e:
      raise ValueError(f"sampler: {e}") from None


@dataclasses.dataclass(frozen=True)
class EvalOptions:
  """What every GFPose task reads from `config.eval`.

  Attributes:
    sampler, num_steps, eps: the multi-hypothesis sampler (a spec such as
      'ddim:eta=1'), its steps and end time; estimate, generate, `--mode=
      sample` and a video's lift use it, completion unless its own is set.
    num_hypotheses: H per pose; batch_poses: poses per compiled call.
    hypotheses_list: the H of estimate's best-of-H curve.
    x0_clip, x0_clip_margin: keep every sampler's denoised estimate (and
      output) within the training split's range per coordinate (`prepare`,
      `core.box`), `Box.widened` by the margin. The defaults (off, 0.1)
      are for config.json files that predate the keys; the configs give both.
    mask_below_confidence: estimate and estimate_single mask each test
      row's 2D joints whose `pose2d_confidence` (a detector-like score in
      [0, 1]) is below it, as complete2d masks joints, so keypoints a
      detector is unsure of do not pull the pose (`eval_tasks`,
      `problems.confidence_visibility`); a row whose every joint is below
      keeps its most confident one. Rows without the field read as
      confidence 1 (nothing masked, with a warning). In [0, 1]; 0 (the
      default, also for config.json files that predate the key) masks
      nothing. Lifting a video has its own threshold (`experiments/lift.py
      --threshold`).
  """
  sampler: str
  num_steps: int = settings.field(at_least=1)
  eps: float = settings.field(above=0.0)
  num_hypotheses: int = settings.field(at_least=1)
  batch_poses: int = settings.field(at_least=1)
  hypotheses_list: tuple[int, ...] = settings.field(at_least=1)
  x0_clip: bool = False
  x0_clip_margin: float = settings.field(default=0.1, at_least=0.0)
  mask_below_confidence: float = settings.field(default=0.0, at_least=0.0,
                                                at_most=1.0)

  def __post_init__(self):
    eval_config.check_sampler("sampler", self.sampler)


@dataclasses.dataclass(frozen=True)
class EstimateSingleOptions:
  """`config.eval.estimate_single`: one hypothesis per 2D pose.

  Attributes:
    sampler, num_steps: its sampler (GFPose's: 'deterministic', the
      probability-flow ODE) and steps (0: eval.num_steps).
  """
  sampler: str
  num_steps: int = settings.field(at_least=0)

  def __post_init__(self):
    _check_sampler(self.sampler)


@dataclasses.dataclass(frozen=True)
class CompleteOptions:
  """`config.eval.complete2d` and `config.eval.complete3d`: missing joints.

  Attributes:
    sampler: '' = eval.sampler (its steps: eval.num_steps).
    missing_joints: each k >= 1 is a table row: k limb-end joints drawn
      missing per pose.
    missing_parts: each named body part is a table row, missing whole.
  """
  sampler: str
  missing_joints: tuple[int, ...] = settings.field(at_least=0)
  missing_parts: tuple[str, ...]

  def __post_init__(self):
    _check_sampler(self.sampler)
    unknown = [p for p in self.missing_parts if p and p not in H36M_17.part_names]
    if unknown:
      raise ValueError(f"missing_parts: unknown body part {unknown[0]!r}; "
                       f"valid: {', '.join(H36M_17.part_names)}")

  def settings(self) -> list[tuple[str, object]]:
    """The table's rows: ('joints', k) and ('part', name), in order."""
    out = [("joints", k) for k in self.missing_joints if k > 0]
    out += [("part", p) for p in self.missing_parts if p]
    if not out:
      raise ValueError("missing_joints / missing_parts: nothing to complete; "
                       "give k >= 1 or a body part name")
    return out


@dataclasses.dataclass(frozen=True)
class DenoiseOptions:
  """`config.eval.denoise`: noisy 3D poses cleaned from `t_start`.

  Attributes:
    sampler: its sampler (GFPose's: 'deterministic').
    noise_types, noise_levels_mm: every (type, level) pair is a table row.
    t_start: where the reverse process starts (above eval.eps).
    num_steps: its steps from t_start; 0: the step size of a full grid of
      `full_grid_steps` over the shorter interval.
    full_grid_steps: that full grid (0: eval.num_steps).
  """
  sampler: str
  noise_types: tuple[str, ...]
  noise_levels_mm: tuple[float, ...] = settings.field(at_least=0.0)
  t_start: float = settings.field(above=0.0, at_most=1.0)
  num_steps: int = settings.field(at_least=0)
  full_grid_steps: int = settings.field(at_least=0)

  def __post_init__(self):
    _check_sampler(self.sampler)
    unknown = [n for n in self.noise_types if n not in completion.NOISE_TYPES]
    if unknown:
      raise ValueError(f"noise_types: unknown noise {unknown[0]!r}; valid: "
                       f"{', '.join(completion.NOISE_TYPES)}")


@dataclasses.dataclass(frozen=True)
class GenerateOptions:
  """`config.eval.generate`: unconditional samples against real poses.

  Attributes:
    num: how many (0: as many as the real half of the test rows).
    batch: samples per compiled call.
  """
  num: int = settings.field(at_least=0)
  batch: int = settings.field(at_least=1)


# task -> {flat key of older configs: its option}
FORMERLY = {
    "estimate_single": {"single_sampler": "sampler",
                        "single_num_steps": "num_steps"},
    "complete2d": {"complete_sampler": "sampler",
                   "missing_joints": "missing_joints",
                   "missing_parts": "missing_parts"},
    "complete3d": {"complete_sampler": "sampler",
                   "missing_joints": "missing_joints",
                   "missing_parts": "missing_parts"},
    "denoise": {"single_sampler": "sampler", "noise_types": "noise_types",
                "noise_levels_mm": "noise_levels_mm",
                "denoise_t_start": "t_start", "denoise_num_steps": "num_steps",
                "single_num_steps": "full_grid_steps"},
    "generate": {"num_generate": "num", "batch_generate": "batch"},
}


def check(run) -> None:
  """What spans groups: denoising starts above the sampler's end time."""
  denoise = run.task_options["denoise"]
  if not run.eval_options.eps < denoise.t_start:
    raise settings.ConfigError(
        f"eval.eps, eval.denoise.t_start: expected eps < t_start, got "
        f"{run.eval_options.eps} and {denoise.t_start}")


__all__ = ["EvalOptions", "EstimateSingleOptions", "CompleteOptions",
           "DenoiseOptions", "GenerateOptions", "FORMERLY", "check"]
