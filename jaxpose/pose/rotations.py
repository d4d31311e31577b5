"""Rotation conversions: Euler angles, matrices, axis-angle, quaternions, 6D.

Every function takes numpy or jax arrays (jit-able, differentiable),
vectorised over leading dims; the backend follows the input (`xp=jnp`
forces jax on numpy input).

Conventions:
  * Matrices act on column vectors: `v_world = R @ v_local`.
  * Quaternions are scalar first, `(w, x, y, z)`, unit norm, and returned with
    `w >= 0` so that each rotation has one representative.
  * Axis-angle ("rotvec") is `angle * unit_axis`, angle in [0, pi].
  * Euler angles are intrinsic, in the order the axes are named, as BVH uses
    them: order "ZXY" with angles (a, b, c) means `R = Rz(a) @ Rx(b) @ Ry(c)`.
  * The 6D representation (Zhou et al., CVPR 2019) is the first two columns of
    the matrix, `[..., 6] = (R[:, 0], R[:, 1])`.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxpose.checks import check_array

_AXES = {"X": 0, "Y": 1, "Z": 2}


def _backend(x, xp=None):
  if xp is not None:
    return xp
  return jnp if isinstance(x, jax.Array) else np


def _check_last(name, x, dims):
  # Shape only: NaN checks on every conversion would cost more than the math.
  check_array(name, x, ("...",) + tuple(dims), finite=False)


def _order(order: str) -> tuple[int, ...]:
  axes = order.upper()
  if not axes or any(a not in _AXES for a in axes):
    raise ValueError(f"order: expected axis letters from 'XYZ' such as 'ZXY', "
                     f"got {order!r}")
  return tuple(_AXES[a] for a in axes)


def axis_rotation(axis: str | int, angle, *, xp=None):
  """Rotation matrices about one coordinate axis.

  Args:
    axis: 'X', 'Y', 'Z' or 0, 1, 2.
    angle: radians, any shape `[...]`.
    xp: numpy or jax.numpy; defaults to the backend of `angle`.

  Returns:
    `[..., 3, 3]`, right-handed: `axis_rotation('Z', pi/2) @ e_x = e_y`.
  """
  xp = _backend(angle, xp)
  i = _AXES[axis.upper()] if isinstance(axis, str) else int(axis)
  j, k = (i + 1) % 3, (i + 2) % 3
  angle = xp.asarray(angle)
  c, s = xp.cos(angle), xp.sin(angle)
  one, zero = xp.ones_like(c), xp.zeros_like(c)
  rows = [[None] * 3 for _ in range(3)]
  rows[i][i] = one
  rows[i][j] = rows[i][k] = rows[j][i] = rows[k][i] = zero
  rows[j][j], rows[j][k] = c, -s
  rows[k][j], rows[k][k] = s, c
  return xp.stack([xp.stack(r, axis=-1) for r in rows], axis=-2)


def euler_to_matrix(angles, order: str = "XYZ", *, degrees: bool = False,
                    xp=None):
  """Intrinsic Euler angles to rotation matrices.

  Args:
    angles: `[..., n]` angles, n = len(order); angle i turns about order[i].
    order: axis letters, e.g. 'ZXY' (Bandai BVH) or 'ZYX' (CMU BVH); any
      length, repeated axes allowed.
    degrees: angles are in degrees (as in BVH files).
    xp: backend override.

  Returns:
    `[..., 3, 3]` = R_order[0](a_0) @ R_order[1](a_1) @ ...
  """
  xp = _backend(angles, xp)
  axes = _order(order)
  _check_last("angles", angles, (len(axes),))
  angles = xp.asarray(angles)
  if degrees:
    angles = angles * (np.pi / 180.0)
  out = axis_rotation(axes[0], angles[..., 0], xp=xp)
  for n, a in enumerate(axes[1:], start=1):
    out = out @ axis_rotation(a, angles[..., n], xp=xp)
  return out


# cos^2 of the middle angle below which `matrix_to_euler` treats it as
# gimbal lock (about 1e-4 degrees from +-90).
_GIMBAL_LOCK_COS2 = 1e-12


def matrix_to_euler(matrix, order: str = "XYZ", *, degrees: bool = False,
                    xp=None):
  """Rotation matrices to intrinsic Euler angles (three distinct axes).

  The middle angle lies in [-pi/2, pi/2].  At gimbal lock (middle angle
  +-pi/2, where only first +- last is defined) the whole turn goes into the
  first angle and the last is 0, so the matrix is still reproduced (the
  general formula would divide rounding noise by rounding noise).

  Args:
    matrix: `[..., 3, 3]`.
    order: three distinct axes, e.g. 'ZXY'.
    degrees: return degrees.

  Returns:
    `[..., 3]` angles with euler_to_matrix(angles, order) == matrix.
  """
  xp = _backend(matrix, xp)
  axes = _order(order)
  if len(axes) != 3 or len(set(axes)) != 3:
    raise ValueError(f"order: matrix_to_euler needs three distinct axes, got {order!r}")
  _check_last("matrix", matrix, (3, 3))
  r = xp.asarray(matrix)
  i, j, k = axes
  # +1 for cyclic orders (XYZ, YZX, ZXY), -1 for the others.
  sign = 1.0 if (j - i) % 3 == 1 else -1.0
  mid = xp.arcsin(xp.clip(sign * r[..., i, k], -1.0, 1.0))
  first = xp.arctan2(-sign * r[..., j, k], r[..., k, k])
  last = xp.arctan2(-sign * r[..., i, j], r[..., i, i])
  locked = r[..., i, i] ** 2 + r[..., i, j] ** 2 < _GIMBAL_LOCK_COS2
  # There r = R_i(first) R_j(mid): R_i(first) is r without the middle turn.
  only_first = r @ xp.swapaxes(axis_rotation(j, mid, xp=xp), -1, -2)
  first = xp.where(locked, xp.arctan2(sign * only_first[..., k, j],
                                      only_first[..., j, j]), first)
  last = xp.where(locked, 0.0, last)
  out = xp.stack([first, mid, last], axis=-1)
  return out * (180.0 / np.pi) if degrees else out


def _safe_norm(v, xp, eps2):
  """(|v|^2, |v| with 1 where |v|^2 < eps2, mask); no sqrt(0) in the graph."""
  n2 = xp.sum(v * v, axis=-1)
  small = n2 < eps2
  return n2, xp.sqrt(xp.where(small, 1.0, n2)), small


def _sinc_terms(t2, safe, small, xp):
  """sin(t)/t and (1-cos t)/t^2, exact away from 0 and by Taylor series near it.

  `safe` is t with the small entries replaced by 1, so both `where` branches
  (and their gradients) stay finite at t = 0.
  """
  a = xp.where(small, 1.0 - t2 / 6.0 + t2 * t2 / 120.0, xp.sin(safe) / safe)
  b = xp.where(small, 0.5 - t2 / 24.0 + t2 * t2 / 720.0,
               (1.0 - xp.cos(safe)) / (safe * safe))
  return a, b


def axis_angle_to_matrix(rotvec, *, xp=None):
  """Rodrigues' formula. rotvec `[..., 3]` -> `[..., 3, 3]`; stable at 0."""
  xp = _backend(rotvec, xp)
  _check_last("rotvec", rotvec, (3,))
  v = xp.asarray(rotvec)
  t2, safe, small = _safe_norm(v, xp, 1e-6)
  a, b = _sinc_terms(t2, safe, small, xp)
  x, y, z = v[..., 0], v[..., 1], v[..., 2]
  zero = xp.zeros_like(x)
  k = xp.stack([xp.stack([zero, -z, y], -1),
                xp.stack([z, zero, -x], -1),
                xp.stack([-y, x, zero], -1)], -2)  # [..., 3, 3] cross-product matrix
  eye = xp.eye(3, dtype=k.dtype)
  return eye + a[..., None, None] * k + b[..., None, None] * (k @ k)


