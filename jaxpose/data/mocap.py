"""Adapters from BVH rigs to the Human3.6M 17 joints and to joint rotations.

A rig is data (`RigSpec`): which BVH joint plays each Human3.6M joint, how
the nose and head top are synthesised, the file unit, the declared up axis
and how position channels combine with OFFSETs.  The jaxpose world frame is
fixed: millimetres, Z up (right-handed).  Each clip's up axis is also
detected from the motion (feet to head) and must agree with the declared one,
so a mis-declared rig fails loudly instead of producing lying skeletons.

Rotations for a rotation prior (DPoser-style) come from the same FK: the body
is the smallest subtree holding every mapped joint, rooted at their lowest
common ancestor; `to_rotations` gives axis-angle per body joint relative to
its parent plus root orientation, translation and rest offsets, and
`fk_from_rotations` rebuilds positions from them (numpy or jax).
"""
from __future__ import annotations

import dataclasses
from typing import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from jaxpose.pose import rotations
from jaxpose.checks import check_array, check_positive_int
from jaxpose.data import bvh as bvh_lib
from jaxpose.data import mocap_checks
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
    """Every BVH joint the rig reads, with the H36M role it plays."""
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


def _require(skeleton: bvh_lib.BvhSkeleton, rig: RigSpec, source: str) -> dict:
  """BVH joint name -> index for every joint the rig reads; names the missing."""
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


def _finite_frames(motion: bvh_lib.BvhMotion) -> np.ndarray:
  return np.all(np.isfinite(motion.motion), axis=1)


def drop_nonfinite(motion: bvh_lib.BvhMotion) -> tuple[bvh_lib.BvhMotion, int]:
  """Removes frames with a NaN/inf channel; returns (motion, number dropped)."""
  ok = _finite_frames(motion)
  if ok.all():
    return motion, 0
  return dataclasses.replace(motion, motion=motion.motion[ok]), int((~ok).sum())


def _world(motion, rig, check_up):
  idx = _require(motion.skeleton, rig, motion.source)
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


def to_h36m17(motion: bvh_lib.BvhMotion, rig: str | RigSpec, *,
              root_relative: bool = False, check_up: bool = True) -> np.ndarray:
  """Human3.6M 17 joints in millimetres, jaxpose world (Z up).

  Args:
    motion: a parsed BVH file (finite values; see `drop_nonfinite`).
    rig: 'bandai', 'cmu' or a RigSpec.
    root_relative: subtract the pelvis.
    check_up: verify the declared up axis against the motion.

  Returns:
    float32 [F, 17, 3].
  """
  rig = get_rig(rig)
  _, _, _, pose = _world(motion, rig, check_up)
  pose = pose @ (_TO_Z_UP[rig.up_axis].T * rig.unit_to_mm)
  if root_relative:
    pose = pose - pose[:, :1]
  return pose.astype(np.float32)


def facing_direction(motion: bvh_lib.BvhMotion, rig: str | RigSpec) -> np.ndarray:
  """Unit horizontal facing direction [F, 3] (jaxpose world) from planted feet.

  Rows are NaN in frames where no foot is flat on the ground (e.g. mid-air).
  """
  rig = get_rig(rig)
  idx, _, world_p, _ = _world(motion, rig, check_up=False)
  return _facing_from(world_p, idx, rig)


def _facing_from(world_p, idx, rig):
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


# ----------------------------------------------------------------------------
# Rotations


def body_joints(skeleton: bvh_lib.BvhSkeleton, rig: str | RigSpec):
  """The rig's body tree inside a BVH skeleton.

  Returns:
    (root index, body joint indices [Jb] in parent order, body parents [Jb]
    as indices into the body list, -1 for the root).
  """
  rig = get_rig(rig)
  idx = _require(skeleton, rig, "skeleton")
  chains = []
  for j in idx.values():
    chain = [j]
    while skeleton.parents[chain[-1]] >= 0:
      chain.append(skeleton.parents[chain[-1]])
    chains.append(chain[::-1])  # root first
  depth = 0  # lowest common ancestor: the longest shared chain prefix
  while all(len(c) > depth and c[depth] == chains[0][depth] for c in chains):
    depth += 1
  root = chains[0][depth - 1] if depth else None
  if root is None:
    raise ValueError(f"rig {rig.name!r}: the mapped joints have no common ancestor")
  body = sorted({j for c in chains for j in c[depth:]})  # file order = parent order
  pos = {j: i for i, j in enumerate(body)}
  parents = np.array([pos.get(skeleton.parents[j], -1) for j in body], np.int32)
  return root, np.array(body, np.int64), parents


HEAD_TOP = "<head_top>"  # the synthetic end joint `to_rotations` appends


