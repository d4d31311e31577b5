"""Body model loading and linear blend skinning on a tiny synthetic model.

The model is made here (5 joints, 40 vertices, random blend shapes) in the
publishers' layout; no real SMPL file is used or needed.
"""
import pickle
import sys
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpose.pose import body_model as bm
from jaxpose.pose import kinematics

PARENTS = (-1, 0, 1, 2, 1)  # a chain 0-1-2-3 and a branch 4 off joint 1
NJ, NV, NK = len(PARENTS), 40, 4


def _rodrigues(r):
  """Independent axis-angle -> matrix for the oracle (numpy, one rotvec)."""
  t = np.linalg.norm(r)
  if t < 1e-12:
    return np.eye(3)
  k = r / t
  kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
  return np.eye(3) + np.sin(t) * kx + (1 - np.cos(t)) * kx @ kx


def _arrays(seed=0, one_hot=None, root_parent=-1):
  """The publishers' keys for a random model, in metres-like units."""
  rng = np.random.default_rng(seed)
  weights = rng.uniform(size=(NV, NJ))
  if one_hot is not None:  # vertex v skinned to joint one_hot[v] alone
    weights = np.eye(NJ)[one_hot]
  reg = rng.uniform(size=(NJ, NV))
  kintree = np.array([[root_parent] + list(PARENTS[1:]), range(NJ)], np.int64)
  return dict(
      v_template=rng.normal(0, 0.5, (NV, 3)),
      shapedirs=rng.normal(0, 0.05, (NV, 3, NK)),
      posedirs=rng.normal(0, 0.02, (NV, 3, 9 * (NJ - 1))),
      J_regressor=reg / reg.sum(1, keepdims=True),
      kintree_table=kintree,
      weights=weights / weights.sum(1, keepdims=True),
      f=np.array([[0, 1, 2], [2, 3, 4]]))


def _model(arrays=None, **kw):
  arrays = _arrays() if arrays is None else arrays
  return bm.body_model_from_arrays(arrays, unit_to_mm=1.0, **kw)


def _reference(a, betas, pose, trans):
  """SMPL's LBS with 4x4 transforms, written out in numpy for one body."""
  v = a["v_template"] + a["shapedirs"][..., :len(betas)] @ betas
  rest = a["J_regressor"] @ v
  rots = [_rodrigues(r) for r in pose]
  feat = np.concatenate([(r - np.eye(3)).ravel() for r in rots[1:]])
  v = v + a["posedirs"] @ feat
  world = []
  for j, p in enumerate(PARENTS):
    local = np.eye(4)
    local[:3, :3] = rots[j]
    local[:3, 3] = rest[j] - (rest[p] if p >= 0 else 0)
    world.append(local if p < 0 else world[p] @ local)
  joints = np.array([g[:3, 3] for g in world]) + trans
  skin = []
  for g, j in zip(world, rest):
    a_j = g.copy()
    a_j[:3, 3] -= g[:3, :3] @ j  # relative to the rest joint
    skin.append(a_j)
  blend = np.einsum("vj,jab->vab", a["weights"], np.array(skin))
  vh = np.concatenate([v, np.ones((NV, 1))], 1)
  verts = np.einsum("vab,vb->va", blend, vh)[:, :3] + trans
  return verts, joints


def test_rest_pose_gives_template_and_regressed_joints():
  a = _arrays()
  v, j = bm.pose_body(_model(a))
  np.testing.assert_allclose(v, a["v_template"], atol=1e-6)
  np.testing.assert_allclose(j, a["J_regressor"] @ a["v_template"], atol=1e-6)
  v0, j0 = bm.pose_body(_model(a), np.zeros(NK), np.zeros((NJ, 3)), np.zeros(3))
  np.testing.assert_allclose(v0, v, atol=1e-7)
  np.testing.assert_allclose(j0, j, atol=1e-7)


def test_matches_reference_lbs_at_a_random_pose():
  a, rng = _arrays(1), np.random.default_rng(1)
  betas, pose, trans = rng.normal(size=NK), rng.normal(0, 0.6, (NJ, 3)), rng.normal(size=3)
  v, j = bm.pose_body(_model(a), betas, pose, trans)
  v_ref, j_ref = _reference(a, betas, pose, trans)
  np.testing.assert_allclose(v, v_ref, atol=2e-5)
  np.testing.assert_allclose(j, j_ref, atol=2e-5)


