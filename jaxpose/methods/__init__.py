"""Methods by name: `get(config.method)` returns the method's class.

Each method is a package `jaxpose/methods/<name>/` whose `__init__`
registers a `base.Method` subclass with `@register("<name>")`. `get`
imports the package by name on first use, so generic code (the runner, the
evaluation) never imports a method, and a new package needs no edit here.
"""
from __future__ import annotations

import importlib
import pkgutil

_REGISTRY: dict[str, type] = {}


def register(name: str):
  """Class decorator: registers a `Method` subclass under `name`."""

  def wrap(cls):
    if name in _REGISTRY and _REGISTRY[name] is not cls:
      raise ValueError(f"method {name!r} is registered twice")
    cls.name = name
    _REGISTRY[name] = cls
    return cls

  return wrap


def names() -> tuple[str, ...]:
  """Every method package under jaxpose/methods/."""
  return tuple(sorted(m.name for m in pkgutil.iter_modules(__path__) if m.ispkg))


def get(name: str) -> type:
  """The `Method` subclass registered as `name` (imports its package)."""
  if name not in _REGISTRY:
    if name not in names():
      raise ValueError(f"method: unknown method {name!r}; valid: "
                       f"{', '.join(names())}")
    importlib.import_module(f"{__name__}.{name}")
    if name not in _REGISTRY:
      raise ValueError(f"method package {name!r} registers no method")
  return _REGISTRY[name]


__all__ = ["register", "names", "get"]
