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

Results: experiments/results/baseline_mocap_*.json (README table).
"""
import ml_collections

from experiments.configs import gfpose_mocap


def get_config():
  c = gfpose_mocap.get_config("small")
  c.method = "baseline"
  c.model = ml_collections.ConfigDict(dict(
      name="lifter_mlp", hidden=1024, num_blocks=2, dropout=0.5, norm="layer"))
  c.eval.lift_batch_size = 1024
  return c
