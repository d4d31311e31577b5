"""The lifters' evaluation task, registered in `TASKS`.

  estimate  one 3D pose per held-out 2D pose, scored by the same estimation
            code as every multi-hypothesis method (a single hypothesis)
"""
from __future__ import annotations

import numpy as np

from jaxpose.evaluation import estimation
from jaxpose.evaluation.runner import EvalContext, TaskResult
from jaxpose.methods import base
from jaxpose.pose import image_space

TASKS = base.Tasks()


@TASKS.register("estimate")
def estimate(trained: base.Trained, opts, ctx: EvalContext) -> TaskResult:
  model = trained.model
  size = opts.lift_batch_size
  if not model.is_temporal:
    pred = model.predict(trained.params, ctx.test, batch_size=size)
  else:
    # The test rows are the first of the split; their windows index the
    # whole split, whose centre rows must be these very rows.
    full = ctx.splits["test"]["pose2d"]
    centre = ctx.test["window"][:, model.num_frames // 2]
    if not np.array_equal(full[centre], ctx.test["pose2d"]):
      raise ValueError("estimate: the test rows do not come from this "
                       "method's test split (their windows point elsewhere)")
    pred = model.outputs(trained.params, full, ctx.test["window"],
                         batch_size=size, desc="lift")[..., -3:]
  pred_mm = np.asarray(model.representation.pose3d_from_model(
      pred, image_space.camera_meta(ctx.test)), np.float32)
  result = estimation.estimation_result(ctx, pred_mm[None],
                                        title=f"estimate ({model.name})")
  result.figures["joint_names"] = list(model.representation.skeleton.joint_names)
  result.figures["model"] = model.name
  result.figures["num_frames"] = model.num_frames
  return result


__all__ = ["TASKS", "estimate"]
