"""README tables of DiffPose against its own encoder, and of calibration.

`lines(root)` renders (1) DiffPose's runs beside the frozen context encoder
scored on the same rows (the paper's question: does diffusion improve on
its encoder, and by how much) and (2) whether hypotheses' spread can be
trusted, for every multi-hypothesis method: spread-error correlation,
coverage of the central 50% / 90% intervals (ideally 0.5 / 0.9) and the
energy score, from the `calibration` block of each estimation JSON (and of
DPoser's completion), and (3) coverage before and after `--mode=calibrate`
(`calibration_after`).  `experiments.results_table` puts them into README.md.
"""
from __future__ import annotations

import json
import pathlib

_R = "experiments/results/"
_QS = ("python -m experiments.main --config=experiments/configs/diffpose_quickstart.py "
       "--workdir=runs/diffpose_quickstart --config.diffpose.encoder_workdir="
       "runs/encoder_quickstart")
_MOCAP = ("python -m experiments.main --config=experiments/configs/diffpose_mocap.py "
          "--workdir=runs/diffpose_mocap --config.data.cache_dir=caches "
          "--config.diffpose.encoder_workdir=runs/encoder_mocap")

# (label, JSON): DiffPose runs, each holding its encoder on the same rows.
DIFFPOSE = (
    ("quickstart, N=5 (paper design)", _R + "diffpose_quickstart_cpu.json"),
    ("quickstart, N=20", _R + "diffpose_quickstart_cpu_n20.json"),
    ("quickstart, N=1", _R + "diffpose_quickstart_cpu_n1.json"),
    ("quickstart, single Gaussian H_K (M=1), N=5", _R + "diffpose_quickstart_cpu_m1.json"),
    ("quickstart, the paper's network input h_k ('state')",
     _R + "diffpose_quickstart_cpu_input_state.json"),
    ("quickstart, 1 reverse step", _R + "diffpose_quickstart_cpu_steps1.json"),
    ("quickstart, 2 reverse steps", _R + "diffpose_quickstart_cpu_steps2.json"),
    ("quickstart, 10 reverse steps", _R + "diffpose_quickstart_cpu_steps10.json"),
    ("quickstart, 50 reverse steps", _R + "diffpose_quickstart_cpu_steps50.json"),
    ("quickstart, released refiner (51-step tiny schedule, 2 DDIM steps, N=1)",
     _R + "diffpose_released_quickstart_cpu.json"),
    ("mocap small (H_K on held-out clips), noisy test 2D, N=5",
     _R + "diffpose_mocap_small_heldout_cpu_estimate_noisy2d.json"),
    ("mocap small (H_K on held-out clips), noisy test 2D, N=20",
     _R + "diffpose_mocap_small_heldout_cpu_estimate_noisy2d_n20.json"),
    ("mocap small (H_K on held-out clips), exact test 2D, N=5",
     _R + "diffpose_mocap_small_heldout_cpu_estimate.json"),
    ("mocap small (H_K on held-out clips), exact test 2D, N=20",
     _R + "diffpose_mocap_small_heldout_cpu_estimate_n20.json"),
    ("mocap small on the temporal encoder (:temporal27_cpu), noisy test 2D, N=5",
     _R + "diffpose_mocap_small_t27cpu_cpu_estimate_noisy2d.json"),
    ("mocap small on the temporal encoder (:temporal27_cpu), exact test 2D, N=5",
     _R + "diffpose_mocap_small_t27cpu_cpu_estimate.json"),
    ("mocap small, single Gaussian H_K (M=1), noisy test 2D, N=5",
     _R + "diffpose_mocap_small_m1_cpu_estimate_noisy2d.json"),
    ("mocap small, encoder on every clip, noisy test 2D, N=5",
     _R + "diffpose_mocap_small_cpu_estimate_noisy2d.json"),
    ("mocap small, encoder on every clip, noisy test 2D, N=20",
     _R + "diffpose_mocap_small_cpu_estimate_noisy2d_n20.json"),
    ("mocap small, encoder on every clip, exact test 2D, N=5",
     _R + "diffpose_mocap_small_cpu_estimate.json"),
    ("mocap small, encoder on every clip, trained on exact 2D, exact test 2D, N=5",
     _R + "diffpose_mocap_small_exacttrain_cpu_estimate.json"),
    ("mocap small, encoder on every clip, trained on exact 2D, exact test 2D, N=20",
     _R + "diffpose_mocap_small_exacttrain_cpu_estimate_n20.json"),
    ("mocap small, encoder on every clip, trained on exact 2D, noisy test 2D, N=20",
     _R + "diffpose_mocap_small_exacttrain_cpu_estimate_noisy2d_n20.json"),
)

