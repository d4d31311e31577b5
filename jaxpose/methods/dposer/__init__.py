"""DPoser: a diffusion prior on body-space rotations, used as a regulariser.

  body.py      z-score statistics, the canonical skeleton, joints (FK or a
               body model), the 22 -> 17 joint regressor, body parts
  priors.py    none / Gaussian mixture / a joint prior through FK / DPoser,
               one loss-term interface
  tto.py       the compiled, vmapped Adam loop of test-time optimisation
  tasks.py     complete, generate (and the dispatch of the fitting tasks)
  fitting.py   denoise_motion, fit2d
  method.py    `DPoser`, the `base.Method` the runner builds
"""
from jaxpose.methods.dposer.method import DPoser, DPoserEvalOptions

__all__ = ["DPoser", "DPoserEvalOptions"]
