"""`experiments.bench.precision`: both dtypes timed in the same rounds, and
a trained workdir evaluated in each on the same rows and noise."""
import pathlib
import shutil

import pytest

from experiments.bench import precision

FIXTURE = (pathlib.Path(__file__).resolve().parents[1] / "fixtures"
           / "gfpose_workdir_4f27b87")


def test_speed_rows_time_both_dtypes_in_alternation():
  rows = precision.speed(configs=((1, 4),), num_steps=2, repeats=1,
                         model_overrides=dict(hidden=64, embed_dim=32,
                                              num_blocks=1, num_groups=8))
  (row,) = rows
  assert row["poses"] == 1 and row["hypotheses"] == 4
  # Every back end of each dtype, and the one jaxpose picks for it.
  for dtype in precision.DTYPES:
    assert sorted(row["backends"][dtype]) == sorted(precision.BACKENDS)
  assert row["chosen"] == {"float32": "ynnpack_fused",  # 4 rows: defaults
                           "bfloat16": "ynnpack_dots"}
  assert row["bfloat16_step_s"] == row["backends"]["bfloat16"]["ynnpack_dots"]
  assert row["bfloat16_speedup"] > 0


def test_error_compares_twin_hypotheses_of_a_trained_model(tmp_path):
  workdir = tmp_path / "gfpose"
  shutil.copytree(FIXTURE, workdir)
  out = precision.error(str(workdir), num_poses=8, out_dir=str(tmp_path / "o"))
  assert out["num_poses"] == 8
  gap = out["hypothesis_gap_mm"]
  # Same noise and start: the twins differ only by the products' rounding.
  assert 0 < gap["median"] <= gap["max"]
  for key, change in out["mpjpe_change_mm"].items():
    assert change == pytest.approx(
        out["bfloat16"][key] - out["float32"][key])
    assert abs(change) < 0.05 * out["float32"][key]
