"""Graph layers over the joints of a skeleton, GraFormer style.

The building blocks of DiffPose's denoiser and context encoders
(GraFormer, Zhao et al. 2022, as used by DiffPose, Gong et al. 2023).  The
convolutions apply the Chebyshev polynomials T_0..T_K (`chebyshev_basis`)
of the scaled Laplacian L~ = 2 L / lambda_max - I, L = I - D^-1/2 (A + I)
D^-1/2 (`normalized_adjacency`): the eigenvalues of L~ lie in [-1, 1], so
every T_k stays bounded by 1 in spectral norm, the point of the basis.

The order K.  "Chebyshev, K=2" is read as DiffPose's and GraFormer's
released code writes it: order K, i.e. K + 1 = 3 terms T_0 = I, T_1 = L~,
T_2 = 2 L~^2 - I, and weights `[K + 1, C_in, C_out]`: one conv reaches
joints up to K bones away.  The released code applies the polynomials to
I - D^-1 (A + I), row-normalised and not rescaled.  Rescaling does not
change which filters K + 1 terms can express, only how the weights
parametrise them; the symmetric normalisation weights messages
1 / sqrt(d_i d_j) instead of 1 / d_i (a conjugation with D^1/2).

The released code's conventions, each an option (jaxpose's default first;
`experiments/import_weights.py` sets the released ones for the authors'
checkpoints):
- `laplacian`: 'scaled' (above) or 'row_normalised', the released basis:
  T_k of L = I - D'^-1/2 A_row D'^-1/2, A_row = D^-1 (A + I) and D' its row
  sums (= I up to rounding), unscaled (`released_laplacian`).
- `layer_norm`: 'nnx' (`nnx.LayerNorm`, (x - mean) / sqrt(var + eps)) or
  'graformer', a (x - mean) / (std + eps) + b with the unbiased std
  (`GraFormerLayerNorm`); both hold `scale` and `bias`.
- `adjacency_norm`: 'none' (the learned J x J matrix M of the graph FFN as
  learned) or 'graformer': d_i M_ij d_j with d_j = (sum_i M_ij + 1e-5)^-1/2,
  recomputed at every call.
- `attention_dropout`: a dropout rate on the attention weights (training
  only; 0: none, the default).

Graphs are static: each model stores its edges as a tuple (part of the
graph definition, never a parameter) and builds the basis in numpy at trace
time, so it enters the compiled program as a constant.
"""
from __future__ import annotations

import dataclasses
import functools
import math
from typing import Literal, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxpose import checks
from jaxpose import settings
from jaxpose.models.dropout import Dropout
from jaxpose.pose import skeleton as skeleton_lib

Edges = tuple[tuple[int, int], ...]

# The skeleton graph every model uses unless given edges: the bones of H36M_17.
H36M_EDGES: Edges = skeleton_lib.H36M_17.bones

LAPLACIANS = ("scaled", "row_normalised")
LAYER_NORMS = ("nnx", "graformer")
ADJACENCY_NORMS = ("none", "graformer")
Laplacian = Literal["scaled", "row_normalised"]
LayerNormKind = Literal["nnx", "graformer"]
AdjacencyNorm = Literal["none", "graformer"]


@dataclasses.dataclass(frozen=True)
class Conventions:
  """How the GraFormer-style layers compute (module docstring); the
  defaults are jaxpose's (`methods.baseline.released` names the released
  code's)."""
  laplacian: str = "scaled"
  layer_norm: str = "nnx"
  adjacency_norm: str = "none"
  attention_dropout: float = 0.0

  def __post_init__(self):
    for name, choices in (("laplacian", LAPLACIANS),
                          ("layer_norm", LAYER_NORMS),
                          ("adjacency_norm", ADJACENCY_NORMS)):
      settings.one_of(name, getattr(self, name), choices)
    checks.check_rate("attention_dropout", self.attention_dropout)


