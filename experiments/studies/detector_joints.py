r"""Question: Where does the detector put a body's hips, shoulders, neck and head, against the joints a workdir's model was trained on?
Answer: The figures are in the results file this writes (docs/results/footage.md shows them); the page's note says what they mean.

    python -m experiments.studies.detector_joints --workdir=runs/lifter_cam \
        --name=lifter_cam --cache_dir=caches

writes experiments/results/detector_joints_<name>_cpu.json, which is also
a joint map file (`--joint_map` of `experiments.lift` and of
`experiments.studies.real_footage`).

The detector's keypoints of Pose2Sim's four calibrated views,
triangulated (`real_footage.reference`), give the detector's body in 3D;
the workdir's training rows give its rig's. Each body's proportions
(`pose.detector_joints.ratios`: eight lengths over the leg's) are taken
as medians over frames, and `detector_joints.measure` chooses the map
that gives the detector's body the rig's. The file holds the map, both
bodies' proportions and the mapped detector body's.
"""
from __future__ import annotations

import os

import numpy as np
from absl import app
from absl import flags

from experiments.bench import public_clips
from experiments.bench import timing
from experiments.studies import real_footage
from jaxpose import files
from jaxpose import methods
from jaxpose import run_lib
from jaxpose.pose import detector_joints


def training_poses(workdir: str, overrides: dict) -> tuple[np.ndarray, dict]:
  """The workdir's training rows' 3D joints (mm) and rows per dataset."""
  config = run_lib.evaluation_config(workdir, overrides)
  method, run = methods.parse(config)
  data = method.load_data(run, run_lib.load_trained(workdir,
                                                    config=config).needs)
  rows = data.splits["train"]
  names, counts = np.unique(rows["dataset"], return_counts=True)
  return (np.asarray(rows["pose3d_mm"], np.float64),
          {str(n): int(c) for n, c in zip(names, counts)})


def detector_body(cache: str = real_footage.CACHE) -> np.ndarray:
  """`[T, 17, 3]` the calibrated clip's triangulated keypoints (world mm,
  NaN where the views could not place a joint)."""
  views = {n: real_footage.view_keypoints(real_footage.detected(n, cache))
           for n in real_footage.VIEWS}
  cams = real_footage.read_qca(public_clips.clip("pose2sim_calibration"))
  return real_footage.reference(views, cams)["points_mm"]


def study(workdir: str, overrides: dict, cache: str = real_footage.CACHE
          ) -> dict:
  rig, rows = training_poses(workdir, overrides)
  detector = detector_body(cache)
  joint_map = detector_joints.measure(
      detector, rig, measured_on=(
          f"Pose2Sim's demo, four calibrated views triangulated, against "
          f"{workdir}'s training rows"))
  placed = detector[np.isfinite(detector).all(axis=(1, 2))]
  ratio = lambda x: dict(zip(detector_joints.RATIO_NAMES,
                             np.round(detector_joints.ratios(x), 3).tolist()))
  return {"joint_map": detector_joints.to_json(joint_map),
          "ratios": {"detector": ratio(placed), "rig": ratio(rig),
                     "detector_mapped": ratio(detector_joints.apply(
                         joint_map, placed))},
          "frames": int(len(placed)), "training_rows": rows}


def main(argv):
  del argv
  overrides = {"data.cache_dir": _CACHE_DIR.value} if _CACHE_DIR.value else {}
  result = study(_WORKDIR.value, overrides)
  print(result)
  out = os.path.join(os.path.dirname(os.path.dirname(__file__)), "results",
                     f"detector_joints_{_NAME.value}_cpu.json")
  files.write_json_atomic(out, {
      **result, "workdir": _WORKDIR.value, "seed": 0,
      "test_inputs": {"2d": "MediaPipe Pose's (four calibrated views, "
                            "triangulated)"},
      "hardware": timing.hardware_info()})
  print(f"wrote {out}")


if __name__ == "__main__":
  # Defined here, not on import: tests import this module.
  _WORKDIR = flags.DEFINE_string("workdir", None, "A trained workdir (its "
                                 "training rows are the rig).")
  _NAME = flags.DEFINE_string("name", None, "The results file's name part.")
  _CACHE_DIR = flags.DEFINE_string("cache_dir", "", "The mocap caches' folder "
                                   "(data.cache_dir).")
  flags.mark_flags_as_required(["workdir", "name"])
  app.run(main)
