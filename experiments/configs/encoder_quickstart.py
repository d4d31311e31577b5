"""Context encoder: GraFormer-style graph lifter on the quickstart's data.

DiffPose's single-frame context encoder (jaxpose/models/context_encoder.py:
GraphLifter, hidden 96, 5 layers, 4 heads, Chebyshev order 2, dropout
0.1) trained as a baseline lifter: regression with exactly the data,
batches, optimiser and EMA of quickstart.py (a fifth of its steps),
scored on the same held-out poses by the same metric code; sized for 2
CPU cores.  Its checkpoint is the context encoder of
diffpose_quickstart.py and diffpose_released.py.

Command:
  python -m experiments.main --config=experiments/configs/encoder_quickstart.py \
      --workdir=runs/encoder_quickstart

Expected: MPJPE about 56.6 mm on 100 synthetic held-out poses (2 CPU cores, 1000 steps); docs/results/accuracy.md.
"""
import ml_collections

from experiments.configs import baseline_quickstart


def get_config():
  c = baseline_quickstart.get_config()
  c.model = ml_collections.ConfigDict(dict(
      name="graph_lifter", hidden=96, num_layers=5, num_heads=4, order=2,
      dropout=0.1, conv_dropout=0.1))
  # A fifth of the quickstart's steps, so that it fits a CPU's budget,
  # where a graph network costs several times the MLP's time per step.
  c.train.update(num_steps=1000, log_every=100, ckpt_every=500)
  # No rows held out here (experiments/results/encoder_quickstart_cpu.json
  # and the DiffPose quickstart's results were run so); with
  # --config.holdout.fraction=0.1 a tenth of the poses never train the
  # encoder and DiffPose fits H_K on them (encoder_mocap.py does so).
  c.holdout = ml_collections.ConfigDict(dict(fraction=0.0, seed=0, subjects=()))
  return c
