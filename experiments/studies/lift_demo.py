"""Question: How close to the truth is a lifted video, and does the hypotheses' spread flag a joint the detector lost?
Answer: On a test clip (141 frames of CMU 005; GFPose small, 20 hypotheses) MPJPE is 76.2 mm from exact 2D and 115.7 from noisy 2D (101.9 smoothed by DPoser); the left wrist, masked for a second, errs by 367.7 mm against 123.8 where seen, and its spread (168.7 against 45.3 mm) flags it.

  python -m experiments.studies.lift_demo --workdir=runs/gfpose_mocap \
      --config.data.cache_dir=caches --out=runs/lift_demo \
      --json=experiments/results/lift_demo_cpu.json \
      [--smooth_with=runs/dposer_mocap --smooth_prior_weights=1,0] [--noisy]

A test clip of jaxpose-mocap v1 as a detector's keypoint file, lifted by
`experiments/lift.py`'s library (`jaxpose.lift`), and scored against the
clip's truth (which a real video lacks). The first camera's frames of the
first test clip (CMU 005, people never seen in training) are written as an
.npz of pixels with the left wrist's score below the threshold for one
second (frames 60-89): the lifted motion's error and spread with the joint
seen and masked, and the time, go to the JSON; a screenshot of the page
(headless Chromium, when found) to <json stem>.png.  With --smooth_with,
the motion smoothed by that DPoser (`jaxpose.lift.smooth`) at each
--smooth_prior_weights (0: the temporal term alone) is scored too: MPJPE
and acceleration error against the truth.
"""
from __future__ import annotations

import os
import shutil
import subprocess

from absl import app
from absl import flags
import numpy as np

from jaxpose import files
from jaxpose import lift
from jaxpose import run_lib
from jaxpose.data import datasets
from jaxpose.pose import cameras as cam_lib
from jaxpose.pose.skeleton import H36M_17


MASKED_JOINT, MASKED_FRAMES = "l_wrist", slice(60, 90)


def test_split(workdir: str, cache_dir: str) -> dict:
  """The test split of the data `workdir` was trained on."""
  config = run_lib.evaluation_config(
      workdir, {"data.cache_dir": cache_dir} if cache_dir else None)
  return datasets.load(config.data).splits["test"]


def clip_rows(test: dict, frames: int, clip=None) -> dict:
  """The rows of one clip (default: the first) seen by its first camera, in
  frame order, at most `frames` of them."""
  clip = test["clip"][0] if clip is None else clip
  same = np.flatnonzero(np.asarray(test["clip"]) == clip)
  if "camera" in test:
    same = same[np.asarray(test["camera"])[same] == test["camera"][same[0]]]
  rows = same[np.argsort(np.asarray(test["frame"])[same])][:frames]
  return {k: np.asarray(v)[rows] for k, v in test.items()}


def write_keypoints(clip: dict, path: str, *, noisy: bool = False,
                    mask: bool = True) -> None:
  """The clip's 2D as a detector's .npz of pixels; `mask`: the
  `MASKED_JOINT`'s score below the threshold in `MASKED_FRAMES`."""
  w, h = (int(v) for v in clip["intrinsics"][0, 4:6])
  scores = np.ones(clip["pose2d"].shape[:2])
  if mask:
    scores[MASKED_FRAMES, H36M_17.index(MASKED_JOINT)] = 0.1
  pose2d = clip["pose2d_noisy" if noisy else "pose2d"]
  np.savez(path, keypoints=cam_lib.unnormalize_screen(pose2d, w, h),
           scores=scores, image_size=np.array([w, h]))


def clip_keypoints(workdir: str, cache_dir: str, frames: int, path: str,
                   noisy: bool = False) -> dict:
  """Writes the first test clip's keypoint file; returns its rows (truth
  included)."""
  clip = clip_rows(test_split(workdir, cache_dir), frames)
  write_keypoints(clip, path, noisy=noisy)
  return clip


def accel_error(joints, truth) -> float:
  """Mean per-joint distance between the motion's and the truth's
  accelerations, mm per frame^2 (the motion-denoising papers' figure)."""
  accel = lambda x: x[2:] - 2 * x[1:-1] + x[:-2]
  return float(np.linalg.norm(accel(joints) - accel(truth), axis=-1).mean())


