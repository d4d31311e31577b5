"""GFPose on real motion capture: the jaxpose-mocap v1 protocol.

Train on all Bandai-Namco clips plus CMU subjects 001, 002, 003, 006; test
on CMU subjects 005 and 007 (people never seen in training).  3D poses are
viewed by the four published Human3.6M cameras (subject S1's session; pelvis
on the optical axis at 5 m; Human3.6M lens distortion applied); see
jaxpose/data/mocap_lifting.py for every choice.

Commands (unpack the archives first, see the data README):
  python -m experiments.prepare --dataset=bandai \
      --src=$HOME/.cache/jaxpose-data/dataset --out=caches/bandai.npz
  python -m experiments.prepare --dataset=cmu \
      --src=$HOME/.cache/jaxpose-data/IClone-CMU-Mocap --out=caches/cmu.npz
  python -m experiments.main --config=experiments/configs/gfpose_mocap.py \
      --workdir=runs/gfpose_mocap --config.data.cache_dir=caches
  # noisy 2D at test time (sigma 5 px, 5% outliers of up to 100 px):
  python -m experiments.main --config=experiments/configs/gfpose_mocap.py \
      --workdir=runs/gfpose_mocap --config.data.cache_dir=caches \
      --config.data.test_2d=noisy --config.eval.output_suffix=noisy2d --mode=eval
  # the paper's model size and schedule, every protocol frame (accelerator):
  python -m experiments.main --config=experiments/configs/gfpose_mocap.py:paper \
      --workdir=runs/gfpose_mocap_paper --config.data.cache_dir=caches

Every other task of the same model: add --mode=eval --config.eval.task=NAME
(estimate_single, complete2d, complete3d, denoise, generate).

Variants (the text after ':' in --config):
  small (default): for 2 CPU cores.  Training frames every 4th protocol
    frame (7.5 fps, about 107k frames of the 424k); MLP width 512; 20k steps
    of batch 256.  Evaluation: the first 500 test rows, 200 hypotheses
    each, ancestral sampling with 50 steps (gfpose_base's default).
    Expected runtime: about 15 minutes in all on 2 CPU cores (12 to train
    at about 25 steps/s, 3 to sample 500 rows x 200 hypotheses); under 2
    minutes on one H100.
  paper: gfpose_base sizes (width 1024, dropout 0.25, batch 1000, 200k
    steps of lr 2e-4) on every protocol frame; 2000 test rows.  Expected
    runtime on one H100: about 13 minutes to train (about 265 steps/s),
    then about 15 s per evaluation task.  Not for a CPU (about 0.6 s per
    step).

Expected results (experiments/results/gfpose_mocap_*.json and the README's
tables, which say which code and hardware produced each), MPJPE of the
hypotheses' mean / PA-MPJPE / best-of-200 MPJPE in mm on CMU 005/007
(people never seen in training):
  small, 500 rows, exact 2D: about 82 / 67 / 52.5 (seeds 0-2 on one H100:
    82.9, 81.8, 81.9 / 67.9, 66.3, 66.6 / 52.7, 52.7, 52.1; seed 0 on 2 CPU
    cores gives the H100's figures to 0.01 mm); noisy 2D (sigma 5 px, 5%
    outliers up to 100 px) about 118 / 90 / 90.
  paper, 2000 rows: exact 2D about 78 / 63 / 46.5; noisy 2D 115 / 87 / 85.
The Martinez et al. baseline on the small budget (baseline_mocap.py) scores
about 74 / 61 (exact) and 143 / 99 (noisy) on the same 500 rows.
"""
from experiments.configs import gfpose_base

VARIANTS = ("small", "paper")


def get_config(variant: str = "small"):
  if variant not in VARIANTS:
    raise ValueError(f"variant: expected one of {VARIANTS}, got {variant!r}")
  c = gfpose_base.get_config()
  c.data = dict(
      name="mocap",
      # Folder with bandai.npz and cmu.npz from experiments.prepare; empty:
      # <project>/caches, then $JAXPOSE_DATA (or ../shared/data) and its
      # caches/ subfolder.
      cache_dir="",
      data_seed=1234,
      # Multiples of the protocol's strides (train: Bandai 1 of 30 fps, CMU
      # 2 of 60 fps; test: CMU 4 of 60 fps); 1 is the protocol itself.
      train_stride=1, test_stride=1,
      max_train=0, max_test=0,  # caps, 0 = none
      # Which 2D is the model's input: 'exact' or 'noisy'.
      train_2d="exact", test_2d="exact",
      # Cameras: published Human3.6M cameras of this subject's session.
      camera_subject="S1", distance_mm=5000.0, distort=True,
      train_cameras="random", test_cameras="all",
      # 2D noise model: Gaussian per axis, plus per-keypoint outliers
      # uniform in [-outlier_px, outlier_px]^2.
      noise_sigma_px=5.0, noise_outlier_prob=0.05, noise_outlier_px=100.0,
  )
  if variant == "small":
    c.model.update(hidden=512, embed_dim=128, num_blocks=2, dropout=0.0)
    c.data.update(train_stride=4)
    c.train.update(num_steps=20_000, batch_size=256, learning_rate=1e-3,
                   warmup_steps=500, ema_decay=0.999, log_every=500,
                   ckpt_every=2000)
    # The base's sampler (ancestral, 50 steps) and 200 hypotheses.
    c.eval.update(num_poses=500, batch_poses=50)
  else:
    # An accelerator samples 100 poses x 200 hypotheses per call easily.
    c.eval.update(batch_poses=100)
  return c
