"""README tables of whether the hypotheses' spread can be trusted.

`lines(root)` renders, for every multi-hypothesis method, (1) the table of
`experiments.results_spread` (coverage, spread-error correlation and energy
score before any calibration), and (2) coverage before and after
`--mode=calibrate` (`calibration_after`), one run or the mean over seeds of
an `experiments.seed_summary` file, with what holding people out changed.
The files each row reads are named in `experiments.results_calibration_rows`.
"""
from __future__ import annotations

import pathlib

from experiments import results_novelty
from experiments import results_spread
from experiments.results_calibration_rows import (
    CALIBRATED, CALIBRATED_OVER_SEEDS, CALIBRATED_SEEDS,
    DP_EXACT_BORROWED, DP_EXACT_PLAIN, DP_EXACT_SUBJECT, DP_SUBJECT,
    DPOSER_BORROWED, DPOSER_BY_SUBJECT, DPOSER_PLAIN,
    DPOSER_SUBJECTS, GF_BORROWED, GF_NOISY_CAL, GF_NOISY_PLAIN,
    GF_NOISY_TRAINED, GF_SUBJECT, GF_SUBJECTS)
from experiments.results_calibration_rows import R as _R
from experiments.results_files import load as _load
from experiments.results_files import settings_row


def _pm(spread: dict | None, digits: int = 2) -> str:
  if spread is None:
    return "-"
  return f"{spread['mean']:.{digits}f} ± {spread['std']:.{digits}f}"


def _calibrated_seed_row(label: str, summary: dict) -> str:
  """One CALIBRATED row from a summary over seeds: mean ± std (ddof 1)."""
  across, held = summary["across_seeds"], summary.get("heldout_calibration", {})
  before = ("calibration_before" if "calibration_before.coverage.0.9" in across
            else "calibration")  # DPoser's reports it beside its settings
  cover = lambda when, level: _pm(across.get(f"{when}.coverage.{level}"))
  kept = sorted(held.get("kept", {}).values())
  kinds = ", ".join(f"{k} x{kept.count(k)}" for k in sorted(set(kept))) or "-"
  rows = across.get("calibration_after.fitted_rows")
  return (f"| {label} ({len(summary['seeds'])} seeds) | "
          f"{'-' if rows is None else format(rows['mean'], '.0f')} | {kinds} | "
          f"{cover(before, '0.5')} -> {cover('calibration_after', '0.5')} | "
          f"{cover(before, '0.9')} -> {cover('calibration_after', '0.9')} | "
          f"{_pm(held.get('before.coverage.0.9'))} -> "
          f"{_pm(held.get('after.coverage.0.9'))} | "
          f"{_pm(held.get('after.mean_mpjpe_mm'), 1)} / "
          f"{_pm(across.get('calibration_after.mean_mpjpe_mm'), 1)} |")


