"""DPoser's released weights evaluated as the authors' code runs them.

The config an import of DPoser's released checkpoints starts from
(experiments/import_weights.py --method=dposer): the paper's DPoser on the
body space of jaxpose-mocap v1 (dposer_mocap.py:paper's data and training
sections), with the authors' evaluation procedure where jaxpose's
differs, each an option of jaxpose's code: their completion objective
(eval.complete.objective='dposer_released') and t range 0.3 -> 0.05,
Euler-Maruyama generation over their 1000-step grid, and their motion
denoising weights annealed over 3 runs of the steps beside jaxpose's
fixed ones.  The importer sets the model and sde sections from the
checkpoint; they are given here so that the config is complete.  For an
accelerator (generation is 1000 network calls per sample).
Variants (the text after ':' in --config):
  mocap (default)  the data above.
  synthetic        the quickstart's synthetic motion (no caches needed:
                   the parity run and checks).

Commands (the weights and statistics from the authors' repository,
moonbow721/DPoser: v1 `axis-zscore-400k.pth`, v2
`epoch=36-step=150000-val_mpjpe=38.17.ckpt`; `axis_normalize2.pt` from its
data/AMASS/amass_processed/version1/train/; the mocap caches as
gfpose_mocap.py says):
  python -m experiments.import_weights --method=dposer \
      --checkpoint=axis-zscore-400k.pth --statistics=axis_normalize2.pt \
      --workdir=runs/dposer_released   # caches: <project>/caches or $JAXPOSE_DATA/caches
  for task in complete denoise_motion fit2d generate; do
    python -m experiments.main --workdir=runs/dposer_released --mode=eval \
        --config.eval.task=$task
  done

Expected: the paper's motion denoising at 40 mm, MPJPE 19.87 mm (AMASS), not evaluated here (weights not at hand); generation matches the authors' code to 9.3e-8 relative in float64 (docs/results/parity.md).
"""
from experiments.configs import dposer_mocap
from experiments.configs import dposer_quickstart
from jaxpose import settings

VARIANTS = ("mocap", "synthetic")


def get_config(variant: str = "mocap"):
  settings.one_of("variant", variant, VARIANTS)
  c = dposer_mocap.get_config("paper")
  if variant == "synthetic":
    c.data = dposer_quickstart.get_config().data
  # The released network (the importer reads these from the checkpoint).
  c.model.update(hidden=1024, embed_dim=512, num_blocks=2, dropout=0.1,
                 num_groups=32, time_scale=999.0, output_scale="ve_sigma",
                 sigma_min=0.01, sigma_max=50.0, num_scales=1000)
  c.sde.update(name="subvp", beta_min=0.1, beta_max=20.0)
  c.eval.batch_size = 100
  c.eval.complete.update(objective="dposer_released", stages=2, steps=200,
                         lr=0.1, t=(0.3, 0.05), hypotheses=10)
  c.eval.generate.update(sampler="euler_maruyama", steps=1000, eps=0.0)
  # Their motion denoising anneals its weights over 3 x 60 steps: that row
  # first (it runs the schedule ablation), jaxpose's fixed beside.
  c.eval.denoise_motion.update(weight_schedules=("annealed", "fixed"),
                               stages=3)
  return c
