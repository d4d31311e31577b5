"""Timing, roofline and sampler-curve helpers behind the benchmark scripts.

`experiments/bench_sampling.py` (throughput of the sampler and of a training
step against the time of the same matrix products alone) and
`experiments/sampler_curves.py` (error against network evaluations) are thin
wrappers around this module:

  timing = time_fn(fn, *args, warmup=1, repeats=5)   # median of blocked calls
  shapes = dense_shapes(params, rows=B * H, shared_rows=1)   # [(m, k, n)]
  t_mm = matmul_roofline(shapes, backward=False)["median_s"]
  fraction = t_mm / timing["median_s"]

The roofline here is empirical: the time the same backend needs for exactly
the network's dense products (same shapes, same dtype, same process), so a
fraction near 1 means the rest of the step (normalisation, activations, the
sampler's arithmetic, the optimiser) costs little next to the products.
"""
from __future__ import annotations

import contextlib
import functools
import json
import os
import platform
import resource
import statistics
import subprocess
import time
from typing import Any, Callable, Iterable, Mapping, Sequence

import jax
import jax.numpy as jnp
from jax.extend import core as jax_core
import numpy as np

from jaxpose import checks
from jaxpose.core import sampling
from jaxpose.core import xla_options

Shape3 = tuple[int, int, int]

# Network evaluations per step of each fixed-step method (PC with its
# default single corrector step; ODE with its default Heun solver).
NFE_PER_STEP = {"euler_maruyama": 1, "deterministic": 1, "ddim": 1,
                "pc": 2, "ode": 2}

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

__all__ = [
    "NFE_PER_STEP", "TORCH_REFERENCE", "TorchReference", "start_torch_refs",
    "time_fn", "time_interleaved",
    "matmul_roofline",
    "dense_shapes", "matmul_flops", "hardware_info", "peak_memory",
    "make_hypotheses_fn", "make_flat_hypotheses_fn", "primitive_shapes",
    "time_embedding_is_shared", "nfe_per_step", "count_nfe", "pick_default",
    "write_json", "run_bench", "run_sampler_curves", "curve_point",
    "plot_sampler_curves", "format_curve_row", "format_default",
]


# ------------------------------------------------------------------ timing
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


# ---------------------------------------------------------------- roofline
def _path_names(path) -> tuple[str, ...]:
  names = []
  for entry in path:
    for attr in ("key", "name", "idx"):
      if hasattr(entry, attr):
        names.append(str(getattr(entry, attr)))
        break
  return tuple(names)


def dense_shapes(params, rows: int, *, shared_rows: int | None = None,
                 shared_names: Sequence[str] = ("time_embed", "lin_t")
                 ) -> list[Shape3]:
  """The (m, k, n) of every dense product of one network call.

  Every 2-D parameter named `kernel` is a `[k, n]` weight applied to `rows`
  input rows.  Layers on the time path (`shared_names`) see one row per call
  when the time is a scalar shared by the batch: pass `shared_rows=1` for
  sampling and None (every row has its own time, as in training) otherwise.

  Args:
    params: the network's parameter pytree (an `nnx.State` or nested dicts).
    rows: m, the batch the network sees.
    shared_rows: rows of the time-path layers; None means `rows`.
    shared_names: path components that mark a time-path layer.

  Returns:
    A list of `(m, k, n)`, in the order of `jax.tree` flattening.
  """
  rows = checks.check_positive_int("rows", rows)
  out = []
  for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
    names = _path_names(path)
    if "kernel" not in names or np.ndim(leaf) != 2:
      continue
    m = rows
    if shared_rows is not None and any(n in shared_names for n in names):
      m = int(shared_rows)
    k, n = np.shape(leaf)
    out.append((m, int(k), int(n)))
  if not out:
    raise ValueError("params: found no 2-D 'kernel' parameters (is this a "
                     "network of nnx.Linear / flax Dense layers?)")
  return out


def matmul_flops(shapes: Iterable[Shape3], *, backward: bool = False) -> float:
  """2 m k n per product; three products per layer with the backward pass."""
  total = float(sum(2 * m * k * n for m, k, n in shapes))
  return 3 * total if backward else total


