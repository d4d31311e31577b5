"""experiments/bench/test_set.py (a whole test set sampled beside PyTorch)
and experiments/bench/gpu.py (the one GPU command), with tiny sizes; the
PyTorch side when JAXPOSE_TORCH_PYTHON names a python with torch."""
import json

import pytest

from experiments.bench import gpu
from experiments.bench import test_set
from experiments.bench import torch_client


def test_whole_set_counts_chunks_and_rows():
  r = test_set.run_test_set(poses=10, hypotheses=3, steps=2, chunk_poses=4,
                            quick=True, log=lambda s: None)
  # 10 poses in chunks of 4: three compiled calls of 4 x 3 rows each.
  assert (r["chunks"], r["chunk_poses"], r["rows_sampled"]) == (3, 4, 36)
  assert r["wall_s"] > 0 and r["compile_s"] > 0
  assert r["hypothesis_steps_per_s"] == pytest.approx(36 * 2 / r["wall_s"])
  assert r["memory"]["host_peak_mib"] > 0
  assert "torch_measured" not in r


def test_whole_set_refuses_bad_sizes_and_quick_with_torch():
  with pytest.raises(ValueError, match="poses"):
    test_set.run_test_set(poses=0, quick=True)
  with pytest.raises(ValueError, match="quick"):
    test_set.run_test_set(poses=2, quick=True, torch_refs={"x": object()})


def test_gpu_command_runs_the_three_benchmarks_on_jaxposes_device(
    monkeypatch, tmp_path):
  seen = {}

  def refs(python, *args, device, matmul_precision, **kwargs):
    seen.setdefault("refs", []).append((python, device, matmul_precision))
    return {}

  monkeypatch.setattr(torch_client, "start_torch_refs", refs)
  monkeypatch.setattr(gpu.tto, "start_torch_refs", refs)
  monkeypatch.setattr(gpu.throughput, "run_bench",
                      lambda **kw: seen.setdefault("sampling", kw) and {})
  monkeypatch.setattr(gpu.tto, "run_bench",
                      lambda **kw: seen.setdefault("tto", kw) and {})
  monkeypatch.setattr(gpu.test_set, "run_test_set",
                      lambda **kw: seen.setdefault("test_set", kw) and {})
  written = gpu.run_all("box", str(tmp_path), torch_python="py",
                        test_set_steps=7)
  assert [p.rsplit("/", 1)[1] for p in written] == [
      "bench_sampling_box.json", "bench_test_set_box.json",
      "bench_tto_box.json"]
  # No GPU here; float32 products in float32 itself on both sides.
  assert seen["refs"] == [("py", "cpu", "highest")] * 2
  assert json.loads(open(written[0]).read())["float32_products"] == {
      "jax": "highest", "torch": "highest"}
  assert seen["test_set"]["steps"] == 7 and not seen["sampling"]["quick"]
  seen.clear()
  written = gpu.run_all("box", str(tmp_path), torch_python="py", tf32=True)
  assert seen["refs"] == [("py", "cpu", "high")] * 2
  assert json.loads(open(written[2]).read())["float32_products"] == {
      "jax": "tensorfloat32", "torch": "high"}
  seen.clear()
  gpu.run_all("box", str(tmp_path), torch_python="py", quick=True)
  assert [r[0] for r in seen["refs"]] == [None, None]  # quick: no torch


def test_torch_server_runs_on_the_device_asked(torch_python):
  with torch_client.TorchReference(torch_python, device="cpu") as ref:
    assert ref.info["device"] == "cpu" and ref.info["device_name"] is None
    assert ref.info["matmul_precision"] == "highest"
    assert ref.em(rows=4, steps=1) > 0
  with pytest.raises(RuntimeError, match="torch reference"):
    torch_client.TorchReference(torch_python, device="no_such_device")


def test_gpu_command_runs_only_the_parts_asked(monkeypatch, tmp_path):
  started = []
  monkeypatch.setattr(torch_client, "start_torch_refs",
                      lambda *a, **kw: started.append("gfpose") or {})
  monkeypatch.setattr(gpu.tto, "start_torch_refs",
                      lambda *a, **kw: started.append("dposer") or {})
  for name in ("throughput", "tto"):
    monkeypatch.setattr(getattr(gpu, name), "run_bench", lambda **kw: {})
  monkeypatch.setattr(gpu.test_set, "run_test_set", lambda **kw: {})
  written = gpu.run_all("box", str(tmp_path), torch_python="py",
                        parts=("tto",))
  assert [p.rsplit("/", 1)[1] for p in written] == ["bench_tto_box.json"]
  assert started == ["dposer"]  # no GFPose server for a DPoser-only run
  started.clear()
  written = gpu.run_all("box", str(tmp_path), torch_python="py",
                        parts=("test_set",))
  assert [p.rsplit("/", 1)[1] for p in written] == ["bench_test_set_box.json"]
  assert started == ["gfpose"]
  for bad in (("sampling", "tto", "speed"), ()):
    with pytest.raises(ValueError, match="parts: expected some of sampling, "
                       "test_set, tto"):
      gpu.run_all("box", str(tmp_path), torch_python="py", parts=bad)
