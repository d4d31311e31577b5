"""What a trained lifter keeps and offers: held-out rows, and itself as a
frozen context encoder.

The method's `prepare` (`parts.prepare`) draws, once, the training rows
the lifter never trains on (`config.holdout`; whole clips) and the runner
stores them beside the checkpoints, so every later use (DiffPose's fit of H_K to the encoder's
error on them, an evaluation on other data) reads the same rows instead
of drawing them again from whatever data is at hand.

`context_encoder(trained)` is the `protocols.ContextEncoder` DiffPose needs: the
graph lifters' per-joint features and 3D, and those held-out rows.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import numpy as np

from jaxpose import digest as digest_lib
from jaxpose import settings
from jaxpose.methods import base
from jaxpose.methods import lifting
from jaxpose.methods.baseline import model as model_lib
from jaxpose.training import holdout as holdout_lib


def training(model: model_lib.LifterModel, data: base.Data,
             prepared) -> base.Training:
  """The train split's rows but the held-out ones (with each keypoint's
  uncertainty when the lifter reads it); a temporal lifter's batches name
  windows by row and its loss reads their 2D from the whole split's."""
  train = data.splits["train"]
  fields = ("pose3d", "window") if model.is_temporal else ("pose3d", "pose2d")
  arrays = {k: train[k] for k in fields}
  uncertainty = model.uncertainty_of(train, training=True)
  if uncertainty is not None:
    arrays[lifting.UNCERTAINTY] = uncertainty
  arrays = holdout_lib.without_heldout(arrays, prepared)
  table = train["pose2d"] if model.is_temporal else None
  # A temporal lifter's 2D comes from the table inside the loss: unmirrored.
  return base.Training(arrays=arrays, loss=model_lib.make_loss_fn(
      model.lift, pose2d_table=table), mirror=None if model.is_temporal
                       else lifting.mirror(model.representation))


@dataclasses.dataclass(frozen=True)
class LifterEncoder:
  """A trained graph lifter as a frozen `protocols.ContextEncoder`."""
  model: model_lib.LifterModel
  params: Any
  prepared: Mapping[str, base.Artefact]
  workdir: str
  network: str
  feature_dim: int
  digest: str

  def encode(self, rows, *, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(features `[N, J, F]`, pose3d `[N, J, 3]`) of split rows (float32).

    rows: a split dict: 'pose2d' [N, J, 2] model units and, for the
    temporal lifter, 'clip' [N] and 'frame' [N] (and 'camera' [N]);
    windows are drawn from these rows only.
    """
    pose2d, window, _ = self.model.inputs(rows)
    out = self.model.outputs(self.params, pose2d, window,
                             batch_size=int(batch_size), desc="encode")
    f = self.feature_dim
    return (np.asarray(out[..., :f], np.float32),
            np.asarray(out[..., f:], np.float32))

  def heldout_rows(self, train) -> np.ndarray | None:
    """The rows of `train` (the lifter's own train split) it never saw."""
    return holdout_lib.rows(
        self.prepared, len(train["pose2d"]),
        where=f"the train split given to the encoder of {self.workdir}")


def context_encoder(trained: base.Trained) -> LifterEncoder:
  """`trained` as a context encoder (a graph or temporal lifter)."""
  model = trained.model
  if model.feature_dim is None:
    raise settings.ConfigError(
        f"{trained.workdir}: its network {model.name!r} gives no per-joint "
        "features; a context encoder is a 'graph_lifter' or "
        "'temporal_lifter' (e.g. experiments/configs/encoder_quickstart.py)")
  return LifterEncoder(model=model, params=trained.params,
                       prepared=trained.prepared, workdir=trained.workdir,
                       network=model.name, feature_dim=model.feature_dim,
                       digest=digest_lib.digest(trained.params))


__all__ = ["training", "LifterEncoder", "context_encoder"]
