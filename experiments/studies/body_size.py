r"""Question: On the project's own test rows the camera-aware GFPose's MPJPE is far above the camera-aware lifter's while their PA-MPJPE is close; is the difference the body's orientation or its size?
Answer: The figures are in the results file this writes (docs/results/footage.md shows them); the page's note says what they mean.

    python -m experiments.studies.body_size \
        --workdirs=runs/lifter_cam,runs/gfpose_cam --cache_dir=caches

writes experiments/results/body_size_cpu.json.

Each workdir estimates the same `--num_poses` test rows (its evaluation
settings, GFPose's mean of `--hypotheses`), and the error of its answer is
taken apart: MPJPE, N-MPJPE (the answer scaled by the one factor that fits
best: what is left once the size is forgiven) and PA-MPJPE (rotation too);
the answer's size (total bone length) against the truth's, for one
hypothesis and for their mean; and the sizes of the bodies the model was
trained on, per source dataset, against the test people's.
"""
from __future__ import annotations

import os

import numpy as np
from absl import app
from absl import flags

from experiments import workdir_config
from experiments.bench import timing
from jaxpose import files
from jaxpose import methods
from jaxpose import run_lib
from jaxpose.pose import metrics
from jaxpose.pose import motion_quality

_SUFFIX = "body_size"


def _size(poses_mm) -> float:
  """The mean total bone length of root-relative or absolute poses."""
  poses = np.asarray(poses_mm, np.float64).reshape(-1, 17, 3)
  return float(motion_quality.bone_lengths(poses).sum(1).mean())


def decompose(workdir: str, *, num_poses: int, hypotheses: int,
              overrides: dict) -> dict:
  """One workdir's answer on the test rows, its error taken apart."""
  over = {**overrides, "eval.task": "estimate", "eval.num_poses": num_poses,
          "eval.save_predictions": True, "eval.output_suffix": _SUFFIX,
          "eval.plot_poses": 0}
  _, run = methods.parse(run_lib.evaluation_config(workdir, over))
  if hasattr(run.task_options["estimate"], "num_hypotheses"):
    over["eval.num_hypotheses"] = hypotheses  # a generative model
  _, run = methods.parse(run_lib.evaluation_config(workdir, over))
  result = run_lib.run("eval", workdir_config.get_config(workdir), workdir,
                       overrides=over)
  out = run_lib.eval_output_dir(run, workdir)
  # This run's file: the newest of this suffix (others' settings get
  # stems of their own beside it, `evaluation.output_names`).
  written = [os.path.join(out, n) for n in os.listdir(out) if n.startswith(
      f"estimate_{_SUFFIX}") and n.endswith("_predictions.npz")]
  saved = np.load(max(written, key=os.path.getmtime))
  hyps = saved["hypotheses_mm"] - saved["hypotheses_mm"][..., :1, :]
  truth = saved["pose3d_mm"] - saved["pose3d_mm"][..., :1, :]
  mean = hyps.mean(0)
  return {
      "workdir": workdir, "method": result["method"],
      "train_step": result["train_step"], "rows_scored": result.get(
          "rows_scored"), "hypotheses": int(hyps.shape[0]),
      "mpjpe_mm": round(float(metrics.mpjpe(mean, truth).mean()), 1),
      "n_mpjpe_mm": round(float(metrics.n_mpjpe(mean, truth).mean()), 1),
      "pa_mpjpe_mm": round(float(metrics.pa_mpjpe(mean, truth).mean()), 1),
      "size_ratio": round(_size(mean) / _size(truth), 3),
      "hypothesis_size_ratio": round(_size(hyps) / _size(truth), 3),
  }


def data_sizes(workdir: str, overrides: dict) -> dict:
  """The total bone length of the training and test people, per source
  dataset (mm), and how many rows each has."""
  config = run_lib.evaluation_config(workdir, overrides)
  method, run = methods.parse(config)
  data = method.load_data(run, run_lib.load_trained(workdir,
                                                    config=config).needs)
  out = {}
  for split in ("train", "test"):
    rows = data.splits[split]
    poses = np.asarray(rows["pose3d_mm"])
    for name in np.unique(rows["dataset"]):
      pick = rows["dataset"] == name
      out[f"{split}_{name}"] = {"rows": int(pick.sum()),
                                "total_bone_length_mm": round(_size(
                                    poses[pick]), 1)}
  return out


def main(argv):
  del argv
  overrides = {"data.cache_dir": _CACHE.value} if _CACHE.value else {}
  rows = [decompose(w, num_poses=_NUM_POSES.value,
                    hypotheses=_HYPOTHESES.value, overrides=overrides)
          for w in _WORKDIRS.value]
  for row in rows:
    print(row)
  sizes = data_sizes(_WORKDIRS.value[0], overrides)
  print(sizes)
  out = os.path.join(os.path.dirname(os.path.dirname(__file__)), "results",
                     "body_size_cpu.json")
  files.write_json_atomic(out, {
      "rows": rows, "data": sizes, "seed": 0,
      "test_inputs": {"2d": "the test rows' exact camera",
                      "camera": "each row's own (the camera-aware models')"},
      "hardware": timing.hardware_info()})
  print(f"wrote {out}")


if __name__ == "__main__":
  # Defined here, not on import: tests import this module.
  _WORKDIRS = flags.DEFINE_list("workdirs", None, "Trained workdirs that "
                                "estimate (the same data).")
  _NUM_POSES = flags.DEFINE_integer("num_poses", 500, "Test rows scored.")
  _HYPOTHESES = flags.DEFINE_integer("hypotheses", 20, "Hypotheses of a "
                                     "generative model (their mean scored).")
  _CACHE = flags.DEFINE_string("cache_dir", "", "The mocap caches' folder "
                               "(data.cache_dir).")
  flags.mark_flags_as_required(["workdirs"])
  app.run(main)
