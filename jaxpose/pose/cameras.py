"""Virtual and published cameras: projection, screen normalisation, 2D noise.

Conventions (used by every function here):
  * World frame: millimetres, Z up (as Human3.6M and `jaxpose.data.synthetic`).
  * Camera frame: OpenCV style, x right, y down, z forward along the optical
    axis, millimetres.
  * Extrinsics: `R` rotates world into camera axes and `t` is the camera
    centre in world coordinates, so

        X_cam = R (X_world - t),     X_world = R^T X_cam + t.

    This is the published Human3.6M form (orientation quaternion q of the
    camera-to-world rotation, R = R(q)^T, translation = camera centre).
  * Pixels: (u, v) with the origin at the top-left corner, u to the right.
  * Screen normalisation (VideoPose3D): x_n = u / w * 2 - 1,
    y_n = v / w * 2 - h / w; the width maps to [-1, 1], aspect is kept.

Functions accept numpy or jax arrays: numpy inputs (and a camera of numpy
leaves) stay in numpy, keeping host-side data generation off the
accelerator.  `Camera` is a pytree with a static image size, so a camera
passes straight into jitted code.
"""
from __future__ import annotations

import importlib.util
import pathlib
from typing import Any, NamedTuple, Sequence

import flax
import jax
import jax.numpy as jnp
import numpy as np

from jaxpose.pose import rotations
from jaxpose.checks import check_array, check_positive_int, check_probability

# Human3.6M-like intrinsics for the virtual cameras: about the mean of the
# four published cameras (see third_party/h36m_cameras.py), no distortion.
H36M_LIKE_FOCAL = 1147.0
H36M_LIKE_SIZE = (1000, 1000)


def _xp(*arrays):
  """numpy when every input is host data, jax.numpy otherwise."""
  for a in arrays:
    if isinstance(a, (jax.Array, jax.core.Tracer)):
      return jnp
  return np


@flax.struct.dataclass
class Camera:
  """A calibrated camera; see the module docstring for the conventions.

  Attributes:
    f: focal lengths (fx, fy) in pixels.  # [2]
    c: principal point (cx, cy) in pixels.  # [2]
    k: radial distortion (k1, k2, k3).  # [3]
    p: tangential distortion (p1, p2), Human3.6M variant.  # [2]
    R: world-to-camera rotation.  # [3, 3]
    t: camera centre in world coordinates, millimetres.  # [3]
    width, height: image size in pixels (static, not traced).
  """
  f: np.ndarray
  c: np.ndarray
  k: np.ndarray
  p: np.ndarray
  R: np.ndarray
  t: np.ndarray
  width: int = flax.struct.field(pytree_node=False, default=1000)
  height: int = flax.struct.field(pytree_node=False, default=1000)

  @property
  def fx(self):
    return self.f[0]

  @property
  def fy(self):
    return self.f[1]

  @property
  def cx(self):
    return self.c[0]

  @property
  def cy(self):
    return self.c[1]

  @property
  def optical_axis(self):
    """Unit viewing direction in world coordinates (third row of R).  # [3]"""
    return self.R[2]


def make_camera(*, f, c, width: int, height: int, R=None, t=None, k=None,
                p=None) -> Camera:
  """Builds a `Camera` from plain numbers, validating shapes.

  Args:
    f: (fx, fy) or one focal length in pixels.
    c: (cx, cy) principal point in pixels.
    width, height: image size in pixels.
    R: world-to-camera rotation [3, 3]; identity when None.
    t: camera centre in world mm [3]; origin when None.
    k: radial coefficients [3]; zeros when None.
    p: tangential coefficients [2]; zeros when None.
  """
  f = np.broadcast_to(np.asarray(f, np.float64), (2,)).copy()
  c = np.asarray(c, np.float64)
  check_array("c", c, (2,))
  R = np.eye(3) if R is None else np.asarray(R, np.float64)
  t = np.zeros(3) if t is None else np.asarray(t, np.float64)
  k = np.zeros(3) if k is None else np.asarray(k, np.float64)
  p = np.zeros(2) if p is None else np.asarray(p, np.float64)
  check_array("R", R, (3, 3))
  check_array("t", t, (3,))
  check_array("k", k, (3,))
  check_array("p", p, (2,))
  if not np.allclose(R @ R.T, np.eye(3), atol=1e-5) or np.linalg.det(R) < 0:
    raise ValueError("R: expected a proper rotation matrix (R R^T = I, det +1)")
  if np.any(f <= 0):
    raise ValueError(f"f: focal lengths must be positive, got {f}")
  return Camera(f=f, c=c, k=k, p=p, R=R, t=t,
                width=check_positive_int("width", width),
                height=check_positive_int("height", height))


