"""A video file -> the detector's 2D keypoints, by MediaPipe Pose in its own
environment.

MediaPipe 0.10.14 carries its BlazePose models inside its wheel (nothing is
downloaded at run time) but pins its own jax and numpy 1.x, so it cannot
share jaxpose's environment: `setup_detector` makes a virtual environment
for it (`python -m experiments.setup_detector`), and `detect` runs
`mediapipe_worker.py` there as separate processes, one stretch of the clip
each (`workers`, by default one per core), reading their progress into one
bar with an ETA. The result is MediaPipe's own JSON (`keypoint_json`
reads it), held in a file with the video's size and frame rate, and a
downscaled JPEG of every k-th frame for the motion page.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
import threading
import time
from typing import Sequence

from jaxpose import files
from jaxpose.video import tracks

# The detector's environment (`requirements-video.txt` holds the same).
REQUIREMENTS = ("mediapipe==0.10.14", "numpy==1.26.4",
                "opencv-contrib-python==4.11.0.86")
DEFAULT_VENV = os.path.join(os.path.expanduser("~"), ".cache", "jaxpose",
                            "detector")
PYTHON_VARIABLE = "JAXPOSE_DETECTOR_PYTHON"
WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      "mediapipe_worker.py")
DETECTOR = "MediaPipe 0.10.14 Pose (BlazePose full, legacy solutions API)"


class VideoError(ValueError):
  """A video that cannot be detected (the message names it and why)."""


@dataclasses.dataclass(frozen=True)
class VideoInfo:
  """What the decoder says of a clip (`frames` may be an estimate)."""
  frames: int
  fps: float
  width: int
  height: int


@dataclasses.dataclass(frozen=True)
class Detection:
  """A detected clip.

  Attributes:
    keypoints_path: the JSON of `write_keypoints` (readable as keypoints).
    frame_images: {frame id: JPEG file} of the frames kept for the page.
    info: the clip's size and frame rate.
    frames: frames decoded.
    seconds: wall time of the detection.
  """
  keypoints_path: str
  frame_images: dict[int, str]
  info: VideoInfo
  frames: int
  seconds: float


def detector_python(python: str | None = None) -> str:
  """The detector environment's interpreter: `python`, else
  $JAXPOSE_DETECTOR_PYTHON, else the one `setup_detector` makes."""
  python = python or os.environ.get(PYTHON_VARIABLE) or os.path.join(
      DEFAULT_VENV, "bin", "python")
  if not os.path.isfile(python):
    raise VideoError(
        f"no detector environment at {python}: set one up once with "
        "`python -m experiments.setup_detector` (MediaPipe in a virtual "
        f"environment of its own, {DEFAULT_VENV}), or point "
        f"{PYTHON_VARIABLE} at a python that has {', '.join(REQUIREMENTS)}")
  return python


def setup_detector(venv: str = DEFAULT_VENV, *,
                   base_python: str = sys.executable) -> str:
  """Makes the detector's virtual environment at `venv` (pip installs
  REQUIREMENTS into it); returns its python."""
  subprocess.run([base_python, "-m", "venv", venv], check=True)
  python = os.path.join(venv, "bin", "python")
  subprocess.run([python, "-m", "pip", "install", "--quiet", *REQUIREMENTS],
                 check=True)
  return python


def _worker(python: str, video: str, *args: str, **kwargs):
  return subprocess.Popen([python, WORKER, f"--video={video}", *args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, **kwargs)


def _last_error(lines: Sequence[str]) -> str:
  real = [l for l in lines if l.strip() and not l.startswith(
      ("progress ", "W0000", "I0000", "WARNING: All log", "INFO:"))]
  return real[-1].strip()[:300] if real else "no message"


def probe(video: str, python: str | None = None) -> VideoInfo:
  """The clip's frame count, frame rate and size, as the decoder says."""
  if not os.path.isfile(video):
    raise FileNotFoundError(f"{video}: no such video file")
  proc = _worker(detector_python(python), video, "--probe")
  out, err = proc.communicate(timeout=300)
  if proc.returncode:
    raise VideoError(f"{video}: {_last_error(err.splitlines())}")
  return _sized(video, VideoInfo(**json.loads(out.strip().splitlines()[-1])))


