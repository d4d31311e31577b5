"""Pose priors as loss terms of test-time optimisation, one interface.

Every prior is a frozen value called as `prior(body_pose, key, step,
num_steps) -> scalar` on a batch of body poses `[B, 63]` (radians), so a
task's objective adds `weight * prior(...)` whatever the prior is:

  none      0: the data term alone.
  gmm       the negative log-likelihood, per dimension, of a Gaussian
            mixture fitted by EM (jaxpose.core.gmm) to the training split's
            z-scored body poses: the classic hand-made prior (SMPLify's).
  dposer    DPoser's regulariser (jaxpose.core.regulariser) with its
            diffusion prior on z-scored body poses.
  gfpose    a score prior of 3D joint positions (`protocols.JointPrior`, from
            the workdir of `eval.gfpose_workdir`) as the same regulariser,
            through forward kinematics: body pose -> 22 joints -> the prior's
            skeleton (Human3.6M's 17 by the fitted regressor) -> a frontal
            camera frame -> its model units.  The gradient flows back
            through the kinematics (the denoised target is a constant).
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np

from jaxpose import settings
from jaxpose.core import gmm as gmm_lib
from jaxpose.core import regulariser
from jaxpose.methods.dposer import body as body_lib
from jaxpose.methods.dposer import schedule as schedule_lib

KINDS = ("none", "gmm", "gfpose", "dposer")
# The priors whose term a task weighs (`eval.*_weights` by name).
WEIGHTED_KINDS = ("gmm", "gfpose", "dposer")

# Body axes (X left, Y up, Z forward) -> a camera in front of the body
# looking at it (x right in the image = the body's left, y down, z away
# from the camera): the frontal view of the GFPose prior's training views.
_FRONTAL = np.diag([1.0, -1.0, -1.0]).astype(np.float32)


@dataclasses.dataclass(frozen=True)
class NoPrior:
  name: str = "none"

  def __call__(self, body_pose, key, step, num_steps):
    del key, step, num_steps
    return jnp.zeros((), body_pose.dtype)


@dataclasses.dataclass(frozen=True)
class GMMPrior:
  """Mixture negative log-likelihood per dimension of z-scored poses.

  The covariances' inverse Cholesky factors are computed once here, so each
  optimiser step is a few matrix products (no factorisation in the loop).
  """
  gmm: gmm_lib.GMM
  zscore: body_lib.ZScore
  name: str = "gmm"

  def __post_init__(self):
    self.gmm.check_single()
    covs = np.asarray(self.gmm.covs, np.float64)
    if covs.ndim == 2:  # diagonal
      covs = np.stack([np.diag(c) for c in covs])
    chol = np.linalg.cholesky(covs)  # [M, D, D]
    inv = np.linalg.inv(chol)  # whitening: |inv (x - mean)|^2 = Mahalanobis
    d = covs.shape[-1]
    log_norm = (np.log(np.asarray(self.gmm.weights, np.float64))
                - np.log(np.diagonal(chol, axis1=-2, axis2=-1)).sum(-1)
                - 0.5 * d * np.log(2 * np.pi))  # [M]
    object.__setattr__(self, "_whiten", inv.astype(np.float32))
    object.__setattr__(self, "_means", np.asarray(self.gmm.means, np.float32))
    object.__setattr__(self, "_log_norm", log_norm.astype(np.float32))

  def logpdf(self, z):
    """log p(z) of z-scored poses `[B, 63]` -> `[B]`."""
    y = jnp.einsum("mij,bmj->bmi", self._whiten, z[:, None, :] - self._means)
    return jax.nn.logsumexp(self._log_norm - 0.5 * jnp.sum(y * y, -1), axis=-1)

  def __call__(self, body_pose, key, step, num_steps):
    del key, step, num_steps
    z = self.zscore.standardize(body_pose)  # [B, 63]
    return -jnp.mean(self.logpdf(z)) / z.shape[-1]


@dataclasses.dataclass(frozen=True)
class DiffusionPrior:
  """DPoser's regulariser on z-scored body poses."""
  score_fn: Any
  params: Any
  sde: Any
  zscore: body_lib.ZScore
  schedule: regulariser.TimeSchedule
  weight: str = schedule_lib.WEIGHT
  reduce: str = "mean"
  name: str = "dposer"

  def __call__(self, body_pose, key, step, num_steps):
    return regulariser.scheduled_regulariser(
        self.score_fn, self.params, self.zscore.standardize(body_pose), key,
        step, num_steps, sde=self.sde, schedule=self.schedule,
        weight=self.weight, reduce=self.reduce)


