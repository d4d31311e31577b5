"""Results page docs/results/speed.md: jaxpose's speed against PyTorch, the
samplers' error against their network evaluations, the lift command's time."""
from experiments.report import spec
from experiments.report.pages import speed_backends
from experiments.report.pages import speed_cpus
from experiments.report.pages import speed_gpus

_CPU = "2 CPU cores (AMD EPYC)"
_CURVES = ("python -m experiments.bench.sampler_curves --workdir=runs/quickstart "
           "--num_poses=64 --num_hypotheses=200 --batch_poses=64 "
           "--steps=1000,500,200,100,50,30,20,10 --samplers=\"euler_maruyama pc "
           "ode deterministic ddim ddim:eta=1 ode_adaptive\"")


def _bench(label: str, file: str, command: str, at: str, **kw) -> spec.Row:
  return spec.Row(label, file, command, seeds="0", hardware=_CPU, at=at, **kw)


_CURVE_STEPS = (1000, 50, 10)
_CURVE_SAMPLERS = ("euler_maruyama", "pc", "ddim:eta=1", "ddim", "ode",
                   "deterministic")
_REFERENCE = "euler_maruyama 1000"

CURVES = spec.Table(
    title="Error against network evaluations",
    intro=("GFPose (quickstart config) sampling 200 hypotheses for each of "
           "64 test poses with each sampler at 1000, 50 and 10 steps, and "
           "the adaptive ODE solver at rtol 1e-3: network evaluations, "
           "best-of-200 and hypotheses'-mean MPJPE (mm), the fraction of "
           "non-finite samples, and seconds per run; best-of-200 and seconds "
           "against Euler-Maruyama x 1000 on the same poses."),
    columns=(spec.Col("evaluations", "nfe", "d"),
             spec.Col("best-of-200 MPJPE", "best_of_h_mm", change="diff"),
             spec.Col("mean-of-200 MPJPE", "mean_of_h_mm"),
             spec.Col("non-finite", "nonfinite_fraction", ".0%"),
             spec.Col("seconds", "wall_s", ".3g", change="pct")),
    rows=(*(spec.Row(f"{sampler} {steps}", "sampler_curves_quickstart_h100.json",
                     _CURVES, hardware="1 H100",
                     at=f"rows[sampler={sampler},steps={steps}]",
                     baseline="" if f"{sampler} {steps}" == _REFERENCE
                     else _REFERENCE)
            for sampler in _CURVE_SAMPLERS for steps in _CURVE_STEPS),
          spec.Row("ode_adaptive rtol=0.001", "sampler_curves_quickstart_h100.json",
                   _CURVES, hardware="1 H100",
                   at="rows[sampler=ode_adaptive,nfe=103]",
                   baseline=_REFERENCE)),
    label_titles=("sampler, steps",),
    images=(("Best-of-200 MPJPE against network evaluations, every sampler "
             "and step count", "sampler_curves_quickstart_h100.png"),),
    note=("The stochastic samplers (Euler-Maruyama, predictor-corrector, "
          "DDIM with eta 1) give the lowest best-of-200; the ODE and DDIM "
          "with eta 0 score a few mm higher whatever their steps, and "
          "'deterministic' nearly collapses the hypotheses (its best-of-200 "
          "is about its mean). At 10 steps Euler-Maruyama breaks down and "
          "predictor-corrector's samples are not finite, where DDIM with eta "
          "1 holds."))

CHEAPEST = spec.Table(
    title="The cheapest sampler within 1 mm",
    intro=("From the run above: the setting with the fewest network "
           "evaluations whose best-of-200 MPJPE is within the tolerance (mm) "
           "of Euler-Maruyama x 1000's, how many times fewer evaluations it "
           "makes and how many times faster it runs."),
    columns=(spec.Col("evaluations", "nfe", ".0f"),
             spec.Col("best-of-200 MPJPE", "best_of_h_mm", ".2f"),
             spec.Col("Euler-Maruyama x 1000", "reference.best_of_h_mm", ".2f"),
             spec.Col("tolerance", "tolerance_mm", "g"),
             spec.Col("x fewer evaluations", "nfe_ratio", ".1f"),
             spec.Col("x faster", "speedup", ".1f")),
    rows=(spec.Row("ddim:eta=1 10", "sampler_curves_quickstart_h100.json",
                   _CURVES, hardware="1 H100", at="default"),),
    label_titles=("sampler, steps",))

