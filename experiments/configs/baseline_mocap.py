"""Baseline: Martinez et al.'s lifter on jaxpose-mocap v1, GFPose's budget.

The deterministic residual MLP (hidden 1024, 2 residual blocks, dropout
0.5, LayerNorm; jaxpose/models/lifter_mlp.py) trained by regression on
exactly the data, batches, step count, optimiser and EMA of
`gfpose_mocap.py`'s small variant, and scored on the same test rows by the
same metric code, so its rows sit beside GFPose's.  Prepare the caches as
gfpose_mocap.py says, then:

  python -m experiments.main --config=experiments/configs/baseline_mocap.py \
      --workdir=runs/baseline_mocap --config.data.cache_dir=caches
  # noisy 2D at test time:
  python -m experiments.main --config=experiments/configs/baseline_mocap.py \
      --workdir=runs/baseline_mocap --config.data.cache_dir=caches \
      --config.data.test_2d=noisy --config.eval.output_suffix=noisy2d --mode=eval

Runtime: sized for 2 CPU cores (GFPose small's budget); each results JSON
records its evaluation's wall-clock time (`seconds`).
Results: experiments/results/baseline_mocap_h100_estimate.json (exact 2D)
and baseline_mocap_h100_estimate_noisy2d.json (noisy 2D), both run on one
H100 and rendered into the README's tables beside GFPose small's.
"""
import ml_collections

from experiments.configs import gfpose_base
from experiments.configs import gfpose_mocap
from jaxpose import settings


def get_config(variant: str = "small"):
  """variant: 'small', or 'camera' (gfpose_mocap.py's camera variant)."""
  settings.one_of("variant", variant, ("small", "camera"))
  c = gfpose_mocap.get_config(variant)
  gfpose_base.as_lifter(c)
  c.model = ml_collections.ConfigDict(dict(
      name="lifter_mlp", hidden=1024, num_blocks=2, dropout=0.5, norm="layer"))
  # A lifter has no sampler: the generic evaluation fields, on the same
  # held-out rows, and the lifter's own chunk size (predictions are cheap).
  c.eval = ml_collections.ConfigDict(dict(
      task="estimate", num_poses=c.eval.num_poses, use_ema=True,
      plot_poses=c.eval.plot_poses, plot_hypotheses=1, output_suffix="",
      output_dir="", save_predictions=False, apply_calibration=True,
      calibration_from="", calibration_2d="",
      rows="test", overwrite=False,
      lift_batch_size=1024))
  return c
