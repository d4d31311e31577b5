"""The authors' side of the GFPose parity run: their modules, their numbers.

Run by experiments/parity/gfpose.py under a Python with torch, with the
authors' checkout (Embracing/GFPose) on the path and as the working
directory:

  python experiments/parity/authors_gfpose.py --authors_repo=REPO \
      --work=DIR --hidden=1024 --embed=512 --seed=0

DIR holds what the jaxpose side wrote in numpy: inputs.npz (network inputs,
the sampling start and its noise, poses to back-project) and LCN-layout
pickles (h36m_test.pkl, h36m_sh_dt_ft.pkl). This script
1. builds their ScoreModelFC_Adv (random init by their code; the
   GroupNorm affine parameters redrawn so a swap would show), their EMA,
   moves the raw weights away from the EMA, and saves best_model.pth as
   their train_fc_adv_3d.py does;
2. loads it back as their eval_fc_mp_adv_3d.py does (load_state_dict, EMA
   copy_to) and runs their network and get_score_fn on the inputs;
3. runs their pc sampler (Euler-Maruyama x N, corrector none, noise
   removal) for estimation (their `est` mask) and generation (`gen`), with
   sde.prior_sampling and torch.randn_like replaced by the given start and
   draws, in float32 as their code runs and in float64 (their time
   embedding is computed in float32 as their code does and cast to float64,
   which their Linear layers need);
4. reads the pickles with their H36MDataset3D (normalisation) and
   back-projects with denormalize_data + image_to_camera_frame;
5. loads the same checkpoint into tests/helpers/authors_gfpose.py's module
   (the tests' stand-in) and compares it with theirs.
Outputs go to DIR/authors.npz; a JSON summary is the last stdout line.
Imports neither jax nor jaxpose.
"""
import argparse
import importlib.util
import json
import os
import sys
import types


def _stub_missing_modules():
  # Their model module imports torchvision (unused by the model) and their
  # dataset module prettytable (printing only); neither is needed here.
  try:
    import torchvision  # noqa: F401  pylint: disable=unused-import
  except ImportError:
    tv = types.ModuleType("torchvision")
    tv.utils = types.ModuleType("torchvision.utils")
    tv.utils.make_grid = tv.utils.save_image = None
    tv.transforms = types.ModuleType("torchvision.transforms")
    sys.modules.update({"torchvision": tv, "torchvision.utils": tv.utils,
                        "torchvision.transforms": tv.transforms})
  try:
    import prettytable  # noqa: F401  pylint: disable=unused-import
  except ImportError:
    pt = types.ModuleType("prettytable")
    pt.PrettyTable = object
    sys.modules["prettytable"] = pt


VARIANTS = ("cond2d", "cond2d_est_mask", "cond3d", "cond2d_masked_joints",
            "cond3d_masked_joints", "null")


def _variant(inp, name):
  """(condition, mask or None) of a forward variant, as numpy."""
  import numpy as np
  c2, c3 = inp["fwd_cond2d"], inp["fwd_cond3d"]
  est = np.ones_like(c2)
  est[..., 2] = 0
  return {"cond2d": (c2, None), "cond2d_est_mask": (c2, est),
          "cond3d": (c3, None), "cond2d_masked_joints": (c2, inp["fwd_mask2d"]),
          "cond3d_masked_joints": (c3, inp["fwd_mask3d"]),
          "null": (np.zeros_like(c2), np.zeros_like(c2))}[name]


