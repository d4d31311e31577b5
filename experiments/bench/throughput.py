"""Sampler and training-step throughput against the dense products alone.

  result = run_bench(quick=False, torch_refs=start_torch_refs(python))
  files.write_json_atomic("bench_sampling.json", result)

GFPose at the paper's network size (`experiments/configs/gfpose_base.py`,
built by the method's own `build`: `bench_model`) samples random 2D poses
with 1000-step-style Euler-Maruyama for each (poses, hypotheses) pair, and
takes training steps with its own loss; each is timed in alternation with
the same dense products alone (`roofline`), with the same sampler under
XLA's default options, and with the authors' network in PyTorch where a
torch interpreter is given (`torch_client`). Figures are per step.
"""
from __future__ import annotations

import statistics
from typing import Callable, Mapping, Sequence

import jax

from experiments.bench import programs
from experiments.bench import roofline
from experiments.bench import timing
from experiments.bench import torch_client
from experiments.configs import gfpose_base
from jaxpose import checks
from jaxpose import methods
from jaxpose import models
from jaxpose import rng
from jaxpose.core import xla_options
from jaxpose.methods.gfpose import problems
from jaxpose.training import train as train_lib

BENCH_CONFIGS = ((1, 1), (1, 200), (16, 200))
QUICK = dict(model=dict(hidden=64, embed_dim=32, num_blocks=1, num_groups=8),
             configs=((1, 1), (1, 4), (2, 4)), train_batch=16, steps=2,
             repeats=1)


def bench_model(**model_overrides):
  """GFPose as `gfpose_base` configures it, with `config.model` overrides:
  (its model, `GFPoseModel`, untrained; the config as typed settings)."""
  config = gfpose_base.get_config()
  config.model.update(model_overrides)
  method, run = methods.parse(config)
  return method.build(run, {}, {}), run


TORCH_PRODUCTS = "torch_products"


def with_torch_products(calls, torch_refs, shapes, *, backward: bool):
  """`calls` and PyTorch's time of the same dense products (one server's:
  eager and compiled PyTorch multiply with the same kernels)."""
  if not torch_refs:
    return calls
  ref = torch_refs.get("torch_eager") or next(iter(torch_refs.values()))
  return {**calls, TORCH_PRODUCTS: (ref.matmul, (shapes, backward))}


def products_gflops(times, flops: float) -> dict:
  """PyTorch's GFLOP/s on the network's products, when timed."""
  if TORCH_PRODUCTS not in times:
    return {}
  return {"torch_matmul_gflops": flops / statistics.median(
      times[TORCH_PRODUCTS]) / 1e9}


def _measured(calls, repeats: int, torch_refs, program) -> tuple[dict, dict]:
  """(the interleaved rounds' times, the row's memory: `timing.row_memory`
  of `program`, and each torch server's peak over the same rounds)."""
  for ref in torch_refs.values():
    ref.memory()  # their peaks start again with this row
  memory = {}
  with timing.row_memory(memory, program=program):
    times = timing.time_interleaved(
        calls, rounds=max(repeats, 3),
        self_timed=[*torch_refs, *([TORCH_PRODUCTS] if TORCH_PRODUCTS in calls
                                   else [])])
  if torch_refs:
    memory["torch_memory"] = {n: r.memory() for n, r in torch_refs.items()}
  return times, memory


