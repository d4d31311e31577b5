"""PyTorch timings for `experiments.bench.tto`: DPoser's network and loops.

DPoser's score network (the authors' ScoreModelFC: GFPose's MLP without the
condition paths; hidden 1024, embed 512, 2 blocks, dropout 0.1, 7,227,967
parameters at 63-D), its sub-VP process (beta 0.1 to 20) and three timed
operations written the way the authors' code runs them (moonbow721/DPoser:
lib/algorithms/advanced, run/motion_denoising.py), re-written here so that
jaxpose's speed can be compared with theirs on the same machine, in the same
command, at the same moment:

  sample   reverse-SDE Euler-Maruyama steps of the unconditional sampler,
           under torch.no_grad, one time per row (t expanded to the batch).
  train    one training step: noise-prediction loss averaged over the data
           dims and the batch, Adam (lr 2e-4 with linear warm-up), global
           gradient-norm clipping at 1.0, EMA of the parameters.
  tto      iterations of the motion-denoising test-time optimisation of one
           clip: z-score the 63-D body pose, DPoser's regulariser (draw z,
           x_t, one network forward recorded by autograd, Tweedie x0_hat
           detached afterwards, loss 1/2 ||x - x0_hat||^2 summed and divided
           by the batch), forward kinematics of the poses on a 22-joint tree
           with fixed bone lengths, data term (mean joint distance to the
           noisy target joints), temporal smoothness (mean distance between
           consecutive frames' joints), the authors' loss weights, Adam (lr
           0.03).  t follows their truncated schedule, expanded to the batch
           (the time embedding and its projections run once per row).

Where the authors' code is slow for reasons outside what is compared, this
reference is faster than theirs, so the comparison can only flatter torch:
the EMA is one foreach lerp (theirs loops over the parameters in Python),
Adam is foreach, and the motion objective uses the joints of plain forward
kinematics (theirs poses a 10,475-vertex SMPL-X mesh with linear blend
skinning every iteration for its temporal term).  The temporal term leaves
out the root joint, which sits at the origin in every frame (a zero
distance, whose square root has no gradient); jaxpose's side does the same.

torch is not a jaxpose dependency; run this under a Python that has it:

  python experiments/bench/torch_dposer.py [--rows=500] [--steps=10]
      [--train_batch=1280] [--tto_batch=60] [--tto_iters=180] [--compile]
  python experiments/bench/torch_dposer.py --serve
      # one JSON request per stdin line, one JSON reply per stdout line:
      # {"op": "sample", "rows": 500, "steps": 10} -> {"s": seconds}
      # {"op": "train", "batch": 1280}             -> {"s": seconds}
      # {"op": "tto", "batch": 60, "iters": 180, "offsets": [[x, y, z]] * 22,
      #  "parents": [-1, 0, ...]}                  -> {"s": seconds}
      # {"op": "info"} -> versions, threads, parameter count, first calls

`experiments.bench.torch_client.TorchReference` (with this script) drives
the --serve mode; `experiments.bench.tto` interleaves these calls with
jaxpose's, so machine-speed drift cancels in the ratios.
The file imports neither jax nor jaxpose.
"""
import json
import math

import torch
from torch import nn
from torch.nn import functional as F

import torch_harness  # this folder is first on sys.path when run

BETA_MIN, BETA_MAX = 0.1, 20.0  # DPoser's sub-VP SDE
DATA_DIM = 63  # 21 body joints x axis-angle
NUM_SCALES = 1000  # the time grid of sampling (sde.N)
SAMPLE_EPS = 1e-3
TRAIN_EPS = 1e-5

# Motion denoising at 40 mm, as run/motion_denoising.py sets it: 3 outer
# iterations of 60 steps, a 500-step time grid, truncation 4, Adam lr 0.03.
TTO_STEPS_PER_ITER = 60
TTO_SDE_N = 500
TTO_SAMPLE_TRUN = 4.0
TTO_LR = 0.03
DPOSER_WEIGHT = 1.0


