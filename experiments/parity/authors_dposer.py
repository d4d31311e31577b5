"""Runs the authors' DPoser code on inputs and noise jaxpose wrote (no jax).

Run by experiments/parity/dposer.py under a Python with torch (and, for
v2, pytorch_lightning), with the authors' checkout (moonbow721/DPoser;
branch v2, or main for --layout=v1) on the path and as the working
directory:

  python experiments/parity/authors_dposer.py --authors_repo=REPO \
      --layout=v2 --inputs=inputs.npz --checkpoint=OUT.ckpt --out=out.npz \
      --hidden=1024 --embed=512 --seed=0 --output_gain=0.01 \
      [--statistics_dir=DIR] [--float64] [--helper=tests/helpers/authors_dposer.py] \
      [--train_steps=4 --train_batch=64 --train_lr=1e-5] [--summary=S.json]

What comes from their code: the network (v2 `create_model` -> TimeFC from
configs/body/subvp/timefc.py; v1 ScoreModelFC from
configs/subvp/amass_scorefc_continuous.py), its initialisation, their
ExponentialMovingAverage, their loading of a checkpoint (`load_model`, EMA
copied in; v1: its tester's load_state_dict + EMA copy_to), `get_model_fn`
and `get_score_fn`, subVPSDE, the PC sampler with the Euler-Maruyama
predictor (1000 steps, eps 1e-3, the final mean), DPoserComp.optimize (the
completion test-time optimisation, time strategy '3'), create_mask and
Posenormalizer (their z-score).

v2: the checkpoint is written as their release was: their LightningModule
`DPoserTrainer` (run/trainer/body/diffusion.py, with their TimeFC config;
its `save_hyperparameters()` records the ConfigDict, the body-model and
data paths and N_POSES; its `on_save_checkpoint` adds their EMA) is
trained --train_steps steps by a pytorch_lightning `Trainer` on CPU with a
`ModelCheckpoint(every_n_train_steps=--train_steps)` callback, on
--train_batch x --train_steps random poses (their statistics' mean + 0.7
std x normal draws) in their batch layout {'body_pose': [B, 63]}; the
file is the one ModelCheckpoint wrote, as Lightning writes it
(state_dict, model_ema, hyper_parameters, global_step, epoch, optimizer
and scheduler states, loops, callbacks, pytorch-lightning_version).
Departures from their `main()`, each because the release's set-up cannot
run here: one CPU device instead of DDP on GPUs; no validation (their
validation poses SMPL-X meshes and renders: limit_val_batches=0), so the
callback monitors nothing and keeps the step's file (theirs monitors
val_mpjpe); no logger; their config's optim.warmup 0 and optim.lr
--train_lr (their warmup of 5000 steps would leave a few steps' updates
~1e-8, and EMA and raw weights equal in practice), training.batch_size
--train_batch, devices [0]. Their trainer module reads `config` as a
module global that their `__main__` sets; it is set the same way here.
Stubbed, only what the training path touches without using it: SMPL-X
(licensed, unavailable): `lib.body_model.body_model.BodyModel` is a tiny
module holding a few parameters and buffers under SMPL-X's names (so the
Lightning state dict holds 'body_model_vis.bm.*' and 'body_model_eval.*'
entries as theirs does), whose forward refuses to run; the rendering
(`lib.body_model.visual`: pyrender, cv2) and the validation metrics
(`lib.utils.metric`: pymeshlab), and torchvision (`make_grid`, rendering
only) when not installed, are modules whose functions refuse to run;
torchgeometry (rotation conversions this run never calls) an empty one.
Their loading (`torch.load` of a file holding their ConfigDict) was
written for torch < 2.6, whose default was weights_only=False; the
environment variable TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 restores that
default for this process. --output_gain scales the output layer of their
random initialisation before training (default 0.01): as initialised (1)
the output over the sigma ladder is ~60 at t = 1 where a trained
network's (epsilon times sigma_1000 = 0.01) is ~1, and the sampler's
states reach 1e4; with 0.01 they stay in the hundreds (an untrained
score cannot keep them in a pose's range).

v1: the dict their main-branch trainer saves ({'epoch',
'model_state_dict', 'ema', 'step'}) is written with torch.save after a
few EMA updates of perturbed weights (so that EMA and raw weights
differ).

Both: the replay of given normal draws through torch.randn_like, the
only randomness their sampler and optimiser call. With --float64 every
computation is run a second time in float64 (outputs '<name>_f64'):
torch's default dtype float64 and the loaded network `.double()`; their
time embedding casts the label to float32 (`timesteps.float()`) and is
then cast to float64 for the float64 layers (jaxpose's embedding is the
same float32 computation, promoted). With --helper, the CI tests' torch
stand-in (tests/helpers/authors_dposer.py) is loaded with the state dict
of their loaded network (strict) and run on the same float32 inputs
(outputs 'helper_forward', 'helper_score'); --summary gets a JSON of the
checkpoint's making and of the stand-in's keys, order, shapes and dtypes.
Imports neither jax nor jaxpose.
"""
import argparse
import glob
import importlib.util
import json
import os
import sys
import tempfile
import types

