"""The speed page's tables against PyTorch, one set per CPU met: each CPU's
benchmark files (`experiments.bench.sampling`, `experiments.bench.tto`, run
on it with PyTorch in the same rounds) and what its figures mean.

A CPU not in `CPUS` whose two files are in experiments/results/
(bench_sampling_cpu<suffix>.json and bench_tto_cpu<suffix>.json, the
suffix starting with '_') gets its set of tables too (`discovered`),
named from the files' hardware record and with `UNREAD_NOTES`, until
someone writes what its figures mean. A GPU's tables (`speed_gpus`) are
these less the CPU options', with the whole-test-set table
(`test_set_table`).
"""
import dataclasses
import json
import pathlib

from experiments.report import spec


@dataclasses.dataclass(frozen=True)
class Cpu:
  """A CPU the benchmarks ran on.

  Attributes:
    name: its words on the page.
    suffix: its results files' ending (bench_sampling_cpu<suffix>.json).
    notes: {table key: what the table's figures mean on this CPU}; the
      keys are `NOTE_KEYS` ('training_options' only where the files time
      the training options, which adds that table).
    cores: the cores the benchmarks ran on.
    kind: 'cpu', or 'gpu' for the files of `experiments.bench.gpu`.
    full_records: its files time PyTorch on the network's products too
      (and one large product), and DPoser's sampler row is the program the
      library runs (`program`; `defaults_step_s` beside it): the tables
      show both sides' GFLOP/s.
  """
  name: str
  suffix: str
  notes: dict
  full_records: bool = False
  cores: int = 2
  kind: str = "cpu"

  @property
  def hardware(self) -> str:
    if self.kind == "gpu":
      return f"1 GPU ({self.name})"
    return f"{self.cores} CPU cores ({self.name})"

  @property
  def sampling_file(self) -> str:
    return f"bench_sampling_{self.kind}{self.suffix}.json"

  @property
  def tto_file(self) -> str:
    return f"bench_tto_{self.kind}{self.suffix}.json"

  @property
  def test_set_file(self) -> str:
    return f"bench_test_set_{self.kind}{self.suffix}.json"

  def gpu_command(self) -> str:
    return (f"python -m experiments.bench.gpu --name=gpu{self.suffix} "
            "--torch_python=python3")

  def sampling_command(self) -> str:
    if self.kind == "gpu":
      return self.gpu_command()
    return ("python -m experiments.bench.sampling "
            f"--out=experiments/results/{self.sampling_file} "
            "--torch_python=TORCH_VENV/bin/python")

  def tto_command(self) -> str:
    if self.kind == "gpu":
      return self.gpu_command()
    return ("python -m experiments.bench.tto "
            f"--out=experiments/results/{self.tto_file} "
            "--torch_python=TORCH_VENV/bin/python --repeats=5")


NOTE_KEYS = ("gfpose_sampling", "gfpose_training", "dposer",
             "dposer_options", "training_options")

_ROOFLINE = ("A roofline fraction near 1 means the step costs what its "
             "matrix products cost, little left to remove on this CPU; it "
             "exceeds 1 when the compiled step runs its products faster than "
             "the same products timed alone.")
_DPOSER_WHY = ("The TTO loop gains most: jaxpose embeds the diffusion time "
               "once per iteration where the authors' code embeds it per "
               "row, and compiles the whole loop where PyTorch records each "
               "iteration's forward for autograd. The PyTorch side uses "
               "plain forward kinematics where the authors pose an SMPL-X "
               "mesh, so it is faster than their code and the speed-up a "
               "lower bound. 'Other processes' cores': what other work took "
               "of the machine during the timed rounds.")

