"""The "mocap" dataset: jaxpose-mocap v1's lifting splits, by its data keys.

`MocapSettings` declares the keys of `config.data` (name="mocap");
`load_splits` reads the protocol's caches (`mocap_protocol`), subsamples
and caps each split, adds the 2D (`mocap_2d.add_2d`) and orders the test
split at random (seeded), as `datasets.load` expects.
"""
from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np

from jaxpose import settings
from jaxpose.data import data_fields
from jaxpose.data import mocap_2d
from jaxpose.data import mocap_cache
from jaxpose.data import mocap_protocol
from jaxpose.data import pipeline
from jaxpose.pose import proportions
from jaxpose.pose import skeleton as skeleton_lib

PROTOCOL = "jaxpose-mocap-v1"


@dataclasses.dataclass(frozen=True, kw_only=True)
class MocapSettings:
  """The `config.data` keys of the "mocap" dataset.

  Attributes:
    name: "mocap".
    protocol: which people train and test (`mocap_protocol.PROTOCOLS`):
      'jaxpose-mocap-v1', or 'jaxpose-mocap-newrig' (Bandai alone trains,
      so the test people are on a rig training never saw).
    cache_dir: folder holding bandai.npz and cmu.npz; '' searches
      (`mocap_cache.resolve_cache_dir`).  Where the same files lie, so not a
      key of the training data.
    data_seed: base seed of the camera choice, the 2D noise and the test
      order.
    train_stride, test_stride: extra subsampling, a multiple of the
      protocol's own strides (train: Bandai 1 of 30 fps, CMU 2 of 60 fps;
      test: CMU 4 of 60 fps), so 1 is the protocol.
    max_train, max_test: caps, 0 = all; the training cap keeps evenly spaced
      frames, the test cap the first rows of the shuffled test order.
    train_2d, test_2d: which 2D becomes `pose2d`, 'exact' or 'noisy' (both
      stay available as pose2d_exact / pose2d_noisy).
    body: also body_pose / body_root_orient / body_trans /
      body_bone_lengths per row (`mocap_protocol.load_protocol`).
    camera_subject, distance_mm, distort, noise_sigma_px,
      noise_outlier_prob, noise_outlier_px, train_cameras, test_cameras:
      how the poses become 2D, `mocap_2d.LiftingOptions`' fields (noise_*
      without the prefix; `lifting_options`).
    train_balance: how training batches draw the train rows: 'none' (each
      row equally often; Bandai's frames outnumber CMU's about 50 to 1) or
      'rigs' (the train split carries `pipeline.SAMPLE_WEIGHT`, per-row
      weights giving each source dataset an equal share of every batch on
      average, for a method whose training passes them on). The rows
      themselves stay the same, so it is not a key of the training rows.
    train_bodies: the share of training clips re-posed with a body of other
      proportions (one drawn per clip, `pose.proportions`) before their 2D
      is projected; 0 keeps the rigs' own bodies.
    train_body_spread: the spread of those bodies, times the adult one.
  """
  name: Literal["mocap"] = data_fields.field(default="mocap",
                                             decides_train_rows=True)
  protocol: Literal["jaxpose-mocap-v1", "jaxpose-mocap-newrig"] = (
      data_fields.field(default=PROTOCOL, decides_train_rows=True))
  cache_dir: str = data_fields.field(default="", decides_train_rows=False)
  data_seed: int = data_fields.field(default=0, at_least=0,
                                     decides_train_rows=True)
  train_stride: int = data_fields.field(default=1, at_least=1,
                                        decides_train_rows=True)
  test_stride: int = data_fields.field(default=1, at_least=1,
                                       decides_train_rows=False)
  max_train: int = data_fields.field(default=0, at_least=0,
                                     decides_train_rows=True)
  max_test: int = data_fields.field(default=0, at_least=0,
                                    decides_train_rows=False)
  train_2d: Literal["exact", "noisy"] = data_fields.field(
      default="exact", decides_train_rows=True)
  test_2d: Literal["exact", "noisy"] = data_fields.field(
      default="exact", decides_train_rows=False)
  body: bool = data_fields.field(default=False, decides_train_rows=True)
  camera_subject: Literal["S1", "S5", "S6", "S7", "S8", "S9", "S11"] = (
      data_fields.field(default="S1", decides_train_rows=True))
  distance_mm: float = data_fields.field(default=5000.0, above=0.0,
                                         decides_train_rows=True)
  distort: bool = data_fields.field(default=True, decides_train_rows=True)
  noise_sigma_px: float = data_fields.field(default=5.0, at_least=0.0,
                                            decides_train_rows=True)
  noise_outlier_prob: float = data_fields.field(
      default=0.05, at_least=0.0, at_most=1.0, decides_train_rows=True)
  noise_outlier_px: float = data_fields.field(default=100.0, at_least=0.0,
                                              decides_train_rows=True)
  train_cameras: Literal["random", "all", "varied", "varied_roll"] = (
      data_fields.field(default="random", decides_train_rows=True))
  test_cameras: Literal["random", "all", "varied", "varied_roll", "unseen",
                        "unseen_distance", "unseen_pitch", "unseen_focal",
                        "unseen_distance_focal", "unseen_roll"] = (
      data_fields.field(default="all", decides_train_rows=False))
  train_balance: Literal["none", "rigs"] = data_fields.field(
      default="none", decides_train_rows=False)
  train_bodies: float = data_fields.field(
      default=0.0, at_least=0.0, at_most=1.0, decides_train_rows=True)
  train_body_spread: float = data_fields.field(
      default=1.0, at_least=0.0, decides_train_rows=True)

  def __post_init__(self):
    if self.train_bodies and self.body:
      raise settings.ConfigError(
          "data.train_bodies re-poses the joints, but the body-space "
          "rotations and bone lengths (data.body) keep the rigs' bodies; "
          "set data.train_bodies=0 for a body-space method")


