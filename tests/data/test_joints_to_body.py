"""Body-space rotations of joint places alone (`data/joints_to_body.py`):
the body's forward kinematics reaches the joints it is meant to, the rest
pose reads as zero rotations, a knee bend reads as the knee's hinge, the
pose does not depend on the frame, and DPoser trains and evaluates on an
npz of joint positions with data.body=True."""
import numpy as np
import pytest

from jaxpose import run_lib
from jaxpose import settings
from jaxpose.data import datasets
from jaxpose.data import joints_to_body
from jaxpose.pose import body_space
from jaxpose.pose import rotations
from jaxpose.pose.skeleton import H36M_17
from jaxpose.pose.skeleton import SMPL_22
from tests.test_calibrate_end_to_end import dposer_config

SMPL = SMPL_22.joint_names.index


def _h36m_of(body_pose, lengths, root=None, trans=None):
  """Human3.6M joints placed on the body's own joints (the map's places;
  pelvis between the hips, head 50 mm above the nose)."""
  j22 = body_space.forward_kinematics(body_pose, lengths, root, trans)
  out = np.zeros(j22.shape[:-2] + (17, 3))
  for smpl, h36m in joints_to_body.PLACES.items():
    if not smpl.endswith("_collar"):
      out[..., H36M_17.index(h36m), :] = j22[..., SMPL(smpl), :]
  hips = [H36M_17.index("l_hip"), H36M_17.index("r_hip")]
  out[..., 0, :] = out[..., hips, :].mean(-2)
  out[..., H36M_17.index("head"), :] = out[..., H36M_17.index("neck"), :] + [0, 50, 0]
  return out


def _lengths(rng, n):
  """Random skeletons as Human3.6M's joints can show them: sides alike, the
  collars as long as the neck (Human3.6M's collars start at the thorax), no
  toes."""
  lengths = rng.uniform(60, 450, (n, 22))
  for j, name in enumerate(SMPL_22.joint_names):
    if name.startswith("right_"):
      lengths[:, j] = lengths[:, SMPL("left_" + name[6:])]
  lengths[:, [SMPL("left_collar"), SMPL("right_collar")]] = lengths[:, [SMPL("neck")]]
  lengths[:, [0, SMPL("left_foot"), SMPL("right_foot")]] = 0
  return lengths


def test_the_rest_pose_reads_as_zero_rotations():
  lengths = _lengths(np.random.default_rng(0), 1)
  body = joints_to_body.body_from_joints(_h36m_of(np.zeros((1, 63)), lengths))
  np.testing.assert_allclose(body["body_pose"], 0, atol=1e-6)
  np.testing.assert_allclose(body["root_orient"], 0, atol=1e-6)
  assert body["residual_mm"][0] < 1e-6


def test_a_knee_bend_reads_as_the_knees_hinge():
  pose = np.zeros((3, 21, 3))
  angles = np.array([0.3, 1.0, 2.0])
  pose[:, SMPL("left_knee") - 1, 0] = angles  # knees flex about +X
  lengths = np.tile(_lengths(np.random.default_rng(1), 1), (3, 1))
  body = joints_to_body.body_from_joints(_h36m_of(pose.reshape(3, 63), lengths))
  np.testing.assert_allclose(body["body_pose"], pose.reshape(3, 63), atol=1e-6)


def test_forward_kinematics_reaches_every_placed_joint_in_any_frame():
  rng = np.random.default_rng(2)
  n = 64
  # Random postures within joint limits a body allows, twist-free limbs.
  pose = rng.normal(0, 0.35, (n, 21, 3))
  for knee in ("left_knee", "right_knee"):
    pose[:, SMPL(knee) - 1] = [[a, 0, 0] for a in rng.uniform(0, 2.2, n)]
  pose = pose.reshape(n, 63)
  root = rng.normal(0, 1.0, (n, 3))
  joints = _h36m_of(pose, _lengths(rng, n), root, rng.normal(0, 1000, (n, 3)))
  body = joints_to_body.body_from_joints(joints)
  assert body["residual_mm"].max() < 1e-3
  placed = body_space.forward_kinematics(body["body_pose"], body["bone_lengths"],
                                         body["root_orient"], body["trans"])
  for smpl in joints_to_body.REACHED:
    np.testing.assert_allclose(placed[:, SMPL(smpl)],
                               joints[:, H36M_17.index(joints_to_body.PLACES[smpl])],
                               atol=0.05)
  # The pose is the body's, not the frame's: a turned and moved copy of the
  # joints gives the same body pose.
  turn = rotations.axis_angle_to_matrix(np.array([0.4, -2.0, 0.9]))
  turned = joints_to_body.body_from_joints(joints @ turn.T + 500.0)
  np.testing.assert_allclose(turned["body_pose"], body["body_pose"], atol=1e-5)


