"""GFPose: jaxpose beside the authors' code on the same weights, inputs and noise.

  python -m experiments.parity.gfpose \
      --authors_repo=/path/to/Embracing+GFPose \
      --torch_python=/path/to/torchvenv/bin/python

Writes experiments/results/parity_gfpose.json. The inputs are drawn here
once in numpy and fed to both sides: LCN-layout rows (the authors' data
format: synthetic Human3.6M-layout poses through the four published
Human3.6M cameras of S9, LCN-like integer crop boxes, detections = the
projection plus 3 px noise), network inputs, the sampler's start and its
1000 x B draws. The authors' side (authors_gfpose.py, under torch)
initialises their ScoreModelFC_Adv, saves best_model.pth in their layout
and runs their network, score, pc sampler and data code; jaxpose imports
that file with its released-checkpoint importer (the user's path) and runs
its own network, score function, `make_sampler('euler_maruyama')` on the
GFPose estimation and generation problems, and its h36m_lcn reader and
image-space representation. Figures (`common.compare`):
  forward    the epsilon network, float32, six condition variants (2D
             and 3D conditions, their est mask, hidden joints in 2D and
             3D, the null condition): relative <= 1e-5;
  score      -eps / s(t) on the same inputs (from t = 0.01 on: <= 1e-5;
             at every t measured only: their float32 1 - exp(.));
  sampling   Euler-Maruyama x 1000 (their grid: linspace(1, 1e-3, 1000),
             dt = 1/1000 = jaxpose's 1000 steps from 1 to eps = 0; their
             est mask / gen): final poses in mm (float32, <= 1e-3 mm) or
             in model units (float64, relative <= 1e-6);
  data       their H36MDataset3D normalisation (x 30) against jaxpose's
             reader + representation (image_depth='crop_ratio'),
             relative <= 1e-6; their denormalize_data +
             image_to_camera_frame against jaxpose's pose3d_from_model,
             <= 1e-3 mm; and jaxpose's default depth scale ('focal') beside
             it, for scale;
  helper     tests/helpers/authors_gfpose.py (the tests' torch stand-in)
             against their module: keys, order, dtypes, forward.
Runtime: a few minutes on 2 CPU cores at the paper's size.
"""
from __future__ import annotations

import dataclasses
import json
import os
import pickle
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app
from absl import flags

from experiments import released_configs
from experiments.parity import common
from jaxpose import import_lib
from jaxpose import methods
from jaxpose import models
from jaxpose import run_lib
from jaxpose.data import synthetic
from jaxpose.methods.gfpose import problems
from jaxpose.methods.gfpose import released
from jaxpose.pose import cameras as cam_lib
from jaxpose.pose import image_space

_AUTHORS = flags.DEFINE_string("authors_repo", None, "Embracing/GFPose checkout.")
_TORCH = flags.DEFINE_string("torch_python", None, "A python with torch.")
_WORK = flags.DEFINE_string("work", "", "Scratch folder ('' = a temporary one).")
_HIDDEN = flags.DEFINE_integer("hidden", 1024, "Network width (paper: 1024).")
_EMBED = flags.DEFINE_integer("embed", 512, "Time embedding (paper: 512).")
_STEPS = flags.DEFINE_integer("steps", 1000, "Sampler steps (theirs: 1000).")
_BATCH = flags.DEFINE_integer("batch", 8, "Poses sampled.")
_ROWS = flags.DEFINE_integer("rows", 64, "Rows of the data and forward checks.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of every draw.")
flags.mark_flags_as_required(["authors_repo"])

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCALE = released.DATA_SCALE
TOL_FORWARD, TOL_MM, TOL_F64, TOL_DATA = 1e-5, 1e-3, 1e-6, 1e-6
VARIANTS = ("cond2d", "cond2d_est_mask", "cond3d", "cond2d_masked_joints",
            "cond3d_masked_joints", "null")


