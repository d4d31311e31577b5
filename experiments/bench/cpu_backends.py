"""Every dense-product back end XLA offers on this CPU, measured, and the
XLA options it chooses for jaxpose's programs here.

  python -m experiments.bench.cpu_backends
      [--out=experiments/results/bench_cpu_backends_cpu_<name>.json]
      [--install] [--steps=5] [--rounds=10] [--quick]

Each candidate (`CANDIDATES`: YNNPACK with or without the elementwise work,
XLA's own dot, XNNPACK, oneDNN, as XLA 0.10's compiler options) is first
compiled in a process of its own (`probe_in_subprocess`: a back end can
abort the process that compiles with it) on a small forward-and-backward
program: whether this jaxlib takes the options, whether the compiled
program (its optimised HLO) differs from another candidate's, whether its
result agrees with XLA's defaults'. Those that compile to a program of
their own then time GFPose at the paper's size
(random weights): one Euler-Maruyama step for each (poses, hypotheses) of
`PROGRAMS` and one training step, each program's candidates in the same
rounds (`timing.time_interleaved`).

For each kind of program (`xla_options.CHOICE_KINDS`) the candidate whose
time over XLA's defaults' (median of the per-round ratios, geometric mean
over the kind's programs) is lowest is chosen, if it is at least MIN_GAIN
faster than the defaults. `--install` stores that choice where
`xla_options.cpu_choice` reads it, for this CPU model and jax version.
The logic is `run_bench`.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import signal
import statistics
import subprocess
import sys
from typing import Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from experiments.bench import programs
from experiments.bench import throughput
from experiments.bench import timing
from jaxpose import checks
from jaxpose import rng
from jaxpose.core import host_memory
from jaxpose.core import xla_options
from jaxpose.methods.gfpose import problems
from jaxpose.training import train as train_lib

_YNN = "xla_cpu_experimental_ynn_fusion_type"
# name -> XLA compiler options. XLA's defaults first: every ratio is to it.
CANDIDATES = {
    "ynnpack_fused": {},
    "ynnpack_dots": {_YNN: "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT"},
    "xla_dot": {_YNN: ""},
    "xnnpack_dots": {_YNN: "", "xla_cpu_use_xnnpack": True,
                     "xla_cpu_experimental_xnn_fusion_type":
                         "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT"},
    "xnnpack_graph": {_YNN: "", "xla_cpu_experimental_xnn_graph_fusion_mode":
                          "XNN_GRAPH_FUSION_MODE_GREEDY"},
    "onednn_custom_call": {_YNN: "",
                           "xla_cpu_experimental_onednn_custom_call": True},
    "onednn_dots": {_YNN: "", "xla_cpu_use_onednn": True,
                    "xla_cpu_experimental_onednn_fusion_type":
                        "LIBRARY_FUSION_TYPE_DOT"},
}
DEFAULTS = "ynnpack_fused"

# (kind, label, poses, hypotheses) of the samplers, (kind, label, batch) of
# the training step.
PROGRAMS = (("sampling_small", "1x1", 1, 1),
            ("sampling_small", "1x200", 1, 200),
            ("sampling_large", "16x200", 16, 200),
            ("training", "training", 1000))
QUICK_PROGRAMS = (("sampling_small", "1x1", 1, 1),
                  ("sampling_small", "1x4", 1, 4),
                  ("sampling_large", "2x4", 2, 4),
                  ("training", "training", 16))
# A back end replaces XLA's defaults only this much faster (the rounds'
# spread on a shared 2-core machine is a few percent).
MIN_GAIN = 0.03
PROBE_TIMEOUT_S = 600
# A back end whose probe result is further from XLA's defaults' than this
# (relative to the largest entry) is never timed or chosen: float32 sums in
# another order differ by about 1e-7.
RESULT_TOLERANCE = 1e-4


# ------------------------------------------------------------ the probe
def probe(options: Mapping) -> dict:
  """Compiles a small forward-and-backward program (products, bias, SiLU,
  a sum) under XLA's defaults and under `options`, runs both: status 'ok'
  with the compiled program's digest and the largest relative difference
  of the results, or 'refused' with XLA's message."""
  k1, k2 = jax.random.split(jax.random.key(0))
  w = jax.random.normal(k1, (256, 256)) / 16.0
  x = jax.random.normal(k2, (512, 256))

  def loss(w, x):
    h = jax.nn.silu(x @ w + 1.0)
    return jnp.sum(jax.nn.silu(h @ w) ** 2)
  program = jax.jit(jax.value_and_grad(loss))
  want = program.lower(w, x).compile()(w, x)
  try:
    compiled = program.lower(w, x).compile(compiler_options=dict(options))
  except Exception as e:  # jaxlib's error type has moved between releases
    return dict(status="refused", message=str(e).splitlines()[0][:300])
  got = compiled(w, x)
  diff = max(float(np.max(np.abs(g - r)) / (np.max(np.abs(r)) + 1e-30))
             for g, r in zip(map(np.asarray, jax.tree.leaves(got)),
                             map(np.asarray, jax.tree.leaves(want))))
  return dict(status="ok", max_rel_diff=diff,
              program_digest=program_digest(compiled.as_text()))


