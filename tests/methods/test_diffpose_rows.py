"""DiffPose's per-row H_K and the kernel told to the denoiser, against
closed forms; and what its results record that it reads of a test row.

A per-row kernel of row n, joint j (`process.RowScales`): (u, v) variance
v_nj + floor_2d^2 with v = c0 + c1 u, (x, y, z) std sqrt(l2_nj) std_m with
l2 = b0 + b1 v_nj + b2 mean_i v_ni.  At the chain's last step h_K =
mu + a (h_0 - mu) + s std z, so over many draws of the kernel too its
moments are the mixture's: mean sum_m w_m (mu_m + a (h_0 - mu_m)) and
variance sum_m w_m ((s std_m)^2 + mean_m^2) - mean^2.
"""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import diffpose_quickstart
from experiments.report.pages import diffpose as diffpose_page
from jaxpose import config as config_lib
from jaxpose import methods
from jaxpose import settings
from jaxpose.core import priors
from jaxpose.core import sde as sde_lib
from jaxpose.evaluation import inputs
from jaxpose.methods.diffpose import initial as initial_lib
from jaxpose.methods.diffpose import process
from jaxpose.methods.diffpose import rows as rows_lib
from jaxpose.pose import representation as rep_lib

J = 3
S = process.STATE_DIM


def _mixture(means, scales, weights):
  return priors.MixturePrior(weights=jnp.asarray(weights, jnp.float32),
                             means=jnp.asarray(means, jnp.float32),
                             scales=jnp.asarray(scales, jnp.float32))


def _row_scales(coef=(1.0, 0.0, 0.0), calib=(0.0, 1.0), floor_2d=1e-3,
                floor_3d=0.01):
  return process.RowScales(
      calib_2d=jnp.tile(jnp.asarray([calib], jnp.float32), (J, 1)),
      coef_3d=jnp.tile(jnp.asarray([coef], jnp.float32), (J, 1)),
      floor_2d=jnp.float32(floor_2d), floor_3d=jnp.float32(floor_3d))


def test_exact_row_gets_the_3d_only_kernel_and_sigma_scales_u_v():
  scale = np.full((1, J, S), 0.3, np.float32)
  scale[..., 2:] = [0.2, 0.4, 0.6]
  var = np.array([[0.0] * J, [0.01] * J, [0.04] * J], np.float32)  # [3, J]
  shaped = np.asarray(_row_scales().shape(jnp.broadcast_to(scale, (3, J, S)),
                                          jnp.asarray(var)))
  # Sigma 0: the floor on (u, v), the kernel's own 3D std (b0 = 1).
  np.testing.assert_allclose(shaped[0, :, :2], 1e-3, rtol=1e-5)
  np.testing.assert_allclose(shaped[:, :, 2:], np.broadcast_to(
      scale[..., 2:], (3, J, 3)), rtol=1e-6)
  # (u, v) variance is the row's (plus the floor's): 4 x the variance.
  np.testing.assert_allclose(shaped[1:, :, :2] ** 2, np.broadcast_to(
      var[1:, :, None] + 1e-6, (2, J, 2)), rtol=1e-5)
  ratio = (shaped[2, :, :2] ** 2 - 1e-6) / (shaped[1, :, :2] ** 2 - 1e-6)
  np.testing.assert_allclose(ratio, 4.0, rtol=1e-4)
  # The 3D factor: l2 = b0 + b1 v_j + b2 mean(v), floored.
  rows = _row_scales(coef=(0.5, 10.0, 5.0))
  v = jnp.asarray([[0.0, 0.1, 0.2]])
  l2 = np.asarray(rows.factor_3d(v))[0]
  np.testing.assert_allclose(l2, 0.5 + 10 * np.array([0, 0.1, 0.2]) + 5 * 0.1,
                             rtol=1e-6)
  assert float(_row_scales(coef=(-1.0, 0.0, 0.0)).factor_3d(v)[0, 0]) == (
      pytest.approx(0.01))


