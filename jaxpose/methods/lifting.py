"""What every 2D-to-3D method on the 17-joint skeleton shares: its data.

`load_data` reads the config's `data` section (`jaxpose.data.datasets`) and
turns its splits into model units by the method's `representation`
section (`pose.representation.model_splits`), so GFPose, the lifters and
DiffPose see exactly the same rows.
"""
from __future__ import annotations

from jaxpose.data import datasets
from jaxpose.methods import base
from jaxpose.pose import representation as rep_lib


def load_data(run: base.RunSettings, needs=None) -> base.Data:
  """The dataset `run.data` in the units of `run.sections.representation`."""
  del needs
  representation = run.sections.representation
  dataset = datasets.load(run.data)
  return base.Data(dataset=dataset, splits=rep_lib.model_splits(
      dataset.splits, representation, dataset_name=dataset.name))


__all__ = ["load_data"]
