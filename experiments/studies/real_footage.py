r"""Question: How close is a lift of one real camera's view of a real person to the 3D that four calibrated cameras triangulate, and is the lifted body consistent with itself?
Answer: The figures are in the results files this writes (docs/results/footage.md shows them); the page's note says what they mean.

    python -m experiments.studies.real_footage --workdir=runs/lifter_cam \
        --name=lifter_cam [--clips=pose2sim,sports2d_demo] \
        [--joint_map=FILE] [--detect_every=2]

writes experiments/results/real_footage_<name>_cpu.json.

Real footage that registry packages ship (`experiments/bench/public_clips`,
fetched with pip at run time, never committed): Pose2Sim's demo, one
person seen by four calibrated cameras (Qualisys calibration), and
Sports2D's one-camera demo. Each view is detected once by the detector
`experiments.lift --video` runs (cached under --cache). For the
calibrated clip, the four views' keypoints (H36M joints as the detector's
landmarks give them, left/right swaps undone) are triangulated, weighted
by confidence, a view more than 50 px off the others left out point by
point, into a 3D reference, whose reprojection error is stated;
each view alone is then lifted by each workdir at the camera's calibrated
focal length, as lifted and fitted onto its 2D (`lift.fit_to_2d`), and
under the default camera a user without intrinsics gets (fitted), fitted
without the detector's own depth ('calibrated_nodepth'), and
with the calibration's roll as well ('level': `--roll_deg`), and
scored against the reference in that camera's frame (with --joint_map,
once more through that map, scored back in the detector's joints; with
--detect_every, once more from a detection of one frame in that many):
MPJPE (root-relative), PA-MPJPE, the trunk's lean against the
reference's (degrees), the root's depth error, the body's size
(total bone length, against the reference's), MPJPE and PA-MPJPE apart
over the frames seen whole and those with a completed joint
(`errors_by_frames`), and the reference-free
figures of `jaxpose.pose.motion_quality` (bone-length variation, left/right
asymmetry, acceleration, reprojection onto the 2D lifted from). A clip
without calibration gets the reference-free figures alone, over the frames
where the detector saw the person lifted; so does Pose2Sim's two-person
demo, whose views follow different people (each row says the tracks the
detector's keypoints split into, `jaxpose.video.tracks`, and the one lifted).
"""
from __future__ import annotations

import os
import xml.etree.ElementTree as ElementTree

import numpy as np
from absl import app
from absl import flags

from experiments.bench import public_clips
from experiments.bench import timing
from jaxpose import files
from jaxpose import lift
from jaxpose.data import keypoint_swaps
from jaxpose.data import keypoints_dataset
from jaxpose.evaluation import inputs
from jaxpose.pose import body_space
from jaxpose.pose import cameras as cam_lib
from jaxpose.pose import detector_joints
from jaxpose.pose import fit_2d
from jaxpose.pose import metrics
from jaxpose.pose import motion_quality
from jaxpose.pose import triangulation
from jaxpose.pose.skeleton import H36M_17
from jaxpose.video import detect

CACHE = os.path.join(os.path.expanduser("~"), ".cache", "jaxpose", "footage")
VIEWS = tuple(f"pose2sim_cam0{i}" for i in range(1, 5))
MULTI_VIEWS = tuple(f"pose2sim_multi_cam0{i}" for i in range(1, 5))
# Pose2Sim's two-person demo, each person followed from a pixel on their
# torso in each view's first frame (`detect(person_at=...)`), picked by eye:
# P1 stands in front in cam03 and cam04, P2 in cam01 and cam02.
PEOPLE = {
    "P1": dict(zip(MULTI_VIEWS, ((400, 600), (572, 680), (624, 920),
                                 (336, 880)))),
    "P2": dict(zip(MULTI_VIEWS, ((800, 1200), (192, 1040), (264, 760),
                                 (776, 600)))),
}
# Qualisys gives intrinsics in 1/64 pixel units.
_QCA_SUBPIXEL = 64.0


