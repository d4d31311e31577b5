"""Retargeting into the body space: BVH rigs, calibration, synthetic poses.

Data-free tests use the Bandai-like test rig of test_mocap (a T-pose at zero
rotation, in body axes) and the synthetic generator; the real-data tests
stream two clips per dataset (conftest's `real_files`) and skip without the
archives.
"""
import dataclasses

import numpy as np
import pytest

from jaxpose.data import (body_sources, bvh, mocap_cache, mocap_conversion, retarget,
                          synthetic_poses)
from jaxpose.pose import body_space, rotations
from jaxpose.pose.skeleton import SMPL_22
from tests.data.test_mocap import make_bvh, random_frames, rest_frames

J = SMPL_22.index
# The test rig's knees and elbows bend about its local x (its zero pose is in
# body axes): every hinge, in the frame of the bone above it.
_TEST_RIG_HINGES = {"left_knee": np.array([1.0, 0, 0]), "right_knee": np.array([1.0, 0, 0]),
                    "left_elbow": np.array([0, -1.0, 0]),
                    "right_elbow": np.array([0, 1.0, 0])}


def _test_rig(frames):
  motion = bvh.parse_bvh(make_bvh(frames), source="rig.bvh")
  return body_sources.rig_world(motion, "bandai")


def _fk_angles(body, positions, lengths, body_map):
  """Per compared bone, the angle between retargeted FK and the source."""
  joints = body_space.forward_kinematics(body["body_pose"], lengths, body["root_orient"])
  pairs = body_map.bones()
  return pairs, body_space.bone_angles(joints, positions, [(b, b) for b in pairs])


def test_body_map_checks_its_joints():
  with pytest.raises(ValueError, match="neither"):
    retarget.BodyMap("x", rotation={"pelvis": "Hips"}, position={"pelvis": "Hips"})
  with pytest.raises(ValueError, match="unknown SMPL joint"):
    retarget.BodyMap("x", rotation={"hips": "Hips"}, position={})
  assert "Spine" in body_sources.BANDAI.joints()
  assert set(body_sources.CMU.joints()) >= {"CC_Base_NeckTwist01", "CC_Base_NeckTwist02"}
  # Bandai's spine1 -> spine3 bone is compared whole (spine2 has no place).
  assert (J("spine3"), J("spine1")) in body_sources.BANDAI.bones()


def test_t_pose_rig_retargets_to_zero_and_reproduces_its_bones():
  """A rig standing in the canonical T-pose at zero rotation: calibrated on
  its rest frames, its rest maps to body pose zero, and random poses keep
  every bone's direction (but for the geometry of its hips, 29 degrees
  below the pelvis where the canonical skeleton has 15.6)."""
  rot, pos = _test_rig(rest_frames(2))
  rest = retarget.calibrate(rot, pos, body_sources.BANDAI, hinges=_TEST_RIG_HINGES)
  zero = retarget.retarget(rot, pos, body_sources.BANDAI, rest)
  assert np.abs(zero["body_pose"]).max() < 0.02  # radians: the rig's own kinks
  rot, pos = _test_rig(random_frames(30, seed=1, angle=30.0))
  body = retarget.retarget(rot, pos, body_sources.BANDAI, rest)
  lengths = retarget.source_bone_lengths(pos, body_sources.BANDAI)
  pairs, ang = _fk_angles(body, pos, lengths, body_sources.BANDAI)
  for (c, p), a in zip(pairs, ang.T):
    name = SMPL_22.joint_names[c]
    if name.endswith("_hip"):
      np.testing.assert_allclose(a, np.degrees(np.arctan(5 / 9)) - 15.64, atol=0.1)
    elif name != "spine3":  # spine3's bone spans the 'mid' spine2
      assert a.max() < 1.0, (name, a.max())
  np.testing.assert_allclose(body["trans"], pos[:, 0], rtol=1e-6)
  np.testing.assert_allclose(lengths[J("left_knee")], 400, rtol=1e-6)  # 40 cm thigh
  np.testing.assert_allclose(lengths[[J("spine2"), J("spine3")]], 75, rtol=1e-6)


