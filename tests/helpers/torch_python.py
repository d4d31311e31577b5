"""The Python interpreter with PyTorch that the side-by-side tests run.

PyTorch is not a dependency of jaxpose: the tests that run the authors'
PyTorch code (experiments/bench's torch side) use a separate interpreter,
named by one environment variable:

  python3 -m venv /tmp/torchvenv
  /tmp/torchvenv/bin/pip install torch==2.13.0 numpy
  export JAXPOSE_TORCH_PYTHON=/tmp/torchvenv/bin/python

Unset or empty (the default), there is no torch and those tests are skipped.
Set to something that is not a python with torch, they fail, naming what is
wrong: the variable was set to ask for them.

Tests take the interpreter through the `torch_python` fixture
(tests/conftest.py), which calls `require_torch_python`.
"""
from __future__ import annotations

import functools
import os
import subprocess

import pytest

TORCH_PYTHON_ENV = "JAXPOSE_TORCH_PYTHON"

HOW_TO_SET = (
    f"set {TORCH_PYTHON_ENV} to a python with torch installed, e.g. "
    "`python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install "
    f"torch==2.13.0 numpy` then `export {TORCH_PYTHON_ENV}="
    "/tmp/torchvenv/bin/python`")


def torch_python_path() -> str | None:
  """The interpreter JAXPOSE_TORCH_PYTHON names, or None when it is unset."""
  return os.environ.get(TORCH_PYTHON_ENV) or None


@functools.lru_cache(maxsize=None)
def _torch_problem(path: str) -> str | None:
  """Why `path` is not a python that imports torch, or None when it is."""
  if not os.path.isfile(path):
    return f"{TORCH_PYTHON_ENV}={path}: no such file"
  try:
    result = subprocess.run([path, "-c", "import torch"], capture_output=True,
                            text=True, timeout=300)
  except OSError as e:
    return f"{TORCH_PYTHON_ENV}={path} cannot be run ({e.strerror})"
  if result.returncode:
    last = (result.stderr.strip().splitlines() or ["no message"])[-1]
    return (f"{TORCH_PYTHON_ENV}={path} cannot import torch ({last}); "
            f"install it with `{path} -m pip install torch==2.13.0 numpy`")
  return None


def require_torch_python() -> str:
  """The path of a python with torch; skips the test when none is set.

  Raises:
    pytest.skip.Exception: JAXPOSE_TORCH_PYTHON is unset.
    pytest.fail.Exception: it is set, but not to a python with torch.
  """
  path = torch_python_path()
  if path is None:
    pytest.skip(f"no PyTorch interpreter: {HOW_TO_SET}")
  problem = _torch_problem(path)
  if problem:
    pytest.fail(problem, pytrace=False)
  return path
