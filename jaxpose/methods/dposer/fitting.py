"""DPoser's fitting tasks: motion denoising and fitting to 2D keypoints.

Both optimise, per example, a body pose (radians), a root orientation
(axis-angle) and a translation (metres, so that one Adam learning rate
suits every variable) under a data term plus `weight * prior` (`priors`),
in one compiled Adam loop vmapped over examples (`tto`).

  denoise_motion  windows of `eval.denoise_motion.window` frames of the test
                  clips (`data.windows.clip_windows`, never across a clip or
                  a gap), Gaussian noise of sigma mm per coordinate on every
                  joint; data and temporal terms (`motion_terms`); each
                  frame posed on its clip's own skeleton; the weights fixed,
                  annealed as the authors' code does, or their whole recipe
                  (`eval.denoise_motion.weight_schedules`,
                  `schedule.denoise_recipe`).  MPJPE before and after, and
                  the time-schedule ablation.
  fit2d           rotations, root and camera-frame translation of each test
                  row fitted to its 17 2D keypoints (pixels, the row's
                  intrinsics) with the Geman-McClure robust penalty, the
                  prior weight staged high -> low, from four starts turned
                  about the vertical by quarters (the lowest final
                  reprojection loss wins); scored like every estimation
                  method (MPJPE / PA-MPJPE of the regressed Human3.6M joints).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxpose import settings as settings_lib
from jaxpose.core import regulariser
from jaxpose.data import windows as windows_lib
from jaxpose.evaluation import estimation
from jaxpose.evaluation.runner import EvalContext, TaskResult
from jaxpose.methods.dposer import body as body_lib
from jaxpose.methods.dposer import options as options_lib
from jaxpose.methods.dposer import priors as priors_lib
from jaxpose.methods.dposer import schedule as schedule_lib
from jaxpose.methods.dposer import tto
from jaxpose.pose import joint_maps
from jaxpose.pose import metrics as metrics_lib
from jaxpose.pose import rotations
from jaxpose.pose.skeleton import H36M_17, SMPL_22

_MM = 1000.0  # translation variables are metres
_DATA_SCALE_MM = 100.0  # joint residuals in units of 10 cm: O(1) data terms


def _rest_torso(body: body_lib.BodyJoints) -> np.ndarray:
  """Torso axes of the canonical rest pose in body axes, [3, 3]."""
  rest = np.asarray(body.joints(np.zeros((1, body_lib.DIM), np.float32)))[0]
  return np.asarray(joint_maps.torso_frame(rest, **joint_maps.torso_joints(SMPL_22)))


def root_from_joints(body: body_lib.BodyJoints, joints22) -> np.ndarray:
  """Root orientations [..., 3] that turn the rest torso onto these joints'."""
  frame = np.asarray(joint_maps.torso_frame(
      np.asarray(joints22, np.float64), **joint_maps.torso_joints(SMPL_22)))
  rot = frame @ _rest_torso(body).T  # body axes -> the joints' frame
  return np.asarray(rotations.matrix_to_axis_angle(rot, xp=np), np.float32)


def motion_terms(joints, noisy, weight_schedule: str = "fixed"):
  """(data, temporal) terms of motion denoising, joints and noisy [T, J, 3] mm.

  jaxpose's ('fixed', 'annealed'): the mean squared joint distance to the
  noisy joints and the mean squared joint displacement between frames, in
  units of 10 cm.  'released': the released script's (run/motion_
  denoising.py), the same means of the unsquared distances in metres; its
  temporal term is over the SMPL-X mesh's vertices, here over the joints
  (jaxpose poses joints, not a mesh).
  """
  settings_lib.one_of("weight_schedule", weight_schedule,
                      schedule_lib.DENOISE_WEIGHT_SCHEDULES)
  residual = joints - noisy
  velocity = joints[1:] - joints[:-1]
  if weight_schedule != "released":
    s2 = _DATA_SCALE_MM ** 2
    return (jnp.mean(jnp.sum(jnp.square(residual), -1)) / s2,
            jnp.mean(jnp.sum(jnp.square(velocity), -1)) / s2)

  def distance_m(v):  # eps: the gradient stays finite at 0 (a joint at rest)
    return jnp.sqrt(jnp.sum(jnp.square(v), -1) + _EPS_MM2) / _MM

  return jnp.mean(distance_m(residual)), jnp.mean(distance_m(velocity))


