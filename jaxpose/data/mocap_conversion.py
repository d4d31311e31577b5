"""BVH files to cache arrays: one clip (`convert_clip`: Human3.6M poses and
rotations, the rig's own and the body space's, from one FK pass, checked by
`clip_checks`), a publisher's whole tree (`convert_tree`: bad files skipped
and named) and its cache (`prepare_cache`, experiments/prepare.py: written
atomically, read back; `mocap_cache`).
"""
from __future__ import annotations

import dataclasses
import multiprocessing
import os
import pathlib
import time

import numpy as np

from jaxpose.checks import check_positive_int
from jaxpose.data import body_sources
from jaxpose.data import bvh as bvh_lib
from jaxpose.data import clip_checks
from jaxpose.data import data_files
from jaxpose.data import mocap_cache
from jaxpose.data import rig_rotations
from jaxpose.data import rigs


@dataclasses.dataclass(frozen=True, eq=False)
class Clip:
  """A converted clip.

  Attributes:
    pose17: float32 [F, 17, 3] Human3.6M joints, mm, jaxpose world (Z up).
    rotations: `rig_rotations.rotations_from_world`'s dict for the same
      frames.
    fps: frame rate after the stride.
    dropped: frames kept by the stride but removed because a channel was
      NaN/inf.
    problems: sanity check findings (empty for a healthy clip).
    frame: int32 [F] each kept frame's number in the file, so frames after a
      dropped one keep their true place in time.
    body: the same frames in the body space of `jaxpose.pose.body_space`
      (`body_sources.to_body_space`'s dict) when `convert_clip` was given a
      `body_fn`, else None (also for a rig or file it cannot retarget).
  """
  pose17: np.ndarray  # [F, 17, 3]
  rotations: dict
  fps: float
  dropped: int
  problems: tuple[str, ...]
  frame: np.ndarray  # [F]
  body: dict | None = None


def convert_clip(motion: bvh_lib.BvhMotion, rig: str | rigs.RigSpec, *,
                 stride: int = 1, body_fn=None) -> Clip:
  """Subsamples, drops non-finite frames, and converts with one FK pass.

  The stride counts the file's frames (0, stride, 2 stride, ...); frames
  with a NaN/inf channel are then dropped (`Clip.dropped`, `Clip.frame`).

  `body_fn(motion, rig, (world_r, world_p))` -> dict or None, when given,
  fills `Clip.body` from the kept frames and the same FK pass
  (`convert_tree` passes `body_sources.clip_body_space`).

  Raises:
    KeyError: the file lacks a joint the rig maps (the message names it).
    ValueError: the file has no frames or no finite frame, or the up axis of
      the motion disagrees with the rig (messages start with the file name).
  """
  rig = rigs.get_rig(rig)
  stride = check_positive_int("stride", stride)
  # A wrong rig says so first.
  rigs.required_joint_indices(motion.skeleton, rig, motion.source)
  if motion.num_frames == 0:
    raise ValueError(f"{motion.source}: the file has no frames ('Frames: 0')")
  finite = rigs.finite_frames(motion)
  if not finite.any():
    raise ValueError(f"{motion.source}: all {motion.num_frames} frames have a "
                     "NaN/inf channel, so there is no motion to convert")
  frame = np.arange(0, motion.num_frames, stride)
  ok = finite[frame]
  if not ok.any():
    raise ValueError(f"{motion.source}: the {len(frame)} frames kept by stride "
                     f"{stride} all have a NaN/inf channel; use a smaller stride")
  frame = frame[ok]
  motion = dataclasses.replace(motion, motion=motion.motion[frame],
                               frame_time=motion.frame_time * stride)
  idx, world_r, world_p, pose = rigs.world_pose(motion, rig, check_up=True)
  pose = (pose @ (rigs.to_z_up(rig).T * rig.unit_to_mm)).astype(np.float32)
  if not np.isfinite(pose).all():  # finite channels, yet float32 overflowed
    raise ValueError(f"{motion.source}: joint positions overflow float32; "
                     "are the channel values in the rig's unit?")
  facing = rigs.facing_from_world(world_p, idx, rig)
  body = None if body_fn is None else body_fn(motion, rig, (world_r, world_p))
  rotations = rig_rotations.rotations_from_world(motion, rig, world_r, world_p)
  return Clip(pose17=pose, rotations=rotations,
              fps=motion.fps, dropped=int((~ok).sum()),
              problems=tuple(clip_checks.sanity_problems(pose, facing)),
              frame=frame.astype(np.int32), body=body)


# Files listed in full when none converts (the rest are counted).
_MAX_LISTED = 10


class ConversionError(RuntimeError):
  """A tree could not be converted (strict mode met a bad file, or every file
  was bad); the message names the file(s) and the reason(s)."""