def test_sigma_in_screen_units_becomes_root_relative_model_variance():
  rep = rep_lib.Representation(scale_2d=7.0, root_relative_2d=True)
  sigma = np.zeros((2, 17), np.float32)
  sigma[1] = 0.01
  sigma[1, 5] = 0.03  # an outlier keypoint
  var = rows_lib.model_variance(sigma, rep)
  np.testing.assert_array_equal(var[0], 0.0)  # exact 2D
  assert var[1, 0] == 0.0  # the root of root-relative 2D
  np.testing.assert_allclose(var[1, 1], 2 * (0.07) ** 2, rtol=1e-5)
  np.testing.assert_allclose(var[1, 5], (0.21**2 + 0.07**2), rtol=1e-5)
  absolute = rows_lib.model_variance(
      sigma, rep_lib.Representation(scale_2d=7.0, root_relative_2d=False))
  np.testing.assert_allclose(absolute[1, 0], 0.07**2, rtol=1e-5)


def test_row_uncertainty_reads_the_named_field_or_says_which_is_missing():
  rep = rep_lib.Representation(scale_2d=1.0, root_relative_2d=False)
  rows = dict(pose2d=np.zeros((2, 17, 2), np.float32),
              pose2d_sigma=np.full((2, 17), 0.5, np.float32),
              pose2d_noisy_confidence=np.full((2, 17), 0.75, np.float32),
              intrinsics=np.tile(np.asarray([[1, 1, 0, 0, 1000, 1000]],
                                            np.float32), (2, 1)))
  np.testing.assert_allclose(rows_lib.row_uncertainty(
      rows, rep, source="sigma", noisy=False), 0.25)
  np.testing.assert_allclose(rows_lib.row_uncertainty(
      rows, rep, source="confidence", noisy=True), 0.25)
  # Simulated noise of 5 px on a 1000 px image: 0.01 screen units.
  np.testing.assert_allclose(rows_lib.row_uncertainty(
      rows, rep, source="sigma", noisy=True, sigma_px=5.0), 1e-4, rtol=1e-5)
  with pytest.raises(ValueError, match="'pose2d_confidence'"):
    rows_lib.row_uncertainty(rows, rep, source="confidence", noisy=False)
  with pytest.raises(ValueError, match="no detector confidence"):
    rows_lib.row_uncertainty(rows, rep, source="confidence", noisy=True,
                             sigma_px=5.0)


def test_rows_only_evaluated_without_the_field_read_as_exact_2d(caplog):
  """A file of projected 2D carries no confidence: its rows count as
  exact (u = 0), with one warning; training rows without it are refused."""
  rep = rep_lib.Representation(scale_2d=1.0, root_relative_2d=False)
  rows = dict(pose2d=np.zeros((3, 17, 2), np.float32))
  for source in ("confidence", "sigma"):
    with caplog.at_level("WARNING"):
      u = rows_lib.row_uncertainty(rows, rep, source=source, noisy=False,
                                   missing_is_exact=True)
    np.testing.assert_array_equal(u, np.zeros((3, 17)))
    with pytest.raises(ValueError, match="rows lack"):
      rows_lib.row_uncertainty(rows, rep, source=source, noisy=False)
  assert sum("taken as exact" in r.message for r in caplog.records) == 2
  # A detector's rows (a confidence, no std) are not exact 2D: refused.
  detector = dict(rows, pose2d_confidence=np.full((3, 17), 0.9, np.float32))
  with pytest.raises(ValueError, match="'pose2d_sigma'"):
    rows_lib.row_uncertainty(detector, rep, source="sigma", noisy=False,
                             missing_is_exact=True)


def _per_row_process(k=50):
  sde = sde_lib.DiscreteVP.linear(k, 1e-4, 0.2)
  means = np.zeros((2, J, S), np.float32)
  means[0, :, 2:], means[1, :, 2:] = -0.5, 0.8
  scales = np.full((2, J, S), 1.0, np.float32)  # (u, v): replaced per row
  scales[0, :, 2:], scales[1, :, 2:] = 0.3, 0.6
  proc = process.MixtureProcess(
      sde=sde, mixture=_mixture(means, scales, [0.3, 0.7]),
      rows=_row_scales(coef=(1.0, 20.0, 0.0)))
  return proc, means, scales


