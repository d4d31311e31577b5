"""Human3.6M as GFPose's released code reads it: LCN's preprocessed pickles
(`data.name=h36m_lcn`).

GFPose (Embracing/GFPose, lib/dataset/h36m.py) trains and scores on the
files of LCN (Ci et al. 2019), which users of the authors' code hold:
  * `h36m_train.pkl`, `h36m_test.pkl`: a list of one dict per row, read
    here for 'joint_3d_image' [17, 3] (x, y pixels of a 1000 x 1000 image;
    z the root-relative depth times the crop ratio, pixels),
    'joint_3d_camera' [17, 3] (camera frame, mm), 'box' [4] (the crop,
    x0 y0 x1 y1 pixels), 'camera_param' {'fx', 'fy', 'cx', 'cy'},
    'root_depth' (mm) and 'action' (Human3.6M's action id, 2..16).
  * `h36m_sh_dt_ft.pkl` (detected 2D): {'train' | 'test': {'joint3d_image':
    [N, 17, 2+] pixels}}, row-aligned with the pickles above.
The authors' protocol: the test rows every 640th (their `--sample 640`:
`test_stride=640`), 2D = the ground truth projection or the fine-tuned
stacked-hourglass detections, and MPJPE per action then averaged over the
15 actions. Their back-projection of an image-frame pose reads the crop
ratio r = (x1 - x0 + 1) / 2000 (pixels per mm at the root's depth): each
row's `depth_ratio` field holds it, beside the intrinsics and root depth
jaxpose's image space reads (`representation.space='image'`).

Pickles are read by a restricted unpickler (numpy arrays, dicts, lists
only): a file cannot run code.

Split fields: pose3d [N, 17, 3] root-relative mm; pose2d [N, 17, 2]
screen-normalised; activity [N] (action id - 2, indexing ACTIONS);
root_cam_mm [N, 3]; intrinsics [N, 6] (fx, fy, cx, cy, 1000, 1000);
depth_ratio [N]; row [N] (index in the pickle).
"""
from __future__ import annotations

import dataclasses
import os
import pickle
from typing import Literal

import numpy as np

from jaxpose.data import data_fields
from jaxpose.data import h36m
from jaxpose.data.file_checks import FormatError
from jaxpose.pose import cameras as cam_lib

# Human3.6M's action ids 2..16, in id order.
ACTIONS = ("Directions", "Discussion", "Eating", "Greeting", "Phoning",
           "Posing", "Purchases", "Sitting", "SittingDown", "Smoking",
           "Photo", "Waiting", "Walking", "WalkDog", "WalkTogether")
IMAGE_SIZE = 1000.0  # LCN's res_w = res_h
CROP_MM = 2000.0  # the crop's side at the root's depth


class LCNError(FormatError):
  """A pickle that is not in LCN's layout (the message names it)."""


class _Unpickler(pickle.Unpickler):
  _ALLOWED = {("collections", "OrderedDict"), ("builtins", "set"),
              ("_codecs", "encode")}

  def find_class(self, module, name):
    if module.split(".")[0] == "numpy" or (module, name) in self._ALLOWED:
      return super().find_class(module, name)
    raise LCNError(f"refusing to load {module}.{name} from a data pickle "
                   "(only numpy arrays, dicts and lists are read)")


def read_pickle(path: str):
  """A pickle of numpy arrays and containers (py2 pickles too)."""
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path}: no such file (LCN's preprocessed "
                            "Human3.6M pickles; see jaxpose/data/lcn.py)")
  try:
    with open(path, "rb") as f:
      return _Unpickler(f, encoding="latin1").load()
  except LCNError as e:
    raise LCNError(f"{path}: {e}") from None
  except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as e:
    raise LCNError(f"{path}: not a readable pickle ({type(e).__name__}: "
                   f"{e}; truncated?)") from None


def _field(path, i, item, key, shape=None):
  if not isinstance(item, dict) or key not in item:
    raise LCNError(f"{path}: row {i} has no {key!r} (LCN's rows hold "
                   "joint_3d_image, joint_3d_camera, box, camera_param, "
                   "root_depth, action)")
  value = item[key]
  if shape is not None:
    value = np.asarray(value, np.float64)
    if value.shape != shape or not np.all(np.isfinite(value)):
      raise LCNError(f"{path}: row {i} {key!r} has shape {value.shape} or "
                     f"non-finite values; expected finite {shape}")
  return value


