"""The BVH writer: files read back by jaxpose's own reader reproduce the input."""
from __future__ import annotations

import os

import numpy as np
import pytest

from jaxpose.data import bvh, bvh_export, synthetic_poses
from jaxpose.pose import body_space, cameras, kinematics, rotations
from jaxpose.pose.skeleton import H36M_17, SMPL_22, Skeleton

# Bone lengths (mm) of a mean adult, as in the synthetic generator.
LENGTHS = synthetic_poses.MEAN_BONE_LENGTHS
NAMES = H36M_17.joint_names


def _rigid_motion(rng, num_frames, rest_directions=bvh_export.H36M_17_REST_DIRECTIONS,
                  lengths=LENGTHS, skeleton=H36M_17, spread=1.0):
  """Joints [T, J, 3] in the BVH world (mm) from forward kinematics of random
  rotations of a rigid skeleton, and the pelvis wandering a few metres.

  The writer's rigid body: every rotation random but the thorax's, which
  only twists about its own bone (its shoulders and neck move with the
  trunk, the writer's rule for a fan below the root)."""
  offsets = lengths[:, None] * rest_directions
  rotvec = spread * rng.normal(size=(num_frames, skeleton.num_joints, 3))
  if skeleton == H36M_17:
    thorax = NAMES.index("thorax")
    rotvec[:, thorax] = rest_directions[thorax] * rng.normal(size=(num_frames, 1))
  local = rotations.axis_angle_to_matrix(rotvec)
  _, joints = kinematics.forward_kinematics(local, offsets, skeleton.parents)
  return joints + rng.uniform(-2000, 2000, (num_frames, 1, 3))


def _to_input(world_mm, up):
  """BVH-world mm -> the input axes that `up` names (the inverse conversion)."""
  return world_mm @ bvh_export.AXIS_CONVERSIONS[up]


def _read_back(path):
  motion = bvh.load_bvh(path)
  return motion, bvh.forward_kinematics(motion)


def _channels(motion, frame, joint):
  """{channel name: value} of one joint in one frame."""
  sk = motion.skeleton
  j = sk.index(joint)
  start = sk.channel_starts[j]
  return {c: motion.motion[frame, start + k] for k, c in enumerate(sk.channels[j])}


@pytest.mark.parametrize("up, units, euler_order", [
    ("-y", "cm", None), ("+z", "mm", None), ("+x", "m", None), ("-z", "cm", "ZXY"),
    ("+y", "cm", "XYZ")])
def test_round_trip_reproduces_rigid_motion(tmp_path, up, units, euler_order):
  rng = np.random.default_rng(0)
  # Random rest directions: a hip and shoulder geometry unlike the T-pose's.
  rest = rng.normal(size=(17, 3))
  rest /= np.linalg.norm(rest, axis=-1, keepdims=True)
  world = _rigid_motion(rng, 40, rest_directions=rest)
  path = bvh_export.write_bvh(tmp_path / "take.bvh", _to_input(world, up), fps=25.0,
                              up=up, units=units, euler_order=euler_order)
  assert path == os.fspath(tmp_path / "take.bvh")
  motion, fk = _read_back(path)
  assert motion.skeleton.names == NAMES and motion.num_frames == 40
  assert motion.fps == pytest.approx(25.0)
  scale = bvh_export.MM_PER_UNIT[units]
  np.testing.assert_allclose(fk * scale, world, atol=1e-3)
  lengths = np.linalg.norm(motion.skeleton.offsets, axis=-1) * scale
  np.testing.assert_allclose(lengths[1:], LENGTHS[1:], rtol=1e-7)
  assert os.listdir(tmp_path) == ["take.bvh"]  # no temporary file left


