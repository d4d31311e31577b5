"""Reads PyTorch checkpoint files (`torch.save`) without PyTorch.

The authors of GFPose, DPoser and DiffPose release their weights as
`torch.save` files (`.pth`, `.pt`, Lightning `.ckpt`). Since PyTorch 1.6
such a file is a zip archive: `<name>/data.pkl` (a pickle of the saved
object in which every tensor refers to a storage by key) and one raw
little-endian file per storage, `<name>/data/<key>`. This module reads that
layout with a restricted unpickler: tensors come back as numpy arrays,
dicts and lists as themselves, and any other class the pickle names (a
Lightning `AttributeDict`, an optimiser's state, a config object) as an
inert `Opaque` record that keeps its arguments. Nothing in the file is ever
imported or called, so a checkpoint from the internet cannot run code here,
and the importer needs no torch.

Files in the pre-1.6 legacy format (a bare pickle stream) are read with
torch when it is installed (`torch.load(weights_only=True)`); without it
the error says how to re-save them.
"""
from __future__ import annotations

import dataclasses
import os
import pickle
import zipfile
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


@dataclasses.dataclass
class Opaque:
  """An object of a class this reader does not rebuild (kept, not run)."""
  name: str
  args: tuple = ()
  state: Any = None

  def __setstate__(self, state):
    self.state = state


@dataclasses.dataclass(frozen=True)
class _StorageRef:
  key: str
  dtype: Any
  numel: int


def _bfloat16_to_float32(raw: np.ndarray) -> np.ndarray:
  # bfloat16 is the top half of a float32.
  return (raw.astype(np.uint32) << 16).view(np.float32)


def _rebuild_tensor(storage, offset, size, stride, *_unused):
  array, = storage
  size = tuple(int(s) for s in size)
  if not size:
    return np.array(array[offset])
  itemsize = array.dtype.itemsize
  view = np.lib.stride_tricks.as_strided(
      array[offset:], shape=size,
      strides=tuple(int(s) * itemsize for s in stride))
  return np.array(view)  # a copy: owns its memory, C order


def _rebuild_parameter(data, *_unused):
  return data


class _Unpickler(pickle.Unpickler):
  """Rebuilds tensors from the archive's storages; nothing else is called."""

  def __init__(self, file, archive: zipfile.ZipFile, prefix: str,
               byteorder: str, path: str):
    super().__init__(file)
    self._archive, self._prefix = archive, prefix
    self._byteorder, self._path = byteorder, path
    self._storages: dict[str, np.ndarray] = {}

  def find_class(self, module: str, name: str):
    if module == "collections" and name == "OrderedDict":
      import collections
      return collections.OrderedDict
    if module == "torch._utils" and name in ("_rebuild_tensor_v2",
                                             "_rebuild_tensor"):
      return _rebuild_tensor
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
    return lambda *args: Opaque(qualified, args)

  def persistent_load(self, pid):
    if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
      raise TorchFileError(f"{self._path}: unsupported persistent id "
                           f"{pid[:1]!r} (not a torch.save file?)")
    _, dtype, key, _location, numel = pid
    if isinstance(dtype, Opaque):  # a storage class this reader lacks
      raise TorchFileError(f"{self._path}: tensors of storage type "
                           f"{dtype.name} are not supported")
    key = str(key)
    if key not in self._storages:
      name = f"{self._prefix}data/{key}"
      try:
        raw = self._archive.read(name)
      except KeyError:
        raise TorchFileError(f"{self._path}: storage {name!r} missing "
                             "(truncated or damaged file)") from None
      except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise TorchFileError(f"{self._path}: storage {name!r} unreadable "
                             f"({e}); the file is damaged") from None
      if dtype == "bfloat16":
        array = _bfloat16_to_float32(np.frombuffer(raw, dtype="<u2"))
      else:
        dt = np.dtype(dtype).newbyteorder(
            "<" if self._byteorder == "little" else ">")
        array = np.frombuffer(raw, dtype=dt).astype(np.dtype(dtype))
      if array.size < int(numel):
        raise TorchFileError(f"{self._path}: storage {name!r} holds "
                             f"{array.size} numbers, expected {numel} "
                             "(truncated file)")
      self._storages[key] = array
    # A 1-tuple, so _rebuild_tensor can tell it from an array argument.
    return (self._storages[key],)


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
    raise TorchFileError(f"{path}: torch could not read it ({e})") from None
  return _tensors_to_numpy(obj, torch)


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
  except (zipfile.BadZipFile, OSError) as e:
    raise TorchFileError(f"{path}: unreadable zip archive ({e}); the file "
                         "is truncated or damaged") from None
  with archive:
    pickles = [n for n in names if n.endswith("data.pkl")]
    if len(pickles) != 1:
      raise TorchFileError(f"{path}: a zip archive without exactly one "
                           "data.pkl; not a torch.save file")
    prefix = pickles[0][:-len("data.pkl")]
    byteorder = "little"
    if f"{prefix}byteorder" in names:
      byteorder = archive.read(f"{prefix}byteorder").decode().strip()
    try:
      with archive.open(pickles[0]) as f:
        return _Unpickler(f, archive, prefix, byteorder, path).load()
    except TorchFileError:
      raise
    except (pickle.UnpicklingError, EOFError, zipfile.BadZipFile, OSError,
            ValueError, TypeError) as e:
      raise TorchFileError(f"{path}: the pickle inside is damaged "
                           f"({type(e).__name__}: {e})") from None
