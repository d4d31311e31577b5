"""Evaluating on other data never writes over the training data's results."""
import json

import pytest

from experiments.configs import quickstart
from jaxpose import methods
from jaxpose import run_lib


def _config():
  c = quickstart.get_config()
  c.model.update(hidden=32, embed_dim=16, num_groups=8)
  c.data.update(n_train=300, n_test=12)
  c.train.update(num_steps=4, batch_size=16, log_every=2, ckpt_every=4,
                 warmup_steps=1)
  c.eval.update(num_steps=3, num_hypotheses=2, num_poses=6, batch_poses=6,
                plot_poses=1, plot_hypotheses=2)
  return c


@pytest.mark.slow
def test_other_data_goes_to_its_own_folder(tmp_path, capsys):
  config = _config()
  run_lib.run("train_and_eval", config, str(tmp_path))
  own = (tmp_path / "eval" / "estimate.json").read_text()
  summary = (tmp_path / "metrics.json").read_text()

  other = _config()
  other.data.update(n_test=8, noise_2d_px=5.0)  # other test rows and 2D
  out_dir = run_lib.eval_output_dir(methods.parse(other)[1], str(tmp_path))
  assert out_dir.startswith(str(tmp_path / "eval" / "synthetic-"))
  res = run_lib.evaluate(other, str(tmp_path))
  assert f"wrote: {out_dir}/estimate.json" in capsys.readouterr().out
  assert json.loads((tmp_path / out_dir / "estimate.json").read_text()) == res
  assert res["input_2d"] == "noisy (5 px)"
  assert (tmp_path / out_dir / "metrics.json").exists()
  assert (tmp_path / "eval" / "estimate.json").read_text() == own
  assert (tmp_path / "metrics.json").read_text() == summary

  # The training data again: the usual place. An explicit folder wins.
  assert run_lib.eval_output_dir(methods.parse(_config())[1],
                                 str(tmp_path)) == str(tmp_path / "eval")
  chosen = _config()
  chosen.eval.output_dir = str(tmp_path / "mine")
  run_lib.evaluate(chosen, str(tmp_path))
  assert (tmp_path / "mine" / "estimate.json").exists()
  assert (tmp_path / "eval" / "estimate.json").read_text() == own
