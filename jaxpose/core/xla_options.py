"""XLA compiler options that jaxpose's samplers are compiled with.

On the CPU, XLA (jaxlib 0.10) gives dense products to YNNPACK, and by
default it also moves the elementwise and reduction work around them
(bias, GroupNorm, SiLU) into the same YNNPACK subgraphs.  For the score
network's sampling step that is the slow choice: at the paper size and 3200
rows (16 poses x 200 hypotheses) a step took 644 ms with the default and
428 ms with YNNPACK fusion turned off, which leaves the products to XLA's
own CPU dot and the rest to its loop fusions (2 cores, AMD EPYC, same
process).  A training step goes the other way (its transposed backward
products are faster in YNNPACK), so only the samplers use these options,
and only from SAMPLING_MIN_ROWS rows (poses x hypotheses) on.  Measured
speed-ups of the options over XLA's defaults, same process, timed in
alternation: 0.8-0.9x at 1 row, 0.96-0.98x at 200, 1.06x at 400, 1.07x at
800, 1.10x at 1600, 1.47x at 3200.

The options name CPU passes only, which GPU and TPU compilers do not run
(XLA accepts every option on every backend; not timed on a device yet).
`experiments.bench_sampling` times the sampler both ways, so the choice can
be checked on other hardware; JAXPOSE_XLA_DEFAULTS=1 in the environment
turns the options off.
"""
from __future__ import annotations

import functools
import os

import jax

# An empty list of YNNPACK fusion types: no YNNPACK subgraphs at all.
SAMPLING_CPU_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": ""}

DEFAULTS_ENV = "JAXPOSE_XLA_DEFAULTS"

# Rows (poses x hypotheses) a sampler program needs for the options.
SAMPLING_MIN_ROWS = 400


@functools.cache
def _supported(name: str, value: str) -> bool:
  """Whether this jaxlib knows the option (it is experimental in XLA)."""
  try:
    jax.jit(lambda x: x, compiler_options={name: value}).lower(0.0).compile()
  except Exception as e:  # jaxlib's error type has moved between releases
    if "compile option" in str(e) or "not a valid" in str(e):
      return False
    raise
  return True


def sampling_options(rows: int | None = None) -> dict[str, str]:
  """`compiler_options` for a jitted sampler: SAMPLING_CPU_OPTIONS or {}.

  Empty for programs of fewer than SAMPLING_MIN_ROWS `rows` (the batch the
  network sees; None means large), when JAXPOSE_XLA_DEFAULTS is set to a
  non-empty value other than 0, and for options this jaxlib does not know.
  The first call compiles a trivial program to find out, so it initialises
  JAX's backend: call it at run time, not at import.
  """
  if os.environ.get(DEFAULTS_ENV, "") not in ("", "0"):
    return {}
  if rows is not None and rows < SAMPLING_MIN_ROWS:
    return {}
  return {name: value for name, value in SAMPLING_CPU_OPTIONS.items()
          if _supported(name, value)}


def options_key(options: dict[str, str]) -> tuple[tuple[str, str], ...]:
  """A hashable form of an options dict (for caches of jitted functions)."""
  return tuple(sorted(options.items()))
