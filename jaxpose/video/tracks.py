"""One person through a clip: where a one-person detector's answer
becomes someone else.

MediaPipe's Pose follows one person and, when it loses them (or a worker
starts its stretch of the clip afresh), takes whoever it finds next: in a
clip of two people the keypoints can jump from one to the other between
two frames. Here each frame's person is given a track: the track whose
last torso is near enough (its centre within `JUMP` torso lengths, plus
`SPEED` a second of any gap, its length within `SIZE` times) and, where
the detector gave the torso's colour (`torso_lab`, the worker's
`torso_colour`), of the track's colour (within `COLOUR` of its running
mean in CIELAB's a*b* plane), else a new one. A person who comes back
within `MAX_GAP_S` after another was followed joins their old track;
later, a new one. `preferred` names the
track to lift by default; the keypoint reader keeps one track (`person=`,
default that one) and leaves the others' frames empty, to be completed.

Two people crossing close by, of one size and dressed alike, can still
swap unnoticed.
"""
from __future__ import annotations

import numpy as np

JUMP = 0.6      # torso lengths the torso's centre moves between frames
SPEED = 6.0     # torso lengths a second more, over a gap (about 2 body
                # heights a second: running)
SIZE = 1.5      # the most a torso's length changes between neighbours
MAX_GAP_S = 1.0  # a person unseen for longer starts a new track
COLOUR = 10.0   # a*b* units between two people's torsos (the worker's)
_KEEP = 0.9     # a track's running colour's weight against a new frame's
_SURE = 0.5     # landmarks at least this visible count
_TORSO = (11, 12, 23, 24)  # MediaPipe's shoulders and hips


def body_box(landmarks, image_size) -> tuple[np.ndarray, float] | None:
  """(centre [2] px, size px) of a person: the torso's centre and length
  (shoulders' midpoint to hips'), steadier than the box of whatever
  landmarks are seen; without a seen torso, the seen landmarks' box and a
  third of its height. None with under 4 landmarks seen."""
  if not landmarks or len(landmarks) < 25:
    return None
  xy = np.array([[l["x"], l["y"]] for l in landmarks], float) * np.asarray(
      image_size, float)
  seen = np.array([l.get("visibility", 1.0) for l in landmarks]) >= _SURE
  seen &= np.isfinite(xy).all(1)
  if seen.sum() < 4:
    return None
  if seen[list(_TORSO)].all():
    shoulders, hips = xy[[11, 12]].mean(0), xy[[23, 24]].mean(0)
    return (shoulders + hips) / 2, max(float(np.linalg.norm(shoulders - hips)),
                                       1.0)
  lo, hi = xy[seen].min(0), xy[seen].max(0)
  return (lo + hi) / 2, max(float(hi[1] - lo[1]) / 3, 1.0)


def _near(last, box, gap_s: float) -> float | None:
  """How far `box` is from a track's `last` box, in allowances (< 1:
  the same person), or None when their sizes differ too much."""
  (c0, h0), (c1, h1) = last, box
  if gap_s > MAX_GAP_S or max(h0, h1) > SIZE * min(h0, h1):
    return None
  allowance = (JUMP + SPEED * gap_s) * max(h0, h1)
  return float(np.linalg.norm(c1 - c0)) / allowance


def _same_colour(track_colour, colour) -> bool:
  if track_colour is None or colour is None:
    return True
  return float(np.hypot(*np.subtract(track_colour[1:], colour[1:]))) <= COLOUR


def assign(frames: list, image_size, fps: float) -> dict[int, int]:
  """Writes a `track_id` into each frame of the detector's frames
  ({"frame", "landmarks"[, "torso_lab"]}, in frame order) that holds a
  person; returns {track id: frames}."""
  fps = fps if fps and fps > 0 else 30.0
  last: list[tuple[int, tuple]] = []  # per track: (frame, box)
  colours: list = []  # per track: its running torso colour, or None
  counts: dict[int, int] = {}
  current = None
  for entry in frames:
    box = body_box(entry.get("landmarks"), image_size)
    if box is None:
      continue
    colour = entry.get("torso_lab")
    scores = {}
    for track, (frame, previous) in enumerate(last):
      d = _near(previous, box, (entry["frame"] - frame) / fps)
      if d is not None and d < 1.0 and _same_colour(colours[track], colour):
        scores[track] = d
    if current in scores:  # keep following unless it jumped
      track = current
    elif scores:
      track = min(scores, key=scores.get)
    else:
      track = len(last)
      last.append(None)
      colours.append(None)
    last[track] = (entry["frame"], box)
    if colour is not None:
      colours[track] = (list(colour) if colours[track] is None else [
          _KEEP * c + (1 - _KEEP) * n for c, n in zip(colours[track], colour)])
    entry["track_id"] = current = track
    counts[track] = counts.get(track, 0) + 1
  return counts


def preferred(frames: list, image_size) -> int | None:
  """The track to lift by default: the largest, most central and most
  persistent, by the sum over its frames of the torso's length times
  1 - half the centre's distance from the image's centre over the half
  diagonal (a person in front, followed long, near the middle)."""
  half = np.asarray(image_size, float) / 2
  score: dict[int, float] = {}
  for entry in frames:
    box = body_box(entry.get("landmarks"), image_size)
    if box is None or entry.get("track_id") is None:
      continue
    off = np.linalg.norm(box[0] - half) / np.linalg.norm(half)
    track = entry["track_id"]
    score[track] = score.get(track, 0.0) + box[1] * (1 - 0.5 * min(off, 1))
  return max(score, key=score.get) if score else None


PREFERRED_RULE = "the largest, most central and most persistent"


def followed(frames: list) -> int | None:
  """The track of the first frame holding one: the person a follow
  (`person_at`) began on."""
  return next((entry["track_id"] for entry in frames
               if entry.get("track_id") is not None), None)


FOLLOWED_RULE = "the person followed from the first frame"

__all__ = ["COLOUR", "FOLLOWED_RULE", "JUMP", "MAX_GAP_S", "PREFERRED_RULE",
           "SIZE", "SPEED", "assign", "body_box", "followed", "preferred"]
