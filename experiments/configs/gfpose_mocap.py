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

Calibrated hypotheses: hold a training person out whole, calibrate on
them, evaluate (the calibration applies to every later evaluation):
  python -m experiments.main --config=experiments/configs/gfpose_mocap.py \
      --workdir=runs/gfpose_subject006 --config.data.cache_dir=caches \
      --config.holdout.subjects=cmu:006 --mode=train
  (then --mode=calibrate, then --mode=eval, with the same flags; two people:
  "--config.holdout.subjects=('cmu:001','cmu:006')"; for noisy test 2D,
  calibrate on the held-out people's noisy 2D:
  --mode=calibrate --config.eval.calibration_2d=noisy, then --mode=eval
  --config.data.test_2d=noisy --config.eval.output_suffix=noisy2d)

Variants (the text after ':' in --config):
  small (default): every 4th protocol frame, MLP width 512, 20k steps of
    batch 256; 500 test rows, 200 hypotheses; sized for 2 CPU cores.
  paper: gfpose_base's sizes and schedule on every protocol frame; 2000
    test rows; for an accelerator.
  camera: small, reading 2D in the camera's own geometry and trained on
    varied cameras (jaxpose/data/camera_rigs.py): the model a video's lift
    wants; --config.data.test_cameras=unseen_distance_focal (another lens
    and distance) or unseen (the pitch outside too), with the same
    --config.eval.output_suffix, scores it on cameras never trained on.
  camera_roll: camera, its training cameras turned about their optical
    axes by up to 30 degrees either way (`train_cameras='varied_roll'`):
    the model for a video whose camera's roll nobody gives.

Expected: small, MPJPE about 82 mm (mean of 200 hypotheses; best of 200
about 52.5 mm) from exact 2D (seeds 0-2, 2 CPU cores, 20k steps);
docs/results/accuracy.md. camera: about 135 mm on training-range
cameras, 139 mm under another lens and distance, 170 mm with the pitch
outside too (seeds 0-2); docs/results/video.md.
"""
from experiments.configs import gfpose_base
from jaxpose import settings

VARIANTS = ("small", "paper", "camera", "camera_roll")


def get_config(variant: str = "small"):
  settings.one_of("variant", variant, VARIANTS)
  c = gfpose_base.get_config()
  c.data = dict(
      name="mocap",
      # Who trains and tests: 'jaxpose-mocap-v1', or 'jaxpose-mocap-newrig'
      # (Bandai alone trains; v1's test people).
      protocol="jaxpose-mocap-v1",
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
      # The share of training clips re-posed with bodies of other
      # proportions, and their spread (1: adults; jaxpose/pose/proportions.py).
      train_bodies=0.0, train_body_spread=1.0,
  )
  if variant in ("small", "camera", "camera_roll"):
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
  if variant in ("camera", "camera_roll"):
    camera_aware(c)
  if variant == "camera_roll":
    c.data.train_cameras = "varied_roll"
  return c


def camera_aware(c):
  """2D in the camera's own geometry, training cameras drawn over ranges
  (jaxpose/data/camera_rigs.py), test people seen by cameras of those
  ranges; `--config.data.test_cameras=unseen` views them outside every
  range."""
  c.representation.input_2d = "camera"
  c.data.update(train_cameras="varied", test_cameras="varied")
  return c
