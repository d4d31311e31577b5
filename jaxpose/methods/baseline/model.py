"""The lifters' settings and model: one 3D pose per 2D pose, by regression.

`config.model` names the network and holds its constructor arguments:

  lifter_mlp       Martinez et al. (2017)'s residual MLP; the root joint is
                   set to exactly 0 (only the other joints are predicted).
  graph_lifter     GraFormer-style, one frame (`models.context_encoder`).
  temporal_lifter  the same over a window of T frames (`num_frames`): each
                   row is lifted from the centred window of its own clip's
                   2D, seen by its own camera (`data.windows`).
  The two graph lifters predict every joint, the root included, and give
  per-joint features: what DiffPose conditions on (`encoder`).

`config.inputs.uncertainty` ('confidence', or the oracle 'sigma' for an
ablation) makes a one-frame lifter read each keypoint's 2D uncertainty
(`lifting.keypoint_uncertainty`) as a third input channel beside its
(u, v), in training and at test time; rows without it read as exact 2D,
with a warning.

Windows reach the training batch as row indices: the batch holds
`window` [B, T] int (rows of the train split) and the loss gathers their
2D from the train split's `pose2d`, held once on the device; materialised
windows would cost T times the 2D of the split.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Literal, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from jaxpose import checks
from jaxpose import models
from jaxpose import settings
from jaxpose.data import windows as windows_lib
from jaxpose.evaluation import chunks
from jaxpose.methods import base
from jaxpose.methods import lifting
from jaxpose.pose import representation as rep_lib
from jaxpose.training import holdout as holdout_lib

LIFTERS = ("lifter_mlp", "graph_lifter", "temporal_lifter")


# `config.holdout`: training rows the lifter never trains on (whole clips);
# a context encoder's error on them is its error on poses it has not seen,
# which DiffPose fits its initial distribution to.
Holdout = holdout_lib.Holdout


@dataclasses.dataclass(frozen=True)
class Windows:
  """`config.windows` (the temporal lifter's): a clip run shorter than the
  window is an error naming it ('error') or gets its ends repeated ('pad',
  VideoPose3D's padding)."""
  short_clips: Literal["error", "pad"] = "error"


@dataclasses.dataclass(frozen=True)
class Inputs:
  """`config.inputs`: what a lifter reads of each keypoint besides its 2D:
  'none', 'confidence' (a detector-like score, `pose2d_confidence`) or
  'sigma' (the noise model's own std, `pose2d_sigma`: an oracle no
  detector gives, for ablations)."""
  uncertainty: Literal["none", "confidence", "sigma"] = "none"


@dataclasses.dataclass(frozen=True)
class Sections:
  """The lifters' own config sections."""
  representation: rep_lib.Representation
  model: models.NetworkSpec
  holdout: Holdout = Holdout()
  windows: Windows = Windows()
  inputs: Inputs = Inputs()


@dataclasses.dataclass(frozen=True)
class EvalOptions:
  """The lifters' own `config.eval` fields: poses per compiled call when
  lifting held-out poses, and `flip_average`: a one-frame lifter's pose the
  mean of its own and the unmirrored lift of its mirrored 2D (test-time
  flip averaging, as VideoPose3D evaluates; none of the three papers'
  released pipelines does); `subtract_root`: the lift minus its own root
  joint, as DiffPose scores its encoder and its hypotheses (the graph
  lifters predict the root; the MLP's is 0 already)."""
  lift_batch_size: int = settings.field(at_least=1)
  flip_average: bool = False
  subtract_root: bool = False


def check(run: base.RunSettings):
  settings.one_of("model.name", run.sections.model.name, LIFTERS)
  if run.eval.matmul_dtype != "float32":
    raise settings.ConfigError(
        f"eval.matmul_dtype={run.eval.matmul_dtype!r}: an option of the "
        "diffusion methods' sampling; a lifter's products stay float32 "
        "(leave it out)")
  if (run.sections.inputs.uncertainty != "none"
      and run.sections.model.name == "temporal_lifter"):
    raise settings.ConfigError(
        "inputs.uncertainty: a one-frame lifter's option (lifter_mlp, "
        "graph_lifter); the temporal lifter reads the 2D alone")


def make_lift_fn(apply_fn):
  """`lift(params, pose2d, *, train=False, key=None) -> pose3d` of the MLP.

  pose2d: [B, J, C] model units -> [B, J, 3] model units, the root joint
  exactly 0 (module doc).
  """

  def lift(params, pose2d, *, train: bool = False, key=None):
    out = apply_fn(params, pose2d, train=train, dropout_key=key)  # [B, J, 3]
    return out.at[:, 0].set(0.0)

  return lift


def make_encoder_lift_fn(apply_fn):
  """`lift(params, pose2d, *, train=False, key=None) -> pose3d` of a graph
  lifter: its `LifterOutput.pose3d`, every joint as predicted.

  pose2d: [B, J, C] (graph_lifter) or [B, T, J, 2] (temporal_lifter) model
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

  batch: {"pose3d": [B, J, 3], "pose2d": [B, J, 2]} model units (and
  `lifting.UNCERTAINTY` [B, J], read as a third channel, when the lifter
  reads one), or with a table {"pose3d": [B, J, 3], "window": [B, T] int
  rows of the table}. The
  loss: the 3D pose's mean squared error (key: the dropout masks); aux:
  {"mpjpe_model": mean joint distance in model units}.
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
      if lifting.UNCERTAINTY in batch:
        checks.check_array(f"batch[{lifting.UNCERTAINTY!r}]",
                           batch[lifting.UNCERTAINTY], ("B", "J"), sizes=sizes)
        inputs = jnp.concatenate(
            [inputs, batch[lifting.UNCERTAINTY][..., None]], -1)
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


@dataclasses.dataclass(frozen=True)
class LifterModel:
  """A lifter's network and pure functions of its parameters.

  Attributes:
    representation: mm <-> model units.
    network: the lifter network.
    short_clips: the temporal lifter's rule for short clip runs.
    uncertainty: what it reads of each keypoint besides its 2D
      (`Inputs.uncertainty`).
  """
  representation: rep_lib.Representation
  network: models.Network
  short_clips: str
  uncertainty: str = "none"

  @property
  def name(self) -> str:
    return self.network.name

  @property
  def is_temporal(self) -> bool:
    return self.name == "temporal_lifter"

  @property
  def num_frames(self) -> int:
    """T, the 2D frames each prediction reads (1 but for the temporal lifter)."""
    return int(getattr(self.network.abstract, "num_frames", 1))

  @property
  def feature_dim(self) -> int | None:
    """F, the width of the per-joint features (None: the MLP has none)."""
    dim = getattr(self.network.abstract, "feature_dim", None)
    return None if dim is None else int(dim)

  @functools.cached_property
  def lift(self):
    if self.name == "lifter_mlp":
      return make_lift_fn(self.network.apply)
    return make_encoder_lift_fn(self.network.apply)

  @functools.cached_property
  def _jitted(self):
    # One program per input layout, reused by every call (features and 3D
    # side by side, so map_chunks sees one array).
    apply = self.network.apply
    both = lambda out: jnp.concatenate([out.features, out.pose3d], -1)
    return dict(
        lift=jax.jit(self.lift),
        encode=jax.jit(lambda p, x: both(apply(p, x))),
        encode_windows=jax.jit(lambda p, table, idx: both(apply(p, table[idx]))))

  def init(self, key):
    return self.network.init(key)

  def loss(self, params, batch, key):
    """The regression loss of one-frame batches (`make_loss_fn`)."""
    return make_loss_fn(self.lift)(params, batch, key)

  def window_rows(self, rows, *, where: str = "rows") -> np.ndarray:
    """Each row's centred window of `num_frames` rows of its own clip.

    Args:
      rows: per-row arrays with 'clip' [N] and 'frame' [N] (and 'camera' [N]
        when the data have several views: a window is one camera's video,
        so each camera of a clip must see the same frames).
      where: how messages name `rows`.

    Returns:
      Row indices into `rows`, column T // 2 the row itself.  # [N, T] int32
    """
    ids = _video_ids(rows, where)
    try:
      return windows_lib.centred_windows(
          ids, rows["frame"], self.num_frames,
          pad_short=self.short_clips == "pad").astype(np.int32)
    except ValueError as e:
      hint = (" (config: a smaller model.num_frames, or "
              "windows.short_clips='pad')" if "longer than" in str(e) else "")
      raise ValueError(f"temporal_lifter: {where}: {e}{hint}") from e

  def outputs(self, params, pose2d, window, *, batch_size: int,
              desc: str) -> np.ndarray:
    """[n, J, F + 3]: features and 3D of the rows (window None: one frame
    each; else the rows of `pose2d` in each row's window)."""
    if window is None:
      return self._map_rows("encode", params, pose2d, batch_size=batch_size,
                            desc=desc)
    # The chunk's size from the memory its program needs (a lifter draws
    # nothing, so any size gives the same outputs).
    table = jnp.asarray(pose2d, jnp.float32)  # [N, J, 2], sent once
    window = np.asarray(window, np.int32)
    size, encode = chunks.fit_to_memory(
        batch_size, len(window), lambda size: self._jitted[
            "encode_windows"].lower(params, table, jax.ShapeDtypeStruct(
                (size, *window.shape[1:]), jnp.int32)).compile(), desc=desc)
    return chunks.map_chunks(lambda c, _: encode(params, table, c["window"]),
                             {"window": window}, chunk_size=size, desc=desc)

  def _map_rows(self, name: str, params, pose2d, *, batch_size: int,
                desc: str) -> np.ndarray:
    """`self._jitted[name](params, pose2d)` over chunks of the rows, their
    size from the memory the program needs (`chunks.fit_to_memory`; a
    lifter draws nothing, so any size gives the same outputs)."""
    rows = np.asarray(pose2d, np.float32)
    fn = self._jitted[name]
    size, compiled = chunks.fit_to_memory(
        batch_size, len(rows), lambda size: fn.lower(params, jax.ShapeDtypeStruct(
            (size, *rows.shape[1:]), jnp.float32)).compile(), desc=desc)
    return chunks.map_chunks(lambda c, _: compiled(params, c["pose2d"]),
                             {"pose2d": rows}, chunk_size=size, desc=desc)

  def uncertainty_of(self, rows, *, training: bool = False):
    """The rows' per-keypoint uncertainty `[N, J]` this lifter reads, or
    None when it reads none: their `lifting.UNCERTAINTY` when already read,
    else `lifting.keypoint_uncertainty` (at test time rows without it read
    as exact 2D)."""
    if self.uncertainty == "none":
      return None
    if lifting.UNCERTAINTY in rows:
      return np.asarray(rows[lifting.UNCERTAINTY], np.float32)
    return lifting.keypoint_uncertainty(
        rows, self.representation, self.uncertainty,
        missing_is_exact=not training,
        where="the training rows" if training else "the lifted rows")

  def inputs(self, rows, row_indices=None):
    """(the rows' network input `[N, J, C]` (their 2D, and its uncertainty
    when the lifter reads one), the selected rows' windows or None, the
    selection)."""
    pose2d = rows["pose2d"] if "pose2d" in rows else None
    checks.check_array("rows['pose2d']", pose2d,
                       ("N", self.representation.num_joints, 2))
    uncertainty = self.uncertainty_of(rows)
    if uncertainty is not None:
      pose2d = np.concatenate([np.asarray(pose2d, np.float32),
                               uncertainty[..., None]], -1)
    n = len(pose2d)
    sel = np.arange(n) if row_indices is None else np.asarray(row_indices)
    if sel.ndim != 1 or not np.issubdtype(sel.dtype, np.integer) or (
        sel.size and (sel.min() < -n or sel.max() >= n)):
      raise ValueError(f"row_indices: expected a 1-D int array of rows in "
                       f"[0, {n}), got shape {sel.shape} {sel.dtype}")
    if self.is_temporal:
      return pose2d, self.window_rows(rows)[sel], sel
    return np.asarray(pose2d)[sel], None, sel

  def predict(self, params, rows, *, batch_size: int,
              row_indices=None) -> np.ndarray:
    """Lifted `[n, J, 3]` model-unit poses of the rows of a split (for a
    one-frame lifter `rows` may be the `[N, J, 2]` 2D itself); the MLP's
    root is exactly 0."""
    if not isinstance(rows, Mapping):
      rows = {"pose2d": rows}
    pose2d, window, _ = self.inputs(rows, row_indices)
    if self.name == "lifter_mlp":
      return self._map_rows("lift", params, pose2d, batch_size=batch_size,
                            desc="lift")
    return self.outputs(params, pose2d, window, batch_size=batch_size,
                        desc="lift")[..., -3:]


def build(run: base.RunSettings, prepared, needs) -> LifterModel:
  del prepared, needs
  s = run.sections
  # A third input channel only when read, so networks without one keep
  # the arguments they were built with.
  extra = {} if s.inputs.uncertainty == "none" else dict(in_channels=3)
  network = s.model.build(num_joints=s.representation.num_joints, **extra)
  return LifterModel(representation=s.representation, network=network,
                     short_clips=s.windows.short_clips,
                     uncertainty=s.inputs.uncertainty)


def load_data(run: base.RunSettings, needs) -> base.Data:
  """The lifting splits; a temporal lifter's also hold `window` [N, T]
  int32, each row's window as rows of its own split."""
  data = lifting.load_data(run, needs)
  if run.sections.model.name != "temporal_lifter":
    return data
  model = build(run, {}, needs)
  return base.Data(dataset=data.dataset, splits={
      name: {**split, "window": model.window_rows(
          split, where=f"the {name} split of dataset {data.dataset.name!r}")}
      for name, split in data.splits.items()})


__all__ = ["LIFTERS", "Holdout", "Windows", "Inputs", "Sections", "EvalOptions",
           "LifterModel", "build", "load_data", "check", "make_lift_fn",
           "make_encoder_lift_fn", "make_loss_fn"]
