"""Body-space rotations of poses given only as Human3.6M joint positions.

DPoser's prior lives on body-space rotations (`jaxpose.pose.body_space`);
the mocap and synthetic datasets carry their own rigs' rotations, but a
user's npz or Human3.6M's files hold joint places only.  `body_from_joints`
finds the pose by inverse kinematics, joint by joint down the SMPL tree, on
a skeleton of each frame's own bone lengths:

  pelvis        the hips' line and, for its tilt, the line from between
                the hips to Human3.6M's spine joint; placed above the
                hips' midpoint where the body's rest puts both hips on
                theirs (Human3.6M's pelvis is their midpoint);
  spine1/2      spine1 swings from the pelvis's frame onto the line to the
                spine joint, spine2 keeps it (the two bones after spine1
                lie on that line);
  spine3        up onto the thorax, the line from the right shoulder to the
                left for its twist;
  every other   its parent's frame swung by the smallest rotation onto the
  placed bone   direction from where the skeleton has put this joint so far
                to the next placed joint (knees, ankles, elbows, wrists,
                shoulders, the neck's head);
  leaves        (ankles, feet, wrists, head) and joints with nothing to aim
                at keep their parent's frame.

Twist about a limb cannot be seen in joint places; the smallest swing makes
it the parent's, the same for every dataset read this way, so a prior
trained on such rotations agrees with the poses it is used on.  (A rig's
rotations, the mocap datasets', carry its own twists: never mix the two.)

Every joint with a place is reached exactly (`residual_mm` says how
nearly, per frame) except the collars: Human3.6M's start at the thorax,
the body's 18 degrees off it, and the shoulders beyond them are reached.
The pose is frame-free: turning the input turns only `root_orient` and
`trans`.
"""
from __future__ import annotations

from absl import logging
import numpy as np

from jaxpose.checks import check_array
from jaxpose.data import body_sources
from jaxpose.data import bvh_export
from jaxpose.pose import body_space
from jaxpose.pose.skeleton import H36M_17
from jaxpose.pose.skeleton import SMPL_22

NAMES = SMPL_22.joint_names
# SMPL joint -> the Human3.6M joint at its place: the synthetic skeleton's
# map (the collars start at the thorax).
PLACES = dict(body_sources.SYNTHETIC.position)
# The joints placed on their Human3.6M joints (module docstring).
REACHED = tuple(k for k in PLACES if k != "pelvis" and not k.endswith("_collar"))
BODY_KEYS = ("body_pose", "body_root_orient", "body_trans", "body_bone_lengths")


def _unit(v) -> np.ndarray:
  return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _swing(parent_world, rest, direction) -> np.ndarray:
  """World frames: the parent's turned by the smallest rotation taking the
  rest direction (body axes) onto `direction` (world).  [N, 3, 3]."""
  in_parent = np.einsum("nba,nb->na", parent_world, _unit(direction))
  return parent_world @ bvh_export.swing(rest, in_parent)


