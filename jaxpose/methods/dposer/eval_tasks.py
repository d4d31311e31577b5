"""DPoser's evaluation tasks, registered in `TASKS`: each
`task(trained, options, ctx) -> TaskResult`, options being its own
(`config.eval.<task>`, `options`), the shared ones `trained.run.eval_options`.

  complete        a masked body part's rotations from the visible ones;
                  best-of-H and the mean, error on the joints the masked
                  rotations move (and MPVPE with a body model)
  denoise_motion  60-frame windows with Gaussian noise on joint positions
                  (`fitting.denoise_motion`)
  fit2d           rotations, root and camera translation fitted to 2D
                  keypoints (`fitting.fit2d`)
  generate        prior samples against held-out real poses

Every table has a row per prior of `eval.priors` (`priors.KINDS`): no
prior, the Gaussian mixture, a joint prior (GFPose's, when
`eval.gfpose_workdir` names one) and DPoser.
"""
from __future__ import annotations

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np

from jaxpose.core import gmm as gmm_lib
from jaxpose.core import regulariser
from jaxpose.evaluation import calibration
from jaxpose.evaluation import chunks
from jaxpose.evaluation import completion
from jaxpose.evaluation import generative
from jaxpose.evaluation import inputs
from jaxpose.evaluation import novelty as novelty_lib
from jaxpose.evaluation.runner import EvalContext, TaskResult
from jaxpose.methods import tasks
from jaxpose.methods.dposer import body as body_lib
from jaxpose.methods.dposer import fitting
from jaxpose.methods.dposer import options as options_lib
from jaxpose.methods.dposer import priors as priors_lib
from jaxpose.methods.dposer import tto
from jaxpose.pose import joint_maps
from jaxpose.pose.skeleton import H36M_17, SMPL_22
from jaxpose.training import holdout as holdout_lib

TASKS = tasks.Tasks()
denoise_motion = TASKS.register(
    "denoise_motion", options=options_lib.DenoiseMotionOptions,
    formerly=options_lib.FORMERLY["denoise_motion"])(fitting.denoise_motion)
fit2d = TASKS.register("fit2d", options=options_lib.Fit2DOptions,
                       formerly=options_lib.FORMERLY["fit2d"])(fitting.fit2d)


def test_inputs(run, task: str) -> inputs.Reads:
  """What `task` reads of each test row: fit2d its 2D keypoints and the
  intrinsics that project the fitted body; complete the visible joints'
  true rotations, one masked part at a time; denoise_motion a noisy 3D
  motion and generate nothing, neither any 2D."""
  if task == "fit2d":
    return inputs.Reads(camera="intrinsics (fx, fy, cx, cy), to project "
                               "the fitted body")
  if task == "complete":
    parts = " / ".join(run.task_options[task].parts)
    return inputs.Reads(
        masks=f"part {parts} (one at a time); the visible joints' true "
              "rotations", reads_2d=False)
  return inputs.Reads(reads_2d=False)


def make_completion_solver(prior, zscore: body_lib.ZScore, *, num_steps: int,
                           learning_rate: float):
  """jit(vmap(solve)): `solve(z0, observed, masked, key) -> body pose [63]`.

  The masked dimensions are optimised (in z-scored units, from z0) under
  the prior alone; the visible ones stay exactly the observed values.
  """
  def solve(z0, observed, masked, key):
    def pose_of(z):
      return jnp.where(masked, zscore.unstandardize(z), observed)

    def objective(z, k, i):
      return prior(pose_of(z)[None], k, i, num_steps)

    z, _ = tto.adam_loop(objective, num_steps, learning_rate)(z0, key)
    return pose_of(z)

  return tto.batched(solve)