class ScoreNetFC(nn.Module):
  """The authors' ScoreModelFC (positional embedding, scale_by_sigma on)."""

  def __init__(self, hidden=1024, embed_dim=512, num_blocks=2, dropout=0.1,
               groups=32):
    super().__init__()
    self.embed_dim = embed_dim
    self.time_embed = nn.Linear(embed_dim, embed_dim)
    self.pre_dense = nn.Linear(DATA_DIM, hidden)
    self.pre_dense_t = nn.Linear(embed_dim, hidden)
    self.pre_gnorm = nn.GroupNorm(groups, hidden)
    self.blocks = nn.ModuleList(
        nn.ModuleDict(dict(
            dense1=nn.Linear(hidden, hidden), dense1_t=nn.Linear(embed_dim, hidden),
            gnorm1=nn.GroupNorm(groups, hidden),
            dense2=nn.Linear(hidden, hidden), dense2_t=nn.Linear(embed_dim, hidden),
            gnorm2=nn.GroupNorm(groups, hidden)))
        for _ in range(num_blocks))
    self.post_dense = nn.Linear(hidden, DATA_DIM)
    self.dropout = nn.Dropout(dropout)
    # Their config sets scale_by_sigma with the positional embedding: the
    # output is divided by an entry of the VE sigma table (50 .. 0.01).
    self.register_buffer("sigmas", torch.exp(torch.linspace(
        math.log(50.0), math.log(0.01), NUM_SCALES)))

  def forward(self, x, labels):
    """x [B, 63], labels = 999 t, one per row [B]."""
    half = self.embed_dim // 2
    freqs = torch.exp(-math.log(10000.0) / (half - 1) *
                      torch.arange(half, dtype=torch.float32, device=x.device))
    angles = labels.float()[:, None] * freqs[None]
    temb = F.silu(self.time_embed(torch.cat([angles.sin(), angles.cos()], 1)))
    h = self.pre_dense(x)
    h += self.pre_dense_t(temb)
    h = self.dropout(F.silu(self.pre_gnorm(h)))
    for b in self.blocks:
      h1 = b["dense1"](h)
      h1 += b["dense1_t"](temb)
      h1 = self.dropout(F.silu(b["gnorm1"](h1)))
      h2 = b["dense2"](h1)
      h2 += b["dense2_t"](temb)
      h2 = self.dropout(F.silu(b["gnorm2"](h2)))
      h = h + h2
    res = self.post_dense(h)
    return res / self.sigmas[labels.long()].reshape(-1, 1)


# ------------------------------------------------------------ the process
def _log_mean_coeff(t):
  return -0.25 * t ** 2 * (BETA_MAX - BETA_MIN) - 0.5 * t * BETA_MIN


def marginal_prob(x, t):
  """Sub-VP mean and std of x_t | x (std = 1 - a^2, as the authors)."""
  lmc = _log_mean_coeff(t)
  return torch.exp(lmc)[:, None] * x, 1.0 - torch.exp(2.0 * lmc)


def sde_coefficients(x, t):
  """Forward drift and diffusion of the sub-VP SDE."""
  beta = BETA_MIN + t * (BETA_MAX - BETA_MIN)
  drift = -0.5 * beta[:, None] * x
  discount = 1.0 - torch.exp(-2 * BETA_MIN * t - (BETA_MAX - BETA_MIN) * t ** 2)
  return drift, torch.sqrt(beta * discount)


def score_fn(net, x, t):
  """Their get_score_fn for a continuous sub-VP model: -net(x, 999 t) / std."""
  eps = net(x, t * 999)
  std = marginal_prob(torch.zeros_like(x), t)[1]
  return -eps / std[:, None]


def reverse_sde(net, x, t):
  """Their RSDE.sde(..., guide=True): drift, diffusion, alpha, sigma^2, score."""
  drift, diffusion = sde_coefficients(x, t)
  score = score_fn(net, x, t)
  drift = drift - diffusion[:, None] ** 2 * score
  lmc = _log_mean_coeff(t)
  alpha = torch.exp(lmc[:, None])
  sigma = 1.0 - torch.exp(2.0 * lmc)
  return drift, diffusion, alpha, sigma ** 2, score


# ------------------------------------------------------------ the operations
def em_sample(net, rows, steps, *, seed=0):
  """`steps` Euler-Maruyama steps of their pc_sampler (no corrector)."""
  gen = torch_harness.generator(seed)
  x = torch.randn(rows, DATA_DIM, generator=gen)
  timesteps = torch.linspace(1.0, SAMPLE_EPS, NUM_SCALES)
  dt = -1.0 / NUM_SCALES
  with torch.no_grad():
    for i in range(steps):
      vec_t = torch.ones(rows) * timesteps[i]
      z = torch.randn(x.shape, generator=gen)
      drift, diffusion, _, _, _ = reverse_sde(net, x, vec_t)
      x_mean = x + drift * dt
      x = x_mean + diffusion[:, None] * math.sqrt(-dt) * z
  return x_mean


