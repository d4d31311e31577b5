"""The rig-proportions study: bones side by side, in the augmentation's units."""
import numpy as np
import pytest

from experiments.studies import rig_proportions
from jaxpose.data import synthetic_poses
from jaxpose.pose import proportions
from jaxpose.pose.skeleton import H36M_17


def _split(joints, dataset, subject):
  n = len(joints)
  return {"pose3d": joints, "dataset": np.full(n, dataset),
          "subject": np.full(n, subject)}


def test_a_test_rig_a_fifth_larger_is_three_deviations_out():
  joints = synthetic_poses.generate_poses(40, seed=0)["pose3d"]
  bigger = proportions.repose(joints, H36M_17, 1.2)
  train = rig_proportions.person_lengths(_split(joints, "a", "1"))
  test = rig_proportions.person_lengths(_split(bigger, "b", "2"))
  out = rig_proportions.compare(train, test, spreads=(1.0, 2.0), draws=4000)
  ratios = [b["log_ratio"] for b in out["bones"].values()]
  np.testing.assert_allclose(ratios, np.log(1.2), atol=1e-3)
  sd = np.hypot(proportions.STATURE_CV, proportions.SEGMENT_CV)
  assert out["spreads"]["1.0"]["max_deviations"] == pytest.approx(
      np.log(1.2) / sd, abs=0.1)
  # Every bone 20% longer, together: size alone must reach it, rarely.
  assert out["spreads"]["1.0"]["share_of_bodies_within_10pct"] < 0.01
  assert out["spreads"]["2.0"]["share_of_bodies_within_10pct"] > 0.005
  assert set(out["people_mm"]) == {"a:1", "b:2"}
