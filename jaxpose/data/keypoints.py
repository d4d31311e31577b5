"""2D keypoint files as detectors write them -> Human3.6M-17 keypoints in pixels.

`load_keypoints(source)` -> `Keypoints2D`: pixels [T, 17, 2] in
`skeleton.H36M_17` order, confidence and visibility per joint, the image size
when known, and `info` (what was read and chosen).  Formats, detected from the
content (`format=` forces one):
  coco       COCO-17 JSON (MMPose, Detectron2, ViTPose, YOLO-pose): a list of
             frames {"frame_id"|"image_id"|"frame": k, "instances"|"people"|
             "predictions": [person]} (or bare lists of persons), MMPose's
             {"instance_info": [...]}, or the COCO results style: a flat list
             of persons {"image_id": k, "keypoints": [...], "score": s} (or
             {"annotations": [...]}).  `keypoints`: 51 numbers [x, y, s, ...],
             [[x, y, s], ...] or [[x, y], ...] with `keypoint_scores`.  Track
             id: `track_id`, `idx`, `id` (not under "annotations": there it
             names the annotation) or `person_id`.  String ids
             ("000012.jpg") count by their last number.
  openpose   BODY_25, one JSON per frame {"people": [{"person_id": [-1],
             "pose_keypoints_2d": [75 numbers]}]}: a directory or a list of
             files, the frame being the last number of each file name.
  mediapipe  Pose's 33 landmarks, x and y in [0, 1]: a JSON list of frames,
             each 33 {"x", "y", "z", "visibility"[, "presence"]} or
             {"landmarks": [...]} (a pose or a list of poses); needs
             `image_size`.  Confidence: min(visibility, presence), or the
             visibility alone where presence is 0 on every landmark (the
             legacy Pose API never fills it; a warning says so).
  npz        `keypoints` [T, J, 2] pixels, optional `scores` [T, J] (else 1),
             `layout` "h36m" (default) or "coco" (a key or the argument),
             optional `image_size` [2].
Hips, knees, ankles, shoulders, elbows and wrists are copied; the other joints
are derived, each with the minimum of its sources' confidences:
  pelvis  midpoint of the hips (BODY_25: its own MidHip, 8);
  thorax  midpoint of the shoulders (BODY_25: its own Neck, 1, which sits there);
  spine   midpoint of pelvis and thorax;
  neck    (index 9, H36M's neck/nose joint) the nose;
  head    2 * midpoint(eyes) - nose: the eyes' midpoint alone sits below H36M's
          head joint; pushed away from the nose by the nose-to-eyes offset it
          moves up the face along the head's own axis, whatever the head's tilt.
Several people: with track ids, one track (`person=`; default the one the
file prefers (a video's keypoints.json: `jaxpose.video.tracks`), else the
track in the most frames, the first seen on ties); without, the most
confident person of each frame (mean score).  Frames are sorted by id; ids missing between the
first and last, and frames without the chosen person, are empty (pixels NaN,
confidence 0).  visible = confidence >= `threshold` (0.3 by default, about
OpenPose's and MMPose's drawing thresholds) and finite pixels.

`KeypointsError` (one line naming the file and frame): an empty file, an
unknown format, a visible keypoint over `margin` outside a known image or
one with a positive score over MAX_PIXELS from the corner of any, NaN
coordinates with a positive score, a negative or non-finite score, frame
ids that are not small integers or span over MAX_FRAMES, frame or joint
counts that disagree, and, with empty_frames="error", frames without a
visible joint.  A warning
(logged, and in `info["warnings"]`): every visible keypoint in the top-left
quarter of a known image.  `guess_intrinsics`: a camera for users who do
not know theirs.
"""
from __future__ import annotations

import dataclasses
import math
import os
from typing import Sequence

from absl import logging
import numpy as np

from jaxpose.data import file_checks
from jaxpose.data import keypoint_json
from jaxpose.data.keypoint_json import KeypointsError
from jaxpose.pose import cameras as cam_lib
from jaxpose.pose.skeleton import H36M_17

