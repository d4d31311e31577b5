"""Tests of jaxpose.evaluation: the metrics by hand and closed forms, the
tasks end to end with an "oracle" score whose answer is known.

The oracle is the exact score of an isotropic Gaussian N(mu, sigma0^2 I) in
model units, ignoring the condition: with a small sigma0 every sample is
mu (up to sigma0), so every error the suite reports is predictable from mu
and the ground truth alone.  Those tests sample with DDIM, which is stable
for so narrow a target at a few steps (Euler-Maruyama is not: its last
steps amplify x - mu by 1 - g^2 dt / s^2 < -1).
"""
import dataclasses
import json
import math

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from experiments.configs import quickstart
from jaxpose import evaluation
from jaxpose import run_lib
from jaxpose.pose.skeleton import H36M_17


def _tiny_config():
  c = quickstart.get_config()
  c.model.update(hidden=32, embed_dim=16, num_groups=8)
  c.data.update(n_train=200, n_test=24)
  return c


@pytest.fixture(scope="module")
def exp():
  return run_lib.build(_tiny_config())


def _oracle(exp, sigma0):
  """exp with the exact score of N(mu, sigma0^2 I), mu the mean train pose."""
  mu = jnp.asarray(exp.splits["train"]["pose3d"].reshape(-1, 51).mean(0))
  sde = exp.sde

  def score_fn(params, x, t, cond):
    del params, cond
    a, s = sde.mean_coeff(t), sde.marginal_std(t)
    return -(x - a * mu) / (a**2 * sigma0**2 + s**2)

  mu_mm = np.asarray(exp.representation.pose3d_from_model(mu.reshape(17, 3)))
  return dataclasses.replace(exp, score_fn=score_fn), mu_mm


def _eval_config(**kw):
  c = ml_collections.ConfigDict(dict(
      task="estimate", sampler="ddim", single_sampler="ddim", num_steps=12,
      eps=1e-3,
      num_hypotheses=4, num_poses=10, batch_poses=4, use_ema=True,
      plot_poses=1, plot_hypotheses=2, hypotheses_list=(1, 2, 50),
      missing_joints=(2,), missing_parts=("l_arm",), noise_levels_mm=(10.0,),
      noise_types=("gaussian",), num_generate=10, batch_generate=8))
  c.update(kw)
  return c


def _all_finite(obj):
  if isinstance(obj, dict):
    return all(_all_finite(v) for v in obj.values())
  if isinstance(obj, list):
    return all(_all_finite(v) for v in obj)
  if obj is None:
    return False
  if isinstance(obj, float):
    return math.isfinite(obj)
  return True


def test_every_task_writes_json_and_oracle_figures(exp, tmp_path, capsys):
  sigma0 = 1e-3  # 1 mm
  oracle, mu_mm = _oracle(exp, sigma0)
  cfg = _eval_config()
  gt = exp.splits["test"]["pose3d_mm"][:10]
  mu_err = np.linalg.norm(mu_mm[None] - gt, axis=-1)  # [N, J]
  for task in evaluation.TASKS:
    res = evaluation.run_task(task, exp=oracle, params=None, config_eval=cfg,
                              key=jax.random.key(0), workdir=str(tmp_path))
    on_disk = json.loads((tmp_path / "eval" / f"{task}.json").read_text())
    assert on_disk == res
    for field in ("task", "num_poses", "num_hypotheses", "sampler",
                  "num_steps", "input_2d", "eps", "data"):
      assert field in res, (task, field)
    assert res["task"] == task and res["input_2d"] == "exact"
    assert _all_finite(res), task
    for png in res["plots"]:
      assert (tmp_path / "eval" / png).stat().st_size > 1000
    assert task in capsys.readouterr().out

    if task == "estimate":
      assert res["num_poses"] == 10 and res["num_hypotheses"] == 4
      # Every hypothesis is mu (to ~1 mm): errors are mu's own errors.
      assert res["mpjpe_mm"] == pytest.approx(mu_err.mean(), abs=1.0)
      assert sorted(res["best_of_h"], key=int) == ["1", "2", "4"]
      curve = [res["best_of_h"][k]["mpjpe_mm"] for k in ("1", "2", "4")]
      assert curve[0] >= curve[1] >= curve[2]
      assert len(res["per_joint_mpjpe_mm"]) == 17
      np.testing.assert_allclose(res["per_joint_mpjpe_mm"], mu_err.mean(0), atol=1.0)
      assert res["apd_mm"] < 2.0 and res["activity_names"][0] == "standing"
      assert (tmp_path / "eval" / "estimate_error_vs_h.png").exists()
    if task == "estimate_single":
      assert res["num_hypotheses"] == 1 and res["sampler"] == "ddim"
      assert res["mpjpe_mm"] == pytest.approx(mu_err.mean(), abs=1.0)
    if task == "complete3d":
      # Visible joints are imputed exactly, missing ones come out as mu.
      part = res["settings"][1]
      assert part["name"] == "part l_arm"
      arm = list(H36M_17.parts["l_arm"])
      assert part["missing_mpjpe_mm"] == pytest.approx(mu_err[:, arm].mean(), abs=1.0)
      assert part["all_mpjpe_mm"] == pytest.approx(mu_err[:, arm].sum(1).mean() / 17, abs=0.5)
      assert res["settings"][0]["missing_joints_per_pose"] == 2.0
    if task == "denoise":
      (s,) = res["settings"]
      # 16 noisy joints of 17, E|N(0, s^2 I_3)| = s sqrt(8 / pi).
      expected = 10.0 * math.sqrt(8 / math.pi) * 16 / 17
      assert s["mpjpe_before_mm"] == pytest.approx(expected, rel=0.1)
    if task == "generate":
      assert res["num_generated"] == 10 and res["num_real_reference"] == 12
      assert res["generated"]["apd_mm"] < 2.0  # all samples ~ mu
      # Generated poses all sit at mu: nearest real pose is mu's nearest.
      real = exp.splits["test"]["pose3d_mm"]
      nn_mu = np.linalg.norm(real - mu_mm, axis=-1).mean(-1)  # [N]
      assert res["generated"]["nn_mpjpe_mm"] >= nn_mu.min() - 1.0
      assert res["real_vs_real"]["apd_mm"] > 20.0
      # The training-poses row scores real poses: spread like real ones.
      assert res["train_vs_real"]["apd_mm"] > 20.0


