"""Question: Is DPoser's miss on the test people's motion denoising a matter of training length or network width?
Answer: No: trained 10k to 40k steps, or at the authors' width (7.23M parameters) for 10k, the prior changes the test people's error by -0.3% to +0.3% against no prior (held-out training clips: -6.5% to -6.1%; 3 seeds), far from the 15% asked.

  python -m experiments.main --config=experiments/configs/dposer_mocap.py \\
      --workdir=runs/dposer_long_s0 --config.data.cache_dir=caches \\
      --config.train.num_steps=40000 --config.train.mirror=0 --mode=train
  python -m experiments.studies.dposer_budget --workdir=runs/dposer_long_s0 \\
      --out=experiments/results/dposer_mocap_small_v2_cpu_budget.json

For a DPoser workdir with held-out clips, its latest checkpoint: the prior
weight chosen on the held-out training clips (the grid, fixed weights, as
`experiments.dposer_weights` chooses it), then the test split denoised with
that weight beside no prior. One row per training step and seed goes into
the JSON (a row of the same step and seed is replaced), so training a
workdir further and running this again after each stretch draws the curve,
and workdirs of other seeds (`--config.seed`) add rows beside it.
(`train.num_steps` may change on resume; the learning rate is constant after
its warm-up, so a run resumed to 40k steps is the run trained to 40k.
`--config.train.num_steps=1` in a new workdir gives the untrained prior's
row: the first update's learning rate is 0.)  `--test_every_weight` also
scores the test split at the grid's other weights, a diagnostic.
Runtime on 2 CPU cores: about 10 minutes a checkpoint with
--test_every_weight (the authors' width alone on the cores: 555 s).
"""
from __future__ import annotations

import json
import math
import os
import time
from typing import Mapping, Sequence

from absl import app
from absl import flags
from absl import logging

from experiments import dposer_weights
from jaxpose import files
from jaxpose import models

PRIOR = "dposer"


def per_noise(result: Mapping, prior: str) -> dict[str, float]:
  """{noise in mm: MPJPE after} of one prior's fixed-weight denoising."""
  out = {f"{s['noise_mm']:g}": float(s["mpjpe_after_mm"])
         for s in result["settings"]
         if s["prior"] == prior and s.get("weights", "fixed") == "fixed"}
  if not out:
    raise ValueError(f"no fixed-weight denoising row for prior {prior!r}")
  return out


def gain(prior: Mapping[str, float], none: Mapping[str, float]
         ) -> dict[str, float]:
  """Relative change of the prior's error against no prior per noise level
  (-0.15: 15% below)."""
  return {n: prior[n] / none[n] - 1.0 for n in prior if n in none}


def evaluate_checkpoint(workdir: str, *, grid: Sequence[float],
                        heldout_noise_mm: Sequence[float],
                        test_noise_mm: Sequence[float], max_windows: int,
                        test_every_weight: bool = False,
                        overrides: Mapping | None = None) -> dict:
  """The row of `workdir`'s latest checkpoint (see the module docstring).

  `test_every_weight` also scores the test split at the grid's other
  weights (`test.by_weight`): a diagnostic of how much a weight chosen on
  the held-out clips gives away on the test people, never used to choose.
  """
  start = time.time()
  runs = dposer_weights.Sweep(workdir, {
      "eval.task": "denoise_motion",
      "eval.denoise_motion.weight_schedules": ("fixed",),
      "eval.denoise_motion.schedule_ablation": (),
      "eval.denoise_motion.max_windows": max_windows,
      **dict(overrides or {})})
  step = int(runs.trained.step)
  stored = dict(runs.trained.run.task_options["denoise_motion"].weights)
  noise, weights = "eval.denoise_motion.noise_mm", "eval.denoise_motion.weights"
  reference = runs.evaluate({
      "eval.priors": ("none",), noise: tuple(heldout_noise_mm),
      "eval.output_suffix": f"budget{step}_none"})
  held = {"none": per_noise(reference, "none")}
  for w in grid:
    held[f"{w:g}"] = per_noise(runs.evaluate({
        "eval.priors": (PRIOR,), noise: tuple(heldout_noise_mm),
        weights: {**stored, PRIOR: float(w)},
        "eval.output_suffix": f"budget{step}_{PRIOR}_{w:g}"}), PRIOR)
    logging.info("step %d, held-out clips, %s %g: %s", step, PRIOR, w,
                 held[f"{w:g}"])
  chosen = dposer_weights.choose(
      {w: sum(v.values()) / len(v) for w, v in held.items() if w != "none"})
  test = runs.evaluate({
      "eval.rows": "test", "eval.priors": ("none", PRIOR),
      noise: tuple(test_noise_mm), weights: {**stored, PRIOR: float(chosen)},
      "eval.output_suffix": f"budget{step}"})
  test_rows = {p: per_noise(test, p) for p in ("none", PRIOR)}
  by_weight = {f"{chosen}": test_rows[PRIOR]}
  for w in grid if test_every_weight else ():
    if f"{w:g}" not in by_weight:
      by_weight[f"{w:g}"] = per_noise(runs.evaluate({
          "eval.rows": "test", "eval.priors": (PRIOR,),
          noise: tuple(test_noise_mm), weights: {**stored, PRIOR: float(w)},
          "eval.output_suffix": f"budget{step}_{PRIOR}_{w:g}"}), PRIOR)
  model = runs.config.model
  return dict(
      train_step=step, seed=int(runs.config.seed),
      workdir=f"runs/{os.path.basename(os.path.normpath(workdir))}",
      model=dict(hidden=int(model.hidden), embed_dim=int(model.embed_dim),
                 num_params=models.count_params(runs.trained.params)),
      chosen_weight=float(chosen),
      heldout=dict(by_weight=held, gain=gain(held[chosen], held["none"]),
                   num_windows=reference.get("num_windows")),
      test=dict(**test_rows, gain=gain(test_rows[PRIOR], test_rows["none"]),
                num_windows=test.get("num_windows"),
                **({"by_weight": by_weight} if test_every_weight else {})),
      seconds=round(time.time() - start, 1))


