"""Every pose source in the body space: Bandai and CMU BVH rigs, synthetic poses.

The method (global-orientation deltas against a calibrated rest pose) is
`jaxpose.data.retarget`'s; this module holds each source's `BodyMap`, the
rigs' calibrated rest poses (`REST`) and the readers: `to_body_space` for a
BVH clip (what experiments/prepare.py stores), `from_synthetic` for the
generator's poses.

Rigs (`BodyMap`): which rig joint gives each SMPL joint its rotation and
which its place (for bone lengths and the bone-direction check), and how
joints a rig lacks are filled:

  SMPL joint           Bandai         CMU (CC rig, CC_Base_ dropped)
  pelvis               Hips           Hip
  left/right_hip       UpperLeg_L/R   L/R_Thigh (under the static Pelvis)
  left/right_knee      LowerLeg_L/R   L/R_Calf
  left/right_ankle     Foot_L/R       L/R_Foot
  left/right_foot      Toes_L/R       L/R_ToeBase
  spine1               Spine          Waist
  spine2               lacking: mid   Spine01 (rotation only)
  spine3               Chest          Spine02
  neck                 Neck           NeckTwist01 (place); rotation halfway
                                      between NeckTwist01's and 02's
  head                 Head           Head
  left/right_collar    Shoulder_L/R   L/R_Clavicle
  left/right_shoulder  UpperArm_L/R   L/R_Upperarm
  left/right_elbow     LowerArm_L/R   L/R_Forearm
  left/right_wrist     Hand_L/R       L/R_Hand

* spine2: Bandai has one joint (Spine) where SMPL has two; spine2 is filled
  by 'mid', the rotation halfway between spine1's and spine3's, so the
  Chest's turn relative to the Spine is split evenly over spine2 and
  spine3.  CMU's Spine01 sits 5 cm above the Waist, with the rig's lumbar
  curve bent about 50 degrees there; so in neither rig has spine2 a place:
  spine1 and spine2 aim along the chord from spine1 to spine3, the bone
  spine1 -> spine3 is compared whole and its length is shared evenly (an
  upright spine then has small spine rotations in both rigs).
* neck (CMU): two joints 4 cm apart, the second nodding up to 40 degrees;
  the bone from the first to the head bends between them, and the rotation
  halfway between theirs follows its chord (the head keeps the rest of the
  second's nod).
* Bandai's Head and CMU's head carry a rotation but no bone in the 22-joint
  tree (nor do feet and wrists): SMPL's leaves.
* The synthetic skeleton (Human3.6M 17, `SYNTHETIC`) lacks feet, collars
  turning apart from the chest, hands and a head turning apart from the
  neck: those joints keep their parent's rotation ('parent'); spine1 is
  'mid' between the pelvis and the lower back.

Rest poses (`REST`) are calibrated as `jaxpose.data.retarget` says, so a
neutral stance reads the same in both rigs; what differs between them is
posture the joint places show too (CMU's performers stand toes out,
Bandai's character holds its arms further from the body).
"""
from __future__ import annotations

import numpy as np

from jaxpose.checks import check_array
from jaxpose.data import bvh as bvh_lib
from jaxpose.data import rigs
from jaxpose.data import retarget
from jaxpose.data.retarget import NAMES, BodyMap
from jaxpose.pose import body_space
from jaxpose.pose.skeleton import H36M_17

# ----------------------------------------------------------------------------
# Maps


def _lr(pattern: str, smpl: str) -> dict:
  """{'left_x': pattern with L, 'right_x': with R} (`{}` marks the side)."""
  return {f"left_{smpl}": pattern.format("L"), f"right_{smpl}": pattern.format("R")}


_BANDAI_JOINTS = dict(
    pelvis="Hips", spine1="Spine", spine3="Chest", neck="Neck", head="Head",
    **_lr("UpperLeg_{}", "hip"), **_lr("LowerLeg_{}", "knee"),
    **_lr("Foot_{}", "ankle"), **_lr("Toes_{}", "foot"),
    **_lr("Shoulder_{}", "collar"), **_lr("UpperArm_{}", "shoulder"),
    **_lr("LowerArm_{}", "elbow"), **_lr("Hand_{}", "wrist"))
# spine2 has no place (see the module docstring).
_place = lambda joints: {k: v for k, v in joints.items() if k != "spine2"}
BANDAI = BodyMap(name="bandai", rotation=_BANDAI_JOINTS,
                 position=_place(_BANDAI_JOINTS), fill={"spine2": "mid"})

