"""Workdirs of every layout jaxpose has written still load, evaluate and
resume; a workdir of a newer layout is refused in one line.

Fixtures (tests/fixtures/, each named by the commit that wrote it, all of
layout 1: no layout.json, evaluation options flat in config.json):
gfpose_workdir_4f27b87 (a tiny GFPose, 2 steps, evaluated on estimate and
denoise) and dposer_workdir_82db3ba (tests/methods/test_task_options.py);
and from before prepared/ existed (commit de2cafe, tiny networks trained 4
steps with checkpoints at 2 and 4, evaluated by that commit's code):
dposer_workdir_de2cafe (its z-score fingerprinted, complete),
diffpose_workdir_de2cafe (H_K in diffpose_initial.npz, estimate) and its
context encoder encoder_workdir_de2cafe (a config with every method's
sections).
"""
import json
import pathlib
import shutil

import numpy as np
import pytest

from experiments import workdir_config
from jaxpose import run_lib
from jaxpose.workdir import checkpoint
from jaxpose.workdir import layout
from jaxpose.workdir import prepared
from jaxpose.workdir import trained as trained_lib
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


# --- Workdirs from before prepared/ existed (commit de2cafe). ---

DPOSER_EVAL = {"eval.task": "complete", "eval.num_poses": 16,
               "eval.priors": ("none", "dposer"),
               "eval.complete.parts": ("l_leg",), "eval.complete.hypotheses": 2,
               "eval.complete.steps": 2, "eval.plot_poses": 0,
               "eval.batch_size": 16}


def _copy(tmp_path, name):
  workdir = tmp_path / name
  shutil.copytree(FIXTURES / f"{name}_de2cafe", workdir)
  return workdir


def _evaluate(workdir, overrides, tmp_path):
  out = tmp_path / "out"
  config = run_lib.evaluation_config(
      str(workdir), {**overrides, "eval.output_dir": str(out)},
      base_config=workdir_config.get_config(str(workdir)))
  return run_lib.evaluate(config, str(workdir))


def _restores_earlier_step(workdir, config, step):
  method, run = trained_lib.typed(config)
  trained = run_lib.load_trained(str(workdir), config=config)
  fp = trained_lib.fingerprint(
      method, run, {k: v for k, v in trained.prepared.items()},
      trained_lib.resolve_needs(method, run, training=False)[1])
  ckpt = trained_lib.checkpointer(workdir, run, fp, read_only=True)
  try:
    state, _ = ckpt.restore_or_none(
        trained_lib.init_state(run, trained.model, abstract=True), step=step)
  finally:
    ckpt.close()
  return int(state.step)


def test_a_dposer_workdir_from_before_prepared_reads_and_resumes(tmp_path):
  workdir = _copy(tmp_path, "dposer_workdir")
  before = _results(workdir, "complete")["settings"]
  after = _evaluate(workdir, DPOSER_EVAL, tmp_path)["settings"]
  for old, new in zip(before, after, strict=True):
    assert new["prior"] == old["prior"]
    assert new["missing_mpjpe_mm"] == pytest.approx(old["missing_mpjpe_mm"],
                                                    abs=0.1)
    assert new["missing_min_mpjpe_mm"] == pytest.approx(
        old["missing_min_mpjpe_mm"], abs=0.1)
  assert not (workdir / layout.PREPARED).exists()  # reading writes nothing
  # Training on writes the state recovered and today's fingerprint; the
  # steps written before still restore.
  config = workdir_config.get_config(str(workdir))
  config.train.num_steps = 6
  assert int(run_lib.train(config, str(workdir)).step) == 6
  assert (workdir / layout.PREPARED / layout.PREPARED_INDEX).exists()
  assert (workdir / "checkpoints" / layout.EARLIER_FINGERPRINT).exists()
  assert "prepared" in json.loads(
      (workdir / "checkpoints" / layout.FINGERPRINT).read_text())
  assert _restores_earlier_step(workdir, config, 4) == 4
  assert version.read(workdir) == layout.VERSION


def test_a_dposer_workdir_from_before_prepared_on_other_data_is_refused(
    tmp_path):
  """Its state is made again from the data it is given: other training
  rows give other statistics than its checkpoints were trained with."""
  workdir = _copy(tmp_path, "dposer_workdir")
  config = workdir_config.get_config(str(workdir))
  config.data.n_train = 1000
  with pytest.raises(prepared.PreparedError,
                     match="body_statistics.zscore_sha256"):
    run_lib.load_trained(str(workdir), config=config)
  with pytest.raises(prepared.PreparedError, match="trained before prepared"):
    run_lib.train(config, str(workdir))
  assert not (workdir / layout.PREPARED).exists()


def test_a_workdir_from_before_prepared_that_held_rows_out_is_refused(
    tmp_path):
  workdir = _copy(tmp_path, "encoder_workdir")
  stored = json.loads((workdir / "config.json").read_text())
  stored["holdout"]["fraction"] = 0.1
  (workdir / "config.json").write_text(json.dumps(stored))
  with pytest.raises(prepared.PreparedError, match="held out"):
    run_lib.load_trained(str(workdir))


@pytest.fixture
def diffpose_before_prepared(tmp_path):
  encoder = _copy(tmp_path, "encoder_workdir")
  return _copy(tmp_path, "diffpose_workdir"), encoder


def test_a_diffpose_workdir_from_before_prepared_reads_and_resumes(
    diffpose_before_prepared, tmp_path):
  workdir, encoder = diffpose_before_prepared
  moved = {"diffpose.encoder_workdir": str(encoder)}
  before = _results(workdir, "estimate")
  after = _evaluate(workdir, {**moved, "eval.num_poses": 32,
                              "eval.plot_poses": 0}, tmp_path)
  for key in ("mpjpe_mm", "pa_mpjpe_mm", "min_mpjpe_mm"):
    assert after[key] == pytest.approx(before[key], abs=0.1), key
  # The encoder's config (every method's sections then) reads as its own.
  assert run_lib.load_trained(str(encoder)).step == 4
  config = workdir_config.get_config(str(workdir))
  config.diffpose.encoder_workdir = str(encoder)
  config.train.num_steps = 6
  config.train.allow_changed_resume = True  # the encoder was moved
  assert int(run_lib.train(config, str(workdir)).step) == 6
  index = json.loads((workdir / layout.PREPARED / layout.PREPARED_INDEX)
                     .read_text())
  assert sorted(index["artefacts"]) == ["initial"]
  assert _restores_earlier_step(workdir, config, 4) == 4


def test_a_diffpose_workdir_whose_h_k_changed_is_refused(
    diffpose_before_prepared):
  workdir, encoder = diffpose_before_prepared
  config = workdir_config.get_config(str(workdir))
  config.diffpose.encoder_workdir = str(encoder)
  path = workdir / "diffpose_initial.npz"
  with np.load(path) as z:
    arrays = {k: z[k] for k in z.files}
  arrays["means"] = arrays["means"] + 1.0
  np.savez(path, **arrays)
  with pytest.raises(prepared.PreparedError, match="initial_sha1"):
    run_lib.load_trained(str(workdir), config=config)
  path.unlink()
  with pytest.raises(prepared.PreparedError, match="cannot be read"):
    run_lib.load_trained(str(workdir), config=config)
