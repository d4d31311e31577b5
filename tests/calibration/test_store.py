"""WORKDIR/calibration.json: written per task, applied to a task's result
only for the checkpoint and predictions it was fitted on."""
import json

import numpy as np
import pytest

from jaxpose.calibration import fit as cf
from jaxpose.calibration import store
from jaxpose.evaluation import runner


def _data(seed, ratio=0.5, n=60, h=50, j=4):
  rng = np.random.default_rng(seed)
  centre = rng.normal(size=(n, j, 3)) * 50
  gt = centre + 10 * rng.normal(size=(n, j, 3))
  hyps = centre[None] + 10 * ratio * rng.normal(size=(h, n, j, 3))
  return hyps.astype(np.float32), gt.astype(np.float32)


def _result(hyps, gt, **figures):
  return runner.TaskResult(
      figures=dict(figures), table=[("MPJPE of the mean", 1.0)],
      num_poses=len(gt), num_hypotheses=len(hyps),
      predictions=dict(hypotheses_mm=hyps, pose3d_mm=gt))


def _calibration(step=7, digest="abc", predictions_of=None):
  hyps, gt = _data(0)
  return cf.fit("spread_scale", hyps, gt, fitted_on=dict(
      task="estimate", step=step, params_digest=digest,
      predictions_of=predictions_of))


def test_write_keeps_other_tasks_and_read_gives_each(tmp_path):
  workdir = str(tmp_path)
  assert store.read(workdir, "estimate") is None
  store.write(workdir, "estimate", {"calibration": {"kind": "a"}})
  store.write(workdir, "complete", {"calibration": {"kind": "b"}})
  store.write(workdir, "estimate", {"calibration": {"kind": "c"}})
  stored = json.loads(open(store.path(workdir)).read())
  assert stored["format"] == store.FORMAT
  assert store.read(workdir, "estimate") == {"calibration": {"kind": "c"}}
  assert store.read(workdir, "complete") == {"calibration": {"kind": "b"}}
  with open(store.path(workdir), "w") as f:
    json.dump({"tasks": {}}, f)
  with pytest.raises(ValueError, match="not a calibration file"):
    store.read(workdir, "estimate")


def test_applied_adds_after_and_before_and_two_rows():
  cal = _calibration()
  hyps, gt = _data(1)
  out = store.applied(cal, _result(hyps, gt), task="estimate", step=7,
                      digest="abc")
  after, before = out.figures["calibration_after"], out.figures["calibration_before"]
  assert after["kind"] == "spread_scale"
  assert abs(after["coverage"]["0.9"] - 0.9) < abs(before["coverage"]["0.9"] - 0.9)
  assert after["calibration"]["scale"] == cal.scale
  assert "rows" not in after["calibration"]["fitted_on"]
  labels = [row[0] for row in out.table]
  assert labels[0] == "MPJPE of the mean"
  assert labels[1].startswith("coverage 50% / 90% before calibration")
  assert labels[2].startswith("coverage 50% / 90% after spread_scale (s = ")
  # A task's own top-level calibration block is the "before".
  out = store.applied(cal, _result(hyps, gt, calibration={"coverage": {
      "0.5": 0.1, "0.9": 0.2}}), task="estimate", step=7, digest="abc")
  assert "calibration_before" not in out.figures
  assert out.table[1][1] == (0.1, 0.2)


@pytest.mark.parametrize("step, digest, of, message", [
    (8, "abc", None, "fitted on the checkpoint of step 7"),
    (7, "xyz", None, "parameters abc"),
    (7, "abc", "prior dposer, part l_leg", "fitted on predictions of None"),
])
def test_a_stale_calibration_is_not_applied_and_says_why(step, digest, of,
                                                         message):
  hyps, gt = _data(2)
  out = store.applied(_calibration(), _result(hyps, gt, predictions_of=of),
                      task="estimate", step=step, digest=digest)
  assert "calibration_after" not in out.figures
  assert message in out.figures["calibration_note"]
  assert len(out.table) == 1


def test_a_result_without_hypotheses_is_named():
  result = runner.TaskResult(figures={}, table=[], num_poses=1)
  with pytest.raises(ValueError, match="task 'generate' gives no hypotheses"):
    store.predictions(result, "generate")
  out = store.applied(_calibration(), result, task="generate", step=7,
                      digest="abc")
  assert "gives no hypotheses" in out.figures["calibration_note"]


def test_a_calibration_fitted_with_other_2d_is_applied_with_a_warning(caplog):
  hyps, gt = _data(1)
  cal = cf.fit("spread_scale", *_data(0), fitted_on=dict(
      task="estimate", step=7, params_digest="abc", input_2d="noisy"))
  same = store.applied(cal, _result(hyps, gt), task="estimate", step=7,
                       digest="abc", input_2d="noisy")
  assert "calibration_after" in same.figures and "calibration_note" not in same.figures
  other = store.applied(cal, _result(hyps, gt), task="estimate", step=7,
                        digest="abc", input_2d="exact")
  assert other.figures["calibration_after"] == same.figures["calibration_after"]
  assert ("fitted with noisy 2D and is applied to exact 2D"
          in other.figures["calibration_note"])
  assert "eval.calibration_2d naming it" in other.figures["calibration_note"]
  assert any("fitted with noisy 2D" in r.message for r in caplog.records)
  # A calibration that does not record its 2D (older files) says nothing.
  old = store.applied(_calibration(), _result(hyps, gt), task="estimate", step=7,
                      digest="abc", input_2d="exact")
  assert "calibration_note" not in old.figures
