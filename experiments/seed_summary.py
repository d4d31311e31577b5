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
number of poses, task, hypotheses, sampler, what the model received), and
`read_results` seeds trained with other settings than the first's (say one
mirrored and one not): their mean would not be a row of anything.
"""
from __future__ import annotations

import glob
import json
import math
import os
from typing import Mapping, Sequence

import numpy as np

from jaxpose import config as config_lib
from jaxpose import files
from jaxpose.workdir import layout

# Headline figures kept per seed and summarised (those a results file has).
FIGURES = ("mpjpe_mm", "pa_mpjpe_mm", "min_mpjpe_mm", "min_pa_mpjpe_mm",
           "mean_hypothesis_mpjpe_mm", "apd_mm", "gain_over_encoder_mm")
# Figures nested in a results file, kept under their dotted path (DiffPose's
# frozen encoder on the same rows: its own baseline, which a seed changes
# when the encoder is retrained; the error of the hypotheses' mean where a
# calibration was applied, also for tasks that report it nowhere else).
NESTED_FIGURES = ("encoder.mpjpe_mm", "encoder.pa_mpjpe_mm",
                  "calibration_after.mean_mpjpe_mm",
                  # DiffPose: the mean of the draws from H_K, no diffusion.
                  "initial_samples.mpjpe_mm",
                  # Whether the spread tracks the error, and a proper score
                  # of the whole set of hypotheses (the calibration table).
                  "calibration.spread_error_pearson",
                  "calibration.energy_score_mm")
# What must agree between seeds for their mean to be one row (what the
# model and the baseline its results hold received: `evaluation.inputs`).
SAME_ROWS = ("task", "data", "input_2d", "num_poses", "num_hypotheses",
             "sampler", "num_steps", "test_inputs", "baseline_test_inputs")
# Fields naming a row of a results file's `settings` table (DPoser's
# tasks: a prior, a masked part, a noise level ...); its other numbers are
# the row's figures.
ROW_KEYS = ("prior", "part", "noise_mm", "weights", "schedule", "input")
# Calibration figures kept per seed: {level: coverage}.
COVERAGE_KEYS = ("coverage", "radial_coverage")
# Figures of the held-out report `--mode=calibrate` writes
# (<workdir>/calibration/<task>.json): coverage before and after, cross-
# fitted on the held-out clips, the error there (beside the test's) after
# the calibration and as the task scores it, and the rows scored; with a
# context encoder (DiffPose) its error on the same rows. Each is kept when
# every seed's report has it.
HELDOUT_FIGURES = ("before.coverage.0.5", "before.coverage.0.9",
                   "after.coverage.0.5", "after.coverage.0.9",
                   "after.mean_mpjpe_mm", "task_figures.mpjpe_mm",
                   "task_figures.encoder/mpjpe_mm", "num_rows")


def _coverages(result: Mapping) -> dict:
  out = {}
  for name in ("calibration", "calibration_before", "calibration_after"):
    cal = result.get(name)
    if isinstance(cal, Mapping):
      for key in COVERAGE_KEYS:
        if isinstance(cal.get(key), Mapping):
          for level, value in cal[key].items():
            if value is not None:
              out[f"{name}.{key}.{level}"] = float(value)
  return out


def dotted(result: Mapping, path: str):
  """result[a][b]... for path 'a.b...' (keys may hold dots: '0.9')."""
  value, rest = result, path
  while rest:
    if not isinstance(value, Mapping):
      return None
    key = next((k for k in sorted(value, key=len, reverse=True)
                if rest == k or rest.startswith(k + ".")), None)
    if key is None:
      return None
    value, rest = value[key], rest[len(key) + 1:]
  return value


def seed_figures(result: Mapping) -> dict:
  """The figures of one seed's results file that `summarise` keeps."""
  figs = {k: float(result[k]) for k in FIGURES
          if isinstance(result.get(k), (int, float)) and result.get(k) is not None}
  for path in NESTED_FIGURES:
    value = dotted(result, path)
    if isinstance(value, (int, float)):
      figs[path] = float(value)
  figs.update(_coverages(result))
  fitted = dotted(result, "calibration_after.calibration.fitted_on.num_rows")
  if isinstance(fitted, (int, float)):
    figs["calibration_after.fitted_rows"] = float(fitted)
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


def row_numbers(row: Mapping) -> dict:
  """The finite numbers of one `settings` row, and of its own calibration
  block (DPoser's completion reports one per prior and part) under the
  dotted paths a results file's are kept under."""
  numbers = {k: float(v) for k, v in row.items()
             if k not in ROW_KEYS and isinstance(v, (int, float))
             and not isinstance(v, bool) and math.isfinite(v)}
  nested = {path: dotted(row, path) for path in NESTED_FIGURES
            if path.startswith("calibration.")}
  numbers.update({k: float(v) for k, v in nested.items()
                  if isinstance(v, (int, float)) and math.isfinite(v)})
  numbers.update(_coverages(row))
  return numbers


def settings_across_seeds(results: Mapping[int, Mapping]) -> list[dict]:
  """Each `settings` row every seed has (same `ROW_KEYS` values): those
  values and {figure: spread} of its numbers (`row_numbers`); [] when a
  seed has none."""
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
    numbers = [row_numbers(t[key]) for t in tables]
    names = sorted(set.intersection(*(set(n) for n in numbers)))
    out.append(dict(key, figures={n: _spread([x[n] for x in numbers]) for n in names}))
  return out


