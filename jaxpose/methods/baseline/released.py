"""DiffPose's released GraFormer lifter as a jaxpose workdir (the importer).

  python -m experiments.import_weights --method=baseline \
      --checkpoint=gcn_xyz_cpn.pth --workdir=runs/graformer_released

`gcn_xyz_{cpn,gt}.pth` (GONGJIA0208/Diffpose, `models/gcnpose.py`
GCNpose) is a `torch.save` list [state dict, optimiser state, epoch, step]
(+ an EMA dict when trained by their loop), the state dict of a
`DataParallel` model ('module.' prefixed keys). Its network is GraFormer:
ChebConv(2, H) -> L x {attention block, residual Chebyshev block} ->
ChebConv(H, 3), jaxpose's `graph_lifter`; `temb.dense.*`, a time MLP the
lifter's forward never calls, is read, checked and dropped. Sizes (hidden,
order, layers, joints) are read from the weights; the heads, which no
weight shows, from the config's `model.num_heads` (released: 4).

Their conventions, each an option of jaxpose's network (defaults
unchanged) that `graph_layers` and `context_encoder` describe, are set in
the workdir's config (`network_section`): `CONVENTIONS` (the released
laplacian, layer_norm, adjacency_norm and attention dropout), the dropout
rates and `ROOT` ('zeroed', as their in-place re-centring computes).
Their ChebConv weight [K + 1, 1, C_in, C_out] and bias [1, 1, C_out] hold
the same numbers as jaxpose's kernel [K + 1, C_in, C_out] and bias
[C_out] (y = sum_k T_k x W_k + b in both): the rules reshape them.
Their units (`representation_section`): 2D screen-normalised as
VideoPose3D's, 3D in metres, root-relative (scale_3d_mm 1000).

`import_checkpoint` refuses, naming the key, a file whose keys or shapes
are not this network's (another method's checkpoint, the denoiser given
as the lifter, a truncated file) before anything is written.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Any, Mapping

import numpy as np

from jaxpose.evaluation import config as eval_config
from jaxpose.interop import state_dicts
from jaxpose.interop import torch_files
from jaxpose.methods import base
from jaxpose.training import config as train_config

# The released training settings (configs/human36m_diffpose_uvxyz_*.yml,
# models/GraFormer.py, models/ChebConv.py).
DROPOUT = 0.25  # the attention and FFN branches (config `dropout`)
CONV_DROPOUT = 0.1  # after each graph convolution (hard-coded)
ATTENTION_DROPOUT = 0.1  # on the attention weights (MultiHeadedAttention)
NUM_HEADS = 4  # configs' n_head; no weight shows it
ROOT = "zeroed"  # their in-place re-centring, as PyTorch runs it
CONVENTIONS = dict(laplacian="row_normalised", layer_norm="graformer",
                   adjacency_norm="graformer",
                   attention_dropout=ATTENTION_DROPOUT)
WEIGHTS = ("raw", "ema")
ReleasedCheckpointError = state_dicts.ReleasedCheckpointError


@dataclasses.dataclass(frozen=True)
class Checkpoint:
  """A released DiffPose-repository checkpoint, read.

  Attributes:
    state: the network's state dict, keys without 'module.'.
    ema: the EMA's shadow parameters by name, or None.
    epoch, step: what the file records (0 when it does not).
  """
  state: dict[str, np.ndarray]
  ema: dict[str, np.ndarray] | None
  epoch: int
  step: int


@dataclasses.dataclass(frozen=True)
class Sizes:
  """A GraFormer's sizes as its weights show them."""
  num_joints: int
  hidden: int
  order: int
  num_layers: int
  in_dim: int
  out_dim: int
  embed_dim: int | None  # the time MLP's width (None: no time MLP)


def read_checkpoint(path: str, what: str) -> Checkpoint:
  """The state dict, EMA, epoch and step of a released file.

  Their training loop saves [state_dict, optimiser, epoch, step(, ema)];
  a bare state dict is read too. `what` names the file in messages.
  """
  obj = torch_files.load(path)
  ema, epoch, step = None, 0, 0
  if isinstance(obj, (list, tuple)):
    if not obj or not isinstance(obj[0], Mapping):
      raise ReleasedCheckpointError(
          f"{path}: a list whose first entry is not a state dict: not "
          f"{what} ([state_dict, optimizer, epoch, step, ema])")
    state = obj[0]
    epoch = _int(obj[2]) if len(obj) > 2 else 0
    step = _int(obj[3]) if len(obj) > 3 else 0
    if len(obj) > 4 and isinstance(obj[4], Mapping):
      ema = state_dicts.tensors(obj[4], f"{path} (EMA)")
  elif isinstance(obj, Mapping):
    if "model_state_dict" in obj or "state_dict" in obj:
      found = sorted(map(str, obj))[:6]
      raise ReleasedCheckpointError(
          f"{path}: a checkpoint dict with keys {found} (GFPose's or "
          f"DPoser's layout), not {what}")
    state = obj
  else:
    raise ReleasedCheckpointError(f"{path}: holds a {type(obj).__name__}, "
                                  f"not {what}")
  state = state_dicts.strip_prefix(state_dicts.tensors(state, path),
                                   ("module.",))
  return Checkpoint(state=state, ema=ema, epoch=epoch, step=step)


