"""GFPose's evaluation tasks, registered by name in `TASKS` (the functions
below): each `task(trained, options, ctx) -> TaskResult`.

Every task samples within the training range when `eval.x0_clip` is on
(`model.x0_range`) and records the range's use in its figures (`x0_range`).

With `eval.mask_below_confidence` > 0, estimate and estimate_single mask
each test row's joints whose `pose2d_confidence` is below it in the 2D
condition (`problems.confidence_visibility`) and record the masked share
of joints in their figures (`masked_joint_share`).
"""
from __future__ import annotations

from absl import logging
import jax
import numpy as np

from jaxpose.evaluation import completion
from jaxpose.evaluation import estimation
from jaxpose.evaluation import generative
from jaxpose.evaluation import inputs
from jaxpose.evaluation.runner import EvalContext, TaskResult
from jaxpose.methods import base
from jaxpose.methods.gfpose import model as model_lib
from jaxpose.methods.gfpose import options as options_lib
from jaxpose.methods.gfpose import problems
from jaxpose.pose import image_space
from jaxpose.pose import metrics as metrics_lib


TASKS = base.Tasks()


def _chunk(opts, n: int) -> int:
  return min(opts.batch_poses, n)


# The tasks that read `eval.mask_below_confidence`, and its dataset field.
ESTIMATE_TASKS = ("estimate", "estimate_single")
CONFIDENCE = "pose2d_confidence"
CONFIDENCE_KIND = "a detector-like score"


def _confidence_mask(opts, rows) -> tuple[np.ndarray | None, dict]:
  """(the rows' `visible` [N, J] under `eval.mask_below_confidence`, or
  None when nothing is masked: the option off, or rows without scores;
  the figures that record it, {} when off)."""
  threshold = opts.mask_below_confidence
  if threshold <= 0.0:
    return None, {}
  if CONFIDENCE not in rows:
    logging.warning(
        "eval.mask_below_confidence=%g: the test rows have no %s; every "
        "joint reads as confidence 1 (nothing masked)", threshold, CONFIDENCE)
    return None, dict(mask_below_confidence=threshold, masked_joint_share=0.0,
                      confidence_field=f"absent: no {CONFIDENCE}, nothing masked")
  visible = problems.confidence_visibility(rows["pose2d"], rows[CONFIDENCE],
                                           threshold)
  below = np.asarray(rows[CONFIDENCE], np.float32) < np.float32(threshold)
  return visible, dict(
      mask_below_confidence=threshold,
      masked_joint_share=float(1.0 - visible.mean()),
      confidence_field=CONFIDENCE,
      # rows whose every joint was below: their most confident one kept
      rows_all_below=int(below.all(axis=1).sum()))


def _estimate(trained, single, ctx: EvalContext) -> TaskResult:
  """`single`: estimate_single's options, or None for estimate."""
  model, opts = trained.model, trained.run.eval_options
  spec = single.sampler if single else opts.sampler
  steps = (single.num_steps or opts.num_steps) if single else opts.num_steps
  h = 1 if single else opts.num_hypotheses
  box, box_info = model_lib.x0_range(trained, ctx.train)
  visible, mask_info = _confidence_mask(opts, ctx.test)
  if visible is None:
    make_problem = lambda c: problems.estimation_problem(c["pose2d"])
    rows = {"pose2d": ctx.test["pose2d"]}
  else:
    make_problem = lambda c: problems.estimation_problem(
        c["pose2d"], visible=c["visible"])
    rows = {"pose2d": ctx.test["pose2d"], "visible": visible}
  hyps = model.sample_rows(
      model.make_sampler(spec, steps, eps=opts.eps), trained.params, ctx.key,
      make_problem, rows,
      num_hypotheses=h, chunk_size=_chunk(opts, ctx.num_poses),
      desc="estimate_single" if single else "estimate", x0_range=box)
  result = estimation.estimation_result(
      ctx, model.to_mm(hyps, ctx.test), sampler=spec, num_steps=steps,
      hypotheses_list=opts.hypotheses_list,
      title="estimate_single" if single else "estimate")
  result.figures.update(eps=opts.eps, x0_range=box_info, **mask_info)
  if mask_info and result.summary is not None:
    result.summary.update(masked_joint_share=mask_info["masked_joint_share"])
  return result