FORMATS = ("coco", "openpose", "mediapipe", "npz")
EMPTY_FRAMES = ("error", "mask")
DEFAULT_THRESHOLD = 0.3
DEFAULT_MARGIN = 0.1
# No camera makes an image this many pixels across: a keypoint past it is
# garbage, refused even without a known image size.
MAX_PIXELS = 1e5
# A timeline of at most this many frames (a day at 100 fps).
MAX_FRAMES = 10**7
# Fields of view a pinhole camera gives (a long telephoto to a wide lens;
# a fisheye is not pinhole).
FOV_RANGE_DEG = (2.0, 160.0)
# The field of view of the Human3.6M-like camera the models are trained with
# (f = 1147 px across 1000 px: about 47.1 degrees), so that a guessed camera
# gives a user's video the geometry the lifters know.
DEFAULT_FOV_DEG = math.degrees(
    2 * math.atan(cam_lib.H36M_LIKE_SIZE[0] / 2 / cam_lib.H36M_LIKE_FOCAL))

_LIMBS = ("l_shoulder", "r_shoulder", "l_elbow", "r_elbow", "l_wrist", "r_wrist",
          "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle")
COCO_17 = ("nose", "l_eye", "r_eye", "l_ear", "r_ear") + _LIMBS
# Source layouts: joint name -> index in a person's keypoints.
LAYOUTS = {
    "coco": {name: i for i, name in enumerate(COCO_17)},
    "body_25": dict(nose=0, neck_base=1, r_shoulder=2, r_elbow=3, r_wrist=4,
                    l_shoulder=5, l_elbow=6, l_wrist=7, mid_hip=8, r_hip=9,
                    r_knee=10, r_ankle=11, l_hip=12, l_knee=13, l_ankle=14,
                    r_eye=15, l_eye=16, r_ear=17, l_ear=18),
    "mediapipe": dict(nose=0, l_eye=2, r_eye=5, l_ear=7, r_ear=8, l_shoulder=11,
                      r_shoulder=12, l_elbow=13, r_elbow=14, l_wrist=15,
                      r_wrist=16, l_hip=23, r_hip=24, l_knee=25, r_knee=26,
                      l_ankle=27, r_ankle=28),
    "h36m": {name: i for i, name in enumerate(H36M_17.joint_names)},
}
NUM_JOINTS = {"coco": 17, "body_25": 25, "mediapipe": 33, "h36m": 17}
# What a detector's own depth (`Keypoints2D.depth_px`) is multiplied by to
# be a true one: per view, the least-squares factor onto a triangulated
# reference; the median over Pose2Sim's two-person demo's views, rounded
# (experiments/studies/detector_depth.py measures it).
DEPTH_SCALE = {"mediapipe": 0.3}
_LAYOUT_OF = {"coco": "coco", "openpose": "body_25", "mediapipe": "mediapipe"}


@dataclasses.dataclass(frozen=True, eq=False)
class Keypoints2D:
  """One person's Human3.6M-17 keypoints through a video.

  Attributes:
    pixels: (u, v) from the top-left corner; NaN in empty frames.  # [T, 17, 2]
    confidence: the detector's score per joint (a derived joint: the minimum
      of its sources'); 0 in empty frames.  # [T, 17] float32
    visible: confidence >= threshold and finite pixels.  # [T, 17] bool
    image_size: (width, height) in pixels, or None when unknown.
    info: format, source, layout, person (the choice made), tracks ({id:
      number of frames}), derived ({joint: rule}), frame_ids [T],
      missing_frames, empty_frames (ids without a visible joint), threshold,
      warnings (sentences).
    depth_px: where the detector gives one (MediaPipe's `z`), each joint's
      depth behind the pelvis as it gives it, in the image's pixels times
      `DEPTH_SCALE` (at the person's depth Z, mm = px * Z / f); NaN where
      not given, None when the file gives none.  # [T, 17]
  """
  pixels: np.ndarray
  confidence: np.ndarray
  visible: np.ndarray
  image_size: tuple[int, int] | None
  info: dict
  depth_px: np.ndarray | None = None

  @property
  def num_frames(self) -> int:
    return len(self.pixels)


