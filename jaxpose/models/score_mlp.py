"""The GFPose score network: a time- and condition-modulated residual MLP.

Layout (GFPose, Ci et al. 2023; checked against the authors' released model):

  x [B, D] ---------------------------------> Lx ----+
  t -> sinusoid(time_scale * t) [., E] -> Linear(E, E) + SiLU = temb -> Lt --+
  c_mask * (x - c) [B, D] -> Linear(D, H) + SiLU = cemb ---------> Lc ----+
                                      h = Dropout(SiLU(GroupNorm(sum)))
  num_blocks x { h2 = layer(layer(h)); h = h + h2 }, each layer being
      Dropout(SiLU(GroupNorm(Lin(h) + Lt(temb) + Lc(cemb))))
  out = Linear(H, D)(h)   # the epsilon prediction

Every layer has its own time and condition projections (Lt: E -> H,
Lc: H -> H).  The paper's sizes are D=51, H=1024, E=512, 2 blocks;
`cond_dim=0` drops every condition path (DPoser's network).

The condition is GFPose's residual form `c_mask * (x - c)`, never c itself:
a masked entry, the z of a 2D condition and the null condition are all 0.

`output_scale='ve_sigma'` is DPoser's released convention (their
`scale_by_sigma` with a positional embedding): a VE noise table
(`ve_sigma_ladder`) applied to a sub-VP network's output.  The default
'none' is GFPose's (and jaxpose's own DPoser).
"""
from __future__ import annotations

import functools
import math
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxpose import checks
from jaxpose import settings
from jaxpose.models.dropout import Dropout, check_dropout_rngs

OUTPUT_SCALES = ("none", "ve_sigma")


@functools.lru_cache(maxsize=8)
def ve_sigma_ladder(sigma_min: float, sigma_max: float,
                    num_scales: int) -> np.ndarray:
  """exp(linspace(log sigma_max, log sigma_min, num_scales)), float32.

  Computed in float64 and rounded once, as score_sde's `get_sigmas` does.
  """
  sigmas = np.exp(np.linspace(np.log(sigma_max), np.log(sigma_min),
                              num_scales))  # [N], float64
  out = sigmas.astype(np.float32)
  out.setflags(write=False)
  return out


def timestep_embedding(t: jax.Array, dim: int, *,
                       max_period: float = 10000.0) -> jax.Array:
  """Transformer-style sinusoidal embedding of (already scaled) times.

  Frequencies run geometrically from 1 to 1/max_period over dim // 2 entries;
  the first half of the output holds the sines, the second the cosines (an odd
  `dim` gets a zero last entry).

  Args:
    t: times, any shape `[...]`.
    dim: embedding width E.

  Returns:
    `[..., E]` embedding.
  """
  half = dim // 2
  if half < 2:
    raise ValueError(f"dim: expected an embedding width >= 4, got {dim}")
  freqs = jnp.exp(-math.log(max_period) / (half - 1) *
                  jnp.arange(half, dtype=jnp.float32))  # [E/2]
  angles = jnp.asarray(t, jnp.float32)[..., None] * freqs  # [..., E/2]
  emb = jnp.concatenate([jnp.sin(angles), jnp.cos(angles)], axis=-1)
  if dim % 2:
    emb = jnp.pad(emb, [(0, 0)] * (emb.ndim - 1) + [(0, 1)])
  return emb


def time_row(t, batch: int) -> jax.Array:
  """Diffusion time `t`, a scalar or `[B]`, as `[1]` or `[B]`: a scalar
  gets one embedding, broadcast over the batch (one sinusoid, not B)."""
  t = jnp.asarray(t)
  if t.ndim == 0:
    return t[None]
  if t.shape != (batch,):
    raise ValueError(f"t: expected a scalar or shape ({batch},) matching "
                     f"x's batch, got {t.shape}")
  return t