def _convert_one(args):
  """Worker: one file -> (index, Clip or why it is bad, as a string).

  Every failure becomes a reason, so one odd file never ends a conversion of
  thousands; an unexpected exception type is labelled a possible bug.
  """
  i, path, rig, stride = args
  try:
    clip = convert_clip(bvh_lib.load_bvh(path), rig, stride=stride,
                        body_fn=body_sources.clip_body_space)
  except (bvh_lib.BvhError, KeyError, ValueError, OSError) as e:
    message = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
    return i, f"{type(e).__name__}: {message}"
  except Exception as e:  # pylint: disable=broad-except
    return i, (f"unexpected {type(e).__name__} ({e}) while converting "
               f"{pathlib.Path(path).name}; please report it as a jaxpose bug")
  if clip.problems:
    return i, "failed sanity checks: " + "; ".join(clip.problems)
  return i, clip


def convert_tree(dataset: str, src: str | os.PathLike, *, stride: int = 1,
                 strict: bool = False, workers: int | None = None,
                 progress: bool = True, files=None):
  """Converts every BVH file under `src` with the dataset's rig.

  A bad file (unreadable or truncated, without a joint the rig needs, with
  no finite frame, failing the sanity checks, or with body joints unlike the
  other files') is skipped and reported with its reason, or with `strict`
  ends the conversion.  Frames with a NaN/inf channel are dropped from an
  otherwise good clip with a warning (a capture gap spoils those frames,
  not the take), so nothing non-finite reaches the arrays.

  Args:
    dataset: 'bandai' or 'cmu' (also the rig name).
    src: root of the publisher's tree (e.g. the unpacked archive).
    stride: keep every stride-th frame of each clip.
    strict: raise on the first bad file instead of skipping it.
    workers: processes (default: min(2, cpus)); 1 runs in-process.
    progress: show a tqdm bar.
    files: explicit file list instead of searching `src`.

  Returns:
    (arrays, summary): arrays as stored by `save_cache`; summary with files,
    converted, frames, dropped_nonfinite, skipped [(file, reason)],
    warnings [(file, message)], seconds.

  Raises:
    ConversionError: with `strict`, the first bad file; without, when no
      file converts (listing each file's reason).
  """
  from tqdm import tqdm
  t0 = time.time()
  rig = rigs.get_rig(dataset)
  stride = check_positive_int("stride", stride)  # once, not once per file
  src = pathlib.Path(src)
  files = (data_files.find_bvh_files(src) if files is None
           else [pathlib.Path(f) for f in files])
  if not files:
    raise FileNotFoundError(f"src: no .bvh files under {src}")
  jobs = [(i, str(f), rig.name, stride) for i, f in enumerate(files)]
  workers = workers or min(2, os.cpu_count() or 1)
  results: dict[int, object] = {}
  bar = tqdm(total=len(files), desc=f"prepare {dataset}", unit="file", disable=not progress)
  try:
    if workers > 1:
      ctx = multiprocessing.get_context("spawn")  # jax is imported: no fork
      with ctx.Pool(workers) as pool:
        for i, res in pool.imap_unordered(_convert_one, jobs, chunksize=4):
          _collect(results, i, res, files, strict)
          bar.update()
    else:
      for job in jobs:
        i, res = _convert_one(job)
        _collect(results, i, res, files, strict)
        bar.update()
  finally:
    bar.close()
  _reject_odd_bodies(results, files, strict)
  good = [(i, results[i]) for i in sorted(results) if isinstance(results[i], Clip)]
  skipped = [(_rel(files[i], src), results[i]) for i in sorted(results)
             if isinstance(results[i], str)]
  if not good:
    raise ConversionError(_none_converted(dataset, src, skipped))
  warnings = [(_rel(files[i], src), f"dropped {c.dropped} of "
               f"{c.dropped + len(c.frame)} frames with a NaN/inf channel")
              for i, c in good if c.dropped]
  if any(c.body is not None for _, c in good):  # else: a rig without a body map
    warnings += [(_rel(files[i], src), "no body-space rotations (the file lacks a "
                  "joint they read), so the cache has no body_* keys")
                 for i, c in good if c.body is None]
  arrays = _stack(dataset, rig, stride, [(files[i], c) for i, c in good], src)
  summary = dict(
      dataset=dataset, files=len(files), converted=len(good),
      frames=int(arrays["pose17"].shape[0]),
      dropped_nonfinite=int(sum(c.dropped for _, c in good)),
      skipped=skipped, warnings=warnings, seconds=time.time() - t0)
  return arrays, summary


def _rel(path, src):
  try:
    return str(pathlib.Path(path).relative_to(src))
  except ValueError:
    return str(path)


def _collect(results, i, res, files, strict):
  if strict and isinstance(res, str):
    raise ConversionError(f"{files[i]}: {res} (run without --strict to skip "
                          "bad files)")
  results[i] = res


