"""BVH rigs: which joint of a rig plays each Human3.6M joint, in jaxpose's world.

A rig is data (`RigSpec`).  The jaxpose world frame is fixed: millimetres,
Z up (right-handed).  Each clip's up axis is also detected from the motion
(feet to head) and must agree with the rig's declared one, so a
mis-declared rig fails loudly instead of producing lying skeletons.

Joint rotations: `rig_rotations`; a whole clip converted from one FK pass:
`mocap_conversion.convert_clip`.
"""
from __future__ import annotations

import dataclasses
from typing import Mapping

import numpy as np

from jaxpose.checks import check_array
from jaxpose.data import bvh as bvh_lib
from jaxpose.pose.skeleton import H36M_17

# Rotations taking each declared up axis to +Z (proper rotations, so the
# subject's left stays left).
_TO_Z_UP = {
    "+z": np.eye(3),
    "-z": np.diag([1.0, -1.0, -1.0]),
    "+y": np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]]),  # Rx(+90): y -> z
    "-y": np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]]),
    "+x": np.array([[0.0, 0, -1], [0, 1, 0], [1, 0, 0]]),  # Ry(-90): x -> z
    "-x": np.array([[0.0, 0, 1], [0, 1, 0], [-1, 0, 0]]),
}


@dataclasses.dataclass(frozen=True)
class RigSpec:
  """How one BVH rig maps to Human3.6M 17 joints.

  Attributes:
    name: rig id ('bandai', 'cmu').
    joints: H36M joint name -> BVH joint name, for every H36M joint except
      'neck' (nose) and 'head' (head top), which are synthesised.
    nose: (BVH joint, weight) pairs; the nose is their weighted mean.
    head_top: (base joint, from joint, length in file units): the head top is
      `base + length * unit(base - from)`.
    toes: (left, right) toe joints, used only to find the facing direction.
    unit_to_mm: file unit in millimetres (10 for centimetres).
    up_axis: declared up axis of the file world, '+y', '+z', ...
    position_mode: how position channels combine with OFFSETs (bvh.py).
  """
  name: str
  joints: Mapping[str, str]
  nose: tuple[tuple[str, float], ...]
  head_top: tuple[str, str, float]
  toes: tuple[str, str]
  unit_to_mm: float
  up_axis: str
  position_mode: str

  @property
  def required_joints(self) -> tuple[str, ...]:
    """Every BVH joint the rig reads (`role` says what for)."""
    names = list(self.joints.values()) + [n for n, _ in self.nose]
    names += list(self.head_top[:2]) + list(self.toes)
    return tuple(dict.fromkeys(names))

  def role(self, bvh_name: str) -> str:
    roles = [h for h, b in self.joints.items() if b == bvh_name]
    roles += ["nose"] * any(n == bvh_name for n, _ in self.nose)
    roles += ["head top"] * (bvh_name in self.head_top[:2])
    roles += ["facing direction"] * (bvh_name in self.toes)
    return "/".join(roles)


BANDAI = RigSpec(
    name="bandai",
    joints={
        "pelvis": "Hips", "r_hip": "UpperLeg_R", "r_knee": "LowerLeg_R",
        "r_ankle": "Foot_R", "l_hip": "UpperLeg_L", "l_knee": "LowerLeg_L",
        "l_ankle": "Foot_L", "spine": "Chest", "thorax": "Neck",
        "l_shoulder": "UpperArm_L", "l_elbow": "LowerArm_L", "l_wrist": "Hand_L",
        "r_shoulder": "UpperArm_R", "r_elbow": "LowerArm_R", "r_wrist": "Hand_R",
    },
    nose=(("Head", 1.0),),  # the skull base
    head_top=("Head", "Neck", 10.0),
    toes=("Toes_L", "Toes_R"),
    unit_to_mm=10.0,
    up_axis="+y",
    # Non-root position channels repeat the OFFSETs, and Hips' channels hold
    # its absolute place: the channels replace the OFFSET.
    position_mode="replace",
)

