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

Expected runtime on 2 CPU cores: about 17 minutes after the encoder (its
outputs over the 107k training rows in about 20 s, 6000 steps at 6-7
steps/s, 10 s per evaluation of 500 rows x 5 hypotheses); 2.3 GB of
memory at most.
Expected result (experiments/results/diffpose_mocap_small_cpu_*.json,
seed 0, first 500 test rows), MPJPE of the mean / PA-MPJPE / best-of-N in
mm, beside the encoder alone on the same rows (root re-centred as
DiffPose's; its own JSON, root as predicted, says 76.9 and 128.4):
  noisy 2D, N = 5:  130.2 / 98.6 / 111.2   encoder 125.6 / 96.6
  noisy 2D, N = 20: 121.2 / 91.0 / 99.5
  exact 2D, N = 5:  112.1 / 83.7 / 87.7    encoder 77.8 / 62.6
Trained on noisy 2D, this model is for noisy test 2D; on exact 2D it is
worse than its encoder.  --config.diffpose.noisy_train_2d=False trains one
for exact 2D (experiments/results/diffpose_mocap_small_exacttrain_cpu_*):
exact 2D 81.0 (N = 5) and 79.1 (N = 20) against the encoder's 77.8, noisy
2D 134.3 and 132.3.  The Martinez baseline scores about 74 / 61 (exact) and
143 / 99 (noisy) on these rows, GFPose small about 82 / 67 and 118 / 90.
"""
from experiments.configs import baseline_mocap
from experiments.configs import diffpose_quickstart


def get_config():
  c = diffpose_quickstart.add_diffpose(baseline_mocap.get_config())
  c.diffpose.update(noise_2d="data", noisy_train_2d=True)
  c.train.update(num_steps=6000, batch_size=256, learning_rate=1e-3,
                 warmup_steps=200, ema_decay=0.999, log_every=100,
                 ckpt_every=500)
  return c
