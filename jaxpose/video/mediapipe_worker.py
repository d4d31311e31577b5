"""Runs MediaPipe Pose on a stretch of a video: the detector's side of
`jaxpose.video.detect`, run by the detector's own interpreter.

MediaPipe 0.10.14 (the last release whose wheel carries its pose models;
its legacy `solutions.pose` runs them offline) pins its own jax and numpy
1.x, so it lives in an environment of its own (`requirements-video.txt`)
and this file imports nothing of jaxpose: only the standard library,
NumPy, OpenCV (which decodes the video) and MediaPipe.

  python mediapipe_worker.py --video=V --probe
      prints {"frames", "fps", "width", "height"} as one JSON line.
  python mediapipe_worker.py --video=V --wait [--probe]
      starts MediaPipe (and probes), then reads the flags below as one
      JSON line on stdin ({"out", "start", "stop", ...}; an empty line:
      nothing to do), so that its start overlaps the caller's wait for
      the probe.
  python mediapipe_worker.py --video=V --out=DIR --start=S --stop=E
      [--thumb_every=K --thumb_size=W] [--every=N] [--person_at=X,Y]
      writes DIR/landmarks_S.json: [{"frame": k, "landmarks": [33 x
      {"x", "y", "z", "visibility", "presence"}], "torso_lab": [L, a, b]
      or null}] for frames S <= k < E
      that are a multiple of N (an empty list where no person was
      found; the others are decoded, not detected; with --person_at, the
      person at that pixel of frame S, `Follow`), MediaPipe's own layout
      that `jaxpose.data.keypoint_json` reads, with the colour of the
      person's torso (`torso_colour`); every K-th frame's image,
      S pixels on its longer side, as DIR/frames/<k>.jpg; and after each
      frame a line
      "progress <k>" on stderr.
"""
import argparse
import json
import math
import os
import sys

# Two torsos whose mean colours lie further apart than this in CIELAB's
# a*b* plane (OpenCV's 8-bit scale, where one unit is about one of
# CIELAB's) are two people. Lightness, which light and shade change most,
# is left out. On the demo clips a person's torso strayed at most 8.4 from
# its running mean, and the two-person demo's people lie 12.6-24.4 apart,
# view by view (`jaxpose.video.tracks.COLOUR` is the same).
COLOUR = 10.0
_TORSO_QUAD = (11, 12, 24, 23)  # shoulders, then hips: the corners in order
_SURE = 0.5


def torso_colour(image, landmarks, to_lab) -> list | None:
  """Mean colour [L, a, b] of the torso quadrilateral (shoulders and hips)
  of `image` (H x W x 3), `to_lab` converting pixels of it to CIELAB, over
  every k-th pixel across and down (about 32 across the torso's narrower
  side); None when a corner is
  unsure (visibility under 0.5) or the torso covers under 64 pixels."""
  import numpy as np  # pylint: disable=import-outside-toplevel
  if len(landmarks) < 25 or any(landmarks[i].get("visibility", 1.0) < _SURE
                                for i in _TORSO_QUAD):
    return None
  h, w = image.shape[:2]
  quad = np.array([[landmarks[i]["x"] * w, landmarks[i]["y"] * h]
                   for i in _TORSO_QUAD])
  if not np.isfinite(quad).all():
    return None
  x, y = quad[:, 0], quad[:, 1]
  if 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) < 64:
    return None
  x0, y0 = np.maximum(np.floor(quad.min(0)).astype(int), 0)
  x1, y1 = np.minimum(np.ceil(quad.max(0)).astype(int) + 1, (w, h))
  step = max(1, min(x1 - x0, y1 - y0) // 32)
  ys, xs = np.mgrid[y0:y1:step, x0:x1:step] + 0.5
  # Inside a convex quadrilateral: on one side of each of its edges.
  sides = np.stack([(b[0] - a[0]) * (ys - a[1]) - (b[1] - a[1]) * (xs - a[0])
                    for a, b in zip(quad, np.roll(quad, -1, axis=0))])
  inside = (sides >= 0).all(0) | (sides <= 0).all(0)
  if not inside.any():
    return None
  lab = np.asarray(to_lab(np.ascontiguousarray(
      image[y0:y1:step, x0:x1:step])), np.float64)
  return [round(float(v), 1) for v in lab[inside].mean(0)]


def colour_distance(c0, c1) -> float:
  """How far two torso colours [L, a, b] lie apart in the a*b* plane."""
  return math.hypot(c0[1] - c1[1], c0[2] - c1[2])


def _capture(path):
  import cv2  # pylint: disable=import-outside-toplevel
  capture = cv2.VideoCapture(path)
  if not capture.isOpened():
    raise SystemExit(f"error: {path}: cannot be decoded as a video")
  return cv2, capture


def probe(path: str) -> dict:
  cv2, capture = _capture(path)
  info = {"frames": int(capture.get(cv2.CAP_PROP_FRAME_COUNT)),
          "fps": float(capture.get(cv2.CAP_PROP_FPS) or 0.0),
          "width": int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
          "height": int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))}
  capture.release()
  return info


