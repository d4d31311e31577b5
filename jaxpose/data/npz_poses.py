"""Any `.npz` of poses as a train or test split (`data.name=npz`).

`--config.data.train_path=train.npz --config.data.test_path=test.npz`: one
file per split.  An empty path gives a split without rows (only
`test_path`: a model trained elsewhere is evaluated, --mode=eval; only
`train_path`: nothing to evaluate); both empty is an error.

The layout (N poses of the 17 Human3.6M joints in `skeleton.H36M_17` order,
millimetres; cameras as in `jaxpose.pose.cameras`: x right, y down, z
forward, pixels from the top-left corner):

  3D, one of:
    pose3d        [N, 17, 3]  camera-frame positions, mm; absolute (root
                              depth > 0) unless pose2d is given and the
                              "image" space is not used.
    pose3d_world  [N, 17, 3]  world positions, mm, with cameras: either
      camera_R    [3, 3] or [N, 3, 3]  world-to-camera rotation, and
      camera_t    [3] or [N, 3]        camera centre in world mm, so that
                                       X_cam = camera_R (X_world - camera_t);
      or neither, with `data.cameras="h36m:S1"`: that subject's four published
      Human3.6M cameras (4 rows per pose, camera fastest; world = Human3.6M's
      capture frame, Z up; lens distortion applied, as in its own 2D).
  intrinsics      [6] or [N, 6]  fx, fy, cx, cy, image width, height (pixels);
                                 needed unless data.cameras is set.
  pose2d          [N, 17, 2]  optional 2D in pixels (e.g. a detector's); when
                              absent, the 3D is projected (pinhole, exact).
  activity        [N] str     optional action names; ids index the sorted
                              distinct names of the file.
  clip, frame     [N] str, [N] int  optional: each pose's motion clip and
                              frame (DPoser's motion tasks cut windows from
                              them); with data.cameras each view is a clip.

Each split gives the `datasets` contract: pose3d (camera frame, root-relative
mm), pose2d (screen-normalised with the image size), activity, root_cam_mm
and intrinsics when the 3D is absolute, camera [N] int32 (0 without
data.cameras) and row [N] int32 (the pose's row in the file).  Other keys of
the file are ignored.
"""
from __future__ import annotations

import dataclasses
import os
import pathlib
from typing import Literal

from absl import logging
import numpy as np

from jaxpose.config import ConfigError
from jaxpose.data import data_fields
from jaxpose.data import file_checks
from jaxpose.pose import cameras as cam_lib

J = 17
SPLITS = ("train", "test")


class NpzPosesError(file_checks.FormatError):
  """A poses file that does not have the documented layout."""


def _shaped(path, data: dict, key: str, shapes: tuple, n: int | None = None):
  """data[key] as float64 if its shape is one of `shapes` ('N' = rows)."""
  arr = np.asarray(data[key])
  want = [tuple(n if d == "N" and n is not None else d for d in s) for s in shapes]
  fits = any(len(s) == arr.ndim and all(d in (None, "N") or d == a for d, a in
                                        zip(s, arr.shape)) for s in want)
  if not fits or not np.issubdtype(arr.dtype, np.number):
    expected = " or ".join("(" + ", ".join(str(d) for d in s) + ")" for s in want)
    raise NpzPosesError(f"{path}: {key!r}: expected a numeric array of shape "
                        f"{expected}, got {arr.shape} {arr.dtype}")
  return file_checks.check_finite(path, repr(key), arr.astype(np.float64), "row")


def _per_row(arr: np.ndarray, n: int, ndim: int) -> np.ndarray:
  """A value shared by all rows ([...], `ndim` dims) or per row ([N, ...]) -> [N, ...]."""
  return np.broadcast_to(arr, (n,) + arr.shape) if arr.ndim == ndim else arr


def _screen(px: np.ndarray, intr: np.ndarray) -> np.ndarray:
  """`cameras.normalize_screen` of each row with its own image size."""
  out = np.empty_like(px)
  sizes = intr[:, 4:6]
  for w, h in np.unique(sizes, axis=0):
    idx = np.all(sizes == (w, h), axis=1)
    out[idx] = cam_lib.normalize_screen(px[idx], float(w), float(h))
  return out


def _parse_cameras(spec: str) -> list[cam_lib.Camera] | None:
  """data.cameras: '' -> None; 'h36m:S1' -> the four published cameras."""
  if not spec:
    return None
  kind, _, subject = spec.partition(":")
  if kind != "h36m" or not subject:
    raise ValueError(f"data.cameras: expected '' or 'h36m:<subject>' (e.g. "
                     f"'h36m:S1'), got {spec!r}")
  try:
    return cam_lib.h36m_cameras(subject)
  except KeyError as e:
    raise ValueError(f"data.cameras: {e.args[0]}") from None