def world_to_camera(points, cam: Camera):
  """X_cam = R (X_world - t).  points: [..., 3] world mm -> [..., 3] camera mm."""
  check_array("points", points, ("...", 3))
  xp = _xp(points, cam.R)
  return xp.einsum("ij,...j->...i", cam.R, points - cam.t).astype(
      xp.result_type(points, np.float32))


def camera_to_world(points, cam: Camera):
  """X_world = R^T X_cam + t.  points: [..., 3] camera mm -> [..., 3] world mm."""
  check_array("points", points, ("...", 3))
  xp = _xp(points, cam.R)
  return (xp.einsum("ji,...j->...i", cam.R, points) + cam.t).astype(
      xp.result_type(points, np.float32))


def apply_distortion(xy, k, p):
  """Human3.6M lens distortion of normalised image coordinates.

  The Human3.6M calibration (and VideoPose3D's `project_to_2d`) uses a
  Brown-Conrady variant with a linear tangential term:
      r2 = x^2 + y^2, radial = 1 + k1 r2 + k2 r2^2 + k3 r2^3,
      tan = p1 x + p2 y,  (x', y') = (x, y) (radial + tan) + (p1, p2) r2.
  Coordinates are clipped to [-1, 1] first (about 41 degrees off-axis for
  these lenses) so that points far outside the image cannot fold back in.

  Args:
    xy: x/z, y/z.  # [..., 2]
    k: radial coefficients.  # [3]
    p: tangential coefficients.  # [2]
  """
  xp = _xp(xy, k, p)
  xy = xp.clip(xy, -1.0, 1.0)
  r2 = xp.sum(xy * xy, axis=-1, keepdims=True)
  radial = 1 + k[0] * r2 + k[1] * r2 ** 2 + k[2] * r2 ** 3
  tan = xp.sum(p * xy, axis=-1, keepdims=True)
  return xy * (radial + tan) + p * r2


def project(points_cam, cam: Camera, *, distort: bool = False):
  """Perspective projection of camera-frame points to pixels.

  Args:
    points_cam: camera-frame points in mm, z > 0.  # [..., 3]
    cam: the camera (only intrinsics are used).
    distort: apply the Human3.6M distortion model (see `apply_distortion`).

  Returns:
    Pixel coordinates (u, v) = f * (x/z, y/z) + c.  # [..., 2]
  """
  check_array("points_cam", points_cam, ("...", 3))
  xp = _xp(points_cam, cam.f)
  if xp is np and np.any(np.asarray(points_cam)[..., 2] <= 0):
    raise ValueError("points_cam: every point must lie in front of the camera "
                     "(z > 0); got z <= 0")
  xy = points_cam[..., :2] / points_cam[..., 2:3]
  if distort:
    xy = apply_distortion(xy, cam.k, cam.p)
  return (cam.f * xy + cam.c).astype(xp.result_type(points_cam, np.float32))


def back_project(px, depth, cam: Camera):
  """Inverse of pinhole `project` given each point's depth.

  Lens distortion is not inverted: pass undistorted pixels.

  Args:
    px: pixel coordinates.  # [..., 2]
    depth: camera-frame z in mm, broadcastable to px[..., 0].  # [...]
    cam: the camera.

  Returns:
    Camera-frame points in mm.  # [..., 3]
  """
  check_array("px", px, ("...", 2))
  xp = _xp(px, depth, cam.f)
  depth = xp.asarray(depth)[..., None]
  xy = (px - cam.c) / cam.f * depth
  depth = xp.broadcast_to(depth, xy[..., :1].shape)
  return xp.concatenate([xy, depth], axis=-1).astype(
      xp.result_type(px, np.float32))


def normalize_screen(px, width: int, height: int):
  """VideoPose3D screen normalisation: u/w*2 - 1, v/w*2 - h/w.  # [..., 2]"""
  check_array("px", px, ("...", 2))
  xp = _xp(px)
  offset = xp.asarray([1.0, height / width], dtype=xp.result_type(px, np.float32))
  return px / width * 2 - offset


def unnormalize_screen(xy, width: int, height: int):
  """Inverse of `normalize_screen`: (x + [1, h/w]) * w / 2.  # [..., 2]"""
  check_array("xy", xy, ("...", 2))
  xp = _xp(xy)
  offset = xp.asarray([1.0, height / width], dtype=xp.result_type(xy, np.float32))
  return (xy + offset) * width / 2


