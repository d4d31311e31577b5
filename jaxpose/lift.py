"""A video's 2D keypoints to 3D motion with its uncertainty, by any trained
workdir whose method lifts (`base.Method.lift`: GFPose, the lifters).

  lifted = lift.lift_keypoints("runs/gfpose_mocap", "video.json",
                               num_hypotheses=20)
  lifted = lift.smooth(lifted, "runs/dposer_mocap")   # optional
  lift.write_outputs(lifted, "out/")   # motion.npz, motion.bvh, motion.html

The keypoint file becomes the `keypoints` dataset (data/keypoints_dataset.py),
converted to the model's units by its method's own `load_data`, so a model
sees a video's frames exactly as it saw its test rows. A joint below the
confidence threshold is no condition: GFPose completes it, a lifter refuses
it (naming the frame and joint). `experiments/lift.py` is the command.
"""
from __future__ import annotations

import dataclasses
import errno
import os
import shutil
import tempfile
import time
from typing import Any, Mapping

import numpy as np

from jaxpose import files
from jaxpose import methods
from jaxpose import rng
from jaxpose import run_lib
from jaxpose import settings
from jaxpose.data import keypoints_dataset
from jaxpose.methods import base
from jaxpose.methods import protocols


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
    pixels: the 2D keypoints used (NaN where missing).  # [T, J, 2]
    visible: which joints were conditions.  # [T, J] bool
    confidence: the detector's scores.  # [T, J]
    frame: the file's frame ids.  # [T]
    info: method, workdir, step, hypotheses, sampler, what the keypoints
      reader chose (person, camera, depth), seconds; `smoothing` once
      smoothed.
    smoothed_mm: the mean motion smoothed by a motion prior (`smooth`),
      root-relative, or None.  # [T, J, 3]
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
    base.MissingJointsError: a lifter given masked joints.
  """
  if num_hypotheses < 1:
    raise ValueError(f"num_hypotheses: expected >= 1, got {num_hypotheses}")
  start = time.time()
  overrides = keypoints_section(keypoints_path, **dict(keypoints or {}))
  config = run_lib.evaluation_config(workdir, overrides)
  method, run = methods.parse(config)
  if method.capabilities.lift is None:
    raise settings.ConfigError(
        f"{workdir}: method {method.name!r} does not lift 2D keypoints; use a "
        f"workdir of one that does ({', '.join(lifting_methods()) or 'none'})")
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
  mean = hyps.mean(axis=1)
  spread = np.linalg.norm(hyps - mean[:, None], axis=-1).mean(axis=1)
  info = dict(method=method.name, workdir=os.fspath(workdir), step=trained.step,
              hypotheses=int(hyps.shape[1]), seed=seed,
              sampler=sampler or getattr(run.eval_options, "sampler", ""),
              num_steps=num_steps or getattr(run.eval_options, "num_steps", 0),
              keypoints=files.jsonable(dict(data.dataset.info)),
              seconds=round(time.time() - start, 2))
  return Lifted(hypotheses_mm=hyps, mean_mm=mean, spread_mm=spread,
                root_mm=np.asarray(rows["root_cam_mm"], np.float32),
                pixels=np.asarray(rows["pose2d_px"], np.float32),
                visible=np.asarray(rows["visible"], bool),
                confidence=np.asarray(rows["pose2d_confidence"], np.float32),
                frame=np.asarray(rows["frame"]), info=info)


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
  ckpts = os.path.join(workdir, "checkpoints")
  if not (os.path.isdir(ckpts) and os.listdir(ckpts)):
    raise settings.ConfigError(f"{where}: no checkpoint in {ckpts}; train it "
                               "first (experiments.main)")
  return name


def lifting_methods() -> tuple[str, ...]:
  """The registered methods that lift (their packages imported)."""
  out = []
  for name in methods.names():
    if methods.get(name).capabilities.lift is not None:
      out.append(name)
  return tuple(out)


# The files a lift writes in --out; nothing else there is ever removed.
OUTPUT_FILES = ("motion.npz", "motion.bvh", "motion.html", "lift.json")


def _check_out(out_dir: str, overwrite: bool):
  """Refuses an `out_dir` holding anything but a lift's files, or those
  without `overwrite`."""
  if not os.path.exists(out_dir):
    return
  if not os.path.isdir(out_dir):
    raise FileExistsError(f"{out_dir}: exists and is not a folder; choose "
                          "another --out")
  held = sorted(os.listdir(out_dir))
  other = [n for n in held if n not in OUTPUT_FILES]
  if other:
    raise FileExistsError(
        f"{out_dir}: holds {other[0]!r}, which a lift does not write; choose "
        "another --out (--overwrite replaces only a lift's own files: "
        f"{', '.join(OUTPUT_FILES)})")
  if held and not overwrite:
    raise FileExistsError(f"{out_dir}: holds a lift's outputs; choose another "
                          "--out, or pass --overwrite to replace them")


def _move_into_place(tmp: str, out_dir: str, overwrite: bool):
  """A new `out_dir` is the built folder renamed (atomic); into an existing
  one each file is renamed over its namesake (each atomic), the record
  (lift.json) last, and nothing else there is touched."""
  if not os.path.exists(out_dir):
    try:
      os.rename(tmp, out_dir)  # fails if a non-empty folder appeared
      return
    except OSError as e:
      if e.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
        raise
  _check_out(out_dir, overwrite)  # again: it may have changed meanwhile
  for name in OUTPUT_FILES:
    os.replace(os.path.join(tmp, name), os.path.join(out_dir, name))


def write_outputs(lifted: Lifted, out_dir: str, *, fps: float = 30.0,
                  overwrite: bool = False, bvh_frame: str = "floor",
                  bvh_branches: bool = True) -> list[str]:
  """Writes `out_dir`: motion.npz, motion.bvh, motion.html (`motion_page`)
  and lift.json (formats: docs/video.md, "Outputs"); returns the paths.

  All is built in a new temporary folder beside `out_dir` and moved into
  place at the end (`_move_into_place`), so a failure never leaves a partly
  written `out_dir`, and nothing the lift did not write is ever removed.
  motion.npz holds `Lifted`'s arrays (`pixels` as keypoints_px). motion.bvh
  is `motion_mm` + root_mm in centimetres (`bvh_fit.write_lifted_bvh`) at
  `fps`: `bvh_frame` 'floor' stands it Y up on a floor at the origin,
  'camera' keeps camera coordinates turned Y up; `bvh_branches` adds
  branch joints at the hips, neck and shoulders so that every bone's
  direction is exact. lift.json: `info`, plus `bvh` (placement, fit error).

  Raises:
    FileExistsError: `out_dir` holds a file a lift does not write (named),
      or a lift's outputs without `overwrite`.
  """
  from jaxpose import motion_page
  from jaxpose.data import bvh_fit
  out_dir = os.path.abspath(os.fspath(out_dir))
  _check_out(out_dir, overwrite)
  parent = os.path.dirname(out_dir)
  with files.naming(out_dir):
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(out_dir)}.tmp-",
                           dir=parent)
  try:
    arrays = dict(
        hypotheses_mm=lifted.hypotheses_mm, mean_mm=lifted.mean_mm,
        spread_mm=lifted.spread_mm, root_mm=lifted.root_mm,
        keypoints_px=lifted.pixels, visible=lifted.visible,
        confidence=lifted.confidence, frame=lifted.frame)
    if lifted.smoothed_mm is not None:
      arrays["smoothed_mm"] = lifted.smoothed_mm
    files.write_npz_atomic(os.path.join(tmp, "motion.npz"), arrays)
    info = dict(lifted.info, bvh=bvh_fit.write_lifted_bvh(
        os.path.join(tmp, "motion.bvh"), lifted.motion_mm + lifted.root_mm[:, None],
        fps=fps, frame=bvh_frame, branches=bvh_branches))
    motion_page.write_motion_page(
        os.path.join(tmp, "motion.html"), joints3d_mm=lifted.motion_mm,
        keypoints2d_px=lifted.pixels, spread_mm=lifted.spread_mm,
        visible=lifted.visible, fps=fps,
        image_size=tuple(lifted.info["keypoints"].get("image_size") or ()) or None,
        title=(f"{lifted.info['method']}: {lifted.info['hypotheses']} hypotheses"
               + (", smoothed" if lifted.smoothed_mm is not None else "")),
        hypotheses_mm=lifted.hypotheses_mm)
    files.write_json_atomic(os.path.join(tmp, "lift.json"), info)
    _move_into_place(tmp, out_dir, overwrite)
  except OSError as e:
    if e.errno is None:
      raise
    # Named by --out, not the temporary directory the outputs were built in.
    raise OSError(e.errno, e.strerror or str(e),
                  os.path.join(out_dir, os.path.basename(
                      e.filename or ""))) from e
  finally:
    shutil.rmtree(tmp, ignore_errors=True)  # ours alone (mkdtemp)
  return [os.path.join(out_dir, name) for name in OUTPUT_FILES]


__all__ = ["Lifted", "OUTPUT_FILES", "keypoints_section", "lift_keypoints",
           "smooth", "check_smoother", "lifting_methods", "write_outputs"]
