"""DiffPose's context encoders: 2D-to-3D lifters that also give features.

DiffPose conditions its denoiser on the features f_ST of a context encoder
phi_ST, pre-trained to predict (x, y, z) and then frozen, whose 3D also
initialises the depth.  Two encoders, both GraFormer-style graph networks
(`graph_layers`) and both without a diffusion time:

`GraphLifter`, one frame:

  pose2d [B, J, C] -> ChebConv(C, H) -> num_layers x GraFormerLayer
    = features [B, J, H] -> ChebConv(H, 3) = pose3d [B, J, 3]

`TemporalLifter`, a window of T frames (T odd) -> its centre frame:

  pose2d [B, T, J, C] -> per frame (weights shared over frames):
      ChebConv(C, H) -> num_spatial_layers x GraFormerLayer   # [B, T, J, H]
  per joint (weights shared over joints), VideoPose3D's temporal blocks:
      h = h[:, d:T-d] + Drop(ReLU(LN(Lin(Drop(ReLU(LN(Conv3_d(h))))))))
      with kernel-3 'valid' convolutions of dilation d = 1, 3, 9, ...
      (`temporal_dilations`) down to the centre frame     # [B, J, H]
  num_head_layers x GraFormerLayer = features [B, J, H]
    -> ChebConv(H, 3) = pose3d [B, J, 3]

Both return a `LifterOutput(features, pose3d)`, the pose a linear graph
read-out of the features.  C = `in_channels` is 2 (the keypoints) or 3
(each keypoint followed by its 2D uncertainty, when the lifter reads one:
`methods.lifting.keypoint_uncertainty`).  `GraphLifter` takes the released GraFormer's
conventions as options (`graph_layers`) and `root`: the 3D as predicted
('predicted', the default), minus its root joint ('subtracted') or with
the root set to 0 and the others as predicted ('zeroed'): what the
released DiffPose code's in-place `x[:, :, :] -= x[:, :1, :]` computes in
PyTorch on the CPU, writing the root before the others read it (on a GPU
the order is a race).  LayerNorm stands in for VideoPose3D's BatchNorm for
the reasons given in `lifter_mlp`.
"""
from __future__ import annotations

from typing import Literal, NamedTuple, Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from jaxpose import checks
from jaxpose import settings
from jaxpose.models import graph_layers as gl
from jaxpose.models.dropout import Dropout, check_dropout_rngs

ROOTS = ("predicted", "subtracted", "zeroed")


class LifterOutput(NamedTuple):
  """What a context encoder returns (a tuple, so a pytree: it unpacks as
  `features, pose3d = lifter(pose2d)` and passes through jit and vmap).

  Attributes:
    features: `[B, J, F]` per-joint features (F = the lifter's hidden
      width, `feature_dim`): DiffPose's f_ST, the denoiser's condition.
    pose3d: `[B, J, 3]` the lifted 3D pose (model units).
  """
  features: jax.Array  # [B, J, F]
  pose3d: jax.Array  # [B, J, 3]


def graph_lifter_num_params(*, num_joints: int = 17, hidden: int = 96,
                            num_layers: int = 5, order: int = 2,
                            in_channels: int = 2) -> int:
  """The parameter count of `GraphLifter` in closed form."""
  return (gl.cheb_params(in_channels, hidden, order) + gl.cheb_params(hidden, 3, order)
          + num_layers * gl.graformer_layer_params(hidden, num_joints, order))


def temporal_dilations(num_frames: int) -> tuple[int, ...]:
  """Dilations of the kernel-3 'valid' convolutions that take T frames to 1.

  VideoPose3D's 1, 3, 9, ... (receptive field 3^n), the last one cut so
  that the window shrinks by exactly T - 1 = 2 * sum(dilations): any odd T
  works, and T = 3^n gives VideoPose3D's stack (27: 1, 3, 9).
  """
  num_frames = checks.check_positive_int("num_frames", num_frames)
  if num_frames % 2 == 0:
    raise ValueError(f"num_frames: expected an odd window (a centre frame), "
                     f"got {num_frames}")
  remaining, d, out = (num_frames - 1) // 2, 1, []
  while remaining > 0:
    out.append(min(d, remaining))
    remaining -= out[-1]
    d *= 3
  return tuple(out)


