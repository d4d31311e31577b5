"""A video file to 3D motion (`jaxpose.video.detect`, `lift.lift_video`):
the detector's protocol (probe, stretches on several processes, progress,
frames kept for the page, a failing detector named) through a stand-in
detector, so it runs without MediaPipe; the real detector when its
environment exists (`experiments.setup_detector`)."""
import json
import os
import stat
import subprocess
import sys

import numpy as np
import pytest

from jaxpose import lift
from jaxpose import motion_page
from jaxpose.data import keypoints as kp_lib
from jaxpose.pose.skeleton import H36M_17
from jaxpose.video import detect
from jaxpose.video import tracks
from tests.data.test_keypoints import MEDIAPIPE, _pose, _source

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZE = (640, 480)


@pytest.fixture
def fake_python(tmp_path):
  """An executable that runs tests/helpers/fake_detector.py as the
  detector environment's python would run the worker."""
  path = tmp_path / "fake_python"
  path.write_text(f"#!/bin/sh\nexec {sys.executable} "
                  f"{ROOT}/tests/helpers/fake_detector.py \"$@\"\n")
  path.chmod(path.stat().st_mode | stat.S_IEXEC)
  return str(path)


def _other_person(t):
  """Someone else in frame t: smaller (3/5) and 200 px to the left."""
  return (_pose(t) - [320, 300]) * 0.6 + [120, 300]


def _clip(tmp_path, frames=24, *, missing=(), fail_at=None, name="clip",
          other=()):
  """A stand-in video: MediaPipe landmarks of the test pose moving (in
  the frames `other`, of someone else)."""
  marks = np.zeros((frames, 33, 3))
  for t in range(frames):
    if t not in missing:
      pose = _other_person(t) if t in other else _pose(t)
      marks[t, :, :2] = _source(pose, MEDIAPIPE) / SIZE
      marks[t, :, 2] = 0.9
  path = tmp_path / f"{name}.npz"
  extra = {} if fail_at is None else {"fail_at": fail_at}
  np.savez(path, landmarks=marks, size=np.array(SIZE), fps=25.0, **extra)
  return str(path)


def test_stretches_cover_the_clip_once_and_finish_together():
  stretches = detect._stretches  # pylint: disable=protected-access
  assert stretches(10, 3) == [(0, 4), (4, 7), (7, 2**31 - 1)]
  assert stretches(1, 4) == [(0, 2**31 - 1)]
  parts = stretches(1000, 2)
  assert parts[0] == (0, 541) and parts[1][0] == 541
  # The second decodes 541 frames before its 459: the same work.
  second = detect.SKIP_COST * 541 + (1000 - 541)
  assert abs(second - 541) < 2


def test_detection_on_two_processes_is_one_keypoint_file(tmp_path,
                                                         fake_python):
  clip = _clip(tmp_path, missing=(5,))
  found = detect.detect(clip, str(tmp_path / "det"), python=fake_python,
                        workers=2, max_images=6, progress=False)
  assert found.frames == 24 and found.info == detect.VideoInfo(24, 25.0, 640,
                                                               480)
  assert sorted(found.frame_images) == [0, 4, 8, 12, 16, 20]  # every 4th
  stored = json.loads(open(found.keypoints_path).read())
  assert stored["image_size"] == [640, 480] and stored["fps"] == 25.0
  assert [f["frame"] for f in stored["frames"]] == list(range(24))
  # Read back without being told the image size; frame 5 had no person.
  kp = kp_lib.load_keypoints(found.keypoints_path, empty_frames="mask")
  assert kp.image_size == SIZE and not kp.visible[5].any()
  np.testing.assert_allclose(kp.pixels[6], _pose(6), atol=1e-6)
  assert not [n for n in os.listdir(tmp_path / "det") if n.startswith(
      "landmarks_")]


def test_stretches_detecting_one_frame_in_two_still_finish_together():
  parts = detect._stretches(1000, 2, every=2)  # pylint: disable=protected-access
  start = parts[1][0]
  # A frame of a stretch costs (1 + SKIP_COST) / 2 of a detected frame.
  per_frame = (1 + detect.SKIP_COST) / 2
  first, second = start * per_frame, (detect.SKIP_COST * start
                                      + (1000 - start) * per_frame)
  assert abs(first - second) < 1.0 and start > 541


