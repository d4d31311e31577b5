"""The body space: one rotation space for every pose source (DPoser's input).

Every source (Bandai and CMU motion capture, the synthetic generator, AMASS)
is expressed as rotations of one skeleton, so one prior can learn from all of
them and one rotation vector means one body posture whatever its source.

Definition:
  * Tree: SMPL's 22-joint body, `skeleton.SMPL_22` (pelvis plus 21 body
    joints, SMPL's joint order and parents).
  * Body axes (SMPL's): X to the subject's left, Y up, Z forward
    (right-handed).  The rest pose (every rotation the identity) is a
    T-pose: legs down with the knees' hinge along X, arms out sideways
    with the elbows' hinge vertical (creases forward, as SMPL's), feet
    forward; bones along `REST_DIRECTIONS`, in SMPL's T-pose axes so an
    AMASS `pose_body` maps into this space unchanged.
  * Pose: `body_pose` [..., 63], axis-angle of joints 1..21 each relative to
    its parent, in `body_model.to_body_vector`'s order (DPoser's vector);
    kept apart, `root_orient` [..., 3] (axis-angle taking body axes to the
    jaxpose world, Z up, as AMASS's root orientation takes them to its Z-up
    world) and `trans` [..., 3] (the pelvis in the jaxpose world, mm).
  * Knees flex about +X (positive angles), the left elbow about -Y and the
    right about +Y (the forearm swings forward from the T-pose), both with
    positive angles; `HINGE_AXES` holds these and the retargeting of every
    rig uses them, so flexion means the same in every dataset.
  * One posture, one rotation whatever the source: the rigs' rests are
    calibrated (`jaxpose.data.retarget.calibrate`) so that a neutral stance
    (upright, arms hanging, feet flat) reads as the identity at the spine,
    neck, head, collars, toes and wrists and a flat foot at the ankles
    (toe-out stays a rotation); limbs by their bones and hinge axes.
  * Bone lengths are not part of the space: they come from the training
    data (`bone_lengths` of retargeted joints, `median_bone_lengths` over a
    split); `forward_kinematics` places the joints of a pose on a skeleton of
    given lengths with the rest directions above.  No body model value (a
    licensed number) is used anywhere.

The retargeting (rigs, calibrated rests) is in `jaxpose.data.retarget`;
this module holds the space and its rotation algebra (numpy).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxpose.checks import check_array
from jaxpose.pose import body_model, kinematics, rotations
from jaxpose.pose.skeleton import SMPL_22

NUM_JOINTS = SMPL_22.num_joints  # 22
BODY_POSE_DIM = body_model.BODY_VECTOR_DIM  # 63
PARENTS = SMPL_22.parents


def _unit(*v):
  v = np.asarray(v, np.float64)
  return v / np.linalg.norm(v)


def _sided(left: dict) -> dict:
  """Adds the mirrored right-side entries (X negated) of `left` entries."""
  out = dict(left)
  for name, v in left.items():
    if name.startswith("left_"):
      out["right_" + name[5:]] = v * np.array([-1.0, 1.0, 1.0])
  return out


# Direction of the bone ending at each joint (parent -> joint) at rest, in
# body axes: the ideal T-pose, but the hips below the pelvis's horizontal
# and the collars off the vertical, between the two rigs' own geometry
# (which no rotation can change), and the foot forward and down.
_REST = _sided({
    "left_hip": _unit(1, -0.28, 0), "spine1": _unit(0, 1, 0),
    "left_knee": _unit(0, -1, 0), "spine2": _unit(0, 1, 0),
    "left_ankle": _unit(0, -1, 0), "spine3": _unit(0, 1, 0),
    "left_foot": _unit(0, -0.4, 1), "neck": _unit(0, 1, 0),
    "left_collar": _unit(np.tan(np.radians(18)), 1, 0), "head": _unit(0, 1, 0),
    "left_shoulder": _unit(1, 0, 0), "left_elbow": _unit(1, 0, 0),
    "left_wrist": _unit(1, 0, 0),
})
REST_DIRECTIONS = np.stack(
    [np.zeros(3)] + [_REST[n] for n in SMPL_22.joint_names[1:]])  # [22, 3]

# Joint -> (the hinge whose axis fixes its twist, that axis in body axes).
# A thigh and a shin both carry the knee's axis, an upper arm and a forearm
# the elbow's; see the module docstring for the signs.
_X, _Y = np.array([1.0, 0, 0]), np.array([0, 1.0, 0])
HINGE_AXES: Mapping[str, tuple[str, np.ndarray]] = {
    "left_hip": ("left_knee", _X), "right_hip": ("right_knee", _X),
    "left_knee": ("left_knee", _X), "right_knee": ("right_knee", _X),
    "left_shoulder": ("left_elbow", -_Y), "right_shoulder": ("right_elbow", _Y),
    "left_elbow": ("left_elbow", -_Y), "right_elbow": ("right_elbow", _Y),
}


# ----------------------------------------------------------------------------
# The canonical skeleton


def rest_offsets(bone_lengths):
  """`kinematics.forward_kinematics` offsets of the canonical rest skeleton.

  Args:
    bone_lengths: length of the bone ending at each joint, mm (the root's is
      ignored).  # [..., 22]

  Returns:
    [..., 22, 3], the root's row zero.
  """
  check_array("bone_lengths", bone_lengths, ("...", NUM_JOINTS), finite=False)
  xp = jnp if isinstance(bone_lengths, jax.Array) else np
  rest = xp.asarray(REST_DIRECTIONS, dtype=xp.asarray(bone_lengths).dtype)
  return xp.asarray(bone_lengths)[..., None] * rest


def forward_kinematics(body_pose, bone_lengths, root_orient=None, trans=None):
  """Joint positions of body-space poses on a skeleton of given bone lengths.

  Works on numpy or jax arrays (jit, vmap and grad through jax).

  Args:
    body_pose: axis-angle of joints 1..21.  # [..., 63]
    bone_lengths: mm, e.g. `median_bone_lengths` of the training data.
      # [22] or [..., 22]
    root_orient: pelvis orientation; None keeps the body axes (Y up).
      # [..., 3]
    trans: pelvis position, mm; None puts it at the origin.  # [..., 3]

  Returns:
    [..., 22, 3] joints in `SMPL_22` order, mm.
  """
  pose = body_model.from_body_vector(body_pose, root_orient)  # [..., 22, 3]
  arrays = (body_pose, bone_lengths, root_orient, trans)
  xp = jnp if any(isinstance(a, jax.Array) for a in arrays) else np
  local = rotations.axis_angle_to_matrix(xp.asarray(pose), xp=xp)  # [..., 22, 3, 3]
  offsets = rest_offsets(xp.asarray(bone_lengths, dtype=local.dtype))
  _, joints = kinematics.forward_kinematics(local, offsets, PARENTS)
  if trans is not None:
    check_array("trans", trans, ("...", 3), finite=False)
    joints = joints + xp.asarray(trans, dtype=joints.dtype)[..., None, :]
  return joints


def bone_lengths(joints) -> np.ndarray:
  """Lengths of the bones ending at each joint (0 for the root).

  Args:
    joints: [..., 22, 3] in `SMPL_22` order.

  Returns:
    [..., 22].
  """
  check_array("joints", joints, ("...", NUM_JOINTS, 3))
  joints = np.asarray(joints, np.float64)
  parent = np.array([max(p, 0) for p in PARENTS])
  return np.linalg.norm(joints - joints[..., parent, :], axis=-1)


def median_bone_lengths(lengths, *, symmetric: bool = True) -> np.ndarray:
  """The canonical skeleton of a data set: per-bone median of its rows.

  Args:
    lengths: bone lengths of many rows (frames or clips), mm.  # [N, 22]
    symmetric: give a left bone and its right mirror their common median
      (the rest skeleton is symmetric, like its rest directions).

  Returns:
    float32 [22].
  """
  check_array("lengths", lengths, ("N", NUM_JOINTS))
  if len(lengths) == 0:
    raise ValueError("lengths: no rows")
  med = np.median(np.asarray(lengths, np.float64), axis=0)
  if symmetric:
    left, right = list(SMPL_22.left), list(SMPL_22.right)
    both = 0.5 * (med[left] + med[right])
    med[left], med[right] = both, both
  return med.astype(np.float32)


def bone_angles(joints, reference, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
  """Angles between the same bones of two joint sets, degrees.

  Args:
    joints: [..., J, 3].
    reference: [..., K, 3] (another skeleton's joints; indexed separately).
    pairs: ((child, parent) in `joints`, (child, parent) in `reference`)
      pairs, one per bone compared.

  Returns:
    [..., P] angles in [0, 180].
  """
  joints, reference = np.asarray(joints, np.float64), np.asarray(reference, np.float64)
  (ca, pa), (cb, pb) = zip(*[p[0] for p in pairs]), zip(*[p[1] for p in pairs])
  a = joints[..., list(ca), :] - joints[..., list(pa), :]
  b = reference[..., list(cb), :] - reference[..., list(pb), :]
  cos = np.sum(a * b, -1) / np.maximum(
      np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1), 1e-12)
  return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


# ----------------------------------------------------------------------------
# World rotations -> body space


def fill_world(world_rot, fill: Mapping[int, str]) -> np.ndarray:
  """Completes world rotations for joints a source lacks.

  Args:
    world_rot: world rotation of every joint (rows of `fill` ignored).
      # [..., 22, 3, 3]
    fill: joint index -> 'parent' (the joint keeps its parent's rotation:
      identity local rotation) or 'mid' (the geodesic midpoint of its
      parent's and its only child's rotations: the child's local rotation is
      split evenly over the two joints).

  Returns:
    [..., 22, 3, 3] (a copy).
  """
  out = np.array(world_rot, dtype=np.float64)
  for k in sorted(fill):  # parents first
    p = PARENTS[k]
    if fill[k] == "parent":
      out[..., k, :, :] = out[..., p, :, :]
    elif fill[k] == "mid":
      child = [c for c, q in enumerate(PARENTS) if q == k]
      if len(child) != 1 or child[0] in fill:
        raise ValueError(f"fill: joint {SMPL_22.joint_names[k]!r} needs one "
                         "child with its own rotation for 'mid'")
      out[..., k, :, :] = geodesic_midpoint(out[..., p, :, :], out[..., child[0], :, :])
    else:
      raise ValueError(f"fill[{k}]: expected 'parent' or 'mid', got {fill[k]!r}")
  return out


def from_world(world_rot, trans) -> dict:
  """Body-space pose from world rotations of the 22 joints.

  Args:
    world_rot: each joint's rotation from body axes at rest to the jaxpose
      world.  # [F, 22, 3, 3]
    trans: pelvis positions, mm.  # [F, 3]

  Returns:
    dict(body_pose float32 [F, 63], root_orient float32 [F, 3], trans
    float32 [F, 3]).
  """
  check_array("world_rot", world_rot, ("F", NUM_JOINTS, 3, 3))
  check_array("trans", trans, (np.shape(world_rot)[0], 3))
  world_rot = np.asarray(world_rot, np.float64)
  parent = np.array([max(p, 0) for p in PARENTS])
  local = np.swapaxes(world_rot[:, parent], -1, -2) @ world_rot  # [F, 22, 3, 3]
  local[:, 0] = world_rot[:, 0]
  rotvec = rotations.matrix_to_axis_angle(local)  # [F, 22, 3]
  return dict(body_pose=body_model.to_body_vector(rotvec).astype(np.float32),
              root_orient=rotvec[:, 0].astype(np.float32),
              trans=np.asarray(trans, np.float32))


def from_amass(amass) -> dict:
  """An AMASS sequence in the body space.

  AMASS's `pose_body` (SMPL-H / SMPL-X joints 1..21 relative to SMPL's
  T-pose in these axes) is taken unchanged; its root orientation already
  maps body axes to a Z-up world.  Its `trans` is SMPL's translation, off
  the pelvis by the subject's rest pelvis (a body-model value, not added).

  Args:
    amass: `jaxpose.data.amass.load_amass`'s dict (pose reads no files).

  Returns:
    dict(body_pose float32 [F, 63], root_orient [F, 3], trans [F, 3] mm).
  """
  if not isinstance(amass, Mapping):
    raise TypeError(f"amass: expected jaxpose.data.amass.load_amass's dict, got "
                    f"{type(amass).__name__}; read the file with load_amass first")
  missing = [k for k in ("pose_body", "root_orient", "trans") if k not in amass]
  if missing:
    raise KeyError(f"amass: missing {missing}; expected "
                   "jaxpose.data.amass.load_amass's dict")
  check_array("amass['pose_body']", amass["pose_body"], ("F", BODY_POSE_DIM))
  return dict(body_pose=np.asarray(amass["pose_body"], np.float32),
              root_orient=np.asarray(amass["root_orient"], np.float32),
              trans=(np.asarray(amass["trans"], np.float64) * 1000.0).astype(np.float32))


# ----------------------------------------------------------------------------
# Rotation algebra of the calibration (numpy)


def geodesic_midpoint(a, b) -> np.ndarray:
  """a @ sqrt(a^T b): halfway from rotation a to rotation b.  [..., 3, 3]."""
  half = 0.5 * rotations.matrix_to_axis_angle(np.swapaxes(a, -1, -2) @ b)
  return a @ rotations.axis_angle_to_matrix(half)


def shortest_arc(a, b) -> np.ndarray:
  """The smallest rotation taking direction a to direction b.  [3] -> [3, 3]."""
  a, b = _unit(*a), _unit(*b)
  axis = np.cross(a, b)
  s, c = np.linalg.norm(axis), float(np.dot(a, b))
  if s < 1e-9:
    if c > 0:
      return np.eye(3)
    raise ValueError(f"shortest_arc: {a} and {b} are opposite; the rotation "
                     "between them is not unique")
  return rotations.axis_angle_to_matrix(axis / s * np.arctan2(s, c))


def frame_from_pairs(aim, aim_to, twist, twist_to) -> np.ndarray:
  """The rotation taking `aim` exactly to `aim_to` and `twist` (its part
  orthogonal to `aim`) to `twist_to`'s part orthogonal to `aim_to`.  [3, 3]."""
  def basis(a, t):
    a = _unit(*a)
    t = np.asarray(t, np.float64) - np.dot(t, a) * a
    if np.linalg.norm(t) < 1e-6:
      raise ValueError("frame_from_pairs: the twist direction is parallel to "
                       "the aim direction")
    t = t / np.linalg.norm(t)
    return np.stack([a, t, np.cross(a, t)], -1)
  return basis(aim_to, twist_to) @ basis(aim, twist).T


