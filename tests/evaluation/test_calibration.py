"""Tests of jaxpose.evaluation.calibration against constructed cases:
hypotheses from the truth's own predictive law, over- and under-dispersed
ones, hand-computed energy scores and a brute-force pair sum."""
import itertools
import math

import numpy as np
import pytest

from jaxpose.evaluation import calibration
from jaxpose.evaluation import estimation
from jaxpose.evaluation import runner


def _gaussian_case(seed: int, *, h: int = 40, n: int = 300, j: int = 6,
                   scales=(1.0,)):
  """Truth ~ N(mu, s^2 I) and hypotheses ~ N(mu, (k s)^2 I) for each scale k.

  s varies log-uniformly over (pose, joint) from 5 to 100 mm, so a
  calibrated spread tracks the error.
  """
  rng = np.random.default_rng(seed)
  mu = rng.normal(size=(n, j, 3)) * 300
  s = np.exp(rng.uniform(np.log(5.0), np.log(100.0), size=(n, j, 1)))
  gt = mu + s * rng.normal(size=(n, j, 3))
  hyps = [mu + k * s * rng.normal(size=(h, n, j, 3)) for k in scales]
  return hyps, gt


def test_calibrated_hypotheses_cover_at_the_level_and_track_the_error():
  (hyps,), gt = _gaussian_case(0)
  res = calibration.calibration_metrics(hyps, gt)
  assert res["num_hypotheses"] == 40 and res["levels"] == [0.5, 0.9]
  assert res["max_central_level"] == pytest.approx(39 / 41)
  for key, level in (("0.5", 0.5), ("0.9", 0.9)):
    # 300 x 6 x 3 independent coordinates: standard error ~0.007.
    assert res["coverage"][key] == pytest.approx(level, abs=0.03)
    assert res["radial_coverage"][key] == pytest.approx(level, abs=0.04)
    np.testing.assert_allclose(res["per_axis_coverage"][key], level, atol=0.05)
    np.testing.assert_allclose(res["per_joint_coverage"][key], level, atol=0.07)
    np.testing.assert_allclose(res["per_joint_radial_coverage"][key], level, atol=0.1)
  assert res["spread_error_pearson"] > 0.5
  assert res["spread_error_spearman"] > 0.5
  assert min(res["per_joint_spread_error_pearson"]) > 0.3
  assert min(res["per_joint_spread_error_spearman"]) > 0.3
  assert res["exact_joints"] == [] and "note" not in res


def test_over_and_under_dispersed_hypotheses():
  (wide, narrow), gt = _gaussian_case(1, scales=(3.0, 0.1))
  wide = calibration.calibration_metrics(wide, gt)
  narrow = calibration.calibration_metrics(narrow, gt)
  # 3x: the central 50% interval is +-2.0 s (covers 96%), 90% is +-4.9 s.
  assert wide["coverage"]["0.5"] > 0.9 and wide["coverage"]["0.9"] > 0.99
  assert wide["radial_coverage"]["0.5"] > 0.9 and wide["radial_coverage"]["0.9"] > 0.99
  # 0.1x: +-0.07 s (covers 5%) and +-0.16 s (13%).
  assert narrow["coverage"]["0.5"] < 0.1 and narrow["coverage"]["0.9"] < 0.2
  assert narrow["radial_coverage"]["0.5"] < 0.05 and narrow["radial_coverage"]["0.9"] < 0.05


def test_energy_score_is_smallest_at_the_true_spread():
  hyps, gt = _gaussian_case(2, h=30, j=4, scales=(0.5, 1.0, 2.0))
  res = [calibration.calibration_metrics(x, gt) for x in hyps]
  for key in ("energy_score_mm", "mean_joint_energy_score_mm"):
    half, right, double = (r[key] for r in res)
    assert right < half and right < double, (key, half, right, double)


