"""The lift command's speed: a minute of 30 fps keypoints (1,800 frames).

  python -m experiments.bench.lift --keypoints=runs/bench_lift/keypoints.npz \
      --workdir=runs/gfpose_mocap_camera --smooth_with=runs/dposer_mocap \
      --out=experiments/results/bench_lift_cpu.json

The keypoint file is repeated to --frames frames (its own frames in order,
again and again), then lifted as `experiments/lift.py` lifts it
(`jaxpose.lift`: read, lift, smooth, write every output) with
--hypotheses, under each of SETTINGS: the command's defaults (the
workdir's sampler and steps, smoothing at the DPoser workdir's prior
weight), 10 sampler steps, and 10 steps with the temporal term alone.
Each runs twice in this process: the first run is what the command costs
(compilation included, as a user pays it once per video), the second what
is left when the lifting's programs are compiled. The JSON holds both and
the real-time factor of the first (the video's duration over the seconds;
above 1 is faster than real time). What each setting costs in error is
measured apart (docs/results/video.md).
"""
from __future__ import annotations

import os
import platform
import tempfile
import time

from absl import app
from absl import flags
import numpy as np

from jaxpose import files
from jaxpose import lift
from jaxpose.core import host_memory


def repeated_keypoints(path: str, frames: int, out_path: str) -> str:
  """The .npz `path` with its frames repeated to `frames`."""
  with np.load(path) as data:
    arrays = dict(data)
  t = len(arrays["keypoints"])
  take = np.arange(frames) % t
  arrays["keypoints"] = arrays["keypoints"][take]
  if "scores" in arrays:
    arrays["scores"] = arrays["scores"][take]
  np.savez(out_path, **arrays)
  return out_path


# (name, sampler steps (0: the workdir's), DPoser prior weight (None: the
# DPoser workdir's own)).
SETTINGS = (("defaults", 0, None), ("--steps=10", 10, None),
            ("--steps=10 --smooth_prior_weight=0", 10, 0.0))


def run_once(workdir: str, keypoints: str, out_dir: str, *, hypotheses: int,
             steps: int, smooth_with: str, prior_weight, fps: float
             ) -> tuple[float, dict]:
  """(seconds of one whole lift: read, lift, smooth, write; its parts)."""
  start = time.perf_counter()
  lifted = lift.lift_keypoints(workdir, keypoints, num_hypotheses=hypotheses,
                               num_steps=steps)
  parts = dict(lift_s=lifted.info["seconds"])
  if smooth_with:
    lifted = lift.smooth(lifted, smooth_with, prior_weight=prior_weight)
    parts["smoothing_s"] = lifted.info["smoothing"]["seconds"]
  lift.write_outputs(lifted, out_dir, fps=fps, overwrite=True)
  parts["sampler"] = f"{lifted.info['sampler']} x {lifted.info['num_steps']}"
  return time.perf_counter() - start, parts


def main(argv):
  del argv
  host_memory.retain_freed_memory()  # as experiments.lift does
  rows = []
  duration = _FRAMES.value / _FPS.value
  with tempfile.TemporaryDirectory() as tmp:
    keypoints = repeated_keypoints(_KEYPOINTS.value, _FRAMES.value,
                                   os.path.join(tmp, "video.npz"))
    for name, steps, weight in SETTINGS:
      kwargs = dict(hypotheses=_HYPOTHESES.value, steps=steps,
                    smooth_with=_SMOOTH.value, prior_weight=weight,
                    fps=_FPS.value)
      out = os.path.join(tmp, "out")
      first, parts = run_once(_WORKDIR.value, keypoints, out, **kwargs)
      second, _ = run_once(_WORKDIR.value, keypoints, out, **kwargs)
      rows.append(dict(setting=name, hypotheses=_HYPOTHESES.value,
                       smoothed=bool(_SMOOTH.value), seconds=round(first, 2),
                       second_run_seconds=round(second, 2),
                       realtime_factor=round(duration / first, 2), **parts))
      print(rows[-1])
  files.write_json_atomic(_OUT.value, dict(
      what=f"experiments/lift.py's work on {_FRAMES.value} frames "
           f"({duration:g} s at {_FPS.value:g} fps), {_HYPOTHESES.value} "
           "hypotheses",
      workdir=f"runs/{os.path.basename(os.path.normpath(_WORKDIR.value))}",
      smooth_with=(f"runs/{os.path.basename(os.path.normpath(_SMOOTH.value))}"
                   if _SMOOTH.value else ""),
      hardware=_HARDWARE.value, machine=platform.processor() or platform.machine(),
      cpu_count=os.cpu_count(), load_average=list(os.getloadavg()), rows=rows,
      target=dict(what="a setting with smoothing faster than real time",
                  met=any(r["realtime_factor"] > 1 and r["smoothed"]
                          for r in rows))))


if __name__ == "__main__":
  # Defined here, not on import: tests import several of these scripts.
  _KEYPOINTS = flags.DEFINE_string("keypoints", None, "A keypoint .npz to repeat.")
  _WORKDIR = flags.DEFINE_string("workdir", None, "A workdir that lifts.")
  _SMOOTH = flags.DEFINE_string("smooth_with", "", "A DPoser workdir ('' = none).")
  _OUT = flags.DEFINE_string("out", None, "The JSON.")
  _FRAMES = flags.DEFINE_integer("frames", 1800, "Frames of the video.")
  _FPS = flags.DEFINE_float("fps", 30.0, "Its frame rate.")
  _HYPOTHESES = flags.DEFINE_integer("hypotheses", 20, "Hypotheses per frame.")
  _HARDWARE = flags.DEFINE_string("hardware", "2 CPU cores", "Where it ran.")
  flags.mark_flags_as_required(["keypoints", "workdir", "out"])
  app.run(main)
