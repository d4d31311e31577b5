"""Typed settings: config sections parsed at the boundary, checked once.

Every section of a config (`train`, `eval`, `data`, a method's own such as
`diffpose` or `holdout`) becomes a frozen dataclass before anything runs:

  @dataclasses.dataclass(frozen=True)
  class Holdout:
    fraction: float = settings.field(at_least=0.0, below=1.0)
    seed: int = settings.field(at_least=0)

  holdout = settings.parse(Holdout, config.holdout, "holdout")

`parse` refuses a key the dataclass lacks (naming the valid ones), a
missing field without a default, a value of the wrong type, a value outside
the range its `field` declares, and a value outside a `Literal[...]`'s
choices, each with the dotted key in the message. `one_of` is the one
"expected one of" check, for choices only known at run time.
"""
from __future__ import annotations

import collections.abc
import dataclasses
import types
import typing
from typing import Any, Iterable, Literal, Mapping

from jaxpose.config import ConfigError, to_plain

_MISSING = dataclasses.MISSING
_BOUNDS = ("at_least", "above", "at_most", "below")


def field(*, default: Any = _MISSING, at_least=None, above=None, at_most=None,
          below=None):
  """A dataclass field whose numbers (each, for a tuple) `parse` checks.

  Args:
    default: the value when the section leaves the key out (none: the key
      is required).
    at_least, above, at_most, below: bounds (inclusive, exclusive).
  """
  metadata = {k: v for k, v in dict(at_least=at_least, above=above,
                                    at_most=at_most, below=below).items()
              if v is not None}
  if isinstance(default, (list, dict, set)):
    raise TypeError("field: give a tuple or a frozen value as the default")
  return dataclasses.field(default=default, metadata=metadata)


def one_of(name: str, value, choices: Iterable) -> Any:
  """`value` if it is one of `choices`, else ConfigError naming `name`."""
  choices = tuple(choices)
  if value not in choices:
    raise ConfigError(f"{name}: expected one of "
                      f"{', '.join(str(c) for c in choices)}, got {value!r}")
  return value


def each_one_of(name: str, values, choices: Iterable) -> tuple:
  """Every item of `values` one of `choices` (unknown ones named)."""
  choices = tuple(choices)
  unknown = [v for v in values if v not in choices]
  if unknown:
    raise ConfigError(f"{name}: unknown {unknown}; valid: "
                      f"{', '.join(str(c) for c in choices)}")
  return tuple(values)


def check_bounds(name: str, value, *, at_least=None, above=None, at_most=None,
                 below=None):
  """ConfigError unless every number of `value` (or of a tuple / a mapping's
  values) lies within the bounds."""
  if isinstance(value, Mapping):
    items = tuple(value.values())
  elif isinstance(value, tuple):
    items = value
  else:
    items = (value,)
  for v in items:
    ok = ((at_least is None or v >= at_least) and (above is None or v > above)
          and (at_most is None or v <= at_most) and (below is None or v < below))
    if not ok:
      parts = [f">= {at_least}" if at_least is not None else "",
               f"> {above}" if above is not None else "",
               f"<= {at_most}" if at_most is not None else "",
               f"< {below}" if below is not None else ""]
      raise ConfigError(f"{name}: expected values {' and '.join(p for p in parts if p)}, "
                        f"got {value!r}")


def _type_name(tp) -> str:
  return getattr(tp, "__name__", str(tp).replace("typing.", ""))


def coerce(name: str, value: Any, tp) -> Any:
  """`value` as the annotated type `tp`, or ConfigError naming `name`.

  A type with a `from_section(value, name)` classmethod parses itself (e.g.
  a network spec checked against its constructor).
  """
  from_section = getattr(tp, "from_section", None)
  if callable(from_section):
    return from_section(value, name)
  origin = typing.get_origin(tp)
  args = typing.get_args(tp)
  if origin is Literal:
    return one_of(name, value, args)
  if origin in (typing.Union, types.UnionType):
    if value is None and type(None) in args:
      return None
    errors = []
    for arg in (a for a in args if a is not type(None)):
      try:
        return coerce(name, value, arg)
      except ConfigError as e:
        errors.append(str(e))
    raise ConfigError(errors[0] if len(errors) == 1 else
                      f"{name}: expected {_type_name(tp)}, got {value!r}")
  if origin is tuple:
    item = next(a for a in args if a is not Ellipsis)
    seq = value if isinstance(value, (list, tuple)) else (value,)
    return tuple(coerce(name, v, item) for v in seq)
  if origin in (dict, collections.abc.Mapping) or tp in (dict, Mapping):
    if not isinstance(value, Mapping):
      raise ConfigError(f"{name}: expected a group of keys, got {value!r}")
    key_tp, val_tp = args if args else (str, Any)
    return types.MappingProxyType(
        {coerce(name, k, key_tp): coerce(f"{name}.{k}", v, val_tp)
         for k, v in value.items()})
  if dataclasses.is_dataclass(tp):
    return parse(tp, value, name)
  if tp is Any:
    return value
  if tp is bool:
    if isinstance(value, bool):
      return value
  elif tp is int:
    if isinstance(value, int) and not isinstance(value, bool):
      return value
  elif tp is float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
      return float(value)
  elif tp is str:
    if isinstance(value, str):
      return value
  else:
    return value
  raise ConfigError(f"{name}: expected {_type_name(tp)}, got {value!r} "
                    f"({type(value).__name__})")