_EPS_MM2 = 1e-6


def make_motion_solver(prior, body: body_lib.BodyJoints, *, num_steps: int,
                       learning_rate: float, prior_weight: float,
                       smooth_weight: float, init_pose,
                       weight_schedule: str = "fixed", num_stages: int = 1):
  """jit(vmap(solve)): `solve(noisy, root0, lengths, key) -> joints [T, 22, 3]`.

  noisy: [T, 22, 3] mm (window frame); root0: [T, 3] initial root
  orientations; lengths: [22] the clip's bone lengths (ignored with a body
  model); init_pose: [63] the initial body pose of every frame.  The data,
  temporal and prior weights are multiplied at each step by
  `schedule.denoise_weight_factors(weight_schedule, stage)`, the stage one
  of `num_stages` equal runs of the steps ('fixed': by 1 throughout;
  'released': the authors' weights on their terms, `motion_terms`, where
  `smooth_weight` does not enter).
  """
  init_pose = jnp.asarray(init_pose, jnp.float32)
  if weight_schedule == "released":
    smooth_weight = 1.0

  def solve(noisy, root0, lengths, key):
    def joints_of(v):
      return body.joints(v["pose"], v["root"], v["trans"] * _MM, bone_lengths=lengths)

    def objective(v, k, i):
      data, smooth = motion_terms(joints_of(v), noisy, weight_schedule)
      f = schedule_lib.denoise_weight_factors(
          weight_schedule, schedule_lib.denoise_stage(i, num_steps, num_stages))
      return (f["data"] * data + f["smooth"] * smooth_weight * smooth
              + f["prior"] * prior_weight * prior(v["pose"], k, i, num_steps))

    t = noisy.shape[0]
    v0 = {"pose": jnp.broadcast_to(init_pose, (t, body_lib.DIM)), "root": root0,
          "trans": noisy[:, 0] / _MM}
    v, _ = tto.adam_loop(objective, num_steps, learning_rate)(v0, key)
    return joints_of(v)

  return tto.batched(solve)


def _test_windows(ctx, length: int, max_windows: int):
  test = ctx.splits["test"]
  if "clip" not in test or "frame" not in test:
    raise ValueError(f"denoise_motion: the test split of {ctx.data_name!r} "
                     "has no clip/frame ids (synthetic data: set data.clip_frames)")
  # One row per frame: data viewed by several cameras repeats each frame.
  key = np.unique(np.asarray(test["clip"]), return_inverse=True)[1].reshape(-1)
  key = key.astype(np.int64) * (int(np.max(test["frame"])) + 1) + test["frame"]
  rows = np.sort(np.unique(key, return_index=True)[1])
  idx = windows_lib.clip_windows(test["clip"][rows], test["frame"][rows], length,
                                 skip_short=True)
  idx = rows[idx]
  if len(idx) == 0:
    raise ValueError(f"eval.denoise_motion.window={length}: every test clip "
                     "is shorter than the window; use a shorter window")
  if max_windows and len(idx) > max_windows:
    idx = idx[np.linspace(0, len(idx) - 1, max_windows).astype(int)]
  return idx  # [W, T]


