"""Synthetic motion clips (jaxpose.data.synthetic_poses.generate_clips)."""
import numpy as np
import pytest

from jaxpose.data import synthetic_poses
from jaxpose.pose import body_space
from jaxpose.pose.skeleton import H36M_17, SMPL_22

C, F = 14, 60  # clips, frames (2 s at 30 fps)


@pytest.fixture(scope="module")
def clips():
  return synthetic_poses.generate_clips(C, F, seed=0, return_angles=True)


def _per_clip(x):
  return np.asarray(x).reshape((C, F) + np.shape(x)[1:])


def test_keys_shapes_and_ids(clips):
  poses = synthetic_poses.generate_poses(3, seed=0, return_body_space=True, return_angles=True)
  assert set(clips) == set(poses) | {"clip", "frame"}
  n = C * F
  for key, value in poses.items():
    if key != "angles":
      assert clips[key].shape == (n,) + value.shape[1:], key
      assert clips[key].dtype == value.dtype, key
      assert np.isfinite(clips[key]).all(), key
  assert clips["clip"].dtype == clips["frame"].dtype == np.int32
  np.testing.assert_array_equal(_per_clip(clips["clip"]), np.arange(C)[:, None] + 0 * np.arange(F))
  np.testing.assert_array_equal(_per_clip(clips["frame"]), np.arange(F) + 0 * np.arange(C)[:, None])
  # One subject and one activity per clip; every clip has its own skeleton.
  for key in ("activity", "subject", "subject_scale", "bone_lengths"):
    v = _per_clip(clips[key])
    np.testing.assert_array_equal(v, np.broadcast_to(v[:, :1], v.shape), err_msg=key)
  assert len(np.unique(_per_clip(clips["subject_scale"])[:, 0])) == C
  assert ((clips["yaw"] >= 0) & (clips["yaw"] < 2 * np.pi)).all()


def test_determinism_by_seed():
  a = synthetic_poses.generate_clips(3, 20, seed=(4, 2))
  b = synthetic_poses.generate_clips(3, 20, seed=(4, 2))
  c = synthetic_poses.generate_clips(3, 20, seed=(4, 3))
  for key in a:
    np.testing.assert_array_equal(a[key], b[key], err_msg=key)
  assert not np.allclose(a["pose3d"], c["pose3d"])


def test_motion_is_smooth_and_bounded(clips):
  pose = _per_clip(clips["pose3d"]).astype(np.float64)  # [C, F, 17, 3]
  step = np.linalg.norm(np.diff(pose, axis=1), axis=-1)  # [C, F - 1, 17] mm/frame
  rel = pose - pose[:, :, :1]
  rel_step = np.linalg.norm(np.diff(rel, axis=1), axis=-1).mean()
  # Consecutive random poses (same generator) differ by ~380 mm per joint.
  rand = synthetic_poses.generate_poses(500, seed=1)["pose3d"].astype(np.float64)
  rand = rand - rand[:, :1]
  rand_step = np.linalg.norm(np.diff(rand, axis=0), axis=-1).mean()
  assert rel_step < 0.05 * rand_step, (rel_step, rand_step)
  # 30 fps: under 6 m/s for every joint, under 1 m/s on average.
  assert step.max() < 200 and step.mean() < 33, (step.max(), step.mean())
  # C^1 motion: accelerations are small next to the velocities.
  accel = np.linalg.norm(np.diff(pose, 2, axis=1), axis=-1)
  assert accel.mean() < 0.35 * step.mean(), (accel.mean(), step.mean())


def test_clips_are_separate_motions():
  out = synthetic_poses.generate_clips(6, 30, seed=3)
  pose = out["pose3d"].reshape(6, 30, 17, 3).astype(np.float64)
  within = np.linalg.norm(np.diff(pose, axis=1), axis=-1).mean()
  across = np.linalg.norm(pose[1:, 0] - pose[:-1, -1], axis=-1).mean()  # clip ends
  assert across > 10 * within, (across, within)


def test_heading_and_drift_are_linear_in_time(clips):
  root = _per_clip(clips["pose3d"])[:, :, 0].astype(np.float64)  # [C, F, 3]
  # Pelvis x, y: start + velocity * t (the heading turns about the pelvis).
  np.testing.assert_allclose(np.diff(root[..., :2], 2, axis=1), 0.0, atol=1e-2)
  yaw = np.unwrap(_per_clip(clips["yaw"]).astype(np.float64), axis=1)
  np.testing.assert_allclose(np.diff(yaw, 2, axis=1), 0.0, atol=1e-5)
  assert np.abs(np.diff(yaw, axis=1)).max() < np.radians(3)  # per frame