def field_names(cls) -> tuple[str, ...]:
  return tuple(f.name for f in dataclasses.fields(cls))


def defaults(cls) -> dict:
  """{name: default value} of the dataclass `cls`'s fields that have one."""
  out = {}
  for f in dataclasses.fields(cls):
    if f.default is not _MISSING:
      out[f.name] = f.default
    elif f.default_factory is not _MISSING:
      out[f.name] = f.default_factory()
  return out


def _build(cls, values: Mapping, where: str):
  hints = typing.get_type_hints(cls)
  kwargs = {}
  for f in dataclasses.fields(cls):
    name = f"{where}.{f.name}" if where else f.name
    if f.name not in values:
      if f.default is _MISSING and f.default_factory is _MISSING:
        raise ConfigError(f"{name}: missing from the config (the configs in "
                          "experiments/configs/ give every setting)")
      continue
    value = coerce(name, values[f.name], hints[f.name])
    bounds = {k: f.metadata[k] for k in _BOUNDS if k in f.metadata}
    if bounds:
      check_bounds(name, value, **bounds)
    kwargs[f.name] = value
  try:
    return cls(**kwargs)
  except ConfigError:
    raise
  except (TypeError, ValueError) as e:
    raise ConfigError(f"{where}: {e}") from e


def _section_values(section, where: str) -> dict:
  values = to_plain(section)
  if values is None:
    return {}
  if not isinstance(values, Mapping):
    raise ConfigError(f"{where}: expected a group of keys, got {values!r}")
  return dict(values)


def _refuse_unknown(values: Mapping, known: Iterable[str], where: str):
  known = sorted(set(known))
  unknown = sorted(set(values) - set(known))
  if unknown:
    prefix = f"{where}." if where else ""
    raise ConfigError(f"{prefix}{unknown[0]}: not a setting here; valid keys: "
                      f"{', '.join(known)}")


def parse(cls, section, where: str):
  """`section` (a ConfigDict, a mapping or None) as a `cls` instance.

  Raises:
    ConfigError: an unknown key (the valid ones listed), a missing key, a
      wrong type, a value out of range or not among the choices.
  """
  values = _section_values(section, where)
  _refuse_unknown(values, field_names(cls), where)
  return _build(cls, values, where)


def parse_shared(section, classes: Iterable[type], where: str) -> tuple:
  """One section holding the fields of several dataclasses side by side
  (e.g. `eval`: the generic settings and a method's own), one instance each.

  Raises:
    ConfigError: as `parse`; a key is unknown when no class has it.
  """
  classes = tuple(classes)
  values = _section_values(section, where)
  _refuse_unknown(values, [n for c in classes for n in field_names(c)], where)
  return tuple(_build(c, {k: v for k, v in values.items() if k in field_names(c)},
                      where) for c in classes)


def parse_named(section, where: str, names, arguments, what: str
                ) -> tuple[str, dict]:
  """A section naming one of several constructors (`name`) and its typed
  arguments, e.g. `model` or `sde`.

  Args:
    section: a ConfigDict, a mapping or None.
    where: the section's dotted name, for messages.
    names: the valid names.
    arguments: `arguments(name) -> {argument: type}` of that constructor
      (a type of Any passes values as given).
    what: how messages call one, e.g. "network" or "process".

  Returns:
    (name, {argument: typed value}).
  """
  values = _section_values(section, where)
  names = tuple(names)
  if "name" not in values:
    raise ConfigError(f"{where}.name: missing (one of {', '.join(names)})")
  name = one_of(f"{where}.name", values.pop("name"), names)
  types = dict(arguments(name))
  unknown = sorted(set(values) - set(types))
  if unknown:
    raise ConfigError(f"{where}.{unknown[0]}: not an argument of {what} "
                      f"{name!r}; valid keys: name, {', '.join(types)}")
  return name, {k: coerce(f"{where}.{k}", v, types[k]) for k, v in values.items()}


def as_dict(settings) -> dict:
  """A settings dataclass as plain values (mappings as dicts, tuples as lists)."""
  def plain(v):
    if dataclasses.is_dataclass(v):
      return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
    if isinstance(v, Mapping):
      return {k: plain(x) for k, x in v.items()}
    if isinstance(v, tuple):
      return [plain(x) for x in v]
    return v
  return plain(settings)


@dataclasses.dataclass(frozen=True)
class NoSettings:
  """A section (or a method's share of one) with no fields."""


__all__ = ["ConfigError", "NoSettings", "coerce", "to_plain", "field",
           "one_of", "each_one_of", "check_bounds", "parse", "parse_shared",
           "parse_named", "as_dict", "field_names"]
