"""GFPose's settings and model: one conditional score network of 3D poses.

The network (`models.ScoreMLP`) sees `[B, J, 3]` poses in model units
(`pose.representation`) and is trained by denoising score matching with
hierarchical condition masking (`masking`) drawn inside the loss, so the
masks are pure data augmentation. Every test-time task is a
`sampling.Problem` value (`problems`) sampled by `GFPoseModel.sample_rows`.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from jaxpose import models
from jaxpose import settings
from jaxpose.core import box as box_lib
from jaxpose.core import losses
from jaxpose.core import sampling
from jaxpose.core import sde_spec
from jaxpose.core import xla_options
from jaxpose.evaluation import chunks
from jaxpose.methods import base
from jaxpose.methods import protocols
from jaxpose.methods.gfpose import masking
from jaxpose.methods.gfpose import problems
from jaxpose.pose import image_space
from jaxpose.pose import representation as rep_lib
from jaxpose.training import holdout as holdout_lib


@dataclasses.dataclass(frozen=True)
class Sections:
  """GFPose's own config sections."""
  representation: rep_lib.Representation
  model: models.NetworkSpec
  sde: sde_spec.SDESpec
  mask: masking.MaskConfig
  # Training clips never trained on (`training.holdout`): what
  # --mode=calibrate fits the hypotheses' calibration on.
  holdout: holdout_lib.Holdout = holdout_lib.Holdout()


@dataclasses.dataclass(frozen=True)
class TrainOptions:
  """GFPose's keys of `train`: the loss's smallest time and its reduction
  over the pose's numbers."""
  loss_eps: float = settings.field(above=0.0, below=1.0)
  loss_reduce: Literal["sum", "mean", "half_sum"]


@dataclasses.dataclass(frozen=True)
class GFPoseModel:
  """GFPose's networks and pure functions of their parameters.

  Attributes:
    representation: mm <-> model units.
    sde: the forward process.
    network: the conditional epsilon network.
    score_fn: `score_fn(params, x, t, cond) -> score`.
    matmul_dtype: the dtype of `score_fn`'s dense products (the samplers'
      CPU options follow it, `core.xla_options.sampling_options`).
    mask: the training-time condition masking.
    train: the loss's settings.
  """
  representation: rep_lib.Representation
  sde: Any
  network: models.Network
  score_fn: Any
  mask: masking.MaskConfig
  train: TrainOptions
  matmul_dtype: str = "float32"

  def init(self, key):
    return self.network.init(key)

  def loss(self, params, batch, key):
    """Masked-condition denoising score matching on `[B, J, 3]` poses.

    The mask and the 2D/3D swap are drawn from the step key inside the
    loss, so they are a function of (seed, step) only.
    """
    mask_key, dsm_key = jax.random.split(key)
    cond = masking.make_condition(mask_key, batch["pose3d"], batch["pose2d"],
                                  self.mask, self.representation.skeleton)
    return losses.dsm_loss(params, batch["pose3d"], cond, dsm_key,
                           apply_fn=self.network.apply, sde=self.sde,
                           eps=self.train.loss_eps,
                           reduce=self.train.loss_reduce, train=True)

  def make_sampler(self, spec: str, num_steps: int, *, eps: float):
    """A sampler of this model from a spec ('ddim:eta=1', 'pc:snr=0.16')."""
    return sampling.make_sampler(
        spec, self.sde, self.score_fn, num_steps=int(num_steps), eps=float(eps),
        example_shape=(self.representation.num_joints, 3))

  def sample_rows(self, sampler, params, key, make_problem, inputs: dict, *,
                  num_hypotheses: int, chunk_size: int, desc: str,
                  x0_range: box_lib.Box | None = None) -> np.ndarray:
    """H samples per row of `inputs` in model units, `[H, N, J, 3]`.

    `make_problem(chunk)` turns a chunk of `inputs` into a `sampling.Problem`;
    chunk i samples with `fold_in(key, i)`. Large chunks are compiled with
    the CPU sampling options (`core.xla_options`); a chunk whose program
    would not fit in memory is halved until it does (`chunks.fit_to_memory`). x0_range: the box the
    samplers keep their denoised estimate in (`x0_range`), or None.
    """
    n = len(next(iter(inputs.values())))
    if not hasattr(sampler, "hypotheses_program"):  # a wrapped sampler
      options = xla_options.sampling_options(
          rows=chunk_size * num_hypotheses, matmul_dtype=self.matmul_dtype)
      return chunks.map_chunks(
          lambda chunk, index: sampler.hypotheses(
              params, jax.random.fold_in(key, index),
              make_problem(chunk).replace(x0_range=x0_range), num_hypotheses,
              compiler_options=options),
          inputs, chunk_size=chunk_size, row_axis=1, desc=desc)

    def problem_of(chunk):
      return make_problem(chunk).replace(x0_range=x0_range)

    def compile_for(size):
      # The options of the size asked for, as before sizes were fitted.
      rows = (chunk_size if size == min(chunk_size, n) else size)
      options = xla_options.sampling_options(
          rows=rows * num_hypotheses, matmul_dtype=self.matmul_dtype)
      example = {k: jnp.asarray(np.repeat(np.asarray(v[:1]), size, 0))
                 for k, v in inputs.items()}
      return sampler.hypotheses_program(options).lower(
          params, key, problem_of(example), num_hypotheses).compile()

    size, compiled = chunks.fit_to_memory(chunk_size, n, compile_for,
                                          desc=desc)

    def one_chunk(chunk, index):
      return compiled(params, jax.random.fold_in(key, index),
                      problem_of(chunk))

    return chunks.map_chunks(one_chunk, inputs, chunk_size=size,
                             row_axis=1, desc=desc)

  def to_mm(self, samples, rows=None) -> np.ndarray:
    """Model-unit poses `[..., J, 3]` -> mm relative to the true root.

    rows: the poses' split rows, whose camera fields back-project the
    "image" space; None (generated poses) assumes the nominal camera.
    """
    meta = None if rows is None else image_space.camera_meta(rows)
    return np.asarray(self.representation.pose3d_from_model(
        np.asarray(samples), meta), np.float32)

  def generate(self, params, key, num: int, *, spec: str, num_steps: int,
               eps: float, x0_range: box_lib.Box | None = None) -> np.ndarray:
    """`num` unconditional poses, mm `[num, J, 3]` (nominal camera)."""
    sampler = self.make_sampler(spec, num_steps, eps=eps)
    joints = self.representation.num_joints
    problem = problems.generation_problem(num, joints).replace(x0_range=x0_range)
    return self.to_mm(sampler(params, key, problem))


