"""Retargeting into the body space: source maps, rest calibration, deltas.

`jaxpose.pose.body_space` defines the space (SMPL's 22-joint tree, body axes
X left / Y up / Z forward, a T-pose rest).  A source (a BVH rig, the
synthetic skeleton) moves into it by global-orientation deltas:

  W_k(t) = G_r(t) @ inv(A_r)

where G_r(t) is the world rotation (jaxpose world) of the source joint r
that plays SMPL joint k, and A_r, the source's rest pose, is the constant
rotation taking r's local axes to body axes when the source stands in the
canonical T-pose.  The body pose is then each W_k relative to its parent's,
as axis-angle; root orientation and pelvis position are kept apart.  A
`BodyMap` says which source joint plays each SMPL joint and how joints the
source lacks are filled; `jaxpose.data.body_sources` holds the maps of
Bandai, CMU and the synthetic generator, their rest poses and readers.

Rest poses: BVH rigs have no usable rest pose (with every channel at zero
both rigs fold their bones along one axis), so A_r is calibrated from the
motion (`calibrate`).  Thighs, shins, upper arms and forearms turn their
bone (between joint centres, which every rig places alike) and hinge axis
to the body space's.  Every other joint is calibrated on frames in a
neutral stance (`standing_frames`), not by its bone: those bones run
between places each rig chooses (CMU's neck joint sits at shoulder height
ahead of the chest, its toe joint lower on the foot than Bandai's, the
spine joints at other heights), so turning them to `REST_DIRECTIONS` would
read one posture as different rotations in Bandai and CMU.
`body_sources.REST` holds the result for Bandai and CMU
(experiments/studies/body_space_retarget.py --calibrate); the synthetic
rest is exact (its rest pose is known) and uses the bone-direction rules.
"""
from __future__ import annotations

import dataclasses
from typing import Mapping

import numpy as np

from jaxpose.checks import check_array
from jaxpose.pose import body_space, rotations
from jaxpose.pose.skeleton import SMPL_22

NAMES = SMPL_22.joint_names
PARENTS = SMPL_22.parents


@dataclasses.dataclass(frozen=True)
class BodyMap:
  """How one source's joints play SMPL_22's.

  Attributes:
    name: the source ('bandai', 'cmu', 'synthetic').
    rotation: SMPL joint -> source joint whose world rotation it takes, or
      a pair of joints: the rotation halfway between theirs.
    position: SMPL joint -> source joint at its place (for bone lengths and
      the bone-direction check); SMPL joints not listed have no place.
    fill: SMPL joint -> 'mid' or 'parent' (`body_space.fill_world`), for
      every SMPL joint not in `rotation`.
  """
  name: str
  rotation: Mapping[str, str]
  position: Mapping[str, str]
  fill: Mapping[str, str] = dataclasses.field(default_factory=dict)

  def __post_init__(self):
    for what, names in (("rotation", self.rotation), ("position", self.position),
                        ("fill", self.fill)):
      bad = [n for n in names if n not in NAMES]
      if bad:
        raise ValueError(f"{self.name}: {what} names unknown SMPL joint(s) {bad}")
    both = set(self.rotation) & set(self.fill)
    lacking = set(NAMES) - set(self.rotation) - set(self.fill)
    if both or lacking:
      raise ValueError(f"{self.name}: every SMPL joint needs a rotation source or a "
                       f"fill rule, not both: both {sorted(both)}, neither "
                       f"{sorted(lacking)}")
    if "pelvis" not in self.rotation or "pelvis" not in self.position:
      raise ValueError(f"{self.name}: the pelvis needs a rotation and a place")

  @property
  def fill_index(self) -> dict:
    return {NAMES.index(k): v for k, v in self.fill.items()}

  def joints(self) -> tuple[str, ...]:
    """Every source joint the map reads."""
    names = [n for v in self.rotation.values()
             for n in ((v,) if isinstance(v, str) else v)]
    return tuple(dict.fromkeys(names + list(self.position.values())))

  def bones(self) -> tuple[tuple[int, int], ...]:
    """(child, nearest ancestor with a place) SMPL index pairs: the bones the
    source can be compared on."""
    out = []
    for c in range(1, len(NAMES)):
      if NAMES[c] not in self.position:
        continue
      p = PARENTS[c]
      while NAMES[p] not in self.position:
        p = PARENTS[p]
      out.append((c, p))
    return tuple(out)


# ----------------------------------------------------------------------------
# Calibration