# Their torch.load of a Lightning checkpoint (their ConfigDict inside)
# predates torch 2.6's weights_only default; set before torch is imported.
os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")

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


def _refuse(what):
  def refused(*args, **kwargs):
    raise RuntimeError(f"{what}: a stand-in of the parity run; it is not run")
  return refused


class _SmplxStandIn(torch.nn.Module):
  """Their `BodyModel` (an SMPL-X wrapper) as far as their trainer's
  training path touches it: a module whose `.bm` holds a few parameters
  and buffers under SMPL-X's names, tiny; its forward refuses to run."""

  def __init__(self, bm_path="", num_betas=10, batch_size=1,
               num_expressions=100, model_type="smplx", regressor_path=None):
    super().__init__()
    del bm_path, num_expressions, regressor_path
    bm, vertices = torch.nn.Module(), 8
    for name, shape in (("betas", (batch_size, num_betas)),
                        ("global_orient", (batch_size, 3)),
                        ("body_pose", (batch_size, 63)),
                        ("transl", (batch_size, 3))):
      setattr(bm, name, torch.nn.Parameter(torch.zeros(shape)))
    bm.register_buffer("faces_tensor", torch.zeros(4, 3, dtype=torch.long))
    bm.register_buffer("v_template", torch.zeros(vertices, 3))
    bm.register_buffer("shapedirs", torch.zeros(vertices, 3, num_betas))
    bm.register_buffer("J_regressor", torch.zeros(22, vertices))
    bm.register_buffer("parents", torch.zeros(22, dtype=torch.long))
    self.bm, self.model_type = bm, model_type
    self.J_regressor = bm.J_regressor.numpy()

  forward = _refuse("SMPL-X (BodyModel.forward)")


def _stub_trainer_imports():
  """The modules their trainer imports for validation and rendering only."""
  body_model = types.ModuleType("lib.body_model.body_model")
  body_model.BodyModel = _SmplxStandIn
  visual = types.ModuleType("lib.body_model.visual")
  visual.render_mesh = _refuse("render_mesh")
  metric = types.ModuleType("lib.utils.metric")
  metric.average_pairwise_distance = _refuse("average_pairwise_distance")
  metric.self_intersections_percentage = _refuse(
      "self_intersections_percentage")
  sys.modules.update({"lib.body_model.body_model": body_model,
                      "lib.body_model.visual": visual,
                      "lib.utils.metric": metric})
  try:
    import torchvision  # noqa: F401  pylint: disable=unused-import
  except ImportError:
    tv = types.ModuleType("torchvision")
    tv.utils = types.ModuleType("torchvision.utils")
    tv.utils.make_grid = _refuse("torchvision.utils.make_grid")
    sys.modules.update({"torchvision": tv, "torchvision.utils": tv.utils})


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