def read_qca(path: str) -> dict[str, cam_lib.Camera]:
  """{camera serial: Camera} of a Qualisys .qca.txt calibration: each
  camera's centre in the world (mm), its rotation, and its pinhole
  intrinsics (the distortion, a fraction of a pixel here, is left out).
  The file's rotation takes world axes to a Qualisys camera's, which looks
  along its -z with y up; a half turn about x makes them x right, y down,
  z forward. Of the eight ways to read the matrix (transposed or not, a
  half turn about x, y, z or none), this one alone reprojects the
  triangulated detections within tens of pixels on Pose2Sim's demo (the
  others: 54-656 px)."""
  root = ElementTree.parse(path).getroot()
  out = {}
  flip = np.diag([1.0, -1.0, -1.0])
  for cam in root.findall("cameras/camera"):
    pose = cam.find("transform").attrib
    orientation = np.array([[float(pose[f"r{i}{j}"]) for j in (1, 2, 3)]
                            for i in (1, 2, 3)])
    intr = cam.find("intrinsic").attrib
    fov = cam.find("fov_video").attrib
    left, top = float(fov["left"]), float(fov["top"])
    out[cam.attrib["serial"]] = cam_lib.make_camera(
        f=(float(intr["focalLengthU"]) / _QCA_SUBPIXEL,
           float(intr["focalLengthV"]) / _QCA_SUBPIXEL),
        c=(float(intr["centerPointU"]) / _QCA_SUBPIXEL - left,
           float(intr["centerPointV"]) / _QCA_SUBPIXEL - top),
        width=int(float(fov["right"]) - left + 1),
        height=int(float(fov["bottom"]) - top + 1),
        R=flip @ orientation,
        t=[float(pose[k]) for k in ("x", "y", "z")])
  return out


def detected(clip: str, cache: str = CACHE, every: int = 1,
             person_at=None) -> str:
  """The detector's keypoints.json of a public clip, detected once (on
  one frame in `every`, the others filled in; following the person at
  `person_at` in the first frame, else whoever the detector finds)."""
  folder = clip if every == 1 else f"{clip}_every{every}"
  if person_at is not None:
    folder += "_at{:g}_{:g}".format(*person_at)
  path = os.path.join(cache, folder, "keypoints.json")
  if not os.path.isfile(path):
    detect.detect(public_clips.clip(clip), os.path.dirname(path),
                  max_images=1, every=every, person_at=person_at)
  return path


def view_keypoints(path: str):
  """A view's H36M keypoints as a lift reads them (swaps undone)."""
  return keypoints_dataset.read(keypoints_dataset.KeypointsSettings(
      path=path, empty_frames="mask"))


def _agreeing_labels(px, weights, rig) -> tuple[np.ndarray, np.ndarray]:
  """The views' keypoints with each limb pair's left/right labels chosen,
  frame by frame, so that the views agree: of the labellings that flip the
  pair in some views, the one whose triangulation reprojects best, with
  most views as detected (flipping every view changes nothing in 3D). A
  detector that takes a back for a front labels a whole clip of one view
  the other way round, which no single view's motion shows."""
  px, weights = px.copy(), weights.copy()
  views = len(rig)
  combos = [np.array([(c >> v) & 1 for v in range(views)], bool)
            for c in range(2 ** views)]
  combos = [c for c in combos if c.sum() * 2 < views or (
      c.sum() * 2 == views and not c[0])]
  for _, left_names, right_names in keypoint_swaps.PAIRS:
    left = [H36M_17.index(n) for n in left_names]
    right = [H36M_17.index(n) for n in right_names]
    errors = []
    for flip in combos:
      order = [right + left if f else left + right for f in flip]
      pair_px = np.stack([px[v][:, order[v]] for v in range(views)])
      pair_w = np.stack([weights[v][:, order[v]] for v in range(views)])
      points, _ = triangulation.triangulate(pair_px, pair_w, rig)
      error = triangulation.reprojection_px(points, pair_px, rig)
      errors.append(np.nanmean(np.where(pair_w > 0, error, np.nan),
                               axis=(0, 2)))  # [T]
    best = np.nanargmin(np.nan_to_num(np.stack(errors), nan=np.inf), axis=0)
    for v in range(views):
      frames = np.array([combos[b][v] for b in best], bool)
      for array in (px[v], weights[v]):
        array[np.ix_(frames, left + right)] = array[np.ix_(frames,
                                                           right + left)]
  return px, weights


