"""experiments/bench/dropout.py: both masks timed at each rate (tiny sizes)."""
import pytest

from experiments.bench import dropout as dropout_bench


def test_dropout_bench_times_both_masks_at_each_rate():
  r = dropout_bench.run_bench(((0.1, "x", 8), (0.25, "y", 4)), features=16,
                              rounds=2, log=lambda s: None)
  assert [row["rate"] for row in r["rows"]] == [0.1, 0.25]
  assert r["rows"][0]["realized_rate"] == pytest.approx(6554 / 65536)
  assert all(row["hashed_s"] > 0 and row["bernoulli_s"] > 0
             and row["speedup"] > 0 for row in r["rows"])
