"""GFPose's released checkpoint as a jaxpose workdir (the importer).

  python -m experiments.import_weights --method=gfpose \
      --checkpoint=checkpoint/u3d/best_model.pth --workdir=runs/gfpose_released

The authors' file (Embracing/GFPose, run/train_fc_adv_3d.py) is
{'model_state_dict', 'ema', 'step', 'epoch'}: the state dict of their
ScoreModelFC_Adv (a DataParallel 'module.' prefix is accepted) and their
`ExponentialMovingAverage.state_dict()` (decay, num_updates, shadow_params
in the network's parameter order). Their evaluation copies the EMA into the
network (`--weights=ema`, the default; `raw` takes the trained weights).
Every key and shape is checked against the network of the file's sizes
(`read_sizes`); anything else is refused, naming the key, before a file is
written.

Their network is jaxpose's `ScoreMLP` key for key (`rules`). Their `sigmas`
buffer (a VE table their forward reads only with scale_by_sigma, False for
GFPose) is checked to be there and dropped.

Their conventions, each set in the workdir's config:
- model: dropout 0.25 (hard-coded in their module), GroupNorm(32, eps
  1e-5), the positional embedding of 999 t, no output scaling; the
  condition residual, ScoreMLP's `c_mask * (x - c)` (`condition_from_authors`).
- sde: sub-VP, beta 0.1 -> 20, s(t) = 1 - a(t)^2; score = -out / s(t).
- representation (import option, default 'authors'): GFPose's image space
  (`pose/image_space.py`: x, y absolute normalised pixels, z root-relative
  depth in the same units) times data_scale = 30, scale_2d = 1.  The depth
  scale (`representation.image_depth`) stays the config's: 'focal' for
  data with cameras only (Human3.6M from VideoPose3D's files), 'crop_ratio'
  for LCN's pickles, the authors' own data (`data.name=h36m_lcn`).
  'config' keeps the config's representation, for a checkpoint their code
  trained on other rows (experiments/parity/train_gfpose.py).
"""
from __future__ import annotations

import dataclasses
import functools
import os
from typing import Mapping

import numpy as np

from jaxpose.interop import state_dicts
from jaxpose.interop import torch_files
from jaxpose.methods import base
from jaxpose.pose.skeleton import H36M_17

# Their network and process (lib/algorithms/advanced/model.py, configs/).
DIM = 3 * H36M_17.num_joints  # 51
DROPOUT = 0.25
NUM_GROUPS = 32
TIME_SCALE = 999.0
BETA_MIN, BETA_MAX = 0.1, 20.0
# Their data (lib/dataset/h36m.py, config.training.data_scale).
DATA_SCALE = 30.0
OPTIONS = {"weights": ("ema", "raw"), "representation": ("authors", "config")}
ReleasedCheckpointError = state_dicts.ReleasedCheckpointError


@dataclasses.dataclass(frozen=True)
class Checkpoint:
  """A GFPose checkpoint file, read.

  Attributes:
    state: the network's state dict, keys without prefixes.
    ema: the EMA's shadow parameters (parameter order) or None.
    ema_info: the EMA's decay and num_updates (provenance).
    step: the training step the file records.
    epoch: the epoch the file records (None if absent).
  """
  state: dict[str, np.ndarray]
  ema: list | None
  ema_info: dict
  step: int
  epoch: int | None


@dataclasses.dataclass(frozen=True)
class Sizes:
  hidden: int
  embed_dim: int
  num_blocks: int


