"""The torch.save reader: tensors of every dtype and layout, without torch
in the reading, and one-line errors for damaged or foreign files."""
import collections
import json
import pickle
import zipfile

import numpy as np
import pytest

from jaxpose.interop import torch_files


def test_not_a_checkpoint(tmp_path):
  path = tmp_path / "notes.pth"
  path.write_text("hello")
  with pytest.raises(torch_files.TorchFileError, match="not a torch checkpoint"):
    torch_files.load(path)
  with pytest.raises(FileNotFoundError, match="no such checkpoint file"):
    torch_files.load(tmp_path / "absent.pth")


def test_zip_without_pickle(tmp_path):
  path = tmp_path / "a.zip"
  with zipfile.ZipFile(path, "w") as z:
    z.writestr("x/readme.txt", "no pickle here")
  with pytest.raises(torch_files.TorchFileError, match="data.pkl"):
    torch_files.load(path)


def test_unknown_classes_are_kept_inert(tmp_path):
  # A pickle naming a class this reader does not know (as a Lightning
  # checkpoint's hyper-parameters do) is read as a record, never imported.
  class Marker:  # stands for any foreign class
    def __reduce__(self):
      return (print, ("this must not run",))

  path = tmp_path / "foreign.pth"
  with zipfile.ZipFile(path, "w") as z:
    z.writestr("foreign/data.pkl", pickle.dumps({"hp": Marker(), "step": 3},
                                                protocol=2))
  out = torch_files.load(path)
  assert out["step"] == 3
  assert isinstance(out["hp"], torch_files.Opaque)
  assert out["hp"].name.endswith(".print")
  assert out["hp"].args == ("this must not run",)


@pytest.fixture
def saved(tmp_path):
  torch = pytest.importorskip("torch")
  g = torch.Generator().manual_seed(0)
  state = collections.OrderedDict(
      weight=torch.randn(4, 3, generator=g),
      transposed=torch.randn(3, 5, generator=g).t(),  # non-contiguous
      sliced=torch.randn(10, generator=g)[3:7],  # storage offset
      half=torch.randn(3, generator=g).half(),
      bf16=torch.randn(3, generator=g).bfloat16(),
      long=torch.arange(6).reshape(2, 3),
      flags=torch.tensor([True, False]),
      scalar=torch.tensor(2.5, dtype=torch.float64),
      param=torch.nn.Parameter(torch.randn(2, generator=g)))
  shared = torch.randn(6, generator=g)
  obj = {"state_dict": state, "step": 12, "names": ["a", "b"],
         "views": (shared[:3], shared[3:]),
         "array": np.arange(4.0)}
  path = tmp_path / "ckpt.pth"
  torch.save(obj, path)
  return torch, obj, path


def test_reads_what_torch_saved(saved):
  torch, obj, path = saved
  out = torch_files.load(path)
  for k, v in obj["state_dict"].items():
    want = v.detach().float().numpy() if v.dtype == torch.bfloat16 \
        else v.detach().numpy()
    got = out["state_dict"][k]
    assert got.shape == want.shape and got.dtype == want.dtype, k
    np.testing.assert_array_equal(got, want, err_msg=k)
  assert out["step"] == 12 and out["names"] == ["a", "b"]
  np.testing.assert_array_equal(out["views"][1], obj["views"][1].numpy())
  np.testing.assert_array_equal(out["array"], obj["array"])


