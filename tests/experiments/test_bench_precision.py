"""`experiments.bench.precision`: both dtypes timed in the same rounds, and
a trained workdir evaluated in each on the same rows and noise."""
import pathlib
import shutil

import pytest

from experiments.bench import precision
from jaxpose.core import xla_options

FIXTURE = (pathlib.Path(__file__).resolve().parents[1] / "fixtures"
           / "gfpose_workdir_4f27b87")


def test_speed_rows_time_both_dtypes_in_alternation(monkeypatch):
  # The built-in choice of an x86 CPU with AVX2 and FMA, whatever the host.
  monkeypatch.setattr(xla_options, "_host_flags", lambda: {"avx2", "fma"})
  rows = precision.speed(configs=((1, 4),), num_steps=2, repeats=1,
                         model_overrides=dict(hidden=64, embed_dim=32,
                                              num_blocks=1, num_groups=8))
  (row,) = rows
  assert row["poses"] == 1 and row["hypotheses"] == 4
  # Every back end of each dtype, and the one jaxpose picks for it.
  for dtype in precision.DTYPES:
    assert sorted(row["backends"][dtype]) == sorted(precision.BACKENDS)
  # 4 rows: a small sampler's options, the products alone, in both dtypes.
  assert row["chosen"] == {"float32": "ynnpack_dots",
                           "bfloat16": "ynnpack_dots"}
  assert row["bfloat16_step_s"] == row["backends"]["bfloat16"]["ynnpack_dots"]
  assert row["bfloat16_speedup"] > 0


def test_options_measured_on_this_cpu_join_the_back_ends_timed(monkeypatch):
  backends = dict(precision.BACKENDS)
  assert precision._chosen(1, "bfloat16", backends) == "ynnpack_dots"
  assert backends == precision.BACKENDS
  onednn = {"xla_cpu_experimental_onednn_custom_call": True}
  measured = xla_options.CpuChoice(onednn, {}, {}, "a test")
  monkeypatch.setattr(xla_options, "cpu_choice", lambda: measured)
  assert precision._chosen(1, "float32", backends) == "installed_0"
  assert precision._chosen(1, "float32", backends) == "installed_0"
  assert precision._chosen(10_000, "float32", backends) == "ynnpack_fused"
  assert backends["installed_0"] == onednn


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
