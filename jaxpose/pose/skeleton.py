"""Skeleton definitions: Human3.6M's 17 joints (used everywhere) and SMPL's 22.

One place holds the joint order, the kinematic tree, the left/right split and
the five body parts that GFPose masks as a unit.  Every other module imports
`H36M_17` (joint positions) or `SMPL_22` (the body-space rotations of
`jaxpose.pose.body_space`) from here instead of repeating index lists.
"""
from __future__ import annotations

import dataclasses
from typing import Mapping

import numpy as np


@dataclasses.dataclass(frozen=True)
class Skeleton:
  """A kinematic tree over named joints.

  Attributes:
    name: short identifier, stored in checkpoints and caches.
    joint_names: one name per joint, in array order.
    parents: parent index per joint, -1 for the root.  Parents come before
      children, so a single forward pass over joints is a valid FK order.
    left: indices of joints on the subject's left side.
    right: indices of the mirrored right-side joints, paired with `left`.
    parts: body part name -> joint indices; the parts cover every joint once.
    limb_ends: joints GFPose draws from for "k missing joints" completion.
  """
  name: str
  joint_names: tuple[str, ...]
  parents: tuple[int, ...]
  left: tuple[int, ...]
  right: tuple[int, ...]
  parts: Mapping[str, tuple[int, ...]]
  limb_ends: tuple[int, ...] = ()

  def __post_init__(self):
    n = len(self.joint_names)
    if len(self.parents) != n:
      raise ValueError(f"{self.name}: {len(self.parents)} parents for {n} joints")
    for j, p in enumerate(self.parents):
      if not (p == -1 and j == 0) and not 0 <= p < j:
        raise ValueError(
            f"{self.name}: joint {j} ({self.joint_names[j]}) has parent {p}; "
            "the root must be joint 0 and parents must precede children")
    if len(self.left) != len(self.right):
      raise ValueError(f"{self.name}: left and right joint lists differ in length")
    covered = sorted(j for part in self.parts.values() for j in part)
    if covered != list(range(n)):
      raise ValueError(f"{self.name}: body parts must cover every joint exactly once")

  def __hash__(self):
    # `parts` is a dict, so the generated hash would fail; hashing lets a
    # Skeleton be a static argument of jax.jit.
    return hash((self.name, self.joint_names, self.parents, self.left,
                 self.right, tuple(self.parts.items()), self.limb_ends))

  @property
  def num_joints(self) -> int:
    return len(self.joint_names)

  @property
  def part_names(self) -> tuple[str, ...]:
    return tuple(self.parts)

  @property
  def part_of_joint(self) -> np.ndarray:
    """int array [J]: index into `part_names` of the part holding each joint."""
    out = np.empty(self.num_joints, dtype=np.int32)
    for i, joints in enumerate(self.parts.values()):
      out[list(joints)] = i
    return out

  @property
  def bones(self) -> tuple[tuple[int, int], ...]:
    """(child, parent) pairs, one per non-root joint."""
    return tuple((j, p) for j, p in enumerate(self.parents) if p >= 0)

  @property
  def flip_permutation(self) -> np.ndarray:
    """Joint permutation that swaps left and right (for mirror augmentation)."""
    perm = np.arange(self.num_joints)
    perm[list(self.left)] = self.right
    perm[list(self.right)] = self.left
    return perm

  def index(self, joint_name: str) -> int:
    try:
      return self.joint_names.index(joint_name)
    except ValueError:
      raise KeyError(f"{self.name} has no joint {joint_name!r}; joints are "
                     f"{', '.join(self.joint_names)}") from None


# Joint order of Human3.6M as used by VideoPose3D and GFPose.
H36M_17 = Skeleton(
    name="h36m_17",
    joint_names=("pelvis", "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee",
                 "l_ankle", "spine", "thorax", "neck", "head", "l_shoulder",
                 "l_elbow", "l_wrist", "r_shoulder", "r_elbow", "r_wrist"),
    parents=(-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15),
    left=(4, 5, 6, 11, 12, 13),
    right=(1, 2, 3, 14, 15, 16),
    # GFPose's five parts; the order fixes the part index used by masking.
    parts={
        "torso": (0, 7, 8, 9, 10),
        "r_leg": (1, 2, 3),
        "l_leg": (4, 5, 6),
        "l_arm": (11, 12, 13),
        "r_arm": (14, 15, 16),
    },
    limb_ends=(2, 3, 5, 6, 12, 13, 15, 16),
)


# SMPL's 22-joint body (the first 22 joints of SMPL, SMPL-H and SMPL-X:
# pelvis plus the 21 body joints whose axis-angle rotations make DPoser's
# 63-D body pose), in the publishers' joint order.  Only names and the tree
# are written here: no body model values.  `jaxpose.pose.body_space` gives
# it a canonical rest skeleton.
SMPL_22 = Skeleton(
    name="smpl_22",
    joint_names=("pelvis", "left_hip", "right_hip", "spine1", "left_knee",
                 "right_knee", "spine2", "left_ankle", "right_ankle", "spine3",
                 "left_foot", "right_foot", "neck", "left_collar",
                 "right_collar", "head", "left_shoulder", "right_shoulder",
                 "left_elbow", "right_elbow", "left_wrist", "right_wrist"),
    parents=(-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17,
             18, 19),
    left=(1, 4, 7, 10, 13, 16, 18, 20),
    right=(2, 5, 8, 11, 14, 17, 19, 21),
    # Same five parts as H36M_17's (the collars go with their arms).
    parts={
        "torso": (0, 3, 6, 9, 12, 15),
        "r_leg": (2, 5, 8, 11),
        "l_leg": (1, 4, 7, 10),
        "l_arm": (13, 16, 18, 20),
        "r_arm": (14, 17, 19, 21),
    },
    limb_ends=(7, 8, 10, 11, 18, 19, 20, 21),
)
