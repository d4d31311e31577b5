"""Quickstart: a small GFPose trained on the embedded synthetic poses.

Command:
  python -m experiments.main --config=experiments/configs/quickstart.py \
      --workdir=runs/quickstart

Expected runtime on 2 CPU cores: 3 min 50 s for the whole job (measured:
5000 steps at about 27 steps/s, then about 25 s to sample 100 held-out
poses x 10 hypotheses with 200 Euler-Maruyama steps); about 5.5 min when
other work shares the cores. On one H100: 47 s in all (320 steps/s).
Expected result (measured, experiments/results/quickstart_gfpose_*.json):
MPJPE of the hypotheses' mean 62 mm, PA-MPJPE 40 mm, best-of-10 MPJPE 54 mm
(a mean pose would score 265 mm), the same to 0.01 mm on CPU and GPU.
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
