"""The workdir lock: one training per workdir, dead holders taken over."""
import json
import os
import pathlib
import socket
import subprocess
import sys
import time

import jax
import pytest

from jaxpose.workdir import lock as workdir

ROOT = pathlib.Path(__file__).resolve().parents[2]

# A process that takes the lock, says so, and holds it until stdin closes
# (or `hold` seconds pass); exit code 3 when refused.
_TAKER = r"""
import sys, time
from jaxpose.workdir import lock as workdir
path, hold = sys.argv[1], float(sys.argv[2])
go = sys.argv[3] if len(sys.argv) > 3 else None
if go:
  while not __import__("os").path.exists(go):
    time.sleep(0.001)
try:
  lock = workdir.WorkdirLock(path).acquire()
except workdir.WorkdirBusyError as e:
  print("refused:", e, flush=True)
  sys.exit(3)
print("locked", flush=True)
if hold < 0:
  sys.stdin.read()
else:
  time.sleep(hold)
lock.release()
"""


def _taker(path, hold=-1.0, go=None):
  args = [sys.executable, "-c", _TAKER, str(path), str(hold)]
  if go:
    args.append(str(go))
  return subprocess.Popen(args, cwd=ROOT, stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)


def _dead_pid() -> int:
  proc = subprocess.Popen([sys.executable, "-c", "pass"])
  proc.wait()
  return proc.pid


def _stale_lock(path, **overrides):
  info = {"pid": _dead_pid(), "host": socket.gethostname(),
          "boot_id": workdir._boot_id(), "started": "earlier",
          "token": "stale0"}
  info.update(overrides)
  (path / workdir.LOCK_FILE).write_text(json.dumps(info))
  return info


def test_a_second_process_is_refused_and_a_dead_holder_taken_over(tmp_path):
  holder = _taker(tmp_path)
  try:
    assert holder.stdout.readline().strip() == "locked"
    info = json.loads((tmp_path / workdir.LOCK_FILE).read_text())
    assert info["pid"] == holder.pid

    # Refused at once, naming the holder: another process, and this one.
    t0 = time.perf_counter()
    second = _taker(tmp_path, hold=0)
    out, _ = second.communicate(timeout=30)
    assert second.returncode == 3, out
    for part in (f"pid {holder.pid}", f"host {socket.gethostname()}",
                 f"started {info['started']}", str(tmp_path),
                 "another workdir"):
      assert part in out, (part, out)
    with pytest.raises(workdir.WorkdirBusyError, match=f"pid {holder.pid}"):
      workdir.WorkdirLock(tmp_path).acquire()
    assert time.perf_counter() - t0 < 10
    assert workdir.holder(tmp_path)["pid"] == holder.pid
  finally:
    holder.kill()  # dies holding the lock
    holder.wait()
  assert (tmp_path / workdir.LOCK_FILE).exists()
  assert workdir.holder(tmp_path) is None  # known dead: same host, pid gone

  taker = _taker(tmp_path)
  try:
    assert taker.stdout.readline().strip() == "locked"
    lock = json.loads((tmp_path / workdir.LOCK_FILE).read_text())
    assert lock["pid"] == taker.pid
  finally:
    taker.stdin.close()
    taker.wait(timeout=30)
  assert not (tmp_path / workdir.LOCK_FILE).exists()  # released on exit
  assert os.listdir(tmp_path) == []  # no temporary or claim files left


def test_racing_takers_of_a_stale_lock_have_one_winner(tmp_path):
  _stale_lock(tmp_path)
  go = tmp_path.parent / f"{tmp_path.name}_go"
  procs = [_taker(tmp_path, hold=1.5, go=go) for _ in range(4)]
  time.sleep(0.3)  # all started and waiting
  go.touch()
  outs = [p.communicate(timeout=60)[0] for p in procs]
  codes = [p.returncode for p in procs]
  assert sorted(codes) == [0, 3, 3, 3], outs
  winner = procs[codes.index(0)].pid
  for out, code in zip(outs, codes):
    if code == 3:
      assert f"pid {winner}" in out, out
  assert os.listdir(tmp_path) == []


def test_which_holders_count_as_dead(tmp_path):
  lock = workdir.WorkdirLock(tmp_path)
  me = {"pid": os.getpid(), "host": socket.gethostname(),
        "boot_id": workdir._boot_id(),
        "proc_start": workdir._proc_stat(os.getpid())[1]}
  assert not lock.holder_is_dead(me)
  # The pid now belongs to a process started later than the holder.
  assert lock.holder_is_dead({**me, "proc_start": "1"})
  # The machine rebooted since.
  assert lock.holder_is_dead({**me, "boot_id": "another-boot"})
  assert lock.holder_is_dead({**me, "pid": _dead_pid()})
  # Another host, or an unreadable lock: never taken over.
  assert not lock.holder_is_dead({**me, "pid": _dead_pid(),
                                  "host": "elsewhere"})
  assert not lock.holder_is_dead({})


def test_locks_that_are_never_taken_over_say_what_to_do(tmp_path):
  _stale_lock(tmp_path, host="elsewhere")
  with pytest.raises(workdir.WorkdirBusyError, match="another host.*delete"):
    workdir.WorkdirLock(tmp_path).acquire()

  (tmp_path / workdir.LOCK_FILE).write_text("{half a lock")
  with pytest.raises(workdir.WorkdirBusyError, match="cannot be read.*delete"):
    workdir.WorkdirLock(tmp_path).acquire(attempts=2)

  # A takeover that died half way leaves its claim: named, not raced.
  _stale_lock(tmp_path)
  claim = tmp_path / f"{workdir.LOCK_FILE}.takeover-stale0"
  claim.write_text("{}")
  with pytest.raises(workdir.WorkdirBusyError, match="takeover-stale0"):
    workdir.WorkdirLock(tmp_path).acquire(attempts=2)
  claim.unlink()
  with workdir.WorkdirLock(tmp_path):
    pass
  assert os.listdir(tmp_path) == []


def test_only_process_zero_takes_the_lock(tmp_path, monkeypatch):
  with workdir.WorkdirLock(tmp_path):
    before = (tmp_path / workdir.LOCK_FILE).read_text()
    with pytest.raises(workdir.WorkdirBusyError):
      with workdir.hold(tmp_path):
        pass
    # Another process of a multi-host run: it neither takes nor checks the
    # lock (process 0 does, for the run).
    monkeypatch.setattr(jax, "process_index", lambda: 1)
    with workdir.hold(tmp_path) as lock:
      assert lock is None
    assert (tmp_path / workdir.LOCK_FILE).read_text() == before
  assert not (tmp_path / workdir.LOCK_FILE).exists()
