"""A reader for AMASS sequences (`.npz`, SMPL-H or SMPL-X fits).

An AMASS file holds 'poses' [F, 156] (SMPL-H: root, 21 body, 30 hand joints)
or [F, 165] (SMPL-X: root, 21 body, jaw, 2 eyes, 30 hand joints),
axis-angle; 'trans' [F, 3]; 'betas'; 'mocap_framerate' (SMPL-X releases
spell it 'mocap_frame_rate'); 'gender'.  `load_amass` fails
(`file_checks.FormatError`) with the file, the key and the expected layout
when a file does not match, or when an array holds NaN/inf.  The body space
maps the loaded dict (`jaxpose.pose.body_space.from_amass`).
"""
from __future__ import annotations

import numpy as np

from jaxpose.data import file_checks
from jaxpose.data.file_checks import FormatError

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
  raw = file_checks.open_npz(path, ["poses", "trans", "betas", "gender"])
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
  file_checks.check_finite(path, "'poses'", poses)
  file_checks.check_finite(path, "'trans'", trans)
  betas = file_checks.check_finite(path, "'betas'", np.asarray(raw["betas"]).reshape(-1),
                                   "coefficient")
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


__all__ = ["load_amass"]