def read_checkpoint(path: str) -> Checkpoint:
  """The network state, EMA and step of GFPose's best_model.pth layout."""
  obj = torch_files.load(path)
  if not isinstance(obj, Mapping):
    raise ReleasedCheckpointError(
        f"{path}: holds a {type(obj).__name__}, not GFPose's checkpoint dict "
        "('model_state_dict', 'ema', 'step', 'epoch')")
  if "model_state_dict" not in obj:
    raise ReleasedCheckpointError(
        f"{path}: no 'model_state_dict' (found keys "
        f"{sorted(map(str, obj))[:6]}): not a GFPose checkpoint")
  state = state_dicts.tensors(obj["model_state_dict"],
                              f"{path} ('model_state_dict')")
  state = state_dicts.strip_prefix(state, ("module.",))
  shadow, info = state_dicts.ema_state(obj.get("ema"), path)
  step, epoch = obj.get("step", 0), obj.get("epoch")
  return Checkpoint(state=state, ema=shadow, ema_info=info,
                    step=int(np.asarray(step)) if step is not None else 0,
                    epoch=None if epoch is None else int(np.asarray(epoch)))


def read_sizes(state: Mapping[str, np.ndarray], path: str) -> Sizes:
  """Hidden width, embedding width and block count of the file's network."""
  shape = functools.partial(state_dicts.shape_of, state, source=path,
                            what="a GFPose ScoreModelFC_Adv checkpoint")
  first = shape("pre_dense.weight")
  if len(first) != 2 or first[1] != DIM:
    raise ReleasedCheckpointError(
        f"{path}: 'pre_dense.weight' has shape {first}; GFPose's network "
        f"takes the 17 x 3 = {DIM} numbers of a pose (another method's "
        "checkpoint, e.g. DPoser's 63-D body pose?)")
  hidden = first[0]
  embed = shape("pre_dense_t.weight")
  if len(embed) != 2 or embed[0] != hidden:
    raise ReleasedCheckpointError(f"{path}: 'pre_dense_t.weight' has shape "
                                  f"{embed}, expected ({hidden}, E)")
  shape("cond_embed.0.weight")  # the conditional network
  if "gauss_proj.W" in state:
    raise ReleasedCheckpointError(
        f"{path}: unexpected key 'gauss_proj.W': a network with the Fourier "
        "time embedding; the released one (and jaxpose's) is positional")
  sigmas = shape("sigmas")
  if len(sigmas) != 1:
    raise ReleasedCheckpointError(f"{path}: 'sigmas' has shape {sigmas}, "
                                  "expected the [N] sigma table")
  state_dicts.check_groups(hidden, NUM_GROUPS, path)
  return Sizes(hidden=int(hidden), embed_dim=int(embed[1]),
               num_blocks=state_dicts.num_fc_blocks(state))


def rules(sizes: Sizes) -> list[state_dicts.Rule]:
  """One rule per parameter, in the authors' parameter order (their EMA's)."""
  h, e, d = sizes.hidden, sizes.embed_dim, DIM
  lin, norm = state_dicts.linear, state_dicts.norm
  out = (lin("pre_dense", "first/lin", d, h)
         + lin("pre_dense_t", "first/lin_t", e, h)
         + lin("pre_dense_cond", "first/lin_c", h, h)
         + norm("pre_gnorm", "first/norm", h)
         + lin("shared_time_embed.0", "time_embed", e, e)
         + lin("cond_embed.0", "cond_embed", d, h))
  for i in range(sizes.num_blocks):
    for j in (1, 2):
      at, path = f"b{i + 1}", f"blocks/{i}/layer{j}"
      out += lin(f"{at}_dense{j}", f"{path}/lin", h, h)
      out += lin(f"{at}_dense{j}_t", f"{path}/lin_t", e, h)
      out += lin(f"{at}_dense{j}_cond", f"{path}/lin_c", h, h)
      out += norm(f"{at}_gnorm{j}", f"{path}/norm", h)
  out += lin("post_dense", "out", h, d)
  return out


def weights(ckpt: Checkpoint, which: str, path: str) -> dict[str, np.ndarray]:
  """{jaxpose path: array} of the raw or EMA weights, every key checked."""
  expected = rules(read_sizes(ckpt.state, path))
  return state_dicts.raw_or_ema(ckpt.state, ckpt.ema, which, expected,
                                source=path, ignore=lambda k: k == "sigmas")


