"""The 2D side of the jaxpose-mocap v1 protocol: real 3D poses seen by cameras.

`mocap_protocol.load_protocol('jaxpose-mocap-v1', ...)` gives world-frame 3D
poses (Human3.6M 17 joints, mm, Z up).  This module views them through the
four published Human3.6M cameras (`add_2d`); `mocap_dataset` makes the
lifting splits of the datasets contract from them (dataset name "mocap").

Camera placement (stated, all configurable through `LiftingOptions`):
  * Cameras: `jaxpose.pose.cameras.h36m_cameras('S1')`: the published
    Human3.6M intrinsics (with distortion) and orientations of subject S1's
    session, four views about 90 degrees apart in azimuth, looking 11 to 16
    degrees down from about 1.5 m height.
  * Placement: each pose is translated (never rotated) so that its pelvis
    lies on the camera's optical axis at depth `distance_mm` = 5000 mm
    (Human3.6M's cameras are 4.2 to 5.5 m from the capture area's centre);
    keeping its captured heading, the four cameras see it from four sides.
    Equal to `cameras.place_in_front` then `cameras.world_to_camera`,
    computed root-relative for float32 accuracy.
  * Projection: pinhole plus the published Human3.6M lens distortion
    (`distort=True`, as the Human3.6M 2D ground truth), then VideoPose3D
    screen normalisation.
  * Exact 2D: that projection.  Noisy 2D: `cameras.draw_2d_noise`, Gaussian
    sigma_px = 5 px per axis, or with probability outlier_prob = 0.05 per
    keypoint a uniform offset in [-100, 100]^2 px (outlier_px = 100).  Each
    row also records the noise model's own per-keypoint std and outlier
    flag (an oracle no detector gives, for ablations) and a detector-like
    score drawn from each keypoint's error (`pose.detector_confidence`:
    what a method may read as a user would); fields: `add_2d`.
  * Camera per frame: `train_cameras='random'`, `test_cameras='all'` (4
    rows per test frame, the camera index fastest).

Seeds: split s (train 0, test 1) draws its cameras from
`default_rng((seed, s, 0))`, its 2D noise from `default_rng((seed, s, 1))`
and the noise's confidences from `default_rng((seed, s, 3))`.
"""
from __future__ import annotations

import dataclasses
import functools
import zlib
from typing import Mapping

import numpy as np

from jaxpose import settings
from jaxpose.checks import check_array, check_probability
from jaxpose.data import camera_rigs
from jaxpose.pose import cameras as cam_lib
from jaxpose.pose import detector_confidence
from jaxpose.pose import image_space

CAMERA_MODES = ("random", "all") + tuple(camera_rigs.RANGES)
_SPLIT_IDS = {"train": 0, "test": 1}


@dataclasses.dataclass(frozen=True)
class LiftingOptions:
  """How 3D mocap poses become 2D inputs (see the module docstring).

  Attributes:
    camera_subject: Human3.6M subject whose published cameras are used.
    distance_mm: depth of the pelvis on the optical axis, mm.
    distort: apply the published Human3.6M lens distortion.
    sigma_px: Gaussian 2D noise per axis, pixels.
    outlier_prob: per-keypoint probability of an outlier.
    outlier_px: half-width of the uniform outlier offset, pixels.
    train_cameras: 'random' (one seeded camera per frame), 'all' (every
      frame from every camera), or 'varied' (a pinhole camera drawn per
      frame over `camera_rigs.TRAINING`'s placements and lenses), or
      'varied_roll' (the same with any roll in -30 - 30 degrees,
      `camera_rigs.ANY_ROLL`).
    test_cameras: for every split other than 'train': the same ('varied':
      one drawn camera per clip), or 'unseen' (one per clip drawn outside
      every training range, `camera_rigs.UNSEEN`; 'unseen_distance',
      'unseen_pitch', 'unseen_focal': that range alone outside;
      'unseen_distance_focal': both outside, the pitch inside;
      'unseen_roll': training's cameras turned about their axes,
      `camera_rigs.ROLLED`).
    seed: base seed of camera choice and noise.
  """
  camera_subject: str = "S1"
  distance_mm: float = 5000.0
  distort: bool = True
  sigma_px: float = 5.0
  outlier_prob: float = 0.05
  outlier_px: float = 100.0
  train_cameras: str = "random"
  test_cameras: str = "all"
  seed: int = 0

  def __post_init__(self):
    for name in ("train_cameras", "test_cameras"):
      settings.one_of(name, getattr(self, name), CAMERA_MODES)
    if not self.distance_mm > 0:
      raise ValueError(f"distance_mm: expected > 0, got {self.distance_mm}")
    if self.sigma_px < 0 or self.outlier_px < 0:
      raise ValueError(f"sigma_px, outlier_px: expected >= 0, got {self.sigma_px}, "
                       f"{self.outlier_px}")
    check_probability("outlier_prob", self.outlier_prob)


