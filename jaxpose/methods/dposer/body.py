"""DPoser's body: the normalised rotation vector and the joints it makes.

  ZScore      per-dimension mean and standard deviation of the training
              split's 63-D body poses (DPoser's normalisation: z-score
              beats min-max and none in the paper's ablation).
  BodyJoints  body pose (+ root orientation, translation) -> the 22 SMPL
              joints, by forward kinematics of the canonical skeleton (bone
              lengths from the training data, no licensed numbers) or, when
              the user has a model file, by the SMPL-family body model's
              linear blend skinning (then vertices too); and -> Human3.6M's
              17 joints by a linear regressor fitted on the training data,
              so DPoser's poses sit in the same tables as GFPose's.

Everything here is pure jnp (jit, vmap and grad pass through) with the
data-derived constants held as numpy arrays.
"""
from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from jaxpose import checks
from jaxpose.pose import body_model as body_model_lib
from jaxpose.pose import body_space
from jaxpose.pose import joint_maps
from jaxpose.pose.skeleton import SMPL_22

DIM = body_space.BODY_POSE_DIM  # 63
# DPoser's completion parts, SMPL_22 joints whose rotations are masked (the
# pelvis's is the root orientation, never masked).
PARTS = {
    "l_leg": (1, 4, 7, 10), "r_arm": (14, 17, 19, 21),
    "legs": (1, 2, 4, 5, 7, 8, 10, 11), "arms": (13, 14, 16, 17, 18, 19, 20, 21),
    "trunk": (3, 6, 9, 12, 15),
}
# A dimension that never moves in the training data (a joint the source
# lacks, e.g. the synthetic rig's feet) would divide by zero.
MIN_STD = 1e-2


def check_body_pose(name: str, x, *, finite: bool = True):
  """`x` must be `[..., 63]` (21 joints x axis-angle), finite."""
  x = np.asarray(x) if not hasattr(x, "dtype") else x
  if np.ndim(x) < 1 or np.shape(x)[-1] != DIM:
    raise ValueError(
        f"{name}: expected body poses of shape [..., {DIM}] (the 21 body joints "
        f"of the SMPL tree x axis-angle), got shape {tuple(np.shape(x))}")
  checks.check_array(name, x, ("...", DIM), finite=finite)
  return x


@dataclasses.dataclass(frozen=True)
class ZScore:
  """Per-dimension normalisation of body poses.  mean, std: [63]."""
  mean: np.ndarray
  std: np.ndarray

  @classmethod
  def fit(cls, body_pose) -> "ZScore":
    x = np.asarray(check_body_pose("body_pose", body_pose), np.float64)
    if x.ndim != 2 or len(x) < 2:
      raise ValueError(f"body_pose: need [N >= 2, {DIM}] training rows, got "
                       f"{x.shape}")
    return cls(mean=x.mean(0).astype(np.float32),
               std=np.maximum(x.std(0), MIN_STD).astype(np.float32))

  def standardize(self, x):
    return (x - self.mean) / self.std

  def unstandardize(self, z):
    return z * self.std + self.mean


@dataclasses.dataclass(frozen=True)
class BodyJoints:
  """Joints (and vertices, with a body model) of body-space poses.

  Attributes:
    bone_lengths: the canonical skeleton, mm.  # [22]
    regressor: SMPL_22 -> H36M_17 joints, rows summing to 1.  # [17, 22]
    model: a `body_model.BodyModel` (mm) or None (forward kinematics).
  """
  bone_lengths: np.ndarray
  regressor: np.ndarray
  model: body_model_lib.BodyModel | None = None

  @property
  def has_vertices(self) -> bool:
    return self.model is not None

  def _posed(self, body_pose, root_orient, trans):
    pose = body_model_lib.from_body_vector(body_pose, root_orient,
                                           num_joints=self.model.num_joints)
    return body_model_lib.pose_body(self.model, pose=pose, trans=trans)

  def joints(self, body_pose, root_orient=None, trans=None, bone_lengths=None):
    """[..., 63] (+ [..., 3] root orientation, [..., 3] mm) -> [..., 22, 3] mm.

    bone_lengths: a skeleton other than the canonical one (e.g. a clip's
    own), forward kinematics only.
    """
    if self.model is None:
      lengths = self.bone_lengths if bone_lengths is None else bone_lengths
      return body_space.forward_kinematics(body_pose, lengths, root_orient, trans)
    return self._posed(body_pose, root_orient, trans).joints[..., :SMPL_22.num_joints, :]

  def vertices(self, body_pose, root_orient=None, trans=None):
    """[..., V, 3] mm of the body model's mesh (None without a model)."""
    if self.model is None:
      return None
    return self._posed(body_pose, root_orient, trans).vertices

  def h36m(self, joints22):
    """[..., 22, 3] -> Human3.6M's [..., 17, 3] by the fitted regressor."""
    return joint_maps.apply_regressor(self.regressor, joints22)


def fit_body_joints(train: dict, *, model=None, max_rows: int = 20000) -> BodyJoints:
  """The canonical skeleton and the 22 -> 17 regressor of a training split.

  train: rows with body_pose [N, 63], body_root_orient [N, 3], body_trans
  [N, 3], body_bone_lengths [N, 22] and pose3d_world [N, 17, 3] (the same
  frames in the same world frame, mm).  The regressor is fitted on at most
  `max_rows` evenly spaced rows, each posed on its own skeleton so that
  only the joint definitions differ.
  """
  lengths = body_space.median_bone_lengths(train["body_bone_lengths"])
  n = len(train["body_pose"])
  rows = np.unique(np.linspace(0, n - 1, min(n, max_rows)).astype(int))
  joints22 = body_space.forward_kinematics(
      np.asarray(train["body_pose"][rows], np.float64),
      np.asarray(train["body_bone_lengths"][rows], np.float64),
      np.asarray(train["body_root_orient"][rows], np.float64),
      np.asarray(train["body_trans"][rows], np.float64))
  regressor = joint_maps.fit_joint_regressor(
      joints22, np.asarray(train["pose3d_world"][rows], np.float64))
  return BodyJoints(bone_lengths=np.asarray(lengths, np.float32),
                    regressor=np.asarray(regressor, np.float32), model=model)


def descendants(joints) -> tuple[int, ...]:
  """The SMPL_22 joints whose positions move with these joints' rotations."""
  out = set()
  for j in range(SMPL_22.num_joints):
    p = SMPL_22.parents[j]
    while p >= 0:
      if p in joints:
        out.add(j)
        break
      p = SMPL_22.parents[p]
  return tuple(sorted(out))


def part_dims(joints) -> np.ndarray:
  """Boolean [63] mask of the body-pose dimensions of these SMPL_22 joints."""
  mask = np.zeros((SMPL_22.num_joints - 1, 3), bool)
  for j in joints:
    if j == 0:
      raise ValueError("joints: the pelvis (0) has no body-pose dimensions "
                       "(its rotation is the root orientation)")
    mask[j - 1] = True
  return mask.reshape(-1)


__all__ = ["DIM", "PARTS", "ZScore", "BodyJoints", "fit_body_joints", "check_body_pose",
           "descendants", "part_dims"]
