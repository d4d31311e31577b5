"""Released checkpoints as jaxpose workdirs (experiments/import_weights.py).

`import_weights(method_name, request)` asks the method's
`import_checkpoint` for an `Imported` (config, parameters, prepared
artefacts) and writes a workdir that `workdir.trained.load_trained` reads exactly
as one jaxpose trained: config.json, prepared/, checkpoints/ (the imported
weights as both the parameters and their EMA, at the authors' step, under
the fingerprint a training with that config would record) and
imported.json (where the weights came from).

Nothing is half-written: the workdir is assembled in a sibling temporary
directory, read back with `workdir.trained.load_trained`, and only then renamed
into place; a failure leaves no workdir. An existing non-empty workdir is
refused.
"""
from __future__ import annotations

import copy
import hashlib
import os
import shutil
from typing import Any, Mapping

import jax.numpy as jnp
from absl import logging

from jaxpose import config as config_lib
from jaxpose import files
from jaxpose import logs
from jaxpose import methods
from jaxpose.interop import state_dicts
from jaxpose.methods import base
from jaxpose.training import train as train_lib
from jaxpose.workdir import checkpoint as checkpoint_lib
from jaxpose.workdir import layout
from jaxpose.workdir import prepared as prepared_lib
from jaxpose.workdir import run_config
from jaxpose.workdir import trained as trained_lib

PROVENANCE = layout.PROVENANCE


class WeightsImportError(ValueError):
  """An import that cannot be written (the message names why)."""


def file_digest(path: str) -> str:
  """sha256 of a file, for the provenance record."""
  h = hashlib.sha256()
  with open(path, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
      h.update(chunk)
  return h.hexdigest()


def _check_target(workdir: str):
  if os.path.exists(workdir) and (not os.path.isdir(workdir)
                                  or os.listdir(workdir)):
    raise WeightsImportError(f"--workdir={workdir!r} exists and is not empty; "
                       "import into a new directory")


def _write_one(imported: base.Imported, directory: str, *,
               need_paths: Mapping[str, str]):
  """Writes one workdir into `directory` (a temporary path).

  `need_paths` maps a need's config key to the temporary directory holding
  it, so the needs are resolved before the rename; config.json keeps the
  final paths.
  """
  config = dict(imported.config)
  method, run = methods.parse(config)
  check_config = config
  for key, path in need_paths.items():
    check_config = config_lib.set_dotted(copy.deepcopy(check_config), key, path)
  _, check_run = methods.parse(check_config)
  needs, need_digests = trained_lib.resolve_needs(method, check_run,
                                              training=False)
  artefacts = dict(imported.prepared)
  model = method.build(run, artefacts, needs)
  source = f"{imported.source.get('checkpoint', 'checkpoint')}"
  abstract = trained_lib.init_state(run, model, abstract=True)
  params = state_dicts.fill(abstract.params, imported.params, source=source)
  state = train_lib.init_train_state(params, run.train.optimizer())
  state = state.replace(step=jnp.asarray(imported.step, jnp.int32),
                        ema_params=params)
  os.makedirs(directory)
  # As training does: a method that prepares state gets an index even when
  # it prepared nothing (load_trained reads one).
  if artefacts or method.prepare is not None:
    prepared_lib.save(directory, artefacts,
                      trained_lib.made_from(method, run, with_data=True))
  ckpt = trained_lib.checkpointer(
      directory, run, trained_lib.fingerprint(method, run, artefacts,
                                          need_digests))
  try:
    ckpt.save(int(imported.step), state, force=True)
    ckpt.wait_until_finished()
  finally:
    ckpt.close()
  run_config.record_start(run.config, directory, int(imported.step),
                          run.train.num_steps, {})
  files.write_json_atomic(layout.Workdir(directory).provenance,
                          dict(imported.source))


def write(imported: base.Imported, workdir: str) -> str:
  """Writes `imported` (and its companions) as the workdir `workdir`."""
  workdir = os.path.abspath(workdir)
  _check_target(workdir)
  parent = os.path.dirname(workdir)
  os.makedirs(parent, exist_ok=True)
  tmp = os.path.join(parent, f".{os.path.basename(workdir)}.importing-"
                     f"{os.getpid()}")
  shutil.rmtree(tmp, ignore_errors=True)
  try:
    need_paths = {}
    for sub, companion in imported.companions.items():
      _write_one(companion, os.path.join(tmp, sub), need_paths={})
      need_paths.update(_need_keys(imported.config, workdir, sub, tmp))
    _write_one(imported, os.path.join(tmp, "main"), need_paths=need_paths)
    # Companions live inside the workdir: move them into "main" first.
    for sub in imported.companions:
      os.rename(os.path.join(tmp, sub), os.path.join(tmp, "main", sub))
    if os.path.isdir(workdir):
      os.rmdir(workdir)  # empty (checked above)
    os.rename(os.path.join(tmp, "main"), workdir)
  except (OSError, checkpoint_lib.CheckpointWriteError) as e:
    # Named by the workdir asked for, not the temporary one it was built in.
    raise WeightsImportError(
        f"--workdir={workdir}: the import could not be written "
        f"({checkpoint_lib.write_cause(e)}); nothing was left there") from e
  finally:
    shutil.rmtree(tmp, ignore_errors=True)
  # Read back as every task will: a workdir that fails here is removed.
  try:
    trained_lib.load_trained(workdir)
  except Exception:
    shutil.rmtree(workdir, ignore_errors=True)
    raise
  return workdir


def _need_keys(config: Mapping[str, Any], workdir: str, sub: str, tmp: str
               ) -> dict[str, str]:
  """The config keys whose value is the companion's final path."""
  final = os.path.join(workdir, sub)
  out = {}

  def walk(node, prefix):
    for k, v in node.items():
      key = f"{prefix}{k}"
      if isinstance(v, Mapping):
        walk(v, key + ".")
      elif isinstance(v, str) and os.path.abspath(v) == final:
        out[key] = os.path.join(tmp, sub)
  walk(config, "")
  if not out:
    raise WeightsImportError(f"companion {sub!r}: no config key names "
                       f"{final!r}; the importer must point a need at it")
  return out


def import_weights(method_name: str, request: base.ImportRequest) -> str:
  """Imports `request.checkpoint` as a `method_name` workdir; returns it."""
  logs.configure_logging()
  method = methods.get(method_name)
  if method.capabilities.import_checkpoint is None:
    importable = [n for n in methods.names()
                  if methods.get(n).capabilities.import_checkpoint is not None]
    raise WeightsImportError(f"--method={method_name}: no importer for its "
                       f"checkpoints; methods with one: {', '.join(importable) or 'none'}")
  unknown = sorted(set(request.files) - set(method.capabilities.import_files))
  if unknown:
    raise WeightsImportError(f"--{unknown[0]}: not a file {method_name}'s importer "
                       f"reads (it reads: {', '.join(method.capabilities.import_files) or 'none'})")
  _check_target(request.workdir)
  imported = method.capabilities.import_checkpoint(request)
  source = dict(imported.source)
  source.setdefault("checkpoint", request.checkpoint)
  source["files"] = {name: {"path": os.path.abspath(p),
                            "sha256": file_digest(p)}
                     for name, p in {"checkpoint": request.checkpoint,
                                     **request.files}.items()}
  imported = base.Imported(**{**imported.__dict__, "source": source})
  out = write(imported, request.workdir)
  logging.info("Imported %s into %s (step %d)", request.checkpoint, out,
               imported.step)
  return out
