"""Tests of experiments/bench/tto.py (DPoser against PyTorch; with
machine_load.py, tto_measure.py): a tiny run of
the jaxpose side, its JSON, the motion objective's pieces,
and the torch side when JAXPOSE_TORCH_PYTHON names a python with torch
(tests/helpers/torch_python.py; skipped when unset)."""
import json
import os
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.bench import machine_load
from experiments.bench import torch_client
from experiments.bench import tto
from jaxpose import files
from jaxpose.pose import body_space

SMALL = tto.QUICK["model"]


@pytest.fixture(scope="module")
def small_model():
  """A small DPoser model, its parameters and its typed eval options."""
  model, run = tto.bench_model(**SMALL)
  return model, model.init(jax.random.key(0)), run.task_options["denoise_motion"]


@pytest.fixture(scope="module")
def quick_result():
  return tto.run_bench(quick=True, log=lambda s: None)


@pytest.mark.slow
def test_quick_run_writes_json(quick_result, tmp_path):
  path = files.write_json_atomic(os.path.join(tmp_path, "bench_tto.json"),
                                 quick_result)
  with open(path) as f:
    loaded = json.load(f)
  for key in ("hardware", "targets", "network", "sde", "sampler_step",
              "train_step", "tto_iteration", "memory", "load_average_after",
              "busy"):
    assert key in loaded, key
  for key in ("cpu_model", "cpu_count", "jax_version", "load_average_1_5_15"):
    assert key in loaded["hardware"], key
  assert loaded["targets"] == tto.TARGETS
  assert loaded["network"]["data_dim"] == 63 and loaded["network"]["cond_dim"] == 0
  assert loaded["sde"] == {"name": "subvp", "beta_min": 0.1, "beta_max": 20.0}
  for key in ("sampler_step", "train_step", "tto_iteration"):
    r = loaded[key]
    assert r["step_s"] > 0 and r["compile_s"] > 0, key
    # No torch in a quick run: no ratio, no verdict.
    assert r["speedup_vs_torch_eager"] is None and r["target_met"] is None
  q = tto.QUICK
  assert loaded["sampler_step"]["rows"] == q["sampler_rows"]
  assert loaded["train_step"]["batch_size"] == q["train_batch"]
  tt = loaded["tto_iteration"]
  assert (tt["batch"], tt["iterations"]) == (q["tto_batch"], q["tto_iters"])
  assert tt["step_s"] == pytest.approx(tt["loop_s"] / tt["iterations"])
  assert tt["finite"] and np.isfinite(loaded["train_step"]["loss"])
  for key in ("sampler_step", "train_step", "tto_iteration"):
    memory = loaded[key]["memory"]
    assert memory["host_peak_mib"] > 0 and memory["program_mib"] > 0, key
  # A scalar t reaches the network as one embedding row, in both programs.
  assert loaded["sampler_step"]["time_embedding"]["once_per_call"]
  assert tt["time_embedding"]["once_per_call"]


def test_is_busy():
  hw = {"load_average_1_5_15": [0.9, 0, 0], "cpu_count": 2}
  assert not machine_load.is_busy(hw)
  assert machine_load.is_busy({"load_average_1_5_15": [1.0, 0, 0], "cpu_count": 2})
  assert not machine_load.is_busy({"load_average_1_5_15": None, "cpu_count": 2})
  quiet, loud = ({"other_work": {"other_cores": c}} for c in (0.1, 0.3))
  assert not machine_load.is_busy(hw, [quiet, {"other_work": {"other_cores": None}}])
  assert machine_load.is_busy(hw, [quiet, loud])


def test_other_work_subtracts_our_own_processes(monkeypatch):
  machine = iter([(1000, 50), (1300, 60)])  # all CPUs: +300 busy, +10 steal
  own = iter([200, 350])  # this process tree: +150
  monkeypatch.setattr(machine_load, "_machine_ticks", lambda: next(machine))
  monkeypatch.setattr(machine_load, "_process_ticks", lambda pids: next(own))
  monkeypatch.setattr(machine_load.OtherWork, "MIN_WALL_S", 0.0)
  with machine_load.OtherWork() as other:
    pass
  r, hz = other.result, os.sysconf("SC_CLK_TCK")
  assert r["other_cores"] * r["wall_s"] * hz == pytest.approx(150)
  assert r["steal_cores"] * r["wall_s"] * hz == pytest.approx(10)


