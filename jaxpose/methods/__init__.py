"""Methods by name: `get(config.method)` returns the method's `base.Method`.

Each method of jaxpose is a package `jaxpose/methods/<name>/` whose
`__init__` registers its `Method` value with `register(METHOD)`. `get`
imports the package by name on first use, so generic code (the runner, the
evaluation) never imports a method, and a new package needs no edit here.
A method defined elsewhere (a user's module) registers the same way before
the runner meets its name.
"""
from __future__ import annotations

import importlib
import pkgutil

from jaxpose import config as config_lib
from jaxpose import settings
from jaxpose.methods import base

_REGISTRY: dict[str, base.Method] = {}


def register(method: base.Method) -> base.Method:
  """Registers `method` under `method.name`; returns it."""
  if not isinstance(method, base.Method):
    raise TypeError(f"register: expected a base.Method, got "
                    f"{type(method).__name__}")
  if method.name in _REGISTRY and _REGISTRY[method.name] is not method:
    raise ValueError(f"method {method.name!r} is registered twice")
  _REGISTRY[method.name] = method
  return method


def names() -> tuple[str, ...]:
  """Every method: the packages under jaxpose/methods/ and those registered
  from elsewhere."""
  packages = {m.name for m in pkgutil.iter_modules(__path__) if m.ispkg}
  return tuple(sorted(packages | set(_REGISTRY)))


def get(name: str) -> base.Method:
  """The `Method` registered as `name` (imports its package)."""
  if name not in _REGISTRY:
    if name not in names():
      raise settings.ConfigError(f"method: unknown method {name!r}; valid: "
                                 f"{', '.join(names())}")
    importlib.import_module(f"{__name__}.{name}")
    if name not in _REGISTRY:
      raise ValueError(f"method package {name!r} registers no method")
  return _REGISTRY[name]


def parse(config) -> tuple[base.Method, base.RunSettings]:
  """(the method, the config as its typed settings), checked."""
  plain = config_lib.to_plain(config)
  if not isinstance(plain, dict) or "method" not in plain:
    raise settings.ConfigError("method: missing from the config (the name "
                               f"of a method: {', '.join(names())})")
  method = get(plain["method"])
  return method, base.parse(method, plain)


__all__ = ["register", "names", "get", "parse"]