CPUS = (
    Cpu("AMD EPYC", "", {
        "gfpose_sampling": ("jaxpose's step is faster than both eager "
                            "PyTorch and torch.compile at every size, most "
                            "at the widest. " + _ROOFLINE),
        "gfpose_training": (
            "Training gains less over PyTorch than sampling, and its "
            "roofline fraction is lower: more of a training step is work "
            "besides the network's matrix products (the backward pass's "
            "other operations, the optimiser and the EMA)."),
        "dposer": _DPOSER_WHY,
        "dposer_options": (
            "The options speed up the wide sampler step and slow the TTO "
            "iteration, whose products are small (60 rows): DPoser's TTO "
            "keeps XLA's defaults."),
    }),
    Cpu("Intel Xeon with AVX-512 and AMX", "_xeon_amx", {
        "gfpose_sampling": (
            "jaxpose's step is faster than both eager PyTorch and "
            "torch.compile at every size. Where the margin is under 1.5x, "
            "the last columns say why: the step is mostly matrix products "
            "(roofline fraction 0.8 to 1), which PyTorch multiplies on this "
            "CPU at a speed close to XLA's or above it, so jaxpose's margin "
            "is what it saves around the products. " + _ROOFLINE),
        "gfpose_training": (
            "Training gains less over PyTorch than sampling: the step is "
            "mostly its matrix products (the roofline fraction), which "
            "PyTorch multiplies on this CPU at XLA's speed or faster (the "
            "last columns); what jaxpose saves is around them: the backward "
            "passes of the normalisation and activations, Adam, the EMA and "
            "the gradient norm, each a pass over the 12.5M parameters. The "
            "bfloat16 products that speed up sampling (below) are not used "
            "in training."),
        "dposer": _DPOSER_WHY + (
            " The training step gains least: PyTorch multiplies the "
            "network's products faster than XLA on this CPU (the last "
            "columns), and a fifth of jaxpose's step lies outside them (the "
            "roofline fraction): the normalisation's and activations' "
            "backward passes, the dropout masks, Adam and the EMA."),
        "dposer_options": (
            "As on the EPYC, the options speed up the wide sampler step and "
            "slow the TTO iteration, whose products are small (60 rows)."),
        "training_options": (
            "The training options speed up both training steps on this CPU: "
            "under XLA's defaults YNNPACK's subgraphs take the elementwise "
            "work (normalisation, activations, dropout) with the products, "
            "which XLA's own fusions do faster."),
    }, full_records=True),
    Cpu("AMD EPYC (Zen 4) with AVX-512", "_epyc_zen4", {
        "gfpose_sampling": (
            "jaxpose's step is faster than both eager PyTorch and "
            "torch.compile at every size. The wide steps are their matrix "
            "products (roofline fraction near 1), which XLA multiplies on "
            "this CPU at about the peak of one large product (the file's "
            "`peak_matmul_gflops`) and PyTorch somewhat slower (the last "
            "columns): the margin is the products' speed and little "
            "besides. " + _ROOFLINE),
        "gfpose_training": (
            "Most of the step is its matrix products (the roofline "
            "fraction), and they run near this CPU's peak for one large "
            "product, a little faster than PyTorch's (the last columns). A "
            "float32 step can be no faster than its products at that peak, "
            "which puts the most jaxpose could gain over torch.compile here "
            "at about its step time over those products' time: under 1.5x. "
            "Both processes keep freed host memory (docs/accelerators.md), "
            "so no step faults XLA's temporary buffer in afresh."),
        "dposer": _DPOSER_WHY + (
            " The training step is mostly its products, which both sides "
            "multiply at about the same speed here (the last columns)."),
        "dposer_options": (
            "As on the other CPUs, the options speed up the wide sampler "
            "step and slow the TTO iteration, whose products are small (60 "
            "rows)."),
        "training_options": (
            "On this CPU the training options and XLA's defaults are within "
            "a few percent of each other on both training steps, as the "
            "back-end table below finds with more rounds."),
    }, full_records=True),
)

UNREAD_NOTES = dict.fromkeys(
    NOTE_KEYS, "The figures of a machine met after the others: nobody has "
    "yet written here why a row is where it is; the products' columns set "
    "jaxpose's speed on the network's matrix products beside PyTorch's.")
RESULTS = pathlib.Path(__file__).resolve().parents[3] / "experiments" / "results"
_EXTENSIONS = (("avx512f", "AVX-512"), ("amx_tile", "AMX"), ("avx2", "AVX2"))