def reference(views: dict, cams: dict) -> dict:
  """The triangulated 3D (world mm) of the views' keypoints, their limbs'
  labels made to agree, and how well it reprojects into each view."""
  names = sorted(views)
  frames = min(views[n].num_frames for n in names)
  px = np.stack([views[n].pixels[:frames] for n in names])
  weights = np.stack([np.where(views[n].visible[:frames],
                               views[n].confidence[:frames], 0.0)
                      for n in names])
  rig = [cams[n.split("_")[-1]] for n in names]
  px, weights = _agreeing_labels(px, weights, rig)
  points, count = triangulation.triangulate_robust(px, weights, rig)
  error = triangulation.reprojection_px(points, px, rig)
  seen = weights > 0
  return {"points_mm": points, "views_per_joint": count,
          "reprojection_px": {n: round(float(np.nanmedian(
              np.where(seen[i], error[i], np.nan))), 1)
                              for i, n in enumerate(names)}}


def roll_deg(cam: cam_lib.Camera) -> float:
  """The camera's roll (`KeypointsSettings.roll_deg`): the angle from the
  image's up to the world's up (+z, Qualisys' world) as the image shows
  it, toward the image's right."""
  up = np.asarray(cam.R) @ np.array([0.0, 0.0, 1.0])  # y down, in the camera
  return float(np.degrees(np.arctan2(up[0], -up[1])))


def calibrated_keys(camera: str, cam, joint_map: str) -> dict:
  """The keypoint keys a row's camera variant adds to the focal length:
  the calibration's roll ('level': lifted as a level camera sees it) and
  the joint map ('map')."""
  keys = {}
  if "level" in camera.split("_"):
    keys["roll_deg"] = round(roll_deg(cam), 2)
  if "map" in camera.split("_"):
    keys["joint_map"] = joint_map
  return keys


def trunk_angle_deg(pred, ref) -> np.ndarray:
  """`[T]` the angle between the lift's pelvis -> thorax and the
  reference's, in the camera's frame: how far the body leans wrongly."""
  trunk = (H36M_17.index("thorax"), H36M_17.index("pelvis"))
  return body_space.bone_angles(pred, ref, [(trunk, trunk)])[..., 0]


def reference_in_camera(ref_world, cam) -> np.ndarray:
  """The reference in `cam`'s frame, NaN on frames it could not place."""
  out = np.full(np.shape(ref_world), np.nan)
  valid = np.isfinite(ref_world).all(axis=(1, 2))
  out[valid] = cam_lib.world_to_camera(ref_world[valid], cam)
  return out


def score_view(lifted, ref_world, cam, fps: float) -> dict:
  """A view's lift against the reference in that camera's frame (a lift
  of keypoints moved by a joint map moved back to the detector's joints,
  those of the reference)."""
  frames = min(len(ref_world), lifted.num_frames)
  # Frames with a joint the views could not place are left out.
  valid = np.isfinite(ref_world[:frames]).all(axis=(1, 2))
  ref_cam = reference_in_camera(ref_world[:frames], cam)
  ref_rel = ref_cam - ref_cam[:, :1]
  pred = np.asarray(lifted.mean_mm[:frames], np.float64)
  root = np.asarray(lifted.root_mm[:frames], np.float64)
  mapped = lifted.info["keypoints"].get("joint_map")
  if mapped:
    absolute = detector_joints.to_detector(
        detector_joints.load(mapped["path"]), pred + root[:, None])
    root, pred = absolute[:, 0], absolute - absolute[:, :1]
  pred_v, ref_v = pred[valid], ref_rel[valid]
  ref_size = motion_quality.total_bone_length(ref_v)
  return {
      "frames_scored": int(valid.sum()),
      "trunk_angle_error_deg": round(float(np.median(trunk_angle_deg(
          pred_v, ref_v))), 1),
      "mpjpe_mm": round(float(metrics.mpjpe(pred_v, ref_v).mean()), 1),
      "pa_mpjpe_mm": round(float(metrics.pa_mpjpe(pred_v, ref_v).mean()), 1),
      "root_depth_error_mm": round(float(np.median(np.abs(
          root[valid, 2] - ref_cam[valid, 0, 2]))), 1),
      "size_ratio": round(motion_quality.total_bone_length(pred_v)
                          / ref_size, 3),
      "reference_total_bone_length_mm": round(ref_size, 1),
      "by_frames": errors_by_frames(pred_v, ref_v,
                                    lifted.completed[:frames][valid]),
  }


