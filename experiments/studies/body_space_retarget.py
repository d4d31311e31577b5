r"""Question: Does calibrating each rig's rest pose on its standing frames make Bandai's and CMU's body-space postures agree?
Answer: Mostly: the median angle between the rigs' median joint rotations falls from 11.2 to 3.7 degrees on standing frames and from 14.2 to 7.0 on walking clips; the largest left (ankles, 31 degrees standing) follow the rigs' joint places (CMU's feet turn out 20-25 degrees, Bandai's 0-5), which no calibration changes.

    python -m experiments.studies.body_space_retarget --calibrate   # prints body_sources.REST
    python -m experiments.studies.body_space_retarget               # writes the JSON

Reads the publishers' BVH trees (unpacked as ../shared/data/README.md says;
--bandai_src, --cmu_src).  --calibrate runs `retarget.calibrate` on the
training clips named in `body_sources.REST`'s comment (every
--calibration_stride-th frame), with each clip's `retarget.standing_frames`.
Without it, every clip of both trees (every --stride-th frame) is
retargeted with `body_sources.REST`, its body pose put through forward
kinematics on the canonical skeleton (bone lengths: the median over
jaxpose-mocap-v1's training frames, as DPoser would use), and each SMPL
bone the rig has is compared with the rig's own bone: per joint, the median
and 95th percentile angle over frames go to
experiments/results/body_space_retarget_angles.json, with the hinge check
(the share of knee and elbow rotation about the body space's hinge axes),
and each rig's wall-clock time (`seconds`).  `posture_agreement` compares
the rigs with each other: per joint, the angle between Bandai's and CMU's
median body-pose rotation over their standing frames and over their walking
clips, `before` (the calibration without a stance: bones turned to the
canonical rest directions, on the same calibration frames) and `after`
(`body_sources.REST`), beside the angles between the rigs' median bone
directions from joint places alone (what no calibration changes).
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import os
import pathlib
import sys
import time

import numpy as np

from jaxpose import files as files_lib
from jaxpose.data import bvh as bvh_lib
from jaxpose.data import body_sources, data_files, mocap_protocol, retarget, rigs
from jaxpose.pose import body_space, rotations

_CACHE = pathlib.Path("~/.cache/jaxpose-data").expanduser()
OUT = (pathlib.Path(__file__).resolve().parents[1] / "results"
       / "body_space_retarget_angles.json")
# jaxpose-mocap-v1's training subjects of CMU (all of Bandai trains).
TRAIN_CMU = mocap_protocol.PROTOCOLS["jaxpose-mocap-v1"].splits["train"].sources["cmu"]


def clips(dataset: str, src, *, calibration: bool):
  """The clips of a tree; with `calibration`, only the calibration set."""
  paths = data_files.find_bvh_files(src)
  if calibration:
    if dataset == "cmu":
      paths = [p for p in paths if data_files.subject_of("cmu", p) in TRAIN_CMU]
    else:
      paths = paths[::10]
  return paths


# CMU's descriptions of a plain walk (`CMU data.csv` beside the tree).
_CMU_WALKS = ("walk", "slow walk", "brisk walk")


def walking_clips(dataset: str, src) -> set:
  """Names (stems) of a tree's walking clips: Bandai's 'walk' content (every
  style), CMU's trials described as a plain walk in its `CMU data.csv`."""
  if dataset == "bandai":
    return {p.stem for p in data_files.find_bvh_files(src) if "_walk_" in p.name}
  table = pathlib.Path(src) / "CMU data.csv"
  if not table.is_file():
    raise FileNotFoundError(f"{table}: CMU's trial descriptions (shipped with the tree) "
                            "are needed to find its walking clips")
  with open(table, newline="") as f:
    return {f"{int(r['Subject']):03d}_{int(r['Trial #']):02d}"
            for r in csv.DictReader(f) if r["Motion Description"].strip() in _CMU_WALKS}