def wahba(u, d, weights=None) -> np.ndarray:
  """The rotation R minimising sum_i w_i |R u_i - d_i|^2 (Kabsch), per batch row.

  Args:
    u: [..., n, 3] directions in the source frame (n >= 2, not all parallel).
    d: [..., n, 3] the directions they should become.
    weights: [n] (default ones).

  Returns:
    [..., 3, 3].
  """
  u, d = np.asarray(u, np.float64), np.asarray(d, np.float64)
  w = np.ones(u.shape[-2]) if weights is None else np.asarray(weights, np.float64)
  h = np.einsum("...ni,...nj->...ij", d * w[:, None], u)
  x, _, yt = np.linalg.svd(h)
  s = np.ones(h.shape[:-2] + (3,))
  s[..., 2] = np.sign(np.linalg.det(x @ yt))
  return (x * s[..., None, :]) @ yt


def mean_rotation(r) -> np.ndarray:
  """Chordal L2 mean of rotations: the rotation nearest their mean matrix.

  Args:
    r: [N, 3, 3].
  """
  m = np.mean(np.asarray(r, np.float64), axis=0)
  x, _, yt = np.linalg.svd(m)
  return x @ np.diag([1.0, 1.0, np.sign(np.linalg.det(x @ yt))]) @ yt


def hinge_axis(relative, bone) -> np.ndarray:
  """A hinge's axis from rotations about it, signed so flexion is positive.

  The twist about the child bone (e.g. a forearm's roll that an elbow joint
  also carries) is removed first; the axis is the principal direction of
  the remaining swing axis-angles, and its sign makes their mean angle
  positive (a knee or an elbow flexes one way only).

  Args:
    relative: child relative to parent, [N, 3, 3] (parent frame).
    bone: [3], the child bone's direction at zero rotation (parent frame).

  Returns:
    [3] unit axis in the parent frame.
  """
  bone = _unit(*bone)
  # Swing: the rotation taking the bone to its rotated direction.
  moved = np.asarray(relative) @ bone  # [N, 3]
  axis = np.cross(bone, moved)
  s = np.linalg.norm(axis, axis=-1, keepdims=True)
  swing = axis / np.maximum(s, 1e-12) * np.arctan2(s, moved @ bone[:, None])
  _, _, vt = np.linalg.svd(swing, full_matrices=False)
  h = vt[0]
  return h if np.mean(swing @ h) >= 0 else -h
