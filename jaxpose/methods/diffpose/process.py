"""DiffPose's forward process: DDPM steps toward a fitted Gaussian mixture.

The paper (Gong et al. 2023) diffuses a per-joint state h = [u, v, x, y, z]
(2D and 3D, model units) from the determinate pose h_0 toward the
indeterminate distribution H_K, a Gaussian mixture sum_m w_m N(mu_m,
Sigma_m):

  h_k = mu + sqrt(abar_k) (h_0 - mu) + sqrt(1 - abar_k) eps,
  eps ~ N(0, Sigma_m),  mu = mu_m,  kernel m drawn with probability w_m.

In jaxpose's forward-process contract this is no new process: the chain is
`sde.DiscreteVP` (abar_k, K steps, t = (k + 1) / K), the mixture is a
`priors.MixturePrior` of offsets from each row's centre (the observed 2D and
the context encoder's 3D: DiffPose's depth initialisation), and a kernel
drawn per example is a `priors.GaussianPrior(mean = centre + mean_m, scale
= std_m)`, with which `DiscreteVP.perturb` computes exactly the line above
(eps = std_m * z, z ~ N(0, I)).  `centred=False` gives the released code's
prior instead: N(mean_m, std_m^2) around 0, not around the row.

The network predicts the standardised noise z (so the 2D channels, whose
std can be tiny, are on the same footing as the 3D ones); the score is then
-z / (s(t) std) (`make_score_fn`, the std carried in the `Condition`).

Two options (both off by default): a per-row H_K (`RowScales`, fitted by
`rows.py`), each row's kernels shaped by its own 2D uncertainty `unc2d`
[B, J]; and the drawn kernel told to the denoiser (`kernel_features`), so
the network knows which kernel's frame a draw lives in.  `draw_kernel` and
`perturb` return the index they drew; each hypothesis draws its own.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
from flax import struct

from jaxpose import checks
from jaxpose import settings
from jaxpose.core import priors as priors_lib
from jaxpose.core import sampling
from jaxpose.core import sde as sde_lib

STATE_DIM = 5  # [u, v, x, y, z] per joint


def make_state(pose2d, pose3d):
  """`[B, J, 2]` and `[B, J, 3]` -> the per-joint state `[B, J, 5]`."""
  sizes = {}
  checks.check_array("pose2d", pose2d, ("B", "J", 2), sizes=sizes)
  checks.check_array("pose3d", pose3d, ("B", "J", 3), sizes=sizes)
  return jnp.concatenate([jnp.asarray(pose2d), jnp.asarray(pose3d)], axis=-1)


class Condition(NamedTuple):
  """What the noise network and the score are handed beside the state.

  A pytree, passed through `losses.dsm_loss` and the samplers unchanged.

  Attributes:
    features: `[B, J, F]` the context encoder's features (the denoiser's
      condition).
    mean: `[B, J, 5]` the mean of the row's kernel (centre + its offset).
    scale: `[B, J, 5]` (or broadcastable) the std of the row's kernel, which
      turns the predicted standardised noise into a score.
    centre: `[B, J, 5]` the row's centre (observed 2D, encoder 3D).
    kernel: `[B]` int, the index of each row's drawn kernel (None: not
      known, and then the denoiser cannot be told it).
  """
  features: Any  # [B, J, F]
  mean: Any  # [B, J, 5]
  scale: Any  # [B, J, 5]
  centre: Any  # [B, J, 5]
  kernel: Any = None  # [B] int

  @classmethod
  def of(cls, features, prior, centre, kernel=None) -> "Condition":
    """The condition of rows whose kernel `prior` (index `kernel`) was
    drawn around `centre`."""
    return cls(features, prior.mean, prior.scale, centre, kernel)


NETWORK_INPUTS = ("state", "residual", "standardised")
# What the denoiser is told of the drawn kernel (`make_noise_fn`).
KERNEL_INPUTS = ("none", "index", "index_scale")


class Kernel(NamedTuple):
  """A kernel drawn per row: its Gaussian and its index in the mixture."""
  prior: priors_lib.GaussianPrior  # mean, scale [B, J, 5]
  index: Any  # [B] int


class Perturbed(NamedTuple):
  """One draw of the forward process (`MixtureProcess.perturb`)."""
  h_t: Any  # [B, J, 5]
  z: Any  # [B, J, 5] the standardised noise
  prior: priors_lib.GaussianPrior  # the drawn kernel, [B, J, 5]
  kernel: Any  # [B] int, its index


@struct.dataclass
class RowScales:
  """Per-row H_K: how a row's own 2D uncertainty shapes its kernels.

  For row n and joint j with 2D uncertainty u_nj (`unc2d`):

    v_nj    = max(c0_j + c1_j u_nj, 0)        2D variance, model units^2
    std_uv  = sqrt(v_nj + floor_2d^2)         the row's (u, v) std
    l2_nj   = max(b0_j + b1_j v_nj + b2_j mean_i v_ni, floor_3d)
    std_xyz = sqrt(l2_nj) std_m               kernel m's 3D std, scaled

  (c0, c1) = (0, 1) where u is the variance itself (a noise model's
  sigma^2); fitted where u is 1 - a detector's confidence.

  Attributes:
    calib_2d: `[J, 2]` (c0, c1).
    coef_3d: `[J, 3]` (b0, b1, b2).
    floor_2d: the smallest (u, v) std (a scalar).
    floor_3d: the smallest 3D variance factor l2 (a scalar).
  """
  calib_2d: Any  # [J, 2]
  coef_3d: Any  # [J, 3]
  floor_2d: Any
  floor_3d: Any

  def variance_2d(self, unc2d):
    """u `[B, J]` -> the rows' 2D variance per joint `[B, J]`."""
    c = jnp.asarray(self.calib_2d)
    return jnp.maximum(c[:, 0] + c[:, 1] * unc2d, 0.0)

  def factor_3d(self, var2d):
    """2D variances `[B, J]` -> the 3D variance factors l2 `[B, J]`."""
    b = jnp.asarray(self.coef_3d)
    mean = jnp.mean(var2d, axis=-1, keepdims=True)  # [B, 1]
    return jnp.maximum(b[:, 0] + b[:, 1] * var2d + b[:, 2] * mean,
                       self.floor_3d)

  def shape(self, scale, unc2d):
    """Kernel stds `[B, J, 5]` -> the rows' own `[B, J, 5]`."""
    scale = jnp.asarray(scale)
    var2d = self.variance_2d(unc2d)  # [B, J]
    std2d = jnp.sqrt(var2d + jnp.square(self.floor_2d))[..., None]  # [B, J, 1]
    lam = jnp.sqrt(self.factor_3d(var2d))[..., None]  # [B, J, 1]
    return jnp.concatenate([jnp.broadcast_to(std2d, scale[..., :2].shape),
                            lam * scale[..., 2:]], axis=-1).astype(scale.dtype)


