"""Hand-written torch.save files, their mutations, and hostile pickles.

The material of `fuzz_torch_files` and of the reader's tests: a small valid
checkpoint written without torch (`base_file`), the mutation kinds that
change it (`mutate`), the code-running gadgets a pickle can name
(`GADGETS`) and the memory and time bombs of `BOMBS`. Nothing here reads a
file; `jaxpose.interop.torch_files` is what is being tested.
"""
from __future__ import annotations

import io
import pickletools
import random
import struct
import zipfile
import zlib
from typing import Callable, Sequence

import numpy as np

# Storage class names of the hand-written files, by numpy dtype.
STORAGE_CLASSES = {"float32": "FloatStorage", "float64": "DoubleStorage",
                   "int64": "LongStorage", "float16": "HalfStorage",
                   "uint8": "ByteStorage"}
MiB = 1 << 20


def unicode(text: str) -> bytes:
  raw = text.encode()
  return b"X" + struct.pack("<I", len(raw)) + raw


def integer(value: int) -> bytes:
  if -2**31 <= value < 2**31:
    return b"J" + struct.pack("<i", value)
  raw = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
  return b"\x8a" + bytes([len(raw)]) + raw


def _ints(values: Sequence[int]) -> bytes:
  return b"(" + b"".join(integer(v) for v in values) + b"t"


def global_op(module: str, name: str) -> bytes:
  return f"c{module}\n{name}\n".encode()


class _Memo:
  """Memoised globals, as torch.save's pickler writes them (BINPUT once,
  BINGET after): the memo indices the 'memo' mutations change."""

  def __init__(self):
    self.index: dict[str, int] = {}

  def get(self, module: str, name: str) -> bytes:
    key = f"{module} {name}"
    if key in self.index:
      return b"h" + bytes([self.index[key]])
    self.index[key] = len(self.index)
    return global_op(module, name) + b"q" + bytes([self.index[key]])


def tensor_pickle(tensors: Sequence[dict]) -> bytes:
  """The data.pkl of an OrderedDict of tensors, as torch.save writes it.

  Each tensor: key, storage (its member's key), dtype (a numpy name of
  STORAGE_CLASSES), numel (the storage's record), offset, size, stride.
  """
  memo = _Memo()
  out = bytearray(b"\x80\x02" + memo.get("collections", "OrderedDict")
                  + b")R(")
  for t in tensors:
    out += unicode(t["key"])
    out += memo.get("torch._utils", "_rebuild_tensor_v2") + b"("
    out += (b"(" + unicode("storage")
            + memo.get("torch", STORAGE_CLASSES[t["dtype"]])
            + unicode(str(t["storage"])) + unicode("cpu")
            + integer(t["numel"]) + b"tQ")
    out += integer(t["offset"]) + _ints(t["size"]) + _ints(t["stride"])
    out += b"\x89" + memo.get("collections", "OrderedDict") + b")RtR"
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
# Hostile pickle fragments: each pushes one value.


def call(module: str, name: str, *args: bytes) -> bytes:
  """REDUCE of the global (module, name) on pickled `args`."""
  return global_op(module, name) + b"(" + b"".join(args) + b"tR"


def gadgets(marker: str) -> dict[str, bytes]:
  """Values that, if the reader resolved or called what they name, would
  run code or change the interpreter: a file at `marker`, a module
  imported, a builtin replaced (checked by the tests and the fuzzer)."""
  touch = f"open({marker!r}, 'w').close()"
  return {
      # Imports run f2py's command line (SystemExit).
      "f2py_main": call("numpy.f2py.__main__", "main"),
      # Runs numpy's PyInstaller smoke test where pytest is installed.
      "pyinstaller_smoke": call("numpy._pyinstaller.tests.pyinstaller-smoke",
                                "test_pyinstaller"),
      # A module's attribute that is the builtins dict, then print := set.
      "numpy_dtypes_builtins": (global_op("numpy.dtypes", "__builtins__")
                                + unicode("print")
                                + global_op("builtins", "set") + b"s"),
      "os_system": call("os", "system", unicode(f"touch {marker}")),
      "posix_system": call("posix", "system", unicode(f"touch {marker}")),
      "builtins_exec": call("builtins", "exec", unicode(touch)),
      "builtins_eval": call("__builtin__", "eval", unicode(touch)),
      "subprocess_popen": call("subprocess", "Popen",
                               b"(" + unicode("touch") + unicode(marker)
                               + b"l"),
      "getattr_chain": (global_op("builtins", "getattr") + b"("
                        + call("builtins", "__import__", unicode("os"))
                        + unicode("system") + b"tR("
                        + unicode(f"touch {marker}") + b"tR"),
      "json_loads": call("json", "loads", unicode("[1]")),
      "numpy_load": call("numpy", "load", unicode(marker)),
      "codecs_rot13": call("_codecs", "encode", unicode("x"),
                           unicode("rot13")),
      "bytearray_of_int": call("builtins", "bytearray", integer(2**40)),
      "numpy_object_dtype": call("numpy", "dtype", unicode("O"), b"\x89",
                                 b"\x88"),
      "newobj_os": global_op("os", "_wrap_close") + b")\x81",
  }