def _select(path: str, frames, person, num_joints: int) -> tuple:
  """One person per frame: (frame ids [T], missing ids, xy [T, S, 2],
  score [T, S], the choice in words, {track: frames})."""
  if not frames:
    raise KeypointsError(f"{path}: empty file (no frames)")
  by_id: dict[int, list] = {}
  for fid, persons in frames:
    by_id.setdefault(fid, []).extend(persons)
  if min(by_id) < 0 or max(by_id) - min(by_id) >= MAX_FRAMES:
    raise KeypointsError(
        f"{path}: frame ids {min(by_id)} .. {max(by_id)}: expected ids >= 0 "
        f"spanning at most {MAX_FRAMES:.0e} frames")
  ids = np.arange(min(by_id), max(by_id) + 1)
  missing = [int(i) for i in ids if i not in by_id]
  tracks: dict = {}
  for fid in sorted(by_id):
    for track in dict.fromkeys(p[0] for p in by_id[fid] if p[0] is not None):
      tracks[track] = tracks.get(track, 0) + 1
  if person is not None:
    person = keypoint_json.as_id(person, f"{path}: person")
    if person not in tracks:
      raise KeypointsError(f"{path}: person={person}: no such track id; the file's "
                           f"tracks are {sorted(tracks) or 'none (no track ids)'}")
  chosen = person if person is not None else (max(tracks, key=tracks.get)
                                              if tracks else None)
  xy = np.full((len(ids), num_joints, 2), np.nan)
  score = np.zeros((len(ids), num_joints))
  depth = np.full((len(ids), num_joints), np.nan)
  for t, fid in enumerate(ids):
    candidates = [p for p in by_id.get(int(fid), []) if not tracks or p[0] == chosen]
    if candidates:
      best = max(candidates, key=lambda p: float(np.mean(p[2])))
      xy[t], score[t] = best[1], best[2]
      if best[3] is not None:
        depth[t] = best[3]
  choice = f"track {chosen}" if tracks else "most confident per frame"
  return ids, missing, xy, score, depth, choice, tracks


def _read_npz(path, layout: str | None) -> tuple:
  """(frame ids, xy [T, J, 2], score [T, J], layout, image size) of an .npz."""
  try:
    data = file_checks.open_npz(path, ["keypoints"])
  except file_checks.FormatError as e:
    raise KeypointsError(str(e)) from None
  kp = np.asarray(data["keypoints"])
  if kp.ndim != 3 or kp.shape[2] != 2 or not np.issubdtype(kp.dtype, np.number):
    raise KeypointsError(f"{path}: 'keypoints': expected a numeric array [T, J, 2] "
                         f"(pixels), got {kp.shape} {kp.dtype}")
  if len(kp) == 0:
    raise KeypointsError(f"{path}: empty file ('keypoints' has no frames)")
  in_file = str(data["layout"]) if "layout" in data else None
  if layout and in_file and layout != in_file:
    raise KeypointsError(f"{path}: layout={layout!r} but the file says {in_file!r}")
  layout = layout or in_file or "h36m"
  if layout not in ("h36m", "coco", "body_25"):
    raise KeypointsError(f"{path}: layout {layout!r}: expected 'h36m', 'coco' or "
                         "'body_25'")
  if kp.shape[1] != NUM_JOINTS[layout]:
    raise KeypointsError(f"{path}: 'keypoints' has {kp.shape[1]} joints per frame; "
                         f"layout {layout!r} has {NUM_JOINTS[layout]}")
  score = np.ones(kp.shape[:2])
  if "scores" in data:
    score = np.asarray(data["scores"], float)
    if score.shape != kp.shape[:2]:
      raise KeypointsError(f"{path}: 'scores' has shape {score.shape}; 'keypoints' "
                           f"[T={len(kp)}, J={kp.shape[1]}] needs {kp.shape[:2]}")
  size = None
  if "image_size" in data:
    size = tuple(int(v) for v in np.asarray(data["image_size"]).reshape(-1))
    if len(size) != 2 or min(size) <= 0:
      raise KeypointsError(f"{path}: 'image_size': expected (width, height) > 0, "
                           f"got {size}")
  return np.arange(len(kp)), kp.astype(float), score, layout, size


