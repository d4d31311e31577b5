r"""Calibrates the rigs' rest poses for the body space and measures the fit.

    python -m experiments.body_space_retarget --calibrate   # prints body_sources.REST
    python -m experiments.body_space_retarget               # writes the JSON

Reads the publishers' BVH trees (unpacked as ../shared/data/README.md says;
--bandai_src, --cmu_src).  --calibrate runs `retarget.calibrate` on the
training clips named in `body_sources.REST`'s comment.  Without it, every clip of
both trees (every --stride-th frame) is retargeted with `body_sources.REST`, its
body pose put through forward kinematics on the canonical skeleton (bone
lengths: the median over jaxpose-mocap-v1's training frames, as DPoser would
use), and each SMPL bone the rig has is compared with the rig's own bone:
per joint, the median and 95th percentile angle over frames go to
experiments/results/body_space_retarget_angles.json, with the hinge check
(the share of knee and elbow rotation about the body space's hinge axes),
and each rig's wall-clock time (`seconds`).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import pathlib
import sys
import time

import numpy as np

from jaxpose import files as files_lib
from jaxpose.data import bvh as bvh_lib
from jaxpose.data import body_sources, data_files, mocap_protocol, retarget, rigs
from jaxpose.pose import body_space

_CACHE = pathlib.Path("~/.cache/jaxpose-data").expanduser()
OUT = (pathlib.Path(__file__).resolve().parent / "results"
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


def load(path, stride: int):
  """A clip's finite frames, every stride-th."""
  motion, _ = rigs.drop_nonfinite(bvh_lib.load_bvh(path))
  return dataclasses.replace(motion, motion=motion.motion[::stride],
                             frame_time=motion.frame_time * stride)


def calibrate(srcs, stride: int) -> str:
  """`retarget.calibrate` on each rig's calibration clips, as `REST`'s code."""
  lines = ["REST: dict[str, np.ndarray] = {"]
  for dataset, src in srcs.items():
    rots, poss = [], []
    for path in clips(dataset, src, calibration=True):
      rot, pos = body_sources.rig_world(load(path, stride), dataset)
      rots.append(rot)
      poss.append(pos)
    rest = retarget.calibrate(np.concatenate(rots), np.concatenate(poss),
                              body_sources.BODY_MAPS[dataset])
    table = retarget.rest_to_table(rest)
    lines.append(f"    # {len(rots)} clips, {sum(len(r) for r in rots)} frames")
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


def measure(srcs, stride: int) -> dict:
  """Retargets every clip and compares bones (the results JSON's content)."""
  per_rig = {}
  for dataset, src in srcs.items():
    t0 = time.time()
    parts = dict(body_pose=[], root_orient=[], pos=[], lengths=[], train=[])
    for path in clips(dataset, src, calibration=False):
      motion = load(path, stride)
      world = bvh_lib.world_transforms(
          motion, position_mode=rigs.get_rig(dataset).position_mode)
      body = body_sources.to_body_space(motion, dataset, world=world)
      _, pos = body_sources.rig_world(motion, dataset, world=world)
      parts["body_pose"].append(body["body_pose"])
      parts["root_orient"].append(body["root_orient"])
      parts["pos"].append(pos)
      parts["lengths"].append(np.broadcast_to(body["bone_lengths"], (len(pos), 22)))
      train = dataset == "bandai" or data_files.subject_of("cmu", path) in TRAIN_CMU
      parts["train"].append(np.full(len(pos), train))
    r = {k: np.concatenate(v) for k, v in parts.items()}
    r["clips"], r["seconds"] = len(parts["pos"]), time.time() - t0
    per_rig[dataset] = r
  # The canonical skeleton: median bone lengths over the training frames.
  canonical = body_space.median_bone_lengths(
      np.concatenate([r["lengths"][r["train"]] for r in per_rig.values()]))
  result = dict(
      description=("Per SMPL joint, the angle (degrees) between the bone ending "
                   "at it after retargeting (forward kinematics of body_pose "
                   "and root_orient on the canonical skeleton) and the rig's "
                   "own bone between the same places, over every stride-th "
                   "frame of every clip; spine2 has a place in neither rig, "
                   "so spine1 -> spine3 is compared whole.  A bone whose "
                   "parent joint has one child and its own rig joint is "
                   "exact by construction (0); the others measure the rest "
                   "geometry (pelvis -> hips, spine3 -> collars and neck) and "
                   "the joints split or merged (spine, CMU's neck).  "
                   "hinge_share: median cosine between a flexed (> 20 deg) "
                   "knee or elbow rotation and the body space's hinge axis.  "
                   "median_body_pose_deg: per joint, the component-wise "
                   "median axis-angle (X left, Y up, Z forward), to compare "
                   "the rigs' typical postures."),
      command="python -m experiments.body_space_retarget",
      stride=stride,
      canonical_bone_lengths_mm={n: round(float(v), 1) for n, v in
                                 zip(retarget.NAMES, canonical)},
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
    print(calibrate(srcs, args.stride))
    return 0
  result = measure(srcs, args.stride)
  files_lib.write_json_atomic(args.out, result)
  for dataset, r in result["rigs"].items():
    print(dataset, {k: v["median"] for k, v in r["bone_angle_deg"].items()})
    print("  hinge share", r["hinge_share"])
  print("wrote", args.out)
  return 0


if __name__ == "__main__":
  sys.exit(main())
