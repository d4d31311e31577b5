"""Sampler specs (check_spec) and one compilation per distinct sampler."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpose.core import sampling
from jaxpose.core import sde as sde_lib

D = 3


def counting_score_fn(traces):
  """A standard-normal data score that counts its traces."""
  def score_fn(params, x, t, cond):
    traces.append(x.shape)  # runs at trace time only
    return -params * x
  return score_fn


def test_equal_make_sampler_calls_share_one_sampler_and_one_trace():
  traces = []
  score_fn = counting_score_fn(traces)
  # Equal processes built separately count as equal.
  first = sampling.make_sampler("ddim:eta=1", sde_lib.SubVPSDE(), score_fn,
                                num_steps=5)
  second = sampling.make_sampler("ddim", sde_lib.SubVPSDE(), score_fn,
                                 num_steps=5, eta=1.0)
  assert second is first
  assert first.spec == "ddim:eta=1.0" and "num_steps=5" in repr(first)
  problem = sampling.Problem(x_init=jnp.zeros((4, D)))
  params = jnp.float32(1.0)
  for i in range(3):
    sampler = sampling.make_sampler("ddim:eta=1", sde_lib.SubVPSDE(),
                                    score_fn, num_steps=5)
    sampling.sample_hypotheses(sampler, params, jax.random.key(i), problem, 3)
    sampler(params + i, jax.random.key(i), problem)
  sampling.sample_hypotheses(first, params, jax.random.key(0), problem, 2)
  assert len(traces) == 1
  assert first.hypotheses_program()._cache_size() == 2  # H = 3 and H = 2

  # A different spec, step count or process is another sampler: traced anew.
  other = sampling.make_sampler("ddim:eta=0.5", sde_lib.SubVPSDE(), score_fn,
                                num_steps=5)
  assert other is not first
  sampling.sample_hypotheses(other, params, jax.random.key(0), problem, 3)
  assert len(traces) == 2
  for changed in (dict(num_steps=6), dict(eps=1e-2), dict(grid_rho=2.0),
                  dict(impute_noise=False)):
    kwargs = {"num_steps": 5, **changed}
    assert sampling.make_sampler("ddim:eta=1", sde_lib.SubVPSDE(), score_fn,
                                 **kwargs) is not first, changed
  assert sampling.make_sampler("ddim:eta=1", sde_lib.SubVPSDE(beta_max=10.0),
                               score_fn, num_steps=5) is not first
  assert sampling.make_sampler("ddim:eta=1", sde_lib.SubVPSDE(),
                               counting_score_fn(traces),
                               num_steps=5) is not first


def test_unhashable_process_still_builds_samplers():
  # DiscreteVP holds an array: no memo, but everything else works.
  sde = sde_lib.DiscreteVP.linear(51, 1e-4, 1e-3)
  traces = []
  a = sampling.make_sampler("ddim", sde, counting_score_fn(traces),
                            num_steps=4)
  b = sampling.make_sampler("ddim", sde, counting_score_fn(traces),
                            num_steps=4)
  assert a is not b
  problem = sampling.Problem(x_init=jnp.zeros((2, D)))
  out = a.hypotheses(jnp.float32(1.0), jax.random.key(0), problem, 2)
  assert out.shape == (2, 2, D) and len(traces) == 1


def test_check_spec_accepts_and_normalises():
  assert sampling.check_spec("pc") == ("pc", {})
  assert sampling.check_spec("pc:snr=1,num_corrector_steps=2,"
                             "per_example_step=true,grid_rho=2") == (
      "pc", {"snr": 1.0, "num_corrector_steps": 2, "per_example_step": True,
             "grid_rho": 2.0})
  assert sampling.check_spec("ode:solver=euler") == ("ode", {"solver": "euler"})
  assert sampling.check_spec("ode_adaptive:rtol=1e-4,max_steps=100") == (
      "ode_adaptive", {"rtol": 1e-4, "max_steps": 100})


def test_check_spec_rejects_unknown_options_naming_the_accepted_ones():
  with pytest.raises(ValueError, match=(
      r"sampler spec 'ddim:et=1': unknown option 'et' for ddim; "
      r"accepted: eta, grid_rho")):
    sampling.check_spec("ddim:et=1")
  with pytest.raises(ValueError, match=r"unknown option 'snr' for "
                     r"euler_maruyama; accepted: grid_rho"):
    sampling.check_spec("euler_maruyama:snr=0.1")
  with pytest.raises(ValueError, match="accepted: atol, max_steps, rtol"):
    sampling.check_spec("ode_adaptive:grid_rho=2")
  # make_sampler checks its spec the same way, and names keyword options too.
  sde = sde_lib.SubVPSDE()
  score_fn = counting_score_fn([])
  with pytest.raises(ValueError, match="unknown option 'et'"):
    sampling.make_sampler("ddim:et=1", sde, score_fn, num_steps=3)
  with pytest.raises(TypeError, match=r"ddim: unknown option\(s\) \['et'\]; "
                     "accepted: eta, grid_rho"):
    sampling.make_sampler("ddim", sde, score_fn, num_steps=3, et=1.0)


def test_check_spec_rejects_wrong_types_and_values():
  with pytest.raises(ValueError, match=(
      r"^sampler spec 'ddim:eta=abc': option eta expects a number, "
      r"got 'abc'$")):
    sampling.check_spec("ddim:eta=abc")
  with pytest.raises(ValueError, match="option num_corrector_steps expects an "
                     "integer, got 1.5"):
    sampling.check_spec("pc:num_corrector_steps=1.5")
  with pytest.raises(ValueError, match="option per_example_step expects true "
                     "or false, got 1"):
    sampling.check_spec("pc:per_example_step=1")
  with pytest.raises(ValueError, match="option solver expects a string, got 4"):
    sampling.check_spec("ode:solver=4")
  with pytest.raises(ValueError, match="option eta expects a number, got True"):
    sampling.check_spec("ddim:eta=true")
  # Values out of range fail with the method's own message.
  with pytest.raises(ValueError, match=r"sampler spec 'ode:solver=rk4': ode: "
                     "unknown solver 'rk4'"):
    sampling.check_spec("ode:solver=rk4")
  with pytest.raises(ValueError, match="eta must be >= 0"):
    sampling.check_spec("ddim:eta=-1")
  with pytest.raises(ValueError, match="grid_rho: expected a positive number"):
    sampling.check_spec("pc:grid_rho=0")
  with pytest.raises(ValueError, match="rtol must be positive"):
    sampling.check_spec("ode_adaptive:rtol=0")


def test_sample_hypotheses_needs_a_sampler():
  problem = sampling.Problem(x_init=jnp.zeros((2, D)))
  with pytest.raises(TypeError, match="make_sampler"):
    sampling.sample_hypotheses(lambda p, k, t: t.x_init, None,
                               jax.random.key(0), problem, 2)
  sampler = sampling.make_sampler("ode", sde_lib.VPSDE(),
                                  counting_score_fn([]), num_steps=3)
  with pytest.raises(ValueError, match="num_hypotheses"):
    sampler.hypotheses(jnp.float32(1.0), jax.random.key(0), problem, 0)
  out = sampling.sample_hypotheses(sampler, jnp.float32(1.0),
                                   jax.random.key(0), problem, 2)
  loop = np.stack([sampler(jnp.float32(1.0), k, problem)
                   for k in jax.random.split(jax.random.key(0), 2)])
  np.testing.assert_allclose(out, loop, rtol=1e-5, atol=1e-5)
