"""README tables of DiffPose against its own encoder.

`lines(root)` renders DiffPose's runs beside the frozen context encoder
scored on the same rows (the paper's question: does diffusion improve on
its encoder, and by how much) and its ablations, each row over training
seeds once `seed_summary` has written its seeds file (`seeds_file`); then
the calibration tables of every method (`experiments.results_calibration`,
placed here as they always were), M = 1 against M = 5, and the speed
benchmark.
`experiments.results_table` puts them into README.md.
"""
from __future__ import annotations

import pathlib
from typing import NamedTuple

from experiments import results_calibration
from experiments.results_files import as_summary
from experiments.results_files import cell
from experiments.results_files import load as _load
from experiments.results_files import mean_sd
from experiments.results_files import seeds_file

_R = "experiments/results/"
_QS = ("python -m experiments.main --config=experiments/configs/diffpose_quickstart.py "
       "--workdir=runs/diffpose_quickstart --config.diffpose.encoder_workdir="
       "runs/encoder_quickstart")
_MOCAP = ("python -m experiments.main --config=experiments/configs/diffpose_mocap.py "
          "--workdir=runs/diffpose_mocap --config.data.cache_dir=caches "
          "--config.diffpose.encoder_workdir=runs/encoder_mocap")

# (label, JSON): DiffPose runs, each holding its encoder on the same rows.
DIFFPOSE = (
    ("quickstart, N=5 (paper design)", _R + "diffpose_quickstart_cpu.json"),
    ("quickstart, N=20", _R + "diffpose_quickstart_cpu_n20.json"),
    ("quickstart, N=1", _R + "diffpose_quickstart_cpu_n1.json"),
    ("quickstart, single Gaussian H_K (M=1), N=5", _R + "diffpose_quickstart_cpu_m1.json"),
    ("quickstart, the paper's network input h_k ('state')",
     _R + "diffpose_quickstart_cpu_input_state.json"),
    ("quickstart, 1 reverse step", _R + "diffpose_quickstart_cpu_steps1.json"),
    ("quickstart, 2 reverse steps", _R + "diffpose_quickstart_cpu_steps2.json"),
    ("quickstart, 10 reverse steps", _R + "diffpose_quickstart_cpu_steps10.json"),
    ("quickstart, 50 reverse steps", _R + "diffpose_quickstart_cpu_steps50.json"),
    ("quickstart, released refiner (51-step tiny schedule, 2 DDIM steps, N=1)",
     _R + "diffpose_released_quickstart_cpu.json"),
    ("mocap small (H_K on held-out clips), noisy test 2D, N=5",
     _R + "diffpose_mocap_small_heldout_cpu_estimate_noisy2d.json"),
    ("mocap small (H_K on held-out clips), noisy test 2D, N=20",
     _R + "diffpose_mocap_small_heldout_cpu_estimate_noisy2d_n20.json"),
    ("mocap small (H_K on held-out clips), exact test 2D, N=5",
     _R + "diffpose_mocap_small_heldout_cpu_estimate.json"),
    ("mocap small (H_K on held-out clips), exact test 2D, N=20",
     _R + "diffpose_mocap_small_heldout_cpu_estimate_n20.json"),
    ("mocap small on the temporal encoder (:temporal27_cpu), noisy test 2D, N=5",
     _R + "diffpose_mocap_small_t27cpu_cpu_estimate_noisy2d.json"),
    ("mocap small on the temporal encoder (:temporal27_cpu), exact test 2D, N=5",
     _R + "diffpose_mocap_small_t27cpu_cpu_estimate.json"),
    ("mocap small, single Gaussian H_K (M=1), noisy test 2D, N=5",
     _R + "diffpose_mocap_small_m1_cpu_estimate_noisy2d.json"),
    ("mocap small, encoder on every clip, noisy test 2D, N=5",
     _R + "diffpose_mocap_small_cpu_estimate_noisy2d.json"),
    ("mocap small, encoder on every clip, noisy test 2D, N=20",
     _R + "diffpose_mocap_small_cpu_estimate_noisy2d_n20.json"),
    ("mocap small, encoder on every clip, exact test 2D, N=5",
     _R + "diffpose_mocap_small_cpu_estimate.json"),
    ("mocap small, encoder on every clip, trained on exact 2D, exact test 2D, N=5",
     _R + "diffpose_mocap_small_exacttrain_cpu_estimate.json"),
    ("mocap small, encoder on every clip, trained on exact 2D, exact test 2D, N=20",
     _R + "diffpose_mocap_small_exacttrain_cpu_estimate_n20.json"),
    ("mocap small, encoder on every clip, trained on exact 2D, noisy test 2D, N=20",
     _R + "diffpose_mocap_small_exacttrain_cpu_estimate_noisy2d_n20.json"),
)

