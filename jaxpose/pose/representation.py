"""Poses in millimetres <-> the vectors a network sees.

`Representation` is shared by every method that lifts 2D to 3D on the
17-joint skeleton (GFPose, the Martinez baseline): it scales camera-frame,
root-relative millimetres and screen-normalised 2D to model units, in one of
two spaces (see docs/architecture.md "Pose spaces"), and back.
`model_splits` applies it to a dataset's splits.
"""
from __future__ import annotations

import dataclasses
from typing import Literal, Mapping

import numpy as np

from jaxpose import checks
from jaxpose import settings
from jaxpose.pose import cameras
from jaxpose.pose import image_space
from jaxpose.pose.skeleton import H36M_17, Skeleton


SPACES = ("root_relative", "image")
IMAGE_DEPTHS = ("focal", "crop_ratio")
INPUTS_2D = ("screen", "camera")
# input_2d="camera" scales each row's 2D to this mean joint distance from
# the root: about a Human3.6M camera's screen units for a person 5 m away,
# so the configs' scale_2d keeps its meaning.
CAMERA_2D_SPREAD = 0.2


@dataclasses.dataclass(frozen=True)
class _RepresentationSection:
  """The keys of a config's `representation` section (`Representation`).

  Configs older than `space` leave it out: they mean the standard space.
  """
  skeleton: Literal["h36m_17"]
  scale_3d_mm: float = settings.field(above=0.0)
  scale_2d: float = settings.field(above=0.0)
  data_scale: float = settings.field(above=0.0)
  root_relative_2d: bool
  space: Literal["root_relative", "image"] = "root_relative"
  image_depth: Literal["focal", "crop_ratio"] = "focal"
  input_2d: Literal["screen", "camera"] = "screen"