# (label, exact-2D JSON, noisy-2D JSON): DiffPose mocap small models that
# differ in one training setting (N=5 at test time, the same 500 rows).
_DM = _R + "diffpose_mocap_small_"
ABLATION = (
    ("M=5 kernels, K=50 steps",
     _DM + "cpu_estimate.json", _DM + "cpu_estimate_noisy2d.json"),
    ("M=1 (a single Gaussian)", _DM + "m1_cpu_estimate.json",
     _DM + "m1_cpu_estimate_noisy2d.json"),
    ("K=20 (beta_end 0.447: the same abar_K)", _DM + "k20_cpu_estimate.json",
     _DM + "k20_cpu_estimate_noisy2d.json"),
    ("K=100 (beta_end 0.1037)", _DM + "k100_cpu_estimate.json",
     _DM + "k100_cpu_estimate_noisy2d.json"),
    ("M=5, K=50, H_K on the encoder's held-out clips (the default)",
     _DM + "heldout_cpu_estimate.json", _DM + "heldout_cpu_estimate_noisy2d.json"),
)

# (label, JSON, where the calibration block is): multi-hypothesis results.
CALIBRATION = (
    ("GFPose mocap small, exact 2D, H=200", _R + "gfpose_mocap_small_h100_estimate.json", None),
    ("GFPose mocap small, noisy 2D, H=200",
     _R + "gfpose_mocap_small_h100_estimate_noisy2d.json", None),
    ("GFPose mocap paper size, exact 2D, H=200",
     _R + "gfpose_mocap_paper_h100_estimate.json", None),
    ("DiffPose quickstart, N=20", _R + "diffpose_quickstart_cpu_n20.json", None),
    ("DiffPose mocap small (H_K on held-out clips), noisy 2D, N=20",
     _R + "diffpose_mocap_small_heldout_cpu_estimate_noisy2d_n20.json", None),
    ("DiffPose mocap small, single Gaussian H_K (M=1), noisy 2D, N=5",
     _R + "diffpose_mocap_small_m1_cpu_estimate_noisy2d.json", None),
    ("DiffPose mocap small (noisy-trained), noisy 2D, N=20",
     _R + "diffpose_mocap_small_cpu_estimate_noisy2d_n20.json", None),
    ("DiffPose mocap small (exact-trained), exact 2D, N=20",
     _R + "diffpose_mocap_small_exacttrain_cpu_estimate_n20.json", None),
    ("DPoser quickstart, left-leg completion, best-of-10 set",
     _R + "dposer_quickstart_cpu_complete.json", ("dposer", "l_leg")),
    ("DPoser mocap small, left-leg completion, best-of-10 set",
     _R + "dposer_mocap_small_cpu_complete.json", ("dposer", "l_leg")),
)


def _load(root: pathlib.Path, rel: str) -> dict | None:
  path = root / rel
  return json.loads(path.read_text()) if path.exists() else None


