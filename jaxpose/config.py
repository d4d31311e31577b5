"""Config helpers: clear errors for unknown keys, fingerprints for checkpoints,
the settings a resumed run may change.

Configs are `ml_collections.ConfigDict`s written as code in
`experiments/configs/`; `--config.a.b=value` overrides come from
`ml_collections.config_flags`.  Its own error for a mistyped key is a bare
AttributeError deep in a traceback, so the entry point routes flag parsing
through `parse_flags_or_exit`, which names the key and the valid ones.
"""
from __future__ import annotations

import copy
import json
import os
import sys
from typing import Any, Iterable, Mapping

import ml_collections


class ConfigError(ValueError):
  """A config key or value that jaxpose cannot use."""


def _children(node) -> list[str] | None:
  if isinstance(node, (ml_collections.ConfigDict, ml_collections.FrozenConfigDict)):
    return sorted(node.keys())
  if isinstance(node, Mapping):
    return sorted(node)
  return None


def unknown_key_message(config, dotted_key: str) -> str | None:
  """Explains why `dotted_key` is not in `config`, or None when it is.

  The message names the first missing component and lists the keys that
  exist at that level, e.g. "unknown config key 'train.num_step': 'train'
  has no 'num_step'; valid keys: batch_size, lr, num_steps".
  """
  node = config
  path = []
  for part in dotted_key.split("."):
    keys = _children(node)
    if keys is None:
      return (f"unknown config key {dotted_key!r}: {'.'.join(path)!r} is a value "
              f"({type(node).__name__}), not a group of keys")
    if part not in keys:
      where = "the config" if not path else repr(".".join(path))
      return (f"unknown config key {dotted_key!r}: {where} has no {part!r}; "
              f"valid keys: {', '.join(keys)}")
    node = node[part]
    path.append(part)
  return None


def config_overrides(argv: Iterable[str], flag_name: str = "config") -> list[str]:
  """Dotted keys of `--config.a.b=v` (or `--config.a.b v`) arguments."""
  prefix = f"--{flag_name}."
  keys = []
  for arg in argv:
    if arg.startswith(prefix):
      keys.append(arg[len(prefix):].split("=", 1)[0])
  return keys


def check_overrides(config, argv: Iterable[str], flag_name: str = "config"):
  """Raises ConfigError for the first override naming a key `config` lacks."""
  for key in config_overrides(argv, flag_name):
    msg = unknown_key_message(config, key)
    if msg:
      raise ConfigError(msg)


def parse_flags_or_exit(argv: list[str], flag_name: str = "config"):
  """absl `flags_parser` that turns unknown config keys into a clear message.

  Use as `app.run(main, flags_parser=parse_flags_or_exit)`. A config file
  that is missing or fails to load ends the program with one line too
  (its traceback with `--debug` or JAXPOSE_DEBUG=1).
  """
  from absl import flags  # Imported here so library users need no flags.

  try:
    parsed = flags.FLAGS(argv)
  except (AttributeError, KeyError, flags.Error) as err:
    config = None
    cfg_flag = flags.FLAGS[flag_name] if flag_name in flags.FLAGS else None
    if cfg_flag is not None:
      config = _loaded_value(argv, cfg_flag, flag_name)
      if config is None:
        # The override failed before the flag stored its value: load the file
        # ourselves to list the valid keys.
        config = _load_config_file(argv, flag_name)
    if config is not None:
      for key in config_overrides(argv, flag_name):
        msg = unknown_key_message(config, key)
        if msg:
          sys.exit(f"error: {msg}")
    sys.exit(f"error: bad command line: {err}")
  except Exception as err:  # pylint: disable=broad-except
    # A config file that does not load (missing, or raising) surfaces here
    # when an override is applied to it.
    if _debug(argv):
      raise
    sys.exit(f"error: {_load_failure(argv, flag_name, err)}")
  if flag_name in flags.FLAGS:
    _loaded_value(argv, flags.FLAGS[flag_name], flag_name)
  return parsed


