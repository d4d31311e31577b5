"""DiffPose's denoiser: a GraFormer-style graph network with a time embedding.

Layout (DiffPose, Gong et al. 2023: Chebyshev graph convolution with K=2 on
the self-looped, normalised 17-joint skeleton graph and multi-head
self-attention over joints, a sinusoidal time embedding added in each
layer; the paper's sizes, the defaults, give about 1.0M parameters with
`cond_dim=0`, `denoiser_num_params`):

  t -> sinusoid(time_scale * t) [., H] -> Linear(H, E) -> SiLU
       -> Linear(E, E) = temb
  x [B, J, S] -> ChebConv(S, H) (+ Lc_0(c)) = h          # c: [B, J, F]
  num_layers x {
    h = GraphAttentionBlock(h)      # pre-norm attention + learned-graph FFN
    h = h + G2(G1(h) + Lt_l(SiLU(temb)) (+ Lc_l(c)))    # ResChebBlock
  }
  out = ChebConv(H, S)(h)           # the epsilon prediction, [B, J, S]

with G = Drop(ReLU(ChebConv(H, H))), Lt_l: Linear(E, H), Lc_l: Linear(F, H).
The state per joint is DiffPose's [u, v, x, y, z] (S = 5: the 2D is
diffused too; its noise scale is the forward process's business).  "K=2"
means K + 1 = 3 Chebyshev terms (`graph_layers`).

Conditioning (the paper conditions on the context encoder's features f_ST;
the released code has no condition path): c is a per-joint feature map
`[B, J, F]`, e.g. a context encoder's `LifterOutput.features`, added per
joint at the input (Lc_0) and, beside the time, in every layer (Lc_l):
per-joint features keep the graph structure (a joint's context lands on
that joint) and a per-layer path keeps the condition as strong in the last
layer as in the first, as GFPose's does.  The lifter's 3D pose is not a
second input: it is a linear read-out of the same features, and it
initialises the state's depth (the sampler's business).  `cond=None` is
the null condition, all-zero features (for condition dropout); `cond_dim=0`
removes every condition path, leaving the released code's layout.

The released code's conventions are options, jaxpose's defaults first:
the graph layers' `laplacian`, `layer_norm`, `adjacency_norm` and
`attention_dropout` (`graph_layers`), and `time_input`: 'scaled' embeds
time_scale * t, the step count i + 1 of DiscreteVP's t = (i + 1) / N;
'step' embeds round(time_scale * t) - 1, the integer step index i that the
released code feeds (its steps count from 0).
"""
from __future__ import annotations

from typing import Literal, Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from jaxpose import checks
from jaxpose import settings
from jaxpose.models import graph_layers as gl
from jaxpose.models.dropout import check_dropout_rngs
from jaxpose.models.score_mlp import time_row, timestep_embedding

TIME_INPUTS = ("scaled", "step")


def denoiser_num_params(*, num_joints: int = 17, state_dim: int = 5,
                        cond_dim: int = 96, hidden: int = 96,
                        embed_dim: int = 384, num_layers: int = 5,
                        order: int = 2) -> int:
  """The parameter count of `DiffPoseDenoiser` in closed form."""
  lin, cheb = gl.linear_params, gl.cheb_params
  n = lin(hidden, embed_dim) + lin(embed_dim, embed_dim)  # time MLP
  n += cheb(state_dim, hidden, order) + cheb(hidden, state_dim, order)
  per_layer = (gl.attention_block_params(hidden, num_joints)
               + gl.res_cheb_params(hidden, order) + lin(embed_dim, hidden))
  if cond_dim:
    n += lin(cond_dim, hidden)
    per_layer += lin(cond_dim, hidden)
  return n + num_layers * per_layer


class _Layer(nnx.Module):
  """GraphAttentionBlock, then ResChebBlock with time (+ condition) added."""

  def __init__(self, hidden: int, embed_dim: int, cond_dim: int, *,
               num_joints: int, num_heads: int, order: int, dropout: float,
               conv_dropout: float, conventions: gl.Conventions,
               rngs: nnx.Rngs):
    self.attention = gl.GraphAttentionBlock(hidden, num_joints, num_heads,
                                            dropout=dropout,
                                            conventions=conventions, rngs=rngs)
    self.graph = gl.ResChebBlock(hidden, order=order, dropout=conv_dropout,
                                 rngs=rngs)
    self.time_proj = nnx.Linear(embed_dim, hidden, rngs=rngs)
    self.cond_proj = (nnx.Linear(cond_dim, hidden, rngs=rngs)
                      if cond_dim else None)

  def __call__(self, h, basis, temb, cond, *, deterministic: bool, rngs):
    kw = dict(deterministic=deterministic, rngs=rngs)
    h = self.attention(h, **kw)
    extra = self.time_proj(temb)[:, None, :]  # [1 or B, 1, H]
    if self.cond_proj is not None:
      extra = extra + self.cond_proj(cond)  # [B, J, H]
    return self.graph(h, basis, extra, **kw)


