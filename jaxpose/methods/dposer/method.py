"""DPoser (Lu et al., arXiv 2312.05541) behind the method interface.

An unconditional diffusion prior on body-space rotations: the 63-D body
pose (21 SMPL joints x axis-angle, root orientation apart;
`jaxpose.pose.body_space`), z-scored per dimension with the training
split's statistics, modelled by the GFPose MLP without its condition paths
(`models.ScoreMLP`, cond_dim=0), trained by noise prediction (mean over
dimensions) under sub-VP through the shared loop.  At test time it is a
regulariser of optimisation (`priors`, `tto`) in four tasks (`tasks`),
each beside no prior, a Gaussian mixture and GFPose's joint prior.

The statistics and the canonical skeleton are data: they are stored with
every checkpoint (`checkpoint_extra`) and their digest is part of its
fingerprint, so a checkpoint is never used with other normalisation.
"""
from __future__ import annotations

import dataclasses
import functools

from absl import logging
import jax
import numpy as np

from jaxpose import models
from jaxpose.core import gmm as gmm_lib
from jaxpose.core import losses
from jaxpose.core import regulariser
from jaxpose.core import sampling
from jaxpose.core import sde as sde_lib
from jaxpose.core import xla_options
from jaxpose.data import datasets
from jaxpose.evaluation import config as eval_config_lib
from jaxpose.methods import base
from jaxpose.methods import register
from jaxpose.methods.dposer import body as body_lib
from jaxpose.methods.dposer import priors as priors_lib
from jaxpose.pose import body_model as body_model_lib

PARTS = body_lib.PARTS
_BODY_KEYS = ("body_pose", "body_root_orient", "body_trans", "body_bone_lengths")


@dataclasses.dataclass(frozen=True)
class DPoserEvalOptions:
  """DPoser's own `config.eval` fields (values from the configs).

  Attributes:
    priors: the rows of every table, from `priors.KINDS`.
    gfpose_workdir: a trained GFPose ("root_relative" space) whose joint
      prior makes the 'gfpose' rows ('' leaves them out, with a note).
    gmm_components, gmm_rows: the mixture prior's components and the
      training rows it is fitted on (0: all).
    body_model_path: an SMPL-family model file ('' = forward kinematics of
      the canonical skeleton); then MPVPE is reported too.
    batch_size: examples per compiled optimisation call.
    complete_parts, complete_hypotheses, complete_steps, complete_lr,
      complete_t: completion (parts of `PARTS`, best-of-H, Adam, the
      truncated schedule's (t_max, t_min)).
    window, max_windows: motion clips' length in frames and how many
      windows of the test split are denoised (0: all).
    denoise_noise_mm, denoise_steps, denoise_lr, denoise_t, smooth_weight,
      denoise_weights: motion denoising (per-coordinate noise sigmas, Adam,
      the schedule, the temporal term's weight and the prior weights of
      gmm / gfpose / dposer).
    schedule_ablation: schedule kinds compared at the middle noise level.
    fit_steps, fit_lr, fit_t, fit_weights, fit_sigma_px, fit_inputs: the
      fit to 2D keypoints (Adam, schedule, prior weights, GMoF scale, which
      2D: 'exact' and/or 'noisy').
    num_generate, generate_sampler, generate_steps: generation.
  """
  priors: tuple[str, ...]
  gfpose_workdir: str
  gmm_components: int
  gmm_rows: int
  body_model_path: str
  batch_size: int
  complete_parts: tuple[str, ...]
  complete_hypotheses: int
  complete_steps: int
  complete_lr: float
  complete_t: tuple[float, ...]
  window: int
  max_windows: int
  denoise_noise_mm: tuple[float, ...]
  denoise_steps: int
  denoise_lr: float
  denoise_t: tuple[float, ...]
  smooth_weight: float
  denoise_weights: tuple[float, ...]
  schedule_ablation: tuple[str, ...]
  fit_steps: int
  fit_lr: float
  fit_t: tuple[float, ...]
  fit_weights: tuple[float, ...]
  fit_sigma_px: float
  fit_inputs: tuple[str, ...]
  num_generate: int
  generate_sampler: str
  generate_steps: int

  def __post_init__(self):
    at_least = eval_config_lib.require_at_least
    for name in ("gmm_components", "batch_size", "complete_hypotheses",
                 "complete_steps", "window", "denoise_steps", "fit_steps",
                 "num_generate", "generate_steps"):
      at_least(name, getattr(self, name), 1)
    for name in ("gmm_rows", "max_windows", "denoise_noise_mm", "smooth_weight",
                 "denoise_weights", "fit_weights"):
      at_least(name, getattr(self, name), 0)
    bad = lambda what, valid: sorted(set(what) - set(valid))
    for name, valid in (("priors", priors_lib.KINDS), ("complete_parts", PARTS),
                        ("schedule_ablation", regulariser.SCHEDULE_KINDS),
                        ("fit_inputs", ("exact", "noisy"))):
      unknown = bad(getattr(self, name), valid)
      if unknown:
        raise eval_config_lib.EvalConfigError(
            f"eval.{name}: unknown {unknown}; valid: {', '.join(valid)}")
    for name in ("complete_t", "denoise_t", "fit_t"):
      t = getattr(self, name)
      if len(t) != 2 or not 0 < t[1] <= t[0] <= 1:
        raise eval_config_lib.EvalConfigError(
            f"eval.{name}: expected (t_max, t_min) with 0 < t_min <= t_max <= 1, "
            f"got {t}")
    for name in ("denoise_weights", "fit_weights"):
      if len(getattr(self, name)) != 3:
        raise eval_config_lib.EvalConfigError(
            f"eval.{name}: expected three prior weights (gmm, gfpose, dposer), "
            f"got {getattr(self, name)}")
    sampling.check_spec(self.generate_sampler)

  def prior_weight(self, task_weights: tuple[float, ...], kind: str) -> float:
    return {"none": 0.0, "gmm": task_weights[0], "gfpose": task_weights[1],
            "dposer": task_weights[2]}[kind]