def test_other_work_on_this_machine():
  if not os.path.exists("/proc/stat"):
    pytest.skip("no /proc here")
  with machine_load.OtherWork() as other:
    end = time.perf_counter() + 1.0
    while time.perf_counter() < end:  # our own CPU, not counted
      pass
  r = other.result
  assert r["wall_s"] >= 1.0 and r["other_cores"] >= 0 and r["steal_cores"] >= 0
  with machine_load.OtherWork() as short:
    pass
  assert short.result["other_cores"] is None  # too short to tell
  assert os.getpid() in machine_load._descendants(os.getpid())


def test_quick_refuses_torch_refs():
  with pytest.raises(ValueError, match="quick sizes"):
    tto.run_bench(quick=True, torch_refs={"torch_eager": object()},
                  log=lambda s: None)


def test_embedding_rows_tells_shared_from_per_row(small_model):
  model, params, _ = small_model
  x = jnp.zeros((5, 63))
  shared = tto.embedding_rows(
      lambda p: model.network.apply(p, x, 0.3, None), params,
      embed_dim=SMALL["embed_dim"])
  assert shared["once_per_call"] and shared["embedding_rows"] == [1]
  per_row = tto.embedding_rows(
      lambda p: model.network.apply(p, x, jnp.full(5, 0.3), None), params,
      embed_dim=SMALL["embed_dim"])
  assert not per_row["once_per_call"] and per_row["embedding_rows"] == [5]


def test_motion_solver_adapter_denoises(small_model):
  """The library's solver, as the bench builds it, moves toward the truth
  (an untrained prior with the config's small weight barely matters)."""
  model, params, opts = small_model
  inputs = tto.tto_inputs(8)
  solver, body = tto.make_motion_solver(model, params, opts, inputs["zscore"],
                                        num_steps=60)
  args = tto.motion_solver_args(body, inputs["noisy"])
  assert [a.shape[0] for a in args] == [1, 1, 1, 1]  # one clip
  fitted = np.asarray(solver(*args))[0]
  assert fitted.shape == (8, 22, 3) and np.all(np.isfinite(fitted))

  def mpjpe(joints):
    return float(np.mean(np.linalg.norm(joints - inputs["truth"], axis=-1)))
  assert mpjpe(fitted) < mpjpe(inputs["noisy"])


def test_torch_side_answers_every_op(torch_python):
  with torch_client.TorchReference(torch_python, tto.DPOSER_SCRIPT) as ref:
    assert ref.info["num_params"] == 7_227_967  # 63-D, as jaxpose's
    assert ref.request(op="sample", rows=4, steps=2)["s"] > 0
    assert ref.request(op="train", batch=4)["s"] > 0
    assert ref.memory()["host_peak_mib"] > 0  # this server's own peak
    offsets = np.asarray(body_space.rest_offsets(tto.BONE_LENGTHS_MM)).tolist()
    parents = [int(p) for p in body_space.PARENTS]
    assert ref.request(op="tto", batch=5, iters=3, offsets=offsets,
                       parents=parents)["s"] > 0
    with pytest.raises(RuntimeError, match="joint tree"):
      ref.request(op="tto", batch=5, iters=1, offsets=offsets[:5],
                  parents=parents[:5])


def test_torch_forward_kinematics_matches_jaxpose(torch_python):
  """Both sides pose the same skeleton the same way."""
  rng = np.random.default_rng(0)
  pose = (0.5 * rng.standard_normal((3, 63))).astype(np.float32)
  offsets = np.asarray(body_space.rest_offsets(tto.BONE_LENGTHS_MM)).tolist()
  parents = [int(p) for p in body_space.PARENTS]
  script = (
      "import json, sys, torch\n"
      f"sys.path.insert(0, {os.path.dirname(tto.DPOSER_SCRIPT)!r})\n"
      "import torch_dposer as td\n"
      "d = json.loads(sys.stdin.read())\n"
      "j = td.forward_kinematics(torch.tensor(d['pose']), "
      "torch.tensor(d['offsets']), d['parents'])\n"
      "print(json.dumps(j.tolist()))\n")
  out = subprocess.run(
      [torch_python, "-c", script], input=json.dumps(dict(
          pose=pose.tolist(), offsets=offsets, parents=parents)),
      capture_output=True, text=True, check=True)
  theirs = np.asarray(json.loads(out.stdout))
  ours = body_space.forward_kinematics(pose.astype(np.float64),
                                      tto.BONE_LENGTHS_MM.astype(np.float64))
  np.testing.assert_allclose(theirs, ours, atol=1e-2)  # mm, float32 torch