def train_v2(config, args, path: str) -> dict:
  """Their DPoserTrainer trained args.train_steps steps by a Lightning
  Trainer; ModelCheckpoint's file copied to `path`. Returns how."""
  import pytorch_lightning as pl
  from pytorch_lightning.callbacks import ModelCheckpoint
  _stub_trainer_imports()
  from run.trainer.body import diffusion as trainer_lib
  config.optim.warmup = 0
  config.optim.lr = args.train_lr
  config.training.batch_size = args.train_batch
  config.devices = [0]  # one device (theirs: [4, 5, 6, 7])
  trainer_lib.config = config  # their __main__'s global, read by setup()
  pl.seed_everything(args.seed)
  stats = torch.load(os.path.join(args.statistics_dir, "axis_normalize2.pt"))
  g = torch.Generator().manual_seed(args.seed + 1)
  n = args.train_batch * args.train_steps
  poses = (stats["mean_poses"] + 0.7 * stats["std_poses"]
           * torch.randn(n, 63, generator=g)).float()
  loader = torch.utils.data.DataLoader(
      [{"body_pose": row} for row in poses], batch_size=args.train_batch,
      shuffle=False)
  module = trainer_lib.DPoserTrainer(
      config, bodymodel_path="SMPLX_NEUTRAL.npz (stand-in)",
      data_path=args.statistics_dir, N_POSES=21, train_loader=loader,
      val_loader=None)
  with torch.no_grad():
    module.model.post_dense.weight.mul_(args.output_gain)
    module.model.post_dense.bias.mul_(args.output_gain)
  with tempfile.TemporaryDirectory() as ckpt_dir:
    callback = ModelCheckpoint(dirpath=ckpt_dir,
                               filename="{epoch:02d}-{step}",
                               every_n_train_steps=args.train_steps,
                               save_top_k=-1)
    trainer = pl.Trainer(
        accelerator="cpu", devices=1, max_steps=args.train_steps,
        limit_val_batches=0, num_sanity_val_steps=0,
        check_val_every_n_epoch=None,
        gradient_clip_val=config.optim.grad_clip, logger=False,
        callbacks=[callback], enable_progress_bar=False,
        enable_model_summary=False, log_every_n_steps=1)
    trainer.fit(module)
    written = sorted(glob.glob(os.path.join(ckpt_dir, "*.ckpt")))
    if len(written) != 1:
      raise RuntimeError(f"ModelCheckpoint wrote {written}, expected one file")
    with open(written[0], "rb") as f, open(path, "wb") as out:
      out.write(f.read())
    name = os.path.basename(written[0])
  ckpt = torch.load(path, map_location="cpu")
  raw = {k[len("model."):]: v for k, v in ckpt["state_dict"].items()
         if k.startswith("model.")}
  names = [k for k, _ in module.model.named_parameters()]
  shadow = ckpt["model_ema"]["shadow_params"]
  ema_vs_raw = max(float((s - raw[k]).abs().max() / raw[k].abs().max())
                   for k, s in zip(names, shadow))
  hp = ckpt.get("hyper_parameters", {})
  return {
      "how": "their DPoserTrainer (run/trainer/body/diffusion.py) trained "
             "by a pytorch_lightning Trainer (CPU, 1 device, no "
             "validation) with a ModelCheckpoint(every_n_train_steps) "
             "callback on random poses; the file is the callback's",
      "pytorch_lightning_version": pl.__version__,
      "file_pytorch_lightning_version": ckpt.get("pytorch-lightning_version"),
      "callback_file_name": name,
      "train_steps": args.train_steps, "train_batch": args.train_batch,
      "optim": {"optimizer": config.optim.optimizer, "lr": args.train_lr,
                "warmup": 0, "grad_clip": config.optim.grad_clip},
      "global_step": int(ckpt["global_step"]), "epoch": int(ckpt["epoch"]),
      "ema": {"decay": ckpt["model_ema"]["decay"],
              "num_updates": ckpt["model_ema"]["num_updates"],
              "max_rel_difference_from_raw": ema_vs_raw},
      "top_level_keys": sorted(ckpt),
      "hyper_parameters": {k: type(v).__module__ + "." + type(v).__name__
                           for k, v in hp.items()},
      "state_dict_prefixes": sorted({k.split(".")[0]
                                     for k in ckpt["state_dict"]}),
      "output_gain": args.output_gain}


