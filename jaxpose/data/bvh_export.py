"""A BVH writer for 3D joint positions, e.g. the motion jaxpose lifts from a video.

`write_bvh` writes joint positions [T, J, 3] (mm) as a BVH file for Blender
(File > Import > Motion Capture, Scale 0.01 for the default centimetres);
`motion_from_joints` does the math and returns a `bvh.BvhMotion`;
`format_bvh` writes any BvhMotion.  `bvh.forward_kinematics` of the file
gives the input back (axes and units converted), exactly for rigid bones.

Choices (and why):
  * Axes.  BVH and Blender's importer expect Y up.  `up` names the input's
    up axis and picks a proper rotation (left stays left) from
    `AXIS_CONVERSIONS`: '-y', the camera frame (x right, y down, z forward),
    becomes (x, -y, -z); '+z', the jaxpose world, becomes (x, z, -y).  A
    subject facing the camera faces +Z, left along +X (`pose.body_space`'s
    body axes); Blender's front view is the camera's.
  * Units.  Centimetres by default, as most BVH files (CMU conversions,
    MotionBuilder, Mixamo); 'mm' or 'm' on request (Blender Scale 0.001,
    1).  Six decimals (eight in metres): rounding moves joints < 1e-4 mm.
  * Rest pose.  A T-pose (all rotation channels 0), as retargeting tools
    expect: `REST_DIRECTIONS` (or `rest_directions`) times each bone's
    median length over the frames, so the skeleton is rigid and no one
    noisy frame shapes it.  At a fan joint (pelvis: spine and hips; thorax:
    neck and shoulders) the children's rest directions (but the root's
    central one) are their median directions in the joint's frame, so a
    rigid torso of any shape is reproduced exactly.  The root's OFFSET is
    0: readers that add the root's position channels to it and readers
    that replace it (Blender) agree.
  * Rotations.  BVH turns a joint's child bones by the joint's rotation.  A
    joint with one child gets the swing: the shortest arc, in the parent's
    frame, from the child bone's rest direction to its direction.  Twist
    rule: a bone inherits its parent's twist and never rolls about itself
    (positions carry no roll), so a forearm's pronation is not represented.
    A fan joint (a central child and a mirror pair) gets a full frame from
    its rigid part (`frame_from_pairs`): one bone exactly and the pair's
    line (left minus right) in its part orthogonal to it.  The bone is the
    central one at the root (pelvis -> spine) and the joint's own below it
    (spine -> thorax), so a thorax turns with trunk and shoulders, not with
    the head (H36M's neck joint is the nose).  Where a fan bends (a lower back
    sideways, a head turning) the hips or the neck are off by their length
    times the bend.  `branches=True` removes that: each such child gets a joint
    of its own ('pelvis_l_hip', 'thorax_neck', ...: zero OFFSET, the swing to
    its bone), so every bone's direction is exact and only lengths differ from
    the input (a lifted motion's bones change length from frame to frame; the
    BVH's are their medians).  Other joints with several children get the
    least-squares frame of their bones (`wahba`).  Leaves keep 0 rotations and
    an End Site a quarter of their bone long.
  * Euler angles.  Intrinsic, degrees, as in `rotations` and `bvh` ('ZXY'
    with (a, b, c) is Rz(a) Rx(b) Ry(c)).  The middle angle is the singular
    one, so a joint puts its child bone's rest axis in the middle: 'ZXY'
    for bones along X (arms), 'ZYX' along Y (legs, spine), 'YZX' along Z;
    the root and a fan below it use 'YZX' (heading or twist first).
    `euler_order` forces one order on all joints.  Channels are unwrapped
    over frames, so curves never jump by 360.
  * Joints are written depth-first, children in skeleton order (`H36M_17`'s
    own order), with the skeleton's names (pelvis, r_hip, ...).
"""
from __future__ import annotations

import os

import numpy as np

from jaxpose import files, settings
from jaxpose.data import bvh
from jaxpose.pose import body_space, rotations
from jaxpose.pose.skeleton import H36M_17, SMPL_22, Skeleton