# (label, exact-2D JSON, noisy-2D JSON): DiffPose mocap small models that
# differ in one training setting (N=5 at test time, the same 500 rows).
_DM = _R + "diffpose_mocap_small_"
ABLATION = (
    ("M=5 kernels, K=50 steps",
     _DM + "cpu_estimate.json", _DM + "cpu_estimate_noisy2d.json"),
    ("M=1 (a single Gaussian)", _DM + "m1_cpu_estimate.json",
     _DM + "m1_cpu_estimate_noisy2d.json"),
    ("K=20 (beta_end 0.447: the same abar_K)", _DM + "k20_cpu_estimate.json",
     _DM + "k20_cpu_estimate_noisy2d.json"),
    ("K=100 (beta_end 0.1037)", _DM + "k100_cpu_estimate.json",
     _DM + "k100_cpu_estimate_noisy2d.json"),
    ("M=5, K=50, H_K on the encoder's held-out clips (the default)",
     _DM + "heldout_cpu_estimate.json", _DM + "heldout_cpu_estimate_noisy2d.json"),
)


class _Row(NamedTuple):
  """A table row's figures: over seeds once their summary exists, else
  the single run (seed 0)."""
  summary: dict  # results_files.as_summary
  seeds: str  # training seeds, comma-separated
  train_steps: str
  hardware: str
  replaced: dict | None  # the single run a seeds summary replaces
  command: str  # a seeds summary's command; '' for a single run
  rel: str  # the file read


def _row(root, rel: str) -> _Row | None:
  single, seeds = _load(root, rel), _load(root, seeds_file(rel))
  if seeds is not None:
    steps = sorted({s["train_step"] for s in seeds["seeds"].values()})
    return _Row(seeds, ",".join(sorted(seeds["seeds"], key=int)),
                "/".join(map(str, steps)), seeds["hardware"], single,
                seeds.get("command", ""), seeds_file(rel))
  if single is None:
    return None
  return _Row(as_summary(single), "0", str(single["train_step"]), "2 CPU cores",
              None, "", rel)


def _seed0_reproduces(rows: list[_Row]) -> str:
  """Whether each seeds summary's seed 0 scored what the single run it
  replaces scored (mean and best-of-N, 0.01 mm)."""
  pairs = [(r.rel, r.summary["seeds"].get("0"), r.replaced)
           for r in rows if r.replaced is not None]
  pairs = [(rel, s0, old) for rel, s0, old in pairs if s0 is not None]
  if not pairs:
    return ""
  gaps = [max(abs(old[k] - s0[k]) for k in ("mpjpe_mm", "min_mpjpe_mm"))
          for _, s0, old in pairs]
  if max(gaps) < 0.01:
    return (" Seed 0 reproduces the single run it replaces in every such row "
            "(mean and best-of-N within 0.01 mm).")
  return (f" Seed 0 scores within {max(gaps):.1f} mm of the single run it "
          "replaces (mean and best-of-N), not bit for bit in "
          f"{sum(g >= 0.01 for g in gaps)} of {len(gaps)} rows: the single runs "
          "were trained in earlier sessions, on machines their files do not name.")


def _commands(rows: list[_Row]) -> list[str]:
  """One line per seeds command (a command trains and evaluates the rows
  of several files)."""
  by_command: dict[str, list[str]] = {}
  for r in rows:
    if r.command:
      by_command.setdefault(r.command, []).append(r.rel.split("/")[-1])
  return [f"- {', '.join(f'`{n}`' for n in names)}: `{command}`"
          for command, names in by_command.items()]