def _calibrated_lines(root) -> list[str]:
  out = ["", "Calibrated hypotheses: train with whole clips held out "
         "(`--config.holdout.fraction=0.1`, stored with the checkpoint) or "
         "whole people (`--config.holdout.subjects=cmu:006`), then "
         "`python -m experiments.main --workdir=W --mode=calibrate` runs "
         "`eval.task` on up to `eval.num_poses` of those training rows (never "
         "the test split; the named people's alone when there are some) and "
         "fits two calibrations of the hypotheses' mean m: "
         "a spread scale (each hypothesis m + s (x - m), one s for every "
         "joint and level: still hypotheses, the mean's MPJPE unchanged) and "
         "split-conformal intervals (m +- q sigma, q the finite-sample "
         "quantile per level: intervals, not hypotheses). Each is fitted on "
         "half the held-out clips and scored on the other half; the spread "
         "scale is kept unless conformal's worst-level coverage error is "
         "smaller by more than 0.01. `W/calibration.json` records it with the "
         "checkpoint's step and parameter digest, and every later "
         "`--mode=eval` of that task there reports `calibration_after` beside "
         "`calibration` (`--config.eval.apply_calibration=False`: off). "
         "DiffPose holds its clips out of its encoder's held-out rows, so "
         "neither network saw them; DPoser calibrates its own prior's "
         "completion of the first part. The rows below (2 CPU cores, each "
         "config's training steps; a row over seeds adds `--config.seed=S` "
         "to the training): `python -m experiments.main "
         "--config=experiments/configs/quickstart.py --workdir=runs/qs_holdout "
         "--config.holdout.fraction=0.1 --mode=train`, then `--workdir="
         "runs/qs_holdout --mode=calibrate --config.eval.num_poses=300` and "
         "`--mode=eval --config.eval.num_poses=500`; DiffPose the same with "
         "`diffpose_quickstart.py` (`--config.holdout.fraction=0.5`, N=20) on "
         "an encoder trained with `--config.holdout.fraction=0.2`; DPoser with "
         "`dposer_quickstart.py`, calibrated on its own setting only "
         "(`--mode=calibrate \"--config.eval.priors=('dposer',)\" "
         "\"--config.eval.complete_parts=('l_leg',)\"`), evaluated with its "
         "config's settings. The raw coverage of the held-out training rows "
         "(W/calibration/<task>.json) and of the test rows differ here by up "
         "to 0.07, in either direction: what a calibration fitted on training "
         "clips cannot correct."]
  rows = []
  for label, rel, where, heldout_rel in CALIBRATED:
    seeds = _load(root, CALIBRATED_OVER_SEEDS.get(rel, ""))
    if seeds is not None:
      rows.append(_calibrated_seed_row(label, seeds))
      continue
    r = _load(root, rel)
    if r is None or "calibration_after" not in r:
      continue
    held = _load(root, heldout_rel) if heldout_rel else None
    on_held, held_mpjpe = ("-", "-") if held is None else (
        f"{held['before']['coverage']['0.9']:.2f} -> "
        f"{held['after']['coverage']['0.9']:.2f}",
        f"{held['after']['mean_mpjpe_mm']:.1f}")
    before = r.get("calibration_before") or results_spread.calibration_of(r, where)
    after = r["calibration_after"]
    cal = after["calibration"]
    kind = cal["kind"] + (f" (s = {cal['scale']:.2f})" if "scale" in cal else "")
    b, a = before["coverage"], after["coverage"]
    rows.append(f"| {label} | {cal['fitted_on']['num_rows']} | {kind} | "
                f"{b['0.5']:.2f} -> {a['0.5']:.2f} | {b['0.9']:.2f} -> "
                f"{a['0.9']:.2f} | {on_held} | {held_mpjpe} / "
                f"{after['mean_mpjpe_mm']:.1f} |")
  for label, rel in CALIBRATED_SEEDS:
    summary = _load(root, rel)
    if summary is not None:
      rows.append(_calibrated_seed_row(label, summary))
  if rows:
    out += ["", "| result | held-out rows | kept | coverage 50% before -> "
            "after | coverage 90% before -> after | 90% on the held-out "
            "rows (cross-fitted) | MPJPE of the mean, held-out rows / test |",
            "|---|---|---|---|---|---|---|"] + rows + [
            "", "A calibration fitted on training clips holds where the test "
            "rows look like them (the quickstarts). On jaxpose-mocap v1 the "
            "test people are not the training ones: it reaches both bands only "
            "for DiffPose with exact 2D (its held-out rows carry the noisy "
            "training 2D, so its intervals are wide), and falls short wherever "
            "the error on the test people is several times that on the "
            "held-out clips (the last column). "
            "The mocap rows (2 CPU cores, 20k steps): `python -m "
            "experiments.main --config=experiments/configs/gfpose_mocap.py "
            "--workdir=runs/gfpose_holdout --config.data.cache_dir=caches "
            "--config.holdout.fraction=0.1 --mode=train`, then `--mode="
            "calibrate` and `--mode=eval` there; DiffPose: `diffpose_mocap.py:"
            "per_row_kernel --config.holdout.fraction=0.5` on the encoder of "
            "its mocap rows (a tenth held out), then the same (noisy 2D: "
            "`--config.data.test_2d=noisy`); DPoser as its mocap table says, "
            "calibrated as the quickstart's."] + _subject_lines(root)
  return out


