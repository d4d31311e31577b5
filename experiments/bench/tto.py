"""DPoser's speed against the authors' code in PyTorch, in the same run.

  python -m experiments.bench.tto --out=bench_tto.json
      [--torch_python=PATH [--torch_modes=eager,compiled]]
      [--quick] [--repeats=5] [--tto_iters=180]

DPoser as the library builds it (`experiments/configs/dposer_quickstart.py`
through the method's own `build`: `bench_model`, with made-up body
statistics and bones in place of those prepared from the training data; the
work does not depend on them), the network at the paper's size (`score_mlp`
with data_dim=63, cond_dim=0, hidden 1024, embed 512, 2 blocks, dropout
0.1, 7,227,967 parameters; sub-VP, beta 0.1 to 20), three figures, each
timed in alternation with the same operation written the authors' way in
PyTorch (`experiments/bench/torch_dposer.py`, its own process, torch-only):

  sampler step    one reverse Euler-Maruyama step of the unconditional
                  sampler at 500 rows (`DPoserModel.make_sampler`,
                  `Problem(cond=None)`; a run of --sampler_steps steps
                  divided by the steps), under XLA's defaults as the method
                  compiles it, and under the samplers' CPU options beside.
  training step   one step at batch 1280 of `DPoserModel.loss` (noise
                  prediction averaged over the dims, `core.losses.dsm_loss`)
                  through `training.train.make_train_step`: Adam 2e-4 with
                  warm-up, clipping at 1.0, EMA 0.9999.
  TTO iteration   one iteration of DPoser's motion denoising of a 60-frame
                  clip, the library's solver (`methods.dposer.fitting.
                  make_motion_solver` with the 'dposer' prior): forward
                  kinematics of the 60 poses (plus root orientation and
                  translation) on the 22-joint tree with fixed bone lengths,
                  data term, temporal smoothness, DPoser's regulariser on a
                  truncated schedule, Adam; the whole loop of --tto_iters
                  iterations is one compiled program (jit of vmap over
                  clips, here one), so an iteration is loop time / iterations.

Every ratio is the median of per-round ratios (jaxpose and torch take turns,
one call each per round), so drift in the machine's speed cancels; the
targets (`TARGETS`) are judged against eager PyTorch, which is how the
authors run, and the ratio to torch.compile is reported beside it.  The JSON
holds the hardware (CPU model, cores, load before and after), jax and torch
versions, and for each figure the CPU other processes took during its
rounds (`machine_load.OtherWork`); a loaded machine marks the run `busy`,
since PyTorch suffers far more from contention than XLA (run it again on a
quiet machine).  `tto_measure` holds how the rounds are timed; the speed
page's tables (experiments/report/pages/speed.py) are read from the JSON.
"""
from __future__ import annotations

import contextlib
import os
import statistics
from typing import Callable, Mapping

from absl import app
from absl import flags
import jax
import jax.numpy as jnp
import numpy as np

from experiments.bench import programs
from experiments.bench import roofline
from experiments.bench import timing
from experiments.bench import torch_client
from experiments.bench import tto_measure
from experiments.bench.machine_load import is_busy
from experiments.configs import dposer_quickstart
from jaxpose import checks
from jaxpose import files
from jaxpose import methods
from jaxpose import models
from jaxpose import rng
from jaxpose.core import host_memory
from jaxpose.core import regulariser
from jaxpose.core import sampling
from jaxpose.core import xla_options
from jaxpose.methods import base
from jaxpose.methods.dposer import body as body_lib
from jaxpose.methods.dposer import fitting
from jaxpose.methods.dposer import model as dposer_model
from jaxpose.methods.dposer import priors as priors_lib
from jaxpose.methods.dposer import tto as dposer_tto
from jaxpose.pose import body_space
from jaxpose.training import train as train_lib

# DPoser at the paper's size (shared/design/papers.md, DPoser section), on
# the committed quickstart config: only the network's size changes.
PAPER_MODEL = dict(hidden=1024, embed_dim=512, num_blocks=2, dropout=0.1,
                   num_groups=32)