def lcn_rows(n: int, seed: int) -> tuple[list, np.ndarray]:
  """LCN-layout row dicts of synthetic poses seen by Human3.6M's cameras,
  and detections [N, 17, 3] (the projection + 3 px noise)."""
  cams = cam_lib.h36m_cameras("S9")
  split = synthetic.make_lifting_dataset(1, n, seed=seed, cameras=cams)["test"]
  rng = np.random.default_rng(seed)
  items = []
  for i in range(n):
    pose = np.asarray(split["pose3d_cam"][i], np.float64)  # [17, 3] mm
    cam = cams[int(split["camera"][i])]
    fx, fy, cx, cy = (float(v) for v in (cam.fx, cam.fy, cam.cx, cam.cy))
    if np.any(pose[:, 2] <= 0):
      raise ValueError(f"row {i}: a joint behind the camera")
    u = fx * pose[:, 0] / pose[:, 2] + cx
    v = fy * pose[:, 1] / pose[:, 2] + cy
    # LCN-like crop: 2000 mm at the root's depth, rounded to whole pixels,
    # so its ratio is not exactly fx / Z_r.
    width = float(np.round(2000.0 * fx / pose[0, 2]))
    x0, y0 = u[0] - width / 2, v[0] - width / 2
    box = np.array([x0, y0, x0 + width - 1, y0 + width - 1])
    ratio = (box[2] - box[0] + 1) / 2000.0
    image = np.stack([u, v, (pose[:, 2] - pose[0, 2]) * ratio], -1)
    items.append({"joint_3d_image": image.astype(np.float32),
                  "joint_3d_camera": pose.astype(np.float32), "box": box,
                  "camera_param": {"fx": fx, "fy": fy, "cx": cx, "cy": cy},
                  "root_depth": float(pose[0, 2]), "action": 2 + i % 15,
                  "subject": 9})
  image = np.stack([it["joint_3d_image"] for it in items])
  dets = image + rng.normal(0.0, 3.0, image.shape).astype(np.float32)
  return items, dets


def make_inputs(items, n_steps: int, batch: int, seed: int) -> dict:
  """Network inputs, the sampler's start and draws, poses to back-project."""
  rng = np.random.default_rng(seed + 1)
  image = np.stack([it["joint_3d_image"] for it in items]).astype(np.float64)
  pose = np.concatenate([image[..., :2] / 500.0 - 1.0, image[..., 2:] / 500.0],
                        -1) * SCALE  # [N, 17, 3] their units
  n = len(items)
  t = np.concatenate([[1e-3, 0.01, 0.5, 1.0], rng.uniform(1e-3, 1.0, n - 4)])
  log_a = -0.25 * t ** 2 * 19.9 - 0.5 * t * 0.1
  a, s = np.exp(log_a)[:, None, None], (1 - np.exp(2 * log_a))[:, None, None]
  x = a * pose + s * rng.standard_normal(pose.shape)
  cond2d = pose.copy()
  cond2d[..., 2] = 0
  mask2d, mask3d = np.ones_like(pose), np.ones_like(pose)
  mask2d[..., 2] = 0
  for m in (mask2d, mask3d):
    for row in m:
      row[rng.choice(17, rng.integers(1, 4), replace=False)] = 0
  f32 = lambda v: np.asarray(v, np.float32)  # noqa: E731
  return dict(fwd_x=f32(x), fwd_t=f32(t), fwd_cond2d=f32(cond2d),
              fwd_cond3d=f32(pose), fwd_mask2d=f32(mask2d),
              fwd_mask3d=f32(mask3d),
              smp_x0=f32(rng.standard_normal((batch, 17, 3))),
              smp_noise=f32(rng.standard_normal((n_steps, batch, 17, 3))),
              smp_cond=f32(cond2d[:batch]),
              data_pred=f32(pose + rng.normal(0.0, 0.5, pose.shape)))


def _variant(inp, name):
  c2, c3 = inp["fwd_cond2d"], inp["fwd_cond3d"]
  est = np.ones_like(c2)
  est[..., 2] = 0
  return {"cond2d": (c2, None), "cond2d_est_mask": (c2, est),
          "cond3d": (c3, None), "cond2d_masked_joints": (c2, inp["fwd_mask2d"]),
          "cond3d_masked_joints": (c3, inp["fwd_mask3d"]),
          "null": (None, None)}[name]


