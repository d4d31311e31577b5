"""Tested with a deliberately undertrained model: GFPose trained a handful
of steps samples poses tens of metres away unless its samplers keep the
denoised estimate in the training range (`eval.x0_clip`); the results file
then says so (`warnings`).  A workdir without a stored range (trained
before it was kept) still evaluates, with the training split's.
"""
import json
import shutil

import numpy as np
import pytest

from experiments.configs import quickstart
from jaxpose import run_lib
from jaxpose.evaluation import plausibility


def _config(**eval_overrides):
  c = quickstart.get_config()
  c.model.update(hidden=64, embed_dim=32, num_groups=8)
  c.data.update(n_train=500, n_test=16)
  c.train.update(num_steps=3, batch_size=32, log_every=3, ckpt_every=3,
                 warmup_steps=1)
  c.eval.update(num_steps=10, num_hypotheses=2, num_poses=8, batch_poses=8,
                plot_poses=0, plot_hypotheses=0, hypotheses_list=(1, 2))
  c.eval.update(eval_overrides)
  return c


def _evaluate(workdir, suffix, **eval_overrides):
  config = _config(output_suffix=suffix, **eval_overrides)
  run_lib.evaluate(config, str(workdir))
  return json.loads((workdir / "eval" / f"estimate_{suffix}.json").read_text())


@pytest.mark.slow
def test_an_undertrained_model_stays_in_range_only_with_the_guard(tmp_path):
  workdir = tmp_path / "w"
  run_lib.train(_config(), str(workdir))
  index = json.loads((workdir / "prepared" / "index.json").read_text())
  assert index["artefacts"]["x0_range"]["info"] == {"train_rows": 500}
  # The range is evaluation's alone: not part of the checkpoint's identity.
  fingerprint = json.loads(
      (workdir / "checkpoints" / "fingerprint.json").read_text())
  assert "prepared" not in fingerprint

  off = _evaluate(workdir, "off", x0_clip=False)
  assert off["x0_range"] == {"clip": False}
  # Three steps of training: x0_hat = x / a(1) at the start, metres away.
  assert off["mpjpe_mm"] > plausibility.BODY_BOUND_MM
  assert any("above 2000 mm" in w for w in off["warnings"])
  assert any("poses have joints more than 2000 mm" in w
             for w in off["warnings"])

  on = _evaluate(workdir, "on", x0_clip=True)
  assert on["x0_range"]["source"] == "prepared" and on["x0_range"]["clip"]
  assert on["mpjpe_mm"] < plausibility.BODY_BOUND_MM and on["warnings"] == []

  # A workdir trained before the range was kept: the training split's,
  # recorded as such, and the same box here (same training data).
  shutil.rmtree(workdir / "prepared")
  old = _evaluate(workdir, "old", x0_clip=True)
  assert old["x0_range"]["source"] == "train_split"
  np.testing.assert_allclose(old["mpjpe_mm"], on["mpjpe_mm"], rtol=1e-5)