def _check_raw(path, ids, xy, score, layout, image_size, threshold, margin):
  """Refuses NaN scores, NaN coordinates with a positive score and visible
  keypoints off a known image; warns (and returns the warnings) when every
  visible keypoint lies in its top-left quarter (a smaller resolution's)."""
  names = {i: n for n, i in LAYOUTS[layout].items()}
  joint = lambda j: f"keypoint {j} ({names.get(j, '-')})"
  if not np.isfinite(score).all():
    t, j = np.argwhere(~np.isfinite(score))[0]
    raise KeypointsError(f"{path}: frame {ids[t]}: {joint(j)} has a non-finite "
                         f"(NaN/inf) score")
  if (score < 0).any():
    t, j = np.argwhere(score < 0)[0]
    raise KeypointsError(f"{path}: frame {ids[t]}: {joint(j)} has the negative "
                         f"score {score[t, j]:g}; a confidence is >= 0")
  with np.errstate(invalid="ignore"):
    far = (np.abs(xy) > MAX_PIXELS).any(axis=-1) & (score > 0)
  if far.any():
    t, j = np.argwhere(far)[0]
    raise KeypointsError(
        f"{path}: frame {ids[t]}: {joint(j)} at ({xy[t, j, 0]:.3g}, "
        f"{xy[t, j, 1]:.3g}) px lies beyond any image (over {MAX_PIXELS:.0e} "
        "px from its corner); not pixel coordinates?")
  bad = ~np.isfinite(xy).all(axis=-1) & (score > 0)
  if bad.any():
    t, j = np.argwhere(bad)[0]
    raise KeypointsError(f"{path}: frame {ids[t]}: keypoint {j} ({names.get(j, '-')}) "
                         f"has NaN/inf coordinates but score {score[t, j]:g} > 0")
  if image_size is None:
    return []
  (w, h), m = image_size, margin * max(image_size)
  with np.errstate(invalid="ignore"):
    off = ((xy[..., 0] < -m) | (xy[..., 0] > w + m) | (xy[..., 1] < -m)
           | (xy[..., 1] > h + m)) & (score >= threshold)
  seen = np.isfinite(xy).all(-1) & (score >= threshold)
  if off.any():
    t, j = np.argwhere(off)[0]
    far = np.nanmax(np.where(seen[..., None], xy, np.nan), axis=(0, 1))
    raise KeypointsError(
        f"{path}: frame {ids[t]}: keypoint {j} ({names.get(j, '-')}) at "
        f"({xy[t, j, 0]:.1f}, {xy[t, j, 1]:.1f}) px lies outside the {w}x{h} image "
        f"(margin {m:.0f} px), as do {off.sum()} of the {seen.sum()} visible "
        f"keypoints (reaching {far[0]:.0f}, {far[1]:.0f}); wrong image_size "
        "(the size the detector ran at), or normalised coordinates?")
  if seen.any():
    far = np.max(np.where(seen[..., None], xy, -np.inf), axis=(0, 1))
    if far[0] <= w / 2 and far[1] <= h / 2:
      message = (f"{path}: every visible keypoint lies in the top-left quarter "
                 f"of the {w}x{h} image (x <= {far[0]:.0f}, y <= {far[1]:.0f} px): "
                 "keypoints at a smaller resolution than image_size? Give the "
                 "size the detector ran at")
      logging.warning("%s", message)
      return [message]
  return []


