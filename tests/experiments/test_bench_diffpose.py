"""Tests of experiments/bench/diffpose.py: a tiny run of the jaxpose side,
its JSON, the step-results curve, and the torch side when
JAXPOSE_TORCH_PYTHON names a python with torch (tests/helpers/torch_python.py;
skipped when unset)."""
import json

from experiments.bench import diffpose
from jaxpose import files


def test_quick_run_writes_json(tmp_path):
  result = diffpose.run_bench(quick=True)
  (row,) = result["sampling"]
  assert row["diffpose"]["hypotheses_per_s"] > 0
  assert row["gfpose"]["hypotheses_per_s"] > 0
  (step,) = result["denoiser_step"]
  assert step["rows"] == diffpose.QUICK["poses"] * diffpose.QUICK["hypotheses"][0]
  assert step["jaxpose"]["step_ms"] > 0
  assert result["target_met"] is None  # no torch asked for
  assert result["hardware"]["load_average_before"] is not None
  path = files.write_json_atomic(str(tmp_path / "b.json"), result)
  with open(path) as f:
    assert json.load(f)["poses"] == diffpose.QUICK["poses"]


def test_steps_curve(tmp_path):
  for steps, mpjpe in ((2, 55.0), (1, 66.0)):
    with open(tmp_path / f"diffpose_quickstart_cpu_steps{steps}.json", "w") as f:
      json.dump(dict(num_steps=steps, num_hypotheses=5, mpjpe_mm=mpjpe), f)
  with open(tmp_path / "diffpose_quickstart_cpu_other.json", "w") as f:
    json.dump(dict(note="no steps"), f)
  rows = diffpose.steps_curve(str(tmp_path))
  assert [r["reverse_steps"] for r in rows] == [1, 2]
  assert [r["network_evals_per_pose"] for r in rows] == [5, 10]


def test_torch_step(torch_python):
  r = diffpose.torch_denoiser_step(torch_python, rows=2, repeats=1,
                                   model=diffpose.QUICK["model"])
  assert r["step_ms"] > 0 and r["params"] > 0
