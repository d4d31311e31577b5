"""DiffPose as the authors' released code runs it: a refiner of its lifter.

The released code (GONGJIA0208/Diffpose) differs from the paper: a 51-step
linear schedule with tiny betas (1e-4 .. 1e-3, so the noise never reaches
N(0, I)), a prior N(0, diag(std^2)) around 0 rather than a mixture around
each row, one hypothesis, and at test the lifter's pose [2D, 3D] taken as
the state at a small step matched to the lifter's error, then 2
deterministic DDIM steps.  Here: the same on the quickstart data and
encoder (diffpose_quickstart.py has the paper's design), so the two
compare the designs on one encoder; sized for 2 CPU cores.
`eval.start_step=-1` picks the step whose noise std is nearest the
encoder's RMS 3D error on the fit rows; the JSON records it.

Commands:
  python -m experiments.main --config=experiments/configs/encoder_quickstart.py \
      --workdir=runs/encoder_quickstart   # once, shared with diffpose_quickstart
  python -m experiments.main --config=experiments/configs/diffpose_released.py \
      --workdir=runs/diffpose_released \
      --config.diffpose.encoder_workdir=runs/encoder_quickstart

Expected: MPJPE about 52.7 mm (one hypothesis) against its encoder's 56.2 on 100 synthetic poses (2 CPU cores, 3000 steps); docs/results/diffpose.md.
"""
from experiments.configs import diffpose_quickstart


def get_config():
  c = diffpose_quickstart.get_config()
  c.sde.update(num_steps=51, beta_start=1e-4, beta_end=1e-3)
  # Released units are metres with a unit std on x, y, z; here model units
  # are representation.scale_3d_mm (300 mm), so one metre is 1000 / 300.
  c.diffpose.update(initial="standard", network_input="state",
                    scale_3d=1000.0 / c.representation.scale_3d_mm)
  c.eval.update(start="centre", start_step=-1, num_steps=2, num_hypotheses=1,
                hypotheses_list=(1,), sampler="ddim")
  return c
