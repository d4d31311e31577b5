"""Subprocess worker for tests/test_parallel.py.

Run with XLA_FLAGS=--xla_force_host_platform_device_count=N set by the
caller (it must be set before JAX starts). Modes:

  sharded OUT          train on a mesh over all N local devices and on a
                       one-device mesh, in float64 and float32; write the
                       final states to OUT.npz.
  process OUT PORT I P train as process I of P (multi-host over localhost,
                       gloo); process 0 writes the final state to OUT.npz.

Every mode trains the toy model of tests/helpers/toy.py for STEPS updates
on the same global batches with the same key, and prints one JSON line.
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

import jax  # noqa: E402
import numpy as np  # noqa: E402

from jaxpose.training import parallel
from jaxpose.training import train  # noqa: E402
from tests.helpers import toy  # noqa: E402

STEPS = 4
GLOBAL_BATCH = 16


def run(mesh, rows=None, x64=True):
  """Final (params, EMA params) leaves of a STEPS-update toy run."""
  with jax.enable_x64(x64):
    return _run(mesh, rows, np.float64 if x64 else np.float32)


def _run(mesh, rows, dtype):
  graphdef, params = toy.make_model(0)
  params = jax.tree.map(lambda p: p.astype(dtype), params)
  tx = train.make_optimizer(learning_rate=5e-2, warmup_steps=2)
  step = train.make_train_step(toy.make_loss_fn(graphdef), tx,
                               ema_max_decay=0.9)
  state = train.init_train_state(params, tx)
  batch_fn = toy.make_batch_fn(GLOBAL_BATCH, rows=rows, dtype=dtype)
  state = train.fit(state, step, batch_fn, key=jax.random.key(7),
                    num_steps=STEPS, mesh=mesh, log_every=2)
  host = parallel.fetch((state.params, state.ema_params))
  return {f"{i}": x for i, x in enumerate(jax.tree.leaves(host))}


def main():
  mode, out = sys.argv[1], sys.argv[2]
  info = {"mode": mode}
  if mode == "sharded":
    assert jax.device_count() == 8, jax.devices()
    mesh = parallel.make_mesh()
    batch = parallel.shard_batch(mesh, toy.make_batch_fn(GLOBAL_BATCH)(0))
    info["batch_shard_rows"] = sorted(
        {s.data.shape[0] for s in batch["x"].addressable_shards})
    info["num_shards"] = len(batch["x"].addressable_shards)
    try:
      parallel.shard_batch(mesh, {"x": np.zeros((12, 3))})
      info["indivisible_error"] = None
    except ValueError as e:
      info["indivisible_error"] = str(e)
    results = {}
    for x64 in (True, False):
      bits = 64 if x64 else 32
      for name, m in (("sharded", mesh),
                      ("single", parallel.make_mesh(jax.devices()[:1]))):
        for k, v in run(m, x64=x64).items():
          results[f"f{bits}_{name}_{k}"] = v
    np.savez(out, **results)
  elif mode == "process":
    port, pid, nproc = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    assert parallel.initialize_distributed(f"localhost:{port}", nproc, pid)
    info.update(process_index=jax.process_index(),
                process_count=jax.process_count(),
                device_count=jax.device_count(),
                local_device_count=jax.local_device_count())
    mesh = parallel.make_mesh()
    rows = parallel.process_batch_slice(GLOBAL_BATCH, mesh)
    assert rows == parallel.process_batch_slice(GLOBAL_BATCH), rows
    info["rows"] = [rows.start, rows.stop]
    result = run(mesh, rows=rows)
    if jax.process_index() == 0:
      np.savez(out, **result)
    jax.distributed.shutdown()
  else:
    raise SystemExit(f"unknown mode {mode!r}")
  print("RESULT " + json.dumps(info), flush=True)


if __name__ == "__main__":
  main()
