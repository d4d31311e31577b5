r"""Question: How far is the detector's own depth of each joint from the depth calibrated cameras triangulate, at what scale, and how hard should the fit to 2D let it pull?
Answer: The figures are in the results file this writes (docs/results/footage.md shows them); the page's note says what they mean.

    python -m experiments.studies.detector_depth --workdir=runs/lifter_roll \
        --name=lifter_roll [--sigmas=0,20,30,45,60,90]

writes experiments/results/detector_depth_<name>_cpu.json.

MediaPipe Pose gives each landmark a depth `z` beside its x and y, on x's
scale by its documentation, estimated from the image: what the 2D alone
cannot show (an arm before the body or behind it). `jaxpose.data.keypoints`
reads it as `Keypoints2D.depth_px`, times `keypoints.DEPTH_SCALE`, and the
fit to 2D pulls each joint's depth toward it (`pose.fit_2d`,
`sigma_depth_mm`). Two parts, on Pose2Sim's calibrated demos
(`real_footage`): the two-person demo (each person followed and
triangulated alone) is where the scale and the pull are chosen; the
single-person demo is held out.
- 'scale' rows: per view, the least-squares factor from the detector's
  unscaled depth (px, made mm at the reference's pelvis depth) onto the
  reference's depth behind its pelvis, over the joints and frames the
  detector gave, and their correlation.
- 'pull' rows: per view, the workdir's lift at the calibrated focal
  length, fitted onto its 2D with `sigma_depth_mm` each of --sigmas (0:
  the detector's depth left out), MPJPE and PA-MPJPE against the reference
  (`by_sigma`, keyed 's30' for 30 mm); 'mean' rows: each part's views
  averaged.
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


def study(workdir: str, sigmas=(0.0, 20.0, 30.0, 45.0, 60.0, 90.0), *,
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
          ref_cam[:frames], keypoints.visible[:frames], float(cam.f[0]))})
      lifted = lift.lift_keypoints(
          workdir, path, num_hypotheses=20,
          keypoints={"empty_frames": "mask", "focal_px": float(cam.f[0])})
      seen = real_footage.test_inputs(lifted)
      fps = float(files.read_json(path)["fps"]) or 30.0
      by_sigma = {}
      for sigma in sigmas:
        fitted = lift.fit_to_2d(lifted, fps=fps, settings=dataclasses.replace(
            fit_2d.FitSettings(), sigma_depth_mm=float(sigma)))
        score = real_footage.score_view(fitted, ref["points_mm"], cam, fps)
        by_sigma[sigma_key(sigma)] = {k: score[k] for k in (
            "mpjpe_mm", "pa_mpjpe_mm", "frames_scored")}
      rows.append({**base, "kind": "pull", "method": lifted.info["method"],
                   "hypotheses": lifted.info["hypotheses"],
                   "by_sigma": by_sigma})
      print(base, by_sigma)
  return rows + part_means(rows), seen


def sigma_key(sigma: float) -> str:
  """A sigma's key in the rows' `by_sigma` ('s30' for 30 mm)."""
  return f"s{float(sigma):g}"


def part_means(rows: list[dict]) -> list[dict]:
  """Each part's 'pull' rows averaged over its views, sigma by sigma."""
  out = []
  for part in dict.fromkeys(r["part"] for r in rows):
    pulls = [r for r in rows if r["part"] == part and r["kind"] == "pull"]
    out.append({"part": part, "kind": "mean", "views": len(pulls),
                "method": pulls[0]["method"], "by_sigma": {
                    key: {k: round(float(np.mean([r["by_sigma"][key][k]
                                                  for r in pulls])), 1)
                          for k in ("mpjpe_mm", "pa_mpjpe_mm")}
                    for key in pulls[0]["by_sigma"]}})
  return out


def main(argv):
  del argv
  rows, seen = study(_WORKDIR.value, [float(s) for s in _SIGMAS.value],
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
                              "detector's depth left out).")
  _CACHE = flags.DEFINE_string("cache", real_footage.CACHE,
                               "Where detections are kept.")
  flags.mark_flags_as_required(["workdir", "name"])
  app.run(main)
