"""DiffPose's context encoder: a trained lifter, loaded read-only and frozen.

DiffPose conditions its denoiser on the features f_ST of a context encoder
pre-trained to predict 3D and then frozen, whose 3D initialises the depth
(the paper).  The encoder is any trained workdir whose method can `encode`
rows into `LifterOutput(features [N, J, F], pose3d [N, J, 3])` (the
baseline method with a 'graph_lifter' or 'temporal_lifter' network), named
by `config.diffpose.encoder_workdir` and rebuilt from that workdir alone
(`run_lib.load_trained`).

Its outputs are computed once per split, not inside the loss: the encoder
is frozen, so they are the same at every step.  Measured on 2 shared CPU
cores with the quickstart's encoder (GraphLifter, hidden 96, 5 layers): one
pass over the 50k training rows takes about 36 s, while recomputing them
inside the loss would add the encoder's forward pass on every batch (about
0.15 s per batch of 256, a third to a half of a denoiser step there, some
7 minutes over 3000 steps).  The price is memory: N x J x F float32
values (50k rows x 17 x 96: 330 MB; 107k mocap rows: 700 MB).

Checks (clear errors naming what differs): the encoder's representation
must be DiffPose's (same model units), its training data the same as
DiffPose's (the data keys that shape the training split; test-side keys
such as `test_2d`, and `cache_dir`, may differ), and its method must give
features.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
from typing import Any

import numpy as np

from jaxpose import config as config_lib

# Data keys that only pick the test rows (which 2D, stride, count, cameras),
# or say where the same files lie: an encoder trained with other values saw
# the same training rows.
_NOT_TRAINING_KEYS = ("n_test", "max_test", "cache_dir")
_TEST_SIDE_PREFIX = "test_"


class EncoderError(config_lib.ConfigError):
  """An encoder workdir DiffPose cannot use."""


def section_differences(ours, theirs, section: str, *,
                        skip=lambda key: False) -> list[str]:
  """`key: ours != theirs` lines of two config sections (flattened)."""
  a = config_lib.flatten(config_lib.to_plain(ours) or {}, section)
  b = config_lib.flatten(config_lib.to_plain(theirs) or {}, section)
  missing = "<absent>"
  return [f"{k}: {a.get(k, missing)!r} here, {b.get(k, missing)!r} in the "
          "encoder" for k in sorted(set(a) | set(b))
          if not skip(k.split(".")[-1]) and a.get(k, missing) != b.get(k, missing)]


def _not_training(key: str) -> bool:
  return key in _NOT_TRAINING_KEYS or key.startswith(_TEST_SIDE_PREFIX)


def params_sha1(params) -> str:
  """A digest of a parameter pytree's values (which network DiffPose saw)."""
  import jax
  h = hashlib.sha1()
  for path, leaf in jax.tree_util.tree_leaves_with_path(params):
    a = np.ascontiguousarray(np.asarray(leaf), np.float32)
    h.update(jax.tree_util.keystr(path).encode())
    h.update(a.tobytes())
  return h.hexdigest()


@dataclasses.dataclass(frozen=True)
class FrozenEncoder:
  """A trained context encoder and its (EMA) parameters, never trained here.

  Attributes:
    workdir: where it was trained.
    method: its `base.Method` (rebuilt from the workdir's config).
    params: its parameters.
    config: its config.
    feature_dim: F, the width of its per-joint features.
  """
  workdir: str
  method: Any
  params: Any
  config: Any
  feature_dim: int

  @property
  def model_name(self) -> str:
    return str(self.config.model.name)

  def sha1(self) -> str:
    return params_sha1(self.params)

  def check_training_data(self, config):
    """Refuses an encoder trained on other training rows than `config`'s."""
    diffs = section_differences(config.data, self.config.data, "data",
                                skip=_not_training)
    if diffs:
      raise EncoderError(
          f"diffpose.encoder_workdir={self.workdir!r}: the encoder was trained "
          f"on other data than DiffPose's ({'; '.join(diffs)}); train the "
          "encoder on DiffPose's data (same data section) or give DiffPose "
          "the encoder's")

  def heldout_train_rows(self, train) -> np.ndarray | None:
    """Indices of rows of `train` (DiffPose's train split, the same rows as
    the encoder's: `check_training_data`) the encoder was not trained on,
    or None when it was trained on all of them."""
    heldout_rows = getattr(self.method, "heldout_rows", None)
    rows = heldout_rows(train) if callable(heldout_rows) else None
    return None if rows is None else np.asarray(rows, np.int64)

  def encode(self, rows, *, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(features `[N, J, F]`, pose3d `[N, J, 3]`) of split rows (float32)."""
    out = self.method.encode(self.params, rows, batch_size=int(batch_size))
    features, pose3d = out
    return (np.asarray(features, np.float32), np.asarray(pose3d, np.float32))


def load(workdir: str, config) -> FrozenEncoder:
  """The encoder in `workdir`, checked against DiffPose's `config`.

  Raises:
    EncoderError: no workdir given or found, another representation, or a
      method without features.
  """
  from jaxpose import run_lib  # the runner builds methods; imported late
  if not workdir:
    raise EncoderError(
        "diffpose.encoder_workdir: empty; train a context encoder first "
        "(e.g. experiments/configs/encoder_quickstart.py) and pass "
        "--config.diffpose.encoder_workdir=<its workdir>")
  if not os.path.isdir(workdir):
    raise EncoderError(
        f"diffpose.encoder_workdir={workdir!r}: no such directory; train the "
        "context encoder there first (experiments/configs/encoder_*.py)")
  method, params, enc_config = run_lib.load_trained(workdir)
  try:
    feature_dim = int(method.feature_dim)  # raises for a lifter without features
  except (AttributeError, ValueError, TypeError):
    feature_dim = 0
  if not (callable(getattr(method, "encode", None)) and feature_dim > 0):
    raise EncoderError(
        f"diffpose.encoder_workdir={workdir!r}: its method "
        f"{enc_config.method!r} (network {enc_config.model.name!r}) gives no "
        "per-joint features; train a 'graph_lifter' or 'temporal_lifter' "
        "encoder (experiments/configs/encoder_quickstart.py)")
  diffs = section_differences(config.representation, enc_config.representation,
                              "representation")
  if diffs:
    raise EncoderError(
        f"diffpose.encoder_workdir={workdir!r}: the encoder works in other "
        f"model units ({'; '.join(diffs)}); DiffPose's representation "
        "section must equal the encoder's")
  return FrozenEncoder(workdir=workdir, method=method, params=params,
                       config=enc_config, feature_dim=feature_dim)


__all__ = ["EncoderError", "FrozenEncoder", "load", "section_differences",
           "params_sha1"]
