"""Human3.6M from VideoPose3D's files, on tiny files in their exact layout.

The camera frame and the ground-truth 2D are computed here independently of
jaxpose, with VideoPose3D's own formulas (quaternion rotation of X - t, the
Human3.6M distortion model), so a wrong convention in the loader shows.
"""
import importlib.util
import pathlib

import numpy as np
import pytest

from jaxpose.data import datasets
from jaxpose.data import file_checks
from jaxpose.data import h36m
from jaxpose.pose import cameras as cam_lib

ROOT = pathlib.Path(__file__).resolve().parents[2]
KEEP = [0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27]
META = dict(layout_name="h36m", num_joints=17,
            keypoints_symmetry=[[4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]])
# subject -> take -> frames.  S1 in Martinez's naming (TakingPhoto,
# WalkingDog), S5 in the source's (Photo, WalkDog); S11 without "Directions".
TAKES = {
    "S1": {"Directions 1": 7, "Directions": 5, "TakingPhoto": 6, "WalkingDog 1": 4},
    "S5": {"Photo": 3, "WalkDog": 4, "Eating 2": 5},
    "S6": {"Walking": 3}, "S7": {"Walking 1": 3}, "S8": {"Waiting": 2},
    "S9": {"Sitting 1": 6, "SittingDown": 5},
    "S11": {"Directions 1": 4, "Greeting": 3},
}