def save_and_load(layout: str, config, model, args, path: str):
  """Writes their checkpoint layout, then loads it as their testers do.
  Returns (their loaded network, how the file was made)."""
  from lib.algorithms.ema import ExponentialMovingAverage
  if layout == "v2":  # their Lightning trainer's checkpoint
    made = train_v2(config, args, path)
    fresh = build(layout, config.model.HIDDEN_DIM, config.model.EMBED_DIM)[1]
    from lib.utils.generic import load_model
    load_model(fresh, config, path, "cpu", is_ema=True)
    fresh.eval()
    return fresh, made
  with torch.no_grad():
    model.post_dense.weight.mul_(args.output_gain)
    model.post_dense.bias.mul_(args.output_gain)
  ema = ExponentialMovingAverage(model.parameters(),
                                 decay=config.model.ema_rate)
  g = torch.Generator().manual_seed(args.seed + 1)
  with torch.no_grad():  # a few "training steps": EMA and raw weights differ
    for _ in range(3):
      for p in model.parameters():
        p.add_(0.01 * torch.randn(p.shape, generator=g) * p.abs().mean())
      ema.update(model.parameters())
  # their v1 trainer's checkpoint
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
  return fresh, {"how": "torch.save of their v1 trainer's dict (epoch, "
                        "model_state_dict, ema, step) after 3 EMA updates "
                        "of perturbed weights", "output_gain":
                 args.output_gain}


def stand_in(helper_path: str, layout: str, model, args) -> tuple:
  """The CI tests' stand-in with their loaded network's state dict:
  (the module or None, the keys/shapes/order summary)."""
  spec = importlib.util.spec_from_file_location("authors_dposer_helper",
                                                helper_path)
  helper = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(helper)
  net = helper.AuthorsLayoutNet(hidden=args.hidden, embed=args.embed,
                                blocks=2, v1=layout == "v1")
  theirs, ours = model.state_dict(), net.state_dict()
  summary = {
      "state_dict_keys_equal": list(theirs) == list(ours),
      "shapes_and_dtypes_equal": set(theirs) == set(ours) and all(
          theirs[k].shape == ours[k].shape and theirs[k].dtype == ours[k].dtype
          for k in theirs),
      "parameter_order_equal": [n for n, _ in model.named_parameters()]
      == [n for n, _ in net.named_parameters()]}
  try:
    net.load_state_dict(theirs)  # strict
  except RuntimeError as e:
    summary["load_error"] = str(e)[:2000]
    return None, summary
  net.eval()
  return net, summary


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
  parser.add_argument("--helper", default="",
                      help="tests/helpers/authors_dposer.py")
  parser.add_argument("--summary", default="", help="A JSON written here.")
  parser.add_argument("--train_steps", type=int, default=4)
  parser.add_argument("--train_batch", type=int, default=64)
  parser.add_argument("--train_lr", type=float, default=1e-5)
  args = parser.parse_args()
  sys.path.insert(0, args.authors_repo)
  _stub_missing_modules()
  torch.set_num_threads(max(1, os.cpu_count() or 1))
  torch.manual_seed(args.seed)
  config, model = build(args.layout, args.hidden, args.embed)
  model, made = save_and_load(args.layout, config, model, args,
                              args.checkpoint)
  summary = {"checkpoint": made, "torch": torch.__version__}
  inp = dict(np.load(args.inputs))
  out = run_all(config, model, inp, args, "")
  if args.helper:
    net, summary["helper"] = stand_in(args.helper, args.layout, model, args)
    if net is not None:
      x, t = torch.tensor(inp["x"]), torch.tensor(inp["t"])
      with torch.no_grad():
        out["helper_forward"] = net(x, t).numpy()
        out["helper_score"] = net.score(x, t).numpy()
  if args.float64:
    torch.set_default_dtype(torch.float64)
    model = model.double()
    embed = model.posit_proj
    model.posit_proj = lambda timesteps: embed(timesteps).double()
    inp64 = {k: v.astype(np.float64) if v.dtype == np.float32 else v
             for k, v in inp.items()}
    out.update(run_all(config, model, inp64, args, "_f64"))
  np.savez(args.out, **out)
  if args.summary:
    with open(args.summary, "w") as f:
      json.dump(summary, f, indent=1, default=str)
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
