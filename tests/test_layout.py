"""The import graph of jaxpose: no cycle, layers pointing down (imports
inside functions included), generic code importing no method."""
import ast
import pathlib

import pytest

from jaxpose import methods

ROOT = pathlib.Path(__file__).resolve().parents[1]

# Each layer may import the layers below it (lower rank) and itself, never
# one above; the foundation modules (rank 0) may import each other.
RANKS = {
    "checks": 0, "config": 0, "settings": 0, "files": 0, "digest": 0,
    "rng": 0, "logs": 0, "summary_writer": 0,
    "core": 1, "pose": 2, "models": 3, "plotting": 4, "motion_page": 4,
    # The motion page's HTML and layout, below the page it frames.
    "motion_layout": 3.5,
    "data": 5,
    # A video file -> a detector's keypoints (its own environment, as a
    # process); above data, beside nothing it imports but files.
    "video": 5.5,
    "training": 6, "evaluation": 7, "methods": 8,
    # Held-out rows read back, calibrations fitted, stored and applied: it
    # reads trained models (`methods.base`) and the runner calls it.
    "calibration": 8.5,
    "run_lib": 9,
    # Everything a run leaves on disk: the layout (every path of a workdir),
    # its lock, prepared artefacts, below all that writes them; the stored
    # config (it reads the data settings back), the checkpoints (over the
    # device mesh) and the trained model read back (over the methods).
    "workdir": 0.5, "workdir.run_config": 5.2, "workdir.checkpoint": 6.2,
    "workdir.trained": 8.7,
    # Other frameworks' files: imports nothing of jaxpose.
    "interop": 1.5,
    # Released weights -> workdirs, and a video's keypoints -> motion, over
    # run_lib.
    "import_lib": 10, "lift": 10,
    # A lifted motion's files, below the lift that makes them.
    "lift_outputs": 9.5,
}


def _modules() -> dict[str, pathlib.Path]:
  mods = {}
  for path in (ROOT / "jaxpose").rglob("*.py"):
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    mods[name.removesuffix(".__init__")] = path
  return mods


def _imports(mods) -> list[tuple[str, str, bool, int]]:
  """(module, imported module, inside a function, line) of every import."""
  out = []
  for name, path in mods.items():
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    local = set()
    for fn in ast.walk(tree):
      if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        local.update(id(n) for n in ast.walk(fn))
    for node in ast.walk(tree):
      if isinstance(node, ast.Import):
        targets = [a.name for a in node.names]
      elif isinstance(node, ast.ImportFrom):
        module = node.module or ""
        if node.level:
          parts = package.split(".")[:len(package.split(".")) - node.level + 1]
          module = ".".join(parts + ([module] if module else []))
        targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in mods
                   else module for a in node.names]
      else:
        continue
      for target in targets:
        while target and target not in mods:
          target = target.rpartition(".")[0]
        if target and target != name:
          out.append((name, target, id(node) in local, node.lineno))
  return out


def _layer(module: str) -> str:
  """The longest RANKS key naming the module (a package may span layers,
  as `workdir` does: its paths below everything, its trained-model reader
  above the methods)."""
  parts = module.split(".")
  for end in range(len(parts), 2, -1):
    if ".".join(parts[1:end]) in RANKS:
      return ".".join(parts[1:end])
  return parts[1] if len(parts) > 1 else parts[0]


def test_every_module_has_a_layer():
  unknown = sorted({_layer(m) for m in _modules()} - set(RANKS) - {"jaxpose"})
  assert not unknown, f"add these to RANKS: {unknown}"


def test_layers_point_down_even_inside_functions():
  climbing = []
  for source, target, local, line in _imports(_modules()):
    a, b = _layer(source), _layer(target)
    if a == b or a == "jaxpose" or b == "jaxpose":
      continue
    if RANKS[b] > RANKS[a] or (RANKS[b] == RANKS[a] and RANKS[a] > 0):
      where = "inside a function" if local else "at module level"
      climbing.append(f"{source}:{line} imports {target} ({where})")
  assert not climbing, "imports that climb a layer:\n" + "\n".join(climbing)


def test_the_check_sees_imports_inside_functions(tmp_path, monkeypatch):
  # A function-local import of run_lib from a method must be caught.
  fake = {"jaxpose.methods.fake": tmp_path / "fake.py",
          "jaxpose.run_lib": tmp_path / "run_lib.py"}
  fake["jaxpose.methods.fake"].write_text(
      "def f():\n  from jaxpose import run_lib\n  return run_lib\n")
  fake["jaxpose.run_lib"].write_text("")
  found = _imports(fake)
  assert ("jaxpose.methods.fake", "jaxpose.run_lib", True, 2) in found


def test_no_import_cycle():
  graph = {}
  for source, target, _, _ in _imports(_modules()):
    graph.setdefault(source, set()).add(target)
  state = {}

  def visit(node, stack):
    state[node] = "open"
    for nxt in graph.get(node, ()):
      if state.get(nxt) == "open":
        pytest.fail("import cycle: " + " -> ".join(stack[stack.index(nxt):] + [nxt]))
      if nxt not in state:
        visit(nxt, stack + [nxt])
    state[node] = "done"

  for node in list(graph):
    if node not in state:
      visit(node, [node])


def test_generic_code_imports_no_method():
  method_packages = {f"jaxpose.methods.{m}" for m in methods.names()}
  for source, target, _, line in _imports(_modules()):
    if source.startswith("jaxpose.methods"):
      continue
    assert not any(target == p or target.startswith(p + ".")
                   for p in method_packages), f"{source}:{line} imports {target}"


def test_run_lib_is_orchestration():
  """run_lib parses, then trains, evaluates, samples or calibrates; what a
  workdir holds is read and written by jaxpose/workdir/."""
  source = (ROOT / "jaxpose" / "run_lib.py").read_text()
  assert len(source.splitlines()) <= 250
  defined = {node.name for node in ast.parse(source).body
             if isinstance(node, ast.FunctionDef)}
  assert defined <= {"train", "_fit", "evaluate", "sample", "calibrate", "run"}
