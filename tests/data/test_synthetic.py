"""Tests of the procedural pose generator (jaxpose.data.synthetic_poses) and
the synthetic lifting splits (jaxpose.data.synthetic)."""
import numpy as np
import pytest

from jaxpose.data import synthetic
from jaxpose.data import synthetic_poses
from jaxpose.pose.skeleton import H36M_17

PARENTS = np.array(H36M_17.parents[1:])
CHILDREN = np.arange(1, 17)


@pytest.fixture(scope="module")
def poses():
  return synthetic_poses.generate_poses(7000, seed=0, return_angles=True)


def _body_frame(out):
  """Undo the heading so the body frame is x right, y forward, z up."""
  p = out["pose3d"].astype(np.float64)
  p = p - p[:, :1]
  c, s = np.cos(out["yaw"]), np.sin(out["yaw"])
  x = c[:, None] * p[..., 0] + s[:, None] * p[..., 1]
  y = -s[:, None] * p[..., 0] + c[:, None] * p[..., 1]
  return np.stack([x, y, p[..., 2]], -1)


def test_shapes_dtypes_finite(poses):
  assert poses["pose3d"].shape == (7000, 17, 3)
  assert poses["pose3d"].dtype == np.float32
  assert poses["activity"].shape == (7000,) and poses["activity"].dtype == np.int32
  assert poses["subject_scale"].shape == (7000,)
  assert poses["bone_lengths"].shape == (7000, 17)
  for v in (poses["pose3d"], poses["subject_scale"], poses["bone_lengths"]):
    assert np.all(np.isfinite(v))


def test_bone_lengths_match_sampled_skeleton(poses):
  p = poses["pose3d"].astype(np.float64)
  lengths = np.linalg.norm(p[:, CHILDREN] - p[:, PARENTS], axis=-1)
  np.testing.assert_allclose(lengths, poses["bone_lengths"][:, 1:], atol=0.05)
  # Human3.6M-like averages (mm) for thigh, shin, upper arm, forearm.
  mean = lengths.mean(0)
  for joint, expected in ((2, 450), (3, 450), (12, 280), (13, 250), (8, 250)):
    assert abs(mean[joint - 1] - expected) < 0.03 * expected
  # Mirrored bones have equal length within one pose.
  np.testing.assert_allclose(lengths[:, 1], lengths[:, 4], rtol=1e-5)
  np.testing.assert_allclose(lengths[:, 11], lengths[:, 14], rtol=1e-5)


def test_subjects_share_a_skeleton():
  out = synthetic_poses.generate_poses(500, seed=3, num_subjects=2)
  assert set(np.unique(out["subject"])) == {0, 1}
  for s in (0, 1):
    bl = out["bone_lengths"][out["subject"] == s]
    np.testing.assert_allclose(bl, np.broadcast_to(bl[0], bl.shape))
  assert not np.allclose(out["bone_lengths"][out["subject"] == 0][0],
                         out["bone_lengths"][out["subject"] == 1][0])


def test_left_is_left(poses):
  b = _body_frame(poses)
  # Hips relative to the pelvis (the origin), shoulders to the thorax.
  thorax = b[:, H36M_17.index("thorax"), 0]
  assert np.all(b[:, H36M_17.index("l_hip"), 0] < -50)
  assert np.all(b[:, H36M_17.index("r_hip"), 0] > 50)
  assert np.all(b[:, H36M_17.index("l_shoulder"), 0] - thorax < -50)
  assert np.all(b[:, H36M_17.index("r_shoulder"), 0] - thorax > 50)


def test_handedness_matches_a_real_body(poses):
  # For a real person (right-handed world, Z up) the facing direction is
  # (left - right) x up, and bent knees point that way.  A mirrored body
  # would have them point backwards.
  p = poses["pose3d"].astype(np.float64)
  forward = np.cross(p[:, 4] - p[:, 1], np.array([0.0, 0.0, 1.0]))
  bent = (poses["angles"]["knee_l"] > 30) & (poses["angles"]["knee_r"] > 30)
  assert bent.sum() > 100
  for hip, knee, ankle in ((1, 2, 3), (4, 5, 6)):
    knee_out = p[bent, knee] - 0.5 * (p[bent, hip] + p[bent, ankle])
    assert np.mean(np.einsum("ni,ni->n", knee_out, forward[bent]) > 0) > 0.95


def test_feet_on_ground_and_below_head(poses):
  p = poses["pose3d"]
  np.testing.assert_allclose(np.minimum(p[:, 3, 2], p[:, 6, 2]), 0, atol=1e-3)
  upright = np.isin(poses["activity"], [synthetic_poses.ACTIVITIES.index("standing"),
                                        synthetic_poses.ACTIVITIES.index("walking")])
  assert upright.sum() > 100
  head_z = p[upright, 10, 2]
  assert np.all(head_z > p[upright, 3, 2] + 1000)
  assert np.all(head_z > p[upright, 6, 2] + 1000)


