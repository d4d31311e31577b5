"""A bounded pickle interpreter that calls only what it is handed: its
state, what it makes and charges; `pickle_opcodes` runs a stream on it.

Python's own unpickler resolves a pickle's globals by importing modules,
keeps its memo in an array as long as the largest index the stream names,
and calls whatever a REDUCE points at. This interpreter does none of that:

- **Globals** are looked up in the caller's allow-list (`Hooks.find`), by
  exact (module, name); nothing is imported. A name off the list becomes a
  `Reference`, and calling or instantiating one makes an inert `Opaque`
  record of what was asked (class name, arguments, state, items), so a
  checkpoint's foreign hyper-parameter objects survive as data and no code
  of the file runs.
- **Memory** is charged as objects are made (an estimate that errs high:
  strings, numbers, containers and their items, memo entries, marks), and
  each charge is checked against `Limits.max_memory` before the object is
  allocated; the stream itself is at most `Limits.max_bytes`.
- **Time** is linear in the stream: every opcode does work proportional to
  the bytes it reads or the items it pops, dict keys and set items must be
  cheap to hash (`Limits.max_key_items`), and numbers written as text are
  short.
- **Nesting** is tracked as containers are filled and checked once more on
  the finished object (`max_depth`), so later recursive code (hashing a
  nested tuple, comparing, describing) never overflows the stack.

Every refusal is a `PickleRefused` of one line, saying which limit or
opcode, at which byte.
"""
from __future__ import annotations

import collections
import dataclasses
from typing import Any, Callable

import numpy as np

MiB = 1 << 20


class PickleRefused(ValueError):
  """A pickle this interpreter will not build (one line: what and where)."""


@dataclasses.dataclass(frozen=True)
class Limits:
  """What one pickle may cost.

  Attributes:
    max_bytes: length of the pickle stream.
    max_memory: estimated bytes of the objects it builds (strings, numbers,
      containers, records, the memo and the stack).
    max_depth: nesting of containers inside each other.
    max_key_items: elements of a tuple used as a dict key or set item
      (tuples do not cache their hash: a large key rehashed per SETITEM
      would make the time quadratic).
    max_text_number: characters of a number written as text (INT, LONG,
      FLOAT; Python's int() of text is quadratic in its length).
    max_int_bytes: bytes of a binary integer (LONG1, LONG4).
    max_name: characters of a global's module or name.
  """
  max_bytes: int = 32 * MiB
  max_memory: int = 160 * MiB
  max_depth: int = 100
  max_key_items: int = 256
  max_text_number: int = 64
  max_int_bytes: int = 1024
  max_name: int = 256


@dataclasses.dataclass(frozen=True)
class Global:
  """An allow-listed name: how REDUCE / INST / OBJ call it (`call`) and
  how NEWOBJ / NEWOBJ_EX make one (`new`); each (vm, args, kwargs) ->
  object, None where the pickle may not do that. `value` stands for the
  name itself where the pickle only refers to it (a storage's type)."""
  name: str
  call: Callable | None = None
  new: Callable | None = None
  value: Any = None


class Reference:
  """A global off the allow-list, referred to by name and never imported."""
  __slots__ = ("name",)

  def __init__(self, name: str):
    self.name = name

  def __repr__(self):
    return f"Reference({self.name})"


class Opaque:
  """An object of a class this reader does not rebuild (kept, not run).

  `name` the class's (or function's) dotted name; `args`/`kwargs` what it
  was called with; `state` what BUILD gave; `items` and `list_items` what
  SETITEM(S) and APPEND(S) put into it (dict and list subclasses).
  """
  __slots__ = ("name", "args", "kwargs", "state", "items", "list_items")

  def __init__(self, name: str, args: tuple = (), kwargs: dict | None = None):
    self.name, self.args, self.kwargs = name, args, kwargs or {}
    self.state, self.items, self.list_items = None, {}, []

  def __repr__(self):
    return f"Opaque({self.name})"


