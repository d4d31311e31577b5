"""Deterministic 2D-to-3D lifters behind the method interface.

The baselines a user would otherwise pick beside GFPose, and DiffPose's
context encoders: one 3D pose per 2D pose, trained by regression on the
same splits (`pose.representation`), with the same optimiser, batches,
loop and checkpoints, and scored by the same estimation code with a single
hypothesis, so every lifter's row sits in the same table.  `config.model`
names the network and holds its constructor arguments:

  lifter_mlp       Martinez et al. (2017)'s residual MLP; the root joint is
                   set to exactly 0 (only the other joints are predicted).
  graph_lifter     GraFormer-style, one frame (`models.context_encoder`).
  temporal_lifter  the same over a window of T frames (`num_frames`): each
                   row is lifted from the centred window of its own clip's
                   2D, seen by its own camera (`data.windows`).
  The two graph lifters predict every joint, the root included, and give
  per-joint features: `Baseline.encode` is what DiffPose conditions on.

Windows reach the training batch as row indices: the batch holds
`window` [B, T] int (rows of the train split) and the loss gathers their
2D from the train split's `pose2d`, held once on the device.  Materialised
windows would cost T times the 2D (on jaxpose-mocap small with every
camera: 1.6 GB for T = 27, 4.7 GB for T = 81, against 58 MB of 2D and 46
or 139 MB of indices).

`config.windows.short_clips` (temporal lifter only): 'error' (default)
refuses a clip run shorter than the window, naming it; 'pad' gives its
rows their whole run with repeated ends (VideoPose3D's padding).

`config.holdout.fraction` (default 0: none): the share of training rows,
as whole clips (`data.windows.heldout_clips`; single poses one by one),
the lifter is not trained on, drawn by `config.holdout.seed`.  A context
encoder's error on them is its error on poses it has not seen, which is
what DiffPose fits its initial distribution to (`heldout_train_rows`).
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
from typing import Mapping

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxpose import checks
from jaxpose import models
from jaxpose.data import windows as windows_lib
from jaxpose.evaluation import chunks
from jaxpose.evaluation import config as eval_config_lib
from jaxpose.evaluation import estimation
from jaxpose.evaluation.runner import EvalContext, TaskResult
from jaxpose.methods import lifting
from jaxpose.methods import register
from jaxpose.models.context_encoder import LifterOutput
from jaxpose.pose import image_space

LIFTERS = ("lifter_mlp", "graph_lifter", "temporal_lifter")
SHORT_CLIPS = ("error", "pad")


@dataclasses.dataclass(frozen=True)
class BaselineEvalOptions:
  """The baseline's own `config.eval` field.

  Attributes:
    lift_batch_size: poses per compiled call when lifting held-out poses.
  """
  lift_batch_size: int

  def __post_init__(self):
    eval_config_lib.require_at_least("lift_batch_size", self.lift_batch_size, 1)


def make_lift_fn(apply_fn):
  """`lift(params, pose2d, *, train=False, key=None) -> pose3d` of the MLP.

  pose2d: [B, J, 2] model units -> [B, J, 3] model units, root-relative:
  the root joint is set to exactly 0 (the targets are root-relative, so,
  as in Martinez et al., only the other joints are predicted).
  """

  def lift(params, pose2d, *, train: bool = False, key=None):
    out = apply_fn(params, pose2d, train=train, dropout_key=key)  # [B, J, 3]
    return out.at[:, 0].set(0.0)

  return lift


def make_encoder_lift_fn(apply_fn):
  """`lift(params, pose2d, *, train=False, key=None) -> pose3d` of a graph
  lifter: its `LifterOutput.pose3d`, every joint as predicted.

  pose2d: [B, J, 2] (graph_lifter) or [B, T, J, 2] (temporal_lifter) model
  units -> [B, J, 3] model units.
  """

  def lift(params, pose2d, *, train: bool = False, key=None):
    return apply_fn(params, pose2d, train=train, dropout_key=key).pose3d

  return lift


def make_loss_fn(lift, *, pose2d_table=None):
  """The regression loss `loss_fn(params, batch, key)` of a lift function.

  Args:
    lift: `lift(params, inputs, *, train, key) -> [B, J, 3]`.
    pose2d_table: None, or the 2D of every row of the train split, `[N, J,
      2]` model units, for a temporal lifter: its batches name windows by
      row.

  batch: {"pose3d": [B, J, 3], "pose2d": [B, J, 2]} model units, or with a
  table {"pose3d": [B, J, 3], "window": [B, T] int rows of the table}. The
  loss is the mean squared error over every coordinate of the 3D pose; the
  key draws the dropout masks. aux: {"mpjpe_model": mean joint distance in
  model units}.
  """
  table = None if pose2d_table is None else jnp.asarray(pose2d_table, jnp.float32)

  def loss_fn(params, batch, key):
    sizes = {}
    checks.check_array("batch['pose3d']", batch["pose3d"], ("B", "J", 3),
                       sizes=sizes)
    if table is None:
      checks.check_array("batch['pose2d']", batch["pose2d"], ("B", "J", 2),
                         sizes=sizes)
      inputs = batch["pose2d"]
    else:
      checks.check_array("batch['window']", batch["window"], ("B", "T"),
                         sizes=sizes)
      inputs = table[batch["window"]]  # [B, T, J, 2]
    err = lift(params, inputs, train=True, key=key) - batch["pose3d"]
    return jnp.mean(jnp.square(err)), {
        "mpjpe_model": jnp.mean(jnp.linalg.norm(err, axis=-1))}

  return loss_fn


def _video_ids(rows, where: str) -> np.ndarray:
  """[N] str: each row's clip, and its camera when rows have one, so that a
  window is one camera's video of one clip."""
  missing = [k for k in ("clip", "frame") if k not in rows]
  if missing:
    raise ValueError(
        f"temporal_lifter: {where} has no per-row {' and '.join(missing)}: a "
        "window is consecutive frames of one clip, so the temporal lifter "
        "needs data with clips (e.g. data.name='mocap'; the synthetic "
        "quickstart data are single poses); use model.name='graph_lifter' "
        "for single frames")
  clip = np.asarray(rows["clip"]).astype(str)
  if "camera" not in rows:
    return clip
  camera = np.asarray(rows["camera"])
  clips, code = np.unique(clip, return_inverse=True)
  code = code.reshape(-1)
  count = lambda *keys: np.bincount(
      np.unique(np.stack(keys, 1), axis=0)[:, 0], minlength=len(clips))
  cams = count(code, camera)
  frames = count(code, np.asarray(rows["frame"]))
  bad = np.flatnonzero(np.bincount(code, minlength=len(clips)) != cams * frames)
  if bad.size:
    c = bad[0]
    raise ValueError(
        f"temporal_lifter: {where}: clip {str(clips[c])!r} is not seen whole by "
        f"each of its cameras ({frames[c]} frames, {cams[c]} cameras, "
        f"{np.sum(code == c)} rows; {bad.size} clip(s) like it), so its "
        "windows would mix views or skip frames; a window is one camera's "
        "video of a clip, so every camera of a clip must see the same frames "
        "(with data.name='mocap': data.train_cameras='all', "
        "data.test_cameras='all' and no data.max_test cap)")
  return np.char.add(np.char.add(clip, "@camera"), camera.astype(str))


