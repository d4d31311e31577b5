"""Hostile checkpoints: nothing they name runs, and no file takes more than
the reader's memory allowance or more than linear time.

Each gadget is a value a pickle can hold that, if the reader imported or
called what it names, would run code: f2py's command line, numpy's
PyInstaller smoke test, a builtin replaced through `numpy.dtypes
.__builtins__`, os.system, exec, Popen, a getattr chain. Each bomb is read
in a child process under RLIMIT_AS (its size after importing the reader
plus ALLOWANCE) and a time limit, as the issue's measurements were.
"""
import builtins
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from experiments.bench import torch_file_mutations as mutations
from jaxpose.interop import pickle_vm
from jaxpose.interop import torch_files
from jaxpose.interop import torch_globals

MiB = 1 << 20
ALLOWANCE = 256 * MiB
SECONDS = 60


def _checkpoint(tmp_path, name: str, value: bytes) -> str:
  """A valid base file with `value` added among its items."""
  path = str(tmp_path / f"{name}.pth")
  mutations.base_file(path, np.random.default_rng(0))
  raw = open(path, "rb").read()
  data = mutations.on_pickle(raw, lambda d: mutations.with_value(
      d, name, value))
  with open(path, "wb") as f:
    f.write(data)
  return path


GADGETS = sorted(mutations.gadgets("MARKER"))


@pytest.mark.parametrize("name", GADGETS)
def test_gadgets_run_nothing(tmp_path, name):
  marker = str(tmp_path / "ran")
  path = _checkpoint(tmp_path, name, mutations.gadgets(marker)[name])
  modules, names = set(sys.modules), dict(vars(builtins))
  try:
    out = torch_files.load(path)
  except torch_files.TorchFileError as e:
    out, error = None, str(e)
  imported = sorted(set(sys.modules) - modules)
  assert not imported, imported
  assert not os.path.exists(marker)
  if out is None:
    assert "\n" not in error and path in error
  else:
    value = out[name]
    assert isinstance(value, (pickle_vm.Opaque, pickle_vm.Reference)), value
    np.testing.assert_array_equal(out["steps"], np.arange(6).reshape(2, 3))
  changed = [k for k, v in names.items() if vars(builtins).get(k) is not v]
  assert not changed and set(vars(builtins)) == set(names), changed


def test_a_foreign_reduce_is_a_record_of_the_call(tmp_path):
  path = _checkpoint(tmp_path, "call", mutations.call(
      "json", "loads", mutations.unicode("[1]")))
  out = torch_files.load(path)
  assert out["call"].name == "json.loads" and out["call"].args == ("[1]",)
  assert torch_files.describe(out["call"]) == {"class": "json.loads",
                                               "args": ["[1]"]}


def test_the_allow_list_is_exact_and_calls_only_jaxpose_code():
  # Every entry is one of this reader's own functions (or a marker value),
  # never a module, a class or a library function handed to the pickle.
  for (module, name), entry in torch_globals.ALLOWED.items():
    assert entry.name == f"{module}.{name}"
    for fn in (entry.call, entry.new):
      assert fn is None or fn.__module__ == torch_globals.__name__, entry
  assert torch_globals.find("numpy.dtypes", "__builtins__") is None
  assert torch_globals.find("numpy.f2py.__main__", "main") is None
  assert torch_globals.find("numpy", "load") is None
  assert torch_globals.find("__builtin__", "set") is torch_globals.find(
      "builtins", "set")


def test_bytearray_of_a_number_is_refused_before_allocating(tmp_path):
  path = _checkpoint(tmp_path, "big", mutations.call(
      "builtins", "bytearray", mutations.integer(2**40)))
  with pytest.raises(torch_files.TorchFileError, match="bytearray"):
    torch_files.load(path)


# ---------------------------------------------------------------------------
# Bombs, each in a child process under memory and time limits.

_CHILD = textwrap.dedent("""
    import json, resource, sys, time
    from jaxpose.interop import torch_files
    with open("/proc/self/status") as f:
      size = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize"))
    resource.setrlimit(resource.RLIMIT_AS, (size + int(sys.argv[2]),) * 2)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    try:
      obj = torch_files.load(sys.argv[1])
      out = {"outcome": "loaded", "value": repr(obj)[:80]}
    except torch_files.TorchFileError as e:
      out = {"outcome": "refused", "message": str(e)}
    except MemoryError:
      out = {"outcome": "over the memory limit"}
    out["seconds"] = time.perf_counter() - start
    out["rss_mib"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                      - rss) / 1024
    print(json.dumps(out))
""")


