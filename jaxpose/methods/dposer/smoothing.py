"""DPoser smoothing a lifted motion of Human3.6M joints (`protocols.MotionSmoother`).

A lifter's motion (`jaxpose.lift`: root-relative joints in the camera frame,
per frame, so it jitters) is cut into overlapping windows of `window`
frames (`window_starts`), and each window is fitted as motion denoising
fits a clip (`fitting.make_motion_solver`), except that the data term
compares the body's regressed Human3.6M joints (`BodyJoints.h36m`) with the
motion's and every bone's length is fitted too. The window, the temporal
term, DPoser's regulariser on the truncated schedule and the weights, steps
and rate are motion denoising's (`config.eval.denoise_motion`: window, t,
smooth_weight, weights['dposer'], steps, lr), chosen on held-out clips
(experiments/dposer_weights.py).

The result is the motion plus the smoothing's correction: the window's fit
under the temporal term and the prior minus its fit to the motion alone
(same start, no temporal term, no prior). What the body cannot follow
(a thorax off the spine, joints the regressor places differently) is in
both fits and cancels; returning the smoothed fit itself would add it to
every frame's error.

Windows are blended, not cut (`window_weights`, `blend_windows`): a
window's fit bends at its ends, where its temporal term has no neighbours,
and cut windows jump in velocity at each seam.  Sharing a third of a window
(`default_overlap`), not half, costs 1.5 fits per window of frames instead
of 2 with seams about as smooth (`tests/test_lift.py`).
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from jaxpose.methods import base
from jaxpose.methods import protocols
from jaxpose.methods.dposer import body as body_lib
from jaxpose.methods.dposer import priors as priors_lib
from jaxpose.methods.dposer import schedule as schedule_lib
from jaxpose.methods.dposer import tto
from jaxpose.pose import joint_maps
from jaxpose.pose import rotations
from jaxpose.pose.skeleton import H36M_17

_MM = 1000.0  # translation variables are metres
_DATA_SCALE_MM = 100.0  # residuals in units of 10 cm: O(1) terms


def _rest_h36m(body: body_lib.BodyJoints) -> np.ndarray:
  """The canonical rest pose's Human3.6M joints, body axes, mm [17, 3]."""
  rest = body.joints(np.zeros((1, body_lib.DIM), np.float32))
  return np.asarray(body.h36m(rest))[0]


def initial_root_and_scale(body: body_lib.BodyJoints, joints17) -> tuple:
  """(root orientations [T, 3] turning the rest torso onto each frame's,
  the motion's size over the rest skeleton's: the median torso ratio)."""
  torso = joint_maps.torso_joints(H36M_17)
  rest = _rest_h36m(body).astype(np.float64)
  rest_frame = np.asarray(joint_maps.torso_frame(rest, **torso))
  frame = np.asarray(joint_maps.torso_frame(np.asarray(joints17, np.float64), **torso))
  root = rotations.matrix_to_axis_angle(frame @ rest_frame.T, xp=np)
  length = lambda j: np.linalg.norm(j[..., torso["neck"], :] - j[..., torso["root"], :],
                                    axis=-1)
  scale = float(np.median(length(np.asarray(joints17))) / max(length(rest), 1e-6))
  return np.asarray(root, np.float32), scale


def make_solver(prior, body: body_lib.BodyJoints, *, num_steps: int,
                learning_rate: float, prior_weight: float, smooth_weight: float,
                init_pose):
  """jit(vmap(solve)): `solve(target [T, 17, 3], root0 [T, 3], log_scale0,
  key) -> [T, 17, 3]` mm, the fitted body's Human3.6M joints."""
  s2 = _DATA_SCALE_MM ** 2
  init_pose = jnp.asarray(init_pose, jnp.float32)

  def solve(target, root0, log_scale0, key):
    lengths = jnp.asarray(body.bone_lengths, jnp.float32)

    def joints_of(v):
      # Each bone's length is fitted too (one scale per bone and window):
      # the lifted person's proportions are not the canonical skeleton's.
      bones = lengths * jnp.exp(v["log_scale"])
      joints = body.h36m(body.joints(v["pose"], v["root"], bone_lengths=bones))
      return joints + v["trans"][:, None] * _MM

    def objective(v, k, i):
      joints = joints_of(v)
      loss = jnp.mean(jnp.sum(jnp.square(joints - target), -1)) / s2
      # A term of weight 0 is left out of the program, not multiplied by 0:
      # XLA keeps 0 * x (x may be NaN), and the prior's network, forward
      # and backward, is most of a step's work.
      if smooth_weight:
        loss += smooth_weight * jnp.mean(
            jnp.sum(jnp.square(joints[1:] - joints[:-1]), -1)) / s2
      if prior_weight:
        loss += prior_weight * prior(v["pose"], k, i, num_steps)
      return loss

    t = target.shape[0]
    v0 = {"pose": jnp.broadcast_to(init_pose, (t, body_lib.DIM)), "root": root0,
          "trans": jnp.zeros((t, 3), jnp.float32),
          "log_scale": jnp.broadcast_to(log_scale0, lengths.shape)}
    v0["trans"] = (target[:, 0] - joints_of(v0)[:, 0]) / _MM
    v, _ = tto.adam_loop(objective, num_steps, learning_rate)(v0, key)
    return joints_of(v)

  return tto.batched(solve)


def default_overlap(window: int) -> int:
  """Frames two neighbouring windows share: a third (module docstring)."""
  return window // 3


