"""The globals a torch checkpoint may name, one by one, and what each makes.

A `torch.save` pickle names a handful of globals: the tensor and parameter
rebuilders, the storage types, `collections.OrderedDict`, and for numpy
values inside a checkpoint numpy's array, scalar and dtype rebuilders, plus
the builtins protocol 2 spells bytes and sets with. Each entry here is a
function of this module that checks its arguments and builds the value
itself (a numpy array from checked bytes, a dict from checked pairs); none
hands the pickle a module, a class it could call with other arguments, or
an attribute it did not list. Every other name stays an inert record
(`pickle_vm.Reference`, `pickle_vm.Opaque`).

The tensor rebuilders delegate to the file format's `TensorMaker` (the
storages live in the archive), reached through `vm.hooks`.
"""
from __future__ import annotations

import collections
import math
import numpy as np

from jaxpose.interop import pickle_vm

Global = pickle_vm.Global
PickleRefused = pickle_vm.PickleRefused

# torch storage class -> numpy dtype of its elements ('bfloat16' is read as
# the top half of a float32).
STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64,
    "HalfStorage": np.float16, "BFloat16Storage": "bfloat16",
    "LongStorage": np.int64, "IntStorage": np.int32,
    "ShortStorage": np.int16, "CharStorage": np.int8,
    "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}

# numpy dtypes a pickled array or scalar may have (no objects, no records).
NUMPY_DTYPES = frozenset(
    ["b1", "?", "bool", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2",
     "f4", "f8", "c8", "c16", "int8", "int16", "int32", "int64", "uint8",
     "uint16", "uint32", "uint64", "float16", "float32", "float64",
     "complex64", "complex128"])

# Protocol <= 2 pickles spell builtins as Python 2 did.
_PY2_MODULES = {"__builtin__": "builtins"}


def bind(args: tuple, kwargs: dict, names: tuple[str, ...], required: int,
         what: str) -> list:
  """`args` and `kwargs` as the parameters `names` of `what` (the first
  `required` of them without defaults: None); a call Python would refuse
  with a TypeError is refused the same way."""
  if len(args) > len(names):
    raise TypeError(f"{what} takes at most {len(names)} arguments "
                    f"({len(args)} given)")
  values = list(args) + [None] * (len(names) - len(args))
  for key, value in kwargs.items():
    if key not in names:
      raise TypeError(f"{what} got an unexpected keyword argument {key!r}")
    at = names.index(key)
    if at < len(args):
      raise TypeError(f"{what} got multiple values for {key!r}")
    values[at] = value
  given = len(args) + sum(1 for k in kwargs if names.index(k) < required)
  if given < required:
    raise TypeError(f"{what} is missing {required - given} required "
                    "argument(s)")
  return values


def ints(values, what: str) -> tuple[int, ...]:
  """`values` as a tuple of ints (not bools); ValueError naming `what`."""
  if not isinstance(values, (tuple, list)) or not all(
      isinstance(v, int) and not isinstance(v, bool) for v in values):
    raise ValueError(f"{what} {str(values)[:40]} is not a tuple of ints")
  return tuple(values)


# -- torch ------------------------------------------------------------------


def _rebuild_tensor_v2(vm, args, kwargs):
  storage, offset, size, stride, requires_grad, _hooks, metadata = bind(
      args, kwargs, ("storage", "storage_offset", "size", "stride",
                     "requires_grad", "backward_hooks", "metadata"), 6,
      "_rebuild_tensor_v2")
  if not isinstance(requires_grad, bool):
    raise TypeError("requires_grad must be a bool")
  if metadata:
    raise PickleRefused("a tensor with metadata (conjugate or negative "
                        "bits) is not supported")
  tensor = vm.hooks.tensor(vm, storage, offset, size, stride)
  if requires_grad and isinstance(tensor, np.ndarray) and (
      tensor.dtype.kind not in "fc"):
    raise ValueError("only floating point tensors can require gradients")
  return tensor


def _rebuild_tensor(vm, args, kwargs):
  storage, offset, size, stride = bind(
      args, kwargs, ("storage", "storage_offset", "size", "stride"), 4,
      "_rebuild_tensor")
  return vm.hooks.tensor(vm, storage, offset, size, stride)


def _rebuild_parameter(vm, args, kwargs):
  data, requires_grad, _hooks = bind(
      args, kwargs, ("data", "requires_grad", "backward_hooks"), 3,
      "_rebuild_parameter")
  return _parameter(vm, data, requires_grad)


def _rebuild_parameter_with_state(vm, args, kwargs):
  data, requires_grad, _hooks, _state = bind(
      args, kwargs, ("data", "requires_grad", "backward_hooks", "state"), 4,
      "_rebuild_parameter_with_state")
  return _parameter(vm, data, requires_grad)


def _parameter(vm, data, requires_grad):
  if not vm.hooks.is_tensor(data):
    raise TypeError(f"a Parameter of a {type(data).__name__}, not a tensor")
  if not isinstance(requires_grad, bool):
    raise TypeError("requires_grad must be a bool")
  return data