def _diffpose_lines(root) -> list[str]:
  out = ["", "### DiffPose against its own context encoder", "",
         "The frozen encoder (a graph lifter, `encoder_*.py`, unless the row names "
         "a temporal one) scored on the same "
         "rows, re-centred on the root as the hypotheses are; gain = encoder "
         "MPJPE - DiffPose MPJPE of the mean (positive: diffusion helps). "
         "Mocap models train under the data's 2D noise model unless a row "
         "says exact 2D. "
         f"Commands: `{_QS}` and `{_MOCAP}` (then `--mode=eval` with "
         "`--config.eval.num_hypotheses=N`, `--config.data.test_2d=noisy` and an "
         "`--config.eval.output_suffix`), 2 CPU cores, seed 0.", "",
         "| run | poses | encoder MPJPE / PA | DiffPose mean MPJPE / PA | gain | "
         "best-of-N | train steps |", "|---|---|---|---|---|---|---|"]
  for label, rel in DIFFPOSE:
    r = _load(root, rel)
    if r is None:
      continue
    enc = r["encoder"]
    out.append(f"| {label} | {r['num_poses']} | {enc['mpjpe_mm']:.1f} / "
               f"{enc['pa_mpjpe_mm']:.1f} | {r['mpjpe_mm']:.1f} / {r['pa_mpjpe_mm']:.1f}"
               f" | {r['gain_over_encoder_mm']:+.1f} | {r['min_mpjpe_mm']:.1f} | "
               f"{r['train_step']} |")
  return out


def _ablation_lines(root) -> list[str]:
  rows = []
  for label, exact_rel, noisy_rel in ABLATION:
    exact, noisy = _load(root, exact_rel), _load(root, noisy_rel)
    if exact is None or noisy is None:
      continue
    cov = (noisy.get("calibration") or {}).get("coverage") or {}
    rows.append(
        f"| {label} | {exact['encoder']['mpjpe_mm']:.1f} | {exact['mpjpe_mm']:.1f}"
        f" / {exact['min_mpjpe_mm']:.1f} | {noisy['encoder']['mpjpe_mm']:.1f} | "
        f"{noisy['mpjpe_mm']:.1f} / {noisy['min_mpjpe_mm']:.1f} | "
        f"{cov.get('0.9', float('nan')):.2f} |")
  if not rows:
    return []
  return ["", "### DiffPose's training settings on jaxpose-mocap v1", "",
          "One model per row (mocap small, trained on noisy 2D, 6000 steps, "
          "seed 0, 2 CPU cores), N=5 hypotheses and 5 DDIM steps on the same "
          "500 test rows; MPJPE in mm of the mean / best-of-5, beside the "
          "model's own encoder; coverage of the central 90% interval with noisy "
          "2D (ideally 0.90). The rows above the last share one encoder, "
          "trained on every training clip (`--config.holdout.fraction=0`), so "
          "their H_K is its error on rows it saw; the last row's encoder never "
          "saw a tenth of the clips, and its H_K is fitted on them. Each row's "
          "settings: `"
          + _MOCAP + " --config.diffpose.num_kernels=1` (M), "
          "`--config.sde.num_steps=20 --config.sde.beta_end=0.447` or "
          "`--config.sde.num_steps=100 --config.sde.beta_end=0.1037` (K), and a new "
          "encoder workdir for the held-out clips (`encoder_mocap.py`'s "
          "`holdout.fraction`).", "",
          "| model | encoder, exact 2D | DiffPose exact 2D | encoder, noisy 2D | "
          "DiffPose noisy 2D | coverage 90% |", "|---|---|---|---|---|---|"] + rows


def _calibration_of(result: dict, where) -> dict | None:
  if where is None:
    return result.get("calibration")
  prior, part = where
  for s in result.get("settings", []):
    if s.get("prior") == prior and s.get("part") == part:
      return s.get("calibration")
  return None


def _calibration_lines(root) -> list[str]:
  out = ["", "### Can the hypotheses' spread be trusted?", "",
         "Per joint and coordinate: the central 50% and 90% intervals of the "
         "hypotheses should hold the true joint 50% and 90% of the time; the "
         "Pearson correlation of per-joint spread and error, and the energy "
         "score (lower is better; mm). Per-joint figures are in each JSON's "
         "`calibration` block.", "",
         "| result | hypotheses | coverage 50% | coverage 90% | spread-error r | "
         "energy score |", "|---|---|---|---|---|---|"]
  for label, rel, where in CALIBRATION:
    r = _load(root, rel)
    c = None if r is None else _calibration_of(r, where)
    if not c:
      continue
    cov = c["coverage"]
    r_val = c.get("spread_error_pearson")
    out.append(f"| {label} | {c['num_hypotheses']} | {cov['0.5']:.2f} | "
               f"{cov['0.9']:.2f} | "
               f"{'-' if r_val is None else format(r_val, '.2f')} | "
               f"{c['energy_score_mm']:.1f} |")
  return out + _calibrated_lines(root)


