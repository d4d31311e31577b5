"""Baseline: Martinez et al.'s lifter on jaxpose-mocap v1, GFPose's budget.

The deterministic residual MLP (hidden 1024, 2 residual blocks, dropout
0.5, LayerNorm; jaxpose/models/lifter_mlp.py) trained by regression with
exactly the data, batches, steps, optimiser and EMA of `gfpose_mocap.py`'s
small variant, and scored on the same test rows by the same metric code,
so its rows sit beside GFPose's; sized for 2 CPU cores.  Prepare the
caches as gfpose_mocap.py says, then:

  python -m experiments.main --config=experiments/configs/baseline_mocap.py \
      --workdir=runs/baseline_mocap --config.data.cache_dir=caches
  # noisy 2D at test time:
  python -m experiments.main --config=experiments/configs/baseline_mocap.py \
      --workdir=runs/baseline_mocap --config.data.cache_dir=caches \
      --config.data.test_2d=noisy --config.eval.output_suffix=noisy2d --mode=eval

Variant camera (`baseline_mocap.py:camera`): gfpose_mocap.py's camera
variant, the lifter that reads 2D in the camera's own geometry; camera_roll
the same trained on cameras turned up to 30 degrees about their axes.

Expected: MPJPE about 74.5 mm from exact 2D, 144.6 mm from noisy 2D (seeds
0-2, 2 CPU cores, 20k steps); docs/results/accuracy.md. camera: about 83.6
mm on training-range cameras, 84.9 mm under another lens and distance,
93.8 mm with the pitch outside too (seeds 0-2); docs/results/video.md.
"""
import ml_collections

from experiments.configs import gfpose_base
from experiments.configs import gfpose_mocap
from experiments import configs as configs_lib
from jaxpose import settings


def get_config(variant: str = "small"):
  """variant: 'small', 'camera' or 'camera_roll' (gfpose_mocap.py's)."""
  settings.one_of("variant", variant, ("small", "camera", "camera_roll"))
  c = gfpose_mocap.get_config(variant)
  gfpose_base.as_lifter(c)
  c.model = ml_collections.ConfigDict(dict(
      name="lifter_mlp", hidden=1024, num_blocks=2, dropout=0.5, norm="layer"))
  # A lifter has no sampler: the generic evaluation fields, on the same
  # held-out rows, and the lifter's own chunk size (predictions are cheap).
  c.eval = configs_lib.generic_eval(
      task="estimate", num_poses=c.eval.num_poses, plot_poses=c.eval.plot_poses,
      plot_hypotheses=1, lift_batch_size=1024, flip_average=False,
      subtract_root=False)
  return c
