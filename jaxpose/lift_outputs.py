"""A lifted motion's files in --out, written all or nothing, and nothing
else there ever removed (`jaxpose.lift` lifts; formats: docs/video.md,
"Outputs").
"""
from __future__ import annotations

import errno
import os
import shutil
import tempfile
from typing import Sequence

from jaxpose import files


# The files a lift writes in --out (keypoints.json: a video's detection);
# nothing else there is ever removed. lift.json, the record, is moved last.
OUTPUT_FILES = ("motion.npz", "motion.bvh", "motion.html", "keypoints.json",
                "lift.json")


def check_out(out_dir: str, overwrite: bool):
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
  check_out(out_dir, overwrite)  # again: it may have changed meanwhile
  for name in OUTPUT_FILES:
    if os.path.exists(os.path.join(tmp, name)):
      os.replace(os.path.join(tmp, name), os.path.join(out_dir, name))


def _hypotheses(count: int) -> str:
  return "1 hypothesis" if count == 1 else f"{count} hypotheses"


def write_outputs(lifted, out_dir: str, *, fps: float = 30.0,
                  overwrite: bool = False, bvh_frame: str = "floor",
                  bvh_branches: bool = True, keypoints_file: str | None = None,
                  frame_images: Sequence[str | None] | None = None
                  ) -> list[str]:
  """Writes `out_dir`: motion.npz, motion.bvh, motion.html (`motion_page`)
  and lift.json (formats: docs/video.md, "Outputs"), and keypoints.json (a
  copy of `keypoints_file`: a video's detection, so that a re-lift needs
  none); returns the paths. `frame_images`: per frame a JPEG of the video
  (or None), drawn behind the page's 2D view.

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
  check_out(out_dir, overwrite)
  parent = os.path.dirname(out_dir)
  with files.naming(out_dir):
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(out_dir)}.tmp-",
                           dir=parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # a folder's usual mode, not mkdtemp's 0700
  try:
    arrays = dict(
        hypotheses_mm=lifted.hypotheses_mm, mean_mm=lifted.mean_mm,
        spread_mm=lifted.spread_mm, root_mm=lifted.root_mm,
        keypoints_px=lifted.pixels, visible=lifted.visible,
        completed=lifted.completed, confidence=lifted.confidence,
        frame=lifted.frame)
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
        title=(f"{lifted.info['method']}: {_hypotheses(lifted.info['hypotheses'])}"
               + (", smoothed" if lifted.smoothed_mm is not None else "")),
        hypotheses_mm=lifted.hypotheses_mm, frame_images=frame_images)
    if keypoints_file is not None:
      files.copy_atomic(keypoints_file, os.path.join(tmp, "keypoints.json"))
    files.write_json_atomic(os.path.join(tmp, "lift.json"), info)
    written = sorted(os.listdir(tmp), key=OUTPUT_FILES.index)
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
  return [os.path.join(out_dir, name) for name in written]