def _thumbnail(cv2, image, size: int):
  """`image` at `size` pixels on its longer side. Area averaging over the
  whole frame costs more than MediaPipe's preprocessing; a linear step to
  twice the size first leaves it a cheap 2:1 average (no aliasing)."""
  h, w = image.shape[:2]
  scale = size / max(h, w)
  target = (max(1, round(w * scale)), max(1, round(h * scale)))
  if scale < 0.5:
    image = cv2.resize(image, (2 * target[0], 2 * target[1]),
                       interpolation=cv2.INTER_LINEAR)
  return cv2.resize(image, target, interpolation=cv2.INTER_AREA)


def _keep(cv2, image, out: str, k: int, size: int):
  cv2.imwrite(os.path.join(out, "frames", f"{k}.jpg"),
              _thumbnail(cv2, image, size), [cv2.IMWRITE_JPEG_QUALITY, 60])


class Follow:
  """The part of each frame the detector sees when it is to follow the
  person at a given point of the first frame (the others left out): at
  first a box around the point, 0.3 x 0.6 of the frame's height (one
  standing person seen whole), then the box of the person's sure
  landmarks in the last frame, grown by `GROW` about its centre plus
  `MARGIN` of the frame's height; kept where it was while no one is seen.
  Boxes are (x0, y0, x1, y1) in pixels, inside the frame.

  Whoever the detector finds in the box is the followed person only if
  their torso's colour is theirs (`same_person`: within `COLOUR` of the
  colour followed so far, a running mean): a person passing in front
  would otherwise take over the box for good.
  """
  GROW = 1.4
  MARGIN = 0.05
  SURE = _SURE
  KEEP = 0.9  # the running colour's weight against each new frame's

  def __init__(self, point, width: int, height: int):
    self.size = (width, height)
    self.colour = None
    x, y = point
    self.box = self._inside(x - 0.15 * height, y - 0.3 * height,
                            x + 0.15 * height, y + 0.3 * height)

  def _inside(self, x0, y0, x1, y1):
    w, h = self.size
    x0, y0 = max(0, int(x0)), max(0, int(y0))
    x1, y1 = min(w, int(x1) + 1), min(h, int(y1) + 1)
    if x1 - x0 < 8 or y1 - y0 < 8:
      return (0, 0, w, h)
    return (x0, y0, x1, y1)

  def to_frame(self, landmarks: list) -> list:
    """Landmarks of the box (normalised to it) normalised to the frame."""
    x0, y0, x1, y1 = self.box
    w, h = self.size
    return [{**m, "x": (m["x"] * (x1 - x0) + x0) / w,
             "y": (m["y"] * (y1 - y0) + y0) / h,
             "z": m["z"] * (x1 - x0) / w} for m in landmarks]

  def same_person(self, colour) -> bool:
    """Whether a torso of this colour can be the followed person's (an
    unknown colour, on either side, can)."""
    return (colour is None or self.colour is None
            or colour_distance(colour, self.colour) <= COLOUR)

  def hide(self, image, landmarks: list):
    """A copy of the box's part of `image` with the box of `landmarks`
    (someone else's, normalised to the frame) filled with grey, so that a
    detector finds whoever else is there."""
    w, h = self.size
    x0, y0, x1, y1 = self.box
    seen = image[y0:y1, x0:x1].copy()
    xs = [m["x"] * w - x0 for m in landmarks]
    ys = [m["y"] * h - y0 for m in landmarks]
    if xs:
      pad = 0.05 * (max(ys) - min(ys))
      seen[max(0, int(min(ys) - pad)):max(0, int(max(ys) + pad) + 1),
           max(0, int(min(xs) - pad)):max(0, int(max(xs) + pad) + 1)] = 128
    return seen

  def update(self, landmarks: list, colour=None):
    """The next box, from this frame's landmarks (normalised to the frame),
    and the running colour, from their torso's `colour`."""
    if colour is not None:
      self.colour = (list(colour) if self.colour is None else [
          self.KEEP * c + (1 - self.KEEP) * n
          for c, n in zip(self.colour, colour)])
    w, h = self.size
    sure = [(m["x"] * w, m["y"] * h) for m in landmarks
            if m.get("visibility", 1.0) >= self.SURE]
    if len(sure) < 4:
      return
    xs, ys = [p[0] for p in sure], [p[1] for p in sure]
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    half_w = (max(xs) - min(xs)) / 2 * self.GROW + self.MARGIN * h
    half_h = (max(ys) - min(ys)) / 2 * self.GROW + self.MARGIN * h
    self.box = self._inside(cx - half_w, cy - half_h, cx + half_w,
                            cy + half_h)


