"""Reads PyTorch checkpoint files (`torch.save`) without PyTorch.

The authors of GFPose, DPoser and DiffPose release their weights as
`torch.save` files (`.pth`, `.pt`, Lightning `.ckpt`): since PyTorch 1.6 a
zip archive of `<name>/data.pkl` (a pickle of the saved object, each tensor
referring to a storage by key) and one raw file per storage,
`<name>/data/<key>`; before it, one stream of pickles followed by the raw
storages (the legacy format). Both are read here, by jaxpose's own pickle
interpreter (`pickle_vm`): tensors come back as numpy arrays, dicts and
lists as themselves, and any class off the allow-list (`torch_globals`: the
exact globals a checkpoint needs, each a function of jaxpose's that checks
its arguments) as an inert `Opaque` record. Nothing is imported or called
by name from the file, so a checkpoint from the internet cannot run code.

It is the one place where jaxpose reads untrusted bytes, so nothing is
believed, and nothing is allocated before it is checked:
- the pickle is at most `pickle_vm.Limits.max_bytes`, builds at most
  `max_memory` of objects, nests at most `max_depth`, in linear time;
- a zip holds at most MAX_MEMBERS members, each member's sizes fit in the
  file and inflate at most MAX_COMPRESSION times (torch stores them
  uncompressed), and each storage's member holds exactly the bytes its
  record says (and passes its CRC);
- each tensor's size, stride and offset stay inside its storage
  (`tensor_problem`), and copies of tensors sharing a storage take at most
  the file's storage bytes plus EXTRA_TENSOR_BYTES.
So reading takes at most about twice the storages' bytes plus a fixed
256 MiB. A refusal is a `TorchFileError` of one line naming the file (and
the tensor's key where one is at fault); experiments/bench/
fuzz_torch_files.py checks all of it on mutated files.
"""
from __future__ import annotations

import mmap
import os
import re
import struct
import zipfile
import zlib
from typing import Any

import numpy as np

from jaxpose.interop import pickle_vm
from jaxpose.interop import pickle_opcodes
from jaxpose.interop import torch_tensors

MiB = pickle_vm.MiB
Opaque = pickle_vm.Opaque
Reference = pickle_vm.Reference
describe = pickle_vm.describe
LIMITS = pickle_vm.Limits()
# Members of a zip: a state dict of thousands of tensors has thousands.
MAX_MEMBERS = 100_000
# How much a member may inflate (torch.save stores them uncompressed).
MAX_COMPRESSION = 64
EXTRA_TENSOR_BYTES = torch_tensors.EXTRA_TENSOR_BYTES
MAX_EXPANDED_BYTES = torch_tensors.MAX_EXPANDED_BYTES
tensor_problem = torch_tensors.tensor_problem
# The first pickle of a legacy (pre-1.6) torch.save file.
LEGACY_MAGIC = 0x1950a86a20f9469cfc6c
_CHUNK = 4 * MiB


class TorchFileError(ValueError):
  """A file that is not a readable torch checkpoint; the message names it."""


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo,
                 file_bytes: int) -> bytearray:
  """A member's bytes, its sizes checked before anything is allocated and
  its CRC when the last byte is read."""
  if info.compress_size > file_bytes:
    raise ValueError(f"{info.compress_size} stored bytes in a file of "
                     f"{file_bytes}")
  if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
    raise ValueError(f"compression method {info.compress_type} (torch "
                     "stores members; deflate is read too)")
  if info.compress_type == zipfile.ZIP_STORED:
    if info.compress_size != info.file_size:
      raise ValueError(f"{info.file_size} bytes stored in "
                       f"{info.compress_size}")
  elif info.file_size > MAX_COMPRESSION * max(info.compress_size, 1):
    raise ValueError(f"{info.compress_size} bytes inflate to "
                     f"{info.file_size} (over {MAX_COMPRESSION}x: a zip bomb?)")
  out = bytearray(info.file_size)
  view = memoryview(out)
  filled = 0
  with archive.open(info) as f:
    while filled < len(out):
      chunk = f.read(min(_CHUNK, len(out) - filled))
      if not chunk:
        break
      view[filled:filled + len(chunk)] = chunk
      filled += len(chunk)
    if filled != len(out) or f.read(1):
      raise ValueError(f"holds other than its recorded {info.file_size} bytes")
  return out


