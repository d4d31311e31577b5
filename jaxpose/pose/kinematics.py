"""Forward kinematics over a kinematic tree: world rotations and positions.

One recursion shared by everything that poses a skeleton from per-joint
rotations: the SMPL / SMPL-X body model (`jaxpose.pose.body_model`) and
DPoser-style plain FK of a fixed rest skeleton, and a BVH rig's rotations
(`jaxpose.data.rig_rotations`: the body root's world rotation and position
first, then the body joints with their parents shifted by one).

Works on numpy arrays (host-side data preparation) and on jax arrays (inside
`jit`, `vmap` and `grad`); the backend follows the inputs.  The loop runs
over the joints in Python with `parents` static, so a traced program holds
J small matrix products.
"""
from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxpose.checks import check_array

# Full float32 products on accelerators: TF32 would leave errors of about a
# millimetre on a body a metre and a half tall.
_HIGHEST = jax.lax.Precision.HIGHEST


def check_parents(parents: Sequence[int], name: str = "parents") -> tuple[int, ...]:
  """Validates a parent list; returns it as a tuple of Python ints.

  Args:
    parents: J ints; -1 marks a root (a joint placed in the world frame).
    name: what to call the list in error messages.

  Raises:
    ValueError: a parent that is not -1 and not an earlier joint.  Parents
      must come before their children (the order of the SMPL publishers'
      kintree tables and of jaxpose's skeletons), which lets one pass in
      index order place every joint.
  """
  out = tuple(int(p) for p in np.asarray(parents).reshape(-1))
  if not out:
    raise ValueError(f"{name}: no joints")
  for j, p in enumerate(out):
    if p != -1 and not 0 <= p < j:
      raise ValueError(
          f"{name}: joint {j} has parent {p}; expected -1 (a root) or an "
          f"earlier joint (0..{j - 1}): parents must come before children")
  return out


def forward_kinematics(local_rot, offsets, parents: Sequence[int]):
  """World rotations and positions of every joint of a tree.

  For each joint j with parent p:
    world_rot[j] = world_rot[p] @ local_rot[j]
    world_pos[j] = world_pos[p] + world_rot[p] @ offsets[j]
  and for a root (p = -1): world_rot[j] = local_rot[j], world_pos[j] =
  offsets[j].

  Args:
    local_rot: rotation of each joint relative to its parent.  # [..., J, 3, 3]
    offsets: each joint's position in its parent's frame at rest; a root's
      is its world position.  # [..., J, 3] or [J, 3]
    parents: J static ints, -1 for a root, parents before children.

  Returns:
    (world_rot [..., J, 3, 3], world_pos [..., J, 3]).
  """
  parents = check_parents(parents)
  nj = len(parents)
  check_array("local_rot", local_rot, ("...", nj, 3, 3), finite=False)
  check_array("offsets", offsets, ("...", nj, 3), finite=False)
  if isinstance(local_rot, jax.Array) or isinstance(offsets, jax.Array):
    xp = jnp
    matmul = lambda a, b: jnp.matmul(a, b, precision=_HIGHEST)
  else:
    xp, matmul = np, np.matmul
  local_rot, offsets = xp.asarray(local_rot), xp.asarray(offsets)
  # Both get the full batch shape, so a shared rest skeleton [J, 3] works.
  batch = np.broadcast_shapes(local_rot.shape[:-3], offsets.shape[:-2])
  local_rot = xp.broadcast_to(local_rot, batch + (nj, 3, 3))
  offsets = xp.broadcast_to(offsets, batch + (nj, 3))
  world_rot, world_pos = [], []
  for j, p in enumerate(parents):
    if p < 0:
      world_rot.append(local_rot[..., j, :, :])
      world_pos.append(offsets[..., j, :])
    else:
      world_rot.append(matmul(world_rot[p], local_rot[..., j, :, :]))
      world_pos.append(world_pos[p] + matmul(world_rot[p], offsets[..., j, :, None])[..., 0])
  return xp.stack(world_rot, axis=-3), xp.stack(world_pos, axis=-2)


def rest_offsets(rest_joints, parents: Sequence[int]):
  """Offsets for `forward_kinematics` from rest joint positions.

  A rest pose with identity rotations puts every parent frame parallel to
  the world, so a joint's offset is its position minus its parent's (a
  root keeps its world position).

  Args:
    rest_joints: joint positions at rest.  # [..., J, 3]
    parents: J static ints, -1 for a root.

  Returns:
    [..., J, 3] offsets in the parent frames.
  """
  parents = check_parents(parents)
  check_array("rest_joints", rest_joints, ("...", len(parents), 3), finite=False)
  xp = jnp if isinstance(rest_joints, jax.Array) else np
  rest_joints = xp.asarray(rest_joints)
  idx = np.array([max(p, 0) for p in parents])
  is_root = np.array([p < 0 for p in parents])[:, None]  # [J, 1]
  return rest_joints - xp.where(is_root, 0.0, rest_joints[..., idx, :])