def body_from_joints(joints_mm) -> dict:
  """Body-space poses of Human3.6M joint places (module docstring).

  Args:
    joints_mm: `skeleton.H36M_17` joints in any right-handed frame, mm
      (absolute or root-relative).  # [N, 17, 3]

  Returns:
    dict(body_pose float32 [N, 63], root_orient [N, 3] (body axes -> the
    input's frame), trans [N, 3] (the pelvis, mm), bone_lengths [N, 22]
    (each frame's skeleton, mm), residual_mm [N]: the largest distance of
    a joint of the body's forward kinematics from its Human3.6M place,
    over the joints it is meant to reach (`REACHED`)).

  Raises:
    ValueError: wrong shape, a non-finite joint, or a frame whose trunk has
      no orientation (two of pelvis, spine, hips, shoulders at one place).
  """
  check_array("joints_mm", joints_mm, ("N", 17, 3))
  x = np.asarray(joints_mm, np.float64)
  n = len(x)
  at = {k: x[:, H36M_17.index(v)] for k, v in PLACES.items()}
  short = np.zeros(n, bool)
  for a, b in (("spine3", "pelvis"), ("left_hip", "right_hip"),
               ("left_shoulder", "right_shoulder")):
    short |= np.linalg.norm(at[a] - at[b], axis=-1) < 1e-6
  if short.any():
    raise ValueError(f"joints_mm: frame {int(np.flatnonzero(short)[0])}: two of the "
                     "pelvis, spine, hips or shoulders share one place; the "
                     "trunk's rotation is undefined")
  rest = body_space.REST_DIRECTIONS
  ix = NAMES.index
  parent = SMPL_22.parents
  world = np.zeros((n, 22, 3, 3))
  placed = np.zeros((n, 22, 3))  # where the skeleton puts each joint
  lengths = np.zeros((n, 22))

  def place(k, length):
    """Joint k along its rest bone in its parent's frame."""
    lengths[:, ix(k)] = length
    placed[:, ix(k)] = placed[:, parent[ix(k)]] + length[:, None] * np.einsum(
        "nab,b->na", world[:, parent[ix(k)]], rest[ix(k)])

  def reach(k):
    """Joint k placed at its Human3.6M joint (its parent aims there)."""
    place(k, np.linalg.norm(at[k] - placed[:, parent[ix(k)]], axis=-1))

  def aim(k, child, frame_of=None):
    """k's frame: its parent's (or `frame_of`'s) swung onto the child."""
    base = world[:, parent[ix(k)] if frame_of is None else ix(frame_of)]
    world[:, ix(k)] = _swing(base, rest[ix(child)], at[child] - placed[:, ix(k)])

  def keep(k):
    world[:, ix(k)] = world[:, parent[ix(k)]]

  # The pelvis, spine3 and the rest as in the module docstring.
  world[:, 0] = bvh_export.frame_from_pairs(
      np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]),
      at["left_hip"] - at["right_hip"],
      at["spine3"] - (at["left_hip"] + at["right_hip"]) / 2)
  hip = rest[ix("left_hip")]
  half_width = np.linalg.norm(at["left_hip"] - at["right_hip"], axis=-1) / 2
  placed[:, 0] = (at["left_hip"] + at["right_hip"]) / 2 + np.einsum(
      "nab,b->na", world[:, 0], np.array([0.0, -hip[1] / hip[0], 0.0])) * half_width[:, None]
  for side in ("left", "right"):
    reach(f"{side}_hip")
    aim(f"{side}_hip", f"{side}_knee")
  # The spine's three bones share the chord: spine1 on the pelvis's frame,
  # spine2 and spine3 on the line from spine1 to the spine joint.
  place("spine1", np.linalg.norm(at["spine3"] - placed[:, 0], axis=-1) / 3)
  aim("spine1", "spine3")
  keep("spine2")
  half = np.linalg.norm(at["spine3"] - placed[:, ix("spine1")], axis=-1) / 2
  place("spine2", half)
  place("spine3", half)
  world[:, ix("spine3")] = bvh_export.frame_from_pairs(
      rest[ix("neck")], np.array([1.0, 0.0, 0.0]),
      at["neck"] - placed[:, ix("spine3")], at["left_shoulder"] - at["right_shoulder"])
  neck = np.linalg.norm(at["neck"] - placed[:, ix("spine3")], axis=-1)
  place("neck", neck)
  aim("neck", "head")
  reach("head")
  keep("head")
  for side in ("left", "right"):
    place(f"{side}_collar", neck)
    aim(f"{side}_collar", f"{side}_shoulder")
    for k, child in (("knee", "ankle"), ("shoulder", "elbow"), ("elbow", "wrist")):
      reach(f"{side}_{k}")
      aim(f"{side}_{k}", f"{side}_{child}")
    for k in ("ankle", "wrist"):
      reach(f"{side}_{k}")
      keep(f"{side}_{k}")
    place(f"{side}_foot", np.zeros(n))  # Human3.6M has no toes
    keep(f"{side}_foot")
  pose = body_space.from_world(world, placed[:, 0])
  fk = body_space.forward_kinematics(pose["body_pose"].astype(np.float64), lengths,
                                     pose["root_orient"].astype(np.float64),
                                     placed[:, 0])
  reached = [ix(k) for k in REACHED]
  residual = np.linalg.norm(fk[:, reached] - np.stack([at[k] for k in REACHED], 1),
                            axis=-1)
  return dict(body_pose=pose["body_pose"], root_orient=pose["root_orient"],
              trans=pose["trans"], bone_lengths=lengths.astype(np.float32),
              residual_mm=residual.max(axis=1).astype(np.float32))


def with_body(split: dict, *, where: str) -> dict:
  """`split` with the body-space keys DPoser reads, fitted to its joints.

  The joints are the camera-frame ones (`pose3d` plus `root_cam_mm` where
  the split has it, else root-relative), so `body_root_orient` and
  `body_trans` are camera-frame too, and `pose3d_world` (the joints the
  body's Human3.6M regressor is fitted against) is set to them where the
  split has no world poses of its own.

  Args:
    split: a `datasets` split (`pose3d` [N, 17, 3] mm).
    where: the dataset and split, for errors and the log.
  """
  pose3d = np.asarray(split["pose3d"], np.float64)
  if pose3d.ndim != 3 or pose3d.shape[1:] != (17, 3):
    raise ValueError(f"{where}: data.body needs the 17 Human3.6M joints [N, 17, 3]; "
                     f"got pose3d of shape {pose3d.shape}")
  if "pose3d_world" in split:
    joints = np.asarray(split["pose3d_world"], np.float64)
  elif "root_cam_mm" in split:
    joints = pose3d + np.asarray(split["root_cam_mm"], np.float64)[:, None]
  else:
    joints = pose3d
  out = dict(split)
  if len(joints):
    try:
      body = body_from_joints(joints)
    except ValueError as e:
      raise ValueError(f"{where}: {e}") from None
    logging.info("%s: body rotations fitted to %d poses' joints (largest miss "
                 "%.2g mm)", where, len(joints), float(body["residual_mm"].max()))
  else:
    body = dict(body_pose=np.zeros((0, 63), np.float32),
                root_orient=np.zeros((0, 3), np.float32),
                trans=np.zeros((0, 3), np.float32),
                bone_lengths=np.zeros((0, 22), np.float32))
  out.update(body_pose=body["body_pose"], body_root_orient=body["root_orient"],
             body_trans=body["trans"], body_bone_lengths=body["bone_lengths"])
  out.setdefault("pose3d_world", joints.astype(np.float32))
  return out


__all__ = ["PLACES", "REACHED", "BODY_KEYS", "body_from_joints", "with_body"]