@struct.dataclass
class MixtureProcess:
  """DiffPose's forward process: a DDPM chain and the mixture it ends in.

  Attributes:
    sde: the `sde.DiscreteVP` chain (K steps).
    mixture: `priors.MixturePrior` with means and scales `[M, J, 5]`:
      offsets from each row's centre (`centred`) or from 0.
    centred: the kernels sit around each row's centre (the paper) or
      around 0 (the released code's prior).  Static.
    rows: None (one H_K for every row) or the `RowScales` of a per-row
      H_K, which then needs each row's 2D uncertainty `unc2d` `[B, J]`.
  """
  sde: sde_lib.DiscreteVP
  mixture: priors_lib.MixturePrior
  centred: bool = struct.field(pytree_node=False, default=True)
  rows: RowScales | None = None

  @property
  def num_steps(self) -> int:
    return self.sde.num_steps

  @property
  def num_kernels(self) -> int:
    return self.mixture.num_components

  def draw_kernel(self, key, centre, unc2d=None) -> Kernel:
    """One kernel per row, by its weight, around the row's centre.

    Args:
      key: PRNG key of the kernel draw.
      centre: `[B, J, 5]` the rows' centres (observed 2D, encoder 3D).
      unc2d: `[B, J]` the rows' 2D uncertainty (a per-row H_K only).

    Returns:
      `Kernel`: the `GaussianPrior` (mean and scale `[B, J, 5]`) and the
      drawn index `[B]`.
    """
    checks.check_array("centre", centre,
                       ("B",) + tuple(jnp.shape(self.mixture.means)[1:]))
    batch, joints = jnp.shape(centre)[:2]
    index = self.mixture.draw_index(key, batch)  # [B]
    kernel = self.mixture.component(index)
    mean = centre + kernel.mean if self.centred else kernel.mean
    scale = kernel.scale
    if self.rows is not None:
      if unc2d is None:
        raise ValueError("unc2d: a per-row H_K needs each row's 2D "
                         "uncertainty [B, J]")
      checks.check_array("unc2d", unc2d, (batch, joints))
      scale = self.rows.shape(scale, unc2d)
    return Kernel(priors_lib.GaussianPrior(mean=mean, scale=scale), index)

  def draw(self, key, centre, unc2d=None) -> priors_lib.GaussianPrior:
    """`draw_kernel`'s Gaussian alone."""
    return self.draw_kernel(key, centre, unc2d).prior

  def perturb(self, key, h0, t, centre, unc2d=None) -> Perturbed:
    """h_t = mu + a(t) (h0 - mu) + s(t) std z for a kernel drawn per row.

    Args:
      key: PRNG key (kernel draw and noise).
      h0: `[B, J, 5]` clean states.
      t: scalar or `[B]` times (`sde.time(k)` of step k).
      centre: `[B, J, 5]`.
      unc2d: `[B, J]` (a per-row H_K only).

    Returns:
      `Perturbed`: h_t, z, the drawn `GaussianPrior` and its index `[B]`.
    """
    k_kernel, k_noise = jax.random.split(key)
    kernel = self.draw_kernel(k_kernel, centre, unc2d)
    h_t, z = self.sde.perturb(k_noise, h0, t, kernel.prior)
    return Perturbed(h_t, z, kernel.prior, kernel.index)