CMU = RigSpec(
    name="cmu",
    joints={
        "pelvis": "CC_Base_Pelvis", "r_hip": "CC_Base_R_Thigh",
        "r_knee": "CC_Base_R_Calf", "r_ankle": "CC_Base_R_Foot",
        "l_hip": "CC_Base_L_Thigh", "l_knee": "CC_Base_L_Calf",
        "l_ankle": "CC_Base_L_Foot", "spine": "CC_Base_Spine02",
        "thorax": "CC_Base_NeckTwist01",
        "l_shoulder": "CC_Base_L_Upperarm", "l_elbow": "CC_Base_L_Forearm",
        "l_wrist": "CC_Base_L_Hand", "r_shoulder": "CC_Base_R_Upperarm",
        "r_elbow": "CC_Base_R_Forearm", "r_wrist": "CC_Base_R_Hand",
    },
    # Midpoint of the head joint and the mid-eyes point.
    nose=(("CC_Base_Head", 0.5), ("CC_Base_L_Eye", 0.25), ("CC_Base_R_Eye", 0.25)),
    head_top=("CC_Base_Head", "CC_Base_NeckTwist01", 12.0),
    toes=("CC_Base_L_ToeBase", "CC_Base_R_ToeBase"),
    unit_to_mm=10.0,
    up_axis="+y",
    # The root OFFSET holds the standing hip height; its position channels
    # are displacements around it.
    position_mode="add",
)

RIGS = {"bandai": BANDAI, "cmu": CMU}


def get_rig(rig: str | RigSpec) -> RigSpec:
  if isinstance(rig, RigSpec):
    return rig
  try:
    return RIGS[rig]
  except KeyError:
    raise ValueError(f"rig: expected one of {sorted(RIGS)} or a RigSpec, got "
                     f"{rig!r}") from None


def to_z_up(rig: str | RigSpec) -> np.ndarray:
  """float [3, 3]: the rotation taking the rig's file world to jaxpose's (Z up)."""
  return _TO_Z_UP[get_rig(rig).up_axis].copy()


def required_joint_indices(skeleton: bvh_lib.BvhSkeleton, rig: RigSpec,
                           source: str) -> dict:
  """BVH joint name -> index for every joint the rig reads.

  Raises:
    KeyError: naming `source`, each missing joint and the role it plays.
  """
  missing = [n for n in rig.required_joints if n not in skeleton.names]
  if missing:
    raise KeyError(f"{source}: rig {rig.name!r} needs joint(s) "
                   + ", ".join(f"{n!r} (for {rig.role(n)})" for n in missing)
                   + " which the file does not have")
  return {n: skeleton.names.index(n) for n in rig.required_joints}


def head_top_offset(skeleton: bvh_lib.BvhSkeleton, rig: RigSpec) -> np.ndarray:
  """Head top in the head joint's frame, file units: float [3].

  The neck-to-head direction is taken in the rest pose (all rotations zero)
  and carried by the head's rotation, so the head top is rigid with the head.
  """
  base, frm, length = rig.head_top
  j, stop = skeleton.index(base), skeleton.index(frm)
  d = np.zeros(3)
  while j != stop:
    if j < 0:
      raise ValueError(f"rig {rig.name!r}: head_top joint {frm!r} is not an "
                       f"ancestor of {base!r}")
    d = d + skeleton.offsets[j]
    j = skeleton.parents[j]
  return length * d / max(np.linalg.norm(d), 1e-9)


def _h36m_from_world(world_r, world_p, idx, rig, head_local) -> np.ndarray:
  """World rotations [F, J, 3, 3], positions [F, J, 3] -> [F, 17, 3], file frame."""
  get = lambda n: world_p[:, idx[n]]
  out = np.empty((world_p.shape[0], 17, 3), dtype=world_p.dtype)
  for h, b in rig.joints.items():
    out[:, H36M_17.index(h)] = get(b)
  out[:, H36M_17.index("neck")] = sum(w * get(n) for n, w in rig.nose)
  base = rig.head_top[0]
  out[:, H36M_17.index("head")] = get(base) + world_r[:, idx[base]] @ head_local
  return out


