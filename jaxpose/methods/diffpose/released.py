"""DiffPose's released checkpoints as jaxpose workdirs (the importer).

  python -m experiments.import_weights --method=diffpose \
      --checkpoint=diffpose_uvxyz_cpn.pth --encoder=gcn_xyz_cpn.pth \
      --workdir=runs/diffpose_authors_cpn

writes WORKDIR (the denoiser, a DiffPose workdir) and WORKDIR/encoder (the
GraFormer lifter, a baseline graph_lifter workdir: `baseline.released`),
which the DiffPose config names as `diffpose.encoder_workdir`.

`diffpose_uvxyz_{cpn,gt}.pth` (GONGJIA0208/Diffpose, `models/gcndiff.py`
GCNdiff) is a `torch.save` list [state dict ('module.' prefixed),
optimiser state, epoch, step, EMA]; their evaluation loads the raw state
dict (`--weights=raw`, the default; `ema` takes the EMA copy; the lifter
is read raw, as their code loads it). Its network is jaxpose's
`diffpose_denoiser` without a condition path (`cond_dim=0`), with the
lifter's trunk and conventions (`denoiser_rules`). Sizes come from the
weights, the heads from the config (released: 4). Their process and sampler, set in the config:
- `sde`: DiscreteVP, 51 steps, betas linear 1e-4 .. 1e-3;
- `model.time_input='step'`: the sinusoid of the integer step index i
  (0-based), which their loop feeds; jaxpose's t = (i + 1) / 51;
- `diffpose.output_root='zeroed'` and the lifter's `root='zeroed'`: their
  in-place re-centring of the lifter's 3D and of the result, as PyTorch
  computes it (`models.context_encoder`);
- `diffpose.initial='standard'` with the prepared H_K N(0, I) around 0
  (`released_initial`): their x_t = sqrt(abar) x_0 + sqrt(1 - abar) e and
  the network predicts e itself (their training scales e by a 2D kernel
  std; at test the output is used as e), so the std is 1 on all 5
  numbers; `diffpose.network_input='state'`;
- the refiner (`eval_section`): the lifter's pose [2D, 3D] (root zeroed)
  taken as the state at the released start step k (CPN 12, GT 6: their
  test_num_diffusion_timesteps // test_timesteps), one hypothesis, 2 DDIM
  steps (eta 0) visiting steps k, 0, then clean data, as their
  `generalized_steps` over seq = range(0, 2k, k) does.  jaxpose's grid
  t_j = ((1 - j/2) t_k^(1/rho))^rho puts the middle time at 0.5^rho t_k,
  which is time(0) = 1/51 for rho = log2(k + 1) (`released_grid_rho`);
  DiscreteVP snaps times to steps, so the steps are exactly theirs; no
  range on the denoised state (`eval.x0_clip` off), as theirs keeps none.
The variant (cpn or gt) is read from the file names; a config whose
Human3.6M 2D is the other one is refused.
"""
from __future__ import annotations

import math
import os
import re
from typing import Any, Mapping

import numpy as np

from jaxpose.interop import state_dicts
from jaxpose.methods import base
from jaxpose.methods.baseline import released as lifter_lib
from jaxpose.methods.diffpose import initial as initial_lib
from jaxpose.methods.diffpose import process
from jaxpose.workdir import layout

NUM_STEPS, BETA_START, BETA_END = 51, 1e-4, 1e-3
# The start step of each released variant: configs/human36m_diffpose_uvxyz_
# {cpn,gt}.yml test_num_diffusion_timesteps (24, 12) // test_timesteps (2).
RELEASED_START_STEPS = {"cpn": 12, "gt": 6}
DENOISER = "DiffPose's denoiser (diffpose_uvxyz_{cpn,gt}.pth)"
ReleasedCheckpointError = lifter_lib.ReleasedCheckpointError


def released_grid_rho(start_step: int) -> float:
  """The grid spacing whose 2-step DDIM grid from step k visits step 0."""
  if start_step < 1:
    raise ValueError(f"start_step: expected >= 1, got {start_step}")
  return math.log2(start_step + 1)


