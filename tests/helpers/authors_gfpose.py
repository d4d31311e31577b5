"""GFPose's network in the authors' key layout, small, for the importer's tests.

Written for these tests from the published description of the network
(shared/design/papers.md, section 1 and "Released checkpoints"), not
copied from the authors' code: a torch module whose state-dict keys, shapes,
dtypes and parameter order are those of their ScoreModelFC_Adv, its
eval-mode forward (the condition residual x - c, z zeroed for a row whose
condition has no depth, times an optional mask), the score of the sub-VP
process, and a writer of their `best_model.pth` layout:

  {'model_state_dict', 'ema' (decay, num_updates, shadow_params in
   parameter order), 'step', 'epoch'}

The parity run (experiments/parity/gfpose.py) checks it once against the
authors' own module: same keys, order and forward on the same weights.
Needs torch only (the tests skip without it; the parity driver imports it
under the authors' torch python).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

JOINTS, DIM = 17, 51
BETA_MIN, BETA_MAX = 0.1, 20.0


class AuthorsLayoutNet(nn.Module):
  """ScoreModelFC_Adv by its key names; `forward(x [B, 17, 3], t [B],
  cond [B, 17, 3], mask [B, 17, 3] or None)` is the epsilon prediction
  (dropout off), with t the diffusion time (the embedding sees 999 t)."""

  def __init__(self, *, hidden: int = 128, embed: int = 32, blocks: int = 2,
               seed: int = 0, num_scales: int = 1000):
    super().__init__()
    torch.manual_seed(seed)
    self.embed, self.blocks = embed, blocks
    # Registration order is the authors' parameter order (their EMA's).
    self.pre_dense = nn.Linear(DIM, hidden)
    self.pre_dense_t = nn.Linear(embed, hidden)
    self.pre_dense_cond = nn.Linear(hidden, hidden)
    self.pre_gnorm = nn.GroupNorm(32, hidden)
    self.shared_time_embed = nn.Sequential(nn.Linear(embed, embed), nn.SiLU())
    # Their VE table: float64 (built from numpy), never read by GFPose.
    sigmas = np.exp(np.linspace(np.log(50.0), np.log(0.01), num_scales))
    self.register_buffer("sigmas", torch.tensor(sigmas))
    self.cond_embed = nn.Sequential(nn.Linear(DIM, hidden), nn.SiLU())
    for i in range(1, blocks + 1):
      for j in (1, 2):
        setattr(self, f"b{i}_dense{j}", nn.Linear(hidden, hidden))
        setattr(self, f"b{i}_dense{j}_t", nn.Linear(embed, hidden))
        setattr(self, f"b{i}_dense{j}_cond", nn.Linear(hidden, hidden))
        setattr(self, f"b{i}_gnorm{j}", nn.GroupNorm(32, hidden))
    self.post_dense = nn.Linear(hidden, DIM)
    with torch.no_grad():  # non-trivial norms, so a swap would show
      for m in self.modules():
        if isinstance(m, nn.GroupNorm):
          m.weight.uniform_(0.5, 1.5)
          m.bias.uniform_(-0.2, 0.2)

  def _temb(self, label):
    half = self.embed // 2
    freqs = torch.exp(-math.log(10000.0) / (half - 1)
                      * torch.arange(half, dtype=torch.float32))
    angles = label.float()[:, None] * freqs[None]
    temb = torch.cat([angles.sin(), angles.cos()], 1)
    return self.shared_time_embed(temb.to(self.pre_dense.weight.dtype))

  def forward(self, x, t, cond, mask=None):
    b = x.shape[0]
    has_depth = (cond[:, :, 2].abs().sum(-1, keepdim=True) > 0)  # [B, 1]
    res = x - cond
    res = torch.cat([res[..., :2], res[..., 2:] * has_depth[..., None]], -1)
    if mask is not None:
      res = res * mask
    temb = self._temb(t * 999)
    c = self.cond_embed(res.reshape(b, DIM))
    act = nn.functional.silu

    def layer(name, h):
      z = (getattr(self, f"{name}")(h) + getattr(self, f"{name}_t")(temb)
           + getattr(self, f"{name}_cond")(c))
      return z

    h = act(self.pre_gnorm(self.pre_dense(x.reshape(b, DIM))
                           + self.pre_dense_t(temb) + self.pre_dense_cond(c)))
    for i in range(1, self.blocks + 1):
      h1 = act(getattr(self, f"b{i}_gnorm1")(layer(f"b{i}_dense1", h)))
      h2 = act(getattr(self, f"b{i}_gnorm2")(layer(f"b{i}_dense2", h1)))
      h = h + h2
    return self.post_dense(h).reshape(b, JOINTS, 3)

  def score(self, x, t, cond, mask=None):
    """-out / s(t), s = 1 - a(t)^2 (sub-VP, beta 0.1 -> 20)."""
    log_a = -0.25 * t ** 2 * (BETA_MAX - BETA_MIN) - 0.5 * t * BETA_MIN
    std = 1 - torch.exp(2 * log_a)
    return -self(x, t, cond, mask) / std[:, None, None]


def ema_state(params, num_updates: int = 40) -> dict:
  """An ExponentialMovingAverage.state_dict() of these parameters."""
  return {"decay": 0.9999, "num_updates": num_updates,
          "shadow_params": [p.detach().clone() for p in params]}


def save(raw: AuthorsLayoutNet, ema: AuthorsLayoutNet | None, path, *,
         step: int = 950000, epoch: int = 120, prefix: str = ""):
  """The `best_model.pth` layout: raw weights from `raw`, the EMA's from
  `ema` (None: no 'ema' entry); `prefix='module.'` as DataParallel writes."""
  obj = {"model_state_dict": {prefix + k: v
                              for k, v in raw.state_dict().items()},
         "epoch": epoch, "step": step}
  if ema is not None:
    obj["ema"] = ema_state(ema.parameters())
  torch.save(obj, path)
