"""GFPose's own pose space: poses in normalised image coordinates.

GFPose's official code describes a pose where the image does, not as the
usual root-relative camera-frame mm: x, y are the joints' absolute
screen-normalised pixels and z the depth relative to the root, in the same
units as x at the root's depth.  Millimetres come back by back-projection
with the ground-truth intrinsics and root depth.

For a camera-frame pose X [J, 3] (mm), intrinsics (fx, fy, cx, cy, w, h)
and the root's depth Z_r:

    (u, v)   = (fx X/Z + cx, fy Y/Z + cy)              pinhole pixels
    u_n, v_n = u / w * 2 - 1,  v / w * 2 - h / w       `cameras.normalize_screen`
    z_n      = (Z - Z_r) * fx / Z_r / (w / 2)

and back: Z = Z_r (1 + z_n w / (2 fx)), X = (u - cx) Z / fx,
Y = (v - cy) Z / fy.  The pinhole has no lens distortion; distortion only
affects a dataset's 2D input, never this target.

fx / Z_r is the pinhole's pixels per mm at the root's depth.  The authors'
data (LCN's pickles, `data.name=h36m_lcn`) scale depth by their crop's
ratio r = (x1 - x0 + 1) / 2000 instead: z_n = (Z - Z_r) r / (w / 2) and
Z = Z_r + z_n (w / 2) / r.  Pass the row's r as `depth_ratio` to use it
(`Representation(image_depth='crop_ratio')`); without it, fx / Z_r.

Per-row camera metadata travels with a dataset split as `META_KEYS`
(`root_cam_mm` [N, 3] mm, whose z is the root depth back-projection uses,
and `intrinsics` [N, 6]; `jaxpose/data/datasets.py`) and, optionally,
`depth_ratio` [N] (the crop ratio above, pixels per mm).

Every function works on numpy or jax arrays with any leading dims
(`[..., J, 3]` poses, `[..., 6]` intrinsics broadcast against them) and is
jit/vmap friendly.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxpose.pose import cameras as cam_lib
from jaxpose.checks import check_array

META_KEYS = ("root_cam_mm", "intrinsics")
DEPTH_RATIO = "depth_ratio"  # optional meta key: the rows' crop ratio

# The camera assumed when a pose has none (unconditional generation): the
# datasets' Human3.6M-like virtual camera, the root 5 m down its optical
# axis, where both embedded datasets place their subjects.  It only fixes
# the depth scale of z_n: generation is scored on root-relative mm.
NOMINAL_ROOT_DEPTH_MM = 5000.0
NOMINAL_INTRINSICS = (
    cam_lib.H36M_LIKE_FOCAL, cam_lib.H36M_LIKE_FOCAL,
    cam_lib.H36M_LIKE_SIZE[0] / 2, cam_lib.H36M_LIKE_SIZE[1] / 2,
    float(cam_lib.H36M_LIKE_SIZE[0]), float(cam_lib.H36M_LIKE_SIZE[1]))


def _xp(*arrays):
  for a in arrays:
    if isinstance(a, (jax.Array, jax.core.Tracer)):
      return jnp
  return np


def _split_intrinsics(intrinsics):
  """[..., 6] -> six [..., 1] arrays that broadcast over the joint axis."""
  return tuple(intrinsics[..., i:i + 1] for i in range(6))


def intrinsics_of(cam: cam_lib.Camera) -> np.ndarray:
  """(fx, fy, cx, cy, w, h) of one camera.  # [6] float32"""
  return np.asarray([cam.fx, cam.fy, cam.cx, cam.cy, cam.width, cam.height],
                    np.float32)


def intrinsics_table(cams: Sequence[cam_lib.Camera]) -> np.ndarray:
  """Intrinsics of several cameras, one row each.  # [C, 6] float32"""
  if not len(cams):
    raise ValueError("cams: expected at least one camera")
  return np.stack([intrinsics_of(c) for c in cams])


def encode(pose_cam_mm, intrinsics, depth_ratio=None):
  """Camera-frame poses -> GFPose's image-space poses.

  Args:
    pose_cam_mm: camera-frame joints, mm, root (joint 0) in front of the
      camera.  # [..., J, 3]
    intrinsics: (fx, fy, cx, cy, w, h), broadcastable to the leading dims
      of `pose_cam_mm`.  # [..., 6]
    depth_ratio: None (depth scaled by fx / Z_r) or each pose's crop ratio
      in pixels per mm (the authors' data).  # [...]

  Returns:
    (u_n, v_n, z_n): absolute screen-normalised pixels and root-relative
    depth in the same units at the root's depth.  # [..., J, 3]
  """
  check_array("pose_cam_mm", pose_cam_mm, ("...", "J", 3))
  check_array("intrinsics", intrinsics, ("...", 6))
  xp = _xp(pose_cam_mm, intrinsics)
  if xp is np and np.any(np.asarray(pose_cam_mm)[..., 2] <= 0):
    raise ValueError("pose_cam_mm: every joint must lie in front of the camera "
                     "(z > 0)")
  fx, fy, cx, cy, w, h = _split_intrinsics(intrinsics)
  x, y, z = pose_cam_mm[..., 0], pose_cam_mm[..., 1], pose_cam_mm[..., 2]
  z_root = z[..., :1]
  u = fx * x / z + cx
  v = fy * y / z + cy
  half_w = w / 2
  if depth_ratio is None:
    z_n = (z - z_root) * fx / (z_root * half_w)
  else:
    z_n = (z - z_root) * xp.asarray(depth_ratio)[..., None] / half_w
  out = [u / half_w - 1, v / half_w - h / w, z_n]
  return xp.stack(out, axis=-1)