def _diffpose_lines(root) -> list[str]:
  out = ["", "### DiffPose against its own context encoder", "",
         "The frozen encoder (a graph lifter, `encoder_*.py`, unless the row names "
         "a temporal one) scored on the same "
         "rows, re-centred on the root as the hypotheses are; gain = encoder "
         "MPJPE - DiffPose MPJPE of the mean (positive: diffusion helps). "
         "Mocap models train under the data's 2D noise model unless a row "
         "says exact 2D. A row of several seeds gives the mean ± standard "
         "deviation (ddof 1) over denoisers trained with `--config.seed=S` on "
         "one encoder (trained once, so its figures do not vary), summarised by "
         "`python -m experiments.seed_summary` (commands below the table); the "
         "other rows are one run, seed 0. "
         f"Commands: `{_QS}` and `{_MOCAP}` (then `--mode=eval` with "
         "`--config.eval.num_hypotheses=N`, `--config.data.test_2d=noisy` and an "
         "`--config.eval.output_suffix`).", "",
         "| run | poses | encoder MPJPE / PA | DiffPose mean MPJPE / PA | gain | "
         "best-of-N | train steps | seeds | hardware |",
         "|---|---|---|---|---|---|---|---|---|"]
  rows, single_mocap = [], 0
  for label, rel in DIFFPOSE:
    row = _row(root, rel)
    if row is None:
      continue
    rows.append(row)
    single_mocap += label.startswith("mocap") and not row.command
    s = row.summary
    out.append(f"| {label} | {s['same_rows']['num_poses']} | "
               f"{cell(s, 'encoder.mpjpe_mm')} / {cell(s, 'encoder.pa_mpjpe_mm')} | "
               f"{cell(s, 'mpjpe_mm')} / {cell(s, 'pa_mpjpe_mm')} | "
               f"{_signed(s, 'gain_over_encoder_mm')} | {cell(s, 'min_mpjpe_mm')} | "
               f"{row.train_steps} | {row.seeds} | {row.hardware} |")
  over_seeds = [r for r in rows if r.command]
  if over_seeds:
    out += ["", "Over seeds: a row is the mean over three "
            f"training seeds; {_rows(len(over_seeds))} "
            "now that." + _on_which_encoder(over_seeds)
            + _seed0_reproduces(over_seeds)
            + (f" {_rows(single_mocap)} still one run (seed 0)."
               if single_mocap else ""),
            "", "Produced by (then `seed_summary --stem=estimate[_n20 | _noisy2d | "
            "_noisy2d_n20]` over the seeds' workdirs):", *_commands(over_seeds)]
  return out


def _rows(n: int) -> str:
  return "1 mocap row is" if n == 1 else f"{n} mocap rows are"


def _on_which_encoder(rows: list[_Row]) -> str:
  """Whether the seeds stand on their single run's encoder (the same
  figures on the same rows) or on another training of it."""
  pairs = [(r.summary["across_seeds"]["encoder.mpjpe_mm"]["mean"],
            r.replaced["encoder"]["mpjpe_mm"]) for r in rows if r.replaced]
  same = sum(abs(a - b) < 0.01 for a, b in pairs)
  if not pairs:
    return ""
  if same == len(pairs):
    return (" Their encoder scores what the single run's encoder scored on the same "
            "rows (within 0.01 mm): the same encoder, or a retraining that "
            "reproduces it.")
  return (f" {len(pairs) - same} of {len(pairs)} stand on another training of the "
          "encoder than the single run they replace (its figures differ).")


def _signed(summary: dict, figure: str) -> str:
  text = cell(summary, figure)
  return text if text.startswith("-") else "+" + text


def _ablation_lines(root) -> list[str]:
  rows, read = [], []
  for label, exact_rel, noisy_rel in ABLATION:
    exact, noisy = _row(root, exact_rel), _row(root, noisy_rel)
    if exact is None or noisy is None:
      continue
    read += [exact, noisy]
    e, n = exact.summary, noisy.summary
    rows.append(
        f"| {label} | {cell(e, 'encoder.mpjpe_mm')} | {cell(e, 'mpjpe_mm')} / "
        f"{cell(e, 'min_mpjpe_mm')} | {cell(n, 'encoder.mpjpe_mm')} | "
        f"{cell(n, 'mpjpe_mm')} / {cell(n, 'min_mpjpe_mm')} | "
        f"{cell(n, 'calibration.coverage.0.9', 2)} | {exact.seeds} | {exact.hardware} |")
  if not rows:
    return []
  over_seeds = [r for r in read if r.command]
  listed = {r.command for r in (_row(root, rel) for _, rel in DIFFPOSE) if r}
  own = [r for r in over_seeds if r.command not in listed]
  changed = (["", "Over seeds: rows of several seeds are the mean over "
              "denoiser seeds in place of their single run (a row is "
              "the mean over three training seeds)."
              + _on_which_encoder([r for r in read[::2] if r.command])  # a row's exact 2D
              + _seed0_reproduces(over_seeds) + " Their commands are listed under "
              "the table above" + (", except these:" if own else "."),
              *(["", *_commands(own)] if own else [])] if over_seeds else [])
  return ["", "### DiffPose's training settings on jaxpose-mocap v1", "",
          "Mocap small, trained on noisy 2D for 6000 steps: one model per row, "
          "or one per training seed where the seeds column lists several (then "
          "the mean ± standard deviation, ddof 1). N=5 hypotheses and 5 DDIM "
          "steps on the same 500 test rows; MPJPE in mm of the mean / best-of-5, beside the "
          "model's own encoder; coverage of the central 90% interval with noisy "
          "2D (ideally 0.90). The rows above the last share one encoder, "
          "trained on every training clip (`--config.holdout.fraction=0`), so "
          "their H_K is its error on rows it saw; the last row's encoder never "
          "saw a tenth of the clips, and its H_K is fitted on them. Each row's "
          "settings: `"
          + _MOCAP + " --config.diffpose.num_kernels=1` (M), "
          "`--config.sde.num_steps=20 --config.sde.beta_end=0.447` or "
          "`--config.sde.num_steps=100 --config.sde.beta_end=0.1037` (K), and a new "
          "encoder workdir for the held-out clips (`encoder_mocap.py`'s "
          "`holdout.fraction`).", "",
          "| model | encoder, exact 2D | DiffPose exact 2D | encoder, noisy 2D | "
          "DiffPose noisy 2D | coverage 90% | seeds | hardware |",
          "|---|---|---|---|---|---|---|---|"] + rows + changed


