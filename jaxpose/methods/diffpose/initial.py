"""H_K, DiffPose's indeterminate initial distribution: fit, store, load.

Per row, H_K is centred on what is known before any diffusion: the observed
2D and the context encoder's 3D (the depth initialisation).  Its shape is
the distribution of the error truth - centre, per joint and coordinate of
the state [u, v, x, y, z]:

  2D: the 2D noise model, either the data's own (rows holding both
      `pose2d_exact` and `pose2d_noisy`, as jaxpose-mocap does) or Gaussian
      pixel noise of a configured sigma;
  3D: the encoder's error on training rows (its held-out ones when its
      method names them, `heldout_train_rows`), never the test split.

`fit_initial` fits that error by a Gaussian mixture (`core.gmm.fit_gmm`,
diagonal covariances over a pose's J * 5 numbers, so a kernel is a
pose-level mode of the encoder's error, such as one arm in front of the
body rather than behind it).  `standard_initial` is the released code's
prior instead; `rows.py` the per-row H_K.

An `Initial` is DiffPose's prepared artefact "initial": the runner stores
it beside the checkpoints, its digest in the checkpoint fingerprint, and
evaluation reads it back.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from jaxpose import checks
from jaxpose import settings
from jaxpose.core import gmm as gmm_lib
from jaxpose.core import priors as priors_lib
from jaxpose.methods import base
from jaxpose.methods.diffpose import process
from jaxpose.pose import image_space

ARTEFACT = "initial"
NOISE_2D_SOURCES = ("data", "px")


@dataclasses.dataclass(frozen=True)
class Initial:
  """A fitted H_K: mixture weights, means and stds of the error per joint.

  Attributes:
    weights: `[M]` kernel weights, summing to 1.
    means: `[M, J, 5]` kernel means of truth - centre (or of the state
      itself when not `centred`).
    scales: `[M, J, 5]` kernel standard deviations.
    centred: kernels around each row's centre (the paper) or around 0.
    info: JSON-able facts of the fit (rows, sources, log-likelihood, the
      encoder's error on the fit rows).
    calib_2d, coef_3d, row_floors: a per-row H_K's `process.RowScales`
      (`[J, 2]`, `[J, 3]`, `[2]` = floor_2d, floor_3d); None for one H_K
      for every row.  Then `scales`' (u, v) part is the average fit row's.
  """
  weights: np.ndarray  # [M]
  means: np.ndarray  # [M, J, 5]
  scales: np.ndarray  # [M, J, 5]
  centred: bool
  info: dict
  calib_2d: np.ndarray | None = None  # [J, 2]
  coef_3d: np.ndarray | None = None  # [J, 3]
  row_floors: np.ndarray | None = None  # [2]

  def __post_init__(self):
    sizes = {}
    checks.check_array("weights", self.weights, ("M",), sizes=sizes)
    checks.check_array("means", self.means, ("M", "J", process.STATE_DIM),
                       sizes=sizes)
    checks.check_array("scales", self.scales, ("M", "J", process.STATE_DIM),
                       sizes=sizes)
    if not np.all(np.asarray(self.scales) > 0):
      raise ValueError("scales: expected positive standard deviations")
    parts = (self.calib_2d, self.coef_3d, self.row_floors)
    if any(p is not None for p in parts):
      if any(p is None for p in parts):
        raise ValueError("calib_2d, coef_3d, row_floors: a per-row H_K "
                         "needs all three")
      checks.check_array("calib_2d", self.calib_2d, ("J", 2), sizes=sizes)
      checks.check_array("coef_3d", self.coef_3d, ("J", 3), sizes=sizes)
      checks.check_array("row_floors", self.row_floors, (2,))
      if not np.all(np.asarray(self.row_floors) > 0):
        raise ValueError("row_floors: expected positive floors")

  @property
  def scope(self) -> str:
    """'per_row' (each row's kernels its own) or 'global'."""
    return "global" if self.coef_3d is None else "per_row"

  def row_scales(self) -> process.RowScales | None:
    """The per-row H_K's `process.RowScales`, or None."""
    if self.coef_3d is None:
      return None
    return process.RowScales(
        calib_2d=jnp.asarray(self.calib_2d, jnp.float32),
        coef_3d=jnp.asarray(self.coef_3d, jnp.float32),
        floor_2d=jnp.asarray(self.row_floors[0], jnp.float32),
        floor_3d=jnp.asarray(self.row_floors[1], jnp.float32))

  @property
  def num_kernels(self) -> int:
    return int(np.shape(self.weights)[0])

  def to_prior(self) -> priors_lib.MixturePrior:
    return priors_lib.MixturePrior(
        weights=jnp.asarray(self.weights, jnp.float32),
        means=jnp.asarray(self.means, jnp.float32),
        scales=jnp.asarray(self.scales, jnp.float32))

  def to_artefact(self) -> base.Artefact:
    """The arrays (its digest is what identifies H_K) and the fit's facts;
    a global H_K's arrays are those it always had."""
    arrays = dict(weights=np.asarray(self.weights, np.float32),
                  means=np.asarray(self.means, np.float32),
                  scales=np.asarray(self.scales, np.float32),
                  centred=np.asarray(self.centred))
    if self.scope == "per_row":
      arrays.update(calib_2d=np.asarray(self.calib_2d, np.float32),
                    coef_3d=np.asarray(self.coef_3d, np.float32),
                    row_floors=np.asarray(self.row_floors, np.float32))
    return base.Artefact(arrays=arrays, info=self.info)

  @classmethod
  def from_artefact(cls, artefact: base.Artefact) -> "Initial":
    a = artefact.arrays
    extra = {k: a[k] for k in ("calib_2d", "coef_3d", "row_floors") if k in a}
    return cls(weights=a["weights"], means=a["means"], scales=a["scales"],
               centred=bool(a["centred"]), info=dict(artefact.info), **extra)


# ---------------------------------------------------------------- errors
def clean_and_noisy_2d(key, rows, representation, *, source: str,
                       sigma_px: float) -> tuple[np.ndarray, np.ndarray]:
  """(exact 2D, 2D under the noise model), both `[N, J, 2]` model units.

  Args:
    key: PRNG key of the simulated noise ('px').
    rows: split rows (screen-normalised `pose2d_exact`/`pose2d_noisy` for
      'data'; `pose2d_screen`, the exact input 2D, and `intrinsics` for
      'px'; `root_cam_mm` and `intrinsics` for camera 2D,
      `representation.input_2d='camera'`).
    representation: `pose.representation.Representation` (screen -> model).
    source: 'data' (the rows' own exact and noisy 2D) or 'px' (Gaussian
      noise of `sigma_px` pixels per axis on the input 2D; 0: none).
    sigma_px: the 'px' noise's std in pixels.
  """
  settings.one_of("diffpose.noise_2d", source, NOISE_2D_SOURCES)
  # Camera 2D converts each row, noisy or exact, with its own camera.
  meta = image_space.camera_meta(rows)
  to_model = lambda p: np.asarray(representation.pose2d_to_model(
      np.asarray(p, np.float32), meta), np.float32)
  if source == "data":
    missing = [k for k in ("pose2d_exact", "pose2d_noisy") if k not in rows]
    if missing:
      raise ValueError(
          f"diffpose.noise_2d='data': the training rows lack {missing} (the "
          "dataset gives one 2D only); use diffpose.noise_2d='px' with "
          "diffpose.noise_2d_px=<sigma in pixels>")
    return to_model(rows["pose2d_exact"]), to_model(rows["pose2d_noisy"])
  if not sigma_px >= 0:
    raise ValueError(f"diffpose.noise_2d_px: expected a std >= 0 in pixels, "
                     f"got {sigma_px!r}")
  if "intrinsics" not in rows:
    raise ValueError("diffpose.noise_2d='px' needs the rows' image width "
                     "(the 'intrinsics' field), which this dataset lacks; "
                     "use diffpose.noise_2d='data'")
  screen = np.asarray(rows["pose2d_screen"], np.float32)  # [N, J, 2]
  width = np.asarray(rows["intrinsics"], np.float32)[:, 4]  # [N]
  noise_px = sigma_px * np.asarray(jax.random.normal(key, screen.shape))
  # Screen units are 2 / width per pixel (cameras.normalize_screen).
  noisy = screen + noise_px * (2.0 / width)[:, None, None]
  return to_model(screen), to_model(noisy)


def error_summary(error) -> dict:
  """RMS per coordinate of the 2D and 3D parts and per joint (model units)."""
  error = np.asarray(error, np.float64)
  e2, e3 = error[..., :2], error[..., 2:]
  return dict(rms_2d=float(np.sqrt(np.mean(e2**2))),
              rms_3d=float(np.sqrt(np.mean(e3**2))),
              per_joint_rms_3d=[float(v) for v in
                                np.sqrt(np.mean(e3**2, axis=(0, 2)))])


# ---------------------------------------------------------------- fits
def fit_initial(key, error, num_kernels: int, *, max_iters: int, tol: float,
                reg: float, info: dict | None = None) -> Initial:
  """The paper's H_K: a Gaussian mixture of the error truth - centre.

  Args:
    key: PRNG key of the EM initialisation.
    error: `[N, J, 5]` truth - centre on the fit rows (model units).
    num_kernels: M (1: a single Gaussian).
    max_iters, tol, reg: EM settings (`gmm.fit_gmm`).
    info: facts to keep with the fit.

  Raises:
    gmm.GMMFitError: EM did not converge or met non-finite values.
  """
  error = np.asarray(error, np.float32)
  checks.check_array("error", error, ("N", "J", process.STATE_DIM))
  n, j, s = error.shape
  fit = gmm_lib.fit_gmm(key, error.reshape(n, j * s), int(num_kernels),
                        covariance="diag", max_iters=int(max_iters),
                        tol=float(tol), reg=float(reg))
  prior = fit.gmm.to_mixture_prior(event_shape=(j, s))
  info = dict(info or {}, kind="mixture", num_kernels=int(num_kernels),
              num_rows=n, em_iterations=int(fit.num_iters),
              mean_log_likelihood=float(fit.final_log_likelihood),
              **error_summary(error))
  return Initial(weights=np.asarray(prior.weights, np.float32),
                 means=np.asarray(prior.means, np.float32),
                 scales=np.asarray(prior.scales, np.float32), centred=True,
                 info=info)


def standard_initial(error, *, scale_3d: float, floor: float,
                     info: dict | None = None) -> Initial:
  """The released code's prior: N(0, diag(std^2)) around 0, not the row.

  std is the 2D error's RMS (at least `floor`) on (u, v) and `scale_3d` on
  (x, y, z), the same for every joint.
  """
  error = np.asarray(error, np.float32)
  checks.check_array("error", error, ("N", "J", process.STATE_DIM))
  if not scale_3d > 0:
    raise ValueError(f"diffpose.scale_3d: expected > 0, got {scale_3d!r}")
  j = error.shape[1]
  summary = error_summary(error)
  std = np.empty((1, j, process.STATE_DIM), np.float32)
  std[..., :2] = max(summary["rms_2d"], float(floor))
  std[..., 2:] = scale_3d
  info = dict(info or {}, kind="standard", num_kernels=1,
              num_rows=int(error.shape[0]), **summary)
  return Initial(weights=np.ones((1,), np.float32),
                 means=np.zeros_like(std), scales=std, centred=False,
                 info=info)


def match_start_step(sde, rms_3d: float, scale_3d: float) -> int:
  """The step k whose noise std s_k * scale_3d is nearest the encoder's
  RMS 3D error per coordinate (the released code's refiner start)."""
  stds = np.sqrt(1.0 - np.asarray(sde.alphas_cumprod)) * float(scale_3d)
  return int(np.argmin(np.abs(stds - float(rms_3d))))


__all__ = ["ARTEFACT", "NOISE_2D_SOURCES", "Initial", "clean_and_noisy_2d",
           "error_summary", "fit_initial", "standard_initial",
           "match_start_step"]
