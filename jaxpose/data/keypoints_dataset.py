"""A video's 2D keypoints as a dataset (`data.name=keypoints`): what a
trained model lifts (`jaxpose.lift`).

The file is read by `keypoints.load_keypoints` (COCO-17 JSON, OpenPose
BODY_25, MediaPipe Pose, npz; one person) and becomes the test split, one
row per frame, in the `datasets` contract:

  pose2d            [T, 17, 2]  screen-normalised keypoints, as a level
                                camera would see them (`roll_deg` undone,
                                `level`); a joint below
                                `threshold` (a masked condition) holds the
                                pelvis' position, never NaN, and counts only
                                through `visible`; with complete='time', its
                                position interpolated across time instead
  visible           [T, 17]     bool: the joint is a condition
  completed         [T, 17]     bool: the detector did not give the joint
                                (below `threshold`): masked, or filled in
                                across time
  pose2d_confidence [T, 17]     the detector's score
  pose2d_sigma      [T, 17]     with `sigma_px` > 0 only: that error std,
                                screen-normalised (DiffPose's
                                row_uncertainty='sigma' reads it)
  pose2d_px         [T, 17, 2]  the keypoints in pixels (NaN where missing)
  intrinsics        [T, 6]      fx, fy, cx, cy, width, height: the camera
                                given or guessed (`keypoints.guess_intrinsics`)
  root_cam_mm       [T, 3]      the pelvis back-projected at `root_depth_mm`
                                or one from the 2D torso length (only the
                                image space depends on it), in the level
                                camera's frame (`unlevel` turns it back)
  pose3d            [T, 17, 3]  zeros: there is no 3D truth (`truth_3d` is
                                False, so evaluation refuses the data)
  activity, frame   [T]         0; the file's frame ids
  clip              [T]         'video': the frames are one clip (a temporal
                                lifter's windows run along it)
The train split is empty.  `Dataset.info` says what was read, the person
chosen, the camera and the root depth, and how each was found.
"""
from __future__ import annotations

import dataclasses
import functools
import os
from typing import Literal

import numpy as np

from jaxpose.config import ConfigError
from jaxpose.data import data_fields
from jaxpose.data import keypoint_swaps
from jaxpose.data import keypoints as kp_lib
from jaxpose.pose import cameras as cam_lib
from jaxpose.pose import detector_joints
from jaxpose.pose import rotations
from jaxpose.pose.skeleton import H36M_17

# A typical adult's pelvis-to-thorax length (Human3.6M's subjects: about
# 480-520 mm), which with the focal length turns the torso's pixel length
# into a depth when none is given.
TORSO_MM = 500.0
_PELVIS, _THORAX = H36M_17.index("pelvis"), H36M_17.index("thorax")