def lift(trained, request: base.LiftRequest) -> np.ndarray:
  """A video's frames: H hypotheses each, [H, T, J, 3] mm. A masked joint
  (below the detector's threshold) is no condition, so GFPose completes it
  from the visible ones, as its 2D completion task does."""
  model, opts = trained.model, trained.run.eval_options
  spec = request.sampler or opts.sampler
  steps = request.num_steps or opts.num_steps
  rows = request.rows
  visible = np.asarray(rows["visible"], np.float32)
  box, _ = model_lib.x0_range(trained)
  hyps = model.sample_rows(
      model.make_sampler(spec, steps, eps=opts.eps), trained.params, request.key,
      lambda c: problems.estimation_problem(c["pose2d"], visible=c["visible"]),
      {"pose2d": rows["pose2d"], "visible": visible},
      num_hypotheses=request.num_hypotheses,
      chunk_size=min(opts.batch_poses, len(visible)), desc="lift", x0_range=box)
  return model.to_mm(hyps, rows)


@TASKS.register("estimate")
def estimate(trained, opts, ctx: EvalContext) -> TaskResult:
  """H hypotheses per 2D pose (`estimation.estimation_result`)."""
  del opts  # the shared ones, `trained.run.eval_options`
  return _estimate(trained, None, ctx)


@TASKS.register("estimate_single", options=options_lib.EstimateSingleOptions,
                formerly=options_lib.FORMERLY["estimate_single"])
def estimate_single(trained, opts, ctx: EvalContext) -> TaskResult:
  """One hypothesis per 2D pose, from the single-hypothesis sampler."""
  return _estimate(trained, opts, ctx)


def test_inputs(run: base.RunSettings, task: str) -> inputs.Reads:
  """What `task` reads of each test row beside its 2D: the completion
  tasks mask joints (complete3d reads the visible joints' true 3D in place
  of their 2D); estimate and estimate_single with
  `eval.mask_below_confidence` > 0 read `pose2d_confidence` and mask the
  joints below it (rows without the field: nothing, their results'
  `confidence_field` says so); denoise and generate read no 2D; the
  others read the 2D alone."""
  if task in ESTIMATE_TASKS:
    threshold = run.eval_options.mask_below_confidence
    if threshold <= 0.0:
      return inputs.Reads()
    return inputs.Reads(
        uncertainty=f"{CONFIDENCE} ({CONFIDENCE_KIND})",
        masks=f"joints whose {CONFIDENCE} < {threshold:g} (a row's most "
              "confident joint kept)")
  if task not in ("complete2d", "complete3d"):
    # denoise and generate read no 2D (a noisy 3D pose; nothing).
    return inputs.Reads(reads_2d=task not in ("denoise", "generate"))
  masked = [f"{what} limb-end joint(s) drawn per row" if kind == "joints"
            else f"part {what}"
            for kind, what in run.task_options[task].settings()]
  given = "2D" if task == "complete2d" else "true 3D, in place of the 2D"
  return inputs.Reads(masks=f"{' / '.join(masked)} (one setting at a time); "
                            f"the visible joints' {given}",
                      reads_2d=task == "complete2d")


