r"""Question: Do the real-footage figures of one model hold over its training seeds, and does any view reach the targets?
Answer: The figures are in the results file this writes (docs/results/footage.md shows them); the page's note says what they mean.

    python -m experiments.studies.real_footage_seeds \
        --names=gfpose_cam,gfpose_cam_s1,gfpose_cam_s2 --out_name=gfpose_cam

reads experiments/results/real_footage_<name>_cpu.json of each seed's
workdir (`experiments.studies.real_footage`, the same clips and options)
and writes experiments/results/real_footage_<out_name>_seeds_cpu.json:
for every scored row (a view of a person, lifted one way), MPJPE and
PA-MPJPE over the seeds (mean, standard deviation, each seed's) and
whether the mean meets the targets (PA-MPJPE at most `PA_TARGET_MM`,
MPJPE at most `MPJPE_TARGET_MM`).
"""
from __future__ import annotations

import os

import numpy as np
from absl import app
from absl import flags

from experiments.bench import timing
from jaxpose import files

RESULTS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "results")
MPJPE_TARGET_MM = 120.0
PA_TARGET_MM = 75.0
# What names a row across the seeds' files.
_KEY = ("clip", "subject", "camera", "fit_2d", "detected_every")


def _key(row: dict) -> tuple:
  return tuple(row.get(k) for k in _KEY)


def summarise(runs: dict[str, dict]) -> list[dict]:
  """One row per scored row of the first run, over every run's same row.

  Raises:
    ValueError: a run without one of the first run's scored rows (named).
  """
  names = list(runs)
  scored = [r for r in runs[names[0]]["rows"] if "mpjpe_mm" in r]
  by_run = {n: {_key(r): r for r in runs[n]["rows"] if "mpjpe_mm" in r}
            for n in names}
  out = []
  for row in scored:
    key = _key(row)
    missing = [n for n in names if key not in by_run[n]]
    if missing:
      raise ValueError(f"{', '.join(missing)}: no row {dict(zip(_KEY, key))}; "
                       "run each seed's study with the same clips and options")
    summary = dict(zip(_KEY, key))
    for metric in ("mpjpe_mm", "pa_mpjpe_mm"):
      values = np.array([by_run[n][key][metric] for n in names], np.float64)
      summary[metric] = round(float(values.mean()), 1)
      summary[metric.replace("_mm", "_std_mm")] = round(float(values.std()), 1)
      summary[metric.replace("_mm", "_by_seed_mm")] = values.tolist()
    summary["targets_met"] = bool(summary["mpjpe_mm"] <= MPJPE_TARGET_MM and
                                  summary["pa_mpjpe_mm"] <= PA_TARGET_MM)
    by_frames = _by_frames([by_run[n][key] for n in names])
    if by_frames:
      summary["by_frames"] = by_frames
    out.append(summary)
  return out


def _by_frames(rows: list[dict]) -> dict:
  """The seeds' mean errors on the frames seen whole and on those with a
  completed joint (`real_footage.errors_by_frames`; None where a kind has
  no frame), each kind that every seed's row has; the frames are the same
  detections in every seed."""
  out = {}
  for kind in ("whole", "completed"):
    parts = [(r.get("by_frames") or {}).get(kind) for r in rows]
    if not all(parts):
      continue
    out[kind] = {"frames": parts[0]["frames"], **{
        metric: (None if any(p[metric] is None for p in parts) else
                 round(float(np.mean([p[metric] for p in parts])), 1))
        for metric in ("mpjpe_mm", "pa_mpjpe_mm")}}
  return out


def main(argv):
  del argv
  runs = {n: files.read_json(os.path.join(RESULTS,
                                          f"real_footage_{n}_cpu.json"))
          for n in _NAMES.value}
  absent = [n for n, r in runs.items() if r is None]
  if absent:
    raise SystemExit(f"no real_footage_<name>_cpu.json for {absent}")
  rows = summarise(runs)
  for row in rows:
    print(row)
  out = os.path.join(RESULTS, f"real_footage_{_OUT_NAME.value}_seeds_cpu.json")
  files.write_json_atomic(out, {
      "rows": rows, "runs": list(runs),
      "workdirs": [r.get("workdir") for r in runs.values()],
      "seeds": [r.get("seed") for r in runs.values()],
      "targets_mm": {"mpjpe": MPJPE_TARGET_MM, "pa_mpjpe": PA_TARGET_MM},
      "test_inputs": runs[_NAMES.value[0]].get("test_inputs"),
      "hardware": timing.hardware_info()})
  print(f"wrote {out}")


if __name__ == "__main__":
  # Defined here, not on import: tests import this module.
  _NAMES = flags.DEFINE_list("names", None, "The seeds' results name parts.")
  _OUT_NAME = flags.DEFINE_string("out_name", None, "The summary's name part.")
  flags.mark_flags_as_required(["names", "out_name"])
  app.run(main)
