"""`data.name=keypoints`: a keypoint file as the test split a model lifts:
the camera and root depth worked out by hand, masked joints kept finite,
no 3D truth, and settings refused with the key named."""
import numpy as np
import pytest

from jaxpose import settings
from jaxpose.data import datasets
from jaxpose.data import keypoints_dataset as kd
from jaxpose.pose import cameras as cam_lib
from jaxpose.pose.skeleton import H36M_17

PELVIS, THORAX, WRIST = (H36M_17.index(n) for n in ("pelvis", "thorax", "l_wrist"))


def _file(tmp_path, frames=4, torso_px=100.0, masked=None):
  px = np.full((frames, 17, 2), 500.0)
  px += np.arange(17)[None, :, None]  # distinct joints
  px[:, PELVIS] = (520.0, 600.0)
  px[:, THORAX] = (520.0, 600.0 - torso_px)
  scores = np.ones((frames, 17))
  if masked:
    scores[masked] = 0.0
  path = tmp_path / "k.npz"
  np.savez(path, keypoints=px, scores=scores, image_size=np.array([1000, 800]))
  return str(path), px


def test_the_split_camera_and_depth(tmp_path):
  path, px = _file(tmp_path, masked=(2, WRIST))
  ds = datasets.load({"name": "keypoints", "path": path, "focal_px": 1000.0})
  assert not ds.truth_3d and ds.input_2d["test"].startswith("detector keypoints")
  test = ds.splits["test"]
  assert len(ds.splits["train"]["pose2d"]) == 0 and len(test["pose2d"]) == 4
  # f = 1000 px, a 100 px torso of 500 mm: the root 5 m away.
  assert "root depth 5000 mm" in ds.info["root_depth"]
  np.testing.assert_allclose(test["root_cam_mm"][0], [(520 - 500) * 5, (600 - 400) * 5,
                                                      5000], rtol=1e-5)
  np.testing.assert_allclose(test["intrinsics"][0], [1000, 1000, 500, 400, 1000, 800])
  np.testing.assert_allclose(test["pose2d"][0],
                             cam_lib.normalize_screen(px[0], 1000, 800), atol=1e-6)
  # The masked joint is no condition: finite, at the pelvis, and not visible.
  assert not test["visible"][2, WRIST] and test["visible"].sum() == 4 * 17 - 1
  np.testing.assert_allclose(test["pose2d"][2, WRIST], test["pose2d"][2, PELVIS])
  assert ds.info["masked_joints"] == 1 and not test["pose3d"].any()


def test_depth_given_or_refused(tmp_path):
  path, _ = _file(tmp_path, masked=(slice(None), THORAX))
  with pytest.raises(settings.ConfigError, match="pelvis and the thorax visible.*root_depth_mm"):
    datasets.load({"name": "keypoints", "path": path})
  ds = datasets.load({"name": "keypoints", "path": path, "root_depth_mm": 3000.0})
  assert ds.splits["test"]["root_cam_mm"][0, 2] == 3000.0
  assert ds.info["root_depth"] == "root depth 3000 mm as given"


@pytest.mark.parametrize("keys, match", [
    (dict(path=""), "data.path: empty"),
    (dict(format="csv"), "data.format='csv'"),
    (dict(image_size=(640,)), "data.image_size"),
    (dict(focal_px=900.0, fov_deg=60.0), "give one, not both"),
])
def test_bad_settings_name_the_key(tmp_path, keys, match):
  path, _ = _file(tmp_path)
  with pytest.raises(settings.ConfigError, match=match):
    datasets.load({"name": "keypoints", "path": path, **keys})
