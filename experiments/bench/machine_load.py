"""What else used the machine while a benchmark ran, and whether it was busy.

`OtherWork` measures, around a block of timed rounds, the CPU that processes
other than this one and its descendants (e.g. torch servers) used, and what
the hypervisor took (steal), from /proc.  `is_busy` turns that and the load
average before the run into one verdict: ratios taken on a busy machine
overstate the idle ones, since PyTorch's OpenMP threads lose far more to
contention than XLA's pool.
"""
from __future__ import annotations

import os
import time
from typing import Mapping

# The machine counts as busy when, before the run, the 1-minute load average
# is at least BUSY_LOAD_PER_CORE of its cores, or when other processes used
# at least BUSY_OTHER_PER_CORE of them during a figure's rounds
# (`OtherWork`).  PyTorch's OpenMP threads lose far more to contention than
# XLA's pool (at a load of 8 on 2 cores its TTO iteration took 350 ms,
# against 12.6 ms on the idle machine; each small op's barrier waits for a
# descheduled thread), so ratios taken on a busy machine overstate the idle
# ones; the JSON and the README say so.
BUSY_LOAD_PER_CORE = 0.5
BUSY_OTHER_PER_CORE = 0.1


def _descendants(root: int) -> set[int]:
  """root and every process below it (torch servers, inductor's workers)."""
  children: dict[int, list[int]] = {}
  for entry in os.listdir("/proc"):
    if not entry.isdigit():
      continue
    try:
      with open(f"/proc/{entry}/stat") as f:
        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
      continue  # gone, or not a process
    children.setdefault(ppid, []).append(int(entry))
  out, todo = set(), [root]
  while todo:
    pid = todo.pop()
    out.add(pid)
    todo.extend(children.get(pid, ()))
  return out


def _process_ticks(pids) -> int:
  total = 0
  for pid in pids:
    try:
      with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
      total += int(fields[11]) + int(fields[12])  # utime, stime
    except (OSError, IndexError, ValueError):
      continue
  return total


def _machine_ticks() -> tuple[int, int]:
  """(busy, steal) clock ticks of all CPUs since boot (/proc/stat)."""
  with open("/proc/stat") as f:
    v = [int(x) for x in f.readline().split()[1:]]
  user, nice, system, _, _, irq, softirq, steal = (v + [0] * 8)[:8]
  return user + nice + system + irq + softirq, steal


class OtherWork:
  """The CPU other processes used while a block ran, in cores.

    with OtherWork() as other:
      ...timed rounds...
    other.result  # {'wall_s', 'other_cores', 'steal_cores'}

  other_cores: CPU time of every process outside this one and its
  descendants (the torch servers), over the wall time; steal_cores: time
  the hypervisor gave this machine's CPUs to others.  The counters tick
  at 1/HZ (10 ms), so a block under `MIN_WALL_S` is too short to tell and
  gets None, as do machines without /proc.
  """

  MIN_WALL_S = 1.0

  def __enter__(self):
    self.result = dict(wall_s=None, other_cores=None, steal_cores=None)
    self._start = time.perf_counter()
    try:
      self._pids = _descendants(os.getpid())
      self._own0 = _process_ticks(self._pids)
      self._machine0 = _machine_ticks()
    except OSError:
      self._machine0 = None
    return self

  def __exit__(self, *exc):
    wall = time.perf_counter() - self._start
    self.result["wall_s"] = wall
    if self._machine0 is None or wall < self.MIN_WALL_S:
      return
    try:
      pids = self._pids | _descendants(os.getpid())
      # Processes that started during the block count from zero.
      own = _process_ticks(pids) - self._own0
      busy, steal = _machine_ticks()
    except OSError:
      return
    hz = os.sysconf("SC_CLK_TCK")
    other = max(busy - self._machine0[0] - own, 0) / hz
    self.result.update(other_cores=other / wall,
                       steal_cores=(steal - self._machine0[1]) / hz / wall)


def is_busy(hw: Mapping, figures=()) -> bool:
  """Whether other work loaded the machine: a load average before the run
  (`BUSY_LOAD_PER_CORE`) or other processes' CPU during a figure's rounds
  (`BUSY_OTHER_PER_CORE`), as fractions of the cores."""
  load, cores = hw.get("load_average_1_5_15"), hw.get("cpu_count")
  if not cores:
    return False
  others = [(f.get("other_work") or {}).get("other_cores") for f in figures]
  return bool((load and load[0] >= BUSY_LOAD_PER_CORE * cores)
              or any(o is not None and o >= BUSY_OTHER_PER_CORE * cores
                     for o in others))


__all__ = ["BUSY_LOAD_PER_CORE", "BUSY_OTHER_PER_CORE", "OtherWork", "is_busy"]
