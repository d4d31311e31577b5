"""jaxpose entry point: train, evaluate or sample a model described by a config.

  python -m experiments.main --config=experiments/configs/quickstart.py \
      --workdir=runs/quickstart [--mode=train_and_eval|train|eval|sample] \
      [--config.train.num_steps=100] [--debug]

The logic lives in `jaxpose.run_lib` so a notebook can call it directly.
An error ends the program with one line on stderr (cause and fix); `--debug`
or JAXPOSE_DEBUG=1 shows the traceback instead.
"""
import os
import sys

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

from jaxpose import config as config_lib
from jaxpose import run_lib

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Path to a config file (experiments/configs/*.py).",
    lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, logs and results.")
_MODE = flags.DEFINE_enum("mode", "train_and_eval", run_lib.MODES, "What to run.")
_DEBUG = flags.DEFINE_bool(
    "debug", False, "Show the traceback of an error (also JAXPOSE_DEBUG=1).")
flags.mark_flags_as_required(["config", "workdir"])


def error_line(err: BaseException) -> str:
  """`err` as one line: its message, with the type when it is not ours."""
  text = " ".join(p.strip() for p in str(err).splitlines() if p.strip())
  ours = isinstance(err, (ValueError, RuntimeError, FloatingPointError,
                          FileNotFoundError))
  if not ours or not text:
    text = f"{type(err).__name__}: {text}" if text else type(err).__name__
  return f"error: {text} (--debug shows the traceback)"


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  logging.set_verbosity(logging.INFO)
  run_lib.configure_logging()
  debug = _DEBUG.value or os.environ.get("JAXPOSE_DEBUG", "") not in ("", "0")
  try:
    run_lib.run(_MODE.value, _CONFIG.value, _WORKDIR.value)
  except Exception as err:  # pylint: disable=broad-except
    if debug:
      raise
    # The log goes to stderr too: flush it so this line comes last.
    sys.stdout.flush()
    sys.exit(error_line(err))


if __name__ == "__main__":
  app.run(main, flags_parser=config_lib.parse_flags_or_exit)
