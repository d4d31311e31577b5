"""jaxpose.xla_options: the samplers' XLA options, where they apply, and
that they change speed only, not results."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpose import gfpose
from jaxpose.core import losses
from jaxpose import models
from jaxpose.core import sampling
from jaxpose.core import sde as sde_lib
from jaxpose.core import xla_options

SMALL = dict(hidden=32, embed_dim=16, num_blocks=1, num_groups=8)


@pytest.fixture(scope="module")
def sampler():
  graphdef, params = models.create_model("score_mlp", key=jax.random.key(0),
                                         **SMALL)
  sde = sde_lib.get_sde("subvp", beta_min=0.1, beta_max=20.0)
  score_fn = losses.make_score_fn(models.make_apply(graphdef), sde)
  sample_fn = sampling.make_sampler("euler_maruyama", sde, score_fn,
                                    num_steps=4)
  task = gfpose.estimation_task(jax.random.normal(jax.random.key(1), (3, 17, 2)))
  return sample_fn, params, task


def test_options_known_to_this_jaxlib_and_switched_off_by_env(monkeypatch):
  monkeypatch.delenv(xla_options.DEFAULTS_ENV, raising=False)
  assert xla_options.sampling_options() == xla_options.SAMPLING_CPU_OPTIONS
  monkeypatch.setenv(xla_options.DEFAULTS_ENV, "1")
  assert xla_options.sampling_options() == {}
  monkeypatch.setenv(xla_options.DEFAULTS_ENV, "0")
  assert xla_options.sampling_options() == xla_options.SAMPLING_CPU_OPTIONS


def test_small_programs_keep_xla_defaults(monkeypatch):
  monkeypatch.delenv(xla_options.DEFAULTS_ENV, raising=False)
  small = xla_options.SAMPLING_MIN_ROWS - 1
  assert xla_options.sampling_options(rows=small) == {}
  assert xla_options.sampling_options(rows=small + 1) == (
      xla_options.SAMPLING_CPU_OPTIONS)


def test_sampler_picks_the_program_by_rows(sampler):
  sample_fn, params, _ = sampler
  key = jax.random.key(2)
  rows = xla_options.SAMPLING_MIN_ROWS
  big = gfpose.estimation_task(jnp.zeros((rows, 17, 2)))
  small = gfpose.estimation_task(jnp.zeros((8, 17, 2)))
  before = (sample_fn.top_level._cache_size(), sample_fn.jitted._cache_size())
  sample_fn(params, key, big)
  assert sample_fn.top_level._cache_size() == before[0] + 1
  sample_fn(params, key, small)
  assert sample_fn.jitted._cache_size() == before[1] + 1
  assert sample_fn.top_level._cache_size() == before[0] + 1


def test_unknown_option_is_reported_unsupported_not_raised():
  assert not xla_options._supported("xla_cpu_no_such_option_in_any_xla", "")
  assert xla_options._supported("xla_cpu_experimental_ynn_fusion_type", "")


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="CPU passes only")
def test_top_level_sampler_program_has_no_ynnpack_subgraphs(sampler):
  sample_fn, params, task = sampler
  key = jax.random.key(0)
  ours = sample_fn.top_level.lower(params, key, task).compile().as_text()
  default = sample_fn.jitted.lower(params, key, task).compile().as_text()
  assert "ynn_fusion" not in ours
  # If XLA ever stops making YNNPACK subgraphs by default, the option (and
  # the module docstring's measurement) need a second look.
  assert "ynn_fusion" in default


def test_options_change_speed_not_samples(sampler):
  sample_fn, params, task = sampler
  key = jax.random.key(5)
  ours = sample_fn.top_level(params, key, task)
  default = sample_fn.jitted(params, key, task)
  np.testing.assert_allclose(ours, default, rtol=1e-4, atol=1e-4)


def test_sampling_inside_a_users_jit_and_vmap(sampler):
  # Options are only legal on a top-level jit: nested calls must drop them.
  sample_fn, params, task = sampler
  key = jax.random.key(6)
  direct = sampling.sample_hypotheses(sample_fn, params, key, task, 2)

  @jax.jit
  def users_program(p, k):
    return sampling.sample_hypotheses(sample_fn, p, k, task, 2)

  np.testing.assert_allclose(users_program(params, key), direct,
                             rtol=1e-4, atol=1e-4)
  keys = jax.random.split(key, 2)
  vmapped = jax.vmap(lambda k: sample_fn(params, k, task))(keys)
  np.testing.assert_allclose(vmapped, direct, rtol=1e-4, atol=1e-4)
  one = jax.jit(lambda k: sample_fn(params, k, task))(key)
  assert one.shape == direct.shape[1:] and bool(jnp.all(jnp.isfinite(one)))
