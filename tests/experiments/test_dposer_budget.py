"""experiments/studies/dposer_budget.py: the figures read from a denoising result,
the gain, rows merged by training step, and a toy run where the weight is
chosen on held-out clips and the test split scored with it."""
import json

import pytest

from experiments.studies import dposer_budget
from jaxpose import run_lib
from tests.test_calibrate_end_to_end import dposer_config


def _setting(prior, noise, after, weights="fixed"):
  return dict(prior=prior, noise_mm=noise, mpjpe_after_mm=after, weights=weights)


def test_per_noise_reads_fixed_weights_of_one_prior():
  result = {"settings": [_setting("none", 20.0, 30.0), _setting("dposer", 20.0, 25.5),
                         _setting("dposer", 40.0, 33.0),
                         _setting("dposer", 20.0, 99.0, weights="annealed")]}
  assert dposer_budget.per_noise(result, "dposer") == {"20": 25.5, "40": 33.0}
  assert dposer_budget.per_noise(result, "none") == {"20": 30.0}
  with pytest.raises(ValueError, match="'gmm'"):
    dposer_budget.per_noise(result, "gmm")


def test_gain_is_relative_to_no_prior_on_shared_levels():
  g = dposer_budget.gain({"20": 25.5, "40": 40.0, "100": 1.0},
                         {"20": 30.0, "40": 32.0})
  assert set(g) == {"20", "40"}
  assert g["20"] == pytest.approx(-0.15) and g["40"] == pytest.approx(0.25)


def test_merge_orders_by_step_replaces_a_step_and_refuses_other_settings():
  settings = dict(grid=[1.0], max_windows=20)
  one = dposer_budget.merge(None, dict(train_step=40000, v=1), settings)
  two = dposer_budget.merge(one, dict(train_step=20000, v=2), settings)
  assert [r["train_step"] for r in two["rows"]] == [20000, 40000]
  three = dposer_budget.merge(two, dict(train_step=40000, v=3), settings)
  assert [(r["train_step"], r["v"]) for r in three["rows"]] == [(20000, 2), (40000, 3)]
  with pytest.raises(ValueError, match="other settings"):
    dposer_budget.merge(three, dict(train_step=1, v=0), dict(grid=[3.0], max_windows=20))
  # A row of another seed at a step goes beside it; a row without a seed
  # (written before rows had one) is seed 0's.
  four = dposer_budget.merge(three, dict(train_step=20000, seed=1, v=4), settings)
  assert [(r["train_step"], r.get("seed"), r["v"]) for r in four["rows"]] == [
      (20000, None, 2), (20000, 1, 4), (40000, None, 3)]
  five = dposer_budget.merge(four, dict(train_step=20000, seed=0, v=5), settings)
  assert [(r["train_step"], r["v"]) for r in five["rows"]] == [
      (20000, 5), (20000, 4), (40000, 3)]
  dposer_budget.check_settings(three, settings)
  dposer_budget.check_settings(None, settings)
  with pytest.raises(ValueError, match="other settings"):
    dposer_budget.check_settings(three, dict(settings, max_windows=5))


@pytest.mark.slow
def test_toy_checkpoint_row(tmp_path):
  workdir = str(tmp_path / "dposer")
  run_lib.train(dposer_config(num_steps=5, fraction=0.2), workdir)
  row = dposer_budget.evaluate_checkpoint(
      workdir, grid=(0.1, 10.0), heldout_noise_mm=(20.0,), test_noise_mm=(20.0, 40.0),
      max_windows=2, test_every_weight=True,
      overrides={"eval.denoise_motion.steps": 3})
  held = row["heldout"]["by_weight"]
  assert row["train_step"] == 5 and row["seed"] == 0 and set(held) == {"none", "0.1", "10"}
  assert row["heldout"]["num_windows"] == row["test"]["num_windows"] == 2
  assert row["model"]["hidden"] > 0 and row["model"]["num_params"] > 0
  best = min(("0.1", "10"), key=lambda w: held[w]["20"])
  assert row["chosen_weight"] == float(best)
  assert row["heldout"]["gain"]["20"] == pytest.approx(held[best]["20"] / held["none"]["20"] - 1)
  assert set(row["test"]["dposer"]) == {"20", "40"} == set(row["test"]["gain"])
  # Every weight scored on the test split too, the chosen one's being the row's.
  assert set(row["test"]["by_weight"]) == {"0.1", "10"}
  assert row["test"]["by_weight"][best] == row["test"]["dposer"]
  written = sorted(p.name for p in (tmp_path / "dposer" / "eval").glob("*.json"))
  # The held-out evaluations are marked as such; two test evaluations, one
  # per weight.
  assert sum(not n.endswith("_heldout.json") for n in written) == 2
  assert json.loads(json.dumps(row)) == row


def test_a_corrupt_json_is_named(tmp_path):
  bad = tmp_path / "budget.json"
  bad.write_text("{not json")
  with pytest.raises(ValueError, match="budget.json is not a JSON"):
    dposer_budget._read(str(bad))
  assert dposer_budget._read(str(tmp_path / "absent.json")) is None
