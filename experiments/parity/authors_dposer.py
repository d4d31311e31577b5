"""Runs the authors' DPoser code on inputs and noise jaxpose wrote (no jax).

Run by experiments/parity/dposer.py under a Python with torch, with the
authors' checkout (moonbow721/DPoser; branch v2, or main for --layout=v1)
on the path and as the working directory:

  python experiments/parity/authors_dposer.py --authors_repo=REPO \
      --layout=v2 --inputs=inputs.npz --checkpoint=OUT.ckpt --out=out.npz \
      --hidden=1024 --embed=512 --seed=0 --output_gain=0.01 \
      [--statistics_dir=DIR] [--float64]

What comes from their code: the network (v2 `create_model` -> TimeFC from
configs/body/subvp/timefc.py; v1 ScoreModelFC from
configs/subvp/amass_scorefc_continuous.py), its initialisation, their
ExponentialMovingAverage, their loading of a checkpoint (`load_model`, EMA
copied in; v1: its tester's load_state_dict + EMA copy_to), `get_model_fn`
and `get_score_fn`, subVPSDE, the PC sampler with the Euler-Maruyama
predictor (1000 steps, eps 1e-3, the final mean), DPoserComp.optimize (the
completion test-time optimisation, time strategy '3'), create_mask and
Posenormalizer (their z-score). What is written here: the torch.save of a
checkpoint in their layouts (the dicts their trainers save), a few EMA
updates after perturbing the weights (so that EMA and raw weights differ),
and the replay of given normal draws through torch.randn_like, the only
randomness their sampler and optimiser call. --output_gain scales the
output layer of their random initialisation (default 0.01): as initialised
(1) the output over the sigma ladder is ~60 at t = 1 where a trained
network's (epsilon times sigma_1000 = 0.01) is ~1, and the sampler's
states reach 1e4; with 0.01 they stay in the hundreds (an untrained
score cannot keep them in a pose's range). With --float64 every
computation is run a second time in float64 (outputs '<name>_f64'):
torch's default dtype float64 and the loaded network `.double()`; their
time embedding casts the label to float32 (`timesteps.float()`) and is
then cast to float64 for the float64 layers (jaxpose's embedding is the
same float32 computation, promoted). Imports neither jax nor jaxpose.
"""
import argparse
import os
import sys
import types

import numpy as np
import torch


def _stub_missing_modules():
  # lib.utils.transforms imports torchgeometry (rotation conversions this
  # run never calls: axis-angle in and out).
  if "torchgeometry" not in sys.modules:
    try:
      import torchgeometry  # noqa: F401  pylint: disable=unused-import
    except ImportError:
      sys.modules["torchgeometry"] = types.ModuleType("torchgeometry")


class Replay:
  """torch.randn_like returning the given draws in order (shapes checked)."""

  def __init__(self, draws):
    self.draws = list(draws)
    self.used = 0

  def __call__(self, like, **kwargs):
    if self.used == len(self.draws):
      raise RuntimeError(f"replay: more than the {len(self.draws)} draws given")
    draw = self.draws[self.used]
    self.used += 1
    if tuple(draw.shape) != tuple(like.shape):
      raise RuntimeError(f"replay: draw {self.used - 1} has shape "
                         f"{draw.shape}, the code asked for {tuple(like.shape)}")
    return torch.as_tensor(draw, dtype=like.dtype)


def build(layout: str, hidden: int, embed: int):
  """(their config, their network) at these sizes."""
  if layout == "v2":
    from configs.body.subvp import timefc
    from lib.algorithms.advanced.model import create_model
    config = timefc.get_config()
    config.model.HIDDEN_DIM, config.model.EMBED_DIM = hidden, embed
    config.device = "cpu"
    return config, create_model(config.model, 21, 3)
  from configs.subvp import amass_scorefc_continuous
  from lib.algorithms.advanced.model import ScoreModelFC
  config = amass_scorefc_continuous.get_config()
  config.model.HIDDEN_DIM, config.model.EMBED_DIM = hidden, embed
  return config, ScoreModelFC(config, n_poses=21, pose_dim=3,
                              hidden_dim=hidden, embed_dim=embed,
                              n_blocks=config.model.N_BLOCKS)


