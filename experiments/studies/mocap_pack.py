r"""Question: How small can the mocap caches travel, and what does packing them cost a trained model's error?
Answer: The figures are in the results file this writes (docs/results/speed.md shows them); the page's note says what they mean.

    python -m experiments.studies.mocap_pack --cache_dir=caches \
        --workdir=runs/lifter_cam [--num_poses=2000]

writes experiments/results/mocap_pack_cpu.json.

Each cache is packed (`experiments.pack_caches`, `jaxpose.data.mocap_pack`)
positions only and with the body space's rotations, and the sizes and the
largest errors are recorded; the positions-only packs are unpacked into a
temporary folder, and the workdir's model evaluates the same test rows
from the original caches and from the unpacked ones (its evaluation
settings, exact 2D from the virtual cameras), so the difference in MPJPE
and PA-MPJPE is what the pack costs that model.
"""
from __future__ import annotations

import os
import tempfile

from absl import app
from absl import flags

from experiments import pack_caches
from experiments import workdir_config
from experiments.bench import timing
from jaxpose import files
from jaxpose import run_lib


def evaluate(workdir: str, cache_dir: str, num_poses: int, tag: str) -> dict:
  """The workdir's estimate on `num_poses` test rows read from `cache_dir`."""
  over = {"data.cache_dir": cache_dir, "eval.task": "estimate",
          "eval.num_poses": num_poses, "eval.plot_poses": 0,
          "eval.output_suffix": f"pack_{tag}"}
  result = run_lib.run("eval", workdir_config.get_config(workdir), workdir,
                       overrides=over)
  return {k: result[k] for k in ("mpjpe_mm", "pa_mpjpe_mm", "rows_scored",
                                 "method", "train_step")}


def study(cache_dir: str, workdir: str, num_poses: int) -> dict:
  with tempfile.TemporaryDirectory() as work:
    packs = {"positions": pack_caches.pack_all(
        cache_dir, os.path.join(work, "positions"), body=False)}
    packs["positions_and_body"] = pack_caches.pack_all(
        cache_dir, os.path.join(work, "body"), body=True)
    unpacked = os.path.join(work, "unpacked")
    pack_caches.unpack_all(os.path.join(work, "positions"), unpacked)
    original = evaluate(workdir, cache_dir, num_poses, "original")
    packed = evaluate(workdir, unpacked, num_poses, "positions")
  sizes = {kind: {"cache_mib": round(sum(g["cache_bytes"] for g in got.values())
                                     / 2**20, 1),
                  "pack_mib": round(sum(g["pack_bytes"] for g in got.values())
                                    / 2**20, 1),
                  "max_error": {d: g["max_error"] for d, g in got.items()}}
           for kind, got in packs.items()}
  return {"packs": sizes, "evaluation": {
      "original": original, "unpacked_positions": packed,
      "mpjpe_change_mm": round(packed["mpjpe_mm"] - original["mpjpe_mm"], 4),
      "pa_mpjpe_change_mm": round(packed["pa_mpjpe_mm"]
                                  - original["pa_mpjpe_mm"], 4)}}


def main(argv):
  del argv
  result = study(_CACHE_DIR.value, _WORKDIR.value, _NUM_POSES.value)
  print(result)
  out = os.path.join(os.path.dirname(os.path.dirname(__file__)), "results",
                     "mocap_pack_cpu.json")
  files.write_json_atomic(out, {
      **result, "workdir": _WORKDIR.value, "seed": 0,
      "resolution": {"mm": 0.5, "rad": 1e-3},
      "test_inputs": {"2d": "the test rows' exact camera"},
      "hardware": timing.hardware_info()})
  print(f"wrote {out}")


if __name__ == "__main__":
  # Defined here, not on import: tests import this module.
  _CACHE_DIR = flags.DEFINE_string("cache_dir", "caches", "The mocap caches.")
  _WORKDIR = flags.DEFINE_string("workdir", None, "A trained mocap workdir.")
  _NUM_POSES = flags.DEFINE_integer("num_poses", 2000, "Test rows scored.")
  flags.mark_flags_as_required(["workdir"])
  app.run(main)
