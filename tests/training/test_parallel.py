"""Data parallelism: the sharded step equals the one-device step; two
processes on localhost (gloo) equal one process over the same global batch.

Multi-device runs happen in subprocesses (tests/helpers/parallel_worker.py)
because the CPU device count must be fixed before JAX starts.
"""
import json
import os
import pathlib
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest
from jax.sharding import AxisType, PartitionSpec as P

from jaxpose.core import xla_options
from jaxpose.training import parallel
from jaxpose.training import train
from tests.helpers import parallel_worker, toy

ROOT = pathlib.Path(__file__).resolve().parents[2]
WORKER = ROOT / "tests" / "helpers" / "parallel_worker.py"
TIMEOUT = 180


def _env(devices):
  env = dict(os.environ)
  # Keep the suite's own XLA flags (tests/conftest.py): the reference is
  # computed under them in this process.
  flags = f"{env.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={devices}"
  env.update(JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT), XLA_FLAGS=flags.strip())
  return env


def _result(proc):
  assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
  lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
  assert lines, proc.stdout[-2000:] + proc.stderr[-4000:]
  return json.loads(lines[-1][len("RESULT "):])


def _run_worker(args, devices):
  return _result(subprocess.run(
      [sys.executable, str(WORKER), *map(str, args)], env=_env(devices),
      capture_output=True, text=True, timeout=TIMEOUT))


# --------------------------------------------------------------- in process
def test_mesh_and_shardings():
  mesh = parallel.make_mesh()
  assert mesh.axis_names == ("data",)
  assert mesh.axis_types == (AxisType.Auto,)
  assert mesh.size == jax.device_count()
  assert parallel.batch_sharding(mesh).spec == P("data")
  assert parallel.replicated_sharding(mesh).spec == P()
  with pytest.raises(ValueError, match="empty"):
    parallel.make_mesh([])


def test_single_process_helpers():
  assert parallel.process_batch_slice(12) == slice(0, 12)
  assert parallel.process_batch_slice(12, parallel.make_mesh()) == slice(0, 12)
  with pytest.raises(ValueError, match="global_batch_size"):
    parallel.process_batch_slice(0)
  assert parallel.initialize_distributed() is False
  assert parallel.initialize_distributed(num_processes=1) is False
  mesh = parallel.make_mesh()
  with pytest.raises(ValueError, match=r"local_batch\['t'\] is a scalar"):
    parallel.shard_batch(mesh, {"t": np.float32(1.0)})
  tree = parallel.replicate(mesh, {"a": np.ones(3), "k": jax.random.key(0)})
  assert tree["a"].sharding.is_fully_replicated
  np.testing.assert_array_equal(parallel.fetch(tree)["a"], np.ones(3))


def _toy_step(batch_size: int = 8):
  """The toy model's step as `jit_train_step` jits it, and its arguments."""
  graphdef, params = toy.make_model()
  tx = train.make_optimizer(learning_rate=1e-2, warmup_steps=1)
  mesh = parallel.make_mesh()
  state = parallel.replicate(mesh, train.init_train_state(params, tx))
  step = parallel.jit_train_step(
      train.make_train_step(toy.make_loss_fn(graphdef), tx), mesh)
  batch = parallel.shard_batch(mesh, toy.make_batch_fn(batch_size)(0))
  return step, (state, batch, parallel.replicate(mesh, jax.random.key(0)))


def test_jit_train_step_donates_state():
  step, (state, batch, key) = _toy_step()
  new, metrics = step(state, batch, key)
  assert int(new.step) == 1 and np.isfinite(float(metrics["loss"]))
  assert jax.tree.leaves(state.params)[0].is_deleted()


def _compiled_step_text(batch_size: int = 8):
  step, args = _toy_step(batch_size)
  return step.lower(*args).compile().as_text()


def test_train_step_compiles_with_the_training_options(monkeypatch):
  """Products alone in YNNPACK, the rest in XLA's own fusions; under XLA's
  defaults (JAXPOSE_XLA_DEFAULTS) YNNPACK also takes other work."""
  if jax.default_backend() != "cpu":
    pytest.skip("CPU compiler options")

  def ynnpack_subgraphs():
    lines = [l.strip() for l in _compiled_step_text(512).splitlines()]
    return [l for l in lines if l.startswith("%ynn_fusion")]

  monkeypatch.delenv(xla_options.DEFAULTS_ENV, raising=False)
  ours = ynnpack_subgraphs()
  assert len(ours) >= 3 and all("/dot_general" in l for l in ours), ours
  monkeypatch.setenv(xla_options.DEFAULTS_ENV, "1")
  assert not all("/dot_general" in l for l in ynnpack_subgraphs())


# ------------------------------------------------------------- subprocesses
@pytest.mark.slow
def test_sharded_step_equals_single_device(tmp_path):
  """8 CPU devices vs 1 for 4 Adam steps with input noise and dropout.

  Only the summation order of the gradient all-reduce differs: float64
  agrees to 1e-12, float32 to 2e-6 (parameters are O(1)).
  """
  out = tmp_path / "sharded.npz"
  info = _run_worker(["sharded", out], devices=8)
  assert info["num_shards"] == 8 and info["batch_shard_rows"] == [2]
  assert "not divisible by the 8 devices" in info["indivisible_error"]
  data = np.load(out)
  for bits, atol in ((64, 1e-12), (32, 2e-6)):
    keys = [k for k in data if k.startswith(f"f{bits}_sharded_")]
    assert len(keys) == 8  # params and EMA params: 2 kernels + 2 biases each
    for k in keys:
      a, b = data[k], data[k.replace("_sharded_", "_single_")]
      assert a.dtype == np.dtype(f"float{bits}")
      np.testing.assert_allclose(a, b, rtol=0, atol=atol, err_msg=k)


def _free_port():
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_equal_one(tmp_path):
  """Two processes x 2 CPU devices, each feeding its half of the batch."""
  port = _free_port()
  out = tmp_path / "multi.npz"
  procs = [subprocess.Popen(
      [sys.executable, str(WORKER), "process", str(out), str(port), str(i),
       "2"], env=_env(2), stdout=subprocess.PIPE,
      stderr=subprocess.PIPE, text=True) for i in range(2)]
  # The reference: one process, one device, the whole global batch,
  # computed here while the two workers run.
  ref = parallel_worker.run(parallel.make_mesh(jax.devices()[:1]), x64=True)
  results = []
  try:
    for p in procs:
      stdout, stderr = p.communicate(timeout=TIMEOUT)
      results.append((p.returncode, stdout, stderr))
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()
  for rc, stdout, stderr in results:
    if rc != 0 and "gloo" in stderr.lower() and (
        "not supported" in stderr.lower() or "unimplemented" in stderr.lower()):
      pytest.skip("this jaxlib cannot run gloo CPU collectives: "
                  + stderr.strip().splitlines()[-1])
  infos = [_result(subprocess.CompletedProcess([], rc, so, se))
           for rc, so, se in results]
  assert [i["process_index"] for i in infos] == [0, 1]
  assert all(i["device_count"] == 4 and i["local_device_count"] == 2
             for i in infos)
  assert [i["rows"] for i in infos] == [[0, 8], [8, 16]]

  multi = np.load(out)
  assert sorted(multi) == sorted(ref) and len(ref) == 8
  for k in ref:
    np.testing.assert_allclose(multi[k], ref[k], rtol=0, atol=1e-12,
                               err_msg=k)
