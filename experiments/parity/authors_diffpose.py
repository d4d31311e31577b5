"""The authors' side of DiffPose's parity run (experiments/parity/diffpose.py).

Runs under a Python with torch, with the authors' checkout
(GONGJIA0208/Diffpose) on its path and as the working directory; imports
no jax. In --work (written by the jaxpose side: inputs.npz and the
Human3.6M-layout files under h36m/) it

1. builds their runner (`runners/diffpose_frame.Diffpose`, with their
   config `configs/human36m_diffpose_uvxyz_cpn.yml`), whose
   `create_diffusion_model` and `create_pose_model` initialise GCNdiff and
   GCNpose randomly; the parameters their init sets to constants (the
   FFN's A_hat = I, LayerNorm a_2 = 1 / b_2 = 0, ChebConv biases 0) are
   perturbed so that every convention shows in the outputs; saves both as
   their training loop does (torch.save([state_dict, optimizer, epoch,
   step(, ema)]), the EMA registered before the perturbation so it differs
   from the raw weights their evaluation loads);
2. runs their data path (`prepare_data`, `fetch_me`, `PoseGenerator_gmm`
   over the test subjects) -> data.npz (their 2D, uvxyz state, 3D);
3. in float32, then in float64, runs both networks on inputs.npz (x5,
   steps, x2) -> forward_<precision>.npz, and their evaluation
   (`test_hyber`: the lifter, the uvxyz state, the DDIM refinement from
   the configured start step), recording the poses its `mpjpe` is called
   with -> sampling_<precision>.npz;
4. with --helper (tests/helpers/authors_diffpose.py, the CI tests' torch
   stand-in), loads their two saved state dicts ('module.' removed) into
   the stand-in's GraFormers (strict) at their config's sizes and runs it
   on the same float32 inputs (outputs 'helper_denoiser' and
   'helper_lifter' of forward_float32.npz); helper.json holds whether the
   keys, their order, shapes and dtypes are equal.
float64: the models cast after saving (both precisions use the same
float32 weights), their row-normalised adjacency D^-1 (A + I) computed in
float64, the ChebConv module's `torch.float` read as float64 (its
Chebyshev polynomials are allocated with it), float64 betas; their time
embedding is built in float32 by their code and cast, as jaxpose's is
built in float32.

Their code needs CUDA (`.cuda()` calls); on this CPU-only interpreter
`.cuda()` of tensors and modules is made a no-op before it is imported.
"""
import argparse
import importlib.util
import json
import os
import sys

import numpy as np
import torch


def _no_cuda():
  torch.Tensor.cuda = lambda self, *a, **k: self
  torch.nn.Module.cuda = lambda self, *a, **k: self


