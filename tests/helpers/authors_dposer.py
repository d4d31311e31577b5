"""DPoser's network in the authors' key layouts, small, for the importer's tests.

Written for these tests from the published description of the network
(shared/design/papers.md, section 3 and "Released checkpoints"), not
copied from the authors' code: a torch module whose state-dict keys, shapes
and parameter order are those of their TimeFC (v2) and ScoreModelFC (v1,
with its never-called `pre_dense_cond`), an eval-mode forward of that
network, and writers of their two checkpoint files:

  v1  {'model_state_dict', 'ema', 'step', 'epoch'} (`axis-zscore-400k.pth`)
  v2  a Lightning checkpoint: {'state_dict' ('model.'-prefixed, plus the
      trainer's body-model buffers), 'model_ema', 'global_step', 'epoch',
      'hyper_parameters', ...}

and of their statistics file ({'mean_poses', 'std_poses', 'mean_shapes',
'std_shapes'}). Needs torch (the tests skip without it).
"""
from __future__ import annotations

import math
import types

import numpy as np
import torch
from torch import nn

DIM = 63
SIGMA_MIN, SIGMA_MAX, NUM_SCALES = 0.01, 50.0, 1000
BETA_MIN, BETA_MAX = 0.1, 20.0


class AuthorsLayoutNet(nn.Module):
  """The authors' network by their key names; `forward(x [B, 63], t [B])`
  returns the sigma-scaled epsilon output (dropout off)."""

  def __init__(self, *, hidden: int = 64, embed: int = 32, blocks: int = 2,
               v1: bool = False, seed: int = 0):
    super().__init__()
    torch.manual_seed(seed)
    self.embed, self.blocks = embed, blocks
    # Registration order is the authors' parameter order (their EMA's).
    self.pre_dense = nn.Linear(DIM, hidden)
    self.pre_dense_t = nn.Linear(embed, hidden)
    if v1:
      self.pre_dense_cond = nn.Linear(hidden, hidden)
    self.pre_gnorm = nn.GroupNorm(32, hidden)
    self.shared_time_embed = nn.Sequential(nn.Linear(embed, embed), nn.SiLU())
    sigmas = np.exp(np.linspace(math.log(SIGMA_MAX), math.log(SIGMA_MIN),
                                NUM_SCALES))
    self.register_buffer("sigmas", torch.tensor(sigmas, dtype=torch.float32))
    for i in range(1, blocks + 1):
      for j in (1, 2):
        setattr(self, f"b{i}_dense{j}", nn.Linear(hidden, hidden))
        setattr(self, f"b{i}_dense{j}_t", nn.Linear(embed, hidden))
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
    angles = label[:, None] * freqs[None]
    return self.shared_time_embed(torch.cat([angles.sin(), angles.cos()], 1))

  def forward(self, x, t):
    label = t * 999
    temb = self._temb(label)
    act = nn.functional.silu
    h = act(self.pre_gnorm(self.pre_dense(x) + self.pre_dense_t(temb)))
    for i in range(1, self.blocks + 1):
      h1 = act(getattr(self, f"b{i}_gnorm1")(
          getattr(self, f"b{i}_dense1")(h) + getattr(self, f"b{i}_dense1_t")(temb)))
      h2 = act(getattr(self, f"b{i}_gnorm2")(
          getattr(self, f"b{i}_dense2")(h1) + getattr(self, f"b{i}_dense2_t")(temb)))
      h = h + h2
    return self.post_dense(h) / self.sigmas[label.long()][:, None]

  def score(self, x, t):
    """-out / s(t), s = 1 - a(t)^2 (sub-VP, beta 0.1 -> 20)."""
    log_a = -0.25 * t ** 2 * (BETA_MAX - BETA_MIN) - 0.5 * t * BETA_MIN
    return -self(x, t) / (1 - torch.exp(2 * log_a))[:, None]


