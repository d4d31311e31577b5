"""The "simple baseline" 2D-to-3D lifter of Martinez et al. (ICCV 2017).

A deterministic residual MLP from a flattened 2D pose to a flattened 3D
pose, the network most users would otherwise pick for lifting:

  x [B, CJ] -> Linear(CJ, H) -> Norm -> ReLU -> Dropout        = h
  num_blocks x { h2 = layer(layer(h)); h = h + h2 },
      each layer being Dropout(ReLU(Norm(Linear(H, H)(h))))
  out = Linear(H, 3J)(h)                                        # [B, 3J]

C is 2 (the keypoints) or 3 (each keypoint followed by its 2D
uncertainty, when the lifter reads one).  The paper's size is H=1024, 2 blocks, dropout 0.5: with J=17 joints, the
paper's "about 4-5 million" parameters (`lifter_num_params`). The max-norm
weight constraint of the paper is left out.

Normalisation: LayerNorm instead of the paper's BatchNorm. BatchNorm's
running averages are state that changes during training but is not
optimised; the shared training step (`train.make_train_step`) carries
parameters, optimiser state and their EMA only, and the model registry
splits a model into `nnx.Param`s alone. LayerNorm normalises the same
activations per example, so the network stays a pure function of
(params, input), its test-time output does not depend on which other poses
share the batch, and the EMA of its parameters is a consistent network
(an EMA of BatchNorm weights would not match any set of running
statistics). `norm="none"` drops the normalisation altogether.
"""
from __future__ import annotations

import jax
from flax import nnx

from jaxpose import checks
from jaxpose import settings
from jaxpose.models.dropout import Dropout, check_dropout_rngs

NORMS = ("layer", "none")


def lifter_num_params(num_joints: int = 17, hidden: int = 1024,
                      num_blocks: int = 2, norm: str = "layer",
                      in_channels: int = 2) -> int:
  """The parameter count of `LifterMLP` in closed form (a norm: 2H each)."""
  d_in, d_out = in_channels * num_joints, 3 * num_joints
  linear = (d_in * hidden + hidden) + num_blocks * 2 * (hidden * hidden + hidden)
  linear += hidden * d_out + d_out
  norms = (1 + 2 * num_blocks) * 2 * hidden if norm == "layer" else 0
  return linear + norms


class _Layer(nnx.Module):
  """Dropout(ReLU(Norm(Linear(h))))."""

  def __init__(self, in_dim: int, hidden: int, *, norm: str, dropout: float,
               rngs: nnx.Rngs):
    self.lin = nnx.Linear(in_dim, hidden, rngs=rngs)
    # epsilon as torch.nn.LayerNorm; scale 1 and bias 0 at initialisation.
    self.norm = (nnx.LayerNorm(hidden, epsilon=1e-5, rngs=rngs)
                 if norm == "layer" else None)
    # Dropout randomness arrives with each call (no stored rngs), so the
    # merged module is a pure function of (params, inputs, key).
    self.dropout = Dropout(dropout)

  def __call__(self, h, *, deterministic: bool, rngs):
    z = self.lin(h)
    if self.norm is not None:
      z = self.norm(z)
    return self.dropout(nnx.relu(z), deterministic=deterministic, rngs=rngs)


class _ResidualBlock(nnx.Module):
  """h + layer2(layer1(h))."""

  def __init__(self, hidden: int, **layer_kw):
    self.layer1 = _Layer(hidden, hidden, **layer_kw)
    self.layer2 = _Layer(hidden, hidden, **layer_kw)

  def __call__(self, h, *, deterministic: bool, rngs):
    h2 = self.layer1(h, deterministic=deterministic, rngs=rngs)
    h2 = self.layer2(h2, deterministic=deterministic, rngs=rngs)
    return h + h2


class LifterMLP(nnx.Module):
  """Martinez et al.'s residual lifting MLP: 2D pose in, 3D pose out.

  Args:
    num_joints: J; the input is `[B, J, C]`, the output `[B, J, 3]`.
    hidden: H, width of the residual stream (paper: 1024).
    num_blocks: residual blocks of two layers each (paper: 2).
    dropout: dropout rate after every hidden layer (paper: 0.5).
    norm: "layer" (LayerNorm, see the module doc for why not BatchNorm) or
      "none".
    in_channels: C, 2 (the keypoints) or 3 (and their uncertainty).
    rngs: parameter initialisation randomness.
  """

  def __init__(self, *, num_joints: int = 17, hidden: int = 1024,
               num_blocks: int = 2, dropout: float = 0.5,
               norm: str = "layer", in_channels: int = 2, rngs: nnx.Rngs):
    self.num_joints = checks.check_positive_int("num_joints", num_joints)
    self.hidden = checks.check_positive_int("hidden", hidden)
    self.num_blocks = checks.check_nonnegative_int("num_blocks", num_blocks)
    # Read by models.make_apply to insist on a key when training.
    self.dropout_rate = checks.check_rate("dropout", dropout)
    settings.one_of("norm", norm, NORMS)
    self.norm = norm
    layer_kw = dict(norm=norm, dropout=dropout, rngs=rngs)
    if in_channels not in (2, 3):
      raise ValueError(f"in_channels: expected 2 (the 2D keypoints) or 3 "
                       f"(and each keypoint's uncertainty), got {in_channels!r}")
    self.in_channels = int(in_channels)
    self.first = _Layer(self.in_channels * num_joints, hidden, **layer_kw)
    self.blocks = nnx.List([_ResidualBlock(hidden, **layer_kw)
                            for _ in range(num_blocks)])
    self.out = nnx.Linear(hidden, 3 * num_joints, rngs=rngs)

  def __call__(self, pose2d: jax.Array, *, deterministic: bool = True,
               rngs: nnx.Rngs | None = None) -> jax.Array:
    """Lifts 2D poses to 3D poses.

    Args:
      pose2d: `[B, J, C]` 2D poses (model units), C = `in_channels`.
      deterministic: no dropout when True.
      rngs: dropout randomness (stream 'dropout'); needed when not
        deterministic and dropout > 0.

    Returns:
      `[B, J, 3]` 3D poses (model units).
    """
    sizes = {}
    checks.check_array("pose2d", pose2d, ("B", self.num_joints,
                                          self.in_channels), sizes=sizes)
    check_dropout_rngs(self, deterministic, rngs)
    kw = dict(deterministic=deterministic, rngs=rngs)
    h = self.first(pose2d.reshape(sizes["B"], -1), **kw)  # [B, H]
    for block in self.blocks:
      h = block(h, **kw)
    return self.out(h).reshape(sizes["B"], self.num_joints, 3)
