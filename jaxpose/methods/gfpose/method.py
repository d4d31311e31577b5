"""GFPose (Ci et al., CVPR 2023) behind the method interface.

One conditional score network (`models.ScoreMLP`) on `[B, J, 3]` poses in
model units (`pose.representation`), trained by denoising score matching
with hierarchical condition masking (`masking`) drawn inside the loss, so
the masks are pure data augmentation. Every test-time task is a
`sampling.Problem` value (`problems`), sampled H times per pose (`eval_tasks`).
"""
from __future__ import annotations

import dataclasses
import functools

import jax
import numpy as np

from jaxpose import models
from jaxpose.core import losses
from jaxpose.core import sampling
from jaxpose.core import sde as sde_lib
from jaxpose.core import xla_options
from jaxpose.evaluation import chunks
from jaxpose.evaluation import completion
from jaxpose.evaluation import config as eval_config_lib
from jaxpose.methods import base
from jaxpose.methods import lifting
from jaxpose.methods import register
from jaxpose.methods.gfpose import eval_tasks
from jaxpose.methods.gfpose import masking
from jaxpose.methods.gfpose import problems
from jaxpose.pose import image_space
from jaxpose.pose.skeleton import H36M_17


@dataclasses.dataclass(frozen=True)
class GFPoseEvalOptions:
  """GFPose's own `config.eval` fields (values from the configs).

  Attributes:
    sampler, num_steps, eps: the multi-hypothesis sampler (a spec such as
      'ddim:eta=1'), its steps and end time.
    num_hypotheses: H per pose; batch_poses: poses per compiled call.
    hypotheses_list: the H of the best-of-H curve.
    single_sampler, single_num_steps: the single-hypothesis mode
      (estimate_single, denoise); 0 steps means num_steps.
    complete_sampler: completion's sampler ('' = sampler).
    missing_joints, missing_parts: completion settings (k limb-end joints;
      named body parts).
    noise_types, noise_levels_mm, denoise_t_start, denoise_num_steps:
      denoising settings (0 steps: the single grid's step size over the
      shorter interval).
    num_generate, batch_generate: generation (0: as many as the real half).
  """
  sampler: str
  num_steps: int
  eps: float
  num_hypotheses: int
  batch_poses: int
  hypotheses_list: tuple[int, ...]
  single_sampler: str
  single_num_steps: int
  complete_sampler: str
  missing_joints: tuple[int, ...]
  missing_parts: tuple[str, ...]
  noise_types: tuple[str, ...]
  noise_levels_mm: tuple[float, ...]
  denoise_t_start: float
  denoise_num_steps: int
  num_generate: int
  batch_generate: int

  def __post_init__(self):
    at_least = eval_config_lib.require_at_least
    for name in ("num_steps", "num_hypotheses", "batch_poses", "batch_generate",
                 "hypotheses_list"):
      at_least(name, getattr(self, name), 1)
    for name in ("single_num_steps", "denoise_num_steps", "num_generate",
                 "missing_joints", "noise_levels_mm"):
      at_least(name, getattr(self, name), 0)
    if not 0 < self.eps < self.denoise_t_start <= 1:
      raise eval_config_lib.EvalConfigError(
          f"eval.eps, eval.denoise_t_start: expected 0 < eps < denoise_t_start "
          f"<= 1, got {self.eps} and {self.denoise_t_start}")
    unknown = sorted(set(self.missing_parts) - set(H36M_17.part_names))
    if unknown:
      raise eval_config_lib.EvalConfigError(
          f"eval.missing_parts: unknown body part(s) {unknown}; valid: "
          f"{', '.join(H36M_17.part_names)}")
    unknown = sorted(set(self.noise_types) - set(completion.NOISE_TYPES))
    if unknown:
      raise eval_config_lib.EvalConfigError(
          f"eval.noise_types: unknown noise {unknown}; valid: "
          f"{', '.join(completion.NOISE_TYPES)}")