def load(path, stride: int):
  """A clip's finite frames, every stride-th."""
  motion, _ = rigs.drop_nonfinite(bvh_lib.load_bvh(path))
  return dataclasses.replace(motion, motion=motion.motion[::stride],
                             frame_time=motion.frame_time * stride)


def calibration_frames(dataset: str, src, stride: int):
  """(world_rot, positions, standing, clips) of a rig's calibration clips."""
  rots, poss, still = [], [], []
  for path in clips(dataset, src, calibration=True):
    motion = load(path, stride)
    rot, pos = body_sources.rig_world(motion, dataset)
    rots.append(rot)
    poss.append(pos)
    still.append(retarget.standing_frames(pos, motion.frame_time))
  return (np.concatenate(rots), np.concatenate(poss), np.concatenate(still),
          len(rots))


def calibrate(srcs, stride: int) -> str:
  """`retarget.calibrate` on each rig's calibration clips, as `REST`'s code."""
  lines = ["REST: dict[str, np.ndarray] = {"]
  for dataset, src in srcs.items():
    rot, pos, still, n = calibration_frames(dataset, src, stride)
    rest = retarget.calibrate(rot, pos, body_sources.BODY_MAPS[dataset], standing=still)
    table = retarget.rest_to_table(rest)
    lines.append(f"    # {n} clips, {len(rot)} frames, {int(still.sum())} standing")
    lines.append(f"    {dataset!r}: np.array([")
    for k, row in enumerate(table):
      vals = ", ".join("np.nan" if np.isnan(v) else f"{v:.4f}" for v in row)
      lines.append(f"        [{vals}],  # {retarget.NAMES[k]}")
    lines.append("    ]),")
  lines.append("}")
  return "\n".join(lines)


def hinge_share(body_pose, joint: str) -> float:
  """Median share of a hinge joint's rotation along its body-space axis
  (1 = pure rotation about it, with the right sign)."""
  k = retarget.NAMES.index(joint)
  rv = body_pose.reshape(-1, 21, 3)[:, k - 1].astype(np.float64)
  angle = np.linalg.norm(rv, axis=-1)
  keep = angle > np.radians(20)  # flexed enough for an axis to mean something
  axis = body_space.HINGE_AXES[joint][1]
  return float(np.median(rv[keep] @ axis / angle[keep])) if keep.any() else float("nan")


# Bones between joint places (not rotations) compared across the rigs in
# `posture_agreement`: how far the postures themselves differ.
_PLACE_BONES = tuple(
    (f"{side}_{a}", f"{side}_{b}") for side in ("left", "right")
    for a, b in (("hip", "knee"), ("knee", "ankle"), ("ankle", "foot"),
                 ("shoulder", "elbow"), ("elbow", "wrist"))) + (
    ("pelvis", "spine3"), ("spine3", "neck"), ("neck", "head"))


def _median_rotations(body_pose) -> np.ndarray:
  """[N, 63] -> [21, 3, 3]: per joint, the component-wise median axis-angle."""
  med = np.median(np.asarray(body_pose, np.float64).reshape(-1, 21, 3), axis=0)
  return rotations.axis_angle_to_matrix(med)


def _place_directions(pos) -> np.ndarray:
  """[F, 22, 3] -> [F, bones, 3] unit bone directions in `heading_frames`."""
  idx = lambda n: retarget.NAMES.index(n)
  d = np.stack([pos[:, idx(b)] - pos[:, idx(a)] for a, b in _PLACE_BONES], 1)
  d = np.einsum("fji,fbj->fbi", retarget.heading_frames(pos), d)
  return d / np.linalg.norm(d, axis=-1, keepdims=True)