@register("dposer")
class DPoser(base.Method):
  """DPoser: a diffusion prior of body poses for test-time optimisation."""

  fingerprint_sections = ("method", "model", "sde")
  train_fields = ("x",)
  EvalOptions = DPoserEvalOptions

  def __init__(self, config):
    super().__init__(config)
    if config.model.name != "score_mlp":
      raise ValueError(f"model.name: DPoser's network is 'score_mlp', got "
                       f"{config.model.name!r}")
    if not config.data.get("body", False):
      raise ValueError("data.body: DPoser needs the body-space rotations of "
                       "every row; set data.body=True (see "
                       "experiments/configs/dposer_quickstart.py)")
    sde_kwargs = {k: v for k, v in config.sde.items() if k != "name"}
    self.sde = sde_lib.get_sde(config.sde.name, **sde_kwargs)
    self._model_kwargs = {k: v for k, v in config.model.items() if k != "name"}
    self._model_kwargs.update(data_dim=body_lib.DIM, cond_dim=0)
    self.graphdef = models.model_graphdef("score_mlp", **self._model_kwargs)
    self.apply_fn = models.make_apply(self.graphdef)
    self.score_fn = losses.make_score_fn(self.apply_fn, self.sde)
    # A bad body model file fails here, before any training.
    path = self.eval_options.body_model_path
    self.body_model = body_model_lib.load_body_model(path) if path else None

  # --- Data. ---

  @functools.cached_property
  def _dataset(self) -> datasets.Dataset:
    dataset = datasets.load(self.config.data)
    for name, split in dataset.splits.items():
      missing = [k for k in _BODY_KEYS if k not in split]
      if missing:
        raise ValueError(f"data: the {name} split of {dataset.name!r} has no "
                         f"{missing} (DPoser needs body-space rotations)")
      body_lib.check_body_pose(f"{name} body_pose", split["body_pose"])
    return dataset

  @property
  def dataset(self):
    return self._dataset

  @functools.cached_property
  def zscore(self) -> body_lib.ZScore:
    return body_lib.ZScore.fit(self._dataset.splits["train"]["body_pose"])

  @functools.cached_property
  def body(self) -> body_lib.BodyJoints:
    return body_lib.fit_body_joints(self._dataset.splits["train"],
                                    model=self.body_model)

  @functools.cached_property
  def splits(self):
    out = {}
    for name, split in self._dataset.splits.items():
      rows = dict(split)
      rows["x"] = np.asarray(self.zscore.standardize(
          np.asarray(split["body_pose"], np.float32)), np.float32)
      rows["pose2d_screen"] = np.asarray(split["pose2d"], np.float32)
      rows["pose3d_mm"] = np.asarray(
          split["pose3d"] - split["pose3d"][:, :1], np.float32)
      out[name] = rows
    return out

  def checkpoint_extra(self) -> dict:
    return {"zscore": self.zscore.to_dict(),
            "bone_lengths_mm": [float(v) for v in self.body.bone_lengths]}

  def fingerprint_extra(self) -> dict:
    digest = self.zscore.digest()
    return {"body_statistics": {"zscore_sha256": digest,
                                "bone_lengths_mm": [round(float(v), 3) for v in
                                                    self.body.bone_lengths]}}

  # --- Training. ---

  def init_params(self, key):
    return models.create_model("score_mlp", key=key, **self._model_kwargs)[1]

  def loss_fn(self):
    """Noise prediction, mean over the 63 dimensions (DPoser's loss)."""
    apply_fn, sde = self.apply_fn, self.sde
    eps = float(self.config.train.loss_eps)

    def loss_fn(params, batch, key):
      body_lib.check_body_pose("batch['x']", batch["x"])
      return losses.dsm_loss(params, batch["x"], None, key, apply_fn=apply_fn,
                             sde=sde, eps=eps, reduce="mean", train=True)

    return loss_fn

  # --- Priors and sampling. ---

  def make_sampler(self, spec: str, num_steps: int):
    """The prior's sampler; top-level calls compile with the samplers' CPU
    options by rows (`core.xla_options.fast_sampling`)."""
    return xla_options.fast_sampling(sampling.make_sampler(
        spec, self.sde, self.score_fn, num_steps=int(num_steps), eps=1e-3))

  def sample_body_poses(self, params, key, num: int) -> np.ndarray:
    """`num` body poses `[num, 63]` (radians) drawn from the prior."""
    opts = self.eval_options
    sampler = self.make_sampler(opts.generate_sampler, opts.generate_steps)
    z = sampler(params, key, sampling.Problem(
        x_init=np.zeros((num, body_lib.DIM), np.float32), cond=None))
    return np.asarray(self.zscore.unstandardize(np.asarray(z)), np.float32)

  def sample(self, params, key, num: int) -> np.ndarray:
    """Joints `[num, 22, 3]` mm (body axes, pelvis at 0) of prior samples."""
    return np.asarray(self.body.joints(self.sample_body_poses(params, key, num)),
                      np.float32)

  @functools.cached_property
  def gmm(self) -> gmm_lib.GMM:
    """The Gaussian mixture prior on z-scored training poses (EM in JAX)."""
    opts = self.eval_options
    x = self.splits["train"]["x"]
    if opts.gmm_rows and len(x) > opts.gmm_rows:
      x = x[np.linspace(0, len(x) - 1, opts.gmm_rows).astype(int)]
    # reg: z-scored dimensions that never move (a joint the source lacks)
    # have zero variance; 1e-3 keeps every covariance invertible.
    fit = gmm_lib.fit_gmm(jax.random.key(int(self.config.seed)), x,
                          opts.gmm_components, covariance="full",
                          max_iters=1000, tol=1e-3, reg=1e-3)
    logging.info("GMM prior: %d components, EM converged in %d iterations",
                 opts.gmm_components, int(fit.num_iters))
    return fit.gmm

  @functools.cached_property
  def _gfpose(self):
    path = self.eval_options.gfpose_workdir
    if not path:
      return None
    from jaxpose import run_lib  # the loader of trained workdirs
    method, params, _ = run_lib.load_trained(path)
    joint_prior = method.joint_prior(params)
    if joint_prior is None:
      raise ValueError(f"eval.gfpose_workdir={path!r} holds a {method.name} "
                       "model, which has no prior of joint positions")
    return method, params, joint_prior

  def make_prior(self, kind: str, params, schedule: regulariser.TimeSchedule):
    """The prior `kind` (`priors.KINDS`) with this run's networks, or None
    when it is not available (GFPose without a workdir)."""
    if kind == "none":
      return priors_lib.NoPrior()
    if kind == "gmm":
      return priors_lib.GMMPrior(gmm=self.gmm, zscore=self.zscore)
    if kind == "dposer":
      return priors_lib.DiffusionPrior(score_fn=self.score_fn, params=params,
                                       sde=self.sde, zscore=self.zscore,
                                       schedule=schedule)
    if kind == "gfpose":
      if self._gfpose is None:
        return None
      return priors_lib.JointsPrior(joint_prior=self._gfpose[2], body=self.body,
                                    schedule=schedule)
    raise ValueError(f"prior: unknown kind {kind!r}; valid: {priors_lib.KINDS}")

  # --- Evaluation. ---

  def eval_tasks(self):
    from jaxpose.methods.dposer import tasks
    return {"complete": functools.partial(tasks.complete, self),
            "denoise_motion": functools.partial(tasks.denoise_motion, self),
            "fit2d": functools.partial(tasks.fit2d, self),
            "generate": functools.partial(tasks.generate, self)}


__all__ = ["DPoser", "DPoserEvalOptions", "PARTS"]
