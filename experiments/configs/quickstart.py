"""Quickstart: a small GFPose trained on the embedded synthetic poses.

Command:
  python -m experiments.main --config=experiments/configs/quickstart.py \
      --workdir=runs/quickstart

Expected runtime on 2 CPU cores: about 4 minutes for the whole job
(measured: 4 min 3 s; 5000 steps at 23-28 steps/s, then 39 s to sample
100 held-out poses x 200 hypotheses with 50 ancestral steps, 67 s before
the samplers' XLA options, jaxpose/xla_options.py). On one H100: 48 s in
all (320 steps/s).
Expected result (measured, experiments/results/quickstart_gfpose_*.json):
MPJPE of the hypotheses' mean 59.6 mm, PA-MPJPE 38.2 mm, best-of-10 51.3 mm,
best-of-200 37.5 mm (a mean pose would score 265 mm); CPU and GPU agree to
0.01 mm.
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
