"""PyTorch timings for `experiments.bench.sampling`: GFPose's network, in torch.

The authors' released model (ScoreModelFC_Adv) and their Euler-Maruyama
step and training step, re-written here at the paper size (D=51, H=1024,
E=512, 2 blocks, 12,504,627 parameters), so jaxpose's speed can be compared
with theirs on the same machine, in the same command, at the same moment.
Where the authors' training step is slow for reasons outside the network
(a Python loop over the batch for the part masks, a Python loop over the
parameters for the EMA), this reference leaves the part masks out (joint
and pose masks stay) and updates the EMA in one foreach call, so the
comparison can only flatter torch.

torch is not a jaxpose dependency; run this under a Python that has it:

  python experiments/bench/torch_reference.py [--rows=1,200,3200] [--steps=10]
      [--train_batch=1000] [--compile]      # prints timings as JSON
  python experiments/bench/torch_reference.py --serve
      # one JSON request per stdin line, one JSON reply per stdout line:
      # {"op": "em", "rows": 3200, "steps": 10} -> {"s": seconds}
      # {"op": "train", "batch": 1000}           -> {"s": seconds}
      # {"op": "info"} -> versions, threads, parameter count

`experiments.bench.torch_client.TorchReference` drives the --serve mode and
interleaves these calls with jaxpose's, so machine-speed drift cancels in
the ratios.
The file imports neither jax nor jaxpose.
"""
import json
import math

import torch
from torch import nn
from torch.nn import functional as F

import torch_harness  # this folder is first on sys.path when run

BETA_MIN, BETA_MAX = 0.1, 20.0  # GFPose's subVP SDE
NUM_JOINTS = 17
DATA_DIM = 3 * NUM_JOINTS


class ModulatedLayer(nn.Module):
  """Dropout(SiLU(GroupNorm(Lin(h) + Lt(temb) + Lc(cemb))))."""

  def __init__(self, in_dim, hidden, embed_dim, dropout):
    super().__init__()
    self.lin = nn.Linear(in_dim, hidden)
    self.lin_t = nn.Linear(embed_dim, hidden)
    self.lin_c = nn.Linear(hidden, hidden)
    self.norm = nn.GroupNorm(32, hidden)
    self.dropout = nn.Dropout(dropout)

  def forward(self, h, temb, cemb):
    z = self.lin(h)
    z += self.lin_t(temb)
    z += self.lin_c(cemb)
    return self.dropout(F.silu(self.norm(z)))


class ScoreNet(nn.Module):
  """The authors' layout: a time path per row, as their forward computes it."""

  def __init__(self, hidden=1024, embed_dim=512, num_blocks=2, dropout=0.25):
    super().__init__()
    self.embed_dim = embed_dim
    self.time_embed = nn.Linear(embed_dim, embed_dim)
    self.cond_embed = nn.Linear(DATA_DIM, hidden)
    self.first = ModulatedLayer(DATA_DIM, hidden, embed_dim, dropout)
    self.blocks = nn.ModuleList(
        nn.ModuleList([ModulatedLayer(hidden, hidden, embed_dim, dropout),
                       ModulatedLayer(hidden, hidden, embed_dim, dropout)])
        for _ in range(num_blocks))
    self.out = nn.Linear(hidden, DATA_DIM)

  def forward(self, x, t, cond_residual):
    half = self.embed_dim // 2
    freqs = torch.exp(-math.log(10000.0) / (half - 1) *
                      torch.arange(half, dtype=torch.float32, device=x.device))
    angles = (999.0 * t)[:, None] * freqs[None]
    temb = F.silu(self.time_embed(torch.cat([angles.sin(), angles.cos()], 1)))
    cemb = F.silu(self.cond_embed(cond_residual))
    h = self.first(x, temb, cemb)
    for layer1, layer2 in self.blocks:
      h = h + layer2(layer1(h, temb, cemb), temb, cemb)
    return self.out(h)


def _int_beta(t):
  return BETA_MIN * t + 0.5 * (BETA_MAX - BETA_MIN) * t * t