def to_rotations(motion: bvh_lib.BvhMotion, rig: str | RigSpec, *,
                 check_up: bool = True) -> dict:
  """Joint rotations of the rig's body for a rotation prior.

  The body joints are the BVH joints on the paths from the body root (the
  lowest common ancestor of the mapped joints) to every mapped joint, plus a
  synthetic last joint `HEAD_TOP` (zero rotation, fixed offset from the head).

  Returns:
    dict with
      rotvec: float32 [F, Jb, 3] axis-angle of each body joint relative to
        its parent (the root for joints with parent -1);
      root_orient: float32 [F, 3] axis-angle of the body root in the jaxpose
        world (Z up);
      trans: float32 [F, 3] body root position, mm, jaxpose world;
      rest_offsets: float32 [Jb, 3] each joint's translation in its parent's
        frame, mm (median over the clip; constant in both rigs);
      parents: int32 [Jb] into the body list, -1 = the body root;
      names: tuple of Jb joint names; root_name: the body root's name.
  """
  rig = get_rig(rig)
  _, world_r, world_p, _ = _world(motion, rig, check_up)
  return _rotations_from(motion, rig, world_r, world_p)


def _rotations_from(motion, rig, world_r, world_p) -> dict:
  sk = motion.skeleton
  root, body, parents = body_joints(sk, rig)
  local_r = bvh_lib.local_rotations(motion)[:, body]  # [F, Jb, 3, 3]
  local_t = bvh_lib.local_translations(motion, position_mode=rig.position_mode)[:, body]
  rest = np.median(local_t, axis=0) if motion.num_frames else sk.offsets[body]
  head = int(np.nonzero(body == sk.index(rig.head_top[0]))[0][0])
  to_z = _TO_Z_UP[rig.up_axis]
  rotvec = rotations.matrix_to_axis_angle(local_r)
  return dict(
      rotvec=np.concatenate([rotvec, np.zeros_like(rotvec[:, :1])], 1).astype(np.float32),
      root_orient=rotations.matrix_to_axis_angle(to_z @ world_r[:, root]).astype(np.float32),
      trans=(world_p[:, root] @ to_z.T * rig.unit_to_mm).astype(np.float32),
      rest_offsets=(np.concatenate([rest, head_top_offset(sk, rig)[None]])
                    * rig.unit_to_mm).astype(np.float32),
      parents=np.append(parents, head).astype(np.int32),
      names=tuple(sk.names[j] for j in body) + (HEAD_TOP,),
      root_name=sk.names[root],
  )


def fk_from_rotations(rotvec, root_orient, trans, rest_offsets, parents):
  """World positions of the body root and body joints from rotations.

  Works on numpy or jax arrays (jit/vmap-friendly: the loop runs over joints
  only, with `parents` static).

  Args:
    rotvec: [..., Jb, 3] axis-angle relative to the parent.
    root_orient: [..., 3] axis-angle of the body root in the world.
    trans: [..., 3] body root position.
    rest_offsets: [Jb, 3] or [..., Jb, 3] translations in the parent frame.
    parents: Jb ints (a static sequence), -1 = the body root.

  Returns:
    [..., 1 + Jb, 3]: index 0 the body root, then the body joints.
  """
  parents = [int(p) for p in np.asarray(parents)]
  jb = len(parents)
  check_array("rotvec", rotvec, ("...", jb, 3))
  check_array("root_orient", root_orient, ("...", 3))
  check_array("trans", trans, ("...", 3))
  check_array("rest_offsets", rest_offsets, ("...", jb, 3))
  xp = jnp if any(isinstance(a, jax.Array) for a in (rotvec, root_orient, trans)) else np
  local_r = rotations.axis_angle_to_matrix(xp.asarray(rotvec), xp=xp)  # [..., Jb, 3, 3]
  root_r = rotations.axis_angle_to_matrix(xp.asarray(root_orient), xp=xp)
  rest = xp.asarray(rest_offsets)
  world_r, world_p = [root_r], [xp.asarray(trans)]
  for j, p in enumerate(parents):
    pr, pp = world_r[p + 1], world_p[p + 1]  # the root sits at index 0
    world_p.append(pp + (pr @ rest[..., j, :, None])[..., 0])
    world_r.append(pr @ local_r[..., j, :, :])
  return xp.stack(world_p, axis=-2)


def h36m17_weights(names, rig: str | RigSpec) -> np.ndarray:
  """float [17, K]: Human3.6M joints as fixed mixtures of K named joints.

  Args:
    names: K joint names: the body root's name, then `to_rotations`' names
      (so index 0 is the body root, matching `fk_from_rotations` output).
  """
  rig = get_rig(rig)
  idx = {n: i for i, n in enumerate(names)}
  need = list(rig.joints.values()) + [n for n, _ in rig.nose] + [HEAD_TOP]
  missing = [n for n in need if n not in idx]
  if missing:
    raise KeyError(f"rig {rig.name!r}: joint(s) {missing} not among the names")
  w = np.zeros((17, len(names)))
  for h, b in rig.joints.items():
    w[H36M_17.index(h), idx[b]] = 1.0
  for n, weight in rig.nose:
    w[H36M_17.index("neck"), idx[n]] += weight
  w[H36M_17.index("head"), idx[HEAD_TOP]] = 1.0
  return w


