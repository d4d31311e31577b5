"""The config a trained workdir holds, as a config file for `--config`.

  python -m experiments.main --config=experiments/workdir_config.py:runs/qs \
      --workdir=runs/qs --mode=eval --config.eval.task=denoise

`experiments.main` adds this `--config` itself when an evaluation or a
sampling run names none, so `--mode=eval --workdir=W` alone evaluates W's
model with W's settings, and `--config.*` flags change only what they name.
Evaluation keys added since W was trained are there at their defaults
(`with_eval_defaults`), so their flags work on W too.
"""
import ml_collections

from jaxpose import config as config_lib
from jaxpose import files
from jaxpose import methods
from jaxpose import run_lib
from jaxpose import settings
from jaxpose.evaluation import config as eval_config_lib


def _tuples(value):
  """JSON lists back to the tuples configs are written with."""
  if isinstance(value, dict):
    return {k: _tuples(v) for k, v in value.items()}
  if isinstance(value, list):
    return tuple(_tuples(v) for v in value)
  return value


def with_eval_defaults(stored: dict) -> dict:
  """A stored config whose `eval` section also holds every evaluation key
  added since it was written, at its default (the generic keys' and its
  method's and its tasks'), so that a flag can name one; the keys it has
  are kept."""
  method = methods.get(stored.get("method", ""))
  added = {**settings.defaults(eval_config_lib.EvalConfig),
           **settings.defaults(method.eval_options), **method.tasks.defaults()}
  return {**stored, "eval": config_lib.fill_missing(
      dict(stored.get("eval", {})), files.jsonable(added))}


def get_config(workdir: str):
  stored = with_eval_defaults(run_lib.stored_config(workdir))
  return ml_collections.ConfigDict(_tuples(stored))
