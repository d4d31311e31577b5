"""Pose error metrics: MPJPE, PA-MPJPE, best-of-H, mean-of-H, APD.

All functions take numpy or jax arrays with any leading batch dims
(`[..., J, 3]`), return jax arrays in the units of the input (millimetres in
jaxpose) and are jit-able.  Shapes are checked at trace time; NaN/inf and
(for `mean_by_group`) out-of-range group ids are rejected on concrete inputs.
The reductions over hypotheses or poses reject empty axes.
"""
from __future__ import annotations

import functools
from typing import Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from jaxpose.checks import check_array, check_positive_int, is_concrete

Metric = Callable[[jax.Array, jax.Array], jax.Array]


def _pair(pred, gt, pred_name="pred", gt_name="gt"):
  """Checks two pose arrays [..., J, 3] and broadcasts them to one shape."""
  sizes = {}
  check_array(pred_name, pred, ("...", "J", 3), sizes=sizes)
  check_array(gt_name, gt, ("...", "J", 3), sizes=sizes)
  try:
    shape = np.broadcast_shapes(np.shape(pred), np.shape(gt))
  except ValueError:
    raise ValueError(f"{pred_name} {np.shape(pred)} and {gt_name} "
                     f"{np.shape(gt)}: leading dims do not broadcast") from None
  pred = jnp.broadcast_to(jnp.asarray(pred), shape)
  gt = jnp.broadcast_to(jnp.asarray(gt), shape)
  dtype = jnp.result_type(pred, gt, jnp.float32)
  return pred.astype(dtype), gt.astype(dtype)


def check_nonempty(name: str, x, axes: Mapping[int, str], other: str = "poses"):
  """Rejects an array with a zero-size axis, naming the axis; returns `x`.

  Args:
    name: the argument name, used in the message.
    x: array-like.
    axes: what some axes hold, e.g. {0: "hypotheses (H)", -2: "joints (J)"}.
    other: what the remaining (batch) axes hold.
  """
  shape = tuple(np.shape(x))
  labels = {a % len(shape): what for a, what in axes.items()} if shape else {}
  for a, size in enumerate(shape):
    if size == 0:
      what = labels.get(a, f"{other} (axis {a})")
      raise ValueError(f"{name}: no {what} in an array of shape {shape}; "
                       "expected at least one")
  return x


def check_hypotheses(hyps_mm, gt_mm) -> dict[str, int]:
  """Checks hypotheses `[H, N, J, 3]` of truths `[N, J, 3]`, none of H, N, J
  zero; returns the sizes {'H', 'N', 'J'}."""
  sizes = {}
  check_array("hyps_mm", hyps_mm, ("H", "N", "J", 3), sizes=sizes)
  check_array("gt_mm", gt_mm, ("N", "J", 3), sizes=sizes)
  check_nonempty("hyps_mm", hyps_mm,
                 {0: "hypotheses (H)", 1: "poses (N)", 2: "joints (J)"})
  return sizes


def per_joint_error(pred, gt) -> jax.Array:
  """Euclidean distance per joint.  [..., J, 3] x [..., J, 3] -> [..., J]."""
  pred, gt = _pair(pred, gt)
  return jnp.linalg.norm(pred - gt, axis=-1)


def mpjpe(pred, gt) -> jax.Array:
  """Mean per-joint position error.  [..., J, 3] x [..., J, 3] -> [...].

  No alignment: pass root-relative poses for the usual protocol #1.
  """
  return jnp.mean(per_joint_error(pred, gt), axis=-1)


# Jitted cores behind the public checks (eager SVD dispatch is slow).  Full
# float32 products: a GPU's default TF32 would leave non-zero PA-MPJPE
# between identical poses.
_HIGHEST = jax.lax.Precision.HIGHEST