def h36m17_from_body(positions, names, rig: str | RigSpec):
  """Human3.6M 17 joints [..., 17, 3] from `fk_from_rotations` output.

  Args:
    positions: [..., K, 3]; index 0 the body root (numpy or jax).
    names: K names, the body root's first (see `h36m17_weights`).
  """
  w = h36m17_weights(names, rig)
  check_array("positions", positions, ("...", len(names), 3))
  xp = jnp if isinstance(positions, jax.Array) else np
  return xp.einsum("jk,...kd->...jd", xp.asarray(w, dtype=positions.dtype), positions)


# ----------------------------------------------------------------------------
# One clip, everything at once (what experiments/prepare.py stores).


@dataclasses.dataclass(frozen=True, eq=False)
class Clip:
  """A converted clip.

  Attributes:
    pose17: float32 [F, 17, 3] Human3.6M joints, mm, jaxpose world (Z up).
    rotations: `to_rotations` dict for the same frames.
    fps: frame rate after the stride.
    dropped: frames kept by the stride but removed because a channel was
      NaN/inf.
    problems: sanity check findings (empty for a healthy clip).
    frame: int32 [F] each kept frame's number in the file, so frames after a
      dropped one keep their true place in time.
    body: the same frames in the body space of `jaxpose.pose.body_space`
      (`body_sources.to_body_space`'s dict) when `convert_clip` was given a
      `body_fn`, else None (also for a rig or file it cannot retarget).
  """
  pose17: np.ndarray  # [F, 17, 3]
  rotations: dict
  fps: float
  dropped: int
  problems: tuple[str, ...]
  frame: np.ndarray  # [F]
  body: dict | None = None


def convert_clip(motion: bvh_lib.BvhMotion, rig: str | RigSpec, *,
                 stride: int = 1, body_fn=None) -> Clip:
  """Subsamples, drops non-finite frames, and converts with one FK pass.

  The stride counts the file's frames (frame 0, stride, 2 stride, ...), so a
  dropped frame does not shift the ones after it; frames with a NaN/inf
  channel are then dropped and counted in `Clip.dropped`.

  `body_fn(motion, rig, (world_r, world_p))` -> dict or None, when given,
  fills `Clip.body` from the kept frames and the same FK pass (protocols
  passes `body_sources.clip_body_space`; this module cannot import it,
  as body_sources builds on this one).

  Raises:
    KeyError: the file lacks a joint the rig maps (the message names it).
    ValueError: the file has no frames or no finite frame, or the up axis of
      the motion disagrees with the rig (messages start with the file name).
  """
  rig = get_rig(rig)
  stride = check_positive_int("stride", stride)
  _require(motion.skeleton, rig, motion.source)  # a wrong rig says so first
  if motion.num_frames == 0:
    raise ValueError(f"{motion.source}: the file has no frames ('Frames: 0')")
  finite = _finite_frames(motion)
  if not finite.any():
    raise ValueError(f"{motion.source}: all {motion.num_frames} frames have a "
                     "NaN/inf channel, so there is no motion to convert")
  frame = np.arange(0, motion.num_frames, stride)
  ok = finite[frame]
  if not ok.any():
    raise ValueError(f"{motion.source}: the {len(frame)} frames kept by stride "
                     f"{stride} all have a NaN/inf channel; use a smaller stride")
  frame = frame[ok]
  motion = dataclasses.replace(motion, motion=motion.motion[frame],
                               frame_time=motion.frame_time * stride)
  idx, world_r, world_p, pose = _world(motion, rig, check_up=True)
  pose = (pose @ (_TO_Z_UP[rig.up_axis].T * rig.unit_to_mm)).astype(np.float32)
  if not np.isfinite(pose).all():  # finite channels, yet float32 overflowed
    raise ValueError(f"{motion.source}: joint positions overflow float32; "
                     "are the channel values in the rig's unit?")
  facing = _facing_from(world_p, idx, rig)
  body = None if body_fn is None else body_fn(motion, rig, (world_r, world_p))
  return Clip(pose17=pose, rotations=_rotations_from(motion, rig, world_r, world_p),
              fps=motion.fps, dropped=int((~ok).sum()),
              problems=tuple(mocap_checks.sanity_problems(pose, facing)),
              frame=frame.astype(np.int32), body=body)
