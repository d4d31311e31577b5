"""ScoreMLP and the functional model API (create_model / make_apply)."""
import math

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxpose import models
from jaxpose.models import score_mlp

# Small network for behaviour tests; the paper sizes are only shape-evaluated.
SMALL = dict(data_dim=6, cond_dim=6, hidden=32, embed_dim=16, num_blocks=2,
             dropout=0.25, num_groups=8)
B = 5


def _expected_params(data_dim, cond_dim, hidden, embed_dim, num_blocks):
  """Closed-form count of the GFPose layout (Linear = in*out + out)."""
  lin = lambda i, o: i * o + o
  norm = 2 * hidden
  per_layer = lin(embed_dim, hidden) + norm + (lin(hidden, hidden)
                                               if cond_dim else 0)
  n = lin(embed_dim, embed_dim)  # shared time MLP
  n += lin(cond_dim, hidden) if cond_dim else 0  # condition embedding
  n += lin(data_dim, hidden) + per_layer  # first layer
  n += num_blocks * 2 * (lin(hidden, hidden) + per_layer)
  n += lin(hidden, data_dim)
  return n


def _abstract_count(**kw):
  model = nnx.eval_shape(lambda: models.ScoreMLP(**kw, rngs=nnx.Rngs(0)))
  return models.count_params(nnx.state(model, nnx.Param))


@pytest.fixture(scope="module")
def small():
  graphdef, params = models.create_model("score_mlp", key=jax.random.key(0),
                                         **SMALL)
  return graphdef, params, models.make_apply(graphdef)


def _inputs(seed=1, d=SMALL["data_dim"]):
  kx, kc, km = jax.random.split(jax.random.key(seed), 3)
  x = jax.random.normal(kx, (B, d))
  c = jax.random.normal(kc, (B, d))
  m = jax.random.bernoulli(km, 0.7, (B, d)).astype(jnp.float32)
  return x, c, m


def test_gfpose_paper_size_is_12_5m():
  n = _abstract_count()  # defaults are GFPose's
  assert n == _expected_params(51, 51, 1024, 512, 2) == 12_504_627
  assert abs(n / 1e6 - 12.5) < 0.05


def test_dposer_unconditional_size_is_7_2m():
  n = _abstract_count(cond_dim=0, dropout=0.1)
  assert n == _expected_params(51, 0, 1024, 512, 2) == 7_203_379
  assert abs(n / 1e6 - 7.2) < 0.05


def test_small_count_matches_closed_form(small):
  _, params, _ = small
  assert models.count_params(params) == _expected_params(6, 6, 32, 16, 2)


def test_output_shape_and_jit(small):
  _, params, apply = small
  x, c, m = _inputs()
  out = apply(params, x, jnp.linspace(0.1, 0.9, B), (c, m))
  assert out.shape == (B, 6) and out.dtype == jnp.float32
  out_jit = jax.jit(apply)(params, x, jnp.linspace(0.1, 0.9, B), (c, m))
  np.testing.assert_allclose(out, out_jit, rtol=1e-5, atol=1e-5)


def test_timestep_embedding_values():
  emb = score_mlp.timestep_embedding(jnp.array([0.0, 3.0]), 8)
  freqs = np.exp(-math.log(1e4) * np.arange(4) / 3)  # 1 ... 1e-4
  want = np.concatenate([np.sin(3.0 * freqs), np.cos(3.0 * freqs)])
  np.testing.assert_allclose(emb[0], [0] * 4 + [1] * 4, atol=1e-7)
  np.testing.assert_allclose(emb[1], want, rtol=1e-6, atol=1e-6)
  assert score_mlp.timestep_embedding(jnp.zeros(()), 7).shape == (7,)


@jax.default_matmul_precision("highest")
def test_scalar_t_equals_broadcast_t(small):
  # Full float32 products: on GPUs the default (TF32) rounds a [1, E] and a
  # [B, E] time-embedding product differently.
  _, params, apply = small
  x, c, m = _inputs()
  a = apply(params, x, 0.37, (c, m))
  b = apply(params, x, jnp.full((B,), 0.37), (c, m))
  np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
  # Per-row times really are per row: row i depends on t_i only.
  ts = jnp.array([0.1, 0.9, 0.1, 0.9, 0.5])
  mixed = apply(params, x, ts, (c, m))
  np.testing.assert_allclose(mixed[0], apply(params, x, 0.1, (c, m))[0],
                             rtol=1e-5, atol=1e-6)
  assert not np.allclose(mixed[1], apply(params, x, 0.1, (c, m))[1])