def heldout_across_seeds(reports: Mapping[int, Mapping]) -> dict:
  """{figure: spread} of `HELDOUT_FIGURES` over the seeds' held-out
  calibration reports, and {seed: the calibration kept} as 'kept'."""
  per_seed = {s: {f: dotted(r, f) for f in HELDOUT_FIGURES}
              for s, r in reports.items()}
  out = {f: _spread([float(v[f]) for v in per_seed.values()])
         for f in HELDOUT_FIGURES
         if all(isinstance(v[f], (int, float)) for v in per_seed.values())}
  out["kept"] = {str(s): r.get("after", {}).get("kind")
                 for s, r in sorted(reports.items())}
  return out


def summarise(results: Mapping[int, Mapping], *, what: str, command: str,
              hardware: str, heldout: Mapping[int, Mapping] | None = None
              ) -> dict:
  """Mean and spread over seeds of the same evaluation.

  Args:
    results: {seed: the results JSON of that seed's workdir}.
    what: what the row is, in words.
    command: how each seed was trained and evaluated ($S for the seed).
    hardware: where.
    heldout: {seed: its held-out calibration report}, when every seed was
      calibrated (`read_heldout`).

  Returns:
    {what, command, hardware, same_rows: the settings the seeds share,
     seeds: {seed: figures}, across_seeds: {figure: {mean, std (sample,
     ddof=1), min, max, n}}, settings_across_seeds (each row of the
     results' `settings` table with its figures' spread) when they have
     one, and heldout_calibration (`heldout_across_seeds`) with `heldout`}.

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
  if heldout:
    if set(heldout) != set(results):
      raise ValueError(f"held-out reports of seeds {sorted(heldout)}, results "
                       f"of seeds {sorted(results)}")
    out["heldout_calibration"] = heldout_across_seeds(heldout)
  return out


def results_path(workdir: str, stem: str) -> str:
  """`<workdir>/eval/<stem>.json`, or the one `<workdir>/eval/*/<stem>.json`
  (an evaluation on other data than the training data, e.g. noisy test 2D,
  writes under a folder named by that data)."""
  where = layout.Workdir(workdir)
  found = [p for p in [where.results(stem)]
           + sorted(glob.glob(os.path.join(where.eval_of("*"), f"{stem}.json")))
           if os.path.exists(p)]
  if not found:
    raise FileNotFoundError(f"{workdir}: no results of '{stem}' under its eval/ "
                            "(evaluate it first)")
  if len(found) > 1:
    raise ValueError(f"{workdir}: '{stem}' has several results files "
                     f"({', '.join(found)}): pass the workdirs of one evaluation")
  return found[0]


def _is_location(key: str) -> bool:
  """A config key that says where something is, not what a run did."""
  return key.rsplit(".", 1)[-1].endswith(("_dir", "_workdir"))


def training_differences(first: Mapping, other: Mapping) -> dict:
  """{key: (first, other)} of the training settings two seeds' configs do
  not share (`config.resume_changes`, and the step budget, which resuming
  may change but one row may not), besides the seed and where things are
  (`_is_location`)."""
  changes = config_lib.resume_changes(first, other)
  steps = [config_lib.flatten(c).get("train.num_steps") for c in (first, other)]
  if steps[0] != steps[1]:
    changes["train.num_steps"] = tuple(steps)
  return {k: v for k, v in changes.items()
          if k != "seed" and not _is_location(k)}


def read_results(workdirs: Sequence[str], stem: str,
                 seeds: Sequence[int] | None = None) -> dict[int, dict]:
  """{seed: <workdir>/eval/<stem>.json} (seeds default to each workdir's
  config.json seed).

  Raises:
    ValueError: a seed given twice, or a workdir trained with other
      settings than the first (`training_differences`).
  """
  out = {}
  reference = None
  for i, workdir in enumerate(workdirs):
    path = results_path(workdir, stem)
    with open(path) as f:
      result = json.load(f)
    config_path = layout.Workdir(workdir).config
    trained = None
    if os.path.exists(config_path):
      with open(config_path) as f:
        trained = json.load(f)
    if seeds is not None:
      seed = int(seeds[i])
    elif trained is None:
      raise FileNotFoundError(f"{config_path}: missing, so its seed is unknown "
                              "(pass the seeds)")
    else:
      seed = int(trained["seed"])
    if trained is not None:
      if reference is None:
        reference = (workdir, trained)
      elif changed := training_differences(reference[1], trained):
        shown = "; ".join(f"{k}: {v[0]!r} there, {v[1]!r} here"
                          for k, v in changed.items())
        raise ValueError(f"{workdir}: trained with other settings than "
                         f"{reference[0]} ({shown}): not seeds of one row")
    if seed in out:
      raise ValueError(f"{workdir}: seed {seed} given twice")
    out[seed] = result
  return out


def read_heldout(workdirs: Sequence[str], results: Mapping[int, Mapping]
                 ) -> dict[int, dict] | None:
  """{seed: <workdir>/calibration/<task>.json} when every workdir has one
  (written by --mode=calibrate), else None; `results` as `read_results`
  gave them, in the order of `workdirs`."""
  out = {}
  for workdir, (seed, result) in zip(workdirs, results.items()):
    path = layout.Workdir(workdir).calibration_run(result.get("task"))
    if not os.path.exists(path):
      return None
    with open(path) as f:
      out[seed] = json.load(f)
  return out


def write(out_path: str, summary: dict) -> None:
  files.write_json_atomic(out_path, summary)


def main(argv):
  del argv
  from absl import flags  # pylint: disable=g-import-not-at-top
  f = flags.FLAGS
  results = read_results(f.workdirs, f.stem)
  summary = summarise(results, what=f.what, command=f.command, hardware=f.hardware,
                      heldout=read_heldout(f.workdirs, results))
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
