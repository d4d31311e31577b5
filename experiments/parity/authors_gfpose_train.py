"""Trains the authors' GFPose (their model, loss, optimiser and EMA code) on
rows jaxpose exported; saves a checkpoint in their best_model.pth layout.

Run by experiments/parity/train_gfpose.py under a Python with torch, with
the authors' checkout (Embracing/GFPose) on the path:

  python experiments/parity/authors_gfpose_train.py --authors_repo=REPO \
      --rows=rows.npz --out=best_model.pth --steps=3000 --batch=256 ...

What comes from their code: ScoreModelFC_Adv (with its in-model condition
masking and dropout), subVPSDE, losses.get_step_fn (their training step:
half-sum eps loss, lr warm-up, gradient clipping, EMA update),
losses.get_optimizer and ExponentialMovingAverage. What is written here is
only what their DataLoader and H36M dataset do: shuffled batches of the
rows (a torch generator seeded with --seed, reshuffled every epoch) and the
data-level swap of the 2D condition for the 3D pose with probability
cond_3d_prob. The rows arrive in jaxpose's model units (data_scale already
applied), so no further scaling. Imports neither jax nor jaxpose.
"""
import argparse
import json
import os
import sys
import time


def main():
  p = argparse.ArgumentParser()
  p.add_argument("--authors_repo", required=True)
  p.add_argument("--rows", required=True)
  p.add_argument("--out", required=True)
  p.add_argument("--steps", type=int, required=True)
  p.add_argument("--batch", type=int, required=True)
  p.add_argument("--hidden", type=int, default=1024)
  p.add_argument("--embed", type=int, default=512)
  p.add_argument("--lr", type=float, default=2e-4)
  p.add_argument("--warmup", type=int, default=5000)
  p.add_argument("--ema", type=float, default=0.9999)
  p.add_argument("--grad_clip", type=float, default=1.0)
  p.add_argument("--seed", type=int, default=0)
  p.add_argument("--threads", type=int, default=0)
  p.add_argument("--mask_probs", default="0.1,0.1,0.1,0.1",
                 help="pose,part,joint,3d-swap probabilities")
  args = p.parse_args()
  sys.path.insert(0, args.authors_repo)
  # Beside this script: the stubs of modules their imports name but never use.
  sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
  from authors_gfpose import _stub_missing_modules  # pylint: disable=import-outside-toplevel
  _stub_missing_modules()
  import numpy as np
  import torch
  from configs.subvp import h36m_ncsnpp_deep_continuous as config_module
  from lib.algorithms.advanced import losses, sde_lib
  from lib.algorithms.advanced.model import ScoreModelFC_Adv
  from lib.algorithms.ema import ExponentialMovingAverage

  if args.threads:
    torch.set_num_threads(args.threads)
  torch.manual_seed(args.seed)
  p_pose, p_part, p_joint, p_swap = (float(v) for v in
                                     args.mask_probs.split(","))
  config = config_module.get_config()
  config.device = torch.device("cpu")
  config.optim.update(lr=args.lr, warmup=args.warmup,
                      grad_clip=args.grad_clip)
  config.model.ema_rate = args.ema
  config.training.update(cond_pose_mask_prob=p_pose,
                         cond_part_mask_prob=p_part,
                         cond_joint_mask_prob=p_joint)
  rows = np.load(args.rows)
  pose3d = torch.from_numpy(np.asarray(rows["pose3d"], np.float32))
  pose2d = torch.from_numpy(np.asarray(rows["pose2d"], np.float32))
  n, j, _ = pose3d.shape
  cond2d = torch.cat([pose2d, torch.zeros(n, j, 1)], dim=-1)  # z = 0: 2D

  model = ScoreModelFC_Adv(config, n_joints=j, joint_dim=3,
                           hidden_dim=args.hidden, embed_dim=args.embed,
                           cond_dim=3)
  ema = ExponentialMovingAverage(model.parameters(), decay=args.ema)
  optimizer = losses.get_optimizer(config, model.parameters())
  state = dict(optimizer=optimizer, model=model, ema=ema, step=0)
  sde = sde_lib.subVPSDE(beta_min=config.model.beta_min,
                         beta_max=config.model.beta_max,
                         N=config.model.num_scales)
  # As their train_fc_adv_3d.py calls it.
  train_step = losses.get_step_fn(
      sde, train=True, optimize_fn=losses.optimization_manager(config),
      reduce_mean=False, continuous=True, likelihood_weighting=False)

  gen = torch.Generator().manual_seed(args.seed)
  order, cursor = torch.randperm(n, generator=gen), 0
  model.train()
  start = time.perf_counter()
  losses_log = []
  for step in range(args.steps):
    if cursor + args.batch > n:  # DataLoader(shuffle=True): a new epoch
      order, cursor = torch.randperm(n, generator=gen), 0
    idx = order[cursor:cursor + args.batch]
    cursor += args.batch
    x = pose3d[idx]
    cond = cond2d[idx].clone()
    swap = torch.rand(len(idx), generator=gen) < p_swap
    cond[swap] = x[swap]
    loss = train_step(state, batch=x, condition=cond)
    if step % max(1, args.steps // 20) == 0 or step == args.steps - 1:
      losses_log.append([step, float(loss)])
      print(f"step {step} loss {float(loss):.4f}", file=sys.stderr)
  seconds = time.perf_counter() - start
  os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
  torch.save({"model_state_dict": model.state_dict(),
              "ema": ema.state_dict(), "step": state["step"], "epoch": 0},
             args.out)
  print(json.dumps({"seconds": seconds, "steps": args.steps,
                    "seconds_per_step": seconds / args.steps,
                    "threads": torch.get_num_threads(),
                    "torch": torch.__version__, "loss": losses_log}))


if __name__ == "__main__":
  main()
