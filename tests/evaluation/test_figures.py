"""Tests of the generic pose figures of jaxpose.evaluation, by hand and
against closed forms."""
import jax
import numpy as np
import pytest

from jaxpose.evaluation import completion
from jaxpose.evaluation import estimation
from jaxpose.evaluation import generative
from jaxpose.pose.skeleton import H36M_17


def test_missing_joint_draws_are_limb_ends_and_deterministic():
  key = jax.random.key(3)
  vis = completion.draw_missing_joints(key, 400, 3)
  assert vis.shape == (400, 17)
  missing = vis == 0
  assert np.all(missing.sum(1) == 3)
  not_ends = np.setdiff1d(np.arange(17), H36M_17.limb_ends)
  assert not missing[:, not_ends].any()
  # Every limb end is drawn, about 3/8 of the time.
  np.testing.assert_allclose(missing[:, list(H36M_17.limb_ends)].mean(0), 3 / 8, atol=0.1)
  np.testing.assert_array_equal(vis, completion.draw_missing_joints(key, 400, 3))
  assert not np.array_equal(vis, completion.draw_missing_joints(jax.random.key(4), 400, 3))
  with pytest.raises(ValueError, match="missing_joints"):
    completion.draw_missing_joints(key, 4, 9)

  part = completion.part_visibility(5, "r_leg")
  assert np.array_equal(np.flatnonzero(part[0] == 0), [1, 2, 3])
  assert np.all(part == part[0])
  with pytest.raises(ValueError, match="valid: torso"):
    completion.part_visibility(5, "tail")


def test_completion_error_counts_missing_joints_only():
  rng = np.random.default_rng(0)
  gt = rng.normal(size=(5, 17, 3)) * 100
  vis = np.ones((5, 17), np.float32)
  vis[:, [3, 13]] = 0
  hyps = gt[None] + rng.normal(size=(3, 5, 17, 3)) * 50  # wrong everywhere
  hyps[:, :, [3, 13]] = gt[None][:, :, [3, 13]]  # ... but on missing joints
  res = completion.completion_metrics(hyps, gt, vis)
  assert res["missing_mpjpe_mm"] == pytest.approx(0.0, abs=1e-3)
  assert res["missing_min_mpjpe_mm"] == pytest.approx(0.0, abs=1e-3)
  assert res["all_mpjpe_mm"] > 5.0
  # Hand case: one hypothesis, missing joint 3 off by (3, 4, 0) -> 5 mm.
  one = gt[None].copy()
  one[0, :, 3] += [3.0, 4.0, 0.0]
  res = completion.completion_metrics(one, gt, vis)
  assert res["missing_mpjpe_mm"] == pytest.approx(2.5, abs=1e-3)  # (5 + 0) / 2
  assert res["all_mpjpe_mm"] == pytest.approx(5 / 17, abs=1e-3)
  with pytest.raises(ValueError, match="missing joint"):
    completion.completion_metrics(one, gt, np.ones((5, 17)))


def test_estimation_metrics_hand_case():
  gt = np.random.default_rng(1).normal(size=(4, 17, 3)) * 100
  shift = np.array([10.0, 0, 0])
  hyps = np.stack([gt + shift, gt - shift, gt + 3 * shift])  # [3, 4, 17, 3]
  res = estimation.estimation_metrics(hyps, gt, np.array([0, 0, 2, 2]),
                                      hypotheses_list=(1, 2, 10))
  assert res["mpjpe_mm"] == pytest.approx(10.0, abs=1e-3)  # mean is gt + shift
  assert res["best_of_h"]["1"]["mpjpe_mm"] == pytest.approx(10.0, abs=1e-3)
  assert set(res["best_of_h"]) == {"1", "2", "3"}
  assert res["min_mpjpe_mm"] == pytest.approx(10.0, abs=1e-3)
  assert res["mean_hypothesis_mpjpe_mm"] == pytest.approx(50 / 3, abs=1e-3)
  assert res["best_of_h"]["3"]["pa_mpjpe_mm"] == pytest.approx(0.0, abs=1e-2)
  assert res["apd_mm"] == pytest.approx((20 + 20 + 40) / 3, abs=1e-3)
  # Spread: distances 0, 20, 20 from the mean gt + shift.
  np.testing.assert_allclose(res["per_joint_spread_mm"], 40 / 3, atol=1e-3)
  # Energy score per joint: mean error (10 + 10 + 30) / 3 less half the
  # mean pair distance (20 + 20 + 40) / 3.
  np.testing.assert_allclose(res["calibration"]["per_joint_energy_score_mm"],
                             10 / 3, atol=1e-3)
  assert set(res["per_activity"]["mpjpe_mm"]) == {"0", "2"}