@jax.jit
def _align(pred, gt):
  mu_p = pred.mean(axis=-2, keepdims=True)
  mu_g = gt.mean(axis=-2, keepdims=True)
  x, y = pred - mu_p, gt - mu_g
  m = jnp.einsum("...ji,...jk->...ik", y, x, precision=_HIGHEST)  # [..., 3, 3] = Y^T X
  u, sv, vt = jnp.linalg.svd(m)
  d = jnp.sign(jnp.linalg.det(jnp.matmul(u, vt, precision=_HIGHEST)))
  # sign(0) (degenerate, e.g. collinear joints) counts as a proper rotation.
  d = jnp.where(d == 0, 1.0, d)
  diag = jnp.stack([jnp.ones_like(d), jnp.ones_like(d), d], axis=-1)  # [..., 3]
  r = jnp.einsum("...ij,...j,...jk->...ik", u, diag, vt, precision=_HIGHEST)
  var_x = jnp.sum(x * x, axis=(-2, -1))
  scale = jnp.sum(sv * diag, axis=-1) / jnp.maximum(var_x, jnp.finfo(x.dtype).tiny)
  return (scale[..., None, None]
          * jnp.einsum("...ij,...kj->...ki", r, x, precision=_HIGHEST) + mu_g)


def procrustes_align(pred, gt) -> jax.Array:
  """Similarity-aligns `pred` to `gt` (rotation, uniform scale, translation).

  Solves min_{s, R, t} sum_j |s R pred_j + t - gt_j|^2 over proper rotations
  (det R = +1): with centred X = pred, Y = gt and Y^T X = U S V^T,
  R = U D V^T where D = diag(1, 1, sign det(U V^T)), s = tr(D S) / |X|^2.
  The sign correction excludes reflections, so a mirrored pose is not
  aligned onto its original.

  Args:
    pred: poses to align.  # [..., J, 3]
    gt: reference poses.  # [..., J, 3]

  Returns:
    The aligned prediction.  # [..., J, 3]
  """
  return _align(*_pair(pred, gt))


def n_mpjpe(pred, gt) -> jax.Array:
  """MPJPE after scaling `pred` by the one factor that fits `gt` best,
  s = <pred, gt> / <pred, pred> (Rhodin et al. 2018's N-MPJPE): pass
  root-relative poses. Against MPJPE, what a wrong body size costs;
  against PA-MPJPE, what a wrong orientation does.  -> [...]"""
  return _n_mpjpe(*_pair(pred, gt))


@jax.jit
def _n_mpjpe(pred, gt):
  dot = jnp.sum(pred * gt, axis=(-2, -1))
  norm = jnp.maximum(jnp.sum(pred * pred, axis=(-2, -1)),
                     jnp.finfo(pred.dtype).tiny)
  scaled = (dot / norm)[..., None, None] * pred
  return jnp.linalg.norm(scaled - gt, axis=-1).mean(axis=-1)


def pa_mpjpe(pred, gt) -> jax.Array:
  """MPJPE after similarity Procrustes alignment (protocol #2).  -> [...]"""
  return _pa_mpjpe(*_pair(pred, gt))


@jax.jit
def _pa_mpjpe(pred, gt):
  return jnp.linalg.norm(_align(pred, gt) - gt, axis=-1).mean(axis=-1)


def _check_hyps(hyps, gt):
  sizes = {}
  check_array("hyps", hyps, ("...", "J", 3), sizes=sizes)
  check_array("gt", gt, ("...", "J", 3), sizes=sizes)
  expected = f"(H, *gt.shape) = (H, {', '.join(map(str, np.shape(gt)))})"
  if np.ndim(hyps) != np.ndim(gt) + 1:
    raise ValueError(f"hyps: expected shape {expected}, got {np.shape(hyps)}")
  try:
    np.broadcast_shapes(np.shape(hyps)[1:], np.shape(gt))
  except ValueError:
    # Named here: the metric would call the two its own `pred` and `gt`.
    raise ValueError(f"hyps: expected shape {expected} (or dims of size 1 "
                     f"that broadcast to it), got {np.shape(hyps)}") from None
  check_nonempty("hyps", hyps, {0: "hypotheses (H)", -2: "joints (J)"})
  check_nonempty("gt", gt, {-2: "joints (J)"})


def best_of_h(hyps, gt, metric: Metric = mpjpe) -> jax.Array:
  """Per-pose minimum of `metric` over hypotheses (minMPJPE, oracle).

  Args:
    hyps: H hypotheses per pose.  # [H, ..., J, 3]
    gt: ground truth.  # [..., J, 3]
    metric: a per-pose metric such as `mpjpe` or `pa_mpjpe`.

  Returns:
    min_h metric(hyps[h], gt).  # [...]
  """
  _check_hyps(hyps, gt)
  return _best_of_h(jnp.asarray(hyps), jnp.asarray(gt), metric)


