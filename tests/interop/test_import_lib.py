"""Writing an import as a workdir: read back as trained, atomic, refusals."""
import json
import os

import jax
import numpy as np
import pytest

from experiments import released_configs as cli
from jaxpose import import_lib
from jaxpose import methods
from jaxpose import run_lib
from jaxpose.interop import state_dicts
from jaxpose.methods import base


@pytest.fixture(scope="module")
def imported():
  config = cli.base_config("gfpose", "experiments/configs/quickstart.py")
  config["model"].update(hidden=64, embed_dim=32)
  method, run = methods.parse(config)
  params = method.build(run, {}, {}).init(jax.random.key(3))
  flat = {state_dicts.path_of(p): np.asarray(v)
          for p, v in jax.tree_util.tree_flatten_with_path(params)[0]}
  return base.Imported(config=config, params=flat, step=1234,
                       source={"checkpoint": "made.pth", "weights": "ema"})


def _leftovers(parent):
  return [n for n in os.listdir(parent) if ".importing-" in n]


def test_written_workdir_reads_back_as_trained(imported, tmp_path):
  workdir = tmp_path / "w"
  import_lib.write(imported, str(workdir))
  trained = run_lib.load_trained(str(workdir))
  assert trained.step == 1234
  got = {state_dicts.path_of(p): np.asarray(v) for p, v in
         jax.tree_util.tree_flatten_with_path(trained.params)[0]}
  assert got.keys() == imported.params.keys()
  for k, v in imported.params.items():
    np.testing.assert_array_equal(got[k], v, err_msg=k)
  raw = run_lib.load_trained(str(workdir), use_ema=False)
  np.testing.assert_array_equal(jax.tree.leaves(raw.params)[0],
                                jax.tree.leaves(trained.params)[0])
  with open(workdir / import_lib.PROVENANCE) as f:
    assert json.load(f)["weights"] == "ema"
  assert not _leftovers(tmp_path)


def test_non_empty_workdir_refused(imported, tmp_path):
  (tmp_path / "w").mkdir()
  (tmp_path / "w" / "notes.txt").write_text("mine")
  with pytest.raises(import_lib.WeightsImportError, match="not empty"):
    import_lib.write(imported, str(tmp_path / "w"))
  assert os.listdir(tmp_path / "w") == ["notes.txt"]


def test_missing_parameter_leaves_nothing(imported, tmp_path):
  params = dict(imported.params)
  del params["out/kernel"]
  bad = base.Imported(**{**imported.__dict__, "params": params})
  with pytest.raises(state_dicts.StateDictError, match="'out/kernel'"):
    import_lib.write(bad, str(tmp_path / "w"))
  assert not os.path.exists(tmp_path / "w")
  assert not _leftovers(tmp_path)


def test_wrong_shape_named(imported, tmp_path):
  params = dict(imported.params)
  params["out/bias"] = np.zeros(7, np.float32)
  bad = base.Imported(**{**imported.__dict__, "params": params})
  with pytest.raises(state_dicts.StateDictError, match="'out/bias' has shape"):
    import_lib.write(bad, str(tmp_path / "w"))
  assert not os.path.exists(tmp_path / "w")


def test_request_checks(tmp_path):
  req = cli.request("gfpose", str(tmp_path / "x.pth"), str(tmp_path / "w"),
                    files={"statistics": str(tmp_path / "s.pt")})
  with pytest.raises(import_lib.WeightsImportError, match="--statistics"):
    import_lib.import_weights("gfpose", req)
  with pytest.raises(ValueError, match="not a registered method|unknown"):
    import_lib.import_weights("nonesuch", req)


def test_state_dict_rules():
  state = {"lin.weight": np.ones((3, 2), np.float32),
           "lin.bias": np.zeros(3, np.float32),
           "sigmas": np.ones(5)}
  rules = state_dicts.linear("lin", "out", 2, 3)
  flat = state_dicts.convert(state, rules, source="f.pth",
                             ignore=lambda k: k == "sigmas")
  assert flat["out/kernel"].shape == (2, 3)
  with pytest.raises(state_dicts.StateDictError, match="unexpected key 'sigmas'"):
    state_dicts.convert(state, rules, source="f.pth")
  with pytest.raises(state_dicts.StateDictError, match="'lin.bias' missing"):
    state_dicts.convert({"lin.weight": state["lin.weight"]}, rules,
                        source="f.pth")
  with pytest.raises(state_dicts.StateDictError, match="'lin.weight' has shape"):
    state_dicts.convert({**state, "lin.weight": np.ones((2, 3))}, rules,
                        source="f.pth", ignore=lambda k: k == "sigmas")
  bad = {**state, "lin.bias": np.array([0, np.nan, 0], np.float32)}
  with pytest.raises(state_dicts.StateDictError, match="NaN"):
    state_dicts.convert(bad, rules, source="f.pth", ignore=lambda k: True)
  assert state_dicts.strip_prefix({"module.a": 1, "module.b": 2},
                                  ["model.", "module."]) == {"a": 1, "b": 2}


def test_option_flags():
  assert cli.parse_options(["representation=config"], "raw") == {
      "representation": "config", "weights": "raw"}
  with pytest.raises(ValueError, match="expected key=value"):
    cli.parse_options(["representation"])


def test_parity_comparisons_judge_their_tolerance():
  from experiments.parity import common
  ok = common.compare([1.0, 2.0], [1.0, 2.0 + 1e-7], tolerance=1e-6)
  bad = common.compare([1.0, 2.0], [1.0, 2.5], tolerance=1e-3,
                       measure="absolute")
  assert ok["met"] and not bad["met"]
  assert bad["max_abs"] == pytest.approx(0.5)
  assert bad["max_rel"] == pytest.approx(0.2)
  with pytest.raises(ValueError, match="shapes differ"):
    common.compare([1.0], [1.0, 2.0], tolerance=1.0)
