"""GFPose's `eval.mask_below_confidence`: estimate and estimate_single mask
each test row's 2D joints whose `pose2d_confidence` is below the threshold.

The masking function is tested on hand-made scores; the tasks run a tiny
untrained GFPose (initial parameters, a few DDIM steps) through
`run_lib.evaluate`, with the test rows' scores replaced by hand-made ones
(or removed) where the dataset is loaded.
"""
import dataclasses
import logging

import jax
import numpy as np
import pytest

from jaxpose import methods
from jaxpose import run_lib
from jaxpose import settings
from jaxpose.data import datasets
from jaxpose.evaluation import inputs
from jaxpose.methods import base
from jaxpose.methods.gfpose import eval_tasks
from jaxpose.methods.gfpose import model as model_lib
from jaxpose.methods.gfpose import problems
from tests.methods import test_gfpose_eval as gf

J = 17
KEY = "mask_below_confidence"
FAST = dict(num_poses=6, num_hypotheses=2, num_steps=3, hypotheses_list=(1, 2),
            save_predictions=True)


def test_masks_exactly_the_joints_below_the_threshold():
  conf = np.full((4, J), 0.9, np.float32)
  conf[0, [2, 5, 16]] = [0.1, 0.29, 0.0]
  conf[1] = np.linspace(0.0, 0.2, J)  # every joint below: the last is kept
  conf[1, 3] = 0.2  # ... the first of equals
  conf[2, 7] = 0.3  # at the threshold: kept
  conf[3] = 0.05  # every joint below, all equal: joint 0 kept
  pose2d = np.zeros((4, J, 2), np.float32)
  vis = problems.confidence_visibility(pose2d, conf, 0.3)
  assert vis.dtype == np.float32 and vis.shape == (4, J)
  expected = np.ones((4, J), np.float32)
  expected[0, [2, 5, 16]] = 0.0
  expected[1] = 0.0
  expected[1, 3] = 1.0
  expected[3] = 0.0
  expected[3, 0] = 1.0
  np.testing.assert_array_equal(vis, expected)
  # Every row keeps a visible joint, whatever the threshold.
  assert (problems.confidence_visibility(pose2d, conf, 1.0).sum(1) >= 1).all()
  # Off, or no scores: nothing masked.
  np.testing.assert_array_equal(problems.confidence_visibility(pose2d, conf, 0.0), 1.0)
  np.testing.assert_array_equal(problems.confidence_visibility(pose2d, None, 0.5), 1.0)
  # The condition it makes: masked joints have mask and value zero.
  cond, mask = problems.estimation_problem(pose2d + 1.0, visible=vis).cond
  np.testing.assert_array_equal(np.asarray(mask)[..., 0], vis)
  np.testing.assert_array_equal(np.asarray(mask)[..., 2], 0.0)
  np.testing.assert_array_equal(np.asarray(cond)[..., 0], vis)
  with pytest.raises(ValueError, match="threshold: expected a value in"):
    problems.confidence_visibility(pose2d, conf, 1.5)
  with pytest.raises(ValueError, match="pose2d_confidence"):
    problems.confidence_visibility(pose2d, conf[:, :16], 0.3)
  with pytest.raises(ValueError, match="pose2d_confidence"):
    problems.confidence_visibility(pose2d, np.where(conf > 0.5, np.nan, conf), 0.3)


def test_the_option_is_validated_and_older_configs_read_it_as_off():
  for bad in (-0.1, 1.5):
    with pytest.raises(settings.ConfigError, match=f"eval.{KEY}: expected"):
      methods.parse(gf._tiny_config(**{KEY: bad}))
  config = gf._tiny_config()
  assert config.eval[KEY] == 0.0  # the configs declare it
  del config.eval[KEY]  # a workdir's config.json from before the key
  method, run = methods.parse(config)
  assert run.eval_options.mask_below_confidence == 0.0
  assert method.reads(run, "estimate") == inputs.Reads()  # nothing beside


def test_test_inputs_name_the_confidence_and_the_threshold():
  method, run = methods.parse(gf._tiny_config(**{KEY: 0.3}))
  for task in ("estimate", "estimate_single"):
    reads = method.reads(run, task)
    assert reads.uncertainty == "pose2d_confidence (a detector-like score)"
    assert reads.masks.startswith("joints whose pose2d_confidence < 0.3")
  # The other tasks ignore it.
  assert "confidence" not in method.reads(run, "complete2d").masks
  assert method.reads(run, "denoise").uncertainty == "none"


def _setup(drop=(), **eval_overrides):
  """A tiny GFPose with its initial parameters (key 0)."""
  config = gf._tiny_config(**dict(FAST, **eval_overrides))
  for key in drop:
    del config.eval[key]
  method, run = methods.parse(config)
  model = method.build(run, {}, {})
  trained = base.Trained(method=method, run=run, model=model,
                         params=model.init(jax.random.key(0)), prepared={},
                         needs={}, workdir="(in memory)", step=0)
  return gf.Setup(config=config, trained=trained, data=None)