def eval_section(start_step: int) -> dict:
  """The released refiner's keys of `config.eval` (module docstring)."""
  return dict(start="centre", start_step=int(start_step), num_steps=2,
              num_hypotheses=1, hypotheses_list=(1,),
              sampler=f"ddim:grid_rho={released_grid_rho(start_step)!r}",
              x0_clip=False)


def variant_of(path: str | None) -> str | None:
  """'cpn' or 'gt' when a file name says which (their names do), else None."""
  if not path:
    return None
  name = os.path.basename(path).lower()
  hits = [v for v in RELEASED_START_STEPS
          if re.search(rf"(^|[_.\-]){v}([_.\-]|$)", name)]
  return hits[0] if len(hits) == 1 else None


def _data_variant(config: Mapping[str, Any]) -> str | None:
  """Which 2D a Human3.6M config tests on ('gt' or 'cpn'), else None."""
  data = dict(config.get("data", {}))
  if data.get("name") != "h36m":
    return None
  path = data.get("test_path_2d") or data.get("path_2d") or ""
  return "gt" if os.path.basename(path) == "data_2d_h36m_gt.npz" else "cpn"


def denoiser_rules(sizes: lifter_lib.Sizes) -> list[state_dicts.Rule]:
  """GCNdiff: the GraFormer trunk, the time MLP and each layer's temb_proj."""
  h, e = sizes.hidden, sizes.embed_dim
  lin = state_dicts.linear
  out = lifter_lib.trunk_rules(sizes)
  out += lin("temb.dense.0", "time_in", h, e) + lin("temb.dense.1",
                                                    "time_out", e, e)
  for i in range(sizes.num_layers):
    out += lin(f"gconv_layers.{i}.temb_proj", f"layers/{i}/time_proj", e, h)
  return out


def check_denoiser(sizes: lifter_lib.Sizes, num_heads: int, path: str):
  """A denoiser's sizes, or a refusal naming what the file is instead."""
  lifter_lib.check_sizes(
      sizes, num_heads, path, (process.STATE_DIM,) * 2, DENOISER, hint=(
          " (DiffPose's GraFormer lifter gcn_xyz_*.pth: give it as "
          "--encoder)" if sizes.in_dim == 2 else ""))
  if sizes.embed_dim is None:
    raise ReleasedCheckpointError(f"{path}: key 'temb.dense.0.weight' "
                                  f"missing: not {DENOISER}")


def network_section(sizes: lifter_lib.Sizes, num_heads: int) -> dict:
  """The config's `model` section of the released denoiser."""
  return dict(name="diffpose_denoiser", cond_dim=0, hidden=sizes.hidden,
              embed_dim=sizes.embed_dim, num_layers=sizes.num_layers,
              num_heads=int(num_heads), order=sizes.order,
              dropout=lifter_lib.DROPOUT, conv_dropout=lifter_lib.CONV_DROPOUT,
              time_input="step", **lifter_lib.CONVENTIONS)


def released_initial(num_joints: int) -> base.Artefact:
  """H_K of the released code: N(0, I) around 0 (module docstring)."""
  shape = (1, num_joints, process.STATE_DIM)
  init = initial_lib.Initial(
      weights=np.ones((1,), np.float32), means=np.zeros(shape, np.float32),
      scales=np.ones(shape, np.float32), centred=False,
      info=dict(kind="standard", num_kernels=1, num_rows=0,
                source="the released code: e ~ N(0, I) around 0, the "
                       "network's output used as e"))
  return init.to_artefact()


def _check_variants(request: base.ImportRequest, config) -> str | None:
  named = {k: variant_of(p) for k, p in (
      ("--checkpoint", request.checkpoint),
      ("--encoder", request.files.get("encoder")))}
  found = {v for v in named.values() if v}
  if len(found) > 1:
    raise ReleasedCheckpointError(
        f"--checkpoint={os.path.basename(request.checkpoint)} and --encoder="
        f"{os.path.basename(request.files['encoder'])}: one is the CPN-2D "
        "model, the other the ground-truth-2D one; import a matching pair")
  variant = found.pop() if found else None
  data = _data_variant(config)
  if variant and data and variant != data:
    raise ReleasedCheckpointError(
        f"--checkpoint={os.path.basename(request.checkpoint)}: the "
        f"{variant}-2D model, but the config tests on {data} 2D; use "
        f"--config=experiments/configs/diffpose_authors.py:{variant}")
  return variant or data


