"""One results row over several training seeds: mean and spread.

A figure of one training run mixes what a method does with the luck of
its seed; the rows of experiments/results/ that compare methods give the
mean over seeds and its spread instead. Each seed is its own workdir
trained with `--config.seed=S`, evaluated with the same settings; this
reads `<workdir>/eval/<stem>.json` of each and writes one JSON:

  python -m experiments.seed_summary --stem=estimate_single \
      --workdirs=runs/gf_s0,runs/gf_s1,runs/gf_s2 \
      --out=experiments/results/NAME.json --hardware="2 CPU cores" \
      --command="python -m experiments.main ... --config.seed=$S" \
      --what="GFPose small, image space, one hypothesis"

`summarise` refuses seeds evaluated on different rows (dataset, 2D input,
number of poses, task, hypotheses, sampler): their mean would not be a
row of anything.
"""
from __future__ import annotations

import glob
import json
import math
import os
from typing import Mapping, Sequence

import numpy as np

from jaxpose import files

# Headline figures kept per seed and summarised (those a results file has).
FIGURES = ("mpjpe_mm", "pa_mpjpe_mm", "min_mpjpe_mm", "min_pa_mpjpe_mm",
           "mean_hypothesis_mpjpe_mm", "apd_mm", "gain_over_encoder_mm")
# Figures nested in a results file, kept under their dotted path (DiffPose's
# frozen encoder on the same rows: its own baseline, which a seed changes
# when the encoder is retrained).
NESTED_FIGURES = ("encoder.mpjpe_mm", "encoder.pa_mpjpe_mm")
# What must agree between seeds for their mean to be one row.
SAME_ROWS = ("task", "data", "input_2d", "num_poses", "num_hypotheses",
             "sampler", "num_steps")
# Fields naming a row of a results file's `settings` table (DPoser's
# tasks: a prior, a masked part, a noise level ...); its other numbers are
# the row's figures.
ROW_KEYS = ("prior", "part", "noise_mm", "weights", "schedule", "input")
# Calibration figures kept per seed: {level: coverage}.
COVERAGE_KEYS = ("coverage", "radial_coverage")


def _coverages(result: Mapping) -> dict:
  out = {}
  for name in ("calibration", "calibration_after"):
    cal = result.get(name)
    if isinstance(cal, Mapping):
      for key in COVERAGE_KEYS:
        if isinstance(cal.get(key), Mapping):
          for level, value in cal[key].items():
            if value is not None:
              out[f"{name}.{key}.{level}"] = float(value)
  return out


def seed_figures(result: Mapping) -> dict:
  """The figures of one seed's results file that `summarise` keeps."""
  figs = {k: float(result[k]) for k in FIGURES
          if isinstance(result.get(k), (int, float)) and result.get(k) is not None}
  for path in NESTED_FIGURES:
    value = result
    for part in path.split("."):
      value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, (int, float)):
      figs[path] = float(value)
  figs.update(_coverages(result))
  if isinstance(result.get("warnings"), list):
    figs["num_warnings"] = float(len(result["warnings"]))
  figs["train_step"] = result.get("train_step")
  return figs


def _spread(values: Sequence[float]) -> dict:
  v = np.asarray(values, np.float64)
  return dict(mean=float(v.mean()),
              std=float(v.std(ddof=1)) if len(v) > 1 else 0.0,
              min=float(v.min()), max=float(v.max()), n=int(len(v)))


def _row_key(row: Mapping) -> tuple:
  return tuple((k, row[k]) for k in ROW_KEYS if k in row)


def settings_across_seeds(results: Mapping[int, Mapping]) -> list[dict]:
  """Each `settings` row every seed has (same `ROW_KEYS` values): those
  values and {figure: spread} of its numbers; [] when a seed has none."""
  tables = []
  for result in results.values():
    rows = result.get("settings")
    if not isinstance(rows, list):
      return []
    tables.append({_row_key(r): r for r in rows if isinstance(r, Mapping)})
  out = []
  for key in tables[0]:
    if not all(key in t for t in tables):
      continue
    numbers = [{k: float(v) for k, v in t[key].items()
                if k not in ROW_KEYS and isinstance(v, (int, float))
                and not isinstance(v, bool) and math.isfinite(v)} for t in tables]
    names = sorted(set.intersection(*(set(n) for n in numbers)))
    out.append(dict(key, figures={n: _spread([x[n] for x in numbers]) for n in names}))
  return out