def matmul_roofline(shapes: Sequence[Shape3], *, backward: bool = False,
                    dtype=jnp.float32, warmup: int = 1, repeats: int = 5,
                    seed: int = 0, time_it: bool = True,
                    compiler_options: Mapping[str, str] | None = None) -> dict:
  """Time of exactly the given dense products, alone, on this backend.

  One jitted function computes every `x [m, k] @ w [k, n]`; with `backward`
  it also computes the two products of the backward pass, `g [m, n] @ w^T`
  (input gradient) and `x^T @ g` (weight gradient), as a training step does.
  Every product is returned, so none is optimised away.

  Args:
    shapes: `(m, k, n)` per product, e.g. from `dense_shapes`.
    backward: add the backward products (3x the forward work).
    dtype: operand dtype.
    warmup, repeats: as in `time_fn`.
    seed: operand values (they do not change the time).
    time_it: False returns {"fn", "args", "flops"} untimed, for
      `time_interleaved`.
    compiler_options: XLA options, as the timed step was compiled with
      (the same backend means the same dot implementation too).

  Returns:
    `time_fn`'s dict plus "flops" and "gflops" (at the median time).
  """
  shapes = [tuple(int(v) for v in s) for s in shapes]
  if not shapes or any(len(s) != 3 or min(s) < 1 for s in shapes):
    raise ValueError(f"shapes: expected a non-empty list of positive (m, k, n),"
                     f" got {shapes}")
  key = jax.random.key(seed)
  operands = []
  for i, (m, k, n) in enumerate(shapes):
    kx, kw, kg = jax.random.split(jax.random.fold_in(key, i), 3)
    ops = [jax.random.normal(kx, (m, k), dtype), jax.random.normal(kw, (k, n), dtype)]
    if backward:
      ops.append(jax.random.normal(kg, (m, n), dtype))
    operands.append(tuple(ops))

  @functools.partial(jax.jit, compiler_options=dict(compiler_options or {}))
  def products(operands):
    outs = []
    for ops in operands:
      x, w = ops[0], ops[1]
      if outs:
        # One product after the other, as in the network: the barrier makes
        # x wait for the previous product, so independent dots cannot run
        # side by side and fight over the cores.
        x, _ = jax.lax.optimization_barrier((x, outs[-1]))
      outs.append(x @ w)  # [m, n]
      if backward:
        g = ops[2]
        outs.append(g @ w.T)  # [m, k]
        outs.append(x.T @ g)  # [k, n]
    return outs

  flops = matmul_flops(shapes, backward=backward)
  if not time_it:
    return dict(fn=products, args=(operands,), flops=flops)
  timing = time_fn(products, operands, warmup=warmup, repeats=repeats)
  timing.update(flops=flops, gflops=flops / timing["median_s"] / 1e9)
  return timing


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


# ------------------------------------------------ side-by-side PyTorch code
class TorchReference:
  """The authors' network in PyTorch, served by another Python process.

  Starts `experiments/torch_reference.py --serve` under `python` (an
  interpreter that has torch; jaxpose does not depend on it) and asks it for
  timed calls, so torch and jaxpose can be timed in alternation by
  `time_interleaved` (`self_timed`: the server times its own work, so the
  pipe's latency is not charged to torch).

    with TorchReference(python, script) as ref:
      ref.em(rows=3200, steps=10)   # seconds for 10 Euler-Maruyama steps
      ref.train(batch=1000)         # seconds for one training step

  Args:
    python: the interpreter to run the server with.
    script: path of experiments/torch_reference.py.
    compile: torch.compile the network (inductor) in the server.
    threads: torch threads (default: the CPUs the server may use).
    extra_args: more command-line arguments for the server (tests).
  """

  def __init__(self, python: str, script: str, *, compile: bool = False,
               threads: int | None = None, extra_args: Sequence[str] = ()):
    if not os.path.isfile(script):
      raise FileNotFoundError(f"script: no torch reference at {script!r}")
    cmd = [python, script, "--serve", *extra_args]
    if compile:
      cmd.append("--compile")
    if threads:
      cmd.append(f"--threads={int(threads)}")
    self.compiled = bool(compile)
    try:
      self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True)
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


TORCH_MODES = ("eager", "compiled")


def start_torch_refs(python: str | None, script: str,
                     modes: Sequence[str] = TORCH_MODES,
                     stack: contextlib.ExitStack | None = None
                     ) -> dict[str, TorchReference]:
  """One TorchReference per mode ('eager', 'compiled'), named torch_<mode>.

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
    ref = TorchReference(python, script, compile=(mode == "compiled"))
    if stack is not None:
      stack.enter_context(ref)
    refs[f"torch_{mode}"] = ref
  return refs


# ------------------------------------------------------------ environment
def _cpu_model() -> str:
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.lower().startswith("model name"):
          return line.split(":", 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or platform.machine()


def hardware_info() -> dict:
  """Devices, CPU model, cores, load average and library versions."""
  try:
    load = list(os.getloadavg())
  except OSError:
    load = None
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
      load_average_1_5_15=load,
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
  stats = None
  try:
    stats = jax.devices()[0].memory_stats()
  except Exception:  # Not every backend implements memory_stats.
    stats = None
  if stats and "peak_bytes_in_use" in stats:
    out["device_peak_mib"] = stats["peak_bytes_in_use"] / 2**20
  return out


# ------------------------------------------------------------- hypotheses
def make_hypotheses_fn(sample_fn, num_hypotheses: int) -> Callable:
  """`f(params, key, task) -> [H, B, ...]`: `sampling.sample_hypotheses`.

  Jitted here (one jit around the library call) so callers can AOT-lower
  it and time compilation separately, with the samplers' XLA options:
  `f.lower(params, key, task).compile(xla_options.sampling_options())`.
  """
  num_hypotheses = checks.check_positive_int("num_hypotheses", num_hypotheses)
  return jax.jit(functools.partial(sampling.sample_hypotheses, sample_fn,
                                   num_hypotheses=num_hypotheses))


def _tile_task(task: sampling.Task, h: int) -> sampling.Task:
  """The task's rows repeated h times: row h * B + b is pose b."""
  def tile(a):
    return None if a is None else jnp.concatenate([a] * h, axis=0)
  cond = jax.tree.map(tile, task.cond)
  return task.replace(x_init=tile(task.x_init), cond=cond,
                      observed=tile(task.observed),
                      observed_mask=tile(task.observed_mask))


