"""The Colab quickstart notebook runs on the CPU: its setup cells, then each
section ("## " heading) on its own, as a Colab user may run it, at tiny sizes
set in a cell added after the one tagged "parameters" (papermill's way)."""
import pathlib
import re

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "experiments" / "colab" / "quickstart.ipynb"


TINY_SIZES = "steps, train_rows, eval_poses = 5, 2_000, 4"


def _sections(nb):
  """(setup cells, {section heading: its cells})."""
  setup, sections, current = [], {}, None
  for cell in nb.cells:
    if cell.cell_type == "markdown" and cell.source.startswith("## "):
      current = cell.source.splitlines()[0][3:].split(":")[0]
      sections[current] = []
    (setup if current is None else sections[current]).append(cell)
  return setup, sections


def _with_tiny_sizes(setup):
  tagged = [i for i, cell in enumerate(setup)
            if "parameters" in cell.metadata.get("tags", [])]
  assert len(tagged) == 1, "the setup needs one cell tagged 'parameters'"
  names = set(re.findall(r"^(\w+) *=", setup[tagged[0]].source, re.M))
  assert names == {"steps", "train_rows", "eval_poses"}, names
  return setup[:tagged[0] + 1] + [
      nbformat.v4.new_code_cell(TINY_SIZES)] + setup[tagged[0] + 1:]


SECTIONS = tuple(_sections(nbformat.read(NOTEBOOK, as_version=4))[1])


def test_notebook_imports_library_and_does_not_redefine_it():
  nb = nbformat.read(NOTEBOOK, as_version=4)
  code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
  assert "from jaxpose import run_lib" in code
  # Library code belongs in jaxpose/, not in the notebook.
  assert "\ndef " not in "\n" + code and "\nclass " not in "\n" + code
  assert set(SECTIONS) == {"GFPose", "DPoser", "DiffPose", "Your own video"}


@pytest.mark.slow
@pytest.mark.parametrize("section", SECTIONS)
def test_notebook_section_executes(section, monkeypatch):
  nb = nbformat.read(NOTEBOOK, as_version=4)
  setup, sections = _sections(nb)
  nb.cells = _with_tiny_sizes(setup) + sections[section]
  monkeypatch.setenv("JAX_PLATFORMS", "cpu")
  client = nbclient.NotebookClient(
      nb, timeout=600, kernel_name="python3",
      resources={"metadata": {"path": str(NOTEBOOK.parent)}})
  client.execute()
  outputs = [o for c in nb.cells if c.cell_type == "code"
             for o in c.get("outputs", [])]
  errors = [o for o in outputs if o.get("output_type") == "error"]
  assert not errors, errors[0].get("evalue")
  images = [o for o in outputs if "image/png" in o.get("data", {})]
  assert images, f"section {section} displayed no picture"