def _constants():
  spec = importlib.util.spec_from_file_location(
      "h36m_cameras_test", ROOT / "third_party" / "h36m_cameras.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


CONSTS = _constants()


def _qrot(q, v):
  """VideoPose3D's common/quaternion.py qrot, in numpy."""
  qvec = np.broadcast_to(q[1:], v.shape)
  uv = np.cross(qvec, v)
  uuv = np.cross(qvec, uv)
  return v + 2 * (q[0] * uv + uuv)


def _to_camera(world_mm, subject, c):
  """VideoPose3D's world_to_camera: qrot(q^-1, X - t), all in mm."""
  quat, trans = CONSTS.EXTRINSICS[subject][c]
  q = np.asarray(quat, np.float64)
  q_inv = q * np.array([1, -1, -1, -1])
  return _qrot(q_inv, world_mm - np.asarray(trans))


def _project(cam_mm, c):
  """VideoPose3D's project_to_2d (Human3.6M distortion) -> pixels."""
  intr = CONSTS.INTRINSICS[CONSTS.CAMERA_IDS[c]]
  f, ctr = np.asarray(intr["focal_length"]), np.asarray(intr["center"])
  k, p = np.asarray(intr["radial"]), np.asarray(intr["tangential"])
  xx = np.clip(cam_mm[..., :2] / cam_mm[..., 2:], -1, 1)
  r2 = np.sum(xx ** 2, axis=-1, keepdims=True)
  radial = 1 + k[0] * r2 + k[1] * r2 ** 2 + k[2] * r2 ** 3
  tan = np.sum(p * xx, axis=-1, keepdims=True)
  return f * (xx * (radial + tan) + p * r2) + ctr


def _world(rng, frames):
  """[F, 32, 3] metres near the middle of the capture area, Z up."""
  body = rng.uniform([-0.3, -0.3, -0.9], [0.3, 0.3, 0.8], size=(frames, 32, 3))
  centre = rng.uniform([-1, -1, 0.9], [1, 1, 1.0], size=(frames, 1, 3))
  return (body + centre).astype(np.float32)


def make_files(folder, *, takes=TAKES, extra_2d_frames=0, name_2d="gt", seed=0,
               rename_2d=None):
  """Writes data_3d_h36m.npz and data_2d_h36m_<name_2d>.npz; returns the 3D.

  rename_2d: {file take name: 2D take name}, e.g. to name S1's takes the
  other way in the 2D file.
  """
  rng = np.random.default_rng(seed)
  pos3d, pos2d = {}, {}
  for subject, acts in takes.items():
    pos3d[subject], pos2d[subject] = {}, {}
    for take, frames in acts.items():
      world = _world(rng, frames)
      pos3d[subject][take] = world
      views = []
      for c in range(4):
        px = _project(_to_camera(world[:, KEEP] * 1000.0, subject, c), c)
        if extra_2d_frames:  # detector files run a few frames longer
          px = np.concatenate([px, rng.uniform(0, 1000, (extra_2d_frames, 17, 2))])
        views.append(px.astype(np.float32))
      pos2d[subject][(rename_2d or {}).get(take, take)] = views
  folder = pathlib.Path(folder)
  folder.mkdir(parents=True, exist_ok=True)
  np.savez_compressed(folder / "data_3d_h36m.npz", positions_3d=pos3d)
  np.savez_compressed(folder / f"data_2d_h36m_{name_2d}.npz", positions_2d=pos2d,
                      metadata=META)
  return pos3d


def _config(folder, **kw):
  from experiments.configs import gfpose_h36m
  config = gfpose_h36m.get_config()
  config.data.update(dict(dict(dir=str(folder), path_2d="data_2d_h36m_gt.npz",
                               train_stride=1, test_stride=1), **kw))
  return config.data


@pytest.fixture(scope="module")
def files(tmp_path_factory):
  folder = tmp_path_factory.mktemp("h36m")
  pos3d = make_files(folder)
  return folder, pos3d


def test_camera_frame_joints_and_2d_match_videopose3d(files):
  folder, pos3d = files
  ds = datasets.load(_config(folder))
  assert ds.name == "h36m" and ds.input_2d == {"train": "gt", "test": "gt"}
  test = ds.splits["test"]
  # Rows: subject, take (sorted), frame, camera fastest.
  rows = [(s, t, f, c) for s in ("S9", "S11") for t in sorted(TAKES[s])
          for f in range(TAKES[s][t]) for c in range(4)]
  assert len(test["pose3d"]) == len(rows)
  i = rows.index(("S11", "Greeting", 2, 3))
  assert (test["subject"][i], test["take"][i], test["frame"][i], test["camera"][i]) == \
      ("S11", "Greeting", 2, 3)
  # 3D: the 17 kept joints in the camera frame, root-relative, mm.
  cam_mm = _to_camera(pos3d["S11"]["Greeting"][2, KEEP].astype(np.float64) * 1000, "S11", 3)
  np.testing.assert_allclose(test["root_cam_mm"][i], cam_mm[0], atol=1e-2)
  np.testing.assert_allclose(test["pose3d"][i], cam_mm - cam_mm[:1], atol=1e-2)
  assert test["pose3d"].shape[1:] == (17, 3) and test["pose3d"].dtype == np.float32
  # Projecting the loaded camera-frame 3D with jaxpose's camera gives the GT 2D.
  cams = cam_lib.h36m_cameras("S9")
  for c in range(4):
    idx = (test["subject"] == "S9") & (test["camera"] == c)
    absolute = test["pose3d"][idx] + test["root_cam_mm"][idx][:, None]
    px = cam_lib.project(absolute.astype(np.float64), cams[c], distort=True)
    w, h = cams[c].width, cams[c].height
    np.testing.assert_allclose(test["pose2d"][idx], px / w * 2 - [1, h / w], atol=1e-5)
    np.testing.assert_allclose(
        test["intrinsics"][idx][0], [cams[c].fx, cams[c].fy, cams[c].cx, cams[c].cy, w, h],
        rtol=1e-6)


def test_splits_actions_and_both_s1_namings(files):
  folder, _ = files
  ds = datasets.load(_config(folder))
  train, test = ds.splits["train"], ds.splits["test"]
  assert set(train["subject"]) == {"S1", "S5", "S6", "S7", "S8"}
  assert set(test["subject"]) == {"S9", "S11"}
  assert ds.activity_names["train"] == ds.activity_names["test"] == h36m.ACTIONS
  assert len(h36m.ACTIONS) == 15 and list(h36m.ACTIONS) == sorted(h36m.ACTIONS)
  name = lambda split, i: ds.activity_names["train"][split["activity"][i]]
  s1 = train["subject"] == "S1"
  by_take = {t: {name(train, i) for i in np.flatnonzero(s1 & (train["take"] == t))}
             for t in set(train["take"][s1])}
  # Takes merged; Martinez's S1 names become the source's.
  assert by_take == {"Directions 1": {"Directions"}, "Directions": {"Directions"},
                     "Photo": {"Photo"}, "WalkDog 1": {"WalkDog"}}
  s5 = {name(train, i) for i in np.flatnonzero(train["subject"] == "S5")}
  assert s5 == {"Photo", "WalkDog", "Eating"}
  total = sum(4 * f for s in h36m.TRAIN_SUBJECTS for f in TAKES[s].values())
  assert len(train["pose3d"]) == total and train["activity"].dtype == np.int32
  np.testing.assert_allclose(train["pose3d"][:, 0], 0.0, atol=1e-6)


def test_s1_names_may_differ_between_the_files(tmp_path):
  # 3D from Martinez's archive (TakingPhoto), 2D converted from the source (Photo).
  make_files(tmp_path, rename_2d={"TakingPhoto": "Photo", "WalkingDog 1": "WalkDog 1"})
  train = datasets.load(_config(tmp_path)).splits["train"]
  assert {"Photo", "WalkDog 1"} <= set(train["take"])
  # One take under both names in one file is ambiguous.
  takes = {**TAKES, "S1": {**TAKES["S1"], "Photo": 3}}
  make_files(tmp_path, takes=takes)
  with pytest.raises(h36m.H36MError, match="'TakingPhoto'.*'Photo'|'Photo'.*'TakingPhoto'"):
    datasets.load(_config(tmp_path))


def test_s11_directions_is_left_out(tmp_path):
  takes = {**TAKES, "S11": {**TAKES["S11"], "Directions": 5}}
  make_files(tmp_path, takes=takes)
  test = datasets.load(_config(tmp_path)).splits["test"]
  assert set(test["take"][test["subject"] == "S11"]) == {"Directions 1", "Greeting"}


def test_strides(files):
  folder, _ = files
  ds = datasets.load(_config(folder, train_stride=2, test_stride=3))
  for split, stride, subjects in (("train", 2, h36m.TRAIN_SUBJECTS),
                                  ("test", 3, h36m.TEST_SUBJECTS)):
    rows = ds.splits[split]
    assert (rows["frame"] % stride == 0).all()
    expected = sum(4 * len(range(0, f, stride)) for s in subjects for f in TAKES[s].values())
    assert len(rows["pose3d"]) == expected


def test_detector_2d_is_trimmed_and_named(tmp_path):
  pos3d = make_files(tmp_path, extra_2d_frames=3, name_2d="cpn_ft_h36m_dbb")
  ds = datasets.load(_config(tmp_path, path_2d="data_2d_h36m_cpn_ft_h36m_dbb.npz"))
  assert ds.input_2d == {"train": "cpn_ft_h36m_dbb", "test": "cpn_ft_h36m_dbb"}
  test = ds.splits["test"]
  assert len(test["pose3d"]) == sum(4 * f for s in ("S9", "S11") for f in TAKES[s].values())
  # The kept 2D are the first frames, the exact projections.
  idx = np.flatnonzero((test["take"] == "SittingDown") & (test["camera"] == 1))
  px = _project(_to_camera(pos3d["S9"]["SittingDown"][:, KEEP] * 1000.0, "S9", 1), 1)
  np.testing.assert_allclose(test["pose2d"][idx], px / 1000 * 2 - 1, atol=1e-5)
  # Another 2D file for the test split only.
  make_files(tmp_path, name_2d="gt")
  ds = datasets.load(_config(tmp_path, path_2d="data_2d_h36m_cpn_ft_h36m_dbb.npz",
                             test_path_2d="data_2d_h36m_gt.npz"))
  assert ds.input_2d == {"train": "cpn_ft_h36m_dbb", "test": "gt"}


def _save_3d(path, positions):
  np.savez(path, positions_3d=positions)


def test_clear_errors(tmp_path):
  make_files(tmp_path)
  with pytest.raises(FileNotFoundError, match="data.path_3d.*nope.npz"):
    datasets.load(_config(tmp_path, path_3d="nope.npz"))
  with pytest.raises(FileNotFoundError, match="data.test_path_2d.*missing_2d.npz"):
    datasets.load(_config(tmp_path, test_path_2d="missing_2d.npz"))
  np.savez(tmp_path / "bad.npz", poses=np.zeros(3))
  with pytest.raises(file_checks.FormatError, match="bad.npz.*missing key.*positions_3d"):
    datasets.load(_config(tmp_path, path_3d="bad.npz"))
  _save_3d(tmp_path / "j30.npz", {"S1": {"Walking": np.ones((4, 30, 3))}})
  with pytest.raises(file_checks.FormatError, match=r"j30.npz.*\(F, 32, 3\).*\(4, 30, 3\)"):
    datasets.load(_config(tmp_path, path_3d="j30.npz"))
  with pytest.raises(h36m.H36MError, match="data_3d_h36m.npz.*no subject 'S2'"):
    datasets.load(_config(tmp_path, train_subjects="S1,S2"))
  # A 16-joint (stacked hourglass) 2D file, and a COCO-ordered one.
  np.savez(tmp_path / "data_2d_h36m_sh_ft_h36m.npz", positions_2d={"S1": {}},
           metadata=dict(num_joints=16, keypoints_symmetry=[[3, 4], [0, 1]]))
  with pytest.raises(h36m.H36MError, match="sh_ft_h36m.npz: 16 joints"):
    datasets.load(_config(tmp_path, path_2d="data_2d_h36m_sh_ft_h36m.npz"))
  np.savez(tmp_path / "coco.npz", positions_2d={"S1": {}},
           metadata={**META, "layout_name": "coco"})
  with pytest.raises(h36m.H36MError, match="coco.npz: joint layout 'coco'"):
    datasets.load(_config(tmp_path, path_2d="coco.npz"))


def test_mismatched_2d_is_named(tmp_path):
  pos3d = make_files(tmp_path)
  short = {s: dict(a) for s, a in TAKES.items()}
  del short["S9"]["SittingDown"]
  make_files(tmp_path / "short", takes=short)
  path_2d = str(tmp_path / "short" / "data_2d_h36m_gt.npz")
  with pytest.raises(h36m.H36MError, match=r"no 2D for positions_3d\['S9'\]\['SittingDown'\]"):
    datasets.load(_config(tmp_path, path_2d=path_2d))
  views = [np.zeros((f, 17, 2), np.float32) for f in (6, 6, 6)]
  with pytest.raises(h36m.H36MError, match=r"\['S9'\]\['Sitting 1'\]: expected 4 cameras, got 3"):
    h36m.load_split({"S9": {"Sitting 1": pos3d["S9"]["Sitting 1"][:, KEEP]}},
                    {"S9": {"Sitting 1": views}}, ["S9"])
  views = [np.zeros((5, 17, 2), np.float32)] * 4
  with pytest.raises(h36m.H36MError, match=r"5 frames, fewer than the 6"):
    h36m.load_split({"S9": {"Sitting 1": pos3d["S9"]["Sitting 1"][:, KEEP]}},
                    {"S9": {"Sitting 1": views}}, ["S9"])
  with pytest.raises(h36m.H36MError, match="unknown action"):
    h36m.load_split({"S9": {"Dancing": pos3d["S9"]["Sitting 1"][:, KEEP]}},
                    {"S9": {"Dancing": [np.zeros((6, 17, 2))] * 4}}, ["S9"])


@pytest.mark.parametrize("name", ["gfpose_h36m", "baseline_h36m"])
def test_h36m_configs_build_on_the_tiny_files(files, name):
  import importlib
  from jaxpose import methods
  folder, _ = files
  config = importlib.import_module(f"experiments.configs.{name}").get_config()
  config.data.update(dir=str(folder), path_2d="data_2d_h36m_gt.npz")
  if name.startswith("gfpose"):
    config.model.update(hidden=64, embed_dim=32, num_groups=8)
  else:
    config.model.update(hidden=64)
  method, run = methods.parse(config)
  data = method.load_data(run, {})
  assert data.dataset.name == "h36m"
  assert data.dataset.activity_names["test"] == h36m.ACTIONS
  # The configs' test stride (every 64th frame) keeps frame 0 of each take.
  test = data.splits["test"]
  assert len(test["pose3d"]) == 4 * sum(len(TAKES[s]) for s in h36m.TEST_SUBJECTS)
  assert {"root_cam_mm", "intrinsics"} <= set(test)


def test_baseline_h36m_reports_per_action(files, tmp_path):
  from experiments.configs import baseline_h36m
  from jaxpose import run_lib
  folder, _ = files
  config = baseline_h36m.get_config()
  config.data.update(dir=str(folder), path_2d="data_2d_h36m_gt.npz", test_stride=1)
  config.model.update(hidden=32)
  config.train.update(num_steps=2, batch_size=16, log_every=1, ckpt_every=2)
  config.eval.update(plot_poses=0, lift_batch_size=64)
  # Barely trained: this checks the data's way into the results file.
  results = run_lib.run("train_and_eval", config, str(tmp_path))
  assert results["num_poses"] == sum(4 * f for s in h36m.TEST_SUBJECTS
                                     for f in TAKES[s].values())
  assert results["input_2d"] == "gt" and results["activity_names"] == list(h36m.ACTIONS)
  # S9/S11 hold Directions, Greeting, Sitting, SittingDown.
  present = {h36m.ACTIONS.index(a) for a in ("Directions", "Greeting", "Sitting",
                                             "SittingDown")}
  keys = set(results["per_activity"]["mpjpe_mm"])
  assert keys in ({str(i) for i in present}, {h36m.ACTIONS[i] for i in present})


def test_body_rotations_fitted_to_the_joints_for_dposer(files):
  from jaxpose.data import joints_to_body
  from jaxpose.pose import body_space
  from jaxpose.pose.skeleton import H36M_17, SMPL_22
  folder, _ = files
  test = datasets.load(_config(folder, body=True)).splits["test"]
  for key in joints_to_body.BODY_KEYS:
    assert len(test[key]) == len(test["pose3d"]), key
  # One clip per take and camera: a motion window never jumps between views.
  assert len(set(zip(test["clip"], test["camera"]))) == len(set(test["clip"]))
  assert all(c.endswith(f" cam{k}") for c, k in zip(test["clip"], test["camera"]))
  # The body's joints are the camera-frame joints (these random joints too).
  joints = test["pose3d"] + test["root_cam_mm"][:, None]
  placed = body_space.forward_kinematics(test["body_pose"], test["body_bone_lengths"],
                                         test["body_root_orient"], test["body_trans"])
  for smpl in joints_to_body.REACHED:
    np.testing.assert_allclose(
        placed[:, SMPL_22.joint_names.index(smpl)],
        joints[:, H36M_17.index(joints_to_body.PLACES[smpl])], atol=0.1)
