"""DiffPose's released weights (GONGJIA0208/Diffpose), as the authors run them.

The config an import of DiffPose's released checkpoints starts from
(experiments/import_weights.py --method=diffpose): Human3.6M from
VideoPose3D's files (gfpose_h36m.py says how to make them; train S1 S5 S6
S7 S8 on ground-truth 2D, test S9 S11 every frame) and their refiner: the
GraFormer lifter's pose [2D, 3D] taken as the state at the released start
step of a 51-step chain (betas linear 1e-4 .. 1e-3), then 2 deterministic
DDIM steps, one hypothesis (jaxpose/methods/diffpose/released.py).  The
importer sets the model, sde, representation and diffpose sections from
the checkpoint; they are given here so that the config is complete.  For
an accelerator (every test frame).
Variants (the text after ':' in --config):
  cpn (default)  CPN detections at test, start step 12.
  gt             ground-truth 2D, start step 6.
  synthetic      the quickstart's synthetic data: no files needed (checks).

Commands (the weights from the authors' Dropbox folders named in their
README; H36M = the folder holding VideoPose3D's files):
  python -m experiments.import_weights --method=diffpose \
      --checkpoint=diffpose_uvxyz_cpn.pth --encoder=gcn_xyz_cpn.pth \
      --workdir=runs/diffpose_authors_cpn
  python -m experiments.main --workdir=runs/diffpose_authors_cpn --mode=eval \
      --config.data.dir=$H36M
  # the lifter alone (GraFormer), on the same rows:
  python -m experiments.main --workdir=runs/diffpose_authors_cpn/encoder \
      --mode=eval --config.data.dir=$H36M
  # ground-truth 2D:
  python -m experiments.import_weights --method=diffpose \
      --checkpoint=diffpose_uvxyz_gt.pth --encoder=gcn_xyz_gt.pth \
      --config=experiments/configs/diffpose_authors.py:gt \
      --workdir=runs/diffpose_authors_gt

Expected: the paper's MPJPE 49.7 mm (CPN) and 31.6 mm (ground-truth 2D), not evaluated here (weights and data not at hand); sampling matches the authors' code to 6.5e-12 relative in float64 (docs/results/parity.md).
"""
import ml_collections

from experiments.configs import baseline_h36m
from experiments.configs import diffpose_quickstart
from experiments.configs import quickstart
from jaxpose.methods.baseline import released as lifter_released
from jaxpose.methods.diffpose import released

VARIANTS = ("cpn", "gt", "synthetic")
TEST_2D = {"cpn": "data_2d_h36m_cpn_ft_h36m_dbb.npz", "gt": ""}


def data_config(variant: str) -> ml_collections.ConfigDict:
  """Their data: Human3.6M, trained on ground-truth 2D, tested on every
  frame with the variant's 2D; or the quickstart's synthetic data."""
  if variant == "synthetic":
    return quickstart.get_config().data
  c = baseline_h36m.get_config().data
  c.update(path_2d="data_2d_h36m_gt.npz", test_path_2d=TEST_2D[variant],
           train_stride=1, test_stride=1)
  return c


def get_config(variant: str = "cpn"):
  if variant not in VARIANTS:
    raise ValueError(f"diffpose_authors: variant {variant!r}; expected one of "
                     f"{', '.join(VARIANTS)}")
  base = (quickstart.get_config() if variant == "synthetic"
          else baseline_h36m.get_config())
  c = diffpose_quickstart.add_diffpose(base, encoder_batch_size=1024)
  for section in ("holdout", "windows"):
    if section in c:
      del c[section]
  c.data = data_config(variant)
  c.representation = ml_collections.ConfigDict(
      lifter_released.representation_section())
  c.model = ml_collections.ConfigDict(dict(
      name="diffpose_denoiser", cond_dim=0, hidden=96, embed_dim=384,
      num_layers=5, num_heads=lifter_released.NUM_HEADS, order=2,
      dropout=lifter_released.DROPOUT,
      conv_dropout=lifter_released.CONV_DROPOUT, time_input="step",
      **lifter_released.CONVENTIONS))
  c.sde = ml_collections.ConfigDict(dict(
      name="discrete_vp", num_steps=released.NUM_STEPS,
      beta_start=released.BETA_START, beta_end=released.BETA_END))
  # The released prior: N(0, I) around 0 (the importer's prepared H_K).
  c.diffpose.update(initial="standard", network_input="state", scale_3d=1.0,
                    noise_2d="px", noise_2d_px=0.0, noisy_train_2d=False,
                    output_root=lifter_released.ROOT)
  start = released.RELEASED_START_STEPS.get(variant, 12)
  c.eval.update(plot_hypotheses=1, batch_poses=1024,
                **released.eval_section(start))
  if variant != "synthetic":
    c.eval.num_poses = 10_000_000  # every test frame
  return c
