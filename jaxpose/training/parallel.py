"""Data parallelism over all devices (one host or many) with `jax.jit`.

The training step is an ordinary function of `(state, batch, key)`; this
module only decides where the arrays live: a one-axis mesh `'data'` over
every device of every process, the batch split along its leading axis,
the train state and key replicated.  `jax.jit` then compiles the global
program (the loss averaged over the *global* batch) and inserts the
gradients' all-reduce.

With `jax_threefry_partitionable` (the default since JAX 0.5) random values
do not depend on how they are sharded, so a run does not depend on the
device count (up to float summation order in the all-reduce).

Multi-host: every process runs the same program and feeds only its rows of
the global batch (`process_batch_slice`, `shard_batch`).  Call
`initialize_distributed` before anything else touches JAX devices.

The mesh uses `AxisType.Auto` axes: with JAX 0.10's default `Explicit` axes
random draws and reductions would need explicit `out_sharding` annotations,
which a model written for one device does not have.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import jax
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from jaxpose.core import xla_options

DATA_AXIS = "data"


def make_mesh(devices: Sequence[jax.Device] | None = None) -> Mesh:
  """A one-axis mesh `'data'` over `devices` (default: all global devices)."""
  devices = list(jax.devices() if devices is None else devices)
  if not devices:
    raise ValueError("make_mesh: `devices` is empty")
  return jax.make_mesh((len(devices),), (DATA_AXIS,),
                       axis_types=(AxisType.Auto,), devices=devices)


def batch_sharding(mesh: Mesh) -> NamedSharding:
  """Leading (batch) axis split over `'data'`, other axes whole."""
  return NamedSharding(mesh, P(DATA_AXIS))


def replicated_sharding(mesh: Mesh) -> NamedSharding:
  """A full copy on every device of `mesh`."""
  return NamedSharding(mesh, P())


def _batch_size_check(name: str, size: int, divisor: int, what: str):
  if size % divisor:
    raise ValueError(
        f"{name}: the global batch size {size} must be divisible by {what} "
        f"({divisor}); pick a batch size that is a multiple of {divisor}")


def process_batch_slice(global_batch_size: int, mesh: Mesh | None = None
                        ) -> slice:
  """The rows of the global batch that this process feeds.

  Args:
    global_batch_size: the batch size summed over all processes.
    mesh: if given, the rows are read off `batch_sharding(mesh)` (the rows
      held by this process's devices), which is right for any device order;
      otherwise process `i` of `n` feeds the i-th contiguous `1/n` block.

  Returns:
    A `slice` into `[0, global_batch_size)`.
  """
  if isinstance(global_batch_size, bool) or int(global_batch_size) < 1:
    raise ValueError("process_batch_slice: global_batch_size must be a "
                     f"positive int, got {global_batch_size!r}")
  global_batch_size = int(global_batch_size)
  n, i = jax.process_count(), jax.process_index()
  _batch_size_check("process_batch_slice", global_batch_size, n,
                    "the number of processes")
  if mesh is None:
    per = global_batch_size // n
    return slice(i * per, (i + 1) * per)
  _batch_size_check("process_batch_slice", global_batch_size, mesh.size,
                    "the number of devices in the mesh")
  index_map = batch_sharding(mesh).addressable_devices_indices_map(
      (global_batch_size,))
  starts = sorted({idx[0].indices(global_batch_size)[:2] for idx in
                   index_map.values()})
  lo, hi = starts[0][0], starts[-1][1]
  covered = sum(b - a for a, b in starts)
  if covered != hi - lo:
    raise ValueError(
        "process_batch_slice: this process's devices hold non-contiguous rows "
        f"{starts} of the batch; build the mesh with make_mesh()")
  return slice(lo, hi)


def shard_batch(mesh: Mesh, local_batch: Any) -> Any:
  """Places this process's batch rows as global arrays split over `'data'`.

  Args:
    mesh: from `make_mesh`.
    local_batch: a pytree of host (numpy) arrays, each `[B_local, ...]`, the
      rows `process_batch_slice` assigns to this process.

  Returns:
    The same pytree of global `jax.Array`s `[B_local * process_count, ...]`
    with `batch_sharding(mesh)`.
  """
  sharding = batch_sharding(mesh)
  n_proc = jax.process_count()
  n_local_dev = len(mesh.local_devices)

  def place(path, x):
    x = np.asarray(x)
    name = "local_batch" + jax.tree_util.keystr(path)
    if x.ndim == 0:
      raise ValueError(f"shard_batch: {name} is a scalar; every batch leaf "
                       "needs a leading batch axis [B, ...]")
    global_shape = (x.shape[0] * n_proc,) + x.shape[1:]
    if global_shape[0] % mesh.size:
      raise ValueError(
          f"shard_batch: {name} has {x.shape[0]} rows on each of {n_proc} "
          f"process(es), a global batch of {global_shape[0]} which is not "
          f"divisible by the {mesh.size} devices of the mesh "
          f"({n_local_dev} on this process)")
    return jax.make_array_from_process_local_data(sharding, x, global_shape)

  return jax.tree_util.tree_map_with_path(place, local_batch)


def replicate(mesh: Mesh, tree: Any) -> Any:
  """Places every leaf of `tree` as a full copy on each device of `mesh`.

  Works for host arrays, single-device arrays and already placed arrays
  (typed PRNG keys included). In a multi-host run all processes must pass
  the same values.
  """
  sharding = replicated_sharding(mesh)
  if jax.process_count() == 1:
    return jax.device_put(tree, sharding)

  def place(x):
    if isinstance(x, jax.Array) and x.sharding == sharding:
      return x
    if isinstance(x, jax.Array) and jax.dtypes.issubdtype(
        x.dtype, jax.dtypes.prng_key):
      data = replicate(mesh, jax.random.key_data(x))
      return jax.random.wrap_key_data(data, impl=jax.random.key_impl(x))
    x = np.asarray(x)
    return jax.make_array_from_callback(x.shape, sharding, lambda idx: x[idx])

  return jax.tree.map(place, tree)


def jit_train_step(train_step: Callable, mesh: Mesh) -> Callable:
  """`jax.jit` of `train_step(state, batch, key) -> (state, metrics)`.

  The state and key are replicated, the batch is split over `'data'`, the
  metrics come back replicated, and the input state's buffers are donated
  (updated in place), so do not reuse a state after passing it in.  It
  compiles with `xla_options.training_options()`.
  """
  rep = replicated_sharding(mesh)
  return jax.jit(train_step,
                 in_shardings=(rep, batch_sharding(mesh), rep),
                 out_shardings=(rep, rep),
                 donate_argnums=(0,),
                 compiler_options=xla_options.training_options() or None)


def initialize_distributed(coordinator_address: str | None = None,
                           num_processes: int | None = None,
                           process_id: int | None = None) -> bool:
  """Starts multi-process JAX (`jax.distributed.initialize`).

  Must run before any other JAX call that touches devices. CPU processes
  talk through gloo collectives, which this selects first.

  Args:
    coordinator_address: `host:port` of process 0.
    num_processes: total number of processes.
    process_id: this process's index in `[0, num_processes)`.

  Returns:
    True if a multi-process run was initialised, False for a single process
    (nothing is done then).
  """
  if coordinator_address is None and num_processes in (None, 1):
    return False
  if num_processes is not None and num_processes < 1:
    raise ValueError("initialize_distributed: num_processes must be >= 1, "
                     f"got {num_processes}")
  if num_processes == 1:
    return False
  if (num_processes is not None and process_id is not None
      and not 0 <= process_id < num_processes):
    raise ValueError(f"initialize_distributed: process_id {process_id} is "
                     f"outside [0, {num_processes})")
  # Only read by the CPU backend; harmless on GPU/TPU hosts.
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  jax.distributed.initialize(coordinator_address=coordinator_address,
                             num_processes=num_processes,
                             process_id=process_id)
  return True


def fetch(tree: Any) -> Any:
  """Host numpy copies of a pytree of replicated (or local) arrays.

  Unlike `jax.device_get` this also works in multi-host runs, where a
  replicated array is not fully addressable by one process.
  """
  def get(x):
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
      if not x.is_fully_replicated:
        raise ValueError("fetch: array of shape "
                         f"{x.shape} is split across processes; only "
                         "replicated arrays can be fetched")
      x = x.addressable_data(0)
    if isinstance(x, jax.Array) and jax.dtypes.issubdtype(
        x.dtype, jax.dtypes.prng_key):
      return x
    return np.asarray(x)
  return jax.tree.map(get, tree)