def make_flat_hypotheses_fn(sample_fn, num_hypotheses: int) -> Callable:
  """Like `make_hypotheses_fn`, but one `[H * B, ...]` batch, no vmap.

  For measurement only: the hypotheses use other random draws than
  `sample_hypotheses` (one key for the whole batch), same distribution for
  every per-example method (not PC with its batch-mean step size).
  """
  h = checks.check_positive_int("num_hypotheses", num_hypotheses)

  @jax.jit
  def flat(params, key, task):
    b = task.x_init.shape[0]
    x = sample_fn.jitted(params, key, _tile_task(task, h))  # [H * B, ...]
    return x.reshape(h, b, *x.shape[1:])
  return flat


def primitive_shapes(fn: Callable, *args, name: str = "sin") -> list[tuple]:
  """Output shapes of every `name` primitive in fn's jaxpr (all sub-jaxprs).

  Used to check where the time embedding (the only `sin` of a sampler step)
  is computed and at which batch size.
  """
  closed = jax.make_jaxpr(fn)(*args)
  found = []

  def visit(jaxpr):
    for eqn in jaxpr.eqns:
      if eqn.primitive.name == name:
        found.extend(tuple(v.aval.shape) for v in eqn.outvars)
      for sub in jax_core.jaxprs_in_params(eqn.params):
        visit(sub)

  visit(closed.jaxpr)
  return found


def _all_primitives(fn, *args) -> set[str]:
  closed = jax.make_jaxpr(fn)(*args)
  names = set()

  def visit(jaxpr):
    for eqn in jaxpr.eqns:
      names.add(eqn.primitive.name)
      for sub in jax_core.jaxprs_in_params(eqn.params):
        visit(sub)

  visit(closed.jaxpr)
  return names


def time_embedding_is_shared(hyp_fn: Callable, params, key, task) -> dict:
  """Whether a step embeds its time once, not once per hypothesis or pose.

  Traces `hyp_fn(params, key, task)` and reads the shapes of its `sin`
  primitives (the sinusoidal time embedding): a leading size of 1 means one
  embedding per network call; H or H * B would mean the time path (and its
  Lt projections, which take the embedding as input) runs per hypothesis.
  Also reports whether a host callback (Python inside the loop) is traced
  and whether the steps are one `scan` or `while` loop.
  """
  shapes = primitive_shapes(hyp_fn, params, key, task, name="sin")
  prims = _all_primitives(hyp_fn, params, key, task)
  callbacks = sorted(p for p in prims if "callback" in p)
  rows = sorted({int(np.prod(s[:-1])) for s in shapes})
  return dict(sin_shapes=[list(s) for s in shapes], embedding_rows=rows,
              once_per_step=bool(shapes) and rows == [1],
              host_callbacks=callbacks,
              loop_primitives=sorted(p for p in prims if p in ("scan", "while")))