def temporal_block_params(hidden: int) -> int:
  """`_TemporalBlock`: Conv(k=3, H, H), Linear(H, H), two LayerNorms."""
  return (3 * hidden * hidden + hidden) + gl.linear_params(hidden, hidden) \
      + 2 * 2 * hidden


def temporal_lifter_num_params(*, num_frames: int = 27, num_joints: int = 17,
                               hidden: int = 96, num_spatial_layers: int = 2,
                               num_head_layers: int = 1,
                               order: int = 2, in_channels: int = 2) -> int:
  """The parameter count of `TemporalLifter` in closed form."""
  layers = num_spatial_layers + num_head_layers
  return (gl.cheb_params(in_channels, hidden, order) + gl.cheb_params(hidden, 3, order)
          + layers * gl.graformer_layer_params(hidden, num_joints, order)
          + len(temporal_dilations(num_frames)) * temporal_block_params(hidden))


def _check_channels(in_channels) -> int:
  """C: 2 (the keypoints) or 3 (and each keypoint's uncertainty)."""
  if in_channels not in (2, 3):
    raise ValueError(f"in_channels: expected 2 (the 2D keypoints) or 3 (and "
                     f"each keypoint's uncertainty), got {in_channels!r}")
  return int(in_channels)


class _Lifter(nnx.Module):
  """What both context encoders share."""

  @property
  def feature_dim(self) -> int:
    """F, the width of `LifterOutput.features` (a denoiser's cond_dim)."""
    return self.hidden


