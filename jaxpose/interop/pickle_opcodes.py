"""The opcodes of `pickle_vm.Machine`, and `load`, which runs them.

One handler per opcode of pickle protocols 0 to 5, each doing work
proportional to the bytes it reads or the items it pops; the extension
registry (EXT1/2/4) and out-of-band buffers are refused. Objects are made
through the machine (`make_*`, `record`, `call`), which charges their
memory and tracks their nesting before they exist.
"""
from __future__ import annotations

import codecs
import struct
from typing import Any, Callable

from jaxpose.interop import pickle_vm
from jaxpose.interop.pickle_vm import Machine, PickleRefused

DICT_ITEM, SET_ITEM = pickle_vm.DICT_ITEM, pickle_vm.SET_ITEM


def load(data, hooks: pickle_vm.Hooks,
         limits: pickle_vm.Limits = pickle_vm.Limits(), *, start: int = 0
         ) -> tuple[Any, int]:
  """(the object, the byte after its STOP) of the pickle at `start` of
  `data` (bytes, bytearray or mmap).

  Raises:
    PickleRefused: an opcode, a global's use or a limit refused (one line).
  """
  vm = Machine(data, hooks, limits, start=start)
  ops = _OPS
  while True:
    at = vm.pos
    if at >= vm.end:
      vm.past_end()
    code = data[at]
    vm.pos = at + 1
    op = ops.get(code)
    if op is None:
      raise PickleRefused(f"opcode {code:#04x} at byte {at} is not one "
                          "this reader runs")
    if op(vm):
      if vm.marks:
        raise PickleRefused(f"STOP at byte {at} inside a MARK")
      result = vm.pop()
      if pickle_vm.max_depth(result, limits.max_depth) > limits.max_depth:
        raise PickleRefused(f"containers nested deeper than "
                            f"{limits.max_depth}")
      return result, vm.pos


def _int_line(vm: Machine) -> int:
  text = vm.line(vm.limits.max_text_number).rstrip("L")
  vm.charge(64, "an integer")
  try:
    return int(text)
  except ValueError:
    raise PickleRefused(f"{text[:20]!r} is not an integer (byte "
                        f"{vm.pos})") from None


def _memo_index(vm: Machine, index: int) -> int:
  if index < 0:
    raise PickleRefused(f"negative memo index at byte {vm.pos}")
  return index


def _get(vm: Machine, index: int):
  try:
    vm.push(vm.memo[index])
  except KeyError:
    raise PickleRefused(f"memo index {index} read at byte {vm.pos} was "
                        "never written") from None


def _put(vm: Machine, index: int):
  if index not in vm.memo:
    vm.charge(DICT_ITEM, "the memo")
  vm.memo[_memo_index(vm, index)] = vm.top()


def _global(vm: Machine, module: str, name: str):
  if not module or not name or len(module) > vm.limits.max_name or len(
      name) > vm.limits.max_name:
    raise PickleRefused(f"a global named {module[:40]!r} {name[:40]!r} "
                        f"at byte {vm.pos}")
  found = vm.hooks.find(module, name)
  vm.push(found if found is not None else vm.reference(module, name))


def _persistent(vm: Machine, pid):
  vm.push(vm.hooks.persistent(vm, pid))


def _long(raw: bytes) -> int:
  return int.from_bytes(raw, "little", signed=True)


def _text_float(vm: Machine) -> float:
  text = vm.line(vm.limits.max_text_number)
  vm.charge(24, "a float")
  try:
    return float(text)
  except ValueError:
    raise PickleRefused(f"{text[:20]!r} is not a number (byte "
                        f"{vm.pos})") from None


def _quoted(vm: Machine) -> Any:
  # Protocol 0's STRING: a repr()'d byte string in quotes.
  line = vm.line(vm.end - vm.pos)
  if len(line) < 2 or line[0] != line[-1] or line[0] not in "'\"":
    raise PickleRefused(f"STRING argument not quoted at byte {vm.pos}")
  vm.charge(64 + 5 * len(line), "a string")
  value = codecs.escape_decode(line[1:-1].encode("ascii"))[0]
  return _decode8(vm, value)


def _decode8(vm: Machine, value: bytes):
  # Python 2 str (protocol <= 2's STRING ops), decoded as torch.load does.
  try:
    return value.decode(vm.encoding, "strict")
  except UnicodeDecodeError:
    raise PickleRefused(f"a Python 2 string that is not {vm.encoding} at "
                        f"byte {vm.pos}") from None


def _length(vm: Machine, fmt: str) -> int:
  return struct.unpack(fmt, vm.read(struct.calcsize(fmt)))[0]


def _frame(vm: Machine):
  size = _length(vm, "<Q")
  if size > vm.end - vm.pos:
    raise PickleRefused(f"a frame of {size} bytes at byte {vm.pos} runs past "
                        "the end")