# Input axes -> BVH axes (Y up), by the input's up axis.  Proper rotations:
# the smallest turn about X that takes `up` to +Y (about Z for an x up).
AXIS_CONVERSIONS = {
    "-y": np.array([[1.0, 0, 0], [0, -1, 0], [0, 0, -1]]),  # camera frame
    "+y": np.eye(3),
    "+z": np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]]),  # jaxpose world
    "-z": np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]]),
    "+x": np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]]),
    "-x": np.array([[0.0, 1, 0], [-1, 0, 0], [0, 0, 1]]),
}
MM_PER_UNIT = {"mm": 1.0, "cm": 10.0, "m": 1000.0}
_DECIMALS = {"mm": 6, "cm": 6, "m": 8}
# A bone shorter than this (mm) in some frame has no direction.
MIN_BONE_MM = 1e-3
END_SITE_FRACTION = 0.25
ROOT_ORDER = "YZX"
# Orders whose middle (first) axis is X, Y or Z.
_ORDER_BY_MIDDLE_AXIS = ("ZXY", "ZYX", "YZX")
_ORDER_BY_FIRST_AXIS = ("XZY", "YZX", "ZYX")
_POSITION_CHANNELS = ("Xposition", "Yposition", "Zposition")


def _unit_rows(v) -> np.ndarray:
  v = np.asarray(v, np.float64)
  n = np.linalg.norm(v, axis=-1, keepdims=True)
  return np.divide(v, n, out=np.zeros_like(v), where=n > 0)


# T-pose of H36M_17 in the BVH world (X the subject's left, Y up, Z
# forward): each bone's direction parent -> joint.  Legs down, arms out
# sideways, spine up, the neck (H36M's nose) forward, the head top back;
# the data refit the hips', neck's and shoulders' rows (module docstring).
_H36M_17_T_POSE = {
    "r_hip": (-1, 0, 0), "r_knee": (0, -1, 0), "r_ankle": (0, -1, 0),
    "l_hip": (1, 0, 0), "l_knee": (0, -1, 0), "l_ankle": (0, -1, 0),
    "spine": (0, 1, 0), "thorax": (0, 1, 0), "neck": (0, 1, 0.35),
    "head": (0, 1, -0.25), "l_shoulder": (1, -0.1, 0), "l_elbow": (1, 0, 0),
    "l_wrist": (1, 0, 0), "r_shoulder": (-1, -0.1, 0), "r_elbow": (-1, 0, 0),
    "r_wrist": (-1, 0, 0)}
H36M_17_REST_DIRECTIONS = _unit_rows(
    [_H36M_17_T_POSE.get(name, (0, 0, 0)) for name in H36M_17.joint_names])
# Skeleton name -> T-pose; SMPL_22's: the body space's rest (SMPL's T-pose).
REST_DIRECTIONS = {H36M_17.name: H36M_17_REST_DIRECTIONS,
                   SMPL_22.name: np.asarray(body_space.REST_DIRECTIONS, np.float64)}


def swing(rest, target) -> np.ndarray:
  """`body_space.shortest_arc` (one pair, raising for opposite ones) for a batch.

  Args:
    rest: unit direction.  # [3]
    target: unit directions.  # [N, 3]

  Returns:
    [N, 3, 3], the smallest rotation taking `rest` to each target: the
    quaternion (1 + a.b, a x b) (half the angle), normalised.  A target
    opposite `rest` gets the half turn about rest x e, e the coordinate
    axis least aligned with `rest` (an export must not fail on a bone
    pointing straight back).
  """
  rest = np.asarray(rest, np.float64)
  target = np.asarray(target, np.float64)
  quat = np.concatenate([1.0 + target @ rest[:, None], np.cross(rest, target)], -1)
  opposite = np.linalg.norm(quat, axis=-1) < 1e-7
  if opposite.any():
    axis = np.cross(rest, np.eye(3)[np.argmin(np.abs(rest))])
    quat[opposite] = np.concatenate([[0.0], axis / np.linalg.norm(axis)])
  return rotations.quaternion_to_matrix(quat)


def frame_from_pairs(aim_rest, twist_rest, aim, twist) -> np.ndarray:
  """`body_space.frame_from_pairs` for a batch: [3] x 2, [N, 3] x 2 -> [N, 3, 3].

  Each basis (aim, twist's part orthogonal to aim, their cross product) is
  `rotations.rot6d_to_matrix`'s Gram-Schmidt.
  """
  rest_basis = rotations.rot6d_to_matrix(np.concatenate([aim_rest, twist_rest]))
  basis = rotations.rot6d_to_matrix(np.concatenate([aim, twist], -1))
  return basis @ rest_basis.T