def test_calibration_estimates_hinges_from_motion():
  """Without hinge axes given, calibrating on synthetic motion finds the
  exact rest of the limbs (knees and elbows are pure hinges there)."""
  out = synthetic_poses.generate_poses(3000, seed=5, return_angles=True)
  local = synthetic_poses.local_rotations(synthetic_poses.clip_angles(out["angles"]), 3000)
  rot, pos = body_sources._synthetic_world(body_sources._synthetic_frames(local),
                                       out["yaw"].astype(float), out["pose3d"].astype(float))
  rest = retarget.calibrate(rot, pos, body_sources.SYNTHETIC)
  eye = np.broadcast_to(np.eye(3), (1, 17, 3, 3))
  rest_pose = synthetic_poses.forward_kinematics(eye, synthetic_poses.MEAN_BONE_LENGTHS[None])[0]
  exact = body_sources.synthetic_rest(rest_pose * [-1, 1, 1])
  for name in ("left_hip", "right_knee", "left_shoulder", "right_elbow"):
    np.testing.assert_allclose(rest[J(name)], exact[J(name)], atol=1e-3, err_msg=name)


def test_synthetic_body_space_is_exact_and_changes_nothing_else():
  n = 500
  plain = synthetic_poses.generate_poses(n, seed=2, return_angles=True)
  out = synthetic_poses.generate_poses(n, seed=2, return_angles=True, return_body_space=True)
  for key, value in plain.items():
    if key != "angles":
      np.testing.assert_array_equal(out[key], value, err_msg=key)
  assert out["body_pose"].shape == (n, 63) and out["body_bone_lengths"].shape == (n, 22)
  pose = out["body_pose"].reshape(n, 21, 3).astype(np.float64)
  deg = {k: np.radians(v) for k, v in out["angles"].items()}
  zero = np.zeros(n)
  # Knee and elbow flexion are exactly rotations about the shared hinge axes.
  np.testing.assert_allclose(pose[:, J("left_knee") - 1],
                             np.stack([deg["knee_l"], zero, zero], -1), atol=1e-5)
  np.testing.assert_allclose(pose[:, J("right_elbow") - 1],
                             np.stack([zero, deg["elbow_r"], zero], -1), atol=1e-5)
  np.testing.assert_allclose(pose[:, J("left_elbow") - 1],
                             np.stack([zero, -deg["elbow_l"], zero], -1), atol=1e-5)
  np.testing.assert_allclose(out["body_trans"], out["pose3d"][:, 0])
  # Every limb bone keeps its direction on the canonical skeleton.
  joints = body_space.forward_kinematics(
      out["body_pose"], body_space.median_bone_lengths(out["body_bone_lengths"]),
      out["body_root_orient"], out["body_trans"])
  limbs = [("left_knee", "l_knee", "left_hip", "l_hip"),
           ("right_ankle", "r_ankle", "right_knee", "r_knee"),
           ("left_elbow", "l_elbow", "left_shoulder", "l_shoulder"),
           ("right_wrist", "r_wrist", "right_elbow", "r_elbow")]
  from jaxpose.pose.skeleton import H36M_17
  ang = body_space.bone_angles(joints, out["pose3d"], [
      ((J(c), J(p)), (H36M_17.index(hc), H36M_17.index(hp))) for c, hc, p, hp in limbs])
  assert ang.max() < 0.01


def _real_angles(real_files, dataset):
  table = {}
  for path in real_files[dataset]:
    motion = bvh.load_bvh(path)
    body = body_sources.to_body_space(motion, dataset)
    _, pos = body_sources.rig_world(motion, dataset)
    body_map = body_sources.BODY_MAPS[dataset]
    pairs, ang = _fk_angles(body, pos, body["bone_lengths"], body_map)
    for (c, _), a in zip(pairs, ang.T):
      table.setdefault(SMPL_22.joint_names[c], []).append(a)
  return {k: float(np.median(np.concatenate(v))) for k, v in table.items()}, body