@dataclasses.dataclass(frozen=True)
class JointsPrior:
  """A joint-position score prior (`protocols.JointPrior`) through kinematics."""
  joint_prior: Any
  body: body_lib.BodyJoints
  schedule: regulariser.TimeSchedule
  weight: str = schedule_lib.WEIGHT
  reduce: str = "mean"
  name: str = "gfpose"

  def __post_init__(self):
    if self.joint_prior.skeleton.num_joints not in (17, 22):
      raise ValueError(
          f"joint prior on {self.joint_prior.skeleton.name}: only Human3.6M's 17 "
          "joints (by the fitted regressor) or the 22 SMPL joints are mapped")

  def __call__(self, body_pose, key, step, num_steps):
    joints = self.body.joints(body_pose)  # [B, 22, 3] body axes, pelvis at 0
    if self.joint_prior.skeleton.num_joints == 17:
      joints = self.body.h36m(joints)  # [B, 17, 3]
    x = self.joint_prior.to_model(joints @ _FRONTAL.T)
    return regulariser.scheduled_regulariser(
        self.joint_prior.score_fn, self.joint_prior.params, x, key, step,
        num_steps, sde=self.joint_prior.sde, schedule=self.schedule,
        weight=self.weight, reduce=self.reduce)


def prior_weight(weights, kind: str) -> float:
  """A prior's weight in a task's objective (`eval.*_weights` by name; no
  prior weighs nothing)."""
  return 0.0 if kind == "none" else float(weights.get(kind, 0.0))


@dataclasses.dataclass(frozen=True)
class PriorSet:
  """The priors of one evaluation, built on demand with its trained parts.

  Attributes:
    trained: DPoser's trained parts (its `needs["joint_prior"]` may be
      None: the 'gfpose' rows are then left out with a note).
    options: DPoser's shared evaluation options (`options.EvalOptions`).
    train: the training rows the mixture prior is fitted on.
  """
  trained: Any
  options: Any
  train: Any

  @functools.cached_property
  def gmm(self) -> gmm_lib.GMM:
    """The Gaussian mixture on z-scored training poses (EM in JAX)."""
    opts = self.options
    x = self.trained.model.standardize(self.train["body_pose"])
    if opts.gmm_rows and len(x) > opts.gmm_rows:
      x = x[np.linspace(0, len(x) - 1, opts.gmm_rows).astype(int)]
    if opts.gmm_components > len(x):
      raise settings.ConfigError(
          f"eval.gmm_components={opts.gmm_components}: more components than "
          f"the {len(x)} training rows of the evaluation data (the 'gmm' "
          "prior is fitted on them; leave 'gmm' out of eval.priors for data "
          "without training rows)")
    # reg: z-scored dimensions that never move (a joint the source lacks)
    # have zero variance; 1e-3 keeps every covariance invertible.
    fit = gmm_lib.fit_gmm(jax.random.key(self.trained.run.seed), x,
                          opts.gmm_components, covariance="full",
                          max_iters=1000, tol=1e-3, reg=1e-3)
    logging.info("GMM prior: %d components, EM converged in %d iterations",
                 opts.gmm_components, int(fit.num_iters))
    return fit.gmm

  @property
  def joint_prior(self):
    return self.trained.needs.get("joint_prior")

  def make(self, kind: str, schedule: regulariser.TimeSchedule, *,
           form: dict | None = None):
    """The prior `kind` (`KINDS`), or None when it is not available.

    form: the diffusion priors' term, {'weight', 'reduce'} of the
      regulariser (default `schedule.PRIOR_FORM`, jaxpose's).
    """
    model = self.trained.model
    form = dict(form or schedule_lib.PRIOR_FORM)
    if kind == "none":
      return NoPrior()
    if kind == "gmm":
      return GMMPrior(gmm=self.gmm, zscore=model.zscore)
    if kind == "dposer":
      return DiffusionPrior(score_fn=model.score_fn, params=self.trained.params,
                            sde=model.sde, zscore=model.zscore,
                            schedule=schedule, **form)
    if kind == "gfpose":
      if self.joint_prior is None:
        return None
      return JointsPrior(joint_prior=self.joint_prior, body=model.body,
                         schedule=schedule, **form)
    settings.one_of("prior", kind, KINDS)

  def rows(self, kinds, schedule, notes: list, *, form: dict | None = None) -> list:
    """(kind, prior) for each available prior; a note for each left out."""
    out = []
    for kind in kinds:
      prior = self.make(kind, schedule, form=form)
      if prior is None:
        notes.append(f"{kind}: left out (set eval.gfpose_workdir to a trained "
                     "GFPose workdir)")
        continue
      out.append((kind, prior))
    return out


def frontal_view(joints):
  """Body-axes joints [..., J, 3] -> the frontal camera frame (GFPose's)."""
  return joints @ _FRONTAL.T


__all__ = ["KINDS", "WEIGHTED_KINDS", "NoPrior", "GMMPrior", "DiffusionPrior",
           "JointsPrior", "PriorSet", "prior_weight", "frontal_view"]