def _toe_out_deg(pos) -> dict:
  """Median heading of each foot (ankle -> toe places) away from straight
  ahead, degrees, outward positive, in `heading_frames`."""
  d = _place_directions(pos)
  out = {}
  for side, sign in (("left", 1.0), ("right", -1.0)):
    v = d[:, _PLACE_BONES.index((f"{side}_ankle", f"{side}_foot"))]
    heading = np.degrees(np.arctan2(sign * v[:, 0], v[:, 2]))
    out[side] = round(float(np.median(heading)), 1)
  return out


def posture_agreement(frames: dict) -> dict:
  """One set of frames against another over the same activity.

  Args:
    frames: two entries, name -> dict(before [N, 63], after [N, 63], pos
      [N, 22, 3]).
  """
  (_, a), (_, b) = frames.items()
  out = dict(frames={n: int(len(f["pos"])) for n, f in frames.items()})
  for which in ("before", "after"):
    ra, rb = _median_rotations(a[which]), _median_rotations(b[which])
    gap = np.degrees(np.linalg.norm(
        rotations.matrix_to_axis_angle(np.swapaxes(ra, -1, -2) @ rb), axis=-1))
    out[which] = dict(
        joint_deg={n: round(float(v), 1) for n, v in zip(retarget.NAMES[1:], gap)},
        median_over_joints=round(float(np.median(gap)), 1),
        max=round(float(gap.max()), 1),
        joints_over_5_deg=[n for n, v in zip(retarget.NAMES[1:], gap) if v > 5])
  da, db = (np.median(_place_directions(f["pos"]), axis=0) for f in (a, b))
  cos = np.sum(da * db, -1) / np.linalg.norm(da, axis=-1) / np.linalg.norm(db, axis=-1)
  out["place_bone_deg"] = {f"{x}>{y}": round(float(v), 1) for (x, y), v in
                           zip(_PLACE_BONES, np.degrees(np.arccos(np.clip(cos, -1, 1))))}
  out["toe_out_deg"] = {n: _toe_out_deg(f["pos"]) for n, f in frames.items()}
  return out


def retarget_all(srcs, stride: int, rest_before: dict) -> dict:
  """Every clip retargeted with `REST` (and, for standing frames and walking
  clips, with `rest_before` too): per rig, concatenated arrays."""
  per_rig = {}
  for dataset, src in srcs.items():
    t0 = time.time()
    walks = walking_clips(dataset, src)
    keys = ("body_pose", "root_orient", "pos", "lengths", "train", "still", "walk",
            "before", "subject")
    parts = {k: [] for k in keys}
    for path in clips(dataset, src, calibration=False):
      motion = load(path, stride)
      world = bvh_lib.world_transforms(
          motion, position_mode=rigs.get_rig(dataset).position_mode)
      body = body_sources.to_body_space(motion, dataset, world=world)
      rot, pos = body_sources.rig_world(motion, dataset, world=world)
      still = retarget.standing_frames(pos, motion.frame_time)
      walk = np.full(len(pos), path.stem in walks)
      keep = still | walk
      parts["before"].append(retarget.retarget(
          rot[keep], pos[keep], body_sources.BODY_MAPS[dataset],
          rest_before[dataset])["body_pose"])
      parts["body_pose"].append(body["body_pose"])
      parts["root_orient"].append(body["root_orient"])
      parts["pos"].append(pos)
      parts["lengths"].append(np.broadcast_to(body["bone_lengths"], (len(pos), 22)))
      train = dataset == "bandai" or data_files.subject_of("cmu", path) in TRAIN_CMU
      parts["train"].append(np.full(len(pos), train))
      parts["still"].append(still)
      parts["walk"].append(walk)
      parts["subject"].append(np.full(len(pos), data_files.subject_of(dataset, path)))
    r = {k: np.concatenate(v) for k, v in parts.items()}
    r["clips"], r["seconds"] = len(parts["pos"]), time.time() - t0
    per_rig[dataset] = r
  return per_rig


