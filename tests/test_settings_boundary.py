"""Settings are parsed once, at the boundary (`run_lib.run`, or a notebook's
call of `run_lib.train`/`evaluate`), and read below it as typed values."""
import pathlib
import re

import pytest

from experiments.configs import quickstart
from experiments.studies import config_walk
from jaxpose import methods
from jaxpose import run_lib
from jaxpose.methods import base

ROOT = pathlib.Path(__file__).resolve().parents[1]
# Where a raw config is built or read back by design: the config utilities,
# importers that write a workdir's config from released weights, and the
# record of a run (config.json).
BUILDS_OR_RECORDS = {"jaxpose/config.py", "jaxpose/import_lib.py",
                     "jaxpose/workdir/run_config.py"}
RAW_READS = re.compile(r"\bconfig\[|\.value\(")


def _library_files():
  for path in sorted((ROOT / "jaxpose").rglob("*.py")):
    rel = path.relative_to(ROOT).as_posix()
    if rel in BUILDS_OR_RECORDS or rel.endswith("/released.py"):
      continue
    yield rel, path.read_text()


def test_no_raw_config_read_below_the_boundary():
  found = [f"{rel}:{n}: {line.strip()}"
           for rel, text in _library_files()
           for n, line in enumerate(text.splitlines(), 1)
           if RAW_READS.search(line) and not line.lstrip().startswith("#")]
  assert found == []


def test_a_setting_is_read_typed_with_its_default():
  _, run = methods.parse(quickstart.get_config())
  assert run.setting("seed") == run.seed
  assert run.setting("data.n_train") == run.data.n_train
  assert run.setting("eval.num_poses") == run.eval.num_poses  # generic eval
  assert run.setting("holdout.fraction") == run.sections.holdout.fraction
  with pytest.raises(KeyError, match="eval.no_such_key"):
    run.setting("eval.no_such_key")


def test_a_run_parses_its_config_once(tmp_path, monkeypatch):
  calls = []
  real = base.parse
  monkeypatch.setattr(base, "parse",
                      lambda *a, **k: calls.append(1) or real(*a, **k))
  run_lib.run("train_and_eval", config_walk.tiny_config(), str(tmp_path))
  assert len(calls) == 1
  calls.clear()  # an evaluation reads the workdir's config back, once
  run_lib.run("eval", None, str(tmp_path))
  assert len(calls) == 1


def test_a_setting_left_out_reads_its_declared_default():
  _, run = methods.parse(quickstart.get_config())
  assert run.default("holdout.fraction") == 0.0
  assert run.default("holdout.subjects") == ()
  assert run.default("seed") is None  # no default: every config names it