@dataclasses.dataclass(frozen=True, kw_only=True)
class KeypointsSettings:
  """The `config.data` keys of the "keypoints" dataset.

  Attributes:
    name: "keypoints".
    path: the keypoint file (or a directory of OpenPose JSONs).
    format: '' (detected) or one of `keypoints.FORMATS`.
    image_size: (width, height) in pixels; () = from the file, else
      estimated from the keypoints (said in the result).
    focal_px, fov_deg: the camera's focal length in pixels, or its field
      of view across the larger side; 0 = the default field of view.
    threshold: a joint whose confidence is below it is a masked condition.
    person: the track id to follow ('' = the track in most frames).
    root_depth_mm: the root's distance from the camera; 0 = from the 2D
      torso length (`TORSO_MM`).
    empty_frames: 'error' refuses a frame without a visible joint; 'mask'
      keeps it, every joint masked.
    sigma_px: the detector's keypoint error std in pixels, the same for
      every joint (0: not given; a DiffPose whose per-row H_K reads a noise
      std then refuses the file, naming this key).
    undo_swaps: relabel the frames where the detector swapped a limb pair's
      left and right (`keypoint_swaps`; counted in the info's `swaps`).
    complete: '' keeps a joint below `threshold` masked (a model that
      completes it, as GFPose does, lifts it); 'time' fills it in from the
      frames that see it (`fill_across_time`) and makes it a condition, for
      a model that needs every joint. The lift sets it by the method.
    joint_map: a `pose.detector_joints` map file ('' = none): the detector's
      joints moved to where the model's training rig puts its joints, and
      the root depth from that rig's torso length (`JointMap.torso_mm`).
    roll_deg: the camera's roll about its optical axis, in degrees: how far
      the world's up, seen in the image, turns from the image's up toward
      its right. The models trained on cameras within 3 degrees of level;
      the keypoints are turned about the principal point as a level camera
      would see them (`level`), and a lift turns its 3D back (`unlevel`).
  """
  name: Literal["keypoints"] = data_fields.field(default="keypoints",
                                                 decides_train_rows=True)
  path: str = data_fields.field(default="", decides_train_rows=False)
  format: str = data_fields.field(default="", decides_train_rows=False)
  image_size: tuple[int, ...] = data_fields.field(default=(),
                                                  decides_train_rows=False)
  focal_px: float = data_fields.field(default=0.0, at_least=0.0,
                                      decides_train_rows=False)
  fov_deg: float = data_fields.field(default=0.0, at_least=0.0, below=180.0,
                                     decides_train_rows=False)
  threshold: float = data_fields.field(default=kp_lib.DEFAULT_THRESHOLD,
                                       at_least=0.0, decides_train_rows=False)
  person: str = data_fields.field(default="", decides_train_rows=False)
  root_depth_mm: float = data_fields.field(default=0.0, at_least=0.0,
                                           decides_train_rows=False)
  empty_frames: Literal["error", "mask"] = data_fields.field(
      default="error", decides_train_rows=False)
  sigma_px: float = data_fields.field(default=0.0, at_least=0.0,
                                      decides_train_rows=False)
  complete: Literal["", "time"] = data_fields.field(default="",
                                                    decides_train_rows=False)
  undo_swaps: bool = data_fields.field(default=True, decides_train_rows=False)
  joint_map: str = data_fields.field(default="", decides_train_rows=False)
  roll_deg: float = data_fields.field(default=0.0, at_least=-180.0,
                                      at_most=180.0, decides_train_rows=False)

  def __post_init__(self):
    if not self.path:
      raise ConfigError("data.path: empty; give the keypoint file to lift "
                        f"({', '.join(kp_lib.FORMATS)})")
    if self.format and self.format not in kp_lib.FORMATS:
      raise ConfigError(f"data.format={self.format!r}: expected '' or one of "
                        f"{kp_lib.FORMATS}")
    if self.image_size and (len(self.image_size) != 2 or min(self.image_size) <= 0):
      raise ConfigError(f"data.image_size={self.image_size}: expected (width, "
                        "height) > 0, or () for unknown")
    if self.focal_px and self.fov_deg:
      raise ConfigError("data.focal_px, data.fov_deg: give one, not both")


def read(data: KeypointsSettings) -> kp_lib.Keypoints2D:
  """The settings' keypoint file, read and checked, its detector's
  left/right swaps undone (`undo_swaps`). The last reads are kept while
  the file is unchanged: a lift checks the file before restoring its
  model, then loads it as its data."""
  path = os.fspath(data.path)
  if not os.path.isfile(path):  # a folder of OpenPose files: read anew
    return _read.__wrapped__(data, None)
  info = os.stat(path)
  return _read(data, (info.st_mtime_ns, info.st_size))


@functools.lru_cache(maxsize=2)
def _read(data: KeypointsSettings, stamp) -> kp_lib.Keypoints2D:
  del stamp  # the cache's key: the file as it was read
  keypoints = kp_lib.load_keypoints(
      data.path, format=data.format or None,
      image_size=tuple(data.image_size) or None,
      person=data.person or None, threshold=data.threshold,
      empty_frames=data.empty_frames)
  if data.undo_swaps:
    depth = () if keypoints.depth_px is None else (keypoints.depth_px,)
    pixels, confidence, visible, *depth, swaps = keypoint_swaps.undo_swaps(
        keypoints.pixels, keypoints.confidence, keypoints.visible, *depth)
    keypoints = dataclasses.replace(
        keypoints, pixels=pixels, confidence=confidence, visible=visible,
        depth_px=depth[0] if depth else None,
        info={**keypoints.info, "swaps": swaps})
  return map_joints(keypoints, data.joint_map) if data.joint_map else keypoints


