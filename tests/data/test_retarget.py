"""Retargeting into the body space: BVH rigs, calibration, synthetic poses.

Data-free tests use the Bandai-like test rig of test_mocap (a T-pose at zero
rotation, in body axes), hand-made rigs of one posture with other joint
axes and places (the stance calibration) and the synthetic generator; the
real-data tests stream two clips per dataset (conftest's `real_files`) and
skip without the archives, and one reads the unpacked BVH trees (skips
without them).
"""
import dataclasses

import numpy as np
import pytest

from experiments.studies import body_space_retarget
from jaxpose.data import (body_sources, bvh, data_files, mocap_cache, mocap_conversion,
                          retarget, rigs, synthetic_poses)
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
  for name in ("left_hip", "right_knee"):
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


# ----------------------------------------------------------------------------
# The stance calibration: hand-made rigs of one posture


# A rig holding every SMPL joint, each its own rotation and place.
_ALL = retarget.BodyMap("handmade", rotation={n: n for n in SMPL_22.joint_names},
                        position={n: n for n in SMPL_22.joint_names})


def _unit(*v):
  return np.array(v, np.float64) / np.linalg.norm(v)


def _handmade_rig(body_pose, root, trans, local_axes, bone_dirs):
  """World rotations and places of a rig playing body-space poses.

  Args:
    body_pose, root, trans: the posture, [F, 63], [F, 3], [F, 3] (mm).
    local_axes: [22, 3, 3], each joint's own axes in body axes at rest (A);
      a knee's and an elbow's are replaced by the bone's above (a BVH hinge
      turns about one axis of its parent's frame).
    bone_dirs: [22, 3], where the rig places each joint from its parent at
      rest, in body axes (its geometry; lengths 60 to 400 mm).
  """
  lengths = np.array([0, 90, 90, 120, 400, 400, 60, 400, 400, 60, 110, 110,
                      150, 130, 130, 80, 110, 110, 250, 250, 230, 230], np.float64)
  local_axes = np.array(local_axes)
  for hinge in ("left_knee", "right_knee", "left_elbow", "right_elbow"):
    local_axes[J(hinge)] = local_axes[SMPL_22.parents[J(hinge)]]
  local = rotations.axis_angle_to_matrix(
      np.concatenate([root[:, None], body_pose.reshape(-1, 21, 3)], 1))
  world = [local[:, 0]]
  places = [trans]
  for k in range(1, 22):
    p = SMPL_22.parents[k]
    world.append(world[p] @ local[:, k])
    places.append(places[p] + world[p] @ (lengths[k] * bone_dirs[k]))
  world = np.stack(world, 1)  # [F, 22, 3, 3] body axes -> world
  return world @ local_axes, np.stack(places, 1)  # G = W A


def _stance_and_motion(rng, n_still=12, n_move=300):
  """(standing clip, moving clip) of body-space poses: standing upright with
  arms hanging under random headings; moving with random turns of every
  joint and pure knee and elbow flexion."""
  up = rotations.axis_angle_to_matrix(np.array([np.pi / 2, 0, 0]))  # body Y -> world Z

  def roots(n):
    yaw = rng.uniform(-np.pi, np.pi, n)
    rz = rotations.axis_angle_to_matrix(np.stack([0 * yaw, 0 * yaw, yaw], -1))
    return rotations.matrix_to_axis_angle(rz @ up)

  still = np.zeros((n_still, 21, 3))
  still[:, J("left_shoulder") - 1] = [0, 0, -np.pi / 2]
  still[:, J("right_shoulder") - 1] = [0, 0, np.pi / 2]
  move = rng.normal(0, 0.35, (n_move, 21, 3))
  for side, sign in (("left", -1.0), ("right", 1.0)):
    move[:, J(f"{side}_knee") - 1] = np.outer(rng.uniform(0, 1.8, n_move), [1, 0, 0])
    move[:, J(f"{side}_elbow") - 1] = np.outer(rng.uniform(0, 1.8, n_move), [0, sign, 0])
  trans_still = np.broadcast_to([0.0, 0, 900], (n_still, 3))
  trans_move = np.stack([np.arange(n_move) * 200.0, 0 * np.arange(n_move),
                         900 + 0 * np.arange(n_move)], -1)  # 6 m/s at 30 fps
  return ((still.reshape(-1, 63), roots(n_still), trans_still),
          (move.reshape(-1, 63), roots(n_move), trans_move))


