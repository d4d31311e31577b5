"""The real-footage study's parts on hand-made cases: a Qualisys
calibration read into cameras, views whose detector swapped a limb pair
made to agree before triangulation, and a view's score against the
reference."""
import json

import numpy as np
import pytest

from experiments.studies import real_footage as rf
from jaxpose.pose import detector_joints
from jaxpose.pose import cameras as cam_lib
from jaxpose.pose import triangulation
from jaxpose.pose.skeleton import H36M_17

QCA = """<?xml version='1.0' encoding='ASCII'?>
<calibration><cameras>
  <camera serial="cam01">
    <fov_video bottom="1919" left="0" right="1087" top="0"/>
    <transform r11="1" r12="0" r13="0" r21="0" r22="1" r23="0" r31="0"
      r32="0" r33="1" x="0" y="0" z="4000"/>
    <intrinsic centerPointU="34816" centerPointV="61440" focalLengthU="107520"
      focalLengthV="107520"/>
  </camera>
</cameras></calibration>"""


def test_a_qualisys_camera_projects_what_it_looks_at(tmp_path):
  # A camera 4 m above the origin with Qualisys' identity rotation looks
  # along its -z, straight down: the half turn about x makes that +z.
  path = tmp_path / "Calib.qca.txt"
  path.write_text(QCA)
  cam = rf.read_qca(str(path))["cam01"]
  np.testing.assert_allclose(cam.f, [1680, 1680])
  np.testing.assert_allclose(cam.c, [544, 960])
  assert (cam.width, cam.height) == (1088, 1920)
  below = cam_lib.world_to_camera(np.array([[100.0, 0.0, 0.0]]), cam)
  np.testing.assert_allclose(below, [[100.0, 0.0, 4000.0]])


def _pose_world(frames=6):
  rng = np.random.default_rng(0)
  return rng.normal(0, 250, (frames, 17, 3)) + [0, 0, 900]


def test_views_disagreeing_on_left_and_right_are_made_to_agree():
  cams = cam_lib.virtual_cameras(4, distance=4000.0)
  world = _pose_world()
  px = np.stack([cam_lib.project(cam_lib.world_to_camera(world, c), c)
                 for c in cams]).astype(np.float64)
  weights = np.ones(px.shape[:-1])
  legs = [H36M_17.index(n) for n in ("l_hip", "l_knee", "l_ankle",
                                     "r_hip", "r_knee", "r_ankle")]
  swapped = px.copy()
  swapped[2][:, legs] = px[2][:, legs[3:] + legs[:3]]  # one view, whole clip
  bad, _ = triangulation.triangulate(swapped, weights, cams)
  assert np.abs(bad - world).max() > 50.0
  agreed_px, agreed_w = rf._agreeing_labels(swapped, weights, cams)  # pylint: disable=protected-access
  good, _ = triangulation.triangulate(agreed_px, agreed_w, cams)
  np.testing.assert_allclose(good, world, atol=1e-3)


def test_a_cameras_roll_is_read_from_its_rotation():
  level = cam_lib.virtual_cameras(1, distance=4000.0)[0]
  assert rf.roll_deg(level) == pytest.approx(0.0, abs=1e-6)
  # Turned 20 degrees about its own axis: points in its frame turn by 20.
  turn = np.radians(20.0)
  about_axis = np.array([[np.cos(turn), -np.sin(turn), 0.0],
                         [np.sin(turn), np.cos(turn), 0.0], [0.0, 0.0, 1.0]])
  rolled = level.replace(R=about_axis @ np.asarray(level.R))
  assert rf.roll_deg(rolled) == pytest.approx(20.0)
  assert rf.calibrated_keys("calibrated_level_map", rolled, "m") == {
      "roll_deg": 20.0, "joint_map": "m"}
  assert rf.calibrated_keys("calibrated", rolled, "m") == {}


