"""DPoser's diffusion regulariser against the closed form of Gaussian data.

For data x0 ~ N(m, v I) under sub-VP, the exact score is
-(x - a m) / (a^2 v + s^2) and Tweedie's estimate is the posterior mean
E[x0 | x_t] = m + g (x_t - a m), g = a v / (a^2 v + s^2).  With
x_t = a x + s z the regulariser's gradient (batch mean of w ||x -
x0_hat||^2) is 2 w (x - x0_hat) / B, and its mean over z is
2 w (1 - k) (x - m) / B with k = a g: a pull toward the data mean.
"""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxpose.core import regulariser as reg_lib
from jaxpose.core import sde as sde_lib

SDE = sde_lib.SubVPSDE()
M = jnp.array([1.0, -1.0, 2.0])
V = 0.5


def gaussian_score(params, x, t, cond=None):
  """Exact score of N(params, V I) data; x `[B, ...]`."""
  assert cond is None
  a = sde_lib.broadcast_to_batch(SDE.mean_coeff(t), x)
  s = sde_lib.broadcast_to_batch(SDE.marginal_std(t), x)
  return -(x - a * params) / (a**2 * V + s**2)


def _coeffs(t):
  a = float(SDE.mean_coeff(t))
  s = float(SDE.marginal_std(t))
  g = a * V / (a**2 * V + s**2)
  return a, s, g


def test_gradient_is_the_pull_toward_the_posterior_mean():
  t = 0.3
  x = jnp.array([[3.0, 0.0, -1.0], [0.0, -2.0, 2.5]])  # [B, D]
  batch = x.shape[0]
  key = jax.random.key(0)
  grad = jax.grad(reg_lib.diffusion_regulariser, argnums=2)
  got = grad(gaussian_score, M, x, key, t, sde=SDE)
  # The same noise draw, by hand: x0_hat is the Gaussian posterior mean.
  x_t, _ = SDE.perturb(key, x, t)
  a, s, g = _coeffs(t)
  x0_hat = M + g * (x_t - a * M)
  w = 0.5 * np.sqrt(1.0 + a / s)  # weight='snr'
  np.testing.assert_allclose(got, 2 * w * (x - x0_hat) / batch, rtol=1e-5,
                             atol=1e-6)
  # Over many draws the mean gradient is 2 w (1 - k) (x - m) / B, pointing
  # from the data mean to x (so descent moves x toward m); the Monte-Carlo
  # error of each coordinate is 2 w g s / (B sqrt(K)).
  num_keys = 4000
  keys = jax.random.split(jax.random.key(1), num_keys)
  grads = jax.vmap(lambda k: grad(gaussian_score, M, x, k, t, sde=SDE))(keys)
  want = 2 * w * (1 - a * g) * (x - M) / batch
  tol = 5 * 2 * w * g * s / (batch * np.sqrt(num_keys))
  np.testing.assert_allclose(grads.mean(0), want, atol=tol)
  assert np.all(np.sign(grads.mean(0)) == np.sign(x - M))


