"""The same GFPose training recipe in the authors' code and in jaxpose, side by side.

  python -m experiments.parity.train_gfpose \
      --authors_repo=/path/to/GFPose --torch_python=/tmp/torchvenv/bin/python \
      --workdir=runs/side_by_side_gfpose [--steps=3000 --batch=256 ...]

Both train GFPose on jaxpose-mocap v1 (experiments/configs/gfpose_mocap.py:
its training rows, in its model units) with one recipe: the authors'
network (ScoreModelFC_Adv layout, dropout 0.25 as their code hard-codes),
their half-sum epsilon loss, Adam with a linear warm-up, gradient clipping
at norm 1, EMA with warm-up, condition masking p = 0.1 at every level and
the 2D -> 3D swap, the same step count, batch and seed (each side's own
random streams: the seed policy, not the draws, is shared). The authors'
side runs their training step (experiments/parity/authors_gfpose_train.py)
and saves their checkpoint layout, which is imported into jaxpose with the
released-weights importer; then jaxpose's `estimate` task scores both
workdirs on the same test rows with the same sampler and hypotheses.

Writes experiments/results/side_by_side_gfpose_<--hardware>.json: both
rows (MPJPE of the hypotheses' mean, best-of-H, PA-MPJPE, training seconds
per step) and the ratios. The defaults are sized for 2 CPU cores; the
paper's budget (--hidden=1024 --embed=512 --batch=1000 --steps=200000
--lr=2e-4 --warmup=5000 --ema=0.9999) is for an accelerator.
"""
from __future__ import annotations

import json
import os
import time

import numpy as np

from absl import app
from absl import flags

from experiments.configs import gfpose_mocap
from experiments.parity import common
from jaxpose import config as config_lib
from jaxpose import files
from jaxpose import import_lib
from jaxpose import methods
from jaxpose import run_lib
from jaxpose.methods import base
from jaxpose.workdir import layout

_AUTHORS = flags.DEFINE_string("authors_repo", None, "Embracing/GFPose checkout.")
_TORCH = flags.DEFINE_string("torch_python", None, "A python with torch.")
_WORKDIR = flags.DEFINE_string("workdir", "runs/side_by_side_gfpose",
                               "Holds jaxpose/, authors/ and the rows.")
_STEPS = flags.DEFINE_integer("steps", 3000, "Training steps (both).")
_BATCH = flags.DEFINE_integer("batch", 256, "Batch size (both).")
_HIDDEN = flags.DEFINE_integer("hidden", 512, "MLP width.")
_EMBED = flags.DEFINE_integer("embed", 128, "Time embedding width.")
_LR = flags.DEFINE_float("lr", 1e-3, "Peak learning rate.")
_WARMUP = flags.DEFINE_integer("warmup", 500, "Warm-up steps.")
_EMA = flags.DEFINE_float("ema", 0.999, "EMA decay.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of both runs.")
_EVAL_POSES = flags.DEFINE_integer("eval_poses", 200, "Test rows scored.")
_HYPOTHESES = flags.DEFINE_integer("hypotheses", 20, "Hypotheses per row.")
_HARDWARE = flags.DEFINE_string("hardware", "cpu", "Results file suffix.")
flags.mark_flags_as_required(["authors_repo"])