def bench_sampling_config(model, params, *, eps: float, num_poses: int,
                          num_hypotheses: int, num_steps: int, repeats: int,
                          spec: str = "euler_maruyama", flat: bool = True,
                          compare_torch: bool = True,
                          torch_refs: Mapping[str, torch_client.TorchReference]
                          | None = None, seed: int = 0) -> dict:
  """Throughput of `sampler.hypotheses` for one (poses, hypotheses) pair.

  Args:
    model: a GFPose model (`bench_model`: its samplers and network).
    params: its parameters.
    eps: the samplers' end time (the config's `eval.eps`).
    num_poses, num_hypotheses, num_steps: B, H and the steps of a timed run.
    repeats: timed rounds (at least 3 are run).
    spec: the sampler.
    flat: also time one flattened `[H * B]` batch without vmap.
    compare_torch: set the issue's quoted PyTorch figure beside ours.
    torch_refs: name -> TorchReference, timed in the same rounds on
      `poses * hypotheses` rows and the same step count.
    seed: the random 2D inputs and the sampling key.
  """
  b, h, s = num_poses, num_hypotheses, num_steps
  key = jax.random.key(seed)
  pose2d = jax.random.normal(jax.random.fold_in(key, 1),
                             (b, model.representation.num_joints, 2))
  problem = problems.estimation_problem(pose2d)
  sampler = model.make_sampler(spec, s, eps=eps)
  options = xla_options.sampling_options(rows=b * h)
  hyp = programs.make_hypotheses_fn(sampler, h)
  compiled, compile_s = timing.compile_timed(hyp, params, key, problem,
                                             compiler_options=options)
  shapes = roofline.dense_shapes(params, b * h, shared_rows=1)
  mm = roofline.matmul_roofline(shapes, time_it=False, compiler_options=options)
  torch_refs = dict(torch_refs or {})
  calls = {"run": (compiled, (params, key, problem)),
           "matmul": (mm["fn"], mm["args"])}
  if options:
    # The same sampler under XLA's default options, to show what they buy.
    default_hyp, _ = timing.compile_timed(hyp, params, key, problem)
    calls["run_xla_defaults"] = (default_hyp, (params, key, problem))
  calls.update({name: (ref.em, (b * h, s)) for name, ref in torch_refs.items()})
  calls = with_torch_products(calls, torch_refs, shapes, backward=False)
  times, memory = _measured(calls, repeats, torch_refs, compiled)
  run_s = statistics.median(times["run"])
  step_s = run_s / s
  matmul_s = statistics.median(times["matmul"])
  out = dict(
      poses=b, hypotheses=h, steps=s, method=spec, compile_s=compile_s,
      run_s=run_s, run_times_s=times["run"],
      step_s=step_s, hypothesis_steps_per_s=b * h * s / run_s,
      matmul_s_per_step=matmul_s, matmul_times_s=times["matmul"],
      matmul_gflops=mm["flops"] / matmul_s / 1e9,
      network_gflops_per_step=mm["flops"] / 1e9,
      achieved_gflops=mm["flops"] / step_s / 1e9,
      # Per round, products and sampler were timed back to back.
      roofline_fraction=statistics.median(
          m / (r / s) for m, r in zip(times["matmul"], times["run"])),
      time_embedding=roofline.time_embedding_is_shared(hyp, params, key, problem),
      compiler_options=options, **products_gflops(times, mm["flops"]),
      **memory)
  if options:
    out.update(
        xla_defaults_step_s=statistics.median(times["run_xla_defaults"]) / s,
        speedup_over_xla_defaults=statistics.median(
            d / r for d, r in zip(times["run_xla_defaults"], times["run"])))
  ref = torch_client.TORCH_REFERENCE["em_step_s"].get(str(b * h))
  if compare_torch and ref is not None and spec == "euler_maruyama":
    out["torch_step_s"] = ref
    out["speedup_vs_torch"] = ref / step_s
  out.update(torch_client.torch_measured(torch_refs, times, "run", per=s))
  if flat and h > 1:
    flat_fn = programs.make_flat_hypotheses_fn(sampler, h)
    flat_compiled, flat_compile_s = timing.compile_timed(
        flat_fn, params, key, problem, compiler_options=options)
    flat_timing = timing.time_fn(flat_compiled, params, key, problem, warmup=1,
                                 repeats=repeats)
    out.update(flat_compile_s=flat_compile_s,
               flat_step_s=flat_timing["median_s"] / s,
               vmap_over_flat_time=run_s / flat_timing["median_s"])
  return out


def bench_train_step(model, params, *, batch_size: int, repeats: int,
                     compare_torch: bool = True,
                     torch_refs: Mapping[str, torch_client.TorchReference]
                     | None = None, seed: int = 0) -> dict:
  """Steps/s of one training step of the model's loss (Adam, EMA) on random data."""
  key = jax.random.key(seed)
  k3, k2 = jax.random.split(jax.random.fold_in(key, 7))
  joints = model.representation.num_joints
  batch = {"pose3d": jax.random.normal(k3, (batch_size, joints, 3)),
           "pose2d": jax.random.normal(k2, (batch_size, joints, 2))}
  tx = train_lib.make_optimizer()
  state = train_lib.init_train_state(params, tx)
  step = jax.jit(train_lib.make_train_step(model.loss, tx),
                 donate_argnums=0)
  calls = {}
  program = programs.training_steps(calls, step, state, batch, key)

  shapes = roofline.dense_shapes(params, batch_size)
  mm = roofline.matmul_roofline(shapes, backward=True, time_it=False,
                                compiler_options=program["compiler_options"])
  torch_refs = dict(torch_refs or {})
  calls["matmul"] = (mm["fn"], mm["args"])
  calls.update({name: (ref.train, (batch_size,))
                for name, ref in torch_refs.items()})
  calls = with_torch_products(calls, torch_refs, shapes, backward=True)
  times, memory = _measured(calls, repeats, torch_refs, program["program"])
  step_s = statistics.median(times["step"])
  matmul_s = statistics.median(times["matmul"])
  out = dict(batch_size=batch_size, compile_s=program["compile_s"],
             compiler_options=program["compiler_options"], step_s=step_s,
             step_times_s=times["step"], steps_per_s=1.0 / step_s,
             loss=float(program["last"]()[1]["loss"]),
             matmul_s=matmul_s, matmul_times_s=times["matmul"],
             matmul_gflops=mm["flops"] / matmul_s / 1e9,
             achieved_gflops=mm["flops"] / step_s / 1e9,
             roofline_fraction=statistics.median(
                 m / t for m, t in zip(times["matmul"], times["step"])),
             **products_gflops(times, mm["flops"]), **memory,
             **programs.training_figures(times))
  if compare_torch and batch_size == 1000:
    ref = torch_client.TORCH_REFERENCE["train_step_s_batch_1000"]
    out.update(torch_step_s=ref, speedup_vs_torch=ref / step_s)
  out.update(torch_client.torch_measured(torch_refs, times, "step"))
  return out