def measured(ours, theirs) -> dict:
  """max |ours - theirs| and its ratio to max |theirs|, with no tolerance
  (a figure reported beside the required ones)."""
  c = common.compare(ours, theirs, tolerance=np.inf)
  return {k: c[k] for k in ("max_abs", "max_rel", "max_abs_reference",
                            "shape")}


def forward_figures(trained, inp, theirs) -> tuple[dict, dict]:
  """Network (required) and score (reported) on the six condition
  variants, float32."""
  model = trained.model
  x, t = inp["fwd_x"], inp["fwd_t"]
  forward, score = {}, {}
  late = t >= 0.01
  for name in VARIANTS:
    c, m = _variant(inp, name)
    cond = None if c is None else released.condition_from_authors(c, m)
    eps = model.network.apply(trained.params, x, t, cond)
    forward[name] = common.compare(eps, theirs[f"fwd_{name}"],
                                   tolerance=TOL_FORWARD)
    ours = np.asarray(model.score_fn(trained.params, x, t, cond))
    score[name] = {
        "all_t": measured(ours, theirs[f"score_{name}"]),
        "t_at_least_0.01": common.compare(
            ours[late], theirs[f"score_{name}"][late], tolerance=TOL_FORWARD)}
  score["why"] = (
      "score = -eps / s(t), s = 1 - a(t)^2: theirs computes 1 - exp(.) in "
      "float32, jaxpose -expm1(.); at t = 1e-3 (s = 1e-4) float32's 1 - exp "
      "keeps about 4 digits, so all_t (no tolerance) measures their "
      "rounding of s; from t = 0.01 on the scores agree as the networks do")
  return forward, score


def sample(trained, inp, task: str, dtype) -> np.ndarray:
  """jaxpose's Euler-Maruyama on the GFPose problem, their start and draws."""
  steps = inp["smp_noise"].shape[0]
  model = trained.model
  # Their grid: evaluations at 1, 1 - 1/K, ..., 1/K, each step of 1/K.
  sampler = model.make_sampler("euler_maruyama", steps, eps=0.0)
  batch = inp["smp_x0"].shape[0]
  if task == "est":
    problem = problems.estimation_problem(
        jnp.asarray(inp["smp_cond"][..., :2], dtype))
  else:
    problem = problems.generation_problem(batch)
  problem = problem.replace(x_init=jnp.asarray(inp["smp_x0"], dtype),
                            start="x_init",
                            noise=jnp.asarray(inp["smp_noise"], dtype))
  params = jax.tree.map(lambda a: jnp.asarray(a, dtype), trained.params)
  return np.asarray(sampler(params, jax.random.key(0), problem))


def sampling_figures(trained, inp, theirs, meta64) -> dict:
  """Final poses of both samplers: the requirement is float32 within
  TOL_MM mm or float64 within TOL_F64 relative (model units)."""
  rep = trained.model.representation
  out = {}
  for task in ("est", "gen"):
    ours32 = sample(trained, inp, task, jnp.float32)
    with jax.enable_x64(True):
      ours64 = sample(trained, inp, task, jnp.float64)
    mm32 = rep.pose3d_from_model(ours32.astype(np.float64), meta64)
    mm64 = rep.pose3d_from_model(ours64, meta64)
    row = {
        "float64_model_units": common.compare(
            ours64, theirs[f"smp_{task}_f64"], tolerance=TOL_F64),
        "float32_mm": common.compare(mm32, theirs[f"mm_smp_{task}_f32"],
                                     tolerance=TOL_MM, measure="absolute"),
        "float32_model_units": measured(ours32, theirs[f"smp_{task}_f32"]),
        "float64_mm": measured(mm64, theirs[f"mm_smp_{task}_f64"])}
    row["met"] = (row["float64_model_units"]["met"]
                  or row["float32_mm"]["met"])
    out[task] = row
  scale = max(out[t]["float32_mm"]["max_abs_reference"] for t in out)
  out["why"] = (
      f"the requirement: float32 within {TOL_MM:g} mm or float64 within "
      f"{TOL_F64:g} relative; the float64 runs meet it. float32_mm: the "
      f"random weights' samples reach {scale:.3g} mm (no trained score pulls "
      "the reverse SDE back: x grows by about exp(int beta / 2) = 150), "
      "where 1e-3 mm is a relative error below float32's resolution; in "
      "float32 the two grids' times and steps also round differently "
      "(jaxpose's dt = t_k - t_k+1, theirs the constant 1/N) and s(t) as "
      "the score says. float64_mm back-projects with the camera fields "
      "jaxpose's reader keeps in float32 (no tolerance)")
  out["not_compared"] = (
      "completion (their comp2d / comp3d): their sampler imputes the "
      "observed entries at the step's start time t, after the (none) "
      "corrector and after the predictor, each with a fresh draw, and its "
      "output keeps a(eps) c there; jaxpose imputes once per step at the "
      "step's end time and returns c. A different convention that jaxpose "
      "does not offer as an option (and replayed noise with noisy "
      "imputation is not supported), so no run of it is compared")
  return out


