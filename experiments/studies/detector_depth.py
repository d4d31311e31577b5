r"""Question: How far is the detector's own depth of each joint from the depth calibrated cameras triangulate, at what scale, and how hard should the fit to 2D let it pull?
Answer: The figures are in the results file this writes (docs/results/footage.md shows them); the page's note says what they mean.

    python -m experiments.studies.detector_depth --workdir=runs/lifter_roll \
        --name=lifter_roll [--sigmas=0,20,30,45,60,90] \
        [--bone_sigmas=0,20,30,45]

writes experiments/results/detector_depth_<name>_cpu.json.

MediaPipe Pose gives each landmark a depth `z` beside its x and y, on x's
scale by its documentation, estimated from the image: what the 2D alone
cannot show (an arm before the body or behind it). `jaxpose.data.keypoints`
reads it as `Keypoints2D.depth_px`, times `keypoints.DEPTH_SCALE`, and the
fit to 2D pulls the body's depths toward it (`pose.fit_2d`,
`sigma_depth_mm` joint by joint, `sigma_depth_bone_mm` bone by bone). Two
parts, on Pose2Sim's calibrated demos (`real_footage`): the two-person
demo (each person followed and triangulated alone) is where the scale and
the pulls are chosen; the single-person demo is held out.
- 'scale' rows: per view, the least-squares factor from the detector's
  unscaled depth (px, made mm at the reference's pelvis depth) onto the
  reference's depth behind its pelvis, over the joints and frames the
  detector gave, and their correlation; and the slope of its error
  against the joint's height above the pelvis (`height_slope`).
- 'pull' rows: per view and each of --bone_sigmas (`sigma_depth_bone_mm`,
  `bone_sigma_mm`), the workdir's lift at the calibrated focal length,
  fitted onto its 2D with `sigma_depth_mm` each of --sigmas (0 and 0: the
  detector's depth left out), MPJPE and PA-MPJPE against the reference
  (`by_sigma`, keyed 's30' for 30 mm; `bone_key` likewise); 'mean' rows:
  each part's views averaged, with the count of views the pull leaves
  farther than the fit without it (`worse_views`).
- 'true_depth' rows: per view, the error a lift that lands on its 2D
  would keep with every depth right (`true_depth_error`): how far the
  view's own 2D alone stands from the reference.
"""
from __future__ import annotations

import dataclasses

import numpy as np
from absl import app
from absl import flags

from experiments.bench import public_clips
from experiments.studies import real_footage
from jaxpose import files
from jaxpose import lift
from jaxpose.data import keypoints as kp_lib
from jaxpose.pose import fit_2d
from jaxpose.pose import metrics


def clips(cache: str = real_footage.CACHE) -> list[tuple[str, str, dict]]:
  """[(part, person, {view: keypoints.json})]: each person of the
  two-person demo ('choose') and the single-person demo ('held_out')."""
  out = [("choose", person, {n: real_footage.detected(n, cache, person_at=at[n])
                             for n in real_footage.MULTI_VIEWS})
         for person, at in real_footage.PEOPLE.items()]
  out.append(("held_out", "single-person clip",
              {n: real_footage.detected(n, cache) for n in real_footage.VIEWS}))
  return out


def depth_scale(depth_px, root_depth_mm, ref_cam, visible, focal_px) -> dict:
  """The least-squares factor from the detector's depth behind the pelvis
  (px, unscaled: `depth_px` / DEPTH_SCALE) onto the reference's (camera
  frame, mm), over the joints it gave apart from the pelvis, and their
  correlation; None where nothing overlaps."""
  detector = (np.asarray(depth_px, np.float64) / kp_lib.DEPTH_SCALE["mediapipe"]
              * np.asarray(root_depth_mm)[:, None] / focal_px)
  truth = ref_cam[..., 2] - ref_cam[:, :1, 2]
  ok = np.isfinite(detector) & np.isfinite(truth) & np.asarray(visible, bool)
  ok[:, 0] = False  # 0 on both sides by construction
  if ok.sum() < 2:
    return {"scale": None, "correlation": None, "joints": int(ok.sum())}
  a, b = detector[ok], truth[ok]
  return {"scale": round(float(a @ b / (a @ a)), 3),
          "correlation": round(float(np.corrcoef(a, b)[0, 1]), 3),
          "joints": int(ok.sum())}


