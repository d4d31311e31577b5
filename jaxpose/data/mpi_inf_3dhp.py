"""The MPI-INF-3DHP test set as its authors ship it (`data.name=mpi_inf_3dhp`).

Input (the authors' `get_testset.sh` unpacks it; jaxpose never ships it):
`<dir>/mpi_inf_3dhp_test_set/TS1 .. TS6/annot_data.mat`, or `<dir>` the
folder holding TS1..TS6.  Each annot_data.mat holds, in MATLAB's axis order
(the test set's README.txt and `test_util/mpii_test_predictions.m`):
  * annot2 2 x 17 x 1 x T: pixels of the frame as recorded (TS5-6's
    through a distorting lens: `project(..., distort=True)` applies the
    calibration's model; not checked against the real files here);
  * annot3 3 x 17 x 1 x T: camera frame, mm;
  * univ_annot3 3 x 17 x 1 x T: camera frame, mm, the skeleton rescaled to
    Human3.6M's "universal" height: what the protocol scores;
  * valid_frame 1 x T (0/1): only valid frames are scored;
  * activity_annotation 1 x T: the activity id, 1..7 (`ACTIVITY_NAMES`);
  * and more (bb_crop, ...), not read.
A MATLAB v7.3 file (HDF5) is read with h5py, which reverses every array's
axes (annot3 T x 1 x 17 x 3); a v5 file with scipy.io.loadmat, which keeps
MATLAB's order; `mat_version` tells them apart by the header.

Joints: the test set's 17 "relevant" joints (`test_util/mpii_get_joints.m`,
"Human3.6m joints in CPM order") are `JOINTS_3DHP`; `TO_H36M` puts them in
`skeleton.H36M_17` order with the index list public 3DHP loaders of
H36M-trained lifters use: 3DHP's 'neck' (the throat, at the shoulders'
height) is H36M's 'thorax'; 3DHP's 'head' (mid-head) is H36M's 'neck'
(neck/nose, the joint between thorax and head top); 3DHP's 'head_top' is
H36M's 'head' (head top); pelvis, spine, limbs by name.

Cameras (`test_util/camera_calibration/ts1-4cameras.calib` and
`ts5-6cameras.calib`): TS1-4 studio camera 8, 2048 x 2048, no distortion;
TS5-6 an outdoor GoPro, 1920 x 1080, OpenCV distortion.  Pixels from the
calibration's millimetres: fx = focal * W / sensor_w, fy = fx * pixelAspect
("y / x"), cx = (sensor_w / 2 + offset_x) * W / sensor_w and likewise cy.

Split fields (the `datasets` contract; the test split only, there is no
training split): pose3d [N, 17, 3] float32 camera frame, root-relative mm
(`annotation_3d`); pose2d [N, 17, 2] float32 screen-normalised with the
sequence's image size; pose2d_px [N, 17, 2] float32 annot2's pixels;
activity [N] int32 (1..7; 0 where a valid frame has none, named "unknown");
root_cam_mm [N, 3] float32 (annot3's pelvis: the true position, where
univ_annot3's skeleton is rescaled); intrinsics [N, 6] float32 (fx, fy, cx, cy, width,
height); distortion [N, 5] float32 (OpenCV k1, k2, p1, p2, k3); sequence
[N] str ("TS1"); clip [N] int32 (the sequence's index in `SEQUENCES`);
frame [N] int32 (0-based frame of the sequence: image img_%06d.jpg of
frame + 1).  Rows: sequence by sequence (the settings' order), frames in
order, valid frames only.
"""
from __future__ import annotations

import dataclasses
import os
import pathlib
from typing import Literal, NamedTuple, Sequence

import numpy as np

from jaxpose.config import ConfigError
from jaxpose.data import data_fields
from jaxpose.data import data_files
from jaxpose.data.file_checks import FormatError
from jaxpose.pose import cameras as cam_lib

