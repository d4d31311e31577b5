"""Reads PyTorch checkpoint files (`torch.save`) without PyTorch.

The authors of GFPose, DPoser and DiffPose release their weights as
`torch.save` files (`.pth`, `.pt`, Lightning `.ckpt`): since PyTorch 1.6 a
zip archive of `<name>/data.pkl` (a pickle of the saved object, each tensor
referring to a storage by key) and one raw file per storage,
`<name>/data/<key>`. This module reads it with a restricted unpickler:
tensors come back as numpy arrays, dicts and lists as themselves, and any
other class the pickle names (a Lightning `AttributeDict`, an optimiser's
state, a `ConfigDict`) as an inert `Opaque` record. Nothing in the file is
ever imported or called, so a checkpoint from the internet cannot run code
here, and the importer needs no torch.

It is the one place where jaxpose reads untrusted bytes, so nothing is
believed: each storage's zip member must hold exactly the bytes its record
says (and pass its CRC), and each tensor's size, stride and offset must stay
inside its storage (`tensor_problem`) before it is viewed; a tensor that
does not is refused under its key (experiments/bench/fuzz_torch_files.py
checks this on mutated files).

Files in the pre-1.6 legacy format (a bare pickle stream) are read with
torch when it is installed (`torch.load(weights_only=True)`); without it
the error says how to re-save them.
"""
from __future__ import annotations

import dataclasses
import io
import math
import os
import pickle
import re
import zipfile
import zlib
from typing import Any

import numpy as np

# torch storage class -> numpy dtype of its elements.
_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64,
    "HalfStorage": np.float16, "BFloat16Storage": "bfloat16",
    "LongStorage": np.int64, "IntStorage": np.int32,
    "ShortStorage": np.int16, "CharStorage": np.int8,
    "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class TorchFileError(ValueError):
  """A file that is not a readable torch checkpoint; the message names it."""


class Opaque:
  """An object of a class this reader does not rebuild (kept, not run).

  The unpickler hands out one subclass per class name (`opaque_class`), so
  every way a pickle makes an object (REDUCE, NEWOBJ, NEWOBJ_EX, BUILD,
  SETITEMS, APPENDS) ends in an inert record: `name` the class's dotted
  name, `args`/`kwargs` what it was called with, `state` what BUILD gave,
  `items` and `list_items` what dict and list subclasses were filled with.
  """
  name = "?"

  def __new__(cls, *args, **kwargs):
    obj = object.__new__(cls)
    obj.args, obj.kwargs = tuple(args), dict(kwargs)
    obj.state, obj.items, obj.list_items = None, {}, []
    return obj

  def __init__(self, *args, **kwargs):
    del args, kwargs  # recorded by __new__

  def __setstate__(self, state):
    self.state = state

  def __setitem__(self, key, value):
    self.items[key] = value

  def append(self, value):
    self.list_items.append(value)

  def extend(self, values):
    self.list_items.extend(values)

  def __call__(self, *args, **kwargs):
    # What calling a record would have made (a pickle may REDUCE with an
    # object it built before, e.g. functools.partial(cls.__new__, cls)).
    return opaque_class(f"{self.name}()")(*args, **kwargs)

  def __repr__(self):
    return f"Opaque({self.name})"


def opaque_class(qualified: str) -> type:
  """A subclass of `Opaque` standing for the class named `qualified`."""
  return type("Opaque", (Opaque,), {"name": qualified,
                                    "__module__": __name__})


def describe(obj, *, depth: int = 0) -> Any:
  """`obj` as JSON-able text and containers (an `Opaque` as its class name
  and what it was made of, an array as its dtype and shape): provenance of
  a file's non-tensor entries (e.g. Lightning hyper-parameters), never run."""
  if depth > 20:
    return "..."
  if isinstance(obj, Opaque):
    out = {"class": obj.name}
    for field in ("args", "kwargs", "state", "items", "list_items"):
      value = getattr(obj, field)
      if value or value == 0:
        out[field] = describe(value, depth=depth + 1)
    return out
  if isinstance(obj, np.ndarray):
    if obj.size <= 16 and obj.dtype.kind in "biuf":
      return obj.tolist()
    return f"array {obj.dtype} {list(obj.shape)}"
  if isinstance(obj, dict):
    return {str(k): describe(v, depth=depth + 1) for k, v in obj.items()}
  if isinstance(obj, (list, tuple, set, frozenset)):
    return [describe(v, depth=depth + 1) for v in obj]
  if obj is None or isinstance(obj, (bool, int, float, str)):
    return obj
  if isinstance(obj, np.generic):
    return obj.item()
  return repr(obj)[:200]


