"""GFPose as a value: its pose representation, training loss and tasks.

GFPose is one conditional score network; what a run does is decided by the
condition and the masks alone.  This module holds the pieces that are
specific to it and nothing generic: the map between millimetre poses and the
network's vectors, the masked-condition training loss, and the test-time
tasks as `sampling.Task` values (see WORKSPACE.md "Tasks are data").
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from jaxpose import checks
from jaxpose.pose import image_space
from jaxpose.core import losses
from jaxpose.methods.gfpose import masking
from jaxpose.core import sampling
from jaxpose.pose.skeleton import H36M_17, Skeleton


PROTOCOLS = ("root_relative", "image")


@dataclasses.dataclass(frozen=True)
class Representation:
  """How poses in millimetres / screen units become network vectors.

  `protocol` "root_relative" (the standard one): 3D is camera-frame,
  root-relative millimetres, divided by `scale_3d_mm` and multiplied by
  `data_scale`.  2D: screen-normalised coordinates (see
  `cameras.normalize_screen`), root-relative when `root_relative_2d`,
  multiplied by `scale_2d` and `data_scale`, so the (u, v) condition and
  the (x, y) of the pose live at comparable scales for the residual
  condition `x - c`.

  `protocol` "image" (GFPose's official one, `jaxpose.image_space`): 3D is
  (absolute screen-normalised x, y; root-relative depth in the same units)
  and 2D is the absolute screen-normalised input; both are multiplied by
  one scale, `scale_2d * data_scale`, so a pose's (x, y) and its 2D
  condition coincide (`scale_3d_mm` and `root_relative_2d` are unused).
  Converting needs each row's camera (`camera_meta`: `root_cam_mm` [..., 3],
  `intrinsics` [..., 6]); back to millimetres without one, the nominal
  camera of `image_space` is assumed.  Outputs in mm are root-relative in
  both protocols, so the metrics stay comparable.
  """
  scale_3d_mm: float = 1000.0
  scale_2d: float = 1.0
  data_scale: float = 1.0
  root_relative_2d: bool = True
  skeleton: Skeleton = H36M_17
  protocol: str = "root_relative"

  def __post_init__(self):
    if self.protocol not in PROTOCOLS:
      raise ValueError(f"representation.protocol: unknown protocol "
                       f"{self.protocol!r}; valid: {', '.join(PROTOCOLS)}")

  @classmethod
  def from_config(cls, rep_config) -> "Representation":
    if rep_config.skeleton != H36M_17.name:
      raise ValueError(f"representation.skeleton: only {H36M_17.name!r} is "
                       f"supported, got {rep_config.skeleton!r}")
    return cls(scale_3d_mm=float(rep_config.scale_3d_mm),
               scale_2d=float(rep_config.scale_2d),
               data_scale=float(rep_config.data_scale),
               root_relative_2d=bool(rep_config.root_relative_2d),
               # Configs written before the key existed mean the standard one.
               protocol=str(rep_config.get("protocol", "root_relative")))

  @property
  def num_joints(self) -> int:
    return self.skeleton.num_joints

  @property
  def data_dim(self) -> int:
    return 3 * self.num_joints

  @property
  def needs_camera(self) -> bool:
    """Whether converting poses needs each row's `camera_meta`."""
    return self.protocol == "image"

  @property
  def _image_scale(self) -> float:
    return self.scale_2d * self.data_scale

  def pose3d_to_model(self, pose3d_mm, camera_meta=None):
    """[..., J, 3] mm -> [..., J, 3] model units (root made relative).

    camera_meta: required by the "image" protocol: `root_cam_mm` [..., 3]
    and `intrinsics` [..., 6] of each pose (`image_space.META_KEYS`).
    """
    checks.check_array("pose3d_mm", pose3d_mm, ("...", self.num_joints, 3))
    pose = pose3d_mm - pose3d_mm[..., :1, :]
    if self.protocol == "root_relative":
      return pose * (self.data_scale / self.scale_3d_mm)
    if camera_meta is None:
      raise ValueError("camera_meta: the 'image' protocol needs each pose's "
                       "root_cam_mm [..., 3] and intrinsics [..., 6]")
    meta = image_space.check_meta(camera_meta, pose3d_mm.shape[:-2])
    absolute = pose + meta["root_cam_mm"][..., None, :]
    return image_space.encode(absolute, meta["intrinsics"]) * self._image_scale

  def pose3d_from_model(self, pose3d, camera_meta=None):
    """[..., J, 3] model units -> [..., J, 3] mm relative to the true root.

    The network predicts the root joint too, and, as in the authors'
    evaluation, it is not re-centred: the predicted root's own error counts
    in MPJPE (targets put the root at 0, so it is small).

    camera_meta: the "image" protocol back-projects with each pose's
    `intrinsics` [..., 6] and root depth `root_cam_mm[..., 2]` and subtracts
    the true root `root_cam_mm`; when None (generated poses, which have no
    true root) it assumes `image_space.nominal_meta()` and centres each pose
    on its own root.
    """
    if self.protocol == "root_relative":
      return pose3d * (self.scale_3d_mm / self.data_scale)
    checks.check_array("pose3d", pose3d, ("...", self.num_joints, 3))
    if camera_meta is None:
      meta = image_space.nominal_meta()
      cam = image_space.decode(pose3d / self._image_scale, meta["intrinsics"],
                               meta["root_cam_mm"][..., 2])
      return cam - cam[..., :1, :]
    meta = image_space.check_meta(camera_meta, pose3d.shape[:-2])
    cam = image_space.decode(pose3d / self._image_scale, meta["intrinsics"],
                             meta["root_cam_mm"][..., 2])
    return cam - meta["root_cam_mm"][..., None, :]

  def pose2d_to_model(self, pose2d_screen):
    """[..., J, 2] screen-normalised -> [..., J, 2] model units."""
    checks.check_array("pose2d_screen", pose2d_screen, ("...", self.num_joints, 2))
    if self.protocol == "image":
      return pose2d_screen * self._image_scale
    if self.root_relative_2d:
      pose2d_screen = pose2d_screen - pose2d_screen[..., :1, :]
    return pose2d_screen * (self.scale_2d * self.data_scale)

  def to_dict(self) -> dict:
    return dict(scale_3d_mm=self.scale_3d_mm, scale_2d=self.scale_2d, data_scale=self.data_scale,
                root_relative_2d=self.root_relative_2d, skeleton=self.skeleton.name,
                protocol=self.protocol)


