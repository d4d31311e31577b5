"""DiffPose's evaluation task, registered in `TASKS`:
`task(trained, options, ctx) -> TaskResult`.

  estimate   N hypotheses per 2D pose (`estimation.estimation_result`: the
             mean of the N, best-of-N, PA, per joint, calibration), and on
             the same rows the paper's question: the context encoder alone
             (`encoder`), draws of H_K without any diffusion
             (`initial_samples`), and what diffusion gained over the
             encoder (`gain_over_encoder_mm`, positive is better).

The ablations are options, each written to its own JSON by
`eval.output_suffix`: reverse steps (`eval.num_steps`), hypotheses
(`eval.num_hypotheses`), the start (`eval.start`, `eval.start_step`); the
training-time ones (K = sde.num_steps, M = diffpose.num_kernels, a single
Gaussian = M 1) are config variants.
"""
from __future__ import annotations

import dataclasses

from absl import logging
import jax
import numpy as np

from jaxpose.core import box as box_lib
from jaxpose.evaluation import estimation
from jaxpose.evaluation import inputs
from jaxpose.evaluation.runner import EvalContext, TaskResult
from jaxpose.methods import base
from jaxpose.methods.diffpose import data as data_lib
from jaxpose.methods.diffpose import rows as rows_lib
from jaxpose.pose import image_space
from jaxpose.pose import metrics as metrics_lib
from jaxpose.workdir import run_config

TASKS = base.Tasks()


def _errors(pred_mm, gt_mm) -> dict:
  """MPJPE / PA-MPJPE of one pose per row, and per joint (mm)."""
  return dict(
      mpjpe_mm=float(np.mean(metrics_lib.mpjpe(pred_mm, gt_mm))),
      pa_mpjpe_mm=float(np.mean(metrics_lib.pa_mpjpe(pred_mm, gt_mm))),
      per_joint_mpjpe_mm=[float(v) for v in np.asarray(
          metrics_lib.per_joint_error(pred_mm, gt_mm)).mean(axis=0)])


def initial_draws(model, key, rows, num: int) -> np.ndarray:
  """`num` draws of H_K per row, no diffusion: states `[num, R, J, 5]`."""
  centre = np.concatenate([rows["pose2d"], rows["enc_pose3d"]], -1)
  proc = model.forward_process
  unc2d = rows["unc2d"] if model.initial.scope == "per_row" else None

  def one(k):
    k_kernel, k_z = jax.random.split(k)
    prior = proc.draw(k_kernel, centre, unc2d)
    return prior.unstandardize(jax.random.normal(k_z, centre.shape))

  return np.asarray(jax.jit(jax.vmap(one))(jax.random.split(key, num)))


@TASKS.register("estimate")
def estimate(trained: base.Trained, opts, ctx: EvalContext) -> TaskResult:
  """N hypotheses per 2D pose, beside the encoder alone and H_K's draws."""
  model, encoder_part = trained.model, trained.needs["encoder"]
  k_sample, k_initial = jax.random.split(ctx.key)
  rows, gt = ctx.test, ctx.test["pose3d_mm"]
  # Without a stored range (an older workdir, an import) the training
  # split's, which encodes that split once.
  box, box_info = box_lib.evaluation_box(
      clip=opts.x0_clip, margin=opts.x0_clip_margin,
      stored=trained.prepared.get(data_lib.X0_RANGE),
      train_data=lambda: data_lib.clean_states(ctx.train))
  states = model.sample_states(trained.params, k_sample, rows, opts,
                               num_hypotheses=opts.num_hypotheses,
                               desc="estimate", x0_range=box)
  result = estimation.estimation_result(
      ctx, model.states_to_mm(states, rows), sampler=opts.sampler,
      num_steps=opts.num_steps, hypotheses_list=opts.hypotheses_list,
      title="estimate")
  figures = result.figures
  centre = np.concatenate([rows["pose2d"], rows["enc_pose3d"]], -1)
  # Scored as DiffPose's hypotheses are (root re-centred), and as the
  # encoder's own evaluation scores it (its root as predicted).
  encoder = _errors(model.states_to_mm(centre, rows), gt)
  as_predicted = np.asarray(model.representation.pose3d_from_model(
      np.asarray(rows["enc_pose3d"]), image_space.camera_meta(rows)),
      np.float32)
  encoder["mpjpe_mm_root_as_predicted"] = float(np.mean(
      metrics_lib.mpjpe(as_predicted, gt)))
  # Its RMS 3D error per coordinate in model units, as H_K's fit records it
  # on training rows (`diffpose.initial.rms_3d`): the gap is how much
  # better the encoder does on rows it was trained on.
  err3d = np.asarray(rows["pose3d"]) - np.asarray(rows["enc_pose3d"])
  encoder.update(workdir=encoder_part.workdir, network=encoder_part.network,
                 rms_3d=float(np.sqrt(np.mean(err3d**2))))
  initial = None
  if model.initial.centred:  # the released prior sits around 0, not a pose
    draws = model.states_to_mm(initial_draws(model, k_initial, rows,
                                             opts.num_hypotheses), rows)
    per_draw = np.stack([np.asarray(metrics_lib.mpjpe(d, gt)) for d in draws])
    initial = dict(
        mpjpe_mm=float(np.mean(metrics_lib.mpjpe(draws.mean(0), gt))),
        min_mpjpe_mm=float(per_draw.min(0).mean()),
        mean_hypothesis_mpjpe_mm=float(per_draw.mean()))
  init, dp = model.initial, trained.run.sections.diffpose
  start_step = None if opts.start == "initial" else model.start_step(opts)
  if init.info.get("fit_rows_seen_by_encoder"):
    logging.warning("DiffPose: this H_K was fitted on rows the encoder was "
                    "trained on (diffpose.seen_fit_rows='warn'), where its "
                    "error is smaller than on these test rows")
  figures.update(
      encoder=encoder, initial_samples=initial, x0_range=box_info,
      gain_over_encoder_mm=encoder["mpjpe_mm"] - figures["mpjpe_mm"],
      pa_gain_over_encoder_mm=encoder["pa_mpjpe_mm"] - figures["pa_mpjpe_mm"],
      diffpose=dict(
          network_input=dp.network_input, kernel_input=dp.kernel_input,
          noise_2d=dp.noise_2d, noise_2d_px=dp.noise_2d_px,
          noisy_train_2d=dp.noisy_train_2d,
          start=opts.start, start_step=start_step,
          diffusion_steps=model.sde.num_steps, reverse_steps=opts.num_steps,
          initial=dict(kind=init.info.get("kind"), num_kernels=init.num_kernels,
                       scope=init.scope,
                       row_uncertainty=init.info.get("row_uncertainty"),
                       digest=trained.prepared["initial"].digest(),
                       num_rows=init.info.get("num_rows"),
                       rms_2d=init.info.get("rms_2d"),
                       rms_3d=init.info.get("rms_3d"),
                       fit_rows_seen_by_encoder=init.info.get(
                           "fit_rows_seen_by_encoder"))),
      joint_names=list(model.representation.skeleton.joint_names))
  n = opts.num_hypotheses
  table = list(result.table) + [
      ("encoder alone MPJPE / PA-MPJPE", (encoder["mpjpe_mm"],
                                          encoder["pa_mpjpe_mm"])),
      ("gain over the encoder (MPJPE, PA)",
       (figures["gain_over_encoder_mm"], figures["pa_gain_over_encoder_mm"])),
  ]
  if initial is not None:
    table.append((f"H_K draws, no diffusion: mean / best-of-{n}",
                  (initial["mpjpe_mm"], initial["min_mpjpe_mm"])))
  summary = dict(result.summary or {},
                 encoder_mpjpe_mm=encoder["mpjpe_mm"],
                 gain_over_encoder_mm=figures["gain_over_encoder_mm"])
  return dataclasses.replace(result, figures=figures, table=table,
                             summary=summary)