# The paper's training settings (Adam 2e-4, warm-up 5000, clip 1.0, EMA 0.9999).
PAPER_TRAIN = dict(learning_rate=2e-4, warmup_steps=5000, grad_clip=1.0,
                   ema_decay=0.9999)

# Sizes of the three figures (the issue's).  The TTO loop's iterations
# default to the config's eval.denoise_motion.steps (180: the authors'
# 3 x 60 at 40 mm noise).
SAMPLER_ROWS = 500
SAMPLER_STEPS = 10
TRAIN_BATCH = 1280
TTO_BATCH = 60
REPEATS = 5

# Speed-up over the authors' code (eager PyTorch, same rounds) to reach.
TARGETS = {"sampler_step": 1.2, "train_step": 1.2, "tto_iteration": 2.0}

QUICK = dict(model=dict(hidden=64, embed_dim=32, num_blocks=1, num_groups=8),
             sampler_rows=8, sampler_steps=2, train_batch=16, tto_batch=6,
             tto_iters=4, repeats=1)

# Round bone lengths of an adult in mm (the bone ending at each joint of
# SMPL_22, root first), made up here: no body-model numbers, and the timing
# does not depend on them.
BONE_LENGTHS_MM = np.array(
    [0, 110, 110, 120, 400, 400, 140, 420, 420, 60, 140, 140, 220, 140, 140,
     100, 110, 110, 270, 270, 250, 250], np.float32)

DPOSER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                             "torch_dposer.py")


# ---------------------------------------------------------------- the model
def bench_artefact() -> base.Artefact:
  """DPoser's prepared "body" artefact, made up: identity z-scores, the bones
  `BONE_LENGTHS_MM` and a uniform 22 -> 17 regressor (rows summing to 1),
  in place of what `dposer.model.prepare` fits on the training data (the
  timed work does not depend on these values)."""
  joints = body_space.NUM_JOINTS
  return base.Artefact(arrays=dict(
      zscore_mean=np.zeros(body_lib.DIM, np.float32),
      zscore_std=np.ones(body_lib.DIM, np.float32),
      bone_lengths=BONE_LENGTHS_MM,
      regressor=np.full((17, joints), 1 / joints, np.float32)))


def bench_model(**model_overrides):
  """DPoser as `dposer_quickstart` configures it, at the paper's network size
  (`PAPER_MODEL`), with `config.model` overrides, on `bench_artefact`:
  (its model, `DPoserModel`, untrained; the config as typed settings)."""
  config = dposer_quickstart.get_config()
  config.model.update({**PAPER_MODEL, **model_overrides})
  method, run = methods.parse(config)
  model = method.build(run, {dposer_model.ARTEFACT: bench_artefact()}, {})
  return model, run


def embedding_rows(fn: Callable, *args, embed_dim: int) -> dict:
  """How many rows the sinusoidal time embedding has in fn's program.

  The embedding is the only `sin` whose last axis is embed_dim / 2 (the
  forward kinematics' sines have other shapes); one row means the time
  path (the embedding and every layer's projection of it) runs once per
  network call, broadcast over the batch.
  """
  half = embed_dim // 2
  shapes = [s for s in roofline.primitive_shapes(fn, *args, name="sin")
            if s and s[-1] == half]
  rows = sorted({int(np.prod(s[:-1])) for s in shapes})
  return dict(sin_shapes=[list(s) for s in shapes], embedding_rows=rows,
              once_per_call=bool(shapes) and rows == [1])


# ------------------------------------------------------- torch side by side
def start_torch_refs(python: str | None, modes=torch_client.TORCH_MODES,
                     stack: contextlib.ExitStack | None = None,
                     script: str = DPOSER_SCRIPT, device: str = "cpu",
                     matmul_precision: str = "highest"):
  """torch_<mode> -> TorchReference running torch_dposer.py on `device`
  ({} without python)."""
  return torch_client.start_torch_refs(python, script, modes, stack,
                                       device=device,
                                       matmul_precision=matmul_precision)


