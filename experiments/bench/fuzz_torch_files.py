"""Fuzzes jaxpose's torch-file reader with mutated valid checkpoints.

  python -m experiments.bench.fuzz_torch_files [--files=20000] [--seed=0]

A checkpoint is the one file from the internet jaxpose reads, so every
mutation of a valid one must end in one of two ways: a `TorchFileError`
(one line, naming the file), or the same objects a trusted reader gets.
The kinds of mutation, drawn in turn (`torch_file_mutations`):

  bytes      flips, overwrites, cuts and insertions anywhere in the file
             (the zip's CRCs and sizes should catch each);
  numbers    the pickle's integers (storage sizes, offsets, sizes,
             strides) set to edge values, the zip rewritten with good CRCs;
  members    a storage's zip member cut or extended, with a good CRC;
  globals    a global renamed (to a code-running gadget, another allowed
             name, junk), or a gadget value added among the items;
  memo       a memo index read or written set to an edge value (2^28,
             2^32 - 1, ...), or a write to one added;
  nesting    a value nested 2 to 10^6 deep (lists, tuples, dicts, calls
             of a foreign class) added among the items;
  sizes      zip members inflating to 64 MiB - 1.2 GB, a central directory
             claiming 100,001 members, sizes beyond the file.

Each file is read in a worker process under a memory limit (RLIMIT_AS:
the worker's size after warming up plus MEMORY_LIMIT) and a time limit
(TIME_LIMIT; past it the worker is killed). Outcomes: refused (one line);
same (read as the trusted reader reads it); inert (read with a foreign
class kept as a record, where the trusted reader refuses that class or
builds it around the same tensors);
crashed (another exception, a refusal of several lines, or the worker
dying); silent (read where the trusted reader refuses, or read
differently); hang; over_limit (MemoryError); ran_code (a module
imported, a builtin changed or the gadgets' marker file written). The
trusted reader is `torch.load(weights_only=True)` (the unmutated file's
objects for byte mutations, or for all of them without torch). Writes
experiments/results/fuzz_torch_files.json.
"""
from __future__ import annotations

import builtins
import collections
import multiprocessing
import os
import random
import resource
import signal
import sys
import time
from typing import Any, Sequence

import numpy as np
from absl import app
from absl import flags

from experiments.bench import torch_file_mutations as mutations
from jaxpose import files
from jaxpose.interop import pickle_vm
from jaxpose.interop import torch_files

KINDS = ("bytes", "numbers", "members", "globals", "memo", "nesting",
         "sizes")
OUTCOMES = ("refused", "same", "inert", "crashed", "silent", "hang",
            "over_limit", "ran_code")
MEMORY_LIMIT = 512 * mutations.MiB
TIME_LIMIT = 20.0
# The issue-sized files: the reader must refuse them within the limits.
BOMB_SIZES = (64 * mutations.MiB, 300 * mutations.MiB, 1200 * mutations.MiB)

# Kept for the tests that write files by hand.
write_torch_zip = mutations.write_torch_zip
base_file = mutations.base_file


def tensors_to_numpy(obj, torch):
  """torch.load's result with tensors as numpy arrays (bfloat16 as float32)."""
  if isinstance(obj, torch.Tensor):
    return obj.detach().cpu().float().numpy() if obj.dtype == torch.bfloat16 \
        else obj.detach().cpu().numpy()
  if isinstance(obj, dict):  # a Counter too: its items, as an OrderedDict
    cls = type(obj) if type(obj) in (dict,) else collections.OrderedDict
    return cls((k, tensors_to_numpy(v, torch)) for k, v in obj.items())
  if isinstance(obj, (list, tuple)):
    return type(obj)(tensors_to_numpy(v, torch) for v in obj)
  return obj


def equal(a, b) -> bool:
  if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(
        a, b, equal_nan=a.dtype.kind == "f")
  if isinstance(a, dict) and isinstance(b, dict):
    return list(a) == list(b) and all(equal(a[k], b[k]) for k in a)
  if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
    return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b))
  return type(a) is type(b) and a == b


def _walk(obj) -> tuple[bool, list[np.ndarray]]:
  """(whether `obj` holds a record of a foreign class, its arrays in
  order, a record's items read as its dict or list would be)."""
  record, arrays, todo, seen = False, [], [obj], set()
  while todo:
    node = todo.pop()
    if isinstance(node, np.ndarray):
      arrays.append(node)
    if isinstance(node, (pickle_vm.Opaque, pickle_vm.Reference)):
      record = True
    if id(node) in seen:
      continue
    seen.add(id(node))
    if isinstance(node, dict):
      todo += reversed(list(node.values()))
    elif isinstance(node, (list, tuple)):
      todo += reversed(list(node))
    elif isinstance(node, pickle_vm.Opaque):
      todo += [node.list_items, node.items]
  return record, arrays


# ---------------------------------------------------------------------------
# The worker: reads one file under the limits and judges it.


class _Timeout(BaseException):
  pass


def _on_alarm(signum, frame):
  del signum, frame
  raise _Timeout()


