"""Poses in millimetres <-> the vectors a network sees.

`Representation` is shared by every method that lifts 2D to 3D on the
17-joint skeleton (GFPose, the Martinez baseline): it scales camera-frame,
root-relative millimetres and screen-normalised 2D to model units, in one of
two spaces (see WORKSPACE.md "Pose spaces"), and back.
`model_splits` applies it to a dataset's splits.
"""
from __future__ import annotations

import dataclasses
from typing import Literal, Mapping

import numpy as np

from jaxpose import checks
from jaxpose import settings
from jaxpose.pose import image_space
from jaxpose.pose.skeleton import H36M_17, Skeleton


SPACES = ("root_relative", "image")
IMAGE_DEPTHS = ("focal", "crop_ratio")


@dataclasses.dataclass(frozen=True)
class _RepresentationSection:
  """The keys of a config's `representation` section (`Representation`).

  `space` may be left out by configs written before it existed: they mean
  the standard space.
  """
  skeleton: Literal["h36m_17"]
  scale_3d_mm: float = settings.field(above=0.0)
  scale_2d: float = settings.field(above=0.0)
  data_scale: float = settings.field(above=0.0)
  root_relative_2d: bool
  space: Literal["root_relative", "image"] = "root_relative"
  image_depth: Literal["focal", "crop_ratio"] = "focal"


@dataclasses.dataclass(frozen=True)
class Representation:
  """How poses in millimetres / screen units become network vectors.

  `space` "root_relative" (the standard one): 3D is camera-frame,
  root-relative millimetres, divided by `scale_3d_mm` and multiplied by
  `data_scale`.  2D: screen-normalised coordinates (see
  `cameras.normalize_screen`), root-relative when `root_relative_2d`,
  multiplied by `scale_2d` and `data_scale`, so the (u, v) condition and
  the (x, y) of the pose live at comparable scales for the residual
  condition `x - c`.

  `space` "image" (GFPose's official one, `jaxpose.image_space`): 3D is
  (absolute screen-normalised x, y; root-relative depth in the same units)
  and 2D is the absolute screen-normalised input; both are multiplied by
  one scale, `scale_2d * data_scale`, so a pose's (x, y) and its 2D
  condition coincide (`scale_3d_mm` and `root_relative_2d` are unused).
  Converting needs each row's camera (`camera_meta`: `root_cam_mm` [..., 3],
  `intrinsics` [..., 6]); back to millimetres without one, the nominal
  camera of `image_space` is assumed.  Outputs in mm are root-relative in
  both spaces, so the metrics stay comparable.

  `image_depth` (the "image" space): "focal" (default) scales depth by the
  pinhole's fx / Z_r; "crop_ratio" by each row's `depth_ratio` (LCN's crop
  ratio, the authors' data: `data.name=h36m_lcn`), exactly as GFPose's
  released code normalises and back-projects.
  """
  scale_3d_mm: float = 1000.0
  scale_2d: float = 1.0
  data_scale: float = 1.0
  root_relative_2d: bool = True
  skeleton: Skeleton = H36M_17
  space: str = "root_relative"
  image_depth: str = "focal"

  def __post_init__(self):
    settings.one_of("representation.space", self.space, SPACES)
    settings.one_of("representation.image_depth", self.image_depth,
                    IMAGE_DEPTHS)

  @classmethod
  def from_section(cls, section, where: str = "representation"
                   ) -> "Representation":
    """A config's `representation` section, checked (`settings.parse`)."""
    values = settings.parse(_RepresentationSection, section, where)
    return cls(scale_3d_mm=values.scale_3d_mm, scale_2d=values.scale_2d,
               data_scale=values.data_scale,
               root_relative_2d=values.root_relative_2d, space=values.space,
               image_depth=values.image_depth)

  @property
  def num_joints(self) -> int:
    return self.skeleton.num_joints

  @property
  def data_dim(self) -> int:
    return 3 * self.num_joints

  @property
  def needs_camera(self) -> bool:
    """Whether converting poses needs each row's `camera_meta`."""
    return self.space == "image"

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

    camera_meta: required by the "image" space: `root_cam_mm` [..., 3]
    and `intrinsics` [..., 6] of each pose (`image_space.META_KEYS`).
    """
    checks.check_array("pose3d_mm", pose3d_mm, ("...", self.num_joints, 3))
    pose = pose3d_mm - pose3d_mm[..., :1, :]
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

    The network predicts the root joint too, and, as in the authors'
    evaluation, it is not re-centred: the predicted root's own error counts
    in MPJPE (targets put the root at 0, so it is small).

    camera_meta: the "image" space back-projects with each pose's
    `intrinsics` [..., 6] and root depth `root_cam_mm[..., 2]` and subtracts
    the true root `root_cam_mm`; when None (generated poses, which have no
    true root) it assumes `image_space.nominal_meta()` (depth scaled by
    its fx / Z_r, whatever `image_depth`) and centres each pose on its own
    root.
    """
    if self.space == "root_relative":
      return pose3d * (self.scale_3d_mm / self.data_scale)
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

  def pose2d_to_model(self, pose2d_screen):
    """[..., J, 2] screen-normalised -> [..., J, 2] model units."""
    checks.check_array("pose2d_screen", pose2d_screen, ("...", self.num_joints, 2))
    if self.space == "image":
      return pose2d_screen * self._image_scale
    if self.root_relative_2d:
      pose2d_screen = pose2d_screen - pose2d_screen[..., :1, :]
    return pose2d_screen * (self.scale_2d * self.data_scale)

  def to_dict(self) -> dict:
    return dict(scale_3d_mm=self.scale_3d_mm, scale_2d=self.scale_2d, data_scale=self.data_scale,
                root_relative_2d=self.root_relative_2d, skeleton=self.skeleton.name,
                space=self.space, image_depth=self.image_depth)


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
        pose2d=np.asarray(representation.pose2d_to_model(pose2d), np.float32),
        pose3d_mm=pose3d_mm - pose3d_mm[:, :1],
        pose2d_screen=pose2d,
        activity=np.asarray(split["activity"], np.int32),
        **({} if meta is None else
           {k: np.asarray(v, np.float32) for k, v in meta.items()}))
    out[name] = rows
  return out


__all__ = ["SPACES", "Representation", "model_splits"]