@register("baseline")
class Baseline(lifting.LiftingMethod):
  """A deterministic 2D-to-3D lifter: MLP, graph or temporal (module doc)."""

  # The SDE and masking sections do not shape a lifter: leaving them out of
  # the fingerprint lets a baseline workdir survive edits to them.
  fingerprint_sections = ("method", "model", "representation")
  train_fields = ("pose3d", "pose2d")
  EvalOptions = BaselineEvalOptions

  def __init__(self, config):
    super().__init__(config)
    name = config.model.name
    if name not in LIFTERS:
      raise ValueError(f"model.name: the baseline trains one of "
                       f"{', '.join(LIFTERS)}, got {name!r}")
    self.model_name = name
    self._model_kwargs = {k: v for k, v in config.model.items() if k != "name"}
    self._model_kwargs["num_joints"] = self.representation.num_joints
    # The abstract module (no parameters allocated) checks the arguments now
    # and tells the window length and feature width.
    module = nnx.eval_shape(lambda: models.create_model_module(
        name, key=jax.random.key(0), **self._model_kwargs))
    self.graphdef = nnx.split(module, nnx.Param)[0]
    self.apply_fn = models.make_apply(self.graphdef)
    self._feature_dim = getattr(module, "feature_dim", None)
    self._num_frames = int(getattr(module, "num_frames", 1))
    self.short_clips = str((config.get("windows") or {}).get("short_clips",
                                                              "error"))
    if self.short_clips not in SHORT_CLIPS:
      raise ValueError(f"windows.short_clips: expected one of "
                       f"{', '.join(SHORT_CLIPS)}, got {self.short_clips!r}")
    holdout = config.get("holdout") or {}
    self.holdout_fraction = float(holdout.get("fraction", 0.0))
    self.holdout_seed = int(holdout.get("seed", 0))
    if not 0.0 <= self.holdout_fraction < 1.0:
      raise ValueError(f"holdout.fraction: expected a share of training rows "
                       f"in [0, 1) (0: none held out), got "
                       f"{self.holdout_fraction}")
    if name == "lifter_mlp":
      self.lift = make_lift_fn(self.apply_fn)
    else:
      self.lift = make_encoder_lift_fn(self.apply_fn)
    if self.is_temporal:
      self.train_fields = ("pose3d", "window")
    self._lift_jit = jax.jit(self.lift)
    # One program per input layout, reused by every call (features and 3D
    # side by side, so map_chunks sees one array).
    both = lambda out: jnp.concatenate([out.features, out.pose3d], -1)
    self._encode_jit = jax.jit(lambda p, x: both(self.apply_fn(p, x)))
    self._encode_windows_jit = jax.jit(
        lambda p, table, idx: both(self.apply_fn(p, table[idx])))

  # --- What the network is. ---

  @property
  def is_temporal(self) -> bool:
    return self.model_name == "temporal_lifter"

  @property
  def num_frames(self) -> int:
    """T, the 2D frames each prediction reads (1 but for the temporal lifter)."""
    return self._num_frames

  @property
  def feature_dim(self) -> int:
    """F, the width of `encode`'s features (a denoiser's cond_dim)."""
    self._require_encoder("feature_dim")
    return int(self._feature_dim)

  def _require_encoder(self, what: str):
    if self._feature_dim is None:
      raise ValueError(
          f"{what}: the {self.model_name!r} network has no per-joint features; "
          "a context encoder is a 'graph_lifter' or 'temporal_lifter' "
          "(config.model.name)")

  # --- Data. ---

  def window_rows(self, rows, *, where: str = "rows") -> np.ndarray:
    """Each row's centred window of `num_frames` rows of its own clip.

    Args:
      rows: per-row arrays with 'clip' [N] and 'frame' [N] (and 'camera' [N]
        when the data have several views: a window is one camera's video,
        so each camera of a clip must see the same frames).
      where: how messages name `rows`.

    Returns:
      Row indices into `rows`, column T // 2 the row itself.  # [N, T] int32

    Raises:
      ValueError: rows without clip/frame, clips not seen whole by each
        camera, or (windows.short_clips='error') runs shorter than T.
    """
    ids = _video_ids(rows, where)
    try:
      return windows_lib.centred_windows(
          ids, rows["frame"], self.num_frames,
          pad_short=self.short_clips == "pad").astype(np.int32)
    except ValueError as e:
      # The config's names for the window length and the padding.
      hint = (" (config: a smaller model.num_frames, or "
              "windows.short_clips='pad')" if "longer than" in str(e) else "")
      raise ValueError(f"temporal_lifter: {where}: {e}{hint}") from e

  @functools.cached_property
  def _windowed_splits(self):
    splits = super().splits
    if not self.is_temporal:
      return splits
    return {name: {**split, "window": self.window_rows(
        split, where=f"the {name} split of dataset {self.dataset.name!r}")}
            for name, split in splits.items()}

  @property
  def splits(self):
    """The lifting splits; a temporal lifter's also hold `window` [N, T]
    int32, each row's window as rows of its own split."""
    return self._windowed_splits

  def heldout_rows(self, rows) -> np.ndarray | None:
    """Rows of a train split (this lifter's, or another method's built on
    the same data) that training leaves out; None when none are.

    Args:
      rows: per-row arrays with 'pose2d' [N, J, 2] and, for clip data,
        'clip' [N] (whole clips are held out).

    Returns:
      Sorted row indices.  # [n] int64
    """
    if self.holdout_fraction == 0.0:
      return None
    n = len(rows["pose2d"])
    groups = np.asarray(rows["clip"]).astype(str) if "clip" in rows else (
        np.arange(n))
    try:
      held = windows_lib.heldout_clips(groups, self.holdout_fraction,
                                       seed=self.holdout_seed)
    except ValueError as e:
      raise ValueError(f"holdout.fraction={self.holdout_fraction}: {e}") from e
    return np.flatnonzero(held).astype(np.int64)

  @functools.cached_property
  def _heldout_train(self):
    return self.heldout_rows(self.splits["train"])

  def heldout_train_rows(self) -> np.ndarray | None:
    """The train split's rows training leaves out (`heldout_rows`)."""
    return self._heldout_train

  def train_rows(self) -> np.ndarray | None:
    held = self._heldout_train
    if held is None:
      return None
    keep = np.ones(len(self.splits["train"]["pose2d"]), bool)
    keep[held] = False
    return np.flatnonzero(keep)

  def fingerprint_extra(self) -> dict:
    # Which rows trained the network: resuming with other held-out rows
    # would train on poses that are meant to be unseen.
    held = self._heldout_train
    if held is None:
      return {}
    return {"holdout": dict(
        fraction=self.holdout_fraction, seed=self.holdout_seed,
        rows=int(len(held)),
        rows_sha1=hashlib.sha1(held.tobytes()).hexdigest())}

  # --- Training. ---

  def init_params(self, key):
    return models.create_model(self.model_name, key=key,
                               **self._model_kwargs)[1]

  def loss_fn(self):
    table = self.splits["train"]["pose2d"] if self.is_temporal else None
    return make_loss_fn(self.lift, pose2d_table=table)

  # --- Prediction. ---

  def _outputs(self, params, pose2d, window, *, batch_size: int,
               desc: str) -> np.ndarray:
    """[n, J, F + 3]: features and 3D of the rows (window None: one frame
    each; else the rows of `pose2d` in each row's window)."""
    if window is None:
      return chunks.map_chunks(lambda c, _: self._encode_jit(params, c["pose2d"]),
                               {"pose2d": np.asarray(pose2d, np.float32)},
                               chunk_size=batch_size, desc=desc)
    table = jnp.asarray(pose2d, jnp.float32)  # [N, J, 2], sent once
    return chunks.map_chunks(
        lambda c, _: self._encode_windows_jit(params, table, c["window"]),
        {"window": np.asarray(window, np.int32)}, chunk_size=batch_size,
        desc=desc)

  def _inputs(self, rows, row_indices):
    """(the rows' 2D, the selected rows' windows or None, the selection)."""
    pose2d = rows["pose2d"] if "pose2d" in rows else None
    checks.check_array("rows['pose2d']", pose2d,
                       ("N", self.representation.num_joints, 2))
    n = len(pose2d)
    sel = np.arange(n) if row_indices is None else np.asarray(row_indices)
    if sel.ndim != 1 or not np.issubdtype(sel.dtype, np.integer) or (
        sel.size and (sel.min() < -n or sel.max() >= n)):
      raise ValueError(f"row_indices: expected a 1-D int array of rows in "
                       f"[0, {n}), got shape {sel.shape} {sel.dtype}")
    if self.is_temporal:
      return pose2d, self.window_rows(rows)[sel], sel
    return np.asarray(pose2d)[sel], None, sel

  def encode(self, params, rows, *, batch_size: int,
             row_indices=None) -> LifterOutput:
    """The context encoder's features and 3D of the rows of a split.

    Args:
      params: the lifter's parameters (e.g. from `run_lib.load_trained`).
      rows: a split dict: 'pose2d' [N, J, 2] model units and, for the
        temporal lifter, 'clip' [N] and 'frame' [N] (and 'camera' [N] when
        present); windows are drawn from these rows only.
      batch_size: rows per compiled call.
      row_indices: encode only these rows (windows still come from all of
        `rows`); None for every row.  # [n] int

    Returns:
      `LifterOutput` of numpy arrays: features [n, J, F] and pose3d [n, J,
      3] in model units, the root joint as the lifter predicts it.

    Raises:
      ValueError: a 'lifter_mlp' network (no features), 2D of the wrong
        shape, rows without clips for the temporal lifter, short runs.
    """
    self._require_encoder("encode")
    pose2d, window, _ = self._inputs(rows, row_indices)
    out = self._outputs(params, pose2d, window, batch_size=batch_size,
                        desc="encode")
    f = self.feature_dim
    return LifterOutput(features=out[..., :f], pose3d=out[..., f:])

  def predict(self, params, rows, *, batch_size: int,
              row_indices=None) -> np.ndarray:
    """Lifted `[n, J, 3]` model-unit poses of the rows of a split (`rows`
    and `row_indices` as in `encode`; for a one-frame lifter `rows` may be
    the `[N, J, 2]` 2D itself); the MLP's root is exactly 0."""
    if not isinstance(rows, Mapping):
      rows = {"pose2d": rows}
    pose2d, window, _ = self._inputs(rows, row_indices)
    if self.model_name == "lifter_mlp":
      return chunks.map_chunks(
          lambda c, _: self._lift_jit(params, c["pose2d"]),
          {"pose2d": np.asarray(pose2d, np.float32)}, chunk_size=batch_size,
          desc="lift")
    return self._outputs(params, pose2d, window, batch_size=batch_size,
                         desc="lift")[..., -3:]

  def _estimate(self, ctx: EvalContext) -> TaskResult:
    size = self.eval_options.lift_batch_size
    if not self.is_temporal:
      pred = self.predict(ctx.params, ctx.test, batch_size=size)
    else:
      # The test rows are the first of the split; their windows index the
      # whole split, whose centre rows must be these very rows.
      full = self.splits["test"]["pose2d"]
      centre = ctx.test["window"][:, self.num_frames // 2]
      if not np.array_equal(full[centre], ctx.test["pose2d"]):
        raise ValueError("estimate: the test rows do not come from this "
                         "method's test split (their windows point elsewhere)")
      pred = self._outputs(ctx.params, full, ctx.test["window"],
                           batch_size=size, desc="lift")[..., -3:]
    pred_mm = np.asarray(self.representation.pose3d_from_model(
        pred, image_space.camera_meta(ctx.test)), np.float32)
    result = estimation.estimation_result(
        ctx, pred_mm[None], sampler="lifter", num_steps=0,
        title=f"estimate ({self.model_name})")
    result.figures["joint_names"] = list(self.representation.skeleton.joint_names)
    result.figures["model"] = self.model_name
    result.figures["num_frames"] = self.num_frames
    return result

  def eval_tasks(self):
    return {"estimate": self._estimate}


__all__ = ["Baseline", "BaselineEvalOptions", "LIFTERS", "SHORT_CLIPS",
           "make_lift_fn", "make_encoder_lift_fn", "make_loss_fn"]