def _name(hardware: dict) -> str:
  """'<model> with <its widest vector extensions>' from a hardware record."""
  flags = set(hardware.get("cpu_vector_extensions") or ())
  found = [words for flag, words in _EXTENSIONS if flag in flags]
  if "AVX-512" in found:
    found = [w for w in found if w != "AVX2"]
  model = hardware.get("cpu_model") or "an unnamed CPU"
  return model + (f" with {' and '.join(found)}" if found else "")


def discovered(results: pathlib.Path = RESULTS) -> tuple[Cpu, ...]:
  """The CPUs with both benchmark files in `results` that `CPUS` lacks."""
  known = {cpu.suffix for cpu in CPUS}
  out = []
  for path in sorted(results.glob("bench_sampling_cpu_*.json")):
    suffix = path.name[len("bench_sampling_cpu"):-len(".json")]
    if suffix in known or not (results / f"bench_tto_cpu{suffix}.json"
                               ).exists():
      continue
    with open(path) as f:
      record = json.load(f)
    train = record.get("train") or {}
    hardware = record.get("hardware") or {}
    notes = {k: v for k, v in UNREAD_NOTES.items()
             if k != "training_options" or "speedup_of_options" in train}
    out.append(Cpu(_name(hardware), suffix, notes,
                   full_records="torch_matmul_gflops" in train,
                   cores=int(hardware.get("cpu_affinity")
                             or hardware.get("cpu_count") or 1)))
  return tuple(out)


def test_set_table(gpus: tuple[Cpu, ...]) -> spec.Table:
  """200 hypotheses for each of 100,000 poses on each GPU, both sides."""
  def torch(mode, words):
    return (spec.Col(f"{words} s", f"torch_measured.torch_{mode}.wall_s",
                     ".1f"),
            spec.Col(f"x {words}", f"torch_measured.torch_{mode}.speedup",
                     ".2f"),
            spec.Col(f"{words} device MiB",
                     f"torch_memory.torch_{mode}.device_peak_mib", ".0f"))
  return spec.Table(
      title="Sampling a whole test set against PyTorch",
      intro=("H hypotheses for each of N poses (Human3.6M's test set is "
             "100,000 poses) by GFPose's network at the paper's size, "
             "Euler-Maruyama, the same chunks of poses on both sides in "
             "turns (`experiments.bench.test_set`): wall time without "
             "compilation, and each side's device memory peak. " + TORCH_GPU),
      columns=(spec.Col("poses", "poses", "d"),
               spec.Col("hypotheses", "hypotheses", "d"),
               spec.Col("steps", "steps", "d"),
               spec.Col("jaxpose s", "wall_s", ".1f"),
               spec.Col("jaxpose device MiB", "memory.device_peak_mib", ".0f"),
               *torch("eager", "PyTorch eager"),
               *torch("compiled", "torch.compile"),
               spec.Col("target (x the faster)", "target_speedup", "g"),
               spec.Col("target", "target_met", "met")),
      rows=tuple(spec.Row(gpu.name, gpu.test_set_file, gpu.gpu_command(),
                          seeds="0", hardware=gpu.hardware) for gpu in gpus),
      label_titles=("GPU",),
      note=UNREAD_NOTES["gfpose_sampling"])


TORCH = ("The PyTorch side runs in its own process (`pip install "
         "torch==2.13.0 numpy`, 2 threads) and takes turns with jaxpose, one "
         "call each per round; each speed-up is the median of the "
         "per-round ratios, steadier than the seconds on a machine whose "
         "speed drifts from minute to minute.")
# On a GPU the other side is the machine's own torch, on the same GPU.
TORCH_GPU = ("The PyTorch side (the machine's own torch) runs in its own "
             "process on the same GPU and takes turns with jaxpose, one call "
             "each per round; each speed-up is the median of the per-round "
             "ratios. Both sides multiply float32 as the files' "
             "`float32_products` says.")