def test_last_step_marginal_matches_the_per_row_h_k_by_sampling():
  proc, means, scales = _per_row_process()
  sde = proc.sde
  rng = np.random.default_rng(0)
  var = np.stack([np.zeros(J), np.full(J, 0.02)]).astype(np.float32)  # 2 rows
  h0_rows = rng.normal(size=(2, J, S)).astype(np.float32)
  centre_rows = rng.normal(size=(2, J, S)).astype(np.float32)
  n = 20_000
  h0 = jnp.asarray(np.repeat(h0_rows, n, 0))
  centre = jnp.asarray(np.repeat(centre_rows, n, 0))
  unc2d = jnp.asarray(np.repeat(var, n, 0))
  k = sde.num_steps - 1
  drawn = jax.jit(proc.perturb)(jax.random.key(1), h0, sde.time(k), centre,
                                unc2d)
  a = float(np.sqrt(np.prod(1 - np.linspace(1e-4, 0.2, 50))))
  s = math.sqrt(1 - a * a)
  w = np.array([0.3, 0.7])
  h_t = np.asarray(drawn.h_t, np.float64).reshape(2, n, J, S)
  for row in range(2):
    std = np.empty((2, J, S))
    std[..., :2] = np.sqrt(var[row] + 1e-6)[None, :, None]
    std[..., 2:] = np.sqrt(1.0 + 20.0 * var[row])[None, :, None] * scales[..., 2:]
    mu = centre_rows[row][None] + means  # [M, J, S]
    m_mean = mu + a * (h0_rows[row][None] - mu)  # each kernel's
    mean = np.einsum("m,mjs->js", w, m_mean)
    second = np.einsum("m,mjs->js", w, (s * std) ** 2 + m_mean**2)
    sd = np.sqrt(second - mean**2)
    np.testing.assert_array_less(np.abs(h_t[row].mean(0) - mean),
                                 5 * sd / math.sqrt(n))
    np.testing.assert_allclose(h_t[row].std(0), sd, rtol=0.03)
  # The exact row's (u, v) hardly move; the noisy row's spread by its sigma.
  assert np.all(h_t[0, :, :, :2].std(0) < 1e-2 + a)
  np.testing.assert_allclose(h_t[1, :, :, :2].std(0), np.full(
      (J, 2), s * np.sqrt(0.02 + 1e-6)), rtol=0.03)


def test_the_returned_kernel_index_is_the_drawn_component():
  weights = np.array([0.2, 0.5, 0.3])
  means = np.stack([np.full((J, S), v, np.float32) for v in (-10.0, 0.0, 10.0)])
  sde = sde_lib.DiscreteVP.linear(20, 1e-4, 0.5)
  proc = process.MixtureProcess(sde=sde, mixture=_mixture(
      means, np.full((3, J, S), 0.1), weights))
  n = 5000
  h0 = jnp.zeros((n, J, S))
  drawn = proc.perturb(jax.random.key(2), h0, 1.0, jnp.zeros((n, J, S)))
  index = np.asarray(drawn.kernel)
  # Well separated: the kernel's mean and the draw itself name it.
  np.testing.assert_array_equal(
      index, np.round(np.asarray(drawn.prior.mean)[:, 0, 0] / 10) + 1)
  np.testing.assert_array_equal(
      index, np.round(np.asarray(drawn.h_t).mean((1, 2)) / 10) + 1)
  freq = np.bincount(index, minlength=3) / n
  np.testing.assert_array_less(np.abs(freq - weights),
                               5 * np.sqrt(weights * (1 - weights) / n))
  # draw_kernel is the same draw as the prior alone (same key).
  kernel = proc.draw_kernel(jax.random.key(3), h0)
  np.testing.assert_array_equal(kernel.prior.mean,
                                proc.draw(jax.random.key(3), h0).mean)
  with pytest.raises(ValueError, match="unc2d"):
    _per_row_process()[0].draw_kernel(jax.random.key(0), h0)


