"""Question: Why does DiffPose with one H_K kernel (M = 1) beat the paper's mixture of five (M = 5) on jaxpose-mocap v1?
Answer: M = 5 keeps kernels far from the encoder's pose (offsets up to 148 mm) whose draws the denoiser does not bring back, and the mean of N mixes them in (mean of 5, exact 2D, 3 seeds: 134.4 mm against M = 1's 121.4); only an oracle choosing each row's kernel after the fact beats one kernel (114.0 against 120.7 mm).

  python -m experiments.studies.diffpose_kernels \
      --workdirs=runs/diffpose_mocap,runs/diffpose_mocap_m1 --name=mocap_small
  # noisy test 2D (any data / eval / seed key, as --mode=eval takes them):
  python -m experiments.studies.diffpose_kernels --workdirs=... --name=mocap_noisy \
      --set=data.test_2d=noisy

For each workdir (its own sampler, reverse steps and start), on the first
`--num_poses` test rows, writes to experiments/results/
diffpose_kernels_<name>.json:

  kernels     each kernel's weight, its mean offset from the centre and its
              std (RMS over joints: 2D in model units, 3D in mm), and the
              share of test rows whose true error truth - centre it explains
              best (its responsibility's argmax), beside its weight;
  per_kernel  every hypothesis started from that kernel alone: MPJPE of the
              mean of N, of each hypothesis, best of N; the kernel's draws
              without diffusion; so a kernel whose draws the denoiser cannot
              bring back shows here;
  oracle      each row's hypotheses from the kernel that explains its true
              error best (an upper bound on choosing kernels well), and
              from its best kernel after the fact;
  versus_n    with the workdir's own mixture, for each N of `--hypotheses`:
              MPJPE of the mean of N, of each hypothesis, best of N, and the
              hypotheses' spread (mean distance to their mean, mm): whether
              averaging more draws helps (M = 1) or mixes kernels' poses
              (M = 5);
  encoder     the encoder alone on the same rows.

Workdirs of several training seeds (each seed's M = 5 and M = 1) go into
one file. The sampling is `DiffPoseModel.sample_states` without the
evaluation's range guard or calibration.
"""
from __future__ import annotations

import ast
import dataclasses
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxpose import files
from jaxpose import rng
from jaxpose import run_lib
from jaxpose.evaluation import runner
from jaxpose.methods.diffpose import eval_tasks
from jaxpose.pose import metrics as metrics_lib

RESULTS = os.path.join("experiments", "results")


def _rms(x, axis) -> np.ndarray:
  return np.sqrt(np.mean(np.square(np.asarray(x, np.float64)), axis=axis))


def kernel_table(model) -> list[dict]:
  """Weight, mean offset and std of each kernel (RMS over joints)."""
  init = model.initial
  to_mm = lambda x: np.asarray(model.representation.pose3d_from_model(
      np.asarray(x, np.float32)))  # offsets: a linear map in root_relative
  out = []
  for m in range(init.num_kernels):
    mean, std = init.means[m], init.scales[m]  # [J, 5]
    out.append(dict(
        weight=float(init.weights[m]),
        mean_2d=float(_rms(mean[:, :2], None)),
        std_2d=float(_rms(std[:, :2], None)),
        mean_3d_mm=float(_rms(to_mm(mean[:, 2:]), None)),
        std_3d_mm=float(_rms(to_mm(std[:, 2:]), None)),
        per_joint_std_3d_mm=[float(v) for v in _rms(to_mm(std[:, 2:]), -1)]))
  return out


def kernel_stds(model, rows) -> np.ndarray:
  """Each kernel's std for each row, `[M, R, J, 5]` (a per-row H_K's own)."""
  init = model.initial
  r = len(rows["pose2d"])
  scales = np.broadcast_to(init.scales[:, None], (init.num_kernels, r)
                           + init.scales.shape[1:])
  row_scales = init.row_scales()
  if row_scales is None:
    return np.asarray(scales)
  unc2d = jnp.asarray(rows["unc2d"])
  return np.stack([np.asarray(row_scales.shape(jnp.asarray(s), unc2d))
                   for s in scales])


