"""Fuzzes jaxpose's torch-file reader with mutated valid checkpoints.

  python -m experiments.bench.fuzz_torch_files [--files=20000] [--seed=0]

A checkpoint is the one file from the internet jaxpose reads, so every
mutation of a valid one must end in one of two ways: a `TorchFileError`
(one line, naming the file), or the same objects a trusted reader gets. A
crash (a segfault, any other exception) or an import that differs from the
trusted reader's is a failure. Three kinds of mutation, drawn in turn:

  bytes      flips, overwrites, truncations and insertions anywhere in the
             file (the zip's CRCs and sizes should catch each);
  numbers    the pickle's integers (storage sizes, offsets, sizes,
             strides) replaced by edge values, the zip rewritten with good
             CRCs, so only the reader's own checks stand between the
             numbers and memory;
  members    a storage's zip member cut or extended, with a good CRC.

The trusted reader is `torch.load(weights_only=True)` when torch is
installed (a file jaxpose imports must be one torch imports, equal), else
the unmutated file's objects (for byte mutations only). Writes
experiments/results/fuzz_torch_files.json with the counts.
"""
from __future__ import annotations

import io
import os
import pickletools
import random
import struct
import time
import zipfile
from typing import Any, Sequence

import numpy as np
from absl import app
from absl import flags

from jaxpose import files
from jaxpose.interop import torch_files

# Storage class names of the hand-written files, by numpy dtype.
STORAGE_CLASSES = {"float32": "FloatStorage", "float64": "DoubleStorage",
                   "int64": "LongStorage", "float16": "HalfStorage",
                   "uint8": "ByteStorage"}


def _unicode(text: str) -> bytes:
  raw = text.encode()
  return b"X" + struct.pack("<I", len(raw)) + raw


def _int(value: int) -> bytes:
  if -2**31 <= value < 2**31:
    return b"J" + struct.pack("<i", value)
  raw = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
  return b"\x8a" + bytes([len(raw)]) + raw


def _ints(values: Sequence[int]) -> bytes:
  return b"(" + b"".join(_int(v) for v in values) + b"t"


def tensor_pickle(tensors: Sequence[dict]) -> bytes:
  """The data.pkl of an OrderedDict of tensors, as torch.save writes it.

  Each tensor: key, storage (its member's key), dtype (a numpy name of
  STORAGE_CLASSES), numel (the storage's record), offset, size, stride.
  """
  out = bytearray(b"\x80\x02ccollections\nOrderedDict\n)R(")
  for t in tensors:
    out += _unicode(t["key"])
    out += b"ctorch._utils\n_rebuild_tensor_v2\n("
    out += (b"(" + _unicode("storage") + b"ctorch\n"
            + STORAGE_CLASSES[t["dtype"]].encode() + b"\n"
            + _unicode(str(t["storage"])) + _unicode("cpu")
            + _int(t["numel"]) + b"tQ")
    out += _int(t["offset"]) + _ints(t["size"]) + _ints(t["stride"])
    out += b"\x89ccollections\nOrderedDict\n)RtR"
  out += b"u."
  return bytes(out)


def write_torch_zip(path: str, tensors: Sequence[dict],
                    storages: dict[str, bytes], *, data_pkl: bytes | None = None,
                    name: str = "archive"):
  """A torch.save-layout zip: `tensors` (see `tensor_pickle`) viewing the
  raw little-endian `storages` (member key -> bytes)."""
  with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
    z.writestr(f"{name}/data.pkl", data_pkl if data_pkl is not None
               else tensor_pickle(tensors))
    z.writestr(f"{name}/byteorder", "little")
    for key, raw in storages.items():
      z.writestr(f"{name}/data/{key}", raw)
    z.writestr(f"{name}/version", "3\n")


def base_file(path: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
  """Writes a small valid checkpoint (contiguous, transposed, offset and
  shared-storage tensors of several dtypes); returns what it holds."""
  weight = rng.standard_normal((4, 3)).astype(np.float32)
  shared = rng.standard_normal(10).astype(np.float64)
  steps = np.arange(6, dtype=np.int64)
  tensors = [
      dict(key="weight", storage="0", dtype="float32", numel=12, offset=0,
           size=(4, 3), stride=(3, 1)),
      dict(key="weight_t", storage="0", dtype="float32", numel=12, offset=0,
           size=(3, 4), stride=(1, 3)),
      dict(key="tail", storage="1", dtype="float64", numel=10, offset=6,
           size=(4,), stride=(1,)),
      dict(key="steps", storage="2", dtype="int64", numel=6, offset=0,
           size=(2, 3), stride=(3, 1)),
      dict(key="scalar", storage="1", dtype="float64", numel=10, offset=2,
           size=(), stride=())]
  write_torch_zip(path, tensors, {"0": weight.tobytes(),
                                  "1": shared.tobytes(),
                                  "2": steps.tobytes()})
  return {"weight": weight, "weight_t": weight.T, "tail": shared[6:],
          "steps": steps.reshape(2, 3), "scalar": np.array(shared[2])}


# ---------------------------------------------------------------------------
# Mutations


EDGE_INTS = (0, 1, -1, 2, 3, 7, 12, 13, 255, 2**16, 2**28, 2**31 - 1, 2**31,
             2**40, 2**62, 2**63 - 1, -2**31, -2**63)


def mutate_numbers(data_pkl: bytes, rng: random.Random) -> bytes:
  """`data_pkl` with one to three of its integer opcodes set to edge or
  nearby values (re-encoded, so the stream stays a valid pickle)."""
  ops = list(pickletools.genops(data_pkl))
  ints = [i for i, (op, arg, _) in enumerate(ops)
          if op.name in ("BININT", "BININT1", "BININT2", "LONG1")]
  chosen = set(rng.sample(ints, min(len(ints), rng.randint(1, 3))))
  out = bytearray()
  for i, (op, arg, pos) in enumerate(ops):
    end = ops[i + 1][2] if i + 1 < len(ops) else len(data_pkl)
    if i in chosen:
      value = rng.choice(EDGE_INTS) if rng.random() < 0.7 else (
          int(arg) + rng.randint(-3, 3))
      out += _int(value)
    else:
      out += data_pkl[pos:end]
  return bytes(out)


def _rewrite(raw: bytes, change) -> bytes:
  """The zip `raw` with `change(name, data)` applied to each member."""
  src = zipfile.ZipFile(io.BytesIO(raw))
  buf = io.BytesIO()
  with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
    for info in src.infolist():
      z.writestr(info.filename, change(info.filename, src.read(info.filename)))
  return buf.getvalue()


def mutate(raw: bytes, kind: str, rng: random.Random) -> bytes:
  if kind == "bytes":
    data = bytearray(raw)
    what = rng.randrange(4)
    at = rng.randrange(len(data))
    if what == 0:
      data[at] ^= 1 << rng.randrange(8)
    elif what == 1:
      data[at:at + 4] = bytes(rng.randrange(256) for _ in range(4))
    elif what == 2:
      del data[at:]
    else:
      data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 9)))
    return bytes(data)
  if kind == "numbers":
    return _rewrite(raw, lambda n, d: mutate_numbers(d, rng)
                    if n.endswith("data.pkl") else d)
  members = [n for n in zipfile.ZipFile(io.BytesIO(raw)).namelist()
             if "/data/" in n]
  target = rng.choice(members)

  def change(name, data):
    if name != target:
      return data
    cut = rng.randint(1, 8)
    return data[:-cut] if rng.random() < 0.5 else data + b"\0" * cut
  return _rewrite(raw, change)


