"""Speed of a video's way to 3D motion: detection, lifting, writing.

  python -m experiments.bench.video --workdirs=runs/lifter,runs/gfpose \\
      [--clips=pose2sim_cam01,sports2d_demo] [--detect_workers=0] \\
      [--detect_every=1,2] \\
      [--out=experiments/results/bench_video_cpu.json]

For each clip (real footage that registry packages ship,
`public_clips`) and each workdir, `lift.lift_video` runs the whole way a
user's command does, and the stages are timed apart: the detector
(decoding and MediaPipe Pose, `--detect_workers` processes), the lift
(restoring the model, compiling and lifting every frame) and writing the
outputs (BVH, page), with the fit of the lift to its 2D (on by default)
timed apart from the writing; with each `--detect_every` (the detector on
one frame in that many, the others filled in). Each is run twice, with
nothing compiled kept in memory between: as a user's first command on a
machine (the persistent compilation cache emptied), and as the next one,
whose programs that cache (`xla_options.use_compilation_cache`, a folder of
the benchmark's own) holds. Frames per second of each stage, and the whole against the clip's
own frame rate (above 1: faster than real time), are printed and written
with the hardware.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time

import jax
from absl import app
from absl import flags

from experiments.bench import public_clips
from experiments.bench import timing
from jaxpose import files
from jaxpose import lift
from jaxpose.core import host_memory
from jaxpose.core import xla_options


def measure(workdir: str, clip_name: str, *, detect_workers: int = 0,
            hypotheses: int = 20, steps: int = 0,
            detect_every: int = 1) -> dict:
  """One clip through one workdir, each stage's seconds and frame rate."""
  video = public_clips.clip(clip_name)
  with tempfile.TemporaryDirectory() as work:
    start = time.perf_counter()
    lifted, _ = lift.lift_video(
        workdir, video, os.path.join(work, "out"),
        workers=detect_workers or None, progress=False,
        detect_every=detect_every,
        num_hypotheses=hypotheses, num_steps=steps,
        keypoints={"empty_frames": "mask"})
    total = time.perf_counter() - start
  info, frames = lifted.info, lifted.num_frames
  detect_s, lift_s = info["video"]["detection_seconds"], info["seconds"]
  fit_s = info.get("fit_2d", {}).get("seconds", 0.0)
  clip_s = frames / (info["video"]["fps"] or 30.0)
  return {
      "clip": clip_name, "source": public_clips.source(clip_name),
      "workdir": workdir, "method": info["method"],
      "hypotheses": info["hypotheses"], "num_steps": info["num_steps"],
      "frames": frames, "clip_fps": info["video"]["fps"],
      "detected_every": detect_every,
      "size": info["video"]["size"],
      "detect_seconds": detect_s, "detect_fps": round(frames / detect_s, 1),
      "lift_seconds": lift_s, "lift_fps": round(frames / lift_s, 1),
      "fit_seconds": fit_s,
      "write_seconds": round(total - detect_s - lift_s - fit_s, 2),
      "total_seconds": round(total, 2),
      "realtime_factor": round(clip_s / total, 2),
      "swaps": info["keypoints"].get("swaps"),
      "completed_joints": int(lifted.completed.sum()),
  }


def measure_twice(workdir: str, clip_name: str, cache: str,
                  **options) -> list[dict]:
  """`measure` as a user's first command on this machine (the persistent
  compilation cache `cache` emptied) and as the next (its programs kept
  there); no program is kept in memory between the two."""
  rows = []
  for run in ("first", "again"):
    if run == "first":
      for name in os.listdir(cache):
        path = os.path.join(cache, name)
        if os.path.isdir(path):
          shutil.rmtree(path)
        else:
          os.remove(path)
    jax.clear_caches()
    rows.append({**measure(workdir, clip_name, **options), "run": run})
  return rows


def main(argv):
  del argv
  host_memory.retain_freed_memory()  # as experiments.lift does
  rows = []
  with tempfile.TemporaryDirectory() as cache:
    xla_options.use_compilation_cache(cache)
    for clip_name in _CLIPS.value:
      for workdir, every in ((w, int(e)) for w in _WORKDIRS.value
                             for e in _EVERY.value):
        rows += measure_twice(workdir, clip_name, cache,
                              detect_workers=_WORKERS.value,
                              hypotheses=_HYPOTHESES.value, steps=_STEPS.value,
                              detect_every=every)
        _say(rows[-2:])
  files.write_json_atomic(_OUT.value, {
      "rows": rows, "hardware": timing.hardware_info(),
      "load_average": timing.load_average()})
  print(f"wrote {_OUT.value}")


def _say(rows):
  for row in rows:
    print(f"{row['clip']} ({row['frames']} frames at {row['clip_fps']:g} fps) "
          f"with {row['method']}, {row['run']} run, detecting 1 frame in "
          f"{row['detected_every']}: detect {row['detect_fps']} fps, lift "
          f"{row['lift_fps']} fps, fit {row['fit_seconds']} s, write "
          f"{row['write_seconds']} s; {row['realtime_factor']}x real time")


if __name__ == "__main__":
  # Defined here, not on import: tests import this module.
  _WORKDIRS = flags.DEFINE_list("workdirs", None, "Trained workdirs that lift.")
  _CLIPS = flags.DEFINE_list("clips", ["pose2sim_cam01", "sports2d_demo"],
                             f"Clips ({', '.join(sorted(public_clips.CLIPS))}).")
  _WORKERS = flags.DEFINE_integer("detect_workers", 0, "Detector processes "
                                  "(0: one per core).")
  _HYPOTHESES = flags.DEFINE_integer("hypotheses", 20, "Hypotheses per frame.")
  _EVERY = flags.DEFINE_list("detect_every", ["1"], "Detect one frame in "
                             "each of these many (a row per value).")
  _STEPS = flags.DEFINE_integer("steps", 0, "Sampler steps (0: the workdir's).")
  _OUT = flags.DEFINE_string(
      "out", os.path.join(os.path.dirname(os.path.dirname(__file__)), "results",
                          "bench_video_cpu.json"), "Where the figures go.")
  flags.mark_flags_as_required(["workdirs"])
  app.run(main)