@functools.partial(jax.jit, static_argnums=2)
def _best_of_h(hyps, gt, metric):
  return jnp.min(jax.vmap(metric, in_axes=(0, None))(hyps, gt), axis=0)


def mean_of_h(hyps, gt, metric: Metric = mpjpe) -> jax.Array:
  """`metric` of the hypotheses' mean pose.  hyps [H, ..., J, 3] -> [...]."""
  _check_hyps(hyps, gt)
  return metric(jnp.mean(jnp.asarray(hyps), axis=0), gt)


def apd(hyps) -> jax.Array:
  """Average pairwise distance between hypotheses (sample diversity).

  APD = 1 / (H (H - 1)) * sum_{h != k} mean_j |hyps[h, ..., j] - hyps[k, ..., j]|,
  i.e. the mean over distinct pairs of the mean per-joint Euclidean
  distance, in the input's units.  Memory stays O(H) by scanning over h.

  Args:
    hyps: H >= 2 hypotheses per pose.  # [H, ..., J, 3]

  Returns:
    APD per pose.  # [...]
  """
  check_array("hyps", hyps, ("...", "J", 3))
  if np.ndim(hyps) < 3 or np.shape(hyps)[0] < 2:
    raise ValueError(f"hyps: expected shape (H >= 2, ..., J, 3), got "
                     f"{np.shape(hyps)}")
  check_nonempty("hyps", hyps, {-2: "joints (J)"})
  return _apd(jnp.asarray(hyps))


@jax.jit
def _apd(hyps):
  hyps = hyps.astype(jnp.result_type(hyps, jnp.float32))
  num = hyps.shape[0]

  def row(h):  # sum over k of the mean joint distance between h and k
    d = jnp.linalg.norm(hyps - h[None], axis=-1).mean(axis=-1)  # [H, ...]
    return d.sum(axis=0)

  total = jax.lax.map(row, hyps).sum(axis=0)  # diagonal terms are zero
  return total / (num * (num - 1))


def mean_by_group(values, groups, num_groups: int) -> jax.Array:
  """Mean of per-pose values within each group (e.g. per action).

  The Human3.6M protocols average errors per action first and then over
  actions: `mean_by_group(err, action, A).mean()`.

  Args:
    values: per-pose values, e.g. MPJPE.  # [N], N >= 1
    groups: group index per pose in [0, num_groups).  # [N] int
    num_groups: number of groups (static).

  Returns:
    Per-group means; NaN for a group with no member.  # [num_groups]

  Raises:
    ValueError: no values, or (concrete `groups` only) an id outside
      [0, num_groups), which the compiled segment sum would silently drop.
  """
  sizes = {}
  check_array("values", values, ("N",), sizes=sizes)
  check_array("groups", groups, ("N",), sizes=sizes)
  num_groups = check_positive_int("num_groups", num_groups)
  check_nonempty("values", values, {0: "values (N)"})
  group_dtype = np.asarray(groups).dtype if is_concrete(groups) else groups.dtype
  if not np.issubdtype(group_dtype, np.integer):
    raise ValueError(f"groups: expected integer group indices, got dtype "
                     f"{group_dtype}")
  if is_concrete(groups):
    ids = np.asarray(groups)
    bad = (ids < 0) | (ids >= num_groups)
    if bad.any():
      raise ValueError(
          f"groups: {int(bad.sum())} of {ids.size} ids lie outside [0, "
          f"num_groups={num_groups}) (e.g. {int(ids[bad][0])}); pass a larger "
          "num_groups or drop those poses")
  return _mean_by_group(jnp.asarray(values), jnp.asarray(groups), num_groups)


@functools.partial(jax.jit, static_argnums=2)
def _mean_by_group(values, groups, num_groups):
  values = values.astype(jnp.result_type(values, jnp.float32))
  total = jax.ops.segment_sum(values, groups, num_segments=num_groups)
  count = jax.ops.segment_sum(jnp.ones_like(values), groups,
                              num_segments=num_groups)
  return jnp.where(count > 0, total / jnp.maximum(count, 1), jnp.nan)