def _debug(argv) -> bool:
  return (os.environ.get("JAXPOSE_DEBUG", "") not in ("", "0")
          or "--debug" in argv or "--debug=true" in argv)


def _loaded_value(argv, cfg_flag, flag_name):
  """The flag's config; exits with one line if its file failed to load."""
  value = getattr(cfg_flag, "value", None)
  if value is None:
    return None
  try:
    # ml_collections leaves a placeholder that raises OSError on any access
    # when the file could not be loaded.
    getattr(value, "keys", None)
  except OSError as err:
    if _debug(argv):
      raise
    sys.exit(f"error: {_load_failure(argv, flag_name, err)}")
  return value


def flag_value(argv, flag_name: str) -> str | None:
  """The last value of `--flag_name=v` (or `--flag_name v`) in argv."""
  value = None
  for i, arg in enumerate(argv):
    if arg.startswith(f"--{flag_name}="):
      value = arg.split("=", 1)[1]
    elif arg == f"--{flag_name}" and i + 1 < len(argv):
      value = argv[i + 1]
  return value


def _load_failure(argv, flag_name, err: BaseException) -> str:
  """One line on why the config file did not load, with the fix."""
  path = flag_value(argv, flag_name)
  if path is not None and not os.path.exists(path.split(":", 1)[0]):
    return (f"--{flag_name} file not found: {path} (from {os.getcwd()}); "
            "give the path of a config, e.g. experiments/configs/quickstart.py")
  # The root cause's last line, e.g. "NameError: name 'x' is not defined".
  root = err
  while root.__cause__ is not None or getattr(root, "_error", None) is not None:
    root = root.__cause__ or root._error  # pylint: disable=protected-access
  lines = [l.strip() for l in str(root).splitlines() if l.strip()]
  why = f"{type(root).__name__}: {lines[-1] if lines else ''}"
  return (f"cannot load the --{flag_name} file {path}: {why} (rerun with "
          "--debug for the traceback)")


def _load_config_file(argv, flag_name):
  path = flag_value(argv, flag_name)
  if not path:
    return None
  from ml_collections.config_flags import config_flags as cf
  try:
    return cf.ConfigFileFlagParser(name=flag_name).parse(path)
  except Exception:  # A broken config file reports itself through absl anyway.
    return None


def load_config_file(path: str):
  """The ConfigDict a config file (`path[:argument]`) returns."""
  if not os.path.exists(path.split(":", 1)[0]):
    raise FileNotFoundError(f"{path}: no such config file")
  from ml_collections.config_flags import config_flags as cf
  return cf.ConfigFileFlagParser(name="config").parse(path)


def to_plain(config) -> Any:
  """A ConfigDict (or nested mappings) as plain JSON-able Python values."""
  if isinstance(config, (ml_collections.ConfigDict, ml_collections.FrozenConfigDict)):
    config = config.to_dict()
  if isinstance(config, Mapping):
    return {k: to_plain(v) for k, v in config.items()}
  if isinstance(config, (list, tuple)):
    return [to_plain(v) for v in config]
  return config


def get_dotted(tree: Mapping, dotted_key: str, default: Any = None) -> Any:
  """`tree[a][b][c]` for 'a.b.c', or `default` where a level is missing."""
  node: Any = tree
  for part in dotted_key.split("."):
    if not isinstance(node, Mapping) or part not in node:
      return default
    node = node[part]
  return node


def set_dotted(tree: dict, dotted_key: str, value: Any) -> dict:
  """Sets `tree[a][b][c] = value` for 'a.b.c', making levels; returns `tree`."""
  *parents, last = dotted_key.split(".")
  node = tree
  for part in parents:
    node = node.setdefault(part, {})
  node[last] = value
  return tree


def fill_missing(target: dict, source: Mapping) -> dict:
  """Adds `source`'s keys `target` lacks (at any depth); returns `target`."""
  for key, value in source.items():
    if key not in target:
      target[key] = copy.deepcopy(value)
    elif isinstance(target[key], dict) and isinstance(value, Mapping):
      fill_missing(target[key], value)
  return target


