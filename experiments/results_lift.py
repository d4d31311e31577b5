"""README table of a video's keypoints lifted and smoothed, from the JSONs
`experiments/lift_demo.py` wrote: error and acceleration error against the
clip's truth, as lifted and after DPoser's smoothing (`jaxpose.lift.smooth`).
`experiments.results_table` puts it into README.md.
"""
from __future__ import annotations

import json
import pathlib
import re

_R = "experiments/results/"
# (the 2D the clip was lifted from, JSON).
RUNS = (("exact 2D", _R + "lift_demo_cpu.json"),
        ("noisy 2D (5 px + outliers)", _R + "lift_demo_noisy_cpu.json"))


def _change(after: float, before: float) -> str:
  return f"{100 * (after / before - 1):+.0f}%"


BENCH = _R + "bench_lift_cpu.json"
# experiments/smoothing_clips.py over every test clip: (2D, JSON).
CLIPS = (("noisy", _R + "smoothing_clips_noisy_cpu.json"),
         ("exact", _R + "smoothing_clips_exact_cpu.json"))


def _by_clip_length(label: str, result: dict) -> str:
  """MPJPE before -> after the smoothing at the workdir's own weight, for
  the clips shorter than one smoothing window and for the rest."""
  own = next((i for i, s in enumerate(result["smoothed"])
              if s["prior_weight"] is None), 0)
  found = re.search(r"windows of (\d+) frames", result["smoothed"][own].get("by", ""))
  if not found or "per_clip" not in result:
    return ""
  window = int(found.group(1))
  parts = []
  for words, keep in ((f"shorter than one window ({window} frames)",
                       lambda n: n < window), ("", lambda n: n >= window)):
    clips = [c for c in result["per_clip"] if keep(c["frames"])]
    if not clips:
      continue
    frames = sum(c["frames"] for c in clips)
    mean = lambda get: sum(c["frames"] * get(c) for c in clips) / frames
    before = mean(lambda c: c["lifted"]["mpjpe_mm"])
    after = mean(lambda c: c["smoothed"][own]["mpjpe_mm"])
    name = f"the {len(clips)} clips {words}" if words else f"the other {len(clips)}"
    parts.append(f"{name} {before:.1f} -> {after:.1f} ({_change(after, before)})")
  if not parts:
    return ""
  return (f"{label.capitalize()} 2D by clip length (MPJPE at the DPoser "
          "workdir's own weight): " + ", ".join(parts))


def _clips_lines(root: pathlib.Path) -> list[str]:
  found = [(label, json.loads((root / rel).read_text())) for label, rel in CLIPS
           if (root / rel).exists()]
  if not found:
    return []
  first = found[0][1]
  rows = []
  for label, r in found:
    rows.append(f"| {label} | lifted | {r['lifted']['mpjpe_mm']:.1f} | "
                f"{r['lifted']['accel_error_mm']:.1f} | |")
    for s in r["smoothed"]:
      weight = ("its own prior weight" if s["prior_weight"] is None
                else f"prior weight {s['prior_weight']:g}")
      rows.append(
          f"| {label} | smoothed, {weight} | {s['mpjpe_mm']:.1f} "
          f"({_change(s['mpjpe_mm'], r['lifted']['mpjpe_mm'])}) | "
          f"{s['accel_error_mm']:.1f} "
          f"({_change(s['accel_error_mm'], r['lifted']['accel_error_mm'])}) | "
          f"{'met' if s['met'] else 'missed'} |")
  lifted_by = ("one hypothesis" if first["hypotheses"] == 1
               else f"the mean of {first['hypotheses']} hypotheses")
  return ["", f"Over every test clip ({first['clips']} clips, {first['frames']} "
          f"frames; `python -m experiments.smoothing_clips`, "
          f"{', '.join(f'`{rel}`' for _, rel in CLIPS)}): each clip's first "
          f"camera lifted by `{first['workdir']}` ({lifted_by}), smoothed by "
          f"`{first['smooth_with']}` at its own prior weight and with the "
          f"temporal term alone (prior weight 0); "
          f"frame-weighted means, {first['hardware']}. Target "
          f"({first['target']['what']}):", "",
          "| 2D | motion | MPJPE | acceleration error | target |",
          "|---|---|---|---|---|", *rows, "",
          "The target is the noisy 2D's: smoothing is for a detector's "
          "jitter. From exact 2D the lifted motion's acceleration error is "
          "already a fraction of the noisy one's, there is little to remove, "
          "and the temporal term pulls the poses off; a clean detector's "
          "output is better left unsmoothed." + "".join(
              f" {line}." for line in (_by_clip_length(label, r) for label, r in found)
              if line)]