class DiffPoseDenoiser(nnx.Module):
  """DiffPose's epsilon network over per-joint states, context-conditioned.

  Args:
    num_joints: J.
    state_dim: S, numbers per joint ([u, v, x, y, z]: 5).
    cond_dim: F, width of the per-joint condition features; 0 for an
      unconditional network.
    hidden: H, the width of every joint's hidden state (paper: 96).
    embed_dim: E, width of the time embedding MLP (paper: 4 H = 384).
    num_layers: attention + graph-convolution layers (paper: 5).
    num_heads: attention heads (paper: 4); must divide H.
    order: K, the Chebyshev order (paper: 2, i.e. 3 terms).
    dropout: rate on the attention and FFN branches (released config: 0.25).
    conv_dropout: rate after each graph convolution of the layers (released
      code: 0.1).
    time_scale: the sinusoid sees `time_scale * t`; 51 maps t = (i + 1) / N
      of DiffPose's N = 51 step chain (`sde.DiscreteVP`) to i + 1.
    edges: skeleton edges; None for H36M_17's bones (then J must be 17).
    laplacian, layer_norm, adjacency_norm, attention_dropout: the graph
      layers' conventions (`graph_layers`; defaults jaxpose's).
    time_input: 'scaled' or 'step' (the released code's; module doc).
    rngs: parameter initialisation randomness.
  """

  def __init__(self, *, num_joints: int = 17, state_dim: int = 5,
               cond_dim: int = 96, hidden: int = 96, embed_dim: int = 384,
               num_layers: int = 5, num_heads: int = 4, order: int = 2,
               dropout: float = 0.25, conv_dropout: float = 0.1,
               time_scale: float = 51.0,
               edges: Sequence[Sequence[int]] | None = None,
               laplacian: gl.Laplacian = "scaled",
               layer_norm: gl.LayerNormKind = "nnx",
               adjacency_norm: gl.AdjacencyNorm = "none",
               attention_dropout: float = 0.0,
               time_input: Literal["scaled", "step"] = "scaled",
               rngs: nnx.Rngs):
    self.num_joints = checks.check_positive_int("num_joints", num_joints)
    self.state_dim = checks.check_positive_int("state_dim", state_dim)
    self.cond_dim = checks.check_nonnegative_int("cond_dim", cond_dim)
    self.hidden = checks.check_positive_int("hidden", hidden)
    self.embed_dim = checks.check_positive_int("embed_dim", embed_dim)
    self.num_layers = checks.check_nonnegative_int("num_layers", num_layers)
    self.order = checks.check_nonnegative_int("order", order)
    # Read by models.make_apply to insist on a key when training.
    self.dropout_rate = gl.check_dropout_rates(dropout, conv_dropout,
                                               attention_dropout)
    self.time_scale = float(time_scale)
    settings.one_of("time_input", time_input, TIME_INPUTS)
    self.time_input = time_input
    self.edges = gl.model_edges(num_joints, edges)
    conventions = gl.Conventions(laplacian=laplacian, layer_norm=layer_norm,
                                 adjacency_norm=adjacency_norm,
                                 attention_dropout=attention_dropout)
    self.laplacian = conventions.laplacian

    self.time_in = nnx.Linear(hidden, embed_dim, rngs=rngs)
    self.time_out = nnx.Linear(embed_dim, embed_dim, rngs=rngs)
    self.input_conv = gl.ChebConv(state_dim, hidden, order=order, rngs=rngs)
    self.cond_in = (nnx.Linear(cond_dim, hidden, rngs=rngs)
                    if cond_dim else None)
    self.layers = nnx.List([
        _Layer(hidden, embed_dim, cond_dim, num_joints=num_joints,
               num_heads=num_heads, order=order, dropout=dropout,
               conv_dropout=conv_dropout, conventions=conventions, rngs=rngs)
        for _ in range(num_layers)])
    self.output_conv = gl.ChebConv(hidden, state_dim, order=order, rngs=rngs)

  @property
  def conditional(self) -> bool:
    return self.cond_dim > 0

  def __call__(self, x: jax.Array, t, cond: jax.Array | None = None, *,
               deterministic: bool = True,
               rngs: nnx.Rngs | None = None) -> jax.Array:
    """Predicts the noise in the per-joint states x.

    Args:
      x: `[B, J, S]` noisy states.
      t: diffusion time, a scalar (shared by the batch) or `[B]`.
      cond: `[B, J, F]` context features, or None (the null condition);
        must be None for an unconditional network.
      deterministic: no dropout when True.
      rngs: dropout randomness (stream 'dropout'); needed when not
        deterministic and a dropout rate is > 0.

    Returns:
      `[B, J, S]` epsilon prediction.
    """
    sizes = {}
    checks.check_array("x", x, ("B", self.num_joints, self.state_dim),
                       sizes=sizes)
    batch = sizes["B"]
    t_row = time_row(t, batch)  # [1 or B]
    if self.cond_dim:
      if cond is None:
        cond = jnp.zeros((batch, self.num_joints, self.cond_dim), x.dtype)
      checks.check_array("cond", cond,
                         ("B", self.num_joints, self.cond_dim), sizes=sizes)
    elif cond is not None:
      raise ValueError("cond: this network is unconditional (cond_dim=0); "
                       "pass cond=None")
    check_dropout_rngs(self, deterministic, rngs)

    basis = jnp.asarray(gl.chebyshev_basis(
        self.num_joints, self.edges, self.order, laplacian=self.laplacian,
        dtype=gl.basis_dtype(x)))  # [K+1, J, J]
    label = self.time_scale * t_row
    if self.time_input == "step":
      label = jnp.round(label) - 1.0
    temb = timestep_embedding(label, self.hidden)
    temb = self.time_out(nnx.silu(self.time_in(temb)))  # [1 or B, E]
    # DiffPose's layers read SiLU(temb); applied once for all of them.
    temb = nnx.silu(temb)

    h = self.input_conv(x, basis)  # [B, J, H]
    if self.cond_in is not None:
      h = h + self.cond_in(cond)
    kw = dict(deterministic=deterministic, rngs=rngs)
    for layer in self.layers:
      h = layer(h, basis, temb, cond, **kw)
    return self.output_conv(h, basis)  # [B, J, S]

