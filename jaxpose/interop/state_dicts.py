"""From a PyTorch state dict to jaxpose parameters, checked key by key.

An importer names, for every key of the authors' state dict, the jaxpose
parameter it becomes (`Rule`s); `convert` checks the state dict against
them and `fill` puts the result into the jaxpose network's parameter tree,
each refusing a mismatch by name before anything is written.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterable, Mapping, Sequence

import jax
import numpy as np
from absl import logging


class StateDictError(ValueError):
  """A checkpoint whose keys or shapes are not the expected ones."""


class ReleasedCheckpointError(ValueError):
  """A file an importer does not read (the message names what and why)."""


@dataclasses.dataclass(frozen=True)
class Rule:
  """One authors' key -> one jaxpose parameter path ('a/0/b/kernel').

  `shape` is the shape in the authors' file; `transform` maps their array to
  jaxpose's layout (e.g. `linear_kernel`); `path=None` marks a key that is
  read and checked but has no jaxpose counterpart (an unused layer).
  """
  key: str
  path: str | None
  shape: tuple[int, ...]
  transform: Callable[[np.ndarray], np.ndarray] | None = None


def linear_kernel(w: np.ndarray) -> np.ndarray:
  """torch.nn.Linear's weight [out, in] -> an nnx kernel [in, out]."""
  return np.ascontiguousarray(np.asarray(w).T)


def linear(key: str, path: str, in_dim: int, out_dim: int) -> list[Rule]:
  """The two rules of a torch.nn.Linear(in_dim, out_dim) at `key`."""
  return [Rule(f"{key}.weight", f"{path}/kernel", (out_dim, in_dim),
               linear_kernel),
          Rule(f"{key}.bias", f"{path}/bias", (out_dim,))]


def norm(key: str, path: str, dim: int, *, weight: str = "weight",
         bias: str = "bias") -> list[Rule]:
  """A torch GroupNorm/LayerNorm (affine) -> an nnx norm's scale and bias."""
  return [Rule(f"{key}.{weight}", f"{path}/scale", (dim,)),
          Rule(f"{key}.{bias}", f"{path}/bias", (dim,))]


def strip_prefix(state: Mapping[str, Any], prefixes: Sequence[str]
                 ) -> dict[str, Any]:
  """`state` with the first of `prefixes` that every key has removed.

  Checkpoints of wrapped modules prefix every key ('module.' for
  DataParallel, 'model.' for a Lightning module); '' leaves keys as they are.
  """
  for prefix in prefixes:
    if prefix and state and all(k.startswith(prefix) for k in state):
      return {k[len(prefix):]: v for k, v in state.items()}
  return dict(state)


def tensors(state: Mapping[str, Any], source: str) -> dict[str, np.ndarray]:
  """The entries of `state` that are arrays; anything else is refused."""
  if not isinstance(state, Mapping):
    raise StateDictError(f"{source}: expected a state dict (a mapping of "
                         f"names to tensors), got {type(state).__name__}")
  out = {}
  for k, v in state.items():
    if not isinstance(v, np.ndarray):
      raise StateDictError(f"{source}: entry {k!r} is a "
                           f"{type(v).__name__}, not a tensor")
    out[str(k)] = v
  return out


def import_options(options: Mapping[str, str],
                   choices: Mapping[str, Sequence[str]], importer: str
                   ) -> dict[str, str]:
  """An importer's options (`--name=value`), each one of its `choices`
  (the first by default); an unknown name or value is refused."""
  unknown = sorted(set(options) - set(choices))
  if unknown:
    raise ReleasedCheckpointError(f"option {unknown[0]!r}: {importer}'s "
                                  f"importer takes only {', '.join(choices)}")
  out = {}
  for name, allowed in choices.items():
    out[name] = options.get(name) or allowed[0]
    if out[name] not in allowed:
      raise ReleasedCheckpointError(
          f"--{name}={out[name]}: expected {' or '.join(allowed)}")
  return out


def shape_of(state: Mapping[str, np.ndarray], key: str, source: str,
             what: str) -> tuple[int, ...]:
  """The shape of `state[key]`; a file without the key is not `what`."""
  if key not in state:
    raise ReleasedCheckpointError(f"{source}: key {key!r} missing: not {what}")
  return tuple(state[key].shape)


def ema_state(ema, source: str) -> tuple[list | None, dict]:
  """score_sde's `ExponentialMovingAverage.state_dict()` as (shadow
  parameters in parameter order, {decay, num_updates}); (None, {}) for None.

  Raises:
    ReleasedCheckpointError: `ema` is not such a state.
  """
  if ema is None:
    return None, {}
  if not isinstance(ema, Mapping) or not isinstance(
      ema.get("shadow_params"), (list, tuple)):
    raise ReleasedCheckpointError(
        f"{source}: its EMA entry is not an ExponentialMovingAverage state "
        "(decay, num_updates, shadow_params)")
  return list(ema["shadow_params"]), {k: _plain(ema.get(k))
                                      for k in ("decay", "num_updates")}


def _plain(v):
  return v.item() if isinstance(v, np.ndarray) and v.size == 1 else v


def num_fc_blocks(state: Mapping[str, Any]) -> int:
  """The residual blocks b1, b2, ... of a score_sde-style FC network
  (GFPose's ScoreModelFC_Adv, DPoser's ScoreModelFC and TimeFC)."""
  n = 0
  while f"b{n + 1}_dense1.weight" in state:
    n += 1
  return n


