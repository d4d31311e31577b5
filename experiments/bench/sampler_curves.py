"""Error against network evaluations for GFPose's samplers (issue item 5).

  python -m experiments.bench.sampler_curves --workdir=W [--config=CONFIG.py]
      [--steps=1000,500,200,100,50,20,10]
      [--samplers="euler_maruyama pc ode deterministic ddim:eta=1 ode_adaptive"]
      [--num_poses=32] [--num_hypotheses=200] [--batch_poses=16]

Takes a trained GFPose workdir (the config comes from --config, else from
W/config.json written by training; `run_lib.load_trained`), samples best-of-H estimates of the same
held-out poses with the same keys for every (sampler, steps), and writes
W/eval/sampler_curves.json and W/eval/sampler_curves.png (MPJPE against
NFE, log x, best-of-H and mean-of-H per sampler).  It prints a table and
the default: the cheapest setting whose best-of-H error is at most
--tolerance_mm worse than 1000-step Euler-Maruyama, with its NFE ratio and
the wall-clock speed-up measured in the same run.  NFE: 1 per step for
Euler-Maruyama and the deterministic sampler, 2 for PC (one corrector step)
and the Heun ODE; ode_adaptive (one point per tolerance) is counted.

Cost: every step count of every sampler samples num_poses x H poses;
the defaults are sized for an accelerator.  On 2 CPU cores use fewer poses,
hypotheses and samplers (e.g. --num_poses=16 --num_hypotheses=50).
The logic is in `experiments.bench.curves.run_sampler_curves`.
"""

from absl import app
from absl import flags
from ml_collections import config_flags

from experiments.bench import curves
from jaxpose import config as config_lib
from jaxpose import logs
from jaxpose import rng
from jaxpose import run_lib
from jaxpose.methods.gfpose import model as gfpose_model
from jaxpose.workdir import layout

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Config file (default: WORKDIR/config.json).",
    lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Trained GFPose workdir.")
_STEPS = flags.DEFINE_list("steps", [str(s) for s in curves.CURVE_STEPS],
                           "Step counts of the fixed-step samplers.")
# Specs: "method[:option=value,...]" (jaxpose.core.sampling.parse_spec), e.g.
# "pc:snr=0.1" or "euler_maruyama:grid_rho=2" (time-grid spacing).
_SAMPLERS = flags.DEFINE_spaceseplist(
    "samplers", " ".join(curves.CURVE_SAMPLERS),
    "Space-separated sampler specs to compare, each a method with optional "
    "options, e.g. \"pc pc:snr=0.1,grid_rho=2 ddim:eta=1\".")
_TOLS = flags.DEFINE_list("adaptive_tols",
                          [str(t) for t in curves.ADAPTIVE_TOLS],
                          "rtol = atol values of ode_adaptive.")
_NUM_POSES = flags.DEFINE_integer("num_poses", 32, "Held-out poses.")
_NUM_HYPS = flags.DEFINE_integer("num_hypotheses", 200, "Hypotheses H.")
_BATCH = flags.DEFINE_integer("batch_poses", 16, "Poses per sampling call.")
_TOL_MM = flags.DEFINE_float("tolerance_mm", 1.0,
                             "Allowed best-of-H excess over the reference.")
_REF_STEPS = flags.DEFINE_integer("reference_steps", 1000,
                                  "Steps of the Euler-Maruyama reference.")
flags.mark_flags_as_required(["workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
  logs.configure_logging()
  workdir = _WORKDIR.value
  # Its EMA parameters unless the config's eval.use_ema is off.
  trained = run_lib.load_trained(workdir, config=_CONFIG.value)
  if not isinstance(trained.model, gfpose_model.GFPoseModel):
    raise app.UsageError(f"{workdir} holds a {trained.method.name} model: "
                         "its samplers cannot be compared here (GFPose only)")
  run = trained.run
  test = trained.method.load_data(run, trained.needs).splits["test"]
  result = curves.run_sampler_curves(
      trained.model, trained.params, test,
      key=rng.purpose_key(run.seed, "eval"), eps=run.eval_options.eps,
      samplers=_SAMPLERS.value, steps_list=[int(s) for s in _STEPS.value],
      adaptive_tols=[float(t) for t in _TOLS.value],
      num_poses=_NUM_POSES.value, num_hypotheses=_NUM_HYPS.value,
      chunk_size=_BATCH.value, tolerance_mm=_TOL_MM.value,
      reference=("euler_maruyama", _REF_STEPS.value))
  result.update(train_step=trained.step, seed=int(run.seed))
  path, png = curves.write_curves(result, layout.Workdir(workdir).eval)
  print("\n".join(curves.format_curve_row(r) for r in
                  sorted(result["rows"], key=lambda r: (r["sampler"], r["nfe"] or 0))))
  print(curves.format_default(result["default"]))
  print(f"wrote {path} and {png}")


if __name__ == "__main__":
  app.run(main, flags_parser=config_lib.parse_flags_or_exit)