# -- containers and builtins -----------------------------------------------


def _pairs(iterable) -> list:
  if isinstance(iterable, dict):
    return list(iterable.items())
  if not isinstance(iterable, (list, tuple)):
    raise TypeError(f"pairs from a {type(iterable).__name__}")
  out = []
  for pair in iterable:
    if not isinstance(pair, (list, tuple)) or len(pair) != 2:
      raise ValueError("dictionary update sequence element is not a pair")
    out.append(tuple(pair))
  return out


def _ordered_dict(vm, args, kwargs):
  if len(args) > 1:
    raise TypeError("OrderedDict expected at most 1 argument")
  pairs = _pairs(args[0]) if args else []
  pairs += list(kwargs.items())
  return vm.make_dict(pairs, collections.OrderedDict)


def _ordered_dict_new(vm, args, kwargs):
  del args, kwargs  # dict.__new__ ignores them
  return vm.make_dict((), collections.OrderedDict)


def _set_of(cls):
  def make(vm, args, kwargs):
    if kwargs or len(args) > 1:
      raise TypeError(f"{cls.__name__} takes at most one argument")
    items = args[0] if args else ()
    if not isinstance(items, (list, tuple, set, frozenset)):
      raise TypeError(f"{cls.__name__} of a {type(items).__name__}")
    return vm.make_set(list(items), cls)
  return make


def _latin1(vm, text, encoding, what: str) -> bytes:
  if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
    raise ValueError(f"{what} only of a str in latin1 (got "
                     f"{type(text).__name__}, {str(encoding)[:20]!r})")
  vm.charge(64 + len(text), "bytes")
  return text.encode("latin-1")


def _encode(vm, args, kwargs):
  text, encoding, _errors = bind(args, kwargs, ("obj", "encoding", "errors"),
                                 1, "encode")
  return _latin1(vm, text, encoding or "utf-8", "_codecs.encode")


def _bytes(vm, args, kwargs):
  del vm
  if kwargs or args:  # protocol 2 spells b"" as bytes()
    raise TypeError("bytes() is read only without arguments")
  return b""


def _bytearray(vm, args, kwargs):
  source, encoding, _errors = bind(args, kwargs,
                                   ("source", "encoding", "errors"), 0,
                                   "bytearray")
  if source is None:
    return bytearray()
  if isinstance(source, (bytes, bytearray)) and encoding is None:
    vm.charge(64 + len(source), "a bytearray")
    return bytearray(source)
  # Never bytearray(int): a number would allocate that many bytes.
  return bytearray(_latin1(vm, source, encoding, "bytearray"))


def _complex(vm, args, kwargs):
  del vm
  real, imag = bind(args, kwargs, ("real", "imag"), 0, "complex")
  parts = [p for p in (real, imag) if p is not None]
  if not all(isinstance(p, (int, float)) for p in parts):
    raise TypeError("complex() of numbers only")
  return complex(*parts)


# -- numpy ----------------------------------------------------------------


class _NumpyArrayType:
  """numpy.ndarray as _reconstruct's first argument; nothing else."""


def _numpy_dtype(code) -> np.dtype:
  if not isinstance(code, str) or code.lstrip("<>|=") not in NUMPY_DTYPES:
    raise ValueError(f"numpy dtype {str(code)[:20]!r} (numeric dtypes only)")
  return np.dtype(code)


def _dtype(vm, args, kwargs):
  code, _align, _copy = bind(args, kwargs, ("dtype", "align", "copy"), 1,
                             "numpy.dtype")
  vm.charge(pickle_vm.RECORD, "a dtype")
  # A copy: BUILD sets its byte order, never the shared singleton's.
  return np.dtype(_numpy_dtype(code), copy=True)


def _reconstruct(vm, args, kwargs):
  subtype, _shape, _code = bind(args, kwargs, ("subtype", "shape", "dtype"),
                                3, "_reconstruct")
  if not isinstance(subtype, Global) or subtype.value is not _NumpyArrayType:
    raise TypeError("_reconstruct of a class other than numpy.ndarray")
  vm.charge(pickle_vm.RECORD, "an array")
  return np.ndarray((0,), np.uint8)


def _scalar(vm, args, kwargs):
  dtype, raw = bind(args, kwargs, ("dtype", "obj"), 2, "scalar")
  if not isinstance(dtype, np.dtype) or not isinstance(raw, bytes):
    raise TypeError("scalar() of a numeric dtype and bytes only")
  _numpy_dtype(dtype.str)
  if len(raw) != dtype.itemsize:
    raise ValueError(f"{len(raw)} bytes for a {dtype} scalar")
  vm.charge(64, "a scalar")
  return np.frombuffer(raw, dtype)[0]