def _sin_shapes(fn, *args):
  shapes = []

  def walk(jaxpr):
    for eqn in jaxpr.eqns:
      if eqn.primitive.name == "sin":
        shapes.append(tuple(eqn.outvars[0].aval.shape))
      for sub in jax.extend.core.jaxprs_in_params(eqn.params):
        walk(sub)

  walk(jax.make_jaxpr(fn)(*args).jaxpr)
  return shapes


def test_scalar_t_embeds_once(small):
  _, params, apply = small
  x, c, m = _inputs()
  half = SMALL["embed_dim"] // 2
  once = _sin_shapes(lambda x: apply(params, x, 0.5, (c, m)), x)
  per_row = _sin_shapes(lambda x: apply(params, x, jnp.full(B, 0.5), (c, m)),
                        x)
  assert once == [(1, half)]
  assert per_row == [(B, half)]


def test_dropout_only_in_training_with_key(small):
  _, params, apply = small
  x, c, m = _inputs()
  t = 0.4
  det = apply(params, x, t, (c, m))
  k1, k2 = jax.random.key(7), jax.random.key(8)
  tr1 = apply(params, x, t, (c, m), train=True, dropout_key=k1)
  tr1b = apply(params, x, t, (c, m), train=True, dropout_key=k1)
  tr2 = apply(params, x, t, (c, m), train=True, dropout_key=k2)
  np.testing.assert_array_equal(tr1, tr1b)  # a function of the key
  assert not np.allclose(tr1, det) and not np.allclose(tr1, tr2)
  # Not training: the key is ignored, the output deterministic.
  np.testing.assert_array_equal(
      apply(params, x, t, (c, m), train=False, dropout_key=k1), det)
  with pytest.raises(ValueError, match="dropout_key"):
    apply(params, x, t, (c, m), train=True)
  # Under jit too, with the key as a traced argument.
  jitted = jax.jit(lambda p, k: apply(p, x, t, (c, m), train=True,
                                      dropout_key=k))
  np.testing.assert_allclose(jitted(params, k1), tr1, rtol=1e-5, atol=1e-5)


def test_zero_dropout_needs_no_key():
  graphdef, params = models.create_model(
      "score_mlp", key=jax.random.key(0), **{**SMALL, "dropout": 0.0})
  apply = models.make_apply(graphdef)
  x, c, m = _inputs()
  np.testing.assert_array_equal(apply(params, x, 0.3, (c, m), train=True),
                                apply(params, x, 0.3, (c, m)))


def test_condition_path(small):
  _, params, apply = small
  x, c, m = _inputs()
  t = 0.3
  base = apply(params, x, t, (c, m))
  # Visible entries of c matter ...
  c_moved = c + 0.5 * m
  assert not np.allclose(apply(params, x, t, (c_moved, m)), base, atol=1e-4)
  # ... hidden ones do not (the network sees only c_mask * (x - c)) ...
  c_hidden_moved = c + 3.0 * (1.0 - m)
  np.testing.assert_allclose(apply(params, x, t, (c_hidden_moved, m)), base,
                             rtol=1e-6, atol=1e-6)
  # ... and a zero mask is the null condition, whatever c holds.
  zero = jnp.zeros_like(m)
  null = apply(params, x, t, None)
  np.testing.assert_allclose(apply(params, x, t, (c, zero)), null,
                             rtol=1e-6, atol=1e-6)
  assert not np.allclose(null, base, atol=1e-4)
  # The residual form: c = x with a full mask is also the null input.
  np.testing.assert_allclose(apply(params, x, t, (x, jnp.ones_like(m))), null,
                             rtol=1e-6, atol=1e-6)


def test_unconditional_model():
  graphdef, params = models.create_model(
      "score_mlp", key=jax.random.key(3), **{**SMALL, "cond_dim": 0})
  apply = models.make_apply(graphdef)
  assert not any("lin_c" in "/".join(map(str, path)) or "cond_embed" in
                 "/".join(map(str, path))
                 for path, _ in jax.tree_util.tree_flatten_with_path(params)[0])
  x, c, m = _inputs()
  assert apply(params, x, 0.5).shape == (B, 6)
  with pytest.raises(ValueError, match="unconditional"):
    apply(params, x, 0.5, (c, m))