def test_bad_joints_are_refused_naming_the_frame():
  joints = _h36m_of(np.zeros((3, 63)), _lengths(np.random.default_rng(3), 3))
  joints[2, H36M_17.index("l_hip")] = joints[2, H36M_17.index("r_hip")]
  with pytest.raises(ValueError, match="frame 2"):
    joints_to_body.body_from_joints(joints)
  joints[1, 4, 0] = np.nan
  with pytest.raises(ValueError, match="joints_mm"):
    joints_to_body.body_from_joints(joints)
  with pytest.raises(ValueError, match="17"):
    joints_to_body.body_from_joints(np.zeros((2, 16, 3)))


def _write_positions(path, split):
  """An npz of joint places in one camera's frame (Z-up world turned to
  look along +z, 5 m away) with clips, as a user may hold them."""
  to_camera = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])
  pose = np.asarray(split["pose3d_world"], np.float64) @ to_camera.T + [0, 0, 5000]
  np.savez(path, pose3d=pose, intrinsics=np.asarray(split["intrinsics"][0]),
           clip=np.asarray(split["clip"]).astype(str), frame=np.asarray(split["frame"]))


@pytest.fixture(scope="module")
def positions_npz(tmp_path_factory):
  root = tmp_path_factory.mktemp("positions")
  data = datasets.load(dposer_config().data).splits
  paths = {}
  for name in ("train", "test"):
    paths[name] = str(root / f"{name}.npz")
    _write_positions(paths[name], data[name])
  return paths, data


def test_the_npz_dataset_gives_the_body_of_its_joints(positions_npz):
  paths, synthetic = positions_npz
  split = datasets.load(dict(name="npz", train_path=paths["train"],
                             test_path=paths["test"], body=True)).splits["test"]
  for key in joints_to_body.BODY_KEYS + ("clip", "frame", "pose3d_world"):
    assert key in split, key
  # Its joints, through the fitted body, are the file's (cm-level at the
  # collars' thorax, exact elsewhere).
  placed = body_space.forward_kinematics(split["body_pose"], split["body_bone_lengths"],
                                         split["body_root_orient"], split["body_trans"])
  for smpl in joints_to_body.REACHED:
    np.testing.assert_allclose(
        placed[:, SMPL(smpl)],
        split["pose3d_world"][:, H36M_17.index(joints_to_body.PLACES[smpl])], atol=0.05)
  np.testing.assert_array_equal(split["clip"], np.asarray(synthetic["test"]["clip"]).astype(str))


def test_dposer_needs_data_body_on_joint_positions(positions_npz, tmp_path):
  paths, _ = positions_npz
  config = dposer_config(num_steps=4, fraction=0.0)
  config.data = dict(name="npz", train_path=paths["train"], test_path=paths["test"],
                     body=False)
  with pytest.raises(settings.ConfigError, match="data.body"):
    run_lib.train(config, str(tmp_path / "w"))


@pytest.mark.slow
def test_dposer_completes_and_denoises_an_npz_of_joint_positions(positions_npz, tmp_path):
  paths, _ = positions_npz
  config = dposer_config(num_steps=20, fraction=0.0)
  config.data = dict(name="npz", train_path=paths["train"], test_path=paths["test"],
                     body=True)
  config.eval.update(task="complete", num_poses=8, priors=("none", "dposer"),
                     gmm_rows=200)
  config.eval.complete.update(parts=("l_leg",), steps=10)
  workdir = str(tmp_path / "dposer")
  run_lib.run("train_and_eval", config, workdir)
  results = run_lib.evaluate(run_lib.evaluation_config(workdir, {
      "eval.task": "denoise_motion", "eval.num_poses": 60,
      "eval.denoise_motion.window": 20, "eval.denoise_motion.steps": 10, "eval.priors": ("none", "dposer"),
      "eval.denoise_motion.noise_mm": (20.0,)}), workdir)
  rows = results["settings"]
  assert {r["prior"] for r in rows} == {"none", "dposer"}
  for row in rows:  # smooth motion, undertrained prior: sane, not good
    assert row["accel_truth_mm"] < 10 and row["mpjpe_after_mm"] < 200, row
