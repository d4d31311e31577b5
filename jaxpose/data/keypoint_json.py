"""The JSON files of 2D keypoint detectors -> per-frame persons (the reading
half of `jaxpose.data.keypoints`, whose docstring gives the layouts read).

`read_frames(source, format, image_size)` -> (format, [(frame id, [(track
id or None, xy [S, 2] pixels, score [S], depth [S] or None)])], label):
COCO-17 (S = 17), OpenPose BODY_25 (S = 25, one file per frame) and
MediaPipe Pose (S = 33, scaled to pixels by the image size; its landmarks'
`z`, on x's scale, gives the depth in pixels; other formats have none).
No person is chosen and nothing is mapped here; errors (`KeypointsError`)
name the file and the frame.
"""
from __future__ import annotations

import json
import math
import os
import pathlib
import re
import sys
from typing import NamedTuple

from absl import logging
import numpy as np

from jaxpose.data import file_checks

JSON_JOINTS = {"coco": 17, "openpose": 25, "mediapipe": 33}
_FRAME_KEYS = ("frame_id", "image_id", "frame")
_PERSONS_KEYS = ("instances", "people", "predictions", "landmarks", "pose_landmarks")
_TRACK_KEYS = ("track_id", "idx", "id", "person_id")
_WARNED: set[str] = set()  # warnings logged once a process
_LOOKED_FOR = ("looked for COCO-17 JSON (frames with 'instances'/'people'/"
               "'predictions', or persons with 'keypoints'), OpenPose BODY_25 "
               "('people' with 'pose_keypoints_2d'), MediaPipe (33 landmarks "
               "with 'x', 'y') and .npz (a 'keypoints' array)")


class KeypointsError(file_checks.FormatError):
  """A keypoints file that cannot be read as documented; names file and frame."""


# Frame and track ids are small integers: a frame id of 1e20 would make a
# timeline of that many frames.
MAX_ID = 10**9


def as_id(value, where: str) -> int | None:
  """An id as an int (a string counts by its last number); None for none.

  Raises:
    KeypointsError: not an integer, or not below MAX_ID in size.
  """
  while isinstance(value, (list, tuple)) and value:
    value = value[0]  # OpenPose's person_id [k]
  if value is None or isinstance(value, (list, tuple)):
    return None
  number = None
  if isinstance(value, str) and re.search(r"\d+", value):
    digits = re.findall(r"\d+", value)[-1].lstrip("0") or "0"
    number = int(digits) if len(digits) <= 10 else MAX_ID
  elif isinstance(value, (int, float)) and not isinstance(value, bool) and (
      math.isfinite(value) and float(value).is_integer()):
    number = int(value)
  if number is None:
    raise KeypointsError(f"{where}: id {str(value)[:40]!r} is not an integer")
  if abs(number) >= MAX_ID:
    raise KeypointsError(f"{where}: id {str(value)[:40]} is not a small "
                         f"integer (at most {MAX_ID:.0e} in size)")
  return number


def _read_json(path: pathlib.Path):
  try:
    text = path.read_text()
  except (OSError, UnicodeDecodeError) as e:
    raise KeypointsError(f"{path}: cannot read ({e})") from None
  if not text.strip():
    raise KeypointsError(f"{path}: empty file")
  try:
    return json.loads(text)
  except json.JSONDecodeError as e:
    raise KeypointsError(f"{path}: not valid JSON ({e}); {_LOOKED_FOR}") from None
  except RecursionError:
    raise KeypointsError(f"{path}: JSON nested deeper than {sys.getrecursionlimit()}"
                         " levels: not a keypoints file") from None


def _is_landmark(x) -> bool:
  return isinstance(x, dict) and "x" in x and "y" in x


def _detect(data) -> str | None:
  """The format a parsed JSON looks like, or None."""
  if isinstance(data, dict):
    if "people" in data:
      return "openpose"
    if "instance_info" in data or "annotations" in data:
      return "coco"
    return "mediapipe" if "landmarks" in data or "pose_landmarks" in data else None
  first = next((e for e in data if e), None) if isinstance(data, list) else None
  if isinstance(first, list):
    return "mediapipe" if _is_landmark(first[0]) else "coco"
  if not isinstance(first, dict):
    return None
  if _is_landmark(first) or "landmarks" in first or "pose_landmarks" in first:
    return "mediapipe"
  if "keypoints" in first:
    return "coco"
  persons = next((first[k] for k in _PERSONS_KEYS if k in first), None)
  if not isinstance(persons, list):
    return None
  return "openpose" if any(isinstance(p, dict) and "pose_keypoints_2d" in p
                           for p in persons) else "coco"


