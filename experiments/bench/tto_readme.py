"""README lines of `python -m experiments.bench.tto`'s JSON (DPoser against
the authors' code in PyTorch): a table of the three figures and its note.

No jax here: experiments/results_table.py renders the README from the JSON
alone.
"""
from __future__ import annotations

from typing import Mapping

_FIGURES = (("tto_iteration", "TTO iteration, one {batch}-frame clip"),
            ("sampler_step", "sampler step, {rows} rows"),
            ("train_step", "training step, batch {batch_size}"))


def readme_lines(result: Mapping, *, rel: str, command: str,
                 hardware: str) -> list[str]:
  """README lines (a table and its note) of one bench_tto JSON result.

  Args:
    result: the JSON written by `python -m experiments.bench.tto`.
    rel: the JSON's path in the repository, named under the table.
    command: the command that wrote it.
    hardware: the hardware column ('2 CPU cores').
  """
  lines = ["", "DPoser's speed (7.2M-parameter network, sub-VP) against the "
           "authors' code re-written in PyTorch 2.13 (2 threads), timed in the "
           "same rounds:", "",
           "| hardware | case | jaxpose ms | PyTorch eager ms | vs PyTorch eager "
           "(target) | vs torch.compile |",
           "|---|---|---|---|---|---|"]
  for key, label in _FIGURES:
    r = result[key]
    measured = r.get("torch_measured", {})
    eager, compiled = measured.get("torch_eager"), measured.get("torch_compiled")
    target = r["target_speedup_vs_torch_eager"]
    verdict = ("" if r.get("target_met") is None else
               (", met" if r["target_met"] else ", not met"))
    lines.append(
        f"| {hardware} | {label.format(**r)} | {r['step_s'] * 1e3:.2f} | "
        + (f"{eager['step_s'] * 1e3:.2f} | {eager['speedup']:.2f}x "
           f"({target:g}x{verdict}) | " if eager else f"- | - ({target:g}x) | ")
        + (f"{compiled['speedup']:.2f}x ({compiled['step_s'] * 1e3:.2f} ms) |"
           if compiled else "- |"))
  tto = result["tto_iteration"]
  load = result["hardware"].get("load_average_1_5_15")
  once = tto["time_embedding"]["once_per_call"]
  lines += ["", f"`{rel}`: `{command}`. The TTO loop (DPoser's motion "
            f"denoising, {tto['iterations']} Adam iterations: forward "
            "kinematics, data term, temporal smoothness, DPoser's "
            "regulariser) is one compiled program, its time divided by the "
            "iterations; the time embedding runs "
            + ("once per iteration" if once else "more than once per iteration")
            + ", where the authors' code embeds t per row and records the "
            "network's forward for autograd. The PyTorch side "
            "(`experiments/bench/torch_dposer.py`) uses plain forward "
            "kinematics where the authors pose an SMPL-X mesh, so it is "
            "faster than their code. Each speed-up is the median of "
            "per-round ratios"
            + (f"; load average before the run {load[0]:.2f}." if load else ".")]
  sampler = result["sampler_step"]
  if sampler.get("options_step_s") is not None:
    lines[-1] += (" The sampler step row is XLA's default options; with "
                  "the samplers' CPU options (`jaxpose.core.xla_options`), "
                  "which DPoser's sampler uses from 400 rows on, it took "
                  f"{sampler['options_step_s'] * 1e3:.2f} ms.")
  others = [(result[k].get("other_work") or {}).get("other_cores")
            for k, _ in _FIGURES]
  if all(o is not None for o in others):
    lines[-1] += (" Other processes used at most "
                  f"{max(others):.2f} cores during the timed rounds.")
  if result.get("busy"):
    lines[-1] += (" Measured while other work loaded the machine: PyTorch's "
                  "OpenMP threads lose far more to contention than XLA's, so "
                  "these ratios overstate those of an idle machine.")
  return lines


__all__ = ["readme_lines"]