def look_at_camera(position, target, up=(0.0, 0.0, 1.0), *,
                   focal=H36M_LIKE_FOCAL, size=H36M_LIKE_SIZE, center=None,
                   k=None, p=None) -> Camera:
  """A camera at `position` whose optical axis passes through `target`.

  Image x is horizontal (perpendicular to `up`), image y points against `up`.

  Args:
    position: camera centre, world mm.  # [3]
    target: point to look at, world mm.  # [3]
    up: world up direction.  # [3]
    focal: focal length(s) in pixels.
    size: (width, height) in pixels.
    center: principal point; image centre when None.
    k, p: distortion coefficients (zeros when None).
  """
  position = np.asarray(position, np.float64)
  target = np.asarray(target, np.float64)
  up = np.asarray(up, np.float64)
  for name, v in (("position", position), ("target", target), ("up", up)):
    check_array(name, v, (3,))
  z = target - position
  if np.linalg.norm(z) < 1e-9:
    raise ValueError("look_at_camera: position and target coincide")
  z = z / np.linalg.norm(z)
  x = np.cross(z, up)
  if np.linalg.norm(x) < 1e-9:
    raise ValueError("look_at_camera: viewing direction is parallel to `up`")
  x = x / np.linalg.norm(x)
  y = np.cross(z, x)  # completes a right-handed frame, points against `up`
  width, height = size
  center = ((width / 2, height / 2) if center is None else center)
  return make_camera(f=focal, c=center, width=width, height=height,
                     R=np.stack([x, y, z]), t=position, k=k, p=p)


def virtual_cameras(num: int = 4, *, distance: float = 5000.0,
                    height: float = 1500.0, target_height: float = 900.0,
                    azimuth0: float = 45.0, focal=H36M_LIKE_FOCAL,
                    size=H36M_LIKE_SIZE) -> list[Camera]:
  """`num` cameras on a circle around the world origin, Human3.6M-like.

  The defaults copy Human3.6M's layout (about 5 m from the centre, 1.5 m
  high, diagonal azimuths) with the `H36M_LIKE_*` intrinsics, no distortion.

  Args:
    num: number of cameras, evenly spaced in azimuth.
    distance: horizontal distance to the origin, mm.
    height: camera height above the floor, mm.
    target_height: height of the point all cameras look at, mm (about the
      pelvis of a standing adult).
    azimuth0: azimuth of the first camera in degrees.
    focal, size: intrinsics, see `look_at_camera`.
  """
  num = check_positive_int("num", num)
  cams = []
  for i in range(num):
    a = np.deg2rad(azimuth0 + 360.0 * i / num)
    pos = (distance * np.cos(a), distance * np.sin(a), height)
    cams.append(look_at_camera(pos, (0.0, 0.0, target_height), focal=focal,
                               size=size))
  return cams


def place_in_front(pose_world, cam: Camera, distance: float, *, root: int = 0):
  """Translates poses so their root lies on the optical axis at `distance`.

  Args:
    pose_world: poses in world mm.  # [..., J, 3]
    cam: the camera.
    distance: depth of the root in the camera frame, mm.
    root: index of the root joint.

  Returns:
    The translated poses, world mm.  # [..., J, 3]
  """
  check_array("pose_world", pose_world, ("...", "J", 3))
  if distance <= 0:
    raise ValueError(f"distance: expected > 0 mm, got {distance}")
  goal = cam.t + distance * cam.optical_axis  # [3]
  return pose_world - pose_world[..., root:root + 1, :] + goal


def stack_cameras(cams: Sequence[Camera]) -> Camera:
  """Stacks cameras of one image size into a batched Camera (leaves [C, ...])."""
  if not cams:
    raise ValueError("cams: expected at least one camera")
  sizes = {(c.width, c.height) for c in cams}
  if len(sizes) != 1:
    raise ValueError(f"cams: all cameras must share one image size, got {sizes}")
  return jax.tree.map(lambda *xs: np.stack(xs), *cams)


class Noisy2D(NamedTuple):
  """Keypoints under simulated detector error (`draw_2d_noise`).

  Attributes:
    px: the noisy keypoints, pixels.  # [..., 2]
    outlier: whether each keypoint's offset is an outlier.  # [...] bool
    sigma_px: the std per axis of each keypoint's offset, pixels: sigma_px,
      or outlier_px / sqrt(3) (a uniform offset's) for an outlier.  # [...]
  """
  px: Any
  outlier: Any
  sigma_px: Any


