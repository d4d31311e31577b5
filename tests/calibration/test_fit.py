"""Calibrations of hypotheses, checked against closed forms: Gaussian
hypotheses drawn with the wrong spread miss their level by a known amount
and, calibrated on one set of rows, reach it on fresh ones."""
import json
import math

import numpy as np
import pytest

from jaxpose.calibration import fit as cf
from jaxpose.evaluation import calibration

SIGMA = 10.0  # mm, the truth's spread about each pose's centre
H, N, J = 200, 300, 5


def _phi(x: float) -> float:
  return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _z(p: float) -> float:
  """The standard normal p-quantile (bisection on _phi)."""
  lo, hi = -10.0, 10.0
  for _ in range(80):
    mid = (lo + hi) / 2
    lo, hi = (mid, hi) if _phi(mid) < p else (lo, mid)
  return (lo + hi) / 2


def expected_coverage(ratio: float, level: float) -> float:
  """Coverage of the central `level` interval of N(mu, (ratio SIGMA)^2)
  hypotheses for a truth ~ N(mu, SIGMA^2): 2 Phi(ratio z) - 1."""
  return 2.0 * _phi(ratio * _z((1.0 + level) / 2.0)) - 1.0


def draw(seed: int, ratio: float, *, n: int = N, tails: str = "normal"):
  """(hypotheses [H, n, J, 3], truth [n, J, 3]) mm; joint 0 exact (0)."""
  rng = np.random.default_rng(seed)
  centre = rng.normal(size=(n, J, 3)) * 100.0
  noise = (rng.standard_t(3, size=(n, J, 3)) / math.sqrt(3.0) if tails == "t3"
           else rng.normal(size=(n, J, 3)))
  gt = centre + SIGMA * noise
  hyps = centre[None] + ratio * SIGMA * rng.normal(size=(H, n, J, 3))
  gt[:, 0], hyps[:, :, 0] = 0.0, 0.0  # a root: no spread, no error
  return hyps.astype(np.float32), gt.astype(np.float32)


@pytest.mark.parametrize("ratio", [0.5, 2.0])
def test_wrong_spread_misses_the_level_as_the_normal_cdf_says(ratio):
  hyps, gt = draw(0, ratio)
  cov = calibration.calibration_metrics(hyps, gt)["coverage"]
  for level in cf.LEVELS:
    assert cov[calibration.level_key(level)] == pytest.approx(
        expected_coverage(ratio, level), abs=0.03)
  # The search's coverage is calibration_metrics' own, at any scale.
  scales = [0.5, 1.0, 2.0]
  ours = cf.scale_coverage(hyps, gt, scales)
  mean = hyps.mean(0, keepdims=True)
  for s, row in zip(scales, ours):
    scaled = mean + s * (hyps - mean)
    theirs = calibration.calibration_metrics(scaled, gt)["coverage"]
    np.testing.assert_allclose(row, [theirs["0.5"], theirs["0.9"]], atol=2e-3)


@pytest.mark.parametrize("ratio", [0.5, 2.0])
@pytest.mark.parametrize("kind", cf.KINDS)
def test_fitted_on_some_rows_it_reaches_the_level_on_fresh_ones(kind, ratio):
  hyps, gt = draw(1, ratio)
  cal = cf.fit(kind, hyps, gt, fitted_on={"task": "estimate"})
  assert cal.fitted_on == {"task": "estimate", "num_rows": N,
                           "num_hypotheses": H}
  if kind == "spread_scale":
    # Nearly 1 / ratio (the mean of H hypotheses is off by ratio / sqrt(H)).
    assert cal.scale * ratio == pytest.approx(1.0, abs=0.08)
  fresh_hyps, fresh_gt = draw(2, ratio)
  after = cf.coverage_after(cal, fresh_hyps, fresh_gt)
  for level in cf.LEVELS:
    key = calibration.level_key(level)
    assert after["coverage"][key] == pytest.approx(level, abs=0.03)
    assert after["radial_coverage"][key] == pytest.approx(level, abs=0.05)
  assert after["exact_joints"] == [0]
  assert after["per_joint_coverage"]["0.9"][0] is None
  # The mean, hence its MPJPE, is what it was.
  mean_mpjpe = np.linalg.norm(fresh_hyps.mean(0) - fresh_gt, axis=-1).mean()
  assert after["mean_mpjpe_mm"] == pytest.approx(mean_mpjpe, rel=1e-5)
  if kind == "spread_scale":
    np.testing.assert_allclose(cf.apply(cal, fresh_hyps).mean(0),
                               fresh_hyps.mean(0), atol=1e-3)
    assert "energy_score_mm" in after
  else:
    with pytest.raises(ValueError, match="intervals, not hypotheses"):
      cf.apply(cal, fresh_hyps)