def _pose_solution():
  """MediaPipe's legacy Pose solution, imported without its drawing
  helpers: they import matplotlib's pyplot, half a second of each
  worker's start, for pictures never drawn here."""
  import types  # pylint: disable=import-outside-toplevel
  for name in ("drawing_utils", "drawing_styles"):
    full = f"mediapipe.python.solutions.{name}"
    sys.modules.setdefault(full, types.ModuleType(full))
  from mediapipe.python.solutions import pose  # pylint: disable=import-outside-toplevel
  return pose


def _pose(pose_solution, static: bool = False):
  return pose_solution.Pose(static_image_mode=static, model_complexity=1,
                            smooth_landmarks=not static)


def _landmarks(result) -> list:
  return [{"x": m.x, "y": m.y, "z": m.z, "visibility": m.visibility,
           "presence": m.presence} for m in (
               result.pose_landmarks.landmark if result.pose_landmarks
               else [])]


def _followed(cv2, follow: Follow, image, pose,
              finder) -> tuple[list, list | None]:
  """(landmarks normalised to the frame, torso colour) of the followed
  person in `image`: whoever `pose` finds in the box, or, when their torso
  is someone else's colour, whoever `finder()` (a one-image detector)
  finds with them hidden; ([], None) when that is not them either."""
  to_lab = lambda patch: cv2.cvtColor(patch, cv2.COLOR_BGR2LAB)
  x0, y0, x1, y1 = follow.box
  rgb = lambda bgr: cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
  marks = follow.to_frame(_landmarks(pose.process(rgb(image[y0:y1, x0:x1]))))
  colour = torso_colour(image, marks, to_lab) if marks else None
  if follow.same_person(colour):
    return marks, colour
  marks = follow.to_frame(_landmarks(finder().process(rgb(
      follow.hide(image, marks)))))
  colour = torso_colour(image, marks, to_lab) if marks else None
  if marks and colour is not None and follow.same_person(colour):
    return marks, colour
  return [], None


