"""What the PyTorch reference servers share: the timed rounds, the JSON-lines
server and the command line (`torch_reference.py`: GFPose's network,
`torch_dposer.py`: DPoser's).

A server's `Reference` subclass names its network and trainer and lists its
operations (`OPS`: op -> the request's fields, in the method's argument
order); each operation returns its own wall-clock seconds, and the first
call of each kind is kept apart (torch.compile compiles then).

`--device` puts the networks and every tensor on that device (torch's
default device: a CUDA GPU with `--device=cuda`); each timed operation then
waits for the device before and after, and `memory` reports the
allocator's peak.

torch-only, like the scripts that import it (they run under a Python that
has torch, with this folder first on sys.path): no jax, no jaxpose.
"""
import argparse
import atexit
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

import torch


def generator(seed: int) -> torch.Generator:
  """A seeded generator on torch's default device (the server's --device)."""
  return torch.Generator(device=torch.get_default_device()).manual_seed(seed)


def _synchronize():
  if torch.get_default_device().type == "cuda":
    torch.cuda.synchronize()


class Reference:
  """The timed operations of one network, eager or torch.compile'd.

  Subclasses set `NET` (the network class, built with its defaults),
  `TRAINER` (built as `TRAINER(net, batch)`, with a `step()`) and `OPS`.
  """
  NET = None
  TRAINER = None
  OPS = {"train": ("batch",), "matmul": ("shapes", "backward")}

  def __init__(self, *, compile_net=False, seed=0):
    torch.manual_seed(seed)
    self.eval_net = self.NET().eval()
    self.train_net = self.NET()
    self.compile_net = compile_net
    if compile_net:
      # A fresh inductor cache, so first calls show cold compilation
      # (inductor otherwise reuses kernels compiled by earlier runs).
      if "TORCHINDUCTOR_CACHE_DIR" not in os.environ:
        cache = tempfile.mkdtemp(prefix="jaxpose_inductor_")
        atexit.register(shutil.rmtree, cache, ignore_errors=True)
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache
      # One graph per shape: with dynamic shapes torch would trade speed
      # for fewer recompilations, which a benchmark does not need.
      self.eval_net = torch.compile(self.eval_net, dynamic=False)
      self.train_net = torch.compile(self.train_net, dynamic=False)
    self.trainers = {}
    self.products = {}
    self.first_call_s = {}

  def info(self):
    device = torch.get_default_device()
    return dict(torch_version=torch.__version__,
                device=str(device),
                device_name=(torch.cuda.get_device_name(device)
                             if device.type == "cuda" else None),
                threads=torch.get_num_threads(),
                matmul_precision=torch.get_float32_matmul_precision(),
                compiled=self.compile_net,
                num_params=sum(p.numel() for p in self.eval_net.parameters()),
                first_call_s=dict(self.first_call_s))

  def _timed(self, name, fn):
    _synchronize()
    start = time.perf_counter()
    fn()
    _synchronize()
    seconds = time.perf_counter() - start
    self.first_call_s.setdefault(name, seconds)
    return seconds

  def train(self, batch):
    batch = int(batch)
    if batch not in self.trainers:
      self.trainers[batch] = self.TRAINER(self.train_net, batch)
    return self._timed(f"train batch={batch}", self.trainers[batch].step)

  def matmul(self, shapes, backward):
    """Seconds of exactly the products `shapes` ((m, k, n) each, one after
    the other; with `backward` also g @ w^T and x^T @ g), as
    `roofline.matmul_roofline` times jaxpose's: PyTorch's own speed on the
    network's products, whatever the network around them."""
    key = (tuple(map(tuple, shapes)), bool(backward))
    if key not in self.products:
      gen = generator(0)
      self.products[key] = [
          tuple(torch.randn(*size, generator=gen) for size in
                ((m, k), (k, n)) + (((m, n),) if backward else ()))
          for m, k, n in key[0]]

    def run():
      with torch.no_grad():
        for ops in self.products[key]:
          torch.matmul(ops[0], ops[1])
          if backward:
            torch.matmul(ops[2], ops[1].T)
            torch.matmul(ops[0].T, ops[2])

    return self._timed(f"matmul {len(key[0])} backward={backward}", run)

  def memory(self):
    """This process's peak memory since the last call (then reset): the
    host's high-water mark, and CUDA's allocator peak on a GPU."""
    out = {"host_peak_mib": None, "host_scope": "process"}
    try:
      with open("/proc/self/status") as f:
        for line in f:
          if line.startswith("VmHWM:"):
            out["host_peak_mib"] = int(line.split()[1]) / 1024
      with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
      out["host_scope"] = "since the last memory call"
    except OSError:
      pass
    if torch.cuda.is_available():
      out["device_peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
      torch.cuda.reset_peak_memory_stats()
    return out

  def handle(self, request):
    op = request.get("op")
    if op == "info":
      return self.info()
    if op == "memory":
      return self.memory()
    if op not in self.OPS:
      raise ValueError(f"unknown op {op!r}")
    return {"s": getattr(self, op)(*(request[k] for k in self.OPS[op]))}


def serve(ref, stdin=sys.stdin, stdout=sys.stdout):
  """One JSON request per line in, one JSON reply per line out."""
  for line in stdin:
    if not line.strip():
      continue
    try:
      reply = ref.handle(json.loads(line))
    except Exception as e:  # the client shows it; the server keeps serving
      reply = {"error": f"{type(e).__name__}: {e}"}
    stdout.write(json.dumps(reply) + "\n")
    stdout.flush()


def parser(doc: str) -> argparse.ArgumentParser:
  """The flags every server takes; a script adds its sizes."""
  out = argparse.ArgumentParser(description=doc.split("\n")[0])
  out.add_argument("--serve", action="store_true")
  out.add_argument("--compile", action="store_true",
                   help="torch.compile the network (inductor)")
  out.add_argument("--threads", type=int, default=None,
                   help="torch threads (default: the CPUs this process may use)")
  out.add_argument("--repeats", type=int, default=3)
  out.add_argument("--device", default="cpu",
                   help="torch device of the networks and data (cpu, cuda)")
  out.add_argument("--matmul_precision", default="highest",
                   choices=("highest", "high"),
                   help="float32 products: 'highest' (float32 itself, "
                   "torch's default) or 'high' (TF32 on a GPU that has it)")
  return out


def start(reference_class, args):
  """The reference of the parsed `args`; serves and returns None with --serve."""
  torch.set_num_threads(args.threads or len(os.sched_getaffinity(0)))
  torch.set_default_device(args.device)
  torch.set_float32_matmul_precision(args.matmul_precision)
  ref = reference_class(compile_net=args.compile)
  if args.serve:
    serve(ref)
    return None
  return ref


def median_seconds(fn, repeats: int, *, per: int = 1) -> float:
  """The median of `repeats` timed calls (after one warm-up), over `per`."""
  fn()  # warm-up (and compilation)
  return statistics.median(fn() for _ in range(repeats)) / per