class _Lifted:
  def __init__(self, mean_mm, root_mm, keypoints_info=None, completed=None):
    self.mean_mm, self.root_mm, self.num_frames = mean_mm, root_mm, len(
        mean_mm)
    self.info = {"keypoints": keypoints_info or {}}
    self.completed = (np.zeros(np.shape(mean_mm)[:2], bool)
                      if completed is None else completed)


def test_a_lift_equal_to_the_reference_scores_zero():
  cam = cam_lib.virtual_cameras(1, distance=4000.0)[0]
  world = _pose_world()
  in_cam = np.asarray(cam_lib.world_to_camera(world, cam), np.float64)
  exact = _Lifted(in_cam - in_cam[:, :1], in_cam[:, 0])
  score = rf.score_view(exact, world, cam, fps=30.0)
  assert score["mpjpe_mm"] == 0.0 and score["pa_mpjpe_mm"] == 0.0
  assert score["root_depth_error_mm"] == 0.0 and score["size_ratio"] == 1.0
  assert score["trunk_angle_error_deg"] == 0.0
  smaller = _Lifted(0.5 * (in_cam - in_cam[:, :1]), in_cam[:, 0] + [0, 0, 80])
  score = rf.score_view(smaller, world, cam, fps=30.0)
  assert score["size_ratio"] == 0.5 and score["pa_mpjpe_mm"] == 0.0
  assert score["root_depth_error_mm"] == 80.0
  assert score["by_frames"] == {
      "whole": {"frames": len(world), "mpjpe_mm": score["mpjpe_mm"],
                "pa_mpjpe_mm": 0.0},
      "completed": {"frames": 0, "mpjpe_mm": None, "pa_mpjpe_mm": None}}


def test_errors_are_split_between_frames_seen_whole_and_completed():
  cam = cam_lib.virtual_cameras(1, distance=4000.0)[0]
  world = _pose_world()
  in_cam = np.asarray(cam_lib.world_to_camera(world, cam), np.float64)
  pred = in_cam - in_cam[:, :1]
  completed = np.zeros(pred.shape[:2], bool)
  completed[1, 5] = True  # one completed joint makes its frame 'completed'
  # That frame's lift stands 30 mm to the side: MPJPE counts it,
  # PA-MPJPE's alignment takes it away.
  pred[1] += [30.0, 0.0, 0.0]
  score = rf.score_view(_Lifted(pred, in_cam[:, 0], completed=completed),
                        world, cam, fps=30.0)
  split = score["by_frames"]
  assert split["whole"] == {"frames": len(world) - 1, "mpjpe_mm": 0.0,
                            "pa_mpjpe_mm": 0.0}
  assert split["completed"]["frames"] == 1
  assert split["completed"]["mpjpe_mm"] == pytest.approx(30.0, abs=0.05)
  assert split["completed"]["pa_mpjpe_mm"] == pytest.approx(0.0, abs=0.05)


def test_a_lift_through_a_joint_map_is_scored_in_the_detectors_joints(
    tmp_path):
  cam = cam_lib.virtual_cameras(1, distance=4000.0)[0]
  world = _pose_world()
  hip = lambda side: H36M_17.index(f"{side}_hip")
  shoulder = lambda side: H36M_17.index(f"{side}_shoulder")
  pelvis, thorax, spine = (H36M_17.index(n) for n in ("pelvis", "thorax",
                                                      "spine"))
  # The reference as `to_h36m` derives a detector's trunk.
  world[:, pelvis] = (world[:, hip("l")] + world[:, hip("r")]) / 2
  world[:, thorax] = (world[:, shoulder("l")] + world[:, shoulder("r")]) / 2
  world[:, spine] = (world[:, pelvis] + world[:, thorax]) / 2
  joint_map = detector_joints.JointMap(hip_width=0.6, thorax_raise=-0.2,
                                       neck_to_nose=0.3, torso_mm=400.0)
  path = tmp_path / "map.json"
  path.write_text(json.dumps({"joint_map": detector_joints.to_json(joint_map)}))
  in_cam = np.asarray(cam_lib.world_to_camera(world, cam), np.float64)
  rig = detector_joints.apply(joint_map, in_cam)  # what the model lifts
  info = {"joint_map": {"path": str(path)}}
  score = rf.score_view(_Lifted(rig - rig[:, :1], rig[:, 0], info), world,
                        cam, fps=30.0)
  assert score["mpjpe_mm"] == 0.0 and score["root_depth_error_mm"] == 0.0
  unmapped = rf.score_view(_Lifted(rig - rig[:, :1], rig[:, 0]), world, cam,
                           fps=30.0)
  assert unmapped["mpjpe_mm"] > 10.0