def _after(root, rel: str, figure: str = "0.9") -> str:
  """The calibrated coverage of one run, or mean ± std of a seed summary
  (the one that replaces the run in CALIBRATED_OVER_SEEDS, once it exists)."""
  r = _load(root, CALIBRATED_OVER_SEEDS.get(rel, "")) or _load(root, rel)
  if r is None:
    return "-"
  if "across_seeds" in r:
    return _pm(r["across_seeds"].get(f"calibration_after.coverage.{figure}"))
  return f"{r['calibration_after']['coverage'][figure]:.2f}"


def _bands(summary: dict) -> str:
  """Whether the mean calibrated coverages over seeds fall in point 4's
  bands (50%: 0.4-0.6, 90%: 0.85-0.95)."""
  across = summary["across_seeds"]
  c50, c90 = (across[f"calibration_after.coverage.{l}"]["mean"]
              for l in ("0.5", "0.9"))
  met = [0.4 <= c50 <= 0.6, 0.85 <= c90 <= 0.95]
  return {2: "both bands met", 1: "one band met"}.get(sum(met), "neither band met")


def _cost(summary: dict, base: dict, figure: str) -> str:
  """The calibrated mean's MPJPE over seeds against `base`'s, in percent."""
  ours = summary["across_seeds"]["calibration_after.mean_mpjpe_mm"]["mean"]
  theirs = base["across_seeds"][figure]["mean"]
  change = round(100 * (ours / theirs - 1), 1) + 0.0  # no "-0.0%"
  return f"{ours:.1f} mm against {theirs:.1f}, {change:+.1f}%"


def _seed_by_seed(ours: dict, theirs: dict) -> str:
  """The calibrated mean's MPJPE of each seed beside `theirs` (the same
  seed's uncalibrated evaluation): a spread scale or conformal intervals
  leave the mean alone, so equal figures mean the retrained seed is the
  same model."""
  mine = {s: r["calibration_after.mean_mpjpe_mm"] for s, r in ours["seeds"].items()}
  other = {s: theirs["seeds"][s]["mpjpe_mm"] for s in mine if s in theirs["seeds"]}
  pairs = " / ".join(f"{mine[s]:.1f}" for s in sorted(other))
  if other and all(abs(mine[s] - other[s]) < 0.05 for s in other):
    hardware = (ours.get("hardware"), theirs.get("hardware"))
    where = ("" if hardware[0] == hardware[1] else
             f", retrained on {hardware[0]} (that one: {hardware[1]})")
    return (f"seeds {', '.join(sorted(other))}: {pairs} mm, each the same as "
            f"that seed's own evaluation{where}")
  return (f"seed by seed {pairs} mm against "
          + " / ".join(f"{other[s]:.1f}" for s in sorted(other)))


def _seed_range(summary: dict, figure: str = "mpjpe_mm") -> str:
  """'lowest to highest' of one figure over a summary's seeds."""
  values = [r[figure] for r in summary["seeds"].values()]
  return f"{min(values):.1f} to {max(values):.1f}"


