"""DPoser's settings and model: a diffusion prior on body-space rotations.

The 63-D body pose (21 SMPL joints x axis-angle, root orientation apart;
`jaxpose.pose.body_space`), z-scored per dimension with the training
split's statistics, modelled by the GFPose MLP without its condition paths
(`models.ScoreMLP`, cond_dim=0), trained by noise prediction (mean over
dimensions) under sub-VP through the shared loop.  At test time it is a
regulariser of optimisation (`priors`, `tto`) in four tasks
(`eval_tasks`), each beside no prior, a Gaussian mixture and a joint
prior (GFPose's, from `eval.gfpose_workdir`).

The statistics, the canonical skeleton and the 22 -> 17 joint regressor
are prepared once from the training split (the artefact "body"), stored
beside the checkpoints with their digest in the fingerprint, so a
checkpoint is never used with other normalisation, and an evaluation on
other data reads them back.
"""
from __future__ import annotations

import dataclasses
import hashlib
from typing import Any, Literal

import numpy as np

from jaxpose import models
from jaxpose import settings
from jaxpose.core import losses
from jaxpose.core import sampling
from jaxpose.core import sde_spec
from jaxpose.core import xla_options
from jaxpose.data import datasets
from jaxpose.data import pipeline
from jaxpose.methods import base
from jaxpose.methods.dposer import body as body_lib
from jaxpose.pose import body_model as body_model_lib
from jaxpose.pose import mirror as mirror_lib
from jaxpose.training import holdout as holdout_lib

PARTS = body_lib.PARTS
BODY_KEYS = ("body_pose", "body_root_orient", "body_trans", "body_bone_lengths")
ARTEFACT = "body"


@dataclasses.dataclass(frozen=True)
class Sections:
  """DPoser's own config sections."""
  model: models.NetworkSpec
  sde: sde_spec.SDESpec
  # Training clips never trained on nor normalised with
  # (`training.holdout`): --mode=calibrate fits on them.
  holdout: holdout_lib.Holdout = holdout_lib.Holdout()


@dataclasses.dataclass(frozen=True)
class TrainOptions:
  """DPoser's keys of `train`: the loss's smallest time and its reduction
  over the 63 dimensions (DPoser's: 'mean')."""
  loss_eps: float = settings.field(above=0.0, below=1.0)
  loss_reduce: Literal["sum", "mean"]


def check(run: base.RunSettings):
  settings.one_of("model.name", run.sections.model.name, ("score_mlp",))
  if not hasattr(run.data, "body"):
    name = getattr(run.data, "name", "?")
    raise settings.ConfigError(
        f"data.name={name!r}: DPoser needs the body-space rotations of every "
        f"row (body_pose, root_orient, trans), which dataset {name!r} does "
        "not give (only 3D joint positions); datasets that do, with "
        "data.body=True: synthetic and mocap (their rigs' rotations), npz and "
        "h36m (rotations fitted to the joints, data/joints_to_body.py)")
  if not run.data.body:
    raise settings.ConfigError(
        "data.body: DPoser needs the body-space rotations of every row; set "
        "data.body=True (see experiments/configs/dposer_quickstart.py)")


@dataclasses.dataclass(frozen=True)
class DPoserModel:
  """DPoser's network and the body it poses, as pure functions.

  Attributes:
    sde: the forward process.
    network: the unconditional epsilon network on z-scored body poses.
    score_fn: `score_fn(params, x, t, cond=None) -> score`.
    zscore: the training split's per-dimension statistics.
    body: joints (and vertices with a body model) of body poses.
    train: the loss's settings.
    sample_eps: end time of the sampler's grid (`eval.generate.eps`).
    matmul_dtype: the dtype of `score_fn`'s dense products.
  """
  sde: Any
  network: models.Network
  score_fn: Any
  zscore: body_lib.ZScore
  body: body_lib.BodyJoints
  train: TrainOptions
  sample_eps: float = 1e-3
  matmul_dtype: str = "float32"

  def init(self, key):
    return self.network.init(key)

  def loss(self, params, batch, key):
    """Noise prediction on z-scored body poses `x` [B, 63]."""
    body_lib.check_body_pose("batch['x']", batch["x"])
    return losses.dsm_loss(params, batch["x"], None, key,
                           apply_fn=self.network.apply, sde=self.sde,
                           eps=self.train.loss_eps,
                           reduce=self.train.loss_reduce, train=True)

  def standardize(self, body_pose) -> np.ndarray:
    """Body poses `[N, 63]` -> z-scored float32 (the network's input)."""
    return np.asarray(self.zscore.standardize(
        np.asarray(body_pose, np.float32)), np.float32)

  def make_sampler(self, spec: str, num_steps: int):
    """The prior's sampler; top-level calls compile with the samplers' CPU
    options by rows (`core.xla_options.fast_sampling`)."""
    return xla_options.fast_sampling(sampling.make_sampler(
        spec, self.sde, self.score_fn, num_steps=int(num_steps),
        eps=float(self.sample_eps)), self.matmul_dtype)

  def sample_body_poses(self, params, key, num: int, *, spec: str,
                        num_steps: int) -> np.ndarray:
    """`num` body poses `[num, 63]` (radians) drawn from the prior."""
    sampler = self.make_sampler(spec, num_steps)
    z = sampler(params, key, sampling.Problem(
        x_init=np.zeros((num, body_lib.DIM), np.float32), cond=None))
    return np.asarray(self.zscore.unstandardize(np.asarray(z)), np.float32)


