"""DPoser on real motion capture: the jaxpose-mocap v1 protocol.

Train the rotation prior on the body-space poses of all Bandai-Namco clips
plus CMU subjects 001, 002, 003, 006; test every task on CMU 005 and 007
(people never seen in training), with dposer_quickstart.py's evaluation
settings.  Bandai gives about 98% of the training frames;
data.train_balance='rigs' draws each rig's rows equally often.  A tenth
of the training clips is held out (holdout.fraction), and the prior
weights are the best of a grid on them, never on the test split.  Prepare
the caches as gfpose_mocap.py says (experiments.prepare writes the
body-space rotations into them; re-run it after a change of
body_sources.REST), then:

  python -m experiments.main --config=experiments/configs/dposer_mocap.py \
      --workdir=runs/dposer_mocap --config.data.cache_dir=caches \
      --config.eval.gfpose_workdir=runs/gfpose_mocap
  for task in denoise_motion fit2d generate; do
    python -m experiments.main --config=experiments/configs/dposer_mocap.py \
        --workdir=runs/dposer_mocap --config.data.cache_dir=caches \
        --config.eval.gfpose_workdir=runs/gfpose_mocap --mode=eval \
        --config.eval.task=$task
  done
  # the prior weights, chosen on the held-out clips:
  python -m experiments.dposer_weights --workdir=runs/dposer_mocap \
      --out=experiments/results/dposer_mocap_small_v2_cpu_weights_heldout.json
  # the authors' denoising recipe, its weights chosen the same way:
  python -m experiments.dposer_weights --workdir=runs/dposer_mocap \
      --out=..._weights_heldout_released.json --fit_grid= \
      --denoise_grid='gmm=0.3,1,3,10;dposer=0.3,1,3,10' \
      "--set=eval.denoise_motion.weight_schedules=('released',)"
  # then --mode=eval --config.eval.task=denoise_motion
  # "--config.eval.denoise_motion.weight_schedules=('released',)" with the
  # chosen --config.eval.denoise_motion.weights and
  # --config.eval.output_suffix=released

(--config.eval.gfpose_workdir names a GFPose trained by gfpose_mocap.py: its
joint prior makes the 'gfpose' rows; leave it out to skip them.)
Calibrated completion: train with a person held out
(--config.holdout.subjects=cmu:006), then --mode=calibrate
"--config.eval.priors=('dposer',)" "--config.eval.complete.parts=('l_leg',)"
and --mode=eval.

Variants (the text after ':' in --config):
  small (default): every 4th training frame, MLP width 512, 20k steps of
    batch 256; sized for 2 CPU cores.
  paper: DPoser's network and schedule (width 1024, embed 512, 400k steps
    of batch 1280) on every training frame; for an accelerator.

Each training pose is replaced by its left-right mirror with probability
0.5 (train.mirror; --config.train.mirror=0 trains on the poses as they are).

Expected: motion denoising at 20 / 40 mm of noise, MPJPE about 28.7 / 35.0 mm with DPoser against 27.3 / 35.8 mm without a prior (seeds 0-2, 2 CPU cores, 20k steps); docs/results/bodies.md.
"""
from experiments.configs import dposer_quickstart
from experiments.configs import gfpose_mocap
from jaxpose import settings

VARIANTS = ("small", "paper")


def get_config(variant: str = "small"):
  settings.one_of("variant", variant, VARIANTS)
  c = dposer_quickstart.get_config()
  # GFPose's mocap data section (same frames, cameras and 2D noise model),
  # with the body-space rotations of every row.
  c.data = gfpose_mocap.get_config(variant).data
  c.data.body = True
  # Bandai and CMU rows drawn equally often, a tenth of the clips held out
  # and the weights chosen on them (see above).
  c.data.train_balance = "rigs"
  c.holdout.fraction = 0.1
  # Mirrored poses lower its motion-denoising error at 20 and 40 mm and its
  # completion error on three of five parts, the worst ones (the legs) most
  # (docs/results/bodies.md).
  c.train.mirror = 0.5
  c.eval.denoise_motion.weights = dict(gmm=0.1, gfpose=3.0, dposer=1.0)
  c.eval.fit2d.weights = dict(gmm=0.003, gfpose=1.0, dposer=0.3)
  if variant == "small":
    c.train.update(num_steps=20_000, batch_size=256, learning_rate=1e-3,
                   warmup_steps=500, ema_decay=0.999, log_every=500,
                   ckpt_every=2000)
  else:
    c.model.update(hidden=1024, embed_dim=512, dropout=0.1)
    c.data.update(train_stride=1)
    c.train.update(num_steps=400_000, batch_size=1280, learning_rate=2e-4,
                   warmup_steps=5000, ema_decay=0.9999, log_every=1000,
                   ckpt_every=10_000)
  return c