def program_digest(hlo_text: str) -> str:
  """A digest of a compiled program's computations, without the source
  locations, which a program loaded from the compilation cache numbers
  otherwise than one just compiled."""
  lines = hlo_text.splitlines()
  start = next((i for i, line in enumerate(lines)
                if line.startswith(("%", "ENTRY"))), 0)
  body = re.sub(r", metadata=\{[^{}]*\}", "", "\n".join(lines[start:]))
  return hashlib.sha256(body.encode()).hexdigest()[:16]


def _child_command(options: Mapping) -> list[str]:
  return [sys.executable, "-m", "experiments.bench.cpu_backends",
          f"--probe={json.dumps(dict(options))}"]


def probe_in_subprocess(options: Mapping, *,
                        timeout_s: float = PROBE_TIMEOUT_S) -> dict:
  """`probe(options)` in a process of its own: its record, or status
  'crashed' (with the exit status and the last line it wrote) where the
  process died."""
  try:
    done = subprocess.run(_child_command(options), capture_output=True,
                          text=True, timeout=timeout_s, check=False)
  except subprocess.TimeoutExpired:
    return dict(status="crashed", message=f"no answer in {timeout_s:.0f} s")
  lines = done.stdout.strip().splitlines()
  if done.returncode == 0 and lines:
    try:
      return json.loads(lines[-1])
    except ValueError:
      pass
  return dict(status="crashed", message=_death(done.returncode, done.stderr))


def _death(returncode: int, stderr: str) -> str:
  """How a probe's process ended: Python's fatal error, else the signal or
  exit status and its last line."""
  fatal = re.search(r"Fatal Python error: ([^\n]+)", stderr)
  if fatal:
    return fatal.group(1).strip()[:300]
  how = (f"killed by {signal.Signals(-returncode).name}" if returncode < 0
         else f"exit status {returncode}")
  last = (stderr.strip().splitlines() or ["(nothing)"])[-1]
  return f"{how}: {last[:300]}"


def probe_all(candidates: Mapping[str, Mapping], *,
              log: Callable[[str], None] = print) -> dict[str, dict]:
  """name -> its probe record, with `same_program_as` naming the first
  candidate before it that compiled to the very same program; status
  'wrong results' where its result is not within RESULT_TOLERANCE."""
  out, digests = {}, {}
  for name, options in candidates.items():
    record = probe_in_subprocess(options)
    if record["status"] == "ok" and not (
        record["max_rel_diff"] <= RESULT_TOLERANCE):
      record.update(status="wrong results", message=(
          f"{record['max_rel_diff']:.2g} from XLA's defaults' result"))
    digest = record.get("program_digest") if record["status"] == "ok" else None
    if digest is not None:
      record["same_program_as"] = digests.setdefault(digest, name)
      if record["same_program_as"] == name:
        record["same_program_as"] = None
    out[name] = record
    log(f"{name}: {record['status']}"
        + (f" (same program as {record['same_program_as']})"
           if record.get("same_program_as") else "")
        + (f": {record['message']}" if "message" in record else ""))
  return out