def errors_by_frames(pred, ref, completed) -> dict:
  """MPJPE and PA-MPJPE apart over the frames whose every joint the
  detector placed ('whole') and those with a joint the lift completed
  ('completed': unsure, hidden, or the person not found), with their
  counts; a kind with no frame has errors of None."""
  whole = ~np.asarray(completed, bool).any(axis=1)
  out = {}
  for kind, frames in (("whole", whole), ("completed", ~whole)):
    out[kind] = {"frames": int(frames.sum()), "mpjpe_mm": None,
                 "pa_mpjpe_mm": None}
    if frames.any():
      out[kind].update(
          mpjpe_mm=round(float(metrics.mpjpe(pred[frames],
                                             ref[frames]).mean()), 1),
          pa_mpjpe_mm=round(float(metrics.pa_mpjpe(pred[frames],
                                                   ref[frames]).mean()), 1))
  return out


def lift_figures(lifted, fps: float) -> dict:
  """The reference-free figures of one lift, over the frames where the
  detector saw the person lifted (others' frames are filled in)."""
  seen = lifted.visible.any(axis=1)
  motion = np.asarray(lifted.mean_mm, np.float64)[seen]
  intr = lifted.info["keypoints"]["intrinsics"]
  return {**motion_quality.summary(motion, fps), "reprojection_px": round(
      motion_quality.reprojection_px(motion + lifted.root_mm[seen, None],
                                     lifted.pixels[seen], lifted.visible[seen],
                                     intr), 1),
          "frames_seen": int(seen.sum())}


def view_row(name: str, lifted, fit: bool, camera: str, ref, cam,
             fps: float) -> dict:
  """One view's row: its lift (fitted onto its 2D or not; a camera named
  '..._nodepth' fitted without the detector's depth), the tracks followed,
  its own figures and, with a reference, its errors."""
  settings = (fit_2d.without_detector_depth(fit_2d.FitSettings())
              if camera.endswith("_nodepth") else None)
  motion = lift.fit_to_2d(lifted, fps=fps, settings=settings) if fit else (
      lifted)
  mapped = lifted.info["keypoints"].get("joint_map")
  row = {"clip": name, "source": public_clips.source(name),
         "method": lifted.info["method"], "fit_2d": fit, "camera": camera,
         "joint_map": mapped["path"] if mapped else None,
         "camera_rule": lifted.info["keypoints"].get("camera"),
         "hypotheses": lifted.info["hypotheses"],
         "frames": lifted.num_frames, "fps": fps,
         "swaps": lifted.info["keypoints"].get("swaps"),
         "tracks": lifted.info["keypoints"].get("tracks"),
         "person": lifted.info["keypoints"].get("person"),
         "followed": followed(lifted.info["keypoints"]),
         "completed_joints": int(lifted.completed.sum()),
         "detector_depth_joints": (motion.info["fit_2d"][
             "detector_depth_joints"] if fit else 0),
         **lift_figures(motion, fps)}
  if ref is not None:
    row.update(score_view(motion, ref["points_mm"], cam, fps))
    row["reference_reprojection_px"] = ref["reprojection_px"][name]
    row["camera_roll_deg"] = round(roll_deg(cam), 1)
    ok = np.isfinite(ref["points_mm"]).all(axis=(1, 2))
    row["reference"] = motion_quality.summary(ref["points_mm"][ok], fps)
  return row


