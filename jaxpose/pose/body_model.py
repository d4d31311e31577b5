"""SMPL / SMPL-X body models from the user's own file, posed in JAX.

jaxpose ships no body model (the publishers license them; get SMPL from
smpl.is.tue.mpg.de, SMPL-X from smpl-x.is.tue.mpg.de).  `load_body_model`
reads a file in the publishers' layout and `pose_body` poses it by linear
blend skinning (Loper et al., SIGGRAPH Asia 2015), differentiably, for
test-time optimisation with a pose prior such as DPoser.

The file layout (keys of an `.npz` or of a chumpy-free `.pkl`; other keys,
e.g. SMPL-X's hand PCA or landmarks, are ignored):

  v_template     [V, 3]                 rest mesh, metres
  shapedirs      [V, 3, K] or [V*3, K]  shape blend shapes, metres per beta
  posedirs       [V, 3, P] or [V*3, P]  pose blend shapes, P = 9 (J - 1)
  J_regressor    [J, V]                 rest joints = J_regressor @ shaped
                                        mesh (dense, or sparse in a .pkl)
  kintree_table  [2, J]                 row 0 parents, row 1 joint ids; the
                                        root's parent is -1 or 2**32 - 1
  weights        [V, J]                 skinning weights, rows sum to 1
  f              [F, 3]                 optional mesh faces

SMPL has J = 24 (pelvis and 23 joints), SMPL-H 52, SMPL-X 55; any J works.
The publishers' SMPL `.pkl` files hold chumpy objects and cannot be read
without chumpy: convert them once to `.npz` (see `load_body_model`).
SMPL-X's `.npz` stacks its expression components after the shape ones in
`shapedirs`; `betas` index that last axis in order.

Units: the files are in metres; the loaded `BodyModel` and `pose_body`'s
`trans`, vertices and joints are in millimetres (jaxpose's unit).

Pose: axis-angle per joint [..., J, 3], file order, root first, each
relative to its parent.  DPoser's 63-D body pose is joints 1..21 (SMPL's
body without the root): `to_body_vector` / `from_body_vector`.
"""
from __future__ import annotations

import os
import pathlib
import pickle
from typing import Mapping, NamedTuple

import flax
import jax
import jax.numpy as jnp
import numpy as np

from jaxpose.checks import check_array
from jaxpose.pose import kinematics, metrics, rotations

_HIGHEST = jax.lax.Precision.HIGHEST

REQUIRED_KEYS = ("v_template", "shapedirs", "posedirs", "J_regressor",
                 "kintree_table", "weights")
# kintree_table marks the root's parent as -1 or as uint32's -1.
_ROOT_PARENTS = (-1, 2**32 - 1)

# SMPL's body: pelvis (the root) + 21 body joints = SMPL joints 0..21 (also
# SMPL-H's and SMPL-X's first 22); DPoser models joints 1..21.
NUM_BODY_JOINTS = 22
BODY_VECTOR_DIM = 3 * (NUM_BODY_JOINTS - 1)  # 63

_CONVERT_HINT = (
    "convert it once to .npz where chumpy is installed (e.g. "
    "`d = pickle.load(f, encoding='latin1'); np.savez(out, **{k: "
    "np.asarray(d[k].r if hasattr(d[k], 'r') else (d[k].toarray() if "
    "hasattr(d[k], 'toarray') else d[k])) for k in ('v_template', "
    "'shapedirs', 'posedirs', 'J_regressor', 'kintree_table', 'weights', "
    "'f')})`), or use a chumpy-free copy (smplx's tools/clean_ch.py)")


class BodyModelError(ValueError):
  """A body model file or array set that does not have the expected layout."""


