"""`pose.detector_joints`: the map's matrix by its definition, its inverse
on detector bodies, a known map measured back from bodies it made, and
the keypoints dataset moving a detector's file by a map file."""
import json

import numpy as np
import pytest

from jaxpose import settings
from jaxpose.data import keypoints as kp_lib
from jaxpose.data import keypoints_dataset as kd
from jaxpose.data import synthetic_poses
from jaxpose.pose import detector_joints as dj
from jaxpose.pose.skeleton import H36M_17

J = H36M_17.index
KNOWN = dj.JointMap(hip_width=0.62, hip_raise=0.05, shoulder_width=0.63,
                    shoulder_raise=-0.28, thorax_raise=-0.22, neck_to_nose=0.3,
                    head_scale=1.4, torso_mm=410.0)


def _detector_bodies(n=64, seed=0):
  """Synthetic poses made into what `to_h36m` gives: pelvis, thorax and
  spine the midpoints of hips and shoulders."""
  poses = synthetic_poses.generate_poses(n, seed=seed)["pose3d"].astype(
      np.float64)
  poses[:, J("pelvis")] = (poses[:, J("l_hip")] + poses[:, J("r_hip")]) / 2
  poses[:, J("thorax")] = (poses[:, J("l_shoulder")]
                           + poses[:, J("r_shoulder")]) / 2
  poses[:, J("spine")] = (poses[:, J("pelvis")] + poses[:, J("thorax")]) / 2
  return poses


def test_the_matrix_is_the_docstrings_combinations():
  w = dj.matrix(KNOWN)
  np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-12)
  body = _detector_bodies(1)[0]
  hips = (body[J("l_hip")] + body[J("r_hip")]) / 2
  shoulders = (body[J("l_shoulder")] + body[J("r_shoulder")]) / 2
  trunk = shoulders - hips
  mapped = dj.apply(KNOWN, body)
  np.testing.assert_allclose(mapped[J("l_hip")], hips + 0.62 * (
      body[J("l_hip")] - hips) + 0.05 * trunk)
  np.testing.assert_allclose(mapped[J("r_shoulder")], shoulders + 0.63 * (
      body[J("r_shoulder")] - shoulders) - 0.28 * trunk)
  thorax = shoulders - 0.22 * trunk
  np.testing.assert_allclose(mapped[J("thorax")], thorax)
  neck = thorax + 0.3 * (body[J("neck")] - shoulders)
  np.testing.assert_allclose(mapped[J("neck")], neck)
  np.testing.assert_allclose(mapped[J("head")], neck + 1.4 * (
      body[J("head")] - body[J("neck")]))
  for limb in ("l_knee", "r_ankle", "l_elbow", "r_wrist"):
    np.testing.assert_array_equal(mapped[J(limb)], body[J(limb)])
  # The identity map leaves a detector body as it is.
  np.testing.assert_allclose(dj.apply(dj.JointMap(), body), body)


def test_one_map_serves_pixels_and_3d_under_an_affine_camera():
  bodies = _detector_bodies(8)
  shifted = bodies + np.array([300.0, -40.0, 5000.0])
  np.testing.assert_allclose(dj.apply(KNOWN, shifted),
                             dj.apply(KNOWN, bodies) + [300.0, -40.0, 5000.0])
  camera = np.array([[0.8, 0.1, 0.3], [-0.2, 0.9, 0.1]])  # any linear map
  np.testing.assert_allclose(dj.apply(KNOWN, bodies @ camera.T),
                             dj.apply(KNOWN, bodies) @ camera.T, atol=1e-9)


def test_to_detector_undoes_the_map_on_detector_bodies():
  bodies = _detector_bodies(16)
  np.testing.assert_allclose(dj.to_detector(KNOWN, dj.apply(KNOWN, bodies)),
                             bodies, atol=1e-9)


def test_a_missing_joint_spoils_only_the_joints_made_of_it():
  body = _detector_bodies(1)[0]
  body[J("l_wrist")] = np.nan
  mapped = dj.apply(KNOWN, body)
  assert np.isnan(mapped[J("l_wrist")]).all()
  assert np.isfinite(np.delete(mapped, J("l_wrist"), axis=0)).all()
  body[J("l_hip")] = np.nan  # every trunk joint is made of the hips
  mapped = dj.apply(KNOWN, body)
  for joint in ("pelvis", "r_hip", "thorax", "l_shoulder", "neck", "head"):
    assert np.isnan(mapped[J(joint)]).all(), joint
  assert np.isfinite(mapped[J("r_knee")]).all()


