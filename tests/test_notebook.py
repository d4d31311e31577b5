"""The Colab quickstart notebook runs top to bottom on the CPU."""
import pathlib

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "experiments" / "colab" / "quickstart.ipynb"


def test_notebook_imports_library_and_does_not_redefine_it():
  nb = nbformat.read(NOTEBOOK, as_version=4)
  code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
  assert "from jaxpose import run_lib" in code
  # Library code belongs in jaxpose/, not in the notebook.
  assert "\ndef " not in "\n" + code and "\nclass " not in "\n" + code


def test_notebook_executes(tmp_path, monkeypatch):
  nb = nbformat.read(NOTEBOOK, as_version=4)
  monkeypatch.setenv("JAXPOSE_NOTEBOOK_STEPS", "60")
  monkeypatch.setenv("JAX_PLATFORMS", "cpu")
  client = nbclient.NotebookClient(
      nb, timeout=600, kernel_name="python3",
      resources={"metadata": {"path": str(NOTEBOOK.parent)}})
  client.execute()
  outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
  assert not [o for o in outputs if o.get("output_type") == "error"]
  images = [o for o in outputs if "image/png" in o.get("data", {})]
  assert images, "the notebook did not display the hypotheses plot"
