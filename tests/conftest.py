"""Shared pytest setup: the repository root on sys.path, CPU-only JAX."""
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
  sys.path.insert(0, str(ROOT))
os.environ.setdefault("JAX_PLATFORMS", "cpu")

# Most of this suite's time is XLA compiling small CPU programs, and most of
# that is LLVM optimising code that then runs for milliseconds: the suite
# compiles without those passes (about a quarter less wall time on 2 cores;
# results agree within every tolerance tested here). Compiled programs are
# also kept in a cache shared by the test workers and their subprocesses (CLI
# runs, the notebook's kernel), so a program met twice compiles once. Set
# XLA_FLAGS or JAX_COMPILATION_CACHE_DIR yourself to override either.
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
  os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                             " --xla_backend_optimization_level=0").strip()
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR",
                      str(ROOT / ".pytest_cache" / "xla"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.2")
# The suite checks jaxpose's built-in choice of XLA options, never one a
# developer measured on their machine (`xla_options.cpu_choice`).
os.environ["JAXPOSE_XLA_CHOICE"] = ""
# Commands the tests run in-process would otherwise change the test worker's
# allocator for the rest of the session (`host_memory`); its own tests give
# their child processes the setting explicitly.
os.environ["JAXPOSE_RETAIN_HOST_MEMORY"] = "0"


import pytest  # noqa: E402  (after the environment is set)


def pytest_collection_modifyitems(config, items):
  """Modules that hold a test marked slow run first, each kept whole (its
  module fixtures are set up once), the rest in their usual order: on few
  cores the workers then end on short tests and finish together, rather
  than one of them running a minute-long end-to-end test alone."""
  slow_modules = {item.nodeid.split("::")[0] for item in items
                  if item.get_closest_marker("slow")}
  items.sort(key=lambda item: item.nodeid.split("::")[0] not in slow_modules)


@pytest.fixture(scope="session")
def real_files(tmp_path_factory):
  """A few real BVH files per dataset, streamed out of ../shared/data's
  archives once per session; skips when the data is absent."""
  files = _sample_files(tmp_path_factory.getbasetemp() / "mocap_samples")
  if not files:
    pytest.skip("real mocap archives not found (set JAXPOSE_DATA)")
  return files


def _sample_files(dest, per_dataset: int = 2):
  """{'bandai': [paths], 'cmu': [paths]} of a few real BVH files, or None
  without the data.  Streams each .tar.xz only up to its first
  `per_dataset` .bvh members, so this takes seconds; reuses `dest` when
  already filled."""
  import tarfile
  from jaxpose.data import data_files
  data = data_files.resolve_data_dir()
  if data is None or not all((data / a).is_file()
                             for a in data_files.ARCHIVES.values()):
    return None
  out = {}
  for name, archive in data_files.ARCHIVES.items():
    folder = dest / name
    done = folder / ".complete"
    if not done.exists():
      folder.mkdir(parents=True, exist_ok=True)
      found = 0
      with tarfile.open(data / archive, "r|xz") as tar:
        for member in tar:
          if member.isfile() and member.name.endswith(".bvh"):
            target = folder / member.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(tar.extractfile(member).read())
            found += 1
            if found == per_dataset:
              break
      done.touch()
    out[name] = data_files.find_bvh_files(folder)
  return out


@pytest.fixture(scope="session")
def torch_python():
  """A python with torch, from JAXPOSE_TORCH_PYTHON; skips when it is unset
  (tests/helpers/torch_python.py says how to make one)."""
  from tests.helpers import torch_python as torch_python_lib
  return torch_python_lib.require_torch_python()
