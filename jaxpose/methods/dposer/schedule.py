"""DPoser's time schedules and regulariser weights, as data.

The regulariser itself is generic (`jaxpose.core.regulariser`); what DPoser
(Lu et al., arXiv 2312.05541; shared/design/papers.md) chooses is here:

- the truncated schedule's (t_min, t_max) per task, `PAPER_T_RANGES` (the
  configs give the values they use in `eval.complete.t`, `eval.fit2d.t`,
  `eval.denoise_motion.t`);
- the weight: the authors' released code uses w(t) = 1/2 sqrt(1 + a(t)/s(t))
  (the core's 'snr' weight, `WEIGHT`) in completion and the constant 1/2 in
  motion denoising; jaxpose's tasks use `WEIGHT` in every task;
- the ablation of the motion-denoising schedule (`ablation_schedules`):
  the paper's "random" and "uniform" are not defined in the design notes,
  so the kinds here are jaxpose's (the released code's random strategy
  draws t ~ U(1e-3, 1), here 'uniform'; its fixed one uses t = 0.1, here
  the middle of the range). Its truncated schedule
  t_i = t_min + (n - 1 - i)/n (t_max - t_min) starts one step below t_max;
  jaxpose's hits both ends exactly (theirs: `TimeSchedule.truncated(...,
  hit_t_max=False)`, used by `eval.complete.objective='dposer_released'`);
- motion denoising's weights over the optimisation
  (`denoise_weight_factors`): the released script (run/motion_denoising.py,
  `get_loss_weights`) runs its Adam steps in outer iterations k = 0, 1, 2
  and weights its terms by `RELEASED_DENOISE_WEIGHTS`: the data term fades
  while the temporal and prior terms grow.  Its terms are unsquared
  distances in metres, so jaxpose keeps its own weights for its squared
  terms (`eval.denoise_motion.smooth_weight`, `.weights`) and, with
  `eval.denoise_motion.weight_schedules` holding 'annealed', multiplies
  them by the same factors relative to iteration 0.  'released' runs their
  whole recipe instead: their objective (`fitting.motion_terms`,
  `RELEASED_PRIOR_FORM`) and their steps and times (`denoise_recipe`).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from jaxpose import settings
from jaxpose.core import regulariser

# (t_min, t_max) of the paper's truncated schedule per task.
PAPER_T_RANGES = {
    "completion": (0.05, 0.15),
    "keypoint_fitting": (0.08, 0.12),
    "motion_denoising": (0.05, 0.2),
}

# The regulariser's weight in every DPoser task.
WEIGHT = "snr"


def paper_schedule(task: str) -> regulariser.TimeSchedule:
  """The paper's truncated schedule for 'completion', 'keypoint_fitting'
  or 'motion_denoising'."""
  settings.one_of("task", task, tuple(PAPER_T_RANGES))
  t_min, t_max = PAPER_T_RANGES[task]
  return regulariser.TimeSchedule.truncated(t_max=t_max, t_min=t_min)


# The released motion-denoising weights at outer iteration k (term ->
# weight): theirs exactly, for reference and the tests.
RELEASED_DENOISE_WEIGHTS = {
    "data": lambda k: 100.0 / (1.0 + k * k),
    "smooth": lambda k: 10.0 * (1.0 + k),
    "prior": lambda k: 0.1 * (1.0 + k),
}
# Motion denoising's weight schedules (module doc, `denoise_weight_factors`).
DENOISE_WEIGHT_SCHEDULES = ("fixed", "annealed", "released")
# The released motion-denoising script's prior term (`DPoser_loss`): the
# squared error summed over the pose's dimensions, averaged over the frames,
# times 1/2 (the regulariser's 'constant' weight).
RELEASED_PRIOR_FORM = {"weight": "constant", "reduce": "sum"}
# jaxpose's prior term in every task.
PRIOR_FORM = {"weight": WEIGHT, "reduce": "mean"}


def denoise_prior_form(schedule: str) -> dict:
  """The prior term's form (regulariser weight and reduction) that motion
  denoising uses under weight schedule `schedule`."""
  settings.one_of("schedule", schedule, DENOISE_WEIGHT_SCHEDULES)
  return dict(RELEASED_PRIOR_FORM if schedule == "released" else PRIOR_FORM)


# The released script's motion denoising per noise level (`denoise` in
# run/motion_denoising.py): sigma (mm) -> (outer iterations, Adam steps per
# iteration, `sample_trun`), Adam's learning rate, and its time grid
# (`sde.N` = 500 steps of linspace(1, 1e-3)).
RELEASED_DENOISE_LEVELS = {20.0: (3, 40, 10.0), 40.0: (3, 60, 4.0),
                           100.0: (3, 80, 3.0)}
RELEASED_DENOISE_LR = 0.03
_RELEASED_GRID = (500, 1e-3)


def released_denoise_times(num_steps: int, sample_trun: float) -> np.ndarray:
  """The released script's time at each of its `num_steps` steps (its
  truncated strategy '3'): the grid index N - floor((n - 1 - i) N /
  (sample_trun n)) - 2 of linspace(1, eps, N), falling from about
  1/sample_trun to one grid step above eps."""
  n_grid, eps = _RELEASED_GRID
  step = np.arange(num_steps)
  index = n_grid - np.floor((num_steps - step - 1) * n_grid
                            / (sample_trun * num_steps)).astype(int) - 2
  return 1.0 - index * (1.0 - eps) / (n_grid - 1)


@dataclasses.dataclass(frozen=True)
class DenoiseRecipe:
  """One motion-denoising optimisation: Adam's steps and learning rate, the
  outer iterations of the weights, and the truncated schedule's (t_max,
  t_min)."""
  num_steps: int
  num_stages: int
  learning_rate: float
  t_range: tuple


def denoise_recipe(weight_schedule: str, noise_mm: float, opts) -> DenoiseRecipe:
  """The optimisation motion denoising runs at `noise_mm` under
  `weight_schedule`: the task's options (`eval.denoise_motion`: steps,
  stages, lr, t), or for 'released' the released script's at that level,
  its staircase of times (`released_denoise_times`) replaced by the
  straight ramp from its first time to its last, never more than one grid
  step (0.002) from it."""
  settings.one_of("weight_schedule", weight_schedule, DENOISE_WEIGHT_SCHEDULES)
  if weight_schedule != "released":
    return DenoiseRecipe(opts.steps, opts.stages, opts.lr, tuple(opts.t))
  check_released_levels((noise_mm,))
  iterations, per_iteration, trun = RELEASED_DENOISE_LEVELS[float(noise_mm)]
  times = released_denoise_times(iterations * per_iteration, trun)
  return DenoiseRecipe(iterations * per_iteration, iterations, RELEASED_DENOISE_LR,
                       (float(times[0]), float(times[-1])))


def check_released_levels(noise_mm) -> None:
  """ConfigError unless every level is one the released script runs."""
  other = [v for v in noise_mm if float(v) not in RELEASED_DENOISE_LEVELS]
  if other:
    raise settings.ConfigError(
        f"eval.denoise_motion.noise_mm={tuple(noise_mm)}: the 'released' weight schedule "
        f"runs the authors' settings of each noise level, which they give for "
        f"{tuple(RELEASED_DENOISE_LEVELS)} mm only, not {other}")


def denoise_stage(step, num_steps: int, num_stages: int):
  """The outer iteration k of optimisation step `step` (numpy or traced):
  `num_stages` equal runs of steps, as the released code's `iterations`."""
  return (num_stages * step) // num_steps