class Trainer:
  """One DPoser training step: eps loss (mean), clip 1.0, Adam, EMA."""

  def __init__(self, net, batch, *, lr=2e-4, warmup=5000, ema_decay=0.9999,
               seed=0):
    self.net = net.train()
    self.opt = torch.optim.Adam(net.parameters(), lr=lr, betas=(0.9, 0.999),
                                eps=1e-8, foreach=True)
    self.lr, self.warmup, self.step_count = lr, warmup, 0
    self.ema = [p.detach().clone() for p in net.parameters()]
    self.ema_decay = ema_decay
    gen = torch_harness.generator(seed)
    self.poses = torch.randn(batch, DATA_DIM, generator=gen)

  def step(self):
    batch = self.poses
    t = torch.rand(batch.shape[0]) * (1.0 - TRAIN_EPS) + TRAIN_EPS
    z = torch.randn_like(batch)
    mean, std = marginal_prob(batch, t)
    perturbed = mean + std[:, None] * z
    score = score_fn(self.net, perturbed, t)
    losses = torch.square(score * std[:, None] + z).mean(dim=-1)
    loss = losses.mean()
    self.opt.zero_grad(set_to_none=True)
    loss.backward()
    for g in self.opt.param_groups:  # their optimize_fn's warm-up
      g["lr"] = self.lr * min(self.step_count / self.warmup, 1.0)
    torch.nn.utils.clip_grad_norm_(self.net.parameters(), max_norm=1.0)
    self.opt.step()
    self.step_count += 1
    with torch.no_grad():
      n = self.step_count
      decay = min(self.ema_decay, (1 + n) / (10 + n))
      params = [p.detach() for p in self.net.parameters()]
      torch._foreach_lerp_(self.ema, params, 1.0 - decay)
    return loss.item()


def axis_angle_to_matrix(aa):
  """Rodrigues as the SMPL code writes it (batch_rodrigues): [N, 3] -> [N, 3, 3]."""
  angle = torch.norm(aa + 1e-8, dim=1, keepdim=True)  # [N, 1]
  axis = aa / angle
  cos, sin = torch.cos(angle)[:, :, None], torch.sin(angle)[:, :, None]
  rx, ry, rz = torch.split(axis, 1, dim=1)
  zeros = torch.zeros_like(rx)
  k = torch.cat([zeros, -rz, ry, rz, zeros, -rx, -ry, rx, zeros],
                dim=1).view(-1, 3, 3)
  eye = torch.eye(3, dtype=aa.dtype)[None]
  return eye + sin * k + (1 - cos) * torch.bmm(k, k)


def forward_kinematics(body_pose, offsets, parents):
  """Joints [B, J, 3] of body poses [B, 3 (J - 1)] on a fixed rest skeleton.

  The root keeps the identity rotation and sits at the origin (no root
  orientation or translation is optimised in motion denoising).
  """
  b, nj = body_pose.shape[0], len(parents)
  rots = axis_angle_to_matrix(body_pose.reshape(-1, 3)).view(b, nj - 1, 3, 3)
  world_rot = [torch.eye(3, dtype=body_pose.dtype).expand(b, 3, 3)]
  world_pos = [offsets[0].expand(b, 3)]
  for j in range(1, nj):
    p = parents[j]
    world_pos.append(world_pos[p] + world_rot[p] @ offsets[j])
    world_rot.append(world_rot[p] @ rots[:, j - 1])
  return torch.stack(world_pos, dim=1)