def test_truncated_file_is_named(saved, tmp_path):
  _, _, path = saved
  data = path.read_bytes()
  for cut in (len(data) // 3, len(data) - 200):
    bad = tmp_path / f"cut{cut}.pth"
    bad.write_bytes(data[:cut])
    with pytest.raises(torch_files.TorchFileError, match=str(bad.name)):
      torch_files.load(bad)


def test_legacy_format_read_without_torch(tmp_path, monkeypatch):
  # A pre-1.6 file (written here by torch) is read by jaxpose's own
  # interpreter: torch is not imported for it.
  torch = pytest.importorskip("torch")
  g = torch.Generator().manual_seed(0)
  state = collections.OrderedDict(
      w=torch.randn(3, 2, generator=g), t=torch.randn(2, 3, generator=g).t(),
      steps=torch.arange(5)[1:], half=torch.randn(2, generator=g).half())
  path = tmp_path / "legacy.pth"
  torch.save({"state": state, "epoch": 3}, path,
             _use_new_zipfile_serialization=False)
  import sys
  monkeypatch.setitem(sys.modules, "torch", None)  # importing it would fail
  out = torch_files.load(path)
  assert out["epoch"] == 3
  for key, value in state.items():
    np.testing.assert_array_equal(out["state"][key], value.numpy(), key)
    assert out["state"][key].dtype == value.numpy().dtype


def test_legacy_file_cut_short_is_named(tmp_path):
  torch = pytest.importorskip("torch")
  path = tmp_path / "legacy.pth"
  torch.save({"w": torch.ones(64)}, path, _use_new_zipfile_serialization=False)
  data = path.read_bytes()
  for cut in (len(data) - 100, len(data) // 2, 40):
    bad = tmp_path / f"cut{cut}.pth"
    bad.write_bytes(data[:cut])
    with pytest.raises(torch_files.TorchFileError) as err:
      torch_files.load(bad)
    assert bad.name in str(err.value) and "\n" not in str(err.value)


# ---------------------------------------------------------------------------
# Objects of unknown classes, by every opcode that makes one: inert records.


class _Recorder:
  """Stands for any class the reader does not know (never imported there)."""
  calls = []

  def __init__(self, *args, **kwargs):
    _Recorder.calls.append((args, kwargs))


class _ByNewobjEx:
  def __new__(cls, *args, **kwargs):
    obj = super().__new__(cls)
    obj.made = (args, kwargs)
    return obj

  def __getnewargs_ex__(self):
    return (1, 2), {"width": 3}


class _ByReduce:
  def __reduce__(self):
    import os  # pylint: disable=import-outside-toplevel
    return (os.system, ("echo this must never run",))


class _ByBuild:
  def __init__(self):
    self.hidden = 1024

  def __reduce_ex__(self, protocol):
    return (_ByBuild, (), {"hidden": self.hidden})


class _DictLike(dict):  # a Lightning AttributeDict is one
  pass


def _zip_with(tmp_path, obj, protocol):
  path = tmp_path / f"obj{protocol}.pth"
  with zipfile.ZipFile(path, "w") as z:
    z.writestr("archive/data.pkl", pickle.dumps(obj, protocol=protocol))
  return path


@pytest.mark.parametrize("protocol", [2, 4])
def test_config_objects_of_every_opcode_are_inert(tmp_path, protocol):
  import argparse
  import ml_collections
  config = ml_collections.ConfigDict({"model": {"HIDDEN_DIM": 1024},
                                      "lr": 2e-4})
  dict_like = _DictLike(epochs=36)
  dict_like.note = "attribute"
  obj = {"hyper_parameters": {"config": config},
         "args": argparse.Namespace(batch=1280, name="amass"),
         "newobj_ex": _ByNewobjEx(), "reduce": _ByReduce(),
         "build": _ByBuild(), "dict_like": dict_like, "step": 7}
  out = torch_files.load(_zip_with(tmp_path, obj, protocol))
  assert out["step"] == 7
  cfg = out["hyper_parameters"]["config"]
  assert isinstance(cfg, torch_files.Opaque)
  assert cfg.name == "ml_collections.config_dict.config_dict.ConfigDict"
  text = torch_files.describe(out)
  assert text["hyper_parameters"]["config"]["state"]["_fields"]["model"][
      "state"]["_fields"]["HIDDEN_DIM"] == 1024
  assert text["args"] == {"class": "argparse.Namespace",
                          "state": {"batch": 1280, "name": "amass"}}
  assert isinstance(out["newobj_ex"], torch_files.Opaque)
  if protocol == 4:  # NEWOBJ_EX, with keyword arguments
    assert text["newobj_ex"]["class"].endswith("_ByNewobjEx")
    assert text["newobj_ex"]["args"] == [1, 2]
    assert text["newobj_ex"]["kwargs"] == {"width": 3}
  else:  # protocol 2 spells it functools.partial(cls.__new__, ...)
    assert text["newobj_ex"]["class"] == "functools.partial()"
  assert text["reduce"]["class"].endswith(".system")
  assert text["reduce"]["args"] == ["echo this must never run"]
  assert text["build"]["state"] == {"hidden": 1024}
  assert text["dict_like"]["items"] == {"epochs": 36}
  assert text["dict_like"]["state"] == {"note": "attribute"}
  json.dumps(text)  # fit for imported.json


def test_no_code_of_the_file_runs(tmp_path):
  _Recorder.calls.clear()
  out = torch_files.load(_zip_with(tmp_path, {"x": _Recorder(1, k=2)}, 2))
  assert _Recorder.calls == [((1,), {"k": 2})]  # the pickling side's only
  assert isinstance(out["x"], torch_files.Opaque)


# ---------------------------------------------------------------------------
# Tensors that do not fit their storage: refused under their key.


def _tensor(**kw):
  base = dict(key="model.w", storage="0", dtype="float32", numel=16384,
              offset=0, size=(128, 128), stride=(128, 1))
  return {**base, **kw}


BAD_TENSORS = {
    "storage two floats short": (dict(numel=16382), 16382 * 4,
                                 "reach element 16383 of 16382"),
    "huge stride": (dict(stride=(2**28, 1)), 16384 * 4, "reach element"),
    "overflowing stride": (dict(stride=(2**63 - 1, 1)), 16384 * 4,
                           "reach element"),
    "negative stride": (dict(stride=(-128, 1)), 16384 * 4, "negative"),
    "offset past the end": (dict(offset=16384, size=(1,), stride=(1,)),
                            16384 * 4, "reach element 16384"),
    "member shorter than its record": (dict(), 16383 * 4,
                                       "holds 65532 bytes, its record says"),
    "member longer than its record": (dict(), 16385 * 4,
                                      "holds 65540 bytes, its record says"),
    "size and stride of other lengths": (dict(stride=(1,)), 16384 * 4,
                                         "different lengths"),
    "repeated into gigabytes": (dict(size=(2**20, 2**20), stride=(0, 0)),
                                16384 * 4, "repeats its storage"),
}


@pytest.mark.parametrize("case", sorted(BAD_TENSORS))
def test_tensor_outside_its_storage_is_refused_by_key(tmp_path, case):
  from experiments.bench import fuzz_torch_files
  change, member_bytes, message = BAD_TENSORS[case]
  path = tmp_path / "bad.pth"
  fuzz_torch_files.write_torch_zip(
      str(path), [_tensor(**change)], {"0": b"\0" * member_bytes})
  with pytest.raises(torch_files.TorchFileError) as err:
    torch_files.load(path)
  text = str(err.value)
  assert "'model.w'" in text and message in text, text
  assert "\n" not in text and len(text) < 200 + len(str(path)), text


def test_bad_tensor_import_writes_no_workdir(tmp_path):
  import subprocess
  import sys
  from experiments.bench import fuzz_torch_files
  path = tmp_path / "best_model.pth"
  fuzz_torch_files.write_torch_zip(str(path), [_tensor(numel=16382)],
                                   {"0": b"\0" * 16382 * 4})
  workdir = tmp_path / "imported"
  result = subprocess.run(
      [sys.executable, "-m", "experiments.import_weights", "--method=gfpose",
       f"--checkpoint={path}", f"--workdir={workdir}"],
      capture_output=True, text=True, timeout=300,
      env={**__import__("os").environ, "JAXPOSE_DEBUG": ""})
  assert result.returncode == 1
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith("error: ") and "'model.w'" in last, result.stderr
  assert "\x1b" not in result.stderr
  assert not workdir.exists()
  assert [p.name for p in tmp_path.iterdir()] == ["best_model.pth"]


@pytest.mark.slow
def test_fuzzed_files_are_refused_or_read_as_torch_reads_them(tmp_path):
  # A seeded few seconds of the benchmark's fuzzing, every kind, each file
  # read in a worker under the memory and time limits (the long run:
  # python -m experiments.bench.fuzz_torch_files).
  from experiments.bench import fuzz_torch_files
  result = fuzz_torch_files.fuzz(
      1050, seed=1, work=str(tmp_path), workers=1,
      depths=(2, 100, 101, 10**4), bomb_sizes=(80 << 20,))
  for kind, counts in result["counts"].items():
    bad = {o: counts[o] for o in ("crashed", "silent", "hang", "over_limit",
                                  "ran_code")}
    assert not any(bad.values()), (kind, bad, result["problems"])
    assert counts["refused"] > 0, kind
  if result["trusted_reader"].startswith("torch"):
    assert result["counts"]["globals"]["inert"] > 0
  assert result["longest_refusal_chars"] < 200, result["longest_refusal"]


def test_legacy_file_calling_out_is_kept_inert(tmp_path):
  torch = pytest.importorskip("torch")

  class CallsOut:
    def __reduce__(self):
      import os  # pylint: disable=import-outside-toplevel
      return (os.getcwd, ())

  path = tmp_path / "legacy.pth"
  torch.save({"w": CallsOut(), "b": torch.ones(2)}, path,
             _use_new_zipfile_serialization=False)
  out = torch_files.load(path)
  assert isinstance(out["w"], torch_files.Opaque)
  assert out["w"].name.endswith(".getcwd") and out["w"].args == ()
  np.testing.assert_array_equal(out["b"], np.ones(2, np.float32))
