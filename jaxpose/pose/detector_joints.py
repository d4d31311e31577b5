"""A detector's joints moved to where a training rig puts its joints.

A 2D detector's hips, shoulders, "neck" (the nose) and head are not a
motion-capture rig's joint centres, and the Human3.6M joints
`data.keypoints.to_h36m` derives from them (pelvis: the hips' midpoint,
thorax: the shoulders' midpoint) inherit the difference. A `JointMap`
moves them, as affine combinations of the detector's joints (each row of
its matrix sums to 1, so it commutes with translation and, to first
order, with a camera's projection: one map serves 2D keypoints and 3D):

  hips      midpoint + hip_width * (hip - midpoint) + hip_raise * trunk
  pelvis    hips' midpoint + hip_raise * trunk
  shoulders midpoint + shoulder_width * (shoulder - midpoint)
            + shoulder_raise * trunk
  thorax    shoulders' midpoint + thorax_raise * trunk
  spine     midpoint of pelvis and thorax
  neck      thorax + neck_to_nose * (nose - shoulders' midpoint)
  head      neck + head_scale * (head - nose)

with trunk the vector from the hips' midpoint to the shoulders'. Limbs'
joints stay. `measure` chooses the seven numbers so that the mapped
detector body has the rig's proportions (`ratios`, each a length over the
leg's), from 3D the detector's keypoints give (triangulated from
calibrated views) and the rig's own poses: a definition's difference is
tens of percent of a length, a person's own proportions a few
(`pose.proportions.SEGMENT_CV`).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from jaxpose import checks
from jaxpose import files
from jaxpose.pose.skeleton import H36M_17

_J = H36M_17.index
RATIO_NAMES = ("thigh", "upper_arm", "hip_width", "shoulder_width", "trunk",
               "thorax_to_neck", "neck_to_head", "thorax_to_shoulder")
_PARAMS = ("hip_width", "hip_raise", "shoulder_width", "shoulder_raise",
           "thorax_raise", "neck_to_nose", "head_scale")
_IDENTITY = (1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0)


@dataclasses.dataclass(frozen=True)
class JointMap:
  """The map's seven numbers (module docstring), the rig's pelvis-thorax
  length (mm; the root depth of a keypoint file mapped by it) and where it
  was measured (words)."""
  hip_width: float = 1.0
  hip_raise: float = 0.0
  shoulder_width: float = 1.0
  shoulder_raise: float = 0.0
  thorax_raise: float = 0.0
  neck_to_nose: float = 1.0
  head_scale: float = 1.0
  torso_mm: float = 0.0
  measured_on: str = ""

  def params(self) -> np.ndarray:
    return np.array([getattr(self, n) for n in _PARAMS], np.float64)


def _unit(name: str) -> np.ndarray:
  return np.eye(H36M_17.num_joints)[_J(name)]


def matrix(joint_map: JointMap) -> np.ndarray:
  """`[17, 17]` W: mapped[..., t] = sum_s W[t, s] detector[..., s]."""
  p = dict(zip(_PARAMS, joint_map.params()))
  w = np.eye(H36M_17.num_joints)
  hips = (_unit("l_hip") + _unit("r_hip")) / 2
  shoulders = (_unit("l_shoulder") + _unit("r_shoulder")) / 2
  trunk = shoulders - hips
  for side in "lr":
    w[_J(f"{side}_hip")] = (hips + p["hip_width"] * (_unit(f"{side}_hip") - hips)
                            + p["hip_raise"] * trunk)
    w[_J(f"{side}_shoulder")] = (
        shoulders + p["shoulder_width"] * (_unit(f"{side}_shoulder")
                                           - shoulders)
        + p["shoulder_raise"] * trunk)
  w[_J("pelvis")] = hips + p["hip_raise"] * trunk
  w[_J("thorax")] = shoulders + p["thorax_raise"] * trunk
  w[_J("spine")] = (w[_J("pelvis")] + w[_J("thorax")]) / 2
  w[_J("neck")] = w[_J("thorax")] + p["neck_to_nose"] * (_unit("neck")
                                                         - shoulders)
  w[_J("head")] = w[_J("neck")] + p["head_scale"] * (_unit("head")
                                                      - _unit("neck"))
  return w


def _derive_again() -> np.ndarray:
  """`[17, 17]` D: pelvis, thorax and spine from the hips and shoulders, as
  `to_h36m` derives them; every other joint as it is."""
  d = np.eye(H36M_17.num_joints)
  d[_J("pelvis")] = (_unit("l_hip") + _unit("r_hip")) / 2
  d[_J("thorax")] = (_unit("l_shoulder") + _unit("r_shoulder")) / 2
  d[_J("spine")] = (d[_J("pelvis")] + d[_J("thorax")]) / 2
  return d


def apply(joint_map: JointMap, joints) -> np.ndarray:
  """Detector joints `[..., 17, C]` (C = 2 pixels or 3 mm) in the rig's
  definitions. A joint is NaN where one of its sources is."""
  return _combine(matrix(joint_map), joints)


def to_detector(joint_map: JointMap, joints) -> np.ndarray:
  """The inverse of `apply` on the detector bodies `to_h36m` gives (its
  pelvis, thorax and spine derived from hips and shoulders): rig joints
  `[..., 17, C]` back in the detector's definitions, e.g. to score a lift
  against a reference triangulated from the detector's keypoints."""
  w = matrix(joint_map)
  return _combine(_derive_again() @ np.linalg.pinv(w), joints)