_ZIP_ERRORS = (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error,
               NotImplementedError, RuntimeError, KeyError)


class _ZipHooks(torch_tensors.TensorHooks):
  """Storages from the members `<prefix>data/<key>` of a torch.save zip."""

  def __init__(self, archive, prefix: str, byteorder: str, file_bytes: int):
    super().__init__()
    self._archive, self._prefix = archive, prefix
    self._byteorder, self._file_bytes = byteorder, file_bytes

  def persistent(self, vm, pid):
    if not (isinstance(pid, tuple) and len(pid) == 5
            and pid[0] == "storage"):
      raise pickle_vm.PickleRefused(f"unsupported persistent id "
                                    f"{torch_tensors.short(pid, 40)} (not a torch.save "
                                    "file?)")
    _, storage_type, key, _location, numel = pid
    dtype = self.storage_dtype(storage_type)
    key = str(key)
    if key not in self.storages:
      self.add_storage(key, self._read(key, dtype, numel))
    storage = self.storages[key]
    if storage.array is not None and storage.array.dtype != (
        np.float32 if dtype == "bfloat16" else np.dtype(dtype)):
      return torch_tensors.Storage(storage.name, None, f"storage {storage.name!r} is "
                      "read as two dtypes")
    return storage

  def _read(self, key: str, dtype, numel) -> torch_tensors.Storage:
    name = f"{self._prefix}data/{key}"
    itemsize = torch_tensors.itemsize(dtype)
    if not isinstance(numel, int) or isinstance(numel, bool) or numel < 0:
      return torch_tensors.Storage(name, None, f"storage {name!r} has size {numel!r}")
    try:
      info = self._archive.getinfo(name)
    except KeyError:
      return torch_tensors.Storage(name, None, f"storage {name!r} missing (truncated or "
                      "damaged file)")
    if info.file_size != numel * itemsize:
      return torch_tensors.Storage(name, None, f"storage {name!r} holds {info.file_size} "
                      f"bytes, its record says {numel} x {itemsize}")
    try:
      raw = _read_member(self._archive, info, self._file_bytes)
    except _ZIP_ERRORS as e:
      return torch_tensors.Storage(name, None, f"storage {name!r} unreadable "
                      f"({first_line(e, 60)})")
    return torch_tensors.Storage(name, torch_tensors.as_array(raw, dtype, self._byteorder))


class _LegacyHooks(torch_tensors.TensorHooks):
  """Storages of a legacy file: recorded on a first pass over its pickle
  (`arrays` None), handed out on the second."""

  def __init__(self, arrays: dict[str, np.ndarray] | None):
    super().__init__()
    self.arrays = arrays
    self.declared: dict[str, tuple[Any, int]] = {}

  def persistent(self, vm, pid):
    if not (isinstance(pid, tuple) and len(pid) == 6
            and pid[0] == "storage"):
      raise pickle_vm.PickleRefused(f"unsupported persistent id "
                                    f"{torch_tensors.short(pid, 40)} in a legacy file")
    _, storage_type, key, _location, numel, view = pid
    dtype = self.storage_dtype(storage_type)
    if view is not None:
      raise pickle_vm.PickleRefused("storage views (a file of torch < 0.4) "
                                    "are not supported")
    if not isinstance(numel, int) or isinstance(numel, bool) or numel < 0:
      raise pickle_vm.PickleRefused(f"storage {str(key)[:20]!r} has size "
                                    f"{torch_tensors.short(numel)}")
    key = str(key)
    if self.declared.setdefault(key, (dtype, numel)) != (dtype, numel):
      return torch_tensors.Storage(key, None, f"storage {key!r} is declared twice "
                      "differently")
    if self.arrays is None:
      return torch_tensors.Storage(key, np.zeros(0, np.uint8))  # first pass: a stand-in
    if key not in self.storages:
      self.add_storage(key, torch_tensors.Storage(key, self.arrays[key]))
    return self.storages[key]

  def tensor(self, vm, storage, offset, size, stride):
    if self.arrays is None:
      return np.zeros(0)
    return super().tensor(vm, storage, offset, size, stride)