class _ModulatedLayer(nnx.Module):
  """Dropout(SiLU(GroupNorm(Lin(h) + Lt(temb) [+ Lc(cemb)])))."""

  def __init__(self, in_dim: int, hidden: int, embed_dim: int, *,
               conditional: bool, num_groups: int, dropout: float,
               rngs: nnx.Rngs):
    self.lin = nnx.Linear(in_dim, hidden, rngs=rngs)
    self.lin_t = nnx.Linear(embed_dim, hidden, rngs=rngs)
    self.lin_c = nnx.Linear(hidden, hidden, rngs=rngs) if conditional else None
    # epsilon as in torch.nn.GroupNorm, which the reference model uses.
    self.norm = nnx.GroupNorm(hidden, num_groups=num_groups, epsilon=1e-5,
                              rngs=rngs)
    # No rngs stored: dropout randomness arrives with each call, so a merged
    # module is a pure function of (params, inputs, key).
    self.dropout = Dropout(dropout)

  def __call__(self, h, temb, cemb, *, deterministic: bool, rngs):
    z = self.lin(h) + self.lin_t(temb)  # [B, H]
    if self.lin_c is not None:
      z = z + self.lin_c(cemb)
    z = nnx.silu(self.norm(z))
    return self.dropout(z, deterministic=deterministic, rngs=rngs)


class _ResidualBlock(nnx.Module):
  """h + layer2(layer1(h))."""

  def __init__(self, hidden: int, embed_dim: int, **layer_kw):
    self.layer1 = _ModulatedLayer(hidden, hidden, embed_dim, **layer_kw)
    self.layer2 = _ModulatedLayer(hidden, hidden, embed_dim, **layer_kw)

  def __call__(self, h, temb, cemb, *, deterministic: bool, rngs):
    h2 = self.layer1(h, temb, cemb, deterministic=deterministic, rngs=rngs)
    h2 = self.layer2(h2, temb, cemb, deterministic=deterministic, rngs=rngs)
    return h + h2