def fingerprint(config, sections: Iterable[str | tuple[str, Any]] = (
    "method", "model", "sde", "representation")) -> dict:
  """The part of a config that must match for a checkpoint to be reusable.

  sections: section names, or dotted keys of single settings (e.g.
  'diffpose.network_input'), kept nested as in the config; or a `(dotted
  key, default)` pair, left out when absent or at that default, so
  checkpoints older than the key still match.
  """
  plain = to_plain(config)
  out = {}
  for entry in sections:
    key, default = (entry, None) if isinstance(entry, str) else tuple(entry)
    value = get_dotted(plain, key)
    if not isinstance(entry, str) and (value is None or value == default):
      continue
    set_dotted(out, key, value)
  for section, key, default in _FINGERPRINT_DEFAULTS:
    if isinstance(out.get(section), dict) and out[section].get(key, default) == default:
      out[section] = {k: v for k, v in out[section].items() if k != key}
  return out


# (section, key, default) of fingerprinted keys added after checkpoints of
# their section existed; at the default they do not change the model.
_FINGERPRINT_DEFAULTS = (("representation", "space", "root_relative"),)


# Settings a resumed run may change: how long to train, how often to log and
# save, what to evaluate, when to stop a diverging run; never what an update
# computes, so the resumed run still equals an uninterrupted one.  Other
# changes are refused unless train.allow_changed_resume=True (fingerprinted
# sections, the model, by the checkpoint even then).
RESUME_SAFE_KEYS = ("train.num_steps", "train.log_every", "train.ckpt_every",
                    "train.keep_ckpts", "train.allow_changed_resume",
                    "train.max_param_norm_growth", "eval")


def flatten(d, prefix="") -> dict:
  """Nested mappings -> {"a.b.c": leaf}."""
  if isinstance(d, Mapping):
    out = {}
    for k, v in d.items():
      out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return out
  return {prefix: d}


# Keys added to configs after workdirs were trained without them, at the
# default that keeps what those runs did: absent on one side and at this
# value (as JSON gives it back: a tuple as a list) on the other is no change.
ADDED_KEY_DEFAULTS = {"holdout.fraction": 0.0, "holdout.seed": 0,
                      "holdout.subjects": [], "train.mirror": 0.0,
                      "data.protocol": "jaxpose-mocap-v1",
                      "data.train_bodies": 0.0, "data.train_body_spread": 1.0,
                      "inputs.uncertainty": "none"}


def trained_value(stored: Mapping, dotted_key: str, absent: Any = None) -> Any:
  """A workdir's value of a setting: its stored config's; for a key added
  since it was trained, the default that keeps what it did
  (`ADDED_KEY_DEFAULTS`); else `absent`."""
  return get_dotted(stored, dotted_key,
                    ADDED_KEY_DEFAULTS.get(dotted_key, absent))


def resume_changes(stored, requested) -> dict[str, tuple[Any, Any]]:
  """`{dotted key: (stored, requested)}` of changes that break exact resume.

  Args:
    stored: the config the checkpoint was trained with (ConfigDict or plain).
    requested: the config asked to continue it.

  Keys in `RESUME_SAFE_KEYS` (or under them) are ignored; a key present on
  one side only counts as a change (shown as '<absent>'), unless it is one
  of `ADDED_KEY_DEFAULTS` at its default.
  """
  # Tuples and lists compare as they come back from JSON on disk.
  a = flatten(json.loads(json.dumps(to_plain(stored))))
  b = flatten(json.loads(json.dumps(to_plain(requested))))
  missing = "<absent>"
  out = {}
  for key in sorted(set(a) | set(b)):
    if any(key == s or key.startswith(s + ".") for s in RESUME_SAFE_KEYS):
      continue
    va, vb = a.get(key, missing), b.get(key, missing)
    if (key in ADDED_KEY_DEFAULTS and missing in (va, vb)
        and ADDED_KEY_DEFAULTS[key] in (va, vb)):
      continue
    if va != vb:
      out[key] = (va, vb)
  return out


def dumps(config) -> str:
  return json.dumps(to_plain(config), indent=2, sort_keys=True)