_DIFFPOSE = ("python -m experiments.bench.diffpose --hypotheses=5,20 "
             "--out=experiments/results/bench_diffpose_cpu.json "
             "--torch_python=TORCH_VENV/bin/python")
_DIFFPOSE_LOAD = "hardware.load_average_before[0]"

DIFFPOSE = spec.Table(
    title="DiffPose: a denoiser step against PyTorch",
    intro=("One forward of DiffPose's denoiser at the paper's size (5 "
           "GraFormer layers, hidden 96, 1.08M parameters; random weights) "
           "for 16 poses x N hypotheses, against the same layout written in "
           "PyTorch (`experiments/bench/torch_diffpose.py`, eager, 2 "
           "threads, run in its own process after jaxpose's): milliseconds "
           "per step (median of 5), the speed-up over PyTorch and its target; "
           "load before: the machine's 1-minute load average when the run "
           "began (2 cores)."),
    columns=(spec.Col("jaxpose ms", "jaxpose.step_ms"),
             spec.Col("PyTorch ms", "torch.step_ms"),
             spec.Col("x PyTorch", "speedup_vs_torch", ".2f"),
             spec.Col("target (x PyTorch)", "target_ratio", "g"),
             spec.Col("target", "target_met", "met"),
             spec.Col("load before", _DIFFPOSE_LOAD, ".2f")),
    rows=tuple(_bench(f"{16 * n} (16 poses x {n})", "bench_diffpose_cpu.json",
                      _DIFFPOSE, f"denoiser_step[rows={16 * n}]",
                      fields={"target (x PyTorch)": "target_ratio",
                              "target": "target_met",
                              "load before": _DIFFPOSE_LOAD})
               for n in (5, 20)),
    label_titles=("rows",),
    note=("The target is met at both sizes ('target' is whether the "
          "slower of the two speed-ups reaches it). The two sides are timed "
          "one after the other, not in alternating rounds as GFPose and "
          "DPoser are above, so a change in the machine's load between them "
          "moves the speed-up."))

DIFFPOSE_SAMPLING = spec.Table(
    title="DiffPose: hypotheses per second beside GFPose",
    intro=("From the same run: DiffPose's DDIM sampler (N hypotheses from N "
           "draws of its H_K mixture, the denoiser of the table above) and "
           "GFPose's sampler at the paper's size (`experiments/bench/"
           "throughput.py`), both for 16 poses x N hypotheses with the same "
           "number of steps: milliseconds per step, hypotheses per second, "
           "and DiffPose's hypotheses per second over GFPose's."),
    columns=(spec.Col("steps", "diffpose.steps", "d"),
             spec.Col("DiffPose ms per step", "diffpose.step_ms"),
             spec.Col("DiffPose hypotheses / s", "diffpose.hypotheses_per_s",
                      ".0f"),
             spec.Col("GFPose sampler", "gfpose.spec", "s"),
             spec.Col("GFPose ms per step", "gfpose.step_ms"),
             spec.Col("GFPose hypotheses / s", "gfpose.hypotheses_per_s", ".0f"),
             spec.Col("DiffPose / GFPose", "diffpose_over_gfpose_hypotheses_per_s",
                      ".2f")),
    rows=tuple(_bench(f"16 poses x {n}", "bench_diffpose_cpu.json", _DIFFPOSE,
                      f"sampling[{i}]") for i, n in enumerate((5, 20))),
    label_titles=("case",),
    note=("A DiffPose step takes two and a half to three times GFPose's on "
          "the same rows, though its denoiser has about a twelfth of "
          "GFPose's 12.5M parameters, so it draws 0.35 to 0.4 times "
          "GFPose's hypotheses per second at the same steps."))

