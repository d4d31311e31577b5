"""Procedural 3D human poses and motion clips: the generator behind the
synthetic dataset (`synthetic.py` views them through virtual cameras).

SYNTHETIC DATA.  Nothing here comes from motion capture: poses are built by
forward kinematics of joint angles drawn around hand-written activity
templates.  They let every pipeline (training, sampling, metrics, plots) run
without Human3.6M, and their numbers are only indicative of real data.

Body model (skeleton `jaxpose.pose.skeleton.H36M_17`):
  * Templates and `REST_DIRECTIONS` are written in a frame with x to the
    subject's left, y forward (facing direction), z up: a mirror image.
    `generate_poses` negates x after forward kinematics, so its poses are
    correctly handed (x to the subject's right), like real motion capture.
    At rest the subject stands upright with arms hanging.
  * Bone lengths (mm, mean adult, Human3.6M-like): hip offset 130, thigh
    450, shin 450, pelvis->spine 230, spine->thorax 250, thorax->neck(nose)
    110, neck->head 115, shoulder offset 150, upper arm 280, forearm 250
    (`MEAN_BONE_LENGTHS`).  A subject multiplies them by a global scale
    ~ N(1, 0.05) clipped to [0.88, 1.12] and each bone by its own factor
    ~ N(1, 0.04) clipped to [0.9, 1.1], shared by left and right.
  * Joint angles (degrees), clipped to anatomical ranges (`JOINT_LIMITS`):
    hips flexion/abduction/rotation, knees flexion in [0, 150] only (a knee
    never bends backwards), shoulders flexion/abduction/rotation, elbows
    flexion in [0, 150] only, lower and upper back flexion/side bend/twist,
    neck nod and head turn, plus the pelvis pitch and roll.
  * Global pose: random heading (yaw ~ U[0, 360)) about the vertical axis,
    pelvis moved by U[-max_offset, max_offset] mm in x and y, and the whole
    body lifted so the lower ankle touches the floor (z = 0).

Activities (`ACTIVITIES`): standing, walking (gait phase ~ U[0, 2 pi),
alternating legs and counter-swinging arms), sitting (hips and knees near
90 degrees, feet on the floor), crouching, reaching (left, right or both
arms raised forward/up), waving (one arm abducted above the shoulder, elbow
bent) and bending (trunk pitched forward 30-80 degrees, arms hanging).  Each
template sets mean angles and spreads; independent Gaussian variation is
added per pose and angle.  The templates and limits live in
`synthetic_templates` (re-exported here).

Motion (`generate_clips`): each clip interpolates keyframes of one
activity's template with Catmull-Rom splines (a smooth, continuous motion
of one subject, slowly turning and drifting); keyframes are independent
draws, so a "walking" clip moves through gait poses, not a periodic gait.

Generation is host-side numpy, vectorised over poses, seeded with
`np.random.default_rng(seed)`.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from jaxpose.checks import check_positive_int
from jaxpose.data.synthetic_templates import (  # noqa: F401 (re-exported)
    ACTIVITIES, ANGLE_NAMES, JOINT_LIMITS, TEMPLATES, clip_angles)
from jaxpose.pose.skeleton import H36M_17, Skeleton


def _unit(*v):
  v = np.asarray(v, np.float64)
  return v / np.linalg.norm(v)


# Per child joint of H36M_17: rest direction of the bone (parent -> child)
# in the parent's frame, and its mean length in mm.  Root row unused.
REST_DIRECTIONS = np.stack([
    np.zeros(3),            # 0 pelvis (root)
    _unit(-1, 0, 0),        # 1 r_hip
    _unit(0, 0, -1),        # 2 r_knee
    _unit(0, 0, -1),        # 3 r_ankle
    _unit(1, 0, 0),         # 4 l_hip
    _unit(0, 0, -1),        # 5 l_knee
    _unit(0, 0, -1),        # 6 l_ankle
    _unit(0, 0, 1),         # 7 spine
    _unit(0, 0, 1),         # 8 thorax
    _unit(0, 0.35, 1),      # 9 neck/nose: in front of the spine line
    _unit(0, -0.25, 1),     # 10 head top
    _unit(1, 0, -0.1),      # 11 l_shoulder
    _unit(0, 0, -1),        # 12 l_elbow
    _unit(0, 0, -1),        # 13 l_wrist
    _unit(-1, 0, -0.1),     # 14 r_shoulder
    _unit(0, 0, -1),        # 15 r_elbow
    _unit(0, 0, -1),        # 16 r_wrist
])
MEAN_BONE_LENGTHS = np.array(
    [0, 130, 450, 450, 130, 450, 450, 230, 250, 110, 115, 150, 280, 250, 150,
     280, 250], np.float64)
# Bones that share one variation factor (mirror pairs use the left index).
_BONE_GROUP = np.array([0, 4, 5, 6, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 11, 12, 13])


# --------------------------------------------------------------------------
# Rotations and forward kinematics.

def _rot(axis: int, deg):
  """Rotation matrices about a body axis.  deg: [N] -> [N, 3, 3]."""
  a = np.deg2rad(deg)
  c, s = np.cos(a), np.sin(a)
  o, z = np.ones_like(a), np.zeros_like(a)
  if axis == 0:
    m = [[o, z, z], [z, c, -s], [z, s, c]]
  elif axis == 1:
    m = [[c, z, s], [z, o, z], [-s, z, c]]
  else:
    m = [[c, -s, z], [s, c, z], [z, z, o]]
  return np.stack([np.stack(row, -1) for row in m], -2)


def _ball(flex, abd, rot, side: float):
  """Ball joint (hip, shoulder): twist, then flexion (a downward bone
  forward, +y), then abduction (from the midline: +x left, -x right)."""
  return _rot(1, -side * abd) @ _rot(0, flex) @ _rot(2, side * rot)



def local_rotations(angles: Mapping[str, np.ndarray], n: int) -> np.ndarray:
  """Per-bone local rotations from clipped angles.  -> [N, 17, 3, 3]."""
  eye = np.broadcast_to(np.eye(3), (n, 3, 3))
  rots = [eye] * 17
  # Pelvis frame: pitch forward is a negative rotation about x (it tips the
  # up vector towards +y), roll about the facing direction.
  rots[0] = _rot(0, -angles["root_pitch"]) @ _rot(1, angles["root_roll"])
  for side, (knee_j, ankle_j, elbow_j, wrist_j) in (
      ("r", (2, 3, 15, 16)), ("l", (5, 6, 12, 13))):
    sign = 1.0 if side == "l" else -1.0
    rots[knee_j] = _ball(angles[f"hip_flex_{side}"], angles[f"hip_abd_{side}"],
                         angles[f"hip_rot_{side}"], sign)
    # A knee only flexes: the shin rotates backwards relative to the thigh.
    rots[ankle_j] = _rot(0, -angles[f"knee_{side}"])
    rots[elbow_j] = _ball(angles[f"sh_flex_{side}"], angles[f"sh_abd_{side}"],
                          angles[f"sh_rot_{side}"], sign)
    # An elbow only flexes: the forearm swings forward/up.
    rots[wrist_j] = _rot(0, angles[f"elbow_{side}"])
  half = {k: 0.5 * angles[k] for k in ("spine_flex", "spine_lat", "spine_twist")}
  back = (_rot(0, -half["spine_flex"]) @ _rot(1, half["spine_lat"])
          @ _rot(2, half["spine_twist"]))
  rots[7] = back  # lower back
  rots[8] = back  # upper back
  rots[9] = _rot(0, -angles["neck_flex"]) @ _rot(2, angles["head_turn"])
  return np.stack(rots, axis=1)


def forward_kinematics(local_rots, bone_lengths, *, skeleton: Skeleton = H36M_17,
                       rest_directions=REST_DIRECTIONS):
  """Joint positions from per-bone local rotations (root at the origin).

  Bone j (parent(j) -> j) has frame G_j = G_parent(j) @ L_j (G_root = L_0)
  and lies along G_j @ (length_j * rest_direction_j).

  Args:
    local_rots: local rotation per joint's bone.  # [N, J, 3, 3]
    bone_lengths: length of the bone ending at each joint, root ignored.  # [N, J]
    skeleton: kinematic tree.
    rest_directions: unit rest direction per bone in its parent's frame.  # [J, 3]

  Returns:
    Joint positions.  # [N, J, 3]
  """
  n, num_j = local_rots.shape[:2]
  frames = [None] * num_j
  pos = [None] * num_j
  frames[0] = local_rots[:, 0]
  pos[0] = np.zeros((n, 3))
  for j in range(1, num_j):
    p = skeleton.parents[j]
    frames[j] = frames[p] @ local_rots[:, j]
    pos[j] = pos[p] + bone_lengths[:, j, None] * np.einsum(
        "nij,j->ni", frames[j], rest_directions[j])
  return np.stack(pos, axis=1)


def _sample_skeletons(rng, m):
  """m subject skeletons: (scale [m], bone lengths [m, 17])."""
  scale = np.clip(1.0 + 0.05 * rng.standard_normal(m), 0.88, 1.12)
  factor = np.clip(1.0 + 0.04 * rng.standard_normal((m, 17)), 0.9, 1.1)
  lengths = MEAN_BONE_LENGTHS * scale[:, None] * factor[:, _BONE_GROUP]
  return scale, lengths


def _sample_subjects(rng, n, num_subjects):
  """The subject of each of n poses or clips: (subject [n] int32, scale [n],
  bone lengths [n, 17]); each its own subject when num_subjects is None."""
  if num_subjects is None:
    scale, lengths = _sample_skeletons(rng, n)
    return np.arange(n, dtype=np.int32), scale, lengths
  m = check_positive_int("num_subjects", num_subjects)
  sub_scale, sub_lengths = _sample_skeletons(rng, m)
  subject = rng.integers(0, m, n).astype(np.int32)
  return subject, sub_scale[subject], sub_lengths[subject]


def _check_activities(activities) -> tuple[str, ...]:
  activities = tuple(activities)
  unknown = [a for a in activities if a not in TEMPLATES]
  if unknown or not activities:
    raise ValueError(f"activities: unknown {unknown} (or empty); choose from "
                     f"{ACTIVITIES}")
  return activities


def generate_poses(n: int, *, seed, activities: Sequence[str] = ACTIVITIES,
                   skeleton: Skeleton = H36M_17, num_subjects: int | None = None,
                   max_offset: float = 800.0, return_angles: bool = False,
                   return_body_space: bool = False) -> dict:
  """Samples `n` synthetic poses (see the module docstring for the model).

  Args:
    n: number of poses.
    seed: anything `np.random.default_rng` accepts (int or tuple of ints).
    activities: subset of `ACTIVITIES`, drawn uniformly per pose.
    skeleton: must be `H36M_17` (the templates are written for it).
    num_subjects: when given, draw this many subject skeletons and give each
      pose one of them (like a capture with a few actors); when None every
      pose has its own subject.
    max_offset: half-width in mm of the uniform x/y placement of the pelvis.
    return_angles: also return the clipped joint angles (degrees).
    return_body_space: also return the poses in the body space
      (`jaxpose.pose.body_space`, via `jaxpose.data.body_sources.from_synthetic`;
      no extra random draws, so every other output is unchanged).

  Returns:
    dict with
      pose3d: world-frame joints, mm, Z up, lower ankle at z = 0.
        # [N, 17, 3] float32
      activity: index into `activities`.  # [N] int32
      subject: subject index.  # [N] int32
      subject_scale: the subject's global scale.  # [N] float32
      bone_lengths: sampled length of the bone ending at each joint, mm
        (0 for the root).  # [N, 17] float32
      yaw: heading in radians; the body frame's +x (subject's right) is
        (cos yaw, sin yaw, 0) in the world.  # [N] float32
      angles (optional): name -> [N] float32 degrees.
      body_pose, body_root_orient, body_trans (optional): the body space's
        63-D pose, root orientation and pelvis position (mm).
        # [N, 63], [N, 3], [N, 3] float32
      body_bone_lengths (optional): the pose's skeleton as body-space bone
        lengths, mm (feet, which the generator lacks, 0).  # [N, 22] float32
  """
  n = check_positive_int("n", n)
  if skeleton != H36M_17:
    raise ValueError(f"skeleton: only H36M_17 is supported, got {skeleton.name}")
  activities = _check_activities(activities)
  rng = np.random.default_rng(seed)

  activity = rng.integers(0, len(activities), n).astype(np.int32)
  angles = {name: np.zeros(n) for name in ANGLE_NAMES}
  for i, name in enumerate(activities):
    idx = np.flatnonzero(activity == i)
    if idx.size:
      for k, v in TEMPLATES[name](rng, idx.size).items():
        angles[k][idx] = v
  angles = clip_angles(angles)

  subject, scale, lengths = _sample_subjects(rng, n, num_subjects)

  # Drawn here in this order (`_place` draws nothing): seeds keep their poses.
  yaw = rng.uniform(0, 2 * np.pi, n)
  offset = rng.uniform(-max_offset, max_offset, (n, 2))
  out = dict(activity=activity, subject=subject, subject_scale=scale.astype(np.float32))
  out.update(_place(angles, lengths, yaw, offset, body_space=return_body_space))
  if return_angles:
    out["angles"] = {k: v.astype(np.float32) for k, v in angles.items()}
  return out


def _place(angles, lengths, yaw, offset, *, body_space: bool) -> dict:
  """Clipped angles -> world poses (and body space), row by row.

  The back end shared by `generate_poses` and `generate_clips`.

  Args:
    angles: name -> degrees, clipped.  # [N] each
    lengths: bone lengths, mm.  # [N, 17]
    yaw: heading, radians.  # [N]
    offset: pelvis x, y placement, mm.  # [N, 2]
    body_space: also give the body-space keys.

  Returns:
    pose3d, bone_lengths, yaw (float32) and optionally the body_* keys, as
    `generate_poses` documents them.
  """
  n = len(yaw)
  local = local_rotations(angles, n)
  pose = forward_kinematics(local, lengths, skeleton=H36M_17)  # [N, 17, 3]
  # Unmirror the template frame (module docstring).
  pose[..., 0] = -pose[..., 0]
  # Heading: rotate the body frame about world z.  The body's facing
  # direction (+y) becomes (-sin yaw, cos yaw, 0).
  pose = np.einsum("nij,nkj->nki", _rot(2, np.rad2deg(yaw)), pose)
  ground = np.minimum(pose[:, 3, 2], pose[:, 6, 2])  # lower ankle
  pose = pose + np.concatenate([offset, -ground[:, None]], -1)[:, None, :]
  out = dict(pose3d=pose.astype(np.float32), bone_lengths=lengths.astype(np.float32),
             yaw=yaw.astype(np.float32))
  if body_space:
    from jaxpose.data import body_sources  # only when asked: it reads BVH rigs too
    eye = np.broadcast_to(np.eye(3), (1, 17, 3, 3))
    rest = forward_kinematics(eye, MEAN_BONE_LENGTHS[None])[0]
    rest[:, 0] = -rest[:, 0]  # unmirrored, as the poses
    body = body_sources.from_synthetic(local, yaw, pose, rest)
    out.update(body_pose=body["body_pose"], body_root_orient=body["root_orient"],
               body_trans=body["trans"], body_bone_lengths=body["bone_lengths"])
  return out


def _catmull_rom(keys, u):
  """Catmull-Rom spline through keys[:, 1:-1] (the end keys set the end
  tangents): C^1, passes every key, and overshoots little.

  Args:
    keys: key values.  # [C, K]
    u: positions in key units, in [1, K - 2].  # [F]

  Returns:
    [C, F].
  """
  i = np.minimum(np.floor(u).astype(int), keys.shape[1] - 3)  # segment start
  s = u - i
  p0, p1, p2, p3 = (keys[:, i + d] for d in (-1, 0, 1, 2))
  return 0.5 * (2 * p1 + (p2 - p0) * s + (2 * p0 - 5 * p1 + 4 * p2 - p3) * s ** 2
                + (3 * (p1 - p2) + p3 - p0) * s ** 3)


def generate_clips(num_clips: int, num_frames: int, *, seed, fps: float = 30.0,
                   activities: Sequence[str] = ACTIVITIES,
                   num_subjects: int | None = None, keyframe_seconds: float = 0.5,
                   max_offset: float = 800.0, drift_mm_per_s: float = 100.0,
                   yaw_rate_deg_per_s: float = 10.0,
                   return_angles: bool = False) -> dict:
  """Synthetic motion clips: continuous sequences of `generate_poses`' poses.

  Each clip has one subject skeleton and one activity: keyframes of the
  template every `keyframe_seconds`, clipped to `JOINT_LIMITS`, joined by
  Catmull-Rom splines (C^1) and clipped again; the heading turns at a
  rate ~ N(0, yaw_rate_deg_per_s) and the pelvis drifts at a velocity
  ~ N(0, drift_mm_per_s) per axis, both from uniform starts.  Feet are put
  on the floor frame by frame.  Rows: row = clip * num_frames + frame.

  Args:
    num_clips, num_frames: clips and frames per clip.
    seed: anything `np.random.default_rng` accepts.
    fps: frame rate; a clip lasts num_frames / fps seconds.
    activities: subset of `ACTIVITIES`, drawn uniformly per clip.
    num_subjects: when given, this many skeletons shared by the clips; when
      None every clip has its own.
    keyframe_seconds: time between keyframes; shorter moves faster.
    max_offset: half-width in mm of the uniform x/y start of the pelvis.
    drift_mm_per_s, yaw_rate_deg_per_s: spreads of the per-clip pelvis
      velocity and turning rate.
    return_angles: also return the joint angles (degrees).

  Returns:
    `generate_poses(..., return_body_space=True)`'s keys for
    num_clips * num_frames rows (yaw in [0, 2 pi)), plus
      clip: the row's clip.  # [N] int32
      frame: the row's frame in its clip, 0..num_frames-1.  # [N] int32
  """
  num_clips = check_positive_int("num_clips", num_clips)
  num_frames = check_positive_int("num_frames", num_frames)
  activities = _check_activities(activities)
  for name, value in (("fps", fps), ("keyframe_seconds", keyframe_seconds)):
    if not (np.isfinite(value) and value > 0):
      raise ValueError(f"{name}: expected a positive number, got {value!r}")
  rng = np.random.default_rng(seed)
  step = keyframe_seconds * fps  # frames between keyframes
  num_keys = int(np.floor((num_frames - 1) / step)) + 4  # +1 each end, +1 last segment
  activity = rng.integers(0, len(activities), num_clips).astype(np.int32)
  keys = {name: np.zeros((num_clips, num_keys)) for name in ANGLE_NAMES}
  for i, name in enumerate(activities):
    idx = np.flatnonzero(activity == i)
    if idx.size:
      for k, v in TEMPLATES[name](rng, idx.size * num_keys).items():
        keys[k][idx] = v.reshape(idx.size, num_keys)
  u = np.arange(num_frames) / step + 1.0  # [F] key units; key 1 is frame 0
  angles = clip_angles({k: _catmull_rom(v, u).reshape(-1)
                        for k, v in clip_angles(keys).items()})  # [C * F] each
  subject, scale, lengths = _sample_subjects(rng, num_clips, num_subjects)
  yaw0 = rng.uniform(0, 2 * np.pi, num_clips)
  yaw_rate = np.deg2rad(rng.normal(0, yaw_rate_deg_per_s, num_clips))
  offset0 = rng.uniform(-max_offset, max_offset, (num_clips, 2))
  velocity = rng.normal(0, drift_mm_per_s, (num_clips, 2))
  t = np.arange(num_frames) / fps  # [F] seconds
  yaw = np.mod(yaw0[:, None] + yaw_rate[:, None] * t, 2 * np.pi)  # [C, F]
  offset = offset0[:, None] + velocity[:, None] * t[:, None]  # [C, F, 2]
  rows = lambda a: np.repeat(a, num_frames, axis=0)  # per clip -> per row
  out = dict(activity=rows(activity), subject=rows(subject),
             subject_scale=rows(scale).astype(np.float32))
  out.update(_place(angles, rows(lengths), yaw.reshape(-1), offset.reshape(-1, 2),
                    body_space=True))
  out["clip"] = rows(np.arange(num_clips, dtype=np.int32))
  out["frame"] = np.tile(np.arange(num_frames, dtype=np.int32), num_clips)
  if return_angles:
    out["angles"] = {k: v.astype(np.float32) for k, v in angles.items()}
  return out