def _midpoint(a, b):
  return (a[0] + b[0]) / 2, np.minimum(a[1], b[1])


def to_h36m(xy, score, layout: str) -> tuple[np.ndarray, np.ndarray, dict]:
  """Source keypoints -> H36M_17, by the module docstring's rules.

  Args:
    xy: pixels in the source layout.  # [T, S, 2]
    score: confidences.  # [T, S]
    layout: "coco", "body_25", "mediapipe" or "h36m" (returned as is).

  Returns:
    (pixels [T, 17, 2], confidence [T, 17], {derived joint: its rule}).
  """
  xy, score, src = np.asarray(xy), np.asarray(score), LAYOUTS[layout]
  if layout == "h36m":
    return xy, score, {}
  get = lambda name: (xy[:, src[name]], score[:, src[name]])
  joints = {name: get(name) for name in _LIMBS}
  derived = {}
  if "mid_hip" in src:
    joints["pelvis"], derived["pelvis"] = get("mid_hip"), "BODY_25 MidHip"
  else:
    joints["pelvis"] = _midpoint(get("l_hip"), get("r_hip"))
    derived["pelvis"] = "midpoint of the hips"
  if "neck_base" in src:
    joints["thorax"], derived["thorax"] = get("neck_base"), "BODY_25 Neck"
  else:
    joints["thorax"] = _midpoint(get("l_shoulder"), get("r_shoulder"))
    derived["thorax"] = "midpoint of the shoulders"
  joints["spine"] = _midpoint(joints["pelvis"], joints["thorax"])
  joints["neck"] = nose = get("nose")
  eyes = _midpoint(get("l_eye"), get("r_eye"))
  joints["head"] = 2 * eyes[0] - nose[0], np.minimum(eyes[1], nose[1])
  derived.update(spine="midpoint of pelvis and thorax", neck="the nose",
                 head="2 * midpoint of the eyes - nose")
  return (np.stack([joints[n][0] for n in H36M_17.joint_names], axis=1),
          np.stack([joints[n][1] for n in H36M_17.joint_names], axis=1), derived)


def depth_to_h36m(depth, layout: str) -> np.ndarray:
  """A detector's per-landmark depth [T, S] (px) -> H36M_17's, behind the
  pelvis and times `DEPTH_SCALE` [T, 17]: derived joints as `to_h36m`
  derives them (a midpoint's depth is its ends' mean). NaN where not given,
  and everywhere for a layout without a scale."""
  depth = np.asarray(depth, np.float64)
  if layout not in DEPTH_SCALE:
    return np.full((len(depth), H36M_17.num_joints), np.nan)
  src = LAYOUTS[layout]
  get = lambda name: depth[:, src[name]]
  mean = lambda a, b: (a + b) / 2
  joints = {name: get(name) for name in _LIMBS}
  joints["pelvis"] = mean(get("l_hip"), get("r_hip"))
  joints["thorax"] = mean(get("l_shoulder"), get("r_shoulder"))
  joints["spine"] = mean(joints["pelvis"], joints["thorax"])
  joints["neck"] = get("nose")
  joints["head"] = 2 * mean(get("l_eye"), get("r_eye")) - get("nose")
  out = np.stack([joints[n] for n in H36M_17.joint_names], axis=1)
  return (out - out[:, :1]) * DEPTH_SCALE[layout]


