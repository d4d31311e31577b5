"""The configuration a workdir was trained with: written, read, compared.

Every training start writes `WORKDIR/config.json` (the latest) and one line
of `WORKDIR/config_history.jsonl`, so the settings behind every trained
step stay known; `read` is the one reader of them (evaluation takes its
settings from there); `resume_changes` refuses a resume that would not
continue the same run.
"""
from __future__ import annotations

import datetime
import json
import os
import socket
from typing import Any, Mapping

from absl import logging
import jax

from jaxpose import config as config_lib
from jaxpose import files
from jaxpose.workdir import layout
from jaxpose.workdir import version


def read(workdir: str, checkpoint_extra: Mapping | None = None) -> dict | None:
  """The config the workdir's model was trained with, as plain values.

  The checkpoint's own record (`checkpoint_extra["config"]`) when given,
  else `WORKDIR/config.json`; None when neither exists.

  Raises:
    config_lib.ConfigError: config.json exists but is not readable JSON.
  """
  if checkpoint_extra and isinstance(checkpoint_extra.get("config"), dict):
    return checkpoint_extra["config"]
  try:
    return files.read_json(layout.Workdir.of(workdir).config)
  except ValueError as e:
    raise config_lib.ConfigError(str(e)) from e


def read_data(workdir: str) -> Any:
  """The typed `data` settings `workdir`'s model was trained with (its
  config.json's data section, `datasets.parse_settings`), or None when the
  workdir has no config.json."""
  from jaxpose.data import datasets  # the data layer reads nothing of training
  stored = read(workdir)
  return None if stored is None else datasets.parse_settings(stored["data"])


def record_start(config, workdir: str, step: int, num_steps: int,
                 changes: Mapping[str, tuple[Any, Any]]):
  """config.json (the latest start), one config_history.jsonl line, and
  this jaxpose's layout version."""
  if jax.process_index() != 0:
    return
  version.write(workdir)
  plain = config_lib.to_plain(config)
  files.write_json_atomic(layout.Workdir.of(workdir).config, plain)
  record = {"started": datetime.datetime.now().astimezone().isoformat(
                timespec="seconds"),
            "start_step": step, "num_steps": int(num_steps),
            "host": socket.gethostname(), "pid": os.getpid(),
            "changed": {k: list(v) for k, v in changes.items()},
            "config": plain}
  with open(layout.Workdir.of(workdir).config_history, "a") as f:
    f.write(json.dumps(files.jsonable(record), sort_keys=True) + "\n")


def check_resume(config, workdir: str, step: int, stored: Mapping | None, *,
                 allow_changed: bool) -> dict:
  """Refuses a resume whose settings would not continue the same run.

  Returns:
    The accepted changes `{key: (stored, requested)}` (with
    `allow_changed`), else {}.

  Raises:
    config_lib.ConfigError: a change outside `config_lib.RESUME_SAFE_KEYS`
      without `allow_changed`.
  """
  if stored is None:
    return {}
  changes = config_lib.resume_changes(stored, config)
  if not changes:
    return {}
  listed = "; ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in changes.items())
  if not allow_changed:
    raise config_lib.ConfigError(
        f"workdir {workdir} was trained to step {step} with other settings "
        f"({listed}); continuing with these would not be the same run. Use "
        "the original values, a new workdir, or "
        "--config.train.allow_changed_resume=True to continue anyway (the "
        f"change is recorded in {layout.CONFIG_HISTORY})")
  logging.warning("Resuming step %d with changed settings (allowed by "
                  "train.allow_changed_resume): %s", step, listed)
  return changes


__all__ = ["read", "read_data", "record_start", "check_resume"]