def denoise_motion(trained, opts: options_lib.DenoiseMotionOptions,
                   ctx: EvalContext) -> TaskResult:
  """Windows of test motion with Gaussian noise on the joints, fitted under
  each prior; the schedule ablation at the middle noise level."""
  from jaxpose import plotting
  model, shared = trained.model, trained.run.eval_options
  body = model.body
  priors = priors_lib.PriorSet(trained, shared, ctx.train)
  test = ctx.splits["test"]
  idx = _test_windows(ctx, opts.window, opts.max_windows)  # [W, T]
  w, t = idx.shape
  lengths = np.asarray(test["body_bone_lengths"][idx[:, 0]], np.float32)  # [W, 22]
  trans = np.asarray(test["body_trans"][idx], np.float32)
  trans = trans - trans[:, :1]  # each window starts at the origin
  gt = np.asarray(body.joints(test["body_pose"][idx], test["body_root_orient"][idx],
                              trans, bone_lengths=lengths[:, None]), np.float32)
  notes: list[str] = []
  settings, rows, ablation = [], [], []
  plots = []
  mid = opts.noise_mm[len(opts.noise_mm) // 2]

  # One compiled program per (prior, time schedule, weight schedule,
  # recipe): for every level but with 'released' weights, whose recipe is
  # the level's; the ablation runs with the first weight schedule.
  solvers = {}
  weighting = opts.weight_schedules[0]

  def run(kind, prior, sigma, noisy, root0, key, recipe, schedule_kind="truncated",
          weights=weighting):
    name = (kind, schedule_kind, weights, recipe)
    if name not in solvers:
      solvers[name] = make_motion_solver(
          prior, body, num_steps=recipe.num_steps, learning_rate=recipe.learning_rate,
          prior_weight=priors_lib.prior_weight(opts.weights, kind),
          smooth_weight=opts.smooth_weight, init_pose=model.zscore.mean,
          weight_schedule=weights, num_stages=recipe.num_stages)
    solver = solvers[name]
    return tto.map_examples(
        solver, dict(noisy=noisy, root0=root0, lengths=lengths), key,
        batch_size=max(1, shared.batch_size // t),
        desc=f"denoise {sigma:g} mm ({kind}, {schedule_kind}, {weights} weights)")

  for i, sigma in enumerate(opts.noise_mm):
    k_noise, k_fit = jax.random.split(jax.random.fold_in(ctx.key, i))
    noisy = gt + sigma * np.asarray(jax.random.normal(k_noise, gt.shape), np.float32)
    root0 = root_from_joints(body, noisy)  # [W, T, 3]
    before = float(np.mean(metrics_lib.mpjpe(noisy, gt)))
    for weights in opts.weight_schedules:
      recipe = schedule_lib.denoise_recipe(weights, sigma, opts)
      truncated = regulariser.TimeSchedule.truncated(*recipe.t_range)
      for kind, prior in priors.rows(shared.priors, truncated,
                                     notes if weights == weighting else [],
                                     form=schedule_lib.denoise_prior_form(weights)):
        fitted = run(kind, prior, sigma, noisy, root0, k_fit, recipe, weights=weights)
        after = float(np.mean(metrics_lib.mpjpe(fitted, gt)))
        settings.append(dict(noise_mm=sigma, prior=kind, weights=weights,
                             mpjpe_before_mm=before, mpjpe_after_mm=after,
                             accel_after_mm=_accel(fitted), accel_truth_mm=_accel(gt),
                             steps=recipe.num_steps, t_range=list(recipe.t_range)))
        label = kind if weights == "fixed" else f"{kind}, {weights} weights"
        rows.append((f"{sigma:g} mm, {label}: before / after", (before, after)))
        if (sigma == mid and kind == shared.priors[-1] and weights == weighting
            and ctx.config.plot_poses):
          path, name = ctx.plot_path("examples")
          frames = np.linspace(0, t - 1, 4).astype(int)
          poses = np.stack([gt[0, frames], noisy[0, frames], fitted[0, frames]], 1)
          plotting.plot_poses_3d(poses.reshape(-1, SMPL_22.num_joints, 3),
                                 skeleton=SMPL_22,
                                 titles=["truth", "noisy", kind] * len(frames),
                                 ncols=3, up="z", path=path)
          plots.append(name)
    if sigma == mid and "dposer" in shared.priors:
      recipe = schedule_lib.denoise_recipe(weighting, sigma, opts)
      schedules = schedule_lib.ablation_schedules(recipe.t_range)
      for kind in opts.schedule_ablation:
        main = [s["mpjpe_after_mm"] for s in settings
                if s["prior"] == "dposer" and s["noise_mm"] == sigma
                and s["weights"] == weighting]
        if kind == "truncated" and main:  # the main row: same schedule and keys
          after = main[0]
        else:
          prior = priors.make("dposer", schedules[kind],
                              form=schedule_lib.denoise_prior_form(weighting))
          fitted = run("dposer", prior, sigma, noisy, root0, k_fit, recipe, kind)
          after = float(np.mean(metrics_lib.mpjpe(fitted, gt)))
        ablation.append(dict(noise_mm=sigma, schedule=kind, weights=weighting,
                             t_range=list(recipe.t_range), mpjpe_after_mm=after))
        rows.append((f"{sigma:g} mm, dposer, {kind} schedule: after", after))
  return TaskResult(
      figures=dict(settings=settings, schedule_ablation=ablation, notes=notes,
                   num_windows=w, window=t, denoise_t=list(opts.t),
                   fixed_t=0.5 * sum(opts.t),
                   weight_schedules=list(opts.weight_schedules),
                   stages=opts.stages,
                   optimiser=dict(steps=opts.steps, lr=opts.lr)),
      table=rows, num_poses=w * t, num_hypotheses=1, plots=plots)


def _accel(joints) -> float:
  """Mean joint acceleration, mm per frame^2 (jitter), over [W, T, J, 3]."""
  a = joints[:, 2:] - 2 * joints[:, 1:-1] + joints[:, :-2]
  return float(np.mean(np.linalg.norm(a, axis=-1)))


# Initial root orientations in the camera frame (x right, y down, z
# forward): upright facing the camera (pi about x), turned about the
# vertical by quarters (module docstring).
def _turned(quarters: int) -> np.ndarray:
  yaw = rotations.axis_rotation("Y", quarters * np.pi / 2, xp=np)
  upright = rotations.axis_rotation("X", np.pi, xp=np)
  return np.asarray(rotations.matrix_to_axis_angle(yaw @ upright, xp=np), np.float32)


_ROOT_INITS = np.stack([_turned(q) for q in range(4)])  # [4, 3]
_STAGES = (4.0, 2.0, 1.0)  # prior weight factors over the thirds of the fit


def _project(joints_cam, intrinsics):
  fx, fy, cx, cy = (intrinsics[..., i, None] for i in range(4))
  z = jnp.maximum(joints_cam[..., 2], 1.0)
  return jnp.stack([fx * joints_cam[..., 0] / z + cx,
                    fy * joints_cam[..., 1] / z + cy], -1)


def make_fit2d_solver(prior, body: body_lib.BodyJoints, *, num_steps: int,
                      learning_rate: float, prior_weight: float, sigma_px: float,
                      init_pose):
  """jit(vmap(solve)): `solve(px, intrinsics, root0, trans0, key)` ->
  [17 * 3 + 1]: the camera-frame Human3.6M joints (mm) and the final
  reprojection loss (pixels^2 / sigma^2)."""
  init_pose = jnp.asarray(init_pose, jnp.float32)
  stages = jnp.asarray(_STAGES, jnp.float32)

  def solve(px, intrinsics, root0, trans0, key):
    def joints_of(v):
      return body.h36m(body.joints(v["pose"][None], v["root"][None],
                                   v["trans"][None] * _MM))[0]  # [17, 3]

    def reprojection(v):
      r2 = jnp.sum(jnp.square(_project(joints_of(v), intrinsics) - px), -1)
      return jnp.mean(tto.gmof(r2, sigma_px)) / sigma_px ** 2

    def objective(v, k, i):
      stage = stages[jnp.minimum(3 * i // num_steps, 2)]
      return (reprojection(v)
              + stage * prior_weight * prior(v["pose"][None], k, i, num_steps))

    v0 = {"pose": init_pose, "root": root0, "trans": trans0}
    v, _ = tto.adam_loop(objective, num_steps, learning_rate)(v0, key)
    return jnp.concatenate([joints_of(v).reshape(-1), reprojection(v)[None]])

  return tto.batched(solve)


def _initial_translation(body, px, intrinsics) -> np.ndarray:
  """Camera-frame pelvis (m) from the 2D torso height and the rest skeleton."""
  rest17 = np.asarray(body.h36m(body.joints(np.zeros((1, body_lib.DIM), np.float32))))[0]
  neck, root = H36M_17.index("thorax"), 0
  torso_mm = np.linalg.norm(rest17[neck] - rest17[root])
  torso_px = np.maximum(np.linalg.norm(px[:, neck] - px[:, root], axis=-1), 1.0)
  fx, fy, cx, cy = (intrinsics[:, i] for i in range(4))
  z = fx * torso_mm / torso_px
  x = (px[:, root, 0] - cx) / fx * z
  y = (px[:, root, 1] - cy) / fy * z
  return np.stack([x, y, z], -1).astype(np.float32) / _MM


def _keypoints(ctx, which: str):
  """Pixels [N, 17, 2] of the 'exact' or 'noisy' 2D, or None if absent."""
  test = ctx.test
  screen = test.get(f"pose2d_{which}")
  if screen is None and ctx.input_2d.startswith(which):
    screen = test.get("pose2d")  # the split's own 2D (screen-normalised)
  if screen is None:
    return None
  screen = np.asarray(screen, np.float32)
  if not np.all(np.isfinite(screen)):
    bad = np.flatnonzero(~np.isfinite(screen).all(axis=(1, 2)))
    raise ValueError(f"fit2d: the {which} 2D keypoints of test rows {bad[:5]} are "
                     "not finite (NaN or inf); drop or fill them first")
  w = np.asarray(test["intrinsics"], np.float32)[:, 4:5, None]
  h = np.asarray(test["intrinsics"], np.float32)[:, 5:6, None]
  offset = np.concatenate([np.ones_like(h), h / w], -1)
  return (screen + offset) * w / 2


def fit2d(trained, opts: options_lib.Fit2DOptions,
          ctx: EvalContext) -> TaskResult:
  """Rotations, root and translation fitted to each test row's 2D keypoints
  under each prior; scored as estimation methods are."""
  model, shared = trained.model, trained.run.eval_options
  body = model.body
  n = ctx.num_poses
  intrinsics = np.asarray(ctx.test["intrinsics"], np.float32)
  schedule = regulariser.TimeSchedule.truncated(*opts.t)
  notes: list[str] = []
  settings, rows = [], []
  priors = priors_lib.PriorSet(trained, shared, ctx.train).rows(
      shared.priors, schedule, notes)
  solvers = {kind: make_fit2d_solver(
      prior, body, num_steps=opts.steps, learning_rate=opts.lr,
      prior_weight=priors_lib.prior_weight(opts.weights, kind),
      sigma_px=opts.sigma_px, init_pose=model.zscore.mean)
             for kind, prior in priors}  # one program per prior, every input
  plots = []
  for i, which in enumerate(opts.inputs):
    px = _keypoints(ctx, which)
    if px is None:
      notes.append(f"{which} 2D: not in this test split, left out")
      continue
    trans0 = _initial_translation(body, px, intrinsics)
    k = len(_ROOT_INITS)
    each = lambda a: np.concatenate([a] * k)  # every row once per start
    inputs = dict(px=each(px), intrinsics=each(intrinsics),
                  root0=np.repeat(_ROOT_INITS, n, axis=0), trans0=each(trans0))
    for kind, _ in priors:
      out = tto.map_examples(solvers[kind], inputs, jax.random.fold_in(ctx.key, i),
                               batch_size=shared.batch_size,
                               desc=f"fit2d {which} ({kind})")
      joints = out[:, :-1].reshape(k, n, H36M_17.num_joints, 3)
      loss = out[:, -1].reshape(k, n)
      best = joints[np.argmin(loss, 0), np.arange(n)]  # [N, 17, 3]
      pred_mm = best - best[:, :1]
      figs = estimation.estimation_metrics(
          pred_mm[None], ctx.test["pose3d_mm"], ctx.test["activity"],
          hypotheses_list=(1,), activity_names=ctx.activity_names)
      keep = {k: figs[k] for k in ("mpjpe_mm", "pa_mpjpe_mm", "per_joint_mpjpe_mm")
              if k in figs}
      settings.append(dict(input_2d=which, prior=kind,
                           start_chosen=np.bincount(np.argmin(loss, 0),
                                                    minlength=k).tolist(),
                           reprojection_loss=float(np.mean(loss.min(0))), **keep))
      rows.append((f"{which} 2D, {kind}: MPJPE / PA-MPJPE",
                   (keep["mpjpe_mm"], keep["pa_mpjpe_mm"])))
      if i == 0 and kind == shared.priors[-1]:
        plots = estimation.plot_hypothesis_fans(
            ctx, pred_mm[None], f"fit2d ({which} 2D, {kind} prior)")
  return TaskResult(figures=dict(settings=settings, notes=notes,
                                 fit_t=list(opts.t), stages=list(_STAGES),
                                 optimiser=dict(steps=opts.steps,
                                                lr=opts.lr)),
                    table=rows, num_poses=n, num_hypotheses=1, plots=plots)


__all__ = ["denoise_motion", "fit2d", "make_motion_solver", "make_fit2d_solver",
           "root_from_joints"]
