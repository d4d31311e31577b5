"""MPI-INF-3DHP's PCK / AUC / MPJPE (`evaluation.pck`) on hand-made errors
whose figures are worked out by hand in the comments."""
import numpy as np
import pytest

from jaxpose.evaluation import pck
from jaxpose.pose.skeleton import H36M_17

# The joints the protocol leaves out, as H36M_17 joints: the root, the spine
# and H36M's 'neck' (3DHP's mid-head 'head').
LEFT_OUT = (0, 7, 9)


def _errors(protocol_mm, other_mm=1000.0):
  """[N, 17] errors: `protocol_mm[n]` at the 14 protocol joints of pose n,
  `other_mm` at the three left out (they must not count)."""
  errors = np.full((len(protocol_mm), 17), other_mm)
  errors[:, list(pck.PROTOCOL_JOINTS)] = np.asarray(protocol_mm, float)[:, None]
  return errors


def test_constants_are_the_authors():
  # thresh = 0:5:150 in mpii_compute_3d_pck.m: 31 thresholds.
  np.testing.assert_array_equal(pck.AUC_THRESHOLDS_MM, np.arange(0, 155, 5))
  assert len(pck.AUC_THRESHOLDS_MM) == 31 and pck.PCK_THRESHOLD_MM == 150.0
  assert pck.PROTOCOL_JOINTS == (1, 2, 3, 4, 5, 6, 8, 10, 11, 12, 13, 14, 15, 16)
  assert set(range(17)) - set(pck.PROTOCOL_JOINTS) == set(LEFT_OUT)
  assert [H36M_17.joint_names[j] for j in LEFT_OUT] == ["pelvis", "spine", "neck"]


def test_all_correct():
  rng = np.random.default_rng(0)
  gt = rng.uniform(-800, 800, (5, 17, 3))
  # A translated prediction is still perfect after root alignment.
  figures = pck.protocol_metrics(gt + [300.0, -20.0, 4000.0], gt)["overall"]
  assert figures["pck"] == 100.0
  # The curve is 0 at t = 0 (no error is < 0) and 100 at the 30 others.
  assert figures["auc"] == pytest.approx(100 * 30 / 31)
  assert figures["mpjpe_mm"] == pytest.approx(0.0, abs=1e-9)
  assert figures["num_poses"] == 5


def test_errors_exactly_at_the_threshold_do_not_count():
  assert pck.pck(_errors([150.0])) == 0.0
  assert pck.pck(_errors([np.nextafter(150.0, 0)])) == 100.0
  # 5 mm counts from t = 10 on: 29 of the 31 thresholds.
  assert pck.auc(_errors([5.0])) == pytest.approx(100 * 29 / 31)


def test_auc_of_a_known_distribution():
  # Four poses with protocol errors 0, 72.5, 150 and 1000 mm:
  #   t = 0: 0 %; t = 5..70 (14 thresholds): pose 0, 25 %;
  #   t = 75..150 (16 thresholds): poses 0 and 1, 50 %.
  errors = _errors([0.0, 72.5, 150.0, 1000.0])
  assert pck.pck(errors) == 50.0
  assert pck.auc(errors) == pytest.approx((14 * 25 + 16 * 50) / 31)
  curve = pck.pck_curve(errors)
  np.testing.assert_allclose(curve, [0] + [25] * 14 + [50] * 16)
  # All 17 joints: the three others (1000 mm) never count: 28 of 68 pairs.
  assert pck.pck(errors, joints=None) == pytest.approx(100 * 28 / 68)


def test_auc_of_uniform_errors_is_half():
  # Errors 0.5, 1.5, ..., 149.5: PCK(5k) = 5k / 150 = k / 30, mean over
  # k = 0..30 is 1/2.
  errors = (np.arange(150) + 0.5)[:, None]
  assert pck.pck(errors, joints=None) == 100.0
  assert pck.auc(errors, joints=None) == pytest.approx(50.0)
  assert pck.mpjpe(errors) == pytest.approx(75.0)


def test_matches_the_authors_group_weighted_total():
  """mpii_compute_3d_pck.m: per group, then a total weighing each group by
  its joint count (groups of mpii_get_pck_auc_joint_groups.m in 3DHP order,
  here as H36M_17 joints)."""
  groups = [(10,), (8,), (14, 11), (15, 12), (16, 13), (1, 4), (2, 5), (3, 6)]
  errors = np.random.default_rng(1).uniform(0, 250, (40, 17))
  curve, at_150, count = 0.0, 0.0, 0
  for joints in groups:
    e = errors[:, list(joints)]
    per_t = np.array([(e < t).sum() / e.size for t in range(0, 151, 5)])
    curve = curve + per_t * len(joints)
    at_150 += 100 * (e < 150).sum() / e.size * len(joints)
    count += len(joints)
  assert pck.auc(errors) == pytest.approx(100 * (curve / count).sum() / 31)
  assert pck.pck(errors) == pytest.approx(at_150 / count)


