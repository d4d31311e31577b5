"""GFPose's released weights evaluated as the authors' code runs them.

The config an import of GFPose's released checkpoint starts from
(experiments/import_weights.py --method=gfpose): the paper's GFPose on
Human3.6M in the authors' image space (gfpose_h36m.py's data, times
data_scale = 30), with the authors' evaluation settings where jaxpose's
differ: Euler-Maruyama over their 1000-step grid, their noise-free
`--pflow` mode for the single-hypothesis, denoising and 3D completion
tasks, and no range guard (x0_clip off).  The importer sets the model and
sde sections from the checkpoint; they are given here so that the config
is complete.  For an accelerator (200 hypotheses x 1000 network calls
per pose).
Variants (the text after ':' in --config):
  h36m (default)  VideoPose3D's files (data_3d_h36m.npz and a 2D file, CPN
                  detections by default), depth scaled by fx / Z_r.
  lcn             the authors' own data: LCN's pickles (`data.name=h36m_lcn`),
                  every 640th test row as their `--sample 640`.

Commands (best_model.pth from the authors' README, Google Drive,
checkpoint/u3d/; the data as gfpose_h36m.py or jaxpose/data/lcn.py says):
  python -m experiments.import_weights --method=gfpose \
      --checkpoint=best_model.pth --workdir=runs/gfpose_released \
      --config=experiments/configs/gfpose_released.py:lcn
  for task in estimate estimate_single complete2d complete3d denoise generate; do
    python -m experiments.main --workdir=runs/gfpose_released --mode=eval \
        --config.eval.task=$task
  done
  # ground-truth 2D: --config.data.input_2d=gt (lcn), or
  # --config.data.test_path_2d=data_2d_h36m_gt.npz (h36m).

Expected: the paper's best-of-200 MPJPE / PA-MPJPE 35.6 / 30.5 mm (detected 2D), not evaluated here (weights and data not at hand); sampling matches the authors' code to 2.5e-8 relative in float64 (docs/results/parity.md).
"""
import ml_collections

from experiments.configs import gfpose_base
from experiments.configs import gfpose_h36m
from jaxpose import settings

VARIANTS = ("h36m", "lcn")


def lcn_data() -> ml_collections.ConfigDict:
  """The data section of LCN's pickles (jaxpose/data/lcn.py)."""
  return ml_collections.ConfigDict(dict(
      name="h36m_lcn", dir="", train_file="h36m_train.pkl",
      test_file="h36m_test.pkl", input_2d="detected",
      detections_file="h36m_sh_dt_ft.pkl", train_stride=1, test_stride=640))


def get_config(variant: str = "h36m"):
  settings.one_of("variant", variant, VARIANTS)
  c = gfpose_h36m.get_config()
  if variant == "lcn":
    c.data = lcn_data()
  gfpose_base.image_space(c, depth="crop_ratio" if variant == "lcn" else "focal")
  # The released network (the importer reads the sizes from the file).
  c.model.update(hidden=1024, embed_dim=512, num_blocks=2, dropout=0.25,
                 num_groups=32)
  c.sde.update(name="subvp", beta_min=0.1, beta_max=20.0)
  # Their evaluation: EM x 1000 on their grid, 200 hypotheses, no range
  # guard on the denoised estimate.
  c.eval.update(sampler="euler_maruyama", num_steps=1000, eps=1e-6,
                num_hypotheses=200, hypotheses_list=(1, 10, 50, 200),
                batch_poses=50, x0_clip=False)
  c.eval.estimate_single.update(sampler="deterministic", num_steps=1000)
  c.eval.denoise.update(sampler="deterministic", full_grid_steps=1000)
  return c
