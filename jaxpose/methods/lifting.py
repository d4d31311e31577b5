"""What every 2D-to-3D method on the 17-joint skeleton shares: its data,
each keypoint's 2D uncertainty as a model may read it, and the left-right
mirror of its rows.

`load_data` reads the config's `data` section (`jaxpose.data.datasets`) and
turns its splits into model units by the method's `representation`
section (`pose.representation.model_splits`), so GFPose, the lifters and
DiffPose see exactly the same rows.
"""
from __future__ import annotations

from typing import Callable

from absl import logging
import numpy as np

from jaxpose import checks
from jaxpose import settings
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


# What a model may read of each keypoint besides its 2D: the rows' field
# (for the 2D in `pose2d`) and what it is, as a results file's
# `test_inputs` says.
UNCERTAINTY_FIELDS = {"confidence": "pose2d_confidence",
                      "sigma": "pose2d_sigma"}
UNCERTAINTY_KINDS = {
    "confidence": "a detector-like score",
    "sigma": "the noise model's own record of each keypoint's error, "
             "outliers included: an oracle no detector gives"}
# The batch field of a lifter's uncertainty channel.
UNCERTAINTY = "pose2d_uncertainty"


def keypoint_uncertainty(rows, representation: rep_lib.Representation,
                         source: str, *, missing_is_exact: bool,
                         where: str = "rows") -> np.ndarray:
  """Each keypoint's 2D uncertainty `[N, J]` float32, 0 for exact 2D.

  'confidence': 1 - the rows' `pose2d_confidence` (a detector-like score
  in [0, 1]); 'sigma': the rows' `pose2d_sigma` (the noise model's std per
  axis, screen units) times the representation's screen-to-model scale.

  Rows without the field (projected or exact 2D, a keypoint file without
  scores) read as exact 2D, uncertainty 0, with one warning, when
  `missing_is_exact`; else the field is required.
  """
  settings.one_of("uncertainty", source, tuple(UNCERTAINTY_FIELDS))
  field = UNCERTAINTY_FIELDS[source]
  shape = np.shape(rows["pose2d"])[:2]
  if field not in rows:
    if not missing_is_exact:
      raise ValueError(
          f"{where}: reading each keypoint's {source} needs the rows' "
          f"{field!r} [N, J], which they lack (they hold "
          f"{sorted(k for k in rows if k.startswith('pose2d'))}); train on "
          "2D with a noise model that writes it (data.train_2d='noisy')")
    logging.warning("%s hold no %r: their 2D is read as exact (confidence 1, "
                    "sigma 0)", where, field)
    return np.zeros(shape, np.float32)
  values = checks.check_array(field, np.asarray(rows[field], np.float32),
                              ("N", representation.num_joints))
  if source == "confidence":
    return 1.0 - np.clip(values, 0.0, 1.0)
  if np.any(values < 0):
    raise ValueError(f"{field}: expected stds >= 0")
  return values * np.float32(representation.scale_2d * representation.data_scale)


def mirror(representation: rep_lib.Representation) -> Callable | None:
  """`mirror(batch)`: rows' 'pose3d' [B, J, 3] and 'pose2d' [B, J, 2] in
  model units mirrored (`pose.mirror`), a per-keypoint uncertainty
  (`UNCERTAINTY` [B, J]) with left and right swapped, other fields as they
  are; None in the image space, whose 3D is not camera x, y, z.

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
    if UNCERTAINTY in batch:
      out[UNCERTAINTY] = mirror_lib.mirror_per_joint(batch[UNCERTAINTY],
                                                     skeleton)
    return out

  return mirror_rows


__all__ = ["load_data", "mirror", "keypoint_uncertainty", "UNCERTAINTY",
           "UNCERTAINTY_FIELDS", "UNCERTAINTY_KINDS"]
