"""What every 2D-to-3D method on the 17-joint skeleton shares: its data,
and the left-right mirror of its rows.

`load_data` reads the config's `data` section (`jaxpose.data.datasets`) and
turns its splits into model units by the method's `representation`
section (`pose.representation.model_splits`), so GFPose, the lifters and
DiffPose see exactly the same rows.
"""
from __future__ import annotations

from typing import Callable

from jaxpose.data import datasets
from jaxpose.methods import base
from jaxpose.pose import mirror as mirror_lib
from jaxpose.pose import representation as rep_lib


def load_data(run: base.RunSettings, needs=None) -> base.Data:
  """The dataset `run.data` in the units of `run.sections.representation`."""
  del needs
  representation = run.sections.representation
  dataset = datasets.load(run.data)
  return base.Data(dataset=dataset, splits=rep_lib.model_splits(
      dataset.splits, representation, dataset_name=dataset.name))


def mirror(representation: rep_lib.Representation) -> Callable | None:
  """`mirror(batch)`: rows' 'pose3d' [B, J, 3] and 'pose2d' [B, J, 2] in
  model units mirrored (`pose.mirror`), other fields as they are; None in
  the image space, whose 3D is not camera x, y, z.

  Root-relative or camera 2D mirrors exactly as its 3D does; absolute
  screen 2D is flipped about the image centre, which is the mirrored 3D's
  projection when the principal point is there (a few pixels off for
  Human3.6M's cameras).
  """
  if representation.space != "root_relative":
    return None
  skeleton = representation.skeleton

  def mirror_rows(batch):
    out = dict(batch)
    out["pose3d"] = mirror_lib.mirror_joints(batch["pose3d"], skeleton)
    if "pose2d" in batch:
      out["pose2d"] = mirror_lib.mirror_2d(batch["pose2d"], skeleton)
    return out

  return mirror_rows


__all__ = ["load_data", "mirror"]