def _int(v) -> int:
  try:
    return int(np.asarray(v))
  except (TypeError, ValueError):
    return 0


def read_sizes(state: Mapping[str, np.ndarray], path: str, what: str
               ) -> Sizes:
  """A GraFormer's sizes from its input/output ChebConvs and layers."""
  first = state_dicts.shape_of(state, "gconv_input.weight", path, what)
  last = state_dicts.shape_of(state, "gconv_output.weight", path, what)
  for key, shape in (("gconv_input.weight", first),
                     ("gconv_output.weight", last)):
    if len(shape) != 4 or shape[1] != 1:
      raise ReleasedCheckpointError(
          f"{path}: {key!r} has shape {shape}, expected their ChebConv's "
          f"[K + 1, 1, C_in, C_out]: not {what}")
  num_layers = 0
  while f"gconv_layers.{num_layers}.gconv1.gconv.weight" in state:
    num_layers += 1
  if num_layers == 0:
    raise ReleasedCheckpointError(f"{path}: no 'gconv_layers.0.*' keys: "
                                  f"not {what}")
  adj = state_dicts.shape_of(state, "atten_layers.0.feed_forward.A_hat",
                             path, what)
  embed = state.get("temb.dense.0.weight")
  return Sizes(num_joints=int(adj[0]), hidden=int(first[3]),
               order=int(first[0]) - 1, num_layers=num_layers,
               in_dim=int(first[2]), out_dim=int(last[3]),
               embed_dim=None if embed is None else int(embed.shape[0]))


def _cheb_kernel(w: np.ndarray) -> np.ndarray:
  return np.ascontiguousarray(w[:, 0])  # [K+1, 1, I, O] -> [K+1, I, O]


def _cheb_bias(b: np.ndarray) -> np.ndarray:
  return np.ascontiguousarray(b.reshape(-1))  # [1, 1, O] -> [O]


def cheb(key: str, path: str, order: int, in_dim: int, out_dim: int
         ) -> list[state_dicts.Rule]:
  """Their ChebConv at `key` -> jaxpose's `ChebConv` at `path`."""
  return [state_dicts.Rule(f"{key}.weight", f"{path}/kernel",
                           (order + 1, 1, in_dim, out_dim), _cheb_kernel),
          state_dicts.Rule(f"{key}.bias", f"{path}/bias", (1, 1, out_dim),
                           _cheb_bias)]


def trunk_rules(sizes: Sizes) -> list[state_dicts.Rule]:
  """The rules every GraFormer shares: input and output convolutions, the
  attention blocks and the residual Chebyshev blocks."""
  h, k, j = sizes.hidden, sizes.order, sizes.num_joints
  lin, norm = state_dicts.linear, state_dicts.norm
  out = cheb("gconv_input", "input_conv", k, sizes.in_dim, h)
  for i in range(sizes.num_layers):
    at, to = f"atten_layers.{i}", f"layers/{i}/attention"
    for n, name in enumerate(("to_q", "to_k", "to_v", "to_out")):
      out += lin(f"{at}.self_attn.linears.{n}", f"{to}/attention/{name}", h, h)
    out.append(state_dicts.Rule(f"{at}.feed_forward.A_hat",
                                f"{to}/ffn/adjacency", (j, j)))
    out += lin(f"{at}.feed_forward.gconv1.fc", f"{to}/ffn/lin1", h, 2 * h)
    out += lin(f"{at}.feed_forward.gconv2.fc", f"{to}/ffn/lin2", 2 * h, h)
    for n in (0, 1):
      out += norm(f"{at}.sublayer.{n}.norm", f"{to}/norm{n + 1}", h,
                  weight="a_2", bias="b_2")
    for n in (1, 2):
      out += cheb(f"gconv_layers.{i}.gconv{n}.gconv",
                  f"layers/{i}/graph/conv{n}", k, h, h)
  out += cheb("gconv_output", "output_conv", k, h, sizes.out_dim)
  return out


LIFTER = "DiffPose's GraFormer lifter (gcn_xyz_{cpn,gt}.pth)"


def lifter_rules(sizes: Sizes) -> list[state_dicts.Rule]:
  """GCNpose: the trunk, and `temb.dense.*` read and dropped."""
  out = trunk_rules(sizes)
  if sizes.embed_dim is not None:
    h, e = sizes.hidden, sizes.embed_dim
    out += [state_dicts.Rule("temb.dense.0.weight", None, (e, h)),
            state_dicts.Rule("temb.dense.0.bias", None, (e,)),
            state_dicts.Rule("temb.dense.1.weight", None, (e, e)),
            state_dicts.Rule("temb.dense.1.bias", None, (e,))]
  return out