@flax.struct.dataclass
class BodyModel:
  """A linear-blend-skinned body model in millimetres (a pytree of arrays).

  Attributes:
    v_template: rest mesh, mm.  # [V, 3]
    shapedirs: shape blend shapes, mm per unit beta.  # [V, 3, K]
    posedirs: pose blend shapes, mm per unit of (R - I).  # [V, 3, 9 (J - 1)]
    J_regressor: rest joints from the shaped mesh.  # [J, V]
    weights: skinning weights, rows sum to 1.  # [V, J]
    faces: mesh triangles (vertex ids), or None.  # [F, 3] int32
    parents: J static ints, -1 for the root (joint 0), parents first.
  """
  v_template: jax.Array
  shapedirs: jax.Array
  posedirs: jax.Array
  J_regressor: jax.Array
  weights: jax.Array
  faces: jax.Array | None = None
  parents: tuple[int, ...] = flax.struct.field(pytree_node=False, default=())

  @property
  def num_joints(self) -> int:
    return len(self.parents)

  @property
  def num_vertices(self) -> int:
    return self.v_template.shape[0]

  @property
  def num_betas(self) -> int:
    """The most shape coefficients the model has (K)."""
    return self.shapedirs.shape[-1]


def _parents_from_kintree(kintree, source: str) -> tuple[int, ...]:
  """kintree_table [2, J] -> parents with -1 for the root, checked."""
  kt = np.asarray(kintree)
  if not np.issubdtype(kt.dtype, np.number):
    raise BodyModelError(f"{source}: kintree_table: expected integers, got dtype {kt.dtype}")
  if kt.ndim != 2 or kt.shape[0] != 2:
    raise BodyModelError(f"{source}: kintree_table: expected shape (2, J), got {kt.shape}")
  if not np.all(np.asarray(kt, np.float64) == np.round(kt)):
    raise BodyModelError(f"{source}: kintree_table: expected integers, got fractions")
  kt = kt.astype(np.int64)  # uint32's 2**32 - 1 stays itself, not -1
  nj = kt.shape[1]
  ids = kt[1]
  if sorted(ids.tolist()) != list(range(nj)):
    raise BodyModelError(f"{source}: kintree_table: row 1 (joint ids) must hold "
                         f"0..{nj - 1} once each, got {ids.tolist()}")
  parents = [0] * nj
  for c in range(nj):
    p = int(kt[0, c])
    parents[int(ids[c])] = -1 if p in _ROOT_PARENTS else p
  roots = [j for j, p in enumerate(parents) if p == -1]
  if roots != [0]:
    raise BodyModelError(
        f"{source}: kintree_table: expected one root, joint 0 (parent -1 or "
        f"2**32 - 1), got root(s) {roots}; parents {parents}")
  try:
    return kinematics.check_parents(parents, name=f"{source}: kintree_table")
  except ValueError as e:
    raise BodyModelError(str(e)) from None


def _dense(value, key: str, source: str) -> np.ndarray:
  """A numeric array from a dense array or a sparse matrix (`.toarray()`)."""
  if hasattr(value, "toarray"):  # scipy.sparse, as in the SMPL .pkl files
    value = value.toarray()
  arr = np.asarray(value)
  if not np.issubdtype(arr.dtype, np.number):
    raise BodyModelError(f"{source}: {key}: expected a numeric array, got "
                         f"{type(value).__name__} of dtype {arr.dtype}")
  return arr


def _blend_shapes(arr, key: str, nv: int, source: str, nj: int | None = None):
  """[V, 3, K] or the flattened [V*3, K] -> [V, 3, K]; K = 9 (J - 1) if nj."""
  if arr.ndim == 2 and arr.shape[0] == 3 * nv:
    arr = arr.reshape(nv, 3, arr.shape[1])  # row v*3 + c, as np.reshape flattens
  last = None if nj is None else 9 * (nj - 1)
  if arr.ndim != 3 or arr.shape[:2] != (nv, 3) or (last is not None and arr.shape[2] != last):
    k = "K" if last is None else str(last)
    why = f"V={nv} (from v_template)"
    if last is not None:
      why += f" and 9 (J - 1) = {last} pose features for J={nj} (from kintree_table)"
    raise BodyModelError(f"{source}: {key}: expected shape ({nv}, 3, {k}) or "
                         f"({3 * nv}, {k}) for {why}, got {arr.shape}")
  return arr


