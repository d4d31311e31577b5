"""Per-row H_K (`diffpose.initial_scope='per_row'`): each row's kernels
shaped by that row's own 2D uncertainty.

The paper builds H_K per image from the 2D detector's heatmaps; a global
H_K gives a row of exact 2D the same spread as a row with an outlier
keypoint.  Here H_K's shape stays the Gaussian mixture (M kernels, EM) of
the encoder's 3D error on unseen rows, and each row n scales it by its own
2D uncertainty u_nj per joint (`process.RowScales`):

  2D variance   v_nj = max(c0_j + c1_j u_nj, 0)   (model units^2)
  (u, v) std    sqrt(v_nj + floor_2d^2), 2D mean 0 (zero-mean 2D noise)
  3D std        sqrt(l2_nj) x kernel m's std, l2_nj = max(b0_j + b1_j v_nj
                + b2_j mean_i v_ni, floor_3d)

Where u comes from (`diffpose.row_uncertainty`, the dataset's fields):
  'sigma'       `pose2d_sigma` [N, J]: the std per axis of each keypoint's
                error in `pose2d`, screen-normalised units (0: exact 2D);
                `pose2d_noisy_sigma` for `pose2d_noisy` (`noise_2d='data'`);
                'px' noise: its sigma.  u is the variance in model units,
                (c0, c1) = (0, 1) (`model_variance`).
  'confidence'  `pose2d_confidence` [N, J] in [0, 1], a detector's score
                (`pose2d_noisy_confidence` for `pose2d_noisy`); u = 1 -
                confidence, (c0, c1) per joint the least-squares line of
                the fit rows' squared 2D error (mean over u, v) on u.

(b0, b1, b2) per joint: least squares, on the fit rows, of the 3D error's
variance relative to the mixture, y_nj = mean_d sum_m r_nm (e_njd -
mu_mjd)^2 / s_mjd^2 (r the mixture's responsibilities of the row), on
[1, v_nj, mean_i v_ni].  Rows all of exact 2D give (mean y, 0, 0): one 3D
scale, as the global H_K.
"""
from __future__ import annotations

from absl import logging
import numpy as np

from jaxpose import checks
from jaxpose import settings
from jaxpose.core import gmm as gmm_lib
from jaxpose.methods import lifting
from jaxpose.methods.diffpose import initial as initial_lib
from jaxpose.pose import image_space

SOURCES = ("sigma", "confidence")
# The smallest 3D variance factor l2 (a row's 3D std at least 0.1 x the
# kernel's) and the smallest (u, v) std (model units).
FLOOR_3D = 0.01
MIN_FLOOR_2D = 1e-3
# The dataset fields of each source: (for `pose2d`, for `pose2d_noisy`).
FIELDS = {"sigma": ("pose2d_sigma", "pose2d_noisy_sigma"),
          "confidence": ("pose2d_confidence", "pose2d_noisy_confidence")}
# What each source is, as a results file's `test_inputs` says.
KINDS = lifting.UNCERTAINTY_KINDS


def floor_2d(reg: float) -> float:
  """The (u, v) std of a row of exact 2D: the mixture's sqrt(reg), at
  least `MIN_FLOOR_2D` (a zero std would divide the score by 0)."""
  return max(float(reg) ** 0.5, MIN_FLOOR_2D)


def model_variance(sigma_screen, representation, pose2d_screen=None,
                   camera_meta=None) -> np.ndarray:
  """Per-keypoint std in screen units `[N, J]` -> variance of each joint's
  (u, v) in model units `[N, J]` (independent keypoints; root-relative 2D
  adds the root's variance to the others' and zeroes the root's).

  Camera input (`input_2d='camera'`) scales each row by its own focal
  length, distance and 2D spread, so it needs the rows' 2D `pose2d_screen`
  [N, J, 2] (where the map is linearised) and their `camera_meta`.
  """
  sigma = np.asarray(sigma_screen, np.float64)
  checks.check_array("pose2d sigma", sigma, ("N", representation.num_joints))
  if np.any(sigma < 0):
    raise ValueError("pose2d sigma: expected stds >= 0")
  if representation.input_2d == "camera":
    if pose2d_screen is None or camera_meta is None:
      raise ValueError(
          "representation.input_2d='camera': a keypoint's std in model "
          "units depends on its row's camera and 2D; give pose2d_screen "
          "[N, J, 2] and camera_meta (root_cam_mm, intrinsics)")
    return _local_variance(sigma, representation, pose2d_screen,
                           camera_meta).astype(np.float32)
  var = (sigma * representation.scale_2d * representation.data_scale) ** 2
  if representation.space == "root_relative" and representation.root_relative_2d:
    var = var + var[:, :1]
    var[:, 0] = 0.0
  return var.astype(np.float32)