def euler_angles(matrix, order: str) -> np.ndarray:
  """Degrees [N, 3] of `matrix` [N, 3, 3] (`rotations.matrix_to_euler`)."""
  return rotations.matrix_to_euler(np.asarray(matrix, np.float64), order,
                                   degrees=True)


def _children(parents) -> list[list[int]]:
  out = [[] for _ in parents]
  for j, p in enumerate(parents):
    if p >= 0:
      out[p].append(j)
  return out


def _fan(skeleton: Skeleton, kids) -> tuple[int, int, int] | None:
  """(central, left, right) when `kids` are one central bone and a mirror pair."""
  sided = [c for c in kids if c in skeleton.left or c in skeleton.right]
  central = [c for c in kids if c not in sided]
  if len(kids) != 3 or len(central) != 1:
    return None
  for left, right in zip(skeleton.left, skeleton.right):
    if {left, right} == set(sided):
      return central[0], left, right
  return None


def _check_names(where: str, names):
  for name in names:
    if not name or any(ch.isspace() or ch in "{}" for ch in name):
      raise ValueError(f"{where}: joint name {name!r} cannot be written in a BVH "
                       "file (empty, or holds whitespace or braces)")


def _bone_name(skeleton: Skeleton, j: int) -> str:
  return f"{skeleton.joint_names[skeleton.parents[j]]} -> {skeleton.joint_names[j]}"


def _check_input(joints_mm, skeleton: Skeleton) -> np.ndarray:
  if not isinstance(skeleton, Skeleton):
    raise TypeError(f"skeleton: expected a jaxpose.pose.skeleton.Skeleton, got "
                    f"{type(skeleton).__name__}")
  if skeleton.num_joints < 2:
    raise ValueError(f"skeleton: {skeleton.name} has no bone; a BVH needs at "
                     "least two joints")
  _check_names("skeleton", skeleton.joint_names)
  joints = np.asarray(joints_mm)
  if joints.ndim != 3 or joints.shape[1:] != (skeleton.num_joints, 3):
    raise ValueError(f"joints_mm: expected shape (T, {skeleton.num_joints}, 3) "
                     f"(T frames of {skeleton.name}'s joints, mm), got {joints.shape}")
  if joints.shape[0] == 0:
    raise ValueError("joints_mm: no frames (T == 0); a BVH needs at least one")
  if not np.issubdtype(joints.dtype, np.number):
    raise ValueError(f"joints_mm: expected numbers, got dtype {joints.dtype}")
  joints = joints.astype(np.float64)
  bad = ~np.isfinite(joints).all(axis=(1, 2))
  if bad.any():
    frames = np.flatnonzero(bad)
    first_bad_joint = np.flatnonzero(~np.isfinite(joints[frames[0]]).all(-1))[0]
    joint = skeleton.joint_names[first_bad_joint]
    raise ValueError(f"joints_mm: frame {frames[0]} holds NaN or inf (joint {joint}); "
                     f"{frames.size} of {len(joints)} frames do (first: "
                     f"{', '.join(map(str, frames[:5]))}); fill or drop them first")
  return joints


def _check_rest(rest_directions, skeleton: Skeleton) -> np.ndarray:
  if rest_directions is None:
    if skeleton.name not in REST_DIRECTIONS:
      raise ValueError(f"rest_directions: skeleton {skeleton.name!r} has no "
                       f"built-in T-pose (only {', '.join(REST_DIRECTIONS)}); "
                       f"pass rest_directions [{skeleton.num_joints}, 3]")
    return REST_DIRECTIONS[skeleton.name].copy()
  rest = np.asarray(rest_directions, np.float64)
  if rest.shape != (skeleton.num_joints, 3) or not np.isfinite(rest).all():
    raise ValueError(f"rest_directions: expected finite shape ({skeleton.num_joints}, "
                     f"3), got shape {rest.shape}")
  zero = [name for name, row in zip(skeleton.joint_names[1:], rest[1:])
          if np.linalg.norm(row) < 1e-9]
  if zero:
    raise ValueError(f"rest_directions: zero rows for joints {zero}; every bone "
                     "needs a rest direction")
  return _unit_rows(rest)