SEQUENCES = ("TS1", "TS2", "TS3", "TS4", "TS5", "TS6")
TEST_SET_FOLDER = "mpi_inf_3dhp_test_set"
ANNOTATION_FILE = "annot_data.mat"
NUM_JOINTS = 17
JOINTS_3DHP = ("head_top", "neck", "r_shoulder", "r_elbow", "r_wrist",
               "l_shoulder", "l_elbow", "l_wrist", "r_hip", "r_knee", "r_ankle",
               "l_hip", "l_knee", "l_ankle", "pelvis", "spine", "head")
# TO_H36M[j]: the 3DHP joint that becomes H36M_17 joint j (module docstring).
TO_H36M = np.array([14, 8, 9, 10, 11, 12, 13, 15, 1, 16, 0, 5, 6, 7, 2, 3, 4])
TO_H36M.flags.writeable = False
ROOT_3DHP = JOINTS_3DHP.index("pelvis")
# test_util/mpii_get_activity_name.m; ACTIVITY_NAMES[i] names id i.
ACTIVITY_NAMES = ("unknown", "Standing/Walking", "Exercising", "Sitting",
                  "Reaching/Crouching", "On The Floor", "Sports", "Miscellaneous")
INPUT_2D = "gt"
_V73_TEXT, _V5_TEXT = b"MATLAB 7.3 MAT-file", b"MATLAB 5.0 MAT-file"
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_USER_BLOCK = 512


class MPIINF3DHPError(FormatError):
  """An MPI-INF-3DHP test-set file or folder not as the authors ship it."""


class SequenceCamera(NamedTuple):
  """A test sequence's intrinsics: pixels, OpenCV's distortion order."""
  fx: float
  fy: float
  cx: float
  cy: float
  width: int
  height: int
  distortion: tuple[float, float, float, float, float]  # k1, k2, p1, p2, k3


def _from_calibration(*, sensor_mm, image_px, focal_mm, pixel_aspect,
                      center_offset_mm, distortion) -> SequenceCamera:
  """A .calib file's millimetre intrinsics in pixels (module docstring)."""
  px_per_mm = (image_px[0] / sensor_mm[0], image_px[1] / sensor_mm[1])
  fx = focal_mm * px_per_mm[0]
  return SequenceCamera(
      fx=fx, fy=fx * pixel_aspect,
      cx=(sensor_mm[0] / 2 + center_offset_mm[0]) * px_per_mm[0],
      cy=(sensor_mm[1] / 2 + center_offset_mm[1]) * px_per_mm[1],
      width=image_px[0], height=image_px[1], distortion=tuple(distortion))


_STUDIO = _from_calibration(  # ts1-4cameras.calib, camera 8
    sensor_mm=(10.0, 10.0), image_px=(2048, 2048), focal_mm=7.32506,
    pixel_aspect=1.00044, center_offset_mm=(-0.0322884, 0.0929296),
    distortion=(0.0, 0.0, 0.0, 0.0, 0.0))
_OUTDOOR = _from_calibration(  # ts5-6cameras.calib, GOPR0046
    sensor_mm=(10.0, 5.625), image_px=(1920, 1080), focal_mm=8.770747185,
    pixel_aspect=0.993236423, center_offset_mm=(-0.104908645, 0.104899704),
    distortion=(-0.276859611, 0.131125256, -0.000360494, -0.001149441,
                -0.049318332))
CAMERAS = {s: _STUDIO if s in ("TS1", "TS2", "TS3", "TS4") else _OUTDOOR
           for s in SEQUENCES}