# ----------------------------------------------------------------- sampler
def bench_sampler_step(model, params, *, rows: int, steps: int, repeats: int,
                       torch_refs=None, seed: int = 0) -> dict:
  """One reverse Euler-Maruyama step of the unconditional sampler at `rows`.

  `model.make_sampler` and the problem of `DPoserModel.sample_body_poses`
  (`Problem(cond=None)` on z-scored vectors), its program compiled ahead
  under XLA's defaults and, beside it in the same rounds, under the
  samplers' CPU options for `rows` (`core.xla_options.sampling_options`,
  which `make_sampler`'s top-level calls pick); the row's time (`step_s`, and
  the ratios to PyTorch) is the one the library picks, `program` says which.
  """
  torch_refs = dict(torch_refs or {})
  sampler = model.make_sampler("euler_maruyama", steps)
  problem = sampling.Problem(
      x_init=jnp.zeros((rows, body_lib.DIM), jnp.float32), cond=None)
  key = jax.random.key(seed)
  args = (params, key, problem)
  calls = {}
  out = dict(rows=rows, steps=steps, sampler="euler_maruyama",
             **tto_measure.with_options_variant(calls, "run", sampler.jitted,
                                                args, rows=rows),
             time_embedding=embedding_rows(sampler.jitted, *args,
                                           embed_dim=_embed_dim(model)))
  calls.update(tto_measure.torch_calls(torch_refs, "sample", rows=rows,
                                       steps=steps))
  flops = tto_measure.with_products(calls, params, rows, torch_refs,
                                    backward=False, shared_rows=1)
  # The row is the program the library runs at this size (`make_sampler`'s
  # top-level calls pick the options by rows).
  picked = ("run_options" if "run_options" in calls
            and xla_options.sampling_options(rows=rows) else "run")
  times, out["other_work"] = tto_measure.interleaved(
      calls, repeats=repeats, torch_refs=torch_refs, memory=out,
      program=calls[picked][0])
  out.update(tto_measure.summary(times, picked, torch_refs, per=steps,
                                 target=TARGETS["sampler_step"]))
  out.update(tto_measure.options_figures(times, "run", steps),
             defaults_step_s=statistics.median(times["run"]) / steps,
             program="the CPU sampling options" if picked != "run"
             else "XLA's defaults")
  out.update(tto_measure.products_figures(times, picked, flops, steps))
  return out


def _embed_dim(model) -> int:
  return int(model.network.kwargs["embed_dim"])


# ---------------------------------------------------------------- training
def bench_train_step(model, params, *, batch_size: int, repeats: int,
                     torch_refs=None, seed: int = 0) -> dict:
  """One step of `model.loss` through `train.make_train_step` (Adam
  with warm-up, clip 1.0, EMA; `PAPER_TRAIN`) at `batch_size`."""
  torch_refs = dict(torch_refs or {})
  key = jax.random.key(seed)
  batch = {"x": jax.random.normal(jax.random.fold_in(key, 7),
                                  (batch_size, body_lib.DIM))}
  hp = PAPER_TRAIN
  tx = train_lib.make_optimizer(learning_rate=hp["learning_rate"],
                                warmup_steps=hp["warmup_steps"],
                                grad_clip=hp["grad_clip"])
  state = train_lib.init_train_state(params, tx)
  step = jax.jit(train_lib.make_train_step(model.loss, tx,
                                           ema_max_decay=hp["ema_decay"]),
                 donate_argnums=0)
  calls = {}
  program = programs.training_steps(calls, step, state, batch, key)
  calls.update(tto_measure.torch_calls(torch_refs, "train", batch=batch_size))
  flops = tto_measure.with_products(calls, params, batch_size, torch_refs,
                                    backward=True, shared_rows=None)
  memory = {}
  times, other = tto_measure.interleaved(calls, repeats=repeats,
                                         torch_refs=torch_refs, memory=memory,
                                         program=program["program"])
  out = dict(batch_size=batch_size, compile_s=program["compile_s"],
             compiler_options=program["compiler_options"],
             loss=float(program["last"]()[1]["loss"]), other_work=other, **hp,
             **memory, **programs.training_figures(times))
  out.update(tto_measure.summary(times, "step", torch_refs, per=1,
                                 target=TARGETS["train_step"]))
  out.update(tto_measure.products_figures(times, "step", flops, 1))
  return out


