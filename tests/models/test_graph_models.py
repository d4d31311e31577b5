"""Graph layers, DiffPose's denoiser and the context encoders."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxpose import models
from jaxpose.models import context_encoder as ce
from jaxpose.models import diffpose_denoiser as dd
from jaxpose.models import graph_layers as gl
from jaxpose.pose import skeleton

J = 17
B = 3
# Small networks for behaviour tests (the denoiser's condition is the
# lifter's features); the paper sizes are only shape-evaluated.
SMALL_DENOISER = dict(cond_dim=16, hidden=16, embed_dim=32, num_layers=2,
                      num_heads=2)
SMALL_LIFTER = dict(hidden=16, num_layers=2, num_heads=2)
SMALL_TEMPORAL = dict(hidden=8, num_spatial_layers=1, num_head_layers=1,
                      num_heads=2)
SMALL = {"diffpose_denoiser": SMALL_DENOISER, "graph_lifter": SMALL_LIFTER,
         "temporal_lifter": {**SMALL_TEMPORAL, "num_frames": 9}}


def _jit_apply(graphdef):
  # Compiled once per input signature: eager calls of a graph network
  # dispatch hundreds of small ops and would dominate the tests' time.
  return jax.jit(models.make_apply(graphdef), static_argnames="train")


def _abstract_count(cls, **kw):
  model = nnx.eval_shape(lambda: cls(**kw, rngs=nnx.Rngs(0)))
  return models.count_params(nnx.state(model, nnx.Param))


def _normal(seed, shape):
  return jax.random.normal(jax.random.key(seed), shape)


@pytest.fixture(scope="module")
def denoiser():
  graphdef, params = models.create_model(
      "diffpose_denoiser", key=jax.random.key(0), **SMALL_DENOISER)
  return params, _jit_apply(graphdef)


def _denoiser_inputs(seed=1):
  return _normal(seed, (B, J, 5)), _normal(seed + 1, (B, J, 16))


# --- the graph ---------------------------------------------------------------

def test_normalized_adjacency_of_a_three_joint_chain():
  s6, s2 = 1 / np.sqrt(6), 1 / np.sqrt(2)
  # A + I has degrees (2, 3, 2): entries 1 / sqrt(d_i d_j).
  np.testing.assert_allclose(gl.normalized_adjacency(3, [(0, 1), (2, 1)]),
                             [[1 / 2, s6, 0], [s6, 1 / 3, s6], [0, s6, 1 / 2]])
  np.testing.assert_allclose(
      gl.normalized_adjacency(3, [(1, 0), (1, 2), (2, 1)], self_loops=False),
      [[0, s2, 0], [s2, 0, s2], [0, s2, 0]])
  # An isolated joint (no self-loop) keeps a zero row instead of a NaN.
  np.testing.assert_array_equal(
      gl.normalized_adjacency(3, [(0, 1)], self_loops=False)[2], 0.0)


def test_scaled_laplacian_and_chebyshev_basis_of_the_chain():
  a_hat = gl.normalized_adjacency(3, [(0, 1), (1, 2)])
  # A_hat's spectrum is {1, 1/2, -1/6} (vectors D^1/2 1, (1, 0, -1) and the
  # rest), so L = I - A_hat has lambda_max = 7/6 and L~ = (12/7) L - I.
  lt = (12 / 7) * (np.eye(3) - a_hat) - np.eye(3)
  np.testing.assert_allclose(gl.scaled_laplacian(a_hat), lt, atol=1e-12)
  basis = gl.chebyshev_basis(3, [(0, 1), (1, 2)], 2)
  assert basis.shape == (3, 3, 3) and basis.dtype == np.float32
  np.testing.assert_allclose(basis[0], np.eye(3))
  np.testing.assert_allclose(basis[1], lt, atol=1e-6)
  np.testing.assert_allclose(basis[2], 2 * lt @ lt - np.eye(3), atol=1e-6)
  assert gl.chebyshev_basis(3, [(0, 1), (1, 2)], 0).shape == (1, 3, 3)


def test_h36m_graph_spectrum_is_in_the_chebyshev_domain():
  assert gl.H36M_EDGES == skeleton.H36M_17.bones and len(gl.H36M_EDGES) == 16
  a_hat = gl.normalized_adjacency(J, gl.H36M_EDGES)
  eig_a = np.linalg.eigvalsh(a_hat)
  np.testing.assert_allclose(eig_a[-1], 1.0, atol=1e-12)  # D^1/2 1
  assert eig_a[0] > -1.0  # self-loops keep it off -1
  eig = np.linalg.eigvalsh(gl.scaled_laplacian(a_hat))
  np.testing.assert_allclose([eig[0], eig[-1]], [-1.0, 1.0], atol=1e-12)
  for k, tk in enumerate(gl.chebyshev_basis(J, gl.H36M_EDGES, 3)):
    assert np.abs(np.linalg.eigvalsh(tk.astype(np.float64))).max() <= 1 + 1e-5, k


@pytest.mark.parametrize("edges, match", [
    ([(0, 3)], r"edges: edge \(0, 3\) names a joint outside \[0, 3\)"),
    ([(1, 1)], r"edges: self-edge"),
    ([(0, 1, 2)], r"edges: expected \(i, j\) pairs"),
])
def test_bad_edges_raise(edges, match):
  with pytest.raises(ValueError, match=match):
    gl.normalized_adjacency(3, edges)


def test_cheb_conv_is_the_chebyshev_sum():
  conv = gl.ChebConv(4, 6, order=2, rngs=nnx.Rngs(0))
  basis = jnp.asarray(gl.chebyshev_basis(J, gl.H36M_EDGES, 2))
  x = _normal(1, (B, J, 4))
  w, bias = np.asarray(conv.kernel[...]), np.asarray(conv.bias[...])
  assert w.shape == (3, 4, 6)
  want = sum(np.asarray(basis[k]) @ np.asarray(x) @ w[k] for k in range(3))
  np.testing.assert_allclose(conv(x, basis), want + bias, rtol=1e-5, atol=1e-5)
  with pytest.raises(ValueError, match="basis: expected 3 Chebyshev terms"):
    conv(x, basis[:2])


def _permutation():
  perm = np.random.default_rng(0).permutation(J)  # new joint i = old perm[i]
  new_of_old = np.argsort(perm)
  edges = tuple((int(new_of_old[a]), int(new_of_old[b]))
                for a, b in gl.H36M_EDGES)
  return perm, edges


def test_cheb_conv_commutes_with_relabelling_the_joints():
  perm, edges = _permutation()
  conv = gl.ChebConv(4, 6, order=2, rngs=nnx.Rngs(0))
  basis = jnp.asarray(gl.chebyshev_basis(J, gl.H36M_EDGES, 2))
  basis_p = jnp.asarray(gl.chebyshev_basis(J, edges, 2))
  x = _normal(1, (B, J, 4))
  np.testing.assert_allclose(conv(x[:, perm], basis_p), conv(x, basis)[:, perm],
                             rtol=1e-5, atol=1e-5)
  # The relabelling matters: the old graph on relabelled joints differs.
  assert not np.allclose(conv(x[:, perm], basis), conv(x, basis)[:, perm],
                         atol=1e-3)


def test_denoiser_commutes_with_relabelling_the_joints(denoiser):
  # The whole network: graph built from relabelled edges, its learned joint
  # matrices relabelled too; attention has no joint positions.
  params, apply = denoiser
  perm, edges = _permutation()
  graphdef_p = models.model_graphdef("diffpose_denoiser", edges=edges,
                                     **SMALL_DENOISER)

  def relabel(path, leaf):
    if "'adjacency'" in jax.tree_util.keystr(path):
      return leaf[perm][:, perm]
    return leaf

  params_p = jax.tree.map_with_path(relabel, params)
  x, c = _denoiser_inputs()
  out = apply(params, x, 0.4, c)
  out_p = _jit_apply(graphdef_p)(params_p, x[:, perm], 0.4, c[:, perm])
  np.testing.assert_allclose(out_p, out[:, perm], rtol=1e-4, atol=1e-5)


# --- sizes -------------------------------------------------------------------

def test_diffpose_paper_size_is_about_1_0m():
  n = _abstract_count(models.DiffPoseDenoiser)  # defaults are DiffPose's
  assert n == dd.denoiser_num_params() == 1_081_546
  assert abs(n / 1e6 - 1.0) < 0.1
  # Without the condition paths: the released code's layout.
  n0 = _abstract_count(models.DiffPoseDenoiser, cond_dim=0)
  assert n0 == dd.denoiser_num_params(cond_dim=0) == 1_025_674
  assert n - n0 == 6 * (96 * 96 + 96)  # input + 5 per-layer condition paths


def test_lifter_default_sizes():
  assert (_abstract_count(models.GraphLifter)
          == ce.graph_lifter_num_params() == 654_344)
  for frames, count in ((27, 505_542), (81, 542_982)):
    assert (_abstract_count(models.TemporalLifter, num_frames=frames)
            == ce.temporal_lifter_num_params(num_frames=frames) == count)


@pytest.mark.parametrize("kw", [dict(SMALL_DENOISER),
                                dict(SMALL_DENOISER, cond_dim=0, order=3,
                                     state_dim=3)])
def test_small_denoiser_count_matches_closed_form(kw):
  args = {k: v for k, v in kw.items() if k != "num_heads"}
  assert (_abstract_count(models.DiffPoseDenoiser, **kw)
          == dd.denoiser_num_params(**args))


def test_small_lifter_counts_match_closed_form():
  assert (_abstract_count(models.GraphLifter, **SMALL_LIFTER, order=1)
          == ce.graph_lifter_num_params(hidden=16, num_layers=2, order=1))
  assert (_abstract_count(models.TemporalLifter, num_frames=5,
                          **SMALL_TEMPORAL)
          == ce.temporal_lifter_num_params(num_frames=5, hidden=8,
                                           num_spatial_layers=1,
                                           num_head_layers=1))


# --- the denoiser --------------------------------------------------------------

def test_denoiser_shape_and_jit(denoiser):
  params, apply = denoiser  # jitted
  x, c = _denoiser_inputs()
  out = apply(params, x, jnp.linspace(0.1, 0.9, B), c)
  assert out.shape == (B, J, 5) and out.dtype == jnp.float32
  # Finiteness is checked on concrete inputs, i.e. outside jit.
  graphdef = models.model_graphdef("diffpose_denoiser", **SMALL_DENOISER)
  with pytest.raises(ValueError, match=r"x: .*non-finite"):
    models.make_apply(graphdef)(params, x.at[0, 0, 0].set(jnp.nan), 0.5, c)


@jax.default_matmul_precision("highest")
def test_time_matters_and_scalar_t_equals_per_row_t(denoiser):
  params, apply = denoiser
  x, c = _denoiser_inputs()
  a = apply(params, x, 0.37, c)
  np.testing.assert_allclose(apply(params, x, jnp.full((B,), 0.37), c), a,
                             rtol=1e-5, atol=1e-6)
  assert not np.allclose(apply(params, x, 0.8, c), a, atol=1e-4)
  # Per-row times are per row: row i depends on t_i only.
  mixed = apply(params, x, jnp.array([0.37, 0.8, 0.37]), c)
  np.testing.assert_allclose(mixed[::2], a[::2], rtol=1e-5, atol=1e-6)
  assert not np.allclose(mixed[1], a[1], atol=1e-4)


def test_condition_path(denoiser):
  params, apply = denoiser
  x, c = _denoiser_inputs()
  base = apply(params, x, 0.3, c)
  assert not np.allclose(apply(params, x, 0.3, c + 0.5), base, atol=1e-4)
  # None is the null condition, all-zero features.
  np.testing.assert_array_equal(apply(params, x, 0.3, None),
                                apply(params, x, 0.3, jnp.zeros_like(c)))
  graphdef, params0 = models.create_model(
      "diffpose_denoiser", key=jax.random.key(0),
      **{**SMALL_DENOISER, "cond_dim": 0})
  apply0 = _jit_apply(graphdef)
  assert apply0(params0, x, 0.3).shape == (B, J, 5)
  with pytest.raises(ValueError, match="cond: this network is unconditional"):
    apply0(params0, x, 0.3, c)


def test_denoiser_dropout_only_in_training_with_key(denoiser):
  params, apply = denoiser
  x, c = _denoiser_inputs()
  det = apply(params, x, 0.4, c)
  k1, k2 = jax.random.key(7), jax.random.key(8)
  tr1 = apply(params, x, 0.4, c, train=True, dropout_key=k1)
  np.testing.assert_array_equal(
      apply(params, x, 0.4, c, train=True, dropout_key=k1), tr1)
  assert not np.allclose(tr1, det, atol=1e-4)
  assert not np.allclose(
      apply(params, x, 0.4, c, train=True, dropout_key=k2), tr1, atol=1e-4)
  np.testing.assert_array_equal(
      apply(params, x, 0.4, c, train=False, dropout_key=k1), det)
  with pytest.raises(ValueError, match="dropout_key"):
    apply(params, x, 0.4, c, train=True)


@pytest.mark.parametrize("args, match", [
    (lambda x, c: (x[:, :16], 0.5, c), r"x: expected shape \(B, 17, 5\)"),
    (lambda x, c: (x[..., :3], 0.5, c), r"x: expected shape \(B, 17, 5\)"),
    (lambda x, c: (x[0], 0.5, c), r"x: expected shape"),
    (lambda x, c: (x, jnp.ones(B + 1), c), r"t: expected a scalar or shape "
                                           r"\(3,\)"),
    (lambda x, c: (x, 0.5, c[..., :7]), r"cond: expected shape \(B, 17, 16\)"),
    (lambda x, c: (x, 0.5, c[:2]), r"cond: .*B=3"),
])
def test_denoiser_bad_inputs_raise(denoiser, args, match):
  params, apply = denoiser
  with pytest.raises(ValueError, match=match):
    apply(params, *args(*_denoiser_inputs()))


@pytest.mark.parametrize("name, kw, match", [
    ("diffpose_denoiser", dict(num_joints=5), r"edges: required when "
                                              r"num_joints=5"),
    ("diffpose_denoiser", dict(hidden=10, num_heads=4), r"num_heads: 4 does "
                                                        r"not divide"),
    ("diffpose_denoiser", dict(dropout=1.0), r"dropout: expected a rate"),
    ("graph_lifter", dict(conv_dropout=-0.1), r"conv_dropout: expected"),
    ("graph_lifter", dict(num_joints=3, edges=[(0, 3)]), r"edges: edge"),
    ("temporal_lifter", dict(num_frames=28), r"num_frames: expected an odd"),
])
def test_bad_constructor_arguments_raise(name, kw, match):
  with pytest.raises(ValueError, match=match):
    models.model_graphdef(name, **kw)


# --- the context encoders ---------------------------------------------------

def test_temporal_dilations():
  assert ce.temporal_dilations(27) == (1, 3, 9)  # VideoPose3D's 27 frames
  assert ce.temporal_dilations(81) == (1, 3, 9, 27)
  assert ce.temporal_dilations(243) == (1, 3, 9, 27, 81)
  assert ce.temporal_dilations(1) == ()
  for t in (3, 5, 7, 11, 29):
    assert 2 * sum(ce.temporal_dilations(t)) == t - 1, t
  with pytest.raises(ValueError, match="num_frames"):
    ce.temporal_dilations(0)


@pytest.fixture(scope="module")
def lifter():
  graphdef, params = models.create_model("graph_lifter", key=jax.random.key(0),
                                         **SMALL_LIFTER)
  return graphdef, params, _jit_apply(graphdef)


def test_graph_lifter_shapes_and_output_type(lifter):
  graphdef, params, apply = lifter
  pose2d = _normal(1, (B, J, 2))
  out = apply(params, pose2d)
  assert isinstance(out, models.LifterOutput)
  features, pose3d = out
  assert features.shape == (B, J, 16) and pose3d.shape == (B, J, 3)
  assert nnx.merge(graphdef, params).feature_dim == 16
  with pytest.raises(ValueError, match=r"pose2d: expected shape \(B, 17, 2\)"):
    apply(params, _normal(1, (B, J, 3)))


@pytest.mark.parametrize("frames", [27, 81])
def test_temporal_lifter_shapes_and_receptive_field(frames):
  graphdef, params = models.create_model(
      "temporal_lifter", key=jax.random.key(0), num_frames=frames,
      **SMALL_TEMPORAL)
  apply = _jit_apply(graphdef)
  pose2d = _normal(1, (3, frames, J, 2))
  # Rows 3..5 are rows 0..2 with the first frame of row 1 and the last
  # frame of row 2 moved: one call, one compilation.
  moved = pose2d.at[1, 0].add(1.0).at[2, -1].add(1.0)
  features, pose3d = apply(params, jnp.concatenate([pose2d, moved]))
  assert features.shape == (6, J, 8) and pose3d.shape == (6, J, 3)
  # The centre frame's output sees the whole window, its first and last
  # frames included, and nothing of another example.
  np.testing.assert_allclose(pose3d[3], pose3d[0], rtol=1e-6, atol=1e-6)
  for row in (1, 2):
    assert not np.allclose(pose3d[3 + row], pose3d[row], atol=1e-5), row
  with pytest.raises(ValueError, match=rf"pose2d: expected shape \(B, {frames}, "
                                       r"17, 2\)"):
    apply(params, pose2d[:, 1:])


def test_lifter_dropout_and_grad(lifter):
  _, params, apply = lifter
  pose2d = _normal(1, (B, J, 2))
  det = apply(params, pose2d).pose3d
  k1 = jax.random.key(3)
  tr = apply(params, pose2d, train=True, dropout_key=k1).pose3d
  np.testing.assert_array_equal(
      apply(params, pose2d, train=True, dropout_key=k1).pose3d, tr)
  assert not np.allclose(tr, det, atol=1e-4)
  np.testing.assert_array_equal(
      apply(params, pose2d, dropout_key=k1).pose3d, det)
  with pytest.raises(ValueError, match="dropout_key"):
    apply(params, pose2d, train=True)


def test_grad_through_lifter_and_denoiser(lifter, denoiser):
  # DiffPose's wiring, the lifter's features conditioning the denoiser; one
  # compiled gradient covers both networks (DiffPose freezes the lifter, a
  # loss may not).
  _, lifter_params, lifter_apply = lifter
  denoiser_params, denoiser_apply = denoiser
  pose2d, target = _normal(1, (B, J, 2)), _normal(2, (B, J, 3))
  x, _ = _denoiser_inputs()

  def loss(lp, dp, key):
    k1, k2 = jax.random.split(key)
    out = lifter_apply(lp, pose2d, train=True, dropout_key=k1)
    eps = denoiser_apply(dp, x, jnp.full((B,), 0.5), out.features,
                         train=True, dropout_key=k2)
    return jnp.mean((out.pose3d - target) ** 2) + jnp.mean(eps ** 2)

  grads = jax.jit(jax.grad(loss, argnums=(0, 1)))(
      lifter_params, denoiser_params, jax.random.key(0))
  for tree in grads:
    leaves = jax.tree.leaves(tree)
    assert all(np.all(np.isfinite(g)) for g in leaves)
    assert sum(float(jnp.abs(g).sum()) for g in leaves) > 0


# --- the registry ------------------------------------------------------------

@pytest.mark.parametrize("name", ["diffpose_denoiser", "graph_lifter",
                                  "temporal_lifter"])
def test_registry_create_graphdef_apply(name):
  assert name in models.model_names()
  kw = SMALL[name]
  _, params = models.create_model(name, key=jax.random.key(4), **kw)
  # The abstract structure pairs with the allocated parameters.
  apply = models.make_apply(models.model_graphdef(name, **kw))
  if name == "diffpose_denoiser":
    inputs = _denoiser_inputs()
    inputs = (inputs[0], 0.5, inputs[1])
  elif name == "graph_lifter":
    inputs = (_normal(1, (B, J, 2)),)
  else:
    inputs = (_normal(1, (B, 9, J, 2)),)
  # Traced, not compiled: the other tests run every network.
  out = jax.eval_shape(apply, params, *inputs)
  if name == "diffpose_denoiser":
    assert out.shape == (B, J, 5)
  else:
    assert isinstance(out, models.LifterOutput)
    assert out.features.shape == (B, J, kw["hidden"])
    assert out.pose3d.shape == (B, J, 3)
  # Only parameters: the graph is static structure, never state.
  assert all(isinstance(v, nnx.Param)
             for _, v in nnx.to_flat_state(params))
  with pytest.raises(ValueError, match="valid arguments: .*hidden"):
    models.create_model(name, key=jax.random.key(0), hiden=8)