def check_edges(num_joints: int, edges: Sequence[Sequence[int]]) -> Edges:
  """`edges` as a tuple of int pairs, each joint index in [0, num_joints)."""
  checks.check_positive_int("num_joints", num_joints)
  out = []
  for e in edges:
    if len(e) != 2:
      raise ValueError(f"edges: expected (i, j) pairs, got {tuple(e)!r}")
    i, j = (int(v) for v in e)
    if not (0 <= i < num_joints and 0 <= j < num_joints):
      raise ValueError(f"edges: edge {(i, j)} names a joint outside "
                       f"[0, {num_joints}) (num_joints={num_joints})")
    if i == j:
      raise ValueError(f"edges: self-edge {(i, j)}; self-loops are added by "
                       "self_loops=True, not listed")
    out.append((i, j))
  return tuple(out)


def model_edges(num_joints: int, edges) -> Edges:
  """A model's `edges` argument checked; None means H36M_17's bones."""
  if edges is None:
    default_joints = skeleton_lib.H36M_17.num_joints
    if num_joints != default_joints:
      raise ValueError(f"edges: required when num_joints={num_joints} (the "
                       f"default graph is H36M_17's {default_joints} joints)")
    return H36M_EDGES
  return check_edges(num_joints, edges)


def normalized_adjacency(num_joints: int, edges: Sequence[Sequence[int]], *,
                         self_loops: bool = True) -> np.ndarray:
  """The symmetric normalised adjacency D^-1/2 (A [+ I]) D^-1/2.

  Args:
    num_joints: J.
    edges: undirected edges (i, j); direction and repeats do not matter.
    self_loops: add I to A before normalising (Kipf and Welling's
      renormalisation; a joint then keeps part of its own signal).

  Returns:
    float64 `[J, J]`, symmetric. A joint without neighbours (possible only
    without self-loops) has a zero row.
  """
  edges = check_edges(num_joints, edges)
  a = np.zeros((num_joints, num_joints))
  for i, j in edges:
    a[i, j] = a[j, i] = 1.0
  if self_loops:
    a += np.eye(num_joints)
  deg = a.sum(axis=1)  # [J]
  with np.errstate(divide="ignore"):
    inv_sqrt = np.where(deg > 0, deg ** -0.5, 0.0)
  return inv_sqrt[:, None] * a * inv_sqrt[None, :]


def scaled_laplacian(adjacency: np.ndarray) -> np.ndarray:
  """L~ = 2 L / lambda_max(L) - I with L = I - adjacency (normalised).

  The spectrum of L~ is [.., 1] inside [-1, 1], the domain of the Chebyshev
  polynomials.  A graph with L = 0 (no edges, self-loops only) takes the
  usual bound lambda_max = 2, giving L~ = -I.
  """
  adjacency = np.asarray(adjacency, np.float64)
  n = adjacency.shape[0]
  if adjacency.shape != (n, n) or not np.allclose(adjacency, adjacency.T):
    raise ValueError(f"adjacency: expected a symmetric (J, J) matrix, got "
                     f"shape {adjacency.shape}")
  lap = np.eye(n) - adjacency
  lam_max = float(np.linalg.eigvalsh(lap)[-1])
  if lam_max < 1e-9:
    lam_max = 2.0
  return 2.0 * lap / lam_max - np.eye(n)


def row_normalized_adjacency(num_joints: int, edges: Sequence[Sequence[int]]
                             ) -> np.ndarray:
  """D^-1 (A + I), each row summing to 1 (the released `adj_mx_from_edges`).

  Returns:
    float64 `[J, J]` (not symmetric where degrees differ).
  """
  edges = check_edges(num_joints, edges)
  a = np.eye(num_joints)
  for i, j in edges:
    a[i, j] = a[j, i] = 1.0
  return a / a.sum(axis=1, keepdims=True)


def released_laplacian(adjacency: np.ndarray) -> np.ndarray:
  """L = I - D^-1/2 adjacency D^-1/2 with D its row sums, not rescaled.

  The released ChebConv's `get_laplacian` of the row-normalised adjacency
  (whose row sums are 1, so L = I - adjacency up to rounding).
  """
  adjacency = np.asarray(adjacency, np.float64)
  inv_sqrt = adjacency.sum(axis=1) ** -0.5  # [J]
  return (np.eye(adjacency.shape[0])
          - inv_sqrt[:, None] * adjacency * inv_sqrt[None, :])


