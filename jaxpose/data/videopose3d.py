"""A reader for VideoPose3D's Human3.6M files (Pavllo et al. 2019).

* `data_3d_h36m.npz`: 'positions_3d' is a pickled dict subject -> action ->
  float [F, 32, 3] in metres, Human3.6M's 32-joint order, world frame of the
  Human3.6M capture (Z up).
* `data_2d_h36m_<detector>.npz`: 'positions_2d' subject -> action -> list
  (one per camera) of [F, 17, 2] pixels, and 'metadata' with 'num_joints',
  'keypoints_symmetry' and (most files) 'layout_name'.

Readers return plain dicts of numpy arrays and fail (`file_checks.FormatError`)
with the file, the key and the expected layout when a file does not match, or
when an array holds NaN/inf.  The Human3.6M protocol on top of them is
`h36m.py`'s.
"""
from __future__ import annotations

import numpy as np

from jaxpose.data import file_checks
from jaxpose.data.file_checks import FormatError
from jaxpose.pose.skeleton import H36M_17

# The 17 of Human3.6M's 32 joints that VideoPose3D keeps (it removes 4, 5, 9,
# 10, 11, 16, 20, 21, 22, 23, 24, 28, 29, 30, 31); their order is H36M_17's.
H36M32_TO_17 = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)


def load_videopose3d_3d(path, *, to_mm: bool = True) -> dict:
  """Reads `data_3d_h36m.npz`.

  Args:
    path: the file.
    to_mm: convert metres to millimetres (jaxpose's unit).

  Returns:
    {subject: {action: float32 [F, 17, 3]}} in H36M_17 order, Human3.6M world
    frame (Z up, like jaxpose's world).
  """
  raw = file_checks.open_npz(path, ["positions_3d"])
  positions = file_checks.pickled_dict(path, "positions_3d", raw["positions_3d"])
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
      file_checks.check_finite(path, f"positions_3d[{subject!r}][{action!r}]", arr)
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
  raw = file_checks.open_npz(path, ["positions_2d", "metadata"])
  positions = file_checks.pickled_dict(path, "positions_2d", raw["positions_2d"])
  meta = file_checks.pickled_dict(path, "metadata", raw["metadata"])
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
        file_checks.check_finite(
            path, f"positions_2d[{subject!r}][{action!r}][{c}]", arr)
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


__all__ = ["H36M32_TO_17", "load_videopose3d_3d", "load_videopose3d_2d"]
