"""Left-right mirroring of poses: a pure transform for augmentation.

A mirror reflects x -> -x and swaps every left joint with its right
partner (`Skeleton.flip_permutation`), so the result is a person again.
Rotations of the 63-D body space (`pose.body_space`, X to the subject's
left) are conjugated by M = diag(-1, 1, 1): axis-angle (x, y, z) ->
(x, -y, -z), so forward kinematics of mirrored rotations is the mirrored
joints (tests/pose/test_mirror.py). Numpy or jax arrays, any leading axes.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxpose.checks import check_array
from jaxpose.pose.skeleton import SMPL_22, Skeleton

# Axis-angle of a rotation conjugated by diag(-1, 1, 1).
_ROTVEC_SIGNS = np.array([1.0, -1.0, -1.0], np.float32)


def _xp(*arrays):
  return jnp if any(isinstance(a, jax.Array) for a in arrays) else np


def _negate(x, axis: int):
  xp = _xp(x)
  signs = np.ones(x.shape[-1], np.float32)
  signs[axis] = -1.0
  return x * xp.asarray(signs, dtype=x.dtype)


def mirror_joints(joints, skeleton: Skeleton, *, axis: int = 0):
  """Joints `[..., J, D]` reflected across coordinate `axis` (x -> -x,
  about 0: root-relative or camera-frame poses) with left and right
  swapped."""
  check_array("joints", joints, ("...", skeleton.num_joints, None),
              finite=False)
  joints = _xp(joints).asarray(joints)
  return _negate(joints, axis)[..., skeleton.flip_permutation, :]


def mirror_2d(pose2d, skeleton: Skeleton, *, center=0.0):
  """2D keypoints `[..., J, 2]` flipped about the vertical line u = center
  (pixels, or 0 for screen-normalised coordinates centred on the principal
  point), left and right swapped."""
  check_array("pose2d", pose2d, ("...", skeleton.num_joints, 2),
              finite=False)
  xp = _xp(pose2d)
  pose2d = xp.asarray(pose2d)
  offset = xp.asarray([2.0, 0.0], dtype=pose2d.dtype) * center
  flipped = offset + pose2d * xp.asarray([-1.0, 1.0], dtype=pose2d.dtype)
  return flipped[..., skeleton.flip_permutation, :]


def mirror_per_joint(values, skeleton: Skeleton):
  """Per-joint values `[..., J]` (confidences, visibility, bone lengths)
  with left and right swapped."""
  xp = _xp(values)
  return xp.asarray(values)[..., skeleton.flip_permutation]


def mirror_body_pose(body_pose):
  """The 63-D body pose (axis-angle of SMPL joints 1..21, body axes)
  mirrored: each rotation conjugated by diag(-1, 1, 1), joints swapped."""
  check_array("body_pose", body_pose, ("...", 63), finite=False)
  xp = _xp(body_pose)
  body_pose = xp.asarray(body_pose)
  local = body_pose.reshape(body_pose.shape[:-1] + (21, 3))
  local = local * xp.asarray(_ROTVEC_SIGNS, dtype=local.dtype)
  # SMPL_22's permutation less the root (joint 0 stays joint 0).
  swap = SMPL_22.flip_permutation[1:] - 1
  return local[..., swap, :].reshape(body_pose.shape)


def mirror_root(root_orient, trans=None):
  """(root orientation, translation) of the mirrored body: the world and
  the body axes both reflected across x; `trans` None stays None."""
  check_array("root_orient", root_orient, ("...", 3), finite=False)
  xp = _xp(root_orient)
  root_orient = xp.asarray(root_orient)
  root = root_orient * xp.asarray(_ROTVEC_SIGNS, dtype=root_orient.dtype)
  return root, (None if trans is None else _negate(xp.asarray(trans), 0))


__all__ = ["mirror_joints", "mirror_2d", "mirror_per_joint",
           "mirror_body_pose", "mirror_root"]