def body_model_from_arrays(arrays: Mapping, *, unit_to_mm: float = 1000.0,
                           source: str = "body model",
                           dtype=jnp.float32) -> BodyModel:
  """Checks the publishers' arrays and builds a `BodyModel` in mm.

  Args:
    arrays: a mapping with the keys of the module docstring (extra keys are
      ignored).
    unit_to_mm: millimetres per file unit; 1000 for the publishers' metres.
    source: what to call the arrays in errors (the file path).
    dtype: float type of the model's arrays.

  Raises:
    BodyModelError: naming the source and the missing key or the key with
      the wrong shape or values.
  """
  missing = [k for k in REQUIRED_KEYS if k not in arrays]
  if missing:
    raise BodyModelError(f"{source}: missing key(s) {missing}; a body model needs "
                         f"{list(REQUIRED_KEYS)}, found {sorted(arrays)}")
  a = {k: _dense(arrays[k], k, source) for k in REQUIRED_KEYS}
  v_template = a["v_template"]
  if v_template.ndim != 2 or v_template.shape[1] != 3 or v_template.shape[0] == 0:
    raise BodyModelError(f"{source}: v_template: expected shape (V, 3), got {v_template.shape}")
  nv = v_template.shape[0]
  parents = _parents_from_kintree(a["kintree_table"], source)
  nj = len(parents)
  shapedirs = _blend_shapes(a["shapedirs"], "shapedirs", nv, source)
  posedirs = _blend_shapes(a["posedirs"], "posedirs", nv, source, nj=nj)
  for key, shape in (("J_regressor", (nj, nv)), ("weights", (nv, nj))):
    if a[key].shape != shape:
      raise BodyModelError(
          f"{source}: {key}: expected shape {shape} for J={nj} (from "
          f"kintree_table) and V={nv} (from v_template), got {a[key].shape}")
  for k, arr in a.items():
    if not np.all(np.isfinite(arr)):
      raise BodyModelError(f"{source}: {k}: holds NaN or inf")
  # Weights that do not sum to 1 would scale and shift the skinned mesh.
  sums = a["weights"].sum(axis=1)
  worst = int(np.argmax(np.abs(sums - 1.0)))
  if abs(sums[worst] - 1.0) > 1e-3:
    raise BodyModelError(f"{source}: weights: row {worst} sums to {sums[worst]:.6g}; "
                         "expected every vertex's weights to sum to 1")
  faces = None
  if "f" in arrays and arrays["f"] is not None:
    f = _dense(arrays["f"], "f", source)
    if f.ndim != 2 or f.shape[1] != 3 or (f.size and (f.min() < 0 or f.max() >= nv)):
      raise BodyModelError(f"{source}: f: expected shape (F, 3) of vertex ids "
                           f"below V={nv}, got shape {f.shape}")
    faces = jnp.asarray(f, jnp.int32)
  scale = float(unit_to_mm)
  as_f = lambda x, s=1.0: jnp.asarray(np.asarray(x, np.float64) * s, dtype)
  return BodyModel(
      v_template=as_f(v_template, scale), shapedirs=as_f(shapedirs, scale),
      posedirs=as_f(posedirs, scale), J_regressor=as_f(a["J_regressor"]),
      weights=as_f(a["weights"]), faces=faces, parents=parents)


class _NoCodeUnpickler(pickle.Unpickler):
  """Unpickles arrays, dicts and scipy sparse matrices, and nothing else
  (a pickle can run any code); chumpy objects get the conversion hint."""
  _ALLOWED = {
      ("numpy", "ndarray"), ("numpy", "dtype"),
      ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
      ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
      ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
      ("copyreg", "_reconstructor"), ("builtins", "object"),
      ("_codecs", "encode"),  # bytes in Python 3's protocol-2 pickles
  }
  _SPARSE = {"csc_matrix", "csr_matrix", "coo_matrix", "csc_array", "csr_array", "coo_array"}

  def find_class(self, module, name):
    if module.startswith("numpy.core") and hasattr(np, "_core"):
      # Pickles from numpy 1 name numpy.core, which numpy 2 renamed.
      module = "numpy._core" + module[len("numpy.core"):]
    if module.split(".")[0] == "chumpy":
      raise BodyModelError(f"holds chumpy objects ({module}.{name}), which jaxpose "
                           f"does not read; {_CONVERT_HINT}")
    if (module, name) in self._ALLOWED or (
        module.startswith("scipy.sparse") and name in self._SPARSE):
      return super().find_class(module, name)
    raise BodyModelError(f"holds a {module}.{name} object; a body model .pkl may "
                         "hold only numpy arrays and scipy sparse matrices: save "
                         "the arrays as .npz (see load_body_model)")


