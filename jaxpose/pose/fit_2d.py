"""A lifted motion fitted to the 2D keypoints it was lifted from.

A lift gives each frame's root-relative pose from normalised 2D and places
it at the root's pixel at one depth, so the 3D drifts off its own 2D: a
joint the model put a little wrong stays wrong in the image. The fit moves
the motion as little as it can so that it lands on the 2D:

  E = sum_tj  w_tj rho(|pi(root_t + s pose_tj + d_tj) - u_tj|) / sigma_px^2
    + sum_tj  |d_tj|^2 / sigma_pose^2                        (stay near the lift)
    + sum_tj  v_tj (z_tj - z_t0 - e_tj)^2 / sigma_depth^2   (the detector's
    + sum_tb  v_tc v_tp (z_tc - z_tp - e_tc + e_tp)^2        depth, joint by
                                   / sigma_depth_bone^2      joint and bone by
                                                             bone)
    + sum_tb  (len_tb - L_b)^2 / sigma_bone^2      (one body: a length per bone,
                                                    the same left and right,
                                                    their sum the lift's)
    + sum_tj  |accel_tj|^2 / sigma_accel^2         (joints move smoothly,
    + sum_t   |accel_t|^2 / sigma_root_accel^2      the root more so)

over each frame's root (x, y), each joint's offset d_tj and the bone
lengths L_b; rho is Geman-McClure's (a keypoint farther than `robust_px`
counts less and less: a detector's wrong guess cannot drag the body).
w_tj is 1 for a keypoint the detector gave (0 for one completed). e_tj is
a detector's own estimate of the joint's depth behind the pelvis, where it
gives one (MediaPipe Pose's, from the image: what 2D alone cannot show,
such as a leg stepping toward the camera or away); v_tj is w_tj where
there is one, else 0. The first depth term compares each joint's depth
behind the pelvis with the detector's; the second each bone's change in
depth, child c less parent p. A detector's depth error shared along the
body (MediaPipe's grows with the joint's height in some views) adds up
toward the head in the first and leans the body; between a bone's two
ends it cancels.

The depth is the lift's, times s. From the 2D alone a body twice as large
twice as far projects the same, and a depth solved frame by frame from
the 2D follows the lifted pose's errors (a stride the model put in depth
looks short, so the body comes nearer): on real footage that moved the
root farther from a calibrated reference than the lift's one depth. The
scale s is 1 unless the person's height is given, which sizes the body
and so places it.

Adam on normalised variables (100 mm), one jit-compiled scan.
"""
from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxpose import checks
from jaxpose.pose import motion_quality
from jaxpose.pose.skeleton import H36M_17, Skeleton

# From the floor to the ankle joint, and from the head keypoint (about the
# forehead: twice the eyes' midpoint less the nose) to the crown: together
# about 10% of stature (Drillis & Contini's segment ratios give the ankle
# at 0.039 of it and the eyes at 0.936), so the joints' chain ankle ->
# knee -> hip -> spine -> thorax -> nose -> head is taken as 0.90 of it.
JOINT_CHAIN_OF_STATURE = 0.90
_UNIT_MM = 100.0