class GraphLifter(_Lifter):
  """Single-frame context encoder: GraFormer's lifter with its features.

  Args:
    num_joints: J.
    hidden: H = F, the per-joint width (features are `[B, J, H]`).
    num_layers: GraFormer layers (attention block + residual Chebyshev
      block each).
    num_heads: attention heads; must divide H.
    order: K, the Chebyshev order (K + 1 terms).
    dropout: rate on the attention and FFN branches.
    conv_dropout: rate after each graph convolution of the layers.
    edges: skeleton edges; None for H36M_17's bones (then J must be 17).
    laplacian, layer_norm, adjacency_norm, attention_dropout: the graph
      layers' conventions (`graph_layers`; defaults jaxpose's).
    root: 'predicted', 'subtracted' or 'zeroed' (module docstring).
    rngs: parameter initialisation randomness.
  """

  def __init__(self, *, num_joints: int = 17, hidden: int = 96,
               num_layers: int = 5, num_heads: int = 4, order: int = 2,
               dropout: float = 0.1, conv_dropout: float = 0.1,
               edges: Sequence[Sequence[int]] | None = None,
               laplacian: gl.Laplacian = "scaled",
               layer_norm: gl.LayerNormKind = "nnx",
               adjacency_norm: gl.AdjacencyNorm = "none",
               attention_dropout: float = 0.0,
               root: Literal["predicted", "subtracted", "zeroed"] = "predicted",
               in_channels: int = 2, rngs: nnx.Rngs):
    self.num_joints = checks.check_positive_int("num_joints", num_joints)
    self.hidden = checks.check_positive_int("hidden", hidden)
    self.num_layers = checks.check_nonnegative_int("num_layers", num_layers)
    self.order = checks.check_nonnegative_int("order", order)
    # Read by models.make_apply to insist on a key when training.
    self.dropout_rate = gl.check_dropout_rates(dropout, conv_dropout,
                                               attention_dropout)
    self.edges = gl.model_edges(num_joints, edges)
    conventions = gl.Conventions(laplacian=laplacian, layer_norm=layer_norm,
                                 adjacency_norm=adjacency_norm,
                                 attention_dropout=attention_dropout)
    self.laplacian = conventions.laplacian
    settings.one_of("root", root, ROOTS)
    self.root = root
    self.in_channels = _check_channels(in_channels)
    self.input_conv = gl.ChebConv(in_channels, hidden, order=order, rngs=rngs)
    self.layers = nnx.List([
        gl.GraFormerLayer(hidden, num_joints, num_heads, order=order,
                          dropout=dropout, conv_dropout=conv_dropout,
                          conventions=conventions, rngs=rngs)
        for _ in range(num_layers)])
    self.output_conv = gl.ChebConv(hidden, 3, order=order, rngs=rngs)

  def __call__(self, pose2d: jax.Array, *, deterministic: bool = True,
               rngs: nnx.Rngs | None = None) -> LifterOutput:
    """Lifts 2D poses and returns the features the 3D is read from.

    Args:
      pose2d: `[B, J, C]` 2D poses (model units), C = `in_channels`.
      deterministic: no dropout when True.
      rngs: dropout randomness (stream 'dropout'); needed when not
        deterministic and a dropout rate is > 0.

    Returns:
      `LifterOutput(features [B, J, H], pose3d [B, J, 3])`.
    """
    checks.check_array("pose2d", pose2d, ("B", self.num_joints,
                                          self.in_channels))
    check_dropout_rngs(self, deterministic, rngs)
    basis = jnp.asarray(gl.chebyshev_basis(
        self.num_joints, self.edges, self.order, laplacian=self.laplacian,
        dtype=gl.basis_dtype(pose2d)))  # [K+1, J, J]
    kw = dict(deterministic=deterministic, rngs=rngs)
    h = self.input_conv(pose2d, basis)  # [B, J, H]
    for layer in self.layers:
      h = layer(h, basis, **kw)
    pose3d = self.output_conv(h, basis)  # [B, J, 3]
    if self.root == "subtracted":
      pose3d = pose3d - pose3d[:, :1]
    elif self.root == "zeroed":
      pose3d = pose3d.at[:, 0].set(0.0)
    return LifterOutput(features=h, pose3d=pose3d)


class _TemporalBlock(nnx.Module):
  """VideoPose3D's residual block over time, per joint: `[N, T, H]` ->
  `[N, T - 2d, H]`, the residual being the input's centre slice."""

  def __init__(self, hidden: int, dilation: int, *, dropout: float,
               rngs: nnx.Rngs):
    self.dilation = int(dilation)
    self.conv = nnx.Conv(hidden, hidden, kernel_size=(3,),
                         kernel_dilation=(dilation,), padding="VALID",
                         rngs=rngs)
    self.norm1 = nnx.LayerNorm(hidden, epsilon=1e-5, rngs=rngs)
    self.mix = nnx.Linear(hidden, hidden, rngs=rngs)
    self.norm2 = nnx.LayerNorm(hidden, epsilon=1e-5, rngs=rngs)
    self.dropout = Dropout(dropout)

  def __call__(self, h, *, deterministic: bool, rngs):
    kw = dict(deterministic=deterministic, rngs=rngs)
    d = self.dilation
    residual = h[:, d:h.shape[1] - d]  # [N, T-2d, H]
    z = self.dropout(nnx.relu(self.norm1(self.conv(h))), **kw)
    z = self.dropout(nnx.relu(self.norm2(self.mix(z))), **kw)
    return residual + z