class Hooks:
  """What a file format gives the interpreter; override what it needs."""

  def find(self, module: str, name: str) -> Global | None:
    """The allow-listed global (module, name), or None (a `Reference`)."""
    del module, name
    return None

  def persistent(self, vm: "Machine", pid) -> Any:
    """The object a persistent id names (PERSID, BINPERSID)."""
    del vm
    raise PickleRefused(f"persistent id {str(pid)[:40]} not supported")

  def build(self, vm: "Machine", obj, state) -> bool:
    """Applies BUILD's `state` to an allow-listed object; False if `obj`
    is not one this format builds."""
    del vm, obj, state
    return False


# Estimated bytes of what the interpreter makes (CPython 3.11, 64-bit,
# rounded up): a stack or list slot, a dict or memo entry (its share of the
# index and entry tables at the lowest fill), a set slot, a record.
SLOT, DICT_ITEM, SET_ITEM, RECORD = 8, 112, 64, 600
CONTAINER = {tuple: 40, list: 56, dict: 64, set: 216, frozenset: 216}


class Machine:
  """The state of one pickle stream being run (`pickle_opcodes.load`):
  position, stack, marks, memo, and the memory and nesting charged."""

  def __init__(self, data, hooks: Hooks, limits: Limits = Limits(), *,
               start: int = 0, encoding: str = "utf-8"):
    self.data = data  # bytes, bytearray or mmap: indexed without copies
    self.hooks, self.limits, self.encoding = hooks, limits, encoding
    self.pos = start
    self.end = min(len(self.data), start + limits.max_bytes)
    self.used = 0
    self.memo: dict[int, Any] = {}
    self.stack: list = []
    self.marks: list[list] = []
    self._depth: dict[int, int] = {}  # id -> nesting, containers made here
    self._alive: list = []  # keeps those ids unique while we run
    self._references: dict[str, Reference] = {}

  # -- accounting ------------------------------------------------------

  def charge(self, nbytes: int, what: str = "objects"):
    """Counts `nbytes` of memory before it is allocated; refuses past the
    limit."""
    self.used += nbytes
    if self.used > self.limits.max_memory:
      raise PickleRefused(
          f"{what} at byte {self.pos} would take over "
          f"{self.limits.max_memory // MiB} MiB (the pickle's memory limit)")

  def contain(self, container, items) -> Any:
    """Records that `container` (made here) holds `items`; returns it."""
    depths = self._depth
    deepest = 0
    for item in items:
      d = depths.get(id(item), 0)
      if d > deepest:
        deepest = d
    key, depth = id(container), deepest + 1
    old = depths.get(key)
    if old is None:  # the record of its depth costs memory too
      self.charge(DICT_ITEM + SLOT, "containers")
      self._alive.append(container)
    elif old >= depth:
      return container
    if depth > self.limits.max_depth:
      raise PickleRefused(f"containers nested deeper than "
                          f"{self.limits.max_depth} at byte {self.pos}")
    depths[key] = depth
    return container

  def key(self, obj):
    """`obj` checked as a dict key or set item: hashable, and cheap to hash
    (a tuple's hash is recomputed on every lookup)."""
    if isinstance(obj, tuple):
      count, todo = 0, [obj]
      while todo:
        node = todo.pop()
        count += len(node)
        if count > self.limits.max_key_items:
          raise PickleRefused(f"a dict key or set item at byte {self.pos} "
                              f"holds over {self.limits.max_key_items} items")
        todo.extend(i for i in node if isinstance(i, tuple))
    try:
      hash(obj)
    except TypeError:
      raise PickleRefused(f"an unhashable {type(obj).__name__} used as a "
                          f"dict key or set item at byte {self.pos}") from None
    return obj

  # -- what the pickle makes -------------------------------------------

  def make_tuple(self, items) -> tuple:
    self.charge(CONTAINER[tuple] + SLOT * len(items), "a tuple")
    return self.contain(tuple(items), items)

  def make_list(self, items=()) -> list:
    self.charge(CONTAINER[list] + SLOT * len(items), "a list")
    return self.contain(list(items), items)

  def make_dict(self, pairs=(), cls=dict) -> dict:
    self.charge(CONTAINER[dict] + DICT_ITEM * len(pairs), "a dict")
    out = cls()
    for k, v in pairs:
      out[self.key(k)] = v
    return self.contain(out, [x for kv in pairs for x in kv])

  def make_set(self, items=(), cls=set):
    self.charge(CONTAINER[set] + SET_ITEM * len(items), "a set")
    return self.contain(cls(self.key(i) for i in items), items)

  def record(self, name: str, args=(), kwargs=None) -> Opaque:
    self.charge(RECORD, "a record")
    out = Opaque(name, args, kwargs)
    return self.contain(out, [args, kwargs or {}])

  def reference(self, module: str, name: str) -> Reference:
    dotted = f"{module}.{name}"
    if dotted not in self._references:
      self.charge(RECORD + len(dotted), "a global's name")
      self._references[dotted] = Reference(dotted)
    return self._references[dotted]

  def add_items(self, target, pairs: list):
    """SETITEM(S) into a dict or a record."""
    if isinstance(target, Opaque):
      items = target.items
    elif type(target) in (dict, collections.OrderedDict):
      items = target
    else:
      raise PickleRefused(f"SETITEM into a {type(target).__name__} at byte "
                          f"{self.pos}")
    self.charge(DICT_ITEM * len(pairs), "dict items")
    for k, v in pairs:
      items[self.key(k)] = v
    self.contain(target, [x for kv in pairs for x in kv])

  def append_items(self, target, values: list):
    """APPEND(S) onto a list or a record."""
    if isinstance(target, Opaque):
      target.list_items.extend(values)
    elif type(target) is list:
      target.extend(values)
    else:
      raise PickleRefused(f"APPEND to a {type(target).__name__} at byte "
                          f"{self.pos}")
    self.charge(SLOT * 2 * len(values), "list items")
    self.contain(target, values)

  def call(self, func, args, kwargs=None, *, new: bool = False):
    """What REDUCE (or NEWOBJ, `new`) of `func` on `args` makes."""
    if not isinstance(args, tuple):
      raise PickleRefused(f"arguments that are a {type(args).__name__}, "
                          f"not a tuple, at byte {self.pos}")
    if kwargs is not None and not isinstance(kwargs, dict):
      raise PickleRefused(f"keyword arguments that are a "
                          f"{type(kwargs).__name__} at byte {self.pos}")
    if isinstance(func, Reference):
      return self.record(func.name, args, kwargs)
    if isinstance(func, Opaque):  # e.g. functools.partial(...)(...)
      base = func.name if func.name.endswith("()") else f"{func.name}()"
      return self.record(base, args, kwargs)
    if isinstance(func, Global):
      make = func.new if new else func.call
      if make is None:
        raise PickleRefused(f"{func.name} cannot be "
                            f"{'made by NEWOBJ' if new else 'called'}")
      try:
        return make(self, args, kwargs or {})
      except PickleRefused:
        raise
      except (TypeError, ValueError, OverflowError) as e:
        reason = (str(e).splitlines() or [type(e).__name__])[0]
        raise PickleRefused(f"{func.name} at byte {self.pos}: "
                            f"{reason[:80]}") from None
    raise PickleRefused(f"a {type(func).__name__} called at byte {self.pos}")

  def build(self, obj, state):
    if isinstance(obj, Opaque):
      obj.state = state
      self.contain(obj, [state])
    elif not self.hooks.build(self, obj, state):
      raise PickleRefused(f"BUILD of a {type(obj).__name__} at byte "
                          f"{self.pos}")

  # -- reading the stream ----------------------------------------------

  def read(self, n: int) -> bytes:
    if n < 0 or self.pos + n > self.end:
      self.past_end()
    out = self.data[self.pos:self.pos + n]
    self.pos += n
    return out

  def past_end(self):
    if self.end < len(self.data):
      raise PickleRefused(f"the pickle is longer than "
                          f"{self.limits.max_bytes // MiB} MiB")
    raise PickleRefused(f"the pickle ends inside an opcode at byte "
                        f"{self.pos}")

  def line(self, limit: int) -> str:
    """Text up to the next newline (at most `limit` characters), found
    without copying the rest of the stream."""
    stop = min(self.end, self.pos + limit + 1)
    at = self.data.find(b"\n", self.pos, stop)
    if at < 0:
      raise PickleRefused(f"a text argument at byte {self.pos} is longer "
                          f"than {limit} characters or unterminated")
    self.charge(64 + 5 * (at - self.pos), "a line of text")
    text = bytes(self.data[self.pos:at])
    self.pos = at + 1
    try:
      return text.decode("ascii", "strict")
    except UnicodeDecodeError:
      raise PickleRefused(f"non-ASCII text before byte {self.pos}") from None

  def text(self, n: int) -> str:
    if n < 0 or self.pos + n > self.end:
      self.past_end()
    # A str takes up to 4 bytes a character (CPython's widest form), on
    # top of the bytes read.
    self.charge(80 + 5 * n, "a string")
    view = self.read(n)
    try:
      return str(view, "utf-8", "surrogatepass")
    except UnicodeDecodeError:
      raise PickleRefused(f"a string that is not UTF-8 before byte "
                          f"{self.pos}") from None

  def raw(self, n: int, cls=bytes):
    if n < 0 or self.pos + n > self.end:
      self.past_end()
    self.charge(64 + n, "a bytes object")
    return cls(self.read(n)) if cls is not bytes else self.read(n)

  def push(self, obj):
    self.used += SLOT
    if self.used > self.limits.max_memory:
      self.charge(0, "the stack")
    self.stack.append(obj)

  def pop(self):
    if not self.stack:
      raise PickleRefused(f"an opcode at byte {self.pos} pops an empty stack")
    return self.stack.pop()

  def top(self):
    if not self.stack:
      raise PickleRefused(f"an opcode at byte {self.pos} reads an empty "
                          "stack")
    return self.stack[-1]

  def pop_mark(self) -> list:
    if not self.marks:
      raise PickleRefused(f"an opcode at byte {self.pos} has no MARK")
    items, self.stack = self.stack, self.marks.pop()
    return items