def test_measure_finds_a_known_map_from_the_bodies_it_made():
  rig = dj.apply(KNOWN, _detector_bodies(200, seed=1))
  detector = dj.to_detector(KNOWN, rig)
  detector[3, J("head")] = np.nan  # a frame the views could not place
  found = dj.measure(detector, rig, measured_on="synthetic")
  np.testing.assert_allclose(found.params(), KNOWN.params(), atol=0.02)
  np.testing.assert_allclose(dj.ratios(dj.apply(found, detector[
      np.isfinite(detector).all(axis=(1, 2))])), dj.ratios(rig), atol=2e-3)
  torso = np.linalg.norm(rig[:, J("thorax")] - rig[:, J("pelvis")], axis=-1)
  assert found.torso_mm == pytest.approx(np.median(torso))
  assert found.measured_on == "synthetic"


def test_ratios_are_lengths_over_the_leg():
  body = _detector_bodies(1)
  leg = (np.linalg.norm(body[0, J("l_hip")] - body[0, J("l_knee")])
         + np.linalg.norm(body[0, J("r_hip")] - body[0, J("r_knee")])
         + np.linalg.norm(body[0, J("l_knee")] - body[0, J("l_ankle")])
         + np.linalg.norm(body[0, J("r_knee")] - body[0, J("r_ankle")])) / 2
  hip_width = np.linalg.norm(body[0, J("l_hip")] - body[0, J("r_hip")])
  got = dict(zip(dj.RATIO_NAMES, dj.ratios(body)))
  assert got["hip_width"] == pytest.approx(hip_width / leg)
  assert dj.ratios(body * 3.0) == pytest.approx(dj.ratios(body))


def _write_map(path, **extra):
  path.write_text(json.dumps({"joint_map": {**dj.to_json(KNOWN), **extra},
                              "ratios": {}}))
  return str(path)


@pytest.mark.parametrize("content, match", [
    ("{not json", "map.json cannot be read"),
    ('{"joint_map": {"hip_width": 1.0, "hip_wide": 2}}', "unknown.*hip_wide"),
    ('{"joint_map": {"hip_width": -1.0, "torso_mm": 400}}', "positive widths"),
    ('{"joint_map": {"hip_width": 1.0}}', "torso_mm > 0"),
])
def test_a_bad_map_file_is_refused_by_name(tmp_path, content, match):
  path = tmp_path / "map.json"
  path.write_text(content)
  with pytest.raises(ValueError, match=match):
    dj.load(str(path))


def test_the_dataset_moves_a_detectors_file_and_takes_the_rigs_torso(tmp_path):
  body = _detector_bodies(5, seed=2)
  coco = np.stack([body[:, J(n)] for n in ("neck",) * 5 + kp_lib.COCO_17[5:]],
                  axis=1)[..., :2] * 0.2 + 500.0
  scores = np.ones(coco.shape[:2])
  scores[1, kp_lib.COCO_17.index("l_hip")] = 0.1
  path = tmp_path / "coco.npz"
  np.savez(path, keypoints=coco, scores=scores, layout="coco",
           image_size=[1000, 1000])
  map_path = _write_map(tmp_path / "map.json")
  plain = kd.read(kd.KeypointsSettings(path=str(path), undo_swaps=False))
  moved = kd.read(kd.KeypointsSettings(path=str(path), undo_swaps=False,
                                       joint_map=map_path))
  np.testing.assert_allclose(moved.pixels, dj.apply(KNOWN, plain.pixels),
                             rtol=1e-5)
  # A joint made of the unsure hip is unsure and not visible.
  for joint in ("pelvis", "r_hip", "thorax", "neck"):
    assert moved.confidence[1, J(joint)] == pytest.approx(0.1)
    assert not moved.visible[1, J(joint)]
  assert moved.visible[1, J("r_knee")] and moved.visible[0].all()
  assert moved.info["joint_map"]["path"] == map_path
  focal = 1000.0
  depth, rule = kd.root_depth(moved, focal)
  torso_px = np.median(np.linalg.norm(
      moved.pixels[moved.visible[:, J("pelvis")], J("thorax")]
      - moved.pixels[moved.visible[:, J("pelvis")], J("pelvis")], axis=-1))
  assert depth == pytest.approx(focal * 410.0 / torso_px, rel=1e-5)
  assert "for 410 mm" in rule


def test_a_map_on_human36m_joints_is_refused(tmp_path):
  path = tmp_path / "h36m.npz"
  np.savez(path, keypoints=_detector_bodies(2)[..., :2] * 0.2 + 500.0,
           image_size=[1000, 1000])
  with pytest.raises(settings.ConfigError, match="Human3.6M joints already"):
    kd.read(kd.KeypointsSettings(path=str(path),
                                 joint_map=_write_map(tmp_path / "m.json")))
