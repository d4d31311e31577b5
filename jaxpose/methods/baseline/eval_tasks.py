"""The lifters' evaluation task, registered in `TASKS`.

  estimate  one 3D pose per held-out 2D pose, scored by the same estimation
            code as every multi-hypothesis method (a single hypothesis)
"""
from __future__ import annotations

import numpy as np

from jaxpose import settings
from jaxpose.evaluation import estimation
from jaxpose.evaluation import inputs
from jaxpose.evaluation.runner import EvalContext, TaskResult
from jaxpose.methods import base
from jaxpose.methods import lifting
from jaxpose.pose import image_space
from jaxpose.pose import mirror as mirror_lib

TASKS = base.Tasks()


def _predict_mm(trained: base.Trained, rows, split=None) -> np.ndarray:
  """One pose per row of `rows`, root-relative mm [N, J, 3]; a temporal
  lifter's windows index `split` (default: `rows` themselves)."""
  model = trained.model
  size = trained.run.eval_options.lift_batch_size
  if not model.is_temporal:
    read = {"pose2d": rows["pose2d"]}
    # Read once (rows without it warn once), then mirrored with the 2D.
    uncertainty = model.uncertainty_of(rows)
    if uncertainty is not None:
      read[lifting.UNCERTAINTY] = uncertainty
    pred = model.predict(trained.params, read, batch_size=size)
    if trained.run.eval_options.flip_average:
      pred = _flip_averaged(model, trained.params, read, pred, size)
  else:
    if trained.run.eval_options.flip_average:
      raise settings.ConfigError("eval.flip_average: a one-frame lifter's "
                                 "option; this lifter reads windows")
    full = (rows if split is None else split)["pose2d"]
    pred = model.outputs(trained.params, full, rows["window"],
                         batch_size=size, desc="lift")[..., -3:]
  if trained.run.eval_options.subtract_root:
    if model.representation.space != "root_relative":
      raise settings.ConfigError(
          "eval.subtract_root: the image space's 3D keeps the root's depth; "
          "use representation.space='root_relative'")
    pred = np.asarray(pred) - np.asarray(pred)[:, :1]
  return np.asarray(model.representation.pose3d_from_model(
      pred, image_space.camera_meta(rows)), np.float32)


def _flip_averaged(model, params, rows, pred, size) -> np.ndarray:
  """The mean of `pred` and the mirrored lift of the mirrored rows (their
  2D, and their `lifting.UNCERTAINTY` with left and right swapped)."""
  if model.representation.space != "root_relative":
    raise settings.ConfigError(
        "eval.flip_average: the image space's 3D is not camera x, y, z, so "
        "it has no mirror here; use representation.space='root_relative'")
  skeleton = model.representation.skeleton
  mirrored = {"pose2d": mirror_lib.mirror_2d(rows["pose2d"], skeleton)}
  if lifting.UNCERTAINTY in rows:
    mirrored[lifting.UNCERTAINTY] = mirror_lib.mirror_per_joint(
        rows[lifting.UNCERTAINTY], skeleton)
  flipped = model.predict(params, mirrored, batch_size=size)
  return 0.5 * (pred + mirror_lib.mirror_joints(flipped, skeleton))


@TASKS.register("estimate")
def estimate(trained: base.Trained, opts, ctx: EvalContext) -> TaskResult:
  model = trained.model
  if model.is_temporal:
    # The test rows are the first of the split; their windows index the
    # whole split, whose centre rows must be these very rows.
    full = ctx.splits["test"]["pose2d"]
    centre = ctx.test["window"][:, model.num_frames // 2]
    if not np.array_equal(full[centre], ctx.test["pose2d"]):
      raise ValueError("estimate: the test rows do not come from this "
                       "method's test split (their windows point elsewhere)")
  pred_mm = _predict_mm(trained, ctx.test, ctx.splits["test"])
  result = estimation.estimation_result(ctx, pred_mm[None],
                                        title=f"estimate ({model.name})")
  result.figures["joint_names"] = list(model.representation.skeleton.joint_names)
  result.figures["model"] = model.name
  result.figures["num_frames"] = model.num_frames
  return result


def test_inputs(run: base.RunSettings, task: str) -> inputs.Reads:
  """What a lifter reads of each test row beside its 2D: the keypoints'
  uncertainty when `inputs.uncertainty` says so, else nothing."""
  del task
  source = run.sections.inputs.uncertainty
  if source == inputs.NONE:
    return inputs.Reads()
  return inputs.Reads(uncertainty=f"{lifting.UNCERTAINTY_FIELDS[source]} "
                                  f"({lifting.UNCERTAINTY_KINDS[source]})")


def lift(trained: base.Trained, request: base.LiftRequest) -> np.ndarray:
  """A video's frames lifted: one pose each ([1, T, J, 3] mm); every joint
  must be visible (a lifter cannot complete masked ones)."""
  model = trained.model
  base.refuse_missing(request.rows, model.representation.skeleton.joint_names,
                      f"the {model.name} lifter")
  return _predict_mm(trained, request.rows)[None]


__all__ = ["TASKS", "estimate", "lift", "test_inputs"]
