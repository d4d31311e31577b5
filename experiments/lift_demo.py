"""The README's "Your own video" example: a test clip of jaxpose-mocap v1 as
a detector's keypoint file, lifted by `experiments/lift.py`'s library, and
scored against the clip's truth (which a real video lacks).

  python -m experiments.lift_demo --workdir=runs/gfpose_mocap \
      --config.data.cache_dir=caches --out=runs/lift_demo \
      --json=experiments/results/lift_demo_cpu.json

The first camera's frames of the first test clip (CMU 005, people never
seen in training) are written as an .npz of pixels with the left wrist's
score below the threshold for one second (frames 60-89): the lifted
motion's error and spread with the joint seen and masked, and the time,
go to the JSON; a screenshot of the page (headless Chromium, when found)
to <json stem>.png.
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

_WORKDIR = flags.DEFINE_string("workdir", None, "A GFPose workdir trained on mocap.")
_CACHE = flags.DEFINE_string("config.data.cache_dir", "", "The mocap caches.")
_OUT = flags.DEFINE_string("out", None, "The lift's output folder.")
_JSON = flags.DEFINE_string("json", None, "The figures' JSON.")
_FRAMES = flags.DEFINE_integer("frames", 150, "Frames of the clip.")
_HYPOTHESES = flags.DEFINE_integer("hypotheses", 20, "Hypotheses per frame.")
flags.mark_flags_as_required(["workdir", "out", "json"])

MASKED_JOINT, MASKED_FRAMES = "l_wrist", slice(60, 90)


def clip_keypoints(workdir: str, cache_dir: str, frames: int, path: str) -> dict:
  """Writes the clip's keypoint file; returns its rows (truth included)."""
  config = run_lib.evaluation_config(
      workdir, {"data.cache_dir": cache_dir} if cache_dir else None)
  test = datasets.load(config.data).splits["test"]
  same = ((np.asarray(test["clip"]) == test["clip"][0])
          & (np.asarray(test["camera"]) == test["camera"][0]))
  rows = np.flatnonzero(same)
  rows = rows[np.argsort(np.asarray(test["frame"])[rows])][:frames]
  clip = {k: np.asarray(v)[rows] for k, v in test.items()}
  w, h = (int(v) for v in clip["intrinsics"][0, 4:6])
  scores = np.ones(clip["pose2d"].shape[:2])
  scores[MASKED_FRAMES, H36M_17.index(MASKED_JOINT)] = 0.1
  np.savez(path, keypoints=cam_lib.unnormalize_screen(clip["pose2d"], w, h),
           scores=scores, image_size=np.array([w, h]))
  return clip


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
  clip = clip_keypoints(_WORKDIR.value, _CACHE.value, _FRAMES.value, keypoints)
  lifted = lift.lift_keypoints(_WORKDIR.value, keypoints,
                               num_hypotheses=_HYPOTHESES.value)
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
      mpjpe_mm=float(err.mean()),
      masked_joint=dict(
          name=MASKED_JOINT, error_seen_mm=float(err[seen, j].mean()),
          error_masked_mm=float(err[~seen, j].mean()),
          spread_seen_mm=float(lifted.spread_mm[seen, j].mean()),
          spread_masked_mm=float(lifted.spread_mm[~seen, j].mean())),
      screenshot=os.path.basename(png) if screenshot(written[2], png) else None)
  files.write_json_atomic(_JSON.value, figures)
  print(figures)


if __name__ == "__main__":
  app.run(main)
