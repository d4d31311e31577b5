"""Workdirs of every layout jaxpose has written still load, evaluate and
resume; a workdir of a newer layout is refused in one line.

Fixtures (tests/fixtures/, each named by the commit that wrote it, all of
layout 1: no layout.json, evaluation options flat in config.json):
gfpose_workdir_4f27b87 (a tiny GFPose, 2 steps, evaluated on estimate and
denoise) and dposer_workdir_82db3ba (tests/methods/test_task_options.py).
"""
import json
import pathlib
import shutil

import pytest

from experiments import workdir_config
from jaxpose import run_lib
from jaxpose.workdir import layout
from jaxpose.workdir import version

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
GFPOSE_LAYOUT_1 = FIXTURES / "gfpose_workdir_4f27b87"


@pytest.fixture
def layout_1(tmp_path):
  workdir = tmp_path / "gfpose_layout1"
  shutil.copytree(GFPOSE_LAYOUT_1, workdir)
  return workdir


def _results(workdir, task):
  return json.loads((workdir / "eval" / f"{task}.json").read_text())


def test_a_layout_1_workdir_loads_evaluates_and_resumes(layout_1):
  where = layout.Workdir.of(layout_1)
  assert not (layout_1 / layout.VERSION_FILE).exists()
  assert version.check(where) == 1
  assert "single_sampler" in json.loads((layout_1 / "config.json").read_text())["eval"]
  trained = run_lib.load_trained(str(layout_1))
  assert trained.step == 2
  assert trained.run.task_options["denoise"].num_steps == 0  # as trained
  # Each evaluation reproduces the figures it wrote then, under the same
  # settings (rewritten, not beside them), from its flat config.json.
  for task, overrides in (("estimate", {}),
                          ("denoise", {"eval.denoise.num_steps": 3,
                                       "eval.plot_poses": 1})):
    before = _results(layout_1, task)
    config = run_lib.evaluation_config(
        str(layout_1), {"eval.task": task, **overrides},
        base_config=workdir_config.get_config(str(layout_1)))
    after = run_lib.evaluate(config, str(layout_1))
    assert sorted(p.name for p in (layout_1 / "eval").glob("*.json")) == [
        "denoise.json", "estimate.json"]
    if task == "estimate":
      assert after["mpjpe_mm"] == pytest.approx(before["mpjpe_mm"], abs=0.1)
    else:
      assert after["settings"][0]["mpjpe_after_mm"] == pytest.approx(
          before["settings"][0]["mpjpe_after_mm"], abs=0.1)
  # Training resumes from its checkpoint and records today's layout.
  config = workdir_config.get_config(str(layout_1))
  config.train.num_steps = 3
  state = run_lib.train(config, str(layout_1))
  assert int(state.step) == 3
  assert version.read(where) == layout.VERSION


def test_a_newer_layout_is_refused_in_one_line(layout_1, tmp_path):
  (layout_1 / layout.VERSION_FILE).write_text(json.dumps({"layout": 99}))
  message = (r"written by a newer jaxpose \(workdir layout 99; this one "
             rf"reads layouts 1 to {layout.VERSION}\)")
  with pytest.raises(version.LayoutError, match=message) as err:
    run_lib.load_trained(str(layout_1))
  assert "\n" not in str(err.value)
  with pytest.raises(version.LayoutError, match=message):
    run_lib.evaluation_config(str(layout_1), {"eval.task": "estimate"})
  config = workdir_config.get_config(str(GFPOSE_LAYOUT_1))
  with pytest.raises(version.LayoutError, match=message):
    run_lib.train(config, str(layout_1))
  assert not (layout_1 / "checkpoints" / "3").exists()
  (layout_1 / layout.VERSION_FILE).write_text("{half")
  with pytest.raises(version.LayoutError, match="layout.json"):
    run_lib.load_trained(str(layout_1))
  (layout_1 / layout.VERSION_FILE).write_text(json.dumps({"layout": "2"}))
  with pytest.raises(version.LayoutError, match="expected"):
    run_lib.load_trained(str(layout_1))


def test_a_layout_1_dposer_workdir_resumes(tmp_path):
  """The DPoser fixture (its loading and evaluation: test_task_options.py)
  trains on from its step 4, though its config predates `train.mirror`."""
  workdir = tmp_path / "dposer_layout1"
  shutil.copytree(FIXTURES / "dposer_workdir_82db3ba", workdir)
  config = workdir_config.get_config(str(workdir))
  config.train.num_steps = 5
  assert int(run_lib.train(config, str(workdir)).step) == 5
  assert version.read(workdir) == layout.VERSION