def test_energy_score_hand_case():
  # One pose, two joints, two hypotheses; truth (0, 0, 12) and the origin.
  gt = np.array([[[0.0, 0, 12], [0, 0, 0]]])  # [1, 2, 3]
  hyps = np.array([[[[3.0, 4, 0], [6, 0, 0]]],
                   [[[0.0, 0, 0], [0, 8, 0]]]])  # [2, 1, 2, 3]
  res = calibration.calibration_metrics(hyps, gt)
  # Joint 0: (13 + 12) / 2 - 5 / 2; joint 1: (6 + 8) / 2 - 10 / 2.
  np.testing.assert_allclose(res["per_joint_energy_score_mm"], [10.0, 2.0], atol=1e-4)
  assert res["mean_joint_energy_score_mm"] == pytest.approx(6.0, abs=1e-4)
  # The pose as one 6-vector.
  pose = (math.sqrt(205) + math.sqrt(208)) / 2 - math.sqrt(125) / 2
  assert res["energy_score_mm"] == pytest.approx(pose, abs=1e-4)


@pytest.mark.parametrize("h", [2, 3, 4, 7])
def test_energy_score_matches_all_distinct_pairs(h):
  rng = np.random.default_rng(h)
  hyps = rng.normal(size=(h, 5, 3, 3)) * 50
  gt = rng.normal(size=(5, 3, 3)) * 50
  res = calibration.calibration_metrics(hyps, gt)
  flat, flat_gt = hyps.reshape(h, 5, -1), gt.reshape(5, -1)
  term1 = np.linalg.norm(flat - flat_gt, axis=-1).mean(0)  # [N]
  pairs = [np.linalg.norm(flat[a] - flat[b], axis=-1)
           for a, b in itertools.permutations(range(h), 2)]
  expected = term1 - 0.5 * np.mean(pairs, axis=0)
  assert res["energy_score_mm"] == pytest.approx(expected.mean(), rel=1e-5)
  joint1 = np.linalg.norm(hyps - gt, axis=-1).mean(0)  # [N, J]
  joint_pairs = [np.linalg.norm(hyps[a] - hyps[b], axis=-1)
                 for a, b in itertools.permutations(range(h), 2)]
  np.testing.assert_allclose(res["per_joint_energy_score_mm"],
                             (joint1 - 0.5 * np.mean(joint_pairs, axis=0)).mean(0),
                             rtol=1e-5)


def test_interval_ends_are_weibull_quantiles():
  x = np.sort(np.random.default_rng(3).normal(size=(9, 4, 2)), axis=0)
  for p in (0.02, 0.05, 0.25, 0.5, 0.75, 0.95, 0.98):
    np.testing.assert_allclose(calibration._quantile_sorted(x, p),
                               np.quantile(x, p, axis=0, method="weibull"),
                               atol=1e-12)


def test_single_hypothesis_has_no_spread_figures():
  rng = np.random.default_rng(4)
  gt = rng.normal(size=(6, 5, 3)) * 100
  pred = gt + rng.normal(size=(6, 5, 3)) * 20
  res = calibration.calibration_metrics(pred[None], gt)
  for key in ("spread_error_pearson", "spread_error_spearman", "coverage",
              "radial_coverage", "per_axis_coverage", "per_joint_coverage",
              "per_joint_radial_coverage", "per_joint_spread_error_pearson"):
    assert res[key] is None, key
  assert "undefined" in res["note"]
  err = np.linalg.norm(pred - gt, axis=-1)  # [N, J]
  np.testing.assert_allclose(res["per_joint_energy_score_mm"], err.mean(0), rtol=1e-5)
  assert res["mean_joint_energy_score_mm"] == pytest.approx(err.mean(), rel=1e-5)
  assert res["energy_score_mm"] == pytest.approx(
      np.linalg.norm((pred - gt).reshape(6, -1), axis=-1).mean(), rel=1e-5)