def _children(node):
  if isinstance(node, dict):
    yield from node.keys()
    yield from node.values()
  elif isinstance(node, (list, tuple, set, frozenset)):
    yield from node
  elif isinstance(node, Opaque):
    yield from (node.args, node.kwargs, node.state, node.items,
                node.list_items)


def max_depth(obj, limit: int) -> int:
  """The nesting of containers in `obj` (a loop, not recursion; a cycle's
  closing edge counts nothing), or `limit + 1` as soon as it exceeds
  `limit`. Linear in the number of objects and references."""
  done: dict[int, int] = {}
  active: set[int] = set()
  stack = [(obj, None)]
  while stack:
    node, children = stack[-1]
    if children is None:
      if id(node) in done or not isinstance(
          node, (dict, list, tuple, set, frozenset, Opaque)):
        stack.pop()
        continue
      active.add(id(node))
      if len(active) > limit:
        return limit + 1
      children = _children(node)
      stack[-1] = (node, children)
    child = next(children, _END)
    if child is _END:
      stack.pop()
      active.discard(id(node))
      deepest = 0
      for c in _children(node):
        deepest = max(deepest, done.get(id(c), 0))
      done[id(node)] = deepest + 1
      continue
    if id(child) not in done and id(child) not in active:
      stack.append((child, None))
  return done.get(id(obj), 0)


_END = object()


def describe(obj, *, depth: int = 0) -> Any:
  """`obj` as JSON-able text and containers (an `Opaque` as its class name
  and what it was made of, a `Reference` as its name, an array as its dtype
  and shape): provenance of a file's non-tensor entries (e.g. Lightning
  hyper-parameters), never run."""
  if depth > 20:
    return "..."
  if isinstance(obj, Opaque):
    out = {"class": obj.name}
    for field in ("args", "kwargs", "state", "items", "list_items"):
      value = getattr(obj, field)
      if value or value == 0:
        out[field] = describe(value, depth=depth + 1)
    return out
  if isinstance(obj, Reference):
    return {"global": obj.name}
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