def project(points_cam_mm, camera: SequenceCamera, *, distort: bool = True) -> np.ndarray:
  """Camera-frame points to pixels with OpenCV's lens model (the 3DHP
  calibration's; `cameras.project`'s is Human3.6M's variant).

  Args:
    points_cam_mm: points in front of the camera (z > 0), mm.  # [..., 3]
    camera: the sequence's camera (`CAMERAS[sequence]`).
    distort: apply the lens distortion (TS5-6 have some).

  Returns:
    Pixels (u, v).  # [..., 2]
  """
  points = np.asarray(points_cam_mm, np.float64)
  if points.shape[-1:] != (3,) or np.any(points[..., 2] <= 0):
    raise ValueError(f"points_cam_mm: expected [..., 3] with z > 0, got shape "
                     f"{points.shape}")
  x, y = points[..., 0] / points[..., 2], points[..., 1] / points[..., 2]
  if distort:
    k1, k2, p1, p2, k3 = camera.distortion
    r2 = x * x + y * y
    radial = 1 + k1 * r2 + k2 * r2 ** 2 + k3 * r2 ** 3
    x, y = (x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x),
            y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y)
  return np.stack([camera.fx * x + camera.cx, camera.fy * y + camera.cy], axis=-1)


def mat_version(path) -> Literal["7.3", "5"]:
  """Which MAT-file version `path` is, from its header.

  Raises:
    MPIINF3DHPError: no MATLAB header, or a v7.3 header with no HDF5 file
      after its user block.
  """
  with open(path, "rb") as f:
    head = f.read(_USER_BLOCK + len(_HDF5_SIGNATURE))
  if head.startswith(_V73_TEXT):
    if head[_USER_BLOCK:] != _HDF5_SIGNATURE:
      raise MPIINF3DHPError(f"{path}: a 'MATLAB 7.3 MAT-file' header but no HDF5 "
                            f"file after its {_USER_BLOCK}-byte user block "
                            "(truncated or damaged?)")
    return "7.3"
  if head.startswith(_V5_TEXT):
    return "5"
  raise MPIINF3DHPError(f"{path}: not a MATLAB MAT-file (its header begins "
                        f"{head[:24]!r}; expected 'MATLAB 7.3 MAT-file' or "
                        "'MATLAB 5.0 MAT-file')")


def _read_v73(path, keys) -> tuple[dict, list[str]]:
  try:
    import h5py  # pylint: disable=import-outside-toplevel
  except ImportError:
    raise ImportError(f"{path} is a MATLAB v7.3 (HDF5) file: pip install h5py "
                      "to read it") from None
  out = {}
  try:
    with h5py.File(path, "r") as f:
      found = sorted(k for k in f.keys() if not k.startswith("#"))
      for key in keys:
        if key in f:
          if not isinstance(f[key], h5py.Dataset):
            raise MPIINF3DHPError(f"{path}: '{key}' is a MATLAB struct or cell "
                                  "(an HDF5 group); expected a numeric array")
          # h5py sees MATLAB's column-major arrays with the axes reversed.
          out[key] = np.asarray(f[key][()]).T
  except OSError as e:
    raise MPIINF3DHPError(f"{path}: not a readable MATLAB v7.3 file ({e})") from None
  return out, found


def _read_v5(path, keys) -> tuple[dict, list[str]]:
  import scipy.io  # pylint: disable=import-outside-toplevel  (jax's dependency)
  try:
    found = sorted(name for name, _, _ in scipy.io.whosmat(path))
    loaded = scipy.io.loadmat(path, variable_names=list(keys), squeeze_me=False)
  except Exception as e:  # scipy's MatReadError, ValueError, EOFError alike
    raise MPIINF3DHPError(f"{path}: not a readable MATLAB v5 file ({e})") from None
  return {k: loaded[k] for k in keys if k in loaded}, found