def test_the_denoiser_reads_the_kernel_beside_its_features():
  seen = {}

  def apply_fn(params, x, t, features):
    seen["features"] = features
    return jnp.zeros_like(x)

  b, f, m = 4, 6, 3
  feats = jnp.ones((b, J, f))
  scale = jnp.full((b, J, S), 0.5)
  cond = process.Condition(feats, jnp.zeros((b, J, S)), scale,
                           jnp.zeros((b, J, S)), jnp.asarray([0, 2, 1, 2]))
  for kernel_input, extra in (("index", m), ("index_scale", m + S)):
    assert process.kernel_channels(kernel_input, m) == extra
    fn = process.make_noise_fn(apply_fn, network_input="state",
                               kernel_input=kernel_input, num_kernels=m)
    fn(None, jnp.zeros((b, J, S)), 0.5, cond)
    got = np.asarray(seen["features"])
    assert got.shape == (b, J, f + extra)
    np.testing.assert_array_equal(got[..., :f], 1.0)
    np.testing.assert_array_equal(got[:, 0, f:f + m], np.eye(m)[[0, 2, 1, 2]])
    assert np.all(got[:, :, f:f + m] == got[:, :1, f:f + m])  # every joint
    if kernel_input == "index_scale":
      np.testing.assert_allclose(got[..., f + m:], np.log(0.5), rtol=1e-6)
  assert process.kernel_channels("none", m) == 0
  with pytest.raises(ValueError, match="no kernel index"):
    process.make_noise_fn(apply_fn, network_input="state",
                          kernel_input="index", num_kernels=m)(
        None, jnp.zeros((b, J, S)), 0.5, cond._replace(kernel=None))
  with pytest.raises(settings.ConfigError, match="no condition path"):
    process.make_noise_fn(apply_fn, network_input="state", conditional=False,
                          kernel_input="index", num_kernels=m)


def test_fit_per_row_recovers_how_the_3d_error_grows_with_2d_noise():
  rng = np.random.default_rng(4)
  n, j = 6000, 4
  var = np.where(rng.random((n, 1)) < 0.3, 0.05, 0.0) * np.ones((1, j))
  true_l2 = 1.0 + 40.0 * var  # [n, j]: a noisy row's 3D error 3x wider
  err3d = (0.2 + 0.1 * np.sqrt(true_l2)[..., None]
           * rng.normal(size=(n, j, 3))).astype(np.float32)
  err2d = (np.sqrt(var)[..., None] * rng.normal(size=(n, j, 2))).astype(
      np.float32)
  fit = rows_lib.fit_per_row(jax.random.key(0), err2d, err3d, var,
                             source="sigma", num_kernels=1, max_iters=100,
                             tol=1e-6, reg=1e-6)
  assert fit.scope == "per_row" and fit.info["row_uncertainty"] == "sigma"
  np.testing.assert_array_equal(fit.means[..., :2], 0.0)
  np.testing.assert_allclose(fit.means[0, :, 2:], 0.2, atol=0.01)
  np.testing.assert_array_equal(fit.calib_2d, [[0.0, 1.0]] * j)
  # The fitted factors: their ratio between noisy and exact rows is the
  # truth's (the mixture's std holds their average).
  scales = fit.row_scales()
  l2 = np.asarray(scales.factor_3d(jnp.asarray([[0.0] * j, [0.05] * j])))
  np.testing.assert_allclose(l2[1] / l2[0], 3.0, rtol=0.1)
  exact_std = np.asarray(scales.shape(jnp.asarray(fit.scales),
                                      jnp.zeros((1, j))))[0, :, 2:]
  np.testing.assert_allclose(exact_std, 0.1, rtol=0.1)
  # Rows all of exact 2D: one 3D scale, the mixture's own.
  exact = rows_lib.fit_per_row(jax.random.key(0), 0 * err2d[:2000],
                               err3d[:2000],
                               np.zeros((2000, j)), source="sigma",
                               num_kernels=1, max_iters=100, tol=1e-6,
                               reg=1e-6)
  np.testing.assert_allclose(exact.coef_3d[:, 1:], 0.0, atol=1e-6)
  np.testing.assert_allclose(exact.coef_3d[:, 0], 1.0, rtol=0.02)