@register("gfpose")
class GFPose(lifting.LiftingMethod):
  """GFPose: a conditional score prior of 3D poses, five tasks in one model."""

  fingerprint_sections = ("method", "model", "sde", "representation")
  train_fields = ("pose3d", "pose2d")
  EvalOptions = GFPoseEvalOptions

  def __init__(self, config):
    super().__init__(config)
    sde_kwargs = {k: v for k, v in config.sde.items() if k != "name"}
    self.sde = sde_lib.get_sde(config.sde.name, **sde_kwargs)
    self._model_kwargs = {k: v for k, v in config.model.items() if k != "name"}
    dim = self.representation.data_dim
    self._model_kwargs.update(data_dim=dim, cond_dim=dim)
    self.graphdef = models.model_graphdef(config.model.name, **self._model_kwargs)
    self.apply_fn = models.make_apply(self.graphdef)
    self.score_fn = losses.make_score_fn(self.apply_fn, self.sde)
    self.mask_config = masking.MaskConfig(**config.mask.to_dict())
    opts = self.eval_options
    for spec in (opts.sampler, opts.single_sampler, opts.complete_sampler):
      if spec:
        sampling.check_spec(spec)

  # --- Training. ---

  def init_params(self, key):
    return models.create_model(self.config.model.name, key=key,
                               **self._model_kwargs)[1]

  def loss_fn(self):
    """Masked-condition denoising score matching on `[B, J, 3]` poses.

    The mask and the 2D/3D swap are drawn from the step key inside the
    loss, so they are a function of (seed, step) only.
    """
    train = self.config.train
    apply_fn, sde, mask_config = self.apply_fn, self.sde, self.mask_config
    skeleton = self.representation.skeleton
    eps, reduce = float(train.loss_eps), str(train.loss_reduce)

    def loss_fn(params, batch, key):
      mask_key, dsm_key = jax.random.split(key)
      cond = masking.make_condition(mask_key, batch["pose3d"], batch["pose2d"],
                                    mask_config, skeleton)
      return losses.dsm_loss(params, batch["pose3d"], cond, dsm_key,
                             apply_fn=apply_fn, sde=sde, eps=eps, reduce=reduce,
                             train=True)

    return loss_fn

  # --- Sampling. ---

  def make_sampler(self, spec: str, num_steps: int):
    """A sampler of this model from a spec ('ddim:eta=1', 'pc:snr=0.16')."""
    return sampling.make_sampler(spec, self.sde, self.score_fn,
                                 num_steps=int(num_steps),
                                 eps=float(self.eval_options.eps))

  def sample_rows(self, sampler, params, key, make_problem, inputs: dict, *,
                  num_hypotheses: int, chunk_size: int, desc: str) -> np.ndarray:
    """H samples per row of `inputs` in model units, `[H, N, J, 3]`.

    `make_problem(chunk)` turns a chunk of `inputs` into a `sampling.Problem`;
    chunk i samples with `fold_in(key, i)`. Large chunks are compiled with
    the CPU sampling options (`core.xla_options`).
    """
    options = xla_options.sampling_options(rows=chunk_size * num_hypotheses)

    def one_chunk(chunk, index):
      return sampler.hypotheses(params, jax.random.fold_in(key, index),
                                make_problem(chunk), num_hypotheses,
                                compiler_options=options)

    return chunks.map_chunks(one_chunk, inputs, chunk_size=chunk_size,
                             row_axis=1, desc=desc)

  def to_mm(self, samples, rows=None) -> np.ndarray:
    """Model-unit poses `[..., J, 3]` -> mm relative to the true root.

    rows: the poses' split rows, whose camera fields back-project the
    "image" space; None (generated poses) assumes the nominal camera.
    """
    meta = None if rows is None else image_space.camera_meta(rows)
    return np.asarray(self.representation.pose3d_from_model(
        np.asarray(samples), meta), np.float32)

  def sample(self, params, key, num: int) -> np.ndarray:
    opts = self.eval_options
    sampler = self.make_sampler(opts.sampler, opts.num_steps)
    joints = self.representation.num_joints
    x = sampler(params, key, problems.generation_problem(num, joints))
    return self.to_mm(x)

  def joint_prior(self, params) -> base.JointPrior:
    """The unconditional score of root-relative joints (the null condition).

    Only the "root_relative" space is a function of the 3D pose alone (the
    "image" space needs each pose's camera and root depth).
    """
    rep = self.representation
    if rep.space != "root_relative":
      raise ValueError(
          f"representation.space={rep.space!r}: a GFPose prior of joint "
          "positions needs the 'root_relative' space (the 'image' space "
          "depends on each pose's camera); train one with that space")
    scale = rep.data_scale / rep.scale_3d_mm
    return base.JointPrior(
        skeleton=rep.skeleton, to_model=lambda mm: (mm - mm[..., :1, :]) * scale,
        score_fn=self.score_fn, params=params, sde=self.sde)

  # --- Evaluation. ---

  def eval_tasks(self):
    return {
        "estimate": functools.partial(eval_tasks.estimate, self, single=False),
        "estimate_single": functools.partial(eval_tasks.estimate, self, single=True),
        "complete2d": functools.partial(eval_tasks.complete, self, space="2d"),
        "complete3d": functools.partial(eval_tasks.complete, self, space="3d"),
        "denoise": functools.partial(eval_tasks.denoise, self),
        "generate": functools.partial(eval_tasks.generate, self),
    }


__all__ = ["GFPose", "GFPoseEvalOptions"]