class ScoreMLP(nnx.Module):
  """GFPose's conditional epsilon network (and DPoser's, with cond_dim=0).

  Args:
    data_dim: D, the flattened pose size (17 joints x 3 = 51).
    cond_dim: 0 for an unconditional network; otherwise the condition has the
      shape of x (the residual c_mask * (x - c) needs it), so it must equal D.
    hidden: H, width of the residual stream.
    embed_dim: E, width of the time embedding.
    num_blocks: residual blocks after the first layer.
    dropout: dropout rate after every layer.
    num_groups: GroupNorm groups (must divide H).
    time_scale: the embedding sees `time_scale * t` (999 maps t in [0, 1] to
      the DDPM step range the sinusoid was designed for).
    output_scale: 'none' (the epsilon prediction as it is) or 've_sigma'
      (divided by the VE ladder's sigma at index floor(time_scale * t),
      clipped to the ladder).
    sigma_min, sigma_max, num_scales: the 've_sigma' ladder (ignored with
      'none'); DPoser's: 0.01, 50, 1000.
    rngs: parameter initialisation randomness.
  """

  def __init__(self, *, data_dim: int = 51, cond_dim: int = 51,
               hidden: int = 1024, embed_dim: int = 512, num_blocks: int = 2,
               dropout: float = 0.25, num_groups: int = 32,
               time_scale: float = 999.0,
               output_scale: Literal["none", "ve_sigma"] = "none",
               sigma_min: float = 0.01, sigma_max: float = 50.0,
               num_scales: int = 1000, rngs: nnx.Rngs):
    self.data_dim = checks.check_positive_int("data_dim", data_dim)
    if isinstance(cond_dim, bool) or cond_dim not in (0, data_dim):
      raise ValueError(
          f"cond_dim: expected 0 (unconditional) or data_dim={data_dim} (the "
          f"condition c and its mask have the shape of x), got {cond_dim!r}")
    self.cond_dim = int(cond_dim)
    self.hidden = checks.check_positive_int("hidden", hidden)
    self.embed_dim = checks.check_positive_int("embed_dim", embed_dim)
    self.num_blocks = checks.check_nonnegative_int("num_blocks", num_blocks)
    self.dropout_rate = checks.check_rate("dropout", dropout)
    if hidden % num_groups:
      raise ValueError(f"num_groups: {num_groups} does not divide "
                       f"hidden={hidden}")
    self.time_scale = float(time_scale)
    settings.one_of("output_scale", output_scale, OUTPUT_SCALES)
    self.output_scale = str(output_scale)
    if not 0 < sigma_min < sigma_max:
      raise ValueError("sigma_min, sigma_max: expected 0 < sigma_min < "
                       f"sigma_max, got {sigma_min!r}, {sigma_max!r}")
    self.sigma_min, self.sigma_max = float(sigma_min), float(sigma_max)
    self.num_scales = checks.check_positive_int("num_scales", num_scales)

    self.time_embed = nnx.Linear(embed_dim, embed_dim, rngs=rngs)
    self.cond_embed = (nnx.Linear(cond_dim, hidden, rngs=rngs)
                       if cond_dim else None)
    layer_kw = dict(conditional=bool(cond_dim), num_groups=num_groups,
                    dropout=dropout, rngs=rngs)
    self.first = _ModulatedLayer(data_dim, hidden, embed_dim, **layer_kw)
    self.blocks = nnx.List(
        [_ResidualBlock(hidden, embed_dim, **layer_kw)
         for _ in range(num_blocks)])
    self.out = nnx.Linear(hidden, data_dim, rngs=rngs)

  @property
  def conditional(self) -> bool:
    return self.cond_dim > 0

  def __call__(self, x: jax.Array, t, cond=None, *,
               deterministic: bool = True,
               rngs: nnx.Rngs | None = None) -> jax.Array:
    """Predicts the noise in x.

    Args:
      x: `[B, ...]` noisy poses, e.g. `[B, J, 3]`, whose trailing dims hold
        D numbers; the network flattens them and returns x's shape.
      t: diffusion time, a scalar (shared by the batch) or `[B]`.
      cond: None (the null condition) or a pair `(c, c_mask)` of x's shape;
        must be None for an unconditional network.
      deterministic: no dropout when True.
      rngs: dropout randomness (stream 'dropout'); needed when not
        deterministic and dropout > 0.

    Returns:
      Epsilon prediction of x's shape.
    """
    x_shape = jnp.shape(x)
    if len(x_shape) < 2 or math.prod(x_shape[1:]) != self.data_dim:
      raise ValueError(f"x: expected shape (B, ...) with {self.data_dim} "
                       f"numbers per example (data_dim), got {x_shape}")
    batch = x_shape[0]
    x = jnp.reshape(x, (batch, self.data_dim))  # [B, D]
    checks.check_array("x", x, (batch, self.data_dim))  # NaN/inf when concrete
    t_row = time_row(t, batch)  # [1 or B]
    check_dropout_rngs(self, deterministic, rngs)

    temb = timestep_embedding(self.time_scale * t_row, self.embed_dim)
    temb = nnx.silu(self.time_embed(temb))  # [1 or B, E]

    cemb = None
    if self.cond_embed is not None:
      cond_in = self._residual_condition(x, cond, x_shape)  # [B, D]
      cemb = nnx.silu(self.cond_embed(cond_in))  # [B, H]
    elif cond is not None:
      raise ValueError("cond: this network is unconditional (cond_dim=0); "
                       "pass cond=None")

    kw = dict(deterministic=deterministic, rngs=rngs)
    h = self.first(x, temb, cemb, **kw)  # [B, H]
    for block in self.blocks:
      h = block(h, temb, cemb, **kw)
    out = self.out(h)  # [B, D]
    if self.output_scale == "ve_sigma":
      out = out / self._ladder_sigma(t_row)[:, None]  # [1 or B, 1]
    return out.reshape(x_shape)

  def _ladder_sigma(self, t_row):
    """sigma_k of the VE ladder, k = floor(time_scale * t): `[1 or B]`."""
    ladder = ve_sigma_ladder(self.sigma_min, self.sigma_max, self.num_scales)
    # The embedding's label (the same product, in t's dtype); t >= 0, so
    # the authors' truncation (tensor.long()) is a floor.
    label = self.time_scale * t_row
    index = jnp.clip(jnp.floor(label).astype(jnp.int32), 0,
                     self.num_scales - 1)
    return jnp.asarray(ladder)[index]

  def _residual_condition(self, x, cond, x_shape):
    if cond is None:
      return jnp.zeros_like(x)
    if not isinstance(cond, (tuple, list)) or len(cond) != 2:
      raise ValueError("cond: expected None or a pair (c, c_mask) of x's "
                       f"shape {x_shape}, got {type(cond).__name__}")
    c, c_mask = cond
    checks.check_array("cond[0] (c)", c, x_shape)
    checks.check_array("cond[1] (c_mask)", c_mask, x_shape)
    flat = (x_shape[0], self.data_dim)
    return jnp.reshape(c_mask, flat) * (x - jnp.reshape(c, flat))