def _project(path, cam_pts, intr, *, distort_cams=None, camera=None):
  """Pixels of camera-frame points [N, J, 3] (pinhole or a camera's distortion)."""
  if np.any(cam_pts[..., 2] <= 0):
    bad = np.flatnonzero((cam_pts[..., 2] <= 0).any(axis=1))
    raise NpzPosesError(
        f"{path}: {len(bad)} pose(s) (rows {bad[:5].tolist()}) have joints at or "
        "behind the camera (depth <= 0): projecting needs absolute camera-frame "
        "positions in front of the camera; give pose2d, or fix the 3D/cameras")
  if distort_cams is not None:
    out = np.empty(cam_pts.shape[:-1] + (2,))
    for c, cam in enumerate(distort_cams):
      idx = camera == c
      out[idx] = cam_lib.project(cam_pts[idx], cam, distort=True)
    return out
  xy = cam_pts[..., :2] / cam_pts[..., 2:]
  return xy * intr[:, None, 0:2] + intr[:, None, 2:4]


def load_file(path, cameras: str = "") -> tuple[dict, tuple[str, ...], bool]:
  """One split from a poses file.

  Args:
    path: the .npz (module docstring).
    cameras: `data.cameras` ('' or 'h36m:<subject>').

  Returns:
    (split, activity names, whether pose2d came from the file).
  """
  path = pathlib.Path(os.fspath(path)).expanduser()
  if not path.is_file():
    raise FileNotFoundError(f"{path}: no such poses file")
  data = file_checks.open_npz(path, [])
  has = lambda k: k in data
  found = sorted(data)
  if has("pose3d") == has("pose3d_world"):
    raise NpzPosesError(
        f"{path}: expected exactly one of 'pose3d' (camera frame, mm) and "
        f"'pose3d_world' (world mm, with cameras); found keys {found}")
  key3d = "pose3d" if has("pose3d") else "pose3d_world"
  pose = _shaped(path, data, key3d, (("N", J, 3),))
  n = len(pose)
  if n == 0:
    raise NpzPosesError(f"{path}: {key3d!r} has no rows")
  published = _parse_cameras(cameras)
  extrinsics = [k for k in ("camera_R", "camera_t") if has(k)]
  if published is not None:
    if key3d == "pose3d":
      raise NpzPosesError(f"{path}: data.cameras={cameras!r} views world poses "
                          "('pose3d_world'); this file holds camera-frame 'pose3d'")
    clash = [k for k in ("camera_R", "camera_t", "intrinsics", "pose2d") if has(k)]
    if clash:
      raise NpzPosesError(f"{path}: data.cameras={cameras!r} supplies the cameras and "
                          f"projects the 2D, but the file also has {clash}; drop "
                          "those keys or set --config.data.cameras=''")
  elif key3d == "pose3d_world" and len(extrinsics) != 2:
    missing = sorted({"camera_R", "camera_t"} - set(extrinsics))
    raise NpzPosesError(f"{path}: 'pose3d_world' needs the cameras: missing key(s) "
                        f"{missing} (or set data.cameras, e.g. 'h36m:S1'); found {found}")
  elif key3d == "pose3d" and extrinsics:
    raise NpzPosesError(f"{path}: {extrinsics} only apply to 'pose3d_world'; "
                        "'pose3d' is already in the camera frame")
  if published is None and not has("intrinsics"):
    raise NpzPosesError(f"{path}: missing key 'intrinsics' [6] or [N, 6] (fx, fy, cx, "
                        "cy, width, height in pixels): the 2D is normalised by the "
                        f"image size; found {found}")

  row = np.arange(n, dtype=np.int32)
  camera = np.zeros(n, np.int32)
  distort_cams = None
  if published is not None:
    k = len(published)
    row, camera = np.repeat(row, k), np.tile(np.arange(k, dtype=np.int32), n)
    cam_pts = np.empty((n, k, J, 3))
    for c, cam in enumerate(published):
      cam_pts[:, c] = cam_lib.world_to_camera(pose, cam)
    cam_pts = cam_pts.reshape(n * k, J, 3)
    intr = np.asarray([[cam.fx, cam.fy, cam.cx, cam.cy, cam.width, cam.height]
                       for cam in published])[camera]
    distort_cams = published
  else:
    intr = _per_row(_shaped(path, data, "intrinsics", ((6,), ("N", 6)), n), n, 1)
    if np.any(intr[:, :2] <= 0) or np.any(intr[:, 4:] <= 0):
      raise NpzPosesError(f"{path}: 'intrinsics': focal lengths and image size "
                          "(columns 0, 1, 4, 5) must be positive")
    if key3d == "pose3d":
      cam_pts = pose
    else:
      rot = _per_row(_shaped(path, data, "camera_R", ((3, 3), ("N", 3, 3)), n), n, 2)
      centre = _per_row(_shaped(path, data, "camera_t", ((3,), ("N", 3)), n), n, 1)
      dev = np.abs(np.einsum("nij,nkj->nik", rot, rot) - np.eye(3)).max(axis=(1, 2))
      if np.any(dev > 1e-4) or np.any(np.linalg.det(rot) < 0):
        raise NpzPosesError(f"{path}: 'camera_R': expected rotation matrices "
                            "(R R^T = I, det +1)")
      cam_pts = np.einsum("nij,nkj->nki", rot, pose - centre[:, None])
  if has("pose2d"):
    px = _shaped(path, data, "pose2d", (("N", J, 2),), n)
  else:
    px = _project(path, cam_pts, intr, distort_cams=distort_cams, camera=camera)
  rows = len(cam_pts)
  split = dict(
      pose3d=(cam_pts - cam_pts[:, :1]).astype(np.float32),
      pose2d=_screen(px, intr).astype(np.float32), camera=camera, row=row)
  if np.all(cam_pts[:, 0, 2] > 0):
    split.update(root_cam_mm=cam_pts[:, 0].astype(np.float32),
                 intrinsics=intr.astype(np.float32))
  else:
    logging.warning("%s: the 3D is root-relative (root depth <= 0): no camera "
                    "fields, so representation.space='image' cannot use it", path)
  names: tuple[str, ...] = ()
  if has("activity"):
    act = np.asarray(data["activity"])
    if act.shape != (n,):
      raise NpzPosesError(f"{path}: 'activity': expected shape ({n},) (one name per "
                          f"pose), got {act.shape}")
    act = np.array([a.decode() if isinstance(a, bytes) else str(a) for a in act])
    uniq, ids = np.unique(act, return_inverse=True)
    names = tuple(str(u) for u in uniq)
    split["activity"] = ids.reshape(-1).astype(np.int32)[row]
  else:
    split["activity"] = np.zeros(rows, np.int32)
  if has("clip") != has("frame"):
    raise NpzPosesError(f"{path}: 'clip' and 'frame' come together (which clip each "
                        f"pose is of, its frame in it); found keys {found}")
  if has("clip"):
    clip = np.asarray(data["clip"])
    frame = np.asarray(data["frame"])
    if clip.shape != (n,) or frame.shape != (n,) or frame.dtype.kind not in "iu":
      raise NpzPosesError(f"{path}: 'clip' and 'frame': expected shape ({n},) each, "
                          f"frame integers; got {clip.shape}, {frame.shape} "
                          f"{frame.dtype}")
    clip = np.array([c.decode() if isinstance(c, bytes) else str(c) for c in clip])
    view = np.char.add(" cam", camera.astype(str)) if published else ""
    split["clip"] = np.char.add(clip[row], view)
    split["frame"] = frame.astype(np.int32)[row]
  return split, names, has("pose2d")


