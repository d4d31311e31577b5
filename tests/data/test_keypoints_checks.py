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