_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|[\x00-\x08\x0b-\x1f\x7f]")


def first_line(err: BaseException, limit: int = 100) -> str:
  """The first line of `err`'s message, without terminal escape codes, at
  most `limit` characters: what a one-line refusal quotes of a library's
  long error (the whole of it is the chained cause, shown by --debug)."""
  text = _ESCAPES.sub("", str(err)).strip()
  line = next((l.strip() for l in text.splitlines() if l.strip()),
              type(err).__name__)
  return line if len(line) <= limit else line[:limit - 3].rstrip() + "..."


def _run(data, hooks: pickle_vm.Hooks, path: str, start: int = 0
         ) -> tuple[Any, int]:
  """(object, end) of the pickle at `start` of `data`; refusals named."""
  try:
    return pickle_opcodes.load(data, hooks, LIMITS, start=start)
  except pickle_vm.PickleRefused as e:
    raise TorchFileError(f"{path}: {first_line(e, 160)}; not read "
                         "(a damaged or hostile file)") from None


def _legacy_storages(view: memoryview, pos: int, keys, declared, path: str
                     ) -> dict[str, np.ndarray]:
  """The raw storages after a legacy file's pickles, in `keys`' order."""
  if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
    raise TorchFileError(f"{path}: its storage keys are not a list of "
                         "names; damaged file")
  arrays = {}
  for key in keys:
    if key not in declared or key in arrays:
      raise TorchFileError(f"{path}: storage {key[:20]!r} listed but not "
                           "declared, or twice; damaged file")
    dtype, numel = declared[key]
    nbytes = numel * torch_tensors.itemsize(dtype)
    if pos + 8 + nbytes > len(view):
      raise TorchFileError(f"{path}: storage {key[:20]!r} runs past the end "
                           "of the file; truncated")
    (count,) = struct.unpack("<q", view[pos:pos + 8])
    if count != numel:
      raise TorchFileError(f"{path}: storage {key[:20]!r} holds {count} "
                           f"numbers, its record says {numel}; damaged file")
    raw = bytearray(view[pos + 8:pos + 8 + nbytes])
    arrays[key] = torch_tensors.as_array(raw, dtype, "little")
    pos += 8 + nbytes
  missing = sorted(set(declared) - set(arrays))
  if missing:
    raise TorchFileError(f"{path}: storage {missing[0][:20]!r} has no data; "
                         "truncated or damaged file")
  return arrays


def _load_legacy(path: str):
  with open(path, "rb") as f:
    mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
  view = memoryview(mapped)
  try:
    plain = torch_tensors.TensorHooks()
    magic, pos = _run(mapped, plain, path)
    if magic != LEGACY_MAGIC:
      raise TorchFileError(f"{path}: a pickle, not a torch.save file (no "
                           "legacy magic number)")
    version, pos = _run(mapped, plain, path, pos)
    info, pos = _run(mapped, plain, path, pos)
    if version != 1001 or not isinstance(info, dict) or info.get(
        "little_endian") is not True:
      raise TorchFileError(f"{path}: a legacy torch file of version "
                           f"{torch_tensors.short(version)} or big-endian; re-save it "
                           "with torch")
    first = _LegacyHooks(None)
    _, after = _run(mapped, first, path, pos)
    keys, data_at = _run(mapped, plain, path, after)
    arrays = _legacy_storages(view, data_at, keys, first.declared, path)
    second = _LegacyHooks(arrays)
    obj, _ = _run(mapped, second, path, pos)
    return obj, second.bad
  finally:
    view.release()
    mapped.close()