def test_hierarchy_text(tmp_path):
  world = _rigid_motion(np.random.default_rng(1), 2)
  path = bvh_export.write_bvh(tmp_path / "a.bvh", _to_input(world, "-y"))
  text = open(path).read()
  lines = [line.strip() for line in text.splitlines()]
  assert lines[:3] == ["HIERARCHY", "ROOT pelvis", "{"]
  joints = [line.split()[1] for line in lines if line.startswith(("ROOT", "JOINT"))]
  assert tuple(joints) == NAMES
  assert lines[4] == ("CHANNELS 6 Xposition Yposition Zposition "
                      "Yrotation Zrotation Xrotation")
  channel_lines = [line for line in lines if line.startswith("CHANNELS")]
  assert len(channel_lines) == 17
  # Legs and spine (bones along Y) put Y in the middle, arms (along X) X.
  along_y, along_x = "Zrotation Yrotation Xrotation", "Zrotation Xrotation Yrotation"
  assert channel_lines[NAMES.index("r_knee")] == "CHANNELS 3 " + along_y
  assert channel_lines[NAMES.index("l_elbow")] == "CHANNELS 3 " + along_x
  # The thorax only twists about its own (vertical) bone: Y first.
  assert channel_lines[NAMES.index("thorax")] == "CHANNELS 3 Yrotation Zrotation Xrotation"
  assert lines.count("End Site") == 5  # ankles, head, wrists
  assert text.count("{") == text.count("}") == 17 + 5
  motion_at = lines.index("MOTION")
  assert lines[motion_at + 1:motion_at + 3] == ["Frames: 2", "Frame Time: 0.03333333333"]
  rows = lines[motion_at + 3:]
  assert len(rows) == 2 and all(len(row.split()) == 6 + 16 * 3 for row in rows)
  assert text.endswith("\n") and "-0.000000" not in text


def _t_pose_cm():
  """H36M_17's T-pose in the BVH world, cm, pelvis at the origin."""
  offsets = LENGTHS[:, None] * bvh_export.H36M_17_REST_DIRECTIONS / 10.0
  eye = np.broadcast_to(np.eye(3), (17, 3, 3))
  _, joints = kinematics.forward_kinematics(eye, offsets, H36M_17.parents)
  return joints


def test_knee_and_elbow_bent_90_degrees_by_hand(tmp_path):
  t_pose = _t_pose_cm()
  bent = t_pose.copy()
  knee, ankle = NAMES.index("r_knee"), NAMES.index("r_ankle")
  bent[ankle] = bent[knee] + [0, 0, -45.0]  # shin straight back
  elbow, wrist = NAMES.index("l_elbow"), NAMES.index("l_wrist")
  bent[wrist] = bent[elbow] + [0, 0, 25.0]  # forearm straight forward
  world = np.stack([t_pose, bent]) + [[[5.0, 90.0, -300.0]]]  # cm
  path = bvh_export.write_bvh(tmp_path / "bend.bvh", _to_input(world * 10.0, "-y"))
  motion, fk = _read_back(path)
  np.testing.assert_allclose(fk, world, atol=1e-4)
  rotation = lambda frame, joint: {c: round(v, 6) for c, v in
                                   _channels(motion, frame, joint).items()
                                   if c.endswith("rotation")}
  for joint in NAMES:  # the T-pose is the rest: every angle 0
    assert all(v == 0 for v in rotation(0, joint).values()), joint
  # The knee flexes about +X; the left elbow about -Y (forearm forward).
  assert rotation(1, "r_knee") == {"Zrotation": 0, "Yrotation": 0, "Xrotation": 90}
  assert rotation(1, "l_elbow") == {"Zrotation": 0, "Xrotation": 0, "Yrotation": -90}
  for joint in set(NAMES) - {"r_knee", "l_elbow"}:
    assert all(v == 0 for v in rotation(1, joint).values()), joint
  # Forced ZXY puts the knee's flexion in the middle: exactly gimbal lock.
  locked = bvh_export.write_bvh(tmp_path / "zxy.bvh", _to_input(world * 10.0, "-y"),
                                euler_order="ZXY")
  np.testing.assert_allclose(_read_back(locked)[1], world, atol=1e-4)


def test_root_trajectory(tmp_path):
  rng = np.random.default_rng(2)
  world = _rigid_motion(rng, 30, spread=0.3)
  world += np.linspace(0, 3000, 30)[:, None, None] * np.array([1.0, 0.1, -0.5])
  jaxpose_world = _to_input(world, "+z").astype(np.float32)  # as lifted output
  path = bvh_export.write_bvh(tmp_path / "walk.bvh", jaxpose_world, up="+z")
  motion, fk = _read_back(path)
  np.testing.assert_array_equal(motion.skeleton.offsets[0], [0, 0, 0])
  root = np.array([[v for c, v in _channels(motion, f, "pelvis").items()
                    if c.endswith("position")] for f in range(30)])
  x, y, z = np.moveaxis(jaxpose_world[:, 0], -1, 0)
  np.testing.assert_allclose(root, np.stack([x, z, -y], -1) / 10.0, atol=1e-6)
  np.testing.assert_allclose(fk[:, 0], root, atol=1e-6)