@dataclasses.dataclass(frozen=True)
class _Storage:
  """A storage of the archive: its numbers, or why they cannot be used."""
  name: str
  array: np.ndarray | None
  problem: str = ""


@dataclasses.dataclass(frozen=True)
class _BadTensor:
  """A tensor the file describes wrongly; refused by `load` under its key."""
  problem: str


def _bfloat16_to_float32(raw: np.ndarray) -> np.ndarray:
  # bfloat16 is the top half of a float32.
  return (raw.astype(np.uint32) << 16).view(np.float32)


def _as_ints(values, what: str) -> tuple[int, ...]:
  if not isinstance(values, (tuple, list)) or not all(
      isinstance(v, int) and not isinstance(v, bool) for v in values):
    raise ValueError(f"{what} {values!r} is not a tuple of ints")
  return tuple(values)


# A tensor may repeat its storage's numbers (stride 0) but not blow a small
# file up into more memory than this beyond the storage itself.
MAX_EXPANDED_BYTES = 1 << 28


def tensor_problem(numel_storage: int, itemsize: int, offset, size,
                   stride) -> str:
  """Why a tensor (offset, size, stride) cannot view a storage of
  `numel_storage` numbers of `itemsize` bytes, or "" when it can."""
  try:
    size = _as_ints(size, "size")
    stride = _as_ints(stride, "stride")
    if not isinstance(offset, int) or isinstance(offset, bool):
      raise ValueError(f"offset {offset!r} is not an int")
  except ValueError as e:
    return str(e)
  if len(size) != len(stride):
    return (f"size {_short(size)} and stride {_short(stride)} have "
            "different lengths")
  if offset < 0 or any(s < 0 for s in size) or any(s < 0 for s in stride):
    return (f"negative offset, size or stride (offset {_short(offset)}, "
            f"size {_short(size)}, stride {_short(stride)})")
  numel = math.prod(size)
  if numel == 0:
    return ""
  last = offset + sum((n - 1) * s for n, s in zip(size, stride))
  if last >= numel_storage:
    return (f"size {_short(size)}, stride {_short(stride)}, offset "
            f"{_short(offset)} reach element {_short(last)} of "
            f"{numel_storage}")
  if numel * itemsize > numel_storage * itemsize + MAX_EXPANDED_BYTES:
    return (f"size {_short(size)} repeats its storage of {numel_storage} "
            f"numbers into {_short(numel)} (stride {_short(stride)})")
  return ""


def _short(value, limit: int = 20) -> str:
  text = str(value)
  return text if len(text) <= limit else text[:limit - 3] + "..."


def _rebuild_tensor(storage, offset, size, stride, *_unused):
  if not isinstance(storage, _Storage):
    return _BadTensor(f"built from a {type(storage).__name__}, not a "
                      "storage of the archive")
  if storage.problem:
    return _BadTensor(storage.problem)
  array = storage.array
  problem = tensor_problem(array.size, array.dtype.itemsize, offset, size,
                           stride)
  if problem:
    return _BadTensor(f"{problem} ({storage.name!r})")
  if not size:
    return np.array(array[offset])
  view = np.lib.stride_tricks.as_strided(
      array[offset:], shape=tuple(size),
      strides=tuple(s * array.dtype.itemsize for s in stride))
  return np.array(view)  # a copy: owns its memory, C order


def _rebuild_parameter(data, *_unused):
  return data


def _bad_tensors(obj) -> list[tuple[str, _BadTensor]]:
  """(where, the problem) of every `_BadTensor` inside `obj` (a loop, not
  recursion: a file may nest deeper than Python's stack)."""
  found, seen, stack = [], set(), [(obj, "")]
  while stack:
    node, where = stack.pop()
    if isinstance(node, _BadTensor):
      found.append((where, node))
      continue
    if id(node) in seen:
      continue
    seen.add(id(node))
    if isinstance(node, dict):
      stack += [(v, f"{where}[{str(k)[:40]!r}]") for k, v in node.items()]
    elif isinstance(node, (list, tuple, set, frozenset)):
      stack += [(v, f"{where}[{i}]") for i, v in enumerate(node)]
    elif isinstance(node, Opaque):
      stack += [(part, where) for part in (node.items, node.list_items,
                                           node.state, node.args, node.kwargs)]
  return sorted(found, key=lambda item: item[0])