def data_figures(config, inp, theirs) -> tuple[dict, dict]:
  """jaxpose's h36m_lcn reader + representation against their code."""
  method, run = methods.parse(config)
  test = method.load_data(run, {}).splits["test"]
  dt_config = dict(config, data=dict(config["data"], input_2d="detected"))
  _, dt_run = methods.parse(dt_config)
  test_dt = method.load_data(dt_run, {}).splits["test"]
  rep = run.sections.representation
  meta64 = {k: np.asarray(v, np.float64)
            for k, v in image_space.camera_meta(test).items()}
  back = rep.pose3d_from_model(np.asarray(test["pose3d"], np.float64), meta64)
  pred = rep.pose3d_from_model(inp["data_pred"].astype(np.float64), meta64)
  focal = dataclasses.replace(rep, image_depth="focal")
  pose_focal = focal.pose3d_to_model(np.asarray(test["pose3d_mm"], np.float64),
                                     meta64)
  out = {
      "pose3d": common.compare(test["pose3d"], theirs["data_pose3d"],
                               tolerance=TOL_DATA),
      "pose2d_gt": common.compare(test["pose2d"], theirs["data_pose2d_gt"],
                                  tolerance=TOL_DATA),
      "pose2d_detected": common.compare(
          test_dt["pose2d"], theirs["data_pose2d_dt"], tolerance=TOL_DATA),
      "back_projection_mm": common.compare(
          back, theirs["data_back_mm"], tolerance=TOL_MM, measure="absolute"),
      "prediction_back_projection_mm": common.compare(
          pred, theirs["data_pred_back_mm"], tolerance=TOL_MM,
          measure="absolute"),
      "default_focal_depth": {
          "what": "jaxpose's default image_depth='focal' (z scaled by fx / "
                  "Z_r) instead of their crop ratio: the largest difference "
                  "of the normalised pose (model units) and of a prediction "
                  "back-projected (mm); why the option exists",
          "pose3d_max_abs": float(np.max(np.abs(pose_focal
                                                - theirs["data_pose3d"]))),
          "prediction_back_projection_mm_max_abs": float(np.max(np.abs(
              focal.pose3d_from_model(inp["data_pred"].astype(np.float64),
                                      meta64)
              - theirs["data_pred_back_mm"])))}}
  return out, meta64


def _all_met(node) -> bool:
  if isinstance(node, dict):
    if "met" in node:
      return bool(node["met"])
    return all(_all_met(v) for v in node.values())
  return node is not False


