"""DPoser's released checkpoints as jaxpose workdirs (the importer).

  python -m experiments.import_weights --method=dposer \
      --checkpoint=axis-zscore-400k.pth --statistics=axis_normalize2.pt \
      --workdir=runs/dposer_released

Two layouts of the authors' repository (moonbow721/DPoser) are read:

  v1  `axis-zscore-400k.pth` (branch main): {'model_state_dict', 'ema',
      'step', ...}; ScoreModelFC, whose `pre_dense_cond` layer its forward
      never uses (read, checked, dropped).
  v2  a Lightning `.ckpt` (branch v2): {'state_dict' (the network under
      'model.', the trainer's SMPL-X buffers under 'body_model_vis.' and
      'body_model_eval.', dropped), 'model_ema', 'global_step', ...};
      TimeFC. Its 'hyper_parameters' (their trainer's ConfigDict, read
      inert) go into imported.json's `hyper_parameters` as text.

Both files' EMA (`ExponentialMovingAverage.state_dict()`: decay,
num_updates, shadow_params in parameter order) holds the weights the
authors evaluate (`--weights=ema`, the default; `raw`: the trained ones).
Every key and shape is checked against the network of the file's sizes
(hidden, embedding width, block count); anything else is refused, naming
the key, before a file is written.

Their conventions, each an option of jaxpose's own code (its defaults
unchanged), are set in the workdir's config:
- `model.output_scale='ve_sigma'`: the output divided by
  sigmas[floor(999 t)], sigmas geometric from 50 down to 0.01 over 1000
  entries (`scale_by_sigma` with a positional embedding, as every one of
  their body configs sets it; the weights cannot tell); the file's
  `sigmas` buffer is checked against that ladder.
- the sub-VP process with s(t) = 1 - a(t)^2 (their `marginal_prob` std):
  jaxpose's `SubVPSDE` already is that, beta 0.1 -> 20.
- the time embedding of 999 t (positional, 10000 max period): ScoreMLP's.
The z-score statistics come from the authors' file (`--statistics`,
`axis_normalize2.pt`: mean_poses, std_poses [63]) into the prepared "body"
artefact; its canonical skeleton and 22 -> 17 regressor are fitted on the
config's training rows as a training would (the authors pose SMPL-X
instead, a licensed file jaxpose does not need).
"""
from __future__ import annotations

import dataclasses
import functools
import json
import os
from typing import Any, Mapping

import numpy as np

from jaxpose import methods
from jaxpose.interop import state_dicts
from jaxpose.interop import torch_files
from jaxpose.methods import base
from jaxpose.methods.dposer import body as body_lib
from jaxpose.models import score_mlp

# The authors' network and process (configs/body/subvp/timefc.py and
# configs/general_configs.py of their repository).
DROPOUT = 0.1
NUM_GROUPS = 32
TIME_SCALE = 999.0
SIGMA_MIN, SIGMA_MAX = 0.01, 50.0
BETA_MIN, BETA_MAX = 0.1, 20.0
# Keys of the v2 Lightning state dict that are not the network.
_TRAINER_BUFFERS = ("body_model_vis.", "body_model_eval.")
# The recorded hyper-parameters' size in imported.json (JSON characters);
# past it, the JSON text cut there.
HYPER_PARAMETERS_CHARS = 20000
ReleasedCheckpointError = state_dicts.ReleasedCheckpointError


@dataclasses.dataclass(frozen=True)
class Checkpoint:
  """A DPoser checkpoint file, read.

  Attributes:
    layout: 'v1' (ScoreModelFC .pth) or 'v2' (Lightning TimeFC .ckpt).
    state: the network's state dict, keys without prefixes.
    ema: the EMA's shadow parameters (parameter order) or None.
    ema_info: the EMA's decay and num_updates (provenance).
    step: the training step the file records.
    hyper_parameters: a Lightning file's 'hyper_parameters' (module doc) as
      `torch_files.describe` renders it (truncated past
      HYPER_PARAMETERS_CHARS); None when absent.
  """
  layout: str
  state: dict[str, np.ndarray]
  ema: list | None
  ema_info: dict
  step: int
  hyper_parameters: Any = None


