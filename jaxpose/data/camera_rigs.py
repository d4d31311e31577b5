"""Cameras drawn over ranges of placements and lenses, and poses seen by them.

The jaxpose-mocap protocol's four Human3.6M cameras are four placements of
one lens. A model trained on them alone has seen one distance (5 m), one
focal length (about 1145 px over a 1000 px image) and one height, and a
video from any other camera is an input it never met. `draw` gives each
row its own pinhole camera instead, every parameter uniform over its
ranges (a parameter with two ranges picks one in proportion to its width):

  TRAINING (`train_cameras='varied'`, `test_cameras='varied'`)
    distance      3.5 - 6.5 m from the camera to the pelvis
    pitch         -15 - 35 degrees, the optical axis below the horizontal
                  (with the pelvis about 0.9 m up: from a camera near the
                  floor looking up to one about 4 m high looking down)
    focal length  1000 - 2000 px on a 1920 x 1080 image (horizontal field
                  of view 88 - 51 degrees)
    heading       the person's heading relative to the camera: any
    roll          -3 - 3 degrees
    position      the pelvis anywhere in the central half of the image
  UNSEEN (`test_cameras='unseen'`): every parameter outside those ranges
    distance      2.5 - 3.2 m or 7.5 - 9.5 m
    pitch         -25 - -18 or 38 - 45 degrees (from the floor close by
                  looking up, or from above 3 m looking steeply down)
    focal length  600 - 850 px or 2400 - 3200 px (116 - 97 or 44 - 33
                  degrees across)
    heading, roll and position as in training.
  ONE UNSEEN (`test_cameras='unseen_distance'`, `'unseen_pitch'`,
  `'unseen_focal'`): that parameter from UNSEEN, the others from TRAINING.
  ROLLED (`test_cameras='unseen_roll'`): TRAINING's cameras turned 15 - 30
  degrees about their optical axes, either way (a camera mounted askew;
  `--roll_deg` lifts such a video as a level camera sees it).
  ANY ROLL (`train_cameras='varied_roll'`): TRAINING's ranges with the
  roll anywhere in -30 - 30 degrees, for a model that must lift a camera
  whose roll nobody gives (a phone held askew); ROLLED is inside it.
  OTHER LENS AND PLACE (`test_cameras='unseen_distance_focal'`): distance
  and focal length from UNSEEN, the pitch from TRAINING (the camera's
  height follows): the cameras of videos people film, another lens, nearer
  or farther, higher or lower, but not looking more steeply than training
  did (`unseen_pitch` measures that on its own).

Projection is an undistorted pinhole (principal point at the image
centre). Training rows draw a camera each; other splits one per clip, so
a clip is one camera's video (what a temporal model's windows need).
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

Ranges = tuple[tuple[float, float], ...]
IMAGE_SIZE = (1920, 1080)


@dataclasses.dataclass(frozen=True)
class CameraRanges:
  """The ranges each drawn camera's parameters come from (module docstring)."""
  distance_mm: Ranges
  pitch_deg: Ranges
  focal_px: Ranges
  roll_deg: Ranges = ((-3.0, 3.0),)
  off_axis: float = 0.5  # the pelvis within this fraction of the half-image
  image_size: tuple[int, int] = IMAGE_SIZE


TRAINING = CameraRanges(distance_mm=((3500.0, 6500.0),),
                        pitch_deg=((-15.0, 35.0),),
                        focal_px=((1000.0, 2000.0),))
UNSEEN = CameraRanges(distance_mm=((2500.0, 3200.0), (7500.0, 9500.0)),
                      pitch_deg=((-25.0, -18.0), (38.0, 45.0)),
                      focal_px=((600.0, 850.0), (2400.0, 3200.0)))
# One parameter outside its training range at a time, the others inside:
# which of them a model does not carry over.
ONE_UNSEEN = {
    f"unseen_{name}": dataclasses.replace(
        TRAINING, **{field: getattr(UNSEEN, field)})
    for name, field in (("distance", "distance_mm"), ("pitch", "pitch_deg"),
                        ("focal", "focal_px"))}
ROLLED = dataclasses.replace(TRAINING, roll_deg=((-30.0, -15.0),
                                                  (15.0, 30.0)))
ANY_ROLL = dataclasses.replace(TRAINING, roll_deg=((-30.0, 30.0),))
RANGES = {"varied": TRAINING, "varied_roll": ANY_ROLL, "unseen": UNSEEN,
          **ONE_UNSEEN, "unseen_roll": ROLLED,
          "unseen_distance_focal": dataclasses.replace(
              TRAINING, distance_mm=UNSEEN.distance_mm,
              focal_px=UNSEEN.focal_px)}