def test_pose_shaped_input_per_example_times_and_constant_weight():
  # [B, J, C] poses, one t per example: with w = 1/2 the gradient is
  # exactly (x - x0_hat) / B, and the network's parameters get none.
  x = jax.random.normal(jax.random.key(2), (4, 5, 3))
  t = jnp.array([0.05, 0.1, 0.2, 0.6])
  key = jax.random.key(3)
  mean = jnp.zeros((5, 3)) + 0.5

  def loss(x, params):
    return reg_lib.diffusion_regulariser(gaussian_score, params, x, key, t,
                                         sde=SDE, weight="constant")

  g_x, g_params = jax.grad(loss, argnums=(0, 1))(x, mean)
  x_t, _ = SDE.perturb(key, x, t)
  x0_hat = x_t + sde_lib.broadcast_to_batch(SDE.marginal_std(t), x) ** 2 * (
      gaussian_score(mean, x_t, t))
  x0_hat = x0_hat / sde_lib.broadcast_to_batch(SDE.mean_coeff(t), x)
  np.testing.assert_allclose(g_x, (x - x0_hat) / 4, rtol=1e-5, atol=1e-6)
  np.testing.assert_array_equal(g_params, 0.0)
  per_example = jnp.sum((x - x0_hat) ** 2, axis=(1, 2))
  np.testing.assert_allclose(loss(x, mean), 0.5 * per_example.mean(),
                             rtol=1e-5)
  # reduce='mean' averages over the J * C data dims instead.
  got = reg_lib.diffusion_regulariser(gaussian_score, mean, x, key, t, sde=SDE,
                                      weight="constant", reduce="mean")
  np.testing.assert_allclose(got, 0.5 * per_example.mean() / 15, rtol=1e-5)
  # A callable weight w(t, sde) is used as given.
  got = reg_lib.diffusion_regulariser(gaussian_score, mean, x, key, t, sde=SDE,
                                      weight=lambda t, sde: 2.0 * t)
  np.testing.assert_allclose(got, jnp.mean(2 * t * per_example), rtol=1e-5)


def test_truncated_schedule_is_linear_with_exact_ends():
  for n in (1, 2, 7, 100):
    sched = reg_lib.TimeSchedule.truncated(t_max=0.2, t_min=0.05)
    got = np.asarray(sched.sequence(n))
    assert got[0] == np.float32(0.2)
    if n > 1:
      assert got[-1] == np.float32(0.05)
      np.testing.assert_allclose(got, np.linspace(0.2, 0.05, n), rtol=1e-6)
  np.testing.assert_array_equal(reg_lib.TimeSchedule.fixed(0.1).sequence(3),
                                np.float32(0.1))


def test_random_schedules_are_bounded_keyed_and_reproducible():
  key = jax.random.key(4)
  sched = reg_lib.TimeSchedule.random(t_min=0.05, t_max=0.15)
  ts = np.asarray(sched.sequence(500, key))
  assert ts.min() >= 0.05 and ts.max() <= 0.15
  assert ts.std() > 0.02  # really drawn, not constant
  np.testing.assert_array_equal(ts, sched.sequence(500, key))
  assert not np.array_equal(ts, sched.sequence(500, jax.random.key(5)))
  # Entry i is the step's own draw with fold_in(key, i).
  assert ts[17] == float(sched(17, 500, jax.random.fold_in(key, 17)))
  uniform = np.asarray(reg_lib.TimeSchedule.uniform(eps=1e-3).sequence(2000,
                                                                       key))
  assert uniform.min() >= 1e-3 and uniform.max() <= 1.0
  assert abs(uniform.mean() - 0.5005) < 0.03


@pytest.mark.parametrize("make, match", [
    (lambda: reg_lib.TimeSchedule.truncated(t_max=0.05, t_min=0.2),
     "t_min <= t_max"),
    (lambda: reg_lib.TimeSchedule.fixed(0.0), "t:"),
    (lambda: reg_lib.TimeSchedule.random(None, 0.2), "t_min:"),
    (lambda: reg_lib.TimeSchedule.uniform(eps=2.0), "eps:"),
    (lambda: reg_lib.TimeSchedule(kind="annealed"), "kind:"),
    (lambda: reg_lib.TimeSchedule.random(0.1, 0.2)(0, 10), "key:"),
    (lambda: reg_lib.TimeSchedule.fixed(0.1)(10, 10), "step:"),
    (lambda: reg_lib.TimeSchedule.fixed(0.1)(0, 0), "num_steps:"),
    (lambda: reg_lib.diffusion_regulariser(
        gaussian_score, M, jnp.zeros((2, 3)), jax.random.key(0), 0.0, sde=SDE),
     "t:"),
    (lambda: reg_lib.diffusion_regulariser(
        gaussian_score, M, jnp.zeros((3,)), jax.random.key(0), 0.1, sde=SDE),
     "x:"),
    (lambda: reg_lib.diffusion_regulariser(
        gaussian_score, M, jnp.full((2, 3), jnp.nan), jax.random.key(0), 0.1,
        sde=SDE), "x:"),
    (lambda: reg_lib.diffusion_regulariser(
        gaussian_score, M, jnp.zeros((2, 3)), jax.random.key(0), 0.1, sde=SDE,
        weight="dposer"), "weight:"),
    (lambda: reg_lib.diffusion_regulariser(
        gaussian_score, M, jnp.zeros((2, 3)), jax.random.key(0), 0.1, sde=SDE,
        reduce="max"), "reduce:"),
])
def test_bad_arguments_are_named(make, match):
  with pytest.raises(ValueError, match=match):
    make()