@functools.lru_cache(maxsize=32)
def _basis(num_joints: int, edges: Edges, order: int, laplacian: str,
           dtype: str) -> np.ndarray:
  if laplacian == "row_normalised":
    lt = released_laplacian(row_normalized_adjacency(num_joints, edges))
  else:
    lt = scaled_laplacian(normalized_adjacency(num_joints, edges))
  polys = [np.eye(num_joints)]
  if order >= 1:
    polys.append(lt)
  for _ in range(2, order + 1):
    polys.append(2.0 * lt @ polys[-1] - polys[-2])  # T_k = 2 L~ T_{k-1} - T_{k-2}
  out = np.stack(polys).astype(dtype)  # [K+1, J, J]
  out.flags.writeable = False  # shared by the cache
  return out


def chebyshev_basis(num_joints: int, edges: Sequence[Sequence[int]],
                    order: int, *, laplacian: str = "scaled",
                    dtype=np.float32) -> np.ndarray:
  """T_0..T_K of the Laplacian of the self-looped skeleton graph.

  Args:
    num_joints: J.
    edges: the skeleton's undirected edges.
    order: K >= 0, the polynomial order (K + 1 terms).
    laplacian: 'scaled' (jaxpose's) or 'row_normalised' (the released
      code's); module docstring.
    dtype: float32, or float64 for a network run in float64
      (`basis_dtype`).

  Returns:
    `[K + 1, J, J]` (read-only, cached per graph).
  """
  order = checks.check_nonnegative_int("order", order)
  settings.one_of("laplacian", laplacian, LAPLACIANS)
  return _basis(int(num_joints), check_edges(num_joints, edges), order,
                laplacian, np.dtype(dtype).name)


def basis_dtype(x) -> type:
  """float64 for float64 inputs (jax's x64 mode), else float32."""
  return np.float64 if x.dtype == np.float64 else np.float32


class ChebConv(nnx.Module):
  """Chebyshev graph convolution y = sum_k T_k x W_k + b.

  Args:
    in_features: C_in.
    out_features: C_out.
    order: K; the weights are `[K + 1, C_in, C_out]`.
    rngs: parameter initialisation randomness.
  """

  def __init__(self, in_features: int, out_features: int, *, order: int = 2,
               rngs: nnx.Rngs):
    self.in_features = checks.check_positive_int("in_features", in_features)
    self.out_features = checks.check_positive_int("out_features", out_features)
    self.order = checks.check_nonnegative_int("order", order)
    # Fan-in over all K + 1 terms: each output sums K + 1 products whose
    # inputs have the same scale (|T_k| <= 1), as one wider linear layer.
    init = nnx.initializers.lecun_normal(in_axis=(0, 1), out_axis=2)
    self.kernel = nnx.Param(init(rngs.params(),
                                 (order + 1, in_features, out_features)))
    self.bias = nnx.Param(jnp.zeros((out_features,)))

  def __call__(self, x: jax.Array, basis: jax.Array) -> jax.Array:
    """x `[B, J, C_in]`, basis `[K + 1, J, J]` -> `[B, J, C_out]`."""
    if basis.shape[0] != self.order + 1:
      raise ValueError(f"basis: expected {self.order + 1} Chebyshev terms "
                       f"(order={self.order}), got shape {basis.shape}")
    mixed = jnp.einsum("kij,bjc->bkic", basis, x)  # [B, K+1, J, C_in]
    return jnp.einsum("bkic,kco->bio", mixed, self.kernel[...]) + self.bias[...]


