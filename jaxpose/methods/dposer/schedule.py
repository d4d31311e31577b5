"""DPoser's time schedules and regulariser weights, as data.

The regulariser itself is generic (`jaxpose.core.regulariser`); what DPoser
(Lu et al., arXiv 2312.05541; shared/design/papers.md) chooses is here:

- the truncated schedule's ranges (t_min, t_max) per task, `PAPER_T_RANGES`:
  [0.05, 0.15] for pose completion, [0.08, 0.12] for keypoint fitting
  (HMR), [0.05, 0.2] for motion denoising (the configs give the values
  they use in `eval.complete_t`, `eval.fit_t`, `eval.denoise_t`);
- the weight: the authors' released code uses w(t) = 1/2 sqrt(1 + a(t)/s(t))
  (the core's 'snr' weight, `WEIGHT`) in completion and the constant 1/2 in
  motion denoising; jaxpose's tasks use `WEIGHT` in every task;
- the ablation of the motion-denoising schedule (`ablation_schedules`):
  the paper's "random" and "uniform" are not defined in the design notes;
  the kinds here are jaxpose's definitions (the released code's random
  strategy draws t ~ U(1e-3, 1), here 'uniform'; its fixed one uses t =
  0.1, here the middle of the range). Its truncated schedule
  t_i = t_min + (n - 1 - i)/n (t_max - t_min) starts one step below t_max;
  jaxpose's hits both ends exactly (theirs: `TimeSchedule.truncated(...,
  hit_t_max=False)`, which `eval.complete_objective='dposer_released'`
  uses with the rest of their completion, eval_tasks.py);
- the weights of motion denoising over the optimisation
  (`denoise_weight_factors`): the released motion-denoising script
  (run/motion_denoising.py, `get_loss_weights`) runs its Adam steps in
  outer iterations k = 0, 1, 2 (3 x 60 steps at 40 mm) and weights its
  terms data 100 / (1 + k^2), temporal 10 (1 + k) and prior 0.1 (1 + k)
  (`RELEASED_DENOISE_WEIGHTS`): the data term fades while the temporal and
  prior terms grow.  Its terms are unsquared distances in metres, so
  jaxpose keeps its own weights (`eval.smooth_weight`,
  `eval.denoise_weights`, for its squared terms) and, with
  `eval.denoise_weight_schedules` holding 'annealed', multiplies them by
  the same factors relative to iteration 0: 1 / (1 + k^2), 1 + k, 1 + k.
"""
from __future__ import annotations

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
# Motion denoising's weight schedules: 'fixed' (jaxpose's, the same weights
# at every step) and 'annealed' (the released code's factors).
DENOISE_WEIGHT_SCHEDULES = ("fixed", "annealed")


def denoise_stage(step, num_steps: int, num_stages: int):
  """The outer iteration k of optimisation step `step` (numpy or traced):
  `num_stages` equal runs of steps, as the released code's `iterations`."""
  return (num_stages * step) // num_steps


def denoise_weight_factors(schedule: str, stage) -> dict:
  """{'data', 'smooth', 'prior'} factors on the configured weights at outer
  iteration `stage` (an int or a traced integer): all 1 for 'fixed'; the
  released code's weights relative to its iteration 0 for 'annealed'
  (1 / (1 + k^2), 1 + k, 1 + k)."""
  settings.one_of("schedule", schedule, DENOISE_WEIGHT_SCHEDULES)
  if schedule == "fixed":
    return {"data": 1.0, "smooth": 1.0, "prior": 1.0}
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
           "denoise_weight_factors"]