def followed(keypoints_info: dict) -> str:
  """The tracks a view's keypoints split into and the one lifted, in
  words: '0: 54, 1: 46 frames; lifted: track 1'."""
  tracks = keypoints_info.get("tracks") or {}
  person = str(keypoints_info.get("person", "")).split(" (")[0]
  counts = ", ".join(f"{k}: {v}" for k, v in tracks.items())
  return f"{counts} frames; lifted: {person}" if counts else person


def test_inputs(lifted) -> dict:
  """What the model received of each frame (`evaluation.inputs`)."""
  filled = lifted.info["keypoints"].get("completed", "").startswith("across")
  return inputs.record("MediaPipe Pose's", inputs.Reads(
      masks=("none (joints below the threshold filled in across time)"
             if filled else "joints below the detector's threshold"),
      camera=("focal length: the calibrated one, or the default field of "
              "view (each row's 'camera')")))


def study(workdir: str, clips=("pose2sim", "sports2d_demo", "pose2sim_multi",
                              "pose2sim_people"),
          *, cache=CACHE, hypotheses: int = 20,
          joint_map: str = "",
          detect_every: int = 1) -> tuple[list[dict], dict]:
  """(rows of the results file, one per view; the model's test inputs).
  With `joint_map`, each calibrated view is lifted once more through it
  (fitted); with `detect_every` > 1, once more from a detection of one
  frame in that many (fitted)."""
  rows, seen = [], None
  for clip in clips:
    if clip == "pose2sim_people":
      rows += people_rows(workdir, cache=cache, hypotheses=hypotheses,
                          joint_map=joint_map)
      continue
    names = {"pose2sim": VIEWS, "pose2sim_multi": MULTI_VIEWS}.get(clip,
                                                                  (clip,))
    views = {n: view_keypoints(detected(n, cache)) for n in names}
    ref, cams = None, None
    if clip == "pose2sim":
      cams = read_qca(public_clips.clip("pose2sim_calibration"))
      ref = reference(views, cams)
    for name in names:
      cam = cams[name.split("_")[-1]] if cams is not None else None
      fps = float(files.read_json(detected(name, cache))["fps"]) or 30.0
      cameras = ("calibrated", "default") if cam else ("default",)
      if cam:
        cameras += ("calibrated_level",)
      if cam and joint_map:
        cameras += ("calibrated_map", "calibrated_level_map")
      if cam and detect_every > 1:
        cameras += (f"calibrated_every{detect_every}",)
      for camera in cameras:
        keys = {"empty_frames": "mask"}
        if camera != "default":
          keys["focal_px"] = float(cam.f[0])
        keys.update(calibrated_keys(camera, cam, joint_map))
        every = detect_every if "every" in camera else 1
        lifted = lift.lift_keypoints(workdir, detected(name, cache, every),
                                     num_hypotheses=hypotheses, keypoints=keys)
        seen = test_inputs(lifted)
        # As lifted, then fitted onto its 2D (the default camera: fitted).
        variants = [(False, camera), (True, camera)] if (
            camera == "calibrated" or not cam) else [(True, camera)]
        if camera == "calibrated":
          variants.append((True, "calibrated_nodepth"))
        for fit, label in variants:
          rows.append({**view_row(name, lifted, fit, label, ref, cam, fps),
                       "detected_every": every})
          print({k: rows[-1][k] for k in rows[-1]
                 if k not in ("source", "reference")})
  return rows, seen


