"""DiffPose's released GraFormer lifter (gcn_xyz_{cpn,gt}.pth) alone.

The config an import of the lifter starts from
(experiments/import_weights.py --method=baseline): a `baseline` workdir
with a `graph_lifter` network at the released size (hidden 96, 5 layers,
4 heads, Chebyshev order 2) and the released code's conventions
(jaxpose/methods/baseline/released.py), on diffpose_authors.py's data and
units, so that it is exactly the context encoder a DiffPose import writes
at WORKDIR/encoder.  Variants as diffpose_authors.py: cpn (default), gt,
synthetic.

Commands (H36M = the folder holding VideoPose3D's files):
  python -m experiments.import_weights --method=baseline \
      --checkpoint=gcn_xyz_cpn.pth --workdir=runs/graformer_released
  python -m experiments.main --workdir=runs/graformer_released --mode=eval \
      --config.data.dir=$H36M

Expected: GraFormer's MPJPE 51.8 mm (CPN) and 35.2 mm (ground-truth 2D), not evaluated here (weights and data not at hand); its forward matches the authors' code to 2.2e-15 relative in float64 (docs/results/parity.md).
"""
import dataclasses

import ml_collections

from experiments.configs import diffpose_authors
from jaxpose.evaluation.config import EvalConfig
from jaxpose.methods.baseline import released


def get_config(variant: str = "cpn"):
  dp = diffpose_authors.get_config(variant)
  generic = {f.name: dp.eval[f.name] for f in dataclasses.fields(EvalConfig)}
  return ml_collections.ConfigDict(dict(
      method="baseline", seed=dp.seed, data=dp.data.to_dict(),
      representation=released.representation_section(),
      model=dict(name="graph_lifter", hidden=96, num_layers=5,
                 num_heads=released.NUM_HEADS, order=2,
                 dropout=released.DROPOUT, conv_dropout=released.CONV_DROPOUT,
                 root=released.ROOT, **released.CONVENTIONS),
      holdout=dict(fraction=0.0, seed=0, subjects=()),
      train={k: v for k, v in dp.train.to_dict().items()
             if k != "loss_reduce"},
      eval=dict(generic, lift_batch_size=1024, flip_average=False,
      subtract_root=False)))
