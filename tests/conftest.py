"""Shared pytest setup: the repository root on sys.path, CPU-only JAX."""
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
  sys.path.insert(0, str(ROOT))
os.environ.setdefault("JAX_PLATFORMS", "cpu")


import pytest  # noqa: E402  (after the environment is set)


@pytest.fixture(scope="session")
def real_files(tmp_path_factory):
  """A few real BVH files per dataset, streamed out of ../shared/data's
  archives once per session; skips when the data is absent."""
  from jaxpose.data import protocols
  files = protocols.sample_files(tmp_path_factory.getbasetemp() / "mocap_samples")
  if not files:
    pytest.skip("real mocap archives not found (set JAXPOSE_DATA)")
  return files
