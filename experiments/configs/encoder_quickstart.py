"""Context encoder: GraFormer-style graph lifter on the quickstart's data.

DiffPose's single-frame context encoder (jaxpose/models/context_encoder.py:
GraphLifter, hidden 96, 5 layers, 4 heads, Chebyshev order 2, dropout
0.1) trained as a baseline lifter: regression on exactly the data,
batches, optimiser and EMA of quickstart.py, scored on the same held-out
poses by the same metric code, so its row sits beside GFPose's and
Martinez et al.'s.  Its checkpoint is a context encoder for DiffPose
(`Baseline.encode` on `run_lib.load_trained(workdir)`).

Command:
  python -m experiments.main --config=experiments/configs/encoder_quickstart.py \
      --workdir=runs/encoder_quickstart

Expected runtime on 2 CPU cores: about 12 minutes to train (1000 steps
of batch 256 at 1 to 2.3 steps/s on cores shared with other jobs; the
graph network costs about 6 times the MLP per step there), about 3 s to
evaluate.
Expected result (experiments/results/encoder_quickstart_cpu.json: seed 0,
1000 steps, EMA weights, the first 100 held-out poses, exact 2D): MPJPE
56.6 mm, PA-MPJPE 31.8 mm (the MLP baseline after 5000 steps: 45.6 /
27.9; GFPose's mean of 200 hypotheses: 59.8 / 37.9).
"""
import ml_collections

from experiments.configs import baseline_quickstart


def get_config():
  c = baseline_quickstart.get_config()
  c.model = ml_collections.ConfigDict(dict(
      name="graph_lifter", hidden=96, num_layers=5, num_heads=4, order=2,
      dropout=0.1, conv_dropout=0.1))
  # A fifth of the quickstart's steps, so that it trains in minutes on a
  # CPU, where a graph network costs about 6 times the MLP per step.
  c.train.update(num_steps=1000, log_every=100, ckpt_every=500)
  # No rows held out here (the quickstart's results were measured so); with
  # --config.holdout.fraction=0.1 a tenth of the poses never train the
  # encoder and DiffPose fits H_K on them (encoder_mocap.py does so).
  c.holdout = ml_collections.ConfigDict(dict(fraction=0.0, seed=0))
  return c