_QS_DIFFPOSE = (
    "python -m experiments.main --config=experiments/configs/"
    "encoder_quickstart.py --workdir=runs/encoder_quickstart; python -m "
    "experiments.main --config=experiments/configs/diffpose_quickstart.py "
    "--workdir=runs/diffpose_quickstart --config.diffpose.encoder_workdir="
    "runs/encoder_quickstart; for K in 1 2 10 50: python -m experiments.main "
    "--workdir=runs/diffpose_quickstart --mode=eval --config.eval.num_steps=$K "
    "--config.eval.output_suffix=steps$K; then " + _DIFFPOSE)

DIFFPOSE_CURVE = spec.Table(
    title="DiffPose: error against network evaluations",
    intro=("DiffPose on the quickstart's 100 synthetic test poses (exact 2D, "
           "N=5 hypotheses, the DiffPose page's quickstart model), evaluated "
           "with 1 to 50 DDIM reverse steps: network evaluations per pose "
           "(steps x N) and MPJPE in mm of the mean of 5 and of the best of "
           "5, collected by the benchmark from each evaluation's file."),
    columns=(spec.Col("evaluations per pose", "network_evals_per_pose", "d"),
             spec.Col("mean-of-5 MPJPE", "mpjpe_mm"),
             spec.Col("best-of-5 MPJPE", "min_mpjpe_mm")),
    rows=tuple(spec.Row(str(k), "bench_diffpose_cpu.json", _QS_DIFFPOSE,
                        seeds="0", hardware="2 CPU cores",
                        at=f"error_vs_evaluations[reverse_steps={k}]")
               for k in (1, 2, 5, 10, 50)),
    label_titles=("reverse steps",),
    note=("Two reverse steps (10 evaluations per pose) are as good as 50 "
          "(250); one step is not enough. The quickstart's default is 5."))

_PACK = ("python -m experiments.studies.mocap_pack --cache_dir=caches "
         "--workdir=runs/lifter_cam")
_XEON = speed_cpus.CPUS[1].hardware

PACK = spec.Table(
    title="Data that travels",
    intro=("The two mocap caches packed (`experiments.pack_caches`): the "
           "Human3.6M joints on a 0.5 mm grid, and with them the body "
           "space's rotations on a 1e-3 rad grid for DPoser; each frame "
           "stored as its change from the one before, compressed. MiB of "
           "the caches and of the packs, and the largest error of the "
           "Bandai-Namco pack's joints (mm)."),
    columns=(spec.Col("caches MiB", "cache_mib", ".1f"),
             spec.Col("packs MiB", "pack_mib", ".1f"),
             spec.Col("largest joint error mm", "max_error.bandai.pose17",
                      ".2f")),
    rows=tuple(spec.Row(words, "mocap_pack_cpu.json", _PACK, seeds="-",
                        hardware=_XEON, at=f"packs.{key}", name=key)
               for words, key in (("positions", "positions"),
                                  ("positions and body rotations",
                                   "positions_and_body"))),
    label_titles=("pack",))

PACK_COST = spec.Table(
    title="What packing costs a trained model",
    intro=("The camera-aware lifter (seed 0) estimating the same 2000 test "
           "rows from the original caches and from the unpacked "
           "positions-only packs, exact 2D from the virtual cameras."),
    columns=(spec.Col("MPJPE", "mpjpe_mm", ".3f"),
             spec.Col("PA-MPJPE", "pa_mpjpe_mm", ".3f")),
    rows=tuple(spec.Row(words, "mocap_pack_cpu.json", _PACK, seeds="0",
                        hardware=_XEON, at=f"evaluation.{key}", name=key)
               for words, key in (("from the caches", "original"),
                                  ("from the unpacked packs",
                                   "unpacked_positions"))),
    label_titles=("test rows read",),
    note=("Packing moves a joint by at most a quarter of a millimetre, and "
          "the model's error by a few thousandths of one."))