def _complete(trained, complete, ctx: EvalContext, *, space: str
              ) -> TaskResult:
  model, opts = trained.model, trained.run.eval_options
  n, h = ctx.num_poses, opts.num_hypotheses
  spec = complete.sampler or opts.sampler
  skeleton = model.representation.skeleton
  # one program for all
  sampler = model.make_sampler(spec, opts.num_steps, eps=opts.eps)
  box, box_info = model_lib.x0_range(trained, ctx.train)
  if space == "2d":
    make_problem = lambda c: problems.estimation_problem(c["pose2d"], visible=c["visible"])
  else:
    make_problem = lambda c: problems.completion_problem(c["pose3d"], c["visible"])
  name_of_task = f"complete{space}"
  settings, rows, plots = [], [], []
  for i, (kind, what) in enumerate(complete.settings()):
    k_mask, k_sample = jax.random.split(jax.random.fold_in(ctx.key, i))
    if kind == "joints":
      vis = completion.draw_missing_joints(k_mask, n, what, skeleton)
      name = f"{what} limb-end joint(s)"
    else:
      vis = completion.part_visibility(n, what, skeleton)
      name = f"part {what}"
    hyps = model.sample_rows(
        sampler, trained.params, k_sample, make_problem,
        {"pose2d": ctx.test["pose2d"], "pose3d": ctx.test["pose3d"], "visible": vis},
        num_hypotheses=h, chunk_size=_chunk(opts, n),
        desc=f"{name_of_task} ({name})", x0_range=box)
    hyps_mm = model.to_mm(hyps, ctx.test)
    res = completion.completion_metrics(hyps_mm, ctx.test["pose3d_mm"], vis)
    res.update(missing=kind, missing_value=what, name=name)
    settings.append(res)
    rows.append((f"{name}: missing mean / best-of-{h}",
                 (res["missing_mpjpe_mm"], res["missing_min_mpjpe_mm"])))
    rows.append((f"{name}: all joints mean / best-of-{h}",
                 (res["all_mpjpe_mm"], res["all_min_mpjpe_mm"])))
    if i == 0:
      plots = estimation.plot_hypothesis_fans(
          ctx, hyps_mm, f"{name_of_task}, {name} missing: {h} hypotheses")
  return TaskResult(figures=dict(settings=settings, eps=opts.eps,
                                 x0_range=box_info), table=rows,
                    num_poses=n, num_hypotheses=h, sampler=spec,
                    num_steps=opts.num_steps, plots=plots)


@TASKS.register("complete2d", options=options_lib.CompleteOptions,
                formerly=options_lib.FORMERLY["complete2d"])
def complete2d(trained, opts, ctx: EvalContext) -> TaskResult:
  """k missing limb-end joints or a whole body part completed from the
  visible joints' 2D; errors on the missing joints only, and over all."""
  return _complete(trained, opts, ctx, space="2d")


@TASKS.register("complete3d", options=options_lib.CompleteOptions,
                formerly=options_lib.FORMERLY["complete3d"])
def complete3d(trained, opts, ctx: EvalContext) -> TaskResult:
  """As `complete2d`, from the visible joints' 3D (imputed)."""
  return _complete(trained, opts, ctx, space="3d")


@TASKS.register("denoise", options=options_lib.DenoiseOptions,
                formerly=options_lib.FORMERLY["denoise"])
def denoise(trained, denoising, ctx: EvalContext) -> TaskResult:
  """Noisy ground truth (mm) cleaned from t = eval.denoise.t_start."""
  from jaxpose import plotting
  model, opts = trained.model, trained.run.eval_options
  n = ctx.num_poses
  t_start = denoising.t_start  # above eps: checked with the options
  steps = denoising.num_steps
  if steps <= 0:  # the step size of the full grid over the shorter interval
    full = denoising.full_grid_steps or opts.num_steps
    steps = max(1, int(round(full * (t_start - opts.eps) / (1.0 - opts.eps))))
  sampler = model.make_sampler(denoising.sampler, steps, eps=opts.eps)
  box, box_info = model_lib.x0_range(trained, ctx.train)
  gt_mm = ctx.test["pose3d_mm"]
  meta = image_space.camera_meta(ctx.test)  # the "image" space's cameras
  settings, rows, plots = [], [], []
  i = 0
  for noise_type in denoising.noise_types:
    for level in denoising.noise_levels_mm:
      k_noise, k_sample = jax.random.split(jax.random.fold_in(ctx.key, i))
      noisy_mm = completion.add_pose_noise(k_noise, gt_mm, noise_type, level)
      noisy = np.asarray(model.representation.pose3d_to_model(noisy_mm, meta),
                         np.float32)
      out = model.sample_rows(
          sampler, trained.params, k_sample,
          lambda c: problems.denoising_problem(c["pose3d"], t_start=t_start),
          {"pose3d": noisy}, num_hypotheses=1, chunk_size=_chunk(opts, n),
          desc=f"denoise ({noise_type} {level} mm)", x0_range=box)
      out_mm = model.to_mm(out, ctx.test)[0]
      before = float(np.mean(metrics_lib.mpjpe(noisy_mm, gt_mm)))
      after = float(np.mean(metrics_lib.mpjpe(out_mm, gt_mm)))
      settings.append(dict(
          noise_type=noise_type, noise_level_mm=level, mpjpe_before_mm=before,
          mpjpe_after_mm=after,
          pa_mpjpe_after_mm=float(np.mean(metrics_lib.pa_mpjpe(out_mm, gt_mm)))))
      rows.append((f"{noise_type} {level:g} mm: before / after", (before, after)))
      m = min(ctx.config.plot_poses, n)
      if i == 0 and m > 0:  # eval.plot_poses=0: no examples drawn
        poses = np.stack([gt_mm[:m], noisy_mm[:m], out_mm[:m]], 1)
        path, name = ctx.plot_path("examples")
        plotting.plot_poses_3d(poses.reshape(-1, *gt_mm.shape[1:]),
                               titles=["truth", "noisy", "denoised"] * m,
                               ncols=3, up="-y", path=path)
        plots.append(name)
      i += 1
  return TaskResult(figures=dict(settings=settings, t_start=t_start, eps=opts.eps,
                                 x0_range=box_info),
                    table=rows, num_poses=n, num_hypotheses=1,
                    sampler=denoising.sampler, num_steps=steps, plots=plots)