def _aims(body_map: BodyMap, k: int) -> list[int]:
  """Nearest descendants of k with a place (through children without one)."""
  out = []
  for c in [c for c, p in enumerate(PARENTS) if p == k]:
    out += [c] if NAMES[c] in body_map.position else _aims(body_map, c)
  return out


def _rest_direction(k: int, c: int) -> np.ndarray:
  """Unit rest direction from joint k to its descendant c (sum of the unit
  rest directions on the path: the only multi-bone paths are straight)."""
  d = np.zeros(3)
  while c != k:
    d, c = d + body_space.REST_DIRECTIONS[c], PARENTS[c]
  return d / np.linalg.norm(d)


def _ref(body_map: BodyMap, k: int) -> int:
  """Nearest ancestor of k with its own rotation."""
  p = PARENTS[k]
  while NAMES[p] not in body_map.rotation:
    p = PARENTS[p]
  return p


def _unit_mean(v) -> np.ndarray:
  v = np.asarray(v, np.float64).reshape(-1, 3)
  v = v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)
  m = v.mean(0)
  return m / np.linalg.norm(m)


def _spread(directions) -> float:
  """How far unit directions are from all being parallel (0 when they are)."""
  d = np.asarray(directions)
  return float(np.max(np.linalg.norm(np.cross(d[:1], d), axis=-1)))


# A neutral stance (`standing_frames`), in degrees and mm/s: thighs and the
# pelvis -> spine3 chord near vertical, knees nearly straight, upper arms
# and forearms hanging, the pelvis still, both ankles at one height.
STANCE_LIMITS = dict(thigh_tilt_deg=10.0, trunk_tilt_deg=10.0, knee_bend_deg=30.0,
                     upper_arm_deg=30.0, forearm_deg=40.0, speed_mm_s=200.0,
                     ankle_height_mm=30.0)
_UP = np.array([0.0, 0.0, 1.0])  # the jaxpose world's up


def _angle_deg(a, b) -> np.ndarray:
  """Angle between direction rows a and b (or a fixed b), degrees."""
  cos = np.sum(a * b, -1) / np.maximum(
      np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1), 1e-12)
  return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def standing_frames(positions, frame_time: float) -> np.ndarray:
  """Frames of one clip in a neutral stance, from joint places alone.

  Upright, knees nearly straight, arms hanging, ankles level and the
  pelvis still, within `STANCE_LIMITS`.  Joint places (not rotations)
  decide, so the test means the same in every rig;
  `calibrate(standing=...)` takes the result.

  Args:
    positions: SMPL joints' places of consecutive frames, mm, jaxpose
      world (Z up); pelvis, hips, knees, ankles, spine3, shoulders, elbows
      and wrists are needed.  # [F, 22, 3]
    frame_time: seconds between the frames.

  Returns:
    bool [F].
  """
  check_array("positions", positions, ("F", 22, 3), finite=False)
  x = np.asarray(positions, np.float64)
  j = lambda name: x[:, NAMES.index(name)]
  lim = STANCE_LIMITS
  ok = _angle_deg(j("spine3") - j("pelvis"), _UP) < lim["trunk_tilt_deg"]
  for side in ("left", "right"):
    thigh = j(f"{side}_knee") - j(f"{side}_hip")
    ok &= _angle_deg(thigh, -_UP) < lim["thigh_tilt_deg"]
    shin = j(f"{side}_ankle") - j(f"{side}_knee")
    upper_arm = j(f"{side}_elbow") - j(f"{side}_shoulder")
    forearm = j(f"{side}_wrist") - j(f"{side}_elbow")
    ok &= _angle_deg(thigh, shin) < lim["knee_bend_deg"]
    ok &= _angle_deg(upper_arm, -_UP) < lim["upper_arm_deg"]
    ok &= _angle_deg(forearm, -_UP) < lim["forearm_deg"]
  ok &= np.abs(j("left_ankle")[:, 2] - j("right_ankle")[:, 2]) < lim["ankle_height_mm"]
  if len(x) > 1:
    step = np.linalg.norm(np.diff(j("pelvis")[:, :2], axis=0), axis=-1) / frame_time
    # A frame's speed: the larger of its steps to the frames either side.
    speed = np.maximum(np.concatenate([step[:1], step]),
                       np.concatenate([step, step[-1:]]))
    ok &= speed < lim["speed_mm_s"]
  return ok & np.isfinite(x[:, [NAMES.index("pelvis")]]).all(axis=(1, 2))


