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
--config.sde.beta_end=0.447 (K = 20 with K = 50's abar_K; K = 100:
beta_end=0.1037), or --config.diffpose.num_kernels=1 (a single Gaussian).

Expected runtime on 2 CPU cores: about 10 minutes after the encoder (its
outputs over the 107k training rows in about 20 s, 6000 steps at 7-13
steps/s, 10 s per evaluation of 500 rows x 5 hypotheses); 2.3 GB of
memory at most.
Expected result (experiments/results/diffpose_mocap_small_heldout_cpu_*.json,
seed 0, first 500 test rows; the encoder held a tenth of the training
clips out and H_K is fitted on them), MPJPE of the mean / PA-MPJPE /
best-of-N in mm, beside the encoder alone on the same rows (root
re-centred as DiffPose's; its own JSON, root as predicted, says 76.7 and
128.5):
  noisy 2D, N = 5:  130.4 / 99.8 / 111.4   encoder 125.8 / 96.6
  noisy 2D, N = 20: 123.1 / 93.0 / 99.3
  exact 2D, N = 5:  112.6 / 85.5 / 88.8    encoder 77.7 / 62.1
  exact 2D, N = 20: 108.7 / 81.0 / 77.8
With an encoder trained on every clip (H_K fitted on rows it saw;
experiments/results/diffpose_mocap_small_cpu_*) the figures are within 2 mm
(130.2, 121.2, 112.1): the encoders' errors on held-out and on seen
training clips are the same size (H_K's 3D RMS 0.2591 and 0.2589 model
units), so this small encoder does not overfit its clips; its error grows
on the test people.  A single Gaussian
(M=1, experiments/results/diffpose_mocap_small_m1_cpu_*) gives a better
mean, 112.3 mm with noisy 2D and 101.2 with exact 2D at N = 5, but
overconfident hypotheses (90% intervals hold 0.41 of the true joints,
M=5: 0.57).  K, the training steps, moves the mean by a few mm: K = 20 /
50 / 100 give 131.1 / 130.2 / 128.7 with noisy 2D and 114.1 / 112.1 /
110.6 with exact 2D (experiments/results/diffpose_mocap_small_k*_cpu_*).
On the temporal encoder (encoder_mocap.py:temporal27_cpu, with
--config.data.train_cameras=all as that encoder's data; 18 minutes, 6.3
GB, most of it encoding the 429k training rows' windows once):
noisy 2D 127.5 against that encoder's 129.2, exact 2D 112.5 against 85.1
(experiments/results/diffpose_mocap_small_t27cpu_cpu_*).
Trained on noisy 2D, this model is for noisy test 2D; on exact 2D it is
worse than its encoder.  --config.diffpose.noisy_train_2d=False trains one
for exact 2D (experiments/results/diffpose_mocap_small_exacttrain_cpu_*,
encoder on every clip): exact 2D 81.0 (N = 5) and 79.1 (N = 20) against
the encoder's 77.8, noisy 2D 134.3 and 132.3.  The Martinez baseline
scores about 74 / 61 (exact) and 143 / 99 (noisy) on these rows, GFPose
small about 82 / 67 and 118 / 90.
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