@TASKS.register("generate", options=options_lib.GenerateOptions,
                formerly=options_lib.FORMERLY["generate"])
def generate(trained, generating, ctx: EvalContext) -> TaskResult:
  """Unconditional samples against held-out real poses, with real-vs-real
  and training-vs-real rows beside them."""
  from jaxpose import plotting
  model, opts = trained.model, trained.run.eval_options
  real = np.asarray(ctx.splits["test"]["pose3d_mm"], np.float32)
  if len(real) < 4:
    raise ValueError(f"generate: need at least 4 held-out poses, got {len(real)}")
  k_split, k_sample = jax.random.split(ctx.key)
  perm = np.asarray(jax.random.permutation(k_split, len(real)))
  half = len(real) // 2
  ref, other = real[perm[:half]], real[perm[half:2 * half]]  # disjoint halves
  n_gen = generating.num or half
  joints = model.representation.num_joints
  box, box_info = model_lib.x0_range(trained, ctx.train)
  samples = model.sample_rows(
      model.make_sampler(opts.sampler, opts.num_steps, eps=opts.eps),
      trained.params, k_sample,
      lambda c: problems.generation_problem(c["index"].shape[0], joints),
      {"index": np.arange(n_gen)}, num_hypotheses=1,
      chunk_size=min(generating.batch, n_gen), desc="generate",
      x0_range=box)
  gen = model.to_mm(samples)[0]  # [n_gen, J, 3]; nominal camera
  # Training poses scored the same way: what a perfect model of the training
  # distribution would get. Where train and test differ (other people and
  # activities, as in jaxpose-mocap) the generated row should approach this
  # one, not real-vs-real.
  train = np.asarray(ctx.train["pose3d_mm"], np.float32)
  pick = np.asarray(jax.random.choice(jax.random.fold_in(k_split, 1), len(train),
                                      (min(n_gen, len(train)),), replace=False))
  figures = dict(generated=generative.generation_figures(gen, ref),
                 real_vs_real=generative.generation_figures(other, ref),
                 train_vs_real=generative.generation_figures(train[pick], ref),
                 num_generated=n_gen, num_real_reference=half, eps=opts.eps,
                 x0_range=box_info)
  path, name = ctx.plot_path("samples")
  plotting.plot_poses_3d(gen[:min(8, n_gen)], ncols=4, up="-y", path=path)
  g, t, r = figures["generated"], figures["train_vs_real"], figures["real_vs_real"]
  rows = [(f"{label}: generated / train / real", (g[k], t[k], r[k])) for label, k in
          (("APD", "apd_mm"), ("Frechet distance sqrt", "fd_sqrt_mm"),
           ("nearest-neighbour MPJPE", "nn_mpjpe_mm"))]
  return TaskResult(figures=figures, table=rows, num_poses=n_gen, num_hypotheses=1,
                    sampler=opts.sampler, num_steps=opts.num_steps, plots=[name])