def _euler_orders(skeleton: Skeleton, kids, rest, euler_order) -> list[str]:
  if euler_order is not None:
    axes = str(euler_order).upper()
    if len(axes) != 3 or sorted(axes) != ["X", "Y", "Z"]:
      raise ValueError(f"euler_order: expected three distinct axes such as "
                       f"'ZXY', got {euler_order!r}")
    return [axes] * skeleton.num_joints
  axis = lambda v: int(np.argmax(np.abs(v)))
  orders = []
  for j, p in enumerate(skeleton.parents):
    if p < 0:
      orders.append(ROOT_ORDER)
    elif _fan(skeleton, kids[j]):  # turns about its own bone only
      orders.append(_ORDER_BY_FIRST_AXIS[axis(rest[j])])
    else:
      orders.append(_ORDER_BY_MIDDLE_AXIS[axis(rest[kids[j][0]] if kids[j] else rest[j])])
  return orders


def _local_rotations(skeleton, kids, positions, directions, lengths, rest):
  """Each joint's rotation relative to its parent [T, J, 3, 3] (module
  docstring); refits the `rest` rows of the fans' children in place."""
  num_frames, num_joints = positions.shape[:2]
  eye = np.broadcast_to(np.eye(3), (num_frames, 3, 3))
  world = np.empty((num_frames, num_joints, 3, 3))
  local = np.empty_like(world)
  for j, p in enumerate(skeleton.parents):
    parent_world = world[:, p] if p >= 0 else eye
    fan = _fan(skeleton, kids[j])
    if not kids[j]:
      world[:, j], local[:, j] = parent_world, eye
      continue
    if len(kids[j]) == 1:
      c = kids[j][0]
      in_parent = np.einsum("tba,tb->ta", parent_world, directions[:, c])
      local[:, j] = swing(rest[c], in_parent)
      world[:, j] = parent_world @ local[:, j]
      continue
    if fan:
      # Oriented by its rigid part (module docstring); the root has no
      # bone of its own and aims at the central child.
      central, left, right = fan
      aim = central if p < 0 else j
      twist = positions[:, left] - positions[:, right]
      along = np.einsum("ta,ta->t", twist, directions[:, aim])
      off = np.linalg.norm(twist - along[:, None] * directions[:, aim], axis=-1)
      flat = np.flatnonzero(off <= 1e-6 * np.linalg.norm(twist, axis=-1))
      if flat.size:
        raise ValueError(
            f"joints_mm: frame {flat[0]}: bone {_bone_name(skeleton, aim)} is parallel "
            f"to the line {skeleton.joint_names[right]} -> {skeleton.joint_names[left]}, "
            f"so the rotation of {skeleton.joint_names[j]} is undefined")
      world[:, j] = frame_from_pairs(rest[aim], rest[left] - rest[right],
                                      directions[:, aim], twist)
      # The children's directions in the joint's rest frame: their median is
      # the rest (the root's central child is exact already).
      for c in kids[j] if p >= 0 else (left, right):
        in_joint = np.einsum("tba,tb->ta", world[:, j], directions[:, c])
        rest[c] = _unit_rows(np.median(in_joint, axis=0))
    else:
      rest_bones = lengths[kids[j], None] * rest[kids[j]]
      world[:, j] = [body_space.wahba(rest_bones, lengths[kids[j], None] * d)
                     for d in directions[:, kids[j]]]
    local[:, j] = np.swapaxes(parent_world, -1, -2) @ world[:, j]
  return local


def _branched_bones(skeleton: Skeleton, kids) -> list[tuple[int, int]]:
  """(fan, child) of each bone a fan only approximates: all but the root's central."""
  out = []
  for j, p in enumerate(skeleton.parents):
    fan = _fan(skeleton, kids[j])
    if fan:
      out += [(j, c) for c in kids[j] if not (p < 0 and c == fan[0])]
  return out


def _world_rotations(parents, local) -> list:
  """World rotations [T, 3, 3] per joint from local ones (parents first)."""
  world = [None] * len(parents)
  for j, p in enumerate(parents):
    world[j] = local[j] if p < 0 else world[p] @ local[j]
  return world