def _read_limited(path: str) -> dict:
  root = os.path.dirname(os.path.dirname(os.path.dirname(
      os.path.abspath(__file__))))
  result = subprocess.run(
      [sys.executable, "-c", _CHILD, path, str(ALLOWANCE)],
      capture_output=True, text=True, timeout=SECONDS, cwd=root,
      env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": root})
  assert result.returncode == 0, result.stderr[-2000:]
  return json.loads(result.stdout.strip().splitlines()[-1])


def _zip(tmp_path, name, data_pkl: bytes, members=()) -> str:
  path = str(tmp_path / f"{name}.pth")
  with open(path, "wb") as f:
    f.write(mutations.zip_bytes([("archive/data.pkl", data_pkl),
                                 *members]))
  return path


def _base_with(tmp_path, name, change) -> str:
  path = str(tmp_path / f"{name}.pth")
  mutations.base_file(path, np.random.default_rng(0))
  raw = open(path, "rb").read()
  with open(path, "wb") as f:
    f.write(change(raw))
  return path


def _bombs(tmp_path) -> dict:
  """name -> (path, expected outcome, words of the refusal)."""
  n5, n6 = 10**5, 10**6
  zeros = mutations.deflated_zeros(1200 * MiB, level=1)
  return {
      # A 139-byte file: a memo index of 2^28 (the C unpickler allocated
      # its memo array up to it).
      "memo index 2^28": (_zip(tmp_path, "memo", b"\x80\x02}r\x00\x00\x00"
                               b"\x10."), "loaded", ""),
      "memo index in a real file": (_base_with(tmp_path, "memo_real", lambda r:
                                    mutations.on_pickle(r, lambda d: d.replace(
                                        b"h\x01", b"j\xff\xff\xff\xff", 1))),
                                    "refused", "never written"),
      "10^5 nested foreign calls": (_checkpoint(
          tmp_path, "calls", mutations.nested("reduce", n5)), "refused",
                                    "nested deeper than 100"),
      "10^6 nested lists": (_checkpoint(
          tmp_path, "lists", mutations.nested("lists", n6)), "refused",
                            "memory limit"),
      "10^6 nested tuples": (_checkpoint(
          tmp_path, "tuples", mutations.nested("tuples", n6)), "refused",
                             "nested deeper than 100"),
      "a storage inflating to 1.2 GB": (_zip(
          tmp_path, "storage", mutations.tensor_pickle([dict(
              key="w", storage="0", dtype="float32", numel=300 * MiB,
              offset=0, size=(300 * MiB,), stride=(1,))]),
          [("archive/data/0", (*zeros, 1200 * MiB))]), "refused", "zip bomb"),
      "a data.pkl inflating to 1.2 GB": (_write(
          tmp_path, "pickle_bomb", mutations.zip_bytes([(
              "archive/data.pkl", (*zeros, 1200 * MiB))])), "refused",
                                         "data.pkl of"),
      "a zip of 100,001 members": (_write(
          tmp_path, "members", mutations.zip_bytes(
              [(f"archive/data/{i}", b"") for i in range(100_001)])),
                                   "refused", "100001 members"),
      "a zip whose end record counts 65,535 members": (_base_with(
          tmp_path, "count", lambda r: mutations.with_member_count(
              r, 65_535)), "refused", "counts 65535 members"),
      # A tuple of 10^4 items as the key of 10^5 SETITEMs: tuples do not
      # cache their hash, so each would rehash it (quadratic time).
      "rehashed big tuple keys": (_checkpoint(
          tmp_path, "keys", b"}(" + b"K\x01" * 10**4 + b"tr\x00\x00\x01\x00"
          + b"0" + (b"j\x00\x00\x01\x00N" + b"s") * n5), "refused",
                                  "holds over 256 items"),
      # 32 MiB of DUP: 8 bytes of stack each.
      "a stack of 32 MiB of DUPs": (_zip(tmp_path, "dups", b"\x80\x02N" + b"2"
                                         * (32 * MiB - 8) + b"."),
                                    "refused", "memory limit"),
      # 300 tensors each repeating a 1 MiB storage into 256 MiB.
      "tensors repeating a shared storage": (_zip(
          tmp_path, "repeats", mutations.tensor_pickle([dict(
              key=f"w{i}", storage="0", dtype="float32", numel=MiB // 4,
              offset=0, size=(64, MiB // 4), stride=(0, 1))
              for i in range(300)]), [("archive/data/0", bytes(MiB))]),
          "refused", "tensors sharing storages would copy"),
  }


def _write(tmp_path, name, data: bytes) -> str:
  path = str(tmp_path / f"{name}.pth")
  with open(path, "wb") as f:
    f.write(data)
  return path


@pytest.mark.slow
def test_bombs_stay_within_memory_and_time_limits(tmp_path):
  failures = []
  for name, (path, outcome, words) in _bombs(tmp_path).items():
    got = _read_limited(path)
    message = got.get("message", "")
    if got["outcome"] != outcome or words not in message or "\n" in message:
      failures.append((name, got))
    elif got["seconds"] > SECONDS / 4:
      failures.append((name, f"took {got['seconds']:.1f} s"))
  assert not failures, failures