@dataclasses.dataclass(frozen=True)
class Representation:
  """How poses in millimetres / screen units become network vectors.

  `space` "root_relative" (the standard one): 3D is camera-frame,
  root-relative millimetres, divided by `scale_3d_mm` and multiplied by
  `data_scale`.  2D: screen-normalised coordinates
  (`cameras.normalize_screen`), root-relative when `root_relative_2d`,
  times `scale_2d * data_scale`, so the (u, v) condition and the pose's
  (x, y) are at comparable scales for the residual condition `x - c`.

  `space` "image" (GFPose's official one, `jaxpose.image_space`): 3D is
  (absolute screen-normalised x, y; root-relative depth in the same units)
  and 2D is the absolute screen-normalised input, both times `scale_2d *
  data_scale`, so a pose's (x, y) and its 2D condition coincide
  (`scale_3d_mm` and `root_relative_2d` are unused); converting needs each
  row's `camera_meta`.  Outputs in mm are root-relative in both spaces, so
  the metrics stay comparable.

  `image_depth` (the "image" space): "focal" (default) scales depth by the
  pinhole's fx / Z_r; "crop_ratio" by each row's `depth_ratio` (LCN's crop
  ratio, the authors' data: `data.name=h36m_lcn`), as GFPose's released
  code normalises and back-projects.

  `input_2d` (the "root_relative" space only): "screen" (default) reads
  the 2D as screen-normalised pixels, which depend on the camera (the same
  body at another focal length or distance is another input).  "camera"
  (`camera_2d`) turns each keypoint's ray ((u - cx) / fx, (v - cy) / fy, 1)
  about the camera centre until the root's ray is the optical axis
  (`root_rotation`), projects it, and scales it to a mean joint distance of
  `CAMERA_2D_SPREAD` from the root (apparent size tells distance, not
  pose): one 3D pose seen by any pinhole camera, anywhere in its image, is
  one input up to the perspective of its distance.  The 3D is turned the
  same way (by `root_cam_mm`'s ray) and turned back on the way out, so
  outputs stay in the real camera's frame.
  """
  scale_3d_mm: float = 1000.0
  scale_2d: float = 1.0
  data_scale: float = 1.0
  root_relative_2d: bool = True
  skeleton: Skeleton = H36M_17
  space: str = "root_relative"
  image_depth: str = "focal"
  input_2d: str = "screen"

  def __post_init__(self):
    settings.one_of("representation.space", self.space, SPACES)
    settings.one_of("representation.image_depth", self.image_depth,
                    IMAGE_DEPTHS)
    settings.one_of("representation.input_2d", self.input_2d, INPUTS_2D)
    if self.input_2d == "camera" and self.space == "image":
      raise settings.ConfigError(
          "representation.input_2d='camera': only with space='root_relative'"
          " (the image space encodes its 3D in screen units)")

  @classmethod
  def from_section(cls, section, where: str = "representation"
                   ) -> "Representation":
    """A config's `representation` section, checked (`settings.parse`)."""
    values = settings.parse(_RepresentationSection, section, where)
    return cls(scale_3d_mm=values.scale_3d_mm, scale_2d=values.scale_2d,
               data_scale=values.data_scale,
               root_relative_2d=values.root_relative_2d, space=values.space,
               image_depth=values.image_depth, input_2d=values.input_2d)

  @property
  def num_joints(self) -> int:
    return self.skeleton.num_joints

  @property
  def data_dim(self) -> int:
    return 3 * self.num_joints

  @property
  def needs_camera(self) -> bool:
    """Whether converting poses needs each row's `camera_meta`."""
    return self.space == "image" or self.input_2d == "camera"

  @property
  def camera_read(self) -> str:
    """What of each test row's camera the conversions read ("" for
    nothing), as results files record it (`evaluation.inputs`)."""
    if self.space == "image":
      return ("intrinsics and the true root depth (root_cam_mm), image "
              "space")
    if self.input_2d == "camera":
      return ("intrinsics and the root's viewing direction (root_cam_mm), "
              "camera-geometry 2D")
    return ""

  @property
  def _image_scale(self) -> float:
    return self.scale_2d * self.data_scale

  def _depth_ratio(self, meta):
    """The rows' crop ratio ("crop_ratio"), or None (fx / Z_r)."""
    if self.image_depth == "focal":
      return None
    ratio = meta.get(image_space.DEPTH_RATIO)
    if ratio is None:
      raise ValueError(
          "camera_meta: representation.image_depth='crop_ratio' needs each "
          f"pose's {image_space.DEPTH_RATIO} (LCN's crop ratio: the h36m_lcn "
          "dataset's rows hold it)")
    return ratio

  def pose3d_to_model(self, pose3d_mm, camera_meta=None):
    """[..., J, 3] mm -> [..., J, 3] model units (root made relative).

    camera_meta: each pose's `root_cam_mm` [..., 3] and `intrinsics`
    [..., 6] (`image_space.META_KEYS`), for the "image" space or camera 2D.
    """
    checks.check_array("pose3d_mm", pose3d_mm, ("...", self.num_joints, 3))
    pose = pose3d_mm - pose3d_mm[..., :1, :]
    if self.input_2d == "camera":
      pose = _turn(pose, self._rotation(camera_meta, pose.shape[:-2]))
    if self.space == "root_relative":
      return pose * (self.data_scale / self.scale_3d_mm)
    if camera_meta is None:
      raise ValueError("camera_meta: the 'image' space needs each pose's "
                       "root_cam_mm [..., 3] and intrinsics [..., 6]")
    meta = image_space.check_meta(camera_meta, pose3d_mm.shape[:-2])
    absolute = pose + meta["root_cam_mm"][..., None, :]
    return image_space.encode(absolute, meta["intrinsics"],
                              self._depth_ratio(meta)) * self._image_scale

  def pose3d_from_model(self, pose3d, camera_meta=None):
    """[..., J, 3] model units -> [..., J, 3] mm relative to the true root.

    As in the authors' evaluation, the predicted root is not re-centred:
    its own (small) error counts in MPJPE.

    camera_meta: the "image" space back-projects with each pose's
    `intrinsics` [..., 6] and root depth `root_cam_mm[..., 2]` and subtracts
    the true root; when None (generated poses) it assumes
    `image_space.nominal_meta()` (depth by its fx / Z_r, whatever
    `image_depth`) and centres each pose on its own root.
    """
    if self.space == "root_relative":
      pose = pose3d * (self.scale_3d_mm / self.data_scale)
      if self.input_2d == "camera" and camera_meta is not None:
        rot = self._rotation(camera_meta, np.shape(pose3d)[:-2])
        pose = _turn(pose, np.swapaxes(rot, -1, -2))
      return pose
    checks.check_array("pose3d", pose3d, ("...", self.num_joints, 3))
    if camera_meta is None:
      meta = image_space.nominal_meta()
      cam = image_space.decode(pose3d / self._image_scale, meta["intrinsics"],
                               meta["root_cam_mm"][..., 2])
      return cam - cam[..., :1, :]
    meta = image_space.check_meta(camera_meta, pose3d.shape[:-2])
    cam = image_space.decode(pose3d / self._image_scale, meta["intrinsics"],
                             meta["root_cam_mm"][..., 2],
                             self._depth_ratio(meta))
    return cam - meta["root_cam_mm"][..., None, :]

  def _rotation(self, camera_meta, lead_shape):
    if camera_meta is None:
      raise ValueError("camera_meta: representation.input_2d='camera' needs "
                       "each pose's root_cam_mm [..., 3] and intrinsics "
                       "[..., 6]")
    meta = image_space.check_meta(camera_meta, lead_shape)
    return root_rotation(meta["root_cam_mm"])

  def pose2d_to_model(self, pose2d_screen, camera_meta=None):
    """[..., J, 2] screen-normalised -> [..., J, 2] model units.

    camera_meta: each row's `root_cam_mm` [..., 3] and `intrinsics`
    [..., 6] (fx, fy, cx, cy, width, height), which `input_2d="camera"`
    needs.
    """
    checks.check_array("pose2d_screen", pose2d_screen, ("...", self.num_joints, 2))
    if self.input_2d == "camera":
      rot = self._rotation(camera_meta, np.shape(pose2d_screen)[:-2])
      return camera_2d(pose2d_screen, camera_meta["intrinsics"], rot) * (
          self.scale_2d * self.data_scale)
    if self.space == "image":
      return pose2d_screen * self._image_scale
    if self.root_relative_2d:
      pose2d_screen = pose2d_screen - pose2d_screen[..., :1, :]
    return pose2d_screen * (self.scale_2d * self.data_scale)

  def to_dict(self) -> dict:
    out = dict(scale_3d_mm=self.scale_3d_mm, scale_2d=self.scale_2d, data_scale=self.data_scale,
               root_relative_2d=self.root_relative_2d, skeleton=self.skeleton.name,
               space=self.space, image_depth=self.image_depth)
    if self.input_2d != "screen":  # older workdirs' records stay as written
      out["input_2d"] = self.input_2d
    return out