def motion_from_joints(joints_mm, *, skeleton: Skeleton = H36M_17,
                       fps: float = 30.0, up: str = "-y", units: str = "cm",
                       euler_order: str | None = None,
                       rest_directions=None, branches: bool = False
                       ) -> bvh.BvhMotion:
  """The BVH motion whose forward kinematics gives `joints_mm` (module docstring).

  Args:
    joints_mm: joint positions, mm; for jaxpose's lifted output the camera
      frame (x right, y down, z forward).  # [T, J, 3]
    skeleton: the joints' tree and names; `H36M_17` and `SMPL_22` have
      built-in T-poses.
    fps: frames per second (the file's Frame Time is 1 / fps).
    up: the input's up axis, a key of `AXIS_CONVERSIONS`: '-y' for the
      camera frame, '+z' for the jaxpose world.
    units: 'cm' (Blender import Scale 0.01), 'mm' (0.001) or 'm' (1).
    euler_order: one order for every joint (e.g. 'ZXY'); None picks each
      joint's order so its middle angle stays away from gimbal lock.
    rest_directions: the T-pose as bone directions (parent -> joint) in the
      BVH world (X the subject's left, Y up, Z forward); the root's row is
      ignored.  None takes `REST_DIRECTIONS[skeleton.name]`.  # [J, 3]
    branches: a joint of its own for each child a fan only approximates
      (module docstring): every bone's direction exact, lengths the medians.

  Returns:
    A `bvh.BvhMotion`, joints depth-first (`H36M_17`'s order; a branch
    just before its child).

  Raises:
    ValueError: a shape other than [T, J, 3], no frames, a NaN or inf, a
      bone shorter than `MIN_BONE_MM`, or a fan's central bone parallel to
      its pair's line (each naming the frame); a bad fps, up, units,
      euler_order or rest_directions.
  """
  joints = _check_input(joints_mm, skeleton)
  if not (isinstance(fps, (int, float, np.number)) and np.isfinite(fps) and fps > 0):
    raise ValueError(f"fps: expected a positive number, got {fps!r}")
  settings.one_of("up", up, AXIS_CONVERSIONS)
  settings.one_of("units", units, MM_PER_UNIT)
  rest = _check_rest(rest_directions, skeleton)
  parents, names = skeleton.parents, skeleton.joint_names
  kids = _children(parents)
  orders = _euler_orders(skeleton, kids, rest, euler_order)

  positions = joints @ AXIS_CONVERSIONS[up].T  # mm, BVH axes
  parent_index = np.array([max(p, 0) for p in parents])
  bones = positions - positions[:, parent_index]  # [T, J, 3]; root row 0
  lengths = np.linalg.norm(bones, axis=-1)
  short = lengths[:, 1:] < MIN_BONE_MM
  if short.any():
    frame, bone = np.argwhere(short)[0]
    raise ValueError(f"joints_mm: frame {frame}: bone {_bone_name(skeleton, bone + 1)} "
                     f"is {lengths[frame, bone + 1]:.3g} mm long (under {MIN_BONE_MM} "
                     "mm), so its direction is undefined")
  directions = _unit_rows(bones)
  median_lengths = np.median(lengths, axis=0)  # [J]
  local = _local_rotations(skeleton, kids, positions, directions,
                          median_lengths, rest)

  scale = 1.0 / MM_PER_UNIT[units]
  offsets = (median_lengths * scale)[:, None] * rest
  offsets[0] = 0.0
  names, parents, offsets = list(names), list(parents), list(offsets)
  local, orders = list(np.moveaxis(local, 1, 0)), list(orders)
  if branches:
    world = _world_rotations(parents, local)
    for f, c in _branched_bones(skeleton, kids):
      in_fan = np.einsum("tba,tb->ta", world[f], directions[:, c])
      turn = swing(rest[c], in_fan)
      names.append(f"{names[f]}_{names[c]}")
      parents.append(f)
      offsets.append(np.zeros(3))
      local.append(turn)
      orders.append(orders[c] if euler_order is not None else
                    _ORDER_BY_MIDDLE_AXIS[int(np.argmax(np.abs(rest[c])))])
      local[c] = np.swapaxes(turn, -1, -2) @ local[c]
      parents[c] = len(names) - 1
    _check_names("skeleton", names)
  offsets = np.asarray(offsets)
  kids = _children(parents)
  # Siblings in skeleton order, a branch where its child would be.
  place = {n: parents.index(n) if n >= len(skeleton.parents) else n
           for n in range(len(parents))}
  kids = [sorted(k, key=place.get) for k in kids]
  order, stack = [], [0]  # depth-first, the order a file lists its joints in
  while stack:
    order.append(stack.pop())
    stack.extend(reversed(kids[order[-1]]))
  new_index = {j: i for i, j in enumerate(order)}
  columns, channels = [], []
  for j in order:
    angles = np.unwrap(euler_angles(local[j], orders[j]), period=360.0, axis=0)
    rot = tuple(f"{axis}rotation" for axis in orders[j])
    columns += [positions[:, j] * scale, angles] if parents[j] < 0 else [angles]
    channels.append(_POSITION_CHANNELS + rot if parents[j] < 0 else rot)
  leaves = [j for j in order if not kids[j]]
  skeleton_out = bvh.BvhSkeleton(
      names=tuple(names[j] for j in order),
      parents=tuple(new_index[parents[j]] if parents[j] >= 0 else -1 for j in order),
      offsets=offsets[order], channels=tuple(channels),
      end_site_parents=tuple(new_index[j] for j in leaves),
      end_site_offsets=(END_SITE_FRACTION * scale * median_lengths[leaves])[:, None]
      * rest[leaves])
  motion = np.concatenate(columns, axis=1)
  return bvh.BvhMotion(skeleton=skeleton_out, frame_time=1.0 / float(fps),
                       motion=motion, source="<bvh_export>")