# Central differences' step, a fraction of each row's mean keypoint distance
# from the root: far below the map's curvature, far above float32 rounding.
_STEP = 1e-2


def _local_variance(sigma, representation, pose2d_screen, camera_meta):
  """`model_variance` of camera 2D, `[N, J]` float64.

  With m = f(p) a row's model 2D (f = `pose2d_to_model` at its camera, p
  its screen 2D) and small independent noise e_k ~ N(0, sigma_k^2 I_2) on
  keypoint k, m(p + e) ~ m(p) + sum_k A_jk e_k, A_jk = d m_j / d p_k.  The
  per-axis variance of joint j (the per-row H_K's isotropic std) is half
  the trace of Cov(m_j): v_j = 1/2 sum_k sigma_k^2 ||A_jk||_F^2.  A comes
  from central differences of f, so v follows whatever f does (the ray's
  turn; the root subtracted, so the root's v is 0; the spread
  normalisation, coupling every keypoint to every joint).  Valid while
  sigma is small beside the body's size in the image; a masked keypoint
  (at the root) should carry sigma 0.
  """
  p = np.asarray(pose2d_screen, np.float64)
  n, j = sigma.shape
  checks.check_array("pose2d_screen", p, (n, j, 2))
  size = np.mean(np.linalg.norm(p - p[:, :1], axis=-1), axis=-1)  # [N]
  step = np.maximum(_STEP * size, 1e-6)

  def f(q):
    return np.asarray(representation.pose2d_to_model(
        q.astype(np.float32), camera_meta), np.float64)

  var = np.zeros((n, j), np.float64)
  for k in range(j):
    if not np.any(sigma[:, k] > 0):
      continue
    for axis in range(2):
      plus, minus = p.copy(), p.copy()
      plus[:, k, axis] += step
      minus[:, k, axis] -= step
      plus, minus = plus.astype(np.float32), minus.astype(np.float32)
      # The step as float32 holds it, so rounding of p does not bias A.
      delta = (plus[:, k, axis].astype(np.float64)
               - minus[:, k, axis].astype(np.float64))
      column = (f(plus) - f(minus)) / delta[:, None, None]  # [N, J, 2]
      var += 0.5 * sigma[:, k, None] ** 2 * np.sum(column**2, axis=-1)
  return var


def _linearised_at(rows, noisy: bool):
  """The screen 2D a row's uncertainty describes: its `pose2d_noisy` when
  the centre holds that (noise_2d='data' training), else `pose2d_screen`."""
  if noisy and "pose2d_noisy" in rows:
    return rows["pose2d_noisy"]
  return rows["pose2d_screen"]