def quaternion_to_matrix(quat, *, xp=None):
  """Quaternions (w, x, y, z) `[..., 4]` -> `[..., 3, 3]` (normalised first)."""
  xp = _backend(quat, xp)
  _check_last("quat", quat, (4,))
  q = xp.asarray(quat)
  q = q / xp.sqrt(xp.sum(q * q, axis=-1, keepdims=True))
  w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
  return xp.stack([
      xp.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
      xp.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
      xp.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
  ], -2)


def matrix_to_quaternion(matrix, *, xp=None):
  """Rotation matrices `[..., 3, 3]` -> unit quaternions (w, x, y, z), w >= 0.

  Shepperd's method: of four candidate solutions each matrix keeps the one
  of largest pivot (4 q_i^2), so no division is by a small number.
  """
  xp = _backend(matrix, xp)
  _check_last("matrix", matrix, (3, 3))
  r = xp.asarray(matrix)
  r00, r01, r02 = r[..., 0, 0], r[..., 0, 1], r[..., 0, 2]
  r10, r11, r12 = r[..., 1, 0], r[..., 1, 1], r[..., 1, 2]
  r20, r21, r22 = r[..., 2, 0], r[..., 2, 1], r[..., 2, 2]
  pivots = xp.stack([1 + r00 + r11 + r22, 1 + r00 - r11 - r22,
                     1 - r00 + r11 - r22, 1 - r00 - r11 + r22], -1)  # [..., 4] = 4 q_i^2
  # Row i is 4 q_i * q (unnormalised).
  cand = xp.stack([
      xp.stack([pivots[..., 0], r21 - r12, r02 - r20, r10 - r01], -1),
      xp.stack([r21 - r12, pivots[..., 1], r10 + r01, r02 + r20], -1),
      xp.stack([r02 - r20, r10 + r01, pivots[..., 2], r21 + r12], -1),
      xp.stack([r10 - r01, r02 + r20, r21 + r12, pivots[..., 3]], -1),
  ], -2)  # [..., 4, 4]
  best = xp.argmax(pivots, axis=-1)[..., None, None]
  q = xp.take_along_axis(cand, best, axis=-2)[..., 0, :]
  q = q / xp.sqrt(xp.sum(q * q, axis=-1, keepdims=True))
  return xp.where(q[..., :1] < 0, -q, q)


