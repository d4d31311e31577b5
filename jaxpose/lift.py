"""A video's 2D keypoints to 3D motion with its uncertainty, by any trained
workdir whose method lifts (`base.Method.lift`: GFPose, the lifters).

  lifted = lift.lift_keypoints("runs/gfpose_mocap", "video.json",
                               num_hypotheses=20)
  lifted = lift.fit_to_2d(lifted, height_mm=1750)    # onto its own 2D
  lifted = lift.smooth(lifted, "runs/dposer_mocap")   # optional
  lift.write_outputs(lifted, "out/")   # motion.npz, motion.bvh, motion.html

The keypoint file becomes the `keypoints` dataset (data/keypoints_dataset.py),
converted to the model's units by its method's own `load_data`, so a model
sees a video's frames exactly as it saw its test rows. A joint below the
confidence threshold is no condition: GFPose completes it, a lifter has it
filled in across time first. `experiments/lift.py` is the command.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import time
from typing import Any, Mapping

import numpy as np

from jaxpose import files
from jaxpose import lift_outputs
from jaxpose import methods
from jaxpose import rng
from jaxpose import run_lib
from jaxpose import settings
from jaxpose.data import keypoints_dataset
from jaxpose.methods import base
from jaxpose.methods import protocols
from jaxpose.pose import fit_2d
from jaxpose.workdir import layout


@dataclasses.dataclass(frozen=True)
class Lifted:
  """A lifted video, per frame (camera frame: x right, y down, z forward; mm).

  Attributes:
    hypotheses_mm: each frame's hypotheses, root-relative.  # [T, H, J, 3]
    mean_mm: their mean, the motion written to BVH and drawn.  # [T, J, 3]
    spread_mm: each joint's mean distance of the hypotheses from their mean
      (0 with one hypothesis).  # [T, J]
    root_mm: the root's estimated camera-frame position (from the 2D and
      the root depth; `info["root_depth"]` says how).  # [T, 3]
    pixels: the 2D keypoints read (NaN where missing).  # [T, J, 2]
    visible: which joints the detector gave (at or above the threshold).
      # [T, J] bool
    completed: the others, which the model completed or the lift filled in
      across time (`info["keypoints"]["completed"]`).  # [T, J] bool
    confidence: the detector's scores.  # [T, J]
    frame: the file's frame ids.  # [T]
    info: method, workdir, step, hypotheses, sampler, what the keypoints
      reader chose (person, camera, depth), seconds; `smoothing` once
      smoothed.
    smoothed_mm: the mean motion smoothed by a motion prior (`smooth`),
      root-relative, or None.  # [T, J, 3]
    detector_depth_px: the detector's own depth of each joint behind the
      pelvis (`Keypoints2D.depth_px`), or None where it gives none.
      # [T, J]
  """
  hypotheses_mm: np.ndarray
  mean_mm: np.ndarray
  spread_mm: np.ndarray
  root_mm: np.ndarray
  pixels: np.ndarray
  visible: np.ndarray
  confidence: np.ndarray
  frame: np.ndarray
  info: dict
  smoothed_mm: np.ndarray | None = None
  detector_depth_px: np.ndarray | None = None

  @property
  def completed(self) -> np.ndarray:
    return ~np.asarray(self.visible, bool)

  @property
  def num_frames(self) -> int:
    return len(self.mean_mm)

  @property
  def motion_mm(self) -> np.ndarray:
    """The motion to show and export: smoothed when it was, else the mean."""
    return self.mean_mm if self.smoothed_mm is None else self.smoothed_mm


def keypoints_section(path: str, **keys) -> dict:
  """The override that makes `path`, read as the keypoints dataset, the
  whole data section (the training data's keys mean nothing for a video);
  `keys`: more of `KeypointsSettings`'s."""
  return {"data": {"name": "keypoints", "path": os.fspath(path), **keys}}


def _refuse_sampling_of_a_lifter(method, run, sampler: str, num_steps: int):
  """A sampler or step count given to a method that samples nothing."""
  samples = hasattr(run.eval_options, "num_steps")
  if (sampler or num_steps) and not samples:
    given = "--steps" if num_steps else "--sampler"
    raise settings.ConfigError(
        f"{given}: {method.name} lifts in one pass, with no sampler or steps; "
        "drop it (it would do nothing)")


def lift_settings(workdir: str, keypoints_path: str,
                  keypoints: Mapping[str, Any] | None = None):
  """(config, method, run settings) of a lift of `keypoints_path` by
  `workdir`, read from its config.json alone (the keypoint file need not
  exist yet). A lifter, which conditions on no masked joint, has the
  detector's unsure joints filled in across time unless `keypoints` says
  otherwise ("complete").

  Raises:
    settings.ConfigError: a method that cannot lift, or bad settings.
  """
  keys = dict(keypoints or {})
  config = run_lib.evaluation_config(workdir, keypoints_section(
      keypoints_path, **keys))
  method, run = methods.parse(config)
  if method.capabilities.lift is None:
    raise settings.ConfigError(
        f"{workdir}: method {method.name!r} does not lift 2D keypoints; use a "
        f"workdir of one that does ({', '.join(lifting_methods()) or 'none'})")
  if not method.capabilities.lifts_masked_joints and "complete" not in keys:
    config = run_lib.evaluation_config(workdir, keypoints_section(
        keypoints_path, **keys, complete="time"))
    method, run = methods.parse(config)
  return config, method, run


def lift_keypoints(workdir: str, keypoints_path: str, *, num_hypotheses: int = 20,
                   seed: int = 0, sampler: str = "", num_steps: int = 0,
                   keypoints: Mapping[str, Any] | None = None) -> Lifted:
  """Lifts every frame of a keypoint file with the model trained in `workdir`.

  Args:
    workdir: a trained workdir (its method must lift).
    keypoints_path: the detector's file (`keypoints.load_keypoints`).
    num_hypotheses: H per frame (a lifter gives one).
    seed: the draws' seed.
    sampler, num_steps: the sampler spec and steps ('' / 0: the workdir's
      evaluation settings).
    keypoints: more `keypoints` data keys (`KeypointsSettings`).

  Raises:
    settings.ConfigError: a method that cannot lift, or bad settings.
    keypoints.KeypointsError: a file that cannot be read as documented.
    base.MissingJointsError: a lifter given masked joints with
      `keypoints={"complete": ""}` (no filling in).

  A joint the detector gave below the threshold is completed: by the model
  where it completes masked joints (GFPose), else filled in across time
  before lifting; `Lifted.completed` marks it either way.
  """
  if num_hypotheses < 1:
    raise ValueError(f"num_hypotheses: expected >= 1, got {num_hypotheses}")
  start = time.time()
  config, method, run = lift_settings(workdir, keypoints_path, keypoints)
  _refuse_sampling_of_a_lifter(method, run, sampler, num_steps)
  # The file and its camera are checked before the model is restored.
  keypoints_dataset.camera(run.data, keypoints_dataset.read(run.data))
  trained = run_lib.load_trained(workdir, config=config)
  data = method.load_data(run, trained.needs)
  rows = data.splits["test"]
  request = base.LiftRequest(rows=rows, num_hypotheses=num_hypotheses,
                             key=rng.purpose_key(seed, "lift"), sampler=sampler,
                             num_steps=num_steps)
  hyps = np.asarray(method.capabilities.lift(trained, request), np.float32)  # [H, T, J, 3]
  t = len(rows["pose2d"])
  if hyps.ndim != 4 or hyps.shape[1] != t:
    raise ValueError(f"{method.name}.lift returned shape {hyps.shape}; "
                     f"expected [H, {t}, J, 3]")
  hyps = np.moveaxis(hyps, 0, 1)  # [T, H, J, 3]
  depth = keypoints_dataset.read(run.data).depth_px
  root = np.asarray(rows["root_cam_mm"], np.float32)
  if run.data.roll_deg:  # lifted as a level camera sees it: turned back
    hyps = keypoints_dataset.unlevel(hyps, run.data.roll_deg).astype(np.float32)
    root = keypoints_dataset.unlevel(root, run.data.roll_deg).astype(np.float32)
  mean = hyps.mean(axis=1)
  spread = np.linalg.norm(hyps - mean[:, None], axis=-1).mean(axis=1)
  info = dict(method=method.name, workdir=os.fspath(workdir), step=trained.step,
              hypotheses=int(hyps.shape[1]), seed=seed,
              sampler=sampler or getattr(run.eval_options, "sampler", ""),
              num_steps=num_steps or getattr(run.eval_options, "num_steps", 0),
              keypoints=files.jsonable(dict(data.dataset.info)),
              seconds=round(time.time() - start, 2))
  return Lifted(hypotheses_mm=hyps, mean_mm=mean, spread_mm=spread,
                root_mm=root,
                pixels=np.asarray(rows["pose2d_px"], np.float32),
                visible=~np.asarray(rows["completed"], bool),
                confidence=np.asarray(rows["pose2d_confidence"], np.float32),
                frame=np.asarray(rows["frame"]), info=info,
                detector_depth_px=depth)


def fit_to_2d(lifted: Lifted, *, height_mm: float | None = None,
              fps: float = 0.0, settings: fit_2d.FitSettings | None = None
              ) -> Lifted:
  """`lifted` moved onto the 2D it was lifted from (`pose.fit_2d`): each
  frame's root and joints, as little as the prior terms allow; every
  hypothesis moves with the mean (the spread is kept). `height_mm`: the
  person's stature, which fixes the body's size and so its depth (0: the
  lift's size; None: `settings`'). `fps` 0: the video's, else 30.
  The detector's own depth of each joint, where it gives one, pulls the
  joints' depths (`fit_2d`'s depth term; settings.sigma_depth_mm 0 leaves
  it out). `info["fit_2d"]` says what the fit did (reprojection before and
  after, the scale, joint moves, the joints the detector's depth pulled)."""
  settings = settings or fit_2d.FitSettings()
  if height_mm is not None:
    settings = dataclasses.replace(settings, height_mm=float(height_mm))
  intrinsics = lifted.info["keypoints"]["intrinsics"]
  fps = fps or float(lifted.info.get("video", {}).get("fps") or 30.0)
  start = time.time()
  depth = None
  if lifted.detector_depth_px is not None:
    # Pixels at the person's depth: mm = px * Z / f.
    depth = (lifted.detector_depth_px * lifted.root_mm[:, 2:3]
             / float(intrinsics[0]))
  fitted = fit_2d.fit(lifted.mean_mm, lifted.root_mm, lifted.pixels,
                      lifted.visible.astype(np.float32), intrinsics, fps=fps,
                      settings=settings, depth_mm=depth)
  moved = fitted.pose_mm - fitted.scale * lifted.mean_mm  # [T, J, 3]
  info = dict(lifted.info, fit_2d=dict(
      fitted.info, scale=round(fitted.scale, 4), fps=fps,
      seconds=round(time.time() - start, 2)))
  return dataclasses.replace(
      lifted, hypotheses_mm=fitted.scale * lifted.hypotheses_mm + moved[:, None],
      mean_mm=fitted.pose_mm, spread_mm=fitted.scale * lifted.spread_mm,
      root_mm=fitted.root_mm, info=info)


def smooth(lifted: Lifted, workdir: str, *, seed: int = 0,
           overrides: Mapping[str, Any] | None = None,
           prior_weight: float | None = None) -> Lifted:
  """`lifted` with its mean motion smoothed by the motion prior trained in
  `workdir` (a method that provides `protocols.MotionSmoother`: DPoser), its
  evaluation settings changed by `overrides` ({dotted key: value}).
  `prior_weight`: DPoser's prior weight (None: the workdir's own; 0: the
  temporal term alone, which leaves the prior's network out of the fit).

  Raises:
    settings.ConfigError: no such workdir, or its method smooths no motion.
  """
  if prior_weight is not None:
    if not prior_weight >= 0:
      raise ValueError(f"prior_weight: expected >= 0, got {prior_weight}")
    overrides = {**(overrides or {}),
                 "eval.denoise_motion.weights.dposer": float(prior_weight)}
  start = time.time()
  config = run_lib.evaluation_config(workdir, overrides) if overrides else None
  _, smoother = run_lib.provided(
      workdir, protocols.MotionSmoother, where=f"smooth_with={workdir!r}",
      hint="give a DPoser workdir (experiments/configs/dposer_mocap.py)",
      config=config)
  smoothed = np.asarray(smoother.smooth(lifted.mean_mm,
                                        rng.purpose_key(seed, "lift")), np.float32)
  if smoothed.shape != lifted.mean_mm.shape:
    raise ValueError(f"the smoother returned shape {smoothed.shape}; expected "
                     f"{lifted.mean_mm.shape}")
  info = dict(lifted.info, smoothing=dict(
      by=smoother.describe, workdir=os.fspath(workdir),
      seconds=round(time.time() - start, 2)))
  return dataclasses.replace(lifted, smoothed_mm=smoothed, info=info)


def check_smoother(workdir: str) -> str:
  """Refuses, before any lifting, a `smooth_with` that is no directory, no
  trained workdir or a model that smooths no motion (one line each, naming
  `workdir`); returns its method's name. Reads config.json and lists
  the checkpoints, loading nothing."""
  where = f"smooth_with={os.fspath(workdir)!r}"
  hint = "give a DPoser workdir (experiments/configs/dposer_mocap.py)"
  if not os.path.isdir(workdir):
    raise settings.ConfigError(f"{where}: no such directory; {hint}")
  try:
    name = run_lib.stored_config(workdir).get("method", "")
  except FileNotFoundError:
    raise settings.ConfigError(f"{where}: no config.json, so not a trained "
                               f"workdir; {hint}") from None
  provides = methods.get(name).capabilities.provides if name in methods.names() else {}
  if protocols.MotionSmoother not in provides:
    raise settings.ConfigError(f"{where}: it holds a {name!r} model, which "
                               f"smooths no motion; {hint}")
  if not layout.Workdir(workdir).has_checkpoints():
    raise settings.ConfigError(f"{where}: no checkpoint in "
                               f"{layout.Workdir(workdir).checkpoints}; train it "
                               "first (experiments.main)")
  return name


def lifting_methods() -> tuple[str, ...]:
  """The registered methods that lift (their packages imported)."""
  out = []
  for name in methods.names():
    if methods.get(name).capabilities.lift is not None:
      out.append(name)
  return tuple(out)


write_outputs = lift_outputs.write_outputs
OUTPUT_FILES = lift_outputs.OUTPUT_FILES


def lift_video(workdir: str, video_path: str, out_dir: str, *,
               overwrite: bool = False, detector_python: str | None = None,
               workers: int | None = None, fps: float = 0.0,
               detect_every: int = 1, person_at=None,
               smooth_with: str = "", smooth_prior_weight: float | None = None,
               fit_to_2d_settings: fit_2d.FitSettings | None = (
                   fit_2d.FitSettings()),
               bvh_frame: str = "floor", bvh_branches: bool = True,
               progress: bool = True, **lift_options) -> tuple[Lifted, list]:
  """A video file to 3D motion in `out_dir`, in one call: the detector's
  keypoints (`video.detect`), their lift (`lift_keypoints`, whose options
  `lift_options` are), its fit to the 2D (`fit_to_2d` with
  `fit_to_2d_settings`, whose height_mm is the person's stature; None: no
  fit), smoothing with a DPoser workdir (`smooth_with`), and the outputs
  (`write_outputs`, with the detection's keypoints.json and the video's
  frames on the page). `fps` 0: the video's own. `detect_every`: the
  detector runs on one frame in this many, the others filled in between
  (`detect.fill_skipped`; faster, less faithful to quick motion).
  `person_at`: (x, y) pixels on the person to follow in the first frame
  (None: whoever the detector finds).

  Returns:
    (the lifted motion, the paths written).
  """
  from jaxpose.video import detect  # pylint: disable=import-outside-toplevel
  out_dir = os.path.abspath(os.fspath(out_dir))
  lift_outputs.check_out(out_dir, overwrite)  # before minutes of detection
  if smooth_with:
    check_smoother(smooth_with)
  with files.naming(out_dir):
    os.makedirs(os.path.dirname(out_dir), exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(out_dir)}.video-",
                               dir=os.path.dirname(out_dir))
  try:
    # A workdir that cannot lift is refused before the detector runs.
    lift_settings(workdir, os.path.join(staging, "keypoints.json"),
                  lift_options.get("keypoints"))
    found = detect.detect(video_path, staging, python=detector_python,
                          workers=workers, progress=progress,
                          every=detect_every, person_at=person_at)
    lifted = lift_keypoints(workdir, found.keypoints_path, **lift_options)
    lifted.info["video"] = dict(
        path=os.fspath(video_path), detector=detect.DETECTOR,
        frames=found.frames, fps=found.info.fps,
        size=[found.info.width, found.info.height],
        detection_seconds=found.seconds, detected_every=detect_every,
        person_at=None if person_at is None else list(person_at),
        detection_fps=round(found.frames / max(found.seconds, 1e-9), 1))
    if fit_to_2d_settings is not None:
      lifted = fit_to_2d(lifted, fps=fps, settings=fit_to_2d_settings)
    if smooth_with:
      lifted = smooth(lifted, smooth_with, seed=lift_options.get("seed", 0),
                      prior_weight=smooth_prior_weight)
    images = [found.frame_images.get(int(k)) for k in lifted.frame]
    written = write_outputs(
        lifted, out_dir, fps=fps or found.info.fps or 30.0,
        overwrite=overwrite, bvh_frame=bvh_frame, bvh_branches=bvh_branches,
        keypoints_file=found.keypoints_path, frame_images=images)
  finally:
    shutil.rmtree(staging, ignore_errors=True)  # ours alone (mkdtemp)
  return lifted, written


__all__ = ["Lifted", "OUTPUT_FILES", "fit_to_2d", "keypoints_section",
           "lift_keypoints", "lift_settings",
           "lift_video", "smooth", "check_smoother", "lifting_methods",
           "write_outputs"]