def main():
  p = argparse.ArgumentParser()
  p.add_argument("--authors_repo", required=True)
  p.add_argument("--work", required=True)
  p.add_argument("--hidden", type=int, default=1024)
  p.add_argument("--embed", type=int, default=512)
  p.add_argument("--seed", type=int, default=0)
  p.add_argument("--threads", type=int, default=0)
  p.add_argument("--helper", default="", help="tests/helpers/authors_gfpose.py")
  args = p.parse_args()
  sys.path.insert(0, args.authors_repo)
  _stub_missing_modules()
  import pathlib
  import pickle

  import numpy as np
  import torch
  from configs.subvp import h36m_ncsnpp_deep_continuous as config_module
  from lib.algorithms.advanced import model as model_lib
  from lib.algorithms.advanced import sampling, sde_lib
  from lib.algorithms.advanced import utils as mutils
  from lib.algorithms.ema import ExponentialMovingAverage
  from lib.dataset import h36m
  from lib.utils.transforms import image_to_camera_frame

  if args.threads:
    torch.set_num_threads(args.threads)
  inp = dict(np.load(os.path.join(args.work, "inputs.npz")))
  config = config_module.get_config()
  config.device = torch.device("cpu")

  def new_model():
    return model_lib.ScoreModelFC_Adv(
        config, n_joints=17, joint_dim=3, hidden_dim=args.hidden,
        embed_dim=args.embed, cond_dim=3)

  # 1. Their init, EMA and checkpoint layout.
  torch.manual_seed(args.seed)
  model = new_model()
  with torch.no_grad():
    for m in model.modules():
      if isinstance(m, torch.nn.GroupNorm):
        m.weight.uniform_(0.5, 1.5)
        m.bias.uniform_(-0.2, 0.2)
  ema = ExponentialMovingAverage(model.parameters(),
                                 decay=config.model.ema_rate)
  with torch.no_grad():
    for prm in model.parameters():
      prm.add_(0.05 * prm.abs().mean() * torch.randn_like(prm))
    ema.update(model.parameters())
    for prm in model.parameters():  # raw != EMA
      prm.add_(0.05 * prm.abs().mean() * torch.randn_like(prm))
  ckpt_path = os.path.join(args.work, "best_model.pth")
  torch.save({"model_state_dict": model.state_dict(), "epoch": 7,
              "ema": ema.state_dict(), "step": 4321}, ckpt_path)

  # 2. Loaded as their evaluation does.
  def load(path):
    net = new_model()
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    net.load_state_dict(ckpt["model_state_dict"])
    e = ExponentialMovingAverage(net.parameters(), decay=config.model.ema_rate)
    e.load_state_dict(ckpt["ema"])
    net.eval()
    e.copy_to(net.parameters())
    return net, ckpt
  model, ckpt = load(ckpt_path)
  sde = sde_lib.subVPSDE(beta_min=config.model.beta_min,
                         beta_max=config.model.beta_max,
                         N=config.model.num_scales)
  score_fn = mutils.get_score_fn(sde, model, train=False, continuous=True)
  out = {}
  x, t = torch.tensor(inp["fwd_x"]), torch.tensor(inp["fwd_t"])
  with torch.no_grad():
    for name in VARIANTS:
      c, m = _variant(inp, name)
      c = torch.tensor(c)
      m = None if m is None else torch.tensor(m)
      out[f"fwd_{name}"] = model(x, t * 999, c.clone(), m).numpy()
      out[f"score_{name}"] = score_fn(x, t, c.clone(), m).numpy()

  # 3. Their sampler with the given start and draws.
  def sample(task, dtype):
    net, _ = load(ckpt_path)
    n_steps = inp["smp_noise"].shape[0]
    sde_s = sde_lib.subVPSDE(beta_min=config.model.beta_min,
                             beta_max=config.model.beta_max, N=n_steps)
    x0 = torch.tensor(inp["smp_x0"], dtype=dtype)
    draws = iter(torch.tensor(inp["smp_noise"], dtype=dtype))
    used = []
    sde_s.prior_sampling = lambda shape: x0.clone()
    real_randn_like = torch.randn_like

    def replay(like, *a, **k):
      used.append(1)
      return next(draws).to(like.dtype)
    previous = torch.get_default_dtype()
    if dtype == torch.float64:
      net.double()
      embed = net.posit_proj
      net.posit_proj = lambda ts: embed(ts).to(torch.float64)
      torch.set_default_dtype(torch.float64)
    torch.randn_like = replay
    try:
      cfg = config_module.get_config()
      cfg.device = torch.device("cpu")
      # Their eval passes sampling_eps = 1e-3 with N = 1000 steps: times
      # linspace(1, 1/N, N), dt = 1/N; 1/N keeps that grid for other N.
      fn = sampling.get_sampling_fn(cfg, sde_s, tuple(x0.shape),
                                    lambda v: v, 1.0 / n_steps, device="cpu")
      cond = torch.tensor(inp["smp_cond"], dtype=dtype)
      task_args = None if task == "est" else types.SimpleNamespace(task=task)
      if task == "gen":
        cond = cond * 0
      _, final = fn(net, condition=cond, denoise_x=None, args=task_args)
    finally:
      torch.randn_like = real_randn_like
      torch.set_default_dtype(previous)
    if len(used) != n_steps:
      raise RuntimeError(f"{task}: {len(used)} draws used, {n_steps} given")
    return np.asarray(final)
  for task in ("est", "gen"):
    for dtype, label in ((torch.float32, "f32"), (torch.float64, "f64")):
      out[f"smp_{task}_{label}"] = sample(task, dtype)

  # 4. Their data path on LCN-layout rows.
  scale = config.training.data_scale
  with open(os.path.join(args.work, "h36m_test.pkl"), "rb") as f:
    items = pickle.load(f)
  for gt2d, label in ((True, "gt"), (False, "dt")):
    ds = h36m.H36MDataset3D(pathlib.Path(args.work), "test", gt2d=gt2d,
                            read_confidence=False)
    out[f"data_pose2d_{label}"] = np.asarray(ds.db_2d) * scale
    out["data_pose3d"] = np.asarray(ds.db_3d) * scale

  def to_mm(model_units):
    # As their eval_multi: results / data_scale, denormalize_data, then
    # image_to_camera_frame with the row's box, camera and root depth.
    image = h36m.denormalize_data(np.asarray(model_units, np.float64) / scale)
    rows = []
    for i, pred in enumerate(image):
      item = items[i]
      cam = image_to_camera_frame(pose3d_image_frame=pred, box=item["box"],
                                  camera=item["camera_param"], rootIdx=0,
                                  root_depth=item["root_depth"])
      rows.append(cam - np.asarray(item["joint_3d_camera"])[0])
    return np.stack(rows)
  out["data_back_mm"] = to_mm(out["data_pose3d"])
  out["data_pred_back_mm"] = to_mm(inp["data_pred"])
  for k in [k for k in out if k.startswith("smp_")]:
    out[f"mm_{k}"] = to_mm(out[k])

  # 5. The tests' stand-in on the same checkpoint.
  summary = {"torch": torch.__version__, "threads": torch.get_num_threads(),
             "parameters": int(sum(q.numel() for q in model.parameters()))}
  if args.helper:
    spec = importlib.util.spec_from_file_location("authors_gfpose_helper",
                                                  args.helper)
    helper = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helper)
    stand_in = helper.AuthorsLayoutNet(hidden=args.hidden, embed=args.embed)
    stand_in.load_state_dict(ckpt["model_state_dict"])  # strict
    with torch.no_grad():
      for s, q in zip(ckpt["ema"]["shadow_params"], stand_in.parameters()):
        q.copy_(s)
    stand_in.eval()
    theirs_sd, ours_sd = model.state_dict(), stand_in.state_dict()
    summary["helper"] = {
        "state_dict_keys_equal": list(theirs_sd) == list(ours_sd),
        "shapes_and_dtypes_equal": all(
            theirs_sd[k].shape == ours_sd[k].shape
            and theirs_sd[k].dtype == ours_sd[k].dtype for k in theirs_sd),
        "parameter_order_equal": [n for n, _ in model.named_parameters()]
        == [n for n, _ in stand_in.named_parameters()]}
    with torch.no_grad():
      for name in VARIANTS:
        c, m = _variant(inp, name)
        out[f"helper_{name}"] = stand_in(
            x, t, torch.tensor(c), None if m is None else torch.tensor(m)
        ).numpy()
  np.savez(os.path.join(args.work, "authors.npz"), **out)
  print(json.dumps(summary))


if __name__ == "__main__":
  main()
