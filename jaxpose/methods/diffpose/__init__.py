"""DiffPose: reverse diffusion from an indeterminate pose distribution H_K.

  process.py     the mixture-shaped forward process (DDPM chain + kernels
                 around each row's centre), the state [u, v, x, y, z], the
                 score of the noise network
  initial.py     H_K: the error truth - centre fitted by a Gaussian mixture
                 (or the released code's standard prior), stored beside the
                 checkpoints
  encoder.py     the frozen context encoder, loaded from its workdir
  eval_tasks.py  estimate (mean and best-of-N, the encoder alone, H_K draws)
  method.py      `DiffPose`, the `base.Method` the runner builds
"""
from jaxpose.methods.diffpose.method import DiffPose, DiffPoseEvalOptions

__all__ = ["DiffPose", "DiffPoseEvalOptions"]
