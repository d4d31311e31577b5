"""Which layout a workdir was written in (`layout.VERSION_FILE`): read,
checked before anything else is read, and written at every training start
and import.

A workdir without the file is of layout 1 (written before the file
existed); one of a later layout than this jaxpose knows is refused in one
line naming both versions, before a newer config or checkpoint could be
misread.
"""
from __future__ import annotations

import os

from jaxpose import files
from jaxpose.workdir import layout


class LayoutError(ValueError):
  """A workdir of a layout this jaxpose cannot read."""


def read(workdir) -> int:
  """The layout version of `workdir` (1 when it records none)."""
  where = layout.Workdir.of(workdir)
  try:
    stored = files.read_json(where.version_file)
  except ValueError as e:
    raise LayoutError(str(e)) from None
  if stored is None:
    return 1
  version = stored.get("layout") if isinstance(stored, dict) else None
  if not isinstance(version, int) or isinstance(version, bool) or version < 1:
    raise LayoutError(f"{where.version_file}: expected {{\"layout\": N}} with "
                      f"N >= 1, got {stored!r}")
  return version


def check(workdir) -> int:
  """`read`, refusing a layout newer than `layout.VERSION`."""
  version = read(workdir)
  if version > layout.VERSION:
    raise LayoutError(
        f"{workdir}: written by a newer jaxpose (workdir layout {version}; "
        f"this one reads layouts 1 to {layout.VERSION}): upgrade jaxpose, or "
        "use another workdir")
  return version


def write(workdir) -> str:
  """Records this jaxpose's layout (`layout.VERSION`) in `workdir`."""
  where = layout.Workdir.of(workdir)
  os.makedirs(where.root, exist_ok=True)
  return files.write_json_atomic(where.version_file,
                                 {"layout": layout.VERSION})


__all__ = ["LayoutError", "read", "check", "write"]
