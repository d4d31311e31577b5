"""DiffPose on jaxpose-mocap v1, beside GFPose and the Martinez baseline.

The paper's design (diffpose_quickstart.py) on `gfpose_mocap.py`'s small
data (every 4th protocol frame for training; the first 500 test rows of
CMU 005/007, people never seen in training), conditioned on the graph
context encoder of `encoder_mocap.py` (trained first, on the same data;
by default a tenth of its training clips are held out and H_K is fitted on
them).  H_K's 2D part is the data's own 2D noise model (`noise_2d='data'`:
the rows' noisy-minus-exact 2D, Gaussian 5 px plus 5% outliers up to 100
px), and training sees it (`noisy_train_2d`: the encoder's features and
the centre from noisy 2D, h_0 with the exact 2D), so one model serves the
exact and the noisy test 2D; it is meant for noisy test 2D, and
--config.diffpose.noisy_train_2d=False trains one for exact 2D.  Prepare
the caches as gfpose_mocap.py says, then:

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
On the temporal encoder (encoder_mocap.py:temporal27_cpu) add
--config.data.train_cameras=all, that encoder's data.

Runtime: sized for 2 CPU cores, after the encoder (whose outputs over the
training rows are computed once, before training); the temporal encoder's
windows make that step much heavier.  Each results JSON records its
evaluation's wall-clock time (`seconds`).
Results (experiments/results/, 2 CPU cores, seed 0 unless a name holds
_seeds, in the README's DiffPose tables; "{,_n20}" means both names,
exact 2D unless _noisy2d):
  this config (encoder with a tenth of its clips held out):
    diffpose_mocap_small_heldout_cpu_estimate{,_n20,_noisy2d,_noisy2d_n20}.json,
    three denoiser seeds (--config.seed=S) on the same encoder:
    diffpose_mocap_small_heldout_cpu_seeds_estimate{,_n20,_noisy2d,
    _noisy2d_n20}.json, and three on an earlier training of the encoder:
    diffpose_mocap_small_heldout_otherencoder_cpu_seeds_estimate{,
    _noisy2d}.json
  on an encoder trained on every clip (encoder_mocap.py with
  --config.holdout.fraction=0, so H_K is fitted on rows it saw):
    diffpose_mocap_small_cpu_estimate{,_n20,_noisy2d,_noisy2d_n20}.json;
    and one training setting changed in each of
    diffpose_mocap_small_m1_cpu_estimate{,_noisy2d}.json (M = 1),
    diffpose_mocap_small_k20_cpu_estimate{,_noisy2d}.json (K = 20),
    diffpose_mocap_small_k100_cpu_estimate{,_noisy2d}.json (K = 100),
    diffpose_mocap_small_exacttrain_cpu_estimate{,_n20,_noisy2d,
    _noisy2d_n20}.json (noisy_train_2d=False); each of these over
    denoiser seeds 0, 1, 2 on that encoder where a file of the same name
    with _cpu_seeds_estimate exists (the README reads it in the run's place);
    and
    diffpose_mocap_small_cpu_s2000_estimate{,_noisy2d}.json
    (--config.train.num_steps=2000; its JSON records no noisy_train_2d;
    not in the README).
  on the temporal encoder (encoder_mocap.py:temporal27_cpu):
    diffpose_mocap_small_t27cpu_cpu_estimate{,_noisy2d}.json, and over
    denoiser seeds 0, 1, 2 on a retraining of that encoder (it scores the
    same): diffpose_mocap_small_t27cpu_cpu_seeds_estimate{,_noisy2d}.json.
The encoder alone on the same rows is each JSON's `encoder` block; GFPose
small and the Martinez baseline on these rows: gfpose_mocap.py,
baseline_mocap.py.  An encoder without held-out rows (holdout.fraction=0)
is refused unless --config.diffpose.seen_fit_rows=warn (then H_K is
fitted on rows it was trained on, as the runs above on such an encoder
were, and the JSONs record fit_rows_seen_by_encoder).

Variants (--config=experiments/configs/diffpose_mocap.py:VARIANT, new
workdirs), the parts of the paper's design the default leaves out:
  paper           the default above: one H_K for every row.
  per_row         each row's H_K shaped by its own 2D uncertainty
                  (`diffpose.initial_scope='per_row'`): the (u, v) std of
                  each keypoint its noise model's (5 px, an outlier's 57.7
                  px: the data's pose2d_noisy_sigma, 0 for exact 2D), the
                  3D std of each kernel scaled by a line in the row's 2D
                  variances fitted on the encoder's held-out rows.
  kernel          the denoiser told the kernel each draw came from
                  (`diffpose.kernel_input='index'`, its one-hot beside the
                  encoder's features).
  per_row_kernel  both, the denoiser also told the row's kernel std
                  (`kernel_input='index_scale'`).
experiments/diffpose_kernels.py explains a trained workdir's kernels (M = 1
against M = 5: each kernel alone, error against N).  Results of the
variants (2 CPU cores): per_row_kernel in
diffpose_mocap_small_per_row_kernel_cpu_seeds_estimate{,_noisy2d}.json
(three denoiser seeds; _exacttrain_ with noisy_train_2d=False, and
_exacttrain_holdout_ the same with --config.holdout.fraction=0.5, its
encoder's figures on the held-out clips beside its own in
_calibration_heldout.json's task_figures, one run, and over three seeds
in _exacttrain_holdout_cpu_seeds_estimate.json's heldout_calibration), and
calibrated (--mode=calibrate, then --mode=eval) with a tenth of its
encoder's held-out clips held out (_holdout_cpu_) or with CMU subject 006
held out of both networks (_subject006_cpu_seeds_: the encoder trained
with --config.holdout.subjects=cmu:006 besides its tenth of clips, three
DiffPose seeds on it with --config.holdout.subjects=cmu:006;
_exacttrain_subject006_cpu_seeds_ the same trained on exact 2D, three seeds,
and _exacttrain_borrowed006_cpu_seeds_ three exact-2D seeds trained on every
row that borrow their siblings' calibrations with
--config.eval.calibration_from, and _exacttrain_cpu_seeds_estimate_n20
the same three evaluated with --config.eval.num_hypotheses=20
--config.eval.output_suffix=n20); the others: none (not run).
"""
from experiments.configs import baseline_mocap
from experiments.configs import diffpose_quickstart
from jaxpose import settings

VARIANTS = ("paper", "per_row", "kernel", "per_row_kernel")


def get_config(variant: str = "paper"):
  settings.one_of("variant", variant, VARIANTS)
  c = diffpose_quickstart.add_diffpose(baseline_mocap.get_config())
  c.diffpose.update(noise_2d="data", noisy_train_2d=True)
  if variant in ("per_row", "per_row_kernel"):
    c.diffpose.initial_scope = "per_row"
  if variant != "paper":
    c.diffpose.kernel_input = {"per_row": "none", "kernel": "index",
                               "per_row_kernel": "index_scale"}[variant]
  c.train.update(num_steps=6000, batch_size=256, learning_rate=1e-3,
                 warmup_steps=200, ema_decay=0.999, log_every=100,
                 ckpt_every=500)
  return c
