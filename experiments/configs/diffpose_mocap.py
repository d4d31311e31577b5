"""DiffPose on jaxpose-mocap v1, beside GFPose and the Martinez baseline.

The paper's design (diffpose_quickstart.py) on `gfpose_mocap.py`'s small
data (every 4th protocol frame for training; the first 500 test rows of
CMU 005/007, people never seen in training), conditioned on the graph
context encoder of `encoder_mocap.py` (trained first, on the same data).
H_K's 2D part is the data's own 2D noise model (`noise_2d='data'`: the
rows' noisy-minus-exact 2D, Gaussian 5 px plus 5% outliers up to 100 px),
and training sees it (`noisy_train_2d`: the encoder's features and the
centre from noisy 2D, h_0 with the exact 2D), so one model serves the
exact and the noisy test 2D.  Prepare the caches as gfpose_mocap.py says,
then:

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
--config.eval.num_steps=1|2|10, --config.eval.num_hypotheses=1|20; K and M
are training settings: new workdirs with --config.sde.num_steps=20
--config.sde.beta_end=0.4 (the same sqrt(abar_K)), or
--config.diffpose.num_kernels=1 (a single Gaussian).

Expected runtime on 2 CPU cores: about 20 minutes after the encoder (its
outputs over 107k training rows in a minute or two, 2000 steps at about 3
steps/s, then a minute to evaluate 500 rows x 5 hypotheses).
Expected result: see experiments/results/diffpose_mocap_small_cpu_*.json
when present (MPJPE of the mean of 5, best-of-5, the encoder's own MPJPE on
the same rows); the Martinez baseline scores about 74 / 61 (exact) and
143 / 99 (noisy) MPJPE / PA-MPJPE on these rows, GFPose small about 82 / 67
and 118 / 90.
"""
from experiments.configs import baseline_mocap
from experiments.configs import diffpose_quickstart


def get_config():
  c = diffpose_quickstart.add_diffpose(baseline_mocap.get_config())
  c.diffpose.update(noise_2d="data", noisy_train_2d=True)
  c.train.update(num_steps=2000, batch_size=256, learning_rate=1e-3,
                 warmup_steps=200, ema_decay=0.999, log_every=100,
                 ckpt_every=500)
  return c
