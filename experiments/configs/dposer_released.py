"""DPoser's released weights evaluated as the authors' code runs them.

The config an import of DPoser's released checkpoints starts from
(experiments/import_weights.py --method=dposer): the paper's DPoser on the
body space of jaxpose-mocap v1 (dposer_mocap.py:paper's data and training
sections), with the authors' evaluation procedure where jaxpose's differs,
each an option of jaxpose's code:
  complete   their objective (eval.complete_objective='dposer_released':
             every dimension under 100/(1+k) x the data term + 0.1 (k+1) x
             the prior over 2 stages of 100 Adam steps, lr 0.1, their time
             grid, the mean over 100 rows) and the range their tester runs,
             t 0.3 -> 0.05 (the paper names 0.15 -> 0.05);
  generate   Euler-Maruyama over 1000 steps on their grid
             (linspace(1, 1e-3, 1000), dt = 1/1000: eval.generate_eps=0).
  denoise_motion  their weights annealed over 3 runs of the steps
             (data 100/(1+k^2), temporal 10(1+k), prior 0.1(1+k):
             eval.denoise_weight_schedules=('annealed', 'fixed'), as
             factors on jaxpose's weights; jaxpose's fixed rows beside).
Variants (the text after ':' in --config): mocap (default), the data
above; synthetic, the quickstart's synthetic motion instead (no caches
needed: the parity run and checks; the imported skeleton and 22 -> 17
regressor are then fitted on it).
The importer sets the model and sde sections from the checkpoint (the
network's sizes, `output_scale='ve_sigma'`, sub-VP 0.1 -> 20); they are
given here as the released network so that the config is complete.

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

The papers' figures for these weights (DPoser-X, body; SMPL-X meshes on
AMASS, which jaxpose does not reproduce without the licensed model):
generation APD 14.28, FID 0.07, precision 0.72, recall 0.80, dNN 2.63;
completion of the left leg MPVPE min/mean 38.79/78.31 mm; motion denoising
at 40 mm MPJPE 19.87; EHF HMR PA-MPJPE 56.05.

Runtime: an accelerator for the evaluation at this size (generation is
1000 network calls per sample). Results: experiments/results/
parity_dposer.json (the authors' network, sampler, completion and
normalisation against jaxpose's on the same weights, inputs and noise);
no evaluation of the released weights themselves (not downloaded here).
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
  c.eval.update(
      batch_size=100, complete_objective="dposer_released",
      complete_stages=2, complete_steps=200, complete_lr=0.1,
      complete_t=(0.3, 0.05), complete_hypotheses=10,
      generate_sampler="euler_maruyama", generate_steps=1000, generate_eps=0.0,
      # Their motion denoising anneals its weights over 3 x 60 steps: that
      # row first (it runs the schedule ablation), jaxpose's fixed beside.
      denoise_weight_schedules=("annealed", "fixed"), denoise_stages=3)
  return c