def _uniform(rng: np.random.Generator, ranges: Ranges, n: int) -> np.ndarray:
  lows = np.asarray([r[0] for r in ranges], np.float64)
  widths = np.asarray([r[1] - r[0] for r in ranges], np.float64)
  pick = rng.choice(len(ranges), size=n, p=widths / widths.sum())
  return lows[pick] + widths[pick] * rng.random(n)


@dataclasses.dataclass(frozen=True)
class DrawnCameras:
  """One pinhole camera per row.

  Attributes:
    R: world -> camera rotation.  # [N, 3, 3]
    pelvis_cam_mm: the pelvis in the camera frame.  # [N, 3]
    intrinsics: fx, fy, cx, cy, width, height.  # [N, 6]
    params: distance_mm, pitch_deg, focal_px, yaw_deg, roll_deg.  # [N, 5]
  """
  R: np.ndarray
  pelvis_cam_mm: np.ndarray
  intrinsics: np.ndarray
  params: np.ndarray


def draw(rng: np.random.Generator, n: int, ranges: CameraRanges
         ) -> DrawnCameras:
  """`n` cameras with parameters drawn uniformly over `ranges`."""
  distance = _uniform(rng, ranges.distance_mm, n)
  pitch = np.deg2rad(_uniform(rng, ranges.pitch_deg, n))
  focal = _uniform(rng, ranges.focal_px, n)
  roll = np.deg2rad(_uniform(rng, ranges.roll_deg, n))
  yaw = rng.random(n) * 2 * np.pi
  width, height = ranges.image_size
  # Camera axes in world coordinates (Z up): forward tilted down by the
  # pitch, right horizontal, down = forward x right; then the roll.
  forward = np.stack([np.cos(pitch) * np.cos(yaw), np.cos(pitch) * np.sin(yaw),
                      -np.sin(pitch)], -1)
  right = np.stack([np.sin(yaw), -np.cos(yaw), np.zeros(n)], -1)
  down = np.cross(forward, right)
  c, s = np.cos(roll)[:, None], np.sin(roll)[:, None]
  right, down = c * right + s * down, c * down - s * right
  rot = np.stack([right, down, forward], 1)  # rows: camera axes
  # The pelvis's ray: anywhere in the central part of the image.
  half = np.asarray([width, height], np.float64) / 2 * ranges.off_axis
  offset = (rng.random((n, 2)) * 2 - 1) * half / focal[:, None]
  ray = np.concatenate([offset, np.ones((n, 1))], -1)
  pelvis = ray / np.linalg.norm(ray, axis=-1, keepdims=True) * distance[:, None]
  intrinsics = np.stack([focal, focal, np.full(n, width / 2),
                         np.full(n, height / 2), np.full(n, width),
                         np.full(n, height)], -1)
  params = np.stack([distance, np.rad2deg(pitch), focal, np.rad2deg(yaw),
                     np.rad2deg(roll)], -1)
  return DrawnCameras(R=rot, pelvis_cam_mm=pelvis, intrinsics=intrinsics,
                      params=params)


def per_group(rng: np.random.Generator, groups: Sequence, ranges: CameraRanges
              ) -> DrawnCameras:
  """One drawn camera per distinct value of `groups` (e.g. a clip), given
  to each of its rows."""
  names, index = np.unique(np.asarray(groups).astype(str), return_inverse=True)
  cams = draw(rng, len(names), ranges)
  return DrawnCameras(**{f.name: getattr(cams, f.name)[index.reshape(-1)]
                         for f in dataclasses.fields(DrawnCameras)})


def view(pose3d_world, cams: DrawnCameras) -> dict:
  """World poses (mm, Z up) seen by their row's camera.

  Returns:
    pose3d: camera frame, root-relative, mm.  # [N, J, 3] float32
    pose2d_px: pixels.  # [N, J, 2] float32
    root_cam_mm: the pelvis in the camera frame.  # [N, 3] float32
  """
  world = np.asarray(pose3d_world, np.float64)
  rel = np.einsum("nij,nkj->nki", cams.R, world - world[:, :1])
  absolute = rel + cams.pelvis_cam_mm[:, None]
  if np.any(absolute[..., 2] <= 0):
    raise ValueError("a drawn camera sees a joint behind it (distance below "
                     "the body's size)")
  k = cams.intrinsics
  px = absolute[..., :2] / absolute[..., 2:] * k[:, None, 0:2] + k[:, None, 2:4]
  return dict(pose3d=rel.astype(np.float32), pose2d_px=px.astype(np.float32),
              root_cam_mm=cams.pelvis_cam_mm.astype(np.float32))


__all__ = ["CameraRanges", "TRAINING", "UNSEEN", "ONE_UNSEEN", "ROLLED",
           "ANY_ROLL", "RANGES",
           "IMAGE_SIZE",
           "DrawnCameras", "draw", "per_group", "view"]