# ------------------------------------------------------------ the timing
def _calls(model, params, eps: float, programs_: tuple, steps: int,
           candidates: Mapping[str, Mapping]) -> dict:
  """'label/candidate' -> (fn, args): every program compiled with every
  candidate's options (a training step goes on from its own state)."""
  key = jax.random.key(0)
  joints = model.representation.num_joints
  calls = {}
  for kind, label, *size in programs_:
    if kind == "training":
      k3, k2 = jax.random.split(jax.random.fold_in(key, 7))
      batch = {"pose3d": jax.random.normal(k3, (size[0], joints, 3)),
               "pose2d": jax.random.normal(k2, (size[0], joints, 2))}
      tx = train_lib.make_optimizer()
      state = train_lib.init_train_state(params, tx)
      step = jax.jit(train_lib.make_train_step(model.loss, tx),
                     donate_argnums=0)
      for name, options in candidates.items():
        compiled, _ = timing.compile_timed(step, state, batch, key,
                                           compiler_options=options)
        calls[f"{label}/{name}"] = (programs.stepping(compiled, state, batch,
                                                      key), ())
      continue
    b, h = size
    pose2d = jax.random.normal(jax.random.fold_in(key, b * 1000 + h),
                               (b, joints, 2))
    problem = problems.estimation_problem(pose2d)
    hyp = programs.make_hypotheses_fn(
        model.make_sampler("euler_maruyama", steps, eps=eps), h)
    calls.update(programs.compiled_variants(hyp, (params, key, problem),
                                            candidates, prefix=f"{label}/"))
  return calls


def pick(ratios: Mapping[str, Mapping[str, float]],
         kinds: Mapping[str, str], *, min_gain: float = MIN_GAIN
         ) -> dict[str, str]:
  """kind -> the chosen candidate: XLA's defaults unless one is at least
  `min_gain` faster; of those within `min_gain` of the fastest, the first
  in `ratios`' order (the simpler back end where they are alike).

  Args:
    ratios: program label -> {candidate: its time over XLA's defaults'},
      candidates in order of preference.
    kinds: program label -> its kind.
    min_gain: how much faster than the defaults a candidate must be.
  """
  out = {}
  for kind in dict.fromkeys(kinds.values()):
    labels = [label for label, k in kinds.items() if k == kind]
    names = [n for n in ratios[labels[0]]
             if all(n in ratios[label] for label in labels)]
    score = {name: math.exp(statistics.fmean(
        math.log(ratios[label][name]) for label in labels)) for name in names}
    best = min(score.values())
    out[kind] = (next(n for n in names if score[n] <= best * (1 + min_gain))
                 if best <= 1.0 - min_gain else DEFAULTS)
  return out