class MotionDenoiser:
  """Their MotionDenoise.optimize for one clip, joints instead of a mesh."""

  def __init__(self, net, batch, offsets, parents, *, seed=0):
    self.net = net.eval()
    self.batch = batch
    self.offsets = torch.tensor(offsets, dtype=torch.float32)  # [J, 3]
    self.parents = [int(p) for p in parents]
    if len(self.parents) != self.offsets.shape[0] or \
        3 * (len(self.parents) - 1) != DATA_DIM:
      raise ValueError(f"offsets {tuple(self.offsets.shape)} and "
                       f"{len(self.parents)} parents do not make a "
                       f"{DATA_DIM // 3 + 1}-joint tree")
    gen = torch_harness.generator(seed)
    truth = 0.3 * torch.randn(batch, DATA_DIM, generator=gen)
    with torch.no_grad():
      joints = forward_kinematics(truth, self.offsets, self.parents)
    scale = self.offsets.norm(dim=-1).mean()
    self.target = joints + 0.2 * scale * torch.randn(joints.shape, generator=gen)
    # The z-score statistics of the training poses (Posenormalizer).
    self.mean_poses = 0.1 * torch.randn(1, DATA_DIM, generator=gen)
    self.std_poses = 0.5 + torch.rand(1, DATA_DIM, generator=gen)
    self.timesteps = torch.linspace(1.0, SAMPLE_EPS, TTO_SDE_N)
    self.weights = {"temp": lambda c, it: 10.0 * c * (1 + it),
                    "data": lambda c, it: 100.0 * c / (1 + it * it),
                    "dposer": lambda c, it: 0.1 * c * (1 + it) * DPOSER_WEIGHT}

  def dposer_loss(self, x, vec_t):
    z = torch.randn_like(x)
    mean, std = marginal_prob(x, vec_t)
    perturbed = mean + std[:, None] * z
    # As their one_step_denoise: the network forward is recorded by autograd
    # (x requires grad), and x0_hat is detached afterwards.
    _, _, alpha, sigma_2, score = reverse_sde(self.net, perturbed, vec_t)
    x0_hat = ((perturbed + sigma_2[:, None] * score) / alpha).detach()
    return torch.sum(0.5 * (x - x0_hat) ** 2) / self.batch

  def optimize(self, iters):
    """`iters` steps of their loop from a fresh start; returns the pose."""
    poses = (torch.randn(self.batch, DATA_DIM) * 0.01).requires_grad_(True)
    opt = torch.optim.Adam([poses], TTO_LR, betas=(0.9, 0.999))
    total = max(iters, 1)
    n = TTO_SDE_N
    for step in range(iters):
      it = step // TTO_STEPS_PER_ITER
      opt.zero_grad()
      losses = {}
      x = (poses - self.mean_poses) / self.std_poses
      quan_t = n - math.floor((total - step - 1) *
                              (n / (TTO_SAMPLE_TRUN * total))) - 2
      vec_t = torch.ones(self.batch) * self.timesteps[quan_t]
      losses["dposer"] = self.dposer_loss(x, vec_t)
      joints = forward_kinematics(poses, self.offsets, self.parents)
      temp = joints[:-1, 1:] - joints[1:, 1:]
      losses["temp"] = torch.mean(torch.sqrt(torch.sum(temp * temp, dim=2)))
      data = joints - self.target
      data = torch.mean(torch.sqrt(torch.sum(data * data, dim=2)))
      if data > 0:  # their NaN guard (a host sync every step)
        losses["data"] = data
      total_loss = torch.stack([self.weights[k](v, it)
                                for k, v in losses.items()]).sum()
      total_loss.backward()
      opt.step()
    return poses.detach()


class Reference(torch_harness.Reference):
  """DPoser's timed operations: `sample`, `train` and `tto`."""
  NET = ScoreNetFC
  TRAINER = Trainer
  OPS = {**torch_harness.Reference.OPS, "sample": ("rows", "steps"),
         "tto": ("batch", "iters", "offsets", "parents")}

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    self.denoisers = {}

  def sample(self, rows, steps):
    rows, steps = int(rows), int(steps)
    return self._timed(f"sample rows={rows} steps={steps}",
                       lambda: em_sample(self.eval_net, rows, steps))

  def tto(self, batch, iters, offsets, parents):
    batch, iters = int(batch), int(iters)
    key = (batch, json.dumps(offsets), tuple(parents))
    if key not in self.denoisers:
      self.denoisers[key] = MotionDenoiser(self.eval_net, batch, offsets,
                                           parents)
    return self._timed(f"tto batch={batch} iters={iters}",
                       lambda: self.denoisers[key].optimize(iters))


# A stand-in skeleton for the command-line mode: 22 joints, SMPL's parents,
# bones of 100 mm along made-up directions (the timing does not depend on
# the lengths).
_PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17,
            18, 19]


def _demo_offsets():
  gen = torch_harness.generator(1)
  d = torch.randn(len(_PARENTS), 3, generator=gen)
  d = 100.0 * d / d.norm(dim=-1, keepdim=True)
  d[0] = 0.0
  return d.tolist()


def main():
  parser = torch_harness.parser(__doc__)
  parser.add_argument("--rows", type=int, default=500)
  parser.add_argument("--steps", type=int, default=10)
  parser.add_argument("--train_batch", type=int, default=1280)
  parser.add_argument("--tto_batch", type=int, default=60)
  parser.add_argument("--tto_iters", type=int, default=180)
  args = parser.parse_args()
  ref = torch_harness.start(Reference, args)
  if ref is None:
    return
  offsets = _demo_offsets()
  out = dict(info=ref.info())
  out["sample_step_s"] = torch_harness.median_seconds(
      lambda: ref.sample(args.rows, args.steps), args.repeats, per=args.steps)
  out["train_step_s"] = torch_harness.median_seconds(
      lambda: ref.train(args.train_batch), args.repeats)
  out["tto_iteration_s"] = torch_harness.median_seconds(
      lambda: ref.tto(args.tto_batch, args.tto_iters, offsets, _PARENTS),
      args.repeats, per=args.tto_iters)
  print(json.dumps(out, indent=1))


if __name__ == "__main__":
  main()
