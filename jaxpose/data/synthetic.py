"""The synthetic dataset (`data.name=synthetic`): generated poses seen by
virtual cameras.

SYNTHETIC DATA: the poses come from `synthetic_poses` (procedural, no motion
capture).
"""
from __future__ import annotations

import dataclasses
from typing import Literal, Sequence

import numpy as np

from jaxpose.checks import check_array
from jaxpose.data import data_fields
from jaxpose.data import synthetic_poses
from jaxpose.pose import cameras as cam_lib
from jaxpose.pose import detector_confidence
from jaxpose.pose import image_space


def _noise_kwargs(noise_2d) -> dict | None:
  if noise_2d is None:
    return None
  if isinstance(noise_2d, (int, float)):
    return dict(sigma_px=float(noise_2d))
  kw = dict(noise_2d)
  if "sigma_px" not in kw:
    raise ValueError("noise_2d: expected a float sigma in pixels or a mapping "
                     "with sigma_px (and optionally outlier_prob, outlier_px)")
  return kw


def project_split(pose3d_world, cameras, *, seed, noise_2d=None) -> dict:
  """Views world poses through randomly chosen cameras (one per pose).

  Works for any world-frame poses (mm, Z up) that stand near the origin the
  cameras look at, e.g. mocap splits after centring their root in x, y.

  Args:
    pose3d_world: world-frame poses, mm.  # [N, J, 3]
    cameras: sequence of `jaxpose.pose.cameras.Camera`.
    seed: seed for the camera choice and the 2D noise.
    noise_2d: None, a float sigma in pixels, or keyword arguments of
      `jaxpose.pose.cameras.draw_2d_noise`; the clean pixels are then also
      returned as `pose2d_px_clean`.

  Returns:
    dict with pose3d_world, pose3d_cam, pose3d (root-relative camera
    frame), pose2d_px, pose2d (screen-normalised), pose2d_sigma [N, J]
    (each keypoint's noise std, screen-normalised; 0 without noise: the
    noise model's record, an oracle), pose2d_confidence [N, J] (a
    detector-like score from each keypoint's error,
    `pose.detector_confidence`; ones without noise), camera [N] int32,
    root_cam_mm [N, 3] and intrinsics [N, 6] (`make_lifting_dataset`).
  """
  world = np.asarray(pose3d_world, np.float32)
  check_array("pose3d_world", world, ("N", None, 3))
  if not cameras:
    raise ValueError("cameras: expected at least one camera")
  n = world.shape[0]
  rng = np.random.default_rng(seed)
  camera = rng.integers(0, len(cameras), n).astype(np.int32)
  pose_cam = np.empty_like(world)
  px = np.empty(world.shape[:-1] + (2,), np.float32)
  screen = np.empty_like(px)
  noise_kw = _noise_kwargs(noise_2d)
  noisy = np.empty_like(px) if noise_kw else px
  sigma = np.zeros(px.shape[:-1], np.float32)  # [N, J]
  for c, cam in enumerate(cameras):
    idx = np.flatnonzero(camera == c)
    if not idx.size:
      continue
    pc = cam_lib.world_to_camera(world[idx], cam)
    pose_cam[idx] = pc
    px[idx] = cam_lib.project(pc, cam)
    if noise_kw:
      drawn = cam_lib.draw_2d_noise(rng, px[idx], **noise_kw)
      noisy[idx] = drawn.px
      sigma[idx] = drawn.sigma_px * (2.0 / cam.width)
    screen[idx] = cam_lib.normalize_screen(noisy[idx], cam.width, cam.height)
  # What back-projection in the "image" protocol needs, per row.
  intrinsics = image_space.intrinsics_table(cameras)[camera]  # [N, 6]
  # Confidences draw from their own stream, so the 2D stays unchanged.
  confidence = np.ones(px.shape[:-1], np.float32)
  if noise_kw:
    confidence = detector_confidence.of_keypoints(
        np.random.default_rng(np.append(np.ravel(seed), 3)), noisy, px)
  out = dict(pose3d_world=world, pose3d_cam=pose_cam,
             pose3d=pose_cam - pose_cam[:, :1], pose2d_px=noisy,
             pose2d=screen, pose2d_sigma=sigma, pose2d_confidence=confidence,
             camera=camera, root_cam_mm=pose_cam[:, 0].copy(),
             intrinsics=intrinsics)
  if noise_kw:
    out["pose2d_px_clean"] = px
  return out