def lifting_options(data: MocapSettings) -> mocap_2d.LiftingOptions:
  """The 2D options (cameras, placement, noise, seed) of the data keys."""
  return mocap_2d.LiftingOptions(
      camera_subject=data.camera_subject, distance_mm=data.distance_mm,
      distort=data.distort, sigma_px=data.noise_sigma_px,
      outlier_prob=data.noise_outlier_prob, outlier_px=data.noise_outlier_px,
      train_cameras=data.train_cameras, test_cameras=data.test_cameras,
      seed=data.data_seed)


def _subsample(split: dict, keep: np.ndarray) -> dict:
  return {k: v[keep] for k, v in split.items()}


def _stride_mask(protocol: str, split_name: str, split: dict,
                 multiple: int) -> np.ndarray:
  """Frames on every `multiple`-th step of the protocol's own stride."""
  strides = mocap_protocol.PROTOCOLS[protocol].splits[split_name].strides
  per_frame = np.ones(len(split["frame"]), np.int64)
  for dataset, stride in strides.items():
    per_frame[split["dataset"] == dataset] = stride
  return split["frame"] % (per_frame * multiple) == 0


def _even(n: int, cap: int) -> np.ndarray:
  """`cap` evenly spaced indices of range(n) (all of them when cap >= n)."""
  if cap <= 0 or cap >= n:
    return np.arange(n)
  return np.unique(np.linspace(0, n - 1, cap).round().astype(np.int64))


def _other_bodies(split: dict, data: MocapSettings, seed: int) -> dict:
  """The train split with `data.train_bodies` of its clips re-posed
  (`proportions.repose_clips`, drawn from (seed, train, 4)) and marked in
  `reposed` [N] bool."""
  rng = np.random.default_rng((seed, mocap_2d.split_id("train"), 4))
  world, chosen = proportions.repose_clips(
      rng, split["pose3d_world"], split["clip"], skeleton_lib.H36M_17,
      data.train_bodies, data.train_body_spread)
  return {**split, "pose3d_world": world,
          "pose3d": world - world[:, :1], "reposed": chosen}


def load_splits(data: MocapSettings) -> dict:
  """The jaxpose-mocap v1 lifting splits, as `datasets.load` expects them.

  Args:
    data: the parsed data keys (`MocapSettings`).

  Returns:
    {'train': split, 'test': split}; each split holds pose3d [N, 17, 3]
    (camera frame, root-relative mm), pose2d [N, 17, 2] (screen), activity
    [N] int32 (index of the frame's clip in the split's sorted clip names:
    mocap has no action labels common to both datasets), camera [N] int32,
    subject, clip, dataset [N] str, frame [N] int32, pose3d_world, the
    camera fields root_cam_mm [N, 3] and intrinsics [N, 6], and the 2D
    variants of `mocap_2d.add_2d` (with `pose2d_sigma` [N, 17], the
    per-keypoint noise std of whichever 2D `pose2d` is); with
    `train_balance='rigs'` the train split also holds `sample_weight` [N]
    float32 (`pipeline.balanced_weights` of `dataset`).  The test split
    comes in a seeded random order (`default_rng((data_seed, 1, 2))`), so
    any prefix of it, such as the first `eval.num_poses` rows that
    `run_lib.evaluate` uses, is a uniform sample of frames and cameras.
  """
  options = lifting_options(data)
  cache_dir = mocap_cache.resolve_cache_dir(data.cache_dir or None)
  # data.body: also the body-space rotations of every row (DPoser).
  raw = mocap_protocol.load_protocol(data.protocol, cache_dir, body=data.body)
  strides = {"train": data.train_stride, "test": data.test_stride}
  caps = {"train": data.max_train, "test": data.max_test}
  inputs_2d = {"train": data.train_2d, "test": data.test_2d}
  out = {}
  for split_name in ("train", "test"):
    split = raw[split_name]
    multiple = strides[split_name]
    split = _subsample(split, _stride_mask(data.protocol, split_name, split,
                                           multiple))
    cap = caps[split_name]
    if split_name == "train":
      split = _subsample(split, _even(len(split["pose3d"]), cap))
      if data.train_bodies:
        split = _other_bodies(split, data, options.seed)
    if not len(split["pose3d"]):
      raise ValueError(f"data: the {split_name} split is empty (stride {multiple})")
    split.update(mocap_2d.add_2d(split_name, split, options=options))
    if inputs_2d[split_name] == "noisy":
      split["pose2d"] = split["pose2d_noisy"]
      split["pose2d_sigma"] = split["pose2d_noisy_sigma"]
      split["pose2d_confidence"] = split["pose2d_noisy_confidence"]
    if split_name == "test":
      order = np.random.default_rng(
          (options.seed, mocap_2d.split_id("test"), 2)).permutation(len(split["pose3d"]))
      split = _subsample(split, order[:cap] if cap > 0 else order)
    _, activity = np.unique(split["clip"], return_inverse=True)
    split["activity"] = activity.astype(np.int32).reshape(-1)
    if split_name == "train" and data.train_balance == "rigs":
      split[pipeline.SAMPLE_WEIGHT] = pipeline.balanced_weights(split["dataset"])
    out[split_name] = split
  return out


__all__ = ["MocapSettings", "PROTOCOL", "lifting_options", "load_splits"]
