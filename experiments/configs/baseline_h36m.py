"""Baseline: Martinez et al.'s lifter on Human3.6M, the papers' protocol.

The deterministic residual MLP (hidden 1024, 2 residual blocks, dropout
0.5, LayerNorm; jaxpose/models/lifter_mlp.py) trained by regression with
exactly the data, batches, steps, optimiser and EMA of `gfpose_h36m.py`
(Martinez et al. trained with batch 64, BatchNorm, max-norm and 200
epochs), scored on the same test rows by the same metric code; for an
accelerator.  CPN detections by default (VideoPose3D's stacked-hourglass
file has 16 joints).  Get VideoPose3D's files as gfpose_h36m.py says
(H36M = their folder), then:

  python -m experiments.main --config=experiments/configs/baseline_h36m.py \
      --workdir=runs/baseline_h36m_cpn --config.data.dir=$H36M
  # ground-truth 2D:
  python -m experiments.main --config=experiments/configs/baseline_h36m.py \
      --workdir=runs/baseline_h36m_gt --config.data.dir=$H36M \
      --config.data.path_2d=data_2d_h36m_gt.npz
  # every test frame (the papers' count):
  python -m experiments.main --config=experiments/configs/baseline_h36m.py \
      --workdir=runs/baseline_h36m_cpn --config.data.dir=$H36M --mode=eval \
      --config.data.test_stride=1 --config.eval.output_suffix=allframes
Per-action MPJPE / PA-MPJPE: WORKDIR/eval/estimate.json, "per_activity".

Expected: not run here (no results file: the licensed data was not at hand); Martinez et al. report MPJPE 62.9 mm with detections, 45.5 mm with ground-truth 2D.
"""
import dataclasses

import ml_collections

from experiments.configs import gfpose_base
from experiments.configs import gfpose_h36m
from jaxpose.evaluation.config import EvalConfig


def get_config():
  c = gfpose_h36m.get_config()
  gfpose_base.as_lifter(c)
  # Martinez et al. lift to root-relative millimetres (the standard space),
  # not GFPose's image space.
  c.representation = gfpose_base.get_config().representation
  c.model = ml_collections.ConfigDict(dict(
      name="lifter_mlp", hidden=1024, num_blocks=2, dropout=0.5, norm="layer"))
  # A lifter has no sampler: the generic evaluation fields (whatever
  # EvalConfig holds), on the same held-out rows, one hypothesis drawn, and
  # the lifter's own chunk size (predictions are cheap).
  generic = {f.name: c.eval[f.name] for f in dataclasses.fields(EvalConfig)}
  c.eval = ml_collections.ConfigDict(dict(
      generic, plot_hypotheses=1, lift_batch_size=4096, flip_average=False,
      subtract_root=False))
  return c
