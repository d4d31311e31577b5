"""LCN's preprocessed Human3.6M pickles (GFPose's released data), read back."""
import pickle

import numpy as np
import pytest

from jaxpose.data import datasets
from jaxpose.data import lcn
from jaxpose.pose import cameras as cam_lib

FX, FY, CX, CY = 1145.0, 1144.0, 512.5, 515.4


def _rows(n, seed=0):
  """LCN-layout rows of random poses 4-6 m in front of a camera."""
  rng = np.random.default_rng(seed)
  items, truth = [], []
  for i in range(n):
    root = np.array([rng.uniform(-300, 300), rng.uniform(-200, 200),
                     rng.uniform(4000, 6000)])
    pose = root + rng.normal(0, 250, (17, 3))
    pose[0] = root
    px = np.stack([pose[:, 0] / pose[:, 2] * FX + CX,
                   pose[:, 1] / pose[:, 2] * FY + CY], -1)
    # The crop: 2000 mm at the root's depth, centred on the root.
    half = 1000.0 * FX / root[2]
    u0 = root[0] / root[2] * FX + CX
    box = np.array([u0 - half, 0.0, u0 + half - 1.0, 1.0])
    ratio = (box[2] - box[0] + 1) / 2000.0
    image = np.concatenate([px, ((pose[:, 2] - root[2]) * ratio)[:, None]], -1)
    items.append({"joint_3d_image": image.astype(np.float32),
                  "joint_3d_camera": pose.astype(np.float32),
                  "box": box, "root_depth": root[2],
                  "camera_param": {"fx": FX, "fy": FY, "cx": CX, "cy": CY},
                  "action": 2 + i % 15, "subject": 9})
    truth.append(pose)
  return items, np.asarray(truth)


def _authors_back_projection(image, box, param, root_depth):
  # As their lib/utils/transforms.image_to_camera_frame computes it.
  ratio = (box[2] - box[0] + 1) / 2000.0
  z = image[:, 2] / ratio + root_depth
  x = (image[:, 0] - param["cx"]) / param["fx"] * z
  y = (image[:, 1] - param["cy"]) / param["fy"] * z
  return np.stack([x, y, z], -1)


def test_rows_match_the_authors_reading():
  items, truth = _rows(30)
  split = lcn.rows_from_items(items, "h36m_test.pkl", stride=7)
  idx = np.arange(0, 30, 7)
  np.testing.assert_array_equal(split["row"], idx)
  np.testing.assert_allclose(split["pose3d"], truth[idx] - truth[idx, :1],
                             atol=1e-3)
  np.testing.assert_allclose(split["root_cam_mm"], truth[idx, 0], atol=1e-3)
  for r, i in enumerate(idx):
    item = items[i]
    # The authors' normalisation of x, y (res 1000 x 1000) is jaxpose's.
    theirs = item["joint_3d_image"][:, :2] / 1000 * 2 - [1, 1]
    np.testing.assert_allclose(split["pose2d"][r], theirs, atol=1e-6)
    # Their back-projection with the row's depth ratio recovers the pose.
    back = _authors_back_projection(item["joint_3d_image"], item["box"],
                                    item["camera_param"], item["root_depth"])
    np.testing.assert_allclose(back, truth[i], atol=0.05)
    assert split["depth_ratio"][r] == pytest.approx(
        (item["box"][2] - item["box"][0] + 1) / 2000, rel=1e-6)
    assert lcn.ACTIONS[split["activity"][r]] == lcn.ACTIONS[item["action"] - 2]
  np.testing.assert_allclose(split["intrinsics"][0], [FX, FY, CX, CY, 1000, 1000])


def test_dataset_from_files_with_detections(tmp_path):
  train, _ = _rows(20, seed=1)
  test, _ = _rows(1300, seed=2)
  for name, items in (("h36m_train.pkl", train), ("h36m_test.pkl", test)):
    with open(tmp_path / name, "wb") as f:
      pickle.dump(items, f)
  dets = {s: {"joint3d_image": np.stack([r["joint_3d_image"] for r in rows])
              + 3.0} for s, rows in (("train", train), ("test", test))}
  with open(tmp_path / "h36m_sh_dt_ft.pkl", "wb") as f:
    pickle.dump(dets, f)
  ds = datasets.load({"name": "h36m_lcn", "dir": str(tmp_path),
                      "input_2d": "detected"})
  assert len(ds.splits["test"]["pose3d"]) == 3  # rows 0, 640, 1280
  assert ds.input_2d == {"train": "sh_dt_ft", "test": "sh_dt_ft"}
  want = cam_lib.normalize_screen(dets["test"]["joint3d_image"][640, :, :2],
                                  1000.0, 1000.0)
  np.testing.assert_allclose(ds.splits["test"]["pose2d"][1], want, atol=1e-6)


def test_bad_files_are_named(tmp_path):
  items, _ = _rows(3)
  del items[1]["box"]
  with pytest.raises(lcn.LCNError, match="row 1 has no 'box'"):
    lcn.rows_from_items(items, "h36m_test.pkl")

  class Evil:
    def __reduce__(self):
      return (print, ("ran",))
  path = tmp_path / "h36m_test.pkl"
  with open(path, "wb") as f:
    pickle.dump([Evil()], f)
  with pytest.raises(lcn.LCNError, match="refusing to load"):
    lcn.read_pickle(str(path))
  path.write_bytes(pickle.dumps(_rows(2)[0])[:50])
  with pytest.raises(lcn.LCNError, match="truncated"):
    lcn.read_pickle(str(path))
  with pytest.raises(FileNotFoundError, match="LCN's preprocessed"):
    datasets.load({"name": "h36m_lcn", "dir": str(tmp_path / "none")})
