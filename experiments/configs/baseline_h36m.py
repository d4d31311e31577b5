"""Baseline: Martinez et al.'s lifter on Human3.6M, the papers' protocol.

The deterministic residual MLP (hidden 1024, 2 residual blocks, dropout
0.5, LayerNorm; jaxpose/models/lifter_mlp.py) trained by regression on
exactly the data, batches, step count, optimiser and EMA of
`gfpose_h36m.py`, and scored on the same test rows (every 64th frame of
each S9/S11 take, four cameras) by the same metric code.  Martinez et al.
trained with batch 64, BatchNorm, max-norm and 200 epochs; this config
keeps GFPose's budget for a like-for-like comparison.  Get VideoPose3D's
files as gfpose_h36m.py says (H36M = their folder), then:

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

Runtime: for an accelerator: GFPose's 200k steps of batch 1000 (with about
a third of its parameters); not for a CPU.
Results: none in experiments/results/ (the licensed files were not at
hand).  Martinez et al. (ICCV 2017) report MPJPE 62.9 mm averaged over the
15 actions with stacked-hourglass detections fine-tuned on Human3.6M
(VideoPose3D's file of them has 16 joints, which a 17-joint lifter cannot
take: the default here is CPN's, more accurate) and 45.5 mm with
ground-truth 2D; GFPose (gfpose_h36m.py) reports best-of-200 35.6 / 30.5
(detected) and 16.9 (ground truth).
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
      generic, plot_hypotheses=1, lift_batch_size=4096))
  return c
