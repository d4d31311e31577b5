"""DiffPose's data, its prepared H_K and its training rows.

  load_data  the lifting splits plus the frozen encoder's fields of every
             row (`enc_features`, `enc_pose3d`, and h_0's 2D `target2d`),
             computed once per split on first use, not inside the loss:
             the encoder is frozen, so they are the same at every step (the
             price is memory: N x J x F float32 features).
  prepare    H_K fitted on training rows the encoder never saw (its
             held-out rows; an encoder without them is refused unless
             `diffpose.seen_fit_rows='warn'`), with the 2D noise model
             (per row: `rows.py`, each split's rows then also hold their
             2D uncertainty `unc2d` [N, J]);
             the range of h_0 over the training rows ("x0_range", read
             only by evaluation: `eval.x0_clip`)
  training   the rows' state fields and the model's loss

Every random draw derives from `rng.purpose_key(seed, "fit")`, split into
`FitKeys` by purpose.  Camera 2D (`representation.input_2d='camera'`)
converts every 2D with its row's own camera (`image_space.camera_meta`:
the rows' `root_cam_mm` and `intrinsics`), as the lifting splits were.
"""
from __future__ import annotations

import collections.abc
from typing import NamedTuple

from absl import logging
import jax
import numpy as np

from jaxpose import checks
from jaxpose import rng
from jaxpose import settings
from jaxpose.core import box as box_lib
from jaxpose.methods import base
from jaxpose.methods import protocols
from jaxpose.methods import lifting
from jaxpose.methods.diffpose import initial as initial_lib
from jaxpose.methods.diffpose import rows as rows_lib
from jaxpose.pose import image_space
from jaxpose.training import holdout as holdout_lib

# The prepared range of h_0 = [target2d, pose3d]: 'lo', 'hi' [J, 5].
X0_RANGE = "x0_range"

# Fields the encoder adds to every split (model units).
ENCODED_FIELDS = ("enc_features", "enc_pose3d", "target2d")
TRAIN_FIELDS = ("pose3d", "pose2d") + ENCODED_FIELDS
# Each row's 2D uncertainty [N, J] (a per-row H_K only, `rows.py`).
UNCERTAINTY = "unc2d"


class FitKeys(NamedTuple):
  """The keys of DiffPose's data-derived draws, by purpose."""
  fit_rows: jax.Array  # the subset of rows H_K is fitted on
  fit_noise_2d: jax.Array  # the simulated 2D noise of those rows
  em_start: jax.Array  # EM's initialisation
  train_noise_2d: jax.Array  # the simulated 2D noise of the training rows

  @classmethod
  def of(cls, seed: int) -> "FitKeys":
    return cls(*jax.random.split(rng.purpose_key(seed, "fit"), 4))


class EncodedSplit(collections.abc.Mapping):
  """A split's rows plus the encoder's fields, computed on first access.

  Evaluation touches the training split only for fields it already has, so
  the encoder runs over the training rows only when training needs them.
  `fields` (from `encode()`) take precedence over the rows' own.
  """

  def __init__(self, rows: dict, encode, fields: tuple[str, ...]):
    self._rows = rows
    self._encode = encode  # () -> {field: [N, ...]}
    self._fields = tuple(fields)
    self._encoded = None

  def __getitem__(self, key):
    if key in self._fields:
      if self._encoded is None:
        self._encoded = self._encode()
      return self._encoded[key]
    return self._rows[key]

  def __iter__(self):
    yield from self._rows
    yield from (k for k in self._fields if k not in self._rows)

  def __len__(self):
    return len(set(self._rows) | set(self._fields))


def encode_rows(run: base.RunSettings, encoder: protocols.ContextEncoder, rows, *,
                target2d=None) -> dict:
  """The encoder's fields of split rows: features, 3D, and h_0's 2D.

  Args:
    run: DiffPose's settings.
    encoder: the frozen context encoder.
    rows: split rows ('pose2d' [N, J, 2] model units, the observed 2D,
      and what the encoder reads besides, e.g. clip and frame; camera 2D:
      'root_cam_mm' and 'intrinsics' too).
    target2d: h_0's 2D `[N, J, 2]`; None: the exact 2D where the rows
      hold it (`pose2d_exact`), else their `pose2d`.
  """
  representation = run.sections.representation
  checks.check_array("pose2d", rows["pose2d"], ("N", representation.num_joints, 2))
  features, pose3d = encoder.encode(
      rows, batch_size=run.sections.diffpose.encoder_batch_size)
  if target2d is None and "pose2d_exact" in rows:
    target2d = representation.pose2d_to_model(
        np.asarray(rows["pose2d_exact"], np.float32),
        image_space.camera_meta(rows))
  elif target2d is None:
    target2d = rows["pose2d"]
  return dict(enc_features=features, enc_pose3d=pose3d,
              target2d=np.asarray(target2d, np.float32))


