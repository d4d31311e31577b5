"""experiments.results_novelty: the novelty paragraph, from JSON."""
import json

from experiments import results_novelty as novelty


def _person(novelty_mm, q90):
  return dict(rows=50, novelty_mm=novelty_mm, mean_mpjpe_mm=200.0,
              score_quantile={"0.5": q90 / 3, "0.9": q90})


def _run(q90s, exponent, plain90, pairs=None):
  """One workdir's report: held-out people 001 and 006 (or the four of
  `q90s`), test people 005 and 007."""
  held = dict(zip(("001", "002", "003", "006"), q90s))
  return dict(
      heldout_people={p: _person(50.0 + i, q) for i, (p, q) in enumerate(held.items())},
      test_people={"005": _person(100.0, 25.0), "007": _person(40.0, 26.0)},
      to_test=dict(exponent=exponent, reference_mm=55.0,
                   plain={"0.5": 0.3, "0.9": plain90}, scaled={"0.5": 0.5, "0.9": 0.8}),
      leave_pairs_out=pairs)


def _summary(runs):
  mean = lambda key: {l: sum(r["to_test"][key][l] for r in runs) / len(runs)
                      for l in ("0.5", "0.9")}
  return dict(workdirs={f"runs/w{i}": r for i, r in enumerate(runs)},
              exponent=[r["to_test"]["exponent"] for r in runs],
              to_test_plain=mean("plain"), to_test_scaled=mean("scaled"))


def _write(root, rel, data):
  path = root / rel
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(json.dumps(data))


def _pairs(cover90):
  return {pair: dict(exponent=0.0, plain={"0.5": 0.5, "0.9": cover90},
                     scaled={"0.5": 0.5, "0.9": cover90})
          for pair in ("001+002", "001+003", "002+003")}


def test_four_people_over_seeds_replace_the_one_run(tmp_path):
  two = _summary([_run((18.0, 11.0), 1.4, 0.72), _run((17.0, 11.0), 1.9, 0.74)])
  _write(tmp_path, novelty.TWO_HELD, two)
  assert novelty.lines(tmp_path) == []  # no four-people file
  _write(tmp_path, novelty.FOUR_HELD,
         _summary([_run((11.0, 9.0, 13.0, 9.0), 0.0, 0.64, _pairs(0.9))]))
  (_, text) = novelty.lines(tmp_path)
  assert "With four people held out (1 run: CMU 001, CMU 002, CMU 003, CMU 006" in text
  assert "need q = 11.0, 9.0, 13.0, 9.0 at 90%" in text and "a is 0.00," in text
  assert "(means over the 3 pairs:" in text
  assert "the test people are covered 0.30 and 0.64" in text
  _write(tmp_path, novelty.FOUR_HELD_SEEDS, _summary([
      _run((10.0, 9.0, 13.0, 9.0), 0.0, 0.60, _pairs(0.9)),
      _run((12.0, 9.0, 13.0, 9.0), 0.5, 0.70, _pairs(0.8))]))
  (_, text) = novelty.lines(tmp_path)
  assert "With four people held out (2 seeds, means over them: CMU 001" in text
  assert "need q = 11.0, 9.0, 13.0, 9.0 at 90%" in text
  assert "a is 0.00 / 0.50," in text
  assert "covers the other two 0.50 and 0.85 plain" in text
  assert "(means over the 3 pairs of each seed:" in text
  assert "the test people are covered 0.30 and 0.65 (at 90% by seed: 0.60 / 0.70)," in text
