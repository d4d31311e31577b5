"""One person among others by the colour of their torso: the detector
worker's `torso_colour` and follower (`mediapipe_worker.Follow`), and
`tracks.assign`, which splits a clip's keypoints where the torso's colour
changes though its place does not (a person passing in front)."""
import json
import os
import sys

import numpy as np
import pytest

from jaxpose.data import keypoints as kp_lib
from jaxpose.pose.skeleton import H36M_17
from jaxpose.video import detect
from jaxpose.video import tracks
from tests.data.test_keypoints import _pose
from tests.test_video import SIZE, _other_person, _two_people_clip
from tests.test_video import fake_python  # noqa: F401  pylint: disable=unused-import


@pytest.fixture(name="worker", scope="module")
def fixture_worker():
  sys.path.insert(0, os.path.dirname(detect.WORKER))
  try:
    import mediapipe_worker  # pylint: disable=import-outside-toplevel
  finally:
    sys.path.pop(0)
  return mediapipe_worker


def _torso(corners, size, seen=0.9):
  """33 landmarks (normalised to an image of `size`), the shoulders and
  hips at the pixels `corners` (left and right shoulder, left and right
  hip), the others at the first corner."""
  (w, h) = size
  marks = [{"x": corners[0][0] / w, "y": corners[0][1] / h, "z": 0.0,
            "visibility": seen} for _ in range(33)]
  for i, (x, y) in zip((11, 12, 23, 24), corners):
    marks[i] = {"x": x / w, "y": y / h, "z": 0.0, "visibility": seen}
  return marks


def test_the_torso_colour_is_the_mean_inside_shoulders_and_hips(worker):
  image = np.zeros((200, 100, 3), np.float64)
  image[:] = (10.0, 20.0, 30.0)
  # A trapezoid: shoulders 20 -> 80 at y=40, hips 35 -> 65 at y=160.
  ys, xs = np.mgrid[0:200, 0:100] + 0.5
  half = 30 - 15 * (ys - 40) / 120
  inside = (ys >= 40) & (ys <= 160) & (np.abs(xs - 50) <= half)
  image[inside] = (200.0, 140.0, 110.0)
  marks = _torso([(20, 40), (80, 40), (35, 160), (65, 160)], (100, 200))
  identity = lambda patch: patch
  assert worker.torso_colour(image, marks, identity) == pytest.approx(
      [200.0, 140.0, 110.0])
  # An unsure corner, a sliver of a torso, too few landmarks: no colour.
  unsure = [dict(m) for m in marks]
  unsure[24]["visibility"] = 0.2
  assert worker.torso_colour(image, unsure, identity) is None
  sliver = _torso([(50, 40), (52, 40), (50, 60), (52, 60)], (100, 200))
  assert worker.torso_colour(image, sliver, identity) is None
  assert worker.torso_colour(image, marks[:20], identity) is None


def test_the_follower_takes_no_one_of_another_colour(worker):
  follow = worker.Follow((500.0, 900.0), 1000, 2000)
  marks = _torso([(450, 800), (550, 800), (460, 1000), (540, 1000)],
                 (1000, 2000))
  assert follow.same_person([150.0, 131.0, 151.0])  # nothing followed yet
  follow.update(marks, [150.0, 131.0, 151.0])
  # Another person's shirt, 22 units away in a*b*: not them; a darker
  # shade of theirs (lightness alone): them; an unknown colour: them.
  assert not follow.same_person([150.0, 128.0, 129.0])
  assert follow.same_person([90.0, 131.0, 151.0])
  assert follow.same_person(None)
  follow.update(marks, [150.0, 141.0, 151.0])  # a running mean
  assert follow.colour[1] == pytest.approx(132.0)
  assert worker.COLOUR == tracks.COLOUR


def test_hiding_someone_else_greys_their_box_in_the_followed_box(worker):
  follow = worker.Follow((500.0, 900.0), 1000, 2000)
  assert follow.box == (200, 300, 801, 1501)
  image = np.full((2000, 1000, 3), 7, np.uint8)
  other = _torso([(300, 600), (400, 600), (310, 800), (390, 800)],
                 (1000, 2000))
  seen = follow.hide(image, other)
  assert seen.shape == (1201, 601, 3)
  # Their box (300-400 x 600-800, plus 5% of its height) in the crop's
  # pixels: grey; the rest as it was.
  assert (seen[300:500, 100:200] == 128).all()
  assert (seen[600:, :] == 7).all() and (seen[:, 300:] == 7).all()
  assert (image == 7).all()  # the frame itself untouched


def test_a_torso_of_another_colour_in_the_same_place_is_another_track():
  size = (1000, 1000)

  def frame(k, colour):
    marks = _torso([(480, 400), (520, 400), (485, 500), (515, 500)], size)
    return {"frame": k, "landmarks": marks, "torso_lab": colour}

  yellow, grey = [150.0, 131.0, 151.0], [148.0, 128.0, 129.0]
  frames = [frame(k, yellow) for k in range(5)]
  frames += [frame(5, None)]  # colour unknown: where it stands decides
  frames += [frame(k, grey) for k in range(6, 9)]
  frames += [frame(9, [140.0, 132.0, 147.0])]  # back, a little shaded
  assert tracks.assign(frames, size, fps=30.0) == {0: 7, 1: 3}
  assert [f["track_id"] for f in frames] == [0] * 6 + [1] * 3 + [0]
  # Without colours, one track.
  for f in frames:
    f.pop("torso_lab")
  assert tracks.assign(frames, size, fps=30.0) == {0: 10}


def test_a_follow_lifts_the_person_it_began_on(tmp_path, fake_python):  # noqa: F811
  """The followed person is lifted by default even when whoever the
  detector took up later is larger and stays longer."""
  path = _two_people_clip(
      tmp_path, lambda t: _other_person(t) if t < 4 else _pose(t))
  at = tuple(_other_person(0)[H36M_17.index("spine")])
  found = detect.detect(path, str(tmp_path / "det"), python=fake_python,
                        workers=1, progress=False, person_at=at)
  stored = json.loads(open(found.keypoints_path).read())
  assert stored["person"] == 0
  assert stored["person_rule"] == tracks.FOLLOWED_RULE
  assert tracks.preferred(stored["frames"], SIZE) == 1  # larger, longer
  kp = kp_lib.load_keypoints(found.keypoints_path, empty_frames="mask")
  assert kp.visible[:4].all() and not kp.visible[4:].any()
  np.testing.assert_allclose(kp.pixels[2], _other_person(2), atol=1e-3)