@pytest.mark.parametrize("activity", ["walking", "bending"])
def test_synthetic_clip_seen_by_a_camera(tmp_path, activity):
  clip = synthetic_poses.generate_clips(1, 90, seed=3, activities=(activity,),
                                        yaw_rate_deg_per_s=60.0)
  cam = cameras.virtual_cameras(1)[0]
  world = clip["pose3d"].astype(np.float64)  # mm, Z up
  camera_frame = (world - np.asarray(cam.t, np.float64)) @ np.asarray(cam.R, np.float64).T
  path = bvh_export.write_bvh(tmp_path / "clip.bvh", camera_frame, fps=30.0)
  motion, fk = _read_back(path)
  error = np.linalg.norm(_to_input(fk * 10.0, "-y") - camera_frame, axis=-1)  # mm
  # The generator bends its torso fans (lower back sideways, the nose with
  # the head), which a rigid BVH joint cannot: the hips and legs, and the
  # neck and head, are off by a few mm; the pelvis, spine, thorax and arms
  # are exact, as is every bone's direction below a one-child joint.
  fan_children = [NAMES.index(n) for n in ("r_hip", "r_knee", "r_ankle", "l_hip",
                                           "l_knee", "l_ankle", "neck", "head")]
  exact = [j for j in range(17) if j not in fan_children]
  assert error[:, exact].max() < 1e-3
  assert error.max() < 30.0 and error.mean() < 5.0
  parent = [max(p, 0) for p in H36M_17.parents]
  bones_in = camera_frame - camera_frame[:, parent]
  bones_out = _to_input(fk - fk[:, parent], "-y")
  for j in (2, 3, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16):
    norms = np.linalg.norm(bones_in[:, j], axis=-1) * np.linalg.norm(bones_out[:, j], axis=-1)
    cos = np.sum(bones_in[:, j] * bones_out[:, j], -1) / norms
    assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() < 1e-4, NAMES[j]
  # Y is up in the BVH world: the head is well above the feet.
  feet = np.maximum(fk[:, NAMES.index("r_ankle"), 1], fk[:, NAMES.index("l_ankle"), 1])
  assert np.all(fk[:, NAMES.index("head"), 1] > feet + 40)
  # Smooth curves: no channel jumps between frames, no joint near gimbal
  # lock (every non-root joint's middle angle far from 90).
  angles = motion.motion[:, 3:]
  assert np.abs(np.diff(angles, axis=0)).max() < 20.0
  assert np.abs(motion.motion[:, 7::3]).max() < 60.0


def test_non_rigid_input_gets_median_lengths_and_exact_directions():
  rng = np.random.default_rng(4)
  world = _rigid_motion(rng, 25)
  # Stretch the limbs and the head (bones ending in a single-child chain)
  # frame by frame; the fans (pelvis, thorax) stay rigid.
  stretched = world.copy()
  for j in (2, 3, 5, 6, 10, 12, 13, 15, 16):
    factor = rng.uniform(0.8, 1.2, (25, 1))
    p = H36M_17.parents[j]
    below = [k for k in range(17) if _descends(k, j)]
    shift = (factor - 1.0) * (stretched[:, j] - stretched[:, p])
    stretched[:, below] += shift[:, None]
  motion = bvh_export.motion_from_joints(_to_input(stretched, "-y"), units="mm")
  bones = stretched - stretched[:, [max(p, 0) for p in H36M_17.parents]]
  lengths = np.linalg.norm(bones, axis=-1)
  np.testing.assert_allclose(np.linalg.norm(motion.skeleton.offsets, axis=-1)[1:],
                             np.median(lengths, axis=0)[1:], rtol=1e-12)
  fk = bvh.forward_kinematics(motion)
  fk_bones = fk - fk[:, [max(p, 0) for p in H36M_17.parents]]
  cos = np.sum(fk_bones[:, 1:] * bones[:, 1:], -1) / (
      np.linalg.norm(fk_bones[:, 1:], axis=-1) * lengths[:, 1:])
  assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() < 1e-4