def _uncertainty(run, rows, *, noisy: bool, evaluated: bool) -> dict:
  """{'unc2d': the rows' 2D uncertainty `[N, J]`} for a per-row H_K, of
  the 2D their centre holds (noisy: the training noise model's), else {};
  rows only evaluated may lack it (their 2D then counts as exact)."""
  dp = run.sections.diffpose
  if dp.initial_scope != "per_row":
    return {}
  simulated = noisy and dp.noise_2d == "px"
  return {UNCERTAINTY: rows_lib.row_uncertainty(
      rows, run.sections.representation, source=dp.row_uncertainty,
      noisy=noisy and dp.noise_2d == "data",
      sigma_px=dp.noise_2d_px if simulated else None,
      missing_is_exact=evaluated)}


def _encode_split(run, encoder, name: str, rows) -> dict:
  dp = run.sections.diffpose
  if name != "train" or not dp.noisy_train_2d:
    return dict(encode_rows(run, encoder, rows),
                **_uncertainty(run, rows, noisy=False,
                               evaluated=name != "train"))
  # Training sees the 2D noise model: the encoder's features and the
  # centre come from noisy 2D, h_0 keeps the exact 2D.
  clean, noisy = initial_lib.clean_and_noisy_2d(
      FitKeys.of(run.seed).train_noise_2d, rows, run.sections.representation,
      source=dp.noise_2d, sigma_px=dp.noise_2d_px)
  # An encoder that reads each keypoint's uncertainty reads the noisy 2D's.
  pairs = rows_lib.FIELDS.values()  # (the field of pose2d, of pose2d_noisy)
  noisy_rows = {k: v for k, v in rows.items()
                if k not in {exact for exact, _ in pairs}}
  if dp.noise_2d == "data":
    noisy_rows.update({exact: rows[noisy] for exact, noisy in pairs
                       if noisy in rows})
  fields = encode_rows(run, encoder, dict(noisy_rows, pose2d=noisy),
                       target2d=clean)
  return dict(fields, pose2d=noisy,
              **_uncertainty(run, rows, noisy=True, evaluated=False))


def load_data(run: base.RunSettings, needs) -> base.Data:
  """The lifting splits, each with the encoder's fields (computed lazily)."""
  data = lifting.load_data(run)
  encoder = needs["encoder"]
  noisy = run.sections.diffpose.noisy_train_2d

  def make(name, rows):
    def encode():
      logging.info("DiffPose: encoding the %s split (%d rows) with the "
                   "frozen encoder", name, len(rows["pose2d"]))
      return _encode_split(run, encoder, name, rows)
    fields = ENCODED_FIELDS + (("pose2d",) if noisy and name == "train" else ())
    if run.sections.diffpose.initial_scope == "per_row":
      fields += (UNCERTAINTY,)
    return EncodedSplit(rows, encode, fields)

  return base.Data(dataset=data.dataset, splits={
      name: make(name, rows) for name, rows in data.splits.items()})