def denoise_weight_factors(schedule: str, stage) -> dict:
  """{'data', 'smooth', 'prior'} factors on the configured weights at outer
  iteration `stage` (an int or a traced integer): all 1 for 'fixed';
  `RELEASED_DENOISE_WEIGHTS` relative to iteration 0 for 'annealed'
  (1 / (1 + k^2), 1 + k, 1 + k); themselves for 'released' (the data and
  temporal terms' weights, and the factor on each prior's weight)."""
  settings.one_of("schedule", schedule, DENOISE_WEIGHT_SCHEDULES)
  if schedule == "fixed":
    return {"data": 1.0, "smooth": 1.0, "prior": 1.0}
  if schedule == "released":
    return {term: weight(stage) for term, weight in RELEASED_DENOISE_WEIGHTS.items()}
  return {term: weight(stage) / weight(0)
          for term, weight in RELEASED_DENOISE_WEIGHTS.items()}


def ablation_schedules(t_range) -> dict[str, regulariser.TimeSchedule]:
  """Every schedule kind over one (t_max, t_min) range: truncated, random
  within it, fixed at its middle, and uniform over (eps, 1]."""
  t_max, t_min = t_range
  return {"truncated": regulariser.TimeSchedule.truncated(t_max, t_min),
          "random": regulariser.TimeSchedule.random(t_min, t_max),
          "fixed": regulariser.TimeSchedule.fixed(0.5 * (t_max + t_min)),
          "uniform": regulariser.TimeSchedule.uniform()}


__all__ = ["PAPER_T_RANGES", "WEIGHT", "paper_schedule", "ablation_schedules",
           "RELEASED_DENOISE_WEIGHTS", "DENOISE_WEIGHT_SCHEDULES", "denoise_stage",
           "denoise_weight_factors", "RELEASED_PRIOR_FORM", "PRIOR_FORM",
           "denoise_prior_form", "RELEASED_DENOISE_LEVELS", "RELEASED_DENOISE_LR",
           "released_denoise_times", "DenoiseRecipe", "denoise_recipe",
           "check_released_levels"]
