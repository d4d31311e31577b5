"""What a lifted motion says of itself, without a 3D reference: a real body
keeps its bone lengths, has a left like its right, moves with bounded
acceleration, and projects onto the 2D it was lifted from.

Every figure is a median or mean over frames of a [T, J, 3] motion in mm
(camera frame, root-relative or not), in the joint order of `skeleton`.
"""
from __future__ import annotations

import numpy as np

from jaxpose.pose.skeleton import H36M_17, Skeleton


def bone_lengths(motion_mm: np.ndarray, skeleton: Skeleton = H36M_17
                 ) -> np.ndarray:
  """Each bone's length per frame.  # [T, bones]"""
  child, parent = np.array(skeleton.bones).T
  return np.linalg.norm(motion_mm[:, child] - motion_mm[:, parent], axis=-1)


def bone_length_variation(motion_mm, skeleton: Skeleton = H36M_17) -> float:
  """The mean over bones of each bone's std over frames / its mean (a real
  body: 0)."""
  lengths = bone_lengths(np.asarray(motion_mm, np.float64), skeleton)
  return float(np.mean(lengths.std(0) / np.maximum(lengths.mean(0), 1e-9)))


def total_bone_length(motion_mm, skeleton: Skeleton = H36M_17) -> float:
  """The median over frames of the summed bone lengths (the body's size)."""
  return float(np.median(bone_lengths(np.asarray(motion_mm, np.float64),
                                      skeleton).sum(1)))


def asymmetry(motion_mm, skeleton: Skeleton = H36M_17) -> float:
  """The mean over left/right bone pairs and frames of |left - right| /
  their mean length (a real body: about 0)."""
  lengths = bone_lengths(np.asarray(motion_mm, np.float64), skeleton)
  index = {child: b for b, (child, _) in enumerate(skeleton.bones)}
  pairs = [(index[l], index[r]) for l, r in zip(skeleton.left, skeleton.right)
           if l in index and r in index]
  left, right = lengths[:, [p[0] for p in pairs]], lengths[:, [p[1] for p in
                                                               pairs]]
  return float(np.mean(np.abs(left - right) / np.maximum(
      (left + right) / 2, 1e-9)))


def acceleration(motion_mm, fps: float) -> float:
  """The mean over frames and joints of |x[t+1] - 2 x[t] + x[t-1]| fps^2,
  in mm/s^2 (jitter shows as acceleration)."""
  motion = np.asarray(motion_mm, np.float64)
  if len(motion) < 3:
    return 0.0
  second = motion[2:] - 2 * motion[1:-1] + motion[:-2]
  return float(np.linalg.norm(second, axis=-1).mean() * fps ** 2)


def reprojection_px(motion_cam_mm, pixels, visible, intrinsics) -> float:
  """The median distance, over visible joints, of the motion's pinhole
  projection from the 2D it was lifted from (camera frame, with its root;
  intrinsics fx, fy, cx, cy)."""
  motion = np.asarray(motion_cam_mm, np.float64)
  fx, fy, cx, cy = (float(v) for v in intrinsics[:4])
  with np.errstate(invalid="ignore", divide="ignore"):
    proj = np.stack([fx * motion[..., 0] / motion[..., 2] + cx,
                     fy * motion[..., 1] / motion[..., 2] + cy], -1)
  dist = np.linalg.norm(proj - np.asarray(pixels, np.float64), axis=-1)
  seen = np.asarray(visible, bool) & np.isfinite(dist)
  return float(np.median(dist[seen])) if seen.any() else float("nan")


def summary(motion_mm, fps: float, skeleton: Skeleton = H36M_17) -> dict:
  """The reference-free figures of one motion, rounded for a results file."""
  return {
      "bone_length_variation_pct": round(100 * bone_length_variation(
          motion_mm, skeleton), 2),
      "asymmetry_pct": round(100 * asymmetry(motion_mm, skeleton), 2),
      "acceleration_mm_s2": round(acceleration(motion_mm, fps), 1),
      "total_bone_length_mm": round(total_bone_length(motion_mm, skeleton),
                                    1),
  }


__all__ = ["acceleration", "asymmetry", "bone_length_variation",
           "bone_lengths", "reprojection_px", "summary", "total_bone_length"]