def _person(where: str, p, fmt: str, image_size, track_keys,
            presences: list | None = None) -> tuple:
  """(track id or None, xy [S, 2], score [S], depth [S] or None) of one
  person of a JSON; a MediaPipe person's score is its visibility, and
  (visibility, presence) is added to `presences` (`_with_presence` combines
  them); its depth is `z` in pixels (z is on x's scale, the image's width),
  None where a landmark lacks it."""
  n = JSON_JOINTS[fmt]
  try:
    if fmt == "mediapipe":
      if not (isinstance(p, list) and len(p) == n and all(map(_is_landmark, p))):
        got = len(p) if isinstance(p, list) else type(p).__name__
        raise KeypointsError(f"{where}: expected 33 MediaPipe landmarks with 'x', "
                             f"'y', got {got}")
      xy = np.array([[l["x"], l["y"]] for l in p], float) * image_size
      visibility = np.array([l.get("visibility", 1.0) for l in p], float)
      if presences is not None:
        presences.append((visibility, np.array(
            [l.get("presence", 1.0) for l in p], float)))
      given = all(isinstance(l.get("z"), (int, float)) for l in p)
      depth = (np.array([l["z"] for l in p], float) * image_size[0]
               if given else None)
      return None, xy, visibility, depth
    if not isinstance(p, dict):
      raise KeypointsError(f"{where}: expected a person as a dict, got {type(p).__name__}")
    track = next((as_id(p[k], where) for k in track_keys if k in p), None)
    key = "pose_keypoints_2d" if fmt == "openpose" else "keypoints"
    arr = np.asarray(p.get(key, []), float)
    if arr.ndim == 1 and arr.size == 3 * n:
      arr = arr.reshape(n, 3)
    if arr.shape == (n, 2) and "keypoint_scores" in p:  # MMPose: scores apart
      scores = np.asarray(p["keypoint_scores"], float).reshape(-1)
      if scores.size != n:
        raise KeypointsError(f"{where}: {n} keypoints but {scores.size} keypoint_scores")
      arr = np.concatenate([arr, scores[:, None]], axis=1)
  except (TypeError, ValueError) as e:
    if isinstance(e, KeypointsError):
      raise
    raise KeypointsError(f"{where}: keypoints are not numbers ({e})") from None
  if arr.shape != (n, 3):
    raise KeypointsError(
        f"{where}: '{key}': expected {n} keypoints as {3 * n} numbers x, y, score"
        f"{' or [[x, y]] with keypoint_scores' if fmt == 'coco' else ''}; got "
        f"shape {arr.shape}")
  # OpenPose's person_id [-1] means untracked.
  return (None if track == -1 else track), arr[:, :2], arr[:, 2], None


def _json_frames(path, data, fmt: str, image_size, frame_id=None,
                 presences: list | None = None) -> list[tuple[int, list]]:
  """[(frame id, [persons])] of one JSON, in file order; `frame_id` names
  the frame of a one-frame file (an OpenPose file's number); MediaPipe's
  (visibility, presence) pairs go to `presences`."""
  track_keys = _TRACK_KEYS
  if isinstance(data, dict):
    if "instance_info" in data:
      data = data["instance_info"]
    elif "annotations" in data:
      data, track_keys = data["annotations"], ("track_id", "idx", "person_id")
    else:
      data = [data]  # one frame: an OpenPose file, or {"landmarks": ...}
  if not isinstance(data, list):
    raise KeypointsError(f"{path}: not a recognised keypoints file; {_LOOKED_FOR}")
  if fmt == "mediapipe" and data and _is_landmark(data[0]):
    data = [data]  # one frame's 33 landmarks
  frames = []
  if fmt == "coco" and any(isinstance(e, dict) and "keypoints" in e for e in data):
    for i, entry in enumerate(data):  # results style: one person per entry
      key = next((k for k in _FRAME_KEYS if k in entry), None) if isinstance(
          entry, dict) else None
      if key is None:
        raise KeypointsError(f"{path}: entry {i}: a person in the COCO results "
                             "style needs 'image_id' (its frame)")
      fid = as_id(entry[key], f"{path}: entry {i}")
      frames.append((fid, [_person(f"{path}: frame {fid}", entry, fmt, image_size,
                                   track_keys)]))
    return frames
  for pos, entry in enumerate(data):
    fid, persons = pos if frame_id is None else frame_id, entry
    if isinstance(entry, dict):
      key = next((k for k in _FRAME_KEYS if k in entry), None)
      if key is not None:
        fid = as_id(entry[key], f"{path}: entry {pos}")
      persons = next((entry[k] for k in _PERSONS_KEYS if k in entry), [])
    persons = [] if persons is None else persons
    if fmt == "mediapipe" and persons and _is_landmark(persons[0]):
      persons = [persons]  # one pose's landmarks
    if not isinstance(persons, list):
      raise KeypointsError(f"{path}: frame {fid}: expected a list of persons, got "
                           f"{type(persons).__name__}")
    people = [_person(f"{path}: frame {fid}", p, fmt, image_size, track_keys,
                      presences) for p in persons]
    track = next((entry[k] for k in _TRACK_KEYS if k in entry), None) if (
        fmt == "mediapipe" and isinstance(entry, dict)) else None
    if track is not None:  # one frame's landmarks, its track beside them
      track = as_id(track, f"{path}: frame {fid}")
      people = [(track,) + person[1:] for person in people]
    frames.append((fid, people))
  return frames