def read_mat(path, keys: Sequence[str]) -> dict[str, np.ndarray]:
  """The arrays `keys` of a MAT-file of either version, in MATLAB's axis order.

  Raises:
    MPIINF3DHPError: not a MAT-file, unreadable, a key missing (the keys
      found listed) or not numeric.
  """
  path = os.fspath(path)
  values, found = (_read_v73 if mat_version(path) == "7.3" else _read_v5)(path, keys)
  missing = [k for k in keys if k not in values]
  if missing:
    raise MPIINF3DHPError(f"{path}: missing key(s) {missing}; found {found}")
  for key, value in values.items():
    if not (np.issubdtype(value.dtype, np.number) or value.dtype == bool):
      raise MPIINF3DHPError(f"{path}: '{key}' holds {value.dtype}; expected numbers")
  return values


def _poses(path, key, matlab, channels: int) -> np.ndarray:
  """MATLAB's channels x 17 x 1 x T -> [T, 17, channels] float64."""
  shape = matlab.shape
  if not (len(shape) >= 2 and shape[:2] == (channels, NUM_JOINTS)
          and all(s == 1 for s in shape[2:-1])):
    raise MPIINF3DHPError(
        f"{path}: '{key}' has MATLAB shape {' x '.join(map(str, shape))}; "
        f"expected {channels} x {NUM_JOINTS} x 1 x T (h5py reads it as "
        f"T x 1 x {NUM_JOINTS} x {channels})")
  frames = shape[-1] if len(shape) > 2 else 1
  poses = matlab.reshape(channels, NUM_JOINTS, frames).transpose(2, 1, 0)
  return poses.astype(np.float64)


def _per_frame(path, key, matlab) -> np.ndarray:
  """MATLAB's 1 x T (or T x 1) -> [T]."""
  if matlab.size == 0 or sum(s != 1 for s in matlab.shape) > 1:
    raise MPIINF3DHPError(f"{path}: '{key}' has MATLAB shape "
                          f"{' x '.join(map(str, matlab.shape))}; expected 1 x T")
  return matlab.reshape(-1)


def _check_finite(path, key, values, frames) -> None:
  bad = ~np.isfinite(values).all(axis=tuple(range(1, values.ndim)))
  if bad.any():
    listed = frames[bad]
    raise MPIINF3DHPError(
        f"{path}: '{key}': NaN/inf in {len(listed)} valid frame(s) "
        f"{listed[:5].tolist()}{' ...' if len(listed) > 5 else ''} (0-based); "
        "repair those frames or mark them invalid in valid_frame")


def read_sequence(path, annotation_3d: str = "univ_annot3") -> dict[str, np.ndarray]:
  """One sequence's annotations, checked, in the test set's joint order.

  Args:
    path: its annot_data.mat.
    annotation_3d: the 3D read as `pose3d`: 'univ_annot3' or 'annot3'.

  Returns:
    annot2 [T, 17, 2] px, annot3 [T, 17, 3] mm, pose3d [T, 17, 3] mm (the
    `annotation_3d` array), valid_frame [T] bool, activity [T] int32.

  Raises:
    MPIINF3DHPError: naming the file and the key: a missing key, a shape
      not the authors', frame counts that disagree between keys, NaN/inf
      in a valid frame, valid_frame not 0/1, an activity id of a valid
      frame outside 0..7.
  """
  path = os.fspath(path)
  if annotation_3d not in ("univ_annot3", "annot3"):
    raise ValueError(f"annotation_3d: expected 'univ_annot3' or 'annot3', got "
                     f"{annotation_3d!r}")
  keys = ["annot2", "annot3", "valid_frame", "activity_annotation"]
  keys += [annotation_3d] if annotation_3d not in keys else []
  raw = read_mat(path, keys)
  out = dict(annot2=_poses(path, "annot2", raw["annot2"], 2),
             annot3=_poses(path, "annot3", raw["annot3"], 3),
             pose3d=_poses(path, annotation_3d, raw[annotation_3d], 3))
  valid = _per_frame(path, "valid_frame", raw["valid_frame"])
  activity = _per_frame(path, "activity_annotation", raw["activity_annotation"])
  counts = {"annot2": len(out["annot2"]), "annot3": len(out["annot3"]),
            annotation_3d: len(out["pose3d"]), "valid_frame": len(valid),
            "activity_annotation": len(activity)}
  if len(set(counts.values())) > 1:
    raise MPIINF3DHPError(f"{path}: frame counts disagree between keys: "
                          + ", ".join(f"{k} {n}" for k, n in counts.items()))
  if not np.isin(valid, (0, 1)).all():
    raise MPIINF3DHPError(f"{path}: 'valid_frame' holds "
                          f"{np.unique(valid[~np.isin(valid, (0, 1))])[:5].tolist()}; "
                          "expected 0 or 1 per frame")
  valid = valid.astype(bool)
  frames = np.flatnonzero(valid)
  for key, values in (("annot2", out["annot2"]), ("annot3", out["annot3"]),
                      (annotation_3d, out["pose3d"])):
    _check_finite(path, key, values[valid], frames)
  act = activity[valid]
  bad = (~np.isfinite(act) | (act != np.round(act)) | (act < 0)
         | (act >= len(ACTIVITY_NAMES)))
  if bad.any():
    raise MPIINF3DHPError(
        f"{path}: 'activity_annotation': {act[bad][:5].tolist()} in valid frame(s) "
        f"{frames[bad][:5].tolist()}; expected the protocol's ids 1..7 (0: none)")
  activity = np.where(valid, np.nan_to_num(activity), 0).astype(np.int32)
  return dict(out, valid_frame=valid, activity=activity)