@dataclasses.dataclass(frozen=True)
class FitSettings:
  """How hard each term pulls (module docstring).

  Attributes:
    iterations: Adam steps.
    learning_rate: Adam's step on the normalised variables.
    sigma_px: the detector's keypoint noise, px.
    robust_px: Geman-McClure's scale: a keypoint this far off costs half
      of the most any keypoint can.
    sigma_pose_mm: how far a joint may move from the lift for the price of
      one sigma_px of reprojection.
    sigma_bone_mm: a bone's allowed change over the clip.
    sigma_accel_mm_s2: a joint's typical acceleration (walking limbs: tens
      of m/s^2).
    sigma_root_accel_mm_s2: the root's (a body's centre moves smoothly:
      a few m/s^2), which keeps the depth from following each frame's
      error of the lifted pose's size.
    height_mm: the person's stature (0: unknown; the lift's size stands).
    sigma_depth_mm: how far a joint's depth behind the pelvis may sit from
      the detector's estimate (`fit`'s depth_mm) for the price of one
      sigma_px; with sigma_pose_mm it sets where between the lift's depth
      and the detector's the joint settles (0: that term left out).
    sigma_depth_bone_mm: how far each bone's change in depth, child less
      parent, may sit from the detector's (0: that term left out).
      experiments/studies/detector_depth.py chose the two together
      (`without_detector_depth` leaves both out).
  """
  iterations: int = 400
  learning_rate: float = 0.03
  sigma_px: float = 5.0
  robust_px: float = 40.0
  sigma_pose_mm: float = 60.0
  sigma_bone_mm: float = 10.0
  sigma_accel_mm_s2: float = 30000.0
  sigma_root_accel_mm_s2: float = 3000.0
  height_mm: float = 0.0
  sigma_depth_mm: float = 60.0
  sigma_depth_bone_mm: float = 20.0

  def __post_init__(self):
    checks.check_positive_int("iterations", self.iterations)
    for name in ("learning_rate", "sigma_px", "robust_px", "sigma_pose_mm",
                 "sigma_bone_mm", "sigma_accel_mm_s2", "sigma_root_accel_mm_s2"):
      value = getattr(self, name)
      if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name}: expected a finite number > 0, got {value}")
    for name in ("sigma_depth_mm", "sigma_depth_bone_mm"):
      value = getattr(self, name)
      if not (np.isfinite(value) and value >= 0):
        raise ValueError(f"{name}: expected a finite number >= 0 (0: that "
                         f"depth term left out), got {value}")
    if not (np.isfinite(self.height_mm) and (
        self.height_mm == 0 or 500 <= self.height_mm <= 2600)):
      raise ValueError("height_mm: expected 0 (unknown) or a stature of "
                       f"500-2600 mm, got {self.height_mm}")


def without_detector_depth(settings: FitSettings) -> FitSettings:
  """`settings` with both depth terms left out: the lift's depths alone."""
  return dataclasses.replace(settings, sigma_depth_mm=0.0,
                             sigma_depth_bone_mm=0.0)


@dataclasses.dataclass(frozen=True)
class Fitted:
  """The fitted motion (camera frame, mm) and what the fit did.

  Attributes:
    pose_mm: root-relative, with the scale applied.  # [T, J, 3]
    root_mm: each frame's root.  # [T, 3]
    scale: the size the lift was multiplied by (1: no height given).
    info: reprojection before and after (median px over given keypoints),
      the median joint move (mm), the root depth's range, the settings.
  """
  pose_mm: np.ndarray
  root_mm: np.ndarray
  scale: float
  info: dict


def joint_chain_mm(pose_mm: np.ndarray, skeleton: Skeleton = H36M_17) -> float:
  """The median over frames of the chain ankle -> knee -> hip -> pelvis ->
  spine -> thorax -> neck -> head (legs averaged over left and right),
  in H36M_17's joints: a standing person's joint height."""
  if skeleton is not H36M_17:
    raise ValueError("joint_chain_mm: H36M_17 joints only")
  lengths = motion_quality.bone_lengths(np.asarray(pose_mm, np.float64))
  bone = {H36M_17.joint_names[c]: b for b, (c, _) in enumerate(H36M_17.bones)}
  legs = sum(lengths[:, bone[n]] for n in ("r_knee", "r_ankle", "l_knee",
                                            "l_ankle")) / 2
  trunk = sum(lengths[:, bone[n]] for n in ("spine", "thorax", "neck", "head"))
  return float(np.median(legs + trunk))


def _bone_classes(skeleton: Skeleton) -> np.ndarray:
  """Each bone's length variable: a right bone shares its left twin's."""
  child_of = [c for c, _ in skeleton.bones]
  twin = dict(zip(skeleton.right, skeleton.left))
  return np.array([child_of.index(twin.get(c, c)) for c in child_of])


def _project(points, intrinsics):
  fx, fy, cx, cy = intrinsics
  z = jnp.maximum(points[..., 2], 1.0)
  return jnp.stack([fx * points[..., 0] / z + cx, fy * points[..., 1] / z + cy],
                   -1)


def _initial_lengths(pose: np.ndarray, skeleton: Skeleton) -> np.ndarray:
  """Each bone class's length: the median over frames, averaged over the
  class's bones (left and right)."""
  child, parent = (np.array(x) for x in zip(*skeleton.bones))
  classes = _bone_classes(skeleton)
  median = np.median(np.linalg.norm(pose[:, child] - pose[:, parent],
                                    axis=-1), axis=0)
  # Class ids are bone indices, so some ids have no bone: length 0 there.
  counts = np.maximum(np.bincount(classes), 1)
  return (np.bincount(classes, weights=median) / counts).astype(np.float32)


# Clips are padded to a multiple of this many frames, so that clips of
# nearby lengths share one compiled fit (and a persistent compilation
# cache serves them all).
FRAME_BUCKET = 128


