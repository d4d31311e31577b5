"""The authors' released weights as a jaxpose workdir.

  python -m experiments.import_weights --method=gfpose \
      --checkpoint=checkpoint/u3d/best_model.pth --workdir=runs/gfpose_released
  python -m experiments.import_weights --method=dposer \
      --checkpoint=axis-zscore-400k.pth --statistics=axis_normalize2.pt \
      --workdir=runs/dposer_released
  python -m experiments.import_weights --method=diffpose \
      --checkpoint=diffpose_uvxyz_cpn.pth --encoder=gcn_xyz_cpn.pth \
      --workdir=runs/diffpose_released
  python -m experiments.import_weights --method=baseline \
      --checkpoint=gcn_xyz_cpn.pth --workdir=runs/graformer_released

The workdir is then used as one jaxpose trained (`--mode=eval` with any of
the method's tasks, `--mode=sample`, the benchmarks). --config names the
config whose data, train and eval sections the workdir gets (default: the
method's `*_released.py`); the importer sets the sections the checkpoint
fixes (network sizes and conventions, SDE, representation). torch is not
needed: `jaxpose.interop.torch_files` reads torch.save files itself.
"""
import os
import sys

from absl import app
from absl import flags
from absl import logging

from experiments import released_configs
from jaxpose import import_lib
from jaxpose import logs

# The configs and requests live in released_configs (no flags there: tests
# and notebooks import it); DEFAULT_CONFIGS lists the method defaults.
DEFAULT_CONFIGS = released_configs.DEFAULT_CONFIGS
request = released_configs.request

_METHOD = flags.DEFINE_string("method", None, "gfpose, dposer, diffpose or "
                              "baseline (DiffPose's GraFormer lifter alone).")
_CHECKPOINT = flags.DEFINE_string("checkpoint", None,
                                  "The released weights file.")
_WORKDIR = flags.DEFINE_string("workdir", None,
                               "A new directory for the imported workdir.")
_STATISTICS = flags.DEFINE_string(
    "statistics", None, "DPoser: the z-score statistics the authors ship "
    "(axis_normalize2.pt).")
_ENCODER = flags.DEFINE_string(
    "encoder", None, "DiffPose: the GraFormer lifter the refiner starts from "
    "(gcn_xyz_{cpn,gt}.pth); imported into WORKDIR/encoder.")
_WEIGHTS = flags.DEFINE_enum(
    "weights", None, ["ema", "raw"], "Which weights of the file to import "
    "(default: the ones the authors evaluate: GFPose and DPoser ema, "
    "DiffPose raw).")
_CONFIG = flags.DEFINE_string(
    "config", None, "Config file giving the data, train and eval sections "
    "(default: the method's experiments/configs/*_released.py).")
_OPTIONS = flags.DEFINE_multi_string(
    "option", [], "A method's importer option as key=value (repeatable), "
    "e.g. GFPose's representation=config: keep --config's representation "
    "for weights the authors' code trained on other data.")
_DEBUG = flags.DEFINE_bool("debug", False, "Show the traceback of an error.")
flags.mark_flags_as_required(["method", "checkpoint", "workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  logging.set_verbosity(logging.INFO)
  debug = _DEBUG.value or os.environ.get("JAXPOSE_DEBUG", "") not in ("", "0")
  named = {"statistics": _STATISTICS.value, "encoder": _ENCODER.value}
  try:
    req = released_configs.request(
        _METHOD.value, _CHECKPOINT.value, _WORKDIR.value,
        files={k: v for k, v in named.items() if v},
        options=released_configs.parse_options(_OPTIONS.value, _WEIGHTS.value),
        config_file=_CONFIG.value)
    out = import_lib.import_weights(_METHOD.value, req)
    print(f"imported {_CHECKPOINT.value} -> {out}")
  except Exception as err:  # pylint: disable=broad-except
    if debug:
      raise
    sys.stdout.flush()
    sys.exit(logs.error_line(err))


if __name__ == "__main__":
  app.run(main)
