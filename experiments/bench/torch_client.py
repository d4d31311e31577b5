"""The authors' network in PyTorch, timed beside jaxpose from another process.

`experiments/bench/torch_reference.py --serve` runs under an interpreter
that has torch (jaxpose does not depend on it); `TorchReference` asks it for
timed calls, so torch and jaxpose can take turns in
`timing.time_interleaved` (`self_timed`: the server times its own work, so
the pipe's latency is not charged to torch):

  with TorchReference(python, script) as ref:
    ref.em(rows=3200, steps=10)   # seconds for 10 Euler-Maruyama steps
    ref.train(batch=1000)         # seconds for one training step

`TORCH_REFERENCE` holds the PyTorch figures quoted in the issue, which the
benchmark sets beside its own without re-measuring them.
"""
from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
from typing import Mapping, Sequence

from jaxpose.core import host_memory

# The authors' PyTorch figures quoted in the issue (torch 2.13 CPU, 2 threads,
# paper network size, on this kind of 2-core machine); not re-measured here.
TORCH_REFERENCE = {
    "source": ("figures quoted from the issue (authors' PyTorch code, torch "
               "2.13 CPU, 2 threads, same network size, measured on this "
               "kind of machine); not re-measured here"),
    "em_step_s": {"3200": 0.52, "200": 0.037, "1": 0.0042},
    "train_step_s_batch_1000": 0.60,
    "torch_compile_s_at_3200": 29.0,
    "matmul_ceiling_gflops": 185.0,
}

TORCH_MODES = ("eager", "compiled")

# The server script, beside this module.
TORCH_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            "torch_reference.py")


class TorchReference:
  """A `torch_reference.py --serve` process and its JSON-lines protocol.

  Args:
    python: the interpreter to run the server with.
    script: path of experiments/bench/torch_reference.py (or a stand-in).
    compile: torch.compile the network (inductor) in the server.
    threads: torch threads (default: the CPUs the server may use).
    device: the torch device of the server's networks and data ('cpu',
      'cuda').
    matmul_precision: its float32 products, 'highest' (float32) or 'high'
      (TF32 where the GPU has it).
    extra_args: more command-line arguments for the server (tests).
  """

  def __init__(self, python: str, script: str = TORCH_SCRIPT, *,
               compile: bool = False, threads: int | None = None,
               device: str = "cpu", matmul_precision: str = "highest",
               extra_args: Sequence[str] = ()):
    if not os.path.isfile(script):
      raise FileNotFoundError(f"script: no torch reference at {script!r}")
    cmd = [python, script, "--serve", *extra_args]
    if compile:
      cmd.append("--compile")
    if threads:
      cmd.append(f"--threads={int(threads)}")
    cmd += [f"--device={device}", f"--matmul_precision={matmul_precision}"]
    self.compiled = bool(compile)
    try:
      # The same allocator settings as this process (like for like).
      self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True,
                                    env=host_memory.subprocess_env())
    except OSError as e:
      raise RuntimeError(f"python: cannot start the torch reference with "
                         f"{python!r}: {e}") from e
    self.info = self.request(op="info")

  def request(self, **request) -> dict:
    """Sends one JSON request and returns the JSON reply."""
    if self._proc.poll() is not None:
      raise RuntimeError(f"torch reference exited with code "
                         f"{self._proc.returncode}")
    self._proc.stdin.write(json.dumps(request) + "\n")
    self._proc.stdin.flush()
    line = self._proc.stdout.readline()
    if not line:
      code = self._proc.wait()
      raise RuntimeError(f"torch reference exited with code {code} while "
                         f"answering {request} (is torch installed for that "
                         f"interpreter?)")
    reply = json.loads(line)
    if "error" in reply:
      raise RuntimeError(f"torch reference failed on {request}: "
                         f"{reply['error']}")
    return reply

  def em(self, rows: int, steps: int) -> float:
    """Seconds for `steps` Euler-Maruyama steps of `rows` poses."""
    return float(self.request(op="em", rows=int(rows), steps=int(steps))["s"])

  def train(self, batch: int) -> float:
    """Seconds for one training step at `batch`."""
    return float(self.request(op="train", batch=int(batch))["s"])

  def matmul(self, shapes, backward: bool = False) -> float:
    """Seconds of exactly these dense products in PyTorch (`torch_harness`)."""
    return float(self.request(op="matmul", shapes=[list(map(int, s)) for s in
                                                    shapes],
                              backward=bool(backward))["s"])

  def memory(self) -> dict:
    """The server's peak memory since the last call (`torch_harness`)."""
    return self.request(op="memory")

  def close(self):
    if self._proc.poll() is None:
      self._proc.stdin.close()
      try:
        self._proc.wait(timeout=30)
      except subprocess.TimeoutExpired:
        self._proc.kill()
        self._proc.wait()

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()


def start_torch_refs(python: str | None, script: str = TORCH_SCRIPT,
                     modes: Sequence[str] = TORCH_MODES,
                     stack: contextlib.ExitStack | None = None, *,
                     device: str = "cpu", matmul_precision: str = "highest"
                     ) -> dict[str, TorchReference]:
  """One TorchReference per mode ('eager', 'compiled'), named torch_<mode>,
  its network on `device` with float32 products of `matmul_precision`.

  With `stack`, each is closed when the stack closes. No `python` gives {}.
  """
  if not python:
    return {}
  bad = [m for m in modes if m not in TORCH_MODES]
  if bad or not modes:
    raise ValueError(f"torch modes: expected some of {TORCH_MODES}, got "
                     f"{list(modes)}")
  refs = {}
  for mode in modes:
    ref = TorchReference(python, script, compile=(mode == "compiled"),
                         device=device, matmul_precision=matmul_precision)
    if stack is not None:
      stack.enter_context(ref)
    refs[f"torch_{mode}"] = ref
  return refs


def torch_measured(torch_refs: Mapping[str, TorchReference],
                   times: Mapping[str, list[float]], own: str, *,
                   per: int = 1) -> dict:
  """Torch's times from the same rounds, and jaxpose's speed-up over each.

  Args:
    torch_refs: name -> reference, each a call in `times`.
    times: `timing.time_interleaved`'s result.
    own: the name of jaxpose's call in `times`.
    per: divide the times by this (steps per call) for per-step figures.

  Returns:
    {} without references; else "torch_measured" (name -> step_s, times,
    speed-up), "torch_fastest" and "speedup_vs_torch_measured".
  """
  if not torch_refs:
    return {}
  measured = {}
  for name, ref in torch_refs.items():
    measured[name] = dict(
        compiled=ref.compiled, step_s=statistics.median(times[name]) / per,
        times_s=times[name],
        # Round by round, so drift in machine speed cancels.
        speedup=statistics.median(
            t / o for t, o in zip(times[name], times[own])))
  best = min(measured, key=lambda n: measured[n]["step_s"])
  return dict(torch_measured=measured, torch_fastest=best,
              speedup_vs_torch_measured=measured[best]["speedup"])


__all__ = ["TORCH_REFERENCE", "TORCH_MODES", "TORCH_SCRIPT", "TorchReference",
           "start_torch_refs", "torch_measured"]