def decode(pose_image, intrinsics, root_depth_mm, depth_ratio=None):
  """GFPose's image-space poses -> camera-frame poses (inverse of `encode`).

  Args:
    pose_image: (u_n, v_n, z_n) per joint.  # [..., J, 3]
    intrinsics: (fx, fy, cx, cy, w, h).  # [..., 6]
    root_depth_mm: camera-frame z of the root, mm (> 0).  # [...]
    depth_ratio: None (fx / Z_r) or the crop ratio `encode` was given.  # [...]

  Returns:
    Camera-frame joints, mm (absolute, not root-relative).  # [..., J, 3]
  """
  check_array("pose_image", pose_image, ("...", "J", 3))
  check_array("intrinsics", intrinsics, ("...", 6))
  xp = _xp(pose_image, intrinsics, root_depth_mm)
  root_depth_mm = xp.asarray(root_depth_mm)
  if xp is np and np.any(root_depth_mm <= 0):
    raise ValueError("root_depth_mm: expected depths > 0 mm")
  fx, fy, cx, cy, w, h = _split_intrinsics(intrinsics)
  half_w = w / 2
  u = (pose_image[..., 0] + 1) * half_w
  v = (pose_image[..., 1] + h / w) * half_w
  if depth_ratio is None:
    z = root_depth_mm[..., None] * (1 + pose_image[..., 2] * half_w / fx)
  else:  # as the authors' image_to_camera_frame: z / r + Z_r
    z = (pose_image[..., 2] * half_w / xp.asarray(depth_ratio)[..., None]
         + root_depth_mm[..., None])
  return xp.stack([(u - cx) * z / fx, (v - cy) * z / fy, z], axis=-1)


def camera_meta(split: Mapping, rows=slice(None)) -> dict | None:
  """The per-row camera fields of a split, or None when it has none.

  Args:
    split: a dataset split (dict of arrays).
    rows: index of the rows to keep (default all).

  Returns:
    `META_KEYS`' arrays, and `DEPTH_RATIO`'s when the split has it.
  """
  if not all(k in split for k in META_KEYS):
    return None
  keys = META_KEYS + ((DEPTH_RATIO,) if DEPTH_RATIO in split else ())
  return {k: np.asarray(split[k])[rows] for k in keys}


def nominal_meta(shape=()) -> dict:
  """`NOMINAL_*` camera metadata for poses with leading dims `shape`."""
  return dict(
      root_cam_mm=np.broadcast_to(np.asarray(
          [0.0, 0.0, NOMINAL_ROOT_DEPTH_MM], np.float32), tuple(shape) + (3,)),
      intrinsics=np.broadcast_to(np.asarray(NOMINAL_INTRINSICS, np.float32),
                                 tuple(shape) + (6,)))


def check_meta(meta: Mapping, lead_shape=None) -> dict:
  """Validates camera metadata: both keys, shapes [..., 3] / [..., 6], finite
  (and a `depth_ratio` [...] > 0 when present)."""
  if meta is None or not all(k in meta for k in META_KEYS):
    raise ValueError(f"camera_meta: expected a dict with {', '.join(META_KEYS)} "
                     f"(root_cam_mm [..., 3] mm, intrinsics [..., 6]); got "
                     f"{None if meta is None else sorted(meta)}")
  check_array("camera_meta['root_cam_mm']", meta["root_cam_mm"], ("...", 3))
  check_array("camera_meta['intrinsics']", meta["intrinsics"], ("...", 6))
  if meta.get(DEPTH_RATIO) is not None:
    check_array(f"camera_meta['{DEPTH_RATIO}']", meta[DEPTH_RATIO], ("...",))
    ratio = meta[DEPTH_RATIO]
    if not isinstance(ratio, jax.core.Tracer) and np.any(np.asarray(ratio) <= 0):
      raise ValueError(f"camera_meta['{DEPTH_RATIO}']: expected ratios > 0")
  if lead_shape is not None:
    for k in META_KEYS:
      got = tuple(np.shape(meta[k])[:-1])
      if got != tuple(lead_shape)[len(lead_shape) - len(got):]:
        raise ValueError(f"camera_meta['{k}']: leading shape {got} does not "
                         f"match the poses' leading shape {tuple(lead_shape)}")
  return dict(meta)