def test_frechet_distance_closed_forms():
  rng = np.random.default_rng(2)
  x = rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6))
  assert generative.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)
  # Diagonal covariances: |dm|^2 + sum (sqrt(a) - sqrt(b))^2.
  m1, m2 = np.array([1.0, 2.0, 0.0]), np.array([0.0, 0.0, 3.0])
  a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
  expected = 1 + 4 + 9 + np.sum((np.sqrt(a) - np.sqrt(b))**2)
  fd = generative.frechet_distance_from_stats(m1, np.diag(a), m2, np.diag(b))
  assert fd == pytest.approx(expected, rel=1e-9)
  # General covariances: tr sqrt(C1 C2) = sum sqrt(eigenvalues of C1 C2).
  l1, l2 = rng.normal(size=(2, 5, 5))
  c1, c2 = l1 @ l1.T + 0.1 * np.eye(5), l2 @ l2.T + 0.1 * np.eye(5)
  tr = np.sum(np.sqrt(np.linalg.eigvals(c1 @ c2).real))
  fd = generative.frechet_distance_from_stats(np.zeros(5), c1, np.ones(5), c2)
  assert fd == pytest.approx(5 + np.trace(c1) + np.trace(c2) - 2 * tr, rel=1e-8)
  # The sample form uses the sample means and covariances.
  y = rng.normal(size=(200, 6)) + 2.0
  assert generative.frechet_distance(x, y) == pytest.approx(
      generative.frechet_distance_from_stats(
          x.mean(0), np.cov(x.T), y.mean(0), np.cov(y.T)), rel=1e-9)


def test_nearest_neighbor_distance_hand_case():
  rng = np.random.default_rng(3)
  ref = rng.normal(size=(70, 17, 3)) * 300  # spread far apart
  query = ref[[5, 40]] + np.array([3.0, 4.0, 0.0])  # 5 mm off two of them
  np.testing.assert_allclose(generative.nearest_neighbor_distance(query, ref),
                             [5.0, 5.0], atol=1e-3)
  with pytest.raises(ValueError, match="reference_mm"):
    generative.nearest_neighbor_distance(query, ref[:, :16])


def test_generation_figures_of_a_set_against_itself():
  rng = np.random.default_rng(4)
  poses = rng.normal(size=(40, 17, 3)) * 100
  poses -= poses[:, :1]
  fig = generative.generation_figures(poses, poses)
  assert fig["fd_mm2"] == pytest.approx(0.0, abs=1e-6)
  assert fig["nn_mpjpe_mm"] == pytest.approx(0.0, abs=1e-4)
  assert fig["fd_sqrt_mm"] == pytest.approx(np.sqrt(fig["fd_mm2"]))
  assert fig["apd_mm"] > 100.0


def test_unknown_noise_raises():
  with pytest.raises(ValueError, match="noise_types"):
    completion.add_pose_noise(jax.random.key(0), np.zeros((2, 17, 3)), "salt", 1.0)


def test_empty_inputs_rejected_by_name():
  gt = np.zeros((4, 17, 3))
  hyps = np.zeros((2, 4, 17, 3))
  vis = np.ones((4, 17), np.float32)
  vis[:, 3] = 0.0
  for fn, extra in ((estimation.estimation_metrics, ()),
                    (completion.completion_metrics, (vis,))):
    with pytest.raises(ValueError, match=r"hyps_mm: no hypotheses \(H\)"):
      fn(hyps[:0], gt, *extra)
    with pytest.raises(ValueError, match=r"hyps_mm: no poses \(N\)"):
      fn(hyps[:, :0], gt[:0], *[e[:0] for e in extra])
  with pytest.raises(ValueError, match="activity: expected integer ids >= 0"):
    estimation.estimation_metrics(hyps, gt, np.array([0, 1, -1, 0]))
  with pytest.raises(ValueError, match="activity: expected shape"):
    estimation.estimation_metrics(hyps, gt, np.array([0, 1]))
  with pytest.raises(ValueError, match=r"reference_mm: no poses \(M\)"):
    generative.nearest_neighbor_distance(gt, gt[:0])
  with pytest.raises(ValueError, match=r"query_mm: no poses \(N\)"):
    generative.nearest_neighbor_distance(gt[:0], gt)
  with pytest.raises(ValueError, match="y: need at least 2 samples"):
    generative.frechet_distance(np.ones((3, 2)), np.ones((0, 2)))
  with pytest.raises(ValueError, match=r"x: no dimensions \(D\)"):
    generative.frechet_distance(np.ones((3, 0)), np.ones((3, 0)))
  with pytest.raises(ValueError, match="poses_mm: need at least 2 poses"):
    generative.generation_figures(gt[:1], gt)
