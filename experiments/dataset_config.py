"""Any config file with its data section switched to another dataset.

  python -m experiments.main --config=experiments/configs/dposer_quickstart.py \
      --workdir=runs/dposer_npz --config.data.name=npz \
      --config.data.train_path=train.npz --config.data.body=True

A config's data section holds the keys of the dataset it was written for,
so `--config.data.<key>` of another dataset is unknown to it.
`experiments.main` therefore loads a config whose `--config.data.name=X`
names another dataset through this file
(`--config=experiments/dataset_config.py:<config>@X`): the data section
becomes X's keys with their defaults (`datasets.section_for`), keeping
the values of keys both datasets declare; the flags then set the rest.
"""
import importlib.util

import ml_collections

from jaxpose.data import datasets


def load_config(spec: str) -> ml_collections.ConfigDict:
  """`path[:argument]` -> the config file's `get_config([argument])`."""
  path, _, argument = spec.partition(":")
  module_spec = importlib.util.spec_from_file_location("_jaxpose_config", path)
  if module_spec is None:
    raise FileNotFoundError(f"--config={path}: no such config file")
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  return module.get_config(argument) if argument else module.get_config()


def get_config(spec: str) -> ml_collections.ConfigDict:
  """`<config spec>@<dataset>` -> that config with the dataset's data section."""
  inner, _, name = spec.rpartition("@")
  config = load_config(inner)
  data = config.get("data")
  if data is not None and data.get("name") == name:
    return config
  with config.unlocked():
    config.data = ml_collections.ConfigDict(
        datasets.section_for(name, dict(data or {})))
  return config