def _assert_close(a, b, path="res"):
  if isinstance(a, dict):
    assert a.keys() == b.keys(), path
    for k in a:
      _assert_close(a[k], b[k], f"{path}[{k!r}]")
  elif isinstance(a, list):
    assert len(a) == len(b), path
    for i, (u, v) in enumerate(zip(a, b)):
      _assert_close(u, v, f"{path}[{i}]")
  elif isinstance(a, float):
    assert a == pytest.approx(b, rel=1e-5, abs=1e-6), path
  else:
    assert a == b, path


def test_chunks_do_not_change_the_figures():
  (hyps,), gt = _gaussian_case(5, h=8, n=23, j=4)
  whole = calibration.calibration_metrics(hyps, gt)
  assert whole == calibration.calibration_metrics(hyps, gt, chunk_poses=100)
  for chunk in (1, 5):
    _assert_close(calibration.calibration_metrics(hyps, gt, chunk_poses=chunk), whole)


def test_exact_joints_are_left_out_of_the_pooled_figures():
  (hyps,), gt = _gaussian_case(6, h=10, n=50, j=4)
  hyps[:, :, 0] = 0.0  # a root-relative root: every hypothesis and truth at 0
  gt[:, 0] = 0.0
  res = calibration.calibration_metrics(hyps, gt, levels=(0.8,))
  assert res["exact_joints"] == [0]
  assert res["per_joint_coverage"]["0.8"][0] is None
  assert res["per_joint_spread_error_pearson"][0] is None
  assert res["per_joint_energy_score_mm"][0] == 0.0
  # Every joint has N values, so the pooled coverage is the joints' mean.
  assert res["coverage"]["0.8"] == pytest.approx(
      np.mean(res["per_joint_coverage"]["0.8"][1:]))
  rest = calibration.calibration_metrics(hyps[:, :, 1:], gt[:, 1:], levels=(0.8,))
  assert res["spread_error_pearson"] == pytest.approx(rest["spread_error_pearson"])
  assert res["radial_coverage"] == pytest.approx(rest["radial_coverage"])


def test_bad_inputs_are_named():
  hyps, gt = np.zeros((3, 4, 5, 3)), np.zeros((4, 5, 3))
  with pytest.raises(ValueError, match=r"hyps_mm: no hypotheses \(H\)"):
    calibration.calibration_metrics(hyps[:0], gt)
  with pytest.raises(ValueError, match=r"hyps_mm: no poses \(N\)"):
    calibration.calibration_metrics(hyps[:, :0], gt[:0])
  with pytest.raises(ValueError, match=r"hyps_mm: no joints \(J\)"):
    calibration.calibration_metrics(hyps[:, :, :0], gt[:, :0])
  with pytest.raises(ValueError, match="gt_mm: expected shape"):
    calibration.calibration_metrics(hyps, gt[:3])
  for levels in ((), (0.5, 1.0), (0.0,), (0.5, 0.5), "ab"):
    with pytest.raises(ValueError, match="levels"):
      calibration.calibration_metrics(hyps, gt, levels=levels)
  with pytest.raises(ValueError, match="chunk_poses"):
    calibration.calibration_metrics(hyps, gt, chunk_poses=0)


def test_every_estimation_result_carries_calibration():
  (hyps,), gt = _gaussian_case(7, h=6, n=20, j=17)
  res = estimation.estimation_metrics(hyps, gt, hypotheses_list=(1, 6))
  assert res["calibration"] == calibration.calibration_metrics(hyps, gt)
  table = runner.format_table("estimate", estimation._calibration_rows(res["calibration"]))
  assert "coverage 50% / 90%" in table and "Pearson / Spearman" in table
  single = estimation.estimation_metrics(hyps[:1], gt)
  assert single["calibration"]["coverage"] is None
  assert single["calibration"]["mean_joint_energy_score_mm"] == pytest.approx(
      single["mpjpe_mm"], rel=1e-5)