def weights(ckpt: Checkpoint, rules, which: str, path: str
            ) -> dict[str, np.ndarray]:
  """{jaxpose path: array} of the raw or EMA weights, every key checked."""
  raw = state_dicts.convert(ckpt.state, rules, source=path)
  if which == "raw":
    return raw
  if ckpt.ema is None:
    raise ReleasedCheckpointError(f"{path}: no EMA weights in the file; "
                                  "import the trained ones with --weights=raw")
  # The EMA holds the parameters only: a rule without a jaxpose path may
  # name a key it lacks (none does in their code: all are parameters).
  return state_dicts.convert(ckpt.ema, rules, source=f"{path} (EMA)")


def check_weights_option(options: Mapping[str, str], importer: str) -> str:
  """The `weights` option (default raw, as their evaluation loads)."""
  return state_dicts.import_options(options, {"weights": WEIGHTS},
                                    importer)["weights"]


def representation_section() -> dict:
  """Their units: screen-normalised 2D, root-relative metres."""
  return dict(scale_3d_mm=1000.0, scale_2d=1.0, data_scale=1.0,
              root_relative_2d=False, skeleton="h36m_17",
              space="root_relative")


def network_section(sizes: Sizes, num_heads: int) -> dict:
  """The config's `model` section of the released lifter."""
  return dict(name="graph_lifter", hidden=sizes.hidden,
              num_layers=sizes.num_layers, num_heads=int(num_heads),
              order=sizes.order, dropout=DROPOUT, conv_dropout=CONV_DROPOUT,
              root=ROOT, **CONVENTIONS)


def check_sizes(sizes: Sizes, num_heads: int, path: str,
                dims: tuple[int, int], what: str, hint: str = ""):
  """A GraFormer of `dims` (in, out) numbers per joint whose width the
  heads divide, or a refusal naming what the file is instead (`hint`)."""
  if (sizes.in_dim, sizes.out_dim) != dims:
    raise ReleasedCheckpointError(
        f"{path}: 'gconv_input.weight' maps {sizes.in_dim} -> ... -> "
        f"{sizes.out_dim} numbers per joint, expected {dims[0]} -> {dims[1]}: "
        f"not {what}{hint}")
  if sizes.hidden % num_heads:
    raise ReleasedCheckpointError(
        f"{path}: hidden width {sizes.hidden} is not a multiple of "
        f"model.num_heads={num_heads}")


def encoder_config(config: Mapping[str, Any], sizes: Sizes, num_heads: int
                   ) -> dict:
  """A baseline config of the lifter on `config`'s data (any method's
  config: its data and its generic train and eval fields are kept)."""
  generic = {f.name for f in dataclasses.fields(eval_config.EvalConfig)}
  given = dict(config["eval"])
  evaluation = {k: v for k, v in given.items() if k in generic}
  evaluation["lift_batch_size"] = int(given.get(
      "lift_batch_size", given.get("batch_poses", 1024)))
  shared = {f.name for f in dataclasses.fields(train_config.TrainConfig)}
  train = {k: v for k, v in dict(config["train"]).items() if k in shared}
  return dict(method="baseline", seed=config["seed"], data=config["data"],
              train=train, eval=evaluation,
              representation=representation_section(),
              model=network_section(sizes, num_heads),
              holdout=dict(fraction=0.0, seed=0))


def import_lifter(path: str, config: Mapping[str, Any], which: str
                  ) -> base.Imported:
  """`path` (gcn_xyz_*.pth) as a baseline `Imported` on `config`'s data."""
  ckpt = read_checkpoint(path, LIFTER)
  sizes = read_sizes(ckpt.state, path, LIFTER)
  num_heads = int(dict(config.get("model", {})).get("num_heads", NUM_HEADS))
  check_sizes(sizes, num_heads, path, (2, 3), LIFTER, hint=(
      " (DiffPose's denoiser diffpose_uvxyz_*.pth: give it as --checkpoint "
      "with --method=diffpose)" if sizes.in_dim == 5 else ""))
  params = weights(ckpt, lifter_rules(sizes), which, path)
  source = dict(
      checkpoint=os.path.abspath(path), weights=which, epoch=ckpt.epoch,
      step=ckpt.step, network=dataclasses.asdict(sizes),
      conventions=dict(CONVENTIONS, root=ROOT,
                       cheb_layout="[K+1, 1, in, out] -> [K+1, in, out]"),
      units="2D screen-normalised, 3D root-relative metres",
      dropped=["temb.dense.* (a time MLP GCNpose's forward never calls)"]
      if sizes.embed_dim is not None else [])
  return base.Imported(config=encoder_config(config, sizes, num_heads),
                       params=params, step=ckpt.step, source=source)


def import_checkpoint(request: base.ImportRequest) -> base.Imported:
  """--method=baseline: the lifter alone on the config's data."""
  which = check_weights_option(request.options, "the GraFormer lifter")
  return import_lifter(request.checkpoint, request.base_config("baseline"),
                       which)


__all__ = ["ReleasedCheckpointError", "Checkpoint", "Sizes", "read_checkpoint",
           "read_sizes", "cheb", "trunk_rules", "lifter_rules", "weights",
           "check_weights_option", "check_sizes", "representation_section",
           "network_section", "encoder_config", "import_lifter",
           "import_checkpoint"]
