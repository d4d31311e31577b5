"""Dropout masks: `models.dropout`'s hashed mask against `jax.random.bernoulli`.

  python -m experiments.bench.dropout [--out=bench_dropout.json] [--rounds=30]

For each of the papers' rates on a training step's activations (a batch of
rows x 1024 features), one jitted program applies dropout and takes its
gradient, as a training step does, once with jaxpose's mask
(`models.dropout.dropout`) and once with `bernoulli`'s (the rate itself,
scaled by it), the two taking turns round by round. Prints and writes the
median time of each and the median of the per-round ratios, with the
hardware. The logic is `run_bench`.
"""
from __future__ import annotations

import statistics
from typing import Callable, Sequence

import jax
import jax.numpy as jnp

from experiments.bench import timing
from jaxpose import checks
from jaxpose import files
from jaxpose.models import dropout as dropout_lib

# (rate, whose rate it is, rows): the configs' rates, at the training
# batches of the speed benchmarks (the lifter's at 1024 rows).
CASES = ((0.25, "GFPose", 1000), (0.1, "DPoser", 1280),
         (0.5, "the lifter", 1024))
FEATURES = 1024


def _bernoulli_dropout(x, rate, key):
  keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
  return jnp.where(keep, x / (1.0 - rate), jnp.zeros_like(x))


def _program(dropout_fn) -> Callable:
  """The gradient of sum(dropout(x) * x): the mask in and out, as a step."""
  return jax.jit(jax.grad(lambda x, key, rate: jnp.sum(dropout_fn(x, rate, key)
                                                       * x)),
                 static_argnums=2)


def run_bench(cases: Sequence[tuple] = CASES, *, features: int = FEATURES,
              rounds: int = 30, log: Callable[[str], None] = print) -> dict:
  """The measurement as a dict (the module docstring)."""
  rounds = checks.check_positive_int("rounds", rounds)
  ours, theirs = _program(dropout_lib.dropout), _program(_bernoulli_dropout)
  key = jax.random.key(0)
  rows_out = []
  for rate, user, rows in cases:
    x = jax.random.normal(jax.random.fold_in(key, rows), (rows, features))
    times = timing.time_interleaved(
        {"hashed": (ours, (x, key, rate)), "bernoulli": (theirs, (x, key, rate))},
        rounds=rounds, warmup=2)
    row = dict(rate=rate, realized_rate=dropout_lib.realized_rate(rate),
               user=user, shape=[rows, features],
               hashed_s=statistics.median(times["hashed"]),
               bernoulli_s=statistics.median(times["bernoulli"]),
               speedup=statistics.median(
                   b / h for b, h in zip(times["bernoulli"], times["hashed"])))
    rows_out.append(row)
    log(f"rate {rate} ({user}): hashed {row['hashed_s'] * 1e3:.2f} ms, "
        f"bernoulli {row['bernoulli_s'] * 1e3:.2f} ms, x{row['speedup']:.2f}")
  return dict(hardware=timing.hardware_info(), rounds=rounds,
              features=features, rows=rows_out)


def main(argv):
  from absl import app  # pylint: disable=import-outside-toplevel
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  result = run_bench(rounds=_ROUNDS.value)
  print(f"wrote {files.write_json_atomic(_OUT.value, result)}")


if __name__ == "__main__":
  from absl import app
  from absl import flags
  _OUT = flags.DEFINE_string("out", "bench_dropout.json", "JSON path.")
  _ROUNDS = flags.DEFINE_integer("rounds", 30, "Timed rounds (median).")
  app.run(main)