def window_starts(num_frames: int, window: int, overlap: int | None = None
                  ) -> np.ndarray:
  """Starts of windows of `window` frames covering every frame, each
  sharing `overlap` frames (default `default_overlap`) with the next, the
  last shifted to end at the last frame (one window for a shorter
  motion)."""
  overlap = default_overlap(window) if overlap is None else int(overlap)
  if not 0 <= overlap < window:
    raise ValueError(f"overlap: expected 0 <= overlap < window={window}, got "
                     f"{overlap}")
  if num_frames <= window:
    return np.zeros(1, np.int64)
  starts = np.arange(0, num_frames - window + 1, window - overlap)
  if starts[-1] + window < num_frames:
    starts = np.append(starts, num_frames - window)
  return starts.astype(np.int64)


def window_weights(window: int, overlap: int | None = None) -> np.ndarray:
  """A window's blending weights [window]: 1 but over its first and last
  `overlap` frames (default `default_overlap`), where a raised cosine
  sin^2(pi/2 (i + 1/2) / overlap) rises from near 0 and falls back to it
  (a Tukey window; > 0 everywhere). Two windows sharing `overlap` frames
  have weights summing to one there."""
  overlap = default_overlap(window) if overlap is None else int(overlap)
  overlap = min(overlap, window // 2)
  weights = np.ones(window)
  if overlap > 0:
    ramp = np.sin(np.pi / 2 * (np.arange(overlap) + 0.5) / overlap) ** 2
    weights[:overlap], weights[window - overlap:] = ramp, ramp[::-1]
  return weights


def blend_windows(values, starts, num_frames: int,
                  overlap: int | None = None) -> np.ndarray:
  """Per-window values [W, L, ...] at `starts` -> per-frame [T, ...]: each
  frame the `window_weights`-weighted mean of the windows holding it (one
  window: its own value)."""
  values = np.asarray(values)
  window = values.shape[1]
  weight = window_weights(window, overlap).reshape(
      (window,) + (1,) * (values.ndim - 2))
  total = np.zeros((num_frames,) + values.shape[2:])
  norm = np.zeros((num_frames,) + (1,) * (values.ndim - 2))
  for s, v in zip(starts, values):
    total[s:s + window] += weight * v
    norm[s:s + window] += weight
  if not (norm > 0).all():
    raise ValueError(f"windows at {list(starts)} of {window} frames leave frames "
                     f"of {num_frames} uncovered")
  return (total / norm).astype(values.dtype)


def smooth_in_windows(joints, window: int, fit, overlap: int | None = None
                      ) -> np.ndarray:
  """`joints` [T, J, 3] plus the blended per-window corrections `fit(clips
  [W, L, J, 3], starts) -> [W, L, J, 3]` (`window_starts`, `blend_windows`;
  L = min(window, T)), root-relative again; `overlap` 0 cuts windows."""
  joints = np.asarray(joints, np.float32)
  t = len(joints)
  window = min(int(window), t)
  if overlap is not None:
    overlap = min(int(overlap), window - 1)
  starts = window_starts(t, window, overlap)
  clips = np.stack([joints[s:s + window] for s in starts])  # [W, L, J, 3]
  correction = np.asarray(fit(clips, starts), np.float32)
  if correction.shape != clips.shape:
    raise ValueError(f"fit returned shape {correction.shape}; expected {clips.shape}")
  out = joints + blend_windows(correction, starts, t, overlap)
  return out - out[:, :1]  # root-relative, as it came


def motion_smoother(trained: base.Trained) -> protocols.MotionSmoother:
  """DPoser's smoother of lifted motion, with its motion denoising's
  settings (`eval.denoise_motion`)."""
  model, shared = trained.model, trained.run.eval_options
  opts = trained.run.task_options["denoise_motion"]
  schedule = schedule_lib.ablation_schedules(opts.t)["truncated"]
  prior = priors_lib.PriorSet(trained, shared, None).make("dposer", schedule)
  make = lambda prior_weight, smooth_weight: make_solver(
      prior, model.body, num_steps=opts.steps,
      learning_rate=opts.lr, prior_weight=prior_weight,
      smooth_weight=smooth_weight, init_pose=model.zscore.mean)
  solver = make(priors_lib.prior_weight(opts.weights, "dposer"),
                opts.smooth_weight)
  fit_only = make(0.0, 0.0)

  def smooth(joints_mm, key) -> np.ndarray:
    joints = np.asarray(joints_mm, np.float32)
    root0, scale = initial_root_and_scale(model.body, joints)

    def fit(clips, starts):
      window = clips.shape[1]
      roots = np.stack([root0[s:s + window] for s in starts])
      log_scale = np.full(len(starts), np.log(scale), np.float32)
      inputs = dict(target=clips, root0=roots, log_scale0=log_scale)
      size = max(1, shared.batch_size // window)
      smoothed = np.asarray(tto.map_examples(
          solver, inputs, key, batch_size=size,
          desc=f"smooth {len(joints)} frames (dposer)"))
      fitted = np.asarray(tto.map_examples(
          fit_only, inputs, key, batch_size=size,
          desc=f"fit {len(joints)} frames (body)"))
      return smoothed - fitted

    return smooth_in_windows(joints, opts.window, fit)

  return protocols.MotionSmoother(
      smooth=smooth, window=int(opts.window),
      describe=(f"DPoser (step {trained.step}): windows of "
                f"{opts.window} frames blended over the "
                f"{default_overlap(opts.window)} each shares with the next, "
                f"{opts.steps} Adam steps, "
                f"prior weight {priors_lib.prior_weight(opts.weights, 'dposer'):g},"
                f" temporal weight {opts.smooth_weight:g}"))


__all__ = ["motion_smoother", "make_solver", "initial_root_and_scale",
           "window_starts", "window_weights", "blend_windows", "smooth_in_windows",
           "default_overlap"]