def _geometry(pitch_foot=22.0, neck_forward=0.0, hip_drop=15.6, collar_out=18.0):
  """Rest bone directions of a rig: the canonical ones, but the toes, neck,
  hips and collars placed at the given angles (degrees)."""
  d = body_space.REST_DIRECTIONS.copy()
  rad = np.radians
  for side, x in (("left", 1.0), ("right", -1.0)):
    d[J(f"{side}_foot")] = _unit(0, -np.sin(rad(pitch_foot)), np.cos(rad(pitch_foot)))
    d[J(f"{side}_hip")] = _unit(x * np.cos(rad(hip_drop)), -np.sin(rad(hip_drop)), 0)
    d[J(f"{side}_collar")] = _unit(x * np.sin(rad(collar_out)), np.cos(rad(collar_out)), 0)
  d[J("neck")] = _unit(0, np.cos(rad(neck_forward)), np.sin(rad(neck_forward)))
  d[J("head")] = _unit(0, 1, np.tan(rad(neck_forward / 2)))
  return d


def test_stance_calibration_gives_two_rigs_of_one_posture_the_same_rotations():
  """Two rigs with other joint axes and other places for the toes (35 vs
  12 degrees below the horizontal), neck (0 vs 15 degrees forward), hips and
  collars, playing the same postures: calibrated on their standing frames,
  both give back the postures exactly; turning bones to the canonical rest
  directions instead reads the second rig's ankles 23 degrees and its chest
  5 degrees off the first's."""
  rng = np.random.default_rng(0)
  clips = _stance_and_motion(rng)
  geometry = {"a": _geometry(pitch_foot=35.0),
              "b": _geometry(pitch_foot=12.0, neck_forward=15.0, hip_drop=25.0,
                             collar_out=10.0)}
  truth = np.concatenate([c[0] for c in clips]).reshape(-1, 21, 3)
  got, old = {}, {}
  for name, dirs in geometry.items():
    axes = rotations.axis_angle_to_matrix(rng.normal(0, 1.5, (22, 3)))
    made = [_handmade_rig(*c, axes, dirs) for c in clips]
    rot = np.concatenate([m[0] for m in made])
    pos = np.concatenate([m[1] for m in made])
    still = np.concatenate([retarget.standing_frames(m[1], 1 / 30) for m in made])
    np.testing.assert_array_equal(still, np.arange(len(rot)) < len(clips[0][0]))
    rest = retarget.calibrate(rot, pos, _ALL, standing=still)
    got[name] = retarget.retarget(rot, pos, _ALL, rest)["body_pose"].reshape(-1, 21, 3)
    old[name] = retarget.retarget(rot, pos, _ALL, retarget.calibrate(rot, pos, _ALL))[
        "body_pose"].reshape(-1, 21, 3)
  for name in geometry:
    np.testing.assert_allclose(got[name], truth, atol=1e-4, err_msg=name)

  def gap_deg(a, b, joint):  # median angle between two rigs' rotations
    ra, rb = (rotations.axis_angle_to_matrix(x[:, J(joint) - 1].astype(np.float64))
              for x in (a, b))
    return np.degrees(np.median(np.linalg.norm(rotations.matrix_to_axis_angle(
        np.swapaxes(ra, -1, -2) @ rb), axis=-1)))

  assert gap_deg(old["a"], old["b"], "left_ankle") > 20
  assert gap_deg(old["a"], old["b"], "spine3") > 4
  for joint in ("neck", "left_ankle", "right_collar", "spine1", "head"):
    assert gap_deg(got["a"], got["b"], joint) < 0.01, joint


def test_stance_calibration_keeps_toe_out_and_needs_standing_frames():
  """A rig whose toes point 20 degrees outward at rest keeps that as an
  ankle rotation about the vertical; no standing frame is refused."""
  rng = np.random.default_rng(1)
  clips = _stance_and_motion(rng, n_move=100)
  dirs = _geometry()
  out = np.radians(20.0)
  dirs[J("left_foot")] = _unit(np.sin(out), -0.4, np.cos(out))
  made = [_handmade_rig(*c, np.broadcast_to(np.eye(3), (22, 3, 3)), dirs) for c in clips]
  rot, pos = (np.concatenate(x) for x in zip(*made))
  still = np.arange(len(rot)) < len(clips[0][0])
  rest = retarget.calibrate(rot, pos, _ALL, standing=still)
  pose = retarget.retarget(rot[still], pos[still], _ALL, rest)["body_pose"].reshape(-1, 21, 3)
  yaw = pose[:, J("left_ankle") - 1]
  np.testing.assert_allclose(yaw[:, 1], out, atol=1e-4)  # about +Y: outward
  np.testing.assert_allclose(yaw[:, [0, 2]], 0, atol=1e-4)
  with pytest.raises(ValueError, match="no frame in a neutral stance"):
    retarget.calibrate(rot, pos, _ALL, standing=np.zeros(len(rot), bool))


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


