"""DiffPose's networks in the authors' key layout, small, for importer tests.

Written for these tests from the published description of the released
code (shared/design/papers.md, "Released checkpoints", and the importer's
docstrings), not copied from the authors' code: torch modules whose
state-dict keys and shapes are those of their GCNpose (the GraFormer
lifter, with its unused time MLP) and GCNdiff (the denoiser), an
eval-mode forward of each, the released refiner (2 DDIM steps from the
lifter's pose) and a writer of their checkpoint files:
[state dict ('module.' prefixed, a DataParallel's), optimiser state,
epoch, step, EMA by parameter name]. Needs torch (the tests skip without
it).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

EDGES = ((0, 1), (1, 2), (2, 3), (0, 4), (4, 5), (5, 6), (0, 7), (7, 8),
         (8, 9), (9, 10), (8, 11), (11, 12), (12, 13), (8, 14), (14, 15),
         (15, 16))
J = 17


def chebyshev(order: int) -> torch.Tensor:
  """[K + 1, J, J]: T_k of L = I - D^-1/2 A_row D^-1/2, A_row = rows of
  (A + I) divided by their sums, D = diag(row sums of A_row)."""
  a = np.eye(J)
  for i, j in EDGES:
    a[i, j] = a[j, i] = 1.0
  a = a / a.sum(1, keepdims=True)
  d = a.sum(1) ** -0.5
  lap = np.eye(J) - d[:, None] * a * d[None, :]
  polys = [np.eye(J), lap]
  while len(polys) < order + 1:
    polys.append(2 * lap @ polys[-1] - polys[-2])
  return torch.tensor(np.stack(polys[:order + 1]), dtype=torch.float32)


class Cheb(nn.Module):
  """weight [K + 1, 1, in, out], bias [1, 1, out]."""

  def __init__(self, i: int, o: int, order: int):
    super().__init__()
    self.weight = nn.Parameter(torch.randn(order + 1, 1, i, o) / math.sqrt(i))
    self.bias = nn.Parameter(0.1 * torch.randn(1, 1, o))

  def forward(self, x):
    basis = chebyshev(self.weight.shape[0] - 1).to(self.weight.dtype)
    return sum(basis[k] @ x @ self.weight[k, 0]
               for k in range(basis.shape[0])) + self.bias[0]


class Holder(nn.Module):
  """A module that only names a child (their `gconv`, `fc`, `norm`)."""

  def __init__(self, **children):
    super().__init__()
    for name, child in children.items():
      setattr(self, name, child)


class Norm(nn.Module):
  def __init__(self, dim: int):
    super().__init__()
    self.a_2 = nn.Parameter(1 + 0.2 * torch.randn(dim))
    self.b_2 = nn.Parameter(0.1 * torch.randn(dim))

  def forward(self, x):
    std = x.std(-1, keepdim=True)  # unbiased
    return self.a_2 * (x - x.mean(-1, keepdim=True)) / (std + 1e-6) + self.b_2


class AttentionLayer(nn.Module):
  """self_attn.linears.{0..3}, feed_forward.{A_hat, gconv1.fc, gconv2.fc},
  sublayer.{0,1}.norm.{a_2, b_2}."""

  def __init__(self, hidden: int, heads: int):
    super().__init__()
    self.heads = heads
    self.self_attn = Holder(linears=nn.ModuleList(
        [nn.Linear(hidden, hidden) for _ in range(4)]))
    a_hat = torch.eye(J) + 0.1 * torch.rand(J, J)
    self.feed_forward = Holder(
        A_hat=nn.Parameter(a_hat),
        gconv1=Holder(fc=nn.Linear(hidden, 2 * hidden)),
        gconv2=Holder(fc=nn.Linear(2 * hidden, hidden)))
    self.sublayer = nn.ModuleList([Holder(norm=Norm(hidden)),
                                   Holder(norm=Norm(hidden))])

  def attend(self, x):
    b, n, h = x.shape
    q, k, v, out = self.self_attn.linears
    split = lambda y: y.view(b, n, self.heads, -1).transpose(1, 2)
    scores = split(q(x)) @ split(k(x)).transpose(-2, -1)
    scores = scores / math.sqrt(h // self.heads)
    mixed = torch.softmax(scores, -1) @ split(v(x))
    return out(mixed.transpose(1, 2).reshape(b, n, h))

  def ffn(self, x):
    a = self.feed_forward.A_hat
    d = (a.sum(0) + 1e-5) ** -0.5  # column sums
    m = d[:, None] * a * d[None, :]
    x = torch.relu(self.feed_forward.gconv1.fc(m @ x))
    return self.feed_forward.gconv2.fc(m @ x)

  def forward(self, x):
    x = x + self.attend(self.sublayer[0].norm(x))
    return x + self.ffn(self.sublayer[1].norm(x))


def step_embedding(t, dim: int, dtype=torch.float32):
  half = dim // 2
  freqs = torch.exp(-math.log(10000.0) / (half - 1)
                    * torch.arange(half, dtype=dtype))
  angles = t.to(dtype)[:, None] * freqs[None]
  return torch.cat([angles.sin(), angles.cos()], 1)


class AuthorsLayoutGraFormer(nn.Module):
  """GCNpose (`denoiser=False`: 2 -> 3, the time MLP unused) or GCNdiff
  (`denoiser=True`: 5 -> 5, the step's embedding added in every layer)."""

  def __init__(self, *, hidden: int = 16, layers: int = 2, heads: int = 4,
               order: int = 2, denoiser: bool = False, seed: int = 0):
    super().__init__()
    torch.manual_seed(seed)
    self.hidden, self.denoiser = hidden, denoiser
    embed = 4 * hidden
    i, o = (5, 5) if denoiser else (2, 3)
    self.gconv_input = Cheb(i, hidden, order)
    blocks = []
    for _ in range(layers):
      block = Holder(gconv1=Holder(gconv=Cheb(hidden, hidden, order)),
                     gconv2=Holder(gconv=Cheb(hidden, hidden, order)))
      if denoiser:
        block.temb_proj = nn.Linear(embed, hidden)
      blocks.append(block)
    self.gconv_layers = nn.ModuleList(blocks)
    self.atten_layers = nn.ModuleList(
        [AttentionLayer(hidden, heads) for _ in range(layers)])
    self.gconv_output = Cheb(hidden, o, order)
    self.temb = Holder(dense=nn.ModuleList([nn.Linear(hidden, embed),
                                            nn.Linear(embed, embed)]))

  def forward(self, x, t=None):
    """x [B, J, in]; t [B] integer steps (the denoiser) -> [B, J, out]."""
    if self.denoiser:
      temb = self.temb.dense[1](nn.functional.silu(
          self.temb.dense[0](step_embedding(t, self.hidden, x.dtype))))
    h = self.gconv_input(x)
    for attn, block in zip(self.atten_layers, self.gconv_layers):
      h = attn(h)
      g = torch.relu(block.gconv1.gconv(h))
      if self.denoiser:
        g = g + block.temb_proj(nn.functional.silu(temb))[:, None]
      h = h + torch.relu(block.gconv2.gconv(g))
    return self.gconv_output(h)


def betas(num_steps: int = 51, start: float = 1e-4, end: float = 1e-3):
  return torch.tensor(np.linspace(start, end, num_steps), dtype=torch.float32)


@torch.no_grad()
def refine(lifter, denoiser, pose2d, start_step: int):
  """The released refiner: [2D, lifted 3D with its root joint set to 0 (the
  others as lifted: their in-place re-centring, as torch computes it)] as
  the state at step k, then DDIM (eta 0) over steps k, 0 and clean data.
  -> [B, J, 5]."""
  xyz = lifter(pose2d).clone()
  xyz[:, 0] = 0.0
  x = torch.cat([pose2d, xyz], -1)
  abar = torch.cumprod(1 - betas().to(x.dtype), 0)
  for step, nxt in ((start_step, 0), (0, None)):
    at = abar[step]
    a_next = abar[nxt] if nxt is not None else torch.ones((), dtype=x.dtype)
    e = denoiser(x, torch.full((x.shape[0],), step))
    x0 = (x - e * (1 - at).sqrt()) / at.sqrt()
    x = a_next.sqrt() * x0 + (1 - a_next).sqrt() * e
  return x


def save_checkpoint(model: nn.Module, path, *, epoch: int = 3,
                    step: int = 1234, ema_offset: float | None = 0.01):
  """Their training loop's file: [state dict of the DataParallel model,
  optimiser state, epoch, step, EMA shadow by name]; the EMA is the weights
  plus `ema_offset` (None: no EMA entry)."""
  state = {f"module.{k}": v.detach().clone()
           for k, v in model.state_dict().items()}
  # An Adam state dict's layout (building torch's Adam costs seconds).
  optim = {"state": {}, "param_groups": [dict(
      lr=2e-5, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
      amsgrad=False, params=list(range(len(list(model.parameters())))))]}
  entries = [state, optim, epoch, step]
  if ema_offset is not None:
    entries.append({k: v.detach().clone() + ema_offset
                    for k, v in model.named_parameters()})
  torch.save(entries, path)


__all__ = ["EDGES", "AuthorsLayoutGraFormer", "chebyshev", "refine",
           "betas", "save_checkpoint"]