@pytest.mark.parametrize("ratio", [0.5, 2.0])
def test_coordinate_scores_are_what_conformal_intervals_compare_with_q(ratio):
  hyps, gt = draw(3, ratio)
  scores = cf.coordinate_scores(hyps, gt)
  assert scores.shape == (N * (J - 1) * 3,)  # the exact root left out
  # |y - m| / sigma with sigma ~ ratio SIGMA and y - m ~ N(0, SIGMA^2 (1 +
  # ratio^2 / H)): its L-quantile is z((1 + L) / 2) sqrt(1 + ratio^2 / H) / ratio.
  for level in cf.LEVELS:
    assert np.quantile(scores, level) == pytest.approx(
        _z((1 + level) / 2) * math.sqrt(1 + ratio**2 / H) / ratio, rel=0.06)
  q = {"0.5": 1.0 / ratio, "0.9": 1.7 / ratio}
  cal = cf.Calibration("conformal", cf.LEVELS, quantiles=q, radial_quantiles=q)
  after = cf.coverage_after(cal, hyps, gt)["coverage"]
  for key, q_level in q.items():
    assert after[key] == pytest.approx(np.mean(scores <= q_level), abs=1e-12)


def test_choose_keeps_the_simpler_unless_conformal_is_clearly_better():
  hyps, gt = draw(3, 0.5)
  cal, report = cf.choose(hyps, gt, groups=np.arange(N) // 10)
  assert report["kept"] == cal.kind == "spread_scale"  # both reach the levels
  assert report["folds"] == [150, 150]
  for kind in cf.KINDS:
    cand = report["candidates"][kind]
    assert cand["cross_fitted_error"] < 0.03
    assert cand["cross_fitted_error"] == pytest.approx(
        cf.worst_error(cand["cross_fitted_coverage"], cf.LEVELS))
  assert report["before"]["0.9"] == pytest.approx(expected_coverage(0.5, 0.9),
                                                  abs=0.03)
  json.dumps(report)  # JSON-able as it is
  # Errors with heavier tails than the hypotheses: no single scale serves
  # both levels, per-level quantiles do.
  hyps, gt = draw(4, 1.0, tails="t3")
  cal, report = cf.choose(hyps, gt)
  errors = {k: v["cross_fitted_error"] for k, v in report["candidates"].items()}
  assert errors["conformal"] < errors["spread_scale"] - cf.PREFER_SIMPLER
  assert report["kept"] == cal.kind == "conformal"


def test_json_round_trip_and_malformed_values():
  hyps, gt = draw(5, 2.0, n=40)
  for kind in cf.KINDS:
    cal = cf.fit(kind, hyps, gt, fitted_on={"rows": np.arange(3)})
    text = json.dumps(cal.to_json() | {"fitted_on": {"rows": [0, 1, 2]}})
    back = cf.Calibration.from_json(json.loads(text))
    assert back.kind == kind and back.levels == cf.LEVELS
    assert back.scale == cal.scale and back.quantiles == cal.quantiles
  with pytest.raises(ValueError, match="kind: expected one of"):
    cf.Calibration.from_json({"kind": "temperature", "levels": [0.5]})
  with pytest.raises(ValueError, match="finite scale > 0"):
    cf.Calibration.from_json({"kind": "spread_scale", "levels": [0.5],
                              "scale": -1.0})
  with pytest.raises(ValueError, match="quantiles value > 0 per level"):
    cf.Calibration.from_json({"kind": "conformal", "levels": [0.5, 0.9],
                              "quantiles": {"0.5": 1.0}})
  with pytest.raises(ValueError, match="expected a dict"):
    cf.Calibration.from_json([])


def test_bad_input_is_named():
  hyps, gt = draw(6, 1.0, n=30)
  bad = hyps.copy()
  bad[3, 7, 2, 1] = np.nan
  with pytest.raises(ValueError, match="hyps_mm: .*NaN"):
    cf.fit("spread_scale", bad, gt)
  with pytest.raises(ValueError, match="expected H >= 2"):
    cf.fit("conformal", hyps[:1], gt)
  with pytest.raises(ValueError, match=r"gt_mm: expected shape .* with N=30"):
    cf.fit("spread_scale", hyps, gt[:20])
  with pytest.raises(ValueError, match="too few to fit a calibration"):
    cf.fit("spread_scale", hyps[:, :cf.MIN_ROWS - 1], gt[:cf.MIN_ROWS - 1])
  with pytest.raises(ValueError, match="too few to fit"):
    cf.choose(hyps[:, :2 * cf.MIN_ROWS - 1], gt[:2 * cf.MIN_ROWS - 1])
  with pytest.raises(ValueError, match="kind: expected one of"):
    cf.fit("temperature", hyps, gt)
  with pytest.raises(ValueError, match="levels"):
    cf.fit("spread_scale", hyps, gt, levels=(0.5, 1.0))
  with pytest.raises(ValueError, match="every joint is exact"):
    cf.fit("spread_scale", np.zeros_like(hyps), np.zeros_like(gt))
  with pytest.raises(ValueError, match="groups: expected shape"):
    cf.choose(hyps, gt, groups=np.arange(5))