def map_joints(keypoints: kp_lib.Keypoints2D, path: str) -> kp_lib.Keypoints2D:
  """`keypoints` moved by the joint map in `path` (`detector_joints`): a
  mapped joint is as sure as the least sure of the detector joints it is
  made of, and visible where they all are; the detector's depth, where it
  gives one, is blended as the pixels are."""
  if keypoints.info.get("layout") == "h36m":
    raise ConfigError(
        f"data.joint_map={path!r}: {keypoints.info['source']} holds Human3.6M "
        "joints already; a joint map moves a detector's (coco, body_25, "
        "mediapipe); drop --joint_map")
  try:
    joint_map = detector_joints.load(path)
  except ValueError as e:
    raise ConfigError(f"data.joint_map: {e}") from e
  made_of = detector_joints.sources(joint_map)  # [17, 17]
  confidence = np.where(made_of, keypoints.confidence[:, None, :],
                        np.inf).min(axis=-1)
  visible = ~np.any(made_of & ~keypoints.visible[:, None, :], axis=-1)
  pixels = detector_joints.apply(joint_map, keypoints.pixels)
  depth = keypoints.depth_px
  if depth is not None:  # the same blend of the joints, behind the pelvis
    depth = detector_joints.apply(joint_map, depth[..., None])[..., 0]
    depth = (depth - depth[:, :1]).astype(np.float32)
  return dataclasses.replace(
      keypoints, pixels=pixels.astype(keypoints.pixels.dtype), depth_px=depth,
      confidence=confidence.astype(keypoints.confidence.dtype),
      visible=visible & np.isfinite(pixels).all(axis=-1),
      info={**keypoints.info, "joint_map": {
          "path": os.fspath(path), **detector_joints.to_json(joint_map)}})


def camera(data: KeypointsSettings, keypoints: kp_lib.Keypoints2D
           ) -> tuple[np.ndarray, tuple[int, int], str]:
  """(fx, fy, cx, cy), (width, height) and the rule that gave them."""
  intr, rule = kp_lib.guess_intrinsics(
      tuple(data.image_size) or None, focal_px=data.focal_px or None,
      fov_deg=data.fov_deg or None, keypoints=keypoints)
  return intr, (int(round(2 * intr[2])), int(round(2 * intr[3]))), rule


def root_depth(keypoints: kp_lib.Keypoints2D, focal: float,
               given_mm: float = 0.0) -> tuple[float, str]:
  """The root's depth in mm, and how it was found: `given_mm` when > 0,
  else focal x the torso's length (TORSO_MM, or the rig's of the joint
  map the keypoints went through) / the median pelvis-thorax length in
  pixels over the frames where both are visible."""
  torso_mm = keypoints.info.get("joint_map", {}).get("torso_mm", TORSO_MM)
  if given_mm > 0:
    return float(given_mm), f"root depth {given_mm:g} mm as given"
  both = keypoints.visible[:, _PELVIS] & keypoints.visible[:, _THORAX]
  if not both.any():
    raise ConfigError(
        f"{keypoints.info['source']}: no frame has both the pelvis and the "
        "thorax visible, so the root depth cannot be estimated; give "
        "data.root_depth_mm")
  torso_px = np.linalg.norm(keypoints.pixels[both, _THORAX]
                            - keypoints.pixels[both, _PELVIS], axis=-1)
  depth = focal * torso_mm / max(float(np.median(torso_px)), 1e-6)
  return depth, (f"root depth {depth:.0f} mm from the median torso length "
                 f"({np.median(torso_px):.1f} px for {torso_mm:g} mm)")


def fill_across_time(pixels: np.ndarray, visible: np.ndarray, frames,
                     source: str) -> np.ndarray:
  """`pixels` with each joint's unseen frames filled in: linearly between
  the nearest frames that see it (by frame id), held from the nearest one
  before the first or after the last.  # [T, J, 2]

  Raises:
    ConfigError: a joint no frame sees (nothing to fill it from).
  """
  out = np.array(pixels, np.float64)
  frames = np.asarray(frames, np.float64)
  for j in range(out.shape[1]):
    seen = visible[:, j]
    if seen.all():
      continue
    if not seen.any():
      raise ConfigError(
          f"{source}: joint {H36M_17.joint_names[j]!r} is below the "
          "confidence threshold in every frame, so it cannot be filled in "
          "across time; lift with a GFPose workdir (it completes joints), "
          "or lower the threshold (--threshold, data.threshold)")
    for axis in range(2):
      out[~seen, j, axis] = np.interp(frames[~seen], frames[seen],
                                      out[seen, j, axis])
  return out


def _about_axis(degrees: float) -> np.ndarray:
  """The turn about the optical axis (camera z) by `degrees`, from +x
  toward +y.  # [3, 3]"""
  return rotations.axis_rotation("Z", np.radians(float(degrees)), xp=np)


def level(px, centre, roll_deg: float):
  """Pixels of a camera rolled by `roll_deg` (`KeypointsSettings`) as the
  same camera, level, sees the same points: turned about the principal
  point `centre` (exact where fx = fy).  # [..., 2]"""
  centre = np.asarray(centre, np.float64)
  turn = _about_axis(-roll_deg)[:2, :2]
  return (np.asarray(px, np.float64) - centre) @ turn.T + centre