def _vs_torch(extra=()) -> tuple[spec.Col, ...]:
  return (spec.Col("s per step", "step_s", ".3g"), *extra,
          spec.Col("PyTorch eager s", "torch_measured.torch_eager.step_s", ".3g"),
          spec.Col("x PyTorch eager", "torch_measured.torch_eager.speedup", ".2f"),
          spec.Col("torch.compile s", "torch_measured.torch_compiled.step_s",
                   ".3g"),
          spec.Col("x torch.compile", "torch_measured.torch_compiled.speedup",
                   ".2f"))


def _options(defaults: str, options: str, speedup: str
             ) -> tuple[spec.Col, ...]:
  """A step compiled with XLA's defaults and with the samplers' options:
  the files' paths of each time and of the speed-up."""
  return (spec.Col("XLA's defaults s", defaults, ".3g"),
          spec.Col("CPU options s", options, ".3g"),
          spec.Col("speed-up of the options", speedup, ".2f"))


PEAK = "one large product GFLOP/s"
_SAMPLES = (("1 pose x 1 hypothesis", 1, 1), ("1 pose x 200 hypotheses", 1, 200),
            ("16 poses x 200 hypotheses", 16, 200))
BIG = "sampling[poses=16,hypotheses=200]"
_DPOSER_CASES = (("TTO iteration, one 60-frame clip", "tto_iteration"),
                 ("sampler step, 500 rows", "sampler_step"),
                 ("training step, batch 1280", "train_step"))