def import_checkpoint(request: base.ImportRequest) -> base.Imported:
  """`request.checkpoint` (+ files['encoder']) as an `Imported` with the
  lifter as its companion workdir 'encoder'."""
  which = lifter_lib.check_weights_option(request.options, "DiffPose")
  path = request.checkpoint
  # The denoiser first (another method's file is named as such), then the
  # lifter; nothing is written before both are read and checked.
  ckpt = lifter_lib.read_checkpoint(path, DENOISER)
  sizes = lifter_lib.read_sizes(ckpt.state, path, DENOISER)
  config = dict(request.base_config("diffpose"))
  num_heads = int(dict(config.get("model", {})).get(
      "num_heads", lifter_lib.NUM_HEADS))
  check_denoiser(sizes, num_heads, path)
  params = lifter_lib.weights(ckpt, denoiser_rules(sizes), which, path)
  encoder_path = request.files.get("encoder")
  if not encoder_path:
    raise ReleasedCheckpointError(
        "--encoder: missing; DiffPose's released refiner starts from its "
        "GraFormer lifter (gcn_xyz_cpn.pth or gcn_xyz_gt.pth)")
  variant = _check_variants(request, config)
  encoder = lifter_lib.import_lifter(encoder_path, config, "raw")
  if encoder.source["network"]["num_joints"] != sizes.num_joints:
    raise ReleasedCheckpointError(
        f"--encoder={encoder_path}: a lifter of "
        f"{encoder.source['network']['num_joints']} joints, the denoiser has "
        f"{sizes.num_joints}")
  start_step = (RELEASED_START_STEPS[variant] if variant else
                int(dict(config["eval"]).get("start_step", -1)))
  if start_step < 1:
    raise ReleasedCheckpointError(
        f"{os.path.basename(path)}: the file names do not say cpn or gt and "
        f"the config's eval.start_step={start_step}: give the released start "
        f"step ({RELEASED_START_STEPS}) in the config")
  config["model"] = network_section(sizes, num_heads)
  config["sde"] = dict(name="discrete_vp", num_steps=NUM_STEPS,
                       beta_start=BETA_START, beta_end=BETA_END)
  config["representation"] = lifter_lib.representation_section()
  config["diffpose"] = dict(
      dict(config["diffpose"]), initial="standard", network_input="state",
      scale_3d=1.0, output_root=lifter_lib.ROOT,
      encoder_workdir=layout.Workdir(request.workdir).companion("encoder"))
  config["eval"] = dict(dict(config["eval"]), **eval_section(start_step))
  source = dict(
      checkpoint=os.path.abspath(path), weights=which, variant=variant,
      epoch=ckpt.epoch, step=ckpt.step,
      network=dict(hidden=sizes.hidden, embed_dim=sizes.embed_dim,
                   num_layers=sizes.num_layers, order=sizes.order),
      conventions=dict(
          lifter_lib.CONVENTIONS, time_input="step: the integer step index",
          cheb_layout="[K+1, 1, in, out] -> [K+1, in, out]",
          schedule=f"DiscreteVP, {NUM_STEPS} steps, betas linear "
                   f"{BETA_START} .. {BETA_END}",
          initial="N(0, I) around 0; the output is e itself",
          root="zeroed: their in-place x[:, :, :] -= x[:, :1, :] of the "
               "lifter's 3D and of the result, as PyTorch computes it",
          refiner=f"start step {start_step}, DDIM eta 0 over steps "
                  f"{start_step}, 0, clean"),
      encoder=encoder.source)
  return base.Imported(config=config, params=params,
                       prepared={initial_lib.ARTEFACT:
                                 released_initial(sizes.num_joints)},
                       step=ckpt.step, source=source,
                       companions={"encoder": encoder})


__all__ = ["NUM_STEPS", "BETA_START", "BETA_END", "RELEASED_START_STEPS",
           "released_grid_rho", "eval_section", "variant_of",
           "denoiser_rules", "check_denoiser", "network_section",
           "released_initial", "import_checkpoint"]