def run(authors_repo: str, torch_python: str, work: str, *, hidden: int,
        embed: int, steps: int, batch: int, rows: int, seed: int) -> dict:
  start = time.perf_counter()
  items, dets = lcn_rows(rows, seed)
  for name in ("h36m_test.pkl", "h36m_train.pkl"):
    with open(os.path.join(work, name), "wb") as f:
      pickle.dump(items, f)
  with open(os.path.join(work, "h36m_sh_dt_ft.pkl"), "wb") as f:
    pickle.dump({"train": {"joint3d_image": dets},
                 "test": {"joint3d_image": dets}}, f)
  inp = make_inputs(items, steps, batch, seed)
  np.savez(os.path.join(work, "inputs.npz"), **inp)
  stdout = common.run_authors(
      torch_python, os.path.join(HERE, "authors_gfpose.py"), authors_repo,
      "--work", os.path.abspath(work), "--hidden", str(hidden), "--embed",
      str(embed), "--seed", str(seed), "--helper",
      os.path.join(ROOT, "tests", "helpers", "authors_gfpose.py"))
  summary = json.loads(stdout.strip().splitlines()[-1])
  theirs = dict(np.load(os.path.join(work, "authors.npz")))

  base = released_configs.base_config(
      "gfpose", "experiments/configs/gfpose_released.py:lcn")
  base["data"].update(dir=os.path.abspath(work), input_2d="gt",
                      test_stride=1)
  req = released_configs.request(
      "gfpose", os.path.join(work, "best_model.pth"),
      os.path.join(work, "imported"))
  req = type(req)(**{**req.__dict__, "base_config": lambda name: base})
  workdir = import_lib.import_weights("gfpose", req)
  trained = run_lib.load_trained(workdir)
  data, meta64 = data_figures(trained.run.config, inp, theirs)
  meta64 = {k: v[:batch] for k, v in meta64.items()}
  with open(os.path.join(workdir, import_lib.PROVENANCE)) as f:
    provenance = json.load(f)
  forward, score = forward_figures(trained, inp, theirs)
  helper = dict(summary.get("helper", {}))
  helper["forward"] = {
      name: common.compare(theirs[f"helper_{name}"], theirs[f"fwd_{name}"],
                           tolerance=TOL_FORWARD) for name in VARIANTS}
  result = {
      "what": "GFPose: the authors' ScoreModelFC_Adv, get_score_fn, pc "
              "sampler (Euler-Maruyama) and H36MDataset3D normalisation / "
              "back-projection against jaxpose's imported network, score, "
              "make_sampler and h36m_lcn reader + image space, on the same "
              "weights (random, by their init, saved in their "
              "best_model.pth layout), inputs and noise",
      "authors_repo": "Embracing/GFPose",
      "authors_commit": common.authors_commit(authors_repo),
      "authors_torch": summary.get("torch"),
      "network": {"hidden": hidden, "embed_dim": embed,
                  "parameters_authors": summary.get("parameters"),
                  "parameters_jaxpose": models.count_params(trained.params)},
      "import": {"weights": provenance.get("weights"),
                 "step": trained.step, "conventions":
                 provenance.get("conventions")},
      "forward": forward,
      "score": score,
      "sampling": {"steps": steps, "batch": batch,
                   "grid": "theirs: evaluations at linspace(1, 1e-3, K), dt = "
                           "1/K; jaxpose: make_sampler('euler_maruyama', K, "
                           "eps=0), the same times",
                   **sampling_figures(trained, inp, theirs, meta64)},
      "data": {"rows": rows, **data},
      "helper": helper,
  }
  result["all_met"] = _all_met({k: result[k] for k in
                                ("forward", "score", "sampling", "data",
                                 "helper")})
  result["seconds"] = time.perf_counter() - start
  return result


def main(argv):
  del argv
  work = _WORK.value or tempfile.mkdtemp(prefix="parity_gfpose_")
  os.makedirs(work, exist_ok=True)
  result = run(_AUTHORS.value, common.torch_python(_TORCH.value), work,
               hidden=_HIDDEN.value, embed=_EMBED.value, steps=_STEPS.value,
               batch=_BATCH.value, rows=_ROWS.value, seed=_SEED.value)
  path = common.write_result("gfpose", result)
  print(json.dumps({k: result[k] for k in ("forward", "sampling")},
                   indent=1)[:6000])
  print(f"all met: {result['all_met']}; wrote {path}")


if __name__ == "__main__":
  app.run(main)