def condition_from_authors(condition, mask=None):
  """Their forward's (condition, mask) as ScoreMLP's `(c, c_mask)`.

  Their network sees mask * (x - condition) with the depth of the residual
  zeroed in a row whose condition has no depth (a 2D condition, z = 0);
  that is c_mask * (x - c) with c_mask = mask * (1, 1, has_depth).

  Args:
    condition: `[B, J, 3]` model units (2D conditions with z = 0).
    mask: `[B, J, 3]` or None (all ones).

  Returns:
    `(c [B, J, 3], c_mask [B, J, 3])`, numpy.
  """
  condition = np.asarray(condition)
  has_depth = np.abs(condition[..., 2]).sum(-1) > 0  # [B]
  keep = np.ones_like(condition)
  keep[..., 2] = has_depth[:, None]
  if mask is not None:
    keep = keep * np.asarray(mask, condition.dtype)
  return condition, keep


def network_section(sizes: Sizes) -> dict:
  """The config's `model` section of the authors' network."""
  return dict(name="score_mlp", hidden=sizes.hidden, embed_dim=sizes.embed_dim,
              num_blocks=sizes.num_blocks, dropout=DROPOUT,
              num_groups=NUM_GROUPS, time_scale=TIME_SCALE)


def representation_section(base_section: Mapping) -> dict:
  """The authors' image space at data_scale 30 over the config's section
  (its depth scale, `image_depth`, and the keys the space does not read)."""
  out = dict(base_section)
  out.update(skeleton="h36m_17", space="image", scale_2d=1.0,
             data_scale=DATA_SCALE)
  return out


def import_checkpoint(request: base.ImportRequest) -> base.Imported:
  """`request.checkpoint` as an `Imported` GFPose workdir."""
  opts = state_dicts.import_options(request.options, OPTIONS, "GFPose")
  path = request.checkpoint
  ckpt = read_checkpoint(path)
  params = weights(ckpt, opts["weights"], path)
  sizes = read_sizes(ckpt.state, path)
  config = dict(request.base_config("gfpose"))
  if config.get("method") != "gfpose":
    raise ReleasedCheckpointError(
        f"the import's config is method={config.get('method')!r}; GFPose's "
        "weights need a gfpose config (--config)")
  config["model"] = network_section(sizes)
  config["sde"] = dict(name="subvp", beta_min=BETA_MIN, beta_max=BETA_MAX)
  if opts["representation"] == "authors":
    config["representation"] = representation_section(
        config.get("representation", {}))
  rep = config.get("representation", {})
  source = dict(
      checkpoint=os.path.abspath(path), weights=opts["weights"],
      step=ckpt.step, epoch=ckpt.epoch, ema=ckpt.ema_info,
      network=dict(hidden=sizes.hidden, embed_dim=sizes.embed_dim,
                   num_blocks=sizes.num_blocks,
                   parameters=int(sum(v.size for v in params.values()))),
      conventions=dict(
          network=f"ScoreModelFC_Adv: dropout {DROPOUT}, GroupNorm("
                  f"{NUM_GROUPS}), positional embedding of {TIME_SCALE:g} t, "
                  "condition residual c_mask * (x - c), no output scaling",
          process=f"sub-VP, beta {BETA_MIN} -> {BETA_MAX}, s(t) = 1 - a(t)^2, "
                  "score = -out / s(t)",
          representation=(
              f"{opts['representation']}: space={rep.get('space')!r}, "
              f"scale_2d * data_scale = "
              f"{rep.get('scale_2d', 1.0) * rep.get('data_scale', 1.0):g}, "
              f"image_depth={rep.get('image_depth', 'focal')!r}")),
      dropped=["sigmas (their VE table; read only with scale_by_sigma, "
               "False for GFPose)"])
  return base.Imported(config=config, params=params, step=ckpt.step,
                       source=source)


__all__ = ["Checkpoint", "Sizes", "ReleasedCheckpointError", "read_checkpoint",
           "read_sizes", "rules", "weights", "condition_from_authors",
           "network_section",
           "representation_section", "import_checkpoint"]
