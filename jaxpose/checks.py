"""Input validation shared by the public functions of jaxpose.

Errors name the argument, the expected shape and what arrived.  Shape checks
run at trace time, so they work under `jit`; finiteness can only be checked
on concrete arrays and is skipped for tracers.
"""
from __future__ import annotations

from typing import Sequence

import jax
import numpy as np

# A dimension spec: an int for a fixed size, or a str naming a free size that
# must agree wherever the same name appears across one `check_shapes` call.
Dim = int | str | None

# How many offending rows a non-finite message lists before "...".
MAX_LISTED_ROWS = 5


def _fmt(spec: Sequence[Dim]) -> str:
  return "(" + ", ".join("?" if d is None else str(d) for d in spec) + ")"


def is_concrete(x) -> bool:
  return not isinstance(x, jax.core.Tracer)


def under_trace(*args) -> bool:
  """Whether any leaf of `args` is a tracer (the call is inside a jit)."""
  return not all(is_concrete(leaf) for leaf in jax.tree.leaves(args))


def check_array(name: str, x, spec: Sequence[Dim], *, finite: bool = True,
                sizes: dict | None = None):
  """Checks `x` against a shape spec; returns `x` unchanged.

  Args:
    name: the argument name, used in the message.
    x: array-like.
    spec: expected shape; ints are fixed, strings are named free dims, None
      is any size.  A leading "..." entry allows any number of leading dims.
    finite: also reject NaN/inf when `x` is concrete; the message names the
      rows (indices along the first axis) holding them.
    sizes: shared dict binding named dims across several checks.
  """
  if x is None:
    raise ValueError(f"{name}: expected an array of shape {_fmt(spec)}, got None")
  shape = tuple(np.shape(x))
  spec = tuple(spec)
  if spec and spec[0] == "...":
    tail = spec[1:]
    ok_rank = len(shape) >= len(tail)
    matched = shape[len(shape) - len(tail):] if ok_rank else shape
    spec_cmp = tail
  else:
    ok_rank = len(shape) == len(spec)
    matched = shape
    spec_cmp = spec
  if not ok_rank:
    raise ValueError(f"{name}: expected shape {_fmt(spec)}, got {shape}")
  sizes = {} if sizes is None else sizes
  for d, s in zip(spec_cmp, matched):
    if d is None:
      continue
    if isinstance(d, int):
      if s != d:
        raise ValueError(f"{name}: expected shape {_fmt(spec)}, got {shape}")
    else:
      if d in sizes and sizes[d] != s:
        raise ValueError(
            f"{name}: expected shape {_fmt(spec)} with {d}={sizes[d]} "
            f"(as in the other arguments), got {shape}")
      sizes[d] = s
  if finite and is_concrete(x):
    arr = np.asarray(x)
    if np.issubdtype(arr.dtype, np.inexact) and not np.all(np.isfinite(arr)):
      raise ValueError(_non_finite_message(name, arr))
  return x


def _non_finite_message(name: str, arr: np.ndarray,
                        max_listed: int = MAX_LISTED_ROWS) -> str:
  """Names the rows (first-axis indices) of `arr` that hold NaN or inf."""
  shape = tuple(arr.shape)
  if arr.ndim == 0:
    return f"{name}: non-finite value ({arr.item()}) (shape ())"
  finite_rows = np.isfinite(arr).reshape(shape[0], -1).all(axis=1)
  bad_rows = np.flatnonzero(~finite_rows)
  listed = ", ".join(str(i) for i in bad_rows[:max_listed])
  if bad_rows.size > max_listed:
    listed += ", ..."
  what = "rows" if arr.ndim > 1 else "entries"
  return (f"{name}: non-finite values (NaN or inf) in {bad_rows.size} of "
          f"{shape[0]} {what}: {listed} (shape {shape})")


def check_batched(name: str, x) -> tuple[int, ...]:
  """Checks x is `[B, ...]` with at least one data dim (and finite when
  concrete); returns its shape."""
  shape = tuple(np.shape(x))
  if len(shape) < 2:
    raise ValueError(f"{name}: expected shape (B, ...) with at least one data "
                     f"dimension, e.g. (B, D) or (B, J, C), got {shape}")
  check_array(name, x, shape)
  return shape


def check_positive_int(name: str, value) -> int:
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
    raise ValueError(f"{name}: expected a positive int, got {value!r}")
  return int(value)


def check_nonnegative_int(name: str, value) -> int:
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
    raise ValueError(f"{name}: expected an int >= 0, got {value!r}")
  return int(value)


def check_rate(name: str, value) -> float:
  """A dropout-style rate in [0, 1)."""
  v = float(value)
  if not 0.0 <= v < 1.0:
    raise ValueError(f"{name}: expected a rate in [0, 1), got {value!r}")
  return v


def check_probability(name: str, value) -> float:
  v = float(value)
  if not 0.0 <= v <= 1.0:
    raise ValueError(f"{name}: expected a probability in [0, 1], got {value!r}")
  return v