def load_data(run: base.RunSettings, needs) -> base.Data:
  """Every split with its body-space rotations, screen 2D and root-relative
  3D in mm."""
  del needs
  dataset = datasets.load(run.data)
  splits = {}
  for name, split in dataset.splits.items():
    missing = [k for k in BODY_KEYS if k not in split]
    if missing:
      raise ValueError(f"data: the {name} split of {dataset.name!r} has no "
                       f"{missing} (DPoser needs body-space rotations)")
    body_lib.check_body_pose(f"{name} body_pose", split["body_pose"])
    rows = dict(split)
    rows["pose2d_screen"] = np.asarray(split["pose2d"], np.float32)
    rows["pose3d_mm"] = np.asarray(
        split["pose3d"] - split["pose3d"][:, :1], np.float32)
    splits[name] = rows
  return base.Data(dataset=dataset, splits=splits)


def prepare(ctx: base.PrepareContext) -> dict[str, base.Artefact]:
  """{"body": z-score statistics, canonical bone lengths, 22 -> 17
  regressor}, all from the training split."""
  train = ctx.data.splits["train"]
  zscore = body_lib.ZScore.fit(train["body_pose"])
  body = body_lib.fit_body_joints(train)
  return {ARTEFACT: base.Artefact(
      arrays=dict(zscore_mean=zscore.mean, zscore_std=zscore.std,
                  bone_lengths=body.bone_lengths, regressor=body.regressor),
      info=dict(train_rows=int(len(train["body_pose"]))))}


def legacy_prepared(ctx):
  """A workdir trained before prepared/ existed (`parts.LegacyContext`):
  its state is what the training data gives today; that jaxpose
  fingerprinted the z-score by the sha256 of its float32 bytes and the
  bone lengths to 0.001 mm."""
  made = prepare(ctx.prepare_context())
  body = made[ARTEFACT]
  digest = hashlib.sha256(np.asarray(body["zscore_mean"], "<f4").tobytes())
  digest.update(np.asarray(body["zscore_std"], "<f4").tobytes())
  return made, {"body_statistics": {
      "zscore_sha256": digest.hexdigest()[:16],
      "bone_lengths_mm": [round(float(v), 3) for v in body["bone_lengths"]]}}


def build(run: base.RunSettings, prepared, needs) -> DPoserModel:
  del needs
  s = run.sections
  sde = s.sde.build()
  network = s.model.build(data_dim=body_lib.DIM, cond_dim=0)
  # Sampling's products in eval.matmul_dtype; the loss keeps network.apply.
  sampled = models.with_matmul_dtype(network, run.eval.matmul_dtype)
  body = prepared[ARTEFACT]
  # A bad body model file fails here, before any training.
  path = run.eval_options.body_model_path
  body_model = body_model_lib.load_body_model(path) if path else None
  return DPoserModel(
      sde=sde, network=network,
      score_fn=losses.make_score_fn(sampled.apply, sde),
      zscore=body_lib.ZScore(mean=body["zscore_mean"], std=body["zscore_std"]),
      body=body_lib.BodyJoints(bone_lengths=body["bone_lengths"],
                               regressor=body["regressor"], model=body_model),
      train=run.train_options, sample_eps=run.task_options["generate"].eps,
      matmul_dtype=run.eval.matmul_dtype)


def training(model: DPoserModel, data: base.Data, prepared) -> base.Training:
  """The z-scored body poses of the train split less the held-out rows,
  with the split's sampling weights when it has them (`data.train_balance`)."""
  train = data.splits["train"]
  weights = {k: train[k] for k in (pipeline.SAMPLE_WEIGHT,) if k in train}

  def mirror(batch):  # in radians: the z-score is not symmetric
    zscore = model.zscore
    pose = mirror_lib.mirror_body_pose(zscore.unstandardize(batch["x"]))
    return dict(batch, x=zscore.standardize(pose))

  return base.Training(arrays=holdout_lib.without_heldout(
      {"x": model.standardize(train["body_pose"]), **weights}, prepared),
      loss=model.loss, mirror=mirror)


def sample(trained: base.Trained, key, num: int) -> np.ndarray:
  """Joints `[num, 22, 3]` mm (body axes, pelvis at 0) of prior samples."""
  opts = trained.run.task_options["generate"]
  poses = trained.model.sample_body_poses(trained.params, key, num,
                                          spec=opts.sampler,
                                          num_steps=opts.steps)
  return np.asarray(trained.model.body.joints(poses), np.float32)


__all__ = ["PARTS", "BODY_KEYS", "ARTEFACT", "Sections", "TrainOptions",
           "DPoserModel", "check", "load_data", "prepare",
           "build", "training", "sample"]