def detect(path: str, out: str, start: int, stop: int, thumb_every: int,
           thumb_size: int, every: int = 1, person_at=None, pose=None):
  """Detects frames `start` <= k < `stop` (see the module docstring), with
  `pose` (a MediaPipe Pose, closed here) or one made here."""
  pose = pose or _pose(_pose_solution())
  cv2, capture = _capture(path)
  follow = None
  finders = []  # a one-image detector, made when someone else is in the box

  def finder():
    if not finders:
      finders.append(_pose(_pose_solution(), static=True))
    return finders[0]

  os.makedirs(os.path.join(out, "frames"), exist_ok=True)
  for _ in range(start):  # exact positions: decoded, not sought
    if not capture.grab():
      break
  frames = []
  with pose:
    for k in range(start, stop):
      thumb = bool(thumb_every) and k % thumb_every == 0
      if k % every:  # decoded to keep the position, not detected
        if not capture.grab():
          break
        if thumb:
          ok, image = capture.retrieve()
          if ok:
            _keep(cv2, image, out, k, thumb_size)
        print(f"progress {k}", file=sys.stderr, flush=True)
        continue
      ok, image = capture.read()
      if not ok:
        break
      if person_at is not None and follow is None:
        follow = Follow(person_at, image.shape[1], image.shape[0])
      if follow is not None:
        marks, colour = _followed(cv2, follow, image, pose, finder)
        follow.update(marks, colour)
      else:
        marks = _landmarks(pose.process(cv2.cvtColor(image,
                                                     cv2.COLOR_BGR2RGB)))
        colour = torso_colour(image, marks, lambda patch: cv2.cvtColor(
            patch, cv2.COLOR_BGR2LAB)) if marks else None
      frames.append({"frame": k, "landmarks": marks, "torso_lab": colour})
      if thumb:
        _keep(cv2, image, out, k, thumb_size)
      print(f"progress {k}", file=sys.stderr, flush=True)
  capture.release()
  for one in finders:
    one.close()
  tmp = os.path.join(out, f".landmarks_{start}.json.tmp")
  with open(tmp, "w") as f:
    json.dump(frames, f)
  os.replace(tmp, os.path.join(out, f"landmarks_{start}.json"))


def arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
  """The worker's flags (the module docstring), on `parser`."""
  parser.add_argument("--video", required=True)
  parser.add_argument("--probe", action="store_true")
  parser.add_argument("--out")
  parser.add_argument("--start", type=int, default=0)
  parser.add_argument("--stop", type=int, default=0)
  parser.add_argument("--thumb_every", type=int, default=0)
  parser.add_argument("--thumb_size", type=int, default=320)
  parser.add_argument("--every", type=int, default=1)
  parser.add_argument("--person_at", default="")
  parser.add_argument("--wait", action="store_true")
  return parser


def stretch_from_stdin(args: argparse.Namespace) -> bool:
  """`args` with the flags of the JSON line on stdin (`--wait`); False
  where the line is empty (nothing to do)."""
  line = sys.stdin.readline().strip()
  if not line:
    return False
  for key, value in json.loads(line).items():
    if not hasattr(args, key):
      raise SystemExit(f"error: unknown setting {key!r} on stdin")
    setattr(args, key, value)
  return True


def main():
  args = arguments(argparse.ArgumentParser(
      description=__doc__.splitlines()[0])).parse_args()
  if args.probe:
    print(json.dumps(probe(args.video)), flush=True)
  if args.probe and not args.wait:
    return
  pose = _pose(_pose_solution()) if args.wait else None
  if args.wait and not stretch_from_stdin(args):
    pose.close()
    return
  point = (tuple(float(v) for v in args.person_at.split(","))
           if args.person_at else None)
  detect(args.video, args.out, args.start, args.stop, args.thumb_every,
         args.thumb_size, max(args.every, 1), point, pose)


if __name__ == "__main__":
  main()