def rows_from_items(items, path: str, *, stride: int = 1,
                    detections: np.ndarray | None = None) -> dict:
  """One split from LCN's list of row dicts (every `stride`-th row)."""
  if not isinstance(items, (list, tuple)) or not items:
    raise LCNError(f"{path}: expected a non-empty list of row dicts, got "
                   f"{type(items).__name__}")
  if detections is not None and len(detections) != len(items):
    raise LCNError(f"detections: {len(detections)} rows for the "
                   f"{len(items)} of {path}; they must be row-aligned")
  index = np.arange(0, len(items), stride)
  n = len(index)
  pose3d = np.empty((n, 17, 3), np.float32)
  pose2d = np.empty((n, 17, 2), np.float32)
  root = np.empty((n, 3), np.float32)
  intr = np.empty((n, 6), np.float32)
  ratio = np.empty(n, np.float32)
  activity = np.empty(n, np.int32)
  for r, i in enumerate(index):
    item = items[i]
    cam3d = _field(path, i, item, "joint_3d_camera", (17, 3))
    image = _field(path, i, item, "joint_3d_image", (17, 3))
    box = _field(path, i, item, "box", (4,))
    param = _field(path, i, item, "camera_param")
    action = int(_field(path, i, item, "action"))
    if not 2 <= action <= 16:
      raise LCNError(f"{path}: row {i} action {action}; expected 2..16")
    pose3d[r] = cam3d - cam3d[:1]
    root[r] = cam3d[0]
    px = image[:, :2] if detections is None else np.asarray(
        detections[i], np.float64)[:, :2]
    pose2d[r] = cam_lib.normalize_screen(px, IMAGE_SIZE, IMAGE_SIZE)
    intr[r] = (param["fx"], param["fy"], param["cx"], param["cy"],
               IMAGE_SIZE, IMAGE_SIZE)
    ratio[r] = (box[2] - box[0] + 1.0) / CROP_MM
    activity[r] = action - 2
  return dict(pose3d=pose3d, pose2d=pose2d, activity=activity,
              root_cam_mm=root, intrinsics=intr, depth_ratio=ratio,
              row=index.astype(np.int32))


@dataclasses.dataclass(frozen=True, kw_only=True)
class LCNSettings:
  """The `config.data` keys of the "h36m_lcn" dataset.

  Attributes:
    name: "h36m_lcn".
    dir: the folder of the pickles ('' searches as the h36m dataset does).
    train_file, test_file: the row pickles.
    input_2d: 'gt' (the projection in joint_3d_image) or 'detected'
      (`detections_file`, LCN's fine-tuned stacked-hourglass 2D).
    detections_file: the detections pickle.
    train_stride, test_stride: every n-th row (the authors: 1 and 640).
  """
  name: Literal["h36m_lcn"] = data_fields.field(default="h36m_lcn",
                                                decides_train_rows=True)
  dir: str = data_fields.field(default="", decides_train_rows=False)
  train_file: str = data_fields.field(default="h36m_train.pkl",
                                      decides_train_rows=True)
  test_file: str = data_fields.field(default="h36m_test.pkl",
                                     decides_train_rows=False)
  input_2d: Literal["gt", "detected"] = data_fields.field(
      default="gt", decides_train_rows=True)
  detections_file: str = data_fields.field(default="h36m_sh_dt_ft.pkl",
                                           decides_train_rows=True)
  train_stride: int = data_fields.field(default=1, at_least=1,
                                        decides_train_rows=True)
  test_stride: int = data_fields.field(default=640, at_least=1,
                                       decides_train_rows=False)


def _resolve(key: str, file: str, data_dir: str) -> str:
  try:
    return str(h36m.resolve_path(key, file, data_dir))
  except FileNotFoundError as e:
    raise FileNotFoundError(str(e).split(". Make ")[0] + ". These are "
                            "LCN's preprocessed Human3.6M pickles (GFPose's "
                            "README); pass --config.data.dir=<their folder>."
                            ) from None


def load_splits(data: LCNSettings) -> tuple[dict, dict]:
  """({"train": split, "test": split}, {split: which 2D})."""
  detections = None
  if data.input_2d == "detected":
    path = _resolve("detections_file", data.detections_file, data.dir)
    detections = read_pickle(path)
    if not isinstance(detections, dict) or not {"train", "test"} <= set(
        detections):
      raise LCNError(f"{path}: expected a dict with 'train' and 'test'")
  splits = {}
  for split, file, stride in (("train", data.train_file, data.train_stride),
                              ("test", data.test_file, data.test_stride)):
    path = _resolve(f"{split}_file", file, data.dir)
    dets = None
    if detections is not None:
      dets = np.asarray(detections[split]["joint3d_image"])
    splits[split] = rows_from_items(read_pickle(path), path, stride=stride,
                                    detections=dets)
  name = "sh_dt_ft" if data.input_2d == "detected" else "gt"
  return splits, {s: name for s in splits}