def _uncertainty_read(source: str) -> str:
  return (inputs.NONE if source == inputs.NONE else
          f"{rows_lib.FIELDS[source][0]} ({rows_lib.KINDS[source]})")


def encoder_uncertainty(encoder_workdir: str) -> str:
  """What the encoder of `encoder_workdir` reads of each keypoint beside
  its 2D (its stored `inputs.uncertainty`; 'none' when it has no config,
  or one from before the key)."""
  stored = run_config.read(encoder_workdir) if encoder_workdir else None
  return str(((stored or {}).get("inputs") or {}).get("uncertainty",
                                                      inputs.NONE))


def test_inputs(run: base.RunSettings, task: str) -> inputs.Reads:
  """What `task` reads of each test row beside its 2D: a per-row H_K its
  keypoints' uncertainty (`rows.FIELDS`, of the test rows' 2D), a global
  one nothing, and its encoder what it reads (`encoder_uncertainty`); the
  encoder's figures, which the results hold under `encoder`, read the
  encoder's alone."""
  del task  # its one task, estimate
  dp = run.sections.diffpose
  encoder = encoder_uncertainty(dp.encoder_workdir)
  sources = [dp.row_uncertainty] if dp.initial_scope == "per_row" else []
  if encoder != inputs.NONE and encoder not in sources:
    sources.append(encoder)
  uncertainty = "; ".join(map(_uncertainty_read, sources)) or inputs.NONE
  return inputs.Reads(uncertainty=uncertainty,
                      baseline=inputs.Reads(uncertainty=_uncertainty_read(encoder)),
                      baseline_figures="encoder")


def lift(trained: base.Trained, request: base.LiftRequest) -> np.ndarray:
  """A video's frames: N hypotheses each from H_K around the encoder's
  pose, `[N, T, J, 3]` mm. Every joint must be visible (the encoder needs
  each one's 2D); with `diffpose.initial_scope='per_row'` and
  `row_uncertainty='confidence'`, the detector's scores shape each frame's
  H_K."""
  model, opts = trained.model, trained.run.eval_options
  base.refuse_missing(request.rows, model.representation.skeleton.joint_names,
                      "DiffPose")
  if request.sampler or request.num_steps:
    opts = dataclasses.replace(opts, sampler=request.sampler or opts.sampler,
                               num_steps=request.num_steps or opts.num_steps)
  stored = trained.prepared.get(data_lib.X0_RANGE)
  # A video has no training rows to take a range from: only a stored one.
  box, _ = box_lib.evaluation_box(clip=opts.x0_clip and stored is not None,
                                  margin=opts.x0_clip_margin, stored=stored,
                                  train_data=None)
  states = model.sample_states(trained.params, request.key, request.rows, opts,
                               num_hypotheses=request.num_hypotheses,
                               desc="lift", x0_range=box)
  # Camera 2D: turned back with each frame's camera, as the lifters do.
  return model.states_to_mm(states, request.rows)


__all__ = ["TASKS", "estimate", "initial_draws", "test_inputs", "lift"]