def _read(path: str) -> dict:
  suffix = pathlib.Path(path).suffix.lower()
  if suffix == ".npz":
    try:
      data = np.load(path, allow_pickle=False)
    except Exception as e:  # zip, EOF and OS errors alike
      raise BodyModelError(f"{path}: not a readable .npz ({e})") from None
    out = {}
    with data:
      for k in REQUIRED_KEYS + ("f",):
        if k in data.files:
          try:
            out[k] = data[k]
          except ValueError as e:  # an object array (pickled) in the npz
            raise BodyModelError(f"{path}: {k}: not a plain numeric array ({e})") from None
    # Placeholders for the other keys, so that a missing-key error lists
    # everything the file holds; only REQUIRED_KEYS and "f" are read.
    out.update({k: None for k in data.files if k not in out and k not in REQUIRED_KEYS})
    return out
  if suffix == ".pkl":
    try:
      with open(path, "rb") as f:
        data = _NoCodeUnpickler(f, encoding="latin1").load()
    except BodyModelError as e:
      raise BodyModelError(f"{path}: {e}") from None
    except Exception as e:
      raise BodyModelError(f"{path}: not a readable pickle ({type(e).__name__}: {e})") from None
    if not isinstance(data, dict):
      raise BodyModelError(f"{path}: expected a pickled dict of arrays, got {type(data).__name__}")
    return data
  raise BodyModelError(f"{path}: expected a .npz (or a chumpy-free .pkl) body model file")


def load_body_model(path: str | os.PathLike, *, unit_to_mm: float = 1000.0,
                    dtype=jnp.float32) -> BodyModel:
  """Reads an SMPL / SMPL-H / SMPL-X model file in the publishers' layout.

  Args:
    path: `.npz` (SMPL-X's release, or a converted SMPL file) or a
      chumpy-free `.pkl`.  The publishers' SMPL `.pkl` needs chumpy to
      unpickle; convert it once, where chumpy is installed:

        d = pickle.load(open('SMPL_NEUTRAL.pkl', 'rb'), encoding='latin1')
        dense = lambda x: np.asarray(x.r if hasattr(x, 'r') else
                                     x.toarray() if hasattr(x, 'toarray') else x)
        np.savez('SMPL_NEUTRAL.npz', **{k: dense(d[k]) for k in (
            'v_template', 'shapedirs', 'posedirs', 'J_regressor',
            'kintree_table', 'weights', 'f')})

      A `.pkl` is read without running code: only numpy arrays and scipy
      sparse matrices are built.
    unit_to_mm: millimetres per file unit (1000: the files are in metres).
    dtype: float type of the model's arrays.

  Returns:
    A `BodyModel` in millimetres.

  Raises:
    FileNotFoundError: no file at `path`.
    BodyModelError: an unreadable file, a missing key or a key with the
      wrong shape, each named with the file.
  """
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise FileNotFoundError(
        f"{path}: no body model file there; jaxpose ships none (SMPL: "
        "smpl.is.tue.mpg.de, SMPL-X: smpl-x.is.tue.mpg.de)")
  return body_model_from_arrays(_read(path), unit_to_mm=unit_to_mm, source=path,
                                dtype=dtype)