def test_knees_never_bend_backwards(poses):
  p = poses["pose3d"].astype(np.float64)
  lateral = p[:, 4] - p[:, 1]  # pelvis axis towards the subject's left
  for hip, knee, ankle in ((1, 2, 3), (4, 5, 6)):
    thigh, shin = p[:, knee] - p[:, hip], p[:, ankle] - p[:, knee]
    # Flexion turns the shin backwards about the thigh's lateral axis, so the
    # cross product points to the subject's left (positive on `lateral`).
    sign = np.einsum("ni,ni->n", np.cross(thigh, shin), lateral)
    scale = (np.linalg.norm(thigh, axis=1) * np.linalg.norm(shin, axis=1)
             * np.linalg.norm(lateral, axis=1))
    assert np.all(sign / scale > -1e-5)
  for name in ("knee_l", "knee_r", "elbow_l", "elbow_r"):
    a = poses["angles"][name]
    assert a.min() >= 0 and a.max() <= 150


def test_sitting_and_crouching_are_lower(poses):
  act = poses["activity"]
  pelvis_z = poses["pose3d"][:, 0, 2]
  stand = pelvis_z[act == synthetic_poses.ACTIVITIES.index("standing")].mean()
  for name in ("sitting", "crouching"):
    assert pelvis_z[act == synthetic_poses.ACTIVITIES.index(name)].mean() < 0.7 * stand


def test_every_activity_appears(poses):
  counts = np.bincount(poses["activity"], minlength=len(synthetic_poses.ACTIVITIES))
  assert np.all(counts > 0.5 * 7000 / len(synthetic_poses.ACTIVITIES))


def test_activity_subset_and_unknown():
  out = synthetic_poses.generate_poses(50, seed=0, activities=("walking",))
  assert np.all(out["activity"] == 0)
  with pytest.raises(ValueError, match="activities"):
    synthetic_poses.generate_poses(5, seed=0, activities=("juggling",))


def test_seeds():
  a = synthetic_poses.generate_poses(200, seed=5)
  b = synthetic_poses.generate_poses(200, seed=5)
  c = synthetic_poses.generate_poses(200, seed=6)
  for k in a:
    np.testing.assert_array_equal(a[k], b[k])
  assert not np.allclose(a["pose3d"], c["pose3d"])


def test_large_batch_runs():
  out = synthetic_poses.generate_poses(100_000, seed=1)
  assert out["pose3d"].shape == (100_000, 17, 3)


def test_lifting_dataset():
  ds = synthetic.make_lifting_dataset(300, 100, seed=0)
  assert set(ds) == {"train", "test"}
  tr, te = ds["train"], ds["test"]
  again = synthetic.make_lifting_dataset(300, 100, seed=0)["train"]
  np.testing.assert_array_equal(again["pose2d"], tr["pose2d"])
  assert tr["pose3d"].shape == (300, 17, 3) and te["pose3d"].shape == (100, 17, 3)
  assert tr["pose2d"].shape == (300, 17, 2) and tr["pose2d_px"].shape == (300, 17, 2)
  np.testing.assert_allclose(tr["pose3d"][:, 0], 0, atol=1e-6)
  np.testing.assert_allclose(tr["pose3d"], tr["pose3d_cam"] - tr["pose3d_cam"][:, :1],
                             atol=1e-3)
  # Everything in front of the camera and inside the image.
  assert np.all(tr["pose3d_cam"][..., 2] > 1000)
  assert np.all((tr["pose2d_px"] > 0) & (tr["pose2d_px"] < 1000))
  assert np.abs(tr["pose2d"]).max() < 1.0
  # The camera frame keeps bone lengths (rigid transform).
  def bones(p):
    return np.linalg.norm(p[:, CHILDREN] - p[:, PARENTS], axis=-1)
  np.testing.assert_allclose(bones(tr["pose3d_cam"]), bones(tr["pose3d_world"]),
                             atol=0.05)
  # Held-out subjects: no test scale equals a train scale.
  assert not set(np.unique(te["subject_scale"])) & set(np.unique(tr["subject_scale"]))
  assert set(np.unique(tr["camera"])) == {0, 1, 2, 3}


def test_lifting_dataset_noise():
  ds = synthetic.make_lifting_dataset(200, 20, seed=0, noise_2d=3.0)
  tr = ds["train"]
  d = tr["pose2d_px"] - tr["pose2d_px_clean"]
  assert 2.5 < d.std() < 3.5
  # Each keypoint's noise std, screen units (2 / width per pixel); exact
  # 2D has 0.
  np.testing.assert_allclose(tr["pose2d_sigma"], np.broadcast_to(
      3.0 * 2 / tr["intrinsics"][:, 4:5], (200, 17)), rtol=1e-6)
  exact = synthetic.make_lifting_dataset(20, 5, seed=0)["train"]
  np.testing.assert_array_equal(exact["pose2d_sigma"], 0.0)
  # A detector-like score per keypoint (ones for exact 2D); drawing it
  # leaves the noise as it was.
  conf = tr["pose2d_confidence"]
  assert conf.shape == (200, 17) and ((conf > 0) & (conf < 1)).all()
  np.testing.assert_array_equal(exact["pose2d_confidence"], 1.0)
  np.testing.assert_array_equal(exact["pose2d_px"], synthetic.make_lifting_dataset(
      20, 5, seed=0)["train"]["pose2d_px"])
