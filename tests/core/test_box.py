"""The range guard of the samplers (`core.box`): closed forms.

A score that is badly wrong (a huge constant epsilon) drives every sampler
metres away; with a box on the denoised estimate it cannot leave the box.
With the exact score of Gaussian data and a box around the data, the guard
changes nothing.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpose.core import box as box_lib
from jaxpose.core import priors
from jaxpose.core import sampling
from jaxpose.core import sde as sde_lib
from jaxpose.core import tweedie

from tests.core.test_sampling import D, MU, PARAMS, SIGMA, gaussian_score_fn

BOX = box_lib.Box(lo=np.array([-1.0, -2.0, -0.5], np.float32),
                  hi=np.array([2.0, 1.0, 0.5], np.float32))
HUGE_EPS = 1e3  # the wrong network's constant noise prediction


def wrong_score_fn(sde):
  """score = -eps / s with eps = HUGE_EPS everywhere: x0_hat far below."""
  def score_fn(params, x, t, cond):
    del params, cond
    return -HUGE_EPS * jnp.ones_like(x) / sde.marginal_std(t)
  return score_fn


# (method, process): every method, DDIM and PC on the discrete chain too.
METHODS = [("euler_maruyama", "subvp"), ("euler_maruyama", "ve"),
           ("pc", "vp"), ("ode", "subvp"), ("deterministic", "subvp"),
           ("ddim", "discrete_vp"), ("ddim:eta=1", "subvp"),
           ("ode_adaptive", "subvp")]
IDS = [f"{m}-{s}" for m, s in METHODS]


def _inside(x, box, tol=0.0):
  return bool(np.all(x >= box.lo - tol) and np.all(x <= box.hi + tol))


def test_the_clipped_score_puts_tweedie_in_the_box_and_is_exact_inside():
  sde = sde_lib.SubVPSDE()
  x = jax.random.normal(jax.random.key(0), (64, D)) * 3.0
  t = jnp.float32(0.4)
  wrong = wrong_score_fn(sde)
  clipped = box_lib.clip_score(wrong, sde, BOX)
  x0 = tweedie.tweedie_x0(clipped, None, x, t, sde=sde)
  assert not _inside(tweedie.tweedie_x0(wrong, None, x, t, sde=sde), BOX)
  # Exact up to float32 cancellation against s^2 score (about 500 here).
  expected = jnp.clip(tweedie.tweedie_x0(wrong, None, x, t, sde=sde),
                      BOX.lo, BOX.hi)
  np.testing.assert_allclose(x0, expected, atol=1e-3)
  # Where x0_hat lies inside, the score is the same bit for bit.
  exact = gaussian_score_fn(sde)
  wide = box_lib.Box(lo=np.full(D, -1e3, np.float32),
                     hi=np.full(D, 1e3, np.float32))
  np.testing.assert_array_equal(
      box_lib.clip_score(exact, sde, wide)(PARAMS, x, t, None),
      exact(PARAMS, x, t, None))
  assert box_lib.clip_score(exact, sde, None) is exact


# diffrax's solver compiles three programs here: the slow case.
@pytest.mark.parametrize("method,sde_name", METHODS[:-1] + [pytest.param(
    *METHODS[-1], marks=pytest.mark.slow)], ids=IDS)
def test_every_sampler_stays_in_the_box_with_a_wrong_score(method, sde_name):
  sde = sde_lib.get_sde(sde_name)
  sampler = sampling.make_sampler(method, sde, wrong_score_fn(sde),
                                  num_steps=40)
  problem = sampling.Problem(x_init=jnp.zeros((64, D)))
  key = jax.random.key(1)
  free = np.asarray(sampler(None, key, problem))
  # Unguarded, the wrong score throws the samples far out of the box.
  assert np.abs(free).max() > 50.0, np.abs(free).max()
  guarded = np.asarray(sampler(None, key, problem.replace(x0_range=BOX)))
  assert np.all(np.isfinite(guarded)) and _inside(guarded, BOX)
  # The per-step guard alone (the clipped score handed to a sampler without
  # a box, so no projection of the output) keeps the result near the box:
  # on a coarse grid the stiff last steps overshoot x0_clip somewhat
  # (measured: at most 0.4 here), hence the projection as well.
  alone = sampling.make_sampler(method, sde, box_lib.clip_score(
      wrong_score_fn(sde), sde, BOX), num_steps=40)
  out = np.asarray(alone(None, key, problem))
  assert _inside(out, BOX, tol=1.0), (out.min(0), out.max(0))


@pytest.mark.parametrize("method,sde_name", [METHODS[0], METHODS[5]],
                         ids=[IDS[0], IDS[5]])
def test_the_guard_follows_a_prior_frame(method, sde_name):
  """With a per-example Gaussian prior (DiffPose's kernels) the box is
  mapped into the prior's coordinates y = (x - mu) / c."""
  sde = sde_lib.get_sde(sde_name)
  n = 128
  prior = priors.GaussianPrior(
      mean=jnp.asarray(np.random.default_rng(0).normal(size=(n, D)) + 5.0,
                       jnp.float32),
      scale=jnp.asarray([0.5, 2.0, 1.0], jnp.float32))
  # In y, Tweedie's estimate of the clipped score maps back into the box.
  y = jax.random.normal(jax.random.key(2), (n, D)) * 3.0
  t = jnp.float32(0.5) if sde_name != "discrete_vp" else sde.time(20)
  score_y = box_lib.clip_score(wrong_score_fn(sde), sde, BOX, prior=prior)
  x0 = prior.unstandardize(tweedie.tweedie_x0(score_y, None, y, t, sde=sde))
  assert _inside(np.asarray(x0), BOX, tol=1e-3)
  plain = sampling.make_sampler(method, sde, wrong_score_fn(sde), num_steps=40)
  problem = sampling.Problem(x_init=jnp.zeros((n, D)), prior=prior)
  out = np.asarray(plain(None, jax.random.key(2), problem))
  assert not _inside(out, BOX, tol=1.0)
  out = np.asarray(plain(None, jax.random.key(2),
                         problem.replace(x0_range=BOX)))
  assert _inside(out, BOX)


@pytest.mark.parametrize("method,sde_name", METHODS[:-1], ids=IDS[:-1])
def test_an_exact_score_and_a_box_around_the_data_change_nothing(method, sde_name):
  sde = sde_lib.get_sde(sde_name)
  sampler = sampling.make_sampler(method, sde, gaussian_score_fn(sde),
                                  num_steps=40)
  std = np.sqrt(np.diag(SIGMA))
  # 8 standard deviations: no posterior mean of N(mu, Sigma) reaches it.
  box = box_lib.Box(lo=MU - 8 * std, hi=MU + 8 * std)
  problem = sampling.Problem(x_init=jnp.zeros((256, D)))
  key = jax.random.key(3)
  free = np.asarray(sampler(PARAMS, key, problem))
  guarded = np.asarray(sampler(PARAMS, key, problem.replace(x0_range=box)))
  np.testing.assert_allclose(guarded, free, atol=1e-5)


def test_box_of_data_widens_by_each_axis_extent():
  rows = np.array([[[0.0, 0.0], [1.0, -2.0]],
                   [[0.0, 0.0], [3.0, 2.0]]], np.float32)  # [N=2, J=2, C=2]
  box = box_lib.Box.of_data(rows)
  np.testing.assert_array_equal(box.lo, [[0, 0], [1, -2]])
  np.testing.assert_array_equal(box.hi, [[0, 0], [3, 2]])
  wide = box.widened(0.25)  # extents: axis 0 is 3, axis 1 is 4
  np.testing.assert_allclose(wide.lo, [[-0.75, -1.0], [0.25, -3.0]])
  np.testing.assert_allclose(wide.hi, [[0.75, 1.0], [3.75, 3.0]])
  with pytest.raises(ValueError, match="margin"):
    box.widened(-1.0)


def test_a_box_that_does_not_fit_the_problem_is_refused():
  sde = sde_lib.SubVPSDE()
  sampler = sampling.make_sampler("ddim", sde, gaussian_score_fn(sde),
                                  num_steps=3)
  problem = sampling.Problem(x_init=jnp.zeros((4, D)))
  bad = box_lib.Box(lo=np.zeros(4, np.float32), hi=np.ones(4, np.float32))
  with pytest.raises(ValueError, match=r"problem.x0_range.lo: shape \(4,\)"):
    sampler(PARAMS, jax.random.key(0), problem.replace(x0_range=bad))
  flipped = box_lib.Box(lo=BOX.hi, hi=BOX.lo)
  with pytest.raises(ValueError, match="lo > hi"):
    sampler(PARAMS, jax.random.key(0), problem.replace(x0_range=flipped))


def test_evaluation_box_says_where_the_range_came_from():
  data = np.arange(12, dtype=np.float32).reshape(2, 2, 3)
  box, info = box_lib.evaluation_box(clip=False, margin=0.1, stored=None,
                                     train_data=lambda: 1 / 0)
  assert box is None and info == {"clip": False}
  stored = {"lo": np.zeros((2, 3), np.float32), "hi": np.ones((2, 3), np.float32)}
  box, info = box_lib.evaluation_box(clip=True, margin=0.0, stored=stored,
                                     train_data=lambda: 1 / 0)
  assert info["source"] == "prepared" and info["margin"] == 0.0
  np.testing.assert_array_equal(box.hi, stored["hi"])
  box, info = box_lib.evaluation_box(clip=True, margin=0.0, stored=None,
                                     train_data=lambda: data)
  assert info["source"] == "train_split"
  np.testing.assert_array_equal(box.lo, data[0])