@functools.lru_cache(maxsize=None)
def protocol_cameras(camera_subject: str = "S1") -> tuple[cam_lib.Camera, ...]:
  """The four published Human3.6M cameras of `camera_subject`."""
  return tuple(cam_lib.h36m_cameras(camera_subject))


def view_poses(pose3d_world, camera, cams, *, distance_mm: float = 5000.0,
               distort: bool = True) -> dict:
  """Views each world pose from its camera, pelvis on the optical axis.

  Args:
    pose3d_world: world-frame poses, mm, Z up.  # [N, J, 3]
    camera: index into `cams` per pose.  # [N] int
    cams: sequence of `jaxpose.pose.cameras.Camera`.
    distance_mm: pelvis depth in the camera frame, mm.
    distort: apply each camera's lens distortion.

  Returns:
    dict with
      pose3d: camera frame, root-relative, mm.  # [N, J, 3] float32
      pose2d_px: pixels.  # [N, J, 2] float32
      pose2d: screen-normalised pixels.  # [N, J, 2] float32
  """
  world = np.asarray(pose3d_world, np.float32)
  check_array("pose3d_world", world, ("N", "J", 3))
  camera = np.asarray(camera)
  check_array("camera", camera, (world.shape[0],))
  if camera.size and (camera.min() < 0 or camera.max() >= len(cams)):
    raise ValueError(f"camera: indices must lie in [0, {len(cams)}), got "
                     f"[{camera.min()}, {camera.max()}]")
  rel = world - world[:, :1]  # [N, J, 3]
  pose3d = np.empty_like(rel)
  px = np.empty(rel.shape[:-1] + (2,), np.float32)
  screen = np.empty_like(px)
  for c, cam in enumerate(cams):
    idx = np.flatnonzero(camera == c)
    if not idx.size:
      continue
    # R (X - t) with X = rel + t + D * R[2] (place_in_front) is R rel + (0, 0, D).
    cam_rel = np.einsum("ij,nkj->nki", cam.R, rel[idx]).astype(np.float32)
    pose3d[idx] = cam_rel
    depth = np.asarray([0.0, 0.0, distance_mm], np.float32)
    px[idx] = cam_lib.project(cam_rel + depth, cam, distort=distort)
    screen[idx] = cam_lib.normalize_screen(px[idx], cam.width, cam.height)
  return dict(pose3d=pose3d, pose2d_px=px, pose2d=screen)


def split_id(split_name: str) -> int:
  """The seed component of a split: train 0, test 1, others a hash of the name."""
  return _SPLIT_IDS.get(split_name, zlib.crc32(split_name.encode()) + 2)


def add_2d(split_name: str, split: Mapping[str, np.ndarray], *,
           options: LiftingOptions = LiftingOptions()) -> dict:
  """The 2D side of a protocol split; usable as `load_protocol`'s `add_2d`.

  For other options: `functools.partial(add_2d, options=LiftingOptions(...))`.

  Args:
    split_name: 'train' uses `options.train_cameras`, any other split
      `options.test_cameras`.
    split: a split of `mocap_protocol.load_protocol` (needs `pose3d_world`
      [N, 17, 3] world mm, Z up; other per-frame fields are carried along).
    options: cameras, placement, noise and seed.

  Returns:
    dict of fields to merge into the split (with 'all' cameras every
    per-frame field of `split` is repeated, one row per frame and camera):
      pose3d: camera frame, root-relative, mm.  # [M, 17, 3]
      pose2d_px, pose2d_px_noisy: exact and noisy pixels.  # [M, 17, 2]
      pose2d_exact, pose2d_noisy: screen-normalised.  # [M, 17, 2]
      pose2d: same array as pose2d_exact.  # [M, 17, 2]
      pose2d_noisy_sigma: the std per axis of each noisy keypoint's error,
        screen-normalised units (sigma_px, or outlier_px / sqrt(3) for an
        outlier, times 2 / width).  # [M, 17]
      pose2d_noisy_outlier: whether the keypoint is an outlier;
        pose2d_sigma: zeros (exact).  # [M, 17]
      pose2d_noisy_confidence: a detector-like score of each noisy keypoint
        (`detector_confidence`, from its error; never its outlier flag),
        pose2d_confidence: ones (exact).  # [M, 17]
      camera: index into `protocol_cameras(options.camera_subject)`.  # [M]
      root_cam_mm: camera-frame pelvis, (0, 0, distance_mm).  # [M, 3]
      intrinsics: fx, fy, cx, cy, width, height of the row's camera.  # [M, 6]
  """
  world = np.asarray(split["pose3d_world"], np.float32)
  check_array("split['pose3d_world']", world, ("N", "J", 3))
  n = world.shape[0]
  cams = protocol_cameras(options.camera_subject)
  sid = split_id(split_name)
  mode = options.train_cameras if split_name == "train" else options.test_cameras
  if mode in camera_rigs.RANGES:
    return _add_drawn_2d(split_name, split, world, mode, options)
  out = {}
  if mode == "all":
    rows = np.repeat(np.arange(n), len(cams))
    camera = np.tile(np.arange(len(cams), dtype=np.int32), n)
    out.update({k: np.asarray(v)[rows] for k, v in split.items()
                if np.ndim(v) and len(v) == n})
    world = world[rows]
  else:
    camera = np.random.default_rng((options.seed, sid, 0)).integers(
        0, len(cams), n).astype(np.int32)
  viewed = view_poses(world, camera, cams, distance_mm=options.distance_mm,
                      distort=options.distort)
  drawn = cam_lib.draw_2d_noise(
      np.random.default_rng((options.seed, sid, 1)), viewed["pose2d_px"],
      sigma_px=options.sigma_px, outlier_prob=options.outlier_prob,
      outlier_px=options.outlier_px)
  noisy_px = drawn.px
  # Every camera of a protocol set shares one image width, and the screen
  # normalisation depends on the camera only through (width, height).
  noisy = np.empty_like(noisy_px)
  noisy_sigma = np.empty(noisy_px.shape[:-1], np.float32)  # [M, 17]
  for c, cam in enumerate(cams):
    idx = camera == c
    noisy[idx] = cam_lib.normalize_screen(noisy_px[idx], cam.width, cam.height)
    noisy_sigma[idx] = drawn.sigma_px[idx] * (2.0 / cam.width)
  out.update(pose3d=viewed["pose3d"], pose2d_px=viewed["pose2d_px"],
             pose2d_px_noisy=noisy_px, pose2d_exact=viewed["pose2d"],
             pose2d_noisy=noisy, pose2d=viewed["pose2d"], camera=camera,
             pose2d_noisy_sigma=noisy_sigma,
             pose2d_noisy_outlier=np.asarray(drawn.outlier, bool),
             pose2d_sigma=np.zeros_like(noisy_sigma),
             **_confidences(options, sid, viewed["pose2d_px"], noisy_px),
             root_cam_mm=np.broadcast_to(np.asarray(
                 [0.0, 0.0, options.distance_mm], np.float32), (len(camera), 3)).copy(),
             intrinsics=image_space.intrinsics_table(cams)[camera])
  return out