def _subject_lines(root) -> list[str]:
  """What holding people out whole changed, read from the rows' files."""
  gf, two = _load(root, GF_SUBJECT), _load(root, GF_SUBJECTS)
  borrowed = _load(root, GF_BORROWED)
  clips_errors = _clip_errors(root)
  plain = _load(root, _R + "gfpose_mocap_small_cpu_seeds_estimate.json")
  noisy, exact = (_load(root, DP_SUBJECT.format(s)) for s in ("_noisy2d", ""))
  dp_plain = _load(root, _R + "diffpose_mocap_small_per_row_kernel_cpu_seeds_"
                   "estimate_noisy2d.json")
  if None in (gf, two, borrowed, clips_errors, plain, noisy, exact, dp_plain):
    return []
  dp = _R + "diffpose_mocap_small_per_row_kernel_holdout_cpu_estimate_noisy2d.json"
  return [
      "", "Held-out people instead of clips (`--config.holdout.subjects=cmu:006`: "
      "the training rows of CMU subject 006, a person on the test's rig, never "
      "trained on; `--mode=calibrate` then fits on them alone; DiffPose's "
      "encoder holds the same person out besides its tenth of clips, and "
      "DPoser besides its tenth). A tenth of random clips is 98% Bandai, "
      f"whose error ({clips_errors[0]:.1f} mm for GFPose) is "
      f"a fraction of the test people's ({clips_errors[1]:.1f}); "
      f"subject 006's is {_held(gf):.1f} mm against {_test(gf):.1f} on the test "
      f"people, and the calibrated 90% interval covers "
      f"{_after(root, GF_SUBJECT)} of GFPose's test joints over "
      f"{len(gf['seeds'])} seeds (random clips: "
      f"{_after(root, _R + 'gfpose_mocap_small_holdout_cpu_estimate.json')}) "
      f"and {_after(root, CALIBRATED[-1][1])} of DPoser's completion "
      f"({_runs(root, CALIBRATED[-1][1])}; random clips: "
      f"{_after(root, _R + 'dposer_mocap_small_v2_cpu_complete.json')}). "
      "One person held out stands for two unseen ones and is easier than "
      "they are. Holding out two (`--config.holdout.subjects=\"('cmu:001', "
      "'cmu:006')\"`, 1,028 rows) brings the held-out error to "
      f"{_held(two):.1f} mm against {_test(two):.1f} on the test people, and "
      f"GFPose's intervals to {_after(root, GF_SUBJECTS, '0.5')} and "
      f"{_after(root, GF_SUBJECTS)} ({_bands(two)}, {len(two['seeds'])} "
      "seeds), at a price, the mean against the same model trained on every "
      f"row: {_cost(two, plain, 'mpjpe_mm')} (one person: "
      f"{_cost(gf, plain, 'mpjpe_mm')}), as the held-out rows are most of "
      "the test rig's training rows. The model trained on every row cannot "
      "calibrate on them, but can borrow its sibling's calibration "
      "(`--mode=calibrate --config.eval.calibration_from=SIBLING_WORKDIR`, "
      "the sibling the same model and data with the two people held out): "
      f"{_after(root, GF_BORROWED, '0.5')} and {_after(root, GF_BORROWED)} "
      f"({_bands(borrowed)}) at {_cost(borrowed, plain, 'mpjpe_mm')} "
      f"({_seed_by_seed(borrowed, plain)}). Its "
      "coverage is not guaranteed (the sibling's held-out rows are not "
      "exchangeable with this model's test rows, as with cross-validated "
      "intervals around a refitted model), but the two models differ only in "
      "1,028 of about 107k training rows. DiffPose with noisy 2D, the 2D it "
      "was "
      f"trained and calibrated on: {_after(root, DP_SUBJECT.format('_noisy2d'), '0.5')} "
      f"and {_after(root, DP_SUBJECT.format('_noisy2d'))} ({_bands(noisy)}; "
      f"random clips: {_after(root, dp, '0.5')} and {_after(root, dp)}), its "
      "mean against the same denoiser trained without holding out (on an "
      f"encoder that saw subject 006): {_cost(noisy, dp_plain, 'mpjpe_mm')}; "
      "with exact 2D its intervals, sized for noisy 2D, over-cover "
      f"({_after(root, DP_SUBJECT.format(''))}) and its mean swings by seed "
      f"({_seed_range(exact)} mm)."] + _noisy_2d_lines(root) + (
          _exact_trained_lines(root) + _dposer_subject_lines(root))