def make_released_completion_solver(prior, zscore: body_lib.ZScore, *,
                                    num_steps: int, stages: int,
                                    learning_rate: float,
                                    loss_scale: float = 1.0,
                                    replay: bool = False):
  """jit(vmap(solve)): the authors' released completion objective.

  Every dimension of z (z-scored units) is optimised by one Adam over
  `stages` stages k of num_steps / stages steps under
  100 / (1 + k) x mean((z - z_obs)^2 on the visible dimensions) +
  0.1 (k + 1) x prior; the visible dimensions of the result are then the
  observed ones (DPoser's `DPoserComp.optimize`, time strategy '3').

  Args:
    prior: a `priors` term (DPoser's with the schedule
      `TimeSchedule.truncated(t_max, t_min, hit_t_max=False)` for theirs).
    zscore: the body's normalisation.
    num_steps, stages, learning_rate: the Adam loop (theirs: 200, 2, 0.1).
    loss_scale: each example's loss times this; the authors' loss is a
      mean over the B rows optimised together, 1/B here (Adam's epsilon
      then sees their gradient sizes).
    replay: `solve` takes one more argument, `noise` [num_steps, 63], the
      regulariser's draws z, step by step (instead of the key's).

  Returns:
    `solve(z0, observed, masked, key[, noise]) -> body pose [63]` over a
    leading example axis: z0 the masked dimensions' start (z-scored),
    observed the body pose (radians), masked a boolean [63].
  """
  if num_steps % stages:
    raise ValueError(f"num_steps={num_steps}: not a multiple of "
                     f"stages={stages}")
  per_stage = num_steps // stages

  def solve(z0, observed, masked, key, noise=None):
    z_obs = zscore.standardize(observed)  # [63]
    visible = jnp.where(masked, 0.0, 1.0)

    def objective(z, k, i):
      stage = (i // per_stage).astype(jnp.float32)
      data = jnp.mean(jnp.square(visible * z - visible * z_obs))
      draw = noise[i][None] if replay else k
      reg = prior(zscore.unstandardize(z)[None], draw, i, num_steps)
      return loss_scale * (100.0 * data / (1.0 + stage)
                           + 0.1 * reg * (stage + 1.0))

    z_init = jnp.where(masked, z0, z_obs)
    z, _ = tto.adam_loop(objective, num_steps, learning_rate)(z_init, key)
    return jnp.where(masked, zscore.unstandardize(z), observed)

  if replay:
    return tto.batched(solve)
  return tto.batched(lambda z0, observed, masked, key: solve(
      z0, observed, masked, key))


def _completion_solver(prior, zscore, opts: options_lib.CompleteOptions,
                       batch_size: int):
  """The solver of `eval.complete.objective` for one prior."""
  if opts.objective == "dposer_released":
    return make_released_completion_solver(
        prior, zscore, num_steps=opts.steps, stages=opts.stages,
        learning_rate=opts.lr, loss_scale=1.0 / batch_size)
  return make_completion_solver(prior, zscore, num_steps=opts.steps,
                                learning_rate=opts.lr)


def completion_schedule(opts: options_lib.CompleteOptions
                        ) -> regulariser.TimeSchedule:
  """The truncated schedule of `eval.complete.t` (the authors' grid with
  the 'dposer_released' objective)."""
  return regulariser.TimeSchedule.truncated(
      *opts.t, hit_t_max=opts.objective != "dposer_released")


@TASKS.register("complete", options=options_lib.CompleteOptions,
                formerly=options_lib.FORMERLY["complete"])
def complete(trained, opts: options_lib.CompleteOptions,
             ctx: EvalContext) -> TaskResult:
  """A masked part's rotations from the visible ones, under each prior."""
  model, shared = trained.model, trained.run.eval_options
  body, zscore = model.body, model.zscore
  n, h = ctx.num_poses, opts.hypotheses
  gt = np.asarray(ctx.test["body_pose"], np.float32)  # [N, 63]
  gt_joints = np.asarray(body.joints(gt), np.float32)  # [N, 22, 3]
  gt_verts = body.vertices(gt)
  schedule = completion_schedule(opts)
  notes: list[str] = []
  rows, settings, plots = [], [], []
  k_init, k_solve = jax.random.split(ctx.key)
  priors = priors_lib.PriorSet(trained, shared, ctx.train)
  # The predictions (what --mode=calibrate fits and evaluation applies a
  # calibration to): DPoser's own prior on the first part, moved joints.
  own = "dposer" if "dposer" in shared.priors else shared.priors[-1]
  predictions, predictions_of = None, None
  for kind, prior in priors.rows(shared.priors, schedule, notes):
    solver = _completion_solver(prior, zscore, opts, shared.batch_size)
    for p, part in enumerate(opts.parts):
      masked = body_lib.part_dims(body_lib.PARTS[part])  # [63]
      moved = body_lib.descendants(body_lib.PARTS[part])
      visible = np.ones((n, SMPL_22.num_joints), np.float32)
      visible[:, list(moved)] = 0.0
      # The same initial draws for every prior; no prior keeps the training
      # mean (z = 0), the best fill without one.
      z0 = np.asarray(jax.random.normal(jax.random.fold_in(k_init, p),
                                        (h * n, body_lib.DIM)), np.float32)
      if kind == "none":
        z0 = np.zeros_like(z0)
      poses = tto.map_examples(
          solver, dict(z0=z0, observed=np.tile(gt, (h, 1)),
                       masked=np.broadcast_to(masked, (h * n, body_lib.DIM))),
          jax.random.fold_in(k_solve, p), batch_size=shared.batch_size,
          desc=f"complete {part} ({kind})").reshape(h, n, body_lib.DIM)
      joints = np.asarray(body.joints(poses), np.float32)  # [H, N, 22, 3]
      res = completion.completion_metrics(joints, gt_joints, visible)
      res.update(prior=kind, part=part, moved_joints=[SMPL_22.joint_names[j]
                                                       for j in moved])
      if h > 1 and kind != "none":
        res["calibration"] = calibration.calibration_metrics(
            joints[:, :, list(moved)], gt_joints[:, list(moved)])
      if kind == own and p == 0:
        predictions = dict(hypotheses_mm=joints[:, :, list(moved)],
                           pose3d_mm=gt_joints[:, list(moved)],
                           novelty_mm=_visible_novelty(trained, ctx, gt_joints, moved))
        predictions_of = f"prior {kind}, part {part}, moved joints"
      if gt_verts is not None:
        verts = np.asarray(body.vertices(poses), np.float32)  # [H, N, V, 3]
        err = np.linalg.norm(verts - np.asarray(gt_verts)[None], axis=-1).mean(-1)
        res.update(mpvpe_mean_hypothesis_mm=float(err.mean()),
                   mpvpe_min_mm=float(err.min(0).mean()))
      settings.append(res)
      rows.append((f"{part}, {kind}: missing mean / best-of-{h}",
                   (res["missing_mpjpe_mm"], res["missing_min_mpjpe_mm"])))
      if kind == shared.priors[-1] and p == 0:
        plots = _plot_completion(ctx, gt_joints, joints, part)
  return TaskResult(figures=dict(settings=settings, notes=notes,
                                 complete_t=list(opts.t),
                                 objective=opts.objective,
                                 optimiser=dict(steps=opts.steps, lr=opts.lr),
                                 predictions_of=predictions_of),
                    table=rows, num_poses=n, num_hypotheses=h, plots=plots,
                    predictions=predictions)


def _visible_novelty(trained, ctx: EvalContext, gt_joints, moved) -> np.ndarray:
  """[N] how far each row's visible joints lie from the same joints of the
  training poses the model learnt from (`novelty.knn_distance`, mm per
  joint; the root, at the origin in every pose, left out); NaN when the
  evaluation has too few training rows (a test file alone)."""
  shown = [j for j in range(1, SMPL_22.num_joints) if j not in set(moved)]
  train = holdout_lib.trained_on({"body_pose": ctx.train["body_pose"]},
                                 trained.prepared)["body_pose"]
  if len(train) < novelty_lib.K:
    logging.info("novelty: %d training rows at hand; NaN", len(train))
    return np.full(len(gt_joints), np.nan)
  # In chunks: with a mesh model every pose also poses its vertices.
  joints_of = jax.jit(lambda pose: trained.model.body.joints(pose))
  train_joints = chunks.map_chunks(
      lambda chunk, _: joints_of(chunk["pose"]),
      {"pose": np.asarray(train, np.float32)}, chunk_size=2048,
      desc="novelty: the training poses' joints")
  return novelty_lib.knn_distance(np.asarray(gt_joints)[:, shown],
                                  np.asarray(train_joints, np.float32)[:, shown])


def _plot_completion(ctx, gt_joints, joints, part) -> list[str]:
  from jaxpose import plotting
  m = min(ctx.config.plot_poses, gt_joints.shape[0])
  k = min(max(ctx.config.plot_hypotheses, 1), joints.shape[0])
  if m == 0:
    return []
  poses = np.concatenate([gt_joints[:m, None], np.moveaxis(joints[:k, :m], 0, 1)], 1)
  path, name = ctx.plot_path("examples")
  plotting.plot_poses_3d(priors_lib.frontal_view(poses.reshape(-1, *gt_joints.shape[1:])),
                         skeleton=SMPL_22,
                         titles=(["truth"] + [f"{part} #{i + 1}" for i in range(k)]) * m,
                         ncols=k + 1, up="-y", path=path)
  return [name]


def _h36m_canonical(body, poses) -> np.ndarray:
  """Body poses [N, 63] -> Human3.6M joints in their torso frame, mm."""
  joints17 = body.h36m(body.joints(np.asarray(poses, np.float32)))
  return np.asarray(joint_maps.to_torso_frame(joints17, H36M_17), np.float32)


@TASKS.register("generate", options=options_lib.GenerateOptions,
                formerly=options_lib.FORMERLY["generate"])
def generate(trained, opts: options_lib.GenerateOptions,
             ctx: EvalContext) -> TaskResult:
  """Samples of each prior against held-out real poses.

  Poses are compared as Human3.6M joints in each pose's own torso frame
  (`joint_maps.to_torso_frame`), so samples of a joint prior (GFPose, in a
  camera frame) and of rotation priors meet on equal terms.
  """
  from jaxpose import plotting
  model, shared = trained.model, trained.run.eval_options
  priors = priors_lib.PriorSet(trained, shared, ctx.train)
  body, zscore = model.body, model.zscore
  real = np.asarray(ctx.splits["test"]["body_pose"], np.float32)
  # Data seen by several cameras repeats each frame's body pose; a pose
  # set counts each once (else the real halves share poses).
  real = real[np.sort(np.unique(real, axis=0, return_index=True)[1])]
  if len(real) < 4:
    raise ValueError(f"generate: need at least 4 held-out poses, got {len(real)}")
  k_split, k_sample = jax.random.split(ctx.key)
  perm = np.asarray(jax.random.permutation(k_split, len(real)))
  half = len(real) // 2
  ref = _h36m_canonical(body, real[perm[:half]])
  other = _h36m_canonical(body, real[perm[half:2 * half]])
  train = np.asarray(ctx.train["body_pose"], np.float32)
  pick = np.asarray(jax.random.choice(jax.random.fold_in(k_split, 1), len(train),
                                      (min(half, len(train)),), replace=False))
  n = min(opts.num, 4 * half)
  notes: list[str] = []
  figures = {"real_vs_real": generative.generation_figures(other, ref),
             "train_vs_real": generative.generation_figures(
                 _h36m_canonical(body, train[pick]), ref)}
  samples = {}
  for i, kind in enumerate(shared.priors):
    key = jax.random.fold_in(k_sample, i)
    if kind == "none":  # independent Gaussians per dimension: no structure
      poses = zscore.unstandardize(np.asarray(jax.random.normal(key, (n, body_lib.DIM))))
      samples[kind] = _h36m_canonical(body, poses)
    elif kind == "gmm":
      poses = zscore.unstandardize(np.asarray(gmm_lib.gmm_sample(key, priors.gmm, n)))
      samples[kind] = _h36m_canonical(body, poses)
    elif kind == "dposer":
      samples[kind] = _h36m_canonical(body, model.sample_body_poses(
          trained.params, key, n, spec=opts.sampler, num_steps=opts.steps))
    elif kind == "gfpose":
      if priors.joint_prior is None:
        notes.append("gfpose: left out (set eval.gfpose_workdir)")
        continue
      samples[kind] = np.asarray(joint_maps.to_torso_frame(
          priors.joint_prior.sample(key, n), H36M_17), np.float32)
    figures[kind] = generative.generation_figures(samples[kind], ref)
  rows = []
  for label, k in (("APD", "apd_mm"), ("Frechet distance sqrt", "fd_sqrt_mm"),
                   ("nearest-neighbour MPJPE", "nn_mpjpe_mm")):
    kinds = [kd for kd in shared.priors if kd in figures]
    rows.append((f"{label}: {' / '.join(kinds)} / train / real",
                 tuple(figures[kd][k] for kd in kinds)
                 + (figures["train_vs_real"][k], figures["real_vs_real"][k])))
  figures.update(num_generated=n, num_real_reference=half, notes=notes,
                 frame="Human3.6M joints in each pose's torso frame",
                 sampler=opts.sampler)
  plots = []
  if "dposer" in samples:
    path, name = ctx.plot_path("samples")
    plotting.plot_poses_3d(priors_lib.frontal_view(samples["dposer"][:min(8, n)]),
                           ncols=4, up="-y", path=path)
    plots.append(name)
  return TaskResult(figures=figures, table=rows, num_poses=n, num_hypotheses=1,
                    sampler=opts.sampler, num_steps=opts.steps,
                    plots=plots)


__all__ = ["TASKS", "complete", "denoise_motion", "fit2d", "generate",
           "make_completion_solver", "make_released_completion_solver",
           "completion_schedule"]