# ---------------------------------------------------------------------------
# Judging


def _equal(a, b) -> bool:
  if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(
        a, b, equal_nan=a.dtype.kind == "f")
  if isinstance(a, dict) and isinstance(b, dict):
    return list(a) == list(b) and all(_equal(a[k], b[k]) for k in a)
  if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
    return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
  return a == b


def _torch_reference(path: str):
  """(loaded, objects as numpy) by torch.load(weights_only=True)."""
  import torch  # pylint: disable=import-outside-toplevel
  try:
    obj = torch.load(path, map_location="cpu", weights_only=True)
  except Exception:  # pylint: disable=broad-except
    return False, None
  return True, torch_files._tensors_to_numpy(obj, torch)  # pylint: disable=protected-access


def fuzz(num_files: int, seed: int, work: str, *, use_torch: bool | None = None
         ) -> dict[str, Any]:
  """Reads `num_files` mutated checkpoints; returns the counts by outcome.

  Outcomes: refused (TorchFileError, one line), same (loaded, equal to the
  trusted reader's), crashed (any other exception; listed), silent (loaded
  where the trusted reader refuses, or loaded different; listed).
  """
  if use_torch is None:
    try:
      import torch  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
      use_torch = True
    except ImportError:
      use_torch = False
  rng = random.Random(seed)
  path = os.path.join(work, "base.pth")
  original = base_file(path, np.random.default_rng(seed))
  with open(path, "rb") as f:
    raw = f.read()
  kinds = ("bytes", "numbers", "members") if use_torch else ("bytes",)
  counts = {k: {"refused": 0, "same": 0, "crashed": 0, "silent": 0}
            for k in kinds}
  problems, longest, longest_message = [], 0, ""
  mutated = os.path.join(work, "mutated.pth")
  for i in range(num_files):
    kind = kinds[i % len(kinds)]
    data = mutate(raw, kind, rng)
    with open(mutated, "wb") as f:
      f.write(data)
    try:
      got = torch_files.load(mutated)
    except torch_files.TorchFileError as e:
      message = str(e).replace(mutated, "FILE")  # the wording, not the path
      if len(message) > longest:
        longest, longest_message = len(message), message
      outcome = "refused" if "\n" not in message else "crashed"
    except Exception as e:  # pylint: disable=broad-except
      outcome = "crashed"
      problems.append(f"{kind} #{i}: {type(e).__name__}: {str(e)[:120]}")
    else:
      # A byte mutation must be caught or change nothing (it may land in a
      # member this reader does not read, such as the version record).
      if use_torch and kind != "bytes":
        loaded, want = _torch_reference(mutated)
      else:
        loaded, want = True, original
      outcome = "same" if loaded and _equal(dict(got), dict(want)) \
          else "silent"
      if outcome == "silent":
        problems.append(f"{kind} #{i}: loaded where the trusted reader "
                        + ("refused" if not loaded else "differs"))
    counts[kind][outcome] += 1
  return {"files": num_files, "seed": seed, "trusted_reader":
          "torch.load(weights_only=True)" if use_torch else
          "the unmutated file's objects", "counts": counts,
          "longest_refusal_chars": longest,
          "longest_refusal": longest_message, "problems": problems[:20]}


_FILES = flags.DEFINE_integer("files", 20000, "Mutated files to read.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the mutations.")


def main(argv):
  del argv
  import tempfile  # pylint: disable=import-outside-toplevel
  start = time.perf_counter()
  with tempfile.TemporaryDirectory() as work:
    result = fuzz(_FILES.value, _SEED.value, work)
  result["seconds"] = round(time.perf_counter() - start, 1)
  out = os.path.join(os.path.dirname(os.path.dirname(__file__)), "results",
                     "fuzz_torch_files.json")
  files.write_json_atomic(out, result)
  print(result)
  print(f"wrote {out}")


if __name__ == "__main__":
  app.run(main)
