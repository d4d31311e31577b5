"""Question: Does a calibration's coverage over the whole test split hide a test person its intervals miss?
Answer: Yes: DPoser's left-leg completion, calibrated on two held-out people (CMU 001, 006; 3 seeds), covers CMU 007 0.89 at 90% but CMU 005 0.78 (78% of the rows), whose error needs q = 24.4 where 15.3 was fitted.

  python -m experiments.studies.coverage_by_group --workdirs=runs/dposer_s0,... \
      --stem=complete_bygroup --out=experiments/results/NAME.json

Reads the predictions an evaluation saved
(`--mode=eval --config.eval.save_predictions=True`), i.e.
`<workdir>/eval/<stem>_predictions.npz` of each workdir (one per training
seed), and the workdir's stored calibration of the task, and reports per
value of one row id (the test person by default): rows, the MPJPE of the
hypotheses' mean, the coverage of the raw hypotheses and of the calibrated
intervals at each level, and the quantile of the conformal score
|y - m| / sigma at each level on the group (the half-width, in the
hypotheses' standard deviations, that would cover that group), beside the
q the calibration was fitted with: each seed's figures and their mean. Any
method whose task offers predictions to calibrate.
"""
from __future__ import annotations

import os
from typing import Mapping, Sequence

import numpy as np

from jaxpose import files
from jaxpose.calibration import fit as calibration_fit
from jaxpose.calibration import store as calibration_store
from jaxpose.evaluation import calibration
from jaxpose.workdir import layout


def by_group(hyps_mm, gt_mm, groups, cal: calibration_fit.Calibration
             ) -> dict[str, dict]:
  """{group: {rows, mean_mpjpe_mm, before: {level: coverage}, after: ...}}.

  Args:
    hyps_mm: [H, N, J, 3] hypotheses.
    gt_mm: [N, J, 3] truth.
    groups: [N] the group of each row (any value; keys are its str).
    cal: the calibration to apply.
  """
  groups = np.asarray(groups).reshape(-1)
  hyps, gt = np.asarray(hyps_mm), np.asarray(gt_mm)
  if groups.shape[0] != gt.shape[0]:
    raise ValueError(f"groups: {groups.shape[0]} rows, the truth {gt.shape[0]}")
  out = {}
  for group in np.unique(groups):
    rows = groups == group
    before = calibration.calibration_metrics(hyps[:, rows], gt[rows],
                                             levels=cal.levels)
    after = calibration_fit.coverage_after(cal, hyps[:, rows], gt[rows])
    scores = calibration_fit.coordinate_scores(hyps[:, rows], gt[rows])
    out[str(group)] = dict(rows=int(rows.sum()),
                           mean_mpjpe_mm=after["mean_mpjpe_mm"],
                           before=dict(before["coverage"]),
                           after=dict(after["coverage"]),
                           score_quantile={
                               calibration.level_key(l): float(np.quantile(scores, l))
                               for l in cal.levels})
  return out


def read(workdir: str, stem: str, group: str
         ) -> tuple[dict, str, dict[str, float] | None]:
  """(`by_group` of `<workdir>/eval/<stem>_predictions.npz` under the
  workdir's calibration of its task, the task, the calibration's conformal
  quantiles {level: q_L} or None for a spread scale).

  Raises:
    FileNotFoundError: no saved predictions, or no config.json.
    ValueError: no calibration of the task, or the predictions have no
      `id_<group>`.
  """
  path = layout.Workdir(workdir).results(stem, "_predictions.npz")
  if not os.path.exists(path):
    raise FileNotFoundError(f"{path}: evaluate with --config.eval."
                            "save_predictions=True first")
  config = files.read_json(layout.Workdir(workdir).config)
  if config is None:
    raise FileNotFoundError(f"{workdir}: no config.json (not a trained workdir)")
  task = config["eval"]["task"]
  entry = calibration_store.read(workdir, task)
  if entry is None:
    raise ValueError(f"{workdir}: no calibration of {task!r} (--mode=calibrate)")
  with np.load(path, allow_pickle=False) as z:
    if f"id_{group}" not in z.files:
      raise ValueError(f"{path}: no id_{group} (it has "
                       f"{', '.join(k for k in z.files if k.startswith('id_'))})")
    cal = calibration_fit.Calibration.from_json(entry["calibration"])
    figures = by_group(z["hypotheses_mm"], z["pose3d_mm"], z[f"id_{group}"], cal)
  return figures, task, (dict(cal.quantiles) if cal.kind == "conformal" else None)


