"""DPoser's schedules and weight: the paper's ranges as data of the method."""
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