_DROPOUT_FILE = "bench_dropout_cpu_xeon_amx.json"
_DROPOUT = ("python -m experiments.bench.dropout "
            f"--out=experiments/results/{_DROPOUT_FILE}")

DROPOUT = spec.Table(
    title=f"Dropout masks ({speed_cpus.CPUS[1].name})",
    intro=("Dropout and its gradient on a training step's activations (rows "
           "x 1024), with jaxpose's mask (`models.dropout`: Threefry-2x32 "
           "on each entry's counter, fused by XLA with the work around it) "
           "and with `jax.random.bernoulli`'s, in the same rounds (30)."),
    columns=(spec.Col("rate", "rate", "g"),
             spec.Col("rate realised", "realized_rate", ".6f"),
             spec.Col("rows", "shape[0]", "d"),
             spec.Col("jaxpose s", "hashed_s", ".3g"),
             spec.Col("bernoulli s", "bernoulli_s", ".3g"),
             spec.Col("x bernoulli", "speedup", ".2f")),
    rows=tuple(spec.Row(user, _DROPOUT_FILE, _DROPOUT, seeds="-",
                        hardware=_XEON, at=f"rows[user={user}]", name=user)
               for user, rate in (("GFPose", 0.25), ("DPoser", 0.1),
                                  ("the lifter", 0.5))),
    label_titles=("rate of",),
    note=("On the CPU, JAX's Threefry behind `bernoulli` runs as a loop XLA "
          "cannot fuse, and draws a 32-bit word per entry; jaxpose's mask "
          "hashes 64 bits per counter into eight (or four) entries inside "
          "the fused loop."))

_PRECISION_FILE = "bench_precision_cpu_xeon_amx.json"
_PRECISION = ("python -m experiments.bench.precision --workdir=runs/gfpose_cam "
              f"--num_poses=500 --out=experiments/results/{_PRECISION_FILE}")


def _precision_row(label, at, **kw):
  return spec.Row(label, _PRECISION_FILE, _PRECISION, seeds="0",
                  hardware=_XEON, at=at, **kw)


_PRECISION_CASES = (("1 pose x 200 hypotheses", 1, 200),
                    ("16 poses x 200 hypotheses", 16, 200))

PRECISION = spec.Table(
    title=f"GFPose: sampling with bfloat16 products ({speed_cpus.CPUS[1].name})",
    intro=("`--config.eval.matmul_dtype=bfloat16` (off by default): the "
           "score network's dense products take bfloat16 operands and "
           "accumulate in float32; biases, norms, activations and the "
           "sampler stay float32. One Euler-Maruyama step at the paper's "
           "network size (random weights) in each dtype, each compiled with "
           "the back end jaxpose picks for it (next table), timed in the "
           "same rounds."),
    columns=(spec.Col("float32 s per step", "float32_step_s", ".3g"),
             spec.Col("bfloat16 s per step", "bfloat16_step_s", ".3g"),
             spec.Col("speed-up", "bfloat16_speedup", ".2f")),
    rows=tuple(_precision_row(label, f"speed[poses={p},hypotheses={h}]")
               for label, p, h in _PRECISION_CASES),
    label_titles=("case",), no_test_rows=True,
    note=("This CPU multiplies bfloat16 on its AMX and AVX-512 bf16 units; "
          "on a CPU without them XLA emulates the products (jaxpose warns), "
          "so measure before choosing."))

