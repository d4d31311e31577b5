"""jaxpose entry point: train, evaluate or sample a model described by a config.

  python -m experiments.main --config=experiments/configs/quickstart.py \
      --workdir=runs/quickstart [--config.train.num_steps=100] [--debug]
  # later, in the trained workdir (its config.json gives the settings):
  python -m experiments.main --workdir=runs/quickstart --mode=eval \
      --config.eval.task=denoise

--mode is train_and_eval (the default), train, eval, sample or calibrate.
In eval, sample and calibrate modes a trained workdir's own config gives
every setting; --config (optional there) only fills keys it lacks, and
--config.* flags change the evaluation (a flag that contradicts the
trained model is refused). calibrate fits the calibration of eval.task's
hypotheses on the workdir's held-out training clips (a model trained with
--config.holdout.fraction > 0) into WORKDIR/calibration.json; later evals
of that task report coverage before and after it.

The logic lives in `jaxpose.run_lib` so a notebook can call it directly.
An error ends the program with one line on stderr (cause and fix); `--debug`
or JAXPOSE_DEBUG=1 shows the traceback instead.
"""
import pathlib
import sys

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

from jaxpose import config as config_lib
from jaxpose import logs
from jaxpose import run_lib
from jaxpose.core import host_memory
from jaxpose.data import datasets
from jaxpose.workdir import layout

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Path to a config file (experiments/configs/*.py); "
    "optional with --mode=eval, sample or calibrate in a trained workdir.",
    lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, logs and results.")
_MODE = flags.DEFINE_enum("mode", "train_and_eval", run_lib.MODES, "What to run.")
_DEBUG = flags.DEFINE_bool(
    "debug", False, "Show the traceback of an error (also JAXPOSE_DEBUG=1).")
flags.mark_flags_as_required(["workdir"])

_WORKDIR_CONFIG = pathlib.Path(__file__).with_name("workdir_config.py")
_DATASET_CONFIG = pathlib.Path(__file__).with_name("dataset_config.py")


def with_workdir_config(argv: list[str]) -> list[str]:
  """argv, with `--config` set to the workdir's own config when an eval,
  sample or calibrate run in a trained workdir names none."""
  if config_lib.flag_value(argv, "config") is not None:
    return argv
  workdir = config_lib.flag_value(argv, "workdir")
  mode = config_lib.flag_value(argv, "mode")
  if (mode in ("eval", "sample", "calibrate") and workdir
      and layout.Workdir(workdir).has_config()):
    return argv[:1] + [f"--config={_WORKDIR_CONFIG}:{workdir}"] + argv[1:]
  return argv


def with_dataset_config(argv: list[str]) -> list[str]:
  """argv, with `--config` loaded through experiments/dataset_config.py when
  `--config.data.name` names a registered dataset: the data section then
  holds that dataset's keys, so its other flags are known."""
  config = config_lib.flag_value(argv, "config")
  name = config_lib.flag_value(argv, "config.data.name")
  if config is None or name is None or name not in datasets.names():
    return argv
  out, skip = [], False
  for arg in argv:
    if not skip and not (arg == "--config" or arg.startswith("--config=")):
      out.append(arg)
    skip = arg == "--config"
  return out[:1] + [f"--config={_DATASET_CONFIG}:{config}@{name}"] + out[1:]


def parse_flags(argv: list[str]):
  return config_lib.parse_flags_or_exit(with_dataset_config(with_workdir_config(argv)))


def overrides(argv, config) -> dict:
  """{dotted key: value} of the command line's --config.* flags."""
  out = {}
  for key in config_lib.config_overrides(argv):
    node = config
    for part in key.split("."):
      node = node[part]
    out[key] = node
  return out


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  logging.set_verbosity(logging.INFO)
  logs.configure_logging()
  host_memory.retain_freed_memory()

  def run():
    if _CONFIG.value is None:
      raise ValueError("--config: missing; give a config file "
                       "(experiments/configs/*.py), or --mode=eval / sample "
                       "in a trained workdir")
    run_lib.run(_MODE.value, _CONFIG.value, _WORKDIR.value,
                overrides=overrides(sys.argv, _CONFIG.value))

  logs.exit_on_error(run, debug=_DEBUG.value)


if __name__ == "__main__":
  app.run(main, flags_parser=parse_flags)
