"""A full disk (or any OSError while writing) ends each command with one
line naming the path and the cause, and leaves nothing half-written.

On a small tmpfs where the machine allows mounting one (root), else by
injecting the error into the writes."""
import errno
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from jaxpose import files
from jaxpose import logs
from jaxpose.workdir import checkpoint as checkpoint_lib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--config=experiments/configs/quickstart.py",
        "--config.model.hidden=64", "--config.model.embed_dim=32",
        "--config.model.num_groups=8", "--config.data.n_train=500",
        "--config.data.n_test=20", "--config.train.batch_size=32",
        "--config.eval.num_steps=4", "--config.eval.num_hypotheses=2",
        "--config.eval.num_poses=4", "--config.eval.batch_poses=4",
        "--config.eval.plot_poses=0"]


@pytest.fixture
def small_disk(tmp_path):
  """A 1 MiB tmpfs (skips where mounting is not allowed)."""
  disk = tmp_path / "disk"
  disk.mkdir()
  if os.geteuid() != 0:
    pytest.skip("mounting a tmpfs needs root")
  result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs",
                           str(disk)], capture_output=True, text=True)
  if result.returncode:
    pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
  try:
    yield disk
  finally:
    subprocess.run(["umount", "-l", str(disk)], check=False)


def _run(*args):
  return subprocess.run([sys.executable, "-m", *args], cwd=ROOT,
                        capture_output=True, text=True, timeout=600,
                        env={**os.environ, "JAXPOSE_DEBUG": ""})


def _one_line_error(proc, *parts):
  assert proc.returncode == 1, proc.stderr[-2000:]
  lines = [l for l in proc.stderr.strip().splitlines()
           if not l.startswith("I")]  # the run's own INFO progress lines
  assert len(lines) == 1, proc.stderr[-3000:]
  assert "Traceback" not in proc.stderr and "never retrieved" not in (
      proc.stderr)
  for part in parts:
    assert part in lines[0], lines[0]
  return lines[0]


def _leftovers(directory):
  return [os.path.join(root, n) for root, dirs, names in os.walk(directory)
          for n in dirs + names
          if ".orbax-checkpoint-tmp" in n or n.startswith(".tmp_")
          or ".importing-" in n or ".tmp-" in n]


def test_training_on_a_full_disk(small_disk):
  workdir = small_disk / "run"
  proc = _run("experiments.main", *TINY, f"--workdir={workdir}",
              "--config.train.num_steps=40", "--config.train.ckpt_every=10",
              "--mode=train")
  _one_line_error(proc, str(workdir), "no space left on device")
  assert not _leftovers(small_disk)
  for line in (workdir / "metrics.jsonl").read_text().splitlines():
    json.loads(line)  # whole lines only


def test_evaluation_and_import_onto_a_full_disk(tmp_path, small_disk):
  workdir = tmp_path / "run"
  proc = _run("experiments.main", *TINY, f"--workdir={workdir}",
              "--config.train.num_steps=4", "--mode=train")
  assert proc.returncode == 0, proc.stderr[-2000:]
  with open(small_disk / "fill", "wb") as f:  # leave a few kB free
    f.write(b"\0" * (1024 * 1024 - 8192))
  out = small_disk / "eval"
  proc = _run("experiments.main", f"--workdir={workdir}", "--mode=eval",
              f"--config.eval.output_dir={out}")
  _one_line_error(proc, str(out), "No space left on device")
  assert not _leftovers(small_disk)


# ---------------------------------------------------------------------------
# By injection: wherever the machine allows no mount.


def test_an_atomic_write_names_its_path_and_leaves_nothing(tmp_path):
  target = tmp_path / "results.json"
  target.write_text('{"old": 1}')

  def full(f):
    raise OSError(errno.ENOSPC, "No space left on device")

  with pytest.raises(OSError) as err:
    files._write_atomic(target, full, binary=False)  # pylint: disable=protected-access
  assert err.value.filename == str(target)
  assert logs.error_line(err.value) == (
      f"error: {target}: No space left on device; free some space there or "
      "write elsewhere (--debug shows the traceback)")
  assert json.loads(target.read_text()) == {"old": 1}
  assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_a_failed_metrics_line_is_cut_back(tmp_path):
  path = tmp_path / "metrics.jsonl"
  path.write_text('{"step": 1}\n')

  class FullAfterHalf:
    def __init__(self, f):
      self.f = f

    def tell(self):
      return self.f.tell()

    def write(self, text):
      self.f.write(text[:5])
      self.f.flush()
      raise OSError(errno.ENOSPC, "No space left on device")

    def truncate(self, size):
      return self.f.truncate(size)

  with open(path, "a") as f:
    with pytest.raises(OSError) as err:
      files.append_line(FullAfterHalf(f), path, '{"step": 2}')
  assert err.value.filename == str(path)
  assert path.read_text() == '{"step": 1}\n'