def _zip_members(path: str) -> int | None:
  """The member count the zip's end record claims (refused past
  MAX_MEMBERS before zipfile builds a record of each), or None."""
  with open(path, "rb") as f:
    record = zipfile._EndRecData(f)  # pylint: disable=protected-access
  if not record:
    return None
  count = record[zipfile._ECD_ENTRIES_TOTAL]  # pylint: disable=protected-access
  if count > MAX_MEMBERS:
    raise TorchFileError(f"{path}: a zip of {count} members (at most "
                         f"{MAX_MEMBERS}); not a checkpoint")
  return count


def _load_zip(path: str):
  count = _zip_members(path)
  file_bytes = os.path.getsize(path)
  try:
    archive = zipfile.ZipFile(path)
    names = archive.namelist()
    if count is not None and count != len(names):
      raise ValueError(f"its end record counts {count} members, its "
                       f"directory lists {len(names)}")
  except _ZIP_ERRORS as e:
    raise TorchFileError(f"{path}: unreadable zip archive ({first_line(e)}); "
                         "the file is truncated or damaged") from None
  with archive:
    pickles = [n for n in names if n.endswith("data.pkl")]
    if len(pickles) != 1:
      raise TorchFileError(f"{path}: a zip archive without exactly one "
                           "data.pkl; not a torch.save file")
    prefix = pickles[0][:-len("data.pkl")]
    try:
      byteorder = "little"
      if f"{prefix}byteorder" in names:
        info = archive.getinfo(f"{prefix}byteorder")
        if info.file_size > 16:
          raise ValueError(f"a byteorder record of {info.file_size} bytes")
        byteorder = bytes(_read_member(archive, info, file_bytes)).decode(
            "ascii").strip()
      if byteorder not in ("little", "big"):
        raise ValueError(f"byteorder {byteorder[:20]!r}")
      info = archive.getinfo(pickles[0])
      if info.file_size > LIMITS.max_bytes:
        raise ValueError(f"a data.pkl of {info.file_size} bytes (at most "
                         f"{LIMITS.max_bytes // MiB} MiB)")
      data = _read_member(archive, info, file_bytes)
    except _ZIP_ERRORS + (UnicodeError,) as e:
      raise TorchFileError(f"{path}: the pickle inside is damaged "
                           f"({type(e).__name__}: {first_line(e)})") from None
    hooks = _ZipHooks(archive, prefix, byteorder, file_bytes)
    obj, _ = _run(data, hooks, path)
  return obj, hooks.bad


def _bad_tensors(obj) -> list[tuple[str, torch_tensors.BadTensor]]:
  """(where, the problem) of every `torch_tensors.BadTensor` inside `obj` (a loop, not
  recursion; `pickle_vm` has bounded the nesting, so the paths are short)."""
  found, seen, stack = [], set(), [(obj, "")]
  while stack:
    node, where = stack.pop()
    if isinstance(node, torch_tensors.BadTensor):
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


def load(path: str | os.PathLike) -> Any:
  """The object `torch.save` wrote to `path`, tensors as numpy arrays.

  Raises:
    FileNotFoundError: no such file.
    TorchFileError: a truncated, damaged, foreign or over-large file
      (named), or one that breaks a limit of the module docstring.
  """
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path}: no such checkpoint file")
  if zipfile.is_zipfile(path):
    obj, refused = _load_zip(path)
  else:
    with open(path, "rb") as f:
      head = f.read(2)
    if head[:1] != b"\x80":  # a pickle's PROTO opcode
      raise TorchFileError(f"{path}: not a torch checkpoint (neither a "
                           "torch.save zip archive nor a pickle; truncated?)")
    obj, refused = _load_legacy(path)
  bad = _bad_tensors(obj)
  if refused and not bad:  # somewhere a walk does not reach
    bad = [("(inside an object)", refused[0])]
  if bad:
    where, tensor = bad[0]
    more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
    raise TorchFileError(f"{path}: tensor {where or '(the whole file)'}: "
                         f"{tensor.problem}{more}; damaged file")
  return obj