_STATE: dict[str, Any] = {}


def _rss_mib() -> float:
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _worker_init(use_torch: bool, memory_limit: int, warm_path: str,
                 original: dict):
  """Imports and warms up what a read needs, then caps the address space."""
  os.environ["OMP_NUM_THREADS"] = "1"
  torch = None
  if use_torch:
    import torch  # pylint: disable=import-outside-toplevel,redefined-outer-name
    torch.set_num_threads(1)
    torch.load(warm_path, map_location="cpu", weights_only=True)
  torch_files.load(warm_path)
  with open("/proc/self/status") as f:
    size = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize"))
  resource.setrlimit(resource.RLIMIT_AS, (size + memory_limit,
                                          resource.RLIM_INFINITY))
  signal.signal(signal.SIGALRM, _on_alarm)
  _STATE.update(torch=torch, original=original, baseline_rss=_rss_mib(),
                builtins=dict(vars(builtins)))


def _torch_reference(path: str):
  """(loaded, objects as numpy) by torch.load(weights_only=True)."""
  torch = _STATE["torch"]
  try:
    obj = torch.load(path, map_location="cpu", weights_only=True)
    return True, tensors_to_numpy(obj, torch)
  except BaseException:  # pylint: disable=broad-except
    return False, None


def _side_effects(modules: set, marker: str) -> str:
  """What a read changed that it must not have (and undoes the builtins)."""
  changed = [k for k, v in _STATE["builtins"].items()
             if vars(builtins).get(k) is not v]
  if changed:
    vars(builtins).update(_STATE["builtins"])
    return f"builtins changed: {changed[:3]}"
  new = sorted(set(sys.modules) - modules)
  if new:
    return f"modules imported: {new[:3]}"
  if os.path.exists(marker):
    os.remove(marker)
    return "the marker file was written"
  return ""


def judge(kind: str, data: bytes, path: str, marker: str
          ) -> tuple[str, str, int]:
  """(outcome, detail, refusal length) of reading `data` as a file."""
  with open(path, "wb") as f:
    f.write(data)
  modules = set(sys.modules)
  signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT)
  got, outcome, detail, length = None, "", "", 0
  try:
    got = torch_files.load(path)
  except torch_files.TorchFileError as e:
    message = str(e).replace(path, "FILE")
    length = len(message)
    outcome, detail = ("refused", message) if "\n" not in message else (
        "crashed", message[:200])
  except MemoryError:
    outcome = "over_limit"
  except _Timeout:
    outcome = "hang"
  except BaseException as e:  # pylint: disable=broad-except
    outcome, detail = "crashed", f"{type(e).__name__}: {str(e)[:160]}"
  finally:
    signal.setitimer(signal.ITIMER_REAL, 0)
  ran = _side_effects(modules, marker)
  if ran:
    return "ran_code", ran, length
  if outcome:
    return outcome, detail, length
  if _STATE["torch"] is not None and kind != "bytes":
    loaded, want = _torch_reference(path)
  else:
    loaded, want = True, _STATE["original"]
  record, arrays = _walk(got)
  if record and (not loaded or equal(arrays, _walk(want)[1])):
    return "inert", "", 0
  if loaded and isinstance(got, dict) and isinstance(want, dict) and equal(
      dict(got), dict(want)):
    return "same", "", 0
  return "silent", ("loaded where the trusted reader refused" if not loaded
                    else "loaded differently"), 0


def _serve(conn, use_torch, memory_limit, warm_path, original, work):
  _worker_init(use_torch, memory_limit, warm_path, original)
  path = os.path.join(work, f"mutant_{os.getpid()}.pth")
  conn.send(("ready", _STATE["baseline_rss"]))
  while True:
    task = conn.recv()
    if task is None:
      return
    kind, data, marker = task
    try:
      outcome, detail, length = judge(kind, data, path, marker)
    except BaseException as e:  # pylint: disable=broad-except
      outcome, length = "crashed", 0
      detail = f"judging failed: {type(e).__name__}: {str(e)[:120]}"
    conn.send((outcome, detail, length, _rss_mib()))


class _Worker:
  """A judging process, restarted when it hangs or dies."""

  def __init__(self, args):
    self._args = args
    self._start()

  def _start(self):
    ctx = multiprocessing.get_context("spawn")
    self.conn, child = ctx.Pipe()
    self.proc = ctx.Process(target=_serve, args=(child, *self._args),
                            daemon=True)
    self.proc.start()
    if not self.conn.poll(300):
      self.proc.kill()
      raise RuntimeError("a fuzzing worker did not start in 300 s")
    _, self.baseline_rss = self.conn.recv()

  def judge(self, task) -> tuple[str, str, int, float]:
    self.conn.send(task)
    if self.conn.poll(TIME_LIMIT + 30):
      try:
        return self.conn.recv()
      except EOFError:
        self.proc.join(timeout=5)
    code = self.proc.exitcode
    self.proc.kill()
    self.proc.join()
    self._start()
    if code is None:
      return "hang", "killed past the time limit", 0, 0.0
    return "crashed", f"worker died (exit code {code})", 0, 0.0

  def close(self):
    self.conn.send(None)
    self.proc.join(timeout=10)