BACKENDS = spec.Table(
    title=f"XLA's dense-product back ends on this CPU ({speed_cpus.CPUS[1].name})",
    intro=("The same steps compiled for each of the three back ends that "
           "compile to programs of their own on this CPU (the back-ends "
           "table below tries every one XLA 0.10 offers): YNNPACK subgraphs "
           "that also take the elementwise work around the products (XLA's "
           "default), YNNPACK for the products alone, and XLA's own dot; "
           "seconds per step, all timed in the same rounds. The samplers "
           "pick by dtype and rows "
           "(`jaxpose.core.xla_options.sampling_options`)."),
    columns=(spec.Col("YNNPACK fused s", "ynnpack_fused", ".3g"),
             spec.Col("YNNPACK products only s", "ynnpack_dots", ".3g"),
             spec.Col("XLA's dot s", "xla_dot", ".3g"),
             spec.Col("picked", "picked", "s")),
    rows=tuple(_precision_row(
        label, f"speed[poses={p},hypotheses={h}].backends.{dtype}",
        cells=(dtype,), name=f"{label}/{dtype}",
        fields={"picked": f"speed[poses={p},hypotheses={h}].chosen.{dtype}"})
               for label, p, h in _PRECISION_CASES
               for dtype in ("float32", "bfloat16")),
    label_titles=("case", "products"), no_test_rows=True,
    note=("XLA's own dot converts bfloat16 operands to float32, so bfloat16 "
          "needs YNNPACK; its fused subgraphs are slow at large batches, so "
          "the products go to it one by one. float32 takes this CPU's "
          "choice (`xla_options.cpu_choice`; its table is below)."))

PRECISION_ERROR = spec.Table(
    title="What bfloat16 products cost a trained model",
    intro=("The camera-aware GFPose (seed 0, runs/gfpose_cam) estimating "
           "the same 500 test rows with 200 hypotheses in each dtype, same "
           "seed: MPJPE of the mean hypothesis, PA-MPJPE, best of 200, and "
           "how far each bfloat16 hypothesis lands from its float32 twin "
           "(same noise: only the products differ)."),
    columns=(spec.Col("MPJPE", "mpjpe_mm", ".2f"),
             spec.Col("PA-MPJPE", "pa_mpjpe_mm", ".2f"),
             spec.Col("best of 200", "min_mpjpe_mm", ".2f")),
    rows=(_precision_row("float32", "error.float32"),
          _precision_row("bfloat16", "error.bfloat16")),
    label_titles=("products",),
    note=("The two dtypes' figures agree to a fraction of a millimetre; "
          "most hypotheses land within a millimetre of their twins, a few "
          "trajectories drift apart (the largest gap below)."))

PRECISION_GAP = spec.Table(
    title="bfloat16 hypotheses against their float32 twins",
    intro=("Per joint of every hypothesis of the table above: the distance "
           "between the bfloat16 and the float32 sample drawn with the same "
           "noise (mm)."),
    columns=(spec.Col("median", "median", ".2f"),
             spec.Col("mean", "mean", ".2f"),
             spec.Col("99th percentile", "p99", ".1f"),
             spec.Col("largest", "max", ".1f")),
    rows=(_precision_row("bfloat16 - float32", "error.hypothesis_gap_mm"),),
    label_titles=("gap",))

_GPUS = speed_gpus.discovered()

PAGE = spec.Page(
    name="speed", title="Speed",
    intro=("How fast jaxpose samples, trains and fits against the authors' "
           "code in PyTorch on the same machine (one set of tables per CPU "
           "the benchmarks ran on, another CPU's once its two files, "
           "`bench_sampling_cpu_<name>.json` and `bench_tto_cpu_<name>.json`"
           ", are in experiments/results/; each benchmark's results file records "
           "the CPU's model, vector extensions, cores and XLA options; "
           + ("one set per GPU from `python -m experiments.bench.gpu`"
              if _GPUS else "no side-by-side figure on a GPU exists yet: "
              "`python -m experiments.bench.gpu` makes them on one")
           + "), how few network "
           "evaluations a sampler needs for the same error. How long "
           "lifting a minute of video takes is on the video page."),
    tables=(*(table for cpu in speed_cpus.CPUS + speed_cpus.discovered()
              for table in speed_cpus.tables(cpu)),
            *(table for gpu in _GPUS for table in speed_gpus.tables(gpu)),
            *speed_gpus.test_set_tables(_GPUS), *speed_cpus.MEMORY_TABLES,
            DIFFPOSE, DIFFPOSE_SAMPLING, CURVES,
            CHEAPEST, DIFFPOSE_CURVE, PACK, PACK_COST, DROPOUT, PRECISION,
            BACKENDS, *speed_backends.tables(),
            PRECISION_ERROR, PRECISION_GAP))