# (2D, JSON of experiments/diffpose_kernels.py of one model each, JSON of
# the models of several training seeds): M = 1 against M = 5; the seeds'
# file is read in place of the other once it exists.
KERNELS = (("exact 2D", _R + "diffpose_kernels_mocap_small_per_row_kernel.json",
            _R + "diffpose_kernels_mocap_small_per_row_kernel_seeds.json"),
           ("noisy 2D", _R + "diffpose_kernels_mocap_small_per_row_kernel_noisy2d.json",
            _R + "diffpose_kernels_mocap_small_per_row_kernel_seeds_noisy2d.json"))


def _by_offset(model: dict) -> list[tuple[float, float]]:
  """(MPJPE of its hypotheses alone, offset) of each kernel, nearest the
  encoder's pose first: the order in which kernels of different fits
  (seeds) line up."""
  return sorted(((k["mean_of_n_mpjpe_mm"], w["mean_3d_mm"])
                 for k, w in zip(model["per_kernel"], model["kernels"])),
                key=lambda pair: pair[1])


def _mean_of(model: dict, n: int) -> float:
  """MPJPE of the mean of n hypotheses, from the model's error against N."""
  return next(v["mean_of_n_mpjpe_mm"] for v in model["versus_n"]
              if v["num_hypotheses"] == n)


def _kernel_row(label: str, models: list[dict]) -> str:
  """One table row: models of the same M (one per training seed)."""
  versus_n = lambda h: [_mean_of(m, h) for m in models]
  kernels = [_by_offset(m) for m in models]
  rank_mean = lambda i: [sum(k[r][i] for k in kernels) / len(kernels)
                         for r in range(len(kernels[0]))]
  oracle = [m["oracle"]["best_kernel_after_the_fact"]["mean_of_n_mpjpe_mm"]
            for m in models]
  encoder = sum(m["encoder"]["mpjpe_mm"] for m in models) / len(models)
  return (f"| {label} | M = {models[0]['num_kernels']} | {len(models)} | "
          f"{encoder:.1f} | " + " / ".join(mean_sd(versus_n(h)) for h in (1, 5, 20))
          + " | " + ", ".join(f"{v:.1f}" for v in rank_mean(0)) + " | "
          + ", ".join(f"{v:.0f}" for v in rank_mean(1)) + f" | {mean_sd(oracle)} |")


