"""Deterministic 2D-to-3D lifters (Martinez et al.'s MLP, DiffPose's graph
context encoders) as one method: GFPose's baseline, and the context
encoders DiffPose needs.

  model.py       settings, `LifterModel` (init, loss, lift, windows), build
  encoder.py     held-out rows (prepared), training rows, the
                 `ContextEncoder` a trained graph lifter provides
  eval_tasks.py  estimate; lift (a video's keypoints, every joint visible)
  released.py    DiffPose's released GraFormer lifter as a workdir (importer)
"""
from jaxpose import methods
from jaxpose.methods import base
from jaxpose.methods import parts
from jaxpose.methods import protocols
from jaxpose.methods.baseline import encoder
from jaxpose.methods.baseline import eval_tasks
from jaxpose.methods.baseline import model
from jaxpose.methods.baseline import released

METHOD = methods.register(base.Method(
    name="baseline",
    settings=model.Sections,
    eval_options=model.EvalOptions,
    # The held-out rows (prepared), the network and what it reads of each
    # keypoint (left out at 'none', as in checkpoints made before the key).
    fingerprint_sections=("method", "model", "representation",
                          ("inputs.uncertainty", "none")),
    load_data=model.load_data,
    build=model.build,
    training=encoder.training,
    tasks=eval_tasks.TASKS,
    prepare=parts.prepare,
    legacy_prepared=parts.made_today,
    prepare_keys=("holdout.fraction", "holdout.seed"),
    check=model.check,
    test_inputs=eval_tasks.test_inputs,
    capabilities=base.Capabilities(
        provides={protocols.ContextEncoder: encoder.context_encoder},
        import_checkpoint=released.import_checkpoint,
        lift=eval_tasks.lift),
))

__all__ = ["METHOD"]
