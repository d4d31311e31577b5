"""Sanity checks of converted motion: does a clip look like a person?

On [F, 17, 3] poses in the jaxpose world (millimetres, Z up): rigid bones
keep their length, ankles stay below the head, the left hip is on the
subject's left. `mocap_conversion.convert_clip` refuses clips that fail
them, so a mis-declared rig never reaches a cache.
"""
from __future__ import annotations

import numpy as np

from jaxpose.checks import check_array
from jaxpose.pose.skeleton import H36M_17

# Human3.6M bones that are single rigid bones in both rigs (the torso, neck
# and collar "bones" of Human3.6M span several rig joints and legitimately
# bend or stretch).
RIGID_BONES = tuple((H36M_17.index(c), H36M_17.index(p)) for c, p in (
    ("r_hip", "pelvis"), ("r_knee", "r_hip"), ("r_ankle", "r_knee"),
    ("l_hip", "pelvis"), ("l_knee", "l_hip"), ("l_ankle", "l_knee"),
    ("head", "neck"), ("l_elbow", "l_shoulder"), ("l_wrist", "l_elbow"),
    ("r_elbow", "r_shoulder"), ("r_wrist", "r_elbow")))


def bone_length_spread(pose17, bones=RIGID_BONES) -> np.ndarray:
  """Per bone (max - min) / median length over frames: float [len(bones)]."""
  check_array("pose17", pose17, (None, 17, 3))
  child, parent = np.array(bones).T
  lengths = np.linalg.norm(pose17[:, child] - pose17[:, parent], axis=-1)  # [F, 16]
  return (lengths.max(0) - lengths.min(0)) / np.maximum(np.median(lengths, 0), 1e-9)


def left_is_left(pose17, facing) -> np.ndarray:
  """Per frame: is l_hip on the subject's left? bool [F].

  The subject's left is up x facing (Z up, right-handed).

  Args:
    pose17: [F, 17, 3].
    facing: [F, 3] horizontal facing direction (e.g. the finite rows of
      `rigs.facing_from_world`).
  """
  check_array("pose17", pose17, (None, 17, 3))
  check_array("facing", facing, (pose17.shape[0], 3))
  left = np.cross(np.array([0.0, 0.0, 1.0]), facing)
  hips = pose17[:, H36M_17.index("l_hip")] - pose17[:, H36M_17.index("r_hip")]
  return np.sum(hips * left, axis=-1) > 0


def feet_below_head(pose17) -> np.ndarray:
  """Per frame: are both ankles lower (Z) than the head top? bool [F]."""
  check_array("pose17", pose17, (None, 17, 3))
  z = pose17[..., 2]
  head = z[:, H36M_17.index("head")]
  return (z[:, H36M_17.index("l_ankle")] < head) & (z[:, H36M_17.index("r_ankle")] < head)


def sanity_problems(pose17, facing=None, *, max_bone_spread: float = 0.01,
                    min_upright: float = 0.9, min_left: float = 0.6) -> list[str]:
  """Human-readable problems of a clip ([] when it looks like a person).

  The left/right test uses the direction of planted feet (frames without one are
  left out), which turns and spins blur, so it only asks for a clear majority
  of frames; a mirrored rig scores near 0.
  """
  problems = []
  spread = bone_length_spread(pose17)
  for (c, p), s in zip(RIGID_BONES, spread):
    if s > max_bone_spread:
      problems.append(f"bone {H36M_17.joint_names[p]}-{H36M_17.joint_names[c]} "
                      f"length varies by {100 * s:.1f}%")
  upright = feet_below_head(pose17).mean()
  if upright < min_upright:
    problems.append(f"ankles below the head in only {100 * upright:.0f}% of frames")
  if facing is not None:
    known = np.all(np.isfinite(facing), axis=-1)
    ok = left_is_left(pose17[known], facing[known]).mean() if known.any() else 1.0
    if ok < min_left:
      problems.append(f"left hip on the subject's left in only {100 * ok:.0f}% of frames")
  return problems


__all__ = ["RIGID_BONES", "bone_length_spread", "left_is_left",
           "feet_below_head", "sanity_problems"]
