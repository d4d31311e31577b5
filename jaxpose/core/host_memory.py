"""Freed host memory kept in the process, so XLA's CPU programs stop
faulting their buffers in on every call.

XLA's CPU runtime allocates a program's temporary buffer with malloc on
each execution and frees it when the call returns.  For a program whose
buffer is large (the gradient of GFPose's loss at batch 1000 needs 88 MiB)
glibc serves the request with a fresh mmap: always from a worker thread's
arena, whose heaps hold at most 64 MiB, and from any thread above the
dynamic mmap threshold (at most 32 MiB).  The free unmaps it, so the next
call page-faults every page in again and the kernel zeroes it: tens of
thousands of faults and a tenth of a second of system time per training
step on a 2-core machine.

`retain_freed_memory()` tells glibc to keep freed memory for the next
allocation: one arena (the main one, grown by brk), no mmap for large
blocks, and no trimming of the heap's top.  The process's resident memory
then stays at its high-water mark instead of rising and falling every
call; a training run or a benchmark never gives it back.  It must run
before JAX's CPU backend starts (first computation, `jax.devices()`):
threads that have allocated already keep their own arenas, which is why
jaxpose's entry points call it first thing in `main()` and a notebook
should call it in its first cell.  Elsewhere than glibc, or with
JAXPOSE_RETAIN_HOST_MEMORY=0, it does nothing and says so.

A process started with `subprocess_env()`'s environment gets the same
setting from glibc's tunables, before its first allocation: the
benchmarks give it to the PyTorch process they time beside jaxpose, so
both frameworks run on the same allocator settings.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
from typing import Mapping

from absl import logging

ENV_SWITCH = "JAXPOSE_RETAIN_HOST_MEMORY"
# mallopt's parameters (glibc's malloc.h) and the values set.
M_TRIM_THRESHOLD, M_MMAP_MAX, M_ARENA_MAX = -1, -4, -8
TRIM_THRESHOLD = 2**31 - 1  # mallopt takes an int
SETTINGS = ((M_ARENA_MAX, 1), (M_MMAP_MAX, 0),
            (M_TRIM_THRESHOLD, TRIM_THRESHOLD))
# The same three as glibc tunables, read at a process's start.
GLIBC_TUNABLES = ("glibc.malloc.arena_max=1:glibc.malloc.mmap_max=0:"
                  f"glibc.malloc.trim_threshold={TRIM_THRESHOLD}")
RETAINED = ("retained: glibc keeps freed memory (one arena, no mmap, no "
            "trim)")

_state = {"described": "glibc's defaults (retain_freed_memory not called)"}


def _glibc():
  """The C library as a ctypes handle if it is glibc (Linux), else None."""
  if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
    return None
  try:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
  except OSError:
    return None


def _backends_started() -> bool:
  from jax._src import xla_bridge  # pylint: disable=g-import-not-at-top
  return xla_bridge.backends_are_initialized()


def retain_freed_memory(env: Mapping[str, str] | None = None) -> str:
  """Makes glibc keep freed memory in this process (module docstring);
  returns what is in force, as `describe()` will say it.

  Call it before JAX's first computation: after, it still applies to the
  main thread's allocations, and one warning says the worker threads'
  arenas stay as they were.
  """
  env = os.environ if env is None else env
  if env.get(ENV_SWITCH, "1") == "0":
    _state["described"] = f"glibc's defaults ({ENV_SWITCH}=0)"
    return _state["described"]
  libc = _glibc()
  if libc is None:
    _state["described"] = (f"the platform's own allocator "
                           f"({platform.system()}, not glibc)")
    return _state["described"]
  if _backends_started():
    logging.warning(
        "retain_freed_memory: JAX's backend has started, so its worker "
        "threads keep the arenas they have; call it before the first "
        "computation for the full effect")
  refused = [option for option, value in SETTINGS
             if libc.mallopt(option, value) != 1]
  if refused:
    _state["described"] = f"glibc refused mallopt options {refused}"
    logging.warning("retain_freed_memory: %s", _state["described"])
  else:
    _state["described"] = RETAINED
  return _state["described"]


def retained() -> bool:
  """Whether `retain_freed_memory` is in force in this process."""
  return _state["described"] == RETAINED


def describe() -> str:
  """The host allocator's setting in this process, for records."""
  return _state["described"]


def subprocess_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
  """A copy of `env` (default os.environ) that gives a child process this
  process's setting: glibc's tunables for it when retained here, and
  none of ours otherwise."""
  out = dict(os.environ if env is None else env)
  if retained():
    tunables = [t for t in out.get("GLIBC_TUNABLES", "").split(":") if t]
    ours = {t.split("=")[0] for t in GLIBC_TUNABLES.split(":")}
    kept = [t for t in tunables if t.split("=")[0] not in ours]
    out["GLIBC_TUNABLES"] = ":".join(kept + [GLIBC_TUNABLES])
  return out


__all__ = ["retain_freed_memory", "retained", "describe", "subprocess_env",
           "GLIBC_TUNABLES", "ENV_SWITCH"]