def test_catmull_rom_closed_forms():
  keys = np.array([[0.0, 1.0, 3.0, 2.0, 5.0, 4.0]])
  u = np.linspace(1, 4, 301)
  y = synthetic_poses._catmull_rom(keys, u)[0]
  # Passes through the inner keys; the slope at a key is the central difference.
  np.testing.assert_allclose(y[[0, 100, 200, 300]], keys[0, 1:5], atol=1e-12)
  h = 1e-6
  for k in (2.0, 3.0):
    lo, hi = synthetic_poses._catmull_rom(keys, np.array([k - h, k + h]))[0]
    slope = (keys[0, int(k) + 1] - keys[0, int(k) - 1]) / 2
    np.testing.assert_allclose((hi - lo) / (2 * h), slope, rtol=1e-4)
  # Reproduces a straight line exactly.
  line = 2.0 + 0.5 * np.arange(6.0)[None]
  np.testing.assert_allclose(synthetic_poses._catmull_rom(line, u)[0], 2.0 + 0.5 * u, atol=1e-12)


def test_keyframes_set_the_pace():
  fast = synthetic_poses.generate_clips(8, 30, seed=5, keyframe_seconds=0.25)["pose3d"]
  slow = synthetic_poses.generate_clips(8, 30, seed=5, keyframe_seconds=1.0)["pose3d"]
  speed = lambda p: np.linalg.norm(np.diff(p.reshape(8, 30, 17, 3), axis=1), axis=-1).mean()
  assert speed(fast) > 2 * speed(slow)


def test_shared_subjects():
  out = synthetic_poses.generate_clips(10, 5, seed=6, num_subjects=3)
  subject = out["subject"].reshape(10, 5)[:, 0]
  lengths = out["bone_lengths"].reshape(10, 5, 17)[:, 0]
  assert set(subject.tolist()) <= {0, 1, 2}
  for s in np.unique(subject):
    np.testing.assert_array_equal(lengths[subject == s], np.broadcast_to(
        lengths[subject == s][0], lengths[subject == s].shape))


def test_body_space_forward_kinematics_reproduces_the_clips(clips):
  n = C * F
  np.testing.assert_allclose(clips["body_trans"], clips["pose3d"][:, 0])
  # Bone lengths are the clip's skeleton: constant through the clip.
  bl = _per_clip(clips["body_bone_lengths"])
  np.testing.assert_allclose(bl, np.broadcast_to(bl[:, :1], bl.shape), atol=1e-2)
  joints = body_space.forward_kinematics(clips["body_pose"], clips["body_bone_lengths"],
                                         clips["body_root_orient"], clips["body_trans"])
  assert joints.shape == (n, 22, 3)
  limbs = [("left_knee", "l_knee", "left_hip", "l_hip"),
           ("right_ankle", "r_ankle", "right_knee", "r_knee"),
           ("left_elbow", "l_elbow", "left_shoulder", "l_shoulder"),
           ("right_wrist", "r_wrist", "right_elbow", "r_elbow")]
  pairs = [((SMPL_22.index(c), SMPL_22.index(p)), (H36M_17.index(hc), H36M_17.index(hp)))
           for c, hc, p, hp in limbs]
  ang = body_space.bone_angles(joints, clips["pose3d"], pairs)  # degrees
  assert ang.max() < 0.01
  # The limb bones also keep their lengths, so the limb ends coincide.
  for c, hc, p, hp in limbs:
    np.testing.assert_allclose(
        joints[:, SMPL_22.index(c)] - joints[:, SMPL_22.index(p)],
        clips["pose3d"][:, H36M_17.index(hc)] - clips["pose3d"][:, H36M_17.index(hp)],
        atol=0.1)


@pytest.mark.parametrize("kwargs, match", [
    (dict(num_clips=0, num_frames=5), "num_clips"),
    (dict(num_clips=2, num_frames=0), "num_frames"),
    (dict(num_clips=2, num_frames=5, fps=0.0), "fps"),
    (dict(num_clips=2, num_frames=5, keyframe_seconds=float("nan")), "keyframe_seconds"),
    (dict(num_clips=2, num_frames=5, activities=("juggling",)), "activities"),
    (dict(num_clips=2, num_frames=5, num_subjects=0), "num_subjects"),
])
def test_bad_arguments_are_named(kwargs, match):
  with pytest.raises(ValueError, match=match):
    synthetic_poses.generate_clips(seed=0, **kwargs)