def _perturb(model, gen):
  """The parameters their init sets to constants, made random."""
  with torch.no_grad():
    for name, p in model.named_parameters():
      if name.endswith("A_hat"):
        p.add_(0.2 * torch.rand(p.shape, generator=gen, dtype=p.dtype))
      elif name.endswith("a_2"):
        p.add_(0.2 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
      elif name.endswith(("b_2", "gconv.bias", "gconv_input.bias",
                          "gconv_output.bias")):
        p.add_(0.05 * torch.randn(p.shape, generator=gen, dtype=p.dtype))


class _Torch64:
  """torch, but `torch.float` is float64 (for their ChebConv module)."""

  def __getattr__(self, name):
    return torch.float64 if name == "float" else getattr(torch, name)


def _float64(runner, gcndiff):
  from common.utils_diff import get_beta_schedule
  from models import ChebConv as cheb_module
  for model in (runner.model_diff, runner.model_pose):
    model.double()
    for m in model.modules():
      if isinstance(getattr(m, "adj", None), torch.Tensor):
        a = (m.adj > 0).double()  # A + I
        m.adj = a / a.sum(1, keepdim=True)
  cheb_module.torch = _Torch64()
  d = runner.config.diffusion
  runner.betas = torch.from_numpy(get_beta_schedule(
      beta_schedule=d.beta_schedule, beta_start=d.beta_start,
      beta_end=d.beta_end, num_diffusion_timesteps=d.num_diffusion_timesteps))
  embed = gcndiff.get_timestep_embedding
  gcndiff.get_timestep_embedding = lambda t, dim: embed(t, dim).double()


def _save(runner_model, path, config, ema_helper=None):
  from common.utils import get_optimizer
  optimizer = get_optimizer(config, runner_model.parameters())
  states = [runner_model.state_dict(), optimizer.state_dict(), 79, 123456]
  if ema_helper is not None:
    states.append(ema_helper.state_dict())
  torch.save(states, path)


def _stand_ins(helper_path, config, diff, pose, work):
  """The tests' stand-in (by path) with their weights: (denoiser, lifter)."""
  spec = importlib.util.spec_from_file_location("authors_diffpose_helper",
                                                helper_path)
  helper = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(helper)
  m, summary, out = config.model, {}, []
  for name, theirs, denoiser in (("denoiser", diff, True),
                                 ("lifter", pose, False)):
    state = {k[len("module."):] if k.startswith("module.") else k: v
             for k, v in theirs.state_dict().items()}
    stand_in = helper.AuthorsLayoutGraFormer(
        hidden=m.hid_dim, layers=m.num_layer, heads=m.n_head, order=2,
        denoiser=denoiser)
    ours = stand_in.state_dict()
    summary[name] = {
        "state_dict_keys_equal": list(state) == list(ours),
        "shapes_and_dtypes_equal": set(state) == set(ours) and all(
            state[k].shape == ours[k].shape and state[k].dtype == ours[k].dtype
            for k in state),
        "parameter_order_equal": [
            n[len("module."):] for n, _ in theirs.named_parameters()]
        == [n for n, _ in stand_in.named_parameters()]}
    try:
      stand_in.load_state_dict(state)  # strict
    except RuntimeError as e:  # reported, the forward not compared
      summary[name]["load_error"] = str(e)[:2000]
      stand_in = None
    else:
      stand_in.eval()
    out.append(stand_in)
  with open(os.path.join(work, "helper.json"), "w") as f:
    json.dump(summary, f)
  return out


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--authors_repo", required=True)
  parser.add_argument("--work", required=True)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--helper", default="",
                      help="tests/helpers/authors_diffpose.py")
  args = parser.parse_args()
  # Their `common` package has no __init__.py: this folder's common.py
  # would shadow it, so the folder leaves the path.
  here = os.path.dirname(os.path.abspath(__file__))
  sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
  sys.path.insert(0, args.authors_repo)
  _no_cuda()
  import yaml
  from main_diffpose_frame import dict2namespace
  from models import gcndiff
  from models.ema import EMAHelper
  from runners import diffpose_frame
  from common.data_utils import fetch_me
  from common.generators import PoseGenerator_gmm

  work = os.path.abspath(args.work)
  with open(os.path.join(args.authors_repo, "configs",
                         "human36m_diffpose_uvxyz_cpn.yml")) as f:
    config = dict2namespace(yaml.safe_load(f))
  h36m = os.path.join(work, "h36m")
  config.data.dataset_path = os.path.join(h36m, "data_3d_h36m.npz")
  config.data.dataset_path_train_2d = os.path.join(h36m, "gmm_2d.npz")
  config.data.dataset_path_test_2d = os.path.join(h36m, "gmm_2d.npz")
  config.training.num_workers = 0
  config.training.batch_size = 64
  config.device = torch.device("cpu")
  run_args = argparse.Namespace(skip_type="uniform", eta=0.0, downsample=1,
                                actions="*", seed=args.seed)
  torch.manual_seed(args.seed)
  np.random.seed(args.seed)
  runner = diffpose_frame.Diffpose(run_args, config,
                                   device=torch.device("cpu"))
  runner.create_diffusion_model(None)
  runner.create_pose_model(None)
  diff, pose = runner.model_diff, runner.model_pose
  ema = EMAHelper(mu=config.model.ema_rate)
  ema.register(diff)
  gen = torch.Generator().manual_seed(args.seed + 1)
  _perturb(diff, gen)
  _perturb(pose, gen)
  _save(diff, os.path.join(work, "diffpose_uvxyz_cpn.pth"), config, ema)
  _save(pose, os.path.join(work, "gcn_xyz_cpn.pth"), config)
  diff.eval()
  pose.eval()
  stand_ins = (_stand_ins(args.helper, config, diff, pose, work)
               if args.helper else None)

  # The data path: the test subjects' rows as their loader gives them.
  runner.prepare_data()
  poses_3d, poses_2d, actions, cams = fetch_me(
      runner.subjects_test, runner.dataset, runner.keypoints_test, None, 1)
  loader = PoseGenerator_gmm(poses_3d, poses_2d, actions, cams)
  items = [loader[i] for i in range(len(loader))]
  np.savez(os.path.join(work, "data.npz"),
           uvxyz=np.stack([it[0].numpy() for it in items]),
           noise_scale=np.stack([it[1].numpy() for it in items]),
           pose2d=np.stack([it[2].numpy() for it in items]),
           pose3d=np.stack([it[3].numpy() for it in items]))

  inputs = np.load(os.path.join(work, "inputs.npz"))
  score = diffpose_frame.mpjpe
  for precision in ("float32", "float64"):
    dtype = torch.float32
    if precision == "float64":
      dtype = torch.float64
      _float64(runner, gcndiff)
      forward = pose.forward  # their loader gives float32 2D
      pose.forward = lambda x, m, forward=forward: forward(x.double(), m)
    # The networks on given inputs.
    with torch.no_grad():
      eps = diff(torch.tensor(inputs["x5"], dtype=dtype), runner.src_mask,
                 torch.tensor(inputs["steps"]).float(), 0)
      lifted = pose(torch.tensor(inputs["x2"], dtype=dtype), runner.src_mask)
    helper_out = {}
    if stand_ins and precision == "float32":
      with torch.no_grad():
        if stand_ins[0] is not None:
          helper_out["helper_denoiser"] = stand_ins[0](
              torch.tensor(inputs["x5"]),
              torch.tensor(inputs["steps"]).float()).numpy()
        if stand_ins[1] is not None:
          helper_out["helper_lifter"] = stand_ins[1](
              torch.tensor(inputs["x2"])).numpy()
    np.savez(os.path.join(work, f"forward_{precision}.npz"),
             denoiser=eps.numpy(), lifter=lifted.numpy(), **helper_out)
    # Their evaluation loop, its poses recorded where it scores them.
    seen = []

    def recording_mpjpe(predicted, target):
      seen.append((predicted.detach().numpy().copy(),
                   target.detach().numpy().copy()))
      return score(predicted, target.to(predicted.dtype))

    diffpose_frame.mpjpe = recording_mpjpe
    p1, p2 = runner.test_hyber()
    testing = config.testing
    np.savez(os.path.join(work, f"sampling_{precision}.npz"),
             pose3d=np.concatenate([s[0] for s in seen]),
             target=np.concatenate([s[1] for s in seen]),
             p1=np.float64(p1), p2=np.float64(p2),
             test_steps=np.asarray([testing.test_num_diffusion_timesteps,
                                    testing.test_timesteps]))
    print(f"{precision}: test rows {len(loader)}; their p1 {p1:.4f}")
  print(f"torch {torch.__version__}")


if __name__ == "__main__":
  main()
