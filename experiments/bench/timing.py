"""Clocks and the machine they run on: what every benchmark here reports.

  timing = time_fn(fn, *args, warmup=1, repeats=5)   # median of blocked calls
  times = time_interleaved({"ours": (f, args), "theirs": (g, args)}, rounds=5)
  compiled, seconds = compile_timed(jax.jit(f), *args)   # compilation alone
  hardware_info(), peak_memory(), load_average()

`time_interleaved` is the one to compare two things with: on a machine whose
speed drifts, a call of each per round makes every round's ratio a
like-for-like comparison.
"""
from __future__ import annotations

import os
import platform
import resource
import statistics
import time
from typing import Callable, Iterable, Mapping

import jax

from jaxpose import checks
from jaxpose.core import xla_options


def _block(x):
  return jax.block_until_ready(x)


def time_fn(fn: Callable, *args, warmup: int = 1, repeats: int = 5,
            **kwargs) -> dict:
  """Wall-clock time of `fn(*args, **kwargs)`, results blocked on.

  Args:
    fn: the function to time (typically jitted).
    *args, **kwargs: its arguments (the same every call).
    warmup: untimed calls first (compilation, caches).
    repeats: timed calls.

  Returns:
    {"median_s", "min_s", "times_s", "first_call_s"}; first_call_s is the
    first warm-up call (compilation included) or None without warm-up.
  """
  repeats = checks.check_positive_int("repeats", repeats)
  if warmup < 0:
    raise ValueError(f"warmup: expected an int >= 0, got {warmup!r}")
  first = None
  for i in range(warmup):
    start = time.perf_counter()
    _block(fn(*args, **kwargs))
    if i == 0:
      first = time.perf_counter() - start
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    _block(fn(*args, **kwargs))
    times.append(time.perf_counter() - start)
  return dict(median_s=statistics.median(times), min_s=min(times),
              times_s=times, first_call_s=first)


def time_interleaved(calls: Mapping[str, tuple[Callable, tuple]], *,
                     rounds: int, warmup: int = 1,
                     self_timed: Iterable[str] = ()) -> dict[str, list[float]]:
  """Times several functions in alternation: one call of each per round.

  On a shared or throttling machine a function timed now and another timed
  a minute later can see different clocks; alternating them makes every
  round's ratio a like-for-like comparison (report the median ratio).

  Args:
    calls: name -> (fn, args); results are blocked on.
    rounds: timed rounds.
    warmup: untimed rounds first.
    self_timed: names of calls that return their own time in seconds (work
      done in another process, whose messaging should not count).

  Returns:
    name -> list of `rounds` wall-clock times in seconds.
  """
  rounds = checks.check_positive_int("rounds", rounds)
  self_timed = set(self_timed)
  unknown = self_timed - set(calls)
  if unknown:
    raise ValueError(f"self_timed: {sorted(unknown)} are not among the calls "
                     f"{sorted(calls)}")
  times = {name: [] for name in calls}
  for r in range(warmup + rounds):
    for name, (fn, args) in calls.items():
      start = time.perf_counter()
      result = _block(fn(*args))
      elapsed = time.perf_counter() - start
      if r >= warmup:
        times[name].append(float(result) if name in self_timed else elapsed)
  return times


def compile_timed(jitted, *args, compiler_options: Mapping[str, str] | None = None
                  ) -> tuple[Callable, float]:
  """(compiled, seconds): `jitted` lowered and compiled ahead for `args`.

  Compiling ahead keeps compilation out of every timed call; the options
  are XLA's `compiler_options` (None or {}: XLA's defaults).
  """
  start = time.perf_counter()
  compiled = jitted.lower(*args).compile(
      compiler_options=dict(compiler_options) if compiler_options else None)
  return compiled, time.perf_counter() - start


# ------------------------------------------------------------- the machine
def _cpu_model() -> str:
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.lower().startswith("model name"):
          return line.split(":", 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or platform.machine()


# The vector extensions that decide which kernels a CPU runs fast.
VECTOR_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni",
                "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16",
                "amx_int8")


def cpu_details(cpuinfo_text: str | None = None) -> dict:
  """The CPU's vector extensions (of `VECTOR_FLAGS`), its physical cores
  against hardware threads (from /proc/cpuinfo: distinct (package, core)
  pairs against processors; None where not said), and the XLA options in
  force (XLA_FLAGS, jaxpose's sampling options unless turned off)."""
  if cpuinfo_text is None:
    try:
      with open("/proc/cpuinfo") as f:
        cpuinfo_text = f.read()
    except OSError:
      cpuinfo_text = ""
  flags, cores, threads, package = set(), set(), 0, "0"
  for line in cpuinfo_text.splitlines():
    key, _, value = (part.strip() for part in line.partition(":"))
    if key == "processor":
      threads += 1
    elif key == "physical id":
      package = value
    elif key == "core id":
      cores.add((package, value))
    elif key == "flags" and not flags:
      flags = set(value.split())
  return dict(
      cpu_vector_extensions=[f for f in VECTOR_FLAGS if f in flags],
      cpu_physical_cores=len(cores) or None,
      cpu_hardware_threads=threads or None,
      xla_flags=os.environ.get("XLA_FLAGS", ""),
      xla_sampling_options=(
          {} if os.environ.get(xla_options.DEFAULTS_ENV) == "1"
          else dict(xla_options.SAMPLING_CPU_OPTIONS)))


def load_average() -> list[float] | None:
  """The 1, 5 and 15 minute load averages, or None where unavailable."""
  try:
    return list(os.getloadavg())
  except OSError:
    return None


def hardware_info() -> dict:
  """Devices, CPU model, cores (and `cpu_details`), load average and
  library versions."""
  try:
    affinity = len(os.sched_getaffinity(0))
  except AttributeError:
    affinity = None
  return dict(
      devices=[str(d) for d in jax.devices()],
      backend=jax.default_backend(),
      device_kind=jax.devices()[0].device_kind,
      cpu_model=_cpu_model(),
      cpu_count=os.cpu_count(),
      cpu_affinity=affinity,
      **cpu_details(),
      load_average_1_5_15=load_average(),
      jax_version=jax.__version__,
      python=platform.python_version(),
      platform=platform.platform(),
  )


def peak_memory() -> dict:
  """Peak resident memory of this process and of device 0 where reported."""
  # ru_maxrss is in KiB on Linux (bytes on macOS).
  rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
  scale = 1 if platform.system() == "Darwin" else 1024
  out = dict(host_peak_rss_mib=rss * scale / 2**20)
  try:
    stats = jax.devices()[0].memory_stats()
  except Exception:  # Not every backend implements memory_stats.
    stats = None
  if stats and "peak_bytes_in_use" in stats:
    out["device_peak_mib"] = stats["peak_bytes_in_use"] / 2**20
  return out


__all__ = ["time_fn", "time_interleaved", "compile_timed", "load_average",
           "cpu_details", "hardware_info", "peak_memory"]