def _mutant(kind: str, raw: bytes, rng: random.Random, bombs, marker: str,
            depths: Sequence[int]) -> bytes:
  if kind == "bytes":
    return mutations.mutate_bytes(raw, rng)
  if kind == "members":
    return mutations.mutate_members(raw, rng)
  if kind == "sizes":
    return bombs.mutate(raw, rng)
  change = {"numbers": lambda d: mutations.mutate_numbers(d, rng),
            "memo": lambda d: mutations.mutate_memo(d, rng),
            "globals": lambda d: mutations.mutate_globals(d, rng, marker),
            "nesting": lambda d: mutations.mutate_nesting(d, rng, depths)}
  return mutations.on_pickle(raw, change[kind])


def fuzz(num_files: int, seed: int, work: str, *, use_torch: bool | None = None,
         kinds: Sequence[str] = KINDS, workers: int = 2,
         depths: Sequence[int] = mutations.NESTING_DEPTHS,
         bomb_sizes: Sequence[int] = BOMB_SIZES,
         memory_limit: int = MEMORY_LIMIT, progress: bool = False
         ) -> dict[str, Any]:
  """Reads `num_files` mutated checkpoints; returns the counts by outcome
  (`progress`: a bar with the files done and the time left)."""
  if use_torch is None:
    try:
      import torch  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
      use_torch = True
    except ImportError:
      use_torch = False
  if not use_torch:
    kinds = ("bytes",)
  rng = random.Random(seed)
  path = os.path.join(work, "base.pth")
  original = mutations.base_file(path, np.random.default_rng(seed))
  with open(path, "rb") as f:
    raw = f.read()
  marker = os.path.join(work, "gadget_ran")
  bombs = mutations.SizeBombs(bomb_sizes)
  counts = {k: dict.fromkeys(OUTCOMES, 0) for k in kinds}
  problems, longest, longest_message, peak = [], 0, "", 0.0
  pool = [_Worker((use_torch, memory_limit, path, original, work))
          for _ in range(max(1, workers))]
  pending = []
  from tqdm import tqdm  # pylint: disable=import-outside-toplevel
  bar = tqdm(total=num_files, unit="file", disable=not progress)
  try:
    for i in range(num_files):
      kind = kinds[i % len(kinds)]
      pending.append((i, kind, _mutant(kind, raw, rng, bombs, marker,
                                       depths)))
      if len(pending) < len(pool) and i + 1 < num_files:
        continue
      results = _judge_batch(pool, pending, marker)
      for (index, kind, _), (outcome, detail, length, rss) in zip(
          pending, results):
        counts[kind][outcome] += 1
        peak = max(peak, rss)
        if outcome == "refused" and length > longest:
          longest, longest_message = length, detail
        elif outcome not in ("refused", "same", "inert"):
          problems.append(f"{kind} #{index}: {outcome}: {detail}")
      bar.update(len(pending))
      pending = []
  finally:
    bar.close()
    for worker in pool:
      worker.close()
  baseline = max(w.baseline_rss for w in pool)
  return {"files": num_files, "seed": seed, "kinds": list(kinds),
          "trusted_reader": "torch.load(weights_only=True)" if use_torch
          else "the unmutated file's objects",
          "counts": counts,
          "totals": {o: sum(c[o] for c in counts.values()) for o in OUTCOMES},
          "limits": {"memory_mib": memory_limit // mutations.MiB,
                     "seconds": TIME_LIMIT,
                     "reader": dict(vars(torch_files.LIMITS))},
          "worker_rss_mib": {"after_warm_up": round(baseline, 1),
                             "peak": round(peak, 1)},
          "longest_refusal_chars": longest,
          "longest_refusal": longest_message, "problems": problems[:20]}


def _judge_batch(pool, pending, marker):
  """Judges up to len(pool) mutants, one per worker, in parallel."""
  from concurrent.futures import ThreadPoolExecutor  # pylint: disable=import-outside-toplevel
  with ThreadPoolExecutor(len(pool)) as threads:
    return list(threads.map(
        lambda wt: wt[0].judge((wt[1][1], wt[1][2], marker)),
        zip(pool, pending)))


_FILES = flags.DEFINE_integer("files", 20000, "Mutated files to read.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the mutations.")
_WORKERS = flags.DEFINE_integer("workers", 2, "Judging processes.")


def main(argv):
  del argv
  import tempfile  # pylint: disable=import-outside-toplevel
  start = time.perf_counter()
  with tempfile.TemporaryDirectory() as work:
    result = fuzz(_FILES.value, _SEED.value, work, workers=_WORKERS.value,
                  progress=True)
  result["seconds"] = round(time.perf_counter() - start, 1)
  out = os.path.join(os.path.dirname(os.path.dirname(__file__)), "results",
                     "fuzz_torch_files.json")
  files.write_json_atomic(out, result)
  print(result)
  print(f"wrote {out}")


if __name__ == "__main__":
  app.run(main)
