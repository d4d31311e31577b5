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


def test_fill_across_time_interpolates_by_frame_id_and_holds_the_ends():
  from jaxpose.data import keypoints_dataset as kd
  px = np.zeros((5, 17, 2))
  px[:, 3] = [[0, 0], [np.nan, np.nan], [40, 80], [np.nan, np.nan],
              [np.nan, np.nan]]
  visible = np.ones((5, 17), bool)
  visible[[1, 3, 4], 3] = False
  frames = [10, 11, 14, 15, 20]  # frame 11 is a quarter of the way 10 -> 14
  out = kd.fill_across_time(px, visible, frames, "f.json")
  np.testing.assert_allclose(out[:, 3], [[0, 0], [10, 20], [40, 80], [40, 80],
                                         [40, 80]])
  np.testing.assert_array_equal(out[:, :3], px[:, :3])
  visible[:, 5] = False
  with pytest.raises(kd.ConfigError, match="'l_knee' is below the confidence "
                     "threshold in every frame"):
    kd.fill_across_time(px, visible, frames, "f.json")


def test_a_split_completed_across_time_marks_what_it_filled(tmp_path):
  from jaxpose.data import keypoints_dataset as kd
  rng = np.random.default_rng(0)
  pixels = 300 + rng.normal(0, 40, (6, 17, 2))
  scores = np.ones((6, 17))
  scores[2, 13] = 0.1
  path = tmp_path / "k.npz"
  np.savez(path, keypoints=pixels, scores=scores, image_size=[640, 480])
  for complete in ("", "time"):
    data = kd.KeypointsSettings(path=str(path), complete=complete)
    splits, _, info = kd.load_splits(data)
    test = splits["test"]
    assert test["completed"][2, 13] and test["completed"].sum() == 1
    assert test["visible"][2, 13] == (complete == "time")
    assert info["completed"] == ("by the model" if not complete else
                                 "across time (filled in before lifting)")


def _turning_walk(frames=60, seed=0):
  """A body walking right while turning half around (its left and right
  cross over smoothly), with a pixel of detector noise."""
  from tests.data.test_keypoints import _pose
  rng = np.random.default_rng(seed)
  base = np.stack([_pose(0)] * frames).astype(float)
  for t in range(frames):
    centre = base[t, :, 0].mean()
    base[t, :, 0] = centre + (base[t, :, 0] - centre) * np.cos(
        np.pi * t / frames) + 2 * t
  return base + rng.normal(0, 1.0, base.shape)


def test_a_detectors_swapped_arms_are_relabelled_and_a_real_turn_is_not():
  from jaxpose.data import keypoint_swaps
  walk = _turning_walk()
  confidence, visible = np.ones((60, 17)), np.ones((60, 17), bool)
  left = [H36M_17.index(n) for n in ("l_shoulder", "l_elbow", "l_wrist")]
  right = [H36M_17.index(n) for n in ("r_shoulder", "r_elbow", "r_wrist")]
  swapped = walk.copy()
  swapped[10:21][:, left + right] = walk[10:21][:, right + left]
  confidence[15, left[2]] = 0.2  # the scores move with their joints
  pixels, conf, _, counts = keypoint_swaps.undo_swaps(swapped, confidence,
                                                      visible)
  assert counts == {"arms": 11, "legs": 0}
  np.testing.assert_array_equal(pixels, walk)
  assert conf[15, right[2]] == 0.2
  assert keypoint_swaps.undo_swaps(walk, confidence, visible)[3] == {
      "arms": 0, "legs": 0}
  # More per-joint arrays (a detector's depth) move with the same frames.
  depth = np.arange(60 * 17, dtype=float).reshape(60, 17)
  swapped_depth = depth.copy()
  swapped_depth[10:21][:, left + right] = depth[10:21][:, right + left]
  *_, relabelled, again = keypoint_swaps.undo_swaps(swapped, confidence,
                                                    visible, swapped_depth)
  np.testing.assert_array_equal(relabelled, depth)
  assert again == counts


def test_a_long_swapped_stretch_is_undone_as_readily_as_a_short_one():
  # A detector that takes a back for a front holds the swap for as long as
  # the body shows its back: here 30 of 100 frames of a slow turn.
  from jaxpose.data import keypoint_swaps
  walk = _turning_walk(frames=100)
  confidence, visible = np.ones((100, 17)), np.ones((100, 17), bool)
  left = [H36M_17.index(n) for n in ("l_shoulder", "l_elbow", "l_wrist")]
  right = [H36M_17.index(n) for n in ("r_shoulder", "r_elbow", "r_wrist")]
  swapped = walk.copy()
  swapped[5:35][:, left + right] = walk[5:35][:, right + left]
  pixels, _, _, counts = keypoint_swaps.undo_swaps(swapped, confidence,
                                                   visible)
  assert counts == {"arms": 30, "legs": 0}
  np.testing.assert_array_equal(pixels, walk)