def test_detecting_one_frame_in_two_fills_in_the_others(tmp_path,
                                                        fake_python):
  clip = _clip(tmp_path, frames=23, missing=(6,))
  found = detect.detect(clip, str(tmp_path / "det"), python=fake_python,
                        workers=2, progress=False, every=2)
  stored = json.loads(open(found.keypoints_path).read())
  assert stored["detected_every"] == 2 and found.frames == 23
  assert [f["frame"] for f in stored["frames"]] == list(range(23))
  filled = [f["frame"] for f in stored["frames"] if f.get("filled")]
  assert filled == list(range(1, 23, 2))
  kp = kp_lib.load_keypoints(found.keypoints_path, empty_frames="mask")
  # The pose moves linearly: a filled frame lands on it exactly.
  np.testing.assert_allclose(kp.pixels[3], _pose(3), atol=1e-3)
  # Beside the frame without a person, nothing is made up.
  assert not kp.visible[5].any() and not kp.visible[7].any()
  assert not stored["frames"][-1].get("filled")  # 22: detected


def _two_people_clip(tmp_path, second_pose, frames=12):
  """A stand-in video whose `second` person (`fake_detector`'s) is at
  `second_pose(t)` in frame t."""
  path = _clip(tmp_path, frames=frames)
  clip = dict(np.load(path))
  second = np.zeros_like(clip["landmarks"])
  for t in range(frames):
    second[t, :, :2] = _source(second_pose(t), MEDIAPIPE) / SIZE
    second[t, :, 2] = 0.9
  np.savez(path, **clip, second=second)
  return path


def test_the_person_at_a_point_is_followed_by_one_worker(tmp_path,
                                                       fake_python):
  path = _two_people_clip(tmp_path, _other_person)
  at = tuple(_other_person(0)[H36M_17.index("spine")])
  found = detect.detect(path, str(tmp_path / "det"), python=fake_python,
                        workers=2, progress=False, person_at=at)
  stored = json.loads(open(found.keypoints_path).read())
  assert stored["person_at"] == pytest.approx(list(at))
  kp = kp_lib.load_keypoints(found.keypoints_path)
  np.testing.assert_allclose(kp.pixels[7], _other_person(7), atol=1e-3)
  plain = detect.detect(path, str(tmp_path / "det2"), python=fake_python,
                        workers=2, progress=False)
  np.testing.assert_allclose(kp_lib.load_keypoints(
      plain.keypoints_path).pixels[7], _pose(7), atol=1e-3)
  with pytest.raises(detect.VideoError, match="person_at=.*inside the 640 x 480"):
    detect.detect(path, str(tmp_path / "det3"), python=fake_python,
                  progress=False, person_at=(700.0, 10.0))


def test_following_a_person_crops_around_them_and_maps_back():
  sys.path.insert(0, os.path.dirname(detect.WORKER))
  try:
    import mediapipe_worker  # pylint: disable=import-outside-toplevel
  finally:
    sys.path.pop(0)
  follow = mediapipe_worker.Follow((500.0, 900.0), 1000, 2000)
  assert follow.box == (200, 300, 801, 1501)  # 0.3 x 0.6 of the height
  # A landmark at the box's centre is at the point; z scales with x.
  back = follow.to_frame([{"x": 0.5, "y": 0.5, "z": 0.1, "visibility": 0.9}])
  assert back[0]["x"] * 1000 == pytest.approx(500.5)
  assert back[0]["y"] * 2000 == pytest.approx(900.5)
  assert back[0]["z"] == pytest.approx(0.1 * 601 / 1000)
  seen = [{"x": x / 1000, "y": y / 2000, "z": 0.0, "visibility": 0.9}
          for x, y in ((400, 800), (600, 800), (400, 1200), (600, 1200))]
  follow.update(seen)
  # Centre (500, 1000); half sizes 100 * 1.4 + 100 and 200 * 1.4 + 100.
  assert follow.box == (260, 620, 741, 1381)
  follow.update(seen[:3])  # too few landmarks: the box stays
  assert follow.box == (260, 620, 741, 1381)


def test_filling_in_holds_the_last_and_never_joins_two_tracks():
  person = lambda x, v=0.9: [{"x": x, "y": 0.5, "z": 0.0, "visibility": v,
                              "presence": 0.0}] * 33
  frames = [{"frame": 0, "landmarks": person(0.1), "track_id": 0},
            {"frame": 3, "landmarks": person(0.4, 0.6), "track_id": 0},
            {"frame": 6, "landmarks": person(0.9), "track_id": 1}]
  out = detect.fill_skipped(frames, 3, count=8)
  assert [f["frame"] for f in out] == list(range(8))
  assert out[1]["landmarks"][0]["x"] == pytest.approx(0.2)
  assert out[2]["landmarks"][0]["visibility"] == 0.6  # the lesser score
  assert out[4]["landmarks"] == [] and out[5]["landmarks"] == []  # 0 -> 1
  assert out[7]["landmarks"] == person(0.9) and out[7]["track_id"] == 1


