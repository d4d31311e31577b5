"""Readers for the pose files users already have.

* VideoPose3D (Pavllo et al. 2019) `data_3d_h36m.npz`: 'positions_3d' is a
  pickled dict subject -> action -> float [F, 32, 3] in metres, Human3.6M's
  32-joint order, world frame of the Human3.6M capture (Z up).
* VideoPose3D `data_2d_h36m_<detector>.npz`: 'positions_2d' subject ->
  action -> list (one per camera) of [F, 17, 2] pixels, and 'metadata' with
  'num_joints', 'keypoints_symmetry' and (most files) 'layout_name'.
* AMASS `.npz`: 'poses' [F, 156] (SMPL-H: root, 21 body, 30 hand joints) or
  [F, 165] (SMPL-X: root, 21 body, jaw, 2 eyes, 30 hand joints), axis-angle;
  'trans' [F, 3]; 'betas'; 'mocap_framerate' (SMPL-X releases spell it
  'mocap_frame_rate'); 'gender'.

Loaders return plain dicts of numpy arrays and fail with the file, the key
and the expected layout when a file does not match, or when an array holds
NaN/inf (a lost marker or a failed fit): jaxpose would otherwise train or
score on it silently, and which frames to drop is the user's call.
"""
from __future__ import annotations

import os

import numpy as np

from jaxpose.pose.skeleton import H36M_17

# The 17 of Human3.6M's 32 joints that VideoPose3D keeps (it removes 4, 5, 9,
# 10, 11, 16, 20, 21, 22, 23, 24, 28, 29, 30, 31); their order is H36M_17's.
H36M32_TO_17 = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)


class FormatError(ValueError):
  """A file that does not have the documented layout."""


def _open(path, required):
  path = os.fspath(path)
  try:
    data = np.load(path, allow_pickle=True)
  except Exception as e:  # OSError, zip, pickle and EOF errors alike
    raise FormatError(f"{path}: not a readable .npz ({e})") from None
  with data:
    missing = [k for k in required if k not in data.files]
    if missing:
      raise FormatError(f"{path}: missing key(s) {missing}; found {sorted(data.files)}")
    return {k: data[k] for k in data.files}


def _item(path, key, value):
  """Unwraps the 0-d object array np.savez makes of a pickled dict."""
  if isinstance(value, np.ndarray) and value.dtype == object and value.shape == ():
    value = value.item()
  if not isinstance(value, dict):
    raise FormatError(f"{path}: '{key}' must be a dict (saved with allow_pickle), "
                      f"got {type(value).__name__}")
  return value


def _finite(path, where: str, arr: np.ndarray, rows: str = "frame") -> np.ndarray:
  """Returns `arr`, or fails naming the array and its first bad rows."""
  if np.issubdtype(arr.dtype, np.inexact) and not np.isfinite(arr).all():
    ok = np.isfinite(arr).reshape(len(arr), -1).all(axis=1) if arr.ndim else []
    frames = np.flatnonzero(~np.asarray(ok, bool))
    raise FormatError(
        f"{path}: {where}: {arr.size - np.count_nonzero(np.isfinite(arr))} "
        f"non-finite value(s) (NaN/inf) in {rows}(s) {frames[:5].tolist()}"
        f"{' ...' if len(frames) > 5 else ''} of {len(arr)}; drop or repair "
        f"those {rows}s before loading")
  return arr


def load_videopose3d_3d(path, *, to_mm: bool = True) -> dict:
  """Reads `data_3d_h36m.npz`.

  Args:
    path: the file.
    to_mm: convert metres to millimetres (jaxpose's unit).

  Returns:
    {subject: {action: float32 [F, 17, 3]}} in H36M_17 order, Human3.6M world
    frame (Z up, like jaxpose's world).
  """
  raw = _open(path, ["positions_3d"])
  positions = _item(path, "positions_3d", raw["positions_3d"])
  scale = 1000.0 if to_mm else 1.0
  out = {}
  for subject, actions in positions.items():
    out[subject] = {}
    for action, arr in dict(actions).items():
      arr = np.asarray(arr)
      if arr.ndim != 3 or arr.shape[1:] not in ((32, 3), (17, 3)):
        raise FormatError(f"{path}: positions_3d[{subject!r}][{action!r}]: expected "
                          f"shape (F, 32, 3), got {arr.shape}")
      if arr.shape[1] == 32:
        arr = arr[:, H36M32_TO_17]
      _finite(path, f"positions_3d[{subject!r}][{action!r}]", arr)
      out[subject][action] = (arr * scale).astype(np.float32)
  return out