# (label, JSON of an evaluation after --mode=calibrate, where the "before"
# block is, the held-out report WORKDIR/calibration/<task>.json or None):
# coverage before and after the calibration kept.
CALIBRATED = (
    ("GFPose quickstart, a tenth held out, H=200",
     _R + "quickstart_gfpose_holdout_cpu_estimate.json", None, None),
    ("DiffPose quickstart, half its encoder's held-out fifth, N=20",
     _R + "diffpose_quickstart_holdout_cpu_estimate.json", None, None),
    ("DPoser quickstart, a tenth held out, left-leg completion, H=10",
     _R + "dposer_quickstart_holdout_cpu_complete.json", None, None),
    ("GFPose mocap small (CMU 005/007), a tenth held out, H=200",
     _R + "gfpose_mocap_small_holdout_cpu_estimate.json", None,
     _R + "gfpose_mocap_small_holdout_cpu_calibration_heldout.json"),
    ("DiffPose mocap small per_row_kernel (CMU 005/007), half its encoder's "
     "held-out tenth, N=5, exact 2D",
     _R + "diffpose_mocap_small_per_row_kernel_holdout_cpu_estimate.json", None,
     _R + "diffpose_mocap_small_per_row_kernel_holdout_cpu_calibration_heldout.json"),
    ("the same, noisy 2D",
     _R + "diffpose_mocap_small_per_row_kernel_holdout_cpu_estimate_noisy2d.json",
     None,
     _R + "diffpose_mocap_small_per_row_kernel_holdout_cpu_calibration_heldout.json"),
    ("DPoser mocap small v2 (CMU 005/007), a tenth held out, left-leg "
     "completion, H=10", _R + "dposer_mocap_small_v2_cpu_complete.json", None,
     _R + "dposer_mocap_small_v2_cpu_calibration_heldout.json"),
    ("DiffPose mocap small per_row_kernel, CMU subject 006 held out whole "
     "(from both networks), N=5, exact 2D, 1 run",
     _R + "diffpose_mocap_small_per_row_kernel_subject006_cpu_estimate.json", None,
     _R + "diffpose_mocap_small_per_row_kernel_subject006_cpu_calibration_heldout.json"),
    ("the same, noisy 2D, 1 run",
     _R + "diffpose_mocap_small_per_row_kernel_subject006_cpu_estimate_noisy2d.json",
     None,
     _R + "diffpose_mocap_small_per_row_kernel_subject006_cpu_calibration_heldout.json"),
    ("DPoser mocap small v2, CMU subject 006 held out whole (and a tenth of "
     "the other clips), left-leg completion, H=10, 1 run",
     _R + "dposer_mocap_small_v2_subject006_cpu_complete.json", None,
     _R + "dposer_mocap_small_v2_subject006_cpu_calibration_heldout.json"),
)


# (label, seed_summary JSON of evaluations after --mode=calibrate, its
# held-out reports summarised beside them): the same columns over seeds.
CALIBRATED_SEEDS = (
    ("GFPose mocap small (CMU 005/007), CMU subject 006 held out whole, H=200",
     _R + "gfpose_mocap_small_subject006_cpu_seeds_estimate.json"),
)


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
         "config's training steps): `python -m experiments.main "
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
    r = _load(root, rel)
    if r is None or "calibration_after" not in r:
      continue
    held = _load(root, heldout_rel) if heldout_rel else None
    on_held, held_mpjpe = ("-", "-") if held is None else (
        f"{held['before']['coverage']['0.9']:.2f} -> "
        f"{held['after']['coverage']['0.9']:.2f}",
        f"{held['after']['mean_mpjpe_mm']:.1f}")
    before = r.get("calibration_before") or _calibration_of(r, where)
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
  r = _load(root, rel)
  return "-" if r is None else f"{r['calibration_after']['coverage'][figure]:.2f}"