def _lbs(model: BodyModel, betas, pose, trans):
  """Linear blend skinning of flat batches; see `pose_body`."""
  nb = betas.shape[-1]
  v_shaped = model.v_template + jnp.einsum(
      "vck,nk->nvc", model.shapedirs[..., :nb], betas, precision=_HIGHEST)  # [N, V, 3]
  rest_joints = jnp.einsum("jv,nvc->njc", model.J_regressor, v_shaped,
                           precision=_HIGHEST)  # [N, J, 3]
  rot = rotations.axis_angle_to_matrix(pose)  # [N, J, 3, 3]
  # Pose blend shapes are driven by R - I of the non-root joints, so they
  # vanish at rest and do not depend on the global orientation.
  pose_feature = (rot[:, 1:] - jnp.eye(3, dtype=rot.dtype)).reshape(rot.shape[0], -1)
  v_posed = v_shaped + jnp.einsum("vcp,np->nvc", model.posedirs, pose_feature,
                                  precision=_HIGHEST)  # [N, V, 3]
  offsets = kinematics.rest_offsets(rest_joints, model.parents)
  world_rot, world_pos = kinematics.forward_kinematics(rot, offsets, model.parents)
  # Joint j maps a rest point x to world_rot_j (x - rest_j) + world_pos_j;
  # blending the affine maps by the weights then applying them once costs
  # V x 9 per pose instead of V x J x 9.
  shift = world_pos - jnp.einsum("njab,njb->nja", world_rot, rest_joints,
                                 precision=_HIGHEST)  # [N, J, 3]
  blend_rot = jnp.einsum("vj,njab->nvab", model.weights, world_rot,
                         precision=_HIGHEST)  # [N, V, 3, 3]
  blend_shift = jnp.einsum("vj,nja->nva", model.weights, shift, precision=_HIGHEST)
  vertices = jnp.einsum("nvab,nvb->nva", blend_rot, v_posed, precision=_HIGHEST) + blend_shift
  t = trans[:, None, :]  # [N, 1, 3]
  return vertices + t, world_pos + t


_lbs_jit = jax.jit(_lbs)


class PosedBody(NamedTuple):
  """A posed body, mm: its mesh and its kinematic joints."""
  vertices: jax.Array  # [..., V, 3]
  joints: jax.Array  # [..., J, 3]


def pose_body(model: BodyModel, betas=None, pose=None, trans=None) -> PosedBody:
  """Poses the body: shape and pose blend shapes, FK, linear blend skinning.

  Pure JAX: jit-, vmap- and grad-able in betas, pose and trans.  Leading
  dims broadcast, e.g. one `betas [K']` for a sequence `pose [T, J, 3]`.

  Args:
    model: from `load_body_model`.
    betas: shape coefficients, the first K' <= model.num_betas; zeros when
      None.  # [..., K']
    pose: axis-angle per joint, global orientation first, each relative to
      its parent; the rest pose when None.  # [..., J, 3]
    trans: translation in mm added to every vertex and joint; none when
      None.  # [..., 3]

  Returns:
    `PosedBody(vertices [..., V, 3], joints [..., J, 3])` in mm; the joints
    are the rest joints regressed from the shaped mesh, carried by forward
    kinematics, as the publishers' code returns them.
  """
  nj = model.num_joints
  dtype = model.v_template.dtype
  betas = jnp.zeros((0,), dtype) if betas is None else betas
  pose = jnp.zeros((nj, 3), dtype) if pose is None else pose
  trans = jnp.zeros((3,), dtype) if trans is None else trans
  check_array("betas", betas, ("...", None))
  check_array("pose", pose, ("...", nj, 3))
  check_array("trans", trans, ("...", 3))
  nb = np.shape(betas)[-1]
  if nb > model.num_betas:
    raise ValueError(f"betas: {nb} coefficients, but the model's shapedirs has "
                     f"only {model.num_betas}")
  try:
    batch = np.broadcast_shapes(np.shape(betas)[:-1], np.shape(pose)[:-2],
                                np.shape(trans)[:-1])
  except ValueError:
    raise ValueError(f"betas {np.shape(betas)}, pose {np.shape(pose)} and trans "
                     f"{np.shape(trans)}: leading dims do not broadcast") from None
  n = int(np.prod(batch))
  flat = lambda x, tail: jnp.broadcast_to(jnp.asarray(x, dtype), batch + tail).reshape((n,) + tail)
  vertices, joints = _lbs_jit(model, flat(betas, (nb,)), flat(pose, (nj, 3)),
                              flat(trans, (3,)))
  return PosedBody(vertices=vertices.reshape(batch + vertices.shape[1:]),
                   joints=joints.reshape(batch + joints.shape[1:]))


