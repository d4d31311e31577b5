"""The fit of a lifted motion to its own 2D, on motions whose truth is
known: a person walking toward a pinhole camera, projected exactly."""
import numpy as np
import pytest

from jaxpose.data import datasets
from jaxpose.pose import fit_2d
from jaxpose.pose import motion_quality
from jaxpose.pose.skeleton import H36M_17

INTRINSICS = (1000.0, 1000.0, 960.0, 540.0)
FPS = 30.0


def _walk(frames=40):
  """(root-relative poses [T, 17, 3], roots [T, 3]): one synthetic body
  turning 60 degrees about the vertical while walking from 5 m to 3.5 m
  away (x right, y down, z forward)."""
  split = datasets.load(dict(datasets.section_for("synthetic"), n_train=4,
                             n_test=4, data_seed=0)).splits["test"]
  body = np.asarray(split["pose3d"][0], np.float64)
  angle = np.radians(30) * (1 - np.cos(np.linspace(0, np.pi, frames)))
  c, s = np.cos(angle), np.sin(angle)
  zero, one = np.zeros(frames), np.ones(frames)
  turn = np.stack([np.stack([c, zero, s], -1), np.stack([zero, one, zero], -1),
                   np.stack([-s, zero, c], -1)], -2)  # [T, 3, 3]
  pose = np.einsum("tab,jb->tja", turn, body)
  root = np.stack([np.linspace(-200, 200, frames), np.full(frames, 100.0),
                   np.linspace(5000, 3500, frames)], -1)
  return pose, root


def _project(pose, root):
  fx, fy, cx, cy = INTRINSICS
  p = pose + root[:, None]
  return np.stack([fx * p[..., 0] / p[..., 2] + cx,
                   fy * p[..., 1] / p[..., 2] + cy], -1)


def _lift_like(pose, root, rng):
  """What a lift gives: the pose off by tens of mm, the root off in x, y."""
  off = pose + rng.normal(0, 25, pose.shape)
  off -= off[:, :1]
  return off, root + rng.normal(0, 30, root.shape) * [1, 1, 0]


def test_the_fit_lands_on_the_2d_nearer_the_truth_as_one_body():
  pose, root = _walk()
  pixels = _project(pose, root)
  lift_pose, lift_root = _lift_like(pose, root, np.random.default_rng(0))
  lift_root[:, 2] = root[:, 2]  # the depth is the lift's: here, right
  weights = np.ones(pose.shape[:2])
  before = fit_2d.reprojection_px(lift_pose, lift_root, pixels, weights,
                                  INTRINSICS)
  fitted = fit_2d.fit(lift_pose, lift_root, pixels, weights, INTRINSICS,
                      fps=FPS)
  after = fit_2d.reprojection_px(fitted.pose_mm, fitted.root_mm, pixels,
                                 weights, INTRINSICS)
  assert before > 5 and after < 1.5, (before, after)
  assert fitted.info["reprojection_px_after"] == round(after, 1)
  np.testing.assert_allclose(fitted.root_mm[:, 2], lift_root[:, 2], rtol=1e-6)
  # Nearer the truth, not only nearer the 2D; one body, its bones steady.
  err = lambda p: np.linalg.norm(p - pose, axis=-1).mean()
  assert err(fitted.pose_mm) < 0.7 * err(lift_pose)
  assert (motion_quality.bone_length_variation(fitted.pose_mm)
          < motion_quality.bone_length_variation(lift_pose) / 2)
  assert fitted.scale == 1.0


def test_the_padding_to_a_bucket_of_frames_changes_no_frame(monkeypatch):
  pose, root = _walk(frames=37)
  pixels = _project(pose, root)
  lift_pose, lift_root = _lift_like(pose, root, np.random.default_rng(1))
  weights = np.ones(pose.shape[:2])
  padded = fit_2d.fit(lift_pose, lift_root, pixels, weights, INTRINSICS,
                      fps=FPS)  # 37 frames in a bucket of 128
  monkeypatch.setattr(fit_2d, "FRAME_BUCKET", 1)
  exact = fit_2d.fit(lift_pose, lift_root, pixels, weights, INTRINSICS,
                     fps=FPS)
  assert padded.pose_mm.shape == (37, 17, 3) and padded.root_mm.shape == (37, 3)
  np.testing.assert_allclose(padded.pose_mm, exact.pose_mm, atol=0.05)
  np.testing.assert_allclose(padded.root_mm, exact.root_mm, atol=0.05)
  assert padded.info["energy"] == pytest.approx(exact.info["energy"],
                                                rel=1e-3)


