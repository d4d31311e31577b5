"""Question: Following a run's settings from `run_lib.run` through the calls that are handed them, how many calls, returns back up the layers and visits to run_lib does one `train_and_eval` take, and how many times is the config parsed?
Answer: 30 steps, 7 returns up the layers, 1 parse, from 33, 11 and 4 at bb8526b (experiments/results/config_walk_cpu.json; run from a checkout of that commit for the before).

  python -m experiments.studies.config_walk \
      --json=experiments/results/config_walk_cpu.json [--label=after]

A tiny quickstart (GFPose) `train_and_eval` runs under `sys.setprofile`.
A step is a call of a function of the layers that do the work (data,
training, evaluation, methods, calibration, run_lib; not the level-0
helpers such as `config.to_plain`, nor a dataclass's `__init__`) one of
whose arguments is the run's settings in any form: the config it was
given, a plain copy of a whole config (a mapping holding every generic
section), or the typed `RunSettings`.
A return up the layers is a step's return to a caller in a higher layer
(the ranks of tests/test_layout.py: data 5, training 6, evaluation 7,
methods 8, calibration 8.5, run_lib 9). Parses count the calls of
`methods.base.parse`. The study measures whatever jaxpose is importable,
so running it from a checkout of an older commit gives the before.
"""
from __future__ import annotations

import collections
import os
import platform
import sys
import tempfile

from absl import app
from absl import flags

from experiments.configs import quickstart
from jaxpose import files

FLAGS = flags.FLAGS
flags.DEFINE_string("json", "", "append this walk to the JSON file")
flags.DEFINE_string("label", "after", "the name of this walk in the file")

RANKS = {"data": 5, "training": 6, "evaluation": 7, "methods": 8,
         "calibration": 8.5, "run_lib": 9}


def tiny_config():
  """The quickstart at toy size: seconds of work, every layer visited."""
  c = quickstart.get_config()
  c.model.update(hidden=32, embed_dim=16, num_blocks=1, num_groups=4)
  c.data.update(n_train=64, n_test=4)
  c.train.update(num_steps=2, batch_size=16, log_every=1, ckpt_every=2,
                 warmup_steps=1)
  c.eval.update(num_hypotheses=2, num_poses=4, batch_poses=4, num_steps=2,
                plot_poses=0)
  return c


def _layer(module: str) -> str:
  parts = module.split(".")
  return parts[1] if len(parts) > 1 else ""


GENERIC_SECTIONS = ("method", "seed", "data", "train", "eval")


def _carries_settings(value, config, settings_type) -> bool:
  if value is config or (settings_type and isinstance(value, settings_type)):
    return True
  return isinstance(value, dict) and all(k in value for k in GENERIC_SECTIONS)


def walk(workdir: str) -> dict:
  """Runs the tiny `train_and_eval` in `workdir` and counts its walk."""
  from jaxpose import run_lib
  from jaxpose.methods import base
  config = tiny_config()
  settings_type = getattr(base, "RunSettings", None)
  counts = collections.Counter()
  where = collections.Counter()
  stack = []  # per frame: (is a step, its module)

  def profile(frame, event, arg):
    del arg
    if event not in ("call", "return"):
      return
    module = frame.f_globals.get("__name__", "")
    if event == "call":
      code = frame.f_code
      names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
      step = (_layer(module) in RANKS and code.co_name != "__init__" and any(
          _carries_settings(frame.f_locals.get(n), config, settings_type)
          for n in names))
      if step:
        counts["steps"] += 1
        where[f"{module}.{code.co_name}"] += 1
        counts["run_lib_visits"] += module == "jaxpose.run_lib"
      if module == "jaxpose.methods.base" and code.co_name == "parse":
        counts["parses"] += 1
      stack.append((step, module))
      return
    if not stack:
      return
    step, callee = stack.pop()
    caller = frame.f_back.f_globals.get("__name__", "") if frame.f_back else ""
    if step and caller.startswith("jaxpose."):
      up = RANKS.get(_layer(caller), 0) > RANKS.get(_layer(callee), 0)
      counts["returns_up"] += up

  sys.setprofile(profile)
  try:
    run_lib.run("train_and_eval", config, workdir)
  finally:
    sys.setprofile(None)
  return dict(steps=counts["steps"], returns_up_the_layers=counts["returns_up"],
              run_lib_visits=counts["run_lib_visits"], parses=counts["parses"],
              calls=dict(where.most_common()))


def main(argv):
  del argv
  with tempfile.TemporaryDirectory() as scratch:
    result = walk(os.path.join(scratch, "run"))
  print(f"{FLAGS.label}: {result['steps']} steps, "
        f"{result['returns_up_the_layers']} returns up the layers, "
        f"{result['run_lib_visits']} visits to run_lib, "
        f"{result['parses']} parses")
  if FLAGS.json:
    previous = files.read_json(FLAGS.json) if os.path.exists(FLAGS.json) else {}
    walks = dict(previous.get("walks", {}))
    walks[FLAGS.label] = result
    files.write_json_atomic(FLAGS.json, {
        "what": "the walk of a run's settings from run_lib.run "
                "(experiments/studies/config_walk.py)",
        "command": "python -m experiments.studies.config_walk "
                   f"--json={FLAGS.json} --label=<before|after>",
        "seeds": [0], "hardware": f"{platform.machine()} CPU",
        "walks": walks})


if __name__ == "__main__":
  app.run(main)