def tables(cpu: Cpu) -> tuple[spec.Table, ...]:
  """The GFPose and DPoser tables against PyTorch, the samplers' options
  and compile times, of one CPU."""

  def sampling(label, at, **kw):
    return spec.Row(label, cpu.sampling_file, cpu.sampling_command(),
                    seeds="0", hardware=cpu.hardware, at=at, **kw)

  def measured(label, at):
    """A row of the GFPose tables, with the CPU's peak where timed."""
    peak = {PEAK: "peak_matmul_gflops"} if cpu.full_records else {}
    return sampling(label, at, fields=peak)

  products = (spec.Col("products GFLOP/s", "matmul_gflops", ".0f"),
              spec.Col("PyTorch's products GFLOP/s", "torch_matmul_gflops",
                       ".0f"),
              spec.Col(PEAK, PEAK, ".0f")) if cpu.full_records else ()
  dposer_products = ((spec.Col("roofline fraction", "roofline_fraction",
                               ".2f"), *products[:2])
                     if cpu.full_records else ())
  products_text = (
      " The products' speed: the network's dense products alone (those of "
      "the roofline fraction; with the backward pass's for training) in "
      "jaxpose and in PyTorch, timed in the same rounds, and one large "
      "2048 x 2048 x 2048 product in jaxpose, near what this "
      f"{cpu.kind.upper()} can do."
      if cpu.full_records else "")

  def tto(label, at, **kw):
    return spec.Row(label, cpu.tto_file, cpu.tto_command(), seeds="0",
                    hardware=cpu.hardware, at=at, **kw)

  on = f" ({cpu.name})"
  torch_words = TORCH_GPU if cpu.kind == "gpu" else TORCH
  return (
      spec.Table(
          title="GFPose: sampling against PyTorch" + on,
          intro=("One Euler-Maruyama step of GFPose's network at the paper's "
                 "size (12.5M parameters; random weights, the work does not "
                 "depend on them) for P poses x H hypotheses, against the "
                 "authors' network in PyTorch eager and under torch.compile, "
                 "timed in the same rounds: seconds per step, hypotheses x "
                 "steps per second, and the roofline fraction (the network's "
                 "matrix products alone, same shapes and XLA options, over "
                 "the step's time). " + torch_words + products_text),
          columns=_vs_torch((
              spec.Col("hypotheses x steps / s", "hypothesis_steps_per_s",
                       ".0f"),
              spec.Col("roofline fraction", "roofline_fraction", ".2f"),
              *products)),
          rows=tuple(measured(label, f"sampling[poses={p},hypotheses={h}]")
                     for label, p, h in _SAMPLES),
          label_titles=("case",), note=cpu.notes["gfpose_sampling"]),
      spec.Table(
          title="GFPose: a training step against PyTorch" + on,
          intro=("One training step at batch 1000 (the paper's network "
                 "size, Adam), against the authors' network in PyTorch, in "
                 "the same run as the sampling table. " + torch_words
                 + products_text),
          columns=_vs_torch((spec.Col("roofline fraction",
                                      "roofline_fraction", ".2f"), *products)),
          rows=(measured("train, batch 1000", "train"),),
          label_titles=("case",), note=cpu.notes["gfpose_training"]),
      *((spec.Table(
          title="GFPose: the samplers' XLA options" + on,
          intro=("The 16 poses x 200 hypotheses step of the sampling table "
                 "compiled with the samplers' CPU options "
                 "(`jaxpose.core.xla_options`, which the samplers use from "
                 "400 rows of poses x hypotheses on) and with XLA's "
                 "defaults."),
          columns=_options("xla_defaults_step_s", "step_s",
                           "speedup_over_xla_defaults"),
          rows=(sampling("16 poses x 200 hypotheses", BIG),),
          label_titles=("case",)),) if cpu.kind == "cpu" else ()),
      spec.Table(
          title="DPoser: motion fitting, sampling and training against "
                "PyTorch" + on,
          intro=("DPoser's network at the paper's size (7.2M parameters, "
                 "sub-VP; random weights) against the authors' operations "
                 "re-written in PyTorch (`experiments/bench/torch_dposer.py`),"
                 " timed in the same rounds: one iteration of the test-time "
                 "optimisation (TTO) that denoises a motion (forward "
                 "kinematics, data term, temporal smoothness and DPoser's "
                 "regulariser, Adam; the loop of 180 iterations is one "
                 "compiled program, its time divided by the iterations), one "
                 "reverse Euler-Maruyama step, one training step. The target "
                 "is a speed-up over eager PyTorch, how the authors run; "
                 "torch.compile is beside it. " + torch_words + (
                     " The sampler and training rows also give the roofline "
                     "fraction and both sides' speed on the network's dense "
                     "products alone." if cpu.full_records else "")),
          columns=(*_vs_torch(),
                   spec.Col("target (x eager)", "target_speedup_vs_torch_eager",
                            "g"),
                   spec.Col("target", "target_met", "met"),
                   spec.Col("other processes' cores", "other_work.other_cores",
                            ".2f"), *dposer_products),
          rows=tuple(tto(label, key, **({"fields": {
              c.title: None for c in dposer_products}} if key == "tto_iteration"
                                         and dposer_products else {}))
                     for label, key in _DPOSER_CASES),
          label_titles=("case",), note=cpu.notes["dposer"]),
      *((spec.Table(
          title="DPoser: the samplers' XLA options" + on,
          intro=(("The TTO iteration and the sampler step compiled with "
                  "XLA's defaults and with the samplers' CPU options "
                  "(`jaxpose.core.xla_options`), which DPoser's sampler uses "
                  "from 400 rows on: the table above shows the program DPoser "
                  "runs, the options for the sampler's 500 rows and the "
                  "defaults for the TTO's 60.") if cpu.full_records else
                 ("The TTO iteration and the sampler step of the table above "
                  "are compiled with XLA's defaults; here also with the "
                  "samplers' CPU options (`jaxpose.core.xla_options`), which "
                  "DPoser's sampler uses from 400 rows on.")),
          columns=_options(
              "defaults_step_s" if cpu.full_records else "step_s",
              "options_step_s", "speedup_of_options"),
          rows=tuple(tto(label, key, **({"fields": {
              "XLA's defaults s": "tto_iteration.step_s"}} if cpu.full_records
                                         and key == "tto_iteration" else {}))
                     for label, key in _DPOSER_CASES[:2]),
          label_titles=("case",), note=cpu.notes["dposer_options"]),)
        if cpu.kind == "cpu" else ()),
      *((spec.Table(
          title="Training steps: the training XLA options" + on,
          intro=("Each training step of the tables above compiled with the "
                 "training options (`xla_options.training_options`: the "
                 "products alone in YNNPACK, the elementwise work in XLA's "
                 "own fusions), as `jaxpose.training` compiles it, and with "
                 "XLA's defaults, in the same rounds."),
          columns=_options("defaults_step_s", "step_s", "speedup_of_options"),
          rows=(sampling("GFPose, batch 1000", "train"),
                tto("DPoser, batch 1280", "train_step")),
          label_titles=("case",), note=cpu.notes["training_options"]),)
        if "training_options" in cpu.notes else ()),
      spec.Table(
          title="Compiling against torch.compile" + on,
          intro=("Seconds before the first result: jaxpose's compilation of "
                 "the step or loop, and torch.compile's first call with a "
                 "cold cache (the call's own work included: 10 sampler "
                 "steps, or the 180-iteration TTO loop), from the runs of "
                 "the tables above."),
          columns=(spec.Col("seconds", ""),),
          rows=(sampling("GFPose, 16 poses x 200 hypotheses",
                         f"{BIG}.compile_s", cells=("jaxpose",),
                         name="gfpose/jaxpose"),
                sampling("GFPose, 16 poses x 200 hypotheses",
                         ("torch_first_call_s", "torch_compiled",
                          "em rows=3200 steps=10"),
                         cells=("torch.compile",), name="gfpose/torch"),
                tto("DPoser TTO, one 60-frame clip", "tto_iteration.compile_s",
                    cells=("jaxpose",), name="tto/jaxpose"),
                tto("DPoser TTO, one 60-frame clip",
                    ("torch_first_call_s", "torch_compiled",
                     "tto batch=60 iters=180"),
                    cells=("torch.compile",), name="tto/torch")),
          label_titles=("case", "compiled by")),
  )