def flatten(pose):
  """[B, J, C] -> [B, J*C]."""
  return pose.reshape(pose.shape[0], -1)


def make_loss_fn(apply_fn, sde, mask_config: masking.MaskConfig, *,
                 eps: float = 1e-5, reduce: str = "sum",
                 skeleton: Skeleton = H36M_17):
  """The GFPose training loss as a pure `loss_fn(params, batch, key)`.

  batch: {"pose3d": [B, J, 3], "pose2d": [B, J, 2]} in model units.  The
  hierarchical mask and the 2D/3D swap are drawn from `key` inside the loss,
  so they are pure data augmentation and a function of the step key only.
  """

  def loss_fn(params, batch, key):
    mask_key, dsm_key = jax.random.split(key)
    cond, cond_mask = masking.make_condition(
        mask_key, batch["pose3d"], batch["pose2d"], mask_config, skeleton)
    x0 = flatten(batch["pose3d"])
    return losses.dsm_loss(
        params, x0, (flatten(cond), flatten(cond_mask)), dsm_key,
        apply_fn=apply_fn, sde=sde, eps=eps, reduce=reduce, train=True)

  return loss_fn


# --- Test-time tasks: what is observed, what is masked, where to start. ---


def estimation_task(pose2d, *, visible=None) -> sampling.Task:
  """2D-to-3D estimation: condition on every (visible) joint's 2D position.

  pose2d: [B, J, 2] model units; visible: optional [B, J] in {0, 1}.
  """
  checks.check_array("pose2d", pose2d, ("B", None, 2))
  cond, cond_mask = masking.condition_from_2d(pose2d, visible)
  batch, joints = pose2d.shape[:2]
  return sampling.Task(
      x_init=jnp.zeros((batch, 3 * joints), jnp.float32),
      cond=(flatten(cond), flatten(cond_mask)))


def completion_task(pose3d, visible, *, impute: bool = True) -> sampling.Task:
  """3D completion: condition on the visible joints and impute them.

  pose3d: [B, J, 3] model units (missing joints may hold anything finite);
  visible: [B, J] in {0, 1}.
  """
  checks.check_array("pose3d", pose3d, ("B", "J", 3))
  checks.check_array("visible", visible, ("B", "J"))
  cond, cond_mask = masking.condition_from_3d(pose3d, visible)
  x0 = flatten(cond)
  m = flatten(cond_mask)
  return sampling.Task(
      x_init=jnp.zeros_like(x0), cond=(x0, m),
      observed=x0 if impute else None, observed_mask=m if impute else None)


def denoising_task(noisy_pose3d, *, t_start: float = 0.05) -> sampling.Task:
  """Denoising: start from the noisy pose at a small time, unconditionally."""
  checks.check_array("noisy_pose3d", noisy_pose3d, ("B", None, 3))
  x = flatten(noisy_pose3d)
  zeros = jnp.zeros_like(x)
  return sampling.Task(x_init=x, cond=(zeros, zeros), t_start=t_start,
                       start_from_prior=False)


def generation_task(batch_size: int, num_joints: int = 17) -> sampling.Task:
  """Unconditional generation: the null condition (all zeros)."""
  zeros = jnp.zeros((batch_size, 3 * num_joints), jnp.float32)
  return sampling.Task(x_init=zeros, cond=(zeros, zeros))
