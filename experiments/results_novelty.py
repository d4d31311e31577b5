"""README text: whether DPoser's intervals could widen with a row's novelty
(`experiments.novelty_transfer`), written from its JSONs."""
from __future__ import annotations

import pathlib

import numpy as np

from experiments.results_files import load as _load

_R = "experiments/results/"
TWO_HELD = _R + "dposer_mocap_small_v2_subjects001_006_cpu_seeds_novelty.json"
FOUR_HELD = _R + "dposer_mocap_small_v2_subjects4_cpu_novelty.json"
# The four people held out over training seeds, read in place of the one
# run once it exists.
FOUR_HELD_SEEDS = _R + "dposer_mocap_small_v2_subjects4_cpu_seeds_novelty.json"


def _people(runs: list[dict], where: str, figure: str) -> dict[str, float]:
  """{person: the figure's mean over runs} of `heldout_people` or
  `test_people` (figure: novelty_mm, mean_mpjpe_mm or score_quantile.0.9)."""
  value = lambda p: (p["score_quantile"]["0.9"] if figure == "score_quantile.0.9"
                     else p[figure])
  people = set.intersection(*(set(r[where]) for r in runs))
  return {g: float(np.mean([value(r[where][g]) for r in runs])) for g in sorted(people)}


def _listed(values: dict[str, float], digits: int = 1) -> str:
  return ", ".join(f"CMU {g} {v:.{digits}f}" for g, v in values.items())


def _pair(coverage: dict) -> str:
  return f"{coverage['0.5']:.2f} and {coverage['0.9']:.2f}"


def lines(root: pathlib.Path) -> list[str]:
  two = _load(root, TWO_HELD)
  four = _load(root, FOUR_HELD_SEEDS) or _load(root, FOUR_HELD)
  if two is None or four is None:
    return []
  runs2 = list(two["workdirs"].values())
  runs4 = list(four["workdirs"].values())
  pairs = [p for r in runs4 for p in (r["leave_pairs_out"] or {}).values()]
  mean_pairs = lambda key: {l: float(np.mean([p[key][l] for p in pairs]))
                            for l in ("0.5", "0.9")}
  held4 = _people(runs4, "heldout_people", "score_quantile.0.9")
  how4 = "1 run" if len(runs4) == 1 else f"{len(runs4)} seeds, means over them"
  by_seed = ("" if len(runs4) == 1 else " (at 90% by seed: " + " / ".join(
      f"{r['to_test']['plain']['0.9']:.2f}" for r in runs4) + ")")
  pairs_text = (f"the {len(pairs)} pairs" if len(runs4) == 1
                else f"the {len(pairs) // len(runs4)} pairs of each seed")
  return [
      "", "Could the intervals widen where a row is harder, using something "
      "the model has at test time? Each row's novelty, the mean distance of "
      "its visible joints to the 10 nearest training poses the model learnt "
      "from (mm per joint; `jaxpose.evaluation.novelty`, saved with the "
      "completion's predictions as `novelty_mm`), is larger on the test "
      f"people ({_listed(_people(runs2, 'test_people', 'novelty_mm'))} mm) "
      "than on the two held-out ones "
      f"({_listed(_people(runs2, 'heldout_people', 'novelty_mm'))}). Intervals "
      "m +- q sigma (novelty / median) ^ a, the exponent a fitted between "
      "the held-out people (the one that makes their score quantiles most "
      "alike: per row, novelty is a noisy measure, and a slope fitted across "
      "rows is biased towards 0), get a = "
      + " / ".join(f"{a:.2f}" for a in two["exponent"])
      + f" over the {len(runs2)} seeds and cover the test people "
      f"{_pair(two['to_test_scaled'])} (plain conformal on the same rows: "
      f"{_pair(two['to_test_plain'])}; the scaling was first tried on these "
      "test rows, so the figure is optimistic). That fit rests on two people "
      "who differ in both novelty and error. With four people held out "
      f"({how4}: "
      f"{', '.join('CMU ' + g for g in held4)}, "
      "`--config.holdout.subjects=\"('cmu:001', 'cmu:002', 'cmu:003', "
      "'cmu:006')\"`), the held-out people need q = "
      + ", ".join(f"{v:.1f}" for v in held4.values())
      + " at 90% whatever their novelty ("
      + _listed(_people(runs4, "heldout_people", "novelty_mm"))
      + " mm), a is " + " / ".join(f"{r['to_test']['exponent']:.2f}" for r in runs4)
      + ", each pair fitted covers "
      f"the other two {_pair(mean_pairs('plain'))} plain and "
      f"{_pair(mean_pairs('scaled'))} scaled (means over {pairs_text}: "
      "between training people plain conformal already "
      "carries over), the test people are covered "
      f"{_pair(four['to_test_plain'])}{by_seed}, and they need q = "
      + _listed(_people(runs4, "test_people", "score_quantile.0.9"))
      + ", CMU 007 no more novel than the held-out people ("
      + _listed(_people(runs4, "test_people", "novelty_mm"))
      + " mm). Novelty does not explain what makes the test people hard, so "
      "the calibration stays plain conformal. Produced by `--mode=calibrate` "
      "and `--mode=eval` with `--config.eval.save_predictions=True` (and the "
      "completion settings above) in copies of the seeds' workdirs, then "
      "`python -m experiments.novelty_transfer --workdirs=... "
      "--stem=complete_novelty`."]


__all__ = ["TWO_HELD", "FOUR_HELD", "FOUR_HELD_SEEDS", "lines"]