def _subject_lines(root) -> list[str]:
  """What holding a person out whole changed, read from the rows' files."""
  gf = _load(root, CALIBRATED_SEEDS[0][1])
  clips = _load(root, _R + "gfpose_mocap_small_holdout_cpu_calibration_heldout.json")
  clips_test = _load(root, _R + "gfpose_mocap_small_holdout_cpu_estimate.json")
  plain = _load(root, _R + "gfpose_mocap_small_cpu_seeds_estimate.json")
  if gf is None or clips is None or clips_test is None or plain is None:
    return []
  held, across = gf["heldout_calibration"], gf["across_seeds"]
  test = across["calibration_after.mean_mpjpe_mm"]["mean"]
  base = plain["across_seeds"]["mpjpe_mm"]["mean"]
  cover = across["calibration_after.coverage.0.9"]
  dp = _R + "diffpose_mocap_small_per_row_kernel_{}_cpu_estimate{}.json"
  dposer = _R + "dposer_mocap_small_v2{}_cpu_complete.json"
  noisy = dp.format("subject006", "_noisy2d")
  return [
      "", "Held-out people instead of clips (`--config.holdout.subjects=cmu:006`: "
      "the training rows of CMU subject 006, a person on the test's rig, never "
      "trained on; `--mode=calibrate` then fits on them alone; DiffPose's "
      "encoder holds the same person out besides its tenth of clips, and "
      "DPoser besides its tenth). A tenth of random clips is 98% Bandai, "
      f"whose error ({clips['after']['mean_mpjpe_mm']:.1f} mm for GFPose) is "
      f"a fraction of the test people's ({clips_test['mpjpe_mm']:.1f}); the "
      f"held-out person's is {held['after.mean_mpjpe_mm']['mean']:.1f} mm "
      f"against {test:.1f} on the test people. The calibrated 90% interval "
      f"then covers {cover['mean']:.2f} ± {cover['std']:.2f} of GFPose's test "
      f"joints over {len(gf['seeds'])} seeds (random clips: "
      f"{_after(root, _R + 'gfpose_mocap_small_holdout_cpu_estimate.json')}) "
      f"and {_after(root, dposer.format('_subject006'))} of DPoser's completion "
      f"(random clips: {_after(root, dposer.format(''))}): closer to 0.9, "
      "still short of 0.85, as the test people's error stays well above the "
      "held-out person's (the last column; one person held out stands for "
      "two unseen ones, and how far people differ is what one held-out "
      "person measures least well). DiffPose with noisy 2D, the 2D it was "
      "trained and calibrated on, reaches both bands "
      f"({_after(root, noisy, '0.5')} "
      f"and {_after(root, noisy)}; random clips: "
      f"{_after(root, dp.format('holdout', '_noisy2d'), '0.5')} and "
      f"{_after(root, dp.format('holdout', '_noisy2d'))}); with exact 2D its "
      "intervals, sized for noisy 2D, over-cover "
      f"({_after(root, dp.format('subject006', ''))}). "
      f"GFPose's mean scores {test:.1f} mm against {base:.1f} when trained on "
      f"every row ({100 * (test / base - 1):+.1f}%: the cost of the 545 "
      "held-out rows of the test's rig)."]


# (2D, JSON of experiments/diffpose_kernels.py): M = 1 against M = 5.
KERNELS = (("exact 2D", _R + "diffpose_kernels_mocap_small_per_row_kernel.json"),
           ("noisy 2D", _R + "diffpose_kernels_mocap_small_per_row_kernel_noisy2d.json"))