# -------------------------------------------------------------------- TTO
def tto_inputs(batch: int, seed: int = 0) -> dict:
  """One clip of `batch` frames: a smooth motion, its joints with 40 mm noise,
  z-score statistics around it.

  Made up but fixed: the poses' values do not change the work done.
  """
  rng = np.random.default_rng(seed)
  base = 0.3 * rng.standard_normal(body_lib.DIM)
  swing = 0.2 * rng.standard_normal(body_lib.DIM)
  phase = np.linspace(0.0, 2.0 * np.pi, batch)[:, None]  # one cycle per clip
  truth = (base + swing * np.sin(phase)).astype(np.float32)  # [T, 63]
  joints = body_space.forward_kinematics(truth, BONE_LENGTHS_MM)  # [T, 22, 3]
  noisy = joints + 40.0 * rng.standard_normal(joints.shape)
  zscore = body_lib.ZScore(
      mean=(base + 0.1 * rng.standard_normal(body_lib.DIM)).astype(np.float32),
      std=(0.5 + rng.random(body_lib.DIM)).astype(np.float32))
  return dict(noisy=noisy.astype(np.float32), zscore=zscore,
              truth=joints.astype(np.float32))


def make_motion_solver(model, params, opts, zscore, *, num_steps: int):
  """DPoser's motion-denoising solver as its evaluation task builds it.

  The thin adapter between the bench and the library: the 'dposer' prior
  (`priors.DiffusionPrior`, the config's truncated schedule), the model's
  body (`bench_model`: on `BONE_LENGTHS_MM`; motion denoising does not use
  its 22 -> 17 regressor), and `fitting.make_motion_solver` with the
  config's learning rate and weights (`opts`: the typed options of the
  denoise_motion task, `run.task_options["denoise_motion"]`):
  `jit(vmap(solve))`, the whole Adam loop one program.
  """
  prior = priors_lib.DiffusionPrior(
      score_fn=model.score_fn, params=params, sde=model.sde, zscore=zscore,
      schedule=regulariser.TimeSchedule.truncated(*opts.t))
  body = model.body
  solver = fitting.make_motion_solver(
      prior, body, num_steps=num_steps, learning_rate=opts.lr,
      prior_weight=priors_lib.prior_weight(opts.weights, "dposer"),
      smooth_weight=opts.smooth_weight, init_pose=zscore.mean)
  return solver, body


def motion_solver_args(body, noisy, *, seed: int = 0) -> tuple:
  """`solver`'s arguments for one clip (a batch of one example)."""
  root0 = fitting.root_from_joints(body, noisy)  # [T, 3]
  keys = dposer_tto.example_keys(jax.random.key(seed), 1)
  return (jnp.asarray(noisy[None]), jnp.asarray(root0[None]),
          jnp.asarray(body.bone_lengths[None]), keys)


def bench_tto(model, params, opts, *, batch: int, iters: int, repeats: int,
              torch_refs=None, seed: int = 0) -> dict:
  """One test-time-optimisation iteration of a `batch`-frame clip.

  jaxpose: the library's motion-denoising solver (`make_motion_solver`),
  one compiled program of `iters` iterations; torch: the authors' loop
  (torch_dposer.py 'tto') on the same skeleton, same iterations.
  """
  torch_refs = dict(torch_refs or {})
  inputs = tto_inputs(batch, seed)
  solver, body = make_motion_solver(model, params, opts, inputs["zscore"],
                                    num_steps=iters)
  args = motion_solver_args(body, inputs["noisy"], seed=seed)
  calls = {}
  out = dict(batch=batch, iterations=iters,
             **tto_measure.with_options_variant(calls, "run", solver, args))
  fitted = np.asarray(calls["run"][0](*args))[0]  # [T, 22, 3]
  out.update(
      mpjpe_noisy_mm=float(np.mean(np.linalg.norm(
          inputs["noisy"] - inputs["truth"], axis=-1))),
      mpjpe_fitted_mm=float(np.mean(np.linalg.norm(
          fitted - inputs["truth"], axis=-1))),
      finite=bool(np.all(np.isfinite(fitted))),
      time_embedding=embedding_rows(solver, *args,
                                    embed_dim=_embed_dim(model)))
  offsets = body_space.rest_offsets(BONE_LENGTHS_MM / 1000.0)  # metres
  calls.update(tto_measure.torch_calls(
      torch_refs, "tto", batch=batch, iters=iters,
      offsets=np.asarray(offsets, float).tolist(),
      parents=[int(p) for p in body_space.PARENTS]))
  times, out["other_work"] = tto_measure.interleaved(
      calls, repeats=repeats, torch_refs=torch_refs, memory=out,
      program=calls["run"][0])
  out["loop_s"] = statistics.median(times["run"])
  out.update(tto_measure.summary(times, "run", torch_refs, per=iters,
                                 target=TARGETS["tto_iteration"]))
  out.update(tto_measure.options_figures(times, "run", iters))
  return out