def check_groups(hidden: int, num_groups: int, source: str):
  """A GroupNorm of `num_groups` groups needs a width that they divide."""
  if hidden % num_groups:
    raise ReleasedCheckpointError(
        f"{source}: hidden width {hidden} is not a multiple of the "
        f"GroupNorm's {num_groups} groups")


def convert(state: Mapping[str, np.ndarray], rules: Iterable[Rule], *,
            source: str, ignore: Callable[[str], bool] | None = None
            ) -> dict[str, np.ndarray]:
  """{jaxpose path: float32 array} from `state` by `rules`, checked.

  Args:
    state: the authors' state dict (after `strip_prefix`).
    rules: one per expected key.
    source: what to call the file in messages.
    ignore: keys the authors' code keeps but never reads as weights
      (buffers such as a sigma table), accepted whatever their value.

  Weights stored in another dtype than float32 (half, int64, bool) are
  cast, and one warning line says how many and which first.

  Raises:
    StateDictError: a missing or unexpected key, a wrong shape or a
      non-finite value, naming the key.
  """
  rules = list(rules)
  expected = {r.key for r in rules}
  missing = [r.key for r in rules if r.key not in state]
  extra = sorted(k for k in state
                 if k not in expected and not (ignore and ignore(k)))
  if missing:
    raise StateDictError(
        f"{source}: key {missing[0]!r} missing ({len(missing)} expected keys "
        f"missing{'; unexpected: ' + repr(extra[0]) if extra else ''}): not "
        "the checkpoint this importer reads")
  if extra:
    raise StateDictError(f"{source}: unexpected key {extra[0]!r} "
                         f"({len(extra)} unexpected): not the checkpoint this "
                         "importer reads (or a model of other sizes)")
  out, cast = {}, []
  for r in rules:
    value = np.asarray(state[r.key])
    if tuple(value.shape) != tuple(r.shape):
      raise StateDictError(f"{source}: {r.key!r} has shape "
                           f"{tuple(value.shape)}, expected {tuple(r.shape)}")
    if not np.all(np.isfinite(value)):
      raise StateDictError(f"{source}: {r.key!r} holds NaN or inf")
    if r.path is None:
      continue
    if value.dtype != np.float32:
      cast.append((r.key, value.dtype))
    value = value.astype(np.float32)
    out[r.path] = r.transform(value) if r.transform else value
  if cast:
    kinds = sorted({str(d) for _, d in cast})
    logging.warning("%s: %d weight%s stored as %s, imported as float32 "
                    "(first: %r, %s)", source, len(cast),
                    "s" if len(cast) > 1 else "", "/".join(kinds),
                    cast[0][0], cast[0][1])
  return out


def raw_or_ema(state: Mapping[str, np.ndarray], ema, which: str,
               rules: Sequence[Rule], *, source: str,
               ignore: Callable[[str], bool] | None = None
               ) -> dict[str, np.ndarray]:
  """The raw (`which='raw'`) or EMA weights of a checkpoint, converted.

  `ema` is score_sde's `ExponentialMovingAverage` shadow list: one array
  per trainable parameter, in the module's parameter order, which must be
  the order of `rules` (GFPose's and DPoser's files); the state dict's keys
  are checked either way.
  """
  rules = list(rules)
  raw = convert(state, rules, source=source, ignore=ignore)
  if which == "raw":
    return raw
  if ema is None:
    raise StateDictError(f"{source}: no EMA weights in the file; import the "
                         "trained ones with --weights=raw")
  if len(ema) != len(rules):
    raise StateDictError(f"{source}: the EMA holds {len(ema)} parameters, the "
                         f"network {len(rules)}: not this network's EMA")
  shadow = {r.key: v for r, v in zip(rules, ema)}
  return convert(tensors(shadow, f"{source} (EMA)"), rules,
                 source=f"{source} (EMA, in parameter order)")


def path_of(key_path) -> str:
  """A tree path as 'a/0/b/kernel' (nnx states: dict keys and indices)."""
  parts = []
  for k in key_path:
    name = getattr(k, "key", getattr(k, "idx", getattr(k, "name", k)))
    if name == "value":  # nnx.Variable's payload
      continue
    parts.append(str(name))
  return "/".join(parts)


def fill(abstract_params, flat: Mapping[str, np.ndarray], *, source: str):
  """The parameter tree of `abstract_params` holding `flat`'s arrays.

  Raises:
    StateDictError: a parameter of the tree that `flat` lacks, an entry of
      `flat` that the tree lacks, or a shape that differs (by path).
  """
  leaves, treedef = jax.tree_util.tree_flatten_with_path(abstract_params)
  paths = [path_of(p) for p, _ in leaves]
  unknown = sorted(set(flat) - set(paths))
  if unknown:
    raise StateDictError(f"{source}: converted parameter {unknown[0]!r} has "
                         "no place in the jaxpose network (its options do not "
                         "match the checkpoint)")
  values = []
  for path, (_, leaf) in zip(paths, leaves):
    if path not in flat:
      raise StateDictError(f"{source}: nothing in the checkpoint gives the "
                           f"jaxpose parameter {path!r}")
    value = np.asarray(flat[path], np.float32)
    if value.shape != tuple(leaf.shape):
      raise StateDictError(f"{source}: jaxpose parameter {path!r} has shape "
                           f"{tuple(leaf.shape)}, the checkpoint gives "
                           f"{value.shape}")
    values.append(value.astype(leaf.dtype))
  return jax.tree_util.tree_unflatten(treedef, values)
