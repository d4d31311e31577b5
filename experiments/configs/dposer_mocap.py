"""DPoser on real motion capture: the jaxpose-mocap v1 protocol.

Train the rotation prior on the body-space poses of all Bandai-Namco clips
plus CMU subjects 001, 002, 003, 006; test every task on CMU 005 and 007
(people never seen in training), with dposer_quickstart.py's evaluation
settings and prior weights.  Prepare the caches as gfpose_mocap.py says
(experiments.prepare writes the body-space rotations into them), then:

  python -m experiments.main --config=experiments/configs/dposer_mocap.py \
      --workdir=runs/dposer_mocap --config.data.cache_dir=caches \
      --config.eval.gfpose_workdir=runs/gfpose_mocap
  for task in denoise_motion fit2d generate; do
    python -m experiments.main --config=experiments/configs/dposer_mocap.py \
        --workdir=runs/dposer_mocap --config.data.cache_dir=caches \
        --config.eval.gfpose_workdir=runs/gfpose_mocap --mode=eval \
        --config.eval.task=$task
  done

(--config.eval.gfpose_workdir names a GFPose trained by gfpose_mocap.py: its
joint prior makes the 'gfpose' rows; leave it out to skip them.)

Bandai gives about 98% of the training frames; data.train_balance='rigs'
draws each rig's rows equally often (per-row sampling weights, the rows
unchanged; jaxpose/data/mocap_dataset.py).  A tenth of the training clips
is held out (holdout.fraction): the prior weights below are the best of a
grid on them, never on the test split:

  python -m experiments.dposer_weights --workdir=runs/dposer_mocap \
      --out=experiments/results/dposer_mocap_small_v2_cpu_weights_heldout.json

(the GFPose prior's weights are the quickstart's: not chosen on mocap).  The caches' body-space
rotations are those of the rest calibration they were prepared with: re-run
experiments.prepare after a change of body_sources.REST.

Variants (the text after ':' in --config):
  small (default): every 4th training frame (as GFPose's small variant),
    MLP width 512, 20k steps of batch 256.
  paper: DPoser's network and schedule (width 1024, embed 512, dropout 0.1,
    batch 1280, Adam 2e-4 with 5000 warm-up steps, EMA 0.9999, 400k steps)
    on every training frame.

Runtime: small is sized for 2 CPU cores, paper for an accelerator; each
task's JSON records its wall-clock time (`seconds`).
Results (experiments/results/, 2 CPU cores, in the README's DPoser tables,
fit2d beside GFPose's and the baseline's estimation on the same rows):
  small: dposer_mocap_small_v2_cpu_<task>.json for complete, denoise_motion
    (denoise_motion_annealed: the annealed weights with their own held-out
    choice; denoise_motion_released: the authors' whole recipe, its weights
    chosen on the held-out clips by
      python -m experiments.dposer_weights --workdir=runs/dposer_mocap \
          --out=..._weights_heldout_released.json --fit_grid= \
          --denoise_grid='gmm=0.3,1,3,10;dposer=0.3,1,3,10' \
          "--set=eval.denoise_weight_schedules=('released',)"
    then --mode=eval --config.eval.task=denoise_motion
    "--config.eval.denoise_weight_schedules=('released',)" with the chosen
    --config.eval.denoise_weights and --config.eval.output_suffix=released;
    over seeds 0, 1, 2 in ..._seeds_denoise_motion_released.json), fit2d,
    and weights_heldout (the grid); without the GFPose prior.  dposer_mocap_small_v2_subject006_cpu_complete.json: CMU subject
    006 held out besides the tenth (--config.holdout.subjects=cmu:006) and
    the completion calibrated on that person alone (--mode=calibrate
    "--config.eval.priors=('dposer',)"
    "--config.eval.complete_parts=('l_leg',)"), one run, and
    dposer_mocap_small_v2_subject006_cpu_seeds_complete.json, the same over
    3 seeds. dposer_mocap_small_v2_subjects001_006_cpu_seeds_complete.json: CMU
    subjects 001 and 006 held out (--config.holdout.subjects="('cmu:001',
    'cmu:006')"), calibrated the same way, 3 seeds; and
    dposer_mocap_small_v2_borrowed001_006_cpu_seeds_complete.json: the
    priors trained without holding them out borrowing that calibration
    (--mode=calibrate --config.eval.calibration_from=SIBLING_WORKDIR).
    dposer_mocap_small_v2_cpu_budget.json: motion denoising against
    training length (seeds 0, 1, 2 untrained, then 10k to 40k steps, the
    weight chosen on the held-out clips each time;
    experiments/dposer_budget.py), and dposer_mocap_wide_v2_cpu_budget.json:
    the authors' width (hidden 1024, embed 512) trained 10k steps, scored
    the same way (seeds 0, 1, 2).
    dposer_mocap_small_cpu_<task>.json: the run before the calibrated body
    space (caches of version 1), the rig balance and the
    held-out weights (train_balance='none', holdout.fraction=0, the
    quickstart's weights).
  paper: none (not run).
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
  c.eval.denoise_weights = dict(gmm=0.1, gfpose=3.0, dposer=1.0)
  c.eval.fit_weights = dict(gmm=0.003, gfpose=1.0, dposer=0.3)
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