def _kernel_lines(root) -> list[str]:
  """Why M = 1 and M = 5 differ: each model's kernels alone, the oracle
  choice of kernel per row, and the error against N."""
  rows, commands, by_seed = [], [], []
  for label, one_model, seeds in KERNELS:
    r = _load(root, seeds) or _load(root, one_model)
    if r is None:
      continue
    by_m: dict[int, list[dict]] = {}
    for w in r["workdirs"]:
      by_m.setdefault(w["num_kernels"], []).append(w)
    rows += [_kernel_row(label, models) for models in by_m.values()]
    mixture = max(by_m)
    if sorted(by_m) == [1, mixture] and len(by_m[1]) == len(by_m[mixture]) > 1:
      by_seed.append(_seed_pairs(label, by_m[mixture], by_m[1]))
    if "name" in r:
      overrides = r["workdirs"][0].get("settings", {}).get("overrides") or {}
      commands.append(
          "`python -m experiments.diffpose_kernels --workdirs="
          + ",".join(w["workdir"] for w in r["workdirs"]) + f" --name={r['name']}"
          + "".join(f" --set={k}={v}" for k, v in overrides.items()) + "`")
  if not rows:
    return []
  return ["", "Why M = 1 and M = 5 kernels differ (`experiments/diffpose_kernels.py`, "
          "per_row_kernel models on the same encoder, 500 test rows, 2 CPU "
          "cores): MPJPE of the mean of N hypotheses, of each kernel's "
          "hypotheses alone, each kernel's mean offset from the encoder's "
          "pose (3D, RMS over joints), and the mean of N from the best kernel "
          "per row chosen after the fact (an upper bound on choosing kernels); "
          "a row of several models (training seeds) gives the mean ± standard "
          "deviation (ddof 1) over them, and each kernel's figures as the mean "
          "over the models of the kernels of the same rank, kernels ranked by "
          "their offset. The M = 5 models are `diffpose_mocap.py:per_row_kernel` "
          "(`--config.seed=$S`), the M = 1 models the same with "
          "`--config.diffpose.num_kernels=1`; then "
          + (", ".join(commands) if commands else
             "`python -m experiments.diffpose_kernels --workdirs=M5_WORKDIR,M1_WORKDIR "
             "--name=mocap_small_per_row_kernel` (and `--set=data.test_2d=noisy "
             "--name=mocap_small_per_row_kernel_noisy2d`)") + ".",
          "", "| 2D | kernels | models | encoder | mean of 1 / 5 / 20 | each kernel alone "
          "| kernel offsets (mm) | best kernel per row |",
          "|---|---|---|---|---|---|---|---|", *rows, "",
          "What the experiment shows: M = 5's mixture holds kernels far from "
          "the encoder's pose (the largest offsets), whose draws the "
          "denoiser does not bring back (their hypotheses alone are the "
          "worst), and the mean of N mixes them in. Only an oracle that "
          "picks each row's best kernel after the fact beats the single "
          "kernel, by under a tenth; without it, one H_K kernel around the "
          "encoder's pose is the better start on this data."
          + (" Seed by seed (the i-th mixture model beside the i-th M = 1, "
             "trained with the same seed): " + "; ".join(by_seed) + "."
             if by_seed else "")]


def _seed_pairs(label: str, mixture: list[dict], one: list[dict]) -> str:
  """How much M = 1's mean of 5 beats the mixture's, seed by seed."""
  gaps = [_mean_of(a, 5) - _mean_of(b, 5) for a, b in zip(mixture, one)]
  return (f"with {label} M = 1's mean of 5 is below M = {mixture[0]['num_kernels']}'s "
          f"on {sum(g > 0 for g in gaps)} "
          f"of {len(gaps)} seeds, by " + ", ".join(f"{g:.1f}" for g in gaps) + " mm")


BENCH = (_R + "bench_diffpose_cpu.json",
         "python -m experiments.bench.diffpose --hypotheses=5,20 "
         "--out=experiments/results/bench_diffpose_cpu.json "
         "--torch_python=TORCH_VENV/bin/python", "2 CPU cores")


def _bench_lines(root) -> list[str]:
  rel, command, hardware = BENCH
  r = _load(root, rel)
  if r is None:
    return []
  out = ["", "DiffPose's speed: one denoiser forward (1.08M parameters) against "
         "the same layout written in PyTorch 2.13 (2 threads, "
         "`experiments/bench/torch_diffpose.py`; target 1.2x), and DDIM "
         "hypotheses per second beside GFPose's sampler at the same poses, "
         "hypotheses and steps:", "",
         "| hardware | rows | jaxpose ms | PyTorch ms | speed-up |", "|---|---|---|---|---|"]
  for d in r["denoiser_step"]:
    out.append(f"| {hardware} | {d['rows']} | {d['jaxpose']['step_ms']:.1f} | "
               f"{d['torch']['step_ms']:.1f} | {d['speedup_vs_torch']:.2f}x |")
  out += ["", "| poses x N | steps | DiffPose hypotheses/s | GFPose hypotheses/s |",
          "|---|---|---|---|"]
  for s in r["sampling"]:
    d, g = s["diffpose"], s["gfpose"]
    out.append(f"| {d['poses']} x {d['hypotheses']} | {d['steps']} | "
               f"{d['hypotheses_per_s']:.0f} | {g['hypotheses_per_s']:.0f} "
               f"({g['spec']}) |")
  out += ["", f"`{rel}`: `{command}`" + (" (measured on a busy machine)"
                                         if r.get("busy") else "") + "."]
  return out


def lines(root: pathlib.Path) -> list[str]:
  return (_diffpose_lines(root) + _ablation_lines(root)
          + results_calibration.lines(root) + _kernel_lines(root)
          + _bench_lines(root))


__all__ = ["lines", "DIFFPOSE", "ABLATION"]