@dataclasses.dataclass(frozen=True)
class Sizes:
  """The network's sizes as the checkpoint's shapes give them."""
  hidden: int
  embed_dim: int
  num_blocks: int
  num_scales: int


def read_checkpoint(path: str) -> Checkpoint:
  """The network state, EMA and step of a v1 or v2 DPoser file."""
  obj = torch_files.load(path)
  if not isinstance(obj, Mapping):
    raise ReleasedCheckpointError(
        f"{path}: holds a {type(obj).__name__}, not DPoser's checkpoint "
        "dict ('model_state_dict' (v1 .pth) or 'state_dict' (v2 .ckpt))")
  if "model_state_dict" in obj:
    layout, state = "v1", obj["model_state_dict"]
    ema, step = obj.get("ema"), obj.get("step", 0)
  elif "state_dict" in obj:
    layout, ema, step = "v2", obj.get("model_ema"), obj.get("global_step", 0)
    state = _lightning_network(obj["state_dict"], path)
  else:
    raise ReleasedCheckpointError(
        f"{path}: no 'model_state_dict' (v1 .pth) or 'state_dict' (v2 "
        f"Lightning .ckpt); found keys {sorted(map(str, obj))[:6]}: not a "
        "DPoser checkpoint")
  state = state_dicts.tensors(state, f"{path} ({layout} state dict)")
  shadow, info = state_dicts.ema_state(ema, path)
  return Checkpoint(layout=layout, state=state, ema=shadow, ema_info=info,
                    step=int(np.asarray(step)) if step is not None else 0,
                    hyper_parameters=_hyper_parameters(obj))


def _hyper_parameters(obj: Mapping):
  """The file's 'hyper_parameters' as JSON-able text (inert: the reader
  keeps unknown classes as `torch_files.Opaque` records), or None."""
  if "hyper_parameters" not in obj:
    return None
  described = torch_files.describe(obj["hyper_parameters"])
  text = json.dumps(described)
  if len(text) <= HYPER_PARAMETERS_CHARS:
    return described
  return {"truncated": f"{len(text)} characters of JSON, the first "
                       f"{HYPER_PARAMETERS_CHARS} kept",
          "text": text[:HYPER_PARAMETERS_CHARS]}


def _lightning_network(state, path: str) -> dict:
  if not isinstance(state, Mapping):
    raise ReleasedCheckpointError(f"{path}: 'state_dict' is a "
                                  f"{type(state).__name__}, not a dict")
  out = {}
  for key, value in state.items():
    key = str(key)
    if key.startswith("model."):
      out[key[len("model."):]] = value
    elif not key.startswith(_TRAINER_BUFFERS):
      raise ReleasedCheckpointError(
          f"{path}: unexpected key {key!r} in 'state_dict' (DPoser's "
          "Lightning trainer holds 'model.*' and its body models' buffers): "
          "not a DPoser checkpoint")
  if not out:
    raise ReleasedCheckpointError(f"{path}: no 'model.*' keys in "
                                  "'state_dict': not a DPoser checkpoint")
  return out


def read_sizes(state: Mapping[str, np.ndarray], path: str) -> Sizes:
  """Hidden width, embedding width, blocks and sigma table size."""
  shape = functools.partial(state_dicts.shape_of, state, source=path,
                            what="a DPoser TimeFC/ScoreModelFC checkpoint")
  first = shape("pre_dense.weight")
  if len(first) != 2 or first[1] != body_lib.DIM:
    raise ReleasedCheckpointError(
        f"{path}: 'pre_dense.weight' has shape {first}; "
        f"DPoser's axis-angle network takes the {body_lib.DIM}-D body pose "
        "(another method's checkpoint, or a 6D-rotation/masked model)")
  hidden = first[0]
  # The embedding width comes from the embedding's own square layer, so a
  # bad shape of a layer that reads it is refused under that layer's key.
  embed = shape("shared_time_embed.0.weight")
  if len(embed) != 2 or embed[0] != embed[1]:
    raise ReleasedCheckpointError(
        f"{path}: 'shared_time_embed.0.weight' has shape {embed}, expected "
        "the time embedding's square (E, E)")
  sigmas = shape("sigmas")
  if len(sigmas) != 1 or sigmas[0] < 2:
    raise ReleasedCheckpointError(f"{path}: 'sigmas' has shape {sigmas}, "
                                  "expected the [N] sigma table")
  state_dicts.check_groups(hidden, NUM_GROUPS, path)
  return Sizes(hidden=int(hidden), embed_dim=int(embed[0]),
               num_blocks=state_dicts.num_fc_blocks(state),
               num_scales=int(sigmas[0]))


