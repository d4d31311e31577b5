"""DPoser's prior weights chosen on held-out training clips, never on the
test split.

A trained DPoser workdir with held-out clips (--config.holdout.fraction > 0)
is evaluated on those clips (`eval.rows=heldout`) once per prior and weight
of a grid, for motion denoising (each weight schedule of the workdir's
config) and the fit to 2D keypoints; each prior's weight with the lowest
error wins (denoising: the mean MPJPE over the noise levels; fitting: the
PA-MPJPE over the 2D inputs). The JSON records every figure, the choice
(`chosen`, by the `eval` key it sets: denoise_motion.weights, fit2d.weights;
files written before the tasks had their groups say denoise_weights,
fit_weights) and the flags that evaluate the test split with it:

  python -m experiments.dposer_weights --workdir=runs/dposer_mocap \\
      --out=experiments/results/dposer_mocap_weights_heldout_cpu.json

Runtime on 2 CPU cores: about a minute per denoising grid point (10
windows of 60 frames, 2 noise levels, 2 weight schedules) and half a minute
per fitting point (100 rows).
"""
from __future__ import annotations

import ast
import dataclasses
import json
import math
import os
import time
from typing import Mapping, Sequence

from absl import app
from absl import flags
from absl import logging

from jaxpose import files
from jaxpose import run_lib


def parse_grid(text: str) -> dict[str, tuple[float, ...]]:
  """'gmm=0.1,0.3;dposer=1,3' -> {'gmm': (0.1, 0.3), 'dposer': (1.0, 3.0)}."""
  grid = {}
  for part in filter(None, (p.strip() for p in text.split(";"))):
    prior, sep, values = part.partition("=")
    if not sep or not values.strip():
      raise ValueError(f"weight grid {text!r}: expected 'prior=w,w,...', got "
                       f"{part!r}")
    try:
      weights = tuple(float(v) for v in values.split(","))
    except ValueError as e:
      raise ValueError(f"weight grid {text!r}: {e}") from None
    if any(not math.isfinite(w) or w < 0 for w in weights):
      raise ValueError(f"weight grid {text!r}: weights must be finite and >= 0")
    grid[prior.strip()] = weights
  return grid


def parse_set(items: Sequence[str]) -> dict:
  """['eval.a=(1, 2)', 'eval.b=x'] -> {'eval.a': (1, 2), 'eval.b': 'x'}
  (a value that is no Python literal stays a string)."""
  out = {}
  for item in items:
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
      raise ValueError(f"--set {item!r}: expected key=value")
    try:
      out[key.strip()] = ast.literal_eval(value)
    except (ValueError, SyntaxError):
      out[key.strip()] = value
  return out


def denoise_score(result: Mapping, prior: str, weights: str) -> float:
  """Mean MPJPE after denoising over the noise levels of one prior and
  weight schedule."""
  after = [s["mpjpe_after_mm"] for s in result["settings"]
           if s["prior"] == prior and s.get("weights", "fixed") == weights]
  if not after:
    raise ValueError(f"no denoising row for prior {prior!r}, {weights} weights")
  return float(sum(after) / len(after))


def fit_score(result: Mapping, prior: str) -> float:
  """Mean PA-MPJPE of one prior's fit over the 2D inputs."""
  pa = [s["pa_mpjpe_mm"] for s in result["settings"] if s["prior"] == prior]
  if not pa:
    raise ValueError(f"no fitting row for prior {prior!r}")
  return float(sum(pa) / len(pa))


def choose(scores: Mapping[str, float]) -> str:
  """The key of the lowest finite score (ties: the first)."""
  finite = {k: v for k, v in scores.items() if math.isfinite(v)}
  if not finite:
    raise ValueError("every grid point failed (no finite score)")
  return min(finite, key=finite.get)


@dataclasses.dataclass
class Sweep:
  """Evaluations of one workdir on its held-out clips, the model loaded once.

  `trained.run.task_options`: the workdir's own options of each task (an
  older config's flat keys read into their groups).
  """
  workdir: str
  overrides: dict = dataclasses.field(default_factory=dict)

  def __post_init__(self):
    config = run_lib.evaluation_config(self.workdir)
    self.trained = run_lib.load_trained(self.workdir, config=config)
    self.config = config

  def evaluate(self, overrides: Mapping) -> dict:
    config = run_lib.evaluation_config(
        self.workdir, {"eval.rows": "heldout", "eval.plot_poses": 0,
                       **self.overrides, **overrides}, base_config=self.config)
    return run_lib.evaluate(config, self.workdir, trained=self.trained)


