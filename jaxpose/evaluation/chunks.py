"""Many rows through one compiled program: fixed-size chunks, padded.

Every evaluation that maps a jitted function over held-out rows (sampling
hypotheses, lifting poses) goes through `map_chunks`: each call sees
exactly `chunk_size` rows (the last chunk is padded with copies of its last
row, dropped afterwards), so one program serves every chunk, and progress
with an ETA goes to the log.
"""
from __future__ import annotations

import time
from typing import Callable, Mapping

from absl import logging
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


__all__ = ["map_chunks"]