# ---------------------------------------------------------------- the bench
def run_bench(*, quick: bool = False, repeats: int | None = None,
              sampler_rows: int | None = None, sampler_steps: int | None = None,
              train_batch: int | None = None, tto_batch: int | None = None,
              tto_iters: int | None = None, torch_refs=None,
              log: Callable[[str], None] = print) -> dict:
  """The whole `python -m experiments.bench.tto` measurement as a dict.

  Args:
    quick: a tiny network and sizes (seconds; for tests).
    repeats: timed rounds (median; default 5, quick 1).
    sampler_rows, sampler_steps: the sampler's rows and steps per timed run.
    train_batch: the training batch.
    tto_batch, tto_iters: frames of the clip and iterations of a timed loop
      (default: the config's eval.denoise_motion.steps, 180, the authors'
      3 x 60 at 40 mm noise).
    torch_refs: name -> TorchReference of torch_dposer.py, timed in the
      same rounds (paper size only).
    log: progress printer.
  """
  if quick and torch_refs:
    raise ValueError("torch_refs: the torch reference is the paper-size "
                     "network; it cannot be compared with quick sizes")
  q = QUICK if quick else {}
  pick = lambda v, name, default: checks.check_positive_int(
      name, v or q.get(name, default))
  model, run = bench_model(**q.get("model", {}))
  opts = run.task_options["denoise_motion"]
  repeats = pick(repeats, "repeats", REPEATS)
  rows = pick(sampler_rows, "sampler_rows", SAMPLER_ROWS)
  steps = pick(sampler_steps, "sampler_steps", SAMPLER_STEPS)
  train_batch = pick(train_batch, "train_batch", TRAIN_BATCH)
  tto_batch = pick(tto_batch, "tto_batch", TTO_BATCH)
  tto_iters = pick(tto_iters, "tto_iters", opts.steps)
  torch_refs = dict(torch_refs or {})
  hw = timing.hardware_info()
  params = model.init(rng.purpose_key(0, "init"))
  result = dict(
      hardware=hw, quick=quick, repeats=repeats, targets=dict(TARGETS),
      network=dict(**run.config["model"], data_dim=body_lib.DIM, cond_dim=0,
                   num_params=models.count_params(params),
                   size="quick" if quick else "paper"),
      sde=dict(run.config["sde"]),
      config="experiments/configs/dposer_quickstart.py, model at the "
             "paper's size" if not quick else "quick")
  result["busy"] = is_busy(hw)
  if torch_refs:
    result["torch_side_by_side"] = {n: r.info for n, r in torch_refs.items()}
    log(f"torch side by side: {result['torch_side_by_side']}")
  log(f"hardware: {hw['cpu_model']}, {hw['cpu_count']} cores, jax "
      f"{hw['jax_version']}, load {hw['load_average_1_5_15']}"
      + (" (busy: the ratios will overstate the idle ones)"
         if result["busy"] else ""))
  log(f"network: {result['network']['num_params']:,} parameters")
  result["sampler_step"] = bench_sampler_step(
      model, params, rows=rows, steps=steps, repeats=repeats,
      torch_refs=torch_refs)
  log(format_row("sampler step", result["sampler_step"]))
  result["train_step"] = bench_train_step(
      model, params, batch_size=train_batch, repeats=repeats,
      torch_refs=torch_refs)
  log(format_row("train step", result["train_step"]))
  result["tto_iteration"] = bench_tto(
      model, params, opts, batch=tto_batch, iters=tto_iters, repeats=repeats,
      torch_refs=torch_refs)
  log(format_row("TTO iteration", result["tto_iteration"]))
  if torch_refs:
    # First calls include torch.compile's compilation.
    result["torch_first_call_s"] = {
        n: r.request(op="info").get("first_call_s", {})
        for n, r in torch_refs.items()}
  result["busy"] = is_busy(hw, [result[k] for k in
                                ("sampler_step", "train_step", "tto_iteration")])
  result["memory"] = timing.peak_memory()
  result["load_average_after"] = timing.load_average()
  log(f"peak memory: {result['memory']}; load after "
      f"{result['load_average_after']}")
  return result