class _Unpickler(pickle.Unpickler):
  """Rebuilds tensors from the archive's storages; nothing else is called."""

  def __init__(self, file, archive: zipfile.ZipFile, prefix: str,
               byteorder: str, path: str):
    super().__init__(file)
    self._archive, self._prefix = archive, prefix
    self._byteorder, self._path = byteorder, path
    self._storages: dict[str, _Storage] = {}
    self._opaque: dict[str, type] = {}
    self.bad: list[_BadTensor] = []  # every tensor refused, found or not

  def _rebuild_tensor(self, *args):
    tensor = _rebuild_tensor(*args)
    if isinstance(tensor, _BadTensor):
      self.bad.append(tensor)
    return tensor

  def find_class(self, module: str, name: str):
    if module == "collections" and name == "OrderedDict":
      import collections
      return collections.OrderedDict
    if module == "torch._utils" and name in ("_rebuild_tensor_v2",
                                             "_rebuild_tensor"):
      return self._rebuild_tensor
    if module == "torch._utils" and name == "_rebuild_parameter":
      return _rebuild_parameter
    if module == "torch" and name in _STORAGE_DTYPES:
      return _STORAGE_DTYPES[name]
    if module == "_codecs" and name == "encode":
      # How protocol-2 pickles spell bytes (numpy arrays' buffers).
      import codecs
      return codecs.encode
    if module == "builtins" and name in ("set", "frozenset", "slice",
                                         "complex", "bytearray"):
      return getattr(__import__("builtins"), name)
    if module in ("numpy", "numpy.core.multiarray", "numpy._core.multiarray",
                  "numpy.dtypes") or module.startswith("numpy."):
      # numpy arrays and scalars pickled inside a checkpoint (statistics).
      if name in ("_reconstruct", "scalar", "dtype", "ndarray") or (
          module == "numpy.dtypes"):
        return getattr(__import__(module, fromlist=[name]), name)
    qualified = f"{module}.{name}"
    if qualified not in self._opaque:
      self._opaque[qualified] = opaque_class(qualified)
    return self._opaque[qualified]

  def persistent_load(self, pid):
    if not (isinstance(pid, tuple) and len(pid) == 5
            and pid[0] == "storage"):
      raise TorchFileError(f"{self._path}: unsupported persistent id "
                           f"{str(pid)[:40]} (not a torch.save file?)")
    _, dtype, key, _location, numel = pid
    if isinstance(dtype, type) and issubclass(dtype, Opaque):
      raise TorchFileError(f"{self._path}: tensors of storage type "
                           f"{dtype.name} are not supported")
    key = str(key)
    if key not in self._storages:
      self._storages[key] = self._read_storage(key, dtype, numel)
    storage = self._storages[key]
    if storage.array is not None and storage.array.dtype != (
        np.float32 if dtype == "bfloat16" else np.dtype(dtype)):
      return _Storage(storage.name, None, f"storage {storage.name!r} is "
                      "read as two dtypes")
    return storage

  def _read_storage(self, key: str, dtype, numel) -> _Storage:
    name = f"{self._prefix}data/{key}"
    if not any(dtype is d or dtype == d for d in _STORAGE_DTYPES.values()):
      return _Storage(name, None, f"storage {name!r} has no torch dtype")
    itemsize = 2 if dtype == "bfloat16" else np.dtype(dtype).itemsize
    if not isinstance(numel, int) or isinstance(numel, bool) or numel < 0:
      return _Storage(name, None, f"storage {name!r} has size {numel!r}")
    try:
      info = self._archive.getinfo(name)
    except KeyError:
      return _Storage(name, None, f"storage {name!r} missing (truncated or "
                      "damaged file)")
    if info.file_size != numel * itemsize:
      return _Storage(name, None, f"storage {name!r} holds {info.file_size} "
                      f"bytes, its record says {numel} x {itemsize}")
    try:
      raw = self._archive.read(name)  # checks the member's CRC
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error,
            NotImplementedError, RuntimeError) as e:
      return _Storage(name, None, f"storage {name!r} unreadable ({first_line(e, 60)})")
    if len(raw) != numel * itemsize:
      return _Storage(name, None, f"storage {name!r} holds {len(raw)} "
                      f"bytes, its record says {numel} x {itemsize}")
    if dtype == "bfloat16":
      array = _bfloat16_to_float32(np.frombuffer(raw, dtype="<u2"))
    else:
      dt = np.dtype(dtype).newbyteorder(
          "<" if self._byteorder == "little" else ">")
      array = np.frombuffer(raw, dtype=dt).astype(np.dtype(dtype))
    return _Storage(name, array)


