"""The config a trained workdir holds, as a config file for `--config`.

  python -m experiments.main --config=experiments/workdir_config.py:runs/qs \
      --workdir=runs/qs --mode=eval --config.eval.task=denoise

`experiments.main` adds this `--config` itself when an evaluation or a
sampling run names none, so `--mode=eval --workdir=W` alone evaluates W's
model with W's settings, and `--config.*` flags change only what they name.
"""
import ml_collections

from jaxpose import run_lib


def _tuples(value):
  """JSON lists back to the tuples configs are written with."""
  if isinstance(value, dict):
    return {k: _tuples(v) for k, v in value.items()}
  if isinstance(value, list):
    return tuple(_tuples(v) for v in value)
  return value


def get_config(workdir: str):
  return ml_collections.ConfigDict(_tuples(run_lib.stored_config(workdir)))