def responsibilities(model, rows) -> np.ndarray:
  """The posterior over kernels of each row's true error, `[R, M]`."""
  init = model.initial
  centre = np.concatenate([rows["pose2d"], rows["enc_pose3d"]], -1)
  truth = np.concatenate([rows["target2d"], rows["pose3d"]], -1)
  err = (truth - centre if init.centred else truth).astype(np.float64)
  sd = kernel_stds(model, rows).astype(np.float64)  # [M, R, J, 5]
  z = (err[None] - init.means[:, None].astype(np.float64)) / sd
  log = (np.log(init.weights.astype(np.float64))[:, None]
         - np.sum(np.log(sd) + 0.5 * z**2, axis=(2, 3)))  # [M, R]
  log -= log.max(axis=0, keepdims=True)
  p = np.exp(log)
  return (p / p.sum(axis=0, keepdims=True)).T


def only_kernel(model, m: int):
  """The model with every draw from kernel m (the others weighted 0)."""
  weights = np.zeros_like(model.initial.weights)
  weights[m] = 1.0
  initial = dataclasses.replace(model.initial, weights=weights)
  return dataclasses.replace(model, initial=initial, _programs={})


def scores(hyps_mm, gt_mm) -> dict:
  """`[N, R, J, 3]` hypotheses of `[R, J, 3]` truths: mean of N, each
  hypothesis, best of N, and their spread (mm)."""
  hyps_mm = np.asarray(hyps_mm, np.float32)
  per = np.stack([np.asarray(metrics_lib.mpjpe(h, gt_mm)) for h in hyps_mm])
  mean = hyps_mm.mean(0)
  return dict(
      num_hypotheses=int(hyps_mm.shape[0]),
      mean_of_n_mpjpe_mm=float(np.mean(metrics_lib.mpjpe(mean, gt_mm))),
      mean_hypothesis_mpjpe_mm=float(per.mean()),
      best_of_n_mpjpe_mm=float(per.min(0).mean()),
      spread_mm=float(np.mean(np.linalg.norm(hyps_mm - mean, axis=-1))))


def _per_row_choice(per_kernel_hyps, choice) -> np.ndarray:
  """`[M, N, R, J, 3]` and a kernel per row `[R]` -> `[N, R, J, 3]`."""
  return np.take_along_axis(
      per_kernel_hyps, np.asarray(choice)[None, None, :, None, None],
      axis=0)[0]


def analyse(workdir: str, *, num_poses: int, hypotheses=(1, 2, 5, 10, 20),
            overrides: dict | None = None, seed: int = 0) -> dict:
  """The figures of the module docstring for one trained workdir."""
  start = time.time()
  config = run_lib.evaluation_config(workdir, overrides or {})
  trained = run_lib.load_trained(workdir, config=config)
  model, opts = trained.model, trained.run.eval_options
  data = trained.method.load_data(trained.run, trained.needs)
  rows = runner.first_rows(data.splits["test"], num_poses)
  gt = np.asarray(rows["pose3d_mm"], np.float32)
  key = rng.purpose_key(seed, "eval")
  k_kernels, k_n, k_draws = jax.random.split(key, 3)
  n = int(opts.num_hypotheses)
  to_mm = lambda states: model.states_to_mm(states)

  table = kernel_table(model)
  resp = responsibilities(model, rows)  # [R, M]
  best = resp.argmax(1)
  share = np.bincount(best, minlength=len(table)) / len(best)
  per_kernel, hyps_by_kernel = [], []
  for m, entry in enumerate(table):
    entry["test_share"] = float(share[m])
    entry["test_mean_responsibility"] = float(resp[:, m].mean())
    alone = only_kernel(model, m)
    hyps = to_mm(alone.sample_states(trained.params, k_kernels, rows, opts,
                                     num_hypotheses=n, desc=f"kernel {m}"))
    hyps_by_kernel.append(hyps)
    draws = to_mm(eval_tasks.initial_draws(alone, k_draws, rows, n))
    per_kernel.append(dict(kernel=m, **scores(hyps, gt),
                           draws_no_diffusion=scores(draws, gt)))
  stacked = np.stack(hyps_by_kernel)  # [M, N, R, J, 3]
  mean_err = np.stack([np.asarray(metrics_lib.mpjpe(h.mean(0), gt))
                       for h in stacked])  # [M, R]
  oracle = dict(
      responsible_kernel=scores(_per_row_choice(stacked, best), gt),
      best_kernel_after_the_fact=scores(
          _per_row_choice(stacked, mean_err.argmin(0)), gt))
  most = max(hypotheses)
  own = to_mm(model.sample_states(trained.params, k_n, rows, opts,
                                  num_hypotheses=most, desc="versus N"))
  centre = np.concatenate([rows["pose2d"], rows["enc_pose3d"]], -1)
  encoder = to_mm(centre)
  dp = trained.run.sections.diffpose
  return dict(
      workdir=workdir, train_step=trained.step, num_poses=len(gt),
      num_kernels=model.initial.num_kernels,
      initial=dict(scope=model.initial.scope,
                   kind=model.initial.info.get("kind"),
                   fit_rows_seen_by_encoder=model.initial.info.get(
                       "fit_rows_seen_by_encoder"),
                   rms_3d=model.initial.info.get("rms_3d")),
      settings=dict(network_input=dp.network_input,
                    kernel_input=dp.kernel_input, sampler=opts.sampler,
                    reverse_steps=opts.num_steps, start=opts.start,
                    num_hypotheses=n, overrides=dict(overrides or {})),
      kernels=table, per_kernel=per_kernel, oracle=oracle,
      versus_n=[scores(own[:k], gt) for k in sorted(set(hypotheses))],
      encoder=dict(mpjpe_mm=float(np.mean(metrics_lib.mpjpe(encoder, gt)))),
      seconds=time.time() - start)