def _hypotheses(path):
  with np.load(path) as f:
    return f["hypotheses_mm"]


def _scores(n):
  """Hand-made scores of the test split's rows: row 0 all below 0.3."""
  conf = np.array(jax.random.uniform(jax.random.key(3), (n, J)), np.float32)
  conf[0] = 0.1
  conf[0, 4] = 0.2
  return conf


def _patch_scores(monkeypatch, make):
  """The loaded dataset's test split with `make(split)` as its scores
  (None: without the field)."""
  load = datasets.load

  def patched(section):
    ds = load(section)
    splits = {k: dict(v) for k, v in ds.splits.items()}
    conf = make(splits["test"])
    if conf is None:
      for split in splits.values():
        split.pop("pose2d_confidence", None)
    else:
      splits["test"]["pose2d_confidence"] = conf
    return dataclasses.replace(ds, splits=splits)

  monkeypatch.setattr(datasets, "load", patched)


def _same_results(a, b):
  skip = {"seconds", "eval_settings"}
  assert {k: v for k, v in a.items() if k not in skip} == {
      k: v for k, v in b.items() if k not in skip}


def test_threshold_zero_gives_the_results_of_no_option(tmp_path):
  without = gf._run(_setup(drop=(KEY,)), "estimate", tmp_path / "a")
  zero = gf._run(_setup(**{KEY: 0.0}), "estimate", tmp_path / "b")
  _same_results(without, zero)
  assert KEY not in zero and "masked_joint_share" not in zero
  assert zero["test_inputs"]["uncertainty"] == "none"
  np.testing.assert_array_equal(
      _hypotheses(tmp_path / "a" / "estimate_predictions.npz"),
      _hypotheses(tmp_path / "b" / "estimate_predictions.npz"))


def test_the_sampler_receives_the_rows_masked_below_the_threshold(
    tmp_path, monkeypatch):
  _patch_scores(monkeypatch, lambda test: _scores(len(test["pose2d"])))
  masks = []
  sample_rows = model_lib.GFPoseModel.sample_rows

  def spy(self, sampler, params, key, make_problem, inputs, **kw):
    masks.append(np.asarray(make_problem(inputs).cond[1]))
    return sample_rows(self, sampler, params, key, make_problem, inputs, **kw)

  monkeypatch.setattr(model_lib.GFPoseModel, "sample_rows", spy)
  res = gf._run(_setup(**{KEY: 0.3}), "estimate_single", tmp_path)
  conf = _scores(24)[:6]
  expected = (conf >= np.float32(0.3)).astype(np.float32)
  expected[0, 4] = 1.0  # every joint below: the most confident one kept
  (mask,) = masks
  np.testing.assert_array_equal(mask[..., 0], expected)
  np.testing.assert_array_equal(mask[..., 1], expected)
  np.testing.assert_array_equal(mask[..., 2], 0.0)
  assert 0 < (expected == 0).sum() < expected.size - 6
  assert res[KEY] == 0.3 and res["rows_all_below"] == 1
  assert res["masked_joint_share"] == pytest.approx(1 - expected.mean())
  assert res["confidence_field"] == "pose2d_confidence"
  assert res["test_inputs"]["uncertainty"] == (
      "pose2d_confidence (a detector-like score)")
  assert res["test_inputs"]["masks"] == (
      "joints whose pose2d_confidence < 0.3 (a row's most confident joint kept)")
  assert np.isfinite(res["mpjpe_mm"])


def test_rows_without_scores_evaluate_unmasked_with_a_warning(
    tmp_path, monkeypatch, caplog):
  _patch_scores(monkeypatch, lambda test: None)
  with caplog.at_level(logging.WARNING):
    res = gf._run(_setup(**{KEY: 0.3}), "estimate_single", tmp_path / "a")
  lines = [r for r in caplog.records
           if r.levelno == logging.WARNING and KEY in r.getMessage()]
  assert len(lines) == 1 and "no pose2d_confidence" in lines[0].getMessage()
  assert res["masked_joint_share"] == 0.0
  assert res["confidence_field"].startswith("absent")
  off = gf._run(_setup(**{KEY: 0.0}), "estimate_single", tmp_path / "b")
  assert off["mpjpe_mm"] == res["mpjpe_mm"]
  np.testing.assert_array_equal(
      _hypotheses(tmp_path / "a" / "estimate_single_predictions.npz"),
      _hypotheses(tmp_path / "b" / "estimate_single_predictions.npz"))
  assert eval_tasks.CONFIDENCE == "pose2d_confidence"