def _descends(k, j):
  while k >= 0:
    if k == j:
      return True
    k = H36M_17.parents[k]
  return False


def test_smpl_22_written_depth_first(tmp_path):
  rng = np.random.default_rng(5)
  body_pose = 0.4 * rng.normal(size=(10, 21, 3))
  spine3 = SMPL_22.index("spine3")  # a fan below the root: twist only
  body_pose[:, spine3 - 1] = body_space.REST_DIRECTIONS[spine3] * rng.normal(size=(10, 1))
  joints = body_space.forward_kinematics(
      body_pose.reshape(10, 63), rng.uniform(80, 400, 22),
      root_orient=rng.normal(size=(10, 3)), trans=rng.normal(size=(10, 3)) * 500)
  path = bvh_export.write_bvh(tmp_path / "smpl.bvh", joints, skeleton=SMPL_22, up="+y")
  motion, fk = _read_back(path)
  assert motion.skeleton.names[:5] == ("pelvis", "left_hip", "left_knee", "left_ankle",
                                       "left_foot")
  by_name = fk[:, [motion.skeleton.index(n) for n in SMPL_22.joint_names]]
  np.testing.assert_allclose(by_name * 10.0, joints, atol=1e-3)


def test_custom_skeleton_uses_least_squares_frames(tmp_path):
  # A root with two unpaired children: no fan, so the Wahba frame.
  tripod = Skeleton(name="tripod", joint_names=("base", "arm", "hand", "pole"),
                    parents=(-1, 0, 1, 0), left=(), right=(),
                    parts={"all": (0, 1, 2, 3)})
  rest = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 1]], np.float64)
  rest[1:] /= np.linalg.norm(rest[1:], axis=-1, keepdims=True)
  world = _rigid_motion(np.random.default_rng(6), 12, rest_directions=rest,
                        lengths=np.array([0, 300.0, 200, 500]), skeleton=tripod)
  with pytest.raises(ValueError, match="rest_directions: skeleton 'tripod' has no"):
    bvh_export.write_bvh(tmp_path / "t.bvh", world, skeleton=tripod, up="+y")
  path = bvh_export.write_bvh(tmp_path / "t.bvh", world, skeleton=tripod, up="+y",
                              rest_directions=rest)
  np.testing.assert_allclose(_read_back(path)[1] * 10.0, world, atol=1e-3)


def test_swing_is_body_space_shortest_arc():
  rng = np.random.default_rng(7)
  rest = rng.normal(size=3)
  rest /= np.linalg.norm(rest)
  targets = rng.normal(size=(20, 3))
  targets /= np.linalg.norm(targets, axis=-1, keepdims=True)
  expected = np.stack([body_space.shortest_arc(rest, t) for t in targets])
  np.testing.assert_allclose(bvh_export.swing(rest, targets), expected, atol=1e-12)
  # Opposite directions: some half turn, still taking rest to the target.
  half_turn = bvh_export.swing(rest, -rest[None])[0]
  np.testing.assert_allclose(half_turn @ rest, -rest, atol=1e-12)
  np.testing.assert_allclose(half_turn @ half_turn.T, np.eye(3), atol=1e-12)


def test_euler_angles_reproduce_matrices_at_gimbal_lock():
  rng = np.random.default_rng(8)
  angles = rng.uniform(-180, 180, (200, 3))
  angles[:, 1] = rng.choice([90.0, -90.0], 200)
  # Conjugating leaves rounding noise where the lock expects exact zeros.
  q = rotations.axis_angle_to_matrix(rng.normal(size=(200, 3)))
  qt = np.swapaxes(q, -1, -2)
  matrix = q @ (qt @ rotations.euler_to_matrix(angles, "ZXY", degrees=True) @ q) @ qt
  fixed = bvh_export.euler_angles(matrix, "ZXY")
  np.testing.assert_allclose(rotations.euler_to_matrix(fixed, "ZXY", degrees=True),
                             matrix, atol=1e-6)


