"""DPoser's schedules and weight: the paper's ranges as data of the method."""
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
  with pytest.raises(ConfigError, match="schedule"):
    schedule.denoise_weight_factors("staged", 0)