_CMU_JOINTS = {k: "CC_Base_" + v for k, v in dict(
    pelvis="Hip", spine1="Waist", spine2="Spine01", spine3="Spine02",
    neck="NeckTwist01", head="Head",
    **_lr("{}_Thigh", "hip"), **_lr("{}_Calf", "knee"), **_lr("{}_Foot", "ankle"),
    **_lr("{}_ToeBase", "foot"), **_lr("{}_Clavicle", "collar"),
    **_lr("{}_Upperarm", "shoulder"), **_lr("{}_Forearm", "elbow"),
    **_lr("{}_Hand", "wrist")).items()}
CMU = BodyMap(
    name="cmu", position=_place(_CMU_JOINTS),
    rotation=dict(_CMU_JOINTS, neck=("CC_Base_NeckTwist01", "CC_Base_NeckTwist02")))

# The synthetic generator's Human3.6M 17 joints; each names the frame of the
# bone ending at it (synthetic_poses.forward_kinematics' convention), so
# 'l_knee' is the left thigh.
SYNTHETIC = BodyMap(
    name="synthetic",
    rotation=dict(pelvis="pelvis", left_hip="l_knee", right_hip="r_knee",
                  left_knee="l_ankle", right_knee="r_ankle", spine2="spine",
                  spine3="thorax", neck="neck", left_collar="l_shoulder",
                  right_collar="r_shoulder", left_shoulder="l_elbow",
                  right_shoulder="r_elbow", left_elbow="l_wrist",
                  right_elbow="r_wrist"),
    position=dict(pelvis="pelvis", left_hip="l_hip", right_hip="r_hip",
                  left_knee="l_knee", right_knee="r_knee", left_ankle="l_ankle",
                  right_ankle="r_ankle", spine3="spine", neck="thorax",
                  head="neck", left_collar="thorax", right_collar="thorax",
                  left_shoulder="l_shoulder", right_shoulder="r_shoulder",
                  left_elbow="l_elbow", right_elbow="r_elbow",
                  left_wrist="l_wrist", right_wrist="r_wrist"),
    fill=dict(spine1="mid", left_ankle="parent", right_ankle="parent",
              left_foot="parent", right_foot="parent", head="parent",
              left_wrist="parent", right_wrist="parent"),
)

BODY_MAPS = {"bandai": BANDAI, "cmu": CMU, "synthetic": SYNTHETIC}


# ----------------------------------------------------------------------------
# BVH rigs


def rig_world(motion: bvh_lib.BvhMotion, rig, body_map: BodyMap | None = None,
              world=None):
  """World rotations and places of a BVH clip's SMPL joints, jaxpose world.

  Args:
    motion: a parsed clip (finite channels).
    rig: 'bandai', 'cmu' or a `rigs.RigSpec`.
    body_map: defaults to the rig's.
    world: optional (world_r, world_p) of `bvh.world_transforms` for this
      motion, to reuse one FK pass.

  Returns:
    (world_rot [F, 22, 3, 3], positions [F, 22, 3] mm, NaN where no place).
  """
  rig = rigs.get_rig(rig)
  body_map = BODY_MAPS[rig.name] if body_map is None else body_map
  sk = motion.skeleton
  missing = [n for n in body_map.joints() if n not in sk.names]
  if missing:
    raise KeyError(f"{motion.source}: the body map {body_map.name!r} needs "
                   f"joint(s) {missing} which the file does not have")
  if world is None:
    world = bvh_lib.world_transforms(motion, position_mode=rig.position_mode)
  world_r, world_p = world
  to_z = rigs.to_z_up(rig)
  f = world_r.shape[0]
  rot = np.broadcast_to(np.eye(3), (f, 22, 3, 3)).copy()
  pos = np.full((f, 22, 3), np.nan)
  for name, joint in body_map.rotation.items():
    if isinstance(joint, str):
      rot[:, NAMES.index(name)] = to_z @ world_r[:, sk.index(joint)]
    else:
      a, b = (world_r[:, sk.index(j)] for j in joint)
      rot[:, NAMES.index(name)] = to_z @ body_space.geodesic_midpoint(a, b)
  for name, joint in body_map.position.items():
    pos[:, NAMES.index(name)] = world_p[:, sk.index(joint)] @ to_z.T * rig.unit_to_mm
  return rot, pos