@pytest.mark.parametrize("dataset", ["bandai", "cmu"])
def test_real_rigs_keep_their_bone_directions(real_files, dataset):
  """FK of the retargeted rotations on the rig's canonical skeleton
  reproduces each rig bone: median angle under 5 degrees per joint (the
  whole data: experiments/results/body_space_retarget_angles.json)."""
  medians, body = _real_angles(real_files, dataset)
  print(dataset, {k: round(v, 2) for k, v in medians.items()})
  assert len(medians) >= 19
  assert max(medians.values()) < 5.0, medians
  assert np.isfinite(body["body_pose"]).all() and body["body_pose"].dtype == np.float32


@pytest.mark.parametrize("dataset", ["bandai", "cmu"])
def test_real_knees_flex_about_the_shared_hinge(real_files, dataset):
  poses = np.concatenate([body_sources.to_body_space(bvh.load_bvh(p), dataset)["body_pose"]
                          for p in real_files[dataset]]).reshape(-1, 21, 3)
  for side in ("left", "right"):
    rv = poses[:, J(f"{side}_knee") - 1].astype(np.float64)
    angle = np.linalg.norm(rv, axis=-1)
    flexed = angle > np.radians(15)
    assert flexed.sum() > 10
    share = rv[flexed] @ body_space.HINGE_AXES[f"{side}_knee"][1] / angle[flexed]
    assert np.median(share) > 0.95


@pytest.mark.parametrize("dataset", ["bandai", "cmu"])
def test_stored_rest_matches_calibration_on_other_clips(real_files, dataset):
  """REST was calibrated on training clips; the joints it fixes by rig
  geometry and pure hinges come out the same from any clips."""
  rots, poss = zip(*[body_sources.rig_world(bvh.load_bvh(p), dataset)
                     for p in real_files[dataset]])
  rest = retarget.calibrate(np.concatenate(rots), np.concatenate(poss),
                            body_sources.BODY_MAPS[dataset])
  stored = retarget.rest_from_table(body_sources.REST[dataset])
  for name in ("pelvis", "spine3", "left_hip", "right_knee"):
    k = J(name)
    deg = np.degrees(np.linalg.norm(rotations.matrix_to_axis_angle(stored[k].T @ rest[k])))
    assert deg < 1.0, (name, deg)


def test_convert_clip_carries_the_body_space(real_files):
  path = real_files["cmu"][0]
  clip = mocap_conversion.convert_clip(bvh.load_bvh(path), "cmu", stride=3,
                            body_fn=body_sources.clip_body_space)
  motion = bvh.load_bvh(path)
  motion = dataclasses.replace(motion, motion=motion.motion[clip.frame])
  direct = body_sources.to_body_space(motion, "cmu")
  assert clip.body["body_pose"].shape == (len(clip.frame), 63)
  for key in ("body_pose", "root_orient", "trans", "bone_lengths"):
    np.testing.assert_allclose(clip.body[key], direct[key], atol=1e-5)


def test_prepared_cache_holds_the_body_space(real_files, tmp_path):
  files = real_files["bandai"]
  arrays, summary = mocap_conversion.convert_tree("bandai", files[0].parents[3], files=files,
                                           stride=2, workers=1, progress=False)
  assert not summary["warnings"]
  mocap_cache.save_cache(tmp_path / "bandai.npz", arrays)
  cache = mocap_cache.load_cache(tmp_path / "bandai.npz")
  n = len(cache["pose17"])
  assert cache["body_pose"].shape == (n, 63) and cache["body_root_orient"].shape == (n, 3)
  np.testing.assert_array_equal(cache["body_trans"], cache["trans"])  # both the pelvis
  assert cache["body_bone_lengths"].shape == (len(files), 22)
  # The old keys are all still there.
  assert {"rotvec", "root_orient", "trans", "rest_offsets", "body_names"} <= set(cache)