def sweep(workdir: str, *, denoise_grid: Mapping[str, Sequence[float]],
          fit_grid: Mapping[str, Sequence[float]], noise_mm: Sequence[float],
          max_windows: int, fit_poses: int, overrides: Mapping = None) -> dict:
  """Every grid point evaluated on `workdir`'s held-out clips; the choice.

  `overrides` ({dotted eval key: value}) change every evaluation alike.
  """
  runs = Sweep(workdir, dict(overrides or {}))
  stored = runs.trained.run.task_options
  schedules = tuple(runs.overrides.get(
      "eval.denoise_motion.weight_schedules",
      stored["denoise_motion"].weight_schedules))
  # Results name the workdir as the README's commands do, not by this
  # machine's path.
  out = dict(workdir=f"runs/{os.path.basename(os.path.normpath(workdir))}",
             rows="held-out training clips", train_step=runs.trained.step,
             denoise={}, fit={}, chosen={})
  denoise_settings = {"eval.task": "denoise_motion",
                      "eval.denoise_motion.noise_mm": tuple(noise_mm),
                      "eval.denoise_motion.max_windows": max_windows,
                      "eval.denoise_motion.schedule_ablation": ()}
  start = time.time()
  if denoise_grid:  # the reference: smoothing alone, no prior
    result = runs.evaluate({**denoise_settings, "eval.priors": ("none",),
                            "eval.output_suffix": "weights_none"})
    out["denoise"]["none"] = {s: denoise_score(result, "none", s)
                              for s in schedules}
  for prior, weights in denoise_grid.items():
    table = {s: {} for s in schedules}
    for w in weights:
      result = runs.evaluate({
          **denoise_settings, "eval.priors": (prior,),
          "eval.denoise_motion.weights": {
              **stored["denoise_motion"].weights, prior: w},
          "eval.output_suffix": f"weights_{prior}_{w:g}"})
      for s in schedules:
        table[s][f"{w:g}"] = denoise_score(result, prior, s)
      logging.info("denoise %s %g: %s", prior, w, {s: table[s][f'{w:g}']
                                                   for s in schedules})
    out["denoise"][prior] = table
    out["chosen"].setdefault("denoise_motion.weights", {})[prior] = {
        s: float(choose(table[s])) for s in schedules}
  for prior, weights in fit_grid.items():
    table = {}
    for w in weights:
      result = runs.evaluate({
          "eval.task": "fit2d", "eval.priors": (prior,),
          "eval.fit2d.weights": {**stored["fit2d"].weights, prior: w},
          "eval.num_poses": fit_poses,
          "eval.output_suffix": f"weights_{prior}_{w:g}"})
      table[f"{w:g}"] = fit_score(result, prior)
      logging.info("fit2d %s %g: %.2f", prior, w, table[f"{w:g}"])
    out["fit"][prior] = table
    out["chosen"].setdefault("fit2d.weights", {})[prior] = float(
        choose(table))
  out["settings"] = dict(noise_mm=list(noise_mm), max_windows=max_windows,
                         fit_poses=fit_poses, weight_schedules=list(schedules),
                         overrides=files.jsonable(runs.overrides))
  out["seconds"] = round(time.time() - start, 1)
  return out


def main(argv):
  del argv
  logging.set_verbosity(logging.INFO)
  result = sweep(_WORKDIR.value, denoise_grid=parse_grid(_DENOISE.value),
                 fit_grid=parse_grid(_FIT.value),
                 noise_mm=[float(v) for v in _NOISE.value],
                 max_windows=_WINDOWS.value, fit_poses=_FIT_POSES.value,
                 overrides=parse_set(_SET.value))
  files.write_json_atomic(_OUT.value, result)
  print(json.dumps(result["chosen"], indent=1))
  print(f"wrote {_OUT.value}")


if __name__ == "__main__":
  # Defined here, not on import: tests import several of these scripts.
  _WORKDIR = flags.DEFINE_string("workdir", None, "A trained DPoser workdir with "
                                 "held-out clips.")
  _OUT = flags.DEFINE_string("out", None, "Where the JSON goes.")
  _DENOISE = flags.DEFINE_string(
      "denoise_grid", "gmm=0.03,0.1,0.3,1;dposer=0.1,0.3,1,3",
      "Motion denoising's weights tried, 'prior=w,w;prior=w,...' ('' skips).")
  _FIT = flags.DEFINE_string(
      "fit_grid", "gmm=0.003,0.01,0.03;dposer=0.3,1,3",
      "The fit to 2D's weights tried, same form ('' skips).")
  _NOISE = flags.DEFINE_list("noise_mm", ["20", "40"], "Denoising noise levels.")
  _WINDOWS = flags.DEFINE_integer("max_windows", 10, "Held-out windows denoised.")
  _FIT_POSES = flags.DEFINE_integer("fit_poses", 100, "Held-out rows fitted.")
  _SET = flags.DEFINE_multi_string(
      "set", [], "key=value (a Python literal, e.g. "
      "eval.denoise_motion.t=(0.1,0.01)): an evaluation setting changed in "
      "every grid point.")
  flags.mark_flags_as_required(["workdir", "out"])
  app.run(main)