def rules(layout: str, sizes: Sizes) -> list[state_dicts.Rule]:
  """One rule per parameter, in the authors' parameter order."""
  h, e, d = sizes.hidden, sizes.embed_dim, body_lib.DIM
  lin, norm = state_dicts.linear, state_dicts.norm
  out = lin("pre_dense", "first/lin", d, h) + lin("pre_dense_t",
                                                    "first/lin_t", e, h)
  if layout == "v1":  # ScoreModelFC's layer that its forward never calls
    out += [state_dicts.Rule("pre_dense_cond.weight", None, (h, h)),
            state_dicts.Rule("pre_dense_cond.bias", None, (h,))]
  out += norm("pre_gnorm", "first/norm", h)
  out += lin("shared_time_embed.0", "time_embed", e, e)
  for i in range(sizes.num_blocks):
    for j in (1, 2):
      at, path = f"b{i + 1}", f"blocks/{i}/layer{j}"
      out += lin(f"{at}_dense{j}", f"{path}/lin", h, h)
      out += lin(f"{at}_dense{j}_t", f"{path}/lin_t", e, h)
      out += norm(f"{at}_gnorm{j}", f"{path}/norm", h)
  out += lin("post_dense", "out", h, d)
  return out


def check_sigmas(sigmas: np.ndarray, path: str):
  """The file's sigma table must be the geometric ladder 50 -> 0.01."""
  want = score_mlp.ve_sigma_ladder(SIGMA_MIN, SIGMA_MAX, len(sigmas))
  if not np.allclose(np.asarray(sigmas, np.float64), want, rtol=1e-5,
                     atol=0.0):
    raise ReleasedCheckpointError(
        f"{path}: 'sigmas' is not the geometric ladder {SIGMA_MAX} -> "
        f"{SIGMA_MIN} over {len(sigmas)} entries (first {float(sigmas[0])}, "
        f"last {float(sigmas[-1])}): other sigma settings than DPoser's")


def weights(ckpt: Checkpoint, which: str, path: str) -> dict[str, np.ndarray]:
  """{jaxpose path: array} of the raw or EMA weights, every key checked."""
  sizes = read_sizes(ckpt.state, path)
  check_sigmas(ckpt.state["sigmas"], path)
  expected = rules(ckpt.layout, sizes)
  return state_dicts.raw_or_ema(ckpt.state, ckpt.ema, which, expected,
                                source=path, ignore=lambda k: k == "sigmas")


def read_statistics(path: str | None) -> body_lib.ZScore:
  """The authors' z-score statistics (mean_poses, std_poses [63])."""
  if not path:
    raise ReleasedCheckpointError(
        "--statistics: missing; DPoser's weights are for z-scored poses: give "
        "the statistics the authors ship with them (axis_normalize2.pt)")
  obj = torch_files.load(path)
  if not isinstance(obj, Mapping) or "mean_poses" not in obj:
    found = sorted(map(str, obj)) if isinstance(obj, Mapping) else []
    hint = (" (min-max statistics, axis_normalize1.pt: give "
            "axis_normalize2.pt)" if "min_poses" in found else "")
    raise ReleasedCheckpointError(
        f"--statistics={path}: no 'mean_poses'/'std_poses' (found "
        f"{found[:6] or type(obj).__name__}){hint}")
  stats = {}
  for key in ("mean_poses", "std_poses"):
    value = obj.get(key)
    if not isinstance(value, np.ndarray) or value.shape != (body_lib.DIM,):
      raise ReleasedCheckpointError(
          f"--statistics={path}: {key!r} has shape "
          f"{getattr(value, 'shape', type(value).__name__)}, expected "
          f"({body_lib.DIM},) (axis-angle statistics; rot6d ones are 126-D)")
    if not np.all(np.isfinite(value)):
      raise ReleasedCheckpointError(f"--statistics={path}: {key!r} holds "
                                    "NaN or inf")
    stats[key] = np.asarray(value, np.float32)
  if not np.all(stats["std_poses"] > 0):
    raise ReleasedCheckpointError(f"--statistics={path}: 'std_poses' has "
                                  "entries <= 0")
  return body_lib.ZScore(mean=stats["mean_poses"], std=stats["std_poses"])


