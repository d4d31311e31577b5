"""What every 2D-to-3D method on the 17-joint skeleton shares: its data.

`LiftingMethod` reads the config's `representation` and `data` sections
once (`pose.representation.load_lifting_data`) and serves `dataset`,
`splits` (model units plus mm copies) and `representation` to the method
built on it, so the methods see exactly the same rows.
"""
from __future__ import annotations

import functools

from jaxpose.methods import base
from jaxpose.pose import representation as rep_lib


class LiftingMethod(base.Method):
  """A `base.Method` whose data are pose-lifting splits (not registered)."""

  def __init__(self, config):
    super().__init__(config)
    self.representation = rep_lib.Representation.from_config(config.representation)

  @functools.cached_property
  def _data(self):
    return rep_lib.load_lifting_data(self.config)

  @property
  def dataset(self):
    return self._data[1]

  @property
  def splits(self):
    return self._data[2]

  def checkpoint_extra(self) -> dict:
    # Evaluation can always turn network outputs back into millimetres.
    return {"representation": self.representation.to_dict()}


__all__ = ["LiftingMethod"]