def test_untrained_network_runs_completion_and_denoising(exp, tmp_path):
  cfg = _eval_config(num_poses=6, num_hypotheses=2, num_steps=5,
                     sampler="euler_maruyama", single_sampler="deterministic",
                     missing_joints=(1,), missing_parts=(),
                     output_suffix="noisy2d")
  for task in ("complete2d", "estimate_single", "denoise"):
    res = evaluation.run_task(task, exp=exp, params=exp.init_params,
                              config_eval=cfg, key=jax.random.key(1),
                              workdir=str(tmp_path))
    assert _all_finite(res)
    assert (tmp_path / "eval" / f"{task}_noisy2d.json").exists()
    assert not (tmp_path / "eval" / f"{task}.json").exists()


def test_denoise_without_noise_at_tiny_time_keeps_the_pose(exp, tmp_path):
  oracle, _ = _oracle(exp, 0.2)  # a wide prior barely moves a pose in t < 2e-3
  cfg = _eval_config(noise_levels_mm=(0.0,), noise_types=("uniform",),
                     denoise_t_start=2e-3, eps=1e-3, plot_poses=1)
  res = evaluation.run_task("denoise", exp=oracle, params=None, config_eval=cfg,
                            key=jax.random.key(2), workdir=str(tmp_path))
  (s,) = res["settings"]
  assert s["mpjpe_before_mm"] == 0.0
  assert s["mpjpe_after_mm"] < 1.0
  with pytest.raises(ValueError, match="denoise_t_start"):
    evaluation.run_task("denoise", exp=oracle, params=None,
                        config_eval=_eval_config(denoise_t_start=1e-3),
                        key=jax.random.key(2), workdir=str(tmp_path))


def test_missing_joint_draws_are_limb_ends_and_deterministic():
  key = jax.random.key(3)
  vis = evaluation.draw_missing_joints(key, 400, 3)
  assert vis.shape == (400, 17)
  missing = vis == 0
  assert np.all(missing.sum(1) == 3)
  not_ends = np.setdiff1d(np.arange(17), H36M_17.limb_ends)
  assert not missing[:, not_ends].any()
  # Every limb end is drawn, about 3/8 of the time.
  np.testing.assert_allclose(missing[:, list(H36M_17.limb_ends)].mean(0), 3 / 8, atol=0.1)
  np.testing.assert_array_equal(vis, evaluation.draw_missing_joints(key, 400, 3))
  assert not np.array_equal(vis, evaluation.draw_missing_joints(jax.random.key(4), 400, 3))
  with pytest.raises(ValueError, match="missing_joints"):
    evaluation.draw_missing_joints(key, 4, 9)

  part = evaluation.part_visibility(5, "r_leg")
  assert np.array_equal(np.flatnonzero(part[0] == 0), [1, 2, 3])
  assert np.all(part == part[0])
  with pytest.raises(ValueError, match="valid: torso"):
    evaluation.part_visibility(5, "tail")