def _numbers(values, decimals: int) -> str:
  # Rounding first, then + 0.0, prints -0.0 and -1e-12 as 0.000000.
  rounded = np.round(np.asarray(values, np.float64), decimals) + 0.0
  return " ".join(f"{v:.{decimals}f}" for v in rounded)


def format_bvh(motion: bvh.BvhMotion, *, decimals: int = 6) -> str:
  """BVH text of a motion, laid out as Blender's line-based importer needs.

  Any `bvh.BvhMotion` works (a parsed file round-trips): joints depth-first
  from each root, each with its OFFSET and CHANNELS line (also 'CHANNELS
  0'), End Sites after its child joints, the motion columns permuted to
  match; `decimals` digits after the point (but the frame time's).
  """
  sk = motion.skeleton
  kids = _children(sk.parents)
  ends = [[] for _ in sk.names]
  for parent, offset in zip(sk.end_site_parents, sk.end_site_offsets):
    ends[parent].append(offset)
  _check_names("motion", sk.names)
  lines, columns = ["HIERARCHY"], []

  def write_joint(j: int, depth: int):
    pad = "  " * depth
    chans = sk.channels[j]
    lines.extend([f"{pad}{'ROOT' if sk.parents[j] < 0 else 'JOINT'} {sk.names[j]}",
                  f"{pad}{{", f"{pad}  OFFSET {_numbers(sk.offsets[j], decimals)}",
                  f"{pad}  CHANNELS {len(chans)}" + "".join(f" {c}" for c in chans)])
    columns.extend(range(sk.channel_starts[j], sk.channel_starts[j] + len(chans)))
    for c in kids[j]:
      write_joint(c, depth + 1)
    for offset in ends[j]:
      lines.extend([f"{pad}  End Site", f"{pad}  {{",
                    f"{pad}    OFFSET {_numbers(offset, decimals)}", f"{pad}  }}"])
    lines.append(f"{pad}}}")

  for root in (j for j, p in enumerate(sk.parents) if p < 0):
    write_joint(root, 0)
  values = np.asarray(motion.motion, np.float64)[:, columns]
  lines.extend(["MOTION", f"Frames: {len(values)}",
                f"Frame Time: {motion.frame_time:.10g}"])
  lines.extend(_numbers(row, decimals) for row in values)
  return "\n".join(lines) + "\n"


def write_bvh(path: str | os.PathLike, joints_mm, *, skeleton: Skeleton = H36M_17,
              fps: float = 30.0, up: str = "-y", units: str = "cm",
              euler_order: str | None = None, rest_directions=None,
              branches: bool = False) -> str:
  """Writes joint positions as a BVH file, atomically; returns the path.

  The arguments are `motion_from_joints`'s.  Everything is checked and
  computed before the file is opened, and the file is replaced only once
  complete (`jaxpose.files`), so a failure leaves any previous one intact.
  """
  motion = motion_from_joints(joints_mm, skeleton=skeleton, fps=fps, up=up,
                              units=units, euler_order=euler_order,
                              rest_directions=rest_directions, branches=branches)
  text = format_bvh(motion, decimals=_DECIMALS[units])
  return files.write_text_atomic(path, text)


__all__ = ["AXIS_CONVERSIONS", "H36M_17_REST_DIRECTIONS", "MM_PER_UNIT",
           "REST_DIRECTIONS", "euler_angles", "format_bvh", "motion_from_joints",
           "frame_from_pairs", "swing", "write_bvh"]