def _empty_like(split: dict) -> dict:
  return {k: v[:0] for k, v in split.items()}


@dataclasses.dataclass(frozen=True, kw_only=True)
class NpzSettings:
  """The `config.data` keys of the "npz" dataset.

  Attributes:
    name: "npz".
    train_path: the .npz of training poses; '' = no training rows (an
      evaluation with a test file does without it once it has moved).
    test_path: the .npz of test poses; '' = no test rows (not both empty).
    cameras: '' (the file's own) or 'h36m:<subject>' (module docstring).
    body: also body-space rotations fitted to every row's joints
      (`joints_to_body.with_body`; what DPoser trains on).
  """
  name: Literal["npz"] = data_fields.field(default="npz", decides_train_rows=True)
  train_path: str = data_fields.field(default="", decides_train_rows=True,
                                      training_file=True)
  test_path: str = data_fields.field(default="", decides_train_rows=False)
  cameras: str = data_fields.field(default="", decides_train_rows=True)
  body: bool = data_fields.field(default=False, decides_train_rows=True)

  def __post_init__(self):
    if not (self.train_path or self.test_path):
      raise ConfigError("data.train_path, data.test_path: both empty; give the "
                        ".npz of poses to train on and/or to evaluate on")
    try:
      _parse_cameras(self.cameras)
    except ValueError as e:
      raise ConfigError(str(e)) from None


def load_splits(data: NpzSettings) -> tuple[dict, dict, dict]:
  """The `npz` dataset: (splits, activity names, which 2D) per split.

  Args:
    data: the parsed data keys (`NpzSettings`); a split whose path is empty
      has no rows.
  """
  paths = {"train": data.train_path, "test": data.test_path}
  splits, names, input_2d = {}, {}, {}
  for s in SPLITS:
    if paths[s]:
      splits[s], names[s], given = load_file(paths[s], data.cameras)
      input_2d[s] = f"given ({pathlib.Path(paths[s]).name})" if given else "exact"
  for s in SPLITS:
    if s not in splits:
      other = next(iter(splits.values()))
      splits[s], names[s], input_2d[s] = _empty_like(other), (), "none"
      logging.warning("data.%s_path is empty: the %s split has no rows%s", s, s,
                      " (evaluation only: --mode=eval)" if s == "train" else "")
  return splits, names, input_2d


__all__ = ["NpzSettings", "load_file", "load_splits", "NpzPosesError"]