def recipe_config(*, steps, batch, hidden, embed, lr, warmup, ema, seed,
                  eval_poses, hypotheses) -> dict:
  """gfpose_mocap.py with the authors' training recipe at this budget."""
  c = gfpose_mocap.get_config("small")
  c.seed = seed
  c.model.update(hidden=hidden, embed_dim=embed, num_blocks=2, dropout=0.25)
  c.train.update(num_steps=steps, batch_size=batch, learning_rate=lr,
                 warmup_steps=warmup, ema_decay=ema, grad_clip=1.0,
                 loss_reduce="half_sum", ckpt_every=steps,
                 log_every=max(1, steps // 10))
  c.eval.update(num_poses=eval_poses, num_hypotheses=hypotheses,
                hypotheses_list=tuple(sorted({1, min(10, hypotheses),
                                              hypotheses})),
                plot_poses=0)
  return config_lib.to_plain(c)


def export_rows(config: dict, path: str) -> int:
  """The training rows (model units) as pose3d / pose2d in an npz."""
  method, run = methods.parse(config)
  data = method.load_data(run, {})
  training = method.training(method.build(run, {}, {}), data, {})
  arrays = {k: training.arrays[k] for k in ("pose3d", "pose2d")}
  files.write_npz_atomic(path, arrays)
  return len(arrays["pose3d"])


def jaxpose_seconds_per_step(workdir: str) -> float:
  """1 / the median steps/s of the training log, first line (compiling)
  left out: the loop's speed, as the authors' side measures its loop."""
  with open(layout.Workdir(workdir).metrics_log) as f:
    rates = [json.loads(line).get("steps_per_sec") for line in f if line.strip()]
  rates = [r for r in rates[1:] if r] or [r for r in rates if r]
  return 1.0 / float(np.median(rates))


def _figures(result: dict, seconds_per_step: float) -> dict:
  keys = ("mpjpe_mm", "min_mpjpe_mm", "pa_mpjpe_mm", "min_pa_mpjpe_mm",
          "mpjpe_mm_activity_mean", "min_mpjpe_mm_activity_mean",
          "best_of_h")
  out = {k: result[k] for k in keys if k in result}
  out["train_seconds_per_step"] = seconds_per_step
  return out


def run(authors_repo, torch_python, out_dir, **recipe) -> dict:
  """Trains both in `out_dir` (a jaxpose workdir, the authors' checkpoint
  and its import), evaluates both; returns the results record."""
  config = recipe_config(**recipe)
  os.makedirs(out_dir, exist_ok=True)
  rows_path = os.path.join(out_dir, "rows.npz")
  num_rows = export_rows(config, rows_path)

  ours = os.path.join(out_dir, "jaxpose")
  start = time.perf_counter()
  run_lib.train(config, ours)
  jax_seconds = time.perf_counter() - start
  ours_result = run_lib.evaluate(config, ours)

  ckpt = os.path.join(out_dir, "authors", "best_model.pth")
  out = common.run_authors(
      torch_python, os.path.join(os.path.dirname(__file__),
                                 "authors_gfpose_train.py"), authors_repo,
      "--rows", os.path.abspath(rows_path), "--out", os.path.abspath(ckpt),
      "--steps", str(recipe["steps"]), "--batch", str(recipe["batch"]),
      "--hidden", str(recipe["hidden"]), "--embed", str(recipe["embed"]),
      "--lr", str(recipe["lr"]), "--warmup", str(recipe["warmup"]),
      "--ema", str(recipe["ema"]), "--seed", str(recipe["seed"]))
  authors_log = json.loads(out.strip().splitlines()[-1])
  theirs = os.path.join(out_dir, "authors_imported")
  request = base.ImportRequest(
      checkpoint=ckpt, files={},
      options={"weights": "ema", "representation": "config"},
      workdir=os.path.abspath(theirs), base_config=lambda name: config)
  import_lib.import_weights("gfpose", request)
  # Its own config.json: the importer spells out the conventions it set.
  theirs_result = run_lib.evaluate(run_lib.evaluation_config(theirs), theirs)

  row_ours = _figures(ours_result, jaxpose_seconds_per_step(ours))
  row_ours["train_wall_seconds"] = jax_seconds
  row_theirs = _figures(theirs_result, authors_log["seconds_per_step"])
  return {
      "what": "GFPose trained by jaxpose and by the authors' code with one "
              "recipe; both scored by jaxpose's estimate task",
      "authors_commit": common.authors_commit(authors_repo),
      "recipe": recipe, "train_rows": num_rows,
      "eval": {"task": "estimate", "num_poses": recipe["eval_poses"],
               "num_hypotheses": recipe["hypotheses"],
               "sampler": config["eval"]["sampler"],
               "num_steps": config["eval"]["num_steps"]},
      "jaxpose": row_ours, "authors": row_theirs,
      "train_seconds_note": "per step of the training loop: jaxpose's from "
                            "its log's steps/s (median, compiling left "
                            "out), the authors' their loop's wall clock / "
                            "steps; train_wall_seconds adds jaxpose's data "
                            "loading and compiling",
      "authors_torch": authors_log.get("torch"),
      "authors_threads": authors_log.get("threads"),
      "ratio_mpjpe": row_ours["mpjpe_mm"] / row_theirs["mpjpe_mm"],
      "ratio_min_mpjpe": row_ours["min_mpjpe_mm"] / row_theirs["min_mpjpe_mm"],
      "speedup_per_step": (row_theirs["train_seconds_per_step"]
                           / row_ours["train_seconds_per_step"]),
  }


def main(argv):
  del argv
  record = run(
      _AUTHORS.value, common.torch_python(_TORCH.value), _WORKDIR.value,
      steps=_STEPS.value, batch=_BATCH.value, hidden=_HIDDEN.value,
      embed=_EMBED.value, lr=_LR.value, warmup=_WARMUP.value, ema=_EMA.value,
      seed=_SEED.value, eval_poses=_EVAL_POSES.value,
      hypotheses=_HYPOTHESES.value)
  record["hardware"] = _HARDWARE.value
  record["machine"] = common.machine()
  path = os.path.join(common.RESULTS,
                      f"side_by_side_gfpose_{_HARDWARE.value}.json")
  files.write_json_atomic(path, record)
  print(json.dumps({k: record[k] for k in ("jaxpose", "authors",
                                           "ratio_mpjpe", "ratio_min_mpjpe",
                                           "speedup_per_step")}, indent=1))
  print(f"wrote {path}")


if __name__ == "__main__":
  app.run(main)
