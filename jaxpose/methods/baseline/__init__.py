"""The Martinez et al. (2017) deterministic lifter, GFPose's baseline."""
from jaxpose.methods.baseline.method import (
    Baseline, BaselineEvalOptions, make_lift_fn, make_loss_fn)

__all__ = ["Baseline", "BaselineEvalOptions", "make_lift_fn", "make_loss_fn"]