def can_retarget(skeleton: bvh_lib.BvhSkeleton, rig) -> bool:
  """Whether `to_body_space` knows the rig and the file has every joint it reads."""
  rig = rigs.get_rig(rig)
  return rig.name in REST and all(n in skeleton.names
                                  for n in BODY_MAPS[rig.name].joints())


def clip_body_space(motion: bvh_lib.BvhMotion, rig, world) -> dict | None:
  """`to_body_space`, or None where `can_retarget` is false (the `body_fn`
  of `mocap_conversion.convert_clip`)."""
  if not can_retarget(motion.skeleton, rig):
    return None
  return to_body_space(motion, rig, world=world)


def to_body_space(motion: bvh_lib.BvhMotion, rig, *, world=None) -> dict:
  """A BVH clip in the body space (what experiments/prepare.py stores).

  Returns:
    dict(body_pose float32 [F, 63], root_orient [F, 3], trans [F, 3] (the
    pelvis, mm, jaxpose world), bone_lengths float32 [22] (this rig's, mm)).
  """
  rig = rigs.get_rig(rig)
  if rig.name not in REST:
    raise ValueError(f"rig: no body map or rest pose for {rig.name!r}; known: "
                     f"{sorted(REST)}")
  body_map = BODY_MAPS[rig.name]
  rot, pos = rig_world(motion, rig, body_map, world)
  out = retarget.retarget(rot, pos, body_map, retarget.rest_from_table(REST[rig.name]))
  out["bone_lengths"] = retarget.source_bone_lengths(pos, body_map)
  return out


# Rest rotations (axis-angle, rig local axes -> body axes) from `retarget.calibrate`
# with each clip's standing frames (`retarget.standing_frames`) on training
# clips: CMU subjects 001, 002, 003, 006 and every 10th Bandai clip of both
# releases, every frame (experiments/studies/body_space_retarget.py --calibrate
# prints this table).  NaN: a filled joint.
REST: dict[str, np.ndarray] = {
    'bandai': np.array([
        [-0.0401, 0.0413, 1.5373],  # pelvis
        [-0.0000, 0.0000, -1.5708],  # left_hip
        [-2.2209, -2.2210, -0.0012],  # right_hip
        [1.2225, 1.1862, 1.2097],  # spine1
        [0.0011, -0.0011, -1.5708],  # left_knee
        [-2.2213, -2.2213, 0.0003],  # right_knee
        [np.nan, np.nan, np.nan],  # spine2
        [-0.7078, -0.7259, -1.4434],  # left_ankle
        [1.6647, 1.6706, -0.8216],  # right_ankle
        [1.1948, 1.2033, 1.2364],  # spine3
        [-0.8839, -0.9053, -1.3739],  # left_foot
        [1.5165, 1.5198, -0.9679],  # right_foot
        [1.2234, 1.1757, 1.2733],  # neck
        [-0.0091, 0.2747, -0.0834],  # left_collar
        [3.0948, 0.2231, 0.4362],  # right_collar
        [1.2495, 1.1473, 1.2870],  # head
        [-0.0000, 0.0000, -0.0000],  # left_shoulder
        [-3.1416, 0.0000, -0.0000],  # right_shoulder
        [0.3081, 0.0000, 0.0000],  # left_elbow
        [-3.0928, -0.0000, -0.0000],  # right_elbow
        [0.4025, 0.0227, 0.0283],  # left_wrist
        [-2.9958, 0.1286, -0.0094],  # right_wrist
    ]),
    'cmu': np.array([
        [-0.0897, 0.0002, -0.0068],  # pelvis
        [-0.0274, 0.0107, 3.1369],  # left_hip
        [-0.0226, -0.0103, -3.1366],  # right_hip
        [0.2683, -0.0063, 0.0265],  # spine1
        [-0.0057, -0.0104, 3.1353],  # left_knee
        [-0.0006, 0.0102, -3.1351],  # right_knee
        [-0.0791, -0.0251, 0.0390],  # spine2
        [0.0262, 1.8679, 2.4888],  # left_ankle
        [0.0025, -1.9052, -2.4827],  # right_ankle
        [-0.1889, -0.0343, 0.0369],  # spine3
        [-0.0556, 2.3203, 2.0707],  # left_foot
        [-0.0956, -2.2649, -2.1572],  # right_foot
        [0.0725, -0.0160, 0.0184],  # neck
        [-0.1861, 0.1730, -1.4966],  # left_collar
        [-0.2272, -0.2317, 1.5712],  # right_collar
        [0.0662, -0.0031, 0.0291],  # head
        [0.4191, 0.4183, -1.5648],  # left_shoulder
        [0.4232, -0.4175, 1.5654],  # right_shoulder
        [0.4262, 0.4199, -1.5582],  # left_elbow
        [0.4306, -0.4191, 1.5587],  # right_elbow
        [-0.2605, 0.2613, -1.2121],  # left_wrist
        [0.4730, -0.0361, 1.2303],  # right_wrist
    ]),
}