def height_slope(depth_px, root_depth_mm, ref_cam, visible, focal_px,
                 up) -> float | None:
  """The least-squares slope of the detector's depth error (as read, times
  DEPTH_SCALE, made mm at the reference's pelvis depth, less the
  reference's) against the joint's height above the pelvis along `up`
  (the world's up in the camera's frame), over the joints it gave apart
  from the pelvis: how much farther than the reference it puts a joint
  per mm higher up (0: an error that does not lean the body); None where
  nothing overlaps."""
  truth = ref_cam - ref_cam[:, :1]
  error = (np.asarray(depth_px, np.float64) * np.asarray(root_depth_mm)[:, None]
           / focal_px - truth[..., 2])
  height = truth @ np.asarray(up, np.float64)
  ok = np.isfinite(error) & np.isfinite(height) & np.asarray(visible, bool)
  ok[:, 0] = False
  if ok.sum() < 2:
    return None
  x = height[ok] - height[ok].mean()
  return round(float(x @ (error[ok] - error[ok].mean()) / (x @ x)), 3)


def true_depth_error(ref_cam, pixels, visible, cam) -> dict:
  """MPJPE and PA-MPJPE (root-relative) of the reference moved onto a
  view's own 2D: each joint the detector gave placed on its pixel's ray
  (`cam`'s intrinsics) at the reference's depth, the others left where
  the reference has them; and the median distance of those it moved
  (mm). A lift that lands on its 2D, as the fit to 2D makes it, keeps
  this error however right its depths are. Frames the reference could
  not place are left out."""
  ref_cam = np.asarray(ref_cam, np.float64)
  ok = np.isfinite(ref_cam).all(axis=(1, 2))
  ref, pixels = ref_cam[ok], np.asarray(pixels, np.float64)[ok]
  given = np.asarray(visible, bool)[ok] & np.isfinite(pixels).all(-1)
  depth = ref[..., 2:]
  on_ray = np.concatenate([(pixels - np.asarray(cam.c)) / np.asarray(cam.f)
                           * depth, depth], -1)
  moved = np.where(given[..., None], on_ray, ref)
  pred, truth = moved - moved[:, :1], ref - ref[:, :1]
  return {"mpjpe_mm": round(float(metrics.mpjpe(pred, truth).mean()), 1),
          "pa_mpjpe_mm": round(float(metrics.pa_mpjpe(pred, truth).mean()),
                               1),
          "moved_median_mm": round(float(np.median(np.linalg.norm(
              (moved - ref)[given], axis=-1))), 1) if given.any() else None,
          "frames_scored": int(ok.sum())}


def study(workdir: str, sigmas=(0.0, 20.0, 30.0, 45.0, 60.0, 90.0),
          bone_sigmas=(0.0, 20.0, 30.0, 45.0), *,
          cache: str = real_footage.CACHE) -> tuple[list[dict], dict]:
  """(the results file's rows, the model's test inputs)."""
  cams = real_footage.read_qca(public_clips.clip("pose2sim_calibration"))
  rows, seen = [], None
  for part, person, paths in clips(cache):
    views = {n: real_footage.view_keypoints(p) for n, p in paths.items()}
    ref = real_footage.reference(views, cams)
    for name, path in paths.items():
      cam = cams[name.split("_")[-1]]
      keypoints = views[name]
      ref_cam = real_footage.reference_in_camera(ref["points_mm"], cam)
      frames = min(len(ref_cam), keypoints.num_frames)
      base = {"part": part, "person": person, "view": name}
      rows.append({**base, "kind": "scale", **depth_scale(
          keypoints.depth_px[:frames], ref_cam[:frames, 0, 2],
          ref_cam[:frames], keypoints.visible[:frames], float(cam.f[0])),
                   "height_slope": height_slope(
                       keypoints.depth_px[:frames], ref_cam[:frames, 0, 2],
                       ref_cam[:frames], keypoints.visible[:frames],
                       float(cam.f[0]), np.asarray(cam.R) @ [0.0, 0.0, 1.0])})
      rows.append({**base, "kind": "true_depth", **true_depth_error(
          ref_cam[:frames], keypoints.pixels[:frames],
          keypoints.visible[:frames], cam)})
      lifted = lift.lift_keypoints(
          workdir, path, num_hypotheses=20,
          keypoints={"empty_frames": "mask", "focal_px": float(cam.f[0])})
      seen = real_footage.test_inputs(lifted)
      fps = float(files.read_json(path)["fps"]) or 30.0
      for bone in bone_sigmas:
        by_sigma = {}
        for sigma in sigmas:
          fitted = lift.fit_to_2d(lifted, fps=fps, settings=dataclasses.replace(
              fit_2d.FitSettings(), sigma_depth_mm=float(sigma),
              sigma_depth_bone_mm=float(bone)))
          score = real_footage.score_view(fitted, ref["points_mm"], cam, fps)
          by_sigma[sigma_key(sigma)] = {k: score[k] for k in (
              "mpjpe_mm", "pa_mpjpe_mm", "frames_scored")}
        rows.append({**base, "kind": "pull", "bone_sigma_mm": float(bone),
                     "bone_key": sigma_key(bone),
                     "method": lifted.info["method"],
                     "hypotheses": lifted.info["hypotheses"],
                     "by_sigma": by_sigma})
        print(base, bone, by_sigma)
  return rows + part_means(rows), seen