def test_root_rotation_turns_everything_about_the_root():
  a, rng = _arrays(2), np.random.default_rng(2)
  betas = rng.normal(size=NK)
  pose = np.zeros((NJ, 3))
  pose[0] = [0.3, -1.1, 0.7]
  r = _rodrigues(pose[0])
  shaped = a["v_template"] + a["shapedirs"] @ betas
  rest = a["J_regressor"] @ shaped
  v, j = bm.pose_body(_model(a), betas, pose)
  # The root's rotation drives no pose blend shape.
  np.testing.assert_allclose(v, (shaped - rest[0]) @ r.T + rest[0], atol=2e-5)
  np.testing.assert_allclose(j, (rest - rest[0]) @ r.T + rest[0], atol=2e-5)


def test_child_rotation_moves_only_its_subtree():
  owner = np.arange(NV) % NJ  # one-hot weights
  a = _arrays(3, one_hot=owner)
  a["posedirs"] = np.zeros_like(a["posedirs"])  # skinning alone
  pose = np.zeros((NJ, 3))
  pose[2] = [0.0, 0.9, -0.4]
  r = _rodrigues(pose[2])
  rest = a["J_regressor"] @ a["v_template"]
  v, j = map(np.asarray, bm.pose_body(_model(a), pose=pose))
  moved = np.isin(owner, [2, 3])  # joint 2 and its child 3
  expect = np.where(moved[:, None], (a["v_template"] - rest[2]) @ r.T + rest[2],
                    a["v_template"])
  np.testing.assert_allclose(v, expect, atol=2e-5)
  np.testing.assert_allclose(j[[0, 1, 2, 4]], rest[[0, 1, 2, 4]], atol=1e-6)
  np.testing.assert_allclose(j[3], (rest[3] - rest[2]) @ r.T + rest[2], atol=2e-5)


def test_translation_adds_to_vertices_and_joints():
  rng = np.random.default_rng(4)
  model, pose, betas = _model(), rng.normal(0, 0.5, (NJ, 3)), rng.normal(size=2)
  t = np.array([10.0, -20.0, 5.0])
  v0, j0 = bm.pose_body(model, betas, pose)
  v1, j1 = bm.pose_body(model, betas, pose, t)
  np.testing.assert_allclose(v1, np.asarray(v0) + t, atol=1e-4)
  np.testing.assert_allclose(j1, np.asarray(j0) + t, atol=1e-4)


def test_betas_are_linear_at_rest_and_may_be_fewer():
  a = _arrays(5)
  model = _model(a)
  betas = np.array([1.5, -0.7])  # 2 of the 4 components
  v, j = bm.pose_body(model, betas)
  shaped = a["v_template"] + a["shapedirs"][..., :2] @ betas
  np.testing.assert_allclose(v, shaped, atol=1e-6)
  np.testing.assert_allclose(j, a["J_regressor"] @ shaped, atol=1e-6)
  with pytest.raises(ValueError, match="betas: 5 coefficients.*only 4"):
    bm.pose_body(model, np.zeros(5))


def test_pose_blend_shapes_follow_the_formula():
  # Every vertex on the root, which stays at rest: only the blend shapes move.
  a = _arrays(6, one_hot=np.zeros(NV, int))
  pose = np.random.default_rng(6).normal(0, 0.8, (NJ, 3))
  pose[0] = 0.0
  feat = np.concatenate([(_rodrigues(p) - np.eye(3)).ravel() for p in pose[1:]])
  v, _ = bm.pose_body(_model(a), pose=pose)
  np.testing.assert_allclose(v, a["v_template"] + a["posedirs"] @ feat, atol=2e-5)


