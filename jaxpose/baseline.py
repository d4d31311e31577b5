"""A deterministic 2D-to-3D baseline: Martinez et al.'s lifter, end to end.

The baseline a user would otherwise pick beside GFPose: one 3D pose per 2D
pose from a residual MLP (`models/lifter_mlp.py`), trained by regression on
the same data, with the same optimiser, batches, step count and training
loop as GFPose, and scored by the same metric code
(`evaluation.estimation_metrics` with a single "hypothesis"), so its row
sits in the same results table.

  config (method="baseline") -> build_baseline: run_lib.load_data +
    gfpose.Representation (the same splits in model units) + the lifter
  train_baseline: make_loss_fn (MSE on root-relative 3D) -> train.fit,
    checkpoints in workdir/checkpoints guarded by a fingerprint whose
    method is "baseline" (a GFPose workdir is refused, and vice versa)
  evaluate_baseline: predict (chunked, one compiled program) -> mm ->
    evaluation.estimation_metrics(pred[None], gt, activity) (per joint and
    per activity included) -> workdir/eval/estimate.json + the summary
    workdir/metrics.json, as run_lib.evaluate writes them

A run is a pure function of the config: batches are `ArrayDataset.batch(step)`
and the dropout keys `fold_in(key, step)`, so the same config gives the
same numbers.
"""
from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxpose import checks
from jaxpose import evaluation
from jaxpose import gfpose
from jaxpose.pose import image_space
from jaxpose import models
from jaxpose import run_lib
from jaxpose.training import train as train_lib

METHOD = "baseline"
# The SDE and masking sections do not shape a lifter: leaving them out of the
# fingerprint lets a baseline workdir survive edits to them.
FINGERPRINT_SECTIONS = ("method", "model", "representation")


def make_lift_fn(apply_fn):
  """`lift(params, pose2d, *, train=False, key=None) -> pose3d`.

  pose2d: [B, J, 2] model units -> [B, J, 3] model units, root-relative:
  the root joint is set to exactly 0 (the targets are root-relative, so,
  as in Martinez et al., only the other joints are predicted).
  """

  def lift(params, pose2d, *, train: bool = False, key=None):
    checks.check_array("pose2d", pose2d, ("B", "J", 2))
    batch, joints = pose2d.shape[:2]
    out = apply_fn(params, gfpose.flatten(pose2d), None, train=train,
                   dropout_key=key)  # [B, 3J]
    out = out.reshape(batch, joints, 3)
    return out.at[:, 0].set(0.0)

  return lift


def make_loss_fn(apply_fn):
  """The regression loss as a pure `loss_fn(params, batch, key)`.

  batch: {"pose3d": [B, J, 3], "pose2d": [B, J, 2]} in model units (the
  splits of `run_lib.load_data`). The loss is the mean squared error over
  every coordinate of the root-relative 3D pose; `key` draws the dropout
  masks. aux: {"mpjpe_model": mean joint distance in model units}.
  """
  lift = make_lift_fn(apply_fn)

  def loss_fn(params, batch, key):
    sizes = {}
    checks.check_array("batch['pose3d']", batch["pose3d"], ("B", "J", 3),
                       sizes=sizes)
    checks.check_array("batch['pose2d']", batch["pose2d"], ("B", "J", 2),
                       sizes=sizes)
    pred = lift(params, batch["pose2d"], train=True, key=key)  # [B, J, 3]
    err = pred - batch["pose3d"]
    loss = jnp.mean(jnp.square(err))
    mpjpe = jnp.mean(jnp.linalg.norm(err, axis=-1))
    return loss, {"mpjpe_model": mpjpe}

  return loss_fn


def predict(apply_fn, params, pose2d_model, batch_size: int) -> np.ndarray:
  """Deterministic 3D predictions for many 2D poses, in fixed-size chunks.

  Args:
    apply_fn: the lifter's `models.make_apply(graphdef)`.
    params: its parameters.
    pose2d_model: [N, J, 2] model units (numpy or jax).
    batch_size: poses per chunk; the last chunk is padded to this size so
      one compiled program serves every chunk.

  Returns:
    [N, J, 3] root-relative poses in model units (numpy float32).
  """
  checks.check_array("pose2d_model", pose2d_model, ("N", "J", 2))
  batch_size = checks.check_positive_int("batch_size", batch_size)
  pose2d = np.asarray(pose2d_model, np.float32)
  n, joints = pose2d.shape[:2]
  lift = jax.jit(make_lift_fn(apply_fn))
  out = np.zeros((n, joints, 3), np.float32)
  for start in range(0, n, batch_size):
    chunk = pose2d[start:start + batch_size]
    valid = len(chunk)
    if valid < batch_size:
      # Padding rows repeat a real pose: finite, and dropped below.
      chunk = np.concatenate(
          [chunk, np.repeat(chunk[-1:], batch_size - valid, axis=0)])
    out[start:start + valid] = np.asarray(lift(params, chunk))[:valid]
  return out


def build_baseline(config) -> run_lib.Experiment:
  """The data, representation and lifter of a `method="baseline"` config.

  Returns a `run_lib.Experiment` with `sde=None` and `score_fn=None` (a
  lifter has neither); the splits are `run_lib.load_data`'s, so the
  baseline sees exactly the poses GFPose sees.
  """
  if config.method != METHOD:
    raise ValueError(f"method: build_baseline needs method={METHOD!r}, got "
                     f"{config.method!r}")
  if config.model.name != "lifter_mlp":
    raise ValueError(f"model.name: the baseline is the 'lifter_mlp' network, "
                     f"got {config.model.name!r}")
  rep = gfpose.Representation.from_config(config.representation)
  model_kwargs = {k: v for k, v in config.model.items() if k != "name"}
  graphdef, params = models.create_model(
      config.model.name, key=jax.random.key(config.seed),
      num_joints=rep.num_joints, **model_kwargs)
  return run_lib.Experiment(
      config=config, representation=rep, sde=None, graphdef=graphdef,
      init_params=params, apply_fn=models.make_apply(graphdef),
      score_fn=None, splits=run_lib.load_data(config, rep),
      fingerprint_sections=FINGERPRINT_SECTIONS)