def summarise(results: Mapping[int, Mapping], *, what: str, command: str,
              hardware: str) -> dict:
  """Mean and spread over seeds of the same evaluation.

  Args:
    results: {seed: the results JSON of that seed's workdir}.
    what: what the row is, in words.
    command: how each seed was trained and evaluated ($S for the seed).
    hardware: where.

  Returns:
    {what, command, hardware, same_rows: the settings the seeds share,
     seeds: {seed: figures}, across_seeds: {figure: {mean, std (sample,
     ddof=1), min, max, n}}, and settings_across_seeds (each row of the
     results' `settings` table with its figures' spread) when they have one}.

  Raises:
    ValueError: no seeds, or seeds evaluated on different rows.
  """
  if not results:
    raise ValueError("summarise: no seeds given")
  first_seed = min(results)
  reference = {k: results[first_seed].get(k) for k in SAME_ROWS}
  for seed, result in results.items():
    for key in SAME_ROWS:
      if result.get(key) != reference[key]:
        raise ValueError(
            f"seed {seed}: {key}={result.get(key)!r} but seed {first_seed} has "
            f"{reference[key]!r}: the seeds were not evaluated on the same rows")
  per_seed = {int(s): seed_figures(r) for s, r in sorted(results.items())}
  names = set.intersection(*(set(f) for f in per_seed.values())) - {"train_step"}
  across = {name: _spread([per_seed[s][name] for s in per_seed])
            for name in sorted(names)
            if all(math.isfinite(per_seed[s][name]) for s in per_seed)}
  out = dict(what=what, command=command, hardware=hardware,
             same_rows=reference, seeds={str(s): f for s, f in per_seed.items()},
             across_seeds=across)
  rows = settings_across_seeds(results)
  if rows:
    out["settings_across_seeds"] = rows
  return out


def results_path(workdir: str, stem: str) -> str:
  """`<workdir>/eval/<stem>.json`, or the one `<workdir>/eval/*/<stem>.json`
  (an evaluation on other data than the training data, e.g. noisy test 2D,
  writes under a folder named by that data)."""
  found = [p for p in [os.path.join(workdir, "eval", f"{stem}.json")]
           + sorted(glob.glob(os.path.join(workdir, "eval", "*", f"{stem}.json")))
           if os.path.exists(p)]
  if not found:
    raise FileNotFoundError(f"{workdir}: no results of '{stem}' under its eval/ "
                            "(evaluate it first)")
  if len(found) > 1:
    raise ValueError(f"{workdir}: '{stem}' has several results files "
                     f"({', '.join(found)}): pass the workdirs of one evaluation")
  return found[0]


def read_results(workdirs: Sequence[str], stem: str,
                 seeds: Sequence[int] | None = None) -> dict[int, dict]:
  """{seed: <workdir>/eval/<stem>.json} (seeds default to each workdir's
  config.json seed)."""
  out = {}
  for i, workdir in enumerate(workdirs):
    path = results_path(workdir, stem)
    with open(path) as f:
      result = json.load(f)
    if seeds is not None:
      seed = int(seeds[i])
    else:
      with open(os.path.join(workdir, "config.json")) as f:
        seed = int(json.load(f)["seed"])
    if seed in out:
      raise ValueError(f"{workdir}: seed {seed} given twice")
    out[seed] = result
  return out


def write(out_path: str, summary: dict) -> None:
  files.write_json_atomic(out_path, summary)


def main(argv):
  del argv
  from absl import flags  # pylint: disable=g-import-not-at-top
  f = flags.FLAGS
  results = read_results(f.workdirs, f.stem)
  summary = summarise(results, what=f.what, command=f.command, hardware=f.hardware)
  write(f.out, summary)
  for name, s in summary["across_seeds"].items():
    print(f"{name}: {s['mean']:.3f} +- {s['std']:.3f} (n={s['n']})")
  print(f"wrote {f.out}")


if __name__ == "__main__":
  from absl import app, flags  # pylint: disable=g-import-not-at-top,g-multiple-import
  flags.DEFINE_list("workdirs", None, "one workdir per seed", required=True)
  flags.DEFINE_string("stem", "estimate", "the results file stem (task[_suffix])")
  flags.DEFINE_string("out", None, "the summary JSON", required=True)
  flags.DEFINE_string("what", "", "what the row is")
  flags.DEFINE_string("command", "", "how each seed ran ($S for the seed)")
  flags.DEFINE_string("hardware", "", "where it ran")
  app.run(main)