def save_and_load(layout: str, config, model, path: str, seed: int,
                  output_gain: float):
  """Saves their checkpoint layout, then loads it as their testers do."""
  from lib.algorithms.ema import ExponentialMovingAverage
  with torch.no_grad():
    model.post_dense.weight.mul_(output_gain)
    model.post_dense.bias.mul_(output_gain)
  ema = ExponentialMovingAverage(model.parameters(),
                                 decay=config.model.ema_rate)
  g = torch.Generator().manual_seed(seed + 1)
  with torch.no_grad():  # a few "training steps": EMA and raw weights differ
    for _ in range(3):
      for p in model.parameters():
        p.add_(0.01 * torch.randn(p.shape, generator=g) * p.abs().mean())
      ema.update(model.parameters())
  if layout == "v2":  # pl.LightningModule's checkpoint of their trainer
    torch.save({"epoch": 36, "global_step": 150000,
                "pytorch-lightning_version": "2.1.0",
                "state_dict": {f"model.{k}": v
                               for k, v in model.state_dict().items()},
                "model_ema": ema.state_dict()}, path)
    fresh = build(layout, config.model.HIDDEN_DIM, config.model.EMBED_DIM)[1]
    from lib.utils.generic import load_model
    load_model(fresh, config, path, "cpu", is_ema=True)
  else:  # their v1 trainer's checkpoint
    torch.save({"epoch": 100, "model_state_dict": model.state_dict(),
                "ema": ema.state_dict(), "step": 400000}, path)
    fresh = build(layout, config.model.HIDDEN_DIM, config.model.EMBED_DIM)[1]
    checkpoint = torch.load(path, map_location="cpu")
    fresh.load_state_dict(checkpoint["model_state_dict"])
    loaded = ExponentialMovingAverage(fresh.parameters(),
                                      decay=config.model.ema_rate)
    loaded.load_state_dict(checkpoint["ema"])
    loaded.copy_to(fresh.parameters())
  fresh.eval()
  return fresh


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--authors_repo", required=True)
  parser.add_argument("--layout", choices=["v1", "v2"], required=True)
  parser.add_argument("--inputs", required=True)
  parser.add_argument("--checkpoint", required=True)
  parser.add_argument("--out", required=True)
  parser.add_argument("--hidden", type=int, default=1024)
  parser.add_argument("--embed", type=int, default=512)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--statistics_dir", default="")
  parser.add_argument("--output_gain", type=float, default=0.01)
  parser.add_argument("--float64", action="store_true")
  args = parser.parse_args()
  sys.path.insert(0, args.authors_repo)
  _stub_missing_modules()
  torch.set_num_threads(max(1, os.cpu_count() or 1))
  torch.manual_seed(args.seed)
  config, model = build(args.layout, args.hidden, args.embed)
  model = save_and_load(args.layout, config, model, args.checkpoint, args.seed,
                        args.output_gain)
  inp = dict(np.load(args.inputs))
  out = run_all(config, model, inp, args, "")
  if args.float64:
    torch.set_default_dtype(torch.float64)
    model = model.double()
    embed = model.posit_proj
    model.posit_proj = lambda timesteps: embed(timesteps).double()
    inp64 = {k: v.astype(np.float64) if v.dtype == np.float32 else v
             for k, v in inp.items()}
    out.update(run_all(config, model, inp64, args, "_f64"))
  np.savez(args.out, **out)
  print(f"wrote {args.out}")


def run_all(config, model, inp, args, suffix: str) -> dict:
  """Their forward and score (and with v2 the rest) in the default dtype."""
  from lib.algorithms.advanced import sde_lib
  from lib.algorithms.advanced import utils as mutils
  out = {}
  x, t = torch.tensor(inp["x"]), torch.tensor(inp["t"])
  with torch.no_grad():
    # The forward as their score function calls it: labels = 999 t.
    out["forward"] = mutils.get_model_fn(model, train=False)(
        x, t * 999, None, None).numpy()
    sde = sde_lib.subVPSDE(beta_min=config.model.beta_min,
                           beta_max=config.model.beta_max,
                           N=config.model.num_scales)
    out["score"] = mutils.get_score_fn(sde, model, train=False,
                                       continuous=True)(x, t, None, None).numpy()
  if args.layout == "v2":
    out.update(sample_and_complete(config, model, sde, inp, args))
  return {k + suffix: v for k, v in out.items()}


def sample_and_complete(config, model, sde, inp, args) -> dict:
  """Their generation, completion and normalisation on the given draws."""
  from lib.algorithms.advanced import sampling
  from lib.algorithms import completion as completion_lib
  from lib.dataset.utils import Posenormalizer
  from lib.utils import misc
  out = {}
  b = inp["sample_init"].shape[0]
  real_randn_like = torch.randn_like
  try:
    torch.randn_like = Replay(inp["sample_noise"])
    sampler = sampling.get_sampling_fn(config, sde, (b, 63), lambda x: x, 1e-3,
                                       device="cpu")
    _, sample = sampler(model, z=torch.tensor(inp["sample_init"]))
    out["sample"] = sample.numpy()
    out["sample_grid"] = torch.linspace(sde.T, 1e-3, sde.N).numpy()
    assert torch.randn_like.used == len(inp["sample_noise"])

    normalizer = Posenormalizer(data_path=args.statistics_dir, device="cpu",
                                normalize=True, min_max=False, rot_rep="axis")
    poses = torch.tensor(inp["poses"])
    z = normalizer.offline_normalize(poses, from_axis=True)
    out["normalized"] = z.numpy()
    out["round_trip"] = normalizer.offline_denormalize(z, to_axis=True).numpy()
    out["denormalized"] = normalizer.offline_denormalize(
        torch.tensor(inp["z_random"]), to_axis=True).numpy()
    # create_mask draws the masked part's start, optimize one unused
    # baseline, then one z per step.
    draws = [inp["complete_init"], inp["complete_baseline"],
             *inp["complete_noise"]]
    torch.randn_like = Replay(draws)
    mask, observation = misc.create_mask(z, part=str(inp["part"]))
    comp = completion_lib.DPoserComp(model, sde, True, batch_size=b)
    kw = {k: float(inp[k]) for k in ("t_max", "t_min", "lr")}
    result = comp.optimize(observation, mask, time_strategy="3",
                           iterations=int(inp["stages"]),
                           steps_per_iter=int(inp["steps_per_stage"]), **kw)
    assert torch.randn_like.used == len(draws)
  finally:
    torch.randn_like = real_randn_like
  out["mask"] = mask.numpy()
  out["observation"] = observation.detach().numpy()
  out["completion"] = result.detach().numpy()
  out["completion_poses"] = normalizer.offline_denormalize(
      result.detach(), to_axis=True).numpy()
  return out


if __name__ == "__main__":
  main()
