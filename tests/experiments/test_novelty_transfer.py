"""experiments/studies/novelty_transfer: whether intervals widened by a row's
novelty carry a calibration from held-out people to new ones."""
import numpy as np
import pytest

from experiments.studies import novelty_transfer


def _people(novelty_of, rows_each=300, hyps=40, seed=0):
  """Rows whose error grows as novelty ** 1 while the hypotheses' spread
  stays 10 mm: what a calibration on one person cannot carry over."""
  rng = np.random.default_rng(seed)
  people = np.repeat(list(novelty_of), rows_each)
  nov = np.array([novelty_of[p] for p in people]) * rng.uniform(0.95, 1.05, len(people))
  mean = rng.normal(size=(len(people), 2, 3)) * 100
  hyps = mean[None] + 10.0 * rng.normal(size=(hyps,) + mean.shape)
  truth = mean + 10.0 * (nov / 40.0)[:, None, None] * rng.normal(size=mean.shape)
  return dict(hypotheses_mm=hyps, pose3d_mm=truth, novelty_mm=nov, people=people)


def test_widths_fitted_between_people_carry_the_calibration_to_a_new_one():
  held = _people({"a": 20.0, "b": 40.0})
  new = _people({"c": 80.0}, seed=1)
  got = novelty_transfer.transfer(held, new)
  assert got["exponent"] == pytest.approx(1.0, abs=0.15)
  # Plain intervals sized for a and b cover the more novel c far less often.
  assert got["plain"]["0.9"] < 0.75
  assert got["scaled"]["0.9"] == pytest.approx(0.9, abs=0.03)
  assert got["scaled"]["0.5"] == pytest.approx(0.5, abs=0.05)
  # Exponent 0 is the plain calibration.
  zero = novelty_transfer.transfer(held, new, exponent=0.0)
  assert zero["scaled"] == zero["plain"] == got["plain"]


def test_people_table_and_pairs_left_out():
  held = _people({"a": 20.0, "b": 40.0, "c": 80.0}, rows_each=100)
  table = novelty_transfer.people_table(held)
  assert sorted(table) == ["a", "b", "c"] and table["a"]["rows"] == 100
  assert table["a"]["novelty_mm"] == pytest.approx(20.0, rel=0.05)
  # |y - m| / sigma: the truth's 10 r mm (r = n / 40 = 2) and the mean's
  # own 10 / sqrt(40) over sigma = 10; its 0.9-quantile is 1.645 times that.
  assert table["c"]["score_quantile"]["0.9"] == pytest.approx(
      1.645 * np.sqrt(2.0 ** 2 + 1 / 40), rel=0.1)
  pairs = novelty_transfer.leave_pairs_out(held)
  assert sorted(pairs) == ["a+b", "a+c", "b+c"]
  assert all(p["exponent"] == pytest.approx(1.0, abs=0.2) for p in pairs.values())
  two = {k: (v[:, :200] if k == "hypotheses_mm" else v[:200]) for k, v in held.items()}
  assert novelty_transfer.leave_pairs_out(two) is None


def test_load_names_what_a_predictions_file_lacks(tmp_path):
  path = tmp_path / "p.npz"
  np.savez(path, hypotheses_mm=np.zeros((2, 3, 1, 3)), pose3d_mm=np.zeros((3, 1, 3)),
           id_subject=np.array(["a", "b", "c"]))
  with pytest.raises(ValueError, match="no novelty_mm"):
    novelty_transfer.load(str(path))
  with pytest.raises(FileNotFoundError, match="save_predictions"):
    novelty_transfer.load(str(tmp_path / "missing.npz"))