def detect_up_axis(pose17) -> str:
  """The dominant axis of the ankles-to-head direction, e.g. '+y'.

  Uses the median over frames, so a clip must keep the subject mostly
  upright (true of every Bandai and CMU clip).

  Args:
    pose17: [F, 17, 3] Human3.6M joints in any world frame.
  """
  check_array("pose17", pose17, (None, 17, 3))
  feet = 0.5 * (pose17[:, H36M_17.index("l_ankle")] + pose17[:, H36M_17.index("r_ankle")])
  d = np.median(pose17[:, H36M_17.index("head")] - feet, axis=0)  # [3]
  a = int(np.argmax(np.abs(d)))
  return ("+" if d[a] > 0 else "-") + "xyz"[a]


def finite_frames(motion: bvh_lib.BvhMotion) -> np.ndarray:
  """bool [F]: frames whose every channel is finite."""
  return np.all(np.isfinite(motion.motion), axis=1)


def drop_nonfinite(motion: bvh_lib.BvhMotion) -> tuple[bvh_lib.BvhMotion, int]:
  """Removes frames with a NaN/inf channel; returns (motion, number dropped)."""
  ok = finite_frames(motion)
  if ok.all():
    return motion, 0
  return dataclasses.replace(motion, motion=motion.motion[ok]), int((~ok).sum())


def world_pose(motion: bvh_lib.BvhMotion, rig: RigSpec, check_up: bool):
  """One FK pass of a clip: what positions, rotations and facing share.

  Args:
    motion: a parsed BVH file (finite values).
    rig: the clip's RigSpec.
    check_up: verify the declared up axis against the motion.

  Returns:
    (joint indices `required_joint_indices`, world rotations [F, J, 3, 3],
    world positions [F, J, 3], Human3.6M 17 joints [F, 17, 3]), all in the
    file's units and axes.
  """
  idx = required_joint_indices(motion.skeleton, rig, motion.source)
  check_array(f"{motion.source} motion", motion.motion, (None, None))
  world_r, world_p = bvh_lib.world_transforms(motion, position_mode=rig.position_mode)
  pose = _h36m_from_world(world_r, world_p, idx, rig,
                          head_top_offset(motion.skeleton, rig))
  if check_up and motion.num_frames:
    up = detect_up_axis(pose)
    if up != rig.up_axis:
      raise ValueError(f"{motion.source}: rig {rig.name!r} declares up axis "
                       f"{rig.up_axis} but the motion (ankles to head) points "
                       f"along {up}")
  return idx, world_r, world_p, pose


def facing_from_world(world_p, idx, rig: RigSpec) -> np.ndarray:
  """Unit horizontal facing direction [F, 3] (jaxpose world) from
  `world_pose`'s positions and joint indices; NaN where no foot is planted
  (e.g. mid-air)."""
  # Only feet planted on the ground say where the body faces: in a run's
  # back-swing the toes point backwards, often for most of the cycle.  A foot
  # counts when its ankle-to-toe vector is within about 30 degrees of
  # horizontal and its ankle within 10 cm of the clip's lowest ankles.
  if world_p.shape[0] == 0:  # np.percentile has nothing to rank
    return np.zeros((0, 3))
  to_z = _TO_Z_UP[rig.up_axis]
  ankles = [rig.joints["l_ankle"], rig.joints["r_ankle"]]
  ankle_z = np.stack([world_p[:, idx[a]] @ to_z[2] for a in ankles])  # [2, F]
  ground = np.percentile(ankle_z, 5) + 100.0 / rig.unit_to_mm
  total = np.zeros((world_p.shape[0], 3))
  for k, (t, a) in enumerate(zip(rig.toes, ankles)):
    d = (world_p[:, idx[t]] - world_p[:, idx[a]]) @ to_z.T  # [F, 3]
    planted = ((np.abs(d[:, 2]) < 0.6 * np.linalg.norm(d[:, :2], axis=-1))
               & (ankle_z[k] < ground))
    total += np.where(planted[:, None], d, 0.0)
  total[:, 2] = 0.0
  norm = np.linalg.norm(total, axis=-1, keepdims=True)
  return np.where(norm > 1e-9, total / np.maximum(norm, 1e-9), np.nan)