def row_uncertainty(rows, representation, *, source: str, noisy: bool,
                    sigma_px: float | None = None,
                    missing_is_exact: bool = False) -> np.ndarray:
  """Each row's 2D uncertainty u `[N, J]` (module docstring).

  Args:
    rows: split rows (the source's field; 'intrinsics' for `sigma_px`;
      camera 2D: 'pose2d_screen', 'root_cam_mm' and 'intrinsics').
    representation: screen -> model units.
    source: 'sigma' or 'confidence'.
    noisy: the rows' centre is their `pose2d_noisy` (`noise_2d='data'`
      training) rather than their `pose2d`.
    sigma_px: the rows' 2D is `pose2d` under simulated Gaussian noise of
      this std in pixels (`noise_2d='px'` training); None: the rows' own.
    missing_is_exact: rows with no 2D uncertainty at all (projected or
      exact 2D, neither a std nor a confidence) read as exact 2D, u = 0,
      with a warning; else refused.

  Raises:
    ValueError: the rows lack the field, naming it (unless
      `missing_is_exact`).
  """
  settings.one_of("diffpose.row_uncertainty", source, SOURCES)
  camera = ((_linearised_at(rows, noisy), image_space.camera_meta(rows))
            if representation.input_2d == "camera" and source == "sigma"
            else ())
  if sigma_px is not None:
    if source != "sigma":
      raise ValueError(
          "diffpose.row_uncertainty='confidence': training on simulated "
          "2D noise (noise_2d='px') has no detector confidence; use "
          "row_uncertainty='sigma' or noise_2d='data'")
    width = np.asarray(rows["intrinsics"], np.float32)[:, 4]  # [N]
    n, j = np.shape(rows["pose2d"])[:2]
    sigma = np.broadcast_to((float(sigma_px) * 2.0 / width)[:, None], (n, j))
    return model_variance(sigma, representation, *camera)
  field = FIELDS[source][1 if noisy else 0]
  known = {f for pair in FIELDS.values() for f in pair}
  if field not in rows and missing_is_exact and not known & set(rows):
    logging.warning(
        "diffpose: these rows hold no %r; their 2D is taken as exact "
        "(confidence 1, sigma 0), as projected 2D is", field)
    return np.zeros(np.shape(rows["pose2d"])[:2], np.float32)
  if field not in rows:
    raise ValueError(
        f"diffpose.initial_scope='per_row' with row_uncertainty={source!r} "
        f"reads each row's {field!r} [N, J], which this dataset's rows lack "
        f"(they hold {sorted(k for k in rows if k.startswith('pose2d'))}); "
        "give the dataset that field (a keypoint file: data.sigma_px, the "
        "detector's error in pixels, gives pose2d_sigma), or use "
        "initial_scope='global'")
  if source == "sigma":
    return model_variance(rows[field], representation, *camera)
  conf = np.asarray(rows[field], np.float32)
  checks.check_array(field, conf, ("N", representation.num_joints))
  return (1.0 - np.clip(conf, 0.0, 1.0)).astype(np.float32)


def calibrate_2d(err2d, unc2d, source: str) -> np.ndarray:
  """(c0, c1) per joint `[J, 2]`: u -> 2D variance (module docstring)."""
  err2d = np.asarray(err2d, np.float64)
  unc2d = np.asarray(unc2d, np.float64)
  j = unc2d.shape[1]
  if source == "sigma":
    return np.tile(np.asarray([[0.0, 1.0]], np.float32), (j, 1))
  sq = np.mean(err2d**2, axis=-1)  # [N, J]
  out = np.empty((j, 2), np.float32)
  for joint in range(j):
    x = np.stack([np.ones_like(unc2d[:, joint]), unc2d[:, joint]], -1)
    out[joint] = np.linalg.lstsq(x, sq[:, joint], rcond=None)[0]
  return out


def responsibilities(weights, means, scales, x) -> np.ndarray:
  """A diagonal mixture's posterior over its kernels, `[N, M]`.

  Args:
    weights: `[M]`; means, scales: `[M, ...]`; x: `[N, ...]` (same trailing
      shape).
  """
  x = np.asarray(x, np.float64).reshape(np.shape(x)[0], 1, -1)  # [N, 1, D]
  m = np.shape(weights)[0]
  mu = np.asarray(means, np.float64).reshape(1, m, -1)  # [1, M, D]
  sd = np.asarray(scales, np.float64).reshape(1, m, -1)
  log = (np.log(np.asarray(weights, np.float64))[None]
         - np.sum(np.log(sd) + 0.5 * ((x - mu) / sd) ** 2, axis=-1))  # [N, M]
  log = log - log.max(axis=1, keepdims=True)
  r = np.exp(log)
  return r / r.sum(axis=1, keepdims=True)


def fit_factor_3d(err3d, weights, means3d, scales3d, var2d) -> tuple:
  """(b0, b1, b2) per joint `[J, 3]` and the targets y `[N, J]`."""
  err3d = np.asarray(err3d, np.float64)  # [N, J, 3]
  r = responsibilities(weights, means3d, scales3d, err3d)  # [N, M]
  z2 = ((err3d[:, None] - np.asarray(means3d)[None])
        / np.asarray(scales3d)[None]) ** 2  # [N, M, J, 3]
  y = np.einsum("nm,nmj->nj", r, z2.mean(-1))  # [N, J]
  var2d = np.asarray(var2d, np.float64)
  mean = var2d.mean(axis=1)
  coef = np.empty((err3d.shape[1], 3), np.float32)
  for joint in range(err3d.shape[1]):
    x = np.stack([np.ones_like(mean), var2d[:, joint], mean], -1)  # [N, 3]
    coef[joint] = np.linalg.lstsq(x, y[:, joint], rcond=None)[0]
  return coef, y