def run_bench(*, quick: bool = False, steps: int | None = None,
              repeats: int | None = None,
              configs: Sequence[tuple[int, int]] | None = None,
              train_batch: int | None = None, flat: bool = True,
              torch_refs: Mapping[str, torch_client.TorchReference] | None = None,
              log: Callable[[str], None] = print) -> dict:
  """The whole `python -m experiments.bench.sampling` measurement as a dict.

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
  if quick and torch_refs:
    raise ValueError("torch_refs: the torch reference is the paper-size "
                     "network; it cannot be compared with quick sizes")
  q = QUICK if quick else {}
  steps = checks.check_positive_int("steps", steps or q.get("steps", 10))
  repeats = checks.check_positive_int("repeats", repeats or q.get("repeats", 3))
  configs = tuple(configs or q.get("configs", BENCH_CONFIGS))
  train_batch = int(train_batch or q.get("train_batch", 1000))
  hw = timing.hardware_info()
  model, run = bench_model(**q.get("model", {}))
  params = model.init(rng.purpose_key(0, "init"))
  result = dict(hardware=hw, quick=quick, steps=steps, repeats=repeats,
                network=dict(num_params=models.count_params(params),
                             size="quick" if quick else
                             "paper (experiments/configs/gfpose_base.py)"),
                torch_reference=torch_client.TORCH_REFERENCE, sampling=[])
  if torch_refs:
    result["torch_side_by_side"] = {n: r.info for n, r in torch_refs.items()}
    log(f"torch side by side: {result['torch_side_by_side']}")
  log(f"hardware: {hw['cpu_model']}, {hw['cpu_count']} cores, "
      f"{hw['devices']}, jax {hw['jax_version']}, load {hw['load_average_1_5_15']}")
  log(f"network: {result['network']['num_params']:,} parameters")
  # What one large product reaches here, beside which the rows' read.
  result["peak_matmul_gflops"] = roofline.peak_gflops(256 if quick else 2048)
  log(f"peak of one large product: {result['peak_matmul_gflops']:.0f} GFLOP/s")
  for b, h in configs:
    r = bench_sampling_config(model, params, eps=run.eval_options.eps,
                              num_poses=b, num_hypotheses=h, num_steps=steps,
                              repeats=repeats, flat=flat,
                              compare_torch=not quick, torch_refs=torch_refs)
    result["sampling"].append(r)
    log(format_sampling(r))
  result["compile_s"] = result["sampling"][-1]["compile_s"]
  result["train"] = bench_train_step(model, params, batch_size=train_batch,
                                     repeats=repeats, compare_torch=not quick,
                                     torch_refs=torch_refs)
  log(format_train(result["train"]))
  if torch_refs:
    # First calls include torch.compile's compilation: the figure to set
    # beside jaxpose's compile_s.
    result["torch_first_call_s"] = {
        n: r.request(op="info").get("first_call_s", {})
        for n, r in torch_refs.items()}
    log(f"torch first calls (s): {result['torch_first_call_s']}")
  result["memory"] = timing.peak_memory()
  result["load_average_after"] = timing.load_average()
  log(f"peak memory: {result['memory']}; load after "
      f"{result['load_average_after']}")
  return result


def format_sampling(r: Mapping) -> str:
  """One line of a `bench_sampling_config` result."""
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
  return line + timing.memory_text(r)



def format_train(r: Mapping) -> str:
  """One line of a `bench_train_step` result."""
  line = (f"train B={r['batch_size']}: compile {r['compile_s']:.2f}s, "
          f"{r['step_s'] * 1e3:.1f} ms/step ({r['steps_per_s']:.2f} steps/s), "
          f"roofline {r['roofline_fraction']:.2f}")
  if "speedup_of_options" in r:
    line += f", x{r['speedup_of_options']:.2f} with the CPU training options"
  return line + _torch_text(r) + timing.memory_text(r)


def _torch_text(r: Mapping) -> str:
  text = ""
  if "speedup_vs_torch" in r:
    text += f", x{r['speedup_vs_torch']:.2f} vs torch (quoted)"
  for name, m in r.get("torch_measured", {}).items():
    text += f", x{m['speedup']:.2f} vs {name} ({m['step_s'] * 1e3:.1f} ms)"
  if "torch_matmul_gflops" in r:
    text += (f"; products {r['matmul_gflops']:.0f} GFLOP/s, PyTorch's "
             f"{r['torch_matmul_gflops']:.0f}")
  return text


__all__ = ["BENCH_CONFIGS", "QUICK", "TORCH_PRODUCTS", "with_torch_products",
           "products_gflops", "bench_model", "bench_sampling_config",
           "bench_train_step", "run_bench", "format_sampling", "format_train"]
