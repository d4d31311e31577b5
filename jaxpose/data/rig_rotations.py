"""A rig's joint rotations, for a rotation prior, and forward kinematics back.

Rotations for a rotation prior (DPoser-style) come from the same FK as the
rig's Human3.6M joints (`rigs.world_pose`): the body is the smallest subtree
holding every mapped joint, rooted at their lowest common ancestor;
`to_rotations` gives axis-angle per body joint relative to its parent plus
root orientation, translation and rest offsets, and `fk_from_rotations`
rebuilds positions from them (numpy or jax).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxpose.checks import check_array
from jaxpose.data import bvh as bvh_lib
from jaxpose.data import rigs
from jaxpose.data.rigs import RigSpec, get_rig
from jaxpose.pose import rotations
from jaxpose.pose.skeleton import H36M_17


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
  _, world_r, world_p, _ = rigs.world_pose(motion, rig, check_up)
  return rotations_from_world(motion, rig, world_r, world_p)


def rotations_from_world(motion: bvh_lib.BvhMotion, rig: RigSpec, world_r,
                         world_p) -> dict:
  """`to_rotations` from `rigs.world_pose`'s world rotations and positions."""
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