def test_completion_error_counts_missing_joints_only():
  rng = np.random.default_rng(0)
  gt = rng.normal(size=(5, 17, 3)) * 100
  vis = np.ones((5, 17), np.float32)
  vis[:, [3, 13]] = 0
  hyps = gt[None] + rng.normal(size=(3, 5, 17, 3)) * 50  # wrong everywhere
  hyps[:, :, [3, 13]] = gt[None][:, :, [3, 13]]  # ... but on missing joints
  res = evaluation.completion_metrics(hyps, gt, vis)
  assert res["missing_mpjpe_mm"] == pytest.approx(0.0, abs=1e-3)
  assert res["missing_min_mpjpe_mm"] == pytest.approx(0.0, abs=1e-3)
  assert res["all_mpjpe_mm"] > 5.0
  # Hand case: one hypothesis, missing joint 3 off by (3, 4, 0) -> 5 mm.
  one = gt[None].copy()
  one[0, :, 3] += [3.0, 4.0, 0.0]
  res = evaluation.completion_metrics(one, gt, vis)
  assert res["missing_mpjpe_mm"] == pytest.approx(2.5, abs=1e-3)  # (5 + 0) / 2
  assert res["all_mpjpe_mm"] == pytest.approx(5 / 17, abs=1e-3)
  with pytest.raises(ValueError, match="missing joint"):
    evaluation.completion_metrics(one, gt, np.ones((5, 17)))


def test_estimation_metrics_hand_case():
  gt = np.random.default_rng(1).normal(size=(4, 17, 3)) * 100
  shift = np.array([10.0, 0, 0])
  hyps = np.stack([gt + shift, gt - shift, gt + 3 * shift])  # [3, 4, 17, 3]
  res = evaluation.estimation_metrics(hyps, gt, np.array([0, 0, 2, 2]),
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
  assert set(res["per_activity"]["mpjpe_mm"]) == {"0", "2"}


def test_frechet_distance_closed_forms():
  rng = np.random.default_rng(2)
  x = rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6))
  assert evaluation.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)
  # Diagonal covariances: |dm|^2 + sum (sqrt(a) - sqrt(b))^2.
  m1, m2 = np.array([1.0, 2.0, 0.0]), np.array([0.0, 0.0, 3.0])
  a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
  expected = 1 + 4 + 9 + np.sum((np.sqrt(a) - np.sqrt(b))**2)
  fd = evaluation.frechet_distance_from_stats(m1, np.diag(a), m2, np.diag(b))
  assert fd == pytest.approx(expected, rel=1e-9)
  # General covariances: tr sqrt(C1 C2) = sum sqrt(eigenvalues of C1 C2).
  l1, l2 = rng.normal(size=(2, 5, 5))
  c1, c2 = l1 @ l1.T + 0.1 * np.eye(5), l2 @ l2.T + 0.1 * np.eye(5)
  tr = np.sum(np.sqrt(np.linalg.eigvals(c1 @ c2).real))
  fd = evaluation.frechet_distance_from_stats(np.zeros(5), c1, np.ones(5), c2)
  assert fd == pytest.approx(5 + np.trace(c1) + np.trace(c2) - 2 * tr, rel=1e-8)
  # The sample form uses the sample means and covariances.
  y = rng.normal(size=(200, 6)) + 2.0
  assert evaluation.frechet_distance(x, y) == pytest.approx(
      evaluation.frechet_distance_from_stats(
          x.mean(0), np.cov(x.T), y.mean(0), np.cov(y.T)), rel=1e-9)


def test_nearest_neighbor_distance_hand_case():
  rng = np.random.default_rng(3)
  ref = rng.normal(size=(70, 17, 3)) * 300  # spread far apart
  query = ref[[5, 40]] + np.array([3.0, 4.0, 0.0])  # 5 mm off two of them
  np.testing.assert_allclose(evaluation.nearest_neighbor_distance(query, ref),
                             [5.0, 5.0], atol=1e-3)
  with pytest.raises(ValueError, match="reference_mm"):
    evaluation.nearest_neighbor_distance(query, ref[:, :16])


def test_unknown_task_and_noise_raise(exp, tmp_path):
  with pytest.raises(ValueError, match="valid: estimate"):
    evaluation.run_task("fly", exp=exp, params=None, config_eval=_eval_config(),
                        key=jax.random.key(0), workdir=str(tmp_path))
  with pytest.raises(ValueError, match="noise_types"):
    evaluation.add_pose_noise(jax.random.key(0), np.zeros((2, 17, 3)), "salt", 1.0)