def test_filling_in_across_a_detectors_swap_keeps_the_swap_a_jump():
  # The detector labels the arms the other way round from frame 2 on: the
  # filled frame between moves each arm toward the arm nearest to it, not
  # across the body, so the swap stays a jump that keypoint_swaps sees.
  def person(left_x, right_x):
    marks = [{"x": 0.5, "y": 0.5, "z": 0.0, "visibility": 0.9,
              "presence": 0.0} for _ in range(33)]
    for left, right in detect.LIMB_PAIRS[:1]:
      for i, j in zip(left, right):
        marks[i] = {**marks[i], "x": left_x}
        marks[j] = {**marks[j], "x": right_x}
    return marks
  frames = [{"frame": 0, "landmarks": person(0.60, 0.40), "track_id": 0},
            {"frame": 2, "landmarks": person(0.42, 0.62), "track_id": 0}]
  filled = detect.fill_skipped(frames, 2, count=3)[1]["landmarks"]
  assert filled[11]["x"] == pytest.approx(0.61)  # left shoulder
  assert filled[12]["x"] == pytest.approx(0.41)
  assert filled[23]["x"] == pytest.approx(0.5)  # the legs did not move
  unswapped = detect.nearer_labels(frames[0]["landmarks"],
                                   frames[1]["landmarks"])
  assert unswapped[15]["x"] == 0.62 and unswapped[16]["x"] == 0.42
  assert frames[1]["landmarks"][15]["x"] == 0.42  # the input is kept


def test_a_detector_that_jumps_to_someone_else_gives_two_tracks(
    tmp_path, fake_python):
  # Frames 12-17 are of another person, as when the detector loses the
  # first (or a worker starts afresh on someone else); the first is back
  # at 18 and keeps their track.
  clip = _clip(tmp_path, other=range(12, 18))
  found = detect.detect(clip, str(tmp_path / "det"), python=fake_python,
                        workers=2, progress=False)
  stored = json.loads(open(found.keypoints_path).read())
  assert [f["track_id"] for f in stored["frames"]] == [0] * 12 + [1] * 6 + [
      0] * 6
  # The one followed most is lifted; the other's frames are left to fill.
  kp = kp_lib.load_keypoints(found.keypoints_path, empty_frames="mask")
  assert stored["person"] == 0  # larger and followed longer
  assert kp.info["tracks"] == {0: 18, 1: 6}
  assert kp.info["person"] == f"track 0 ({tracks.PREFERRED_RULE})"
  assert not kp.visible[12:18].any() and kp.visible[18:].all()
  np.testing.assert_allclose(kp.pixels[20], _pose(20), atol=1e-4)
  other = kp_lib.load_keypoints(found.keypoints_path, empty_frames="mask",
                                person=1)
  assert other.visible[12:18].all() and not other.visible[:12].any()
  np.testing.assert_allclose(other.pixels[13], _other_person(13), atol=1e-4)


def test_tracks_follow_a_torso_not_the_landmarks_it_shows():
  size = (1000, 1000)

  def frame(k, centre, torso, seen=1.0, legs_seen=1.0):
    marks = [{"x": centre[0] / 1000, "y": centre[1] / 1000,
              "visibility": seen} for _ in range(33)]
    for i, (dx, dy) in zip((11, 12, 23, 24), ((-20, -torso / 2), (
        20, -torso / 2), (-15, torso / 2), (15, torso / 2))):
      marks[i] = {"x": (centre[0] + dx) / 1000, "y": (centre[1] + dy) / 1000,
                  "visibility": 1.0}
    for i in range(25, 33):  # knees down: seen or not, the torso decides
      marks[i] = {"x": centre[0] / 1000, "y": (centre[1] + 2 * torso) / 1000,
                  "visibility": legs_seen}
    return {"frame": k, "landmarks": marks}

  frames = [frame(k, (500 + 2 * k, 500), 100, legs_seen=k % 2) for k in
            range(10)]
  frames.append({"frame": 10, "landmarks": []})  # nobody
  frames += [frame(11, (800, 500), 100)]  # 270 px off in 2 frames: another
  frames += [frame(k, (500 + 2 * k, 500), 100) for k in (12, 13)]  # back
  frames += [frame(60, (522, 500), 100)]  # back after 1.5 s: a new track
  assert tracks.assign(frames, size, fps=30.0) == {0: 12, 1: 1, 2: 1}
  assert [f.get("track_id") for f in frames] == [0] * 10 + [None, 1, 0, 0, 2]
  assert tracks.body_box(frames[0]["landmarks"], size)[1] == pytest.approx(100)
  assert tracks.body_box([], size) is None
  # Preferred: the larger person in front, near the middle, over one
  # followed longer but small and in a corner.
  corner = [frame(k, (100, 100 + k), 40) for k in range(10)]
  front = [frame(k, (500, 520), 150) for k in range(10, 14)]
  both = corner + front
  assert tracks.assign(both, size, fps=30.0) == {0: 10, 1: 4}
  assert tracks.preferred(both, size) == 1


