"""DiffPose on the quickstart's synthetic data, from its own context encoder.

The paper's design (Gong et al. 2023) at a size for 2 CPU cores: a frozen
graph-lifter context encoder (experiments/configs/encoder_quickstart.py,
trained first) gives per-joint features and the depth initialisation; H_K
is a 5-kernel Gaussian mixture of the encoder's error on training rows;
the denoiser diffuses [u, v, x, y, z] per joint over a K = 50 step chain
whose end is H_K, and estimates by deterministic DDIM in 5 steps from
N = 5 draws of H_K, scored as their mean and the best of 5, beside the
encoder alone on the same rows (`encoder` in the JSON).  The denoiser is
the paper's layout at hidden 64, 3 layers, reading h_k in the drawn
kernel's frame (`diffpose.network_input='standardised'`; the paper's
'state').

Commands:
  python -m experiments.main --config=experiments/configs/encoder_quickstart.py \
      --workdir=runs/encoder_quickstart
  python -m experiments.main --config=experiments/configs/diffpose_quickstart.py \
      --workdir=runs/diffpose_quickstart \
      --config.diffpose.encoder_workdir=runs/encoder_quickstart
  # ablations on the same model, each its own JSON (eval/estimate_<suffix>.json):
  #   --mode=eval --config.eval.num_steps=1 --config.eval.output_suffix=steps1
  #   --mode=eval --config.eval.num_hypotheses=20 --config.eval.output_suffix=n20
  # other models (new workdirs): a single Gaussian H_K (M = 1) with
  #   --config.diffpose.num_kernels=1, the paper's network input with
  #   --config.diffpose.network_input=state; a per-row H_K with
  #   --config.diffpose.initial_scope=per_row (the quickstart's 2D is
  #   exact: each row's (u, v) std is the floor and the 3D scale one fitted
  #   number), the denoiser told the drawn kernel with
  #   --config.diffpose.kernel_input=index

Expected: MPJPE of the mean of 5 about 54.9 mm against its encoder's 56.2 on 100 synthetic poses (2 CPU cores, 3000 steps); docs/results/diffpose.md.
"""
import ml_collections

from experiments.configs import quickstart
from experiments import configs as configs_lib


def add_diffpose(c, *, encoder_batch_size: int = 1024):
  """Turns a lifting config (data, representation, train) into DiffPose's:
  the paper's design at the quickstart's network size."""
  c.method = "diffpose"
  if "mask" in c:
    del c["mask"]  # GFPose's condition masking; DiffPose has none
  if "inputs" in c:
    del c["inputs"]  # a lifter's; DiffPose's encoder reads what its own says
  c.model = ml_collections.ConfigDict(dict(
      name="diffpose_denoiser", hidden=64, embed_dim=256, num_layers=3,
      num_heads=4, order=2, dropout=0.0, conv_dropout=0.0))
  # K = 50 steps (the paper); betas linear up to 0.2 so that sqrt(abar_K)
  # = 0.07: h_K is H_K up to 7% of h_0 - mu.
  c.sde = ml_collections.ConfigDict(dict(
      name="discrete_vp", num_steps=50, beta_start=1e-4, beta_end=0.2))
  c.diffpose = ml_collections.ConfigDict(dict(
      # A trained context encoder (a baseline workdir with a graph_lifter
      # or temporal_lifter network on this data).
      encoder_workdir="",
      encoder_batch_size=encoder_batch_size,
      # H_K: 'mixture' (the paper: kernels around each row's centre) or
      # 'standard' (the released code: N(0, diag) around 0).
      initial="mixture",
      num_kernels=5,
      # The 2D noise model: 'px' (Gaussian, noise_2d_px pixels per axis; 0:
      # exact 2D) or 'data' (the rows' own noisy-minus-exact 2D).
      noise_2d="px",
      noise_2d_px=0.0,
      # Train on 2D under that noise model (the encoder's features and the
      # centre from noisy 2D, h_0 with the exact 2D): for noisy test 2D.
      noisy_train_2d=False,
      scale_3d=1.0,  # the standard prior's std on x, y, z
      # What the denoiser reads of h_k: 'state' (h_k, the paper's and the
      # released code's input), 'residual' (h_k - centre) or 'standardised'
      # ((h_k - mu) / std in the drawn kernel's frame); see
      # jaxpose/methods/diffpose/process.py.
      network_input="standardised",
      # Training rows the mixture is fitted on (a random subset; 0: all).
      fit_rows=10_000,
      gmm_max_iters=500, gmm_tol=1e-3, gmm_reg=1e-6,
      # H_K: 'global' (one for every row) or 'per_row' (each row's kernels
      # shaped by its own 2D uncertainty: (u, v) std its keypoints' noise,
      # the 3D std scaled by a function of it fitted on the encoder's
      # held-out rows; jaxpose/methods/diffpose/rows.py).
      initial_scope="global",
      # What a per-row H_K reads: 'sigma' (the data's per-keypoint noise
      # std, pose2d_sigma) or 'confidence' (a detector's pose2d_confidence).
      row_uncertainty="sigma",
      # What the denoiser is told of the kernel a draw came from: 'none',
      # 'index' (its one-hot beside the encoder's features) or
      # 'index_scale' (and the log of the row's kernel std per joint).
      kernel_input="none",
      # An encoder without held-out rows: 'refuse' or 'warn' (H_K fitted on
      # rows it was trained on, where its error is smaller; recorded).
      seen_fit_rows="refuse",
  ))
  # DiffPose's own held-out clips, of the encoder's held-out rows when it
  # has some (jaxpose/training/holdout.py): --mode=calibrate fits on them.
  c.holdout = ml_collections.ConfigDict(dict(fraction=0.0, seed=0, subjects=()))
  c.train.loss_reduce = "sum"  # over the J x 5 numbers, as the papers
  if "loss_eps" in c.train:
    del c.train["loss_eps"]  # the chain's integer steps need no smallest time
  c.eval = configs_lib.generic_eval(
      task="estimate", num_poses=c.eval.num_poses, plot_poses=c.eval.plot_poses,
      plot_hypotheses=5,
      sampler="ddim", num_steps=5, num_hypotheses=5, hypotheses_list=(1, 5),
      start="initial", start_step=-1, batch_poses=100,
      # DDIM's denoised h_0 kept within the training rows' range of [u, v,
      # x, y, z] per joint, widened by 0.1 of each channel's extent
      # (jaxpose/core/box.py).  It moves no headline figure here by 0.1 mm
      # (experiments/results/diffpose_quickstart_x0_clip_cpu.json).
      x0_clip=True, x0_clip_margin=0.1)
  return c


def get_config():
  c = add_diffpose(quickstart.get_config())
  # encoder_quickstart.py holds out no rows (its results were run so): H_K
  # is fitted on rows it was trained on, with a warning, recorded in H_K
  # and the eval JSON (fit_rows_seen_by_encoder).
  c.diffpose.seen_fit_rows = "warn"
  c.train.update(num_steps=3000, batch_size=256, learning_rate=1e-3,
                 warmup_steps=200, ema_decay=0.999, log_every=250,
                 ckpt_every=1000)
  return c