def load_keypoints(source, *, format: str | None = None,  # pylint: disable=redefined-builtin
                   image_size: Sequence[int] | None = None, person=None,
                   threshold: float = DEFAULT_THRESHOLD, empty_frames: str = "error",
                   layout: str | None = None, margin: float = DEFAULT_MARGIN) -> Keypoints2D:
  """One video's keypoint file(s) as Human3.6M-17 pixels (module docstring).

  Args:
    source: a JSON or .npz file, a directory of OpenPose JSONs, or a list of them.
    format: one of FORMATS to force it; None detects it from the content.
    image_size: (width, height) in pixels; MediaPipe needs it, and it enables
      the outside-the-image check.  An .npz may hold it as `image_size`.
    person: the track id to keep, when the file has track ids.
    threshold: the confidence from which a joint counts as visible.
    empty_frames: "error" refuses frames without a visible joint (missing
      ids and frames without the chosen track included); "mask" keeps them.
    layout: an .npz's joint order ("h36m" or "coco") when the file gives none.
    margin: how far a visible keypoint may lie outside a known image, as a
      fraction of its larger side.

  Raises:
    KeypointsError: the file cannot be read as documented (one line naming
      the file and, where it applies, the frame).
    ValueError: a bad argument.  FileNotFoundError: no such source.
  """
  if format not in FORMATS + (None,) or empty_frames not in EMPTY_FRAMES:
    raise ValueError(f"format: expected one of {FORMATS} or None, got {format!r}; "
                     f"empty_frames: one of {EMPTY_FRAMES}, got {empty_frames!r}")
  if not (math.isfinite(threshold) and threshold >= 0 and margin >= 0):
    raise ValueError(f"threshold, margin: expected finite numbers >= 0, got "
                     f"{threshold}, {margin}")
  if image_size is not None:
    image_size = tuple(int(v) for v in image_size)
    if len(image_size) != 2 or min(image_size) <= 0:
      raise ValueError(f"image_size: expected (width, height) > 0, got {image_size}")
  one_file = not isinstance(source, (list, tuple))
  if one_file and not os.path.exists(os.fspath(source)):
    raise FileNotFoundError(f"{source}: no such keypoints file or directory")
  is_npz = False
  if one_file and os.path.isfile(source):
    if os.path.getsize(source) == 0:
      raise KeypointsError(f"{source}: empty file")
    with open(source, "rb") as f:
      is_npz = f.read(2) == b"PK"  # a zip archive, as np.savez writes
  if format == "npz" or (format is None and is_npz):
    if person is not None:
      raise KeypointsError(f"{source}: person={person!r}, but an .npz holds one "
                           "person (no track ids)")
    ids, xy, score, layout, in_file = _read_npz(source, layout)
    depth = np.full(score.shape, np.nan)
    read_warnings = []
    label, missing, tracks, choice = os.fspath(source), [], {}, "the file's only person"
    image_size, format = image_size or in_file, "npz"
  else:
    read = keypoint_json.read_frames(source, format, image_size)
    format, frames, label, read_warnings = read[:4]
    image_size = image_size or read.image_size
    layout = _LAYOUT_OF[format]
    preferred = read.person if person is None else None
    ids, missing, xy, score, depth, choice, tracks = _select(
        label, frames, person if preferred is None else preferred[0],
        NUM_JOINTS[layout])
    if preferred is not None:
      choice += f" ({preferred[1]})"
  warnings = read_warnings + _check_raw(label, ids, xy, score, layout,
                                        image_size, threshold, margin)
  pixels, conf, derived = to_h36m(xy, score, layout)
  visible = (conf >= threshold) & np.isfinite(pixels).all(axis=-1)
  empty = [int(i) for i in ids[~visible.any(axis=1)]]
  if empty and empty_frames == "error":
    raise KeypointsError(
        f"{label}: frame {empty[0]}: no joint with confidence >= {threshold:g} "
        f"({len(empty)} such frame(s): {empty[:5]}{' ...' if len(empty) > 5 else ''}"
        f"{'; ids missing from the file: ' + str(missing[:5]) if missing else ''}); "
        "pass empty_frames='mask' to keep them masked")
  info = dict(format=format, source=label, layout=layout, person=choice,
              tracks=tracks, derived=derived, frame_ids=ids, missing_frames=missing,
              empty_frames=empty, threshold=threshold, warnings=warnings)
  relative = depth_to_h36m(depth, layout)
  return Keypoints2D(pixels=pixels.astype(np.float32),
                     confidence=conf.astype(np.float32), visible=visible,
                     image_size=image_size, info=info,
                     depth_px=(relative.astype(np.float32)
                               if np.isfinite(relative).any() else None))