# Each row's memory, on the CPUs whose runs record it (`timing.row_memory`).
def _memory_row(cpu: Cpu, label, kind, at):
  if kind == "sampling":
    return spec.Row(label, cpu.sampling_file, cpu.sampling_command(),
                    seeds="0", hardware=cpu.hardware, at=at)
  return spec.Row(label, cpu.tto_file, cpu.tto_command(), seeds="0",
                  hardware=cpu.hardware, at=at)


def memory_table(cpu: Cpu) -> spec.Table:
  """The host memory of each benchmark row on `cpu`, both sides."""
  return spec.Table(
      title=f"Memory of each benchmark row ({cpu.name})",
      intro=("The host's resident-memory peak while a row's rounds ran (the "
             "process's high-water mark, reset before the row: it includes "
             "the process's own baseline, compiled programs and data), the "
             "row's compiled program's own need (XLA's memory analysis: "
             "arguments, outputs and temporaries), and the peak of each "
             "PyTorch process over the same rounds. On a CPU the device's "
             "memory is the host's; a GPU run adds its allocator's peak. "
             "The files' `host_memory` says whether the processes kept "
             "freed memory (docs/accelerators.md; absent: they did not)."),
      columns=(spec.Col("host peak MiB", "memory.host_peak_mib", ".0f"),
               spec.Col("program MiB", "memory.program_mib", ".0f"),
               spec.Col("PyTorch eager MiB",
                        "torch_memory.torch_eager.host_peak_mib", ".0f"),
               spec.Col("torch.compile MiB",
                        "torch_memory.torch_compiled.host_peak_mib", ".0f")),
      rows=(*(_memory_row(cpu, f"GFPose, {label}", "sampling",
                          f"sampling[poses={p},hypotheses={h}]")
              for label, p, h in _SAMPLES),
            _memory_row(cpu, "GFPose, training step, batch 1000", "sampling",
                        "train"),
            *(_memory_row(cpu, f"DPoser, {label}", "tto", key)
              for label, key in _DPOSER_CASES)),
      label_titles=("case",),
      note=("A program's need grows with its rows (poses x hypotheses); "
            "evaluation sizes its sampling chunks from this measure against "
            "the memory free (docs/accelerators.md, Memory)."))


MEMORY_TABLES = tuple(memory_table(cpu) for cpu in CPUS if cpu.full_records)
