"""MPI-INF-3DHP's test protocol: 3D PCK at 150 mm, its AUC, and MPJPE.

The definitions are those of the authors' evaluation code, shipped with the
test set as `test_util/` (mpii_test_predictions.m, mpii_evaluate_errors.m,
mpii_compute_3d_pck.m, mpii_get_pck_auc_joint_groups.m):
  * Errors: per joint, the Euclidean distance in mm after each pose is made
    relative to its own pelvis, so the root's error is 0.
  * PCK: the percentage of (pose, joint) pairs whose error is strictly
    below 150 mm, over the 14 joints of the groups Head (head top), Neck
    (3DHP's neck: H36M's thorax), Shoulders, Elbows, Wrists, Hips, Knees
    and Ankles; the root (a free hit), the spine and 3DHP's 'head' (H36M's
    'neck') are left out.  Groups weigh by joint count, so the total is the
    plain mean over the 14.  (Some copies of the file score 17 joints:
    pass `joints=None`.)
  * AUC: the mean of the PCK curve over the 31 thresholds 0, 5, ..., 150 mm
    (`thresh = 0:5:150`); the curve is 0 at t = 0, so a perfect prediction
    scores 100 * 30 / 31 = 96.77, not 100, as in the authors' code.
  * MPJPE: the mean error over all joints (the root's 0 included, as the
    authors' per-joint table averages all 17).
  * Per sequence, per activity (frames of all sequences pooled by activity)
    and overall (all frames pooled: the authors' "All" row).

Poses are in `skeleton.H36M_17` order (`PROTOCOL_JOINTS` names the 14 there;
the MPI-INF-3DHP loader, `jaxpose.data.mpi_inf_3dhp`, gives this order).
Numpy in; plain floats and dicts out.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from jaxpose.pose.skeleton import H36M_17

PCK_THRESHOLD_MM = 150.0
AUC_THRESHOLDS_MM = np.linspace(0.0, 150.0, 31)
AUC_THRESHOLDS_MM.flags.writeable = False
# The 14 joints of mpii_get_pck_auc_joint_groups.m, as H36M_17 joints.
PROTOCOL_JOINT_NAMES = ("head", "thorax", "r_shoulder", "r_elbow", "r_wrist",
                        "l_shoulder", "l_elbow", "l_wrist", "r_hip", "r_knee",
                        "r_ankle", "l_hip", "l_knee", "l_ankle")
PROTOCOL_JOINTS = tuple(sorted(H36M_17.index(n) for n in PROTOCOL_JOINT_NAMES))
ROOT = H36M_17.index("pelvis")
# Poses of this many joints are in H36M_17's order (the protocol's indices).
NUM_JOINTS = H36M_17.num_joints


def _check_errors(errors_mm) -> np.ndarray:
  errors = np.asarray(errors_mm, np.float64)
  if errors.ndim != 2 or 0 in errors.shape:
    raise ValueError(f"errors_mm: expected per-joint errors [N >= 1, J >= 1], got "
                     f"shape {errors.shape}")
  if not np.isfinite(errors).all() or (errors < 0).any():
    raise ValueError("errors_mm: expected finite errors >= 0 (mm); got NaN/inf or "
                     "a negative value")
  return errors


def _select(errors: np.ndarray, joints: Sequence[int] | None) -> np.ndarray:
  """The columns `joints` of errors [N, J] (None: all)."""
  if joints is None:
    return errors
  joints = [int(j) for j in joints]
  num = errors.shape[1]
  if (not joints or len(set(joints)) != len(joints)
      or not all(0 <= j < num for j in joints)):
    raise ValueError(f"joints: expected distinct indices in [0, {num}), got {joints}")
  return errors[:, joints]


def _check_thresholds(name: str, thresholds) -> np.ndarray:
  t = np.atleast_1d(np.asarray(thresholds, np.float64))
  if t.ndim != 1 or not len(t) or not np.isfinite(t).all() or (t < 0).any():
    raise ValueError(f"{name}: expected finite thresholds >= 0 (mm), got {thresholds!r}")
  return t


def joint_errors(pred_mm, gt_mm, *, root: int = ROOT) -> np.ndarray:
  """Per-joint errors after root alignment.

  Args:
    pred_mm: predicted poses, mm.  # [N, J, 3]
    gt_mm: ground truth, mm.  # [N, J, 3]
    root: the joint each pose is made relative to (H36M_17's pelvis).

  Returns:
    |(pred - pred_root) - (gt - gt_root)| per joint, mm.  # [N, J] float64
  """
  pred = np.asarray(pred_mm, np.float64)
  gt = np.asarray(gt_mm, np.float64)
  if pred.shape != gt.shape or pred.ndim != 3 or pred.shape[-1] != 3 or 0 in pred.shape:
    raise ValueError(f"pred_mm {pred.shape}, gt_mm {gt.shape}: expected one shape "
                     "[N >= 1, J >= 1, 3]")
  if not (np.isfinite(pred).all() and np.isfinite(gt).all()):
    raise ValueError("pred_mm, gt_mm: NaN/inf in the poses")
  if not 0 <= root < pred.shape[1]:
    raise ValueError(f"root: expected a joint in [0, {pred.shape[1]}), got {root}")
  pred = pred - pred[:, root:root + 1]
  gt = gt - gt[:, root:root + 1]
  return np.linalg.norm(pred - gt, axis=-1)


def pck_curve(errors_mm, thresholds_mm=AUC_THRESHOLDS_MM,
              joints: Sequence[int] | None = PROTOCOL_JOINTS) -> np.ndarray:
  """Percentage of joints with error < t, for each threshold t.

  Args:
    errors_mm: per-joint errors (`joint_errors`).  # [N, J]
    thresholds_mm: the thresholds.  # [T]
    joints: the joints scored; None: all.

  Returns:
    PCK in percent per threshold.  # [T] float64
  """
  errors = _select(_check_errors(errors_mm), joints)
  t = _check_thresholds("thresholds_mm", thresholds_mm)
  return 100.0 * (errors[None] < t[:, None, None]).mean(axis=(1, 2))


def pck(errors_mm, threshold_mm: float = PCK_THRESHOLD_MM,
        joints: Sequence[int] | None = PROTOCOL_JOINTS) -> float:
  """3D PCK in percent: joints with error strictly below `threshold_mm`."""
  return float(pck_curve(errors_mm, _check_thresholds("threshold_mm", threshold_mm),
                         joints)[0])


def auc(errors_mm, thresholds_mm=AUC_THRESHOLDS_MM,
        joints: Sequence[int] | None = PROTOCOL_JOINTS) -> float:
  """Area under the PCK curve in percent: its mean over `thresholds_mm`."""
  return float(pck_curve(errors_mm, thresholds_mm, joints).mean())


def mpjpe(errors_mm, joints: Sequence[int] | None = None) -> float:
  """Mean per-joint error in mm (over all joints unless `joints` says)."""
  return float(_select(_check_errors(errors_mm), joints).mean())


def summary(errors_mm, *, joints: Sequence[int] | None = PROTOCOL_JOINTS,
            threshold_mm: float = PCK_THRESHOLD_MM,
            thresholds_mm=AUC_THRESHOLDS_MM) -> dict:
  """{pck, auc, mpjpe_mm, num_poses} of one set of poses' errors [N, J]."""
  errors = _check_errors(errors_mm)
  return dict(pck=pck(errors, threshold_mm, joints),
              auc=auc(errors, thresholds_mm, joints),
              mpjpe_mm=mpjpe(errors), num_poses=int(len(errors)))


def _groups(name: str, ids, num: int) -> np.ndarray:
  ids = np.asarray(ids)
  if ids.shape != (num,):
    raise ValueError(f"{name}: expected one value per pose, shape ({num},), got "
                     f"{ids.shape}")
  return ids


def protocol_metrics(pred_mm, gt_mm, *, activity=None,
                     activity_names: Sequence[str] = (), sequence=None,
                     root: int = ROOT,
                     joints: Sequence[int] | None = PROTOCOL_JOINTS,
                     threshold_mm: float = PCK_THRESHOLD_MM,
                     thresholds_mm=AUC_THRESHOLDS_MM) -> dict:
  """The protocol's figures, overall, per activity and per sequence.

  Args:
    pred_mm: predictions, mm (root-relative or not).  # [N, J, 3]
    gt_mm: ground truth, mm.  # [N, J, 3]
    activity: activity id >= 0 per pose (MPI-INF-3DHP's 1..7), or None.  # [N]
    activity_names: names by id (`mpi_inf_3dhp.ACTIVITY_NAMES`); an id with
      none is keyed by its number.
    sequence: the sequence of each pose (e.g. "TS1"), or None.  # [N]
    root: the joint both poses are aligned at.
    joints: the joints PCK and AUC score (default the protocol's 14); None:
      all.  MPJPE averages all joints.
    threshold_mm: PCK's threshold.
    thresholds_mm: the AUC's thresholds.

  Returns:
    {"overall": figures, "per_activity": {name: figures}, "per_sequence":
    {name: figures}, "pck_joints": [...], "pck_threshold_mm": ...,
    "auc_thresholds_mm": [...]}, figures being `summary`'s dict; the
    per-group dicts hold the groups present, in sorted order, and are left
    out without `activity` / `sequence`.
  """
  errors = joint_errors(pred_mm, gt_mm, root=root)
  figures = lambda rows: summary(errors[rows], joints=joints,
                                 threshold_mm=threshold_mm,
                                 thresholds_mm=thresholds_mm)
  out = {"overall": figures(slice(None))}
  if activity is not None:
    ids = _groups("activity", activity, len(errors))
    if not np.issubdtype(ids.dtype, np.integer) or ids.min() < 0:
      raise ValueError(f"activity: expected integer ids >= 0, got dtype {ids.dtype}")
    name = lambda i: activity_names[i] if i < len(activity_names) else str(i)
    out["per_activity"] = {name(int(i)): figures(ids == i) for i in np.unique(ids)}
  if sequence is not None:
    seqs = _groups("sequence", sequence, len(errors))
    out["per_sequence"] = {str(s): figures(seqs == s) for s in np.unique(seqs)}
  out.update(pck_joints=list(range(errors.shape[1])) if joints is None else
             [int(j) for j in joints], pck_threshold_mm=float(threshold_mm),
             auc_thresholds_mm=[float(t) for t in
                                _check_thresholds("thresholds_mm", thresholds_mm)])
  return out


__all__ = ["AUC_THRESHOLDS_MM", "PCK_THRESHOLD_MM", "PROTOCOL_JOINTS",
           "PROTOCOL_JOINT_NAMES", "ROOT", "auc", "joint_errors", "mpjpe", "pck",
           "pck_curve", "protocol_metrics", "summary"]