def _kernel_lines(root) -> list[str]:
  """Why M = 1 and M = 5 differ: each model's kernels alone, the oracle
  choice of kernel per row, and the error against N."""
  rows = []
  for label, rel in KERNELS:
    r = _load(root, rel)
    if r is None:
      continue
    for w in r["workdirs"]:
      ks = w["per_kernel"]
      alone = ", ".join(f"{k['mean_of_n_mpjpe_mm']:.1f}" for k in ks)
      offsets = ", ".join(f"{k['mean_3d_mm']:.0f}" for k in w["kernels"])
      n = {v["num_hypotheses"]: v["mean_of_n_mpjpe_mm"] for v in w["versus_n"]}
      oracle = w["oracle"]["best_kernel_after_the_fact"]["mean_of_n_mpjpe_mm"]
      rows.append(
          f"| {label} | M = {w['num_kernels']} | {w['encoder']['mpjpe_mm']:.1f} | "
          f"{n.get(1, float('nan')):.1f} / {n.get(5, float('nan')):.1f} / "
          f"{n.get(20, float('nan')):.1f} | {alone} | {offsets} | {oracle:.1f} |")
  if not rows:
    return []
  return ["", "Why M = 1 and M = 5 kernels differ (`experiments/diffpose_kernels.py`, "
          "per_row_kernel models on the same encoder, 500 test rows, 2 CPU "
          "cores): MPJPE of the mean of N hypotheses, of each kernel's "
          "hypotheses alone, each kernel's mean offset from the encoder's "
          "pose (3D, RMS over joints), and the mean of N from the best kernel "
          "per row chosen after the fact (an upper bound on choosing kernels). "
          "The M = 1 model is `diffpose_mocap.py:per_row_kernel` with "
          "`--config.diffpose.num_kernels=1`; then `python -m "
          "experiments.diffpose_kernels --workdirs=M5_WORKDIR,M1_WORKDIR "
          "--name=mocap_small_per_row_kernel` (and `--set=data.test_2d=noisy "
          "--name=mocap_small_per_row_kernel_noisy2d`).",
          "", "| 2D | kernels | encoder | mean of 1 / 5 / 20 | each kernel alone "
          "| kernel offsets (mm) | best kernel per row |",
          "|---|---|---|---|---|---|---|", *rows, "",
          "What the experiment shows: M = 5's mixture holds kernels far from "
          "the encoder's pose (the largest offsets), whose draws the "
          "denoiser does not bring back (their hypotheses alone are the "
          "worst), and the mean of N mixes them in. Only an oracle that "
          "picks each row's best kernel after the fact beats the single "
          "kernel, by under a tenth; without it, one H_K kernel around the "
          "encoder's pose is the better start on this data."]


BENCH = (_R + "bench_diffpose_cpu.json",
         "python -m experiments.bench.diffpose --hypotheses=5,20 "
         "--out=experiments/results/bench_diffpose_cpu.json "
         "--torch_python=TORCH_VENV/bin/python", "2 CPU cores")


def _bench_lines(root) -> list[str]:
  rel, command, hardware = BENCH
  r = _load(root, rel)
  if r is None:
    return []
  out = ["", "DiffPose's speed: one denoiser forward (1.08M parameters) against "
         "the same layout written in PyTorch 2.13 (2 threads, "
         "`experiments/bench/torch_diffpose.py`; target 1.2x), and DDIM "
         "hypotheses per second beside GFPose's sampler at the same poses, "
         "hypotheses and steps:", "",
         "| hardware | rows | jaxpose ms | PyTorch ms | speed-up |", "|---|---|---|---|---|"]
  for d in r["denoiser_step"]:
    out.append(f"| {hardware} | {d['rows']} | {d['jaxpose']['step_ms']:.1f} | "
               f"{d['torch']['step_ms']:.1f} | {d['speedup_vs_torch']:.2f}x |")
  out += ["", "| poses x N | steps | DiffPose hypotheses/s | GFPose hypotheses/s |",
          "|---|---|---|---|"]
  for s in r["sampling"]:
    d, g = s["diffpose"], s["gfpose"]
    out.append(f"| {d['poses']} x {d['hypotheses']} | {d['steps']} | "
               f"{d['hypotheses_per_s']:.0f} | {g['hypotheses_per_s']:.0f} "
               f"({g['spec']}) |")
  out += ["", f"`{rel}`: `{command}`" + (" (measured on a busy machine)"
                                         if r.get("busy") else "") + "."]
  return out


def lines(root: pathlib.Path) -> list[str]:
  return (_diffpose_lines(root) + _ablation_lines(root)
          + _calibration_lines(root) + _kernel_lines(root) + _bench_lines(root))


__all__ = ["lines", "DIFFPOSE", "ABLATION", "CALIBRATION"]
