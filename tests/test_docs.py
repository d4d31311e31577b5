"""README.md and docs/: every relative link resolves, and every
`python -m experiments...` command written there parses its flags (the
flags exist and their values parse; nothing runs)."""
import json
import os
import pathlib
import re
import shlex
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
# Placeholders the docs write for a value the reader chooses.
_PLACEHOLDERS = {"$S": "0", "${S}": "0", "$HOME": "/tmp", "~": "/tmp"}
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_INLINE = re.compile(r"`(python -m experiments[^`]*)`")
_BASE_FLAGS: set = set()
# Stands for a value in capitals: a string or a number parse it; a flag of
# another type (a dict, an enum) is then left out and parsed without.
_PLACEHOLDER = "1"
_STOP = {";", "&&", "||", "|", "#", ">", "then"}


def links(text: str) -> list[str]:
  """Relative link targets of a Markdown text (no URLs, no anchors alone)."""
  found = []
  for target in _LINK.findall(text):
    if re.match(r"^[a-z]+:", target) or target.startswith("#"):
      continue
    found.append(target.split("#", 1)[0])
  return found


def commands(text: str) -> list[str]:
  """`python -m experiments...` commands: in inline code, and on the lines
  of code blocks (fenced or indented; backslash continuations joined)."""
  found, fenced = [], False
  for line in re.sub(r"\\\n\s*", " ", text).splitlines():
    if line.lstrip().startswith("```"):
      fenced = not fenced
      continue
    at = line.find("python -m experiments")
    if (fenced or line.startswith("    ")) and at >= 0:
      found.append(line[at:])
    else:
      found += _INLINE.findall(line)
  # One snippet may chain commands ("...; then python -m experiments...").
  return [("python -m experiments" + part).strip() for snippet in found
          for part in snippet.split("python -m experiments")[1:]]


def argv_of(command: str) -> tuple[str, list[str]]:
  """(module, flags) of one command; stops at a shell separator."""
  for old, new in _PLACEHOLDERS.items():
    command = command.replace(old, new)
  try:
    words = shlex.split(command, comments=True)
  except ValueError:
    words = command.split()
  module, args = words[2], []
  for word in words[3:]:
    if word in _STOP or word.endswith(";"):
      if word.endswith(";") and word.startswith("--"):
        args.append(word[:-1])
      break
    if word.startswith("--"):
      name, eq, value = word.rstrip(",").partition("=")
      # A value in capitals (STEPS, TORCH_VENV/bin/python) is the reader's
      # to choose: any value of the flag's type stands in for it.
      if re.match(r"[A-Z][A-Z_]+(/|$)", value):
        value = _PLACEHOLDER
      args.append(name + eq + value)
  return module, args


def _all_commands():
  out = []
  for page in PAGES:
    for command in commands(page.read_text()):
      out.append((page.relative_to(ROOT).as_posix(), command))
  return out


def test_every_relative_link_resolves():
  broken = []
  for page in PAGES:
    for target in links(page.read_text()):
      if target and not (page.parent / target).exists():
        broken.append(f"{page.relative_to(ROOT)}: {target}")
  assert not broken, "\n".join(broken)


def test_commands_are_found():
  # Guards the extraction itself: the README's own commands are seen.
  found = [c for page, c in _all_commands() if page == "README.md"]
  assert any("experiments.main" in c for c in found), found
  assert argv_of("python -m experiments.main --config=a.py --workdir=runs/x "
                 "--config.seed=$S --mode=eval; then x") == (
      "experiments.main", ["--config=a.py", "--workdir=runs/x",
                           "--config.seed=0", "--mode=eval"])


# Run from the repository root (this folder holds a package named like
# the one whose commands it checks).
_RUN = ("import sys; sys.path.insert(0, 'tests'); import test_docs; "
        "sys.path.pop(0); sys.exit(test_docs.main(sys.stdin.read()))")


def test_every_documented_command_parses_its_flags():
  by_module: dict[str, list] = {}
  for page, command in _all_commands():
    module, args = argv_of(command)
    by_module.setdefault(module, []).append((page, command, args))
  result = subprocess.run(
      [sys.executable, "-c", _RUN], input=json.dumps(by_module), cwd=ROOT,
      capture_output=True, text=True, timeout=900,
      env={**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"})
  assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]


class _Parsed(Exception):
  """Raised by the stand-in for `absl.app.run` once the flags parsed."""


def _parse(module: str, argv: list[str]) -> None:
  """Parses `argv` as `python -m module` would, or raises: absl modules run
  as __main__ up to `app.run`, which parses and stops; argparse modules'
  `parse_args`. A bare mention (no flags) only needs the module to exist."""
  import importlib
  import importlib.util
  import runpy
  from absl import app
  from absl import flags
  spec = importlib.util.find_spec(module)
  if spec is None or spec.origin is None:
    raise ModuleNotFoundError(f"no module {module}")
  if len(argv) == 1:
    return
  source = pathlib.Path(spec.origin).read_text()
  if "def parse_args" in source:
    importlib.import_module(module).parse_args(argv[1:])
    return
  if "app.run(" not in source:
    raise ValueError(f"{module}: neither absl's app.run nor parse_args")
  for name in set(flags.FLAGS) - _BASE_FLAGS:
    delattr(flags.FLAGS, name)

  def parse_only(main, argv=None, flags_parser=None):
    del main
    (flags_parser or flags.FLAGS)(argv or sys.argv)
    raise _Parsed()

  # ml_collections defines a config file's override flags from sys.argv
  # when its flag is defined.
  sys.argv, real_run = list(argv), app.run
  app.run = parse_only
  try:
    runpy.run_module(module, run_name="__main__")
  except _Parsed:
    return
  finally:
    app.run = real_run
  raise ValueError(f"{module}: app.run was never reached")


def _check(by_module: dict) -> list[str]:
  """Each command's flags parsed by its module's parser."""
  failures = []
  for module, uses in sorted(by_module.items()):
    for page, command, args in uses:
      argv = [module, *args]
      if module == "experiments.main" and not any(
          a.startswith("--config=") for a in args):
        # An eval in a trained workdir: its config comes from the workdir,
        # which a docs check does not have.
        argv = [a for a in argv if not a.startswith("--config.")]
      try:
        try:
          _parse(module, argv)
        except (SystemExit, Exception):  # pylint: disable=broad-except
          chosen = [a for a in argv if a.endswith("=" + _PLACEHOLDER)]
          if not chosen:
            raise
          _parse(module, [a for a in argv if a not in chosen])
      except (SystemExit, Exception) as err:  # pylint: disable=broad-except
        failures.append(f"{page}: {command}\n  {type(err).__name__}: {err}")
  return failures


def main(by_module: str) -> int:
  global _BASE_FLAGS
  from absl import flags
  _BASE_FLAGS = set(flags.FLAGS)
  problems = _check(json.loads(by_module))
  print("\n".join(problems))
  return 1 if problems else 0


def test_every_shipped_method_has_its_user_page():
  # The method packages themselves: tests register methods of their own.
  shipped = [p.name for p in (ROOT / "jaxpose" / "methods").iterdir()
             if (p / "__init__.py").is_file()]
  assert {"baseline", "gfpose"} <= set(shipped)
  missing = [name for name in shipped
             if not (ROOT / "docs" / "methods" / f"{name}.md").is_file()]
  assert missing == [], f"no docs/methods/<name>.md for {missing}"


def test_the_contributors_guide_stays_short():
  lines = (ROOT / "WORKSPACE.md").read_text().count("\n")
  assert lines <= 250, f"WORKSPACE.md has {lines} lines (at most 250)"