def heading_frames(positions) -> np.ndarray:
  """Upright body axes facing where the hips face, in the jaxpose world.

  X (left) is the horizontal direction from the right hip to the left, Y
  (up) the world's Z, Z (forward) their cross product.

  Args:
    positions: [F, 22, 3] (hips needed).

  Returns:
    [F, 3, 3] rotations taking body axes to the jaxpose world.
  """
  check_array("positions", positions, ("F", 22, 3), finite=False)
  x = np.asarray(positions, np.float64)
  left = x[:, NAMES.index("left_hip")] - x[:, NAMES.index("right_hip")]
  left[:, 2] = 0.0
  left /= np.maximum(np.linalg.norm(left, axis=-1, keepdims=True), 1e-12)
  up = np.broadcast_to(_UP, left.shape)
  return np.stack([left, up, np.cross(left, up)], -1)


def _yaw(v) -> np.ndarray:
  """The rotation about body Y taking direction v's heading to forward (+Z)."""
  return rotations.axis_angle_to_matrix(np.array([0.0, -np.arctan2(v[0], v[2]), 0.0]))


def calibrate(world_rot, positions, body_map: BodyMap, *,
              hinges: Mapping[str, np.ndarray] | None = None,
              standing=None) -> np.ndarray:
  """A source's rest rotations A (local axes -> body axes), from its motion.

  Thighs, shins, upper arms, forearms: their bone to the rest direction,
  their hinge axis to `body_space.HINGE_AXES`.  Every other joint, with
  `standing`: as in the canonical stance over those frames (the pelvis
  upright facing `heading_frames`, each foot flat keeping its toe-out,
  every other joint at its parent's orientation).  Without `standing` (a
  source recorded in its exact rest pose, e.g. the synthetic skeleton):
  the pelvis and a joint with spread aims (spine3) turn their bones to
  `REST_DIRECTIONS` (Wahba); the others turn the mean pose relative to the
  parent by the shortest arc taking their bone to the rest direction
  (leaves: the mean pose).

  Args:
    world_rot: world rotations of the 22 SMPL joints' rotation sources over
      many frames (identity rows for filled joints).  # [F, 22, 3, 3]
    positions: places of the SMPL joints (NaN rows where none).  # [F, 22, 3]
    body_map: the source's map.
    hinges: SMPL hinge joint ('left_knee', ...) -> hinge axis in the frame
      of the rotation source of its parent; estimated from the motion
      (`body_space.hinge_axis`) for hinges not given.
    standing: bool [F], the frames in a neutral stance (`standing_frames`
      of each clip), or None.

  Returns:
    [22, 3, 3]; NaN for filled joints.
  """
  check_array("world_rot", world_rot, ("F", 22, 3, 3))
  check_array("positions", positions, ("F", 22, 3), finite=False)
  g = np.asarray(world_rot, np.float64)
  x = np.asarray(positions, np.float64)
  rel = lambda a, b: np.swapaxes(g[:, a], -1, -2) @ g[:, b]  # b in a's frame
  if standing is not None:
    standing = np.asarray(standing)
    if standing.shape != (len(g),) or standing.dtype != bool:
      raise ValueError(f"standing: expected bool [{len(g)}], got {standing.dtype} "
                       f"{standing.shape}")
    if not standing.any():
      raise ValueError(f"standing: {body_map.name}: no frame in a neutral stance; "
                       "calibrate on clips where the subject stands still")
    still = np.swapaxes(heading_frames(x[standing]), -1, -2)  # world -> body axes

  def local(k, c):
    """Direction from k's place (or its nearest placed ancestor's) to c's, in
    the frame of k's rotation source."""
    o = k
    while NAMES[o] not in body_map.position:
      o = PARENTS[o]
    return _unit_mean(np.einsum("fji,fj->fi", g[:, k], x[:, c] - x[:, o]))

  hinges = dict(hinges or {})
  rest = np.full((22, 3, 3), np.nan)
  for k, name in enumerate(NAMES):
    if name not in body_map.rotation:
      continue
    aims = _aims(body_map, k)
    if name in body_space.HINGE_AXES:
      hinge, axis_to = body_space.HINGE_AXES[name]
      h, upper = NAMES.index(hinge), PARENTS[NAMES.index(hinge)]
      r = rel(upper, h)  # [F, 3, 3]
      if hinge not in hinges:
        hinges[hinge] = body_space.hinge_axis(r, local(h, _aims(body_map, h)[0]))
      axis = hinges[hinge] if k == upper else _unit_mean(
          np.einsum("fji,j->fi", r, hinges[hinge]))  # the axis in the child's frame
      (c,) = aims
      rest[k] = body_space.frame_from_pairs(local(k, c), _rest_direction(k, c),
                                            axis, axis_to)
    elif standing is not None:
      if k == 0 or name in ("left_ankle", "right_ankle"):
        rest[k] = body_space.mean_rotation(still @ g[standing, k])
        if k and aims:  # the foot's heading stays a rotation (toe-out)
          rest[k] = _yaw(rest[k] @ local(k, aims[0])) @ rest[k]
      else:
        ref = _ref(body_map, k)
        rest[k] = rest[ref] @ body_space.mean_rotation(rel(ref, k)[standing])
    elif k == 0 or (len(aims) > 1 and _spread([local(k, c) for c in aims]) > 0.1):
      rest[k] = body_space.wahba([local(k, c) for c in aims],
                                 [_rest_direction(k, c) for c in aims])
    else:
      ref = _ref(body_map, k)
      start = rest[ref] @ body_space.mean_rotation(rel(ref, k))
      if aims:  # several aims from one place (synthetic spine3): the first
        c = aims[0]
        swing = body_space.shortest_arc(start @ local(k, c), _rest_direction(k, c))
        start = swing @ start
      rest[k] = start
  return rest


