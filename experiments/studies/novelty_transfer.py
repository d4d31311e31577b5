"""Question: Does a row's novelty (how far its input lies from the training inputs) tell how much wider its interval should be on new people?
Answer: No: with four people held out the fitted exponent is 0.00 / 0.00 / 0.05 over 3 seeds and the novelty-scaled intervals cover the test people as the plain conformal ones do (90%: 0.71 and 0.71), so DPoser's calibration stays plain conformal.

  python -m experiments.main --workdir=W --mode=calibrate \
      --config.eval.save_predictions=True ...  # W/calibration/<task>_predictions.npz
  python -m experiments.main --workdir=W --mode=eval \
      --config.eval.save_predictions=True --config.eval.output_suffix=S ...
  python -m experiments.studies.novelty_transfer --workdirs=W0,W1 --stem=<task>_S \
      --out=experiments/results/NAME.json

A conformal calibration fitted on held-out people covers other people less
often than its level when their errors grow faster than the hypotheses'
spread. If that growth followed how far each row's input lies from the
training inputs (`jaxpose.evaluation.novelty`), intervals m +- q sigma w,
w = (novelty / reference) ** exponent, with the exponent fitted between the
held-out people, would carry over to new people. This measures it, on
predictions saved with the rows' novelty (a task whose predictions have
`novelty_mm`, e.g. DPoser's completion).

Per workdir: each person's rows, median novelty, error of the mean and
score quantiles (the q of m +- q sigma that covers them), on the held-out
and the test rows; the exponent fitted between the held-out people; the
test rows' coverage by the plain conformal intervals (exponent 0) and the
novelty-scaled ones; and, with three or more held-out people, the same
with each pair of them fitted and the others scored (a check that needs no
test row).
"""
from __future__ import annotations

import itertools
import os
from typing import Mapping, Sequence

import numpy as np

from jaxpose import files
from jaxpose.calibration import fit as calibration_fit
from jaxpose.evaluation import calibration
from jaxpose.evaluation import novelty
from jaxpose.workdir import layout

LEVELS = calibration_fit.LEVELS


def rescaled(hyps_mm, widths) -> np.ndarray:
  """Each row's hypotheses spread by its width about their mean: conformal
  intervals fitted on these are m +- q sigma w."""
  hyps = np.asarray(hyps_mm, np.float64)
  mean = hyps.mean(axis=0, keepdims=True)
  return mean + np.asarray(widths, np.float64)[None, :, None, None] * (hyps - mean)


def transfer(fit_rows: Mapping[str, np.ndarray], score_rows: Mapping[str, np.ndarray],
             *, exponent: float | None = None) -> dict:
  """Conformal intervals fitted on `fit_rows`, their coverage of `score_rows`.

  Args:
    fit_rows, score_rows: {hypotheses_mm [H, N, J, 3], pose3d_mm [N, J, 3],
      novelty_mm [N], people [N]}.
    exponent: the widths' exponent; None: fitted between `fit_rows`' people.

  Returns:
    {exponent, reference_mm, plain: {level: coverage}, scaled: {level:
    coverage}}: plain is exponent 0 (today's conformal calibration).
  """
  if exponent is None:
    exponent = novelty.fit_exponent(
        calibration_fit.coordinate_scores(fit_rows["hypotheses_mm"],
                                          fit_rows["pose3d_mm"]
                                          ).reshape(len(fit_rows["people"]), -1),
        fit_rows["novelty_mm"], fit_rows["people"], LEVELS,
        min_rows=calibration_fit.MIN_ROWS)
  reference = float(np.median(fit_rows["novelty_mm"]))
  out = dict(exponent=float(exponent), reference_mm=reference)
  for name, power in (("plain", 0.0), ("scaled", float(exponent))):
    widths = lambda rows: novelty.row_widths(rows["novelty_mm"], power, reference)
    cal = calibration_fit.fit("conformal", rescaled(fit_rows["hypotheses_mm"],
                                                    widths(fit_rows)),
                              fit_rows["pose3d_mm"])
    out[name] = calibration_fit.coverage_after(
        cal, rescaled(score_rows["hypotheses_mm"], widths(score_rows)),
        score_rows["pose3d_mm"])["coverage"]
  return out


def people_table(rows: Mapping[str, np.ndarray]) -> dict[str, dict]:
  """{person: rows, median novelty, MPJPE of the mean, score quantiles}."""
  scores = calibration_fit.coordinate_scores(
      rows["hypotheses_mm"], rows["pose3d_mm"]).reshape(len(rows["people"]), -1)
  err = np.linalg.norm(np.asarray(rows["hypotheses_mm"]).mean(0)
                       - rows["pose3d_mm"], axis=-1).mean(-1)
  out = {}
  for person in np.unique(rows["people"]):
    mine = rows["people"] == person
    out[str(person)] = dict(
        rows=int(mine.sum()), novelty_mm=float(np.median(rows["novelty_mm"][mine])),
        mean_mpjpe_mm=float(err[mine].mean()),
        score_quantile={calibration.level_key(l): float(np.quantile(scores[mine], l))
                        for l in LEVELS})
  return out


