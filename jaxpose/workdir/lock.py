"""One training run per workdir: a lock file that names its holder.

Two trainings sharing a workdir overwrite and delete each other's
checkpoints (orbax removes an unfinished step directory it did not write),
so `run_lib.train` holds `WORKDIR/workdir.lock` for the whole run: a small
JSON file (pid, host, boot id, start times, command line) that lets a
refused run say who holds it.

Rules:
- Taking the lock is one atomic create: the JSON is written to a private
  temporary file and hard-linked to the lock path (`os.link` fails if it
  exists), so it is never seen half-written (no hard links: `O_EXCL`).
- A lock whose holder is dead is taken over: same host and boot, and the
  pid gone, a zombie, or reused by a process started later (the start
  time in `/proc` differs). A lock of another host (or of a host that
  cannot be asked) is never taken over: the message says to delete it
  if that run is known to be gone.
- Taking over is safe against other takers: removing a stale lock needs
  the claim file `workdir.lock.takeover-<token>` (`O_EXCL`: one process
  per stale lock gets it), under which the lock is checked to be still
  the stale one before it is removed; the new lock is then created as
  above, so two takers never both win and a live lock is never removed.
- Multi-host: the lock belongs to the run (`hold`).
- Evaluation and sampling do not take it: they read finished checkpoints
  (orbax lists a step only once it is complete) and write eval files, not
  training state, so they may run beside a training run.
"""
from __future__ import annotations

import contextlib
import datetime
import json
import os
import secrets
import socket
import sys
import time

from jaxpose.workdir import layout

LOCK_FILE = layout.LOCK


class WorkdirBusyError(RuntimeError):
  """The workdir is held by another run."""


def _boot_id() -> str | None:
  try:
    with open("/proc/sys/kernel/random/boot_id") as f:
      return f.read().strip()
  except OSError:
    return None


def _proc_stat(pid: int) -> tuple[str, str] | None:
  """(state, start time in clock ticks) of `pid` from /proc, or None."""
  try:
    with open(f"/proc/{pid}/stat") as f:
      text = f.read()
  except OSError:
    return None
  # The command name (field 2) may hold spaces and parentheses: split after
  # its closing parenthesis. Fields 3 (state) and 22 (start time) follow.
  rest = text[text.rfind(")") + 2:].split()
  if len(rest) < 20:
    return None
  return rest[0], rest[19]


def _describe(info: dict) -> str:
  return (f"pid {info.get('pid', '?')} on host {info.get('host', '?')}, "
          f"started {info.get('started', '?')}")