def make_lifting_dataset(n_train: int, n_test: int, *, seed: int, cameras=None,
                         noise_2d=None,
                         activities: Sequence[str] = synthetic_poses.ACTIVITIES,
                         num_subjects: tuple[int, int] = (5, 2)) -> dict:
  """A synthetic 2D->3D lifting dataset with held-out test subjects.

  Each split draws its poses from its own seed ((seed, 0), (seed, 1)) and
  its own subject skeletons, so no test subject or pose appears in training.

  Args:
    n_train, n_test: number of poses per split.
    seed: base integer seed.
    cameras: sequence of `Camera`; `jaxpose.pose.cameras.virtual_cameras(4)`
      when None.
    noise_2d: optional 2D noise (`project_split`).
    activities: activities to draw from.
    num_subjects: (train, test) number of subject skeletons.

  Returns:
    {'train': split, 'test': split}; each split holds (`camera` indexes
    `cameras`)
      pose3d_world, pose3d_cam: world / camera frame, mm.  # [N, 17, 3] float32
      pose3d: camera frame, root-relative, mm (the 3D target).  # [N, 17, 3]
      pose2d_px: pixels.  # [N, 17, 2]
      pose2d: screen-normalised, x in [-1, 1].  # [N, 17, 2]
      pose2d_sigma: each keypoint's 2D noise std, screen-normalised
        (zeros without noise).  # [N, 17]
      camera, activity, subject (int32 indices), subject_scale.  # [N]
      root_cam_mm: camera-frame root position, mm.  # [N, 3]
      intrinsics: fx, fy, cx, cy, width, height of the row's camera.  # [N, 6]
  """
  cameras = cam_lib.virtual_cameras(4) if cameras is None else list(cameras)
  out = {}
  for i, (split, n, subjects) in enumerate(
      (("train", n_train, num_subjects[0]), ("test", n_test, num_subjects[1]))):
    poses = synthetic_poses.generate_poses(n, seed=(seed, i), activities=activities,
                                           num_subjects=subjects)
    out[split] = project_split(poses["pose3d"], cameras, seed=(seed, i, 1),
                               noise_2d=noise_2d)
    out[split].update(activity=poses["activity"], subject=poses["subject"],
                      subject_scale=poses["subject_scale"])
  return out


@dataclasses.dataclass(frozen=True, kw_only=True)
class SyntheticSettings:
  """The `config.data` keys of the "synthetic" dataset.

  Attributes:
    name: "synthetic".
    n_train: training rows (with clip_frames: about, whole clips).
    n_test: test rows (likewise; their own seed and subjects, so this key
      never changes the training rows).
    data_seed: base seed of poses, cameras and noise.
    noise_2d_px: Gaussian 2D noise sigma per axis, pixels (0: exact 2D).
    body: also the body-space rotations of every row (`body_*` keys) and its
      world-frame pose.
    clip_frames: > 0 makes the rows motion clips of that many frames
      (`synthetic_poses.generate_clips`), with clip and frame ids; 0: still
      poses.
  """
  name: Literal["synthetic"] = data_fields.field(default="synthetic",
                                                 decides_train_rows=True)
  n_train: int = data_fields.field(at_least=1, decides_train_rows=True)
  n_test: int = data_fields.field(at_least=1, decides_train_rows=False)
  data_seed: int = data_fields.field(at_least=0, decides_train_rows=True)
  noise_2d_px: float = data_fields.field(default=0.0, at_least=0.0,
                                         decides_train_rows=True)
  body: bool = data_fields.field(default=False, decides_train_rows=True)
  clip_frames: int = data_fields.field(default=0, at_least=0,
                                       decides_train_rows=True)


_BODY_KEYS = ("body_pose", "body_root_orient", "body_trans", "body_bone_lengths")


def _body_splits(data: SyntheticSettings, noise) -> dict:
  """Synthetic splits with the body space (and clips when clip_frames > 0).

  The same seeds as `make_lifting_dataset`, so without clips the rows equal
  its rows, with the body-space keys and the world-frame poses beside them.
  """
  cameras = cam_lib.virtual_cameras(4)
  clip_frames = data.clip_frames
  seed = data.data_seed
  out = {}
  for i, (name, n, subjects) in enumerate((("train", data.n_train, 5),
                                           ("test", data.n_test, 2))):
    if clip_frames > 0:
      poses = synthetic_poses.generate_clips(max(1, n // clip_frames), clip_frames,
                                             seed=(seed, i), num_subjects=subjects)
    else:
      poses = synthetic_poses.generate_poses(n, seed=(seed, i), num_subjects=subjects,
                                             return_body_space=True)
    split = project_split(poses["pose3d"], cameras, seed=(seed, i, 1), noise_2d=noise)
    split.update({k: poses[k] for k in ("activity", *_BODY_KEYS)})
    if clip_frames > 0:
      split.update(clip=poses["clip"], frame=poses["frame"])
    out[name] = split
  return out


def load_splits(data: SyntheticSettings) -> tuple[dict, dict, dict]:
  """The synthetic dataset: (splits, activity names, which 2D) per split."""
  noise = data.noise_2d_px or None
  if data.body or data.clip_frames > 0:
    raw = _body_splits(data, noise)
  else:
    raw = make_lifting_dataset(data.n_train, data.n_test, seed=data.data_seed,
                               noise_2d=noise)
  extra = ("pose3d_world", *_BODY_KEYS, "clip", "frame") if data.body else ("clip", "frame")
  splits = {name: dict(pose3d=np.asarray(s["pose3d"], np.float32),
                       pose2d=np.asarray(s["pose2d"], np.float32),
                       pose2d_sigma=np.asarray(s["pose2d_sigma"], np.float32),
                       pose2d_confidence=np.asarray(s["pose2d_confidence"],
                                                    np.float32),
                       activity=np.asarray(s["activity"], np.int32),
                       root_cam_mm=np.asarray(s["root_cam_mm"], np.float32),
                       intrinsics=np.asarray(s["intrinsics"], np.float32),
                       **{k: s[k] for k in extra if k in s})
            for name, s in raw.items()}
  label = f"noisy ({noise:g} px)" if noise else "exact"
  return (splits, {s: tuple(synthetic_poses.ACTIVITIES) for s in splits},
          {s: label for s in splits})


__all__ = ["SyntheticSettings", "project_split", "make_lifting_dataset", "load_splits"]
