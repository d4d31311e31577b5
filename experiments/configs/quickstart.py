"""Quickstart: a small GFPose trained on the embedded synthetic poses.

For a first run on a fresh machine, and the trained model that the sampler
study and the DPoser quickstart's 'gfpose' prior rows use: gfpose_base's
design (sub-VP SDE, condition masking, 200 hypotheses) with an MLP of
width 512 trained for 5000 steps of batch 256 on 50k procedural poses,
scored on the first 100 held-out poses; sized for 2 CPU cores.  Running it
again with a larger --config.train.num_steps resumes from the last
checkpoint in the workdir.

Commands:
  python -m experiments.main --config=experiments/configs/quickstart.py \
      --workdir=runs/quickstart
  # GFPose's own pose space (normalised image coordinates, true root depth):
  python -m experiments.main --config=experiments/configs/quickstart.py \
      --workdir=runs/quickstart_image --config.representation.space=image
  # error against network evaluations of every sampler on the trained model
  # (options in experiments/bench/sampler_curves.py):
  python -m experiments.bench.sampler_curves --workdir=runs/quickstart

Expected: MPJPE about 59.8 mm (mean of 200 hypotheses; best of 200 about 37.6 mm) on 100 synthetic held-out poses (2 CPU cores, 5000 steps); docs/results/accuracy.md.
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