def test_a_height_sizes_the_body_and_so_its_depth():
  pose, root = _walk()
  pixels = _project(pose, root)
  small = 0.8 * pose  # a lift that made the person 20% too small ...
  near = root * [1, 1, 0.8]  # ... and so put them too near
  stature = fit_2d.joint_chain_mm(pose) / fit_2d.JOINT_CHAIN_OF_STATURE
  sized = fit_2d.fit(small, near, pixels, np.ones(pose.shape[:2]),
                     INTRINSICS, fps=FPS,
                     settings=fit_2d.FitSettings(height_mm=stature))
  assert sized.scale == pytest.approx(1.25, rel=1e-4)
  np.testing.assert_allclose(sized.root_mm[:, 2], root[:, 2], rtol=1e-5)
  assert fit_2d.joint_chain_mm(sized.pose_mm) == pytest.approx(
      fit_2d.joint_chain_mm(pose), rel=0.02)
  assert sized.info["reprojection_px_after"] < 1.5


def test_a_keypoint_far_off_or_of_weight_zero_does_not_drag_the_body():
  pose, root = _walk(20)
  pixels = _project(pose, root)
  wrist = H36M_17.joint_names.index("l_wrist")
  bad = pixels.copy()
  bad[:, wrist] += 400.0  # the detector's wild guess
  weights = np.ones(pose.shape[:2])
  clean = fit_2d.fit(pose, root, pixels, weights, INTRINSICS, fps=FPS)
  robust = fit_2d.fit(pose, root, bad, weights, INTRINSICS, fps=FPS)
  weights[:, wrist] = 0.0
  ignored = fit_2d.fit(pose, root, bad, weights, INTRINSICS, fps=FPS)
  for fitted in (robust, ignored):
    moved = np.linalg.norm(fitted.pose_mm - clean.pose_mm, axis=-1)  # [T, J]
    assert np.median(moved[:, wrist]) < 30, np.median(moved[:, wrist])
    assert np.median(np.delete(moved, wrist, axis=1)) < 5
  # Far from the full 400 px: Geman-McClure gives up on the outlier.
  wrist_px = np.linalg.norm(_project(robust.pose_mm, robust.root_mm)[:, wrist]
                            - pixels[:, wrist], axis=-1)
  assert np.median(wrist_px) < 20


def _forearm_both_ways(pose, root):
  """(truth, its depth twin): the left forearm pointing down and away from
  the camera, and the same forearm pointing toward it along the same ray
  from the camera (the other point of that ray at the forearm's length from
  the elbow), which projects the same: what 2D cannot tell apart."""
  elbow, wrist = (H36M_17.joint_names.index(n) for n in ("l_elbow", "l_wrist"))
  length = np.median(np.linalg.norm(pose[:, wrist] - pose[:, elbow], axis=-1))
  away = np.array([0.0, 0.6, 0.8])
  truth = pose.copy()
  truth[:, wrist] = pose[:, elbow] + length * away
  ray = truth[:, wrist] + root
  ray /= np.linalg.norm(ray, axis=-1, keepdims=True)
  centre = pose[:, elbow] + root
  along = np.sum(ray * centre, -1)
  near = along - np.sqrt(along ** 2 - np.sum(centre ** 2, -1) + length ** 2)
  twin = truth.copy()
  twin[:, wrist] = near[:, None] * ray - root
  return truth, twin, wrist


# The detector's depth joint by joint (against the pelvis) or bone by bone.
_BY_JOINT, _BY_BONE = "sigma_depth_mm", "sigma_depth_bone_mm"


def _depth_settings(term: str, sigma: float, **kw) -> fit_2d.FitSettings:
  other = _BY_BONE if term == _BY_JOINT else _BY_JOINT
  return fit_2d.FitSettings(**{term: sigma, other: 0.0}, **kw)