def test_the_dataset_counts_the_swaps_it_undid(tmp_path):
  walk = _turning_walk()
  left = [H36M_17.index(n) for n in ("l_hip", "l_knee", "l_ankle")]
  right = [H36M_17.index(n) for n in ("r_hip", "r_knee", "r_ankle")]
  walk[5:8][:, left + right] = walk[5:8][:, right + left]  # facing us
  path = tmp_path / "walk.npz"
  np.savez(path, keypoints=walk, image_size=[640, 480])
  kept = kd.read(kd.KeypointsSettings(path=str(path), undo_swaps=False))
  undone = kd.read(kd.KeypointsSettings(path=str(path)))
  assert "swaps" not in kept.info
  assert undone.info["swaps"] == {"arms": 0, "legs": 3}


def test_a_file_read_twice_is_read_once_until_it_changes(tmp_path,
                                                         monkeypatch):
  calls = []
  load = kd.kp_lib.load_keypoints
  monkeypatch.setattr(kd.kp_lib, "load_keypoints",
                      lambda *a, **k: calls.append(1) or load(*a, **k))
  path = tmp_path / "walk.npz"
  np.savez(path, keypoints=np.full((4, 17, 2), 100.0), image_size=[640, 480])
  data = kd.KeypointsSettings(path=str(path))
  first = kd.read(data)
  assert kd.read(data) is first and len(calls) == 1
  np.savez(path, keypoints=np.full((5, 17, 2), 100.0), image_size=[640, 480])
  assert kd.read(data).num_frames == 5 and len(calls) == 2


def test_a_rolled_cameras_keypoints_are_turned_level_and_its_3d_back():
  # A vertical stick at the image's centre, seen by a camera rolled 30
  # degrees: its top leans toward the image's right (the docstring's sign).
  f, centre = 1000.0, np.array([640.0, 360.0])
  project = lambda p: f * p[..., :2] / p[..., 2:] + centre
  level_stick = np.array([[0.0, 500.0, 4000.0], [0.0, -500.0, 4000.0]])
  rolled_stick = kd.unlevel(level_stick, 30.0)
  bottom, top = project(rolled_stick)
  up = (top - bottom) / np.linalg.norm(top - bottom)
  np.testing.assert_allclose(up, [np.sin(np.radians(30)),
                                  -np.cos(np.radians(30))], atol=1e-12)
  # Any points: the rolled camera's pixels turned level are the level
  # camera's, and turning the 3D back and forth is the identity.
  points = np.random.default_rng(0).normal([0, 0, 4000], 600, (50, 3))
  np.testing.assert_allclose(
      kd.level(project(kd.unlevel(points, -72.5)), centre, -72.5),
      project(points), atol=1e-9)
  np.testing.assert_allclose(kd.unlevel(kd.unlevel(points, 12.0), -12.0),
                             points, atol=1e-9)


def test_a_joint_map_blends_the_detectors_depth_as_it_blends_the_pixels(
    tmp_path):
  import dataclasses
  import json
  from jaxpose.data import keypoints as kp_lib
  from jaxpose.pose import detector_joints
  joint_map = detector_joints.JointMap(hip_width=0.6, shoulder_width=0.6,
                                       thorax_raise=-0.2, neck_to_nose=0.4,
                                       torso_mm=kd.TORSO_MM)
  path = tmp_path / "map.json"
  path.write_text(json.dumps({"joint_map": detector_joints.to_json(joint_map)}))
  rng = np.random.default_rng(0)
  pixels = rng.uniform(100, 900, (3, 17, 2)).astype(np.float32)
  depth = rng.uniform(-300, 300, (3, 17)).astype(np.float32)
  depth -= depth[:, :1]
  read = kp_lib.Keypoints2D(
      pixels=pixels, confidence=np.ones((3, 17), np.float32),
      visible=np.ones((3, 17), bool), image_size=(1000, 1000),
      info={"layout": "coco", "source": "x"}, depth_px=depth)
  mapped = kd.map_joints(read, str(path))
  # The depth is a third coordinate of the same blend, behind the pelvis.
  blended = detector_joints.apply(joint_map, np.concatenate(
      [pixels, depth[..., None]], -1))
  np.testing.assert_allclose(mapped.pixels, blended[..., :2], atol=1e-3)
  np.testing.assert_allclose(mapped.depth_px,
                             blended[..., 2] - blended[:, :1, 2], atol=1e-3)
  assert kd.map_joints(dataclasses.replace(read, depth_px=None),
                       str(path)).depth_px is None
