"""Baseline: Martinez et al.'s lifter on the quickstart's data and budget.

The deterministic residual MLP of "A simple yet effective baseline for 3d
human pose estimation" (Martinez et al., 2017) at the paper's size (hidden
1024, 2 residual blocks, dropout 0.5; LayerNorm in place of BatchNorm, see
jaxpose/models/lifter_mlp.py), trained by regression with exactly the
data, batches, steps, optimiser and EMA of quickstart.py, and scored on
the same held-out poses by the same metric code, so its row sits beside
GFPose's; sized for 2 CPU cores.

Command:
  python -m experiments.main --config=experiments/configs/baseline_quickstart.py \
      --workdir=runs/baseline_qs

Expected: MPJPE about 45.6 mm on 100 synthetic held-out poses (2 CPU cores, 5000 steps); docs/results/accuracy.md.
"""
import ml_collections

from experiments.configs import gfpose_base
from experiments.configs import quickstart
from experiments import configs as configs_lib


def get_config():
  c = quickstart.get_config()
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
