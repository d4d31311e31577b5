"""What the released-weights tests share (tests/interop/test_released_*.py):
importing a made checkpoint through the documented path, editing one with
torch, and asserting a refusal that is one line and leaves nothing behind."""
import os
import subprocess
import sys

import numpy as np
import pytest

from experiments import released_configs
from jaxpose import import_lib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))


def import_checkpoint(method: str, checkpoint: str, workdir, *, config: str,
                      files=None, options=None) -> str:
  """The import `experiments.import_weights` makes, with a small config."""
  request = released_configs.request(method, checkpoint, str(workdir),
                                     files=files or {}, options=options or {},
                                     config_file=config)
  return import_lib.import_weights(method, request)


def rel(ours, theirs) -> float:
  """The largest difference relative to the largest value (float64)."""
  theirs = np.asarray(theirs, np.float64)
  return float(np.max(np.abs(np.asarray(ours, np.float64) - theirs))
               / np.max(np.abs(theirs)))


def edited(source: str, path, edit) -> str:
  """`source` loaded with torch, `edit`ed in place and saved at `path`."""
  import torch  # only the torch-side tests come here
  obj = torch.load(source, weights_only=False)
  edit(obj)
  torch.save(obj, str(path))
  return str(path)


def truncated(source: str, path, keep: int | None = None) -> str:
  """The first `keep` bytes (default: half) of `source`, at `path`."""
  with open(source, "rb") as f:
    data = f.read()
  with open(path, "wb") as f:
    f.write(data[:len(data) // 2 if keep is None else keep])
  return str(path)


def assert_refused(attempt, parent, match: str):
  """`attempt(workdir)` raises one line matching `match` and leaves no
  workdir and no half-written import in `parent`."""
  workdir = parent / "w"
  with pytest.raises(ValueError, match=match) as err:
    attempt(workdir)
  assert "\n" not in str(err.value)
  assert not workdir.exists()
  assert not [n for n in os.listdir(parent) if ".importing-" in n]


def assert_command_line_refuses(args: list[str], workdir, expected: str):
  """`experiments.import_weights ARGS` fails with `expected` in the last
  line of its error output and writes no workdir."""
  proc = subprocess.run(
      [sys.executable, "-m", "experiments.import_weights", *args,
       f"--workdir={workdir}"],
      capture_output=True, text=True, cwd=ROOT, timeout=300)
  assert proc.returncode != 0
  last = proc.stderr.strip().splitlines()[-1]
  assert expected in last, proc.stderr[-2000:]
  assert not os.path.exists(workdir)