def run(workdirs, *, name: str, num_poses: int, hypotheses=(1, 2, 5, 10, 20),
        overrides: dict | None = None, out_dir: str = RESULTS) -> str:
  """`analyse` of each workdir into <out_dir>/diffpose_kernels_<name>.json;
  returns its path."""
  result = dict(name=name, workdirs=[analyse(
      w, num_poses=num_poses, hypotheses=hypotheses, overrides=overrides)
      for w in workdirs])
  path = os.path.join(out_dir, f"diffpose_kernels_{name}.json")
  files.write_json_atomic(path, result)
  return path


def parse_overrides(items) -> dict:
  """['data.test_2d=noisy', 'eval.num_steps=2'] -> {key: value} (values
  as Python literals where they parse, else strings)."""
  out = {}
  for item in items:
    key, sep, value = item.partition("=")
    if not sep:
      raise ValueError(f"--set={item!r}: expected KEY=VALUE")
    try:
      out[key] = ast.literal_eval(value)
    except (ValueError, SyntaxError):
      out[key] = value
  return out


__all__ = ["kernel_table", "kernel_stds", "responsibilities", "only_kernel",
           "scores", "analyse", "run", "parse_overrides"]


if __name__ == "__main__":
  from absl import app
  from absl import flags

  _WORKDIRS = flags.DEFINE_list("workdirs", None, "Trained DiffPose workdirs "
                                "(e.g. M = 5 and M = 1).", required=True)
  _NAME = flags.DEFINE_string("name", None, "The results file's name: "
                              "diffpose_kernels_<name>.json.", required=True)
  _NUM_POSES = flags.DEFINE_integer("num_poses", 500, "First test rows.")
  _HYPOTHESES = flags.DEFINE_list("hypotheses", ["1", "2", "5", "10", "20"],
                                  "The N of the error-against-N curve.")
  _SET = flags.DEFINE_multi_string("set", [], "KEY=VALUE of the evaluation "
                                   "(data, eval or seed keys).")
  _OUT = flags.DEFINE_string("out_dir", RESULTS, "Where the JSON goes.")

  def main(argv):
    del argv
    path = run(_WORKDIRS.value, name=_NAME.value, num_poses=_NUM_POSES.value,
               hypotheses=tuple(int(h) for h in _HYPOTHESES.value),
               overrides=parse_overrides(_SET.value), out_dir=_OUT.value)
    print(f"wrote {path}")

  app.run(main)
