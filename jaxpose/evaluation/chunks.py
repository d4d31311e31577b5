"""Many rows through one compiled program: fixed-size chunks, padded.

Every evaluation that maps a jitted function over held-out rows (sampling
hypotheses, lifting poses) goes through `map_chunks`: each call sees
exactly `chunk_size` rows (the last chunk is padded with copies of its last
row, dropped afterwards), so one program serves every chunk, and progress
with an ETA goes to the log.

`fit_to_memory` chooses that size from the memory the device has: the
program compiled for the size asked is measured (XLA's memory analysis);
when it needs more than half of what is free, the size is halved until it
fits, with a warning (chunks of another size draw other samples).
"""
from __future__ import annotations

import os
import time
from typing import Any, Callable, Mapping

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np

from jaxpose import checks


def map_chunks(fn: Callable[[dict, int], np.ndarray],
               inputs: Mapping[str, np.ndarray], *, chunk_size: int,
               row_axis: int = 0, desc: str = "rows") -> np.ndarray:
  """Applies `fn(chunk, index)` to fixed-size chunks of the rows of `inputs`.

  Args:
    fn: chunk (a dict of `[chunk_size, ...]` jax arrays) and the chunk's
      index -> an array whose axis `row_axis` has `chunk_size` entries.
    inputs: per-row arrays, all with the same leading size N >= 1.
    chunk_size: rows per call (capped at N).
    row_axis: the rows' axis in `fn`'s output (1 for `[H, rows, ...]`).
    desc: the name in the progress log.

  Returns:
    The outputs of every chunk, concatenated along `row_axis`: N rows.
  """
  chunk_size = checks.check_positive_int("chunk_size", chunk_size)
  sizes = {len(v) for v in inputs.values()}
  if len(sizes) != 1:
    raise ValueError(f"inputs: expected arrays with one leading size, got "
                     f"{ {k: np.shape(v) for k, v in inputs.items()} }")
  n = sizes.pop()
  if n < 1:
    raise ValueError("inputs: no rows to process")
  chunk_size = min(chunk_size, n)
  parts = []
  start_time = time.time()
  # The first chunk compiles the program: say so, or the log goes quiet.
  logging.info("%s: %d rows in chunks of %d (the first chunk compiles)", desc,
               n, chunk_size)
  for index, start in enumerate(range(0, n, chunk_size)):
    valid = min(chunk_size, n - start)
    chunk = {}
    for name, value in inputs.items():
      part = np.asarray(value[start:start + valid])
      if valid < chunk_size:
        part = np.concatenate([part, np.repeat(part[-1:], chunk_size - valid, 0)])
      chunk[name] = jnp.asarray(part)
    out = np.asarray(fn(chunk, index))
    parts.append(np.take(out, np.arange(valid), axis=row_axis))
    done = start + valid
    elapsed = time.time() - start_time
    logging.info("%s: %d/%d rows, %.1fs elapsed, ETA %.1fs", desc, done, n,
                 elapsed, elapsed / done * (n - done))
  return np.concatenate(parts, axis=row_axis)


# The share of the free memory one chunk's program may take: the rest is
# for the inputs and outputs of the whole run and everything else alive.
MEMORY_SHARE = 0.5
_MIB = 2**20


def free_memory_bytes(device=None) -> int | None:
  """Memory free on `device` (default: the first local one): an
  accelerator's allocator limit less what is in use, else the host's
  available memory; None when neither can be read."""
  device = device or jax.local_devices()[0]
  try:
    stats = device.memory_stats()
  except Exception:  # pylint: disable=broad-except
    stats = None  # backends without allocator statistics
  if stats and "bytes_limit" in stats:
    return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))
  try:
    with open("/proc/meminfo") as f:
      for line in f:
        if line.startswith("MemAvailable:"):
          return int(line.split()[1]) * 1024
  except OSError:
    pass
  try:
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
  except (ValueError, OSError, AttributeError):
    return None


def program_bytes(compiled) -> int | None:
  """What a compiled program holds while it runs (arguments, outputs and
  temporaries, XLA's memory analysis), or None when it is not reported."""
  try:
    analysis = compiled.memory_analysis()
  except Exception:  # pylint: disable=broad-except
    return None
  if analysis is None:
    return None
  return int(analysis.argument_size_in_bytes + analysis.output_size_in_bytes
             + analysis.temp_size_in_bytes - analysis.alias_size_in_bytes)


def fit_to_memory(chunk_size: int, num_rows: int,
                  compile_for: Callable[[int], Any], *, desc: str,
                  free_bytes: int | None = None) -> tuple[int, Any]:
  """(the chunk size to run, its compiled program).

  Args:
    chunk_size: the size asked for (capped at `num_rows`).
    num_rows: the rows to process.
    compile_for: size -> the compiled program of one chunk of that size.
    desc: the name in the log.
    free_bytes: the memory free (default `free_memory_bytes()`).
  """
  size = min(checks.check_positive_int("chunk_size", chunk_size), num_rows)
  free = free_memory_bytes() if free_bytes is None else free_bytes
  compiled = compile_for(size)
  need = program_bytes(compiled)
  asked = size
  while (need is not None and free is not None and size > 1
         and need > MEMORY_SHARE * free):
    size = max(1, size // 2)
    compiled = compile_for(size)
    need = program_bytes(compiled)
  if need is not None and free is not None:
    logging.info("%s: chunks of %d rows need %.0f MiB (%.0f MiB free)", desc,
                 size, need / _MIB, free / _MIB)
  if size < asked:
    logging.warning(
        "%s: chunks of %d rows would need more than half of the %.0f MiB "
        "free; running chunks of %d (their samples differ from a run in "
        "chunks of %d)", desc, asked, free / _MIB, size, asked)
  return size, compiled


__all__ = ["map_chunks", "fit_to_memory", "free_memory_bytes",
           "program_bytes", "MEMORY_SHARE"]
