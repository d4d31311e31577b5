"""experiments/dposer_weights.py: the grid's syntax, the scores read from a
task's results, the choice, and a toy sweep on held-out clips that never
touches the test split's outputs."""
import json
import math

import pytest

from experiments import dposer_weights
from jaxpose import run_lib
from tests.test_calibrate_end_to_end import dposer_config


def test_parse_grid():
  assert dposer_weights.parse_grid("gmm=0.1,0.3; dposer=1") == {
      "gmm": (0.1, 0.3), "dposer": (1.0,)}
  assert dposer_weights.parse_grid("") == {}
  for bad in ("gmm", "gmm=", "gmm=a", "gmm=-1", "gmm=nan"):
    with pytest.raises(ValueError, match="weight grid"):
      dposer_weights.parse_grid(bad)


def test_parse_set():
  assert dposer_weights.parse_set(
      ["eval.denoise_motion.t=(0.1, 0.01)", "eval.x=abc"]) == {
          "eval.denoise_motion.t": (0.1, 0.01), "eval.x": "abc"}
  with pytest.raises(ValueError, match="expected key=value"):
    dposer_weights.parse_set(["eval.denoise_motion.t"])


def test_scores_and_choice():
  denoise = {"settings": [
      dict(prior="dposer", weights="fixed", noise_mm=20, mpjpe_after_mm=10.0),
      dict(prior="dposer", weights="fixed", noise_mm=40, mpjpe_after_mm=20.0),
      dict(prior="dposer", weights="annealed", noise_mm=20, mpjpe_after_mm=7.0),
      dict(prior="none", weights="fixed", noise_mm=20, mpjpe_after_mm=99.0)]}
  assert dposer_weights.denoise_score(denoise, "dposer", "fixed") == 15.0
  assert dposer_weights.denoise_score(denoise, "dposer", "annealed") == 7.0
  with pytest.raises(ValueError, match="no denoising row"):
    dposer_weights.denoise_score(denoise, "gmm", "fixed")
  fit = {"settings": [dict(prior="gmm", pa_mpjpe_mm=4.0),
                      dict(prior="gmm", pa_mpjpe_mm=6.0)]}
  assert dposer_weights.fit_score(fit, "gmm") == 5.0
  assert dposer_weights.choose({"0.1": 3.0, "1": 2.0, "3": math.nan}) == "1"
  assert dposer_weights.choose({"0.1": 2.0, "1": 2.0}) == "0.1"
  with pytest.raises(ValueError, match="every grid point failed"):
    dposer_weights.choose({"1": math.nan})


@pytest.mark.slow
def test_toy_sweep_on_held_out_clips(tmp_path):
  workdir = str(tmp_path / "dposer")
  c = dposer_config(num_steps=5, fraction=0.2)
  run_lib.train(c, workdir)
  out = dposer_weights.sweep(
      workdir, denoise_grid={"dposer": (0.1, 10.0)}, fit_grid={},
      noise_mm=(20.0,), max_windows=2, fit_poses=10,
      overrides={"eval.denoise_motion.steps": 3,
                 "eval.denoise_motion.weight_schedules": ("fixed", "released")})
  # The schedules swept are the override's, not the stored config's
  # (fixed, annealed).
  table = out["denoise"]["dposer"]
  assert set(table) == {"fixed", "released"} and set(table["fixed"]) == {"0.1", "10"}
  for schedule, scores in table.items():
    best = min(scores, key=scores.get)
    assert out["chosen"]["denoise_motion.weights"]["dposer"][schedule] == (
        float(best))
  assert set(out["denoise"]["none"]) == {"fixed", "released"}
  assert out["workdir"] == "runs/dposer" and out["rows"] == "held-out training clips"
  written = sorted(p.name for p in (tmp_path / "dposer" / "eval").glob("*.json"))
  assert written and all(name.endswith("_heldout.json") for name in written)
  assert json.loads(json.dumps(out)) == out  # the JSON the script writes