def _noisy_2d_lines(root) -> list[str]:
  """GFPose with noisy test 2D: calibrated on the held-out people's noisy
  2D, trained on exact or on noisy 2D."""
  cal, trained = _load(root, GF_NOISY_CAL), _load(root, GF_NOISY_TRAINED)
  plain = _load(root, GF_NOISY_PLAIN)
  if None in (cal, trained, plain):
    return []
  raw = plain["across_seeds"]["calibration.coverage.0.9"]
  means = [r["across_seeds"]["calibration_after.mean_mpjpe_mm"]["mean"]
           for r in (cal, trained)]
  verdict = (f"training on noisy 2D costs {means[1] - means[0]:.1f} mm of the "
             "mean that calibrating on it does not" if means[1] > means[0] else
             f"training on noisy 2D is {means[0] - means[1]:.1f} mm better")
  return [
      "", "GFPose with noisy test 2D (5 px, 5% outliers): trained on every "
      f"row, its 90% interval covers {_pm(raw)} of the test joints (the "
      "spread table). Calibrated on the two held-out people's noisy 2D "
      "(`--mode=calibrate --config.eval.calibration_2d=noisy`; each training "
      "row carries both 2D), the model trained on exact 2D reaches "
      f"{_after(root, GF_NOISY_CAL, '0.5')} and {_after(root, GF_NOISY_CAL)} "
      f"({_bands(cal)}, {len(cal['seeds'])} seeds) at "
      f"{_cost(cal, plain, 'mpjpe_mm')} against the model of every row. "
      "Trained on noisy 2D instead (`--config.data.train_2d=noisy`), it "
      f"reaches {_after(root, GF_NOISY_TRAINED, '0.5')} and "
      f"{_after(root, GF_NOISY_TRAINED)} ({_bands(trained)}) at "
      f"{_cost(trained, plain, 'mpjpe_mm')}: {verdict}."]


def _exact_trained_lines(root) -> list[str]:
  """DiffPose trained on exact 2D: one person held out, and the model
  trained on every row borrowing that calibration."""
  held, borrowed = _load(root, DP_EXACT_SUBJECT), _load(root, DP_EXACT_BORROWED)
  plain = _load(root, DP_EXACT_PLAIN)
  if None in (held, borrowed, plain):
    return []
  return [
      "", "DiffPose trained on exact 2D (`--config.diffpose.noisy_train_2d="
      "False`, the model of the accuracy table's last row), CMU subject 006 "
      f"held out the same way ({len(held['seeds'])} denoiser seeds on one "
      f"encoder, {held.get('hardware')}, about 25 minutes a seed with its "
      "evaluations: `diffpose_mocap.py:per_row_kernel --config.diffpose."
      "noisy_train_2d=False --config.holdout.subjects=cmu:006` on an encoder "
      "trained with `--config.holdout.subjects=cmu:006`; the seeds trained on "
      "every row use the encoder of the accuracy table, which holds out a "
      "tenth of clips): the error of the mean on that person's rows is "
      f"{_held(held):.1f} mm{_held_encoder(held)} against {_test(held):.1f} "
      "on the test people, "
      f"and the calibrated intervals cover {_after(root, DP_EXACT_SUBJECT, '0.5')}"
      f" and {_after(root, DP_EXACT_SUBJECT)} ({_bands(held)}), the mean "
      "against the same denoiser trained on every row (on an encoder that saw "
      f"subject 006): {_cost(held, borrowed, 'mpjpe_mm')}. That denoiser, "
      "borrowing the calibration (`--mode=calibrate --config.eval."
      "calibration_from=SIBLING_WORKDIR`): "
      f"{_after(root, DP_EXACT_BORROWED, '0.5')} and "
      f"{_after(root, DP_EXACT_BORROWED)} ({_bands(borrowed)}), its mean "
      "untouched (against its encoder: "
      f"{_cost(borrowed, borrowed, 'encoder.mpjpe_mm')}; the accuracy table's "
      f"row, on another encoder: {_seed_by_seed(borrowed, plain)})."]


def _held_encoder(summary: dict) -> str:
  """The encoder's error on the held-out person's rows beside the mean's,
  when the reports hold it: does the denoiser improve its encoder on a
  person neither network saw?"""
  enc = summary["heldout_calibration"].get("task_figures.encoder/mpjpe_mm")
  if enc is None:
    return ""
  change = round(100 * (_held(summary) / enc["mean"] - 1), 1) + 0.0
  verdict = "improves" if change < 0 else "does not improve"
  return (f" (its encoder on the same rows: {enc['mean']:.1f}, {change:+.1f}%: "
          f"on a person neither network saw the denoiser {verdict} its encoder)")