class JointAttention(nnx.Module):
  """Multi-head scaled dot-product self-attention over the joints.

  No positional encoding: the joints' identities come from the graph
  layers around it.  Four `Linear(H, H)` (query, key, value, output), as
  GraFormer's; `attention_dropout` (GraFormer's 0.1; default 0) drops
  attention weights when training.
  """

  def __init__(self, hidden: int, num_heads: int, *,
               attention_dropout: float = 0.0, rngs: nnx.Rngs):
    self.hidden = checks.check_positive_int("hidden", hidden)
    self.num_heads = checks.check_positive_int("num_heads", num_heads)
    if hidden % num_heads:
      raise ValueError(f"num_heads: {num_heads} does not divide "
                       f"hidden={hidden}")
    self.to_q = nnx.Linear(hidden, hidden, rngs=rngs)
    self.to_k = nnx.Linear(hidden, hidden, rngs=rngs)
    self.to_v = nnx.Linear(hidden, hidden, rngs=rngs)
    self.to_out = nnx.Linear(hidden, hidden, rngs=rngs)
    self.weights_dropout = (Dropout(attention_dropout) if attention_dropout
                            else None)

  def __call__(self, x: jax.Array, *, deterministic: bool = True,
               rngs=None) -> jax.Array:
    """x `[B, J, H]` -> `[B, J, H]`."""
    b, j, _ = x.shape
    d = self.hidden // self.num_heads
    split = lambda y: y.reshape(b, j, self.num_heads, d)  # [B, J, h, d]
    q, k, v = split(self.to_q(x)), split(self.to_k(x)), split(self.to_v(x))
    scores = jnp.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(d)  # [B, h, J, J]
    weights = jax.nn.softmax(scores, axis=-1)
    if self.weights_dropout is not None:
      weights = self.weights_dropout(weights, deterministic=deterministic,
                                     rngs=rngs)
    mixed = jnp.einsum("bhqk,bkhd->bqhd", weights, v)  # [B, J, h, d]
    return self.to_out(mixed.reshape(b, j, self.hidden))


class GraFormerLayerNorm(nnx.Module):
  """GraFormer's LayerNorm: scale (x - mean) / (std + eps) + bias, std the
  unbiased (n - 1) standard deviation over the last axis."""

  def __init__(self, dim: int, *, epsilon: float = 1e-6):
    self.epsilon = float(epsilon)
    self.scale = nnx.Param(jnp.ones((dim,)))
    self.bias = nnx.Param(jnp.zeros((dim,)))

  def __call__(self, x: jax.Array) -> jax.Array:
    """x `[..., C]` -> `[..., C]`."""
    mean = jnp.mean(x, axis=-1, keepdims=True)
    std = jnp.std(x, axis=-1, keepdims=True, ddof=1)
    return self.scale[...] * (x - mean) / (std + self.epsilon) + self.bias[...]


def layer_norm(dim: int, kind: str, *, rngs: nnx.Rngs):
  """The LayerNorm of `kind` ('nnx' or 'graformer'), epsilon 1e-6."""
  if kind == "graformer":
    return GraFormerLayerNorm(dim, epsilon=1e-6)
  return nnx.LayerNorm(dim, epsilon=1e-6, rngs=rngs)