class WorkdirLock:
  """The lock of one workdir for this process (use `hold` in run code).

  Args:
    workdir: the directory (created if missing).
    purpose: a word for messages, e.g. "training".
  """

  def __init__(self, workdir: str | os.PathLike, *, purpose: str = "training"):
    self.workdir = os.path.abspath(os.fspath(workdir))
    self.path = layout.Workdir(self.workdir).lock
    self.purpose = purpose
    self.token = secrets.token_hex(8)
    self.held = False

  def _info(self) -> dict:
    stat = _proc_stat(os.getpid())
    return {"pid": os.getpid(), "host": socket.gethostname(),
            "boot_id": _boot_id(), "proc_start": stat[1] if stat else None,
            "started": datetime.datetime.now().astimezone().isoformat(
                timespec="seconds"),
            "purpose": self.purpose, "command": " ".join(sys.argv)[:500],
            "token": self.token}

  def _create(self) -> bool:
    """Creates the lock atomically; False when it already exists."""
    tmp = f"{self.path}.{self.token}.tmp"
    with open(tmp, "w") as f:
      json.dump(self._info(), f, indent=2)
      f.flush()
      os.fsync(f.fileno())
    try:
      os.link(tmp, self.path)
      return True
    except FileExistsError:
      return False
    except OSError:
      # No hard links on this file system: an exclusive create instead (a
      # reader may then see the file empty for a moment: `_read` says so
      # and the caller retries).
      try:
        fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
      except FileExistsError:
        return False
      with os.fdopen(fd, "w") as f, open(tmp) as src:
        f.write(src.read())
      return True
    finally:
      os.remove(tmp)

  def _read(self) -> dict | None:
    """The lock's content; None if absent, {} if unreadable."""
    try:
      with open(self.path) as f:
        info = json.load(f)
    except FileNotFoundError:
      return None
    except (OSError, ValueError):
      return {}
    return info if isinstance(info, dict) else {}

  @staticmethod
  def holder_is_dead(info: dict) -> bool:
    """True only when the holder is known to be gone (same host and boot)."""
    if not info or info.get("host") != socket.gethostname():
      return False
    boot = _boot_id()
    if boot and info.get("boot_id") and info["boot_id"] != boot:
      return True  # the machine rebooted since
    try:
      pid = int(info["pid"])
    except (KeyError, TypeError, ValueError):
      return False
    if pid <= 0:
      return False
    try:
      os.kill(pid, 0)
    except ProcessLookupError:
      return True
    except PermissionError:
      pass  # alive, another user's
    stat = _proc_stat(pid)
    if stat is None:
      return False
    state, start = stat
    if state in ("Z", "X"):
      return True  # exited, not yet reaped
    # The pid was reused by a process started after the holder.
    return bool(info.get("proc_start")) and start != info["proc_start"]

  def _remove_stale(self, stale: dict) -> bool:
    """Removes the lock if it is still `stale`.

    Returns:
      False when another process is taking the same stale lock over.
    """
    claim = f"{self.path}.takeover-{stale.get('token', 'unknown')}"
    try:
      fd = os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
      return False
    try:
      with os.fdopen(fd, "w") as f:
        json.dump(self._info(), f)
      # Under the claim no one else removes this stale lock, and no new
      # lock appears before it is gone: if still there, it is ours to remove.
      current = self._read()
      if current and current.get("token") == stale.get("token"):
        os.remove(self.path)
      return True
    finally:
      os.remove(claim)

  def _busy(self, info: dict, why: str = "") -> WorkdirBusyError:
    if not info:
      return WorkdirBusyError(
          f"workdir {self.workdir} is locked ({self.path} exists but cannot "
          "be read){why}; if no run uses this workdir, delete that file")
    host_note = ""
    if info.get("host") != socket.gethostname():
      host_note = (f"; it is on another host, so this one cannot tell whether "
                   f"it is alive: if that run is gone, delete {self.path}")
    return WorkdirBusyError(
        f"workdir {self.workdir} is in use by another "
        f"{info.get('purpose', 'training')} run ({_describe(info)}){why}: "
        "two trainings in one workdir would overwrite each other's "
        f"checkpoints; wait for it to finish or use another workdir{host_note}")

  def acquire(self, attempts: int = 20) -> "WorkdirLock":
    """Takes the lock, or raises WorkdirBusyError naming its holder."""
    os.makedirs(self.workdir, exist_ok=True)
    info = None
    for _ in range(attempts):
      if self._create():
        self.held = True
        return self
      info = self._read()
      if info is None:
        continue  # released meanwhile: try again
      if info and not self.holder_is_dead(info):
        raise self._busy(info)
      if info and self._remove_stale(info):
        continue
      # Another process is taking the stale lock over (or the lock is being
      # written without hard links): its outcome decides in a moment.
      time.sleep(0.05)
    claims = [n for n in os.listdir(self.workdir)
              if n.startswith(LOCK_FILE + ".takeover-")]
    why = ""
    if claims:
      why = (f" and a takeover of it was interrupted (leftover "
             f"{os.path.join(self.workdir, claims[0])}; if no run uses this "
             f"workdir, delete it and {self.path})")
    raise self._busy(info or {}, why)

  def release(self):
    """Removes the lock if this object holds it."""
    if not self.held:
      return
    self.held = False
    current = self._read()
    if current and current.get("token") == self.token:
      os.remove(self.path)

  def __enter__(self):
    return self.acquire()

  def __exit__(self, *exc):
    self.release()


def holder(workdir: str | os.PathLike) -> dict | None:
  """The live holder's lock info, or None when the workdir is free."""
  lock = WorkdirLock(workdir)
  info = lock._read()  # pylint: disable=protected-access
  if info is None or (info and lock.holder_is_dead(info)):
    return None
  return info


@contextlib.contextmanager
def hold(workdir: str | os.PathLike, *, purpose: str = "training"):
  """Holds the workdir's lock for one run (all processes of it).

  Process 0 takes the lock; with several processes its outcome is broadcast
  so every process either runs or raises, instead of the others waiting
  forever at the first collective.

  Raises:
    WorkdirBusyError: another run holds the workdir.
  """
  import jax  # Here so the lock itself needs no jax (tests, tools).
  lock = None
  if jax.process_index() == 0:
    lock = WorkdirLock(workdir, purpose=purpose)
  error = None
  if lock is not None:
    try:
      lock.acquire()
    except WorkdirBusyError as e:
      error = e
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils
    import numpy as np
    ok = multihost_utils.broadcast_one_to_all(np.int32(error is None))
    if not int(ok) and error is None:
      raise WorkdirBusyError(
          f"workdir {os.path.abspath(workdir)} is in use by another run "
          "(process 0 could not take its lock; see its log)")
  if error is not None:
    raise error
  try:
    yield lock
  finally:
    if lock is not None:
      lock.release()