def to_body_vector(pose):
  """DPoser's 63-D body pose: joints 1..21 of an SMPL-family pose.

  Args:
    pose: axis-angle, the root first; SMPL's 24, SMPL-H's 52, SMPL-X's 55
      joints or just the 22-joint body.  # [..., J >= 22, 3]

  Returns:
    [..., 63]: 21 joints x (x, y, z), root orientation left out.
  """
  check_array("pose", pose, ("...", None, 3), finite=False)
  if np.shape(pose)[-2] < NUM_BODY_JOINTS:
    raise ValueError(f"pose: expected at least {NUM_BODY_JOINTS} joints (the SMPL "
                     f"body), got shape {np.shape(pose)}")
  xp = jnp if isinstance(pose, jax.Array) else np
  pose = xp.asarray(pose)
  return pose[..., 1:NUM_BODY_JOINTS, :].reshape(pose.shape[:-2] + (BODY_VECTOR_DIM,))


def from_body_vector(body, root_orient=None, num_joints: int = NUM_BODY_JOINTS):
  """A full SMPL-family pose from DPoser's 63-D body pose.

  Args:
    body: 21 body joints x axis-angle.  # [..., 63]
    root_orient: global orientation; zeros when None.  # [..., 3]
    num_joints: joints of the result (22; SMPL 24, SMPL-H 52, SMPL-X 55,
      i.e. `model.num_joints`); joints past the body (hands, jaw, eyes) are
      left at rest.

  Returns:
    [..., num_joints, 3] axis-angle, the root first.
  """
  check_array("body", body, ("...", BODY_VECTOR_DIM), finite=False)
  if num_joints < NUM_BODY_JOINTS:
    raise ValueError(f"num_joints: expected at least {NUM_BODY_JOINTS}, got {num_joints}")
  arrays = (body,) if root_orient is None else (body, root_orient)
  xp = jnp if any(isinstance(a, jax.Array) for a in arrays) else np
  body = xp.asarray(body)
  lead = body.shape[:-1]
  if root_orient is None:
    root = xp.zeros(lead + (1, 3), body.dtype)
  else:
    check_array("root_orient", root_orient, ("...", 3), finite=False)
    root = xp.asarray(root_orient, body.dtype)[..., None, :]
  lead = np.broadcast_shapes(lead, root.shape[:-2])
  parts = [xp.broadcast_to(root, lead + (1, 3)),
           xp.broadcast_to(body.reshape(body.shape[:-1] + (NUM_BODY_JOINTS - 1, 3)),
                           lead + (NUM_BODY_JOINTS - 1, 3)),
           xp.zeros(lead + (num_joints - NUM_BODY_JOINTS, 3), body.dtype)]
  return xp.concatenate(parts, axis=-2)


def mpvpe(pred_vertices, gt_vertices) -> jax.Array:
  """Mean per-vertex position error, in the inputs' units (mm).

  No alignment: align (e.g. subtract the pelvis) first when the protocol
  asks for it.

  Args:
    pred_vertices: predicted meshes.  # [..., V, 3]
    gt_vertices: true meshes, same topology.  # [..., V, 3]

  Returns:
    [...] mean Euclidean vertex distance.
  """
  sizes = {}
  check_array("pred_vertices", pred_vertices, ("...", "V", 3), sizes=sizes)
  check_array("gt_vertices", gt_vertices, ("...", "V", 3), sizes=sizes)
  metrics.check_nonempty("pred_vertices", pred_vertices, {-2: "vertices (V)"})
  # MPJPE over vertices is MPVPE: the same mean of Euclidean distances.
  return metrics.mpjpe(pred_vertices, gt_vertices)