def write_json(path: str, obj) -> str:
  """Atomic JSON with NaN/inf written as null (a diverged sampler's errors)."""
  from jaxpose import evaluation

  def clean(o):
    if isinstance(o, Mapping):
      return {str(k): clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
      return [clean(v) for v in o]
    if isinstance(o, (float, np.floating)):
      return float(o) if np.isfinite(o) else None
    if isinstance(o, np.integer):
      return int(o)
    return o

  evaluation.write_json_atomic(path, clean(obj))
  return path


# ------------------------------------------------------------ sampler NFE
def nfe_per_step(method: str, **options) -> int:
  """Network evaluations per step of a fixed-step method."""
  if method == "pc":
    return 1 + int(options.get("num_corrector_steps", 1))
  # grid_rho and the other options do not change the evaluations per step.
  if method == "ode" and options.get("solver", "heun") == "euler":
    return 1
  if method not in NFE_PER_STEP:
    raise ValueError(f"method: {method!r} has no fixed NFE per step; valid: "
                     f"{', '.join(NFE_PER_STEP)}")
  return NFE_PER_STEP[method]


def count_nfe(method: str, sde, score_fn, params, key, task, *,
              num_steps: int, num_hypotheses: int, eps: float = 1e-3,
              **options) -> int:
  """Batched network evaluations one `sample_hypotheses` call makes.

  A host callback in the score function counts the calls; under vmap a
  batched adaptive loop runs until its slowest hypothesis is done, so this
  is the work actually paid (for fixed-step methods it equals
  `num_steps * nfe_per_step`).  Slow (a callback per evaluation): use it
  once on a small batch, not for timing.
  """
  counter = [0]

  def bump():
    counter[0] += 1

  def counting_score(p, x, t, cond):
    jax.debug.callback(bump)
    return score_fn(p, x, t, cond)

  fn = sampling.make_sampler(method, sde, counting_score, num_steps=num_steps,
                             eps=eps, **options)
  _block(sampling.sample_hypotheses(fn, params, key, task, num_hypotheses))
  jax.effects_barrier()
  return counter[0]


# ------------------------------------------------------- default sampler
def _row_id(row: Mapping[str, Any]) -> tuple:
  steps = row.get("steps")
  return (row["sampler"], None if steps is None else int(steps))


def pick_default(rows: Sequence[Mapping[str, Any]], *,
                 reference: tuple[str, int] = ("euler_maruyama", 1000),
                 tolerance_mm: float = 1.0, metric: str = "best_of_h_mm",
                 min_ratio: float = 10.0) -> dict:
  """The cheapest (sampler, steps) within `tolerance_mm` of the reference.

  Args:
    rows: one mapping per run with keys "sampler", "steps" (None for an
      adaptive solver), "nfe", `metric` and optionally "wall_s" and "label".
    reference: (sampler, steps) of the reference row.
    tolerance_mm: allowed excess error over the reference.
    metric: the error to compare (best-of-H MPJPE by default).
    min_ratio: the NFE saving asked for; reported as `meets_target`.

  Returns:
    {"sampler", "steps", "label", "nfe", metric, "reference": {...},
    "nfe_ratio", "speedup" (reference wall / chosen wall, when both timed,
    else None), "meets_target"}.  Ties in NFE go to the lower error.
  """
  reference = (reference[0], int(reference[1]))
  ref = [r for r in rows if _row_id(r) == reference]
  if not ref:
    raise ValueError(f"rows: no reference row {reference}; have "
                     f"{sorted(map(_row_id, rows), key=str)}")
  ref = ref[0]
  limit = float(ref[metric]) + float(tolerance_mm)
  ok = [r for r in rows if np.isfinite(float(r[metric]))
        and float(r[metric]) <= limit]
  best = min(ok, key=lambda r: (float(r["nfe"]), float(r[metric])))
  speedup = None
  if best.get("wall_s") and ref.get("wall_s"):
    speedup = float(ref["wall_s"]) / float(best["wall_s"])
  ratio = float(ref["nfe"]) / float(best["nfe"])
  return dict(sampler=best["sampler"], steps=_row_id(best)[1],
              label=best.get("label", f"{best['sampler']} {best.get('steps')}"),
              nfe=float(best["nfe"]), **{metric: float(best[metric])},
              reference=dict(sampler=ref["sampler"], steps=int(ref["steps"]),
                             nfe=float(ref["nfe"]), **{metric: float(ref[metric])},
                             wall_s=ref.get("wall_s")),
              tolerance_mm=float(tolerance_mm), nfe_ratio=ratio,
              wall_s=best.get("wall_s"), speedup=speedup,
              meets_target=bool(ratio >= min_ratio))


# ---------------------------------------------------------- sampler curves
CURVE_SAMPLERS = ("euler_maruyama", "pc", "ode", "deterministic", "ddim", "ode_adaptive")
CURVE_STEPS = (1000, 500, 200, 100, 50, 20, 10)
ADAPTIVE_TOLS = (1e-2, 1e-3, 1e-4, 1e-5)


def _chunks(n: int, size: int):
  """(start, valid) of fixed-size chunks; the last is padded by the caller."""
  return [(s, min(size, n - s)) for s in range(0, n, size)]


def _pad_rows(a: np.ndarray, start: int, size: int) -> np.ndarray:
  part = np.asarray(a[start:start + size])
  if len(part) < size:
    part = np.concatenate([part, np.repeat(part[-1:], size - len(part), 0)])
  return part


def curve_point(exp, params, pose2d: np.ndarray, gt_mm: np.ndarray, *,
                method: str, num_hypotheses: int, chunk_size: int,
                key: jax.Array, num_steps: int | None = None,
                eps: float = 1e-3, count_adaptive_nfe: bool = True,
                camera_meta: dict | None = None, **options) -> dict:
  """Errors, NFE and wall-clock of one sampler setting on fixed poses.

  Chunk i of the poses uses `fold_in(key, i)` whatever the sampler, so every
  setting sees the same 2D inputs and the same random keys.

  Args:
    exp: a `run_lib.Experiment` (SDE, score function, representation).
    params: network parameters.
    pose2d: 2D inputs in model units.  # [N, J, 2]
    gt_mm: ground truth, root-relative mm.  # [N, J, 3]
    method: a `sampling` method name.
    num_hypotheses: H.
    chunk_size: poses per call (the last chunk is padded).
    key: PRNG key shared by every setting.
    num_steps: steps of a fixed-step method; ode_adaptive uses it for its
      first step only (default 100 there).
    eps: end time of the grid.
    count_adaptive_nfe: count ode_adaptive's evaluations on chunk 0 (one
      extra run); otherwise NFE is None for it.
    camera_meta: the poses' camera fields (`image_space.camera_meta`), used
      to back-project under the "image" representation protocol.
    **options: the method's options (e.g. rtol/atol for ode_adaptive).

  Returns:
    A row: sampler, steps, label, nfe, wall_s (sampling only), compile_s,
    best_of_h_mm, mean_of_h_mm (MPJPE of the hypotheses' mean), their
    PA-MPJPE, mean single-hypothesis MPJPE and the best-of-H curve.
  """
  from jaxpose import evaluation
  from jaxpose import gfpose
  n = len(pose2d)
  chunk_size = min(chunk_size, n)
  h = num_hypotheses
  adaptive = method == "ode_adaptive"
  steps = int(num_steps or (100 if adaptive else 0))
  sample_fn = sampling.make_sampler(method, exp.sde, exp.score_fn,
                                    num_steps=steps, eps=eps, **options)
  hyp = make_hypotheses_fn(sample_fn, h)
  tasks = [gfpose.estimation_task(jnp.asarray(_pad_rows(pose2d, s, chunk_size)))
           for s, _ in _chunks(n, chunk_size)]
  compiled, compile_s = _compile(hyp, params, key, tasks[0])
  out = np.zeros((h, n, pose2d.shape[1] * 3), np.float32)
  start_time = time.perf_counter()
  for i, ((s, valid), task) in enumerate(zip(_chunks(n, chunk_size), tasks)):
    xs = np.asarray(compiled(params, jax.random.fold_in(key, i), task))
    out[:, s:s + valid] = xs.reshape(h, chunk_size, -1)[:, :valid]
  wall_s = time.perf_counter() - start_time
  if adaptive:
    nfe = None
    if count_adaptive_nfe:
      nfe = count_nfe(method, exp.sde, exp.score_fn, params,
                      jax.random.fold_in(key, 0), tasks[0], num_steps=steps,
                      num_hypotheses=h, eps=eps, **options)
    label = f"ode_adaptive rtol={options.get('rtol', 1e-5):g}"
  else:
    nfe = steps * nfe_per_step(method, **options)
    label = f"{sampling.format_spec(method, options)} {steps}"
  j = exp.representation.num_joints
  hyps_mm = np.asarray(exp.representation.pose3d_from_model(
      out.reshape(h, n, j, 3), camera_meta), np.float32)
  # A fixed-step row is named by its full spec, so variants of one method
  # (e.g. 'pc:snr=0.1') stay apart and the default can be used as it is.
  spec = method if adaptive else sampling.format_spec(method, options)
  row = dict(sampler=spec, method=method, steps=None if adaptive else steps, label=label,
             options=dict(options), nfe=nfe, wall_s=wall_s,
             compile_s=compile_s,
             nonfinite_fraction=float(np.mean(~np.isfinite(hyps_mm))))
  if row["nonfinite_fraction"] > 0:
    # A diverged setting (too few steps for a stiff score) stays in the
    # table as NaN errors rather than stopping the sweep.
    nan = float("nan")
    return dict(row, best_of_h_mm=nan, mean_of_h_mm=nan, best_of_h_pa_mm=nan,
                mean_of_h_pa_mm=nan, mean_hypothesis_mm=nan, apd_mm=nan,
                best_of_h={})
  m = evaluation.estimation_metrics(hyps_mm, gt_mm,
                                    hypotheses_list=(1, 10, 50, 200, h))
  return dict(row, best_of_h_mm=m["min_mpjpe_mm"], mean_of_h_mm=m["mpjpe_mm"],
              best_of_h_pa_mm=m["min_pa_mpjpe_mm"],
              mean_of_h_pa_mm=m["pa_mpjpe_mm"],
              mean_hypothesis_mm=m["mean_hypothesis_mpjpe_mm"],
              apd_mm=m["apd_mm"], best_of_h=m["best_of_h"])


def run_sampler_curves(exp, params, *, samplers: Sequence[str] = CURVE_SAMPLERS,
                       steps_list: Sequence[int] = CURVE_STEPS,
                       adaptive_tols: Sequence[float] = ADAPTIVE_TOLS,
                       num_poses: int = 32, num_hypotheses: int = 200,
                       chunk_size: int = 16, eps: float = 1e-3,
                       tolerance_mm: float = 1.0,
                       reference: tuple[str, int] = ("euler_maruyama", 1000),
                       seed: int = 0,
                       log: Callable[[str], None] = print) -> dict:
  """Error against NFE for every sampler and step count, and the default.

  The held-out poses are the first `num_poses` of the test split; every
  setting uses them and the same keys (see `curve_point`).  ode_adaptive
  runs once per tolerance (rtol = atol) instead of per step count.

  Returns:
    {"rows": [...], "default": pick_default(...) or an "error" string,
    "num_poses", "num_hypotheses", "hardware", ...}.
  """
  parsed = [sampling.parse_spec(name) for name in samplers]
  for name, (method, options) in zip(samplers, parsed):
    if method not in CURVE_SAMPLERS:
      raise ValueError(f"samplers: unknown {name!r}; valid: "
                       f"{', '.join(CURVE_SAMPLERS)}, each optionally with "
                       "':option=value,...'")
    if method == "ode_adaptive" and options:
      raise ValueError(f"samplers: {name!r}: ode_adaptive takes its "
                       "tolerances from adaptive_tols, not options")
  from jaxpose.pose import image_space
  test = exp.splits["test"]
  n = min(int(num_poses), len(test["pose3d"]))
  pose2d = np.asarray(test["pose2d"][:n])
  gt_mm = np.asarray(test["pose3d_mm"][:n])
  meta = image_space.camera_meta(test, slice(n))  # None without camera fields
  key = jax.random.key(seed)
  rows = []
  for method, options in parsed:
    settings = ([dict(rtol=float(t), atol=float(t)) for t in adaptive_tols]
                if method == "ode_adaptive"
                else [dict(num_steps=int(s), **options) for s in steps_list])
    for setting in settings:
      row = curve_point(exp, params, pose2d, gt_mm, method=method,
                        num_hypotheses=num_hypotheses, chunk_size=chunk_size,
                        key=key, eps=eps, camera_meta=meta, **setting)
      rows.append(row)
      log(format_curve_row(row))
  result = dict(num_poses=n, num_hypotheses=int(num_hypotheses),
                chunk_size=int(chunk_size), eps=float(eps), seed=int(seed),
                hardware=hardware_info(), rows=rows)
  try:
    result["default"] = pick_default(rows, reference=reference,
                                     tolerance_mm=tolerance_mm)
  except ValueError as err:  # e.g. the reference was not run
    result["default"] = dict(error=str(err))
  return result


def format_curve_row(r: Mapping[str, Any]) -> str:
  nfe = "?" if r["nfe"] is None else f"{r['nfe']:.0f}"
  return (f"{r['label']:<28} NFE {nfe:>6}  best-of-H {r['best_of_h_mm']:7.2f} mm"
          f"  mean {r['mean_of_h_mm']:7.2f} mm  wall {r['wall_s']:8.2f} s")


def format_default(d: Mapping[str, Any]) -> str:
  if "error" in d:
    return f"default: not chosen ({d['error']})"
  speed = "n/a" if d["speedup"] is None else f"{d['speedup']:.1f}x"
  ref = d["reference"]
  return (f"default: {d['label']} (NFE {d['nfe']:.0f}, best-of-H "
          f"{d['best_of_h_mm']:.2f} mm vs {ref['best_of_h_mm']:.2f} mm for "
          f"{ref['sampler']} {ref['steps']}): {d['nfe_ratio']:.1f}x fewer "
          f"network evaluations, {speed} faster wall-clock; target >= 10x "
          f"{'met' if d['meets_target'] else 'NOT met'}")


def plot_sampler_curves(rows: Sequence[Mapping[str, Any]], path: str,
                        title: str = "") -> str:
  """Error against NFE (log x): best-of-H solid, mean-of-H dashed."""
  import matplotlib
  matplotlib.use("Agg")
  from matplotlib.figure import Figure
  fig = Figure(figsize=(7, 4.5), dpi=100)
  ax = fig.add_subplot(1, 1, 1)
  colors = {}
  for r in rows:
    if r["nfe"] is None:
      continue
    colors.setdefault(r["sampler"], f"C{len(colors)}")
  for name, color in colors.items():
    pts = sorted((float(r["nfe"]), r["best_of_h_mm"], r["mean_of_h_mm"])
                 for r in rows if r["sampler"] == name and r["nfe"] is not None
                 and np.isfinite(r["best_of_h_mm"]))
    x = [p[0] for p in pts]
    ax.plot(x, [p[1] for p in pts], "-o", ms=3, color=color,
            label=f"{name} best-of-H")
    ax.plot(x, [p[2] for p in pts], "--", color=color, alpha=0.6,
            label=f"{name} mean-of-H")
  finite = [v for r in rows for v in (r["best_of_h_mm"], r["mean_of_h_mm"])
            if r["nfe"] is not None and np.isfinite(v)]
  if finite:
    # Very short grids can be off by metres; keep the interesting range
    # readable (the JSON and the table hold every value).
    lo, hi = min(finite), max(finite)
    ax.set_ylim(0.9 * lo, 1.05 * min(hi, 2.5 * lo))
  ax.set_xscale("log")
  ax.set_xlabel("network evaluations (NFE)")
  ax.set_ylabel("MPJPE (mm)")
  ax.grid(True, which="both", alpha=0.3)
  ax.legend(fontsize=7, ncol=2)
  if title:
    ax.set_title(title)
  fig.tight_layout()
  fig.savefig(path)
  return path


# --------------------------------------------------------- sampling bench
BENCH_CONFIGS = ((1, 1), (1, 200), (16, 200))
QUICK = dict(model=dict(hidden=64, embed_dim=32, num_blocks=1, num_groups=8),
             configs=((1, 1), (1, 4), (2, 4)), train_batch=16, steps=2,
             repeats=1)


def _paper_network(key, **model_overrides):
  """ScoreMLP (paper size unless overridden), the GFPose SDE, score_fn."""
  from jaxpose.core import losses
  from jaxpose import models
  from jaxpose.core import sde as sde_lib
  graphdef, params = models.create_model("score_mlp", key=key, **model_overrides)
  apply_fn = models.make_apply(graphdef)
  sde = sde_lib.get_sde("subvp", beta_min=0.1, beta_max=20.0)
  return params, apply_fn, sde, losses.make_score_fn(apply_fn, sde)


def _compile(jitted, *args, compiler_options=None) -> tuple[Callable, float]:
  start = time.perf_counter()
  compiled = jitted.lower(*args).compile(
      compiler_options=dict(compiler_options) if compiler_options else None)
  return compiled, time.perf_counter() - start


def bench_sampling_config(params, sde, score_fn, *, num_poses: int,
                          num_hypotheses: int, num_steps: int, repeats: int,
                          method: str = "euler_maruyama", flat: bool = True,
                          compare_torch: bool = True,
                          torch_refs: Mapping[str, TorchReference] | None = None,
                          seed: int = 0) -> dict:
  """Throughput of `sample_hypotheses` for one (poses, hypotheses) pair.

  `torch_refs` (name -> TorchReference) are timed in the same rounds, on
  `poses * hypotheses` rows and the same step count.
  """
  from jaxpose import gfpose
  b, h, s = num_poses, num_hypotheses, num_steps
  key = jax.random.key(seed)
  pose2d = jax.random.normal(jax.random.fold_in(key, 1), (b, 17, 2))
  task = gfpose.estimation_task(pose2d)
  sample_fn = sampling.make_sampler(method, sde, score_fn, num_steps=s)
  options = xla_options.sampling_options(rows=b * h)
  hyp = make_hypotheses_fn(sample_fn, h)
  compiled, compile_s = _compile(hyp, params, key, task,
                                 compiler_options=options)
  shapes = dense_shapes(params, b * h, shared_rows=1)
  mm = matmul_roofline(shapes, time_it=False, compiler_options=options)
  torch_refs = dict(torch_refs or {})
  calls = {"run": (compiled, (params, key, task)),
           "matmul": (mm["fn"], mm["args"])}
  if options:
    # The same sampler under XLA's default options, to show what they buy.
    default_hyp, _ = _compile(hyp, params, key, task)
    calls["run_xla_defaults"] = (default_hyp, (params, key, task))
  calls.update({name: (ref.em, (b * h, s)) for name, ref in torch_refs.items()})
  times = time_interleaved(calls, rounds=max(repeats, 3),
                           self_timed=torch_refs)
  run_s = statistics.median(times["run"])
  step_s = run_s / s
  matmul_s = statistics.median(times["matmul"])
  out = dict(
      poses=b, hypotheses=h, steps=s, method=method, compile_s=compile_s,
      run_s=run_s, run_times_s=times["run"],
      step_s=step_s, hypothesis_steps_per_s=b * h * s / run_s,
      matmul_s_per_step=matmul_s, matmul_times_s=times["matmul"],
      matmul_gflops=mm["flops"] / matmul_s / 1e9,
      network_gflops_per_step=mm["flops"] / 1e9,
      achieved_gflops=mm["flops"] / step_s / 1e9,
      # Per round, products and sampler were timed back to back.
      roofline_fraction=statistics.median(
          m / (r / s) for m, r in zip(times["matmul"], times["run"])),
      time_embedding=time_embedding_is_shared(hyp, params, key, task),
      compiler_options=options)
  if options:
    out.update(
        xla_defaults_step_s=statistics.median(times["run_xla_defaults"]) / s,
        speedup_over_xla_defaults=statistics.median(
            d / r for d, r in zip(times["run_xla_defaults"], times["run"])))
  ref = TORCH_REFERENCE["em_step_s"].get(str(b * h))
  if compare_torch and ref is not None and method == "euler_maruyama":
    out["torch_step_s"] = ref
    out["speedup_vs_torch"] = ref / step_s
  out.update(_torch_measured(torch_refs, times, "run", per=s))
  if flat and h > 1:
    flat_fn = make_flat_hypotheses_fn(sample_fn, h)
    flat_compiled, flat_compile_s = _compile(flat_fn, params, key, task,
                                             compiler_options=options)
    flat_timing = time_fn(flat_compiled, params, key, task, warmup=1,
                          repeats=repeats)
    out.update(flat_compile_s=flat_compile_s,
               flat_step_s=flat_timing["median_s"] / s,
               vmap_over_flat_time=run_s / flat_timing["median_s"])
  return out


def _torch_measured(torch_refs, times, own: str, *, per: int = 1) -> dict:
  """Torch's times from the same rounds, and jaxpose's speed-up over each."""
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


def bench_train_step(params, apply_fn, sde, *, batch_size: int, repeats: int,
                     compare_torch: bool = True,
                     torch_refs: Mapping[str, TorchReference] | None = None,
                     seed: int = 0) -> dict:
  """Steps/s of one GFPose training step (Adam, EMA, dropout) on random data."""
  from jaxpose import gfpose
  from jaxpose.methods.gfpose import masking
  from jaxpose.training import train as train_lib
  key = jax.random.key(seed)
  k3, k2 = jax.random.split(jax.random.fold_in(key, 7))
  batch = {"pose3d": jax.random.normal(k3, (batch_size, 17, 3)),
           "pose2d": jax.random.normal(k2, (batch_size, 17, 2))}
  loss_fn = gfpose.make_loss_fn(apply_fn, sde, masking.MaskConfig())
  tx = train_lib.make_optimizer()
  state = train_lib.init_train_state(params, tx)
  step = jax.jit(train_lib.make_train_step(loss_fn, tx), donate_argnums=0)
  compiled, compile_s = _compile(step, state, batch, key)
  box = {"state": state}

  def train_once():
    # The state is donated, so every call continues from the last one.
    box["state"], box["metrics"] = compiled(box["state"], batch, key)
    return box["state"], box["metrics"]

  mm = matmul_roofline(dense_shapes(params, batch_size), backward=True,
                       time_it=False)
  torch_refs = dict(torch_refs or {})
  calls = {"step": (train_once, ()), "matmul": (mm["fn"], mm["args"])}
  calls.update({name: (ref.train, (batch_size,))
                for name, ref in torch_refs.items()})
  times = time_interleaved(calls, rounds=max(repeats, 3),
                           self_timed=torch_refs)
  step_s = statistics.median(times["step"])
  matmul_s = statistics.median(times["matmul"])
  out = dict(batch_size=batch_size, compile_s=compile_s, step_s=step_s,
             step_times_s=times["step"], steps_per_s=1.0 / step_s,
             loss=float(box["metrics"]["loss"]),
             matmul_s=matmul_s, matmul_times_s=times["matmul"],
             matmul_gflops=mm["flops"] / matmul_s / 1e9,
             achieved_gflops=mm["flops"] / step_s / 1e9,
             roofline_fraction=statistics.median(
                 m / t for m, t in zip(times["matmul"], times["step"])))
  if compare_torch and batch_size == 1000:
    ref = TORCH_REFERENCE["train_step_s_batch_1000"]
    out.update(torch_step_s=ref, speedup_vs_torch=ref / step_s)
  out.update(_torch_measured(torch_refs, times, "step"))
  return out


def run_bench(*, quick: bool = False, steps: int | None = None,
              repeats: int | None = None,
              configs: Sequence[tuple[int, int]] | None = None,
              train_batch: int | None = None, flat: bool = True,
              torch_refs: Mapping[str, TorchReference] | None = None,
              log: Callable[[str], None] = print) -> dict:
  """The whole `experiments/bench_sampling.py` measurement as a dict.

  Args:
    quick: a tiny network and sizes (seconds; for tests).
    steps: sampler steps per timed run (default 10, quick 2); figures are
      per step, so fewer steps only means more per-call overhead.
    repeats: timed repeats (median reported; default 3, quick 1).
    configs: (poses, hypotheses) pairs (default BENCH_CONFIGS).
    train_batch: training batch (default 1000, quick 16).
    flat: also time one flattened [H * B] batch for comparison.
    torch_refs: name -> TorchReference, timed in the same rounds as
      jaxpose (paper size only).
    log: progress printer.
  """
  from jaxpose import models
  if quick and torch_refs:
    raise ValueError("torch_refs: the torch reference is the paper-size "
                     "network; it cannot be compared with quick sizes")
  q = QUICK if quick else {}
  steps = checks.check_positive_int("steps", steps or q.get("steps", 10))
  repeats = checks.check_positive_int("repeats", repeats or q.get("repeats", 3))
  configs = tuple(configs or q.get("configs", BENCH_CONFIGS))
  train_batch = int(train_batch or q.get("train_batch", 1000))
  hw = hardware_info()
  params, apply_fn, sde, score_fn = _paper_network(jax.random.key(0),
                                                   **q.get("model", {}))
  result = dict(hardware=hw, quick=quick, steps=steps, repeats=repeats,
                network=dict(num_params=models.count_params(params),
                             size="quick" if quick else "paper (ScoreMLP defaults)"),
                torch_reference=TORCH_REFERENCE, sampling=[])
  if torch_refs:
    result["torch_side_by_side"] = {n: r.info for n, r in torch_refs.items()}
    log(f"torch side by side: {result['torch_side_by_side']}")
  log(f"hardware: {hw['cpu_model']}, {hw['cpu_count']} cores, "
      f"{hw['devices']}, jax {hw['jax_version']}, load {hw['load_average_1_5_15']}")
  log(f"network: {result['network']['num_params']:,} parameters")
  for b, h in configs:
    r = bench_sampling_config(params, sde, score_fn, num_poses=b,
                              num_hypotheses=h, num_steps=steps,
                              repeats=repeats, flat=flat,
                              compare_torch=not quick, torch_refs=torch_refs)
    result["sampling"].append(r)
    log(_sampling_line(r))
  result["compile_s"] = result["sampling"][-1]["compile_s"]
  result["train"] = bench_train_step(params, apply_fn, sde,
                                     batch_size=train_batch, repeats=repeats,
                                     compare_torch=not quick,
                                     torch_refs=torch_refs)
  log(_train_line(result["train"]))
  if torch_refs:
    # First calls include torch.compile's compilation: the figure to set
    # beside jaxpose's compile_s.
    result["torch_first_call_s"] = {
        n: r.request(op="info").get("first_call_s", {})
        for n, r in torch_refs.items()}
    log(f"torch first calls (s): {result['torch_first_call_s']}")
  result["memory"] = peak_memory()
  try:
    result["load_average_after"] = list(os.getloadavg())
  except OSError:
    result["load_average_after"] = None
  log(f"peak memory: {result['memory']}; load after "
      f"{result['load_average_after']}")
  return result


def _sampling_line(r: dict) -> str:
  line = (f"sample B={r['poses']:>3} H={r['hypotheses']:>4}: compile "
          f"{r['compile_s']:.2f}s, {r['step_s'] * 1e3:9.3f} ms/step, "
          f"{r['hypothesis_steps_per_s']:12.0f} hyp*steps/s, roofline "
          f"{r['roofline_fraction']:.2f}, embedding once/step "
          f"{r['time_embedding']['once_per_step']}")
  if "speedup_over_xla_defaults" in r:
    line += f", x{r['speedup_over_xla_defaults']:.2f} vs XLA's default options"
  line += _torch_text(r)
  if "flat_step_s" in r:
    line += f", flat {r['flat_step_s'] * 1e3:.3f} ms/step"
  return line


def _train_line(r: dict) -> str:
  line = (f"train B={r['batch_size']}: compile {r['compile_s']:.2f}s, "
          f"{r['step_s'] * 1e3:.1f} ms/step ({r['steps_per_s']:.2f} steps/s), "
          f"roofline {r['roofline_fraction']:.2f}")
  return line + _torch_text(r)


def _torch_text(r: dict) -> str:
  text = ""
  if "speedup_vs_torch" in r:
    text += f", x{r['speedup_vs_torch']:.2f} vs torch (quoted)"
  for name, m in r.get("torch_measured", {}).items():
    text += f", x{m['speedup']:.2f} vs {name} ({m['step_s'] * 1e3:.1f} ms)"
  return text
