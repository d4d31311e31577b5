"""The lift command's speed: a minute of 30 fps keypoints (1,800 frames).

  python -m experiments.bench.lift --keypoints=runs/lift_demo/keypoints.npz \
      --workdir=runs/gfpose_mocap --smooth_with=runs/dposer_mocap \
      --out=experiments/results/bench_lift_cpu.json

The keypoint file is repeated to --frames frames (its own frames in order,
again and again), then lifted as `experiments/lift.py` lifts it
(`jaxpose.lift`: read, lift, optionally smooth, write every output) at each
--hypotheses with a fast sampler (--sampler, --steps), with and without
DPoser's smoothing. Each setting runs twice in this process: the first run
is what the command costs (compilation included, as a user pays it once per
video), the second what is left when the lifting's programs are compiled
(the smoothing compiles its solvers again: they are made per call). The
JSON holds both and the real-time factor of the first (the video's duration
over the seconds; above 1 is faster than real time), judged against the
target: a minute at 20 hypotheses with smoothing in under a minute.
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


def run_once(workdir: str, keypoints: str, out_dir: str, *, hypotheses: int,
             sampler: str, steps: int, smooth_with: str, fps: float) -> float:
  """Seconds of one whole lift (read, lift, smooth, write)."""
  start = time.perf_counter()
  lifted = lift.lift_keypoints(workdir, keypoints, num_hypotheses=hypotheses,
                               sampler=sampler, num_steps=steps)
  if smooth_with:
    lifted = lift.smooth(lifted, smooth_with)
  lift.write_outputs(lifted, out_dir, fps=fps, overwrite=True)
  return time.perf_counter() - start


def main(argv):
  del argv
  rows = []
  with tempfile.TemporaryDirectory() as tmp:
    keypoints = repeated_keypoints(_KEYPOINTS.value, _FRAMES.value,
                                   os.path.join(tmp, "video.npz"))
    for h in (int(v) for v in _HYPOTHESES.value):
      for smooth_with in ([""] + ([_SMOOTH.value] if _SMOOTH.value else [])):
        kwargs = dict(hypotheses=h, sampler=_SAMPLER.value, steps=_STEPS.value,
                      smooth_with=smooth_with, fps=_FPS.value)
        first = run_once(_WORKDIR.value, keypoints, os.path.join(tmp, "out"), **kwargs)
        seconds = run_once(_WORKDIR.value, keypoints, os.path.join(tmp, "out"), **kwargs)
        rows.append(dict(hypotheses=h, smoothed=bool(smooth_with),
                         seconds=round(first, 2), second_run_seconds=round(seconds, 2),
                         realtime_factor=round(_FRAMES.value / _FPS.value / first, 2)))
        print(rows[-1])
  target = next((r for r in rows if r["hypotheses"] == 20 and r["smoothed"]), None)
  files.write_json_atomic(_OUT.value, dict(
      what=f"experiments/lift.py's work on {_FRAMES.value} frames "
           f"({_FRAMES.value / _FPS.value:g} s at {_FPS.value:g} fps), "
           f"{_SAMPLER.value} x {_STEPS.value}",
      workdir=f"runs/{os.path.basename(os.path.normpath(_WORKDIR.value))}",
      smooth_with=(f"runs/{os.path.basename(os.path.normpath(_SMOOTH.value))}"
                   if _SMOOTH.value else ""),
      hardware=_HARDWARE.value, machine=platform.processor() or platform.machine(),
      cpu_count=os.cpu_count(), rows=rows,
      target=dict(what="20 hypotheses with smoothing faster than real time",
                  met=None if target is None else target["realtime_factor"] > 1)))


if __name__ == "__main__":
  # Defined here, not on import: tests import several of these scripts.
  _KEYPOINTS = flags.DEFINE_string("keypoints", None, "A keypoint .npz to repeat.")
  _WORKDIR = flags.DEFINE_string("workdir", None, "A workdir that lifts.")
  _SMOOTH = flags.DEFINE_string("smooth_with", "", "A DPoser workdir ('' = none).")
  _OUT = flags.DEFINE_string("out", None, "The JSON.")
  _FRAMES = flags.DEFINE_integer("frames", 1800, "Frames of the video.")
  _FPS = flags.DEFINE_float("fps", 30.0, "Its frame rate.")
  _HYPOTHESES = flags.DEFINE_list("hypotheses", ["1", "20"], "H settings.")
  _SAMPLER = flags.DEFINE_string("sampler", "ddim", "The fast sampler.")
  _STEPS = flags.DEFINE_integer("steps", 10, "Its steps.")
  _HARDWARE = flags.DEFINE_string("hardware", "2 CPU cores", "Where it ran.")
  flags.mark_flags_as_required(["keypoints", "workdir", "out"])
  app.run(main)