def _reject_odd_bodies(results, files, strict):
  """Marks clips whose body joints differ from most clips' as bad: the
  cache stores one body tree, and a majority decides it so that one odd
  file (e.g. another exporter's) cannot reject all the good ones."""
  clips = {i: r for i, r in results.items() if isinstance(r, Clip)}
  if not clips:
    return
  bodies = [tuple(c.rotations["names"]) for c in clips.values()]
  common = max(dict.fromkeys(bodies), key=bodies.count)  # ties: the first seen
  for i, c in sorted(clips.items()):
    names = tuple(c.rotations["names"])
    if names != common:
      extra, lacks = sorted(set(names) - set(common)), sorted(set(common) - set(names))
      why = ("body joints differ from the other files' (another rig or "
             f"exporter?): extra {extra or 'none'}, lacking {lacks or 'none'}"
             + ("" if extra or lacks else ", in another order"))
      _collect(results, i, why, files, strict)


def _none_converted(dataset, src, skipped) -> str:
  lines = [f"{dataset}: none of the {len(skipped)} .bvh files under {src} could "
           "be converted:"]
  lines += [f"  {f}: {why}" for f, why in skipped[:_MAX_LISTED]]
  if len(skipped) > _MAX_LISTED:
    lines.append(f"  ... and {len(skipped) - _MAX_LISTED} more")
  return "\n".join(lines)


def _stack(dataset, rig, stride, clips, src):
  rot0 = clips[0][1].rotations
  subjects = sorted({data_files.subject_of(dataset, p) for p, _ in clips})
  n = [c.pose17.shape[0] for _, c in clips]
  cat = lambda key: np.concatenate([c.rotations[key] for _, c in clips])
  out = dict(
      version=np.int32(mocap_cache.CACHE_VERSION), dataset=np.str_(dataset),
      rig=np.str_(rig.name), stride=np.int32(stride),
      pose17=np.concatenate([c.pose17 for _, c in clips]),  # [N, 17, 3] mm, Z up
      rotvec=cat("rotvec"), root_orient=cat("root_orient"), trans=cat("trans"),
      clip=np.repeat(np.arange(len(clips), dtype=np.int32), n),
      frame=np.concatenate([c.frame for _, c in clips]).astype(np.int32),
      subject=np.repeat(np.array([subjects.index(data_files.subject_of(dataset, p))
                                  for p, _ in clips], np.int16), n),
      subject_names=np.array(subjects),
      clip_names=np.array([_rel(p, src) for p, _ in clips]),
      clip_fps=np.array([c.fps for _, c in clips], np.float32),
      rest_offsets=np.stack([c.rotations["rest_offsets"] for _, c in clips]),  # [C, Jb, 3]
      parents=rot0["parents"], body_names=np.array(rot0["names"]),
      root_name=np.str_(rot0["root_name"]),
  )
  if all(c.body is not None for _, c in clips):
    # The body space (jaxpose.pose.body_space): one rotation space for every
    # rig.  Caches without these keys (older ones, other rigs) still load.
    body_cat = lambda key: np.concatenate([c.body[key] for _, c in clips])
    out.update(
        body_pose=body_cat("body_pose"),  # [N, 63] axis-angle, SMPL_22 joints 1..21
        body_root_orient=body_cat("root_orient"),  # [N, 3] body axes -> world
        body_trans=body_cat("trans"),  # [N, 3] pelvis, mm, Z up
        body_bone_lengths=np.stack([c.body["bone_lengths"] for _, c in clips]),  # [C, 22]
    )
  return out


def prepare_cache(dataset: str, src: str | os.PathLike, out: str | os.PathLike,
                  **convert_kw) -> dict:
  """`experiments.prepare`: convert a tree, write the cache, read it back.

  Args:
    dataset, src: as for `convert_tree`.
    out: the cache path (written atomically).
    **convert_kw: stride, strict, workers, progress, files (`convert_tree`).

  Returns:
    The conversion summary plus out and load_seconds.
  """
  arrays, summary = convert_tree(dataset, src, **convert_kw)
  mocap_cache.save_cache(out, arrays)
  t = time.time()
  mocap_cache.load_cache(out)
  return dict(summary, out=str(out), load_seconds=time.time() - t)


def format_summary(summary: dict) -> str:
  """`convert_tree`'s (or `prepare_cache`'s) summary as lines for a person."""
  lines = [f"{summary['dataset']}: {summary['converted']}/{summary['files']} files, "
           f"{summary['frames']} frames, {summary['dropped_nonfinite']} non-finite "
           f"frames dropped, {len(summary['skipped'])} skipped, "
           f"{summary['seconds']:.1f} s"]
  lines += [f"  skipped {f}: {why}" for f, why in summary["skipped"]]
  lines += [f"  warning {f}: {why}" for f, why in summary.get("warnings", ())]
  if "out" in summary:
    lines.append(f"wrote {summary['out']}; loading it takes "
                 f"{summary['load_seconds']:.2f} s")
  return "\n".join(lines)