def _sized(video: str, info: VideoInfo) -> VideoInfo:
  """`info`, refused where the decoder gave no frame size."""
  if info.width <= 0 or info.height <= 0:
    raise VideoError(f"{video}: the decoder gives no frame size; not a "
                     "video?")
  return info


# A worker reaches its stretch by decoding every frame before it (exact
# positions: seeking can land off by a frame), which costs about this
# fraction of a frame decoded and detected (decoding 4-9 ms against
# 38 ms of CPU for decoding, MediaPipe and the kept image, at 1080p).
SKIP_COST = 0.15


def _stretches(frames: int, workers: int,
               every: int = 1) -> list[tuple[int, int]]:
  """Contiguous [start, stop) per worker, shorter for the later ones so
  that all finish together (each first decodes the frames before its
  stretch, `SKIP_COST`; in its stretch it detects one frame in `every`
  and decodes the others); the last runs to the clip's end (the
  decoder's frame count can be short)."""
  skip = SKIP_COST / ((1.0 + (every - 1) * SKIP_COST) / every)
  starts, lengths = [0.0], []
  for _ in range(workers):  # equal work per worker, in units of one
    lengths.append(max(1.0 - skip * starts[-1], 0.0))  # frame of a stretch
    starts.append(starts[-1] + lengths[-1])
  bounds = [round(frames * a / starts[-1]) for a in starts]
  out = [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
  return out[:-1] + [(out[-1][0], 2**31 - 1)] if out else [(0, 2**31 - 1)]


class _Worker:
  """One detector process, started waiting for its stretch (`--wait`), its
  stderr read as it comes: its lines, and the frames it reported done."""

  def __init__(self, python: str, video: str, probes: bool):
    self.proc = _worker(python, video, "--wait",
                        *(("--probe",) if probes else ()),
                        stdin=subprocess.PIPE)
    self.lines: list[str] = []
    self.done = 0
    self.reader = threading.Thread(target=self._read, daemon=True)
    self.reader.start()

  def _read(self):
    for line in self.proc.stderr:
      self.lines.append(line)
      if line.startswith("progress "):
        self.done += 1

  def probed(self, video: str) -> VideoInfo:
    """What this worker's probe printed (the clip's size and rate)."""
    line = " "
    while line and not line.startswith("{"):  # past anything else printed
      line = self.proc.stdout.readline()
    if not line:
      self.proc.wait(timeout=300)
      self.reader.join(timeout=10)
      raise VideoError(f"{video}: {_last_error(self.lines)}")
    return VideoInfo(**json.loads(line))

  def send(self, stretch: dict | None):
    """Starts the stretch (None: nothing to do; the worker ends)."""
    try:
      self.proc.stdin.write(json.dumps(stretch) + "\n" if stretch else "\n")
      self.proc.stdin.close()
    except BrokenPipeError:  # it died: its exit status tells why
      pass


def _start_workers(python: str, video: str, count: int) -> list[_Worker]:
  """`count` workers, started before the clip is probed so that MediaPipe's
  start (most of a second) overlaps the probe, which the first makes."""
  return [_Worker(python, video, probes=i == 0) for i in range(count)]


def _run_workers(running: list[_Worker], video: str, settings: list[dict],
                 progress: bool, total: int) -> int:
  """Gives each worker its stretch's settings (the others nothing) and
  waits for them with one progress bar; returns the frames decoded."""
  from tqdm import tqdm  # pylint: disable=import-outside-toplevel
  for i, worker in enumerate(running):
    worker.send(settings[i] if i < len(settings) else None)
  bar = tqdm(total=total, unit="frame", desc="detect", disable=not progress)
  done = lambda: sum(w.done for w in running)
  try:
    while any(w.proc.poll() is None for w in running):
      bar.update(done() - bar.n)
      time.sleep(0.2)
    for worker in running:
      worker.reader.join(timeout=10)
    bar.update(done() - bar.n)
  finally:
    bar.close()
  for worker in running:
    if worker.proc.returncode:
      raise VideoError(f"{video}: the detector failed "
                       f"({_last_error(worker.lines)})")
  return done()


# MediaPipe Pose's landmarks of the left and the right arm (hand included)
# and leg (foot included), pair by pair.
LIMB_PAIRS = (((11, 13, 15, 17, 19, 21), (12, 14, 16, 18, 20, 22)),
              ((23, 25, 27, 29, 31), (24, 26, 28, 30, 32)))


def nearer_labels(marks: list, toward: list) -> list:
  """`toward` (a frame's landmarks) with each limb pair's left and right
  exchanged where that puts them nearer to `marks`' in the image."""
  if len(marks) != len(toward) or len(toward) <= LIMB_PAIRS[-1][1][-1]:
    return toward
  def apart(joints, order):
    return sum(math.hypot(marks[i]["x"] - toward[j]["x"],
                          marks[i]["y"] - toward[j]["y"])
               for i, j in zip(joints, order))

  out = list(toward)
  for left, right in LIMB_PAIRS:
    if apart(left + right, right + left) < apart(left + right, left + right):
      for i, j in zip(left + right, right + left):
        out[i] = toward[j]
  return out


def fill_skipped(frames: list, every: int, count: int) -> list:
  """The detected frames (in frame order, each person's `track_id` given)
  with the `every - 1` frames after each filled in, up to the clip's
  `count` frames: each landmark moved linearly toward the next detected
  frame's where that frame holds the same track (its scores the lesser of
  the two), held after the last detected frame, else left empty. Each
  filled frame says `"filled": true`. A limb pair moves toward whichever
  of the next frame's two labellings lies nearer (`nearer_labels`): a
  detector's left/right swap between the two stays a jump, which
  `keypoint_swaps` finds, instead of a glide across the body."""
  out = []
  for i, entry in enumerate(frames):
    out.append(entry)
    nxt = frames[i + 1] if i + 1 < len(frames) else None
    stop = nxt["frame"] if nxt else entry["frame"] + every
    same = (nxt is not None and entry.get("landmarks") and nxt.get(
        "landmarks") and entry.get("track_id") == nxt.get("track_id"))
    toward = nearer_labels(entry["landmarks"], nxt["landmarks"]) if same else []
    for k in range(entry["frame"] + 1, min(stop, entry["frame"] + every,
                                           count)):
      if same:
        w = (k - entry["frame"]) / (nxt["frame"] - entry["frame"])
        marks = [{key: (min(a[key], b[key]) if key in ("visibility",
                                                       "presence")
                        else (1 - w) * a[key] + w * b[key]) for key in a}
                 for a, b in zip(entry["landmarks"], toward)]
      elif nxt is None and entry.get("landmarks"):
        marks = entry["landmarks"]
      else:
        marks = []
      out.append({"frame": k, "landmarks": marks, "filled": True,
                  **({"track_id": entry["track_id"]}
                     if marks and "track_id" in entry else {})})
  return out


def write_keypoints(path: str, frames: list, info: VideoInfo,
                    every: int = 1, person_at=None) -> str:
  """The detector's frames as one JSON `keypoint_json` reads without being
  told the image size: {"detector", "image_size", "fps", "detected_every",
  "person_at", "person", "person_rule", "frames"}, each frame with a person
  holding its
  `track_id` (`tracks.assign`); "person" is the track to lift by default
  (`tracks.preferred`; with `person_at`, `tracks.followed`)."""
  if person_at is None:
    person, rule = (tracks.preferred(frames, (info.width, info.height)),
                    tracks.PREFERRED_RULE)
  else:
    person, rule = tracks.followed(frames), tracks.FOLLOWED_RULE
  return files.write_json_atomic(path, {
      "detector": DETECTOR, "image_size": [info.width, info.height],
      "fps": info.fps, "detected_every": every,
      "person_at": (None if person_at is None
                    else [float(v) for v in person_at]),
      **({} if person is None else {"person": person, "person_rule": rule}),
      "frames": frames})


def detect(video: str, out_dir: str, *, python: str | None = None,
           workers: int | None = None, max_images: int = 600,
           image_side: int = 320, progress: bool = True,
           every: int = 1, person_at=None) -> Detection:
  """Detects one person's 2D keypoints in every frame of `video`.

  Args:
    video: the clip (any format OpenCV's FFmpeg decodes: mp4, avi, webm).
    out_dir: where keypoints.json and frames/ are written (created).
    python: the detector environment's interpreter (`detector_python`).
    workers: processes, each a stretch of the clip (default: the cores).
    max_images: at most this many frames are kept as images (every k-th).
    image_side: the kept frames' longer side in pixels.
    progress: show a bar with the frames done and the time left.
    every: detect one frame in this many and fill in the others
      (`fill_skipped`): faster (every frame is still decoded), at the cost
      of motion between detected frames.
    person_at: (x, y) pixels of the first frame on the person to follow
      (the detector then sees only the part of each frame around them,
      `mediapipe_worker.Follow`; one worker, from the first frame on);
      None: whoever the detector finds.

  Raises:
    VideoError: no detector environment, an undecodable file, a clip
      without frames, or a detector that failed (its last words).
  """
  start = time.time()
  if every < 1:
    raise ValueError(f"every: expected >= 1, got {every}")
  if not os.path.isfile(video):
    raise FileNotFoundError(f"{video}: no such video file")
  python = detector_python(python)
  count = 1 if person_at is not None else max(1, workers or os.cpu_count()
                                              or 1)
  running = _start_workers(python, video, count)
  try:
    info = _sized(video, running[0].probed(video))
    if person_at is not None and not (
        len(person_at) == 2 and 0 <= person_at[0] < info.width
        and 0 <= person_at[1] < info.height):
      raise VideoError(f"person_at={tuple(person_at)}: expected (x, y) "
                       f"pixels inside the {info.width} x {info.height} "
                       "frame")
    estimate = max(info.frames, 1)
    thumb_every = max(1, math.ceil(estimate / max(max_images, 1)))
    os.makedirs(out_dir, exist_ok=True)
    stretches = _stretches(info.frames, min(count, estimate), every)
    settings = [{"out": out_dir, "start": begin, "stop": stop,
                 "thumb_every": thumb_every, "thumb_size": image_side,
                 "every": every, "person_at": (
                     "" if person_at is None
                     else f"{person_at[0]:g},{person_at[1]:g}")}
                for begin, stop in stretches]
    decoded = _run_workers(running, video, settings, progress, estimate)
  finally:
    for worker in running:
      if worker.proc.poll() is None:
        worker.proc.kill()
  frames = []
  for begin, _ in stretches:
    part = os.path.join(out_dir, f"landmarks_{begin}.json")
    with open(part) as f:
      frames += json.load(f)
    os.remove(part)
  if not frames:
    raise VideoError(f"{video}: the decoder gave no frames")
  # Whoever the detector followed, frame by frame, as tracks (each worker
  # starts afresh, and a lost person is replaced by whoever is found).
  tracks.assign(frames, (info.width, info.height), info.fps)
  if every > 1:
    frames = fill_skipped(frames, every, decoded)
  path = write_keypoints(os.path.join(out_dir, "keypoints.json"), frames, info,
                         every, person_at)
  images_dir = os.path.join(out_dir, "frames")
  images = {int(n[:-4]): os.path.join(images_dir, n)
            for n in os.listdir(images_dir) if n.endswith(".jpg")}
  return Detection(keypoints_path=path, frame_images=images, info=info,
                   frames=decoded, seconds=round(time.time() - start, 2))


__all__ = ["DEFAULT_VENV", "DETECTOR", "Detection", "LIMB_PAIRS",
           "REQUIREMENTS", "SKIP_COST", "VideoError", "VideoInfo", "detect",
           "detector_python", "fill_skipped", "nearer_labels", "probe",
           "setup_detector", "write_keypoints"]