def format_row(name: str, r: Mapping) -> str:
  """One progress line of a figure."""
  line = f"{name}: compile {r['compile_s']:.2f}s, {r['step_s'] * 1e3:.2f} ms"
  other = (r.get("other_work") or {}).get("other_cores")
  if other is not None:
    line += f" (other processes: {other:.2f} cores)"
  for n, m in r.get("torch_measured", {}).items():
    line += f", x{m['speedup']:.2f} vs {n} ({m['step_s'] * 1e3:.2f} ms)"
  if "speedup_of_options" in r:
    line += (f", x{r['speedup_of_options']:.2f} with the CPU "
             f"{'training' if 'batch_size' in r else 'sampling'} options")
  if r.get("target_met") is not None:
    line += (f"; target x{r['target_speedup_vs_torch_eager']:g} "
             f"{'met' if r['target_met'] else 'NOT met'}")
  if "matmul_gflops" in r:
    line += (f"; products {r['matmul_gflops']:.0f} GFLOP/s (roofline "
             f"{r['roofline_fraction']:.2f})")
  if "torch_matmul_gflops" in r:
    line += f", PyTorch's {r['torch_matmul_gflops']:.0f}"
  return line + timing.memory_text(r)


# --------------------------------------------------------------------- main
def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  host_memory.retain_freed_memory()
  with contextlib.ExitStack() as stack:
    refs = start_torch_refs(_TORCH_PYTHON.value, _TORCH_MODES.value, stack,
                            device=_TORCH_DEVICE.value)
    result = run_bench(quick=_QUICK.value, repeats=_REPEATS.value,
                       tto_iters=_TTO_ITERS.value,
                       sampler_steps=_SAMPLER_STEPS.value, torch_refs=refs)
  print(f"wrote {files.write_json_atomic(_OUT.value, result)}")


if __name__ == "__main__":
  # Flags only when run as a script: the bench modules share flag names
  # and are imported side by side (tests, the README tables).
  _OUT = flags.DEFINE_string("out", "bench_tto.json", "JSON path.")
  _QUICK = flags.DEFINE_bool("quick", False, "Tiny sizes and one repeat (tests).")
  _REPEATS = flags.DEFINE_integer("repeats", None, "Timed rounds (median).")
  _TTO_ITERS = flags.DEFINE_integer(
      "tto_iters", None, "Iterations of a timed TTO loop (default: the "
      "config's eval.denoise_motion.steps, 180).")
  _SAMPLER_STEPS = flags.DEFINE_integer(
      "sampler_steps", None, "Sampler steps per timed run (default 10).")
  _TORCH_PYTHON = flags.DEFINE_string(
      "torch_python", None, "A Python with torch: time the authors' way in "
      "PyTorch (experiments/bench/torch_dposer.py) in the same rounds.")
  _TORCH_MODES = flags.DEFINE_list(
      "torch_modes", list(torch_client.TORCH_MODES),
      "With --torch_python: eager PyTorch, torch.compile, or both.")
  _TORCH_DEVICE = flags.DEFINE_string(
      "torch_device", "cpu", "With --torch_python: PyTorch's device (cpu, "
      "cuda: the GPU jaxpose runs on).")
  app.run(main)
