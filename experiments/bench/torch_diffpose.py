"""DiffPose's denoiser (GraFormer layout) in PyTorch, one forward step timed.

Torch only (no jaxpose import), run under an interpreter with torch:

  python experiments/bench/torch_diffpose.py --rows=320 --repeats=5

Prints one JSON line: {"step_s", "times_s", "params", "torch", "threads"}.
The layout follows the authors' code (GONGJIA0208/Diffpose, GraFormer-based
`GCNdiff`): ChebConv(5, 96) in, 5 x {GraphAttentionBlock (pre-norm 4-head
attention + learned-graph FFN), ResChebGC with the time embedding added},
ChebConv(96, 5) out, a sinusoidal time embedding 96 -> 384 -> 384; K = 2
(3 Chebyshev terms); a per-joint condition path of width 96 as jaxpose's.
Eval mode (no dropout), float32, no autograd.
"""
import argparse
import json
import math
import statistics
import time

import torch
from torch import nn

EDGES = ((0, 1), (1, 2), (2, 3), (0, 4), (4, 5), (5, 6), (0, 7), (7, 8),
         (8, 9), (9, 10), (8, 11), (11, 12), (12, 13), (8, 14), (14, 15),
         (15, 16))


def adjacency(j: int = 17) -> torch.Tensor:
  """The self-looped, symmetric-normalised skeleton adjacency."""
  a = torch.eye(j)
  for u, v in EDGES:
    a[u, v] = a[v, u] = 1.0
  d = a.sum(1).rsqrt()
  return d[:, None] * a * d[None, :]


def chebyshev(adj: torch.Tensor, order: int) -> torch.Tensor:
  """[K+1, J, J] Chebyshev polynomials of the scaled Laplacian."""
  lap = torch.eye(adj.shape[0]) - adj
  terms = [torch.eye(adj.shape[0]), lap]
  for _ in range(2, order + 1):
    terms.append(2 * lap @ terms[-1] - terms[-2])
  return torch.stack(terms[:order + 1])


class ChebConv(nn.Module):
  def __init__(self, cin, cout, basis):
    super().__init__()
    self.register_buffer("basis", basis)
    self.weight = nn.Parameter(torch.randn(basis.shape[0], cin, cout) * 0.05)
    self.bias = nn.Parameter(torch.zeros(cout))

  def forward(self, x):  # [B, J, C]
    y = torch.einsum("kij,bjc->kbic", self.basis, x)
    return torch.einsum("kbic,kco->bio", y, self.weight) + self.bias


class LAMGconv(nn.Module):
  """GraFormer's learned-adjacency graph convolution (FFN half)."""

  def __init__(self, cin, cout, adj, activation=True):
    super().__init__()
    self.adj = nn.Parameter(adj.clone())
    self.fc = nn.Linear(cin, cout)
    self.act = nn.ReLU() if activation else nn.Identity()

  def forward(self, x):
    a = self.adj + self.adj.T
    d = a.sum(1).clamp_min(1e-6).rsqrt()
    return self.act(self.fc((d[:, None] * a * d[None, :]) @ x))


class AttentionBlock(nn.Module):
  def __init__(self, hidden, heads, adj):
    super().__init__()
    self.norm1, self.norm2 = nn.LayerNorm(hidden), nn.LayerNorm(hidden)
    self.heads = heads
    self.qkv = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(3))
    self.out = nn.Linear(hidden, hidden)
    self.ffn1 = LAMGconv(hidden, 2 * hidden, adj)
    self.ffn2 = LAMGconv(2 * hidden, hidden, adj, activation=False)

  def forward(self, x):
    b, j, c = x.shape
    y = self.norm1(x)
    q, k, v = (l(y).view(b, j, self.heads, -1).transpose(1, 2)
               for l in self.qkv)
    att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(c // self.heads), -1)
    x = x + self.out((att @ v).transpose(1, 2).reshape(b, j, c))
    return x + self.ffn2(self.ffn1(self.norm2(x)))


class ResCheb(nn.Module):
  def __init__(self, hidden, embed, cond, basis):
    super().__init__()
    self.g1, self.g2 = ChebConv(hidden, hidden, basis), ChebConv(hidden, hidden, basis)
    self.temb = nn.Linear(embed, hidden)
    self.cond = nn.Linear(cond, hidden)

  def forward(self, h, temb, c):
    y = torch.relu(self.g1(h)) + self.temb(temb)[:, None] + self.cond(c)
    return h + torch.relu(self.g2(y))


class Denoiser(nn.Module):
  """GCNdiff-style epsilon network, [B, J, 5] in and out."""

  def __init__(self, joints=17, state=5, cond=96, hidden=96, embed=384,
               layers=5, heads=4, order=2):
    super().__init__()
    adj = adjacency(joints)
    basis = chebyshev(adj, order)
    self.hidden = hidden
    self.time = nn.Sequential(nn.Linear(hidden, embed), nn.SiLU(),
                              nn.Linear(embed, embed))
    self.inp = ChebConv(state, hidden, basis)
    self.cond_in = nn.Linear(cond, hidden)
    self.att = nn.ModuleList(AttentionBlock(hidden, heads, adj)
                             for _ in range(layers))
    self.res = nn.ModuleList(ResCheb(hidden, embed, cond, basis)
                             for _ in range(layers))
    self.outp = ChebConv(hidden, state, basis)

  def forward(self, x, t, c):
    half = self.hidden // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=x.device)
                      / (half - 1))
    e = t[:, None] * freqs[None]
    temb = torch.nn.functional.silu(self.time(torch.cat([e.sin(), e.cos()], 1)))
    h = self.inp(x) + self.cond_in(c)
    for att, res in zip(self.att, self.res):
      h = res(att(h), temb, c)
    return self.outp(h)


def time_step(rows: int, repeats: int, threads: int, hidden: int = 96,
              layers: int = 5) -> dict:
  """Median seconds of one no-grad forward at `rows` rows."""
  torch.set_num_threads(threads)
  torch.manual_seed(0)
  net = Denoiser(hidden=hidden, layers=layers, cond=hidden).eval()
  x, c = torch.randn(rows, 17, 5), torch.randn(rows, 17, hidden)
  t = torch.full((1,), 10.0)
  times = []
  with torch.inference_mode():
    for _ in range(3):  # warm-up: allocator and thread pool
      net(x, t, c)
    for _ in range(repeats):
      start = time.perf_counter()
      net(x, t, c)
      times.append(time.perf_counter() - start)
  return dict(step_s=statistics.median(times), times_s=times,
              params=sum(p.numel() for p in net.parameters()),
              torch=torch.__version__, threads=threads)


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--rows", type=int, default=320)
  parser.add_argument("--repeats", type=int, default=5)
  parser.add_argument("--threads", type=int, default=2)
  parser.add_argument("--hidden", type=int, default=96)
  parser.add_argument("--layers", type=int, default=5)
  a = parser.parse_args()
  print(json.dumps(time_step(a.rows, a.repeats, a.threads, a.hidden, a.layers)))


if __name__ == "__main__":
  main()