def nested(kind: str, depth: int) -> bytes:
  """A value `depth` containers deep, with opcodes torch's weights_only
  reader also runs (except 'reduce', which it refuses by its global)."""
  if kind == "lists":
    return b"]" * depth + b"a" * (depth - 1)
  if kind == "tuples":
    return b"(" * depth + b"t" * depth
  if kind == "dicts":
    return (b"}" + unicode("k")) * (depth - 1) + b"}" + b"s" * (depth - 1)
  if kind == "reduce":
    # foreign.Thing(foreign.Thing(...())): the global once, then from
    # the memo.
    head = global_op("foreign", "Thing") + b"r\xff\xff\x00\x00"
    return (head + b"j\xff\xff\x00\x00" * (depth - 1) + b")R"
            + b"\x85R" * (depth - 1))
  raise ValueError(kind)


NESTING_KINDS = ("lists", "tuples", "dicts", "reduce")


def with_value(data_pkl: bytes, key: str, value: bytes) -> bytes:
  """`data_pkl` (an OrderedDict's pickle ending in SETITEMS, STOP) with
  `key` -> `value` added among its items."""
  assert data_pkl.endswith(b"u.")
  return data_pkl[:-2] + unicode(key) + value + b"u."


# ---------------------------------------------------------------------------
# Zip members whose sizes lie or inflate.


def deflated_zeros(nbytes: int, level: int = 9) -> tuple[bytes, int]:
  """(raw deflate stream, CRC-32) of `nbytes` zero bytes, made in chunks
  (level 9: about 1000:1; level 1, four times faster: about 200:1)."""
  comp = zlib.compressobj(level, zlib.DEFLATED, -15)
  chunk, crc, parts, left = bytes(MiB), 0, [], nbytes
  while left:
    n = min(left, MiB)
    parts.append(comp.compress(chunk[:n]))
    crc = zlib.crc32(chunk[:n], crc)
    left -= n
  parts.append(comp.flush())
  return b"".join(parts), crc


def zip_bytes(members: Sequence[tuple[str, bytes | tuple[bytes, int, int]]]
              ) -> bytes:
  """A zip of `members`: (name, raw bytes) stored, or (name, (deflate
  stream, crc, inflated size)) already compressed."""
  out, central = io.BytesIO(), []
  for name, content in members:
    if isinstance(content, tuple):
      body, crc, size, method = *content, zipfile.ZIP_DEFLATED
    else:
      body, crc, size, method = content, zlib.crc32(content), len(content), 0
    zip64 = size >= 0xFFFFFFFF
    extra = struct.pack("<HHQQ", 1, 16, size, len(body)) if zip64 else b""
    offset = out.tell()
    sizes = (0xFFFFFFFF, 0xFFFFFFFF) if zip64 else (len(body), size)
    header = struct.pack("<4sHHHHHIII HH", b"PK\x03\x04", 45 if zip64 else
                         20, 0, method, 0, 0, crc, *sizes, len(name),
                         len(extra))
    out.write(header + name.encode() + extra + body)
    central.append((name, crc, sizes, method, offset, extra))
  start = out.tell()
  for name, crc, sizes, method, offset, extra in central:
    out.write(struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 45, 45, 0,
                          method, 0, 0, crc, *sizes, len(name), len(extra), 0,
                          0, 0, 0, offset) + name.encode() + extra)
  end = out.tell()
  count = len(central)
  if count > 0xFFFF:  # the zip64 end record and its locator
    out.write(struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0,
                          count, count, end - start, start))
    out.write(struct.pack("<4sIQI", b"PK\x06\x07", 0, end, 1))
    count = 0xFFFF
  out.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count,
                        end - start, start, 0))
  return out.getvalue()


