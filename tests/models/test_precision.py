"""bfloat16 dense products (`models.precision`): the same parameters, the
products' operands rounded to bfloat16 and accumulated in float32, nothing
else changed; float32 is the network itself."""
import dataclasses
import pathlib
import shutil

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import workdir_config
from experiments.configs import quickstart
from jaxpose import methods
from jaxpose import models
from jaxpose import run_lib
from jaxpose import settings
from jaxpose.models import precision
from tests.methods import test_baseline as baseline

SPEC = models.NetworkSpec(name="score_mlp", kwargs=dict(
    hidden=64, embed_dim=32, num_blocks=2, dropout=0.0, num_groups=8))


def _inputs(batch=6, dim=51):
  x = jax.random.normal(jax.random.key(1), (batch, dim))
  cond = (jax.random.normal(jax.random.key(2), (batch, dim)),
          jnp.ones((batch, dim)))
  return x, jnp.full((batch,), 0.4), cond


def test_float32_is_the_network_itself():
  network = SPEC.build(data_dim=51, cond_dim=51)
  assert models.with_matmul_dtype(network, "float32") is network
  with pytest.raises(ValueError, match="float16.*expected one of float32, "
                     "bfloat16"):
    models.with_matmul_dtype(network, "float16")


def test_bfloat16_products_follow_float32_within_their_rounding():
  network = SPEC.build(data_dim=51, cond_dim=51)
  params = network.init(jax.random.key(0))
  low = models.with_matmul_dtype(network, "bfloat16")
  inputs = _inputs()
  exact, rounded = network.apply(params, *inputs), low.apply(params, *inputs)
  assert rounded.dtype == jnp.float32
  relative = float(jnp.linalg.norm(rounded - exact) / jnp.linalg.norm(exact))
  # bfloat16 keeps 8 significant bits (2^-8 = 0.4%) per operand.
  assert 1e-4 < relative < 3e-2
  # By hand: one dense layer is x @ W with both rounded, summed in float32.
  layer = low.abstract.out
  x, w = inputs[0][:, :1].repeat(64, 1), np.asarray(params["out"]["kernel"][...])
  by_hand = (np.asarray(x.astype(jnp.bfloat16).astype(jnp.float32))
             @ np.asarray(jnp.asarray(w).astype(jnp.bfloat16).astype(jnp.float32)))
  got = precision.bfloat16_dot_general(x, jnp.asarray(w), (((1,), (0,)), ((), ())))
  np.testing.assert_allclose(np.asarray(got), by_hand, rtol=1e-5, atol=1e-5)
  assert layer.dot_general is precision.bfloat16_dot_general


def test_only_the_sampling_score_changes_never_the_training_loss():
  config = quickstart.get_config()
  config.model.update(hidden=64, embed_dim=32, num_blocks=1, num_groups=8)
  method, run = methods.parse(config)
  exact = method.build(run, {}, {})
  low = method.build(dataclasses.replace(run, eval=dataclasses.replace(
      run.eval, matmul_dtype="bfloat16")), {}, {})
  params = exact.init(jax.random.key(0))
  x, t, cond = _inputs(dim=exact.representation.data_dim)
  hlo = jax.jit(low.score_fn).lower(params, x, t, cond).as_text()
  assert "bf16" in hlo
  assert "bf16" not in jax.jit(exact.score_fn).lower(params, x, t, cond).as_text()
  assert not np.array_equal(low.score_fn(params, x, t, cond),
                            exact.score_fn(params, x, t, cond))
  joints = exact.representation.num_joints
  batch = {"pose3d": x.reshape(-1, joints, 3),
           "pose2d": x.reshape(-1, joints, 3)[..., :2]}
  key = jax.random.key(3)
  chex.assert_trees_all_equal(low.loss(params, batch, key),
                              exact.loss(params, batch, key))


def test_diffpose_samples_in_bfloat16_and_a_lifter_refuses_it(tmp_path,
                                                              monkeypatch):
  """DiffPose's sampling takes the option as GFPose's does (its loss stays
  float32); a lifter, which samples nothing, refuses it."""
  fixtures = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
  for name in ("diffpose", "encoder"):
    shutil.copytree(fixtures / f"{name}_workdir_de2cafe", tmp_path / name)
  traced = []

  def counted(*args, **kwargs):
    traced.append(args[0].shape)
    return bfloat16_products(*args, **kwargs)

  bfloat16_products = precision.bfloat16_dot_general
  monkeypatch.setattr(precision, "bfloat16_dot_general", counted)
  for dtype in ("float32", "bfloat16"):
    config = run_lib.evaluation_config(
        str(tmp_path / "diffpose"),
        {"eval.matmul_dtype": dtype, "eval.num_poses": 4,
         "eval.plot_poses": 0, "eval.output_dir": str(tmp_path / dtype),
         "diffpose.encoder_workdir": str(tmp_path / "encoder")},
        base_config=workdir_config.get_config(str(tmp_path / "diffpose")))
    result = run_lib.evaluate(config, str(tmp_path / "diffpose"))
    assert np.isfinite(result["mpjpe_mm"])
    assert bool(traced) == (dtype == "bfloat16"), dtype
  config = baseline.tiny_config()
  config.eval.matmul_dtype = "bfloat16"
  with pytest.raises(settings.ConfigError,
                     match="eval.matmul_dtype='bfloat16'.*lifter"):
    methods.parse(config)