def _fit(schedule, num_steps, weight, lam, y, sy2, batch=256):
  """Adam on 0.5 ||x - y||^2 / sy2 + lam * regulariser, one jitted step."""
  tx = optax.adam(optax.cosine_decay_schedule(0.05, num_steps))
  traces = []

  @jax.jit
  def step(x, opt_state, i, key):
    traces.append(i)
    def loss(x):
      data = 0.5 * jnp.mean(jnp.sum((x - y) ** 2, -1)) / sy2
      return data + lam * reg_lib.scheduled_regulariser(
          gaussian_score, M, x, jax.random.fold_in(key, i), i, num_steps,
          sde=SDE, schedule=schedule, weight=weight)
    updates, opt_state = tx.update(jax.grad(loss)(x), opt_state)
    return optax.apply_updates(x, updates), opt_state

  x = jnp.broadcast_to(y, (batch, 3))
  opt_state = tx.init(x)
  key = jax.random.key(6)
  for i in range(num_steps):
    x, opt_state = step(x, opt_state, jnp.int32(i), key)
  assert len(traces) == 1  # the traced step index never recompiles
  return np.asarray(x)


def test_optax_loop_reaches_the_gaussian_map():
  # At a fixed t with w = 1/2 the regulariser is, in expectation, the
  # quadratic (1 - k)/2 ||x - m||^2; lam = 1 / (V (1 - k)) makes it the
  # data's log density, so the fit is the closed-form MAP of a Gaussian
  # prior N(m, V) and a Gaussian likelihood N(y, sy2).
  t, sy2 = 0.5, 0.25
  y = jnp.array([3.0, 0.0, -1.0])
  a, _, g = _coeffs(t)
  lam = 1.0 / (V * (1.0 - a * g))
  x = _fit(reg_lib.TimeSchedule.fixed(t), 300, "constant", lam, y, sy2)
  map_x = (np.asarray(y) / sy2 + np.asarray(M) / V) / (1 / sy2 + 1 / V)
  np.testing.assert_allclose(x.mean(0), map_x, atol=0.05)
  assert np.all(np.abs(x - map_x) < 0.3)


def test_optax_loop_with_a_truncated_schedule_moves_toward_the_data():
  y = jnp.array([3.0, 0.0, -1.0])
  x = _fit(reg_lib.TimeSchedule.truncated(t_max=0.2, t_min=0.05), 200, "snr",
           5.0, y, 1.0, batch=64)
  # Each example ends well between the observation and the data mean (about
  # halfway with this weight; the pull fades as t falls to t_min).
  frac = (x - np.asarray(y)) @ np.asarray(M - y) / float(jnp.sum((M - y)**2))
  assert np.all((frac > 0.2) & (frac < 0.9)), frac


def test_jit_with_a_traced_step_matches_eager():
  sched = reg_lib.TimeSchedule.random(0.05, 0.2)
  x = jax.random.normal(jax.random.key(7), (3, 3))
  key = jax.random.key(8)

  traces = []

  def f(x, i):
    traces.append(i)
    return reg_lib.scheduled_regulariser(gaussian_score, M, x, key, i, 40,
                                         sde=SDE, schedule=sched)

  jitted = jax.jit(f)
  for i in (0, 13, 39):
    np.testing.assert_allclose(jitted(x, jnp.int32(i)), f(x, i), rtol=1e-5)
  assert len(traces) == 1 + 3  # one trace, then the three eager calls