def _runs(root, rel: str) -> str:
  """'1 run', or 'N seeds' once the summary replacing the run exists."""
  seeds = _load(root, CALIBRATED_OVER_SEEDS.get(rel, ""))
  return "1 run" if seeds is None else f"{len(seeds['seeds'])} seeds"


def _one_person_errors(root, rel: str, heldout_rel: str
                       ) -> tuple[float, float] | None:
  """The MPJPE of the calibrated mean on the held-out rows and on the test
  rows: the means over seeds once their summary exists, else the one run's
  (None: neither is there)."""
  seeds = _load(root, CALIBRATED_OVER_SEEDS.get(rel, ""))
  if seeds is not None:
    return _held(seeds), _test(seeds)
  run, held = _load(root, rel), _load(root, heldout_rel)
  if run is None or held is None:
    return None
  return held["after"]["mean_mpjpe_mm"], run["calibration_after"]["mean_mpjpe_mm"]


def _held(summary: dict) -> float:
  """The mean over seeds of the MPJPE of the mean on the held-out rows."""
  return summary["heldout_calibration"]["after.mean_mpjpe_mm"]["mean"]


def _test(summary: dict) -> float:
  """The mean over seeds of the MPJPE of the mean on the test rows."""
  return summary["across_seeds"]["calibration_after.mean_mpjpe_mm"]["mean"]


def _clip_errors(root) -> tuple[float, float] | None:
  """GFPose's MPJPE of the mean on its held-out tenth of clips and on the
  test rows: the means over seeds once they exist, else the one run."""
  rel = _R + "gfpose_mocap_small_holdout_cpu_estimate.json"
  seeds = _load(root, CALIBRATED_OVER_SEEDS.get(rel, ""))
  if seeds is not None:
    return _held(seeds), _test(seeds)
  held = _load(root, _R + "gfpose_mocap_small_holdout_cpu_calibration_heldout.json")
  test = _load(root, rel)
  if held is None or test is None:
    return None
  return held["after"]["mean_mpjpe_mm"], test["mpjpe_mm"]


def _setting(summary: dict, figure: str, **row) -> dict:
  """The spread of `figure` in the `settings_across_seeds` row of `summary`
  matching `row` (DPoser's prior and part), as an `across_seeds` block."""
  return {"across_seeds": {figure: settings_row(summary, **row)[figure]}}


def _dposer_subject_lines(root) -> list[str]:
  """DPoser's completion with two people held out, and borrowed."""
  two, borrowed = _load(root, DPOSER_SUBJECTS), _load(root, DPOSER_BORROWED)
  plain = _load(root, DPOSER_PLAIN)
  one = _one_person_errors(root, CALIBRATED[-1][1], CALIBRATED[-1][3])
  if None in (two, borrowed, plain, one):
    return []
  figure = "calibration_after.mean_mpjpe_mm"
  held = _held(two)
  plain_l_leg = _setting(plain, "missing_mpjpe_mm", prior="dposer", part="l_leg")
  return [
      "", "DPoser's completion of the left leg, two people held out the same "
      "way (`dposer_mocap.py --config.holdout.subjects=\"('cmu:001', "
      "'cmu:006')\"` besides its tenth of clips, calibrated on those people's "
      f"rows alone, {len(two['seeds'])} seeds): the error of the mean on "
      f"them is {held:.1f} mm against {two['across_seeds'][figure]['mean']:.1f} "
      f"on the test people (one person, {_runs(root, CALIBRATED[-1][1])}: "
      f"{one[0]:.1f} against {one[1]:.1f}), and the "
      f"calibrated intervals cover {_after(root, DPOSER_SUBJECTS, '0.5')} and "
      f"{_after(root, DPOSER_SUBJECTS)} ({_bands(two)}; one person: "
      f"{_after(root, CALIBRATED[-1][1], '0.5')} and "
      f"{_after(root, CALIBRATED[-1][1])}), the mean against the same prior "
      f"trained without holding them out: {_cost(two, borrowed, figure)} "
      f"(its seeds spread {borrowed['across_seeds'][figure]['std']:.0f} mm). "
      "That prior, borrowing the calibration: "
      f"{_after(root, DPOSER_BORROWED, '0.5')} and {_after(root, DPOSER_BORROWED)} "
      f"({_bands(borrowed)}), its mean against the earlier evaluation of the "
      f"same seeds ({plain.get('hardware')}): "
      f"{_cost(borrowed, plain_l_leg, 'missing_mpjpe_mm')}."] + _by_subject_lines(root, held)


