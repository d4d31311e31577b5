"""The configs an import of released weights starts from.

`experiments/import_weights.py` (the command) and tests build their
`ImportRequest`s here: an import takes its data, train and eval sections
from the method's `*_released.py` config (or one the user names) and the
importer sets the sections the checkpoint fixes. Importing this module
defines no flags, so a notebook or a test can use it.
"""
from __future__ import annotations

import os

from jaxpose import config as config_lib
from jaxpose.methods import base

# The config each method's import starts from (its data, train, eval).
DEFAULT_CONFIGS = {
    "gfpose": "experiments/configs/gfpose_released.py",
    "dposer": "experiments/configs/dposer_released.py",
    "diffpose": "experiments/configs/diffpose_authors.py",
    "baseline": "experiments/configs/encoder_released.py",
}
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def base_config(method: str, config_file: str | None = None) -> dict:
  """The plain config an import of `method` starts from."""
  path = config_file or DEFAULT_CONFIGS.get(method)
  if path is None:
    raise ValueError(f"--method={method}: no default config; give --config")
  if not os.path.isabs(path) and not os.path.exists(path.split(":")[0]):
    path = os.path.join(_ROOT, path)
  return config_lib.to_plain(config_lib.load_config_file(path))


def request(method: str, checkpoint: str, workdir: str, *, files=None,
            options=None, config_file: str | None = None
            ) -> base.ImportRequest:
  """An ImportRequest whose base configs are the default ones
  (`config_file` for `method` itself)."""
  return base.ImportRequest(
      checkpoint=checkpoint, files=dict(files or {}),
      options=dict(options or {}), workdir=os.path.abspath(workdir),
      base_config=lambda name: base_config(
          name, config_file if name == method else None))


def parse_options(pairs, weights=None) -> dict:
  """--option=key=value flags (and --weights) as the importer's options."""
  options = {}
  for pair in pairs:
    key, sep, value = pair.partition("=")
    if not sep or not key:
      raise ValueError(f"--option={pair!r}: expected key=value")
    options[key.strip()] = value.strip()
  if weights:
    options["weights"] = weights
  return options