def draw_2d_noise(rng_or_key, px, *, sigma_px: float,
                  outlier_prob: float = 0.0,
                  outlier_px: float = 100.0) -> Noisy2D:
  """Simulates 2D detector error on keypoints, and says which were outliers.

  Each keypoint gets Gaussian noise N(0, sigma_px^2) per axis, replaced
  with probability `outlier_prob` (per keypoint) by an offset uniform in
  [-outlier_px, outlier_px]^2 (a missed or swapped detection).

  Args:
    rng_or_key: a `np.random.Generator` (numpy path, host data) or a jax key
      (jax path, jit-able).
    px: clean keypoints in pixels.  # [..., 2]
    sigma_px: Gaussian standard deviation per axis, pixels (>= 0).
    outlier_prob: per-keypoint outlier probability in [0, 1].
    outlier_px: half-width of the uniform outlier offset, pixels.

  Returns:
    `Noisy2D`: the noisy keypoints (px's shape and dtype), the outlier
    flags and each keypoint's noise std.
  """
  check_array("px", px, ("...", 2))
  outlier_prob = check_probability("outlier_prob", outlier_prob)
  if sigma_px < 0 or outlier_px < 0:
    raise ValueError(f"sigma_px and outlier_px must be >= 0, got {sigma_px}, "
                     f"{outlier_px}")
  shape = np.shape(px)
  outlier_std = outlier_px / np.sqrt(3.0)
  if isinstance(rng_or_key, np.random.Generator):
    rng = rng_or_key
    noise = rng.normal(0.0, sigma_px, shape)
    is_out = np.zeros(shape[:-1] + (1,), bool)
    if outlier_prob > 0:
      is_out = rng.random(shape[:-1] + (1,)) < outlier_prob
      noise = np.where(is_out, rng.uniform(-outlier_px, outlier_px, shape), noise)
    dtype = np.result_type(px, np.float32)
    return Noisy2D(
        px=(np.asarray(px) + noise).astype(dtype), outlier=is_out[..., 0],
        sigma_px=np.where(is_out[..., 0], outlier_std, sigma_px).astype(dtype))
  key_g, key_o, key_u = jax.random.split(rng_or_key, 3)
  dtype = jnp.result_type(px, jnp.float32)
  noise = sigma_px * jax.random.normal(key_g, shape, dtype)
  is_out = jnp.zeros(shape[:-1] + (1,), bool)
  if outlier_prob > 0:
    is_out = jax.random.bernoulli(key_o, outlier_prob, shape[:-1] + (1,))
    noise = jnp.where(is_out, jax.random.uniform(
        key_u, shape, dtype, -outlier_px, outlier_px), noise)
  return Noisy2D(px=px + noise, outlier=is_out[..., 0],
                 sigma_px=jnp.where(is_out[..., 0], outlier_std,
                                    sigma_px).astype(dtype))


def quaternion_to_matrix(q):
  """Rotation matrix of a unit quaternion (w, x, y, z).  q: [..., 4] -> [..., 3, 3]."""
  check_array("q", q, ("...", 4))
  return rotations.quaternion_to_matrix(np.asarray(q, np.float64))


def _load_h36m_constants():
  # third_party/ sits beside the jaxpose package; load it by path so this
  # works whether or not the repository root is on sys.path.
  path = pathlib.Path(__file__).resolve().parents[2] / "third_party" / "h36m_cameras.py"
  spec = importlib.util.spec_from_file_location("_jaxpose_h36m_cameras", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def h36m_cameras(subject: str = "S1") -> list[Camera]:
  """The four calibrated Human3.6M cameras of one subject's sessions.

  Values from `third_party/h36m_cameras.py` (published calibration, via
  VideoPose3D; CC BY-NC 4.0 / Human3.6M licence).  Distortion coefficients
  are included; use `project(..., distort=True)` to apply them.

  Args:
    subject: one of S1, S5, S6, S7, S8, S9, S11.
  """
  consts = _load_h36m_constants()
  if subject not in consts.EXTRINSICS:
    raise KeyError(f"subject: no published extrinsics for {subject!r}; "
                   f"choose from {', '.join(consts.EXTRINSICS)}")
  cams = []
  for cam_id, (quat, trans) in zip(consts.CAMERA_IDS, consts.EXTRINSICS[subject]):
    intr = consts.INTRINSICS[cam_id]
    cams.append(make_camera(
        f=intr["focal_length"], c=intr["center"], k=intr["radial"],
        p=intr["tangential"], width=intr["width"], height=intr["height"],
        R=quaternion_to_matrix(quat).T, t=trans))
  return cams


def screen_to_camera(xy_screen, intrinsics):
  """Screen-normalised 2D -> normalised camera coordinates.

  ((u - cx) / fx, (v - cy) / fy): the tangent of each keypoint's angle off
  the optical axis, the same for one 3D pose whatever the focal length,
  principal point or image size of the camera that saw it.

  Args:
    xy_screen: `normalize_screen` coordinates.  # [..., J, 2]
    intrinsics: fx, fy, cx, cy, width, height of each row's camera.  # [..., 6]
  """
  check_array("xy_screen", xy_screen, ("...", 2))
  check_array("intrinsics", intrinsics, ("...", 6))
  xp = _xp(xy_screen, intrinsics)
  k = intrinsics[..., None, :]
  f, c, width, height = k[..., 0:2], k[..., 2:4], k[..., 4:5], k[..., 5:6]
  offset = xp.concatenate([xp.ones_like(height), height / width], axis=-1)
  px = (xy_screen + offset) * width / 2
  return (px - c) / f