def with_member_count(raw: bytes, count: int) -> bytes:
  """The zip `raw` whose end record claims `count` (< 2^16) members."""
  at = raw.rfind(b"PK\x05\x06")
  return (raw[:at + 8] + struct.pack("<HH", count & 0xFFFF, count & 0xFFFF)
          + raw[at + 12:])


# ---------------------------------------------------------------------------
# Mutations of the base file.


EDGE_INTS = (0, 1, -1, 2, 3, 7, 12, 13, 255, 2**16, 2**28, 2**31 - 1, 2**31,
             2**40, 2**62, 2**63 - 1, -2**31, -2**63)
MEMO_INDICES = (0, 1, 2, 7, 255, 256, 2**16, 2**28, 2**31 - 1, 2**32 - 1)
NESTING_DEPTHS = (2, 10, 99, 100, 101, 1000, 10**4, 10**5, 10**6)
GLOBAL_NAMES = (
    ("collections", "OrderedDict"), ("collections", "Counter"),
    ("torch._utils", "_rebuild_tensor"), ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_parameter"), ("torch", "LongStorage"),
    ("torch", "HalfStorage"), ("torch", "Size"), ("builtins", "set"),
    ("builtins", "frozenset"), ("builtins", "bytearray"),
    ("builtins", "complex"), ("_codecs", "encode"), ("numpy", "dtype"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy", "ndarray"),
    ("numpy.f2py.__main__", "main"), ("numpy.dtypes", "__builtins__"),
    ("numpy._pyinstaller.tests.pyinstaller-smoke", "x"), ("os", "system"),
    ("builtins", "eval"), ("builtins", "getattr"), ("subprocess", "Popen"),
    ("posix", "system"), ("numpy", "load"), ("numpy.testing", "run_module_suite"),
    ("", "x"), ("collections", ""), ("a" * 300, "b"))


def _ops(data_pkl: bytes):
  ops = list(pickletools.genops(data_pkl))
  ends = [ops[i + 1][2] if i + 1 < len(ops) else len(data_pkl)
          for i in range(len(ops))]
  return ops, ends


def _rewrite_ops(data_pkl: bytes, change: Callable) -> bytes:
  """`data_pkl` with each opcode's bytes replaced by `change(i, op, arg,
  raw)` (None keeps them)."""
  ops, ends = _ops(data_pkl)
  out = bytearray()
  for i, ((op, arg, pos), end) in enumerate(zip(ops, ends)):
    new = change(i, op, arg, data_pkl[pos:end])
    out += data_pkl[pos:end] if new is None else new
  return bytes(out)


def mutate_numbers(data_pkl: bytes, rng: random.Random) -> bytes:
  """One to three of the pickle's integers set to edge or nearby values."""
  ops, _ = _ops(data_pkl)
  ints = [i for i, (op, _, _) in enumerate(ops)
          if op.name in ("BININT", "BININT1", "BININT2", "LONG1")]
  chosen = set(rng.sample(ints, min(len(ints), rng.randint(1, 3))))

  def change(i, op, arg, raw):
    del op, raw
    if i not in chosen:
      return None
    return integer(rng.choice(EDGE_INTS) if rng.random() < 0.7
                   else int(arg) + rng.randint(-3, 3))
  return _rewrite_ops(data_pkl, change)


def mutate_memo(data_pkl: bytes, rng: random.Random) -> bytes:
  """A memo index written or read set to an edge value, or a write to a
  huge index added (a 139-byte file once made the C unpickler allocate
  its memo array up to that index)."""
  if rng.random() < 0.25:
    at = data_pkl.index(b"R") + 1  # after the OrderedDict is made
    index = rng.choice(MEMO_INDICES)
    return data_pkl[:at] + b"r" + struct.pack("<I", index) + data_pkl[at:]
  ops, _ = _ops(data_pkl)
  memo = [i for i, (op, _, _) in enumerate(ops) if op.name in (
      "BINPUT", "BINGET", "LONG_BINPUT", "LONG_BINGET")]
  chosen = rng.choice(memo)

  def change(i, op, arg, raw):
    del arg, raw
    if i != chosen:
      return None
    code = b"r" if "PUT" in op.name else b"j"
    return code + struct.pack("<I", rng.choice(MEMO_INDICES))
  return _rewrite_ops(data_pkl, change)


def mutate_globals(data_pkl: bytes, rng: random.Random, marker: str
                   ) -> bytes:
  """A global renamed (to a gadget, another allowed name, or junk), or a
  gadget value added among the items."""
  if rng.random() < 0.5:
    name, value = rng.choice(sorted(gadgets(marker).items()))
    return with_value(data_pkl, f"gadget_{name}", value)
  ops, _ = _ops(data_pkl)
  chosen = rng.choice([i for i, (op, _, _) in enumerate(ops)
                       if op.name == "GLOBAL"])
  module, name = rng.choice(GLOBAL_NAMES)
  return _rewrite_ops(data_pkl, lambda i, op, arg, raw: global_op(
      module, name) if i == chosen else None)


def mutate_nesting(data_pkl: bytes, rng: random.Random,
                   depths: Sequence[int] = NESTING_DEPTHS) -> bytes:
  """A value of lists, tuples, dicts or foreign-class calls nested to a
  depth around and far past the reader's limit, added among the items."""
  kind, depth = rng.choice(NESTING_KINDS), rng.choice(depths)
  return with_value(data_pkl, f"nested_{kind}_{depth}", nested(kind, depth))


class SizeBombs:
  """Zip members that claim or inflate to far more than the file holds;
  the large deflate streams are made once and reused."""

  def __init__(self, sizes: Sequence[int] = (64 * MiB, 300 * MiB,
                                              1200 * MiB)):
    self.sizes = tuple(sizes)
    self._zeros: dict[int, tuple[bytes, int]] = {}

  def zeros(self, nbytes: int) -> tuple[bytes, int, int]:
    if nbytes not in self._zeros:
      self._zeros[nbytes] = deflated_zeros(nbytes)
    return (*self._zeros[nbytes], nbytes)

  def mutate(self, raw: bytes, rng: random.Random) -> bytes:
    members = [(i.filename, zipfile.ZipFile(io.BytesIO(raw)).read(i))
               for i in zipfile.ZipFile(io.BytesIO(raw)).infolist()]
    what = rng.randrange(4)
    if what == 0:  # a storage inflating to the size its record claims
      nbytes = rng.choice(self.sizes)
      data_pkl = dict(members)["archive/data.pkl"]
      data_pkl = data_pkl.replace(unicode("0") + unicode("cpu") + integer(12),
                                  unicode("0") + unicode("cpu")
                                  + integer(nbytes // 4))
      members = [(n, data_pkl if n.endswith("data.pkl") else
                  self.zeros(nbytes) if n.endswith("data/0") else c)
                 for n, c in members]
      return zip_bytes(members)
    if what == 1:  # a data.pkl inflating far past the pickle limit
      nbytes = rng.choice(self.sizes)
      members = [(n, self.zeros(nbytes) if n.endswith("data.pkl") else c)
                 for n, c in members]
      return zip_bytes(members)
    if what == 2:  # an end record claiming other members than listed
      return with_member_count(raw, rng.choice((0, 7, 65_535)))
    # a member whose recorded sizes exceed the file
    data = bytearray(raw)
    at = data.find(b"PK\x01\x02")
    field = rng.choice((20, 24))  # compressed or uncompressed size
    data[at + field:at + field + 4] = struct.pack(
        "<I", rng.choice((2**31, 2**32 - 2, len(raw) + 1)))
    return bytes(data)


def mutate_bytes(raw: bytes, rng: random.Random) -> bytes:
  """Flips, overwrites, cuts and insertions anywhere in the file."""
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


def rewrite_members(raw: bytes, change) -> bytes:
  """The zip `raw` with `change(name, data)` applied to each member."""
  src = zipfile.ZipFile(io.BytesIO(raw))
  buf = io.BytesIO()
  with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
    for info in src.infolist():
      z.writestr(info.filename, change(info.filename, src.read(info.filename)))
  return buf.getvalue()


def mutate_members(raw: bytes, rng: random.Random) -> bytes:
  """A storage's member cut or extended, with a good CRC."""
  members = [n for n in zipfile.ZipFile(io.BytesIO(raw)).namelist()
             if "/data/" in n]
  target = rng.choice(members)

  def change(name, data):
    if name != target:
      return data
    cut = rng.randint(1, 8)
    return data[:-cut] if rng.random() < 0.5 else data + b"\0" * cut
  return rewrite_members(raw, change)


def on_pickle(raw: bytes, change) -> bytes:
  """The zip `raw` with its data.pkl replaced by `change(data_pkl)`."""
  return rewrite_members(raw, lambda n, d: change(d)
                         if n.endswith("data.pkl") else d)