def network_section(sizes: Sizes) -> dict:
  """The config's `model` section of the authors' network."""
  return dict(name="score_mlp", hidden=sizes.hidden,
              embed_dim=sizes.embed_dim, num_blocks=sizes.num_blocks,
              dropout=DROPOUT, num_groups=NUM_GROUPS, time_scale=TIME_SCALE,
              output_scale="ve_sigma", sigma_min=SIGMA_MIN,
              sigma_max=SIGMA_MAX, num_scales=sizes.num_scales)


def prepared_body(config: Mapping[str, Any], zscore: body_lib.ZScore
                  ) -> dict[str, base.Artefact]:
  """The "body" artefact: the authors' statistics, the config's skeleton."""
  from jaxpose.methods.dposer import model as model_lib
  method, run = methods.parse(config)
  train = method.load_data(run, {}).splits["train"]
  body = body_lib.fit_body_joints(train)
  return {model_lib.ARTEFACT: base.Artefact(
      arrays=dict(zscore_mean=zscore.mean, zscore_std=zscore.std,
                  bone_lengths=body.bone_lengths, regressor=body.regressor),
      info=dict(train_rows=int(len(train["body_pose"])),
                zscore="the authors' statistics file (--statistics)"))}


def import_checkpoint(request: base.ImportRequest) -> base.Imported:
  """`request.checkpoint` (+ files['statistics']) as an `Imported`."""
  which = state_dicts.import_options(
      request.options, {"weights": ("ema", "raw")}, "DPoser")["weights"]
  path = request.checkpoint
  # The checkpoint first (another method's file is named as such), then
  # the statistics; nothing is written before both are read and checked.
  ckpt = read_checkpoint(path)
  params = weights(ckpt, which, path)
  zscore = read_statistics(request.files.get("statistics"))
  sizes = read_sizes(ckpt.state, path)
  config = dict(request.base_config("dposer"))
  config["model"] = network_section(sizes)
  config["sde"] = dict(name="subvp", beta_min=BETA_MIN, beta_max=BETA_MAX)
  source = dict(
      checkpoint=os.path.abspath(path), layout=ckpt.layout, weights=which,
      step=ckpt.step, ema=ckpt.ema_info,
      network=dict(hidden=sizes.hidden, embed_dim=sizes.embed_dim,
                   num_blocks=sizes.num_blocks),
      conventions=dict(
          output_scale=f"ve_sigma: out / sigmas[floor(999 t)], sigmas "
                       f"geometric {SIGMA_MAX} -> {SIGMA_MIN} over "
                       f"{sizes.num_scales} (checked against the file's)",
          process=f"sub-VP, beta {BETA_MIN} -> {BETA_MAX}, s(t) = 1 - a(t)^2",
          statistics="z-score mean_poses / std_poses of --statistics"),
      dropped=(["pre_dense_cond (v1: never used by the forward)"]
               if ckpt.layout == "v1" else
               ["body_model_vis.*, body_model_eval.* (the trainer's SMPL-X)"]))
  if ckpt.hyper_parameters is not None:
    source["hyper_parameters"] = ckpt.hyper_parameters
  return base.Imported(config=config, params=params,
                       prepared=prepared_body(config, zscore),
                       step=ckpt.step, source=source)


__all__ = ["Checkpoint", "Sizes", "ReleasedCheckpointError", "read_checkpoint",
           "read_sizes", "rules", "weights", "read_statistics",
           "network_section", "import_checkpoint"]