def kernel_channels(kernel_input: str, num_kernels: int) -> int:
  """Condition channels per joint that `kernel_input` adds: M for the
  one-hot index, and 5 more for the log std of the row's kernel
  ('index_scale')."""
  settings.one_of("diffpose.kernel_input", kernel_input, KERNEL_INPUTS)
  return {"none": 0, "index": int(num_kernels),
          "index_scale": int(num_kernels) + STATE_DIM}[kernel_input]


def kernel_features(features, cond: Condition, *, kernel_input: str,
                    num_kernels: int):
  """The condition features with the drawn kernel appended per joint.

  Args:
    features: `[B, J, F]`.
    cond: its `kernel` `[B]` (and `scale` for 'index_scale').
    kernel_input: 'index' (one-hot of the index, M channels) or
      'index_scale' (and the log std of the row's kernel, 5 more).
    num_kernels: M.

  Returns:
    `[B, J, F + kernel_channels(kernel_input, M)]`.
  """
  if cond.kernel is None:
    raise ValueError("cond.kernel: the denoiser is told the drawn kernel "
                     f"(diffpose.kernel_input={kernel_input!r}) but the "
                     "condition holds no kernel index")
  b, j = jnp.shape(features)[:2]
  one_hot = jax.nn.one_hot(cond.kernel, num_kernels,
                           dtype=features.dtype)  # [B, M]
  parts = [features, jnp.broadcast_to(one_hot[:, None, :],
                                      (b, j, num_kernels))]
  if kernel_input == "index_scale":
    scale = jnp.broadcast_to(cond.scale, (b, j, STATE_DIM))
    parts.append(jnp.log(scale).astype(features.dtype))  # [B, J, 5]
  return jnp.concatenate(parts, axis=-1)


