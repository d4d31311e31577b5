"""A video, or its 2D keypoints, to 3D motion, in one command.

  python -m experiments.lift --video=clip.mp4 --workdir=runs/gfpose_mocap \
      --out=runs/video_lifted [--hypotheses=20] [--smooth_with=runs/dposer_mocap]
  python -m experiments.lift --keypoints=video.json --workdir=runs/gfpose_mocap \
      --out=runs/video_lifted [--image_size=1920,1080]

--video: any clip OpenCV's FFmpeg decodes; MediaPipe Pose finds one
person's keypoints in every frame (--detect_every=2: every second one, the
others filled in), in its own environment (set it up once:
python -m experiments.setup_detector), on --detect_workers processes, and
keypoints.json keeps them (a re-lift: --keypoints=OUT/keypoints.json).
--keypoints: a detector's file (COCO-17 JSON as MMPose, Detectron2, ViTPose
or YOLO-pose write it; OpenPose BODY_25, a directory of per-frame JSONs;
MediaPipe Pose's landmarks, which need --image_size; an .npz of [T, J, 2]
pixels), one person followed (--person, else the longest track or the most
confident person per frame; with --video, --person_at=x,y follows the person
at that pixel of the first frame). --workdir: a trained GFPose (H hypotheses,
masked joints completed), DiffPose or lifter (a joint below --threshold
filled in across time first). --smooth_with: a DPoser workdir whose prior smooths the mean
motion in overlapping, blended windows (`methods/dposer/smoothing.py`);
--smooth_prior_weight=0 smooths with its temporal term alone (faster).
The camera is --focal_px, --fov_deg, or a default field of view over the
image size (given, from the file, or estimated from the keypoints);
lift.json says which. --roll_deg: a camera rolled about its axis (the
models trained within 3 degrees of level) is lifted as if level and
turned back. The lift is then fitted onto its own 2D (each frame's root
and joints moved as little as a prior on bones and motion
allows, the depths pulled toward the detector's own, joint by joint and
bone by bone, where it gives one: --nodetector_depth leaves that out;
--nofit_2d leaves the fit), at
--height_mm's size when given.
--joint_map moves the detector's joints to the model's rig's first.
Compiled programs are kept for the next run in --compilation_cache. A wrong
--smooth_with fails before any lifting. docs/video.md has the details.
Writes into --out (all or nothing):
  motion.npz   per frame: hypotheses_mm [T, H, 17, 3], mean_mm, spread_mm
               [T, 17], root_mm [T, 3] (camera frame, mm), keypoints_px,
               visible, confidence, frame (and smoothed_mm)
  motion.bvh   the mean motion, smoothed if asked (Y up, centimetres), on
               a floor at the origin (--bvh_frame=camera: camera
               coordinates); lift.json's 'bvh' gives its fit's error
  motion.html  the 3D motion beside the 2D keypoints (on the video's frames
               with --video), scrubbable, offline
  keypoints.json  (--video) the detector's keypoints
  lift.json    what was read, chosen and run (`jaxpose.lift.Lifted.info`)
The logic is `jaxpose.lift` (usable from a notebook).
"""
from __future__ import annotations

import json

from absl import app
from absl import flags
from absl import logging

from jaxpose import lift
from jaxpose import logs
from jaxpose.core import host_memory
from jaxpose.core import xla_options
from jaxpose.pose import fit_2d


def main(argv):
  del argv
  logging.set_verbosity(logging.INFO)
  logs.configure_logging()
  host_memory.retain_freed_memory()
  logs.exit_on_error(run, debug=_DEBUG.value)


def _person_at():
  """--person_at as (x, y), or None."""
  if not _PERSON_AT.value:
    return None
  try:
    x, y = (float(v) for v in _PERSON_AT.value)
  except ValueError:
    raise ValueError(f"--person_at={','.join(_PERSON_AT.value)}: expected "
                     "x,y (pixels of the first frame)") from None
  return x, y