def test_per_activity_and_per_sequence():
  rng = np.random.default_rng(2)
  gt = rng.uniform(-800, 800, (4, 17, 3))
  # Every joint but the root moved by d along x: error d at those 16 (off
  # the thresholds, which rounding would otherwise decide).
  moved = np.array([0.0, 102.0, 202.0, 0.0])
  pred = gt.copy()
  pred[:, 1:, 0] += moved[:, None]
  pred += [1000.0, 0.0, 0.0]  # a translation root alignment removes
  names = ("unknown", "Standing/Walking", "Exercising", "Sitting",
           "Reaching/Crouching", "On The Floor", "Sports", "Miscellaneous")
  out = pck.protocol_metrics(pred, gt, activity=np.array([1, 1, 2, 7]),
                             activity_names=names,
                             sequence=np.array(["TS1", "TS1", "TS5", "TS5"]))
  overall = out["overall"]
  assert overall["pck"] == 75.0
  assert overall["mpjpe_mm"] == pytest.approx(304 * 16 / 17 / 4)
  # Poses 0 and 1: 102 mm counts from t = 105 on (10 thresholds):
  # (20 * 50 + 10 * 100) / 31.
  stand = out["per_activity"]["Standing/Walking"]
  assert stand["pck"] == 100.0 and stand["num_poses"] == 2
  assert stand["auc"] == pytest.approx(2000 / 31)
  assert out["per_activity"]["Exercising"] == dict(
      pck=0.0, auc=0.0, mpjpe_mm=pytest.approx(202 * 16 / 17), num_poses=1)
  assert out["per_activity"]["Miscellaneous"]["auc"] == pytest.approx(3000 / 31)
  assert list(out["per_activity"]) == ["Standing/Walking", "Exercising",
                                       "Miscellaneous"]
  assert out["per_sequence"]["TS1"] == stand
  assert out["per_sequence"]["TS5"]["pck"] == 50.0
  assert out["per_sequence"]["TS5"]["auc"] == pytest.approx(1500 / 31)
  assert out["pck_joints"] == list(pck.PROTOCOL_JOINTS)
  assert out["auc_thresholds_mm"] == [5.0 * k for k in range(31)]
  # No names: ids as strings; no groups asked: none given.
  assert set(pck.protocol_metrics(pred, gt, activity=np.array([1, 1, 2, 7]))
             ["per_activity"]) == {"1", "2", "7"}
  assert set(pck.protocol_metrics(pred, gt)) == {
      "overall", "pck_joints", "pck_threshold_mm", "auc_thresholds_mm"}


def test_root_alignment_uses_the_root_joint():
  gt = np.zeros((1, 17, 3))
  pred = np.zeros((1, 17, 3))
  pred[0, 0] = [0.0, 0.0, 200.0]  # only the root moved: every other joint
  errors = pck.joint_errors(pred, gt)  # is 200 mm off once aligned
  np.testing.assert_allclose(errors[0], [0.0] + [200.0] * 16)
  np.testing.assert_allclose(pck.joint_errors(pred, gt, root=3)[0],
                             [200.0] + [0.0] * 16)


@pytest.mark.parametrize("call, match", [
    (lambda: pck.joint_errors(np.zeros((2, 17, 3)), np.zeros((3, 17, 3))), "one shape"),
    (lambda: pck.joint_errors(np.full((1, 17, 3), np.nan), np.zeros((1, 17, 3))), "NaN"),
    (lambda: pck.joint_errors(np.zeros((1, 17, 3)), np.zeros((1, 17, 3)), root=17),
     "root"),
    (lambda: pck.pck(np.zeros((0, 17))), r"\[N >= 1"),
    (lambda: pck.pck(-np.ones((1, 17))), ">= 0"),
    (lambda: pck.pck(np.zeros((1, 5))), "joints"),
    (lambda: pck.pck(np.zeros((1, 17)), joints=(1, 1)), "distinct"),
    (lambda: pck.pck(np.zeros((1, 17)), threshold_mm=-1.0), "threshold_mm"),
    (lambda: pck.auc(np.zeros((1, 17)), thresholds_mm=[]), "thresholds_mm"),
    (lambda: pck.protocol_metrics(np.zeros((2, 17, 3)), np.zeros((2, 17, 3)),
                                  activity=np.array([1])), "one value per pose"),
    (lambda: pck.protocol_metrics(np.zeros((1, 17, 3)), np.zeros((1, 17, 3)),
                                  activity=np.array([-1])), "ids >= 0"),
])
def test_bad_inputs(call, match):
  with pytest.raises(ValueError, match=match):
    call()
