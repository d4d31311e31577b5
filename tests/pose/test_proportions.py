"""Bodies of other proportions: the drawn spread and the re-posing."""
import numpy as np
import pytest

from jaxpose.data import synthetic_poses
from jaxpose.pose import proportions
from jaxpose.pose.skeleton import H36M_17

PARENTS = np.asarray(H36M_17.parents)


def _bones(joints):
  return joints[..., 1:, :] - joints[..., PARENTS[1:], :]


def test_repose_scales_each_bone_and_keeps_directions_and_root():
  joints = synthetic_poses.generate_poses(50, seed=1)["pose3d"]
  scales = np.random.default_rng(0).uniform(0.7, 1.4, (50, 17))
  out = proportions.repose(joints, H36M_17, scales)
  np.testing.assert_allclose(out[:, 0], joints[:, 0])
  before, after = _bones(joints), _bones(out)
  np.testing.assert_allclose(np.linalg.norm(after, axis=-1),
                             np.linalg.norm(before, axis=-1) * scales[:, 1:],
                             rtol=1e-6)
  unit = lambda v: v / np.linalg.norm(v, axis=-1, keepdims=True)
  np.testing.assert_allclose(unit(after), unit(before), atol=1e-6)
  np.testing.assert_allclose(proportions.repose(joints, H36M_17, 1.0), joints)
  with pytest.raises(ValueError, match="joints"):
    proportions.repose(joints[..., :2], H36M_17, 1.0)


def test_drawn_bodies_follow_the_survey_spread():
  rng = np.random.default_rng(0)
  logs = np.log(proportions.draw_bone_scales(rng, 40000, H36M_17))
  flip = H36M_17.flip_permutation
  np.testing.assert_array_equal(logs, logs[:, flip])  # left is right
  np.testing.assert_array_equal(logs[:, 0], 0.0)
  total = np.hypot(proportions.STATURE_CV, proportions.SEGMENT_CV)
  thigh, spine = H36M_17.index("l_knee"), H36M_17.index("spine")
  assert np.std(logs[:, thigh]) == pytest.approx(total, rel=0.03)
  # Two segments vary together through size alone.
  r = np.corrcoef(logs[:, thigh], logs[:, spine])[0, 1]
  assert r == pytest.approx((proportions.STATURE_CV / total) ** 2, abs=0.02)
  wide = np.log(proportions.draw_bone_scales(rng, 40000, H36M_17, spread=3.0))
  assert np.std(wide[:, thigh]) == pytest.approx(3 * total, rel=0.03)
  np.testing.assert_array_equal(
      proportions.draw_bone_scales(rng, 5, H36M_17, spread=0.0), 1.0)


def test_a_clip_is_one_body():
  joints = synthetic_poses.generate_poses(60, seed=2)["pose3d"]
  clip = np.repeat(np.array(["a", "b", "c"]), 20)
  out, chosen = proportions.repose_clips(np.random.default_rng(1), joints,
                                         clip, H36M_17, fraction=1.0)
  assert chosen.all()
  ratio = (np.linalg.norm(_bones(out), axis=-1)
           / np.linalg.norm(_bones(joints), axis=-1))
  for name in "abc":
    rows = ratio[clip == name]
    np.testing.assert_allclose(rows, rows[:1].repeat(len(rows), 0), rtol=1e-5)
  assert not np.allclose(ratio[0], ratio[20])
  same, none = proportions.repose_clips(np.random.default_rng(1), joints,
                                        clip, H36M_17, fraction=0.0)
  assert not none.any()
  np.testing.assert_array_equal(same, joints.astype(np.float32))
  with pytest.raises(ValueError, match="fraction"):
    proportions.repose_clips(np.random.default_rng(1), joints, clip, H36M_17,
                             fraction=1.5)