def test_a_failing_detector_or_file_is_one_line(tmp_path, fake_python):
  with pytest.raises(detect.VideoError, match=r"clip.npz: the detector failed "
                     r"\(RuntimeError: the detector's graph failed\)"):
    detect.detect(_clip(tmp_path, fail_at=15), str(tmp_path / "a"),
                  python=fake_python, workers=2, progress=False)
  bad = tmp_path / "notes.mp4"
  bad.write_text("not a video")
  with pytest.raises(detect.VideoError, match="notes.mp4: cannot be decoded"):
    detect.detect(str(bad), str(tmp_path / "b"), python=fake_python,
                  progress=False)
  with pytest.raises(FileNotFoundError, match="absent.mp4: no such video"):
    detect.probe(str(tmp_path / "absent.mp4"), fake_python)
  with pytest.raises(detect.VideoError, match="setup_detector"):
    detect.detector_python(str(tmp_path / "no_python"))


def test_the_video_requirements_are_the_pins_setup_installs():
  lines = [l.strip() for l in open(os.path.join(ROOT, "requirements-video.txt"))
           if l.strip() and not l.startswith("#")]
  assert tuple(lines) == detect.REQUIREMENTS


@pytest.mark.slow
def test_a_video_lifts_in_one_call_with_its_frames_on_the_page(
    tmp_path, fake_python):
  from experiments.configs import baseline_quickstart
  from jaxpose import run_lib
  c = baseline_quickstart.get_config()
  c.data.update(n_train=400, n_test=8)
  c.train.update(num_steps=30, log_every=30, ckpt_every=30)
  workdir = str(tmp_path / "lifter")
  run_lib.train(c, workdir)
  clip = _clip(tmp_path, missing=(3,))
  out = tmp_path / "out"
  lifted, written = lift.lift_video(
      workdir, clip, str(out), detector_python=fake_python, workers=2,
      progress=False, keypoints={"empty_frames": "mask"})
  assert [os.path.basename(p) for p in written] == [
      "motion.npz", "motion.bvh", "motion.html", "keypoints.json", "lift.json"]
  # Frame 3 had no person: every joint filled in across time, marked.
  assert lifted.completed[3].all() and not lifted.completed[4].any()
  npz = np.load(out / "motion.npz")
  np.testing.assert_array_equal(npz["completed"], lifted.completed)
  info = json.loads((out / "lift.json").read_text())
  assert info["video"]["frames"] == 24 and info["video"]["fps"] == 25.0
  assert info["keypoints"]["completed"].startswith("across time")
  figure = motion_page.read_motion_page(out / "motion.html")
  images = [f["layout"]["images"][0]["source"] for f in figure["frames"]]
  assert len(images) == 24 and all(i.startswith("data:image/jpeg;base64,")
                                   for i in images)
  assert not figure["layout"]["coloraxis"]["showscale"]  # one hypothesis
  # Fitted onto its 2D (by default): it reprojects closer than lifted.
  fit = info["fit_2d"]
  assert fit["reprojection_px_after"] < fit["reprojection_px_before"]
  # A re-lift needs no detection: keypoints.json states the image size.
  again = lift.lift_keypoints(workdir, str(out / "keypoints.json"),
                              keypoints={"empty_frames": "mask"})
  again = lift.fit_to_2d(again, fps=25.0)
  np.testing.assert_allclose(again.mean_mm, lifted.mean_mm, atol=1e-3)


def _real_detector() -> str:
  try:
    return detect.detector_python()
  except detect.VideoError:
    pytest.skip("no detector environment (python -m experiments."
                "setup_detector, or JAXPOSE_DETECTOR_PYTHON)")


def test_the_real_detector_decodes_a_clip_and_finds_no_one_in_noise(tmp_path):
  python = _real_detector()
  clip = tmp_path / "noise.avi"
  subprocess.run([python, "-c", (
      "import cv2, numpy as np\n"
      f"w = cv2.VideoWriter({str(clip)!r}, cv2.VideoWriter_fourcc(*'MJPG'), "
      "30, (320, 240))\n"
      "rng = np.random.default_rng(0)\n"
      "for _ in range(12): w.write(rng.integers(0, 255, (240, 320, 3), "
      "np.uint8))\n"
      "w.release()\n")], check=True)
  found = detect.detect(str(clip), str(tmp_path / "det"), python=python,
                        workers=2, progress=False)
  stored = json.loads(open(found.keypoints_path).read())
  assert found.frames == 12 and stored["image_size"] == [320, 240]
  assert all(f["landmarks"] == [] for f in stored["frames"])
  assert len(found.frame_images) == 12