def _bench_lines(root: pathlib.Path) -> list[str]:
  path = root / BENCH
  if not path.exists():
    return []
  r = json.loads(path.read_text())
  rows = [f"| {x['hypotheses']} | {'yes' if x['smoothed'] else 'no'} | "
          f"{x['seconds']:.1f} | {x['second_run_seconds']:.1f} | "
          f"{x['realtime_factor']:.2f} |" for x in r["rows"]]
  met = {True: "met", False: "not met", None: "not measured"}[r["target"]["met"]]
  return ["", f"The whole command's time ({r['what']}; {r['hardware']}; "
          f"`python -m experiments.bench.lift`, `{BENCH}`): seconds of the "
          "first run (compilation included, what a user pays per video) and "
          "of a second in the same process, and the real-time factor of the "
          f"first. Target ({r['target']['what']}): {met}."
          + (f" {r['note']}" if r.get("note") else ""), "",
          "| hypotheses | smoothed | seconds | second run | real-time factor |",
          "|---|---|---|---|---|", *rows]


def _masked_line(r: dict) -> str:
  m = r["masked_joint"]
  return (f"The {m['name']}, masked in a second of frames (exact 2D): error "
          f"{m['error_masked_mm']:.1f} mm where masked (GFPose completes it) "
          f"against {m['error_seen_mm']:.1f} mm where seen, and the "
          f"hypotheses' spread {m['spread_masked_mm']:.1f} against "
          f"{m['spread_seen_mm']:.1f} mm: the spread says where not to trust it.")


# Camera-aware models (representation.input_2d='camera'): (label, the
# training-range cameras' JSON without its .json; each unseen set's JSON
# adds _<set>).
CAMERAS = (("GFPose mocap camera (mean of 200 hypotheses)",
            _R + "gfpose_mocap_camera_cpu_estimate"),
           ("Martinez lifter, camera", _R + "baseline_mocap_camera_cpu_estimate"))
UNSEEN_SETS = (("distance", "unseen_distance"), ("pitch", "unseen_pitch"),
               ("focal length", "unseen_focal"), ("all three", "unseen"))


