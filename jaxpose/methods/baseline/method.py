"""The Martinez et al. (2017) lifter behind the method interface.

The deterministic baseline a user would otherwise pick beside GFPose: one
3D pose per 2D pose from a residual MLP (`models.LifterMLP`), trained by
regression on the same splits (`pose.representation`), with the same
optimiser, batches, loop and checkpoints, and scored by the same
estimation code with a single hypothesis, so its row sits in the same
table.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from jaxpose import checks
from jaxpose import models
from jaxpose.evaluation import chunks
from jaxpose.evaluation import config as eval_config_lib
from jaxpose.evaluation import estimation
from jaxpose.evaluation.runner import EvalContext, TaskResult
from jaxpose.methods import lifting
from jaxpose.methods import register
from jaxpose.pose import image_space


@dataclasses.dataclass(frozen=True)
class BaselineEvalOptions:
  """The baseline's own `config.eval` field.

  Attributes:
    lift_batch_size: poses per compiled call when lifting held-out poses.
  """
  lift_batch_size: int

  def __post_init__(self):
    eval_config_lib.require_at_least("lift_batch_size", self.lift_batch_size, 1)


def make_lift_fn(apply_fn):
  """`lift(params, pose2d, *, train=False, key=None) -> pose3d`.

  pose2d: [B, J, 2] model units -> [B, J, 3] model units, root-relative:
  the root joint is set to exactly 0 (the targets are root-relative, so,
  as in Martinez et al., only the other joints are predicted).
  """

  def lift(params, pose2d, *, train: bool = False, key=None):
    out = apply_fn(params, pose2d, train=train, dropout_key=key)  # [B, J, 3]
    return out.at[:, 0].set(0.0)

  return lift


def make_loss_fn(lift):
  """The regression loss `loss_fn(params, batch, key)` of a lift function.

  batch: {"pose3d": [B, J, 3], "pose2d": [B, J, 2]} model units. The loss
  is the mean squared error over every coordinate of the root-relative 3D
  pose; the key draws the dropout masks. aux: {"mpjpe_model": mean joint
  distance in model units}.
  """

  def loss_fn(params, batch, key):
    sizes = {}
    checks.check_array("batch['pose3d']", batch["pose3d"], ("B", "J", 3),
                       sizes=sizes)
    checks.check_array("batch['pose2d']", batch["pose2d"], ("B", "J", 2),
                       sizes=sizes)
    err = lift(params, batch["pose2d"], train=True, key=key) - batch["pose3d"]
    return jnp.mean(jnp.square(err)), {
        "mpjpe_model": jnp.mean(jnp.linalg.norm(err, axis=-1))}

  return loss_fn


@register("baseline")
class Baseline(lifting.LiftingMethod):
  """A deterministic 2D-to-3D lifter (Martinez et al. 2017)."""

  # The SDE and masking sections do not shape a lifter: leaving them out of
  # the fingerprint lets a baseline workdir survive edits to them.
  fingerprint_sections = ("method", "model", "representation")
  train_fields = ("pose3d", "pose2d")
  EvalOptions = BaselineEvalOptions

  def __init__(self, config):
    super().__init__(config)
    if config.model.name != "lifter_mlp":
      raise ValueError(f"model.name: the baseline is the 'lifter_mlp' network, "
                       f"got {config.model.name!r}")
    self._model_kwargs = {k: v for k, v in config.model.items() if k != "name"}
    self._model_kwargs["num_joints"] = self.representation.num_joints
    self.graphdef = models.model_graphdef("lifter_mlp", **self._model_kwargs)
    self.apply_fn = models.make_apply(self.graphdef)
    self.lift = make_lift_fn(self.apply_fn)
    self._lift_jit = jax.jit(self.lift)

  def init_params(self, key):
    return models.create_model("lifter_mlp", key=key, **self._model_kwargs)[1]

  def loss_fn(self):
    return make_loss_fn(self.lift)

  def predict(self, params, pose2d_model, *, batch_size: int) -> np.ndarray:
    """Lifted `[N, J, 3]` model-unit poses of `[N, J, 2]` model-unit 2D."""
    checks.check_array("pose2d_model", pose2d_model, ("N", "J", 2))
    return chunks.map_chunks(
        lambda c, _: self._lift_jit(params, c["pose2d"]),
        {"pose2d": np.asarray(pose2d_model, np.float32)},
        chunk_size=batch_size, desc="lift")

  def _estimate(self, ctx: EvalContext) -> TaskResult:
    pred = self.predict(ctx.params, ctx.test["pose2d"],
                        batch_size=self.eval_options.lift_batch_size)
    pred_mm = np.asarray(self.representation.pose3d_from_model(
        pred, image_space.camera_meta(ctx.test)), np.float32)
    result = estimation.estimation_result(ctx, pred_mm[None], sampler="lifter",
                                          num_steps=0, title="estimate (lifter)")
    result.figures["joint_names"] = list(self.representation.skeleton.joint_names)
    return result

  def eval_tasks(self):
    return {"estimate": self._estimate}


__all__ = ["Baseline", "BaselineEvalOptions", "make_lift_fn", "make_loss_fn"]