def test_a_trunk_leaning_by_a_known_angle_is_measured():
  ref = _pose_world()
  ref[:, H36M_17.index("thorax")] = ref[:, 0] + [0.0, -500.0, 30.0]
  turn = np.radians(20.0)  # about the camera's x axis
  rot = np.array([[1, 0, 0], [0, np.cos(turn), -np.sin(turn)],
                  [0, np.sin(turn), np.cos(turn)]])
  np.testing.assert_allclose(rf.trunk_angle_deg(ref @ rot.T, ref), 20.0,
                             atol=1e-6)


def test_followed_names_the_tracks_and_the_one_lifted():
  info = {"tracks": {0: 54, 1: 46}, "person": "track 1 (the largest, ...)"}
  assert rf.followed(info) == "0: 54, 1: 46 frames; lifted: track 1"
  assert rf.followed({"tracks": {}, "person": "the file's only person"}) == (
      "the file's only person")


def test_seeds_are_summarised_row_by_row_against_the_targets():
  from experiments.studies import real_footage_seeds as seeds  # pylint: disable=import-outside-toplevel
  row = lambda clip, mpjpe, pa, **kw: {
      "clip": clip, "camera": "calibrated", "fit_2d": True,
      "detected_every": 1, "mpjpe_mm": mpjpe, "pa_mpjpe_mm": pa, **kw}
  runs = {
      "s0": {"rows": [row("cam01", 110.0, 70.0), row("cam02", 150.0, 90.0),
                      {"clip": "sports2d", "camera": "default"}]},
      "s1": {"rows": [row("cam02", 130.0, 80.0), row("cam01", 118.0, 74.0)]},
  }
  got = {r["clip"]: r for r in seeds.summarise(runs)}
  assert set(got) == {"cam01", "cam02"}  # rows without a score left out
  assert got["cam01"]["mpjpe_mm"] == 114.0 and got["cam01"]["mpjpe_std_mm"] == 4.0
  assert got["cam01"]["pa_mpjpe_by_seed_mm"] == [70.0, 74.0]
  assert got["cam01"]["targets_met"] and not got["cam02"]["targets_met"]
  assert "by_frames" not in got["cam01"]  # no seed's row had the split
  split = lambda mpjpe: {"whole": {"frames": 9, "mpjpe_mm": mpjpe,
                                   "pa_mpjpe_mm": 50.0},
                         "completed": {"frames": 1, "mpjpe_mm": 200.0,
                                       "pa_mpjpe_mm": 90.0}}
  runs["s0"]["rows"][0]["by_frames"] = split(100.0)
  runs["s1"]["rows"][1]["by_frames"] = dict(split(110.0), completed=None)
  got = {r["clip"]: r for r in seeds.summarise(runs)}
  # Each kind that every seed has, averaged over the seeds.
  assert got["cam01"]["by_frames"] == {"whole": {
      "frames": 9, "mpjpe_mm": 105.0, "pa_mpjpe_mm": 50.0}}
  none = {"frames": 0, "mpjpe_mm": None, "pa_mpjpe_mm": None}
  runs["s1"]["rows"][1]["by_frames"] = dict(split(110.0), completed=none)
  runs["s0"]["rows"][0]["by_frames"] = dict(split(100.0), completed=none)
  got = {r["clip"]: r for r in seeds.summarise(runs)}
  assert got["cam01"]["by_frames"]["completed"] == none
  runs["s1"]["rows"].pop()
  with pytest.raises(ValueError, match="s1: no row .*cam01"):
    seeds.summarise(runs)