def test_broadcasting_jit_vmap_and_finite_gradients():
  a, rng = _arrays(7), np.random.default_rng(7)
  model = _model(a)
  pose, d, eps = rng.normal(0, 0.5, (NJ, 3)), rng.normal(size=(NJ, 3)), 1e-3
  # Row 0 the rest pose (Rodrigues' series branch), rows 1-2 a central
  # difference about row 3, then random poses.
  poses = np.stack([np.zeros((NJ, 3)), pose + eps * d, pose - eps * d, pose,
                    rng.normal(0, 0.5, (NJ, 3))])
  betas, trans = rng.normal(size=NK), rng.normal(size=(len(poses), 3))

  def loss(b, p, t):
    v, j = bm.pose_body(model, b, p, t)
    return jnp.sum(v ** 2) + jnp.sum(j ** 2)

  # One program (each compiles in about a second on CPU): broadcast betas,
  # vmap, and per-pose gradients, all under jit.
  @jax.jit
  def run(b, p, t):
    v, j = bm.pose_body(model, b, p, t)
    vv, _ = jax.vmap(bm.pose_body, in_axes=(None, None, 0, 0))(model, b, p, t)
    values, grads = jax.vmap(jax.value_and_grad(loss, argnums=(0, 1, 2)),
                             in_axes=(None, 0, 0))(b, p, t)
    return v, j, vv, values, grads

  v, j, vv, values, grads = run(betas, poses, trans)
  assert v.shape == (len(poses), NV, 3) and j.shape == (len(poses), NJ, 3)
  np.testing.assert_allclose(v[4], _reference(a, betas, poses[4], trans[4])[0], atol=2e-5)
  np.testing.assert_allclose(vv, v, atol=1e-5)
  for g in grads:
    assert np.all(np.isfinite(g)) and np.all(np.any(np.asarray(g).reshape(len(poses), -1), 1))
  # The pose gradient against the central difference (trans differs by row,
  # so the difference is taken with row 3's gradient at row 3's trans).
  trans[1:3] = trans[3]
  _, _, _, values, _ = run(betas, poses, trans)
  fd = (values[1] - values[2]) / (2 * eps)
  np.testing.assert_allclose(np.sum(grads[1][3] * d), fd, rtol=1e-2)


def test_load_npz_in_metres_as_mm_with_either_root_parent(tmp_path):
  models = []
  for root_parent, dtype in ((-1, np.int64), (2**32 - 1, np.uint32)):
    a = _arrays(8, root_parent=root_parent)
    a["kintree_table"] = a["kintree_table"].astype(dtype)
    path = tmp_path / f"model_{root_parent}.npz"
    np.savez(path, **a, part2num=np.array(["not", "read"]))
    models.append(bm.load_body_model(path))
  for m in models:
    assert m.parents == PARENTS and m.num_joints == NJ and m.num_betas == NK
    np.testing.assert_allclose(m.v_template, a["v_template"] * 1000, rtol=1e-6)
    np.testing.assert_array_equal(m.faces, a["f"])
  v, j = bm.pose_body(models[1], np.ones(NK))
  shaped = (a["v_template"] + a["shapedirs"] @ np.ones(NK)) * 1000  # mm
  np.testing.assert_allclose(v, shaped, rtol=1e-5, atol=1e-3)


def test_flattened_blend_shapes_load_the_same(tmp_path):
  a = _arrays(9)
  flat = dict(a, posedirs=a["posedirs"].reshape(NV * 3, -1),
              shapedirs=a["shapedirs"].reshape(NV * 3, -1))
  m, m_flat = _model(a), _model(flat)
  np.testing.assert_array_equal(m.posedirs, m_flat.posedirs)
  np.testing.assert_array_equal(m.shapedirs, m_flat.shapedirs)


@pytest.mark.parametrize("change, match", [
    (lambda a: a.pop("posedirs"), r"missing key\(s\) \['posedirs'\]"),
    (lambda a: a.update(weights=np.ones((NV, NJ + 1)) / (NJ + 1)), r"weights: expected shape \(40, 5\)"),
    (lambda a: a.update(J_regressor=np.ones((NJ, NV - 1))), r"J_regressor: expected shape \(5, 40\)"),
    (lambda a: a.update(posedirs=np.zeros((NV, 3, 7))), r"posedirs: expected shape \(40, 3, 36\)"),
    (lambda a: a.update(v_template=np.zeros((NV, 2))), r"v_template: expected shape \(V, 3\)"),
    (lambda a: a.update(kintree_table=np.array([[-1, 0, 3, 1, 1], range(NJ)])),
     "kintree_table: joint 2 has parent 3"),
    (lambda a: a.update(kintree_table=np.array([[-1, -1, 1, 2, 1], range(NJ)])),
     r"kintree_table: expected one root.*\[0, 1\]"),
    (lambda a: a.update(weights=np.full((NV, NJ), 0.5)), "weights: row 0 sums to 2.5"),
])
def test_malformed_model_names_the_key(tmp_path, change, match):
  a = _arrays(10)
  change(a)
  path = tmp_path / "bad.npz"
  np.savez(path, **a)
  with pytest.raises(bm.BodyModelError, match=match) as e:
    bm.load_body_model(path)
  assert str(path) in str(e.value)


