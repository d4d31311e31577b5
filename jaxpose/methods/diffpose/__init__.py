"""DiffPose (Gong et al., CVPR 2023): reverse diffusion from an
indeterminate pose distribution H_K, conditioned on a frozen context
encoder (a trained lifter's workdir: `diffpose.encoder_workdir`).

  process.py     the mixture-shaped forward process (DDPM chain + kernels
                 around each row's centre), the state [u, v, x, y, z], the
                 score of the noise network
  initial.py     H_K: the error truth - centre fitted by a Gaussian mixture
                 (or the released code's standard prior)
  rows.py        a per-row H_K: each row's kernels shaped by its own 2D
                 uncertainty (`diffpose.initial_scope='per_row'`)
  data.py        the splits with the encoder's fields, H_K prepared on the
                 encoder's held-out rows, the training rows
  released.py    the authors' released checkpoints as a workdir (importer)
  model.py       settings, `DiffPoseModel` (init, loss, DDIM hypotheses)
  eval_tasks.py  estimate (mean and best-of-N, the encoder alone, H_K draws)
"""
from jaxpose import methods
from jaxpose import settings
from jaxpose.methods import base
from jaxpose.methods import protocols
from jaxpose.methods.diffpose import data
from jaxpose.methods.diffpose import eval_tasks
from jaxpose.methods.diffpose import legacy
from jaxpose.methods.diffpose import model
from jaxpose.methods.diffpose import released


def _check_encoder(run: base.RunSettings, trained: base.Trained):
  """The encoder must work in DiffPose's model units."""
  ours = run.sections.representation.to_dict()
  theirs = trained.run.sections.representation.to_dict()
  diffs = [f"representation.{k}: {ours[k]!r} here, {theirs.get(k)!r} in the "
           "encoder" for k in sorted(ours) if ours[k] != theirs.get(k)]
  if diffs:
    raise settings.ConfigError(
        f"diffpose.encoder_workdir={trained.workdir!r}: the encoder works in "
        f"other model units ({'; '.join(diffs)}); DiffPose's representation "
        "section must equal the encoder's")


ENCODER = base.Need(
    name="encoder", config_key="diffpose.encoder_workdir",
    protocol=protocols.ContextEncoder, part_of_model=True, same_training_data=True,
    check=_check_encoder,
    hint="train a context encoder first (e.g. "
         "experiments/configs/encoder_quickstart.py) and pass "
         "--config.diffpose.encoder_workdir=<its workdir>")

METHOD = methods.register(base.Method(
    name="diffpose",
    settings=model.Sections,
    train_options=model.TrainOptions,
    eval_options=model.EvalOptions,
    # The kernel told to the denoiser changes its inputs; left out at
    # 'none', as in checkpoints made before the key.
    fingerprint_sections=("method", "model", "sde", "representation",
                          "diffpose.network_input",
                          ("diffpose.kernel_input", "none")),
    load_data=data.load_data,
    build=model.build,
    training=data.training,
    tasks=eval_tasks.TASKS,
    prepare=data.prepare,
    prepare_keys=data.PREPARE_KEYS,
    eval_artefacts=(data.X0_RANGE,),
    legacy_prepared=legacy.legacy_prepared,
    needs=(ENCODER,),
    check=model.check,
    test_inputs=eval_tasks.test_inputs,
    capabilities=base.Capabilities(
        import_checkpoint=released.import_checkpoint,
        import_files=("encoder",),
        lift=eval_tasks.lift),
))

__all__ = ["METHOD", "ENCODER"]
