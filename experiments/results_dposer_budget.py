"""README table: DPoser's motion denoising against its training length and
width.

Rendered from the JSONs `experiments.dposer_budget` writes (a row per
training step of a workdir: the weight chosen on held-out training clips,
the held-out clips and the test split denoised with it, each beside no
prior): the small network trained on in stretches, and the authors' width
trained as long as the curve's first row. `experiments.results_dposer`
places it under the DPoser tables.
"""
from __future__ import annotations

import pathlib

from experiments.results_files import load as _load

BUDGET = "experiments/results/dposer_mocap_small_v2_cpu_budget.json"
WIDE = "experiments/results/dposer_mocap_wide_v2_cpu_budget.json"
_TRAIN = ("python -m experiments.main --config=experiments/configs/dposer_mocap.py "
          "--workdir=runs/{w} --config.data.cache_dir=caches "
          "--config.train.num_steps={steps}{more} --mode=train, then python -m "
          "experiments.dposer_budget --workdir=runs/{w} --test_every_weight --out={out}")
COMMANDS = (
    _TRAIN.format(w="dposer_long_s0", steps="STEPS", more="", out=BUDGET),
    _TRAIN.format(w="dposer_wide10k_s0", steps="10000", out=WIDE,
                  more=" --config.model.hidden=1024 --config.model.embed_dim=512"),
)
# Point 3 of issue 20: denoising at least 15% below no prior.
TARGET = -0.15


def _cell(after: float, change: float) -> str:
  return f"{after:.1f} ({100 * change:+.1f}%)"


def _network(row: dict) -> str:
  m = row.get("model")
  if not m:
    return "?"
  return f"{m['hidden']} / {m['embed_dim']} ({m['num_params'] / 1e6:.2f}M)"


def _mean_change(prior: dict, none: dict) -> float:
  """The prior's change against no prior, averaged over the noise levels."""
  return sum(prior[n] / none[n] - 1 for n in prior) / len(prior)


def _no_prior(rows: list[dict], where: str, noise: list[str]) -> list[str]:
  """No prior's figures (no network: the same on every row, else a range)."""
  none = lambda r: r["test"]["none"] if where == "test" else r["heldout"]["by_weight"]["none"]
  cells = []
  for n in noise:
    values = sorted({round(none(r)[n], 1) for r in rows})
    cells.append(f"{values[0]:.1f}" if len(values) == 1
                 else f"{values[0]:.1f} to {values[-1]:.1f}")
  return cells


def _windows(rows: list[dict]) -> str:
  counts = lambda where: sorted({r[where].get("num_windows") for r in rows} - {None})
  held, test = counts("heldout"), counts("test")
  say = lambda c: "/".join(str(v) for v in c) if c else "?"
  return f"windows of 60 frames: {say(held)} held-out, {say(test)} test"


def _workdirs(rows: list[dict]) -> str:
  """Rows of the curve scored on another workdir than its last (the run it
  was resumed from, or a shorter run of the same seed) are named."""
  last = rows[-1]["workdir"]
  other = [f"{r['train_step']} step{'s' * (r['train_step'] != 1)}: "
           f"{r['workdir']}" for r in rows if r["workdir"] != last]
  return (f" (rows scored on other workdirs of the same seed and settings: "
          f"{', '.join(other)})") if other else ""


def _mean_gain(row: dict, where: str) -> float:
  return 100 * sum(row[where]["gain"].values()) / len(row[where]["gain"])


def _span(values: list[float]) -> str:
  lo, hi = min(values), max(values)
  return f"{lo:+.1f}%" if f"{lo:.1f}" == f"{hi:.1f}" else f"{lo:+.1f}% to {hi:+.1f}%"


def _best_weight(row: dict) -> tuple[str, float]:
  """The grid's weight with the lowest mean test error (diagnostic only)."""
  change = {w: 100 * _mean_change(v, row["test"]["none"])
            for w, v in row["test"]["by_weight"].items()}
  w = min(change, key=change.get)
  return w, change[w]