def run_bench(*, quick: bool = False, steps: int = 5, rounds: int = 10,
              candidates: Mapping[str, Mapping] | None = None,
              log: Callable[[str], None] = print) -> dict:
  """The measurement as a dict (the module docstring); `quick`: a tiny
  network and sizes (seconds; for tests)."""
  steps = checks.check_positive_int("steps", steps)
  rounds = checks.check_positive_int("rounds", rounds)
  candidates = dict(CANDIDATES if candidates is None else candidates)
  if next(iter(candidates), None) != DEFAULTS or candidates[DEFAULTS]:
    raise ValueError(f"candidates must start with {DEFAULTS!r}: {{}} (XLA's "
                     f"defaults, what every ratio is to)")
  programs_ = QUICK_PROGRAMS if quick else PROGRAMS
  hw = timing.hardware_info()
  log(f"hardware: {hw['cpu_model']}, {hw['cpu_vector_extensions']}, "
      f"jax {hw['jax_version']}")
  probes = probe_all(candidates, log=log)
  # One compiled program is one back end: timed once, under its first name.
  timed = {n: o for n, o in candidates.items()
           if probes[n]["status"] == "ok" and not probes[n]["same_program_as"]}
  model, run = throughput.bench_model(
      **(throughput.QUICK["model"] if quick else {}))
  params = model.init(rng.purpose_key(0, "init"))
  calls = _calls(model, params, run.eval_options.eps, programs_, steps, timed)
  kinds = {label: kind for kind, label, *_ in programs_}
  # Each program's back ends take turns with each other only, as a run
  # calls one program over and over: a small program timed between large
  # ones runs from caches they have filled with their own data.
  memory, times = {}, {}
  with timing.row_memory(memory):
    for label in kinds:
      times.update(timing.time_interleaved(
          {n: c for n, c in calls.items() if n.startswith(f"{label}/")},
          rounds=rounds))
  per_call = {label: steps if kind != "training" else 1
              for label, kind in kinds.items()}
  ratios = {label: {name: statistics.median(
      t / d for t, d in zip(times[f"{label}/{name}"],
                            times[f"{label}/{DEFAULTS}"])) for name in timed}
            for label in kinds}
  chosen = pick(ratios, kinds)
  rows = []
  for name, options in candidates.items():
    chosen_for = [k for k, n in chosen.items() if n == name]
    row = dict(name=name, options=dict(options),
               **{"message": None, "same_program_as": None, **probes[name]},
               chosen_for=chosen_for,
               chosen_text=", ".join(chosen_for) or None,
               seconds={label: None for label in kinds},
               over_defaults={label: None for label in kinds})
    if name in timed:
      row["seconds"] = {label: statistics.median(times[f"{label}/{name}"])
                        / per_call[label] for label in kinds}
      row["over_defaults"] = {label: ratios[label][name] for label in kinds}
    rows.append(row)
    log(f"{name}: " + (", ".join(
        f"{label} {row['seconds'][label] * 1e3:.1f} ms "
        f"(x{row['over_defaults'][label]:.2f})" for label in kinds)
                       if name in timed else "not timed ("
                       + (f"same program as {row['same_program_as']}"
                          if row["same_program_as"] else row["status"]) + ")"))
  log(f"chosen: {chosen}")
  return dict(hardware=hw, quick=quick, steps=steps, rounds=rounds,
              min_gain=MIN_GAIN, programs=[dict(kind=k, label=l, size=list(s))
                                           for k, l, *s in programs_],
              candidates=rows, chosen=chosen,
              chosen_options={k: dict(candidates[n]) for k, n in chosen.items()},
              builtin_choice=xla_options.builtin_choice(
                  xla_options.cpu_flags()).options(),
              **memory)


def main(argv):
  from absl import app  # pylint: disable=import-outside-toplevel
  from jaxpose import files  # pylint: disable=import-outside-toplevel
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  if _PROBE.value is not None:
    print(json.dumps(probe(json.loads(_PROBE.value))))
    return
  host_memory.retain_freed_memory()
  result = run_bench(quick=_QUICK.value, steps=_STEPS.value,
                     rounds=_ROUNDS.value)
  if _INSTALL.value:
    if _QUICK.value:
      raise app.UsageError("--install takes the paper-size measurement; "
                           "drop --quick")
    result["installed_to"] = xla_options.home_relative(xla_options.write_choice(
        xla_options.choice_file() or xla_options.DEFAULT_CHOICE_FILE,
        result["chosen_options"], measured_by=" ".join(sys.argv)))
    print(f"installed the choice in {result['installed_to']}"
          + ("" if xla_options.choice_file() else
             f" ({xla_options.CHOICE_ENV} is empty here: unset it for "
             "jaxpose to use the file)"))
  print(f"wrote {files.write_json_atomic(_OUT.value, result)}")


if __name__ == "__main__":
  from absl import app
  from absl import flags
  _OUT = flags.DEFINE_string("out", "bench_cpu_backends.json", "JSON path.")
  _INSTALL = flags.DEFINE_bool(
      "install", False, "Store the choice where jaxpose's programs read it "
      "(JAXPOSE_XLA_CHOICE, else ~/.cache/jaxpose/xla_cpu_choice.json).")
  _STEPS = flags.DEFINE_integer("steps", 5, "Sampler steps per timed call.")
  _ROUNDS = flags.DEFINE_integer("rounds", 10, "Timed rounds (median).")
  _QUICK = flags.DEFINE_bool("quick", False, "Tiny sizes (tests).")
  _PROBE = flags.DEFINE_string("probe", None, "Internal: probe these options "
                               "(JSON) and print the record.")
  app.run(main)
