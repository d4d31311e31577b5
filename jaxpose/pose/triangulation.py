"""3D points from their 2D in several calibrated cameras: a reference for a
lift of one view alone.

`triangulate` solves each point by the direct linear transform (the
smallest singular vector of the stacked projection constraints), each
view's two rows weighted by its keypoint's confidence, so an unsure view
counts less and an unseen one (weight 0) not at all; a point seen by fewer
than two views is NaN. `triangulate_robust` leaves out, point by point, a
view that disagrees with the others by more than a threshold (a detector's
wrong keypoint). `reprojection_px` says how well the points explain each
view's 2D. Pixels are taken as pinhole (undistorted) coordinates.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from jaxpose.pose import cameras as cam_lib


def projection_matrix(cam: cam_lib.Camera) -> np.ndarray:
  """P = K [R | -R t]: world mm to homogeneous pixels.  # [3, 4]"""
  k = np.array([[cam.f[0], 0.0, cam.c[0]], [0.0, cam.f[1], cam.c[1]],
                [0.0, 0.0, 1.0]])
  r = np.asarray(cam.R, np.float64)
  return k @ np.concatenate([r, -(r @ np.asarray(cam.t, np.float64))[:, None]],
                            axis=1)


def triangulate(px: np.ndarray, weights: np.ndarray,
                cams: Sequence[cam_lib.Camera]) -> tuple[np.ndarray,
                                                         np.ndarray]:
  """World points from V views.

  Args:
    px: each view's pixels, NaN where missing.  # [V, ..., 2]
    weights: each view's confidence in each point, >= 0.  # [V, ...]
    cams: the V cameras.

  Returns:
    (points in world mm, NaN where fewer than two views see them [..., 3];
     how many views saw each [...]).
  """
  px, weights = np.asarray(px, np.float64), np.asarray(weights, np.float64)
  if len(cams) != px.shape[0] or weights.shape != px.shape[:-1]:
    raise ValueError(f"px {px.shape}, weights {weights.shape}: expected "
                     f"[{len(cams)}, ..., 2] and [{len(cams)}, ...]")
  seen = (weights > 0) & np.isfinite(px).all(-1)
  w = np.where(seen, weights, 0.0)[..., None]  # [V, ..., 1]
  xy = np.where(seen[..., None], px, 0.0)
  rows = []
  for v, cam in enumerate(cams):
    p = projection_matrix(cam)
    for axis in (0, 1):
      row = xy[v, ..., axis:axis + 1] * p[2] - p[axis]
      # Each constraint at unit size, then weighted: the solution is the
      # same, better conditioned (pixels in the thousands, mm in the last
      # column), and the weights alone say how much a view counts.
      rows.append(w[v] * row / np.maximum(np.linalg.norm(
          row, axis=-1, keepdims=True), 1e-12))
  a = np.stack(rows, axis=-2)  # [..., 2V, 4]
  _, _, vt = np.linalg.svd(a)
  h = vt[..., -1, :]
  count = seen.sum(0)
  with np.errstate(invalid="ignore", divide="ignore"):
    points = h[..., :3] / h[..., 3:]
  return np.where((count >= 2)[..., None], points, np.nan), count


def ray_angle_deg(points: np.ndarray, weights: np.ndarray,
                  cams: Sequence[cam_lib.Camera]) -> np.ndarray:
  """The widest angle (0-90 degrees) at each point between the lines of
  sight of the views with weight > 0 (0 where under two): lines that
  meet at a glancing angle, from cameras side by side or facing each
  other, place a point anywhere along them.  # [...]"""
  rays = []
  for cam in cams:
    d = points - np.asarray(cam.t, np.float64)
    rays.append(d / np.maximum(np.linalg.norm(d, axis=-1, keepdims=True),
                               1e-12))
  widest = np.zeros(points.shape[:-1])
  for a in range(len(cams)):
    for b in range(a + 1, len(cams)):
      both = (weights[a] > 0) & (weights[b] > 0)
      cos = np.clip(np.abs(np.sum(rays[a] * rays[b], -1)), 0.0, 1.0)
      angle = np.degrees(np.arccos(np.nan_to_num(cos, nan=1.0)))
      widest = np.where(both, np.maximum(widest, angle), widest)
  return widest


def triangulate_robust(px: np.ndarray, weights: np.ndarray,
                       cams: Sequence[cam_lib.Camera], *,
                       max_error_px: float = 50.0, min_angle_deg: float = 10.0
                       ) -> tuple[np.ndarray, np.ndarray]:
  """`triangulate`, then for each point whose worst view reprojects more
  than `max_error_px` away, that view left out and the point solved again,
  as long as two views remain (a detector's wrong keypoint in one view
  would otherwise pull the point off).  A point whose views' rays meet at
  under `min_angle_deg` (two views that disagree can meet far behind the
  person) is NaN.  Returns (points, views used)."""
  weights = np.array(weights, np.float64)
  points, count = triangulate(px, weights, cams)
  for _ in range(len(cams) - 2):
    error = np.where(weights > 0, reprojection_px(points, px, cams), -1.0)
    worst = np.nanargmax(np.nan_to_num(error, nan=-1.0), axis=0)  # [...]
    bad = (np.take_along_axis(np.nan_to_num(error, nan=-1.0), worst[None],
                              0)[0] > max_error_px) & (count > 2)
    if not bad.any():
      break
    drop = (np.arange(len(cams)).reshape((-1,) + (1,) * bad.ndim)
            == worst[None]) & bad[None]
    weights = np.where(drop, 0.0, weights)
    points, count = triangulate(px, weights, cams)
  glancing = ray_angle_deg(points, weights, cams) < min_angle_deg
  return np.where(glancing[..., None], np.nan, points), count


def reprojection_px(points: np.ndarray, px: np.ndarray,
                    cams: Sequence[cam_lib.Camera]) -> np.ndarray:
  """Each view's distance from `px` to the points' projections, NaN where
  either is missing.  # [V, ...]"""
  out = []
  for v, cam in enumerate(cams):
    p = projection_matrix(cam)
    h = points @ p[:, :3].T + p[:, 3]
    with np.errstate(invalid="ignore", divide="ignore"):
      out.append(np.linalg.norm(h[..., :2] / h[..., 2:] - px[v], axis=-1))
  return np.stack(out)


__all__ = ["projection_matrix", "ray_angle_deg", "reprojection_px",
           "triangulate", "triangulate_robust"]
