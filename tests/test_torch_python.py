"""The torch interpreter of the side-by-side tests: one variable, clear
skips and failures (tests/helpers/torch_python.py)."""
import subprocess
import sys

import pytest

from tests.helpers import torch_python as torch_python_lib

ENV = torch_python_lib.TORCH_PYTHON_ENV


def test_unset_means_no_torch_and_the_skip_says_how_to_set_it(monkeypatch):
  monkeypatch.delenv(ENV, raising=False)
  assert torch_python_lib.torch_python_path() is None
  with pytest.raises(pytest.skip.Exception) as err:
    torch_python_lib.require_torch_python()
  msg = str(err.value)
  assert f"set {ENV} to a python with torch" in msg
  assert "pip install torch==2.13.0 numpy" in msg
  monkeypatch.setenv(ENV, "")
  assert torch_python_lib.torch_python_path() is None


def test_a_set_but_unusable_interpreter_fails(monkeypatch, tmp_path):
  missing = str(tmp_path / "no_python")
  monkeypatch.setenv(ENV, missing)
  with pytest.raises(pytest.fail.Exception, match=f"{ENV}={missing}: no such"):
    torch_python_lib.require_torch_python()
  has_torch = subprocess.run([sys.executable, "-c", "import torch"],
                             capture_output=True).returncode == 0
  if has_torch:
    pytest.skip("this interpreter has torch")
  monkeypatch.setenv(ENV, sys.executable)
  with pytest.raises(pytest.fail.Exception,
                     match=f"cannot import torch .*{sys.executable} -m pip"):
    torch_python_lib.require_torch_python()