def unlevel(points_cam, roll_deg: float):
  """Camera-frame points of the level camera (`level`) in the rolled
  camera's frame: turned about the optical axis.  # [..., 3]"""
  return np.asarray(points_cam, np.float64) @ _about_axis(roll_deg).T


def split_of(keypoints: kp_lib.Keypoints2D, intrinsics, image_size,
             depth_mm: float, sigma_px: float = 0.0, complete: str = "",
             roll_deg: float = 0.0) -> dict:
  """The test split of the module docstring."""
  t = keypoints.num_frames
  w, h = image_size
  px = keypoints.pixels.astype(np.float64)
  visible = keypoints.visible
  completed = ~visible
  if complete == "time" and completed.any():
    px = fill_across_time(px, visible, keypoints.info["frame_ids"],
                          keypoints.info["source"])
    visible = np.ones_like(visible)
  # A masked joint, never read, holds the pelvis (`held_root`: no jumps)
  # so that no NaN reaches the model's arithmetic.
  centre = held_root(px[:, _PELVIS], visible[:, _PELVIS],
                     np.array([intrinsics[2], intrinsics[3]]))
  filled = np.where(visible[..., None], px, centre[:, None])
  fx, fy, cx, cy = (float(v) for v in intrinsics)
  if roll_deg:
    filled = level(filled, (cx, cy), roll_deg)
    centre = level(centre, (cx, cy), roll_deg)
  screen = cam_lib.normalize_screen(filled, w, h)
  root_px = centre
  root = np.stack([(root_px[:, 0] - cx) * depth_mm / fx,
                   (root_px[:, 1] - cy) * depth_mm / fy,
                   np.full(t, depth_mm)], axis=-1)
  return dict(
      pose3d=np.zeros((t, H36M_17.num_joints, 3), np.float32),
      pose2d=screen.astype(np.float32), visible=visible, completed=completed,
      pose2d_confidence=keypoints.confidence.astype(np.float32),
      pose2d_px=keypoints.pixels.astype(np.float32),
      intrinsics=np.tile(np.float32([fx, fy, cx, cy, w, h]), (t, 1)),
      root_cam_mm=root.astype(np.float32),
      activity=np.zeros(t, np.int32),
      frame=np.asarray(keypoints.info["frame_ids"], np.int64),
      clip=np.full(t, "video"),
      # Screen units are pixels * 2 / width (`cameras.normalize_screen`).
      **({"pose2d_sigma": np.full((t, H36M_17.num_joints), sigma_px * 2.0 / w,
                                  np.float32)} if sigma_px > 0 else {}))


def held_root(root_px: np.ndarray, seen: np.ndarray, fallback) -> np.ndarray:
  """Each frame's root pixel: its own where `seen`, else the last seen
  before it, else the first seen after it; `fallback` (the image centre)
  only when no frame sees it.  # [T, 2]"""
  if not seen.any():
    return np.broadcast_to(np.asarray(fallback, np.float64),
                           root_px.shape).copy()
  index = np.where(seen, np.arange(len(seen)), -1)
  index = np.maximum.accumulate(index)
  index[index < 0] = np.flatnonzero(seen)[0]
  return np.asarray(root_px, np.float64)[index]


def load_splits(data: KeypointsSettings) -> tuple[dict, dict, dict]:
  """({"train": empty, "test": the frames}, input_2d, info) (module doc)."""
  keypoints = read(data)
  intrinsics, size, camera_rule = camera(data, keypoints)
  depth, depth_rule = root_depth(keypoints, float(intrinsics[0]), data.root_depth_mm)
  test = split_of(keypoints, intrinsics, size, depth, data.sigma_px,
                  data.complete, data.roll_deg)
  if data.roll_deg:
    camera_rule += (f"; rolled {data.roll_deg:g} degrees, lifted as a level "
                    "camera sees it")
  splits = {"train": {k: v[:0] for k, v in test.items()}, "test": test}
  info = {k: v for k, v in keypoints.info.items() if k != "frame_ids"}
  info.update(camera=camera_rule, root_depth=depth_rule, image_size=list(size),
              intrinsics=[float(v) for v in intrinsics],
              num_frames=keypoints.num_frames,
              masked_joints=int((~keypoints.visible).sum()),
              completed=("across time (filled in before lifting)"
                         if data.complete == "time" else "by the model"))
  source = info["source"]
  return splits, {"train": "none", "test": f"detector keypoints ({source})"}, info


__all__ = ["KeypointsSettings", "TORSO_MM", "read", "camera", "root_depth",
           "split_of", "fill_across_time", "held_root", "level", "unlevel",
           "load_splits"]