def root_rotation(root_cam_mm) -> np.ndarray:
  """The rotation about the camera centre that turns the root's ray onto
  the optical axis (+z): the smallest one.  # [..., 3] -> [..., 3, 3]"""
  z = np.asarray(root_cam_mm, np.float64)
  z = z / np.linalg.norm(z, axis=-1, keepdims=True)
  v = np.stack([z[..., 1], -z[..., 0], np.zeros_like(z[..., 0])], -1)  # z x e_z
  c = z[..., 2]
  vx = np.zeros(z.shape + (3,))
  vx[..., 0, 1], vx[..., 0, 2] = -v[..., 2], v[..., 1]
  vx[..., 1, 0], vx[..., 1, 2] = v[..., 2], -v[..., 0]
  vx[..., 2, 0], vx[..., 2, 1] = -v[..., 1], v[..., 0]
  return (np.eye(3) + vx + vx @ vx / (1.0 + c)[..., None, None])


def _turn(pose, rotation):
  """Points [..., J, 3] turned by rotations [..., 3, 3] (broadcast)."""
  return np.einsum("...ij,...kj->...ki", rotation, np.asarray(pose, np.float64)
                   ).astype(np.float32)


def camera_2d(pose2d_screen, intrinsics, rotation) -> np.ndarray:
  """Screen 2D -> the virtual camera's root-relative normalised coordinates
  at a mean joint distance of CAMERA_2D_SPREAD from the root.

  Args:
    pose2d_screen: screen-normalised keypoints.  # [..., J, 2]
    intrinsics: fx, fy, cx, cy, width, height.  # [..., 6]
    rotation: `root_rotation` of each row.  # [..., 3, 3]

  The spread is taken over the joints away from the root: a masked joint
  holds the root's position and counts for nothing.
  """
  cam = cameras.screen_to_camera(np.asarray(pose2d_screen, np.float64),
                                 np.asarray(intrinsics, np.float64))
  rays = np.concatenate([cam, np.ones_like(cam[..., :1])], -1)
  turned = np.einsum("...ij,...kj->...ki", rotation, rays)
  xy = turned[..., :2] / turned[..., 2:]
  rel = xy - xy[..., :1, :]
  dist = np.linalg.norm(rel, axis=-1)
  away = dist > 1e-9
  spread = np.sum(dist, axis=-1) / np.maximum(np.sum(away, axis=-1), 1)
  spread = np.where(spread > 0, spread, 1.0)
  return (rel * (CAMERA_2D_SPREAD / spread)[..., None, None]).astype(
      np.float32)