def people_rows(workdir: str, *, cache=CACHE, hypotheses: int = 20,
                joint_map: str = "") -> list[dict]:
  """Each person of the two-person demo (`PEOPLE`) followed in every view,
  triangulated into a reference of their own, and each view lifted at its
  calibrated focal length and fitted (also without the detector's depth,
  and through `joint_map`): rows with `subject` naming the person."""
  cams = read_qca(public_clips.clip("pose2sim_calibration"))
  rows = []
  for subject, points in PEOPLE.items():
    paths = {n: detected(n, cache, person_at=points[n]) for n in MULTI_VIEWS}
    ref = reference({n: view_keypoints(p) for n, p in paths.items()}, cams)
    for name, path in paths.items():
      cam = cams[name.split("_")[-1]]
      fps = float(files.read_json(path)["fps"]) or 30.0
      for camera in ("calibrated", "calibrated_level") + ((
          "calibrated_map", "calibrated_level_map") if joint_map else ()):
        keys = {"empty_frames": "mask", "focal_px": float(cam.f[0]),
                **calibrated_keys(camera, cam, joint_map)}
        lifted = lift.lift_keypoints(workdir, path, num_hypotheses=hypotheses,
                                     keypoints=keys)
        labels = ((camera, "calibrated_nodepth") if camera == "calibrated"
                  else (camera,))
        for label in labels:
          rows.append({**view_row(name, lifted, True, label, ref, cam, fps),
                       "detected_every": 1, "subject": subject,
                       "person_at": list(points[name])})
          print({k: rows[-1][k] for k in ("clip", "subject", "camera",
                                          "mpjpe_mm", "pa_mpjpe_mm",
                                          "reference_reprojection_px")})
  return rows


def write_results(stem: str, rows: list[dict], seen: dict, workdir: str,
                  seed: int, **more) -> str:
  """Writes experiments/results/<stem>_cpu.json (the rows, the model's test
  inputs, the detector, the workdir and its seed, the hardware, `more`);
  returns its path."""
  out = os.path.join(os.path.dirname(os.path.dirname(__file__)), "results",
                     f"{stem}_cpu.json")
  files.write_json_atomic(out, {
      "rows": rows, "test_inputs": seen, "detector": detect.DETECTOR,
      **more, "workdir": workdir, "seed": seed,
      "hardware": timing.hardware_info()})
  return out


def main(argv):
  del argv
  rows, seen = study(_WORKDIR.value, _CLIPS.value, cache=_CACHE.value,
                     hypotheses=_HYPOTHESES.value, joint_map=_JOINT_MAP.value,
                     detect_every=_DETECT_EVERY.value)
  print("wrote " + write_results(f"real_footage_{_NAME.value}", rows, seen,
                                 _WORKDIR.value, _SEED.value))


if __name__ == "__main__":
  # Defined here, not on import: tests import this module.
  _WORKDIR = flags.DEFINE_string("workdir", None, "A trained workdir that lifts.")
  _NAME = flags.DEFINE_string("name", None, "The results file's name part.")
  _SEED = flags.DEFINE_integer("seed", 0, "The workdir's training seed (said "
                               "in the results file).")
  _CLIPS = flags.DEFINE_list("clips", ["pose2sim", "sports2d_demo",
                                       "pose2sim_multi", "pose2sim_people"],
                             "pose2sim (four calibrated views), pose2sim_multi "
                             "(two people, four views, whoever the detector "
                             "follows), pose2sim_people (each of the two "
                             "followed, with a reference each) and/or "
                             f"single clips of {sorted(public_clips.CLIPS)}.")
  _CACHE = flags.DEFINE_string("cache", CACHE, "Where detections are kept.")
  _HYPOTHESES = flags.DEFINE_integer("hypotheses", 20, "Hypotheses per frame.")
  _JOINT_MAP = flags.DEFINE_string("joint_map", "", "A joint map file: each "
                                   "calibrated view lifted through it too.")
  _DETECT_EVERY = flags.DEFINE_integer(
      "detect_every", 1, "> 1: each calibrated view also lifted from a "
      "detection of one frame in this many.", lower_bound=1)
  flags.mark_flags_as_required(["workdir", "name"])
  app.run(main)