def make_noise_fn(apply_fn: Callable, *, network_input: str,
                  conditional: bool = True, kernel_input: str = "none",
                  num_kernels: int = 1) -> Callable:
  """The denoiser as `noise_fn(params, h, t, cond: Condition, **kw)`.

  network_input: what the network reads of the diffused state h_k:
    'state'         h_k itself (the paper's and the released code's input);
    'residual'      h_k - centre, the correction to the encoder's pose;
    'standardised'  (h_k - mu) / std in the drawn kernel's frame, where the
                    process is plain DDPM: y_k = sqrt(abar_k) y_0 +
                    sqrt(1 - abar_k) z.
  The network gets the same information each way (the centre is the
  encoder's read-out of the features and the observed 2D, the kernel the
  condition's); they differ in what it must rebuild before naming the
  noise: the encoder's pose ('state'), the kernel ('residual') or nothing
  ('standardised').
  conditional=False: the network takes no condition (the features stay
  unused).
  kernel_input: 'none', or the drawn kernel appended to the features
  (`kernel_features`, M = num_kernels); needs a conditional network.
  """
  settings.one_of("diffpose.network_input", network_input, NETWORK_INPUTS)
  told = kernel_channels(kernel_input, num_kernels) > 0
  if told and not conditional:
    raise settings.ConfigError(
        f"diffpose.kernel_input={kernel_input!r}: the kernel joins the "
        "condition features, and this network has no condition path "
        "(model.cond_dim=0)")

  def noise_fn(params, h, t, cond, **kwargs):
    if network_input == "residual":
      h = h - cond.centre
    elif network_input == "standardised":
      h = (h - cond.mean) / cond.scale
    features = cond.features if conditional else None
    if told:
      features = kernel_features(features, cond, kernel_input=kernel_input,
                                 num_kernels=num_kernels)
    return apply_fn(params, h, t, features, **kwargs)

  return noise_fn


def make_score_fn(noise_fn: Callable, sde) -> Callable:
  """The score of DiffPose's diffused state from its noise network.

  Returns `score_fn(params, h, t, cond: Condition) -> [B, J, 5]`, the score
  `-z_hat / (s(t) std)` in the state's own coordinates, z_hat =
  `noise_fn(params, h, t, cond)` the predicted standardised noise.
  """

  def score_fn(params, h, t, cond):
    z_hat = noise_fn(params, h, t, cond)  # [B, J, 5]
    s = sde_lib.broadcast_to_batch(sde.marginal_std(t), z_hat)
    return -z_hat / (s * cond.scale)

  return score_fn


def make_hypotheses_fn(sampler, proc: MixtureProcess, num_hypotheses: int,
                       start: str) -> Callable:
  """N hypotheses per row, each from its own kernel draw (the paper's N).

  Args:
    sampler: a `sampling.Sampler` of `proc.sde` and `make_score_fn`'s score.
    proc: the forward process (its mixture gives the kernels).
    num_hypotheses: N.
    start: `sampling.Problem.start`: 'prior' (h drawn from the row's kernel
      at t_start), 'x_init' (the centre itself) or 'diffuse' (the centre
      diffused to t_start).

  Returns:
    The pure `fn(params, key, features [B, J, F], centre [B, J, 5], t_start,
    x0_range=None, unc2d=None) -> [N, B, J, 5]`; hypothesis h draws its
    kernel and runs the sampler with the two halves of `split(key, N)[h]`,
    its condition holding the kernel's index; x0_range: a `core.box.Box`
    of h_0 (`sampling.Problem.x0_range`) or None; unc2d: `[B, J]` the
    rows' 2D uncertainty (a per-row H_K only).
  """

  def fn(params, key, features, centre, t_start, x0_range=None, unc2d=None):
    def one(k):
      k_kernel, k_sample = jax.random.split(k)
      kernel = proc.draw_kernel(k_kernel, centre, unc2d)
      cond = Condition.of(features, kernel.prior, centre, kernel.index)
      problem = sampling.Problem(x_init=centre, cond=cond,
                                 prior=kernel.prior, t_start=t_start,
                                 start=start, x0_range=x0_range)
      return sampler.jitted(params, k_sample, problem)
    return jax.vmap(one)(jax.random.split(key, num_hypotheses))

  return fn


__all__ = ["STATE_DIM", "NETWORK_INPUTS", "KERNEL_INPUTS", "Condition",
           "Kernel", "Perturbed", "RowScales", "MixtureProcess", "make_state",
           "kernel_channels", "kernel_features",
           "make_noise_fn", "make_score_fn", "make_hypotheses_fn"]
