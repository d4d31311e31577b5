"""GFPose (Ci et al., CVPR 2023): one conditional score network, five tasks
by condition masking.

  masking.py     hierarchical condition masks and the 2D/3D swap (training)
  problems.py    each test-time task as a `sampling.Problem` value
  model.py       settings, `GFPoseModel` (init, loss, samplers), build
  options.py     evaluation settings: shared, and each task's own
  eval_tasks.py  estimate, estimate_single, complete2d/3d, denoise, generate;
                 lift (a video's keypoints, masked joints completed)
  released.py    the authors' released checkpoint as a workdir (importer)

It provides a `JointPrior` (its unconditional score of root-relative
joints) to methods that need one, e.g. DPoser's comparison rows.
"""
from jaxpose import methods
from jaxpose.methods import base
from jaxpose.methods import parts
from jaxpose.methods import protocols
from jaxpose.methods import lifting
from jaxpose.methods.gfpose import eval_tasks
from jaxpose.methods.gfpose import model
from jaxpose.methods.gfpose import options
from jaxpose.methods.gfpose import released

METHOD = methods.register(base.Method(
    name="gfpose",
    settings=model.Sections,
    train_options=model.TrainOptions,
    eval_options=options.EvalOptions,
    fingerprint_sections=("method", "model", "sde", "representation"),
    load_data=lifting.load_data,
    build=model.build,
    # The held-out clips (`holdout`) are drawn first and left out of
    # training and of every other prepared state.
    prepare=parts.with_heldout(model.prepare),
    eval_artefacts=(model.X0_RANGE,),
    training=parts.fields_training(
        "pose3d", "pose2d",
        mirror=lambda model: lifting.mirror(model.representation)),
    tasks=eval_tasks.TASKS,
    test_inputs=eval_tasks.test_inputs,
    check=options.check,
    capabilities=base.Capabilities(
        provides={protocols.JointPrior: model.joint_prior},
        sample=model.sample,
        import_checkpoint=released.import_checkpoint,
        lift=eval_tasks.lift, lifts_masked_joints=True),
))

__all__ = ["METHOD"]
