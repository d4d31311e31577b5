"""The simulated detector confidence: informative, imperfect, lower at
limb ends and for larger errors."""
import jax
import numpy as np
import pytest

from jaxpose.pose import cameras
from jaxpose.pose import detector_confidence as dc
from jaxpose.pose.skeleton import H36M_17


def _mocap_noise(n=20_000, seed=0):
  px = np.zeros((n, 17, 2))
  noisy = cameras.draw_2d_noise(np.random.default_rng(seed), px, sigma_px=5.0,
                                outlier_prob=0.05, outlier_px=100.0)
  return np.linalg.norm(noisy.px - px, axis=-1), noisy.outlier


def _limb_ends():
  out = np.zeros(17, bool)
  out[list(H36M_17.limb_ends)] = True
  return out


def test_ranks_outliers_like_a_detector_not_an_oracle():
  error, outlier = _mocap_noise()
  conf = dc.ConfidenceModel().draw(np.random.default_rng(1), error, _limb_ends())
  assert 0.8 <= dc.ranking_auc(conf, outlier) <= 0.9
  assert conf.dtype == np.float32 and ((conf > 0) & (conf < 1)).all()
  # Without spread it ranks errors exactly: outliers far off all score low.
  exact = dc.ConfidenceModel(spread=0.0).draw(np.random.default_rng(1), error)
  assert dc.ranking_auc(exact, outlier) > 0.97


def test_lower_for_larger_errors_and_at_limb_ends():
  model = dc.ConfidenceModel()
  error = np.repeat(np.array([[0.0], [10.0], [50.0], [200.0]]), 17, axis=1)
  error = np.repeat(error[None], 5000, axis=0)  # [5000, 4, 17]
  conf = model.draw(np.random.default_rng(2), error, _limb_ends())
  by_error = conf.mean(axis=(0, 2))
  assert np.all(np.diff(by_error) < 0)
  ends = _limb_ends()
  assert conf[..., ends].mean() < conf[..., ~ends].mean()


def test_ranking_auc_by_hand():
  assert dc.ranking_auc([0.9, 0.8, 0.1], [False, False, True]) == 1.0
  assert dc.ranking_auc([0.1, 0.8, 0.9], [False, False, True]) == 0.0
  assert dc.ranking_auc([0.1, 0.9, 0.5], [False, False, True]) == 0.5
  assert dc.ranking_auc([0.5, 0.5], [False, True]) == 0.5
  with pytest.raises(ValueError, match="needs inliers and outliers"):
    dc.ranking_auc([0.5], [True])


def test_draws_under_jit_with_a_key():
  draw = jax.jit(lambda key, e: dc.ConfidenceModel().draw(key, e))
  conf = draw(jax.random.key(0), np.full((3, 17), 5.0, np.float32))
  assert conf.shape == (3, 17) and bool(((conf > 0) & (conf < 1)).all())
  with pytest.raises(ValueError, match="scale_px"):
    dc.ConfidenceModel(scale_px=0.0)
