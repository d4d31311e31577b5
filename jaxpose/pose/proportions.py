"""Bodies of other proportions: bone lengths drawn around a rig's own, and
poses re-posed to them by forward kinematics.

A body is one factor per bone, log-normal around 1:

  log s_b = g + e_group(b),   g ~ N(0, STATURE_CV^2),   e ~ N(0, SEGMENT_CV^2)

g is the body's overall size (every bone together, as segment lengths
follow stature), e each segment group's own departure from it, shared by
a bone and its mirror (left and right limbs of one body are alike).  The
spreads follow adult anthropometric surveys: stature varies by about 4%
within a sex and about 5% over men and women together (ANSUR II, Gordon et
al. 2014: 1756 +- 69 mm for men, 1629 +- 64 mm for women), and long-bone
lengths correlate with stature at r of about 0.8 (the premise of Trotter
and Gleser's stature-from-bone regressions), which leaves each segment
about 3% of its own: sqrt(0.05^2 + 0.03^2) = 5.8% per segment, correlation
0.86 with size.  `spread` multiplies both (1: adults; larger: rigs whose
joint conventions differ as well as their people).

`repose` keeps each joint's direction from its parent and the root where
it is, so a clip re-posed with one body keeps its motion, its contacts
aside (feet can float or sink by the change in leg length).
"""
from __future__ import annotations

import numpy as np

from jaxpose import checks
from jaxpose.pose.skeleton import Skeleton

STATURE_CV = 0.05
SEGMENT_CV = 0.03


def segment_groups(skeleton: Skeleton) -> np.ndarray:
  """`[J]` int: each bone's segment group (the bone ending at joint j),
  one group per bone and its mirror; the root's entry is unused."""
  flip = np.asarray(skeleton.flip_permutation)
  own = np.minimum(np.arange(skeleton.num_joints), flip)
  _, groups = np.unique(own, return_inverse=True)
  return groups.astype(np.int64)


def draw_bone_scales(rng: np.random.Generator, num: int, skeleton: Skeleton,
                     spread: float = 1.0) -> np.ndarray:
  """`[num, J]` float: each body's factor on the bone ending at each joint
  (the root's is 1), drawn as the module docstring says."""
  if spread < 0:
    raise ValueError(f"spread: {spread} is negative")
  groups = segment_groups(skeleton)
  size = rng.normal(0.0, STATURE_CV * spread, (num, 1))
  own = rng.normal(0.0, SEGMENT_CV * spread, (num, groups.max() + 1))
  scales = np.exp(size + own[:, groups])
  scales[:, 0] = 1.0
  return scales


def repose(joints, skeleton: Skeleton, bone_scales) -> np.ndarray:
  """Joints `[..., J, 3]` with the bone ending at each joint j scaled by
  `bone_scales[..., j]`, parents first; the root stays where it is."""
  joints = np.asarray(joints, np.float64)
  checks.check_array("joints", joints, ("...", skeleton.num_joints, 3))
  scales = np.broadcast_to(np.asarray(bone_scales, np.float64),
                           joints.shape[:-1])
  parents = skeleton.parents
  out = np.empty_like(joints)
  out[..., 0, :] = joints[..., 0, :]
  for j in range(1, skeleton.num_joints):
    p = parents[j]
    if p >= j:
      raise ValueError(f"{skeleton.name}: joint {j}'s parent {p} comes after "
                       "it; repose needs parents first")
    out[..., j, :] = out[..., p, :] + scales[..., j, None] * (
        joints[..., j, :] - joints[..., p, :])
  return out


def repose_clips(rng: np.random.Generator, pose3d_world, clip, skeleton:
                 Skeleton, fraction: float, spread: float = 1.0
                 ) -> tuple[np.ndarray, np.ndarray]:
  """(poses, chosen): each clip (rows of one `clip` value) re-posed with a
  body of its own with probability `fraction`, `chosen` `[N]` bool marking
  its rows; one body per clip keeps a clip's motion one person's.

  Args:
    rng: the draw (which clips, and their bodies).
    pose3d_world: `[N, J, 3]` mm.
    clip: `[N]` the rows' clip names.
  """
  if not 0.0 <= fraction <= 1.0:
    raise ValueError(f"fraction: {fraction} is outside [0, 1]")
  names, index = np.unique(np.asarray(clip), return_inverse=True)
  picked = rng.random(len(names)) < fraction
  bodies = draw_bone_scales(rng, len(names), skeleton, spread)
  chosen = picked[index]
  poses = np.asarray(pose3d_world, np.float32).copy()
  if chosen.any():
    poses[chosen] = repose(poses[chosen], skeleton,
                           bodies[index[chosen]]).astype(np.float32)
  return poses, chosen


__all__ = ["STATURE_CV", "SEGMENT_CV", "segment_groups", "draw_bone_scales",
           "repose", "repose_clips"]
