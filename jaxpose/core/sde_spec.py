"""A config's `sde` section, typed: the one builder of forward processes
from configs (`SDESpec.from_section(config.sde).build()`)."""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from jaxpose import settings
from jaxpose.core import sde as sde_lib

# Each process's constructor arguments and their types: what a config's
# `sde` section may hold besides `name`.
_ARGUMENTS: dict[str, dict[str, type]] = {
    "ve": {"sigma_min": float, "sigma_max": float},
    "vp": {"beta_min": float, "beta_max": float},
    "subvp": {"beta_min": float, "beta_max": float},
    "discrete_vp": {"num_steps": int, "beta_start": float, "beta_end": float},
}


@dataclasses.dataclass(frozen=True)
class SDESpec:
  """A config's `sde` section, typed: a process by name and its arguments.

  Attributes:
    name: one of `sde_lib.SDE_NAMES`.
    kwargs: the constructor's arguments (`_ARGUMENTS[name]`).
  """
  name: str
  kwargs: Mapping[str, Any]

  @classmethod
  def from_section(cls, section, where: str = "sde") -> "SDESpec":
    """The section as a spec; unknown processes and arguments are named."""
    name, kwargs = settings.parse_named(section, where, sde_lib.SDE_NAMES,
                                        _ARGUMENTS.get, "process")
    return cls(name=name, kwargs=kwargs)

  def build(self):
    """The forward process (argument values checked by its constructor)."""
    try:
      return sde_lib.get_sde(self.name, **self.kwargs)
    except ValueError as e:
      raise settings.ConfigError(f"sde: {e}") from e


__all__ = ["SDESpec"]