def fit_per_row(key, err2d, err3d, unc2d, *, source: str, num_kernels: int,
                max_iters: int, tol: float, reg: float,
                info: dict | None = None):
  """The per-row H_K of the fit rows' errors (an `initial.Initial`).

  Args:
    key: PRNG key of EM's initialisation.
    err2d: `[N, J, 2]` truth - centre of the 2D (model units).
    err3d: `[N, J, 3]` truth - the encoder's 3D (model units).
    unc2d: `[N, J]` the rows' 2D uncertainty (`row_uncertainty`).
    source: 'sigma' or 'confidence'.
    num_kernels, max_iters, tol, reg: the mixture's EM (`gmm.fit_gmm`).
    info: facts to keep with the fit.

  Raises:
    gmm.GMMFitError: EM did not converge or met non-finite values.
  """
  sizes = {}
  err2d = checks.check_array("err2d", np.asarray(err2d, np.float32),
                             ("N", "J", 2), sizes=sizes)
  err3d = checks.check_array("err3d", np.asarray(err3d, np.float32),
                             ("N", "J", 3), sizes=sizes)
  unc2d = checks.check_array("unc2d", np.asarray(unc2d, np.float32),
                             ("N", "J"), sizes=sizes)
  n, j = sizes["N"], sizes["J"]
  fit = gmm_lib.fit_gmm(key, err3d.reshape(n, j * 3), int(num_kernels),
                        covariance="diag", max_iters=int(max_iters),
                        tol=float(tol), reg=float(reg))
  prior = fit.gmm.to_mixture_prior(event_shape=(j, 3))
  weights = np.asarray(prior.weights, np.float32)
  means3d = np.asarray(prior.means, np.float32)
  scales3d = np.asarray(prior.scales, np.float32)
  calib = calibrate_2d(err2d, unc2d, source)
  var2d = np.maximum(calib[:, 0] + calib[:, 1] * unc2d, 0.0)  # [N, J]
  coef, y = fit_factor_3d(err3d, weights, means3d, scales3d, var2d)
  floor = floor_2d(reg)
  m = weights.shape[0]
  # The 2D parts: mean 0; the std of the average row (each row has its own).
  std2d = np.sqrt(var2d.mean(0) + floor**2)  # [J]
  means = np.concatenate([np.zeros((m, j, 2), np.float32), means3d], -1)
  scales = np.concatenate([np.broadcast_to(std2d[None, :, None], (m, j, 2)),
                           scales3d], -1).astype(np.float32)
  pred = np.maximum(coef[:, 0] + coef[:, 1] * var2d
                    + coef[:, 2] * var2d.mean(1, keepdims=True), FLOOR_3D)
  info = dict(
      info or {}, kind="mixture", scope="per_row", row_uncertainty=source,
      num_kernels=int(num_kernels), num_rows=n,
      em_iterations=int(fit.num_iters),
      mean_log_likelihood=float(fit.final_log_likelihood),
      **initial_lib.error_summary(np.concatenate([err2d, err3d], -1)),
      floor_2d=floor, floor_3d=FLOOR_3D,
      mean_variance_2d=float(var2d.mean()),
      factor_3d=dict(mean_target=float(y.mean()),
                     mean_fitted=float(pred.mean()),
                     fitted_at_exact_2d=float(np.maximum(
                         coef[:, 0], FLOOR_3D).mean())))
  return initial_lib.Initial(
      weights=weights, means=means, scales=scales, centred=True, info=info,
      calib_2d=calib, coef_3d=coef,
      row_floors=np.asarray([floor, FLOOR_3D], np.float32))


__all__ = ["SOURCES", "FIELDS", "KINDS", "FLOOR_3D", "MIN_FLOOR_2D", "floor_2d",
           "model_variance", "row_uncertainty", "calibrate_2d",
           "responsibilities", "fit_factor_3d", "fit_per_row"]