def sequence_rows(sequence: str, annotations: dict) -> dict[str, np.ndarray]:
  """A sequence's valid frames as split rows in H36M_17 order (module docstring).

  Args:
    sequence: its name, one of `SEQUENCES`.
    annotations: `read_sequence`'s arrays.
  """
  cam = CAMERAS[sequence]
  valid = annotations["valid_frame"]
  frames = np.flatnonzero(valid).astype(np.int32)
  pose3d = annotations["pose3d"][valid][:, TO_H36M]
  px = annotations["annot2"][valid][:, TO_H36M]
  n = len(frames)
  return dict(
      pose3d=(pose3d - pose3d[:, :1]).astype(np.float32),
      pose2d=cam_lib.normalize_screen(px, cam.width, cam.height).astype(np.float32),
      pose2d_px=px.astype(np.float32),
      activity=annotations["activity"][valid].astype(np.int32),
      root_cam_mm=annotations["annot3"][valid][:, ROOT_3DHP].astype(np.float32),
      intrinsics=np.tile(np.float32([cam.fx, cam.fy, cam.cx, cam.cy, cam.width,
                                     cam.height]), (n, 1)),
      distortion=np.tile(np.float32(cam.distortion), (n, 1)),
      sequence=np.full(n, sequence),
      clip=np.full(n, SEQUENCES.index(sequence), np.int32),
      frame=frames)


def _sequences(value) -> tuple[str, ...]:
  """'TS1,TS5' or ('TS1', 'TS5') -> ('TS1', 'TS5'), checked."""
  items = value.split(",") if isinstance(value, str) else list(value)
  out = tuple(str(s).strip() for s in items if str(s).strip())
  unknown = [s for s in out if s not in SEQUENCES]
  if not out or unknown or len(set(out)) != len(out):
    raise ValueError(f"data.sequences: expected distinct names among "
                     f"{', '.join(SEQUENCES)}, got {value!r}")
  return out


