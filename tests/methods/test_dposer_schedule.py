"""DPoser's schedules and weight: the paper's ranges as data of the method."""
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpose.core import regulariser
from jaxpose.methods.dposer import schedule
from jaxpose.settings import ConfigError


def test_paper_ranges_by_task():
  sched = schedule.paper_schedule("keypoint_fitting")
  assert (sched.t_min, sched.t_max) == (0.08, 0.12)
  assert float(sched(0, 10)) == np.float32(0.12)
  assert float(sched(9, 10)) == np.float32(0.08)
  assert schedule.paper_schedule("completion").t_max == 0.15
  assert schedule.paper_schedule("motion_denoising").t_min == 0.05
  with pytest.raises(ConfigError, match="task: expected one of completion"):
    schedule.paper_schedule("hmr")


def test_ablation_schedules_share_one_range():
  kinds = schedule.ablation_schedules((0.2, 0.05))
  assert set(kinds) == set(regulariser.SCHEDULE_KINDS)
  assert (kinds["truncated"].t_max, kinds["truncated"].t_min) == (0.2, 0.05)
  assert (kinds["random"].t_min, kinds["random"].t_max) == (0.05, 0.2)
  assert kinds["fixed"].t_fixed == pytest.approx(0.125)
  assert kinds["uniform"].kind == "uniform"


def test_weight_is_a_core_weight():
  assert schedule.WEIGHT in regulariser.WEIGHTS


def test_denoising_weights_follow_the_authors_annealing():
  """run/motion_denoising.py's get_loss_weights at outer iterations 0, 1, 2
  (3 x 60 steps at 40 mm): data 100/(1+k^2), temporal 10(1+k), prior
  0.1(1+k); 'annealed' multiplies jaxpose's weights by their ratio to k=0."""
  w = schedule.RELEASED_DENOISE_WEIGHTS
  assert [w["data"](k) for k in range(3)] == pytest.approx([100.0, 50.0, 20.0])
  assert [w["smooth"](k) for k in range(3)] == pytest.approx([10.0, 20.0, 30.0])
  assert [w["prior"](k) for k in range(3)] == pytest.approx([0.1, 0.2, 0.3])
  steps = np.array([0, 59, 60, 119, 120, 179])
  stages = schedule.denoise_stage(steps, 180, 3)
  np.testing.assert_array_equal(stages, [0, 0, 1, 1, 2, 2])
  expected = {0: (1.0, 1.0, 1.0), 1: (0.5, 2.0, 2.0), 2: (0.2, 3.0, 3.0)}
  for k, (data, smooth, prior) in expected.items():
    f = schedule.denoise_weight_factors("annealed", k)
    assert (f["data"], f["smooth"], f["prior"]) == pytest.approx((data, smooth, prior))
    assert schedule.denoise_weight_factors("fixed", k) == dict(data=1.0, smooth=1.0,
                                                               prior=1.0)
  # Inside the compiled loop the step is traced.
  traced = jax.jit(lambda i: schedule.denoise_weight_factors(
      "annealed", schedule.denoise_stage(i, 180, 3))["data"])
  assert float(traced(jnp.int32(150))) == pytest.approx(0.2)
  # 'released' is their weights themselves (on their own terms).
  for k in range(3):
    f = schedule.denoise_weight_factors("released", k)
    assert f == pytest.approx({t: w(k) for t, w in schedule.RELEASED_DENOISE_WEIGHTS.items()})
  with pytest.raises(ConfigError, match="schedule"):
    schedule.denoise_weight_factors("staged", 0)
  with pytest.raises(ConfigError, match="schedule"):
    schedule.denoise_prior_form("staged")


def test_released_denoising_recipe_per_noise_level():
  """run/motion_denoising.py at 20 / 40 / 100 mm: 3 x 40 / 60 / 80 Adam
  steps at lr 0.03, its truncated times from about 1/sample_trun (10, 4,
  3) down to one grid step above 1e-3 on linspace(1, 1e-3, 500). Hand
  computed: at 20 mm the first step's index is 500 - floor(119 * 500 /
  1200) - 2 = 449, t = 1 - 449 * 0.999 / 499 = 0.10110; the last's is 498,
  t = 0.00300."""
  times = schedule.released_denoise_times(120, 10.0)
  assert times[0] == pytest.approx(0.101100, abs=1e-6)
  assert times[-1] == pytest.approx(0.003002, abs=1e-6)
  assert np.all(np.diff(times) <= 0)
  opts = types.SimpleNamespace(steps=7, stages=1, lr=0.5, t=(0.2, 0.05))
  expected = {20.0: (120, 0.1011), 40.0: (180, 0.2513), 100.0: (240, 0.3333)}
  for noise, (steps, t_max) in expected.items():
    recipe = schedule.denoise_recipe("released", noise, opts)
    assert (recipe.num_steps, recipe.num_stages, recipe.learning_rate) == (steps, 3, 0.03)
    assert recipe.t_range == pytest.approx((t_max, 0.0030), abs=1e-4)
    # The ramp jaxpose runs stays within one grid step of their staircase.
    iterations, per_iteration, trun = schedule.RELEASED_DENOISE_LEVELS[noise]
    ramp = regulariser.TimeSchedule.truncated(*recipe.t_range).sequence(steps)
    theirs = schedule.released_denoise_times(iterations * per_iteration, trun)
    assert np.abs(np.asarray(ramp) - theirs).max() <= 0.999 / 499
  # jaxpose's schedules run the options' recipe at every level.
  assert schedule.denoise_recipe("fixed", 20.0, opts) == schedule.DenoiseRecipe(
      7, 1, 0.5, (0.2, 0.05))
  with pytest.raises(ConfigError, match=r"released.*\(20.0, 40.0, 100.0\).*\[30.0\]"):
    schedule.denoise_recipe("released", 30.0, opts)