@functools.partial(jax.jit, static_argnames=("skeleton", "settings"))
def _solve(pose, root, pixels, weights, depth, depth_weights, real, init_len,
           intrinsics, fps, *, skeleton, settings: FitSettings):
  """The fit of `fit` over frames padded to a bucket: `real` [T] is 1 on
  the clip's frames, 0 on the padding, which no term lets reach them."""
  child, parent = (np.array(x) for x in zip(*skeleton.bones))
  classes = _bone_classes(skeleton)
  frames = jnp.sum(real)
  params = {"offset": jnp.zeros_like(pose),
            "root_xy": jnp.zeros_like(root[:, :2]),
            "lengths": init_len / _UNIT_MM}
  pixels = jnp.nan_to_num(pixels)
  accel_per_frame = settings.sigma_accel_mm_s2 / fps ** 2
  root_accel_per_frame = settings.sigma_root_accel_mm_s2 / fps ** 2

  def motion(p):
    rel = pose + _UNIT_MM * p["offset"]
    rel = rel - rel[:, :1]
    return rel, jnp.concatenate([root[:, :2] + _UNIT_MM * p["root_xy"],
                                 root[:, 2:]], -1)

  def energy(p):
    rel, root_t = motion(p)
    absolute = rel + root_t[:, None]
    r2 = jnp.sum((_project(absolute, intrinsics) - pixels) ** 2, -1)
    c2 = settings.robust_px ** 2
    reproj = jnp.sum(weights * c2 * r2 / (r2 + c2)) / settings.sigma_px ** 2
    prior = jnp.sum((_UNIT_MM * p["offset"]) ** 2) / settings.sigma_pose_mm ** 2
    if settings.sigma_depth_mm:
      prior += jnp.sum(depth_weights * (rel[..., 2] - depth) ** 2
                       ) / settings.sigma_depth_mm ** 2
    if settings.sigma_depth_bone_mm:
      off = (rel[:, child, 2] - rel[:, parent, 2]
             - depth[:, child] + depth[:, parent])
      prior += jnp.sum(depth_weights[:, child] * depth_weights[:, parent]
                       * off ** 2) / settings.sigma_depth_bone_mm ** 2
    lengths = jnp.linalg.norm(rel[:, child] - rel[:, parent], axis=-1)
    bones = jnp.sum(real[:, None] * (
        lengths - _UNIT_MM * p["lengths"][classes]) ** 2
                    ) / settings.sigma_bone_mm ** 2
    # The body's size is the lift's (or the height's), as is its depth.
    size = (_UNIT_MM * jnp.sum(p["lengths"] - init_len / _UNIT_MM)) ** 2 * (
        frames / settings.sigma_bone_mm ** 2)
    triple = real[2:] * real[1:-1] * real[:-2]  # three frames of the clip
    accel = absolute[2:] - 2 * absolute[1:-1] + absolute[:-2]
    smooth = jnp.sum(triple[:, None, None] * accel ** 2) / accel_per_frame ** 2
    root_accel = root_t[2:] - 2 * root_t[1:-1] + root_t[:-2]
    smooth += jnp.sum(triple[:, None] * root_accel ** 2
                      ) / root_accel_per_frame ** 2
    return (reproj + prior + bones + size + smooth) / frames

  optimiser = optax.adam(optax.cosine_decay_schedule(settings.learning_rate,
                                                     settings.iterations))

  def step(carry, _):
    p, state = carry
    value, grads = jax.value_and_grad(energy)(p)
    updates, state = optimiser.update(grads, state, p)
    return (optax.apply_updates(p, updates), state), value

  (params, _), trace = jax.lax.scan(step, (params, optimiser.init(params)),
                                    None, length=settings.iterations)
  rel, root_t = motion(params)
  return rel, root_t, trace


def reprojection_px(pose_mm, root_mm, pixels, weights, intrinsics) -> float:
  """The median distance (px) of the projected joints from the keypoints
  with weight > 0."""
  return motion_quality.reprojection_px(
      np.asarray(pose_mm) + np.asarray(root_mm)[:, None], pixels,
      np.asarray(weights) > 0, intrinsics)