def _tuple_n(n: int):
  def op(vm: Machine):
    if len(vm.stack) < n:
      raise PickleRefused(f"TUPLE{n} at byte {vm.pos} on a short stack")
    items = vm.stack[len(vm.stack) - n:]
    del vm.stack[len(vm.stack) - n:]
    vm.push(vm.make_tuple(items))
  return op


def _instantiate(vm: Machine, func, args: list):
  vm.push(vm.call(func, vm.make_tuple(args)))


def _inst(vm: Machine):
  module = vm.line(vm.limits.max_name)
  name = vm.line(vm.limits.max_name)
  args = vm.pop_mark()
  _global(vm, module, name)
  _instantiate(vm, vm.pop(), args)


def _obj(vm: Machine):
  args = vm.pop_mark()
  if not args:
    raise PickleRefused(f"OBJ at byte {vm.pos} without a class")
  _instantiate(vm, args[0], args[1:])


def _newobj(vm: Machine):
  args = vm.pop()
  vm.push(vm.call(vm.pop(), args, new=True))


def _newobj_ex(vm: Machine):
  kwargs, args = vm.pop(), vm.pop()
  vm.push(vm.call(vm.pop(), args, kwargs, new=True))


def _reduce(vm: Machine):
  args = vm.pop()
  vm.push(vm.call(vm.pop(), args))


def _build(vm: Machine):
  state = vm.pop()
  vm.build(vm.top(), state)


def _setitems(vm: Machine):
  items = vm.pop_mark()
  if len(items) % 2:
    raise PickleRefused(f"SETITEMS at byte {vm.pos} with an odd count")
  vm.add_items(vm.top(), list(zip(items[::2], items[1::2])))


def _setitem(vm: Machine):
  value, key = vm.pop(), vm.pop()
  vm.add_items(vm.top(), [(key, value)])


def _dict(vm: Machine):
  items = vm.pop_mark()
  if len(items) % 2:
    raise PickleRefused(f"DICT at byte {vm.pos} with an odd count")
  vm.push(vm.make_dict(list(zip(items[::2], items[1::2]))))


def _additems(vm: Machine):
  items = vm.pop_mark()
  target = vm.top()
  if type(target) is not set:
    raise PickleRefused(f"ADDITEMS to a {type(target).__name__} at byte "
                        f"{vm.pos}")
  vm.charge(SET_ITEM * len(items), "set items")
  target.update(vm.key(i) for i in items)
  vm.contain(target, items)


def _mark(vm: Machine):
  vm.charge(pickle_vm.CONTAINER[list], "a MARK")
  vm.marks.append(vm.stack)
  vm.stack = []


def _stop(vm: Machine):
  del vm
  return True


def _stack_global(vm: Machine):
  name, module = vm.pop(), vm.pop()
  if not isinstance(name, str) or not isinstance(module, str):
    raise PickleRefused(f"STACK_GLOBAL at byte {vm.pos} on non-strings")
  _global(vm, module, name)


def _refuse(what: str):
  def op(vm: Machine):
    raise PickleRefused(f"{what} at byte {vm.pos - 1} (not supported)")
  return op


def _proto(vm: Machine):
  version = vm.read(1)[0]
  if version > 5:
    raise PickleRefused(f"pickle protocol {version} (at most 5 is known)")


def _dup(vm: Machine):
  vm.push(vm.top())


def _pop(vm: Machine):
  if vm.stack:
    vm.stack.pop()
  else:
    vm.pop_mark()


def _sized(fmt: str, make):
  def op(vm: Machine):
    make(vm, _length(vm, fmt))
  return op


def _push_text(vm: Machine, n: int):
  vm.push(vm.text(n))


def _push_bytes(vm: Machine, n: int):
  vm.push(vm.raw(n))


def _push_str8(vm: Machine, n: int):
  if n < 0 or vm.pos + n > vm.end:
    vm.past_end()
  vm.charge(80 + 5 * n, "a string")
  vm.push(_decode8(vm, vm.read(n)))


def _push_bytearray(vm: Machine, n: int):
  vm.push(vm.raw(n, bytearray))


def _long_n(fmt: str):
  def op(vm: Machine):
    n = _length(vm, fmt)
    if n > vm.limits.max_int_bytes:
      raise PickleRefused(f"an integer of {n} bytes at byte {vm.pos}")
    vm.charge(32 + n, "an integer")
    vm.push(_long(vm.read(n)))
  return op


def _get_at(fmt: str):
  return lambda vm: _get(vm, _length(vm, fmt))


def _put_at(fmt: str):
  return lambda vm: _put(vm, _length(vm, fmt))


