"""jaxpose entry point: train, evaluate or sample a model described by a config.

  python -m experiments.main --config=experiments/configs/quickstart.py \
      --workdir=runs/quickstart [--mode=train_and_eval|train|eval|sample] \
      [--config.train.num_steps=100]

The logic lives in `jaxpose.run_lib` so a notebook can call it directly.
"""
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
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  logging.set_verbosity(logging.INFO)
  run_lib.quiet_library_logs()
  run_lib.run(_MODE.value, _CONFIG.value, _WORKDIR.value)


if __name__ == "__main__":
  app.run(main, flags_parser=config_lib.parse_flags_or_exit)