def test_a_failed_checkpoint_is_one_error_and_leaves_no_step(tmp_path,
                                                              monkeypatch):
  directory = tmp_path / "checkpoints"
  ckpt = checkpoint_lib.Checkpointer(directory, fingerprint={"a": 1},
                                     save_every=1)
  state = {"w": np.zeros(3, np.float32)}
  ckpt.save(1, state)
  ckpt.wait_until_finished()

  def fail(*args, **kwargs):
    os.makedirs(directory / "2.orbax-checkpoint-tmp-123", exist_ok=True)
    raise ValueError("RESOURCE_EXHAUSTED: Error writing \"w/0\" in OCDBT "
                     "database: Failed to write 96 bytes to file 8: No space "
                     "left on device [os_error_code='28']")

  monkeypatch.setattr(ckpt._manager, "save", fail)  # pylint: disable=protected-access
  with pytest.raises(checkpoint_lib.CheckpointWriteError) as err:
    ckpt.save(2, state)
  assert str(err.value) == (f"checkpoint not written to {directory}: no "
                            "space left on device")
  assert sorted(os.listdir(directory)) == ["1", "fingerprint.json"]
  ckpt.close()  # the failure is not raised a second time


def test_refusals_are_short_plain_lines():
  line = logs.error_line(ValueError("\x1b[31mred\x1b[0m and\ttabs " +
                                    "word " * 100))
  assert "\x1b" not in line and "\t" not in line
  assert len(line) <= logs.MAX_ERROR_CHARS
  assert line.endswith("(--debug shows all)")
  # The user's paths are not cut to fit.
  path = "/a/very/long/path/" + "x" * 300 + ".json"
  line = logs.error_line(FileNotFoundError(f"{path}: no such poses file"))
  assert path in line and line.endswith("(--debug shows the traceback)")


@pytest.fixture(scope="module")
def trained_tiny(tmp_path_factory):
  workdir = tmp_path_factory.mktemp("tiny") / "run"
  proc = _run("experiments.main", *TINY, f"--workdir={workdir}",
              "--config.train.num_steps=4", "--mode=train")
  assert proc.returncode == 0, proc.stderr[-2000:]
  return workdir


def _mount(path, size: str):
  path.mkdir()
  result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}",
                           "tmpfs", str(path)], capture_output=True, text=True)
  if result.returncode:
    pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")


@pytest.mark.slow
def test_evaluations_at_any_free_space_end_in_one_line_and_no_false_file(
    tmp_path, trained_tiny):
  # An evaluation writes about 90 kB (results, plots, events, summary):
  # with each of these free, it succeeds whole or fails in one line, never
  # hangs, and leaves neither a results file nor an empty plot behind.
  if os.geteuid() != 0:
    pytest.skip("mounting a tmpfs needs root")
  free_kib = (8, 28, 48, 72)
  disks, procs = [], []
  try:
    for kib in free_kib:
      disk = tmp_path / f"disk{kib}"
      _mount(disk, "256k")
      disks.append(disk)
      with open(disk / "fill", "wb") as f:
        f.write(b"\0" * ((256 - kib) * 1024))
      procs.append(subprocess.Popen(
          [sys.executable, "-m", "experiments.main",
           f"--workdir={trained_tiny}", "--mode=eval",
           f"--config.eval.output_dir={disk / 'eval'}"], cwd=ROOT,
          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
          env={**os.environ, "JAXPOSE_DEBUG": ""}))
    outcomes = []
    for kib, disk, proc in zip(free_kib, disks, procs):
      _, stderr = proc.communicate(timeout=600)  # a hang fails here
      out = disk / "eval"
      made = sorted(p.name for p in out.iterdir()) if out.exists() else []
      empty = [n for n in made if (out / n).stat().st_size == 0
               and not n.startswith(".")]
      assert not empty and not _leftovers(disk), (kib, made)
      if proc.returncode == 0:
        assert {"estimate.json", "metrics.json"} <= set(made), made
        json.loads((out / "estimate.json").read_text())
        outcomes.append("ok")
      else:
        _one_line_error(subprocess.CompletedProcess([], 1, "", stderr),
                        str(out), "No space left on device")
        assert "estimate.json" not in made, (kib, made)
        assert "metrics.json" not in made, (kib, made)
        outcomes.append("failed")
    assert "failed" in outcomes, outcomes
  finally:
    for proc in procs:
      proc.kill()
    for disk in disks:
      subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_failing_event_write_raises_and_leaves_no_event_file(
    tmp_path, monkeypatch):
  # tensorboardX's writer thread died on ENOSPC and its close waited on it
  # forever; events are now written in the caller, which sees the error.
  from jaxpose import summary_writer
  from tensorboardX import record_writer
  write = record_writer.RecordWriter.write
  for fail_at in (0, 1, 2):  # the file version, the scalars, the images
    calls = []

    def full(self, data, calls=calls, fail_at=fail_at):
      calls.append(1)
      if len(calls) > fail_at:
        raise OSError(errno.ENOSPC, "No space left on device")
      return write(self, data)

    monkeypatch.setattr(record_writer.RecordWriter, "write", full)
    plot = tmp_path / "estimate_curve.png"
    from PIL import Image
    Image.new("RGB", (4, 4)).save(plot)
    logdir = tmp_path / f"run{fail_at}"
    with pytest.raises(OSError) as err:
      summary_writer.write_evaluation(logdir, 1, "estimate",
                                      {"mpjpe_mm": 50.0}, [plot])
    assert err.value.filename.startswith(str(logdir)), err.value
    assert list(logdir.iterdir()) == [], fail_at