def run():
  if bool(_KEYPOINTS.value) == bool(_VIDEO.value):
    raise ValueError("give --video (a clip) or --keypoints (a detector's "
                     "file), one of them")
  xla_options.use_compilation_cache(_CACHE.value)
  if (_DETECT_EVERY.value > 1 or _PERSON_AT.value) and not _VIDEO.value:
    raise ValueError("--detect_every and --person_at steer the detector of "
                     "a --video; a keypoint file is already detected (its "
                     "tracks: --person)")
  if _SMOOTH.value:  # before any lifting work: a wrong path fails at once
    lift.check_smoother(_SMOOTH.value)
  keys = dict(format=_FORMAT.value, focal_px=_FOCAL.value, fov_deg=_FOV.value,
              threshold=_THRESHOLD.value, person=_PERSON.value,
              root_depth_mm=_DEPTH.value, empty_frames=_EMPTY.value,
              image_size=tuple(int(v) for v in _SIZE.value),
              sigma_px=_SIGMA.value, joint_map=_JOINT_MAP.value,
              roll_deg=_ROLL.value)
  options = dict(num_hypotheses=_HYPOTHESES.value, seed=_SEED.value,
                 sampler=_SAMPLER.value, num_steps=_STEPS.value)
  weight = None if _PRIOR_WEIGHT.value < 0 else _PRIOR_WEIGHT.value
  if _HEIGHT.value and not _FIT.value:
    raise ValueError("--height_mm sizes the fit to 2D; drop --nofit_2d")
  fitting = None
  if _FIT.value:
    fitting = fit_2d.FitSettings(height_mm=_HEIGHT.value)
    if not _DEPTH.value:
      fitting = fit_2d.without_detector_depth(fitting)
  writing = dict(overwrite=_OVERWRITE.value, bvh_frame=_BVH_FRAME.value,
                 bvh_branches=_BVH_BRANCHES.value)
  if _VIDEO.value:
    if not flags.FLAGS["empty_frames"].present:  # a frame without a person
      keys["empty_frames"] = "mask"             # is completed, not refused
    lifted, written = lift.lift_video(
        _WORKDIR.value, _VIDEO.value, _OUT.value,
        detector_python=_DETECTOR.value or None,
        workers=_WORKERS.value or None, fps=_FPS.value,
        detect_every=_DETECT_EVERY.value, person_at=_person_at(),
        smooth_with=_SMOOTH.value, smooth_prior_weight=weight,
        fit_to_2d_settings=fitting,
        keypoints={k: v for k, v in keys.items() if v}, **options, **writing)
    video = lifted.info["video"]
    print(f"detected {video['frames']} frames in "
          f"{video['detection_seconds']} s ({video['detection_fps']} fps)")
  else:
    lifted = lift.lift_keypoints(_WORKDIR.value, _KEYPOINTS.value,
                                 keypoints=keys, **options)
    if fitting is not None:
      lifted = lift.fit_to_2d(lifted, fps=_FPS.value, settings=fitting)
    if _SMOOTH.value:
      lifted = lift.smooth(lifted, _SMOOTH.value, seed=_SEED.value,
                           prior_weight=weight)
    written = lift.write_outputs(lifted, _OUT.value, fps=_FPS.value or 30.0,
                                 **writing)
  smoothing = lifted.info.get("smoothing", {}).get("seconds")
  count = lifted.info['hypotheses']
  print(f"lifted {lifted.num_frames} frames with {lifted.info['method']} "
        f"({count} hypothes{'i' if count == 1 else 'e'}s) in "
        f"{lifted.info['seconds']} s"
        + (f", smoothed in {smoothing} s" if smoothing is not None else "")
        + f"; mean spread {lifted.spread_mm.mean():.1f} mm")
  if "fit_2d" in lifted.info:
    fit = lifted.info["fit_2d"]
    print(f"fitted to its 2D in {fit['seconds']} s: the keypoints reproject "
          f"{fit['reprojection_px_after']} px off (median; "
          f"{fit['reprojection_px_before']} before), scale {fit['scale']}")
  with open(written[-1]) as f:
    fit = json.load(f)["bvh"]["fit"]
  print(f"motion.bvh ({_BVH_FRAME.value} frame): joints within "
        f"{fit['mean_mm']} mm of motion.npz's on average, {fit['max_mm']} mm "
        f"at most ({fit['worst_joint']}); lift.json's 'bvh' has every joint's")
  print("wrote: " + ", ".join(written))


