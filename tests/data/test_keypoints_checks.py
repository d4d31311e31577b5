"""`data.keypoints`' checks of a file against its stated image, and its
errors naming an OpenPose file's own frame id (seconds)."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from jaxpose.data import keypoints as kp_lib
from tests.data.test_keypoints import _coco_person, _openpose_file, _write


def _coco(tmp_path, scale):
  frames = [{"frame_id": t, "instances": [_coco_person(t)]} for t in range(4)]
  for f in frames:
    xys = np.asarray(f["instances"][0]["keypoints"]).reshape(17, 3)
    xys[:, :2] *= scale
    f["instances"][0]["keypoints"] = xys.reshape(-1).tolist()
  return _write(tmp_path / f"x{scale}.json", frames)


def test_keypoints_mostly_beyond_the_image_are_refused_in_one_line(tmp_path):
  # Keypoints at twice the stated resolution (a 1280x960 detection, 640x480 said).
  with pytest.raises(kp_lib.KeypointsError) as e:
    kp_lib.load_keypoints(_coco(tmp_path, 2.0), image_size=(640, 480))
  message = str(e.value)
  assert "\n" not in message and "lies outside the 640x480 image" in message
  assert re.search(r"as do \d+ of the 68 visible keypoints \(reaching 748, 840\)",
                   message), message
  assert "the size the detector ran at" in message


def test_keypoints_all_in_the_top_left_quarter_are_warned(tmp_path):
  # Keypoints at half resolution: a 1920x1080 video detected at 960x540.
  half = kp_lib.load_keypoints(_coco(tmp_path, 0.5), image_size=(1920, 1080))
  (warning,) = half.info["warnings"]
  assert "top-left quarter of the 1920x1080 image" in warning
  assert "smaller resolution" in warning and "\n" not in warning
  assert not kp_lib.load_keypoints(_coco(tmp_path, 1.0),
                                   image_size=(640, 480)).info["warnings"]
  assert not kp_lib.load_keypoints(_coco(tmp_path, 0.5)).info["warnings"]


def test_an_openpose_folder_error_names_the_files_frame(tmp_path):
  for t in (29, 30, 31):
    _openpose_file(tmp_path / f"frame_{t:06d}.json", t - 29)
  bad = json.loads((tmp_path / "frame_000030.json").read_text())
  bad["people"][0]["pose_keypoints_2d"] = bad["people"][0]["pose_keypoints_2d"][:-3]
  (tmp_path / "frame_000030.json").write_text(json.dumps(bad))
  with pytest.raises(kp_lib.KeypointsError,
                     match=r"frame_000030.json: frame 30: 'pose_keypoints_2d'"):
    kp_lib.load_keypoints(tmp_path)
  # One OpenPose file alone: its number too.
  with pytest.raises(kp_lib.KeypointsError, match=r"frame_000030.json: frame 30: "):
    kp_lib.load_keypoints(tmp_path / "frame_000030.json")


def _frames(n=4):
  return [{"frame_id": t, "instances": [_coco_person(t)]} for t in range(n)]


def _refusal(path, **kwargs) -> str:
  with pytest.raises(kp_lib.KeypointsError) as e:
    kp_lib.load_keypoints(path, **kwargs)
  message = str(e.value)
  assert "\n" not in message and str(path) in message, message
  return message


def test_negative_and_non_finite_scores_name_the_frame_and_joint(tmp_path):
  frames = _frames()
  frames[2]["instances"][0]["keypoints"][3 * 9 + 2] = -0.5  # l_wrist's score
  message = _refusal(_write(tmp_path / "neg.json", frames))
  assert "frame 2: keypoint 9 (l_wrist) has the negative score -0.5" in message
  scores = np.ones((3, 17))
  scores[1, 4] = np.inf
  np.savez(tmp_path / "inf.npz", keypoints=np.full((3, 17, 2), 10.0),
           scores=scores)
  message = _refusal(tmp_path / "inf.npz")
  assert "frame 1: keypoint 4 (l_hip) has a non-finite" in message


def test_a_keypoint_beyond_any_image_is_refused_without_an_image_size(
    tmp_path):
  frames = _frames()
  frames[3]["instances"][0]["keypoints"][3 * 11] = 1e30  # l_hip's x
  message = _refusal(_write(tmp_path / "far.json", frames))
  assert "frame 3: keypoint 11 (l_hip) at (1e+30," in message
  assert "beyond any image" in message
  # With no score it is a joint the detector did not find: masked, kept.
  frames[3]["instances"][0]["keypoints"][3 * 11 + 2] = 0.0
  kp = kp_lib.load_keypoints(_write(tmp_path / "far.json", frames))
  assert not kp.visible[3, kp_lib.H36M_17.index("l_hip")]


@pytest.mark.parametrize("frame_id", [1e20, "1" * 30, -5, 2.5, float("inf")])
def test_frame_ids_must_be_small_integers(tmp_path, frame_id):
  frames = _frames()
  frames[1]["frame_id"] = frame_id
  message = _refusal(_write(tmp_path / "ids.json", frames)
                     if not isinstance(frame_id, float) or np.isfinite(
                         frame_id) else _raw(tmp_path, frames))
  assert "entry 1" in message or "frame ids" in message, message


def _raw(tmp_path, frames):
  path = tmp_path / "ids.json"
  path.write_text(json.dumps(frames).replace("Infinity", "1e999"))
  return path


def test_frame_ids_spanning_too_long_a_timeline_are_refused(tmp_path):
  frames = _frames(2)
  frames[1]["frame_id"] = 10**8
  message = _refusal(_write(tmp_path / "span.json", frames))
  assert "frame ids 0 .. 100000000" in message


def test_json_nested_past_the_parser_is_refused_naming_the_file(tmp_path):
  path = tmp_path / "deep.json"
  path.write_text("[" * 100_000 + "]" * 100_000)
  assert "nested deeper than" in _refusal(path)


def test_cameras_outside_a_pinhole_range_are_refused():
  for fov in (1e-9, 1.0, 170.0):
    with pytest.raises(ValueError, match="fov_deg: expected 2 to 160 degrees"):
      kp_lib.guess_intrinsics((1920, 1080), fov_deg=fov)
  with pytest.raises(ValueError, match=r"focal_px: 1e\+09 px across a 1920 px "
                     r"image is a 0.00011 degree field of view"):
    kp_lib.guess_intrinsics((1920, 1080), focal_px=1e9)
  with pytest.raises(ValueError, match="not mm"):
    kp_lib.guess_intrinsics((1920, 1080), focal_px=0.5)
  kp_lib.guess_intrinsics((1920, 1080), focal_px=1500.0)  # a real camera