def rest_to_table(rest) -> np.ndarray:
  """[22, 3, 3] rest rotations -> [22, 3] axis-angle (NaN rows kept), for `REST`."""
  out = np.full((22, 3), np.nan)
  ok = ~np.isnan(rest).any(axis=(1, 2))
  out[ok] = rotations.matrix_to_axis_angle(rest[ok])
  return out


def rest_from_table(table) -> np.ndarray:
  """`rest_to_table`'s inverse: [22, 3] axis-angle -> [22, 3, 3] (NaN kept)."""
  table = np.asarray(table, np.float64)
  out = np.full((22, 3, 3), np.nan)
  ok = ~np.isnan(table).any(axis=1)
  out[ok] = rotations.axis_angle_to_matrix(table[ok])
  return out


# ----------------------------------------------------------------------------
# Retargeting


def retarget(world_rot, positions, body_map: BodyMap, rest) -> dict:
  """Body-space pose of a source's frames.

  Args:
    world_rot: world rotations (jaxpose world) of the SMPL joints' rotation
      sources.  # [F, 22, 3, 3]
    positions: SMPL joints' places, mm, jaxpose world (row 0, the pelvis,
      is required).  # [F, 22, 3]
    body_map: the source's map.
    rest: its rest rotations, [22, 3, 3] (`calibrate`; `body_sources.REST`).

  Returns:
    `body_space.from_world`'s dict: body_pose [F, 63], root_orient [F, 3],
    trans [F, 3].
  """
  rest = np.asarray(rest, np.float64)
  need = [NAMES.index(n) for n in body_map.rotation]
  if np.isnan(rest[need]).any():
    raise ValueError(f"rest: {body_map.name}: no rest rotation for "
                     f"{[NAMES[k] for k in need if np.isnan(rest[k]).any()]}")
  w = np.asarray(world_rot, np.float64).copy()
  w[:, need] = w[:, need] @ np.swapaxes(rest[need], -1, -2)
  w = body_space.fill_world(w, body_map.fill_index)
  return body_space.from_world(w, np.asarray(positions)[:, 0])


def source_bone_lengths(positions, body_map: BodyMap, *,
                        per_frame: bool = False) -> np.ndarray:
  """Canonical bone lengths of a source: distances between its places.

  A compared bone (`BodyMap.bones`) spanning several SMPL bones (spine1 ->
  spine2 -> spine3) shares its length evenly between them; SMPL bones with
  no counterpart (the synthetic feet) get 0.

  Args:
    positions: [F, 22, 3] mm (NaN rows where no place).
    per_frame: lengths of every frame instead of their median (a rig has one
      skeleton; synthetic poses each have their own).

  Returns:
    float32 [22] (or [F, 22]), index 0 zero.
  """
  x = np.asarray(positions, np.float64)
  out = np.zeros((x.shape[0], 22))
  for c, p in body_map.bones():
    path, j = [], c
    while j != p:
      path, j = path + [j], PARENTS[j]
    out[:, path] = np.linalg.norm(x[:, c] - x[:, p], axis=-1)[:, None] / len(path)
  return (out if per_frame else np.median(out, axis=0)).astype(np.float32)

