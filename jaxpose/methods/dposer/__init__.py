"""DPoser (Lu et al., arXiv 2312.05541): a diffusion prior on body-space
rotations, used as a regulariser in test-time optimisation.

  body.py        z-score statistics, the canonical skeleton, joints (FK or a
                 body model), the 22 -> 17 joint regressor, body parts
  schedule.py    the paper's time schedules and the regulariser's weight
  priors.py      none / Gaussian mixture / a joint prior through FK /
                 DPoser: one loss-term interface
  tto.py         the compiled, vmapped Adam loop of test-time optimisation
  options.py     the evaluation settings: shared, and each task's own
  model.py       settings, `DPoserModel`, the prepared body, build
  eval_tasks.py  complete, generate (and the fitting tasks' registration)
  fitting.py     denoise_motion, fit2d
  smoothing.py   the `MotionSmoother` it provides: a lifted motion of
                 Human3.6M joints fitted in windows (jaxpose.lift)
  released.py    the authors' released checkpoints (v1 .pth, v2 Lightning
                 .ckpt) and statistics as a workdir (experiments/import_weights.py)

It needs, optionally, a `JointPrior` (GFPose's, `eval.gfpose_workdir`) for
the comparison rows of its tables.
"""
from jaxpose import methods
from jaxpose.methods import base
from jaxpose.methods import parts
from jaxpose.methods import protocols
from jaxpose.methods.dposer import eval_tasks
from jaxpose.methods.dposer import model
from jaxpose.methods.dposer import options
from jaxpose.methods.dposer import released
from jaxpose.methods.dposer import smoothing

JOINT_PRIOR = base.Need(
    name="joint_prior", config_key="eval.gfpose_workdir",
    protocol=protocols.JointPrior, optional=True, part_of_model=False,
    hint="train GFPose there first (experiments/configs/quickstart.py) or "
         "leave eval.gfpose_workdir empty")

METHOD = methods.register(base.Method(
    name="dposer",
    settings=model.Sections,
    train_options=model.TrainOptions,
    eval_options=options.EvalOptions,
    fingerprint_sections=("method", "model", "sde"),
    load_data=model.load_data,
    build=model.build,
    training=model.training,
    tasks=eval_tasks.TASKS,
    test_inputs=eval_tasks.test_inputs,
    # The held-out clips (`holdout`) first; the body from the other rows.
    prepare=parts.with_heldout(model.prepare),
    legacy_prepared=model.legacy_prepared,
    needs=(JOINT_PRIOR,),
    check=model.check,
    capabilities=base.Capabilities(
        provides={protocols.MotionSmoother: smoothing.motion_smoother},
        sample=model.sample,
        import_checkpoint=released.import_checkpoint,
        import_files=("statistics",)),
))

__all__ = ["METHOD", "JOINT_PRIOR"]