# Bones that turn with their own joint's bone-set rest (thigh, shin, upper
# arm, forearm): FK reproduces them exactly.
_LIMB_ENDS = ("left_knee", "right_knee", "left_ankle", "right_ankle",
              "left_elbow", "right_elbow", "left_wrist", "right_wrist")


@pytest.mark.parametrize("dataset", ["bandai", "cmu"])
def test_real_rigs_keep_their_limb_directions(real_files, dataset):
  """FK of the retargeted rotations on the rig's canonical skeleton
  reproduces each limb bone (median under 1 degree); the bones of joints
  calibrated on the stance (collars, neck, toes, hips, spine) keep the
  rig's own geometry against the canonical rest directions, under 20
  degrees (the whole data: experiments/results/body_space_retarget_angles.json)."""
  medians, body = _real_angles(real_files, dataset)
  print(dataset, {k: round(v, 2) for k, v in medians.items()})
  assert len(medians) >= 19
  assert max(medians[k] for k in _LIMB_ENDS) < 1.0, medians
  assert max(medians.values()) < 20.0, medians
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
  """REST was calibrated on training clips; the joints it fixes by their
  bones and pure hinges come out the same from any clips."""
  rots, poss = zip(*[body_sources.rig_world(bvh.load_bvh(p), dataset)
                     for p in real_files[dataset]])
  rest = retarget.calibrate(np.concatenate(rots), np.concatenate(poss),
                            body_sources.BODY_MAPS[dataset])
  stored = retarget.rest_from_table(body_sources.REST[dataset])
  for name in ("left_hip", "right_knee"):
    k = J(name)
    deg = np.degrees(np.linalg.norm(rotations.matrix_to_axis_angle(stored[k].T @ rest[k])))
    assert deg < 1.0, (name, deg)


def _standing_body(paths, dataset):
  """Body poses of the standing frames of whole clips: with `REST`, and
  with the bone-direction calibration (no stance) on the same clips."""
  rots, poss, still = [], [], []
  for path in paths:
    motion, _ = rigs.drop_nonfinite(bvh.load_bvh(path))
    rot, pos = body_sources.rig_world(motion, dataset)
    rots.append(rot)
    poss.append(pos)
    still.append(retarget.standing_frames(pos, motion.frame_time))
  rot, pos, still = (np.concatenate(x) for x in (rots, poss, still))
  body_map = body_sources.BODY_MAPS[dataset]
  return {name: retarget.retarget(rot[still], pos[still], body_map, rest)["body_pose"]
          for name, rest in (("after", retarget.rest_from_table(body_sources.REST[dataset])),
                             ("before", retarget.calibrate(rot, pos, body_map)))}


def test_real_rigs_stand_alike():
  """Standing frames of Bandai's greeting clips (release 1) and CMU's
  002_04, 002_06, 002_10 read the same spine, neck and head (under 5
  degrees apart per joint; 18 degrees at the neck with bones turned to the
  canonical directions); the ankles keep CMU's toe-out.  Needs the BVH trees
  unpacked as ../shared/data/README.md says (skips without them)."""
  tree = body_space_retarget._CACHE
  bandai = tree / "dataset" / "Bandai-Namco-Research-Motiondataset-1"
  cmu = tree / "IClone-CMU-Mocap" / "All_BVH" / "subjects" / "002"
  if not (bandai.is_dir() and cmu.is_dir()):
    pytest.skip(f"the BVH trees are not unpacked under {tree}")
  greetings = ("bow", "bye", "byebye", "call", "guide")
  body = dict(
      bandai=_standing_body([p for p in data_files.find_bvh_files(bandai)
                             if p.name.split("_")[1] in greetings], "bandai"),
      cmu=_standing_body([cmu / f"002_{t}.bvh" for t in ("04", "06", "10")], "cmu"))
  gap = {}
  for which in ("before", "after"):
    ra, rb = (rotations.axis_angle_to_matrix(
        np.median(body[d][which].astype(np.float64).reshape(-1, 21, 3), axis=0))
              for d in ("bandai", "cmu"))
    deg = np.degrees(np.linalg.norm(rotations.matrix_to_axis_angle(
        np.swapaxes(ra, -1, -2) @ rb), axis=-1))
    gap[which] = dict(zip(SMPL_22.joint_names[1:], deg))
  print({k: {j: round(float(v), 1) for j, v in g.items()} for k, g in gap.items()})
  for joint in ("spine1", "spine2", "spine3", "neck", "head"):
    assert gap["after"][joint] < 5.0, (joint, gap["after"][joint])
  assert gap["before"]["neck"] > 10.0
  assert gap["after"]["left_ankle"] < gap["before"]["left_ankle"] - 10.0


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