def sigma_key(sigma: float) -> str:
  """A sigma's key in the rows' `by_sigma` ('s30' for 30 mm)."""
  return f"s{float(sigma):g}"


def part_means(rows: list[dict]) -> list[dict]:
  """Each part's 'pull' rows of one bone sigma averaged over its views,
  sigma by sigma, with the count of views whose MPJPE the pull leaves
  above the fit without the detector's depth (both sigmas 0), where the
  rows have that fit."""
  out = []
  pulls = [r for r in rows if r["kind"] == "pull"]
  without = {(r["part"], r["person"], r["view"]): r["by_sigma"][sigma_key(0)]
             for r in pulls if r["bone_sigma_mm"] == 0
             and sigma_key(0) in r["by_sigma"]}
  for part, bone in dict.fromkeys((r["part"], r["bone_sigma_mm"])
                                  for r in pulls):
    views = [r for r in pulls
             if (r["part"], r["bone_sigma_mm"]) == (part, bone)]
    by_sigma = {}
    for key in views[0]["by_sigma"]:
      by_sigma[key] = {k: round(float(np.mean([r["by_sigma"][key][k]
                                               for r in views])), 1)
                       for k in ("mpjpe_mm", "pa_mpjpe_mm")}
      base = [without.get((r["part"], r["person"], r["view"])) for r in views]
      if all(base):
        by_sigma[key]["worse_views"] = sum(
            r["by_sigma"][key]["mpjpe_mm"] > b["mpjpe_mm"]
            for r, b in zip(views, base))
    out.append({"part": part, "kind": "mean", "bone_sigma_mm": bone,
                "bone_key": sigma_key(bone),
                "views": len(views), "method": views[0]["method"],
                "by_sigma": by_sigma})
  return out


def main(argv):
  del argv
  rows, seen = study(_WORKDIR.value, [float(s) for s in _SIGMAS.value],
                     [float(s) for s in _BONE_SIGMAS.value],
                     cache=_CACHE.value)
  print("wrote " + real_footage.write_results(
      f"detector_depth_{_NAME.value}", rows, seen, _WORKDIR.value,
      _SEED.value, depth_scale=kp_lib.DEPTH_SCALE["mediapipe"]))


if __name__ == "__main__":
  # Defined here, not on import: tests import this module.
  _WORKDIR = flags.DEFINE_string("workdir", None, "A trained workdir that lifts.")
  _NAME = flags.DEFINE_string("name", None, "The results file's name part.")
  _SEED = flags.DEFINE_integer("seed", 0, "The workdir's training seed (said "
                               "in the results file).")
  _SIGMAS = flags.DEFINE_list("sigmas", ["0", "20", "30", "45", "60", "90"],
                              "fit_2d's sigma_depth_mm values (0: the "
                              "joint-by-joint term left out).")
  _BONE_SIGMAS = flags.DEFINE_list(
      "bone_sigmas", ["0", "20", "30", "45"], "fit_2d's sigma_depth_bone_mm "
      "values (0: the bone-by-bone term left out).")
  _CACHE = flags.DEFINE_string("cache", real_footage.CACHE,
                               "Where detections are kept.")
  flags.mark_flags_as_required(["workdir", "name"])
  app.run(main)
