"""Quickstart: a small GFPose trained on the embedded synthetic poses.

Command:
  python -m experiments.main --config=experiments/configs/quickstart.py \
      --workdir=runs/quickstart

Expected runtime: 2 to 4 minutes for the whole job on 2 CPU cores (5000
steps at 25-45 steps/s, then 20-40 s to sample 100 held-out poses x 200
hypotheses with 50 ancestral steps; the machine's speed drifts); about a
minute on one H100.
Expected result (experiments/results/quickstart_gfpose_*.json): MPJPE of
the hypotheses' mean 59.8 mm, PA-MPJPE 37.9 mm, best-of-10 52.4 mm,
best-of-200 37.6 mm (a mean pose would score 265 mm), the same to 0.01 mm
on a CPU and on an H100, and bitwise the same on every CPU run.
Running it again with a larger --config.train.num_steps resumes from the
last checkpoint in the workdir.
"""
from experiments.configs import gfpose_base


def get_config():
  c = gfpose_base.get_config()
  c.model.update(hidden=512, embed_dim=128, num_blocks=2, dropout=0.0)
  c.data.update(n_train=50_000, n_test=500)
  c.train.update(num_steps=5000, batch_size=256, learning_rate=1e-3,
                 warmup_steps=200, ema_decay=0.999, log_every=250,
                 ckpt_every=1000)
  # The base's sampler (ancestral, 50 steps) and 200 hypotheses.
  c.eval.update(num_poses=100, batch_poses=50)
  return c
