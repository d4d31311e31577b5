"""Context encoders on jaxpose-mocap v1: graph and temporal lifters.

DiffPose's context encoders (jaxpose/models/context_encoder.py) trained as
baseline lifters on `gfpose_mocap.py`'s small data, with its optimiser and
EMA, scored on the same first 500 test rows by the same metric code.  A
trained workdir is a context encoder for DiffPose (diffpose_mocap.py).  A
tenth of the training rows, as whole clips, never train the encoder
(holdout.fraction=0.1): DiffPose fits H_K on them;
--config.holdout.fraction=0 trains on every row.  Prepare the caches as
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

An encoder that reads each keypoint's detector-like confidence as a third
input channel (DiffPose on it reads the same through its encoder), trained
on the noisy 2D whose rows carry the scores:
--config.data.train_2d=noisy --config.inputs.uncertainty=confidence
(inputs.uncertainty=sigma: the noise model's own std, an oracle ablation);
DiffPose on it takes the same --config.data.train_2d=noisy (its training
reads the noisy 2D either way, `diffpose.noisy_train_2d`).

Variants (the text after ':' in --config):
  graph (default): GraphLifter at GraFormer's size (hidden 96, 5 layers,
    4 heads, about 0.65M parameters), 2000 steps; sized for 2 CPU cores.
  temporal27, temporal81: TemporalLifter over the centred window of 27 or
    81 frames of the row's clip and camera; for an accelerator.
  temporal27_cpu, temporal81_cpu: the same, reduced (one graph layer of
    width 64 per frame, 2500 steps) for 2 CPU cores.
  camera: graph on baseline_mocap.py:camera's data (2D in the camera's own
    geometry, varied cameras), the encoder of diffpose_mocap.py:camera;
    `--config=experiments/configs/encoder_mocap.py:camera
    --workdir=runs/encoder_mocap_camera`; about 98.5 mm on training-range
    cameras, 105 on unseen ones on the camera ranges of commit 2e59662
    (exact 2D, seed 0; docs/results/video.md).

Expected: graph MPJPE about 76.7 mm from exact 2D, 128.5 mm from noisy 2D (2 CPU cores, 2000 steps); docs/results/accuracy.md.
"""
import ml_collections

from experiments.configs import baseline_mocap
from jaxpose import settings

VARIANTS = ("graph", "temporal27", "temporal81", "temporal27_cpu",
            "temporal81_cpu", "camera")
# (batch size, steps) of the reduced temporal lifters, sized for 2 CPU
# cores.
_CPU_BUDGET = {27: (64, 2500), 81: (32, 2500)}


def get_config(variant: str = "graph"):
  settings.one_of("variant", variant, VARIANTS)
  c = baseline_mocap.get_config("camera" if variant == "camera" else "small")
  if variant in ("graph", "camera"):
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