def em_sample(net, rows, steps, *, num_scales=1000, eps=1e-3, seed=0):
  """`steps` reverse-SDE Euler-Maruyama steps of a 2D-conditioned batch."""
  gen = torch_harness.generator(seed)
  x = torch.randn(rows, DATA_DIM, generator=gen)
  cond = torch.randn(rows, DATA_DIM, generator=gen)
  mask = torch.ones(rows, NUM_JOINTS, 3)
  mask[:, :, 2] = 0  # a 2D condition: z is not given
  mask = mask.view(rows, DATA_DIM)
  times = torch.linspace(1.0, eps, num_scales)
  dt = -1.0 / num_scales
  with torch.no_grad():
    for i in range(steps):
      t = times[i].expand(rows)
      std = 1.0 - torch.exp(-_int_beta(t))  # subVP marginal std
      score = -net(x, t, mask * (x - cond)) / std[:, None]
      beta = BETA_MIN + t * (BETA_MAX - BETA_MIN)
      g2 = beta * (1.0 - torch.exp(-2.0 * _int_beta(t)))
      drift = -0.5 * beta[:, None] * x - g2[:, None] * score
      x = x + drift * dt + torch.sqrt(g2)[:, None] * math.sqrt(-dt) * \
          torch.randn(x.shape, generator=gen)
  return x


class Trainer:
  """One GFPose training step: masked condition, DSM loss, clip, Adam, EMA."""

  def __init__(self, net, batch, *, lr=2e-4, ema_decay=0.9999, seed=0):
    self.net = net.train()
    self.opt = torch.optim.Adam(net.parameters(), lr=lr, foreach=True)
    self.ema = [p.detach().clone() for p in net.parameters()]
    self.ema_decay = ema_decay
    gen = torch_harness.generator(seed)
    self.pose3d = torch.randn(batch, DATA_DIM, generator=gen)
    self.pose2d = torch.randn(batch, NUM_JOINTS, 2, generator=gen)

  def step(self):
    b = self.pose3d.shape[0]
    t = torch.rand(b) * (1 - 1e-5) + 1e-5
    std = 1.0 - torch.exp(-_int_beta(t))
    mean_coef = torch.exp(-0.5 * _int_beta(t))
    z = torch.randn_like(self.pose3d)
    x = mean_coef[:, None] * self.pose3d + std[:, None] * z
    cond = torch.cat([self.pose2d, torch.zeros(b, NUM_JOINTS, 1)], -1)
    keep_joint = (torch.rand(b, NUM_JOINTS, 1) > 0.1).float()
    keep_pose = (torch.rand(b, 1, 1) > 0.2).float()
    cond_mask = torch.cat([torch.ones(b, NUM_JOINTS, 2),
                           torch.zeros(b, NUM_JOINTS, 1)], -1)
    cond_mask = (cond_mask * keep_joint * keep_pose).view(b, DATA_DIM)
    residual = cond_mask * (x - cond.view(b, DATA_DIM))
    eps_pred = self.net(x, t, residual)
    loss = ((eps_pred - z) ** 2).sum(1).mean()
    self.opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(self.net.parameters(), 1.0)
    self.opt.step()
    with torch.no_grad():
      params = [p.detach() for p in self.net.parameters()]
      torch._foreach_lerp_(self.ema, params, 1.0 - self.ema_decay)
    return loss.item()


class Reference(torch_harness.Reference):
  """GFPose's timed operations: `em` (sampler steps) and `train` (one step)."""
  NET = ScoreNet
  TRAINER = Trainer
  OPS = {**torch_harness.Reference.OPS, "em": ("rows", "steps")}

  def em(self, rows, steps):
    rows, steps = int(rows), int(steps)
    return self._timed(f"em rows={rows} steps={steps}",
                       lambda: em_sample(self.eval_net, rows, steps))


def main():
  parser = torch_harness.parser(__doc__)
  parser.add_argument("--rows", default="1,200,3200")
  parser.add_argument("--steps", type=int, default=10)
  parser.add_argument("--train_batch", type=int, default=1000)
  args = parser.parse_args()
  ref = torch_harness.start(Reference, args)
  if ref is None:
    return
  out = dict(info=ref.info(), em_step_s={})
  for rows in [int(r) for r in args.rows.split(",")]:
    out["em_step_s"][str(rows)] = torch_harness.median_seconds(
        lambda: ref.em(rows, args.steps), args.repeats, per=args.steps)
  out["train_step_s"] = torch_harness.median_seconds(
      lambda: ref.train(args.train_batch), args.repeats)
  print(json.dumps(out, indent=1))


if __name__ == "__main__":
  main()
