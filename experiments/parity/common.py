"""What every parity run shares: the authors' side, comparisons, the JSON.

A parity run (experiments/parity/<method>.py) puts jaxpose beside the
authors' PyTorch code on the same weights, inputs and noise:

1. `run_authors` starts experiments/parity/authors_<method>.py under a
   Python with torch (--torch_python or $JAXPOSE_TORCH_PYTHON), with the
   authors' checkout (--authors_repo) on its path. That script builds the
   authors' own modules, initialises them randomly, saves the weights in
   the authors' format (torch.save, their key layout) and runs their
   network and sampler code on inputs and noise read from an npz written
   here in numpy; it writes their outputs to another npz.
2. The jaxpose side imports those weights through the released-checkpoint
   importer (the same code path as a user's download) and computes the same.
3. `compare` reports the largest absolute difference and the relative one,
   max |ours - theirs| / max |theirs| (normwise: elementwise ratios blow up
   where a coordinate is near zero), and whether the tolerance holds;
   `write_result` writes experiments/results/parity_<method>.json with the
   authors' commit.

No code of the authors' is copied here: their modules are imported from
their checkout at run time.
"""
from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from typing import Any, Mapping

import numpy as np

from jaxpose import files

RESULTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))), "results")
TORCH_PYTHON_ENV = "JAXPOSE_TORCH_PYTHON"


def torch_python(flag_value: str | None) -> str:
  """The interpreter with torch that runs the authors' code."""
  python = flag_value or os.environ.get(TORCH_PYTHON_ENV)
  if not python:
    raise ValueError(
        f"--torch_python: missing (or set {TORCH_PYTHON_ENV}); make one with "
        "`python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install "
        "torch==2.13.0 numpy scipy ml_collections pyyaml tqdm matplotlib "
        "pytorch-lightning` (DPoser's v2 trainer needs pytorch-lightning, "
        "DiffPose's code matplotlib)")
  return python


def authors_commit(repo: str) -> str:
  """The commit of the authors' checkout (HEAD), or why it is unknown."""
  try:
    return subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"],
                          check=True, capture_output=True,
                          text=True).stdout.strip()
  except (OSError, subprocess.CalledProcessError) as e:
    return f"unknown ({e})"


def run_authors(python: str, script: str, repo: str, *args: str,
                timeout: float = 3600) -> str:
  """Runs an authors_<method>.py driver; returns its stdout."""
  if not os.path.isdir(repo):
    raise FileNotFoundError(f"--authors_repo={repo!r}: no such directory "
                            "(a checkout of the authors' repository)")
  env = dict(os.environ, PYTHONPATH=os.path.abspath(repo),
             CUDA_VISIBLE_DEVICES="")
  proc = subprocess.run([python, script, "--authors_repo",
                         os.path.abspath(repo), *args],
                        capture_output=True, text=True, env=env,
                        timeout=timeout, cwd=os.path.abspath(repo))
  if proc.returncode:
    raise RuntimeError(f"{os.path.basename(script)} failed "
                       f"(exit {proc.returncode}): {proc.stderr[-3000:]}")
  return proc.stdout


def compare(ours, theirs, *, tolerance: float, measure: str = "relative"
            ) -> dict[str, Any]:
  """max |ours - theirs|, its ratio to max |theirs|, and the verdict.

  `measure` ('relative' or 'absolute') is the figure `tolerance` bounds.
  """
  ours = np.asarray(ours, np.float64)
  theirs = np.asarray(theirs, np.float64)
  if ours.shape != theirs.shape:
    raise ValueError(f"shapes differ: jaxpose {ours.shape}, authors "
                     f"{theirs.shape}")
  if not (np.all(np.isfinite(ours)) and np.all(np.isfinite(theirs))):
    raise ValueError("non-finite values in an output being compared")
  max_abs = float(np.max(np.abs(ours - theirs))) if ours.size else 0.0
  scale = float(np.max(np.abs(theirs))) if theirs.size else 0.0
  max_rel = max_abs / scale if scale > 0 else max_abs
  figure = max_rel if measure == "relative" else max_abs
  return {"max_abs": max_abs, "max_rel": max_rel, "max_abs_reference": scale,
          "measure": measure, "tolerance": tolerance,
          "met": bool(figure <= tolerance), "shape": list(ours.shape)}


def machine() -> str:
  """This machine in words, for a results row."""
  return (f"{platform.machine()}, {os.cpu_count()} CPU cores "
          f"({platform.processor() or 'cpu'}), no accelerator")


def write_result(method: str, result: Mapping[str, Any], *,
                 results_dir: str = RESULTS) -> str:
  """experiments/results/parity_<method>.json, atomically; returns its path."""
  out = {"method": method,
         "date": datetime.date.today().isoformat(),
         "machine": machine(),
         "python": sys.version.split()[0], **result}
  path = os.path.join(results_dir, f"parity_{method}.json")
  files.write_json_atomic(path, out)
  return path