def test_confidence_is_calibrated_to_the_2d_error():
  rng = np.random.default_rng(5)
  conf = rng.uniform(0.2, 1.0, size=(20_000, 2)).astype(np.float32)
  var = 0.5 * (1.0 - conf)  # the 2D error's variance per axis
  err2d = np.sqrt(var)[..., None] * rng.normal(size=(20_000, 2, 2))
  calib = rows_lib.calibrate_2d(err2d, 1.0 - conf, "confidence")
  np.testing.assert_allclose(calib[:, 1], 0.5, rtol=0.05)
  np.testing.assert_allclose(calib[:, 0], 0.0, atol=0.01)


def test_a_per_row_initial_round_trips_and_a_global_one_keeps_its_arrays():
  rng = np.random.default_rng(6)
  err3d = rng.normal(size=(300, J, 3)).astype(np.float32)
  fit = rows_lib.fit_per_row(jax.random.key(0), np.zeros((300, J, 2)), err3d,
                             np.zeros((300, J)), source="sigma",
                             num_kernels=2, max_iters=200, tol=1e-4,
                             reg=1e-6)
  artefact = fit.to_artefact()
  back = initial_lib.Initial.from_artefact(artefact)
  assert back.scope == "per_row"
  assert back.to_artefact().digest() == artefact.digest()
  np.testing.assert_array_equal(back.row_floors, np.float32(
      [1e-3, rows_lib.FLOOR_3D]))
  glob = initial_lib.fit_initial(jax.random.key(0), np.concatenate(
      [np.zeros((300, J, 2), np.float32), err3d], -1), 1, max_iters=50,
      tol=1e-6, reg=1e-6)
  assert glob.scope == "global" and glob.row_scales() is None
  assert set(glob.to_artefact().arrays) == {"weights", "means", "scales",
                                            "centred"}
  with pytest.raises(ValueError, match="needs all three"):
    initial_lib.Initial(weights=fit.weights, means=fit.means,
                        scales=fit.scales, centred=True, info={},
                        coef_3d=fit.coef_3d)


def test_a_fingerprinted_key_added_later_is_left_out_at_its_default():
  sections = ("method", ("diffpose.kernel_input", "none"))
  old = dict(method="diffpose", diffpose=dict(network_input="state"))
  same = dict(method="diffpose", diffpose=dict(kernel_input="none"))
  told = dict(method="diffpose", diffpose=dict(kernel_input="index"))
  fp = lambda c: config_lib.fingerprint(c, sections)
  assert fp(old) == fp(same) == {"method": "diffpose"}
  assert fp(told) == {"method": "diffpose",
                      "diffpose": {"kernel_input": "index"}}



def _reads(scope: str, source: str):
  """What DiffPose's estimate reads beside the 2D, through its Method."""
  config = diffpose_quickstart.get_config()
  config.diffpose.update(initial_scope=scope, row_uncertainty=source)
  method, run = methods.parse(config)
  return method.reads(run, "estimate")


@pytest.mark.parametrize("scope, source, reads", [
    ("per_row", "sigma", "pose2d_sigma (the noise model's own record of each "
     "keypoint's error, outliers included: an oracle no detector gives)"),
    ("per_row", "confidence", "pose2d_confidence (a detector-like score)"),
    ("global", "sigma", "none"),
])
def test_results_record_what_h_k_reads_beside_the_encoders_2d(scope, source,
                                                              reads):
  got = _reads(scope, source)
  assert got.uncertainty == reads
  assert got.baseline == inputs.Reads() and got.baseline_figures == "encoder"
  records = inputs.records("noisy", got, {})
  ours, encoder = records["test_inputs"], records[inputs.BASELINE]
  # Reading each row's uncertainty, DiffPose sees more than its encoder:
  # not like for like; a global H_K reads the 2D alone, as the encoder.
  assert inputs.like_for_like(ours, encoder) == (scope == "global")
  assert inputs.sees_more(ours, encoder) == (
      [] if scope == "global" else [f"uncertainty: {reads}, baseline: none"])
  assert inputs.sees_more(encoder, ours) == []


def test_the_results_page_declares_what_the_evaluation_records():
  # Files written before the record: the page words the per-row H_K's
  # input as its evaluations now record it.
  assert diffpose_page._SIGMA == _reads("per_row", "sigma").uncertainty