def _by_subject_lines(root, held: float) -> list[str]:
  """Each test person's figures (`experiments.coverage_by_group`) beside
  `held`, the error of the mean on the held-out people."""
  found = [_load(root, rel) for rel in DPOSER_BY_SUBJECT]
  if None in found:
    return []
  two, borrowed = (r["mean_over_seeds"] for r in found)
  fitted = found[0].get("fitted_quantile_mean") or {}  # the people held out
  cell = lambda r: (f"{r['mean_mpjpe_mm']:.1f} | {r['after.0.5']:.2f} | "
                    f"{r['after.0.9']:.2f} | "
                    f"{r.get('score_quantile.0.9', float('nan')):.1f}")
  rows = [f"| CMU {g} | {two[g]['rows']:.0f} | {cell(two[g])} | {cell(borrowed[g])} |"
          for g in sorted(set(two) & set(borrowed))]
  by_error = sorted(borrowed, key=lambda g: borrowed[g]["mean_mpjpe_mm"])
  easy, hard = by_error[0], by_error[-1]
  scored = sum(r["rows"] for r in borrowed.values())
  return ["", "The same calibrations on each test person (means over the three "
          "seeds; `python -m experiments.coverage_by_group` on each seed's "
          "saved predictions, `--config.eval.save_predictions=True`). Borrowed "
          f"by the prior trained without holding people out, the intervals hold CMU {easy}, "
          f"whose error ({borrowed[easy]['mean_mpjpe_mm']:.1f} mm) is near "
          f"the held-out people's ({held:.1f}), and miss CMU {hard}, whose "
          f"error is {borrowed[hard]['mean_mpjpe_mm'] / held:.1f} times it and "
          f"whose rows are {borrowed[hard]['rows'] / scored:.0%} of the test rows "
          "scored; with the two people held out both are missed. A calibration "
          "fitted on training people cannot anticipate a test person whose "
          "motions are harder than theirs." + _needed_sentence(borrowed, fitted, easy, hard),
          "",
          "| test person | rows | two held out: MPJPE of the mean | 50% | 90% "
          "| q for 90% | borrowed: MPJPE of the mean | 50% | 90% | q for 90% |",
          "|---|---|---|---|---|---|---|---|---|---|"] + rows + results_novelty.lines(root)


def _needed_sentence(borrowed: dict, fitted: dict, easy: str, hard: str) -> str:
  """Why, in the conformal intervals' own unit: the q each person needs
  against the q fitted on the held-out people."""
  if "0.9" not in fitted or any("score_quantile.0.9" not in borrowed[g]
                                for g in (easy, hard)):
    return ""
  need = lambda g: borrowed[g]["score_quantile.0.9"]
  return (" In the intervals' own unit (m +- q sigma, sigma the standard "
          "deviation of the ten hypotheses per coordinate), the calibration "
          f"fitted on the held-out people has q = {fitted['0.9']:.1f} at 90% "
          "(the hypotheses' spread is a small fraction of the error); "
          f"CMU {easy} needs q = {need(easy):.1f} to be covered 90% of the time "
          f"where CMU {hard} needs {need(hard):.1f} "
          f"({need(hard) / fitted['0.9']:.1f} times the fitted q; 'q for 90%' "
          "below: each person's 0.9-quantile of |y - m| / sigma).")


def lines(root: pathlib.Path) -> list[str]:
  return results_spread.lines(root) + _calibrated_lines(root)


__all__ = ["lines", "CALIBRATED", "CALIBRATED_OVER_SEEDS",
           "CALIBRATED_SEEDS"]