def _camera_lines(root: pathlib.Path) -> list[str]:
  rows = []
  for label, stem in CAMERAS:
    if not (root / f"{stem}.json").exists():
      continue
    seen = json.loads((root / f"{stem}.json").read_text())
    cells = [f"{seen['mpjpe_mm']:.1f} ({seen['pa_mpjpe_mm']:.1f})"]
    for _, name in UNSEEN_SETS:
      path = root / f"{stem}_{name}.json"
      if not path.exists():
        cells.append("-")
        continue
      r = json.loads(path.read_text())
      cells.append(f"{r['mpjpe_mm']:.1f} ({r['pa_mpjpe_mm']:.1f}), "
                   f"{_change(r['mpjpe_mm'], seen['mpjpe_mm'])}")
    rows.append(f"| {label} | " + " | ".join(cells) + " |")
  if not rows:
    return []
  return ["", "### Lifting under cameras never trained on", "",
          "The camera-aware configs (`gfpose_mocap.py:camera`, "
          "`baseline_mocap.py:camera`) trained on cameras drawn over "
          "3.5-6.5 m, -5 to 20 degrees of pitch and 1000-2000 px of focal "
          "length (`jaxpose/data/camera_rigs.py`), scored on the test people "
          "(CMU 005, 007; first 500 rows) seen by one camera per clip drawn "
          "from those ranges, then with one parameter outside its range "
          "(2.5-3.2 or 7.5-9.5 m; -15 to -8 or 25 to 35 degrees; 600-850 or "
          "2400-3200 px) and with all three (`--config.data.test_cameras="
          "unseen_distance`, `unseen_pitch`, `unseen_focal`, `unseen` with "
          "`--config.eval.output_suffix` of the same name). Exact 2D, "
          "training seed 0 only, 2 CPU cores (x86_64). MPJPE (PA-MPJPE), mm, "
          "and the change of MPJPE; JSON: "
          f"`{CAMERAS[0][1]}[_<set>].json` and the lifter's alike:", "",
          "| model | training-range cameras | "
          + " | ".join(f"{words} unseen" if words != "all three" else
                       "all three unseen" for words, _ in UNSEEN_SETS) + " |",
          "|---|---|---|---|---|---|", *rows, "",
          "Distance and focal length, what reading 2D in the camera's "
          "geometry is for, cost both models 1-2% outside their ranges. "
          "Pitch is what does not carry over (the lifter +4%, GFPose +15%): "
          "a camera steeply above or below shows the body at an angle no "
          "training row did, which no normalisation of the 2D removes. "
          "PA-MPJPE, which aligns each pose's rotation and scale first, "
          "moves less than MPJPE: the cost is mostly the body's orientation, "
          "not its shape. The target (all unseen within 10% of the training "
          "range, 3 seeds) is not met: one seed, and pitch.", ""]


def lines(root: pathlib.Path) -> list[str]:
  rows = []
  for label, rel in RUNS:
    path = root / rel
    if not path.exists():
      continue
    r = json.loads(path.read_text())
    rows.append(f"| {label} | lifted ({r['hypotheses']} hypotheses' mean) | "
                f"{r['mpjpe_mm']:.1f} | {r['accel_error_mm']:.1f} | "
                f"{r['seconds']:.1f} |")
    for s in r.get("smoothed") or []:
      rows.append(
          f"| {label} | smoothed: {s['by']} | {s['mpjpe_mm']:.1f} "
          f"({_change(s['mpjpe_mm'], r['mpjpe_mm'])}) | {s['accel_error_mm']:.1f} "
          f"({_change(s['accel_error_mm'], r['accel_error_mm'])}) | "
          f"{s['seconds']:.1f} |")
  if not rows:
    return []
  first = json.loads((root / RUNS[0][1]).read_text())
  return ["", "### A video's keypoints lifted, and smoothed by DPoser", "",
          f"One test clip of jaxpose-mocap v1 ({first['frames']} frames of CMU "
          "005, people never seen in training) written as a keypoint file and "
          f"lifted by `{first['workdir']}` (GFPose mocap small, image space) "
          "with `experiments/lift_demo.py`, then smoothed by the DPoser mocap "
          "small v2 model at its held-out weight and with the temporal term "
          f"alone (prior weight 0); {first['hardware']}, one seed. MPJPE and "
          "the acceleration error (mm per frame^2, against the truth's) of "
          "the motion; seconds of the lift or the smoothing:", "",
          "| 2D | motion | MPJPE | acceleration error | seconds |",
          "|---|---|---|---|---|", *rows, "", _masked_line(first), "",
          "The smoothing returns the motion plus its correction (the fit with "
          "the temporal term and the prior minus the fit without), so what "
          "the body cannot follow cancels. With noisy 2D it removes jitter and "
          "error alike; with exact 2D it trades a little error for less "
          "jitter. DPoser's prior adds nothing the temporal term does not give "
          "on these unseen people, as in its motion-denoising table.",
          *_clips_lines(root), *_bench_lines(root), *_camera_lines(root)]


__all__ = ["lines", "RUNS", "CAMERAS"]