class TemporalLifter(_Lifter):
  """Window context encoder: T frames of 2D in, the centre frame's features
  and 3D out (module docstring).

  Args:
    num_frames: T, odd (27 and 81 are DiffPose-style configs).
    num_joints: J.
    hidden: H = F, the per-joint width.
    num_spatial_layers: GraFormer layers applied to every frame.
    num_head_layers: GraFormer layers on the centre frame after the
      temporal blocks (joints exchange what each saw over time).
    num_heads: attention heads; must divide H.
    order: K, the Chebyshev order.
    dropout: rate on the attention, FFN and temporal branches.
    conv_dropout: rate after each graph convolution of the layers.
    edges: skeleton edges; None for H36M_17's bones (then J must be 17).
    rngs: parameter initialisation randomness.
  """

  def __init__(self, *, num_frames: int = 27, num_joints: int = 17,
               hidden: int = 96, num_spatial_layers: int = 2,
               num_head_layers: int = 1, num_heads: int = 4, order: int = 2,
               dropout: float = 0.25, conv_dropout: float = 0.1,
               edges: Sequence[Sequence[int]] | None = None,
               in_channels: int = 2, rngs: nnx.Rngs):
    self.dilations = temporal_dilations(num_frames)
    self.num_frames = int(num_frames)
    self.num_joints = checks.check_positive_int("num_joints", num_joints)
    self.hidden = checks.check_positive_int("hidden", hidden)
    checks.check_nonnegative_int("num_spatial_layers", num_spatial_layers)
    checks.check_nonnegative_int("num_head_layers", num_head_layers)
    self.order = checks.check_nonnegative_int("order", order)
    self.dropout_rate = gl.check_dropout_rates(dropout, conv_dropout)
    self.edges = gl.model_edges(num_joints, edges)
    layer = lambda: gl.GraFormerLayer(
        hidden, num_joints, num_heads, order=order, dropout=dropout,
        conv_dropout=conv_dropout, rngs=rngs)
    self.in_channels = _check_channels(in_channels)
    self.input_conv = gl.ChebConv(in_channels, hidden, order=order, rngs=rngs)
    self.spatial = nnx.List([layer() for _ in range(num_spatial_layers)])
    self.temporal = nnx.List([
        _TemporalBlock(hidden, d, dropout=dropout, rngs=rngs)
        for d in self.dilations])
    self.head = nnx.List([layer() for _ in range(num_head_layers)])
    self.output_conv = gl.ChebConv(hidden, 3, order=order, rngs=rngs)

  def __call__(self, pose2d: jax.Array, *, deterministic: bool = True,
               rngs: nnx.Rngs | None = None) -> LifterOutput:
    """Lifts a window of 2D poses to its centre frame.

    Args:
      pose2d: `[B, T, J, C]` 2D poses (model units), C = `in_channels`,
        frame T // 2 the one lifted.
      deterministic: no dropout when True.
      rngs: dropout randomness (stream 'dropout'); needed when not
        deterministic and a dropout rate is > 0.

    Returns:
      `LifterOutput(features [B, J, H], pose3d [B, J, 3])` of the centre
      frame.
    """
    sizes = {}
    checks.check_array("pose2d", pose2d,
                       ("B", self.num_frames, self.num_joints,
                        self.in_channels), sizes=sizes)
    check_dropout_rngs(self, deterministic, rngs)
    b, t, j, hid = sizes["B"], self.num_frames, self.num_joints, self.hidden
    basis = jnp.asarray(gl.chebyshev_basis(j, self.edges,
                                           self.order))  # [K+1, J, J]
    kw = dict(deterministic=deterministic, rngs=rngs)
    h = self.input_conv(pose2d.reshape(b * t, j, self.in_channels), basis)  # [B*T, J, H]
    for layer in self.spatial:
      h = layer(h, basis, **kw)
    # Frames become a sequence per joint: [B*T, J, H] -> [B*J, T, H].
    h = h.reshape(b, t, j, hid).transpose(0, 2, 1, 3).reshape(b * j, t, hid)
    for block in self.temporal:
      h = block(h, **kw)  # [B*J, T', H], T' shrinking to 1
    h = h.reshape(b, j, hid)  # the centre frame
    for layer in self.head:
      h = layer(h, basis, **kw)
    return LifterOutput(features=h, pose3d=self.output_conv(h, basis))