def resolve_test_set_dir(data_dir: str = "") -> pathlib.Path:
  """The folder holding TS1..TS6.

  `data_dir` is that folder or holds it as `mpi_inf_3dhp_test_set/`; ''
  searches <data> and <data>/mpi_inf_3dhp, where <data> is $JAXPOSE_DATA
  or ../shared/data.

  Raises:
    MPIINF3DHPError: no such folder (naming every place searched).
  """
  if data_dir:
    roots = [pathlib.Path(os.fspath(data_dir)).expanduser()]
  else:
    root = data_files.resolve_data_dir()
    roots = [] if root is None else [root / "mpi_inf_3dhp", root]
  searched = []
  for base in roots:
    for cand in (base / TEST_SET_FOLDER, base):
      searched.append(str(cand))
      if cand.is_dir() and any((cand / s).is_dir() for s in SEQUENCES):
        return cand
  raise MPIINF3DHPError(
      f"data.dir: no MPI-INF-3DHP test set (a folder holding TS1..TS6) at "
      f"{', '.join(searched) or 'no data folder ($JAXPOSE_DATA, ../shared/data)'}; "
      "unpack the authors' test set (vcai.mpi-inf.mpg.de/3dhp-dataset, "
      "get_testset.sh) and pass --config.data.dir=<its folder>")


def load_split(data_dir, sequences: Sequence[str] = SEQUENCES,
               annotation_3d: str = "univ_annot3") -> dict[str, np.ndarray]:
  """The test split's rows (module docstring) from `data_dir`'s sequences.

  Raises:
    MPIINF3DHPError: the folder, a sequence's folder or its annot_data.mat
      missing, any of `read_sequence`'s errors, or no valid frame at all.
  """
  sequences = _sequences(sequences)
  root = resolve_test_set_dir(data_dir)
  parts = []
  for sequence in sequences:
    path = root / sequence / ANNOTATION_FILE
    if not path.is_file():
      present = [s for s in SEQUENCES if (root / s / ANNOTATION_FILE).is_file()]
      raise MPIINF3DHPError(f"{path}: missing (data.sequences asks for {sequence}); "
                            f"sequences with an {ANNOTATION_FILE} in {root}: {present}")
    parts.append(sequence_rows(sequence, read_sequence(path, annotation_3d)))
  split = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
  if not len(split["pose3d"]):
    raise MPIINF3DHPError(f"{root}: no valid frame in {', '.join(sequences)} "
                          "(valid_frame is 0 throughout)")
  return split


@dataclasses.dataclass(frozen=True, kw_only=True)
class MPIINF3DHPSettings:
  """The `config.data` keys of the "mpi_inf_3dhp" dataset (test split only).

  Attributes:
    name: "mpi_inf_3dhp".
    dir: the folder holding TS1..TS6 or `mpi_inf_3dhp_test_set/`; ''
      searches (`resolve_test_set_dir`).
    sequences: the test sequences, 'TS1,TS5' or a tuple of names.
    annotation_3d: the 3D scored: 'univ_annot3' (the protocol's: rescaled
      to Human3.6M's height) or 'annot3' (the subject's own size).
  """
  name: Literal["mpi_inf_3dhp"] = data_fields.field(default="mpi_inf_3dhp",
                                                    decides_train_rows=True)
  dir: str = data_fields.field(default="", decides_train_rows=False)
  sequences: str | tuple[str, ...] = data_fields.field(default=SEQUENCES,
                                                       decides_train_rows=False)
  annotation_3d: Literal["univ_annot3", "annot3"] = data_fields.field(
      default="univ_annot3", decides_train_rows=False)

  def __post_init__(self):
    try:
      _sequences(self.sequences)
    except ValueError as e:
      raise ConfigError(str(e)) from None


def load_splits(data: MPIINF3DHPSettings) -> tuple[dict, dict]:
  """({"test": split}, {"test": "gt"}): the test set and which 2D it holds."""
  split = load_split(data.dir, data.sequences, data.annotation_3d)
  return {"test": split}, {"test": INPUT_2D}


__all__ = ["ACTIVITY_NAMES", "CAMERAS", "JOINTS_3DHP", "MPIINF3DHPError",
           "MPIINF3DHPSettings", "SEQUENCES", "SequenceCamera", "TO_H36M",
           "load_split", "load_splits", "mat_version", "project", "read_mat",
           "read_sequence", "resolve_test_set_dir", "sequence_rows"]