# ----------------------------------------------------------------------------
# Synthetic poses


def _synthetic_frames(local_rots) -> np.ndarray:
  """World frames G_j = G_parent @ L_j of the synthetic bones.  [N, 17, 3, 3]."""
  frames = [local_rots[:, 0]]
  for j in range(1, 17):
    frames.append(frames[H36M_17.parents[j]] @ local_rots[:, j])
  return np.stack(frames, 1)


# The synthetic templates are written mirrored (x to the subject's left); a
# rotation G of that frame is M G M in the real one (M negates x).
_MIRROR = np.diag([-1.0, 1.0, 1.0])
# Hinge axes in the real body frame (x right, y forward, z up): knees turn
# by -knee about x, elbows by +elbow (synthetic_poses.local_rotations).
_SYNTHETIC_HINGES = {"left_knee": np.array([-1.0, 0, 0]),
                     "right_knee": np.array([-1.0, 0, 0]),
                     "left_elbow": np.array([1.0, 0, 0]),
                     "right_elbow": np.array([1.0, 0, 0])}


def _synthetic_world(frames, yaw, pose3d):
  body = SYNTHETIC
  n = frames.shape[0]
  c, s = np.cos(yaw), np.sin(yaw)
  heading = np.zeros((n, 3, 3))
  heading[:, 0, 0], heading[:, 0, 1], heading[:, 1, 0], heading[:, 1, 1] = c, -s, s, c
  heading[:, 2, 2] = 1.0
  real = heading[:, None] @ (_MIRROR @ frames @ _MIRROR)  # [N, 17, 3, 3]
  rot = np.broadcast_to(np.eye(3), (n, 22, 3, 3)).copy()
  pos = np.full((n, 22, 3), np.nan)
  for name, joint in body.rotation.items():
    rot[:, NAMES.index(name)] = real[:, H36M_17.index(joint)]
  for name, joint in body.position.items():
    pos[:, NAMES.index(name)] = pose3d[:, H36M_17.index(joint)]
  return rot, pos


def synthetic_rest(rest_pose3d) -> np.ndarray:
  """The synthetic skeleton's exact rest rotations, [22, 3, 3].

  Its rest pose is known (every local rotation the identity, arms hanging),
  so it is calibrated on that one frame with the hinge axes the generator
  uses.

  Args:
    rest_pose3d: the rest joints, real (unmirrored) frame, any lengths.
      # [17, 3]
  """
  check_array("rest_pose3d", rest_pose3d, (17, 3))
  eye = np.broadcast_to(np.eye(3), (1, 17, 3, 3))
  rot, pos = _synthetic_world(_synthetic_frames(eye), np.zeros(1),
                              np.asarray(rest_pose3d, np.float64)[None])
  return retarget.calibrate(rot, pos, SYNTHETIC, hinges=_SYNTHETIC_HINGES)


def from_synthetic(local_rots, yaw, pose3d, rest_pose3d) -> dict:
  """Body-space pose of synthetic poses (`synthetic_poses.generate_poses`).

  Args:
    local_rots: `synthetic_poses.local_rotations` (mirrored template frame).
      # [N, 17, 3, 3]
    yaw: headings, radians.  # [N]
    pose3d: the returned world poses, mm.  # [N, 17, 3]
    rest_pose3d: the generator's rest joints, real frame (`synthetic_rest`).
      # [17, 3]

  Returns:
    `retarget`'s dict for the synthetic body map, plus bone_lengths [N, 22]
    (each pose's own skeleton).
  """
  rot, pos = _synthetic_world(_synthetic_frames(np.asarray(local_rots, np.float64)),
                              np.asarray(yaw, np.float64), np.asarray(pose3d, np.float64))
  out = retarget.retarget(rot, pos, SYNTHETIC, synthetic_rest(rest_pose3d))
  out["bone_lengths"] = retarget.source_bone_lengths(pos, SYNTHETIC, per_frame=True)
  return out