def _ema(params, num_updates: int = 40) -> dict:
  return {"decay": 0.9999, "num_updates": num_updates,
          "shadow_params": [p.detach().clone() for p in params]}


def save_v1(raw: AuthorsLayoutNet, ema: AuthorsLayoutNet, path, *,
            step: int = 400000):
  """The v1 `.pth` layout: raw weights from `raw`, the EMA's from `ema`."""
  torch.save({"epoch": 12, "model_state_dict": raw.state_dict(),
              "ema": _ema(ema.parameters()), "step": step}, path)


def save_v2(raw: AuthorsLayoutNet, ema: AuthorsLayoutNet, path, *,
            step: int = 150000):
  """The v2 Lightning `.ckpt` layout (the trainer's body-model buffers
  included, as the authors' trainer holds two body models)."""
  state = {f"model.{k}": v for k, v in raw.state_dict().items()}
  for which in ("body_model_vis", "body_model_eval"):
    state[f"{which}.bm.faces_tensor"] = torch.zeros(4, 3, dtype=torch.long)
    state[f"{which}.bm.v_template"] = torch.zeros(5, 3)
  torch.save({"epoch": 36, "global_step": step,
              "pytorch-lightning_version": "2.1.0", "state_dict": state,
              "model_ema": _ema(ema.parameters()),
              "hyper_parameters": {"N_POSES": 21, "config": types.SimpleNamespace(
                  name="default")},
              "optimizer_states": [], "lr_schedulers": []}, path)


def save_statistics(path, *, seed: int = 0):
  """An `axis_normalize2.pt`-like file: mean_poses, std_poses [63]."""
  g = torch.Generator().manual_seed(seed)
  torch.save({"mean_poses": 0.1 * torch.randn(DIM, generator=g),
              "std_poses": 0.2 + 0.3 * torch.rand(DIM, generator=g),
              "mean_shapes": None, "std_shapes": None}, path)


def complete(net: AuthorsLayoutNet, observation, mask, draws, *,
             t_max: float, t_min: float, stages: int, steps: int,
             lr: float = 0.1):
  """The released completion procedure (papers.md; the authors' tester's
  time strategy '3'), in torch: one Adam on every dimension of the batch
  (z-scored) under 100/(1+k) x MSE(visible) + 0.1 (k+1) x the regulariser
  mean(w (x - x0_hat)^2), w = 1/2 sqrt(1 + a/s), t_n = t_min +
  (N - 1 - n)/N (t_max - t_min), the noise of step n given (`draws[n]`).

  Args:
    observation: [B, 63] z-scored poses (masked dimensions: their start).
    mask: [B, 63] bool, True where visible.
    draws: [stages * steps, B, 63] the regulariser's noise.

  Returns:
    [B, 63]: the optimised poses with the visible dimensions observed.
  """
  x = observation.clone().requires_grad_(True)
  opt = torch.optim.Adam([x], lr, betas=(0.9, 0.999))
  total = stages * steps
  for k in range(stages):
    for i in range(steps):
      n = k * steps + i
      t = t_min + torch.tensor(total - n - 1) / total * (t_max - t_min)
      vec_t = torch.ones(len(x)) * t
      log_a = -0.25 * vec_t ** 2 * (BETA_MAX - BETA_MIN) - 0.5 * vec_t * BETA_MIN
      a = torch.exp(log_a)[:, None]
      s = (1 - torch.exp(2 * log_a))[:, None]
      with torch.no_grad():
        x_t = a * x + s * draws[n]
        x0_hat = (x_t + s ** 2 * net.score(x_t, vec_t)) / a
      w = 0.5 * torch.sqrt(1 + a / s)
      prior = torch.mean(w * (x - x0_hat) ** 2)
      data = torch.mean((x * mask - observation * mask) ** 2)
      loss = 100 * data / (1 + k) + 0.1 * prior * (k + 1)
      opt.zero_grad()
      loss.backward()
      opt.step()
  return torch.where(mask, observation, x.detach())