def fit(pose_mm, root_mm, pixels, weights, intrinsics, *, fps: float,
        settings: FitSettings = FitSettings(),
        skeleton: Skeleton = H36M_17, depth_mm=None) -> Fitted:
  """Fits a lifted motion to its 2D (module docstring).

  Args:
    pose_mm: the lift, root-relative, camera frame.  # [T, J, 3]
    root_mm: its roots (the lift's estimate: positive depth).  # [T, 3]
    pixels: the keypoints (NaN where not given).  # [T, J, 2]
    weights: 1 for a keypoint to fit, 0 for one to leave to the prior
      (completed, missing).  # [T, J]
    intrinsics: fx, fy, cx, cy (px).
    fps: the clip's frame rate (the acceleration term's time step).
    depth_mm: a detector's estimate of each joint's depth behind the
      pelvis, at the lift's size (NaN where it gives none), or None.
      # [T, J]
  """
  sizes = {}
  pose = np.asarray(checks.check_array(
      "pose_mm", pose_mm, ("T", skeleton.num_joints, 3), sizes=sizes), np.float32)
  root = np.asarray(checks.check_array("root_mm", root_mm, ("T", 3),
                                       sizes=sizes), np.float32)
  px = np.asarray(checks.check_array("pixels", pixels, ("T", skeleton.num_joints, 2),
                                     finite=False, sizes=sizes), np.float32)
  w = np.asarray(checks.check_array("weights", weights, ("T", skeleton.num_joints),
                                    sizes=sizes), np.float32)
  if not (root[:, 2] > 0).all():
    raise ValueError("root_mm: every frame's depth must be > 0 (in front of "
                     "the camera)")
  if not (np.isfinite(fps) and fps > 0):
    raise ValueError(f"fps: expected > 0, got {fps}")
  w = np.where(np.isfinite(px).all(-1), np.clip(w, 0.0, None), 0.0)
  depth = np.full(w.shape, np.nan, np.float32) if depth_mm is None else (
      np.asarray(checks.check_array("depth_mm", depth_mm,
                                    ("T", skeleton.num_joints), finite=False,
                                    sizes=sizes), np.float32))
  pulled = settings.sigma_depth_mm > 0 or settings.sigma_depth_bone_mm > 0
  depth_w = np.where(np.isfinite(depth) & pulled, w,
                     0.0).astype(np.float32)
  intr = np.asarray(intrinsics, np.float32)[:4]
  scale = 1.0
  if settings.height_mm:
    scale = JOINT_CHAIN_OF_STATURE * settings.height_mm / max(
        joint_chain_mm(pose, skeleton), 1e-6)
  # A body `scale` times larger stands `scale` times farther to look the same.
  start_root = root * np.float32(scale)
  before = reprojection_px(pose * scale, start_root, px, w, intr)
  num = len(pose)
  pad = -num % FRAME_BUCKET
  edge = lambda x: np.concatenate([x, np.repeat(x[-1:], pad, axis=0)])
  real = np.concatenate([np.ones(num, np.float32), np.zeros(pad, np.float32)])
  rel, root_t, trace = _solve(
      jnp.asarray(edge(pose * scale)), jnp.asarray(edge(start_root)),
      jnp.asarray(edge(px)), jnp.asarray(edge(w) * real[:, None]),
      jnp.asarray(edge(np.nan_to_num(depth) * scale)),
      jnp.asarray(edge(depth_w) * real[:, None]), jnp.asarray(real),
      jnp.asarray(_initial_lengths(pose * scale, skeleton)),
      jnp.asarray(intr), float(fps), skeleton=skeleton, settings=settings)
  rel = np.asarray(rel, np.float32)[:num]
  root_t = np.asarray(root_t, np.float32)[:num]
  if not (np.isfinite(rel).all() and np.isfinite(root_t).all()):
    raise FloatingPointError("the fit to 2D diverged (non-finite motion)")
  info = dict(
      reprojection_px_before=round(before, 1),
      reprojection_px_after=round(reprojection_px(rel, root_t, px, w, intr), 1),
      median_joint_move_mm=round(float(np.median(np.linalg.norm(
          rel - pose * scale, axis=-1))), 1),
      root_depth_mm=[round(float(root_t[:, 2].min())),
                     round(float(root_t[:, 2].max()))],
      energy=[round(float(trace[0]), 2), round(float(trace[-1]), 2)],
      detector_depth_joints=int((depth_w > 0).sum()),
      settings=dataclasses.asdict(settings))
  return Fitted(pose_mm=rel, root_mm=root_t, scale=float(scale), info=info)


__all__ = ["FRAME_BUCKET", "FitSettings", "Fitted", "JOINT_CHAIN_OF_STATURE",
           "fit", "joint_chain_mm", "reprojection_px",
           "without_detector_depth"]
