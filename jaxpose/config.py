"""Config helpers: clear errors for unknown keys, fingerprints for checkpoints.

Configs are `ml_collections.ConfigDict`s written as code in
`experiments/configs/`; `--config.a.b=value` overrides come from
`ml_collections.config_flags`.  Its own error for a mistyped key is a bare
AttributeError deep in a traceback, so the entry point routes flag parsing
through `parse_flags_or_exit`, which names the key and the valid ones.
"""
from __future__ import annotations

import json
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

  Use as `app.run(main, flags_parser=parse_flags_or_exit)`.
  """
  from absl import flags  # Imported here so library users need no flags.

  try:
    return flags.FLAGS(argv)
  except (AttributeError, KeyError, flags.Error) as err:
    config = None
    cfg_flag = flags.FLAGS[flag_name] if flag_name in flags.FLAGS else None
    if cfg_flag is not None:
      config = getattr(cfg_flag, "value", None)
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


def _load_config_file(argv, flag_name):
  path = None
  for i, arg in enumerate(argv):
    if arg.startswith(f"--{flag_name}="):
      path = arg.split("=", 1)[1]
    elif arg == f"--{flag_name}" and i + 1 < len(argv):
      path = argv[i + 1]
  if not path:
    return None
  from ml_collections.config_flags import config_flags as cf
  try:
    return cf.ConfigFileFlagParser(name=flag_name).parse(path)
  except Exception:  # A broken config file reports itself through absl anyway.
    return None


def to_plain(config) -> Any:
  """A ConfigDict (or nested mappings) as plain JSON-able Python values."""
  if isinstance(config, (ml_collections.ConfigDict, ml_collections.FrozenConfigDict)):
    config = config.to_dict()
  if isinstance(config, Mapping):
    return {k: to_plain(v) for k, v in config.items()}
  if isinstance(config, (list, tuple)):
    return [to_plain(v) for v in config]
  return config


def fingerprint(config, sections: Iterable[str] = ("method", "model", "sde", "representation")) -> dict:
  """The part of a config that must match for a checkpoint to be reusable."""
  plain = to_plain(config)
  out = {s: plain.get(s) for s in sections}
  for section, key, default in _FINGERPRINT_DEFAULTS:
    # A key added later with a default that keeps the old behaviour is left
    # out at that default, so checkpoints written before it still match.
    if isinstance(out.get(section), dict) and out[section].get(key, default) == default:
      out[section] = {k: v for k, v in out[section].items() if k != key}
  return out


# (section, key, default) of fingerprinted keys added after checkpoints of
# their section existed; at the default they do not change the model.
_FINGERPRINT_DEFAULTS = (("representation", "space", "root_relative"),)


def dumps(config) -> str:
  return json.dumps(to_plain(config), indent=2, sort_keys=True)