X0_RANGE = "x0_range"  # the prepared artefact: 'lo', 'hi' [J, 3] model units


def prepare(ctx: base.PrepareContext) -> dict[str, base.Artefact]:
  """{"x0_range": the training split's min and max per coordinate}."""
  pose3d = ctx.data.splits["train"]["pose3d"]  # [N, J, 3] model units
  box = box_lib.Box.of_data(pose3d)
  return {X0_RANGE: base.Artefact(arrays=dict(lo=box.lo, hi=box.hi),
                                  info=dict(train_rows=int(len(pose3d))))}


def x0_range(trained: base.Trained, train_rows=None):
  """(the box of `eval.x0_clip` or None, what the results record of it).

  The range stored with the model, else one of `train_rows`, the evaluation
  data's training split (`box.SOURCES`); with neither, no box.
  """
  opts = trained.run.eval_options
  stored = trained.prepared.get(X0_RANGE)
  if stored is None and train_rows is None and opts.x0_clip:
    return None, {"clip": False, "note": "no range stored and no training "
                  "rows at hand: not clipped"}
  return box_lib.evaluation_box(
      clip=opts.x0_clip, margin=opts.x0_clip_margin, stored=stored,
      train_data=lambda: train_rows["pose3d"])


def build(run: base.RunSettings, prepared, needs) -> GFPoseModel:
  del prepared, needs
  s = run.sections
  sde = s.sde.build()
  dim = s.representation.data_dim
  network = s.model.build(data_dim=dim, cond_dim=dim)
  # Sampling's products in eval.matmul_dtype; the loss keeps network.apply.
  sampled = models.with_matmul_dtype(network, run.eval.matmul_dtype)
  return GFPoseModel(representation=s.representation, sde=sde, network=network,
                     score_fn=losses.make_score_fn(sampled.apply, sde),
                     mask=s.mask, train=run.train_options,
                     matmul_dtype=run.eval.matmul_dtype)


def sample(trained: base.Trained, key, num: int) -> np.ndarray:
  """`--mode=sample`: unconditional poses with the evaluation's sampler."""
  opts = trained.run.eval_options
  return trained.model.generate(trained.params, key, num, spec=opts.sampler,
                                num_steps=opts.num_steps, eps=opts.eps,
                                x0_range=x0_range(trained)[0])


def joint_prior(trained: base.Trained) -> protocols.JointPrior:
  """The unconditional score of root-relative joints (the null condition).

  Only the "root_relative" space is a function of the 3D pose alone (the
  "image" space needs each pose's camera and root depth).
  """
  model = trained.model
  rep = model.representation
  if rep.space != "root_relative":
    raise settings.ConfigError(
        f"{trained.workdir}: representation.space={rep.space!r}: a GFPose "
        "prior of joint positions needs the 'root_relative' space (the "
        "'image' space depends on each pose's camera); train one with that "
        "space")
  scale = rep.data_scale / rep.scale_3d_mm
  return protocols.JointPrior(
      skeleton=rep.skeleton, to_model=lambda mm: (mm - mm[..., :1, :]) * scale,
      score_fn=model.score_fn, params=trained.params, sde=model.sde,
      sample=lambda key, num: sample(trained, key, num))


__all__ = ["Sections", "TrainOptions", "GFPoseModel", "build",
           "sample", "joint_prior", "prepare", "x0_range", "X0_RANGE"]