CHAIN = """HIERARCHY
ROOT root
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT a
  {
    OFFSET 1 0 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 2 0
    }
  }
  JOINT b
  {
    OFFSET 0 0 1
    CHANNELS 1 Yrotation
  }
}
MOTION
Frames: 2
Frame Time: 0.5
0 0 0 0 0 0 0 0 0 0
10 20 30 90 0 0 0 90 0 45
"""


def test_format_bvh_round_trips_a_parsed_file():
  parsed = bvh.parse_bvh(CHAIN)
  again = bvh.parse_bvh(bvh_export.format_bvh(parsed))
  assert again.skeleton.names == parsed.skeleton.names
  assert again.skeleton.channels == parsed.skeleton.channels
  assert again.skeleton.end_site_parents == (1,)
  np.testing.assert_array_equal(again.motion, parsed.motion)
  assert again.frame_time == 0.5


def _valid(num_frames=3):
  return _to_input(_rigid_motion(np.random.default_rng(9), num_frames), "-y")


def _with(index, value, num_frames=6):
  joints = _valid(num_frames)
  joints[index] = value
  return joints


def _collapsed_bone():
  joints = _valid(6)
  joints[4, NAMES.index("l_knee")] = joints[4, NAMES.index("l_hip")]
  return joints


def _flat_pelvis():
  joints = _valid(6)
  # Frame 2: the hips on the spine's line.
  spine = joints[2, 7] - joints[2, 0]
  joints[2, 1], joints[2, 4] = joints[2, 0] - 0.5 * spine, joints[2, 0] - spine
  return joints


@pytest.mark.parametrize("joints, kwargs, message", [
    (np.zeros((5, 16, 3)), {}, r"joints_mm: expected shape \(T, 17, 3\).*\(5, 16, 3\)"),
    (np.zeros((17, 3)), {}, r"expected shape \(T, 17, 3\)"),
    (np.zeros((5, 17, 2)), {}, r"expected shape"),
    (np.zeros((0, 17, 3)), {}, r"no frames \(T == 0\)"),
    (_with((3, 5, 1), np.nan), {}, r"frame 3 holds NaN or inf \(joint l_knee\)"),
    (_with((4, 0, 2), np.inf), {}, r"frame 4 holds NaN or inf \(joint pelvis\)"),
    (_collapsed_bone(), {}, r"frame 4: bone l_hip -> l_knee is 0 mm long"),
    (_flat_pelvis(), {}, r"frame 2: bone pelvis -> spine is parallel to the line "
                         r"r_hip -> l_hip"),
    (_valid(), dict(fps=0), r"fps: expected a positive number"),
    (_valid(), dict(fps=float("nan")), r"fps"),
    (_valid(), dict(up="y"), r"up: expected one of"),
    (_valid(), dict(units="inch"), r"units: expected one of"),
    (_valid(), dict(euler_order="ZZX"), r"euler_order: expected three distinct axes"),
    (_valid(), dict(rest_directions=np.ones((16, 3))), r"rest_directions: expected"),
    (_valid(), dict(rest_directions=np.zeros((17, 3))), r"zero rows for joints"),
])
def test_bad_input_is_refused_and_nothing_written(tmp_path, joints, kwargs, message):
  path = tmp_path / "old.bvh"
  path.write_text("previous")
  with pytest.raises(ValueError, match=message):
    bvh_export.write_bvh(path, joints, **kwargs)
  assert path.read_text() == "previous" and os.listdir(tmp_path) == ["old.bvh"]


def test_unwritable_names_and_wrong_skeleton_type():
  spaced = Skeleton(name="s", joint_names=("root", "left arm"), parents=(-1, 0),
                    left=(), right=(), parts={"all": (0, 1)})
  with pytest.raises(ValueError, match="joint name 'left arm' cannot be written"):
    bvh_export.motion_from_joints(np.ones((2, 2, 3)), skeleton=spaced,
                                  rest_directions=np.eye(3)[:2])
  with pytest.raises(TypeError, match="skeleton: expected a jaxpose"):
    bvh_export.motion_from_joints(_valid(), skeleton="h36m_17")


def test_existing_file_is_replaced(tmp_path):
  path = tmp_path / "take.bvh"
  path.write_text("old")
  bvh_export.write_bvh(path, _valid(2))
  assert path.read_text().startswith("HIERARCHY\nROOT pelvis\n")