@pytest.mark.parametrize("term", (_BY_JOINT, _BY_BONE))
def test_a_detectors_depth_moves_a_joint_along_its_ray_and_only_then(term):
  pose, root = _walk(20)
  truth, twin, wrist = _forearm_both_ways(pose, root)
  pixels = _project(truth, root)
  np.testing.assert_allclose(_project(twin, root), pixels, atol=1e-6)
  depth = truth[..., 2] - truth[:, :1, 2]  # every joint's, as MediaPipe's
  weights = np.ones(pose.shape[:2])
  fit = lambda **kw: fit_2d.fit(twin, root, pixels, weights, INTRINSICS,
                                fps=FPS, **kw)
  err = lambda f: np.median(np.abs(f.pose_mm[:, wrist, 2] - truth[:, wrist, 2]))
  even = _depth_settings(term, 60.0, sigma_pose_mm=60.0)
  plain, pulled = fit(settings=even), fit(depth_mm=depth, settings=even)
  assert err(plain) > 0.8 * np.median(np.abs(twin - truth)[:, wrist, 2])
  # The depth's pull against the pose's: with equal sigmas, half the way.
  assert err(pulled) / err(plain) == pytest.approx(0.5, abs=0.1)
  assert pulled.info["detector_depth_joints"] == 20 * 17
  assert pulled.info["reprojection_px_after"] < 2.0  # still on its 2D
  others = np.delete(np.arange(17), wrist)
  assert np.median(np.linalg.norm(pulled.pose_mm[:, others]
                                  - plain.pose_mm[:, others], axis=-1)) < 10
  # A sigma of 10 mm against 60 leaves about 10^2 / (10^2 + 60^2) of the
  # way (so stiff a pull takes Adam more steps); 0 leaves the depth out, as
  # does NaN.
  tight = fit(depth_mm=depth, settings=_depth_settings(
      term, 10.0, sigma_pose_mm=60.0, iterations=2000))
  assert err(tight) / err(plain) < 0.1
  for off in (fit(depth_mm=depth, settings=_depth_settings(
      term, 0.0, sigma_pose_mm=60.0)),
              fit(depth_mm=np.full(pose.shape[:2], np.nan), settings=even)):
    np.testing.assert_allclose(off.pose_mm, plain.pose_mm, atol=1e-3)
    assert off.info["detector_depth_joints"] == 0


def test_a_depth_error_that_grows_with_height_leans_the_body_less_by_bones():
  # A detector whose depth runs 0.25 mm farther per mm of height above the
  # pelvis (as MediaPipe's does in some views), on a lift that is right:
  # against the pelvis the error adds up toward the head and the body
  # leans; bone by bone each bone carries only its own share.
  pose, root = _walk(20)
  pixels = _project(pose, root)
  height = -(pose[..., 1] - pose[:, :1, 1])  # y is down
  depth = pose[..., 2] - pose[:, :1, 2] + 0.25 * height
  weights = np.ones(pose.shape[:2])
  head = H36M_17.joint_names.index("head")
  errors = {}
  for term in (_BY_JOINT, _BY_BONE):
    fitted = fit_2d.fit(pose, root, pixels, weights, INTRINSICS, fps=FPS,
                        depth_mm=depth, settings=_depth_settings(term, 30.0))
    errors[term] = np.median(np.abs(fitted.pose_mm[:, head, 2]
                                    - pose[:, head, 2]))
  assert errors[_BY_BONE] < 0.6 * errors[_BY_JOINT], errors


@pytest.mark.parametrize("change, message", [
    (dict(pose_mm=np.zeros((5, 16, 3))), "pose_mm: expected shape"),
    (dict(root_mm=np.zeros((4, 3)) + 3000), "root_mm: expected shape"),
    (dict(weights=np.full((5, 17), np.nan)), "weights"),
    (dict(root_mm=np.zeros((5, 3))), "depth must be > 0"),
    (dict(fps=0.0), "fps"),
    (dict(depth_mm=np.zeros((5, 16))), "depth_mm: expected shape"),
])
def test_bad_input_is_named(change, message):
  args = dict(pose_mm=np.zeros((5, 17, 3)), root_mm=np.zeros((5, 3)) + [0, 0, 3000],
              pixels=np.zeros((5, 17, 2)), weights=np.ones((5, 17)),
              intrinsics=INTRINSICS, fps=FPS)
  args.update(change)
  with pytest.raises(ValueError, match=message):
    fit_2d.fit(**args)


@pytest.mark.parametrize("field, value", [("height_mm", 100.0),
                                          ("sigma_px", 0.0),
                                          ("sigma_depth_mm", -1.0),
                                          ("sigma_depth_bone_mm", np.nan),
                                          ("iterations", 0)])
def test_bad_settings_are_named(field, value):
  with pytest.raises(ValueError, match=field):
    fit_2d.FitSettings(**{field: value})
