"""A lifted motion's BVH: placed on a floor, and its fit to the joints measured.

`place_on_floor(joints_cam_mm)` turns camera-frame joints (x right, y down,
z forward; mm) into a Y-up world standing on a floor at the origin:
  * axes: (x, -y, -z) (`bvh_export.AXIS_CONVERSIONS['-y']`, a half turn
    about X): up is the camera's up, a subject facing the camera faces +Z;
    a tilted camera tilts the floor with it (no ground plane is fitted);
  * height: the floor (Y = 0) lies `ANKLE_HEIGHT_MM` below the lowest ankle
    of the whole clip (one height for every frame: a jump leaves the floor);
  * horizontally: the first frame's root at X = Z = 0.
`fit_error` measures how far a BVH's forward kinematics puts each joint from
the joints it was made from (`bvh_export.motion_from_joints` keeps each
bone's median length, so a motion whose bones change length is not exact),
and `fit_summary` says it in a few numbers (`lift.json`'s `bvh.fit`).
"""
from __future__ import annotations

import numpy as np

from jaxpose import files
from jaxpose import settings
from jaxpose.data import bvh
from jaxpose.data import bvh_export
from jaxpose.pose.skeleton import H36M_17, Skeleton

# The ankle joint's height above the sole of a standing adult (Human3.6M's
# ankle joints stand 70-100 mm above the floor).
ANKLE_HEIGHT_MM = 80.0
FRAMES = ("floor", "camera")


def place_on_floor(joints_cam_mm, *, skeleton: Skeleton = H36M_17,
                   ankle_height_mm: float = ANKLE_HEIGHT_MM
                   ) -> tuple[np.ndarray, dict]:
  """Camera-frame joints [T, J, 3] (mm) -> (Y-up world joints [T, J, 3] on a
  floor at the origin (module docstring), what was done as a dict)."""
  joints = np.asarray(joints_cam_mm, np.float64)
  turn = bvh_export.AXIS_CONVERSIONS["-y"]
  world = joints @ turn.T
  feet = [skeleton.index(n) for n in ("l_ankle", "r_ankle")
          if n in skeleton.joint_names]
  lowest = world[:, feet or list(range(skeleton.num_joints)), 1]
  floor = float(np.min(lowest)) - ankle_height_mm
  shift = np.array([-world[0, 0, 0], -floor, -world[0, 0, 2]])
  info = dict(
      frame="floor", axes="Y up (the camera's -y), Z toward the camera, "
      "X the camera's right", translation_mm=[round(float(v), 1) for v in shift],
      floor=(f"{ankle_height_mm:g} mm below the lowest "
             f"{'ankle' if feet else 'joint'} over the clip (one height for "
             "every frame)"),
      origin="the first frame's root, horizontally")
  return (world + shift).astype(np.float32), info


def fit_error(joints_mm, motion: bvh.BvhMotion, *, skeleton: Skeleton = H36M_17,
              up: str = "-y", units: str = "cm") -> np.ndarray:
  """Each joint's distance (mm) from `joints_mm` [T, J, 3] (the input of
  `motion_from_joints`, same up and units) to where `motion`'s forward
  kinematics puts it, matched by joint name: [T, J]."""
  settings.one_of("up", up, bvh_export.AXIS_CONVERSIONS)
  settings.one_of("units", units, bvh_export.MM_PER_UNIT)
  fk = bvh.forward_kinematics(motion) * bvh_export.MM_PER_UNIT[units]
  index = [motion.skeleton.index(name) for name in skeleton.joint_names]
  back = fk[:, index] @ bvh_export.AXIS_CONVERSIONS[up]  # the input's axes
  return np.linalg.norm(back - np.asarray(joints_mm, np.float64), axis=-1)


def fit_summary(errors_mm, skeleton: Skeleton = H36M_17) -> dict:
  """`fit_error`'s [T, J] as {mean_mm, max_mm, worst_joint, per_joint:
  {name: [mean, max]}} (mm, to 0.1)."""
  errors = np.asarray(errors_mm, np.float64)
  r = lambda v: round(float(v), 1)
  worst = int(np.argmax(errors.max(axis=0)))
  return dict(mean_mm=r(errors.mean()), max_mm=r(errors.max()),
              worst_joint=skeleton.joint_names[worst],
              per_joint={name: [r(errors[:, j].mean()), r(errors[:, j].max())]
                         for j, name in enumerate(skeleton.joint_names)})


def write_lifted_bvh(path, joints_cam_mm, *, fps: float, frame: str = "floor",
                     branches: bool = True) -> dict:
  """Writes camera-frame joints [T, 17, 3] (mm) as a BVH (centimetres),
  placed on a floor (`frame='floor'`) or in camera coordinates turned Y up
  ('camera': (x, -y, -z)), with branch joints (exact bone directions) or
  not; returns the placement and the fit (`fit_summary`) as a dict."""
  settings.one_of("bvh frame", frame, FRAMES)
  if frame == "floor":
    joints, placement = place_on_floor(joints_cam_mm)
    up = "+y"
  else:
    joints, up = np.asarray(joints_cam_mm, np.float64), "-y"
    placement = dict(frame="camera", axes="the camera's (x, -y, -z): Y up, "
                     "the camera at the origin looking along -Z")
  motion = bvh_export.motion_from_joints(joints, fps=fps, up=up, units="cm",
                                         branches=branches)
  fit = fit_summary(fit_error(joints, motion, up=up, units="cm"))
  text = bvh_export.format_bvh(motion, decimals=6)
  files.write_text_atomic(path, text)
  return dict(placement, joints=len(motion.skeleton.names),
              branches=bool(branches), units="cm",
              fit=dict(fit, against="motion.npz's motion (smoothed_mm if "
                       "present, else mean_mm) + root_mm, mm; bone directions "
                       + ("exact, lengths each bone's median" if branches else
                          "exact but at the hips, neck and shoulders")))


__all__ = ["ANKLE_HEIGHT_MM", "FRAMES", "place_on_floor", "fit_error",
           "fit_summary", "write_lifted_bvh"]