def _confidences(options: LiftingOptions, sid: int, exact_px, noisy_px
                 ) -> dict:
  """Detector-like scores of the noisy keypoints, from their own stream
  (the 2D draws do not depend on them); ones for the exact 2D."""
  confidence = detector_confidence.of_keypoints(
      np.random.default_rng((options.seed, sid, 3)), noisy_px, exact_px)
  return dict(pose2d_noisy_confidence=confidence,
              pose2d_confidence=np.ones_like(confidence))


def _add_drawn_2d(split_name: str, split, world, mode: str,
                  options: LiftingOptions) -> dict:
  """`add_2d` with cameras drawn over `camera_rigs.RANGES[mode]`: a camera
  per training row, per clip elsewhere (`camera` is -1: no protocol
  camera; `camera_params` [M, 5] says which)."""
  sid = split_id(split_name)
  rng = np.random.default_rng((options.seed, sid, 0))
  ranges = camera_rigs.RANGES[mode]
  if split_name == "train" or "clip" not in split:
    cams = camera_rigs.draw(rng, len(world), ranges)
  else:
    cams = camera_rigs.per_group(rng, split["clip"], ranges)
  viewed = camera_rigs.view(world, cams)
  drawn = cam_lib.draw_2d_noise(
      np.random.default_rng((options.seed, sid, 1)), viewed["pose2d_px"],
      sigma_px=options.sigma_px, outlier_prob=options.outlier_prob,
      outlier_px=options.outlier_px)
  width = cams.intrinsics[:, 4:5, None].astype(np.float32)
  offset = np.stack([np.ones(len(world)), cams.intrinsics[:, 5]
                     / cams.intrinsics[:, 4]], -1)[:, None].astype(np.float32)
  screen = lambda px: (px / width * 2 - offset).astype(np.float32)
  noisy_sigma = (drawn.sigma_px * 2.0 / width[..., 0]).astype(np.float32)
  exact = screen(viewed["pose2d_px"])
  return dict(
      pose3d=viewed["pose3d"], pose2d_px=viewed["pose2d_px"],
      pose2d_px_noisy=drawn.px, pose2d_exact=exact,
      pose2d_noisy=screen(drawn.px), pose2d=exact,
      camera=np.full(len(world), -1, np.int32),
      camera_params=cams.params.astype(np.float32),
      pose2d_noisy_sigma=noisy_sigma,
      pose2d_noisy_outlier=np.asarray(drawn.outlier, bool),
      pose2d_sigma=np.zeros_like(noisy_sigma),
      **_confidences(options, sid, viewed["pose2d_px"], drawn.px),
      root_cam_mm=viewed["root_cam_mm"],
      intrinsics=cams.intrinsics.astype(np.float32))