def measure(srcs, stride: int, calibration_stride: int) -> dict:
  """Retargets every clip and compares bones (the results JSON's content)."""
  rest_before, stale = {}, {}
  for dataset, src in srcs.items():
    rot, pos, still, _ = calibration_frames(dataset, src, calibration_stride)
    body_map = body_sources.BODY_MAPS[dataset]
    rest_before[dataset] = retarget.calibrate(rot, pos, body_map)
    fresh = retarget.calibrate(rot, pos, body_map, standing=still)
    stored = retarget.rest_from_table(body_sources.REST[dataset])
    ok = ~np.isnan(stored).any(axis=(1, 2))
    gap = rotations.matrix_to_axis_angle(np.swapaxes(stored[ok], -1, -2) @ fresh[ok])
    stale[dataset] = round(float(np.degrees(np.linalg.norm(gap, axis=-1)).max()), 2)
  per_rig = retarget_all(srcs, stride, rest_before)
  # The canonical skeleton: median bone lengths over the training frames.
  canonical = body_space.median_bone_lengths(
      np.concatenate([r["lengths"][r["train"]] for r in per_rig.values()]))

  def frames(dataset, mask):
    r = per_rig[dataset]
    kept = r["still"] | r["walk"]  # the rows of r["before"]
    return dict(before=r["before"][mask[kept]], after=r["body_pose"][mask],
                pos=r["pos"][mask])

  def activity(what):
    return posture_agreement({d: frames(d, r[what]) for d, r in per_rig.items()})

  def within(dataset, subjects):
    r = per_rig[dataset]
    mine = np.isin(r["subject"], subjects)
    return posture_agreement({
        "+".join(subjects): frames(dataset, r["walk"] & mine),
        "others": frames(dataset, r["walk"] & ~mine)})

  agreement = dict(
      standing=activity("still"), walking=activity("walk"),
      # The same rig and calibration, other performers: how far walks differ
      # with nothing but the performer changed.
      walking_within_cmu=within("cmu", ["007"]),
      walking_within_bandai=within("bandai", ["bandai-1"]))
  result = dict(
      description=("Per SMPL joint, the angle (degrees) between the bone ending "
                   "at it after retargeting (forward kinematics of body_pose "
                   "and root_orient on the canonical skeleton) and the rig's "
                   "own bone between the same places, over every stride-th "
                   "frame of every clip; spine2 has a place in neither rig, "
                   "so spine1 -> spine3 is compared whole.  A bone whose "
                   "parent joint has one child and its own rig joint is "
                   "exact by construction (0); the others measure where the "
                   "rig places its joints against the canonical skeleton's "
                   "rest directions (pelvis -> hips, spine, spine3 -> collars "
                   "and neck, ankle -> toes), which the stance calibration "
                   "no longer follows: it holds the same posture to the same "
                   "rotations instead.  "
                   "hinge_share: median cosine between a flexed (> 20 deg) "
                   "knee or elbow rotation and the body space's hinge axis.  "
                   "median_body_pose_deg: per joint, the component-wise "
                   "median axis-angle (X left, Y up, Z forward), to compare "
                   "the rigs' typical postures.  posture_agreement: Bandai "
                   "against CMU over their standing frames "
                   "(retarget.standing_frames of every clip; CMU's all come "
                   "from training clips, the calibration's own) and over "
                   "their walking clips (Bandai's 'walk' content in every "
                   "style, CMU's trials described as walk, slow walk or brisk "
                   "walk; no walking frame is a standing one, so these are "
                   "out of the calibration): per joint, the angle between the "
                   "rigs' median rotations (component-wise median "
                   "axis-angle), before (bones turned to the canonical rest "
                   "directions, retarget.calibrate without a stance, on the "
                   "same calibration frames) and after (body_sources.REST, "
                   "the stance calibration); place_bone_deg: the angle "
                   "between the rigs' median bone directions from joint "
                   "places alone, in the hips' heading frame (posture "
                   "differences no calibration changes).  "
                   "rest_table_vs_recalibration_deg: the largest angle "
                   "between REST and a fresh stance calibration (0 unless "
                   "REST is stale).  toe_out_deg: each rig's median foot "
                   "heading (ankle -> toe places) outward of straight ahead.  "
                   "walking_within_cmu / walking_within_bandai: the same "
                   "comparison inside one rig and calibration, between "
                   "performers (CMU subject 007 against 002, 005, 006) or "
                   "releases (Bandai 1 against 2): the spread of walks with "
                   "only the performer changed."),
      command="python -m experiments.studies.body_space_retarget",
      stride=stride,
      calibration_stride=calibration_stride,
      rest_table_vs_recalibration_deg=stale,
      canonical_bone_lengths_mm={n: round(float(v), 1) for n, v in
                                 zip(retarget.NAMES, canonical)},
      posture_agreement=agreement,
      rigs={})
  for dataset, r in per_rig.items():
    pairs = body_sources.BODY_MAPS[dataset].bones()
    ang = np.concatenate([
        body_space.bone_angles(
            body_space.forward_kinematics(r["body_pose"][i:i + 20000], canonical,
                                          r["root_orient"][i:i + 20000]),
            r["pos"][i:i + 20000], [(b, b) for b in pairs])
        for i in range(0, len(r["pos"]), 20000)])  # [F, bones]
    result["rigs"][dataset] = dict(
        clips=r["clips"], frames=int(len(r["pos"])), seconds=round(r["seconds"], 1),
        bone_angle_deg={
            retarget.NAMES[c]: dict(parent=retarget.NAMES[p],
                                    median=round(float(np.median(a)), 2),
                                    p95=round(float(np.percentile(a, 95)), 2))
            for (c, p), a in zip(pairs, ang.T)},
        hinge_share={j: round(hinge_share(r["body_pose"], j), 3)
                     for j in ("left_knee", "right_knee", "left_elbow", "right_elbow")},
        median_body_pose_deg={
            n: [round(float(v), 1) for v in np.degrees(np.median(
                r["body_pose"].reshape(-1, 21, 3)[:, k].astype(np.float64), axis=0))]
            for k, n in enumerate(retarget.NAMES[1:])},
        bone_lengths_mm={n: round(float(v), 1) for n, v in
                         zip(retarget.NAMES, r["lengths"][0])})
  return result


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--bandai_src", default=str(_CACHE / "dataset"))
  p.add_argument("--cmu_src", default=str(_CACHE / "IClone-CMU-Mocap"))
  p.add_argument("--stride", type=int, default=4)
  p.add_argument("--calibration_stride", type=int, default=1,
                 help="every n-th frame of the calibration clips")
  p.add_argument("--calibrate", action="store_true")
  p.add_argument("--out", default=str(OUT))
  args = p.parse_args(argv)
  srcs = {"bandai": args.bandai_src, "cmu": args.cmu_src}
  for name, src in srcs.items():
    if not os.path.isdir(src):
      print(f"body_space_retarget: --{name}_src {src} is not a directory; unpack "
            "the archives as ../shared/data/README.md says", file=sys.stderr)
      return 1
  if args.calibrate:
    print(calibrate(srcs, args.calibration_stride))
    return 0
  result = measure(srcs, args.stride, args.calibration_stride)
  files_lib.write_json_atomic(args.out, result)
  for dataset, r in result["rigs"].items():
    print(dataset, {k: v["median"] for k, v in r["bone_angle_deg"].items()})
    print("  hinge share", r["hinge_share"])
  for what, a in result["posture_agreement"].items():
    for which in ("before", "after"):
      print(f"{what} {which}: median over joints {a[which]['median_over_joints']}, "
            f"max {a[which]['max']}", a[which]["joint_deg"])
  print("wrote", args.out)
  return 0


if __name__ == "__main__":
  sys.exit(main())
