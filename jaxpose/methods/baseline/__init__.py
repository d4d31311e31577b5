"""Deterministic lifters (Martinez et al.'s MLP, DiffPose's graph context
encoders) as one method, GFPose's baseline."""
from jaxpose.methods.baseline.method import (
    LIFTERS, SHORT_CLIPS, Baseline, BaselineEvalOptions, make_encoder_lift_fn,
    make_lift_fn, make_loss_fn)

__all__ = ["Baseline", "BaselineEvalOptions", "LIFTERS", "SHORT_CLIPS",
           "make_encoder_lift_fn", "make_lift_fn", "make_loss_fn"]
