"""Maps between joint sets and into one body-aligned frame.

* `fit_joint_regressor` / `apply_regressor`: a linear joint regressor (like
  SMPL's J_regressor) from S source joints to T target joints, e.g. SMPL_22
  -> Human3.6M-17, fitted on paired poses; rows sum to 1, so the map
  commutes with translation.
* `torso_frame` / `to_torso_frame`: each pose in its own torso frame (the
  axes of `jaxpose.pose.body_space`), so poses from different methods,
  cameras or capture rooms compare without a global alignment.

Every function takes numpy or jax arrays; the backend follows the input,
and the jax path is differentiable and runs under `jit`.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxpose.checks import check_array, is_concrete
from jaxpose.pose.skeleton import Skeleton


def _backend(*xs):
  return jnp if any(isinstance(x, jax.Array) for x in xs) else np


def fit_joint_regressor(source, target, *, ridge: float = 1e-3) -> np.ndarray:
  """Least-squares joint regressor whose rows sum to 1.

  Minimises, over all frames n, targets t and coordinates c,
      sum (target[n, t, c] - sum_s W[t, s] source[n, s, c])^2 + lam |W|^2
  subject to W @ 1 = 1, in closed form (one KKT system shared by all target
  joints).  lam = ridge * trace(G) / S with G the source Gram matrix, so the
  ridge does not depend on units (mm or m) or on the number of frames.

  The constraint makes the fit translation invariant, so each frame is
  centred on its source joints' mean first: the residuals are unchanged, and
  poses far from the origin do not make the Gram matrix ill-conditioned.

  Args:
    source: [N, S, 3] joint positions.
    target: [N, T, 3] the joints to regress, same frames.
    ridge: >= 0; 0 is the plain constrained fit (needs enough varied frames).

  Returns:
    W float32 [T, S], every row summing to 1 (to float32 rounding).

  Raises:
    ValueError: bad shapes, NaN/inf, a negative ridge, or (ridge 0) too
      little data to determine W.
  """
  sizes = {}
  check_array("source", source, ("N", "S", 3), sizes=sizes)
  check_array("target", target, ("N", "T", 3), sizes=sizes)
  ridge = float(ridge)
  if not np.isfinite(ridge) or ridge < 0:
    raise ValueError(f"ridge: expected a finite value >= 0, got {ridge!r}")
  if sizes["N"] == 0:
    raise ValueError("source: no frames (N = 0) to fit a regressor on")
  src = np.asarray(source, np.float64)
  tgt = np.asarray(target, np.float64)
  centre = src.mean(axis=1, keepdims=True)  # [N, 1, 3]
  src, tgt = src - centre, tgt - centre
  num_src = src.shape[1]
  gram = np.einsum("nsc,nrc->sr", src, src)  # [S, S]
  cross = np.einsum("nsc,ntc->st", src, tgt)  # [S, T]
  lam = ridge * np.trace(gram) / num_src
  kkt = np.zeros((num_src + 1, num_src + 1))
  kkt[:num_src, :num_src] = gram + lam * np.eye(num_src)
  kkt[:num_src, num_src] = kkt[num_src, :num_src] = 1.0
  rhs = np.concatenate([cross, np.ones((1, cross.shape[1]))])  # [S + 1, T]
  try:
    sol = np.linalg.solve(kkt, rhs)
  except np.linalg.LinAlgError:
    sol = None
  if sol is None or not np.isfinite(sol).all():
    raise ValueError(
        f"source: {sizes['N']} frame(s) of {num_src} joints do not determine the "
        f"regressor (the joints' positions are linearly dependent); use more "
        f"varied frames or ridge > 0 (got {ridge})")
  w64 = sol[:num_src].T  # [T, S]
  w = w64.astype(np.float32)
  # float32 rounding leaves sums 1 +- a few ulp; give the rest to each row's
  # largest weight so the translation property holds as closely as float32 can.
  big = np.argmax(np.abs(w), axis=1)
  rows = np.arange(w.shape[0])
  rest = w.astype(np.float64).sum(axis=1) - w[rows, big]
  w[rows, big] = (1.0 - rest).astype(np.float32)
  return w


def apply_regressor(w, joints):
  """Regressed joints: out[..., t, :] = sum_s w[t, s] joints[..., s, :].

  Args:
    w: [T, S] (from `fit_joint_regressor`).
    joints: [..., S, 3].

  Returns:
    [..., T, 3]; jax when either input is jax (differentiable, jit-safe).
  """
  check_array("w", w, ("T", "S"), finite=False)
  sizes = {"S": np.shape(w)[1]}
  check_array("joints", joints, ("...", "S", 3), sizes=sizes, finite=False)
  xp = _backend(w, joints)
  return xp.einsum("ts,...sc->...tc", xp.asarray(w), xp.asarray(joints))


# Per skeleton: the joints that define its torso frame.  Human3.6M's "neck"
# is the nose; its thorax sits where SMPL's neck does.
_TORSO_NAMES = {
    "h36m_17": dict(left_hip="l_hip", right_hip="r_hip", root="pelvis", neck="thorax"),
    "smpl_22": dict(left_hip="left_hip", right_hip="right_hip", root="pelvis",
                    neck="neck"),
}


def torso_joints(skeleton: Skeleton) -> dict[str, int]:
  """{'left_hip', 'right_hip', 'root', 'neck'} -> joint index in `skeleton`."""
  if skeleton.name not in _TORSO_NAMES:
    raise ValueError(f"skeleton: no torso joints known for {skeleton.name!r}; "
                     f"known: {sorted(_TORSO_NAMES)} (or call torso_frame with "
                     "explicit indices)")
  return {k: skeleton.index(v) for k, v in _TORSO_NAMES[skeleton.name].items()}


def torso_frame(joints, *, left_hip: int, right_hip: int, root: int, neck: int):
  """Rotation from each pose's torso axes to the input coordinates.

  X points from the right hip to the left hip; Y is root -> neck with its X
  part removed (Gram-Schmidt); Z = X x Y, so R is a proper rotation and the
  axes are body_space's (X left, Y up, Z forward).

  Args:
    joints: [..., J, 3].
    left_hip, right_hip, root, neck: joint indices.

  Returns:
    R [..., 3, 3] with columns (X, Y, Z): v_input = R @ v_torso.

  Raises:
    ValueError: bad shape or index; for concrete input, a pose whose hips
      coincide or whose spine is parallel to the hips (no frame exists).
  """
  check_array("joints", joints, ("...", "J", 3), finite=False)
  num = np.shape(joints)[-2]
  for name, j in (("left_hip", left_hip), ("right_hip", right_hip),
                  ("root", root), ("neck", neck)):
    if not -num <= int(j) < num:
      raise ValueError(f"{name}: joint index {j} out of range for {num} joints")
  xp = _backend(joints)
  joints = xp.asarray(joints)
  across = joints[..., left_hip, :] - joints[..., right_hip, :]  # [..., 3]
  up = joints[..., neck, :] - joints[..., root, :]  # [..., 3]
  x_len = xp.linalg.norm(across, axis=-1, keepdims=True)
  up = up - xp.sum(up * across, axis=-1, keepdims=True) * across / xp.maximum(
      x_len, 1e-12) ** 2
  y_len = xp.linalg.norm(up, axis=-1, keepdims=True)
  if is_concrete(joints):
    scale = np.maximum(np.abs(np.asarray(joints)).max(), 1.0)
    bad = (np.asarray(x_len)[..., 0] <= 1e-9 * scale) | (
        np.asarray(y_len)[..., 0] <= 1e-9 * scale)
    if bad.any():
      first = tuple(int(i) for i in np.argwhere(bad)[0])
      raise ValueError(f"joints: no torso frame for pose {first}: the hips "
                       "coincide or the root -> neck line is parallel to them")
  # The clamps keep gradients finite if a traced pose degenerates.
  x = across / xp.maximum(x_len, 1e-12)
  y = up / xp.maximum(y_len, 1e-12)
  z = xp.cross(x, y)
  return xp.stack([x, y, z], axis=-1)


def to_torso_frame(joints, skeleton: Skeleton):
  """Each pose in its own torso frame: root at 0, axes of `torso_frame`.

  Invariant to a rotation and translation of the input pose (not to a
  mirror, which would swap the hips' roles).

  Args:
    joints: [..., J, 3], J = skeleton.num_joints.
    skeleton: H36M_17 or SMPL_22 (names its hips, root and neck).

  Returns:
    [..., J, 3] in the input units.
  """
  check_array("joints", joints, ("...", skeleton.num_joints, 3), finite=False)
  idx = torso_joints(skeleton)
  rot = torso_frame(joints, **idx)  # [..., 3, 3]
  xp = _backend(joints)
  joints = xp.asarray(joints)
  rel = joints - joints[..., idx["root"]:idx["root"] + 1, :]  # [..., J, 3]
  # v_torso = R^T v: row vectors times R.
  return xp.einsum("...jc,...cd->...jd", rel, rot)
