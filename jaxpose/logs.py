"""Logging of a run: jaxpose's own progress on, the libraries' INFO chatter off.

`configure_logging()` is called by `run_lib` (and so by `experiments/main.py`)
and may be called from a script or a notebook. It shows jaxpose's INFO
records (progress, ETA, checkpoints) and drops the INFO and DEBUG records
of

- orbax's checkpointing internals (a few lines per save), and
- JAX's platform probing (`jax._src.xla_bridge`): on a machine without a
  TPU, every start would log `Unable to initialize backend 'tpu': ...
  libtpu.so ...`, which says nothing about the run.

Warnings and errors of every library pass. JAXPOSE_LIBRARY_LOGS=1 in the
environment (or `configure_logging(library_logs=True)`) keeps every record.

The filters sit on the loggers the records are made on (and on absl's
handler), so they hold whichever handler prints them. Call
`configure_logging` before JAX first initialises its backends (the first
array or `jax.devices()`): a probe line logged earlier is already out.
"""
from __future__ import annotations

import logging as logging_std
import os
import sys
from typing import Any, Callable

from absl import logging

LIBRARY_LOGS_ENV = "JAXPOSE_LIBRARY_LOGS"

# Loggers of JAX's platform probing: its INFO records report backends that
# could not be initialised (e.g. 'tpu' without libtpu), which is expected.
PLATFORM_PROBE_LOGGERS = ("jax._src.xla_bridge",)

# Marks the filters installed here, so a second call (or a reloaded module,
# whose filter class is a new object) replaces them instead of adding more.
_FILTER_MARK = "_jaxpose_drops_library_info"


def _is_orbax(record: logging_std.LogRecord) -> bool:
  # orbax logs through absl's logger: only the source path tells it apart.
  return "orbax" in record.pathname


def _is_platform_probe(record: logging_std.LogRecord) -> bool:
  return any(record.name == name or record.name.startswith(name + ".")
             for name in PLATFORM_PROBE_LOGGERS)


class _DropLibraryInfo(logging_std.Filter):
  """Drops records below WARNING of orbax and of JAX's platform probing."""

  def filter(self, record):
    if record.levelno >= logging_std.WARNING:
      return True
    return not (_is_orbax(record) or _is_platform_probe(record))


setattr(_DropLibraryInfo, _FILTER_MARK, True)


def library_logs_requested() -> bool:
  """Whether JAXPOSE_LIBRARY_LOGS asks for the libraries' INFO records."""
  return os.environ.get(LIBRARY_LOGS_ENV, "") not in ("", "0")


def _filter_targets() -> list:
  """Where the filter goes: absl's logger (orbax's records are made there),
  absl's handler (records propagated from any logger to it) and the probing
  loggers (their records are dropped before any handler sees them)."""
  targets = [logging_std.getLogger("absl"), logging.get_absl_handler()]
  targets += [logging_std.getLogger(name) for name in PLATFORM_PROBE_LOGGERS]
  return targets


def configure_logging(library_logs: bool | None = None):
  """A run's own progress on, the libraries' INFO chatter off.

  Idempotent; a later call with another `library_logs` replaces the
  earlier choice.

  Args:
    library_logs: keep the libraries' INFO records too; None reads
      JAXPOSE_LIBRARY_LOGS from the environment (set and not "0": keep).
  """
  if library_logs is None:
    library_logs = library_logs_requested()
  if logging.get_verbosity() < logging.INFO:  # plain Python starts at WARNING
    logging.set_verbosity(logging.INFO)
  for target in _filter_targets():
    for f in [f for f in target.filters if getattr(f, _FILTER_MARK, False)]:
      target.removeFilter(f)
    if not library_logs:
      target.addFilter(_DropLibraryInfo())


__all__ = ["LIBRARY_LOGS_ENV", "PLATFORM_PROBE_LOGGERS", "configure_logging",
           "library_logs_requested", "error_line", "exit_on_error"]


def error_line(err: BaseException) -> str:
  """`err` as one line for a command's exit: its message, with the type
  when it is not one of the errors jaxpose raises with a readable message."""
  text = " ".join(p.strip() for p in str(err).splitlines() if p.strip())
  ours = isinstance(err, (ValueError, RuntimeError, FloatingPointError,
                          FileNotFoundError))
  if not ours or not text:
    text = f"{type(err).__name__}: {text}" if text else type(err).__name__
  return f"error: {text} (--debug shows the traceback)"


def exit_on_error(fn: Callable[[], Any], *, debug: bool = False) -> Any:
  """`fn()`; an error ends the program with `error_line` on stderr (the
  traceback with `debug` or JAXPOSE_DEBUG=1)."""
  try:
    return fn()
  except Exception as err:  # pylint: disable=broad-except
    if debug or os.environ.get("JAXPOSE_DEBUG", "") not in ("", "0"):
      raise
    # The log goes to stderr too: flush it so this line comes last.
    sys.stdout.flush()
    sys.exit(error_line(err))
