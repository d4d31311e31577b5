"""Novelty of a row's input against the training inputs (k nearest), and
the exponent that makes groups' conformal scores alike."""
import numpy as np
import pytest

from jaxpose.evaluation import novelty


def test_knn_distance_is_the_mean_rms_per_point_distance_to_the_k_nearest():
  # Reference poses of 2 points whose every coordinate is i (i = 0..9):
  # a query at 4.25 is 0.25, 0.75, 1.25 per coordinate from the 3 nearest,
  # and the root-mean-square distance per point is that times sqrt(3).
  reference = np.repeat(np.arange(10.0), 6).reshape(10, 2, 3)
  query = np.full((1, 2, 3), 4.25)
  got = novelty.knn_distance(query, reference, k=3)
  np.testing.assert_allclose(got, [np.sqrt(3) * (0.25 + 0.75 + 1.25) / 3])
  assert novelty.knn_distance(reference[4:5], reference, k=1)[0] == pytest.approx(0.0, abs=1e-6)


def test_knn_distance_over_chunks_equals_brute_force():
  rng = np.random.default_rng(0)
  reference, query = rng.normal(size=(300, 5, 3)), rng.normal(size=(300, 5, 3))
  got = novelty.knn_distance(query, reference, k=4)
  per_point = np.sqrt(((query[:, None] - reference[None]) ** 2).sum(-1).mean(-1))
  np.testing.assert_allclose(got, np.sort(per_point, axis=1)[:, :4].mean(1),
                             rtol=1e-9)


def test_knn_distance_refuses_bad_input_by_name():
  ref = np.zeros((5, 2, 3))
  with pytest.raises(ValueError, match="k=6"):
    novelty.knn_distance(np.zeros((1, 2, 3)), ref, k=6)
  with pytest.raises(ValueError, match="query"):
    novelty.knn_distance(np.full((1, 2, 3), np.nan), ref, k=1)
  with pytest.raises(ValueError, match="reference"):
    novelty.knn_distance(np.zeros((1, 2, 3)), np.zeros((5, 3, 3)), k=1)


def test_fit_exponent_recovers_how_scores_grow_with_novelty_between_groups():
  # Three people whose scores are |z| times novelty ** 1.5: only the
  # exponent 1.5 makes their score quantiles alike.
  rng = np.random.default_rng(1)
  groups = np.repeat(["a", "b", "c"], 400)
  novelty_of = {"a": 20.0, "b": 50.0, "c": 120.0}
  nov = np.array([novelty_of[g] for g in groups]) * rng.uniform(0.9, 1.1, 1200)
  scores = np.abs(rng.normal(size=(1200, 9))) * (nov[:, None] / 50.0) ** 1.5
  assert novelty.fit_exponent(scores, nov, groups, (0.5, 0.9), min_rows=10) == (
      pytest.approx(1.5, abs=0.1))
  # Scores that do not grow with novelty: the exponent is (about) 0.
  flat = np.abs(rng.normal(size=(1200, 9)))
  assert novelty.fit_exponent(flat, nov, groups, (0.5, 0.9), min_rows=10) <= 0.1
  np.testing.assert_allclose(novelty.row_widths([25.0, 100.0], 1.5, 50.0),
                             [0.5 ** 1.5, 2.0 ** 1.5])


def test_fit_exponent_needs_two_groups_and_positive_novelty():
  scores = np.ones((30, 3))
  with pytest.raises(ValueError, match="1 group"):
    novelty.fit_exponent(scores, np.ones(30), np.repeat(["a", "b"], [25, 5]),
                         (0.9,), min_rows=10)
  with pytest.raises(ValueError, match="values > 0"):
    novelty.fit_exponent(scores, np.zeros(30), np.repeat(["a", "b"], 15),
                         (0.9,), min_rows=10)
