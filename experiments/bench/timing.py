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

import contextlib
import os
import platform
import resource
import statistics
import time
from typing import Callable, Iterable, Mapping

import jax

from jaxpose import checks
from jaxpose.core import host_memory
from jaxpose.core import xla_options
from jaxpose.evaluation import chunks


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
# The vector extensions that decide which kernels a CPU runs fast.
VECTOR_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni",
                "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16",
                "amx_int8")


def cpu_details(cpuinfo_text: str | None = None) -> dict:
  """The CPU's vector extensions (of `VECTOR_FLAGS`), its family and
  model numbers (two CPUs may share a model name: 'AMD EPYC'), its physical
  cores against hardware threads (from /proc/cpuinfo: distinct (package,
  core) pairs against processors; None where not said), and the XLA options in
  force (XLA_FLAGS, jaxpose's options by kind of program: `xla_choice`),
  and the host allocator's setting (`host_memory.describe`)."""
  if cpuinfo_text is None:
    try:
      with open("/proc/cpuinfo") as f:
        cpuinfo_text = f.read()
    except OSError:
      cpuinfo_text = ""
  flags, cores, threads, package = set(), set(), 0, "0"
  family_model = {}
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
    elif key in ("cpu family", "model") and key not in family_model:
      family_model[key] = value
  return dict(
      cpu_vector_extensions=[f for f in VECTOR_FLAGS if f in flags],
      cpu_family_model=(f"family {family_model['cpu family']} model "
                        f"{family_model['model']}"
                        if len(family_model) == 2 else None),
      cpu_physical_cores=len(cores) or None,
      cpu_hardware_threads=threads or None,
      xla_flags=os.environ.get("XLA_FLAGS", ""), **xla_choice(),
      host_memory=host_memory.describe())


def xla_choice() -> dict:
  """jaxpose's XLA options in force by kind of program, and their source
  (`xla_options.cpu_choice`); all empty under JAXPOSE_XLA_DEFAULTS, and on
  a GPU or TPU, where programs compile without them."""
  backend = jax.default_backend()
  if backend != "cpu":
    return dict(xla_options_by_kind={},
                xla_options_source=f"none: the options are the CPU's, not "
                f"used on a {backend.upper()}")
  choice = xla_options.cpu_choice()
  off = os.environ.get(xla_options.DEFAULTS_ENV, "") not in ("", "0")
  return dict(xla_options_by_kind={} if off else choice.options(),
              xla_options_source=(f"XLA's defaults ({xla_options.DEFAULTS_ENV})"
                                  if off else choice.source))


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
      cpu_model=xla_options.cpu_model(),
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
  if (device := device_peak_mib()) is not None:
    out["device_peak_mib"] = device
  return out


def device_peak_mib() -> float | None:
  """Device 0's allocator peak, where the backend reports one (GPU, TPU)."""
  try:
    stats = jax.devices()[0].memory_stats()
  except Exception:  # Not every backend implements memory_stats.
    stats = None
  if stats and "peak_bytes_in_use" in stats:
    return stats["peak_bytes_in_use"] / 2**20
  return None


def host_peak_mib() -> float | None:
  """This process's resident-memory high-water mark (VmHWM), Linux only."""
  try:
    with open("/proc/self/status") as f:
      for line in f:
        if line.startswith("VmHWM:"):
          return int(line.split()[1]) / 1024
  except OSError:
    pass
  return None


def reset_host_peak() -> bool:
  """Starts the high-water mark again from the current use (Linux 4.0+:
  /proc/self/clear_refs); False where it cannot, so a row's figure would be
  the process's so far."""
  try:
    with open("/proc/self/clear_refs", "w") as f:
      f.write("5")
    return True
  except OSError:
    return False


@contextlib.contextmanager
def row_memory(out: dict, program=None):
  """Records one benchmark row's memory into `out["memory"]`: the host's
  peak during the row (`host_scope` 'row', or 'process' where the peak
  cannot be reset), the device's peak where the backend reports one (an
  accelerator's allocator; on a CPU the host's is the device's), and the
  compiled `program`'s own need (XLA's memory analysis)."""
  scope = "row" if reset_host_peak() else "process"
  yield
  memory = dict(host_peak_mib=host_peak_mib(), host_scope=scope)
  if memory["host_peak_mib"] is None:
    memory.update(host_peak_mib=peak_memory()["host_peak_rss_mib"],
                  host_scope="process")
  if (device := device_peak_mib()) is not None:
    memory["device_peak_mib"] = device
  if program is not None:
    need = chunks.program_bytes(program)
    memory["program_mib"] = None if need is None else need / 2**20
  out["memory"] = memory


def memory_text(r: Mapping) -> str:
  """A row's memory, as `timing.row_memory` and the torch servers gave it."""
  m = r.get("memory") or {}
  text = ""
  if m.get("host_peak_mib") is not None:
    text += f", host peak {m['host_peak_mib']:.0f} MiB ({m['host_scope']})"
  if m.get("program_mib") is not None:
    text += f", program {m['program_mib']:.0f} MiB"
  if m.get("device_peak_mib") is not None:
    text += f", device peak {m['device_peak_mib']:.0f} MiB"
  for name, theirs in (r.get("torch_memory") or {}).items():
    if theirs.get("host_peak_mib") is not None:
      text += f", {name} host peak {theirs['host_peak_mib']:.0f} MiB"
    if theirs.get("device_peak_mib") is not None:
      text += f", {name} device peak {theirs['device_peak_mib']:.0f} MiB"
  return text


__all__ = ["memory_text", "time_fn", "time_interleaved", "compile_timed", "load_average",
           "cpu_details", "hardware_info", "peak_memory", "device_peak_mib",
           "host_peak_mib",
           "reset_host_peak", "row_memory"]