def train_baseline(config, workdir: str, exp: run_lib.Experiment | None = None
                   ) -> train_lib.TrainState:
  """Trains (or resumes) the lifter up to `config.train.num_steps`.

  `run_lib.train` with the regression loss: same optimiser, batches, EMA,
  loop and checkpoints as GFPose.  A workdir of another configuration
  (e.g. a GFPose run) is refused by the checkpointer.
  """
  exp = exp or build_baseline(config)
  return run_lib.train(config, workdir, exp=exp, loss_fn=make_loss_fn(exp.apply_fn))


def lifting_metrics(pred_mm: np.ndarray, gt_mm: np.ndarray,
                    activity=None) -> dict:
  """`evaluation.estimation_metrics` of a single deterministic hypothesis.

  Args:
    pred_mm: [N, J, 3] predictions, root-relative mm.
    gt_mm: [N, J, 3] ground truth, root-relative mm.
    activity: optional [N] int activity ids (adds `per_activity`).

  Returns:
    GFPose's estimation figures computed by the same code with H = 1 (the
    mean and best-of-1 figures coincide, APD and spread are 0), including
    `per_joint_mpjpe_mm` ([J] list) and `num_hypotheses` = 1.
  """
  sizes = {}
  checks.check_array("pred_mm", pred_mm, ("N", "J", 3), sizes=sizes)
  checks.check_array("gt_mm", gt_mm, ("N", "J", 3), sizes=sizes)
  results = evaluation.estimation_metrics(
      np.asarray(pred_mm)[None], np.asarray(gt_mm), activity,
      hypotheses_list=(1,))
  results["num_hypotheses"] = 1
  return results


def evaluate_baseline(config, workdir: str,
                      exp: run_lib.Experiment | None = None) -> dict:
  """Lifts the held-out 2D poses; writes the results as GFPose's evaluation.

  The poses are the first `config.eval.num_poses` of the test split, the
  same ones `run_lib.evaluate` scores GFPose on. Weights: the EMA when
  `config.eval.use_ema`. Writes workdir/eval/estimate[_SUFFIX].json (every
  figure, as `evaluation.run_task`; SUFFIX is `config.eval.output_suffix`)
  and the summary workdir/metrics[_SUFFIX].json (its scalars and
  `best_of_h`, as `run_lib.evaluate`); prints a table.

  Returns:
    The full results dict.
  """
  exp = exp or build_baseline(config)
  e = config.eval
  if e.task != "estimate":
    raise ValueError(f"eval.task: the baseline is a deterministic lifter and "
                     f"only does 'estimate', got {e.task!r}")
  params, step = run_lib.restore_params(config, workdir, exp, use_ema=bool(e.use_ema))
  test = exp.splits["test"]
  n = min(int(e.num_poses), len(test["pose3d"]))
  if n < 1:
    raise ValueError("the test split is empty")
  batch_size = min(int(e.get("lift_batch_size", 1024)), n)
  t0 = time.time()
  pred = predict(exp.apply_fn, params, test["pose2d"][:n], batch_size)
  pred_mm = np.asarray(exp.representation.pose3d_from_model(
      pred, image_space.camera_meta(test, slice(n))))
  results = lifting_metrics(pred_mm, test["pose3d_mm"][:n],
                            np.asarray(test["activity"][:n], np.int32))
  names = evaluation.activity_names(exp)
  if names:
    results["activity_names"] = list(names)
  results.update(
      task="estimate", method=METHOD, sampler="lifter", num_steps=0,
      num_poses=n, input_2d=evaluation.input_2d_label(exp),
      data=str(config.data.name), seconds=round(time.time() - t0, 2),
      train_step=step,
      joint_names=list(exp.representation.skeleton.joint_names))
  # A suffixed run (e.g. noisy 2D) keeps its own files, as GFPose's do.
  suffix = f"_{e.output_suffix}" if e.get("output_suffix") else ""
  eval_dir = os.path.join(workdir, "eval")
  evaluation.write_json_atomic(os.path.join(eval_dir, f"estimate{suffix}.json"), results)
  run_lib.write_summary(workdir, results, name=f"metrics{suffix}.json")
  print(format_table(results))
  return results


def format_table(results: dict) -> str:
  """The headline figures and the per-joint errors, in evaluation's layout."""
  rows = [("MPJPE", results["mpjpe_mm"]), ("PA-MPJPE", results["pa_mpjpe_mm"])]
  rows += [(f"  {name}", v) for name, v in
           zip(results["joint_names"], results["per_joint_mpjpe_mm"])]
  footer = (f"({results['num_poses']} poses, one deterministic prediction "
            f"each, {results['input_2d']} 2D, {results['seconds']:.1f} s)")
  return evaluation.format_table("estimate (baseline lifter)", rows, footer)


def run(mode: str, config, workdir: str):
  """`run_lib.run` for `method="baseline"`: train and/or evaluate."""
  if mode not in ("train_and_eval", "train", "eval"):
    raise ValueError(f"mode: {mode!r} is not available for the baseline; "
                     "valid: train_and_eval, train, eval")
  exp = build_baseline(config)
  if mode in ("train", "train_and_eval"):
    train_baseline(config, workdir, exp=exp)
  if mode in ("eval", "train_and_eval"):
    return evaluate_baseline(config, workdir, exp=exp)
  return None