def _verdict(curve: list[dict], others: list[dict]) -> str:
  """Untrained rows (step <= 1: the initial weights) apart from trained
  ones; the trained rows' spread; the wide network; the test split's best
  weight as a diagnostic."""
  untrained = [r for r in curve if r["train_step"] <= 1]
  trained = [r for r in curve if r["train_step"] > 1]
  parts = []
  for r in untrained:
    parts.append(
        f"untrained ({r['train_step']} step at the warm-up's zero learning "
        f"rate: its initial weights) the prior makes denoising worse, "
        f"{_mean_gain(r, 'heldout'):+.1f}% on the held-out clips and "
        f"{_mean_gain(r, 'test'):+.1f}% on the test people (averages over "
        "the noise levels), so what it gives is learnt")
  if trained:
    steps = [r["train_step"] for r in trained]
    met = all(v <= TARGET for r in trained for v in r["test"]["gain"].values())
    parts.append(
        f"trained {min(steps)} to {max(steps)} steps it changes the error by "
        f"{_span([_mean_gain(r, 'heldout') for r in trained])} on the held-out "
        f"clips and {_span([_mean_gain(r, 'test') for r in trained])} on the "
        f"test people (the target, {100 * TARGET:.0f}% at every noise level "
        f"on the test people, {'met' if met else 'missed'})")
  for r in others:
    parts.append(
        f"the width {_network(r)} at {r['train_step']} steps: "
        f"{_mean_gain(r, 'heldout'):+.1f}% on the held-out clips, "
        f"{_mean_gain(r, 'test'):+.1f}% on the test people")
  text = "; ".join(parts)
  spread = lambda where: [_mean_gain(r, where) for r in [*trained, *others]]
  if len(spread("test")) > 1 and all(
      max(spread(w)) - min(spread(w)) < 1 for w in ("heldout", "test")):
    text += (". Every trained prior is within a point of the others on both: "
             "longer training" + (" and the authors' width" if others else "")
             + " do not close the gap on this data (the authors' whole "
             "schedule, 400k steps of batch 1280, is `dposer_mocap.py:paper`, "
             "for an accelerator)")
  every = [r for r in [*trained, *others] if "by_weight" in r["test"]]
  if every:
    best = [_best_weight(r) for r in every]
    weights = sorted({w for w, _ in best}, key=float)
    text += (". Scored on the test people at every weight of the grid (a "
             "diagnostic, never used to choose), the best weight (" +
             ", ".join(weights) + ") changes the trained priors' error by " +
             _span([c for _, c in best]) + " on average")
  return text


def lines(root: pathlib.Path) -> list[str]:
  result = _load(root, BUDGET)
  if not result or not result["rows"]:
    return []
  curve = result["rows"]
  wide = _load(root, WIDE)
  others = wide["rows"] if wide else []
  if wide and wide["settings"] != result["settings"]:
    raise ValueError(f"{WIDE} and {BUDGET} were scored with other settings")
  rows = [*curve, *others]
  held_noise = [f"{v:g}" for v in result["settings"]["heldout_noise_mm"]]
  test_noise = [f"{v:g}" for v in result["settings"]["test_noise_mm"]]
  head = (["network (width / embed, parameters)", "training steps",
           "weight (chosen on held-out clips)"]
          + [f"held-out clips, {n} mm" for n in held_noise]
          + [f"test people, {n} mm" for n in test_noise])
  out = ["", "### DPoser's motion denoising against its training length and width", "",
         "DPoser (`dposer_mocap.py`, seed 0) "
         + ("untrained and " if curve[0]["train_step"] <= 1 else "")
         + "trained for longer and longer"
         + (", and the authors' width" if others else "") +
         f", {curve[0]['hardware']}; for each, the prior weight is chosen on the "
         f"held-out training clips (grid {', '.join(f'{w:g}' for w in result['settings']['grid'])}, "
         f"fixed weights, mean over {' and '.join(held_noise)} mm) and the test "
         f"people are denoised with it ({_windows(rows)}). MPJPE after denoising "
         "(mm) and its change against no prior (the temporal term alone, on the "
         "same windows). Commands: `" + "`; `".join(COMMANDS[:1 + bool(others)])
         + "`" + _workdirs(curve) + ".", "",
         "| " + " | ".join(head) + " |", "|" + "---|" * len(head),
         "| no prior | - | - | " + " | ".join(
             _no_prior(rows, "heldout", held_noise)
             + _no_prior(rows, "test", test_noise)) + " |"]
  for r in rows:
    held = r["heldout"]["by_weight"][f"{r['chosen_weight']:g}"]
    out.append(
        f"| {_network(r)} | {r['train_step']} | {r['chosen_weight']:g} | "
        + " | ".join(
            [_cell(held[n], r["heldout"]["gain"][n]) for n in held_noise]
            + [_cell(r["test"]["dposer"][n], r["test"]["gain"][n])
               for n in test_noise]) + " |")
  out += ["", "What the table shows: " + _verdict(curve, others) + "."]
  return out


__all__ = ["lines", "BUDGET", "WIDE"]
