"""README tables of parity with the authors' code, from the JSONs the parity
runs wrote (experiments/parity/).

`lines(root)` renders experiments/results/parity_<method>.json (every
comparison `parity.common.compare` wrote, found wherever it sits in the
file, named by its place) and side_by_side_gfpose_<hardware>.json (the
same training recipe in both codes, scored by jaxpose).
`experiments.results_table` puts them into README.md.
"""
from __future__ import annotations

import json
import pathlib

METHODS = ("gfpose", "dposer", "diffpose")
_COMMANDS = {m: (f"python -m experiments.parity.{m} --authors_repo=AUTHORS_CHECKOUT "
                 "--torch_python=TORCH_VENV/bin/python") for m in METHODS}


def comparisons(node, prefix=""):
  """(name, comparison) for every `compare` record inside `node`."""
  if isinstance(node, dict):
    if {"max_abs", "max_rel", "tolerance", "met"} <= set(node):
      yield prefix or "result", node
      return
    for k, v in node.items():
      yield from comparisons(v, f"{prefix}.{k}" if prefix else str(k))
  elif isinstance(node, list):
    for i, v in enumerate(node):
      yield from comparisons(v, f"{prefix}[{i}]")


def _figure(x: float) -> str:
  return f"{x:.2g}" if x else "0"


def _parity_lines(root: pathlib.Path) -> list[str]:
  lines = []
  for method in METHODS:
    rel = f"experiments/results/parity_{method}.json"
    path = root / rel
    if not path.exists():
      continue
    result = json.loads(path.read_text())
    rows = list(comparisons(result))
    if not rows:
      continue
    if not lines:
      lines += ["", "### Parity with the authors' code", "",
                "Each run puts the authors' PyTorch modules and jaxpose side "
                "by side on the same weights (initialised and saved by the "
                "authors' code, imported by jaxpose's importer), inputs and "
                "noise: max |jaxpose - authors| and that over max |authors| "
                "(relative); the tolerance bounds the figure named in "
                "'measure'. A full sampling run meets the parity target when its "
                "final poses agree within 1e-3 mm in float32 OR within 1e-6 "
                "relative in float64: with random weights the samples reach "
                "metres to kilometres, where float32's own rounding exceeds "
                "1e-3 mm, so the float64 row is the one that can tell a "
                "difference of computation from rounding; each JSON says why "
                "a row is not met.", ""]
    commit = str(result.get("authors_commit", "?"))[:12]
    lines += [f"{method} (authors' commit {commit}; {result.get('machine', '')}):",
              "", "| comparison | max abs | relative | measure | tolerance | met |",
              "|---|---|---|---|---|---|"]
    for name, c in rows:
      lines.append(f"| {name} | {_figure(c['max_abs'])} | {_figure(c['max_rel'])} "
                   f"| {c['measure']} | {c['tolerance']:g} | "
                   f"{'yes' if c['met'] else 'NO'} |")
    lines += ["", f"`{rel}`: `{_COMMANDS[method]}`", ""]
    lines += _gain_lines(result)
  return lines


def _gain_lines(result: dict) -> list[str]:
  """What the scaled output layer of DPoser's run buys (its JSON's
  `output_gain` and `output_gain_1`), said under its table."""
  gain, plain = result.get("output_gain"), result.get("output_gain_1")
  if gain is None or not isinstance(plain, dict):
    return []
  v2 = result.get("v2", result)
  scaled = next((c["max_rel"] for name, c in comparisons(v2)
                 if name.endswith("float64.generation.axis_angle_63d_rad")),
                None)
  figure = "" if scaled is None else f" ({_figure(scaled)} relative)"
  return [
      f"The authors' randomly initialised output layer is scaled by {gain:g} "
      "in this run: as initialised, an untrained network drives the "
      "1000-step sampler's states to "
      f"{_figure(plain['generation_state_max_abs_z'])} z-units, where a "
      "trained one keeps them in a pose's range. The float64 generation "
      f"figure above{figure} holds with that scaling; with the layer as "
      "initialised it is "
      f"{_figure(plain['generation_float64_63d_max_rel'])} relative, over "
      "the 1e-6 target (`output_gain_1` in the JSON).", ""]


def _side_by_side_lines(root: pathlib.Path) -> list[str]:
  lines = []
  for path in sorted((root / "experiments/results").glob(
      "side_by_side_gfpose_*.json")):
    r = json.loads(path.read_text())
    rec = r["recipe"]
    lines += ["", f"### GFPose trained by the authors' code and by jaxpose "
              f"({r.get('machine', r.get('hardware', '?'))})", "",
              f"One recipe, jaxpose-mocap v1 training rows ({r['train_rows']}), "
              f"{rec['steps']} steps of batch {rec['batch']}, width "
              f"{rec['hidden']}, seed {rec['seed']}; both scored by jaxpose's "
              f"estimate task on {r['eval']['num_poses']} test rows, "
              f"{r['eval']['num_hypotheses']} hypotheses "
              f"({r['eval']['sampler']}, {r['eval']['num_steps']} steps).", "",
              "| trained by | MPJPE | best-of-H MPJPE | PA-MPJPE | s / train step |",
              "|---|---|---|---|---|"]
    for who in ("jaxpose", "authors"):
      row = r[who]
      lines.append(f"| {who} | {row['mpjpe_mm']:.1f} | {row['min_mpjpe_mm']:.1f} | "
                   f"{row['pa_mpjpe_mm']:.1f} | {row['train_seconds_per_step']:.4f} |")
    lines += ["", f"jaxpose / authors: MPJPE {r['ratio_mpjpe']:.3f}, best-of-H "
              f"{r['ratio_min_mpjpe']:.3f}; jaxpose per step {r['speedup_per_step']:.2f}"
              " times faster (training loop; compiling left out)."
              + (f" {r['load_note'][0].upper()}{r['load_note'][1:]}."
                 if r.get("load_note") else "")
              + (f" {r['target_note'][0].upper()}{r['target_note'][1:]}."
                 if r.get("target_note") else ""),
              "", f"`{path.relative_to(root)}`: `python -m experiments.parity."
              "train_gfpose --authors_repo=AUTHORS_CHECKOUT "
              "--torch_python=TORCH_VENV/bin/python`", ""]
  return lines


def lines(root: pathlib.Path) -> list[str]:
  return _parity_lines(root) + _side_by_side_lines(root)