def screenshot(page: str, png: str) -> bool:
  """A headless Chromium screenshot of the page; False without Chromium."""
  browser = next(filter(None, map(shutil.which, ("chromium", "chromium-browser",
                                                  "google-chrome"))), None)
  if browser is None:
    return False
  subprocess.run([browser, "--headless", "--no-sandbox", "--use-angle=swiftshader",
                  "--enable-unsafe-swiftshader", "--hide-scrollbars",
                  "--window-size=1400,760", "--virtual-time-budget=8000",
                  f"--screenshot={png}", f"file://{os.path.abspath(page)}"],
                 check=True, capture_output=True, timeout=300)
  return True


def main(argv):
  del argv
  os.makedirs(_OUT.value, exist_ok=True)
  keypoints = os.path.join(_OUT.value, "keypoints.npz")
  clip = clip_keypoints(_WORKDIR.value, _CACHE.value, _FRAMES.value, keypoints,
                        noisy=_NOISY.value)
  lifted = lift.lift_keypoints(_WORKDIR.value, keypoints,
                               num_hypotheses=_HYPOTHESES.value)
  smoothed = []
  if _SMOOTH.value:
    weights = [float(w) for w in _PRIOR_WEIGHTS.value] or [None]
    for w in weights:
      overrides = (None if w is None else
                   {"eval.denoise_motion.weights.dposer": w})
      smoothed.append(lift.smooth(lifted, _SMOOTH.value, overrides=overrides))
  written = lift.write_outputs(lifted, os.path.join(_OUT.value, "lifted"),
                               overwrite=True)
  truth = clip["pose3d"] - clip["pose3d"][:, :1]
  err = np.linalg.norm(lifted.mean_mm - truth, axis=-1)  # [T, J]
  j = H36M_17.index(MASKED_JOINT)
  seen = np.ones(len(err), bool)
  seen[MASKED_FRAMES] = False
  png = os.path.splitext(_JSON.value)[0] + ".png"
  figures = dict(
      what=("a jaxpose-mocap v1 test clip (CMU 005, first camera) as a "
            f"keypoint file, the {MASKED_JOINT} masked in frames 60-89, lifted"),
      workdir=f"runs/{os.path.basename(os.path.normpath(_WORKDIR.value))}",
      frames=int(len(err)), hypotheses=lifted.info["hypotheses"],
      sampler=lifted.info["sampler"], num_steps=lifted.info["num_steps"],
      seconds=lifted.info["seconds"], hardware="2 CPU cores",
      camera=lifted.info["keypoints"]["camera"],
      root_depth=lifted.info["keypoints"]["root_depth"],
      input_2d="noisy" if _NOISY.value else "exact",
      mpjpe_mm=float(err.mean()), accel_error_mm=accel_error(lifted.mean_mm, truth),
      smoothed=[dict(
          by=sm.info["smoothing"]["by"], seconds=sm.info["smoothing"]["seconds"],
          mpjpe_mm=float(np.linalg.norm(sm.smoothed_mm - truth, axis=-1).mean()),
          accel_error_mm=accel_error(sm.smoothed_mm, truth)) for sm in smoothed],
      masked_joint=dict(
          name=MASKED_JOINT, error_seen_mm=float(err[seen, j].mean()),
          error_masked_mm=float(err[~seen, j].mean()),
          spread_seen_mm=float(lifted.spread_mm[seen, j].mean()),
          spread_masked_mm=float(lifted.spread_mm[~seen, j].mean())),
      screenshot=os.path.basename(png) if screenshot(written[2], png) else None)
  files.write_json_atomic(_JSON.value, figures)
  print(figures)


if __name__ == "__main__":
  # Defined here, not on import: tests import several of these scripts.
  _WORKDIR = flags.DEFINE_string("workdir", None, "A GFPose workdir trained on mocap.")
  _CACHE = flags.DEFINE_string("config.data.cache_dir", "", "The mocap caches.")
  _OUT = flags.DEFINE_string("out", None, "The lift's output folder.")
  _JSON = flags.DEFINE_string("json", None, "The figures' JSON.")
  _FRAMES = flags.DEFINE_integer("frames", 150, "Frames of the clip.")
  _HYPOTHESES = flags.DEFINE_integer("hypotheses", 20, "Hypotheses per frame.")
  _SMOOTH = flags.DEFINE_string("smooth_with", "", "A DPoser workdir: also "
                                "report the smoothed motion.")
  _PRIOR_WEIGHTS = flags.DEFINE_list(
      "smooth_prior_weights", [], "DPoser prior weights to smooth with, each a "
      "row (0: the temporal term alone); none: the workdir's own.")
  _NOISY = flags.DEFINE_bool("noisy", False, "The clip's noisy 2D (the data's "
                             "2D noise model) instead of its exact 2D.")
  flags.mark_flags_as_required(["workdir", "out", "json"])
  app.run(main)