def quaternion_to_axis_angle(quat, *, xp=None):
  """Quaternions (w, x, y, z) `[..., 4]` -> rotvec `[..., 3]`, angle in [0, pi]."""
  xp = _backend(quat, xp)
  _check_last("quat", quat, (4,))
  q = xp.asarray(quat)
  q = q / xp.sqrt(xp.sum(q * q, axis=-1, keepdims=True))
  q = xp.where(q[..., :1] < 0, -q, q)
  w, v = q[..., 0], q[..., 1:]
  n2, safe_n, small = _safe_norm(v, xp, 1e-12)  # |v| = sin(angle / 2)
  # angle / sin(angle/2); near 0 it tends to 2 / w (Taylor in |v|).
  scale = xp.where(small, 2.0 / w * (1.0 - n2 / (3.0 * w * w)),
                   2.0 * xp.arctan2(safe_n, w) / safe_n)
  return v * scale[..., None]


def axis_angle_to_quaternion(rotvec, *, xp=None):
  """rotvec `[..., 3]` -> quaternions (w, x, y, z) `[..., 4]`, w >= 0."""
  xp = _backend(rotvec, xp)
  _check_last("rotvec", rotvec, (3,))
  v = xp.asarray(rotvec)
  t2, safe, small = _safe_norm(v, xp, 1e-12)
  half_sinc = xp.where(small, 0.5 - t2 / 48.0, xp.sin(safe / 2) / safe)
  cos_half = xp.where(small, 1.0 - t2 / 8.0, xp.cos(safe / 2))
  q = xp.concatenate([cos_half[..., None], v * half_sinc[..., None]], -1)
  return xp.where(q[..., :1] < 0, -q, q)


def matrix_to_axis_angle(matrix, *, xp=None):
  """Rotation matrices `[..., 3, 3]` -> rotvec `[..., 3]`; stable near 0 and pi."""
  return quaternion_to_axis_angle(matrix_to_quaternion(matrix, xp=xp), xp=xp)


def matrix_to_rot6d(matrix, *, xp=None):
  """`[..., 3, 3]` -> `[..., 6]`: the first two columns, concatenated."""
  xp = _backend(matrix, xp)
  _check_last("matrix", matrix, (3, 3))
  r = xp.asarray(matrix)
  return xp.concatenate([r[..., :, 0], r[..., :, 1]], -1)


def rot6d_to_matrix(rot6d, *, xp=None):
  """`[..., 6]` -> `[..., 3, 3]` by Gram-Schmidt (any non-degenerate input)."""
  xp = _backend(rot6d, xp)
  _check_last("rot6d", rot6d, (6,))
  d = xp.asarray(rot6d)
  a, b = d[..., :3], d[..., 3:]
  c0 = a / xp.linalg.norm(a, axis=-1, keepdims=True)
  b = b - xp.sum(c0 * b, axis=-1, keepdims=True) * c0
  c1 = b / xp.linalg.norm(b, axis=-1, keepdims=True)
  c2 = xp.cross(c0, c1)
  return xp.stack([c0, c1, c2], axis=-1)


def euler_to_axis_angle(angles, order: str, *, degrees: bool = False, xp=None):
  """Shortcut: Euler angles `[..., 3]` -> rotvec `[..., 3]`."""
  return matrix_to_axis_angle(euler_to_matrix(angles, order, degrees=degrees, xp=xp), xp=xp)
