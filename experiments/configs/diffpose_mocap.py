"""DiffPose on jaxpose-mocap v1, beside GFPose and the Martinez baseline.

The paper's design (diffpose_quickstart.py) on `gfpose_mocap.py`'s small
data (the first 500 test rows of CMU 005/007, people never seen in
training), conditioned on the graph context encoder of `encoder_mocap.py`
(trained first; H_K is fitted on the tenth of its training clips it never
saw).  H_K's 2D part is the data's own 2D noise model, and training sees
it (`diffpose.noisy_train_2d`), so one model serves exact and noisy test
2D; it is meant for noisy 2D (--config.diffpose.noisy_train_2d=False
trains one for exact 2D).  Sized for 2 CPU cores.  Prepare the caches as
gfpose_mocap.py says, then:

  python -m experiments.main --config=experiments/configs/encoder_mocap.py \
      --workdir=runs/encoder_mocap --config.data.cache_dir=caches
  python -m experiments.main --config=experiments/configs/diffpose_mocap.py \
      --workdir=runs/diffpose_mocap --config.data.cache_dir=caches \
      --config.diffpose.encoder_workdir=runs/encoder_mocap
  # noisy 2D at test time:
  python -m experiments.main --config=experiments/configs/diffpose_mocap.py \
      --workdir=runs/diffpose_mocap --config.data.cache_dir=caches \
      --config.diffpose.encoder_workdir=runs/encoder_mocap \
      --config.data.test_2d=noisy --config.eval.output_suffix=noisy2d --mode=eval

Ablations (each its own JSON with --config.eval.output_suffix=NAME):
--config.eval.num_steps=1|2|10, --config.eval.num_hypotheses=1|20; new
workdirs for K and M: --config.sde.num_steps=20 --config.sde.beta_end=0.447
(K = 100: num_steps=100, beta_end=0.1037), --config.diffpose.num_kernels=1.
On the temporal encoder (encoder_mocap.py:temporal27_cpu) add
--config.data.train_cameras=all.  An encoder without held-out rows is
refused unless --config.diffpose.seen_fit_rows=warn.

Variants (--config=experiments/configs/diffpose_mocap.py:VARIANT):
  paper           the default: one H_K for every row.
  per_row         each row's H_K shaped by its own 2D uncertainty
                  (`diffpose.initial_scope='per_row'`): each keypoint's
                  detector-like confidence (`row_uncertainty='confidence'`).
  kernel          the denoiser told the kernel each draw came from
                  (`diffpose.kernel_input='index'`).
  per_row_kernel  both, the denoiser also told the row's kernel std
                  (`kernel_input='index_scale'`).
  per_row_oracle, per_row_kernel_oracle  the same, reading each keypoint's
                  noise std from the noise model itself
                  (`row_uncertainty='sigma'`: which keypoints it made
                  outliers, an oracle no detector gives; an ablation, not
                  like for like against the encoder).
  camera          paper on 2D in the camera's own geometry, varied cameras
                  (baseline_mocap.py:camera's data), from
                  encoder_mocap.py:camera; add
                  --config.diffpose.encoder_workdir=runs/encoder_mocap_camera;
                  about 121 mm on training-range cameras, 135 on unseen
                  ones on the camera ranges of commit 2e59662 (exact 2D,
                  seed 0; docs/results/video.md).

Expected: MPJPE of the mean of 5 about 127 mm from noisy 2D (its encoder 126), 111 mm from exact 2D (encoder 78); per_row_kernel_oracle about 107 mm from noisy 2D, told which keypoints are outliers (seeds 0-2, 2 CPU cores, 6000 steps); per_row_kernel, reading confidences, on an encoder that reads them too (encoder_mocap.py with --config.data.train_2d=noisy --config.inputs.uncertainty=confidence; add --config.data.train_2d=noisy here) about 112 mm from noisy 2D against that encoder's 108 (seeds 0-2 on one encoder); docs/results/diffpose.md.
"""
from experiments.configs import baseline_mocap
from experiments.configs import diffpose_quickstart
from jaxpose import settings

VARIANTS = ("paper", "per_row", "kernel", "per_row_kernel", "camera",
            "per_row_oracle", "per_row_kernel_oracle")


def get_config(variant: str = "paper"):
  settings.one_of("variant", variant, VARIANTS)
  c = diffpose_quickstart.add_diffpose(baseline_mocap.get_config(
      "camera" if variant == "camera" else "small"))
  c.diffpose.update(noise_2d="data", noisy_train_2d=True)
  oracle = variant.endswith("_oracle")
  variant = variant.removesuffix("_oracle")
  if variant in ("per_row", "per_row_kernel"):
    c.diffpose.initial_scope = "per_row"
    c.diffpose.row_uncertainty = "sigma" if oracle else "confidence"
  if variant not in ("paper", "camera"):
    c.diffpose.kernel_input = {"per_row": "none", "kernel": "index",
                               "per_row_kernel": "index_scale"}[variant]
  c.train.update(num_steps=6000, batch_size=256, learning_rate=1e-3,
                 warmup_steps=200, ema_decay=0.999, log_every=100,
                 ckpt_every=500)
  return c
