"""Tests of jaxpose.pose.metrics on hand-made cases."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpose.pose import metrics


def _pose(seed=0, shape=()):
  return np.random.default_rng(seed).normal(0, 300, shape + (17, 3))


def _rotation(seed):
  q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
  return q * np.sign(np.linalg.det(q))  # proper rotation


def test_identical_poses_zero():
  p = _pose(0, (4,))
  np.testing.assert_allclose(metrics.mpjpe(p, p), 0, atol=1e-6)
  np.testing.assert_allclose(metrics.pa_mpjpe(p, p), 0, atol=1e-2)
  np.testing.assert_allclose(metrics.per_joint_error(p, p), 0, atol=1e-6)


def test_constant_shift_gives_its_norm():
  p = _pose(1, (3,))
  shift = np.array([30.0, -40.0, 0.0])  # norm 50
  np.testing.assert_allclose(metrics.mpjpe(p + shift, p), 50.0, rtol=1e-5)
  np.testing.assert_allclose(metrics.per_joint_error(p + shift, p),
                             np.full((3, 17), 50.0), rtol=1e-5)


def test_mpjpe_by_hand():
  gt = np.zeros((2, 3))
  pred = np.array([[3.0, 4.0, 0.0], [0.0, 0.0, 1.0]])
  np.testing.assert_allclose(metrics.mpjpe(pred, gt), 3.0)


def test_pa_mpjpe_similarity_invariant():
  gt = _pose(2)
  pred = 1.7 * gt @ _rotation(3).T + np.array([100.0, -50.0, 20.0])
  assert float(metrics.mpjpe(pred, gt)) > 100
  np.testing.assert_allclose(metrics.pa_mpjpe(pred, gt), 0, atol=0.05)
  np.testing.assert_allclose(metrics.procrustes_align(pred, gt), gt, atol=0.1)


def test_pa_mpjpe_excludes_reflections():
  gt = _pose(4)
  mirrored = gt * np.array([-1.0, 1.0, 1.0])
  err = float(metrics.pa_mpjpe(mirrored, gt))
  assert err > 10.0
  # The reflection would have been the best orthogonal map: with it allowed
  # (plain SVD, no sign fix) the error is zero.
  x, y = mirrored - mirrored.mean(0), gt - gt.mean(0)
  u, s, vt = np.linalg.svd(y.T @ x)
  r = u @ vt
  assert np.linalg.det(r) < 0
  np.testing.assert_allclose(x @ r.T * s.sum() / (x ** 2).sum(), y, atol=1e-6)


def test_pa_mpjpe_matches_reference_closed_form():
  # Against a float64 numpy Procrustes with noise (not a zero case).
  gt, pred = _pose(5, (6,)), _pose(6, (6,))
  out = np.asarray(metrics.pa_mpjpe(pred, gt))
  for i in range(6):
    x, y = pred[i] - pred[i].mean(0), gt[i] - gt[i].mean(0)
    u, s, vt = np.linalg.svd(y.T @ x)
    d = np.sign(np.linalg.det(u @ vt))
    r = u @ np.diag([1, 1, d]) @ vt
    scale = (s * [1, 1, d]).sum() / (x ** 2).sum()
    aligned = scale * x @ r.T + gt[i].mean(0)
    ref = np.linalg.norm(aligned - gt[i], axis=-1).mean()
    np.testing.assert_allclose(out[i], ref, rtol=1e-4)
    assert out[i] <= np.linalg.norm(pred[i] - gt[i], axis=-1).mean()


def test_best_of_h_picks_right_hypothesis():
  gt = _pose(7, (5,))
  offsets = np.array([100.0, 10.0, 50.0])  # hypothesis 1 is best
  hyps = gt[None] + offsets[:, None, None, None] * np.array([1.0, 0, 0])
  np.testing.assert_allclose(metrics.best_of_h(hyps, gt), 10.0, rtol=1e-5)
  np.testing.assert_allclose(metrics.best_of_h(hyps, gt, metric=metrics.pa_mpjpe),
                             0, atol=0.05)


def test_mean_of_h_symmetric_hypotheses():
  gt = _pose(8, (2,))
  d = np.random.default_rng(9).normal(0, 80, (3, 2, 17, 3))
  hyps = np.concatenate([gt + d, gt - d])  # symmetric around gt
  np.testing.assert_allclose(metrics.mean_of_h(hyps, gt), 0, atol=1e-3)
  assert float(metrics.best_of_h(hyps, gt).min()) > 10


def test_apd_two_hypotheses():
  p = _pose(10, (4,))
  hyps = np.stack([p, p + np.array([0.0, 0.0, 25.0])])
  np.testing.assert_allclose(metrics.apd(hyps), np.full(4, 25.0), rtol=1e-5)


def test_apd_three_hypotheses_by_hand():
  base = np.zeros((17, 3))
  hyps = np.stack([base, base + [10.0, 0, 0], base + [0, 30.0, 0]])
  # Pair distances 10, 30, sqrt(1000): mean over the 3 pairs.
  expected = (10 + 30 + np.sqrt(1000.0)) / 3
  np.testing.assert_allclose(metrics.apd(hyps), expected, rtol=1e-5)
  np.testing.assert_allclose(metrics.apd(np.stack([base] * 3)), 0, atol=1e-6)


def test_jit_and_jax_inputs():
  gt = jnp.asarray(_pose(11, (3,)), jnp.float32)
  hyps = gt[None] + jax.random.normal(jax.random.key(0), (4,) + gt.shape) * 20
  for fn in (metrics.mpjpe, metrics.pa_mpjpe):
    np.testing.assert_allclose(jax.jit(fn)(hyps[0], gt), fn(hyps[0], gt),
                               rtol=1e-4)
  np.testing.assert_allclose(jax.jit(metrics.best_of_h)(hyps, gt),
                             metrics.best_of_h(hyps, gt), rtol=1e-5)
  np.testing.assert_allclose(jax.jit(metrics.apd)(hyps), metrics.apd(hyps),
                             rtol=1e-5)


def test_shape_errors():
  with pytest.raises(ValueError, match="pred"):
    metrics.mpjpe(np.zeros((17, 2)), np.zeros((17, 3)))
  with pytest.raises(ValueError, match="J="):
    metrics.mpjpe(np.zeros((16, 3)), np.zeros((17, 3)))
  with pytest.raises(ValueError, match="broadcast"):
    metrics.mpjpe(np.zeros((4, 17, 3)), np.zeros((5, 17, 3)))
  with pytest.raises(ValueError, match="hyps"):
    metrics.best_of_h(np.zeros((4, 17, 3)), np.zeros((4, 17, 3)))
  with pytest.raises(ValueError, match="H >= 2"):
    metrics.apd(np.zeros((1, 17, 3)))
  with pytest.raises(ValueError, match="non-finite"):
    metrics.mpjpe(np.full((17, 3), np.nan), np.zeros((17, 3)))


def test_mean_by_group():
  values = np.array([1.0, 3.0, 10.0, 5.0])
  groups = np.array([0, 0, 2, 0])
  out = np.asarray(metrics.mean_by_group(values, groups, 3))
  np.testing.assert_allclose(out[[0, 2]], [3.0, 10.0])
  assert np.isnan(out[1])
  with pytest.raises(ValueError, match="groups"):
    metrics.mean_by_group(values, groups.astype(float), 3)
  with pytest.raises(ValueError, match="N="):
    metrics.mean_by_group(values, groups[:3], 3)


@pytest.mark.parametrize("fn", [metrics.best_of_h, metrics.mean_of_h])
def test_no_hypotheses_or_empty_batch_named(fn):
  gt = _pose(12, (4,))
  with pytest.raises(ValueError, match=r"hyps: no hypotheses \(H\) .*\(0, 4, 17, 3\)"):
    fn(np.zeros((0,) + gt.shape), gt)
  with pytest.raises(ValueError, match=r"hyps: no poses \(axis 1\)"):
    fn(np.zeros((2, 0, 17, 3)), np.zeros((0, 17, 3)))
  with pytest.raises(ValueError, match=r"hyps: no joints \(J\)"):
    fn(np.zeros((2, 4, 0, 3)), np.zeros((4, 0, 3)))


def test_apd_empty_batch_named():
  with pytest.raises(ValueError, match=r"hyps: no poses \(axis 1\)"):
    metrics.apd(np.zeros((3, 0, 17, 3)))


def test_mean_by_group_rejects_unknown_ids_and_no_values():
  values = np.array([1.0, 3.0, 10.0])
  for bad in ([0, 3, 1], [0, -1, 1]):  # silently dropped by segment_sum before
    with pytest.raises(ValueError, match=r"groups: 1 of 3 ids lie outside \[0, "
                                         r"num_groups=3\).*num_groups"):
      metrics.mean_by_group(values, np.array(bad), 3)
  with pytest.raises(ValueError, match=r"values: no values \(N\)"):
    metrics.mean_by_group(np.zeros(0), np.zeros(0, np.int32), 3)
  with pytest.raises(ValueError, match="num_groups: expected a positive int"):
    metrics.mean_by_group(values, np.zeros(3, np.int32), 0)
  # Under jit the ids are unknown at trace time: the shapes are still checked.
  out = jax.jit(metrics.mean_by_group, static_argnums=2)(values, jnp.array([0, 1, 1]), 2)
  np.testing.assert_allclose(out, [1.0, 6.5])


def test_n_mpjpe_forgives_size_and_nothing_else():
  gt = _pose(3, (5,))
  gt = gt - gt[:, :1]
  small = 0.8 * gt  # the right pose, 20% too small
  assert float(metrics.mpjpe(small, gt).mean()) > 10
  np.testing.assert_allclose(metrics.n_mpjpe(small, gt), 0.0, atol=1e-3)
  turned = np.einsum("ij,...j->...i", _rotation(4), gt)  # right size, turned
  assert (np.asarray(metrics.n_mpjpe(turned, gt)) > 10).all()
  # The scale fits least squares: never a larger squared error.
  noisy = gt + np.random.default_rng(5).normal(0, 40, gt.shape)
  dot = np.sum(noisy * gt, axis=(1, 2)) / np.sum(noisy * noisy, axis=(1, 2))
  by_hand = np.linalg.norm(dot[:, None, None] * noisy - gt, axis=-1).mean(-1)
  np.testing.assert_allclose(metrics.n_mpjpe(noisy, gt), by_hand, rtol=1e-4)