def test_missing_file_and_wrong_extension(tmp_path):
  with pytest.raises(FileNotFoundError, match="nothere.npz: no body model file"):
    bm.load_body_model(tmp_path / "nothere.npz")
  (tmp_path / "model.obj").write_text("v 0 0 0\n")
  with pytest.raises(bm.BodyModelError, match=r"model.obj: expected a .npz"):
    bm.load_body_model(tmp_path / "model.obj")


def test_pkl_with_sparse_regressor_loads_and_chumpy_is_refused(tmp_path):
  sparse = pytest.importorskip("scipy.sparse")
  a = _arrays(11)
  path = tmp_path / "model.pkl"
  with open(path, "wb") as f:
    pickle.dump(dict(a, J_regressor=sparse.csc_matrix(a["J_regressor"]), bs_style="lbs"), f)
  m = bm.load_body_model(path)
  np.testing.assert_allclose(m.J_regressor, a["J_regressor"], rtol=1e-6)

  # An object of a stand-in 'chumpy' module: refused before any import.
  fake = types.ModuleType("chumpy")
  Ch = type("Ch", (), {"__module__": "chumpy"})
  fake.Ch = Ch
  sys.modules["chumpy"] = fake
  try:
    with open(tmp_path / "chumpy.pkl", "wb") as f:
      pickle.dump(dict(a, shapedirs=Ch()), f)
  finally:
    del sys.modules["chumpy"]
  with pytest.raises(bm.BodyModelError, match=r"chumpy.pkl: holds chumpy objects.*\.npz"):
    bm.load_body_model(tmp_path / "chumpy.pkl")

  # Nothing but arrays is built: a pickle that would call a function is refused.
  class Call:
    def __reduce__(self):
      return (print, ("ran",))
  with open(tmp_path / "code.pkl", "wb") as f:
    pickle.dump(dict(a, weights=Call()), f)
  with pytest.raises(bm.BodyModelError, match=r"code.pkl: holds a builtins.print object"):
    bm.load_body_model(tmp_path / "code.pkl")


def test_body_vector_round_trip():
  pose = np.random.default_rng(12).normal(size=(2, 24, 3))  # SMPL's 24 joints
  body = bm.to_body_vector(pose)
  assert body.shape == (2, 63)
  np.testing.assert_array_equal(body[:, :3], pose[:, 1])  # joint 1 first
  np.testing.assert_array_equal(body[:, -3:], pose[:, 21])
  full = bm.from_body_vector(body, pose[:, 0], num_joints=24)
  np.testing.assert_array_equal(full[:, :22], pose[:, :22])
  np.testing.assert_array_equal(full[:, 22:], 0.0)  # hands at rest
  np.testing.assert_array_equal(bm.from_body_vector(jnp.asarray(body[0]))[0], 0.0)
  with pytest.raises(ValueError, match="pose: expected at least 22 joints"):
    bm.to_body_vector(pose[:, :21])


def test_mpvpe_and_kinematics_offsets():
  gt = np.zeros((2, NV, 3))
  pred = gt + np.array([3.0, 4.0, 0.0])  # every vertex 5 mm off
  np.testing.assert_allclose(bm.mpvpe(pred, gt), [5.0, 5.0], rtol=1e-6)
  with pytest.raises(ValueError, match="gt_vertices"):
    bm.mpvpe(pred, gt[:, :-1])
  rest = np.random.default_rng(13).normal(size=(NJ, 3))
  off = kinematics.rest_offsets(rest, PARENTS)
  _, pos = kinematics.forward_kinematics(np.broadcast_to(np.eye(3), (NJ, 3, 3)), off, PARENTS)
  np.testing.assert_allclose(pos, rest, atol=1e-12)  # numpy in, numpy out
