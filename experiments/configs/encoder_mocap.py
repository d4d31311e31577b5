"""Context encoders on jaxpose-mocap v1: graph and temporal lifters.

DiffPose's context encoders (jaxpose/models/context_encoder.py) trained as
baseline lifters on `gfpose_mocap.py`'s small data, with its optimiser and
EMA, scored on the same first 500 test rows by the same metric code, so
each encoder's row sits beside GFPose's and Martinez et al.'s.  A trained
workdir is a context encoder for DiffPose (the `ContextEncoder` a trained
graph lifter provides; diffpose_mocap.py).  Prepare the caches as
gfpose_mocap.py says, then:

  python -m experiments.main --config=experiments/configs/encoder_mocap.py \
      --workdir=runs/encoder_mocap --config.data.cache_dir=caches
  # a temporal encoder (27 or 81 frames; :temporal27_cpu for 2 CPU cores):
  python -m experiments.main --config=experiments/configs/encoder_mocap.py:temporal27 \
      --workdir=runs/encoder_mocap_t27 --config.data.cache_dir=caches
  # noisy 2D at test time:
  python -m experiments.main --config=experiments/configs/encoder_mocap.py \
      --workdir=runs/encoder_mocap --config.data.cache_dir=caches \
      --config.data.test_2d=noisy --config.eval.output_suffix=noisy2d --mode=eval

Variants (the text after ':' in --config):
  graph (default): GraphLifter, hidden 96, 5 layers, 4 heads (GraFormer's
    size, about 0.65M parameters), dropout 0.1, on exactly the small
    variant's data (one random camera per training frame).
  temporal27, temporal81: TemporalLifter over the centred window of T = 27
    or 81 frames of the row's own clip and camera (2 graph layers per frame,
    VideoPose3D's dilated blocks, 1 graph layer on the centre frame; hidden
    96, 4 heads, dropout 0.25).  A window is one camera's video, so every
    training frame is seen by all four cameras (data.train_cameras='all':
    about 429k rows instead of 107k).  The small variant keeps every 4th
    protocol frame (7.5 fps Bandai, CMU test at 15 fps), so 27 frames span
    3.6 s of training motion and many clips are shorter than a window:
    their ends are repeated (windows.short_clips='pad', VideoPose3D's
    padding; 5260 of the 12420 training clip-camera runs are shorter than
    27 frames, 68 of the 128 test runs shorter than 81).
  temporal27_cpu, temporal81_cpu: the same with one graph layer of width
    64 per frame (0.17M parameters at T = 27), batch 64 (T = 27) or 32
    (T = 81), 2500 steps: reduced for 2 CPU cores.  Beside the graph
    lifter they have fewer and narrower graph layers, fewer training poses
    (2500 x 64 or 2500 x 32 windows against 2000 x 256 poses), and windows
    that do not span the same time in training (7.5 fps) and test (15 fps).
All variants: learning rate 1e-3 after 200 warm-up steps, EMA 0.999,
2000 steps of batch 256 but for the _cpu ones (a tenth of gfpose_mocap
small's steps: a graph network costs several times the MLP's time per step
on a CPU).  A tenth of the training rows, as whole clips, never train the
encoder (holdout.fraction=0.1: 10758 of 107225 rows in the graph
variant): DiffPose fits H_K, the encoder's error, on them.
--config.holdout.fraction=0 trains on every row.

Runtime: graph and the _cpu variants are sized for 2 CPU cores; temporal27
and temporal81 are for an accelerator (every frame of every window goes
through the graph layers; windows travel as row indices, see
jaxpose/methods/baseline/method.py).  Each results JSON records its
evaluation's wall-clock time (`seconds`).
Results (experiments/results/, 2 CPU cores, in the README's tables; each
with its noisy-2D twin, the same name ending in _noisy2d.json):
  graph (default, a tenth of the clips held out):
    encoder_mocap_graph_heldout_cpu_estimate.json
  graph with --config.holdout.fraction=0:
    encoder_mocap_graph_cpu_estimate.json
  temporal27_cpu: encoder_mocap_temporal27_cpu_cpu_estimate.json
  temporal81_cpu: encoder_mocap_temporal81_cpu_cpu_estimate.json
  temporal27, temporal81: none (not run).
"""
import ml_collections

from experiments.configs import baseline_mocap
from jaxpose import settings

VARIANTS = ("graph", "temporal27", "temporal81", "temporal27_cpu",
            "temporal81_cpu")
# (batch size, steps) of the reduced temporal lifters, sized for 2 CPU
# cores.
_CPU_BUDGET = {27: (64, 2500), 81: (32, 2500)}


def get_config(variant: str = "graph"):
  settings.one_of("variant", variant, VARIANTS)
  c = baseline_mocap.get_config()
  if variant == "graph":
    c.model = ml_collections.ConfigDict(dict(
        name="graph_lifter", hidden=96, num_layers=5, num_heads=4, order=2,
        dropout=0.1, conv_dropout=0.1))
  else:
    frames = int(variant[len("temporal"):].removesuffix("_cpu"))
    c.model = ml_collections.ConfigDict(dict(
        name="temporal_lifter", num_frames=frames,
        hidden=96, num_spatial_layers=2, num_head_layers=1, num_heads=4,
        order=2, dropout=0.25, conv_dropout=0.1))
    c.data.update(train_cameras="all", test_cameras="all")
  # Read by the temporal lifter only: clip runs shorter than the window get
  # their ends repeated instead of an error.
  c.windows = ml_collections.ConfigDict(dict(short_clips="pad"))
  # DiffPose fits its initial distribution to the encoder's error on these
  # clips, which the encoder never sees (about a tenth of the rows).
  c.holdout = ml_collections.ConfigDict(dict(fraction=0.1, seed=0, subjects=()))
  c.train.update(num_steps=2000, batch_size=256, learning_rate=1e-3,
                 warmup_steps=200, ema_decay=0.999, log_every=100,
                 ckpt_every=500)
  if variant.endswith("_cpu"):
    # Every frame of every window goes through the graph layers: one layer
    # of width 64 instead of two of 96 cuts the time per step.
    c.model.update(hidden=64, num_spatial_layers=1)
    batch_size, num_steps = _CPU_BUDGET[frames]
    c.train.update(batch_size=batch_size, num_steps=num_steps)
  return c
