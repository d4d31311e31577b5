"""A rig's joint rotations, for a rotation prior.

Rotations for a rotation prior (DPoser-style) come from the same FK as the
rig's Human3.6M joints (`rigs.world_pose`): the body is the smallest subtree
holding every mapped joint, rooted at their lowest common ancestor;
`rotations_from_world` gives axis-angle per body joint relative to its
parent plus root orientation, translation and rest offsets
(`jaxpose.pose.kinematics.forward_kinematics` rebuilds positions from them).
"""
from __future__ import annotations

import numpy as np

from jaxpose.data import bvh as bvh_lib
from jaxpose.data import rigs
from jaxpose.data.rigs import RigSpec, get_rig
from jaxpose.pose import rotations


def body_joints(skeleton: bvh_lib.BvhSkeleton, rig: str | RigSpec):
  """The rig's body tree inside a BVH skeleton.

  Returns:
    (root index, body joint indices [Jb] in parent order, body parents [Jb]
    as indices into the body list, -1 for the root).
  """
  rig = get_rig(rig)
  idx = rigs.required_joint_indices(skeleton, rig, "skeleton")
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


HEAD_TOP = "<head_top>"  # the synthetic end joint `rotations_from_world` appends


def rotations_from_world(motion: bvh_lib.BvhMotion, rig: RigSpec, world_r,
                         world_p) -> dict:
  """Joint rotations of the rig's body from `rigs.world_pose`'s world
  rotations and positions.

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
  sk = motion.skeleton
  root, body, parents = body_joints(sk, rig)
  local_r = bvh_lib.local_rotations(motion)[:, body]  # [F, Jb, 3, 3]
  local_t = bvh_lib.local_translations(motion, position_mode=rig.position_mode)[:, body]
  rest = np.median(local_t, axis=0) if motion.num_frames else sk.offsets[body]
  head = int(np.nonzero(body == sk.index(rig.head_top[0]))[0][0])
  to_z = rigs.to_z_up(rig)
  rotvec = rotations.matrix_to_axis_angle(local_r)
  return dict(
      rotvec=np.concatenate([rotvec, np.zeros_like(rotvec[:, :1])], 1).astype(np.float32),
      root_orient=rotations.matrix_to_axis_angle(to_z @ world_r[:, root]).astype(np.float32),
      trans=(world_p[:, root] @ to_z.T * rig.unit_to_mm).astype(np.float32),
      rest_offsets=(np.concatenate([rest, rigs.head_top_offset(sk, rig)[None]])
                    * rig.unit_to_mm).astype(np.float32),
      parents=np.append(parents, head).astype(np.int32),
      names=tuple(sk.names[j] for j in body) + (HEAD_TOP,),
      root_name=sk.names[root],
  )