def guess_intrinsics(image_size, *, focal_px: float | None = None,
                     fov_deg: float | None = None,
                     keypoints: Keypoints2D | None = None) -> tuple[np.ndarray, str]:
  """A pinhole camera for a video whose camera is unknown.

  Focal length: `focal_px` if given, else f = max(w, h) / 2 / tan(fov / 2)
  with `fov_deg` or `DEFAULT_FOV_DEG` across the larger image side.
  Principal point: the image centre.  Without an image size it is estimated
  from `keypoints` as the smallest image from (0, 0) holding every visible
  keypoint: a lower bound, so pass the real size when known.

  Args:
    image_size: (width, height) in pixels, or None.
    focal_px: the focal length in pixels, if known.
    fov_deg: the field of view across the larger side, in FOV_RANGE_DEG.
    keypoints: the video's keypoints: their `image_size` when `image_size` is
      None, else the estimate's data.

  Returns:
    (intrinsics [fx, fy, cx, cy] float64, a sentence saying which rules gave
    them); the image size used is (2 cx, 2 cy).
  """
  if focal_px is not None and fov_deg is not None:
    raise ValueError("guess_intrinsics: give focal_px or fov_deg, not both")
  if focal_px is not None and not focal_px > 0:
    raise ValueError(f"focal_px: expected > 0, got {focal_px}")
  low, high = FOV_RANGE_DEG
  if fov_deg is not None and not low <= fov_deg <= high:
    raise ValueError(f"fov_deg: expected {low:g} to {high:g} degrees (a "
                     f"pinhole camera's field of view), got {fov_deg:g}")
  size_rule = ""
  if image_size is None and keypoints is not None:
    image_size = keypoints.image_size
  if image_size is None:
    if keypoints is None or not keypoints.visible.any():
      raise ValueError("guess_intrinsics: image size unknown; pass image_size="
                       "(width, height) or keypoints with a visible joint")
    far = keypoints.pixels[keypoints.visible].max(axis=0)
    image_size = (max(1, math.ceil(far[0])), max(1, math.ceil(far[1])))
    size_rule = (f"image size unknown: estimated {image_size[0]}x{image_size[1]} px "
                 "from the keypoints' extent (the smallest image from (0, 0) holding "
                 "every visible keypoint); ")
  w, h = (float(v) for v in image_size)
  if focal_px is not None:
    fov = math.degrees(2 * math.atan(max(w, h) / 2 / float(focal_px)))
    if not low <= fov <= high:
      raise ValueError(
          f"focal_px: {float(focal_px):g} px across a {max(w, h):g} px image "
          f"is a {fov:.3g} degree field of view; expected {low:g} to {high:g} "
          "(a focal length in pixels, not mm?)")
    f, focal_rule = float(focal_px), f"focal {float(focal_px):g} px as given"
  else:
    fov = DEFAULT_FOV_DEG if fov_deg is None else float(fov_deg)
    f = max(w, h) / 2 / math.tan(math.radians(fov) / 2)
    focal_rule = (f"focal {f:.1f} px from a {fov:.1f} degree field of view across "
                  f"the larger image side ({max(w, h):g} px)")
    if fov_deg is None:
      focal_rule += (" (the default: the Human3.6M-like camera's, f = "
                     f"{cam_lib.H36M_LIKE_FOCAL:g} px at {cam_lib.H36M_LIKE_SIZE[0]} px)")
  return (np.array([f, f, w / 2, h / 2]),
          f"{size_rule}{focal_rule}; principal point at the image centre "
          f"({w / 2:g}, {h / 2:g})")


__all__ = ["Keypoints2D", "KeypointsError", "load_keypoints", "guess_intrinsics",
           "to_h36m", "depth_to_h36m", "DEPTH_SCALE", "FORMATS",
           "DEFAULT_THRESHOLD", "DEFAULT_FOV_DEG", "LAYOUTS"]