class LearnedGraphFFN(nnx.Module):
  """GraFormer's feed-forward: Lin2(M ReLU(Lin1(M x))) with M learned.

  M `[J, J]` starts as the identity (the usual per-joint FFN, H -> 2H -> H);
  training learns how much joints exchange.  GraFormer's normalisation of M
  (`adjacency_norm='graformer'`) is undefined once a learned column sum
  turns negative, so by default ('none') M is used as learned.
  """

  def __init__(self, hidden: int, num_joints: int, *,
               adjacency_norm: str = "none", rngs: nnx.Rngs):
    settings.one_of("adjacency_norm", adjacency_norm, ADJACENCY_NORMS)
    self.adjacency_norm = adjacency_norm
    self.adjacency = nnx.Param(jnp.eye(num_joints))
    self.lin1 = nnx.Linear(hidden, 2 * hidden, rngs=rngs)
    self.lin2 = nnx.Linear(2 * hidden, hidden, rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    """x `[B, J, H]` -> `[B, J, H]`."""
    m = self.adjacency[...]  # [J, J]
    if self.adjacency_norm == "graformer":
      d = (jnp.sum(m, axis=0) + 1e-5) ** -0.5  # [J], column sums
      m = d[:, None] * m * d[None, :]
    h = nnx.relu(self.lin1(jnp.einsum("ij,bjc->bic", m, x)))  # [B, J, 2H]
    return self.lin2(jnp.einsum("ij,bjc->bic", m, h))


class GraphAttentionBlock(nnx.Module):
  """x + Drop(Attn(LN(x))), then x + Drop(GraphFFN(LN(x))) (pre-norm)."""

  def __init__(self, hidden: int, num_joints: int, num_heads: int, *,
               dropout: float, conventions: Conventions = Conventions(),
               rngs: nnx.Rngs):
    self.norm1 = layer_norm(hidden, conventions.layer_norm, rngs=rngs)
    self.attention = JointAttention(
        hidden, num_heads, attention_dropout=conventions.attention_dropout,
        rngs=rngs)
    self.norm2 = layer_norm(hidden, conventions.layer_norm, rngs=rngs)
    self.ffn = LearnedGraphFFN(hidden, num_joints,
                               adjacency_norm=conventions.adjacency_norm,
                               rngs=rngs)
    # Dropout randomness arrives with each call (no stored rngs).
    self.dropout = Dropout(dropout)

  def __call__(self, x, *, deterministic: bool, rngs):
    kw = dict(deterministic=deterministic, rngs=rngs)
    x = x + self.dropout(self.attention(self.norm1(x), **kw), **kw)
    return x + self.dropout(self.ffn(self.norm2(x)), **kw)


class ResChebBlock(nnx.Module):
  """x + G2(G1(x) + extra), G = Drop(ReLU(ChebConv(.))).

  `extra` (broadcast to `[B, J, H]`) is where DiffPose adds the time
  embedding, between the two convolutions; the lifters pass None.
  """

  def __init__(self, hidden: int, *, order: int, dropout: float,
               rngs: nnx.Rngs):
    self.conv1 = ChebConv(hidden, hidden, order=order, rngs=rngs)
    self.conv2 = ChebConv(hidden, hidden, order=order, rngs=rngs)
    self.dropout = Dropout(dropout)

  def __call__(self, x, basis, extra=None, *, deterministic: bool, rngs):
    kw = dict(deterministic=deterministic, rngs=rngs)
    h = self.dropout(nnx.relu(self.conv1(x, basis)), **kw)  # [B, J, H]
    if extra is not None:
      h = h + extra
    h = self.dropout(nnx.relu(self.conv2(h, basis)), **kw)
    return x + h


class GraFormerLayer(nnx.Module):
  """GraphAttentionBlock then ResChebBlock: one layer of GraFormer."""

  def __init__(self, hidden: int, num_joints: int, num_heads: int, *,
               order: int, dropout: float, conv_dropout: float,
               conventions: Conventions = Conventions(), rngs: nnx.Rngs):
    self.attention = GraphAttentionBlock(hidden, num_joints, num_heads,
                                         dropout=dropout,
                                         conventions=conventions, rngs=rngs)
    self.graph = ResChebBlock(hidden, order=order, dropout=conv_dropout,
                              rngs=rngs)

  def __call__(self, h, basis, *, deterministic: bool, rngs):
    kw = dict(deterministic=deterministic, rngs=rngs)
    return self.graph(self.attention(h, **kw), basis, **kw)


# Closed-form parameter counts of the layers above (Linear = in*out + out).
def linear_params(i: int, o: int) -> int:
  return i * o + o


def cheb_params(i: int, o: int, order: int) -> int:
  return (order + 1) * i * o + o


def attention_block_params(hidden: int, num_joints: int) -> int:
  """`GraphAttentionBlock`: attention, graph FFN and two LayerNorms."""
  attention = 4 * linear_params(hidden, hidden)
  ffn = (num_joints * num_joints + linear_params(hidden, 2 * hidden)
         + linear_params(2 * hidden, hidden))
  return attention + ffn + 2 * 2 * hidden


def res_cheb_params(hidden: int, order: int) -> int:
  return 2 * cheb_params(hidden, hidden, order)


def graformer_layer_params(hidden: int, num_joints: int, order: int) -> int:
  return (attention_block_params(hidden, num_joints)
          + res_cheb_params(hidden, order))


def check_dropout_rates(dropout: float, conv_dropout: float,
                        attention_dropout: float = 0.0) -> float:
  """Checks the rates; returns the largest (what `make_apply` reads)."""
  return max(checks.check_rate("dropout", dropout),
             checks.check_rate("conv_dropout", conv_dropout),
             checks.check_rate("attention_dropout", attention_dropout))