def test_grad_vmap_through_apply(small):
  _, params, apply = small
  x, c, m = _inputs()

  def loss(p):
    return jnp.sum(apply(p, x, 0.5, (c, m), train=True,
                         dropout_key=jax.random.key(0)) ** 2)

  grads = jax.jit(jax.grad(loss))(params)
  leaves = jax.tree.leaves(grads)
  assert all(np.all(np.isfinite(g)) for g in leaves)
  assert sum(float(jnp.abs(g).sum()) for g in leaves) > 0
  # vmap over a leading hypothesis axis of x.
  xs = jnp.stack([x, 2 * x, -x])  # [3, B, D]
  out = jax.vmap(lambda xi: apply(params, xi, 0.5, (c, m)))(xs)
  np.testing.assert_allclose(out[1], apply(params, 2 * x, 0.5, (c, m)),
                             rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("args, match", [
    (lambda x, c, m: (x[:, :5], 0.5, (c, m)), r"x: expected shape \(B, ...\) with 6 numbers"),
    (lambda x, c, m: (x[0], 0.5, (c, m)), r"x: expected shape"),
    (lambda x, c, m: (x, jnp.ones(B + 1), (c, m)), r"t: expected a scalar or "
                                                   r"shape \(5,\)"),
    (lambda x, c, m: (x, 0.5, (c[:3], m)), r"cond\[0\] \(c\): expected"),
    (lambda x, c, m: (x, 0.5, (c, m[:, :4])), r"cond\[1\] \(c_mask\)"),
    (lambda x, c, m: (x, 0.5, c), r"cond: expected None or a pair"),
])
def test_bad_shapes_raise(small, args, match):
  _, params, apply = small
  with pytest.raises(ValueError, match=match):
    apply(params, *args(*_inputs()))


def test_nan_input_rejected(small):
  _, params, apply = small
  x, c, m = _inputs()
  with pytest.raises(ValueError, match="x: .*non-finite"):
    apply(params, x.at[0, 0].set(jnp.nan), 0.5, (c, m))


def test_registry_errors():
  with pytest.raises(ValueError, match="unknown model 'unet'.*score_mlp"):
    models.create_model("unet", key=jax.random.key(0))
  with pytest.raises(ValueError, match="hiden.*valid arguments: .*hidden"):
    models.create_model("score_mlp", key=jax.random.key(0), hiden=8)
  with pytest.raises(ValueError, match="cond_dim"):
    models.create_model("score_mlp", key=jax.random.key(0), cond_dim=7)
  with pytest.raises(ValueError, match="num_groups"):
    models.create_model("score_mlp", key=jax.random.key(0), hidden=30)


def test_create_model_is_a_function_of_the_key():
  _, p1 = models.create_model("score_mlp", key=jax.random.key(5), **SMALL)
  _, p2 = models.create_model("score_mlp", key=jax.random.key(5), **SMALL)
  _, p3 = models.create_model("score_mlp", key=jax.random.key(6), **SMALL)
  same = jax.tree.map(lambda a, b: bool(jnp.all(a == b)), p1, p2)
  assert all(jax.tree.leaves(same))
  k1 = p1["first"]["lin"]["kernel"][...]
  assert not np.allclose(k1, p3["first"]["lin"]["kernel"][...])


def test_poses_as_joints_at_the_boundary_equal_the_flat_vectors(small):
  _, params, apply = small
  x, c, m = _inputs()
  j = SMALL["data_dim"] // 3
  as_joints = lambda a: a.reshape(B, j, 3)
  out = apply(params, as_joints(x), 0.4, (as_joints(c), as_joints(m)))
  assert out.shape == (B, j, 3)
  np.testing.assert_allclose(out.reshape(B, -1), apply(params, x, 0.4, (c, m)),
                             rtol=1e-6, atol=1e-6)
  with pytest.raises(ValueError, match="cond"):
    apply(params, as_joints(x), 0.4, (c, m))  # condition not of x's shape
  with pytest.raises(ValueError, match="data_dim"):
    apply(params, x[:, :-1], 0.4, None)
