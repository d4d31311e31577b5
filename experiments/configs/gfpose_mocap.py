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
  small (default): training frames every 4th protocol frame (7.5 fps,
    about 107k frames of the 424k); MLP width 512; 20k steps of batch 256.
    Evaluation: the first 500 test rows, 200 hypotheses each, ancestral
    sampling with 50 steps (gfpose_base's default).
  paper: gfpose_base sizes (width 1024, dropout 0.25, batch 1000, 200k
    steps of lr 2e-4) on every protocol frame; 2000 test rows.
  camera: small, reading 2D in the camera's own geometry
    (representation.input_2d='camera') and trained on cameras drawn over
    ranges of distance, height, pitch and focal length
    (data.train_cameras='varied', jaxpose/data/camera_rigs.py); the test
    people are seen by cameras of those ranges, or with
    --config.data.test_cameras=unseen --config.eval.output_suffix=unseen
    by cameras outside all of them. The model a video's lift wants.

Runtime: small is sized for 2 CPU cores, paper for an accelerator (the
paper's network and batch); each results JSON records its evaluation's
wall-clock time (`seconds`).
Results (in experiments/results/, rendered into the README's tables with
the command and hardware of each):
  small: gfpose_mocap_small_cpu_estimate.json and
    gfpose_mocap_small_cpu_generate.json (2 CPU cores);
    gfpose_mocap_small_h100_<task>.json for estimate, estimate_noisy2d,
    estimate_single, complete2d, complete3d, denoise and generate (one
    H100); gfpose_mocap_small_h100_seeds.json (seeds 0, 1, 2);
    gfpose_mocap_small_subject006_cpu_seeds_estimate.json (CMU 006 held
    out and calibrated on, seeds 0, 1, 2; 2 CPU cores) and
    gfpose_mocap_small_subjects001_006_cpu_seeds_estimate.json (CMU 001
    and 006), and gfpose_mocap_small_borrowed001_006_cpu_seeds_estimate.json
    (the three seeds trained on every row, each with its 001-and-006
    sibling's calibration: --mode=calibrate
    --config.eval.calibration_from=SIBLING, then --mode=eval).
  paper: gfpose_mocap_paper_h100_<task>.json for the same seven, and the
    plots gfpose_mocap_paper_h100_estimate_pose0.png and
    gfpose_mocap_paper_h100_estimate_error_vs_h.png (one H100).
The Martinez et al. baseline on the small budget is baseline_mocap.py.
"""
from experiments.configs import gfpose_base
from jaxpose import settings

VARIANTS = ("small", "paper", "camera")


def get_config(variant: str = "small"):
  settings.one_of("variant", variant, VARIANTS)
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
  if variant in ("small", "camera"):
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
  if variant == "camera":
    camera_aware(c)
  return c


def camera_aware(c):
  """2D in the camera's own geometry, training cameras drawn over ranges
  (jaxpose/data/camera_rigs.py), test people seen by cameras of those
  ranges; `--config.data.test_cameras=unseen` views them outside every
  range."""
  c.representation.input_2d = "camera"
  c.data.update(train_cameras="varied", test_cameras="varied")
  return c
