"""Logging of a run: jaxpose's own progress on, the libraries' INFO chatter off.

`configure_logging()` is called by `run_lib` (and so by `experiments/main.py`)
and may be called from a script or a notebook. It shows jaxpose's INFO
records (progress, ETA, checkpoints) and drops the INFO and DEBUG records
of

- orbax's checkpointing internals (a few lines per save), and
- JAX's platform probing (`jax._src.xla_bridge`): on a machine without a
  TPU, every start would log `Unable to initialize backend 'tpu': ...
  libtpu.so ...`, which says nothing about the run.

Warnings and errors of every library pass, but for echoes of an error the
caller raises anyway: orbax's background threads log each failed write
with its traceback (hundreds on a full disk) and asyncio each future whose
error went unread. JAXPOSE_LIBRARY_LOGS=1 in the environment (or
`configure_logging(library_logs=True)`) keeps every record.

`error_line` turns an error into the one line a command ends with.

The filters sit on the loggers the records are made on (and on absl's
handler), so they hold whichever handler prints them. Call
`configure_logging` before JAX first initialises its backends (the first
array or `jax.devices()`): a probe line logged earlier is already out.
"""
from __future__ import annotations

import errno
import logging as logging_std
import os
import re
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


def _is_echo_of_a_raised_error(record: logging_std.LogRecord) -> bool:
  """Reports that repeat, from a background thread or a garbage-collected
  future, an error the caller raises anyway: orbax's asynchronous
  checkpointer logs each failed write with its traceback (hundreds on a
  full disk), and asyncio each of its futures whose error went unread."""
  if _is_orbax(record):
    # Every error of its background threads reaches the caller again, from
    # `save` or `wait_until_finished` (jaxpose's Checkpointer names it).
    return record.levelno >= logging_std.ERROR
  return (record.name == "asyncio"
          and "exception was never retrieved" in record.getMessage())


class _DropLibraryInfo(logging_std.Filter):
  """Drops records below WARNING of orbax and of JAX's platform probing,
  and the libraries' echoes of an error that is raised anyway."""

  def filter(self, record):
    if _is_echo_of_a_raised_error(record):
      return False
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
  targets = [logging_std.getLogger("absl"), logging.get_absl_handler(),
             logging_std.getLogger("asyncio")]
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


# A one-line refusal: at most this many characters, the rest behind --debug.
MAX_ERROR_CHARS = 200
_DEBUG_HINT = " (--debug shows the traceback)"
_CUT_HINT = "... (--debug shows all)"
# Terminal escape sequences (colours, cursor moves) and control characters.
_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07?|"
                      r"[\x00-\x08\x0b-\x1f\x7f]")


def _message(err: BaseException) -> str:
  if isinstance(err, OSError) and err.filename and err.strerror:
    text = f"{err.filename}: {err.strerror}"
    if err.errno == errno.ENOSPC:
      text += "; free some space there or write elsewhere"
    return text
  return str(err)


def error_line(err: BaseException) -> str:
  """`err` as one line for a command's exit: its message, with the type
  when it is not one of the errors jaxpose raises with a readable message;
  no escape codes, at most MAX_ERROR_CHARS characters besides the paths it
  names (the whole message and its traceback are what --debug shows)."""
  raw = _ESCAPES.sub("", _message(err))
  text = " ".join(raw.split())  # one line: newlines and tabs to spaces
  ours = isinstance(err, (ValueError, RuntimeError, FloatingPointError,
                          FileNotFoundError)) or (
                              isinstance(err, OSError) and err.filename)
  if not ours or not text:
    text = f"{type(err).__name__}: {text}" if text else type(err).__name__
  # The user's paths do not count against the limit: only the wording does.
  paths = sum(len(word) for word in text.split() if "/" in word)
  limit = MAX_ERROR_CHARS + paths
  if len(text) <= limit - len("error: ") - len(_DEBUG_HINT):
    return f"error: {text}{_DEBUG_HINT}"
  cut = text[:limit - len("error: ") - len(_CUT_HINT)]
  cut = cut[:cut.rfind(" ")] if " " in cut[-30:] else cut
  return f"error: {cut.rstrip(' ,;:')}{_CUT_HINT}"


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
