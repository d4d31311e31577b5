"""GFPose: one conditional score network, five tasks by condition masking.

  masking.py     hierarchical condition masks and the 2D/3D swap (training)
  problems.py    each test-time task as a `sampling.Problem` value
  eval_tasks.py  estimate, estimate_single, complete2d/3d, denoise, generate
  method.py      `GFPose`, the `base.Method` the runner builds
"""
from jaxpose.methods.gfpose.method import GFPose, GFPoseEvalOptions

__all__ = ["GFPose", "GFPoseEvalOptions"]