def model_splits(splits: Mapping[str, Mapping[str, np.ndarray]],
                 representation: Representation, *,
                 dataset_name: str = "") -> dict:
  """A dataset's splits with model-unit copies of the poses.

  Each split keeps its own fields and gains `pose3d` [N, J, 3] and `pose2d`
  [N, J, 2] in model units, `pose3d_mm` [N, J, 3] root-relative millimetres
  and `pose2d_screen` [N, J, 2] (the screen-normalised input, for plots);
  the camera fields `root_cam_mm` [N, 3] and `intrinsics` [N, 6]
  (`image_space.META_KEYS`) stay when the dataset has them, which the
  "image" space needs.
  """
  out = {}
  for name, split in splits.items():
    pose3d_mm = np.asarray(split["pose3d"], np.float32)
    pose2d = np.asarray(split["pose2d"], np.float32)
    meta = image_space.camera_meta(split)
    if meta is None and representation.needs_camera:
      raise ValueError(
          f"representation.space={representation.space!r} needs the "
          f"camera fields {', '.join(image_space.META_KEYS)} per row, which "
          f"dataset {dataset_name!r} ({name} split) does not provide")
    if (representation.space == "image"
        and representation.image_depth == "crop_ratio"
        and image_space.DEPTH_RATIO not in split):
      raise ValueError(
          "representation.image_depth='crop_ratio' needs each row's "
          f"{image_space.DEPTH_RATIO} (LCN's crop ratio), which dataset "
          f"{dataset_name!r} ({name} split) does not provide; use 'focal'")
    rows = {k: np.asarray(v) for k, v in split.items()
            if k not in ("pose3d", "pose2d")}
    rows.update(
        pose3d=np.asarray(representation.pose3d_to_model(pose3d_mm, meta), np.float32),
        pose2d=np.asarray(representation.pose2d_to_model(pose2d, meta),
                          np.float32),
        pose3d_mm=pose3d_mm - pose3d_mm[:, :1],
        pose2d_screen=pose2d,
        activity=np.asarray(split["activity"], np.int32),
        **({} if meta is None else
           {k: np.asarray(v, np.float32) for k, v in meta.items()}))
    out[name] = rows
  return out


__all__ = ["SPACES", "INPUTS_2D", "CAMERA_2D_SPREAD", "Representation",
           "root_rotation", "camera_2d", "model_splits"]
