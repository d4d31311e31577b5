"""The evaluation suite: GFPose's five tasks on held-out poses, in millimetres.

One trained model serves every task; a task differs only in the condition,
the masks and where sampling starts (see `gfpose`).  `run_task` is the one
entry point (`run_lib.evaluate` calls it):

  results = run_task("estimate", exp=exp, params=params,
                     config_eval=config.eval, key=jax.random.key(seed),
                     workdir=workdir)
  # -> workdir/eval/estimate.json (atomic), PNGs under workdir/eval/,
  #    a table on stdout, and the same dict returned.

Tasks (`TASKS`):
  estimate         multi-hypothesis 2D->3D: MPJPE / PA-MPJPE of the
                   hypotheses' mean, best-of-H for H in `hypotheses_list`
                   (the first H of the sampled hypotheses), per joint, per
                   activity, APD and the per-joint spread of the hypotheses.
  estimate_single  one hypothesis from the deterministic sampler (GFPose's
                   single-hypothesis mode).
  complete2d       k missing joints drawn from the limb ends (or a whole body
                   part): condition on the visible joints' 2D.
  complete3d       the same masks: condition on and impute the visible
                   joints' 3D.  Both report the error on the missing joints
                   only (and over all joints), best-of-H and of the mean.
  denoise          Gaussian (sigma) or uniform (half-width) noise in mm on
                   the non-root joints of the ground truth; the deterministic
                   sampler starts at t = denoise_t_start from the noisy pose;
                   MPJPE before and after.
  generate         unconditional samples: APD, Frechet distance and mean
                   nearest-neighbour distance to held-out real poses, with
                   the same figures for real-vs-real (two disjoint halves of
                   the held-out poses) and for training poses against the
                   held-out ones (what a perfect model of the training
                   distribution would score) beside them.

Every figure is in millimetres (the Frechet distance in mm^2, its square root
in mm).  Sampling runs in fixed-size chunks (the last one padded) so one
compiled program serves every chunk, with progress and ETA in the log.

Config fields read from `config.eval` (with defaults when absent):
  sampler, num_steps, eps, num_hypotheses, num_poses, batch_poses,
  plot_poses, plot_hypotheses (existing) and
  hypotheses_list=(1, 10, 50, 200), single_sampler='deterministic',
  missing_joints=(1, 3), missing_parts=('l_leg', 'r_arm'),
  complete_sampler='' (= sampler), noise_types=('gaussian', 'uniform'),
  noise_levels_mm=(20.0, 50.0),
  single_num_steps=0 (steps of single_sampler; 0: num_steps),
  denoise_t_start=0.05,
  denoise_num_steps=0 (0: single_num_steps scaled by the fraction of
  [eps, 1] left to walk, at least 1), num_generate=0 (0: as many as the real half),
  batch_generate=500, output_suffix='' (files become <task>_<suffix>.json
  and <task>_<suffix>_*.png, e.g. 'noisy2d' to keep exact-2D results).
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from typing import Any, Callable, Mapping, Sequence

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np

from jaxpose import checks
from jaxpose import gfpose
from jaxpose.pose import image_space
from jaxpose.pose import metrics as metrics_lib
from jaxpose.core import sampling
from jaxpose.pose.skeleton import H36M_17, Skeleton

TASKS = ("estimate", "estimate_single", "complete2d", "complete3d", "denoise",
         "generate")
NOISE_TYPES = ("gaussian", "uniform")

__all__ = [
    "TASKS", "run_task", "sample_in_chunks", "draw_missing_joints",
    "part_visibility", "estimation_metrics", "completion_metrics",
    "add_pose_noise", "frechet_distance", "frechet_distance_from_stats",
    "nearest_neighbor_distance", "format_table", "write_json_atomic",
]

_DEFAULTS = dict(
    sampler="euler_maruyama", num_steps=1000, eps=1e-3, num_hypotheses=200,
    num_poses=2000, batch_poses=16, plot_poses=3, plot_hypotheses=10,
    hypotheses_list=(1, 10, 50, 200), single_sampler="deterministic",
    missing_joints=(1, 3), missing_parts=("l_leg", "r_arm"),
    complete_sampler="", noise_types=NOISE_TYPES, noise_levels_mm=(20.0, 50.0),
    single_num_steps=0, denoise_t_start=0.05, denoise_num_steps=0, num_generate=0,
    batch_generate=500, output_suffix="")


def _cfg(config_eval, name: str):
  """config_eval.name, or the documented default when the field is absent."""
  getter = getattr(config_eval, "get", None)
  value = getter(name, None) if getter is not None else None
  return _DEFAULTS[name] if value is None else value


def _as_tuple(value) -> tuple:
  if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
    return (value,)
  return tuple(value)


# --- Sampling in fixed-size chunks. ---


def sample_in_chunks(sample_fn, params, key: jax.Array,
                     make_task: Callable[[Mapping[str, jax.Array]], sampling.Task],
                     inputs: Mapping[str, np.ndarray], *, num_hypotheses: int,
                     chunk_size: int, desc: str = "sampling") -> np.ndarray:
  """H samples for every row of `inputs`, `chunk_size` rows per call.

  The last chunk is padded with copies of its last row, so every chunk has
  the same shapes and reuses one compiled program; chunk i uses the key
  `fold_in(key, i)`.

  Args:
    sample_fn: from `sampling.make_sampler`.
    params: network parameters.
    key: PRNG key.
    make_task: chunk (dict of `[chunk_size, ...]` arrays) -> `sampling.Task`.
    inputs: per-row arrays, all with the same leading size N.
    num_hypotheses: H.
    chunk_size: rows per call.
    desc: name in the progress log.

  Returns:
    Samples in model units.  # [H, N, D]
  """
  num_hypotheses = checks.check_positive_int("num_hypotheses", num_hypotheses)
  chunk_size = checks.check_positive_int("chunk_size", chunk_size)
  sizes = {len(v) for v in inputs.values()}
  if len(sizes) != 1:
    raise ValueError(f"inputs: expected arrays with one leading size, got "
                     f"{ {k: np.shape(v) for k, v in inputs.items()} }")
  n = sizes.pop()
  out = None
  start_time = time.time()
  for i, start in enumerate(range(0, n, chunk_size)):
    valid = min(chunk_size, n - start)
    chunk = {}
    for name, value in inputs.items():
      part = np.asarray(value[start:start + valid])
      if valid < chunk_size:
        part = np.concatenate([part, np.repeat(part[-1:], chunk_size - valid, 0)])
      chunk[name] = jnp.asarray(part)
    xs = sampling.sample_hypotheses(sample_fn, params, jax.random.fold_in(key, i),
                                    make_task(chunk), num_hypotheses)
    xs = np.asarray(xs).reshape(num_hypotheses, chunk_size, -1)[:, :valid]
    if out is None:
      out = np.zeros((num_hypotheses, n, xs.shape[-1]), np.float32)
    out[:, start:start + valid] = xs
    done = start + valid
    elapsed = time.time() - start_time
    logging.info("%s: %d/%d rows x %d hypotheses, %.1fs elapsed, ETA %.1fs",
                 desc, done, n, num_hypotheses, elapsed,
                 elapsed / done * (n - done))
  return out


# --- Missing joints for completion. ---


def draw_missing_joints(key: jax.Array, num_poses: int, k: int,
                        skeleton: Skeleton = H36M_17) -> np.ndarray:
  """Per pose, k distinct joints drawn uniformly from the limb ends.

  GFPose's missing-joint protocol.  A pure function of the key.

  Returns:
    Visibility, 0 on the k missing joints and 1 elsewhere.  # [N, J] float32
  """
  num_poses = checks.check_positive_int("num_poses", num_poses)
  ends = np.asarray(skeleton.limb_ends, np.int32)
  if not 1 <= k <= len(ends):
    raise ValueError(f"missing_joints: expected k in [1, {len(ends)}] (the "
                     f"limb ends of {skeleton.name}), got {k!r}")
  # Ranks of i.i.d. uniforms form a uniform random permutation per row.
  u = jax.random.uniform(key, (num_poses, len(ends)))
  ranks = np.asarray(jnp.argsort(jnp.argsort(u, axis=1), axis=1))
  vis = np.ones((num_poses, skeleton.num_joints), np.float32)
  rows, cols = np.nonzero(ranks < k)
  vis[rows, ends[cols]] = 0.0
  return vis


def part_visibility(num_poses: int, part: str,
                    skeleton: Skeleton = H36M_17) -> np.ndarray:
  """Visibility with one whole body part missing.  -> [N, J] float32."""
  if part not in skeleton.parts:
    raise ValueError(f"missing_parts: unknown body part {part!r}; valid: "
                     f"{', '.join(skeleton.part_names)}")
  vis = np.ones((num_poses, skeleton.num_joints), np.float32)
  vis[:, list(skeleton.parts[part])] = 0.0
  return vis


# --- Metrics on millimetre arrays (numpy in, Python floats out). ---


def _per_hypothesis(metric, hyps_mm, gt_mm, chunk: int = 65536) -> np.ndarray:
  """metric(hyps[h, n], gt[n]) -> [H, N], in row chunks to bound memory."""
  h, n = hyps_mm.shape[:2]
  flat = hyps_mm.reshape(h * n, *hyps_mm.shape[2:])
  gt_flat = np.broadcast_to(gt_mm[None], hyps_mm.shape).reshape(flat.shape)
  out = [np.asarray(metric(flat[i:i + chunk], gt_flat[i:i + chunk]))
         for i in range(0, h * n, chunk)]
  return np.concatenate(out).reshape(h, n)


def _group_means(values: np.ndarray, groups: np.ndarray) -> dict:
  num = int(groups.max()) + 1 if len(groups) else 1
  means = np.asarray(metrics_lib.mean_by_group(values, groups, num))
  return {str(g): float(m) for g, m in enumerate(means) if np.isfinite(m)}


def estimation_metrics(hyps_mm: np.ndarray, gt_mm: np.ndarray,
                       activity: np.ndarray | None = None, *,
                       hypotheses_list: Sequence[int] = (1, 10, 50, 200)) -> dict:
  """Multi-hypothesis estimation figures (mm).

  Args:
    hyps_mm: hypotheses.  # [H, N, J, 3]
    gt_mm: ground truth.  # [N, J, 3]
    activity: activity id per pose, for per-activity means.  # [N] int
    hypotheses_list: the H of the best-of-H curve; each uses the first H
      hypotheses, values above the sampled H are dropped and the sampled H
      is always included.

  Returns:
    A dict of figures; `best_of_h` maps str(H) to best-of-H MPJPE/PA-MPJPE.
  """
  sizes = {}
  checks.check_array("hyps_mm", hyps_mm, ("H", "N", "J", 3), sizes=sizes)
  checks.check_array("gt_mm", gt_mm, ("N", "J", 3), sizes=sizes)
  hyps_mm = np.asarray(hyps_mm, np.float32)
  gt_mm = np.asarray(gt_mm, np.float32)
  h = hyps_mm.shape[0]
  mean_pose = hyps_mm.mean(axis=0)  # [N, J, 3]
  err_mean = np.asarray(metrics_lib.mpjpe(mean_pose, gt_mm))  # [N]
  pa_mean = np.asarray(metrics_lib.pa_mpjpe(mean_pose, gt_mm))  # [N]
  per_hyp = _per_hypothesis(metrics_lib.mpjpe, hyps_mm, gt_mm)  # [H, N]
  per_hyp_pa = _per_hypothesis(metrics_lib.pa_mpjpe, hyps_mm, gt_mm)  # [H, N]
  # Running minima: row H-1 is the best of the first H hypotheses.
  best_run = np.minimum.accumulate(per_hyp, axis=0)
  best_run_pa = np.minimum.accumulate(per_hyp_pa, axis=0)
  hs = sorted({int(x) for x in hypotheses_list if 1 <= int(x) <= h} | {h})
  best_of_h = {str(k): dict(mpjpe_mm=float(best_run[k - 1].mean()),
                            pa_mpjpe_mm=float(best_run_pa[k - 1].mean()))
               for k in hs}
  best_idx = per_hyp.argmin(axis=0)  # [N]
  best_pose = hyps_mm[best_idx, np.arange(len(gt_mm))]  # [N, J, 3]
  # Spread: mean distance of a hypothesis' joint from the hypotheses' mean.
  spread = np.linalg.norm(hyps_mm - mean_pose[None], axis=-1).mean(axis=(0, 1))
  results = dict(
      mpjpe_mm=float(err_mean.mean()),
      pa_mpjpe_mm=float(pa_mean.mean()),
      min_mpjpe_mm=float(best_run[-1].mean()),
      min_pa_mpjpe_mm=float(best_run_pa[-1].mean()),
      mean_hypothesis_mpjpe_mm=float(per_hyp.mean()),
      best_of_h=best_of_h,
      per_joint_mpjpe_mm=[float(v) for v in np.asarray(
          metrics_lib.per_joint_error(mean_pose, gt_mm)).mean(axis=0)],
      per_joint_min_mpjpe_mm=[float(v) for v in np.asarray(
          metrics_lib.per_joint_error(best_pose, gt_mm)).mean(axis=0)],
      per_joint_spread_mm=[float(v) for v in spread],
      apd_mm=float(np.mean(metrics_lib.apd(hyps_mm))) if h > 1 else 0.0,
  )
  if activity is not None:
    activity = np.asarray(activity, np.int32)
    by_act = _group_means(err_mean, activity)
    results["per_activity"] = dict(
        mpjpe_mm=by_act, pa_mpjpe_mm=_group_means(pa_mean, activity),
        min_mpjpe_mm=_group_means(best_run[-1], activity))
    # Human3.6M convention: average within each activity, then across them.
    results["mpjpe_mm_activity_mean"] = float(np.mean(list(by_act.values())))
  return results


def completion_metrics(hyps_mm: np.ndarray, gt_mm: np.ndarray,
                       visible: np.ndarray) -> dict:
  """Completion errors on the missing joints only, and over all joints (mm).

  Args:
    hyps_mm: completed poses.  # [H, N, J, 3]
    gt_mm: ground truth.  # [N, J, 3]
    visible: 1 on observed joints, 0 on missing ones; every pose needs at
      least one missing joint.  # [N, J]

  Returns:
    `missing_mpjpe_mm` (of the hypotheses' mean), `missing_min_mpjpe_mm`
    (best-of-H per pose), `missing_mean_hypothesis_mpjpe_mm`, and the same
    three over all joints (`all_*`).
  """
  sizes = {}
  checks.check_array("hyps_mm", hyps_mm, ("H", "N", "J", 3), sizes=sizes)
  checks.check_array("gt_mm", gt_mm, ("N", "J", 3), sizes=sizes)
  checks.check_array("visible", visible, ("N", "J"), sizes=sizes)
  missing = 1.0 - np.asarray(visible, np.float64)  # [N, J]
  count = missing.sum(axis=-1)  # [N]
  if np.any(count == 0):
    raise ValueError("visible: every pose needs at least one missing joint "
                     f"(rows without one: {np.flatnonzero(count == 0)[:5]})")
  hyps_mm = np.asarray(hyps_mm, np.float32)
  err = np.asarray(metrics_lib.per_joint_error(hyps_mm, gt_mm[None]))  # [H, N, J]
  err_mean = np.asarray(metrics_lib.per_joint_error(hyps_mm.mean(0), gt_mm))
  miss_h = (err * missing).sum(-1) / count  # [H, N]
  miss_mean = (err_mean * missing).sum(-1) / count  # [N]
  all_h = err.mean(-1)  # [H, N]
  return dict(
      missing_mpjpe_mm=float(miss_mean.mean()),
      missing_min_mpjpe_mm=float(miss_h.min(0).mean()),
      missing_mean_hypothesis_mpjpe_mm=float(miss_h.mean()),
      all_mpjpe_mm=float(err_mean.mean()),
      all_min_mpjpe_mm=float(all_h.min(0).mean()),
      all_mean_hypothesis_mpjpe_mm=float(all_h.mean()),
      missing_joints_per_pose=float(count.mean()))


def add_pose_noise(key: jax.Array, pose_mm: np.ndarray, noise_type: str,
                   level_mm: float) -> np.ndarray:
  """Noise on every joint but the root (poses are root-relative).

  'gaussian': N(0, level^2) per coordinate; 'uniform': U[-level, level] per
  coordinate.  pose_mm [N, J, 3] -> [N, J, 3].
  """
  checks.check_array("pose_mm", pose_mm, ("N", "J", 3))
  if noise_type not in NOISE_TYPES:
    raise ValueError(f"noise_types: unknown noise {noise_type!r}; valid: "
                     f"{', '.join(NOISE_TYPES)}")
  if not level_mm >= 0:
    raise ValueError(f"noise_levels_mm: expected a level >= 0, got {level_mm!r}")
  shape = np.shape(pose_mm)
  if noise_type == "gaussian":
    noise = jax.random.normal(key, shape) * level_mm
  else:
    noise = jax.random.uniform(key, shape, minval=-level_mm, maxval=level_mm)
  noise = np.array(noise, np.float32)  # a writable copy
  noise[:, 0] = 0.0
  return np.asarray(pose_mm, np.float32) + noise


def frechet_distance_from_stats(mu1, cov1, mu2, cov2) -> float:
  """Frechet distance between N(mu1, cov1) and N(mu2, cov2).

  |mu1 - mu2|^2 + tr(C1 + C2 - 2 (C1^1/2 C2 C1^1/2)^1/2).  The square roots
  are of symmetric PSD matrices, taken by eigen-decomposition (negative
  round-off eigenvalues clipped), in float64.
  """
  mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
  cov1, cov2 = np.asarray(cov1, np.float64), np.asarray(cov2, np.float64)
  d = mu1.shape[-1]
  checks.check_array("mu1", mu1, (d,))
  checks.check_array("mu2", mu2, (d,))
  checks.check_array("cov1", cov1, (d, d))
  checks.check_array("cov2", cov2, (d, d))

  def psd_sqrt(m):
    w, v = np.linalg.eigh((m + m.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T

  root1 = psd_sqrt(cov1)
  # tr sqrt(C1^1/2 C2 C1^1/2) = sum of square roots of its eigenvalues.
  w = np.linalg.eigvalsh(root1 @ cov2 @ root1)
  trace_term = np.sum(np.sqrt(np.clip(w, 0.0, None)))
  fd = np.sum((mu1 - mu2)**2) + np.trace(cov1) + np.trace(cov2) - 2 * trace_term
  return float(max(fd, 0.0))


def frechet_distance(x, y) -> float:
  """Frechet distance between the Gaussians fitted to two sample sets.

  x: [N, D], y: [M, D] (N, M >= 2); sample covariances with N - 1.
  """
  x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
  checks.check_array("x", x, (None, "D"))
  checks.check_array("y", y, (None, "D"), sizes={"D": x.shape[-1]})
  if len(x) < 2 or len(y) < 2:
    raise ValueError(f"x, y: need at least 2 samples each, got {len(x)} and {len(y)}")
  return frechet_distance_from_stats(x.mean(0), np.cov(x, rowvar=False),
                                     y.mean(0), np.cov(y, rowvar=False))


def nearest_neighbor_distance(query_mm, reference_mm) -> np.ndarray:
  """Per query pose, the MPJPE to its nearest reference pose.

  query_mm [N, J, 3], reference_mm [M, J, 3] -> [N] (mm).
  """
  sizes = {}
  checks.check_array("query_mm", query_mm, (None, "J", 3), sizes=sizes)
  checks.check_array("reference_mm", reference_mm, (None, "J", 3), sizes=sizes)
  return np.asarray(_nn_distance(jnp.asarray(query_mm, jnp.float32),
                                 jnp.asarray(reference_mm, jnp.float32)))


@jax.jit
def _nn_distance(query, reference):
  def one(q):  # [J, 3] -> scalar; memory O(M J) per query in a batch
    return jnp.min(jnp.linalg.norm(reference - q, axis=-1).mean(-1))
  return jax.lax.map(one, query, batch_size=64)


# --- Tasks. ---


def input_2d_label(exp) -> str:
  """Which 2D the test split holds: the config's data.test_2d, else exact."""
  data = getattr(exp.config, "data", None)
  if data is None:
    return "exact"
  label = data.get("test_2d", None)
  if label:
    return str(label)
  noise = float(data.get("noise_2d_px", 0.0) or 0.0)
  return f"noisy ({noise:g} px)" if noise > 0 else "exact"


def activity_names(exp) -> tuple[str, ...]:
  """Names of the activity ids where the dataset defines them, else ()."""
  data = getattr(exp.config, "data", None)
  if data is not None and data.get("name", "") == "synthetic":
    from jaxpose.data import synthetic
    return tuple(synthetic.ACTIVITIES)
  return ()


def _single_steps(config_eval) -> int:
  return int(_cfg(config_eval, "single_num_steps") or _cfg(config_eval, "num_steps"))


def _sampler(exp, config_eval, spec: str, num_steps: int | None = None):
  """A sampler from a spec such as 'pc' or 'pc:snr=0.16,grid_rho=2'."""
  return sampling.make_sampler(
      spec, exp.sde, exp.score_fn,
      num_steps=int(num_steps or _cfg(config_eval, "num_steps")),
      eps=float(_cfg(config_eval, "eps")))


def _test_split(exp, config_eval) -> tuple[dict, int]:
  test = exp.splits["test"]
  n = min(int(_cfg(config_eval, "num_poses")), len(test["pose3d"]))
  if n < 1:
    raise ValueError("the test split is empty")
  return {k: np.asarray(v)[:n] for k, v in test.items()}, n


def _to_mm(exp, samples: np.ndarray, rows: dict | None = None) -> np.ndarray:
  """[H, N, D] model units -> [H, N, J, 3] mm, relative to the true root.

  rows: the N poses' split rows; their camera fields (if any) back-project
  the "image" protocol; None (generation) means the nominal camera.
  """
  j = exp.representation.num_joints
  meta = None if rows is None else image_space.camera_meta(rows)
  return np.asarray(exp.representation.pose3d_from_model(
      samples.reshape(samples.shape[0], samples.shape[1], j, 3), meta), np.float32)


def _plot_fans(test, hyps_mm, config_eval, eval_dir, stem, title):
  from jaxpose import plotting
  k = int(_cfg(config_eval, "plot_hypotheses"))
  paths = []
  for i in range(min(int(_cfg(config_eval, "plot_poses")), hyps_mm.shape[1])):
    path = os.path.join(eval_dir, f"{stem}_pose{i}.png")
    plotting.plot_hypotheses(test["pose2d_screen"][i], test["pose3d_mm"][i],
                             hyps_mm[:k, i], path=path, max_hyps=max(k, 1),
                             title=title)
    paths.append(os.path.basename(path))
  return paths


def _estimate(exp, params, config_eval, key, eval_dir, stem, *, single: bool):
  test, n = _test_split(exp, config_eval)
  method = str(_cfg(config_eval, "single_sampler" if single else "sampler"))
  steps = _single_steps(config_eval) if single else int(_cfg(config_eval, "num_steps"))
  h = 1 if single else int(_cfg(config_eval, "num_hypotheses"))
  hyps = sample_in_chunks(
      _sampler(exp, config_eval, method, steps), params, key,
      lambda c: gfpose.estimation_task(c["pose2d"]), {"pose2d": test["pose2d"]},
      num_hypotheses=h, chunk_size=min(int(_cfg(config_eval, "batch_poses")), n),
      desc="estimate_single" if single else "estimate")
  hyps_mm = _to_mm(exp, hyps, test)
  res = estimation_metrics(hyps_mm, test["pose3d_mm"], test["activity"],
                           hypotheses_list=_as_tuple(_cfg(config_eval, "hypotheses_list")))
  task = "estimate_single" if single else "estimate"
  res.update(sampler=method, num_hypotheses=h)
  names = activity_names(exp)
  if names:
    res["activity_names"] = list(names)
  res["plots"] = _plot_fans(test, hyps_mm, config_eval, eval_dir, stem,
                            f"{task}: {h} hypotheses ({method})")
  if not single:
    from jaxpose import plotting
    hs = [int(k) for k in res["best_of_h"]]
    plotting.plot_curve(
        hs, {"best-of-H MPJPE": [res["best_of_h"][str(k)]["mpjpe_mm"] for k in hs],
             "best-of-H PA-MPJPE": [res["best_of_h"][str(k)]["pa_mpjpe_mm"] for k in hs],
             "MPJPE of the mean": [res["mpjpe_mm"]] * len(hs)},
        xlabel="hypotheses H", ylabel="error (mm)", logx=True,
        path=os.path.join(eval_dir, f"{stem}_error_vs_h.png"),
        title=f"error against H ({n} poses)")
    res["plots"].append(f"{stem}_error_vs_h.png")
    rows = [("MPJPE of the mean", res["mpjpe_mm"]),
            ("PA-MPJPE of the mean", res["pa_mpjpe_mm"])]
    rows += [(f"best-of-{k} MPJPE / PA-MPJPE", (v["mpjpe_mm"], v["pa_mpjpe_mm"]))
             for k, v in res["best_of_h"].items()]
    rows += [("mean single-hypothesis MPJPE", res["mean_hypothesis_mpjpe_mm"]),
             ("APD across hypotheses", res["apd_mm"]),
             ("mean per-joint spread", float(np.mean(res["per_joint_spread_mm"])))]
  else:
    rows = [("MPJPE", res["mpjpe_mm"]), ("PA-MPJPE", res["pa_mpjpe_mm"])]
  return res, rows, n, method, steps


def _missing_settings(config_eval) -> list[tuple[str, Any]]:
  settings = [("joints", int(k)) for k in _as_tuple(_cfg(config_eval, "missing_joints"))
              if int(k) > 0]
  settings += [("part", str(p)) for p in _as_tuple(_cfg(config_eval, "missing_parts"))
               if str(p)]
  if not settings:
    raise ValueError("eval.missing_joints / eval.missing_parts: nothing to "
                     "complete; give k >= 1 or a body part name")
  return settings


def _complete(exp, params, config_eval, key, eval_dir, stem, *, space: str):
  test, n = _test_split(exp, config_eval)
  method = str(_cfg(config_eval, "complete_sampler") or _cfg(config_eval, "sampler"))
  h = int(_cfg(config_eval, "num_hypotheses"))
  skeleton = exp.representation.skeleton
  sample_fn = _sampler(exp, config_eval, method)  # one program for all settings
  if space == "2d":
    make_task = lambda c: gfpose.estimation_task(c["pose2d"], visible=c["visible"])
  else:
    make_task = lambda c: gfpose.completion_task(c["pose3d"], c["visible"])
  task = f"complete{space}"
  settings, rows, plots = [], [], []
  for i, (kind, what) in enumerate(_missing_settings(config_eval)):
    k_mask, k_sample = jax.random.split(jax.random.fold_in(key, i))
    if kind == "joints":
      vis = draw_missing_joints(k_mask, n, what, skeleton)
      name = f"{what} limb-end joint(s)"
    else:
      vis = part_visibility(n, what, skeleton)
      name = f"part {what}"
    hyps = sample_in_chunks(
        sample_fn, params, k_sample, make_task,
        {"pose2d": test["pose2d"], "pose3d": test["pose3d"], "visible": vis},
        num_hypotheses=h, chunk_size=min(int(_cfg(config_eval, "batch_poses")), n),
        desc=f"{task} ({name})")
    hyps_mm = _to_mm(exp, hyps, test)
    res = completion_metrics(hyps_mm, test["pose3d_mm"], vis)
    res.update(missing=kind, missing_value=what, name=name)
    settings.append(res)
    rows.append((f"{name}: missing mean / best-of-{h}",
                 (res["missing_mpjpe_mm"], res["missing_min_mpjpe_mm"])))
    rows.append((f"{name}: all joints mean / best-of-{h}",
                 (res["all_mpjpe_mm"], res["all_min_mpjpe_mm"])))
    if i == 0:
      plots = _plot_fans(test, hyps_mm, config_eval, eval_dir, stem,
                         f"{task}, {name} missing: {h} hypotheses")
  return (dict(settings=settings, num_hypotheses=h, plots=plots), rows, n,
          method, int(_cfg(config_eval, "num_steps")))


def _denoise(exp, params, config_eval, key, eval_dir, stem):
  from jaxpose import plotting
  test, n = _test_split(exp, config_eval)
  method = str(_cfg(config_eval, "single_sampler"))
  eps = float(_cfg(config_eval, "eps"))
  t_start = float(_cfg(config_eval, "denoise_t_start"))
  if not t_start > eps:
    raise ValueError(f"eval.denoise_t_start: expected a start time above "
                     f"eval.eps={eps}, got {t_start}")
  steps = int(_cfg(config_eval, "denoise_num_steps"))
  if steps <= 0:  # the step size of the full grid over the shorter interval
    steps = max(1, int(round(_single_steps(config_eval)
                             * (t_start - eps) / (1.0 - eps))))
  sample_fn = _sampler(exp, config_eval, method, steps)
  rep = exp.representation
  gt_mm = test["pose3d_mm"]
  settings, rows = [], []
  i = 0
  for noise_type in _as_tuple(_cfg(config_eval, "noise_types")):
    for level in _as_tuple(_cfg(config_eval, "noise_levels_mm")):
      k_noise, k_sample = jax.random.split(jax.random.fold_in(key, i))
      noisy_mm = add_pose_noise(k_noise, gt_mm, str(noise_type), float(level))
      meta = image_space.camera_meta(test)  # the "image" protocol's cameras
      noisy = np.asarray(rep.pose3d_to_model(noisy_mm, meta), np.float32)
      out = sample_in_chunks(
          sample_fn, params, k_sample,
          lambda c: gfpose.denoising_task(c["pose3d"], t_start=t_start),
          {"pose3d": noisy}, num_hypotheses=1,
          chunk_size=min(int(_cfg(config_eval, "batch_poses")), n),
          desc=f"denoise ({noise_type} {level} mm)")
      out_mm = _to_mm(exp, out, test)[0]
      before = float(np.mean(metrics_lib.mpjpe(noisy_mm, gt_mm)))
      after = float(np.mean(metrics_lib.mpjpe(out_mm, gt_mm)))
      settings.append(dict(noise_type=str(noise_type), noise_level_mm=float(level),
                           mpjpe_before_mm=before, mpjpe_after_mm=after,
                           pa_mpjpe_after_mm=float(np.mean(metrics_lib.pa_mpjpe(out_mm, gt_mm)))))
      rows.append((f"{noise_type} {float(level):g} mm: before / after", (before, after)))
      if i == 0:
        m = min(int(_cfg(config_eval, "plot_poses")), n)
        poses = np.stack([gt_mm[:m], noisy_mm[:m], out_mm[:m]], 1).reshape(-1, *gt_mm.shape[1:])
        plotting.plot_poses_3d(poses, titles=["truth", "noisy", "denoised"] * m,
                               ncols=3, up="-y",
                               path=os.path.join(eval_dir, f"{stem}_examples.png"))
      i += 1
  return (dict(settings=settings, t_start=t_start, num_hypotheses=1,
               plots=[f"{stem}_examples.png"]), rows, n, method, steps)


def _generate(exp, params, config_eval, key, eval_dir, stem):
  from jaxpose import plotting
  real = np.asarray(exp.splits["test"]["pose3d_mm"], np.float32)
  if len(real) < 4:
    raise ValueError(f"generate: need at least 4 held-out poses, got {len(real)}")
  k_split, k_sample = jax.random.split(key)
  perm = np.asarray(jax.random.permutation(k_split, len(real)))
  half = len(real) // 2
  ref, other = real[perm[:half]], real[perm[half:2 * half]]  # disjoint halves
  n_gen = int(_cfg(config_eval, "num_generate")) or half
  method = str(_cfg(config_eval, "sampler"))
  j = exp.representation.num_joints
  chunk = min(int(_cfg(config_eval, "batch_generate")), n_gen)
  samples = sample_in_chunks(
      _sampler(exp, config_eval, method), params, k_sample,
      lambda c: gfpose.generation_task(c["index"].shape[0], j),
      {"index": np.arange(n_gen)}, num_hypotheses=1, chunk_size=chunk,
      desc="generate")
  gen = _to_mm(exp, samples)[0]  # [n_gen, J, 3]; nominal camera

  def figures(x):
    # Root-relative vectors without the (always zero) root joint.
    vec = lambda p: (p[:, 1:] - p[:, :1]).reshape(len(p), -1)
    fd = frechet_distance(vec(x), vec(ref))
    return dict(apd_mm=float(metrics_lib.apd(x)), fd_mm2=fd,
                fd_sqrt_mm=float(np.sqrt(fd)),
                nn_mpjpe_mm=float(nearest_neighbor_distance(x, ref).mean()))

  # Training poses scored the same way: what a perfect model of the training
  # distribution would get. Where train and test differ (other people and
  # activities, as in jaxpose-mocap) the generated row should approach this
  # one, not real-vs-real.
  train = np.asarray(exp.splits["train"]["pose3d_mm"], np.float32)
  pick = np.asarray(jax.random.choice(jax.random.fold_in(k_split, 1), len(train),
                                      (min(n_gen, len(train)),), replace=False))
  res = dict(generated=figures(gen), real_vs_real=figures(other),
             train_vs_real=figures(train[pick]),
             num_generated=n_gen, num_real_reference=half, num_hypotheses=1)
  m = min(8, n_gen)
  plotting.plot_poses_3d(gen[:m], ncols=4, up="-y",
                         path=os.path.join(eval_dir, f"{stem}_samples.png"))
  res["plots"] = [f"{stem}_samples.png"]
  g, t, r = res["generated"], res["train_vs_real"], res["real_vs_real"]
  rows = [(f"{name}: generated / train / real", (g[k], t[k], r[k])) for name, k in
          (("APD", "apd_mm"), ("Frechet distance sqrt", "fd_sqrt_mm"),
           ("nearest-neighbour MPJPE", "nn_mpjpe_mm"))]
  return res, rows, n_gen, method, int(_cfg(config_eval, "num_steps"))


def format_table(task: str, rows: Sequence[tuple[str, Any]], footer: str = "") -> str:
  """A plain-text table; a row's value is a float or a tuple of floats."""
  width = max([len(r[0]) for r in rows] + [6])
  lines = [f"{task}", f"{'metric (mm)':<{width}}  value", "-" * (width + 18)]
  for name, value in rows:
    vals = value if isinstance(value, tuple) else (value,)
    lines.append(f"{name:<{width}}  " + " / ".join(f"{float(v):7.2f}" for v in vals))
  if footer:
    lines.append(footer)
  return "\n".join(lines)


def _jsonable(obj):
  """Plain Python types; non-finite floats become None (strict JSON)."""
  if isinstance(obj, dict):
    return {str(k): _jsonable(v) for k, v in obj.items()}
  if isinstance(obj, (list, tuple)):
    return [_jsonable(v) for v in obj]
  if isinstance(obj, (np.integer,)):
    return int(obj)
  if isinstance(obj, (float, np.floating)):
    return float(obj) if np.isfinite(obj) else None
  return obj


def write_json_atomic(path: str, obj) -> None:
  """Writes JSON via a temporary file and os.replace (never half-written)."""
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp_", suffix=".json")
  try:
    with os.fdopen(fd, "w") as f:
      json.dump(obj, f, indent=2, sort_keys=True, allow_nan=False)
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise


def run_task(task_name: str, *, exp, params, config_eval, key: jax.Array,
             workdir: str, extra: dict | None = None) -> dict:
  """Runs one evaluation task; writes workdir/eval/<task>.json and PNGs.

  Args:
    task_name: one of `TASKS`.
    exp: a `run_lib.Experiment` (uses splits["test"], representation, sde,
      score_fn, config.data).
    params: network parameters (EMA weights, usually).
    config_eval: the `config.eval` ConfigDict (fields in the module doc).
    key: PRNG key; every random draw of the task derives from it.
    workdir: the run directory; results go to workdir/eval/.
    extra: JSON-able fields recorded with the results (e.g. the train step).

  Returns:
    The results dict also written as JSON (workdir/eval/<task>.json, or
    <task>_<output_suffix>.json): always `task`, `num_poses`,
    `num_hypotheses`, `sampler`, `num_steps`, `eps`, `input_2d`, `data`,
    `seconds`, plus the task's figures (mm).
  """
  if task_name not in TASKS:
    raise ValueError(f"eval.task: unknown task {task_name!r}; valid: "
                     f"{', '.join(TASKS)}")
  eval_dir = os.path.join(workdir, "eval")
  os.makedirs(eval_dir, exist_ok=True)
  suffix = str(_cfg(config_eval, "output_suffix"))
  stem = f"{task_name}_{suffix}" if suffix else task_name
  t0 = time.time()
  args = (exp, params, config_eval, key, eval_dir, stem)
  if task_name in ("estimate", "estimate_single"):
    res, rows, n, method, steps = _estimate(
        *args, single=task_name == "estimate_single")
  elif task_name in ("complete2d", "complete3d"):
    res, rows, n, method, steps = _complete(*args, space=task_name[-2:])
  elif task_name == "denoise":
    res, rows, n, method, steps = _denoise(*args)
  else:
    res, rows, n, method, steps = _generate(*args)
  data = getattr(exp.config, "data", None)
  res.update(task=task_name, num_poses=int(n), sampler=method, num_steps=int(steps),
             eps=float(_cfg(config_eval, "eps")), input_2d=input_2d_label(exp),
             data=str(data.get("name", "")) if data is not None else "",
             seconds=round(time.time() - t0, 2), **(extra or {}))
  res = _jsonable(res)
  write_json_atomic(os.path.join(eval_dir, f"{stem}.json"), res)
  h = res["num_hypotheses"]
  footer = (f"({n} poses, {h} hypothes{'i' if h == 1 else 'e'}s, {method} x "
            f"{steps} steps, {res['input_2d']} 2D, {res['seconds']:.1f} s)")
  print(format_table(task_name, rows, footer))
  return res
