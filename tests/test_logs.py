"""Logging setup: the run's INFO on, library INFO (orbax, JAX's platform
probing) off, warnings kept, JAXPOSE_LIBRARY_LOGS=1 keeps everything."""
import logging as logging_std
import os
import subprocess
import sys

from absl import logging
import pytest

from jaxpose import logs

PROBE = logging_std.getLogger("jax._src.xla_bridge")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class _Capture(logging_std.Handler):
  def __init__(self):
    super().__init__(logging_std.DEBUG)
    self.messages = []

  def emit(self, record):
    self.messages.append(record.getMessage())


@pytest.fixture
def captured(monkeypatch):
  """Records reaching the root logger; the logging state restored after."""
  monkeypatch.delenv(logs.LIBRARY_LOGS_ENV, raising=False)
  verbosity = logging.get_verbosity()
  targets = logs._filter_targets()
  filters = {id(t): list(t.filters) for t in targets}
  handler = _Capture()
  root = logging_std.getLogger()
  root_level = root.level
  # As under absl's app.run with INFO verbosity (experiments/main.py):
  # the root passes INFO, so the libraries' INFO records reach handlers.
  root.setLevel(logging_std.INFO)
  root.addHandler(handler)
  yield handler.messages
  root.removeHandler(handler)
  root.setLevel(root_level)
  for t in targets:
    t.filters[:] = filters[id(t)]
  logging.set_verbosity(verbosity)


def _log_one_of_each():
  PROBE.info("Unable to initialize backend 'tpu': no libtpu.so")
  PROBE.warning("probe warning")
  logging.info("jaxpose progress")


def test_probe_info_is_dropped_and_warnings_kept(captured):
  logs.configure_logging()
  logs.configure_logging()  # idempotent: one filter per target
  for target in logs._filter_targets():
    assert sum(isinstance(f, logs._DropLibraryInfo)
               for f in target.filters) == 1
  _log_one_of_each()
  assert captured == ["probe warning", "jaxpose progress"]


def test_library_logs_keep_everything(captured, monkeypatch):
  logs.configure_logging()
  logs.configure_logging(library_logs=True)  # replaces the earlier choice
  _log_one_of_each()
  assert captured[0].startswith("Unable to initialize backend 'tpu'")
  assert len(captured) == 3

  captured.clear()
  monkeypatch.setenv(logs.LIBRARY_LOGS_ENV, "1")
  assert logs.library_logs_requested()
  logs.configure_logging()
  _log_one_of_each()
  assert len(captured) == 3
  monkeypatch.setenv(logs.LIBRARY_LOGS_ENV, "0")
  assert not logs.library_logs_requested()


def test_orbax_info_is_dropped(captured):
  logs.configure_logging()
  record = logging_std.LogRecord(
      "absl", logging_std.INFO, "/x/orbax/checkpoint/manager.py", 1,
      "Saving checkpoint at step 1", None, None)
  warning = logging_std.LogRecord(
      "absl", logging_std.WARNING, "/x/orbax/checkpoint/manager.py", 1,
      "slow save", None, None)
  logging_std.getLogger("absl").handle(record)
  logging_std.getLogger("absl").handle(warning)
  assert captured == ["slow save"]


# As experiments/main.py: absl's app, INFO verbosity, logging configured
# before JAX starts its backends.
_SCRIPT = """
from absl import app
from absl import logging
from jaxpose import logs

def main(argv):
  logging.set_verbosity(logging.INFO)
  logs.configure_logging()
  import jax
  logging.info("jaxpose progress")
  print("PLATFORMS", sorted({d.platform for d in jax.devices()}))

app.run(main)
"""


@pytest.mark.parametrize("library_logs", ["", "1"])
def test_a_fresh_process_shows_no_backend_probe(library_logs):
  """JAX's real probe, in a process of its own (backends start once)."""
  env = dict(os.environ, **{logs.LIBRARY_LOGS_ENV: library_logs})
  env.pop("JAX_PLATFORMS", None)  # probe as a user's machine would
  out = subprocess.run([sys.executable, "-c", _SCRIPT], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300, check=True)
  assert "jaxpose progress" in out.stderr
  probed = "Unable to initialize backend" in out.stderr
  if not library_logs:
    assert not probed, out.stderr
  elif "tpu" not in out.stdout:  # without a TPU, JAX says so at INFO
    assert "Unable to initialize backend 'tpu'" in out.stderr, out.stderr
