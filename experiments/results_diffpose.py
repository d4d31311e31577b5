"""README tables of DiffPose against its own encoder, and of calibration.

`lines(root)` renders (1) DiffPose's runs beside the frozen context encoder
scored on the same rows (the paper's question: does diffusion improve on
its encoder, and by how much) and (2) whether hypotheses' spread can be
trusted, for every multi-hypothesis method: spread-error correlation,
coverage of the central 50% / 90% intervals (ideally 0.5 / 0.9) and the
energy score, from the `calibration` block of each estimation JSON (and of
DPoser's completion).  `experiments.results_table` puts them into README.md.
"""
from __future__ import annotations

import json
import pathlib

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
    ("mocap small, trained on noisy 2D, noisy test 2D, N=5",
     _R + "diffpose_mocap_small_cpu_estimate_noisy2d.json"),
    ("mocap small, trained on noisy 2D, noisy test 2D, N=20",
     _R + "diffpose_mocap_small_cpu_estimate_noisy2d_n20.json"),
    ("mocap small, trained on noisy 2D, exact test 2D, N=5",
     _R + "diffpose_mocap_small_cpu_estimate.json"),
    ("mocap small, trained on exact 2D, exact test 2D, N=5",
     _R + "diffpose_mocap_small_exacttrain_cpu_estimate.json"),
    ("mocap small, trained on exact 2D, exact test 2D, N=20",
     _R + "diffpose_mocap_small_exacttrain_cpu_estimate_n20.json"),
    ("mocap small, trained on exact 2D, noisy test 2D, N=20",
     _R + "diffpose_mocap_small_exacttrain_cpu_estimate_noisy2d_n20.json"),
)

# (label, JSON, where the calibration block is): multi-hypothesis results.
CALIBRATION = (
    ("GFPose mocap small, exact 2D, H=200", _R + "gfpose_mocap_small_h100_estimate.json", None),
    ("GFPose mocap small, noisy 2D, H=200",
     _R + "gfpose_mocap_small_h100_estimate_noisy2d.json", None),
    ("GFPose mocap paper size, exact 2D, H=200",
     _R + "gfpose_mocap_paper_h100_estimate.json", None),
    ("DiffPose quickstart, N=20", _R + "diffpose_quickstart_cpu_n20.json", None),
    ("DiffPose mocap small (noisy-trained), noisy 2D, N=20",
     _R + "diffpose_mocap_small_cpu_estimate_noisy2d_n20.json", None),
    ("DiffPose mocap small (exact-trained), exact 2D, N=20",
     _R + "diffpose_mocap_small_exacttrain_cpu_estimate_n20.json", None),
    ("DPoser quickstart, left-leg completion, best-of-10 set",
     _R + "dposer_quickstart_cpu_complete.json", ("dposer", "l_leg")),
    ("DPoser mocap small, left-leg completion, best-of-10 set",
     _R + "dposer_mocap_small_cpu_complete.json", ("dposer", "l_leg")),
)


def _load(root: pathlib.Path, rel: str) -> dict | None:
  path = root / rel
  return json.loads(path.read_text()) if path.exists() else None


def _diffpose_lines(root) -> list[str]:
  out = ["", "### DiffPose against its own context encoder", "",
         "The frozen encoder (a graph lifter, `encoder_*.py`) scored on the same "
         "rows, re-centred on the root as the hypotheses are; gain = encoder "
         "MPJPE - DiffPose MPJPE of the mean (positive: diffusion helps). "
         f"Commands: `{_QS}` and `{_MOCAP}` (then `--mode=eval` with "
         "`--config.eval.num_hypotheses=N`, `--config.data.test_2d=noisy` and an "
         "`--config.eval.output_suffix`), 2 CPU cores, seed 0.", "",
         "| run | poses | encoder MPJPE / PA | DiffPose mean MPJPE / PA | gain | "
         "best-of-N | train steps |", "|---|---|---|---|---|---|---|"]
  for label, rel in DIFFPOSE:
    r = _load(root, rel)
    if r is None:
      continue
    enc = r["encoder"]
    out.append(f"| {label} | {r['num_poses']} | {enc['mpjpe_mm']:.1f} / "
               f"{enc['pa_mpjpe_mm']:.1f} | {r['mpjpe_mm']:.1f} / {r['pa_mpjpe_mm']:.1f}"
               f" | {r['gain_over_encoder_mm']:+.1f} | {r['min_mpjpe_mm']:.1f} | "
               f"{r['train_step']} |")
  return out


def _calibration_of(result: dict, where) -> dict | None:
  if where is None:
    return result.get("calibration")
  prior, part = where
  for s in result.get("settings", []):
    if s.get("prior") == prior and s.get("part") == part:
      return s.get("calibration")
  return None


def _calibration_lines(root) -> list[str]:
  out = ["", "### Can the hypotheses' spread be trusted?", "",
         "Per joint and coordinate: the central 50% and 90% intervals of the "
         "hypotheses should hold the true joint 50% and 90% of the time; the "
         "Pearson correlation of per-joint spread and error, and the energy "
         "score (lower is better; mm). Per-joint figures are in each JSON's "
         "`calibration` block.", "",
         "| result | hypotheses | coverage 50% | coverage 90% | spread-error r | "
         "energy score |", "|---|---|---|---|---|---|"]
  for label, rel, where in CALIBRATION:
    r = _load(root, rel)
    c = None if r is None else _calibration_of(r, where)
    if not c:
      continue
    cov = c["coverage"]
    r_val = c.get("spread_error_pearson")
    out.append(f"| {label} | {c['num_hypotheses']} | {cov['0.5']:.2f} | "
               f"{cov['0.9']:.2f} | "
               f"{'-' if r_val is None else format(r_val, '.2f')} | "
               f"{c['energy_score_mm']:.1f} |")
  return out


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
  return _diffpose_lines(root) + _calibration_lines(root) + _bench_lines(root)


__all__ = ["lines", "DIFFPOSE", "CALIBRATION"]