def load_videopose3d_2d(path) -> tuple[dict, dict]:
  """Reads `data_2d_h36m_*.npz`.

  Returns:
    (positions, metadata): positions {subject: {action: [per camera float32
    [F, J, 2]]}} (a third channel, if present, is kept: detector scores);
    metadata with 'layout_name' ('' when the file has none),
    'num_joints', 'keypoints_symmetry' ((left indices, right indices)).
  """
  raw = _open(path, ["positions_2d", "metadata"])
  positions = _item(path, "positions_2d", raw["positions_2d"])
  meta = _item(path, "metadata", raw["metadata"])
  # 'layout_name' is optional: VideoPose3D's stacked-hourglass files lack it.
  missing = [k for k in ("num_joints", "keypoints_symmetry") if k not in meta]
  if missing:
    raise FormatError(f"{path}: metadata lacks {missing}")
  num_joints = int(meta["num_joints"])
  sym = meta["keypoints_symmetry"]
  if len(sym) != 2 or len(sym[0]) != len(sym[1]):
    raise FormatError(f"{path}: metadata['keypoints_symmetry'] must be (left, right) "
                      f"index lists of equal length, got {sym!r}")
  out = {}
  for subject, actions in positions.items():
    out[subject] = {}
    for action, cams in dict(actions).items():
      views = []
      for c, arr in enumerate(cams):
        arr = np.asarray(arr)
        if arr.ndim != 3 or arr.shape[1] != num_joints or arr.shape[2] not in (2, 3):
          raise FormatError(f"{path}: positions_2d[{subject!r}][{action!r}][{c}]: "
                            f"expected shape (F, {num_joints}, 2), got {arr.shape}")
        _finite(path, f"positions_2d[{subject!r}][{action!r}][{c}]", arr)
        views.append(arr.astype(np.float32))
      out[subject][action] = views
  metadata = dict(layout_name=str(meta.get("layout_name", "")), num_joints=num_joints,
                  keypoints_symmetry=(list(map(int, sym[0])), list(map(int, sym[1]))))
  if num_joints == 17 and metadata["layout_name"] == "h36m":
    # The same left/right pairing as jaxpose's H36M_17 (as sets).
    if set(metadata["keypoints_symmetry"][0]) != set(H36M_17.left):
      raise FormatError(f"{path}: keypoints_symmetry {sym!r} does not match the "
                        "Human3.6M 17-joint layout")
  return out, metadata


# Slices of the AMASS `poses` vector, per layout (axis-angle, 3 per joint).
_AMASS_LAYOUTS = {
    156: dict(model="smplh", root_orient=(0, 3), pose_body=(3, 66), pose_hand=(66, 156)),
    165: dict(model="smplx", root_orient=(0, 3), pose_body=(3, 66), pose_jaw=(66, 69),
              pose_eye=(69, 75), pose_hand=(75, 165)),
}


def load_amass(path) -> dict:
  """Reads one AMASS sequence.

  Returns:
    dict(model 'smplh'|'smplx', root_orient float32 [F, 3], pose_body [F, 63]
    (the 21 body joints DPoser models), pose_hand [F, 90], pose_jaw/pose_eye
    for SMPL-X, trans [F, 3], betas [B], fps float, gender str).
  """
  raw = _open(path, ["poses", "trans", "betas", "gender"])
  fps_key = next((k for k in ("mocap_framerate", "mocap_frame_rate") if k in raw), None)
  if fps_key is None:
    raise FormatError(f"{path}: missing key 'mocap_framerate' (or 'mocap_frame_rate'); "
                      f"found {sorted(raw)}")
  poses = np.asarray(raw["poses"])
  if poses.ndim != 2 or poses.shape[1] not in _AMASS_LAYOUTS:
    raise FormatError(f"{path}: 'poses': expected shape (F, 156) or (F, 165), "
                      f"got {poses.shape}")
  trans = np.asarray(raw["trans"])
  if trans.shape != (poses.shape[0], 3):
    raise FormatError(f"{path}: 'trans': expected shape ({poses.shape[0]}, 3), "
                      f"got {trans.shape}")
  _finite(path, "'poses'", poses)
  _finite(path, "'trans'", trans)
  betas = _finite(path, "'betas'", np.asarray(raw["betas"]).reshape(-1), "coefficient")
  fps = float(raw[fps_key])
  if not (np.isfinite(fps) and fps > 0):
    raise FormatError(f"{path}: '{fps_key}': expected a positive frame rate, got {fps}")
  layout = _AMASS_LAYOUTS[poses.shape[1]]
  gender = raw["gender"]
  gender = gender.item() if isinstance(gender, np.ndarray) else gender
  gender = gender.decode() if isinstance(gender, bytes) else str(gender)
  out = dict(model=layout["model"], trans=trans.astype(np.float32),
             betas=betas.astype(np.float32), fps=fps, gender=gender)
  for key, span in layout.items():
    if key != "model":
      out[key] = poses[:, span[0]:span[1]].astype(np.float32)
  return out