def check_settings(previous: Mapping | None, settings: Mapping) -> None:
  """Refuses a JSON whose rows were scored with other settings."""
  if previous is not None and previous.get("settings") != settings:
    raise ValueError(
        f"the JSON holds rows of other settings ({previous.get('settings')}); "
        f"these are {dict(settings)}: write to another --out")


def _key(row: Mapping) -> tuple[int, int]:
  return int(row["train_step"]), int(row.get("seed", 0))


def merge(previous: Mapping | None, row: Mapping, settings: Mapping) -> dict:
  """`previous`'s rows with `row` in (replacing one of the same step and
  seed, a row without one being seed 0's), ordered by step, then seed;
  other settings than the stored ones are refused."""
  check_settings(previous, settings)
  rows = [r for r in (previous or {}).get("rows", []) if _key(r) != _key(row)]
  rows = sorted([*rows, dict(row)], key=_key)
  return dict(settings=dict(settings), rows=rows)


def _read(path: str) -> dict | None:
  if not os.path.exists(path):
    return None
  try:
    with open(path) as f:
      return json.load(f)
  except json.JSONDecodeError as e:
    raise ValueError(f"{path} is not a JSON of this script's rows ({e}); "
                     "move it away or write to another --out") from None


def main(argv):
  del argv
  logging.set_verbosity(logging.INFO)
  settings = dict(grid=[float(w) for w in _GRID.value],
                  heldout_noise_mm=[float(v) for v in _HELD_NOISE.value],
                  test_noise_mm=[float(v) for v in _TEST_NOISE.value],
                  max_windows=_WINDOWS.value)
  if any(not math.isfinite(w) or w < 0 for w in settings["grid"]):
    raise app.UsageError(f"--grid: weights must be finite and >= 0, got "
                         f"{settings['grid']}")
  check_settings(_read(_OUT.value), settings)  # before the evaluations
  row = evaluate_checkpoint(_WORKDIR.value, grid=settings["grid"],
                            heldout_noise_mm=settings["heldout_noise_mm"],
                            test_noise_mm=settings["test_noise_mm"],
                            max_windows=settings["max_windows"],
                            test_every_weight=_EVERY.value)
  # Read again: another stretch's run may have written its row meanwhile.
  result = merge(_read(_OUT.value), {**row, "hardware": _HARDWARE.value},
                 settings)
  files.write_json_atomic(_OUT.value, result)
  print(json.dumps({k: row[k] for k in ("train_step", "chosen_weight")}))
  print(json.dumps({"heldout": row["heldout"]["gain"],
                    "test": row["test"]["gain"]}, indent=1))
  print(f"wrote {_OUT.value}")


if __name__ == "__main__":
  # Defined here, not on import: tests import several of these scripts.
  _WORKDIR = flags.DEFINE_string("workdir", None, "A trained DPoser workdir "
                                 "with held-out clips.")
  _OUT = flags.DEFINE_string("out", None, "The JSON the row goes into.")
  _GRID = flags.DEFINE_list("grid", ["0.3", "1", "3"], "DPoser's weights tried "
                            "on the held-out clips.")
  _HELD_NOISE = flags.DEFINE_list("heldout_noise_mm", ["20", "40"],
                                  "Noise levels the weight is chosen on.")
  _TEST_NOISE = flags.DEFINE_list("test_noise_mm", ["20", "40", "100"],
                                  "Noise levels of the test split.")
  _WINDOWS = flags.DEFINE_integer("max_windows", 20, "Windows denoised, "
                                  "held-out and test alike.")
  _EVERY = flags.DEFINE_bool(
      "test_every_weight", False, "Also score the test split at every weight "
      "of the grid (a diagnostic; the choice stays the held-out clips').")
  _HARDWARE = flags.DEFINE_string("hardware", "2 CPU cores", "Where it ran, "
                                  "recorded in the row.")
  flags.mark_flags_as_required(["workdir", "out"])
  app.run(main)