def _combine(w: np.ndarray, joints) -> np.ndarray:
  checks.check_array("joints", joints, ("...", H36M_17.num_joints, "C"),
                     finite=False)
  joints = np.asarray(joints, np.float64)
  finite = np.isfinite(joints).all(axis=-1)  # [..., 17]
  used = np.abs(w) > 1e-12  # [17, 17]
  out = np.einsum("ts,...sc->...tc", w, np.where(finite[..., None], joints,
                                                  0.0))
  whole = ~np.any(used & ~finite[..., None, :], axis=-1)  # [..., 17]
  return np.where(whole[..., None], out, np.nan)


def sources(joint_map: JointMap) -> np.ndarray:
  """`[17, 17]` bool: which detector joints each mapped joint is made of
  (a mapped joint is as sure as the least sure of them)."""
  return np.abs(matrix(joint_map)) > 1e-12


def _length(joints, a: str, b: str) -> np.ndarray:
  return np.linalg.norm(joints[..., _J(a), :] - joints[..., _J(b), :],
                        axis=-1)


def _pair(joints, a: str, b: str) -> np.ndarray:
  return (_length(joints, f"l_{a}", f"l_{b}")
          + _length(joints, f"r_{a}", f"r_{b}")) / 2


def ratios(joints_mm) -> np.ndarray:
  """`[8]` the body's proportions (`RATIO_NAMES`), each the median over
  frames of a length over the leg's (thigh + shin, left and right
  averaged): lengths no joint convention moves much against the ones the
  map moves."""
  checks.check_array("joints_mm", joints_mm, ("N", H36M_17.num_joints, 3))
  x = np.asarray(joints_mm, np.float64)
  thigh, shin = _pair(x, "hip", "knee"), _pair(x, "knee", "ankle")
  lengths = (thigh, _pair(x, "shoulder", "elbow"),
             _length(x, "l_hip", "r_hip"),
             _length(x, "l_shoulder", "r_shoulder"),
             _length(x, "pelvis", "thorax"), _length(x, "thorax", "neck"),
             _length(x, "neck", "head"),
             (_length(x, "thorax", "l_shoulder")
              + _length(x, "thorax", "r_shoulder")) / 2)
  leg = thigh + shin
  return np.array([np.median(v / leg) for v in lengths])


def measure(detector_mm, rig_mm, *, measured_on: str = "") -> JointMap:
  """The map that gives the detector's 3D (`[N, 17, 3]`, its joints as
  `to_h36m` derives them; frames with a NaN left out) the rig's
  proportions (`rig_mm` `[M, 17, 3]`), least squares over `ratios`."""
  from scipy import optimize  # pylint: disable=import-outside-toplevel
  checks.check_array("detector_mm", detector_mm, ("N", H36M_17.num_joints, 3),
                     finite=False)
  detector = np.asarray(detector_mm, np.float64)
  detector = detector[np.isfinite(detector).all(axis=(1, 2))]
  if len(detector) == 0:
    raise ValueError("detector_mm: no frame with every joint placed")
  rig = np.asarray(rig_mm, np.float64)
  target = ratios(rig)

  def residual(params):
    mapped = np.einsum("ts,nsc->ntc", matrix(JointMap(*params)), detector)
    return ratios(mapped) - target

  fitted = optimize.least_squares(residual, np.array(_IDENTITY))
  return JointMap(*(float(v) for v in fitted.x),
                  torso_mm=float(np.median(_length(rig, "pelvis", "thorax"))),
                  measured_on=measured_on)


def to_json(joint_map: JointMap) -> dict:
  return {k: (round(v, 4) if isinstance(v, float) else v)
          for k, v in dataclasses.asdict(joint_map).items()}


def load(path: str) -> JointMap:
  """A map from a JSON file: its `joint_map` object (what
  `experiments.studies.detector_joints` writes) or the file itself."""
  data = files.read_json(path)  # a ValueError names the path and cause
  if data is None:
    raise ValueError(f"{path}: no such joint map file")
  data = data.get("joint_map", data) if isinstance(data, dict) else None
  fields = {f.name for f in dataclasses.fields(JointMap)}
  if not isinstance(data, dict) or set(data) - fields:
    raise ValueError(f"{path}: not a joint map; expected an object with "
                     f"keys among {sorted(fields)}"
                     + (f", got unknown {sorted(set(data) - fields)}"
                        if isinstance(data, dict) else ""))
  joint_map = JointMap(**data)
  values = joint_map.params()
  if not np.isfinite(values).all() or joint_map.hip_width <= 0 or (
      joint_map.shoulder_width <= 0) or not joint_map.torso_mm > 0:
    raise ValueError(f"{path}: a joint map needs finite numbers, positive "
                     f"widths and torso_mm > 0; got {to_json(joint_map)}")
  return joint_map