def _frombuffer(vm, args, kwargs):
  buf, dtype, shape, order = bind(args, kwargs,
                                  ("buf", "dtype", "shape", "order"), 4,
                                  "_frombuffer")
  if not isinstance(dtype, np.dtype) or not isinstance(
      buf, (bytes, bytearray)):
    raise TypeError("_frombuffer of bytes and a numeric dtype only")
  _numpy_dtype(dtype.str)
  shape = ints(shape, "shape")
  if order not in ("C", "F") or any(s < 0 for s in shape) or (
      math.prod(shape) * dtype.itemsize != len(buf)):
    raise ValueError(f"{len(buf)} bytes for an array {shape} of {dtype}")
  vm.charge(64 + len(buf), "an array")
  return np.frombuffer(buf, dtype).reshape(shape, order=order).copy(
      order="K")


def _build_array(vm, array: np.ndarray, state) -> bool:
  if not (isinstance(state, tuple) and len(state) == 5):
    raise PickleRefused("an array's state is not (version, shape, dtype, "
                        "fortran, bytes)")
  version, shape, dtype, fortran, raw = state
  shape = ints(shape, "an array's shape")
  if not isinstance(dtype, np.dtype) or not isinstance(
      raw, (bytes, bytearray)) or not isinstance(fortran, bool) or (
          version != 1):
    raise PickleRefused("an array's state holds other than a numeric dtype "
                        "and bytes")
  _numpy_dtype(dtype.str)
  if any(s < 0 for s in shape) or math.prod(shape) * dtype.itemsize != len(
      raw):
    raise PickleRefused(f"an array of shape {shape[:6]} and {dtype} holds "
                        f"{len(raw)} bytes")
  if array.size:  # only the empty array _reconstruct made is filled
    raise PickleRefused("BUILD of an array twice")
  vm.charge(64 + len(raw), "an array")
  array.__setstate__((version, shape, dtype, fortran, raw))
  return True


def _build_dtype(dtype: np.dtype, state) -> bool:
  ok = (isinstance(state, tuple) and len(state) == 8 and state[0] in (3, 4)
        and state[1] in ("<", ">", "|", "=") and state[2:5] == (None,) * 3
        and state[5:] == (-1, -1, 0))
  if not ok:
    raise PickleRefused(f"a numpy dtype's state {str(state)[:60]} (numeric "
                        "dtypes only)")
  dtype.__setstate__(state)
  return True


def build(vm, obj, state) -> bool:
  """BUILD on what this module made: an array, a dtype, or an OrderedDict's
  attributes (a state dict's `_metadata`)."""
  if isinstance(obj, np.ndarray):
    return _build_array(vm, obj, state)
  if isinstance(obj, np.dtype):
    return _build_dtype(obj, state)
  if type(obj) is collections.OrderedDict:
    if state is None:
      return True
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and k.isidentifier() and not k.startswith("__")
        for k in state):
      raise PickleRefused("an OrderedDict's state is not attributes by name")
    vm.contain(obj, list(state.values()))
    obj.__dict__.update(state)
    return True
  return False


def _storage_type(name: str) -> Global:
  return Global(f"torch.{name}", value=STORAGE_DTYPES[name])


def _entries() -> dict[tuple[str, str], Global]:
  def entry(module, name, call=None, new=None, value=None):
    return (module, name), Global(f"{module}.{name}", call, new, value)
  table = dict([
      entry("collections", "OrderedDict", _ordered_dict, _ordered_dict_new),
      entry("torch._utils", "_rebuild_tensor_v2", _rebuild_tensor_v2),
      entry("torch._utils", "_rebuild_tensor", _rebuild_tensor),
      entry("torch._utils", "_rebuild_parameter", _rebuild_parameter),
      entry("torch._utils", "_rebuild_parameter_with_state",
            _rebuild_parameter_with_state),
      entry("_codecs", "encode", _encode),
      entry("builtins", "set", _set_of(set)),
      entry("builtins", "frozenset", _set_of(frozenset)),
      entry("builtins", "bytes", _bytes),
      entry("builtins", "bytearray", _bytearray),
      entry("builtins", "complex", _complex),
      entry("numpy", "ndarray", value=_NumpyArrayType),
      entry("numpy", "dtype", _dtype),
  ])
  for core in ("numpy.core", "numpy._core"):
    table.update([entry(f"{core}.multiarray", "_reconstruct", _reconstruct),
                  entry(f"{core}.multiarray", "scalar", _scalar),
                  entry(f"{core}.numeric", "_frombuffer", _frombuffer)])
  for name in STORAGE_DTYPES:
    table[("torch", name)] = _storage_type(name)
  return table


ALLOWED: dict[tuple[str, str], Global] = _entries()


def find(module: str, name: str) -> Global | None:
  """The allow-listed global (module, name), or None."""
  return ALLOWED.get((_PY2_MODULES.get(module, module), name))


def names() -> list[str]:
  """Every allow-listed global, dotted (for docs and tests)."""
  return sorted(g.name for g in ALLOWED.values())

