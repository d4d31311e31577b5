"""Warnings for errors no human body allows (`evaluation.plausibility`),
and the runner's record of them."""
import json
import logging

import jax
import ml_collections
import numpy as np

from jaxpose import settings
from jaxpose.evaluation import config as eval_config
from jaxpose.evaluation import plausibility
from jaxpose.evaluation import runner
from jaxpose.pose.skeleton import H36M_17


def _poses(n=4, seed=0):
  """Root-relative poses in mm: the root at 0, joints within 1 m."""
  rng = np.random.default_rng(seed)
  x = rng.uniform(-500.0, 500.0, size=(n, H36M_17.num_joints, 3))
  x[:, 0] = 0.0
  return x.astype(np.float32)


def test_plausible_results_raise_no_warning():
  figures = dict(mpjpe_mm=65.0, best_of_h={"10": dict(mpjpe_mm=40.0)},
                 per_joint_mpjpe_mm=[10.0] * 17, apd_mm=3000.0,
                 noise_level_mm=5000.0, name="x", flag=True)
  hyps = np.stack([_poses(seed=s) for s in range(3)])  # [H, N, J, 3]
  assert plausibility.warnings(figures, dict(hypotheses_mm=hyps,
                                             pose3d_mm=_poses())) == []
  assert plausibility.warnings(figures, None) == []


def test_implausible_figures_are_named():
  figures = dict(mpjpe_mm=14775.0, pa_mpjpe_mm=80.0,
                 best_of_h={"200": dict(mpjpe_mm=80492.0)},
                 settings=[dict(missing_mpjpe_mm=float("nan"))])
  (warning,) = plausibility.figure_warnings(figures)
  assert warning.startswith("3 error figure(s) above 2000 mm")
  assert "best_of_h.200.mpjpe_mm = 80492 mm" in warning
  # A NaN figure is above any bound.
  (warning,) = plausibility.figure_warnings(figures, bound_mm=1e6)
  assert warning.startswith("1 error figure(s) above 1e+06 mm")
  assert "settings[0].missing_mpjpe_mm = nan mm" in warning


def test_implausible_predictions_are_counted_and_the_truth_is_left_out():
  hyps = np.stack([_poses(seed=s) for s in range(3)])  # [3, 4, J, 3]
  hyps[1, 2, 5] = [0.0, 0.0, 3e6]  # 3 km from the root
  hyps[2, 0, 3] = np.nan
  truth = _poses()
  truth[0, 1] = 1e9  # the data's own problem, not the method's
  warnings = plausibility.prediction_warnings(
      dict(hypotheses_mm=hyps, pose3d_mm=truth, row=np.arange(4)))
  assert len(warnings) == 2
  assert "hypotheses_mm: 1 joint(s) of 204 are NaN or inf" in warnings[0]
  assert "1 of 12 poses have joints more than 2000 mm" in warnings[1]
  assert "farthest 3e+06 mm" in warnings[1]


def test_run_task_logs_and_records_the_warnings(tmp_path, caplog):
  section = ml_collections.ConfigDict(dict(
      task="estimate", num_poses=4, use_ema=True, plot_poses=0,
      plot_hypotheses=0, output_suffix="", output_dir="",
      save_predictions=False))
  generic, _ = eval_config.parse(section, settings.NoSettings)
  ctx = runner.EvalContext(test={"a": np.zeros(4)}, splits={},
                           key=jax.random.key(0), config=generic,
                           out_dir=str(tmp_path), stem="estimate")
  hyps = _poses()[None] * 100.0  # 50 m

  def task(c):
    return runner.TaskResult(figures=dict(mpjpe_mm=14775.0), table=[],
                             num_poses=4, predictions=dict(hypotheses_mm=hyps))

  with caplog.at_level(logging.WARNING):
    res = runner.run_task("estimate", task, ctx)
  on_disk = json.loads((tmp_path / "estimate.json").read_text())
  assert on_disk["warnings"] == res["warnings"] and len(res["warnings"]) == 2
  assert "above 2000 mm" in caplog.text and "poses have joints" in caplog.text

  def fine(c):
    return runner.TaskResult(figures=dict(mpjpe_mm=50.0), table=[], num_poses=4)

  assert runner.run_task("estimate", fine, ctx)["warnings"] == []