def across_seeds(per_seed: Mapping[str, Mapping[str, dict]]) -> dict[str, dict]:
  """{group: {figure: mean over seeds}} of {seed: by_group(...)} (the
  groups every seed has; a figure 'before.0.9' is a coverage,
  'score_quantile.0.9' the group's 0.9-quantile of conformal scores)."""
  groups = set.intersection(*(set(g) for g in per_seed.values()))
  out = {}
  for group in sorted(groups):
    rows = [per_seed[s][group] for s in per_seed]
    flat = [{"rows": r["rows"], "mean_mpjpe_mm": r["mean_mpjpe_mm"],
             **{f"{w}.{k}": v for w in ("before", "after", "score_quantile")
                for k, v in r[w].items()}}
            for r in rows]
    out[group] = {k: float(np.mean([f[k] for f in flat])) for k in flat[0]}
  return out


def _mean_of(per_seed: Mapping[str, Mapping[str, float] | None]) -> dict | None:
  """{level: mean over seeds}, or None when a seed's calibration has none."""
  if not per_seed or any(q is None for q in per_seed.values()):
    return None
  keys = set.intersection(*(set(q) for q in per_seed.values()))
  return {k: float(np.mean([q[k] for q in per_seed.values()])) for k in sorted(keys)}


def summarise(workdirs: Sequence[str], stem: str, group: str) -> dict:
  """Each seed's `read`, the mean over seeds, and the conformal quantile q_L
  each seed's calibration was fitted with (None for a spread scale): a
  group whose `score_quantile` exceeds it is under-covered."""
  per_seed, tasks, fitted_q = {}, set(), {}
  for workdir in workdirs:
    seed = str(files.read_json(layout.Workdir(workdir).config)["seed"])
    per_seed[seed], task, quantiles = read(workdir, stem, group)
    tasks.add(task)
    fitted_q[seed] = quantiles
  return dict(task=sorted(tasks), stem=stem, group=group, seeds=per_seed,
              mean_over_seeds=across_seeds(per_seed),
              fitted_quantile=fitted_q,
              fitted_quantile_mean=_mean_of(fitted_q))


def main(argv):
  del argv
  from absl import flags  # pylint: disable=g-import-not-at-top
  f = flags.FLAGS
  out = summarise(f.workdirs, f.stem, f.group)
  out.update(what=f.what, command=f.command)
  print(f"{'group':>8} {'rows':>6} {'mean MPJPE':>11} " + " ".join(
      f"{w} {l:>4}" for w in ("before", "after", "q needed") for l in ("50%", "90%")))
  for group, r in out["mean_over_seeds"].items():
    print(f"{group:>8} {r['rows']:6.0f} {r['mean_mpjpe_mm']:11.1f} " + " ".join(
        f"{r[f'{w}.{l}']:{len(w) + 5}.2f}" for w in ("before", "after", "score_quantile")
        for l in ("0.5", "0.9")))
  if out["fitted_quantile_mean"]:
    print("fitted q (mean over seeds): " + ", ".join(
        f"{k}: {v:.2f}" for k, v in out["fitted_quantile_mean"].items()))
  if f.out:
    files.write_json_atomic(f.out, out)


if __name__ == "__main__":
  from absl import app  # pylint: disable=g-import-not-at-top
  from absl import flags  # pylint: disable=g-import-not-at-top
  flags.DEFINE_list("workdirs", None, "One workdir per training seed.", required=True)
  flags.DEFINE_string("stem", None, "The evaluation's results stem.", required=True)
  flags.DEFINE_string("group", "subject", "The row id to group by (id_<group>).")
  flags.DEFINE_string("out", "", "Where to write the JSON.")
  flags.DEFINE_string("what", "", "What was evaluated, in words.")
  flags.DEFINE_string("command", "", "How it was produced.")
  app.run(main)
