"""Only `jaxpose.workdir.layout` spells a workdir's file and folder names:
no other module of jaxpose/ or experiments/ joins a workdir path with a
literal name."""
import ast
import pathlib

import pytest

from jaxpose.workdir import layout

ROOT = pathlib.Path(__file__).resolve().parents[2]
OWNER = ROOT / "jaxpose" / "workdir" / "layout.py"


def _names_a_workdir(node: ast.AST) -> bool:
  return "workdir" in ast.unparse(node).lower()


def _literal(node: ast.AST) -> bool:
  return isinstance(node, ast.JoinedStr) or (
      isinstance(node, ast.Constant) and isinstance(node.value, str))


def literal_joins(source: str) -> list[tuple[int, str]]:
  """(line, code) of every join of a workdir path with a literal name:
  `os.path.join(workdir, "x")`, `workdir / "x"`, `f"{workdir}/x"`."""
  found = []
  for node in ast.walk(ast.parse(source)):
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and node.func.attr == "join" and ast.unparse(node.func.value).endswith("path")
        and node.args and _names_a_workdir(node.args[0])
        and any(_literal(a) for a in node.args[1:])):
      found.append((node.lineno, ast.unparse(node)))
    elif (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)
          and _names_a_workdir(node.left) and _literal(node.right)):
      found.append((node.lineno, ast.unparse(node)))
    elif isinstance(node, ast.JoinedStr):
      values = node.values
      for a, b in zip(values, values[1:]):
        if (isinstance(a, ast.FormattedValue) and _names_a_workdir(a.value)
            and isinstance(b, ast.Constant) and str(b.value).startswith("/")):
          found.append((node.lineno, ast.unparse(node)))
  return found


@pytest.mark.parametrize("code", [
    'os.path.join(workdir, "checkpoints")',
    'os.path.join(self.workdir, "eval", f"{stem}.json")',
    'pathlib.Path(args.workdir) / "config.json"',
    'f"{workdir}/samples.npz"',
])
def test_the_check_finds_a_literal_join(code):
  assert literal_joins(code), code


@pytest.mark.parametrize("code", [
    "os.path.join(workdir, sub)", 'os.path.join(out_dir, "x.json")',
    "layout.Workdir(workdir).config", 'f"{workdir}: not a workdir"',
])
def test_the_check_passes_joins_of_other_kinds(code):
  assert not literal_joins(code), code


def test_no_module_but_the_layout_spells_a_workdir_name():
  offenders = []
  for folder in ("jaxpose", "experiments"):
    for path in sorted((ROOT / folder).rglob("*.py")):
      if path == OWNER:
        continue
      for line, code in literal_joins(path.read_text()):
        offenders.append(f"{path.relative_to(ROOT)}:{line}: {code}")
  assert not offenders, ("take these paths from jaxpose.workdir.layout."
                         "Workdir:\n" + "\n".join(offenders))


def test_every_path_lies_in_the_workdir(tmp_path):
  where = layout.Workdir.of(tmp_path)
  paths = [where.config, where.config_history, where.lock, where.prepared,
           where.prepared_index, where.checkpoints, where.fingerprint,
           where.metrics_log, where.summary, where.eval, where.calibration,
           where.calibration_runs, where.samples, where.samples_plot,
           where.provenance, where.calibration_run("denoise"),
           where.results("denoise"), where.picture("denoise"),
           where.eval_of("other-1234")]
  assert len(set(paths)) == len(paths)  # no two artefacts share a path
  assert all(pathlib.Path(p).is_relative_to(tmp_path) for p in paths)
  assert layout.Workdir.of(where) is where and str(where) == str(tmp_path)
