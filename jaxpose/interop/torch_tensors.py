"""Tensors of a torch checkpoint as numpy arrays, each checked against its
storage before it is viewed.

`TensorHooks` is what both torch file layouts (`torch_files`: the zip and
the legacy stream) share: the allow-listed globals (`torch_globals`), and
`tensor`, torch._utils._rebuild_tensor's counterpart, which refuses a
tensor whose size, stride or offset leave its storage (`tensor_problem`)
and caps the bytes copied out of shared storages. A refused tensor is a
`BadTensor` record, found and reported by key once the file is read.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from jaxpose.interop import pickle_vm
from jaxpose.interop import torch_globals

MiB = pickle_vm.MiB
# Tensor copies (views of a shared storage) beyond the storages' own bytes.
EXTRA_TENSOR_BYTES = 64 * MiB
# A tensor may repeat its storage's numbers (stride 0) but not blow a small
# file up into more memory than this beyond the storage itself.
MAX_EXPANDED_BYTES = 1 << 28


@dataclasses.dataclass
class Storage:
  """A storage of the file: its numbers, or why they cannot be used."""
  name: str
  array: np.ndarray | None
  problem: str = ""
  viewed_whole: bool = False  # its buffer already given to one tensor


@dataclasses.dataclass(frozen=True)
class BadTensor:
  """A tensor the file describes wrongly; refused by `load` under its key."""
  problem: str


def _bfloat16_to_float32(raw: np.ndarray) -> np.ndarray:
  # bfloat16 is the top half of a float32.
  return (raw.astype(np.uint32) << 16).view(np.float32)


def short(value, limit: int = 20) -> str:
  text = str(value)
  return text if len(text) <= limit else text[:limit - 3] + "..."


def tensor_problem(numel_storage: int, itemsize: int, offset, size,
                   stride) -> str:
  """Why a tensor (offset, size, stride) cannot view a storage of
  `numel_storage` numbers of `itemsize` bytes, or "" when it can."""
  try:
    size = torch_globals.ints(size, "size")
    stride = torch_globals.ints(stride, "stride")
    if not isinstance(offset, int) or isinstance(offset, bool):
      raise ValueError(f"offset {offset!r} is not an int")
  except ValueError as e:
    return str(e)
  if len(size) != len(stride):
    return (f"size {short(size)} and stride {short(stride)} have "
            "different lengths")
  if offset < 0 or any(s < 0 for s in size) or any(s < 0 for s in stride):
    return (f"negative offset, size or stride (offset {short(offset)}, "
            f"size {short(size)}, stride {short(stride)})")
  numel = math.prod(size)
  if numel == 0:
    return ""
  last = offset + sum((n - 1) * s for n, s in zip(size, stride))
  if last >= numel_storage:
    return (f"size {short(size)}, stride {short(stride)}, offset "
            f"{short(offset)} reach element {short(last)} of "
            f"{numel_storage}")
  if numel * itemsize > numel_storage * itemsize + MAX_EXPANDED_BYTES:
    return (f"size {short(size)} repeats its storage of {numel_storage} "
            f"numbers into {short(numel)} (stride {short(stride)})")
  return ""


def _contiguous(size: tuple[int, ...], stride: tuple[int, ...]) -> bool:
  expected = 1
  for n, s in zip(reversed(size), reversed(stride)):
    if n != 1 and s != expected:
      return False
    expected *= n
  return True


class TensorHooks(pickle_vm.Hooks):
  """What a torch pickle may name and how its tensors are made."""

  def __init__(self):
    self.storages: dict[str, Storage] = {}
    self.bad: list[BadTensor] = []  # every tensor refused, found or not
    self.storage_bytes = 0
    self.copied_bytes = 0

  def find(self, module, name):
    return torch_globals.find(module, name)

  def build(self, vm, obj, state):
    return torch_globals.build(vm, obj, state)

  def is_tensor(self, obj) -> bool:
    return isinstance(obj, (np.ndarray, BadTensor))

  def _bad(self, problem: str) -> BadTensor:
    tensor = BadTensor(problem)
    self.bad.append(tensor)
    return tensor

  def storage_dtype(self, storage_type):
    if not (isinstance(storage_type, torch_globals.Global) and any(
        storage_type.value is d for d in torch_globals.STORAGE_DTYPES.values())):
      raise pickle_vm.PickleRefused(
          "tensors of storage type "
          f"{getattr(storage_type, 'name', type(storage_type).__name__)} "
          "are not supported")
    return storage_type.value

  def tensor(self, vm, storage, offset, size, stride):
    """torch._utils._rebuild_tensor: a numpy array viewing `storage`."""
    if not isinstance(storage, Storage):
      return self._bad(f"built from a {type(storage).__name__}, not a "
                       "storage of the file")
    if storage.problem:
      return self._bad(storage.problem)
    array = storage.array
    problem = tensor_problem(array.size, array.dtype.itemsize, offset, size,
                             stride)
    if problem:
      return self._bad(f"{problem} ({storage.name!r})")
    size, stride = tuple(size), tuple(stride)
    if math.prod(size) == 0:
      try:
        return np.zeros(size, array.dtype)
      except ValueError:  # numpy's own limit on a shape's extent
        return self._bad(f"size {short(size)} is too large ({storage.name!r})")
    if (offset == 0 and math.prod(size) == array.size and not
        storage.viewed_whole and _contiguous(size, stride)):
      storage.viewed_whole = True  # the storage's own buffer: no copy
      return array.reshape(size)
    nbytes = math.prod(size) * array.dtype.itemsize
    self.copied_bytes += nbytes
    if self.copied_bytes > self.storage_bytes + EXTRA_TENSOR_BYTES:
      raise pickle_vm.PickleRefused(
          f"tensors sharing storages would copy {self.copied_bytes} bytes, "
          f"more than the file's {self.storage_bytes} storage bytes + "
          f"{EXTRA_TENSOR_BYTES // MiB} MiB")
    if not size:
      return np.array(array[offset])
    view = np.lib.stride_tricks.as_strided(
        array[offset:], shape=size,
        strides=tuple(s * array.dtype.itemsize for s in stride))
    return np.array(view)  # a copy: owns its memory, C order

  def add_storage(self, key: str, storage: Storage) -> Storage:
    self.storages[key] = storage
    if storage.array is not None:
      self.storage_bytes += storage.array.nbytes
    return storage


def itemsize(dtype) -> int:
  return 2 if dtype == "bfloat16" else np.dtype(dtype).itemsize


def as_array(raw, dtype, byteorder: str) -> np.ndarray:
  """The numbers of a storage's bytes (`raw`: a writable buffer)."""
  if dtype == "bfloat16":
    return _bfloat16_to_float32(np.frombuffer(raw, dtype="<u2"))
  native = np.dtype(dtype)
  stored = native.newbyteorder("<" if byteorder == "little" else ">")
  array = np.frombuffer(raw, dtype=stored)
  return array if stored == native or native.itemsize == 1 else (
      array.astype(native))