if __name__ == "__main__":
  # Defined here, not on import: tests import several of these scripts.
  _KEYPOINTS = flags.DEFINE_string("keypoints", None, "The keypoint file or folder.")
  _VIDEO = flags.DEFINE_string("video", None, "A video file: its keypoints are "
                               "detected first (MediaPipe Pose).")
  _DETECTOR = flags.DEFINE_string("detector_python", "", "The detector "
                                  "environment's python ('' = "
                                  "$JAXPOSE_DETECTOR_PYTHON, else the one "
                                  "experiments.setup_detector made).")
  _CACHE = flags.DEFINE_string(
      "compilation_cache", xla_options.DEFAULT_COMPILATION_CACHE, "Where "
      "compiled programs are kept between runs ('': nowhere; each run "
      "compiles anew).")
  _PERSON_AT = flags.DEFINE_list(
      "person_at", [], "--video: x,y pixels on the person to follow in the "
      "first frame (one the detector would not choose; one detector "
      "process).")
  _DETECT_EVERY = flags.DEFINE_integer(
      "detect_every", 1, "--video: detect one frame in this many and fill in "
      "the others between them (faster; quick motion is smoothed over).",
      lower_bound=1)
  _WORKERS = flags.DEFINE_integer("detect_workers", 0, "Detector processes, "
                                  "each a stretch of the clip (0 = the cores).")
  _WORKDIR = flags.DEFINE_string("workdir", None, "A trained workdir that lifts.")
  _OUT = flags.DEFINE_string("out", None, "The output folder (new or empty).")
  _HYPOTHESES = flags.DEFINE_integer("hypotheses", 20, "Hypotheses per frame.")
  _SAMPLER = flags.DEFINE_string("sampler", "", "Sampler spec ('' = the workdir's).")
  _STEPS = flags.DEFINE_integer("steps", 0, "Sampler steps (0 = the workdir's).")
  _SEED = flags.DEFINE_integer("seed", 0, "Seed of the draws.")
  _SMOOTH = flags.DEFINE_string("smooth_with", "", "A DPoser workdir: smooth the "
                                "motion with its prior ('' = no smoothing).")
  _PRIOR_WEIGHT = flags.DEFINE_float(
      "smooth_prior_weight", -1.0, "DPoser's prior weight in the smoothing "
      "(< 0: the DPoser workdir's own; 0: the temporal term alone, faster).")
  _FPS = flags.DEFINE_float("fps", 0.0, "Frames per second of the video (0: "
                            "the video's own, else 30).")
  _FORMAT = flags.DEFINE_string("format", "", "Force a format (coco, openpose, "
                                "mediapipe, npz).")
  _SIZE = flags.DEFINE_list("image_size", [], "width,height in pixels.")
  _FOCAL = flags.DEFINE_float("focal_px", 0.0, "Focal length in pixels (0: guess).")
  _FOV = flags.DEFINE_float("fov_deg", 0.0, "Field of view (0: the default).")
  _ROLL = flags.DEFINE_float("roll_deg", 0.0, "The camera's roll: degrees "
                             "from the image's up to the world's, toward the "
                             "image's right, as a vertical edge through the "
                             "image's centre leans (0: level).")
  _THRESHOLD = flags.DEFINE_float("threshold", 0.3, "Confidence below which a "
                                  "joint is masked.")
  _SIGMA = flags.DEFINE_float("sigma_px", 0.0, "The detector's keypoint error std "
                              "in pixels, for a DiffPose whose per-row H_K reads "
                              "a noise std (0: not given).")
  _PERSON = flags.DEFINE_string("person", "", "Track id to follow ('': the "
                                "one in most frames; a video's tracks are in "
                                "lift.json's keypoints.tracks).")
  _JOINT_MAP = flags.DEFINE_string(
      "joint_map", "", "A joint map file (jaxpose.pose.detector_joints; "
      "experiments.studies.detector_joints measures one): the detector's "
      "hips, shoulders, neck and head moved to the model's rig's joints.")
  _DEPTH = flags.DEFINE_float("root_depth_mm", 0.0, "Root depth (0: from the "
                              "torso's 2D length).")
  _EMPTY = flags.DEFINE_enum("empty_frames", "error", ["error", "mask"],
                             "Frames without a visible joint.")
  _BVH_FRAME = flags.DEFINE_enum("bvh_frame", "floor", ["floor", "camera"],
                                 "motion.bvh: on a floor at the origin, Y up, or "
                                 "in camera coordinates turned Y up.")
  _BVH_BRANCHES = flags.DEFINE_bool("bvh_branches", True, "motion.bvh: a joint "
                                    "per hip, shoulder and neck bone so every "
                                    "bone's direction is exact (22 joints); "
                                    "--nobvh_branches: H36M's 17.")
  _FIT = flags.DEFINE_bool("fit_2d", True, "Fit the lifted motion onto its "
                           "2D (jaxpose.pose.fit_2d); --nofit_2d: the "
                           "model's lift as it is.")
  _HEIGHT = flags.DEFINE_float("height_mm", 0.0, "The person's height: fixes "
                               "the body's size and so its depth (0: unknown, "
                               "the model's size; needs --fit_2d).")
  _DEPTH = flags.DEFINE_bool("detector_depth", True, "Let the detector's own "
                             "depth of each joint (MediaPipe's z) pull the "
                             "fit to 2D's depths; --nodetector_depth: the "
                             "lift's depths alone.")
  _OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace a non-empty --out.")
  _DEBUG = flags.DEFINE_bool("debug", False, "Show the traceback of an error "
                             "(also JAXPOSE_DEBUG=1).")
  flags.mark_flags_as_required(["workdir", "out"])
  app.run(main)
