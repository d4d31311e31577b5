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
std can be tiny, are on the same footing as the 3D ones); the score of the
diffused state is then -z / (s(t) std), which `score_fn` computes from the
per-example std carried in the condition (`Condition`), beside the
encoder's features and the row's centre.
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


def split_state(state):
  """`[..., J, 5]` -> (2D `[..., J, 2]`, 3D `[..., J, 3]`)."""
  return state[..., :2], state[..., 2:]


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
  """
  features: Any  # [B, J, F]
  mean: Any  # [B, J, 5]
  scale: Any  # [B, J, 5]
  centre: Any  # [B, J, 5]

  @classmethod
  def of(cls, features, prior, centre) -> "Condition":
    """The condition of rows whose kernel `prior` was drawn around `centre`."""
    return cls(features, prior.mean, prior.scale, centre)


NETWORK_INPUTS = ("state", "residual", "standardised")


@struct.dataclass
class MixtureProcess:
  """DiffPose's forward process: a DDPM chain and the mixture it ends in.

  Attributes:
    sde: the `sde.DiscreteVP` chain (K steps).
    mixture: `priors.MixturePrior` with means and scales `[M, J, 5]`:
      offsets from each row's centre (`centred`) or from 0.
    centred: the kernels sit around each row's centre (the paper) or
      around 0 (the released code's prior).  Static.
  """
  sde: sde_lib.DiscreteVP
  mixture: priors_lib.MixturePrior
  centred: bool = struct.field(pytree_node=False, default=True)

  @property
  def num_steps(self) -> int:
    return self.sde.num_steps

  @property
  def num_kernels(self) -> int:
    return self.mixture.num_components

  def draw(self, key, centre) -> priors_lib.GaussianPrior:
    """One kernel per row, by its weight, around the row's centre.

    Args:
      key: PRNG key of the kernel draw.
      centre: `[B, J, 5]` the rows' centres (observed 2D, encoder 3D).

    Returns:
      `GaussianPrior` with mean and scale `[B, J, 5]`.
    """
    checks.check_array("centre", centre,
                       ("B",) + tuple(jnp.shape(self.mixture.means)[1:]))
    kernel = self.mixture.draw(key, jnp.shape(centre)[0])
    mean = centre + kernel.mean if self.centred else kernel.mean
    return priors_lib.GaussianPrior(mean=mean, scale=kernel.scale)

  def perturb(self, key, h0, t, centre):
    """h_t = mu + a(t) (h0 - mu) + s(t) std z for a kernel drawn per row.

    Args:
      key: PRNG key (kernel draw and noise).
      h0: `[B, J, 5]` clean states.
      t: scalar or `[B]` times (`sde.time(k)` of step k).
      centre: `[B, J, 5]`.

    Returns:
      (h_t `[B, J, 5]`, z `[B, J, 5]`, the drawn `GaussianPrior`).
    """
    k_kernel, k_noise = jax.random.split(key)
    prior = self.draw(k_kernel, centre)
    h_t, z = self.sde.perturb(k_noise, h0, t, prior)
    return h_t, z, prior


def make_noise_fn(apply_fn: Callable, *, network_input: str,
                  conditional: bool = True) -> Callable:
  """The denoiser as `noise_fn(params, h, t, cond: Condition, **kw)`.

  network_input: what the network reads of the diffused state h_k:
    'state'         h_k itself (the paper's and the released code's input);
    'residual'      h_k - centre, the correction to the encoder's pose;
    'standardised'  (h_k - mu) / std in the drawn kernel's frame, where the
                    process is plain DDPM: y_k = sqrt(abar_k) y_0 +
                    sqrt(1 - abar_k) z.
  The same information reaches the network each way (the centre is the
  encoder's read-out of the features and the observed 2D; the kernel is
  the condition's); they differ in what the network must rebuild before
  it can name the noise: the encoder's pose ('state'), the kernel it was
  drawn from ('residual'), or nothing ('standardised').
  conditional=False: the network takes no condition (the features stay
  unused).
  """
  settings.one_of("diffpose.network_input", network_input, NETWORK_INPUTS)

  def noise_fn(params, h, t, cond, **kwargs):
    if network_input == "residual":
      h = h - cond.centre
    elif network_input == "standardised":
      h = (h - cond.mean) / cond.scale
    return apply_fn(params, h, t, cond.features if conditional else None,
                    **kwargs)

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
    The pure `fn(params, key, features [B, J, F], centre [B, J, 5], t_start)
    -> [N, B, J, 5]`; hypothesis h draws its kernel and runs the sampler
    with the two halves of `split(key, N)[h]`.
  """

  def fn(params, key, features, centre, t_start):
    def one(k):
      k_kernel, k_sample = jax.random.split(k)
      prior = proc.draw(k_kernel, centre)
      problem = sampling.Problem(x_init=centre,
                                 cond=Condition.of(features, prior, centre),
                                 prior=prior, t_start=t_start, start=start)
      return sampler.jitted(params, k_sample, problem)
    return jax.vmap(one)(jax.random.split(key, num_hypotheses))

  return fn


__all__ = ["STATE_DIM", "NETWORK_INPUTS", "Condition", "MixtureProcess", "make_state",
           "split_state", "make_noise_fn", "make_score_fn",
           "make_hypotheses_fn"]
