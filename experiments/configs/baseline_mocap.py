"""Baseline: Martinez et al.'s lifter on jaxpose-mocap v1, GFPose's budget.

The deterministic residual MLP (hidden 1024, 2 residual blocks, dropout
0.5, LayerNorm; jaxpose/models/lifter_mlp.py) trained by regression on
exactly the data, batches, step count, optimiser and EMA of
`gfpose_mocap.py`'s small variant, and scored on the same test rows by the
same metric code.  Prepare the caches as gfpose_mocap.py says, then:

  python -m experiments.main --config=experiments/configs/baseline_mocap.py \
      --workdir=runs/baseline_mocap --config.data.cache_dir=caches
  # noisy 2D at test time:
  python -m experiments.main --config=experiments/configs/baseline_mocap.py \
      --workdir=runs/baseline_mocap --config.data.cache_dir=caches \
      --config.data.test_2d=noisy --config.eval.output_suffix=noisy2d --mode=eval

Expected runtime: about 20 minutes on 2 CPU cores (this network at batch
256 trains at about 16 steps/s there); about 1.5 minutes on one H100.
Expected result (experiments/results/baseline_mocap_*.json): MPJPE about
74 mm / PA-MPJPE about 61 mm with exact 2D and 143 / 99 with noisy 2D, on
the first 500 test rows (GFPose small: about 82 / 67 for the mean of 200
hypotheses, 52.5 best-of-200; noisy 118 / 90 / 90).
"""
import ml_collections

from experiments.configs import gfpose_mocap


def get_config():
  c = gfpose_mocap.get_config("small")
  c.method = "baseline"
  c.model = ml_collections.ConfigDict(dict(
      name="lifter_mlp", hidden=1024, num_blocks=2, dropout=0.5, norm="layer"))
  # A lifter has no sampler: the generic evaluation fields, on the same
  # held-out rows, and the lifter's own chunk size (predictions are cheap).
  c.eval = ml_collections.ConfigDict(dict(
      task="estimate", num_poses=c.eval.num_poses, use_ema=True,
      plot_poses=c.eval.plot_poses, plot_hypotheses=1, output_suffix="",
      output_dir="", save_predictions=False, lift_batch_size=1024))
  return c