def prepare(ctx: base.PrepareContext) -> dict[str, base.Artefact]:
  """{"initial": H_K}, fitted on training rows (the encoder's held-out
  ones if it has any).

  Raises:
    gmm.GMMFitError: the mixture fit did not converge.
  """
  run, encoder = ctx.run, ctx.needs["encoder"]
  dp = run.sections.diffpose
  train = ctx.data.splits["train"]
  n = len(train["pose2d"])
  keys = FitKeys(*jax.random.split(ctx.key, 4))
  held = encoder.heldout_rows(train)
  pool = np.arange(n) if held is None else held
  if held is None:
    why = ("the encoder names no held-out training rows, so H_K would be "
           "fitted on rows it was trained on, where its error is smaller "
           "than on new poses")
    if dp.seen_fit_rows == "refuse":
      raise settings.ConfigError(
          f"diffpose.encoder_workdir={encoder.workdir!r}: {why}; train the "
          "encoder with some rows held out (--config.holdout.fraction=0.1), "
          "or pass --config.diffpose.seen_fit_rows=warn to fit on them "
          "anyway (recorded as fit_rows_seen_by_encoder)")
    logging.warning("DiffPose: %s (diffpose.seen_fit_rows='warn'; H_K and "
                    "the eval JSON record fit_rows_seen_by_encoder=True)", why)
  # DiffPose's own held-out clips (`holdout`), drawn from that pool so
  # neither network sees them; left out of H_K's fit and of training.
  own = holdout_lib.draw(train, run.sections.holdout, pool=pool)
  if own:
    pool = np.setdiff1d(pool, own[holdout_lib.ARTEFACT]["rows"])
  if dp.fit_rows and len(pool) > dp.fit_rows:
    pool = np.sort(np.asarray(jax.random.choice(
        keys.fit_rows, pool, (int(dp.fit_rows),), replace=False)))
  rows = {k: np.asarray(train[k])[pool] for k in
          ("pose2d", "pose3d", "enc_pose3d", "target2d", "pose2d_screen",
           "intrinsics", "root_cam_mm", "pose2d_exact", "pose2d_noisy",
           UNCERTAINTY)
          if k in train}
  if dp.noisy_train_2d:  # the noise the training rows carry
    err2d = rows["target2d"] - rows["pose2d"]
  else:
    clean, noisy = initial_lib.clean_and_noisy_2d(
        keys.fit_noise_2d, rows, run.sections.representation,
        source=dp.noise_2d, sigma_px=dp.noise_2d_px)
    err2d = clean - noisy
  err3d = rows["pose3d"] - rows["enc_pose3d"]
  error = np.concatenate([err2d, err3d], axis=-1)  # [n, J, 5]
  if dp.initial == "mixture" and dp.num_kernels > len(error):
    raise settings.ConfigError(
        f"diffpose.num_kernels={dp.num_kernels}: more kernels than the "
        f"{len(error)} training rows H_K is fitted on")
  info = dict(encoder_workdir=encoder.workdir, encoder_digest=encoder.digest,
              fit_rows_seen_by_encoder=held is None)
  if dp.initial == "standard":
    fitted = initial_lib.standard_initial(error, scale_3d=dp.scale_3d,
                                          floor=dp.gmm_reg ** 0.5, info=info)
  elif dp.initial_scope == "per_row":
    # The centre's own 2D error (what the rows' uncertainty describes).
    fitted = rows_lib.fit_per_row(
        keys.em_start, rows["target2d"] - rows["pose2d"], err3d,
        rows[UNCERTAINTY], source=dp.row_uncertainty,
        num_kernels=dp.num_kernels, max_iters=dp.gmm_max_iters,
        tol=dp.gmm_tol, reg=dp.gmm_reg, info=info)
  else:
    fitted = initial_lib.fit_initial(keys.em_start, error, dp.num_kernels,
                                     max_iters=dp.gmm_max_iters,
                                     tol=dp.gmm_tol, reg=dp.gmm_reg, info=info)
  logging.info("DiffPose: fitted H_K (%s, M=%d, %d rows)", fitted.info["kind"],
               fitted.num_kernels, fitted.info["num_rows"])
  box = box_lib.Box.of_data(clean_states(train))
  return {**own, initial_lib.ARTEFACT: fitted.to_artefact(),
          X0_RANGE: base.Artefact(arrays=dict(lo=box.lo, hi=box.hi),
                                  info=dict(train_rows=n))}


def clean_states(rows) -> np.ndarray:
  """h_0 = [target2d, pose3d] of encoded split rows, `[N, J, 5]`."""
  return np.concatenate([np.asarray(rows["target2d"], np.float32),
                         np.asarray(rows["pose3d"], np.float32)], -1)


def training(model, data: base.Data, prepared) -> base.Training:
  """The train split's rows less DiffPose's held-out ones (`holdout`)."""
  train = data.splits["train"]
  fields = TRAIN_FIELDS + ((UNCERTAINTY,) if model.initial.scope == "per_row"
                           else ())
  return base.Training(arrays=holdout_lib.without_heldout(
      {k: train[k] for k in fields}, prepared), loss=model.loss)


# The settings H_K is made from (the training data's count too).
PREPARE_KEYS = tuple(f"diffpose.{k}" for k in (
    "initial", "num_kernels", "noise_2d", "noise_2d_px", "noisy_train_2d",
    "scale_3d", "fit_rows", "gmm_max_iters", "gmm_tol", "gmm_reg")) + ("seed",)


__all__ = ["ENCODED_FIELDS", "TRAIN_FIELDS", "UNCERTAINTY", "FitKeys",
           "EncodedSplit", "encode_rows", "load_data", "prepare", "training",
           "PREPARE_KEYS",
           "X0_RANGE", "clean_states"]