def _load_legacy(path: str):
  try:
    import torch  # pylint: disable=import-outside-toplevel
  except ImportError:
    raise TorchFileError(
        f"{path}: a torch file in the legacy (pre-1.6) format, which only "
        "torch reads; install torch (pip install -r requirements-torch.txt) "
        "or re-save it once with torch: torch.save(torch.load(f), f2)"
    ) from None
  try:
    obj = torch.load(path, map_location="cpu", weights_only=True)
  except Exception as e:  # torch raises many types for bad files
    raise TorchFileError(f"{path}: torch refused this legacy-format file "
                         f"({first_line(e)})") from e
  return _tensors_to_numpy(obj, torch)


_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|[\x00-\x08\x0b-\x1f\x7f]")


def first_line(err: BaseException, limit: int = 100) -> str:
  """The first line of `err`'s message, without terminal escape codes, at
  most `limit` characters: what a one-line refusal quotes of a library's
  long error (the whole of it is the chained cause, shown by --debug)."""
  text = _ESCAPES.sub("", str(err)).strip()
  line = next((l.strip() for l in text.splitlines() if l.strip()),
              type(err).__name__)
  return line if len(line) <= limit else line[:limit - 3].rstrip() + "..."


def _tensors_to_numpy(obj, torch):
  if isinstance(obj, torch.Tensor):
    return obj.detach().cpu().float().numpy() if obj.dtype == torch.bfloat16 \
        else obj.detach().cpu().numpy()
  if isinstance(obj, dict):
    return type(obj)((k, _tensors_to_numpy(v, torch)) for k, v in obj.items())
  if isinstance(obj, (list, tuple)):
    return type(obj)(_tensors_to_numpy(v, torch) for v in obj)
  return obj


def load(path: str | os.PathLike) -> Any:
  """The object `torch.save` wrote to `path`, tensors as numpy arrays.

  Raises:
    FileNotFoundError: no such file.
    TorchFileError: a truncated, damaged or foreign file (named).
  """
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path}: no such checkpoint file")
  if not zipfile.is_zipfile(path):
    with open(path, "rb") as f:
      head = f.read(2)
    if head[:1] == b"\x80":  # a pickle protocol opcode
      return _load_legacy(path)
    raise TorchFileError(f"{path}: not a torch checkpoint (neither a "
                         "torch.save zip archive nor a pickle; truncated?)")
  try:
    archive = zipfile.ZipFile(path)
    names = archive.namelist()
  except (zipfile.BadZipFile, OSError, NotImplementedError, ValueError,
          EOFError, zlib.error) as e:
    raise TorchFileError(f"{path}: unreadable zip archive ({first_line(e)}); the file "
                         "is truncated or damaged") from None
  with archive:
    pickles = [n for n in names if n.endswith("data.pkl")]
    if len(pickles) != 1:
      raise TorchFileError(f"{path}: a zip archive without exactly one "
                           "data.pkl; not a torch.save file")
    prefix = pickles[0][:-len("data.pkl")]
    try:
      byteorder = "little"
      if f"{prefix}byteorder" in names:
        byteorder = archive.read(f"{prefix}byteorder").decode().strip()
      if byteorder not in ("little", "big"):
        raise ValueError(f"byteorder {byteorder[:20]!r}")
      # Read whole, so the member's CRC is checked before a byte is used.
      data = archive.read(pickles[0])
      unpickler = _Unpickler(io.BytesIO(data), archive, prefix, byteorder,
                             path)
      obj = unpickler.load()
    except TorchFileError:
      raise
    except (pickle.UnpicklingError, EOFError, zipfile.BadZipFile, OSError,
            ValueError, TypeError, AttributeError, IndexError, KeyError,
            UnicodeError, NotImplementedError, RuntimeError, MemoryError,
            OverflowError, RecursionError, zlib.error) as e:
      raise TorchFileError(f"{path}: the pickle inside is damaged "
                           f"({type(e).__name__}: {first_line(e)})") from None
  bad = _bad_tensors(obj)
  if unpickler.bad and not bad:  # somewhere a walk does not reach
    bad = [("(inside an object)", unpickler.bad[0])]
  if bad:
    where, tensor = bad[0]
    more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
    raise TorchFileError(f"{path}: tensor {where or '(the whole file)'}: "
                         f"{tensor.problem}{more}; damaged file")
  return obj