def _with_presence(path, presences: list) -> list[str]:
  """Makes each MediaPipe score min(visibility, presence) in place; returns
  the warnings. A presence of 0 on every landmark beside positive
  visibilities is MediaPipe's legacy Pose API, which never fills it in: it
  is read as no presence given."""
  if not presences:
    return []
  unfilled = all(not presence.any() for _, presence in presences) and any(
      visibility.any() for visibility, _ in presences)
  if unfilled:
    message = (f"{path}: 'presence' is 0 on every landmark beside positive "
               "visibilities (MediaPipe's legacy Pose API leaves it unset): "
               "read as not given, the score is the visibility")
    if message not in _WARNED:  # a file read twice (checked, then lifted)
      _WARNED.add(message)
      logging.warning("%s", message)
    return [message]
  for visibility, presence in presences:
    np.minimum(visibility, presence, out=visibility)
  return []


def _number_in_name(path: pathlib.Path) -> int | None:
  found = re.findall(r"\d+", path.stem)
  return int(found[-1]) if found else None


class Read(NamedTuple):
  """What `read_frames` read: the format, [(frame id, persons)], a label
  naming the source, warnings, the image size the file states (a video's
  keypoints.json, `jaxpose.video.detect`) or None, and the track that
  file prefers ({"person": id, "person_rule": words}) or None."""
  format: str
  frames: list
  label: str
  warnings: list
  image_size: tuple[int, int] | None = None
  person: tuple[int, str] | None = None


def _video_file(data, image_size):
  """A video's keypoints.json ({"image_size", "frames", ...}): its frames
  and the image size (a given one wins); other data as it is."""
  if not (isinstance(data, dict) and "frames" in data and "image_size" in data):
    return data, image_size, None
  size = data["image_size"]
  if not (isinstance(size, list) and len(size) == 2 and all(
      isinstance(v, int) and v > 0 for v in size)):
    raise KeypointsError(f"'image_size' {str(size)[:40]}: expected [width, "
                         "height] > 0")
  return data["frames"], image_size or tuple(size), tuple(size)


def _preferred(data) -> tuple[int, str] | None:
  """(track, why) a video's keypoints.json prefers, or None."""
  if not (isinstance(data, dict) and "person" in data and "frames" in data
          and "image_size" in data):
    return None
  return (as_id(data["person"], "'person'"),
          str(data.get("person_rule", "the file's choice"))[:200])


def read_frames(source, fmt: str | None, image_size) -> Read:
  """What JSON file(s) hold (`Read`)."""
  many = isinstance(source, (list, tuple))
  if many or pathlib.Path(os.fspath(source)).is_dir():
    files = ([pathlib.Path(os.fspath(f)) for f in source] if many else
             sorted(pathlib.Path(os.fspath(source)).glob("*.json")))
    if not files:
      raise KeypointsError(f"{source}: no .json keypoint files (one OpenPose JSON "
                           "per frame)")
    numbered = all(_number_in_name(f) is not None for f in files)
    frames = []
    for pos, f in enumerate(files):
      data = _read_json(f)
      if not isinstance(data, dict) or _detect(data) != (fmt or "openpose"):
        raise KeypointsError(f"{f}: not an OpenPose frame ('people' with "
                             "'pose_keypoints_2d'): a directory or list of files "
                             "holds one OpenPose JSON per frame")
      fid = _number_in_name(f) if numbered else pos
      persons = _json_frames(f, data, "openpose", image_size, fid)[0][1]
      frames.append((fid, persons))
    return Read("openpose", frames, (f"{files[0]} .. {files[-1].name}" if many
                                     else os.fspath(source)), [])
  path = pathlib.Path(os.fspath(source))
  data = _read_json(path)
  try:
    preferred = _preferred(data)
    data, image_size, stated = _video_file(data, image_size)
  except KeypointsError as e:
    raise KeypointsError(f"{path}: {e}") from None
  if data in ([], {}):
    raise KeypointsError(f"{path}: empty file (no frames)")
  found = _detect(data)
  if found is None:
    raise KeypointsError(f"{path}: not a recognised keypoints file; {_LOOKED_FOR}")
  fmt = fmt or found
  if fmt == "mediapipe" and image_size is None:
    raise KeypointsError(f"{path}: MediaPipe landmarks are normalised to [0, 1]: "
                         "pass image_size=(width, height), the video's frame "
                         "size in pixels")
  one = fmt == "openpose" and isinstance(data, dict)  # one frame, named by the file
  presences = []
  frames = _json_frames(path, data, fmt, image_size,
                        _number_in_name(path) if one else None, presences)
  return Read(fmt, frames, str(path), _with_presence(path, presences), stated,
              preferred)


__all__ = ["KeypointsError", "JSON_JOINTS", "Read", "as_id", "read_frames"]