def _memoize(vm: Machine):
  _put(vm, len(vm.memo))


def _push_int(fmt: str):
  def op(vm: Machine):
    vm.charge(32, "an integer")
    vm.push(_length(vm, fmt))
  return op


def _text_int(vm: Machine):
  # Protocol 0 spells True and False as INT 01 and 00.
  start = vm.pos
  value = _int_line(vm)
  spelled = bytes(vm.data[start:vm.pos - 1])
  vm.push(True if spelled == b"01" else False if spelled == b"00" else value)


def _append(vm: Machine):
  value = vm.pop()
  vm.append_items(vm.top(), [value])


def _appends(vm: Machine):
  values = vm.pop_mark()
  vm.append_items(vm.top(), values)


def _escaped_text(vm: Machine) -> str:
  # Protocol 0's UNICODE: raw-unicode-escaped text up to a newline.
  line = vm.line(vm.end - vm.pos)
  vm.charge(80 + 4 * len(line), "a string")
  return codecs.raw_unicode_escape_decode(line.encode("ascii"))[0]


def _persid_text(vm: Machine):
  _persistent(vm, vm.line(vm.limits.max_name))


def _frozenset(vm: Machine):
  vm.push(vm.make_set(vm.pop_mark(), frozenset))


def _op(fn):
  """An opcode's handler that pushes `fn(vm)`."""
  return lambda vm: vm.push(fn(vm))


_OPS: dict[int, Callable[[Machine], Any]] = {
    ord("("): _mark,
    ord("."): _stop,
    ord("0"): _pop,
    ord("1"): lambda vm: vm.pop_mark(),
    ord("2"): _dup,
    ord("F"): _op(_text_float),
    ord("I"): _text_int,
    ord("J"): _push_int("<i"),
    ord("K"): _push_int("<B"),
    ord("L"): _op(_int_line),
    ord("M"): _push_int("<H"),
    ord("N"): _op(lambda vm: None),
    ord("P"): _persid_text,
    ord("Q"): lambda vm: _persistent(vm, vm.pop()),
    ord("R"): _reduce,
    ord("S"): _op(_quoted),
    ord("T"): _sized("<i", _push_str8),
    ord("U"): _sized("<B", _push_str8),
    ord("V"): _op(_escaped_text),
    ord("X"): _sized("<I", _push_text),
    ord("a"): _append,
    ord("b"): _build,
    ord("c"): lambda vm: _global(vm, vm.line(vm.limits.max_name),
                                 vm.line(vm.limits.max_name)),
    ord("d"): _dict,
    ord("}"): _op(lambda vm: vm.make_dict()),
    ord("e"): _appends,
    ord("g"): lambda vm: _get(vm, _int_line(vm)),
    ord("h"): _get_at("<B"),
    ord("i"): _inst,
    ord("j"): _get_at("<I"),
    ord("l"): _op(lambda vm: vm.make_list(vm.pop_mark())),
    ord("]"): _op(lambda vm: vm.make_list()),
    ord("o"): _obj,
    ord("p"): lambda vm: _put(vm, _int_line(vm)),
    ord("q"): _put_at("<B"),
    ord("r"): _put_at("<I"),
    ord("s"): _setitem,
    ord("t"): _op(lambda vm: vm.make_tuple(vm.pop_mark())),
    ord(")"): _op(lambda vm: ()),
    ord("u"): _setitems,
    ord("G"): _op(lambda vm: vm.charge(24, "a float") or _length(vm, ">d")),
    ord("B"): _sized("<I", _push_bytes),
    ord("C"): _sized("<B", _push_bytes),
    0x80: _proto,
    0x81: _newobj,
    0x82: _refuse("EXT1 (the copyreg extension registry)"),
    0x83: _refuse("EXT2 (the copyreg extension registry)"),
    0x84: _refuse("EXT4 (the copyreg extension registry)"),
    0x85: _tuple_n(1),
    0x86: _tuple_n(2),
    0x87: _tuple_n(3),
    0x88: _op(lambda vm: True),
    0x89: _op(lambda vm: False),
    0x8a: _long_n("<B"),
    0x8b: _long_n("<i"),
    0x8c: _sized("<B", _push_text),
    0x8d: _sized("<Q", _push_text),
    0x8e: _sized("<Q", _push_bytes),
    0x8f: _op(lambda vm: vm.make_set()),
    0x90: _additems,
    0x91: _frozenset,
    0x92: _newobj_ex,
    0x93: _stack_global,
    0x94: _memoize,
    0x95: _frame,
    0x96: _sized("<Q", _push_bytearray),
    0x97: _refuse("NEXT_BUFFER (out-of-band buffers)"),
    0x98: _refuse("READONLY_BUFFER (out-of-band buffers)"),
}