def leave_pairs_out(rows: Mapping[str, np.ndarray]) -> dict[str, dict] | None:
  """With 3+ people of `MIN_ROWS` rows: `transfer` fitted on each pair,
  scored on the other people's rows (None with fewer)."""
  names, counts = np.unique(rows["people"], return_counts=True)
  names = names[counts >= calibration_fit.MIN_ROWS]
  if len(names) < 3:
    return None
  out = {}
  for pair in itertools.combinations(names, 2):
    inside = np.isin(rows["people"], pair)
    pick = lambda keep: {k: (v[:, keep] if k == "hypotheses_mm" else v[keep])
                         for k, v in rows.items()}
    out["+".join(map(str, pair))] = transfer(pick(inside), pick(~inside))
  return out


def load(path: str, group: str = "subject") -> dict[str, np.ndarray]:
  """A predictions file's hypotheses, truth, novelty and groups.

  Raises:
    FileNotFoundError: no such file; ValueError: no novelty_mm or id_<group>.
  """
  if not os.path.exists(path):
    raise FileNotFoundError(f"{path}: save predictions first "
                            "(--config.eval.save_predictions=True)")
  with np.load(path, allow_pickle=False) as z:
    for key in ("novelty_mm", f"id_{group}"):
      if key not in z.files:
        raise ValueError(f"{path}: no {key} (a task whose predictions give "
                         "each row's novelty, and data with people)")
    return dict(hypotheses_mm=z["hypotheses_mm"], pose3d_mm=z["pose3d_mm"],
                novelty_mm=z["novelty_mm"], people=z[f"id_{group}"].astype(str))


def report(workdir: str, stem: str) -> dict:
  """The figures of one workdir (module docstring)."""
  task = files.read_json(layout.Workdir(workdir).config)["eval"]["task"]
  held = load(layout.Workdir(workdir).calibration_run(task, "_predictions.npz"))
  test = load(layout.Workdir(workdir).results(stem, "_predictions.npz"))
  return dict(heldout_people=people_table(held), test_people=people_table(test),
              to_test=transfer(held, test), leave_pairs_out=leave_pairs_out(held))


def summarise(workdirs: Sequence[str], stem: str) -> dict:
  per = {w: report(w, stem) for w in workdirs}
  mean = lambda key: {
      calibration.level_key(l): float(np.mean(
          [r["to_test"][key][calibration.level_key(l)] for r in per.values()]))
      for l in LEVELS}
  return dict(stem=stem, workdirs=per,
              exponent=[r["to_test"]["exponent"] for r in per.values()],
              to_test_plain=mean("plain"), to_test_scaled=mean("scaled"))


def main(argv):
  del argv
  from absl import flags  # pylint: disable=g-import-not-at-top
  f = flags.FLAGS
  out = summarise(f.workdirs, f.stem)
  out.update(what=f.what, command=f.command, hardware=f.hardware)
  for workdir, r in out["workdirs"].items():
    print(workdir)
    for where in ("heldout_people", "test_people"):
      for person, p in r[where].items():
        print(f"  {where[:-7]:>7} {person:>6}: {p['rows']:4d} rows, novelty "
              f"{p['novelty_mm']:6.1f} mm, error {p['mean_mpjpe_mm']:6.1f} mm, "
              "q needed " + " / ".join(f"{v:.1f}" for v in p["score_quantile"].values()))
    t = r["to_test"]
    print(f"  exponent {t['exponent']:.2f}: test coverage plain "
          + " / ".join(f"{v:.2f}" for v in t["plain"].values()) + ", scaled "
          + " / ".join(f"{v:.2f}" for v in t["scaled"].values()))
    for pair, p in (r["leave_pairs_out"] or {}).items():
      print(f"  fitted on {pair} (exponent {p['exponent']:.2f}): the others "
            + " / ".join(f"{v:.2f}" for v in p["plain"].values()) + " plain, "
            + " / ".join(f"{v:.2f}" for v in p["scaled"].values()) + " scaled")
  if f.out:
    files.write_json_atomic(f.out, out)


if __name__ == "__main__":
  from absl import app  # pylint: disable=g-import-not-at-top
  from absl import flags  # pylint: disable=g-import-not-at-top
  flags.DEFINE_list("workdirs", None, "Workdirs holding people out.", required=True)
  flags.DEFINE_string("stem", None, "The test evaluation's results stem.", required=True)
  flags.DEFINE_string("out", "", "Where to write the JSON.")
  flags.DEFINE_string("what", "", "What was evaluated, in words.")
  flags.DEFINE_string("command", "", "How it was produced.")
  flags.DEFINE_string("hardware", "", "Where the predictions were computed.")
  app.run(main)
