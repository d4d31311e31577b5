"""DiffPose on 2D in the camera's own geometry (`representation.input_2d=
'camera'`): one body seen by two pinholes is one condition and one target,
turned back into each camera's frame; a keypoint's std in pixels becomes
each row's own variance in model units; a tiny camera DiffPose (from a
tiny camera encoder) trains, evaluates and lifts a video on the
synthetic data, whose rows carry their cameras."""
import json
import types

import jax
import ml_collections
import numpy as np
import pytest

from jaxpose import run_lib
from jaxpose.data import camera_rigs
from jaxpose.data import synthetic_poses
from jaxpose.methods.diffpose import data as data_lib
from jaxpose.methods.diffpose import initial as initial_lib
from jaxpose.methods.diffpose import model as model_lib
from jaxpose.methods.diffpose import rows as rows_lib
from jaxpose.pose import cameras as cam_lib
from jaxpose.pose import representation as rep_lib
from tests.methods import test_diffpose_end_to_end as e2e

REP = rep_lib.Representation(input_2d="camera")
WIDE = dict(focal=1000.0, centre=(960.0, 540.0), size=(1920, 1080))
TELE = dict(focal=1800.0, centre=(1280.0, 720.0), size=(2560, 1440))


def _rel_poses(n=6, seed=3):
  """Root-relative camera-frame poses of varied bodies and headings, mm."""
  world = synthetic_poses.generate_poses(n, seed=seed)["pose3d"]
  cams = camera_rigs.draw(np.random.default_rng(seed), n, camera_rigs.TRAINING)
  return camera_rigs.view(world, cams)["pose3d"].astype(np.float64)


def _screen(points_cam, focal, centre, size):
  px = points_cam[..., :2] / points_cam[..., 2:] * focal + np.asarray(centre)
  return cam_lib.normalize_screen(px, *size)


def _rows(points_cam, *, focal, centre, size):
  """DiffPose's rows of camera-frame points seen by one pinhole: the
  lifting split in model units (`model_splits`, as `load_data` makes it)
  with an exact and a noisy 2D (here the same)."""
  n = len(points_cam)
  screen = _screen(points_cam, focal, centre, size).astype(np.float32)
  split = dict(pose3d=points_cam.astype(np.float32), pose2d=screen,
               pose2d_exact=screen, pose2d_noisy=screen,
               activity=np.zeros(n, np.int32),
               root_cam_mm=points_cam[:, 0].astype(np.float32),
               intrinsics=np.tile(np.float32([focal, focal, *centre, *size]),
                                  (n, 1)))
  return rep_lib.model_splits({"test": split}, REP)["test"]


class _Encoder:
  """A stand-in context encoder: its features are the 2D it reads."""
  feature_dim = 2

  def encode(self, rows, *, batch_size):
    del batch_size
    pose2d = np.asarray(rows["pose2d"], np.float32)
    return pose2d, np.zeros(pose2d.shape[:-1] + (3,), np.float32)


def _diffpose_view(rows):
  """What DiffPose makes of the rows: the encoder's input and features,
  h_0's 2D, the 2D under the 'data' and 'px' noise models, the 3D target."""
  run = types.SimpleNamespace(sections=types.SimpleNamespace(
      representation=REP,
      diffpose=types.SimpleNamespace(encoder_batch_size=8)))
  fields = data_lib.encode_rows(run, _Encoder(), rows)
  key = jax.random.key(0)
  clean, noisy = initial_lib.clean_and_noisy_2d(key, rows, REP, source="data",
                                                sigma_px=0.0)
  exact, _ = initial_lib.clean_and_noisy_2d(key, rows, REP, source="px",
                                            sigma_px=0.0)
  return dict(pose2d=rows["pose2d"], features=fields["enc_features"],
              target2d=fields["target2d"], clean=clean, noisy=noisy,
              exact=exact, pose3d=rows["pose3d"])


def _model():
  """A DiffPoseModel for its conversions only (no network)."""
  return model_lib.DiffPoseModel(
      representation=REP, sde=None, network=None, noise_fn=None,
      score_fn=None, initial=None, train=None)


def test_one_body_seen_by_two_pinholes_is_one_condition_and_one_target():
  rel = _rel_poses()
  root_a = np.float64([300.0, -200.0, 5000.0])
  a_points = rel + root_a
  # Elsewhere in another camera's image (another ray, as far away), facing
  # its ray as it faced A's: another lens, principal point and image size.
  root_b = np.float64([-1400.0, 900.0, 4700.0])
  root_b *= np.linalg.norm(root_a) / np.linalg.norm(root_b)
  turn = rep_lib.root_rotation(root_b).T @ rep_lib.root_rotation(root_a)
  b_points = np.einsum("ij,nkj->nki", turn, rel) + root_b
  a, b = _rows(a_points, **WIDE), _rows(b_points, **TELE)
  assert np.abs(a["pose2d_screen"] - b["pose2d_screen"]).max() > 0.1
  assert np.abs(a["pose3d_mm"] - b["pose3d_mm"]).max() > 50.0
  view_a, view_b = _diffpose_view(a), _diffpose_view(b)
  for name in view_a:
    np.testing.assert_allclose(view_a[name], view_b[name], atol=1e-5,
                               err_msg=name)
  np.testing.assert_allclose(view_a["target2d"], view_a["pose2d"], atol=1e-6)
  # Twice as far on A's ray, through the tele lens: the same 3D target;
  # the 2D the same but for perspective (depth spread 8% of 5 m, 4% of
  # 10 m).
  far = _diffpose_view(_rows(rel + 2 * root_a, **TELE))
  np.testing.assert_allclose(far["pose3d"], view_a["pose3d"], atol=1e-5)
  moved = np.abs(far["pose2d"] - view_a["pose2d"]).max()
  assert 1e-4 < moved < 0.15 * rep_lib.CAMERA_2D_SPREAD
  # States [H, R, J, 5] turned back land in each row's own camera frame.
  state = np.concatenate([view_a["target2d"], view_a["pose3d"]], -1)
  states = np.stack([state, state])
  model = _model()
  np.testing.assert_allclose(model.states_to_mm(states, a)[1],
                             a_points - a_points[:, :1], atol=1e-2)
  np.testing.assert_allclose(model.states_to_mm(states, b)[0],
                             b_points - b_points[:, :1], atol=1e-2)
  # The encoder's own 3D (estimate's 'root as predicted') likewise.
  np.testing.assert_allclose(
      REP.pose3d_from_model(b["pose3d"], {k: b[k] for k in
                                          ("root_cam_mm", "intrinsics")}),
      b_points - b_points[:, :1], atol=1e-2)
  with pytest.raises(ValueError, match="root_cam_mm and intrinsics"):
    model.states_to_mm(states)


def _noisy_views(rows, sigma_px, num, seed=0):
  """pose2d_to_model of the rows' 2D under pixel noise of std sigma_px
  (per row and keypoint), `[num, N, J, 2]` model units."""
  screen = np.asarray(rows["pose2d_screen"], np.float64)
  width = np.asarray(rows["intrinsics"], np.float64)[:, 4]
  noise = np.random.default_rng(seed).normal(size=(num,) + screen.shape)
  noisy = screen + noise * (np.asarray(sigma_px) * 2.0 / width[:, None])[..., None]
  meta = {k: np.broadcast_to(rows[k], (num,) + np.shape(rows[k]))
          for k in ("root_cam_mm", "intrinsics")}
  return np.asarray(REP.pose2d_to_model(noisy.astype(np.float32), meta),
                    np.float64)


def test_model_variance_is_each_rows_own_and_matches_noisy_2d():
  rel = _rel_poses(4, seed=5)
  # Four rows, four cameras: another lens, distance and place in the image.
  points = rel + np.float64([[300, -200, 5000], [1500, 300, 2500],
                             [0, 0, 9000], [-900, 400, 3500]])[:, None]
  rows = [_rows(points[i:i + 1], focal=f, centre=(960.0, 540.0),
                size=(1920, 1080))
          for i, f in enumerate((1000.0, 1800.0, 1400.0, 700.0))]
  rows = {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
  num = 4000
  # The same std in pixels for every keypoint (the 'px' noise model).
  got = rows_lib.row_uncertainty(rows, REP, source="sigma", noisy=False,
                                 sigma_px=3.0)
  empirical = _noisy_views(rows, 3.0, num).var(axis=0).mean(-1)  # [N, J]
  np.testing.assert_array_equal(got[:, 0], 0.0)  # the root is the origin
  ratio = got[:, 1:] / empirical[:, 1:]
  assert np.abs(ratio - 1).mean() < 0.04 and np.abs(ratio - 1).max() < 0.15
  # The rows' scales differ several-fold, so one scale for every row (the
  # screen formula, or any other) misses some row by far more.
  per_row = empirical[:, 1:].mean(1)
  assert per_row.max() / per_row.min() > 5
  screen_var = rows_lib.model_variance(
      np.full((4, 17), 3.0 * 2 / 1920), rep_lib.Representation())
  assert np.abs(screen_var[:, 1:].mean(1) / per_row - 1).max() > 0.5
  # A std of its own per keypoint, through `model_variance` directly.
  sigma_px = np.random.default_rng(1).uniform(1.0, 6.0, (4, 17))
  got = rows_lib.model_variance(sigma_px * 2 / 1920, REP,
                                rows["pose2d_screen"],
                                {k: rows[k] for k in ("root_cam_mm",
                                                      "intrinsics")})
  empirical = _noisy_views(rows, sigma_px, num, seed=2).var(0).mean(-1)
  ratio = got[:, 1:] / empirical[:, 1:]
  assert np.abs(ratio - 1).mean() < 0.04 and np.abs(ratio - 1).max() < 0.15
  with pytest.raises(ValueError, match="pose2d_screen"):
    rows_lib.model_variance(sigma_px, REP)


@pytest.fixture(scope="module")
def camera_workdirs(tmp_path_factory):
  """A tiny camera encoder (a quarter of its rows held out) and a tiny
  camera DiffPose on it, per-row H_K under 2 px of simulated noise."""
  root = tmp_path_factory.mktemp("diffpose_camera")
  enc_dir, dp_dir = root / "encoder", root / "diffpose"
  enc = e2e.encoder_config()
  enc.representation.input_2d = "camera"
  enc.holdout = ml_collections.ConfigDict(dict(fraction=0.25, seed=0))
  run_lib.train(enc, str(enc_dir))
  config = e2e.diffpose_config(enc_dir, initial_scope="per_row")
  config.representation.input_2d = "camera"
  results = run_lib.run("train_and_eval", config, str(dp_dir))
  return dict(enc_dir=enc_dir, dp_dir=dp_dir, results=results)


def _video(path, points_cam, focal, centre, size):
  px = points_cam[..., :2] / points_cam[..., 2:] * focal + np.asarray(centre)
  np.savez(path, keypoints=px, image_size=np.array(size))
  return str(path)


@pytest.mark.slow
def test_a_camera_diffpose_trains_evaluates_and_lifts(camera_workdirs,
                                                      tmp_path):
  from jaxpose import lift
  dp_dir = camera_workdirs["dp_dir"]
  written = json.loads((dp_dir / "eval" / "estimate.json").read_text())
  for value in (written["mpjpe_mm"], written["encoder"]["mpjpe_mm"],
                written["encoder"]["mpjpe_mm_root_as_predicted"],
                written["initial_samples"]["mpjpe_mm"]):
    assert np.isfinite(value)
  assert camera_workdirs["results"]["mpjpe_mm"] == written["mpjpe_mm"]
  # Scored in each row's own camera frame: the true state, turned back,
  # is the truth in mm (in the virtual camera's frame it is not).
  loaded = run_lib.load_trained(str(dp_dir))
  test = loaded.method.load_data(loaded.run, loaded.needs).splits["test"]
  rows = {k: np.asarray(test[k])[:8] for k in
          ("target2d", "pose3d", "pose3d_mm", "root_cam_mm", "intrinsics")}
  truth = np.concatenate([rows["target2d"], rows["pose3d"]], -1)
  np.testing.assert_allclose(loaded.model.states_to_mm(truth[None], rows)[0],
                             rows["pose3d_mm"], atol=1e-2)
  unturned = loaded.model.representation.pose3d_from_model(rows["pose3d"])
  assert np.abs(unturned - rows["pose3d_mm"]).max() > 1.0
  init, _ = e2e.stored_initial(dp_dir)
  assert init.scope == "per_row" and init.info["num_rows"] == 100
  # The fit rows' 2D error (2 px drawn, converted per row) has the
  # variance the rows' own uncertainties say.
  assert init.info["rms_2d"] ** 2 == pytest.approx(
      init.info["mean_variance_2d"], rel=0.1)
  # One motion through a wide and a tele lens, off the optical axis; the
  # tele keypoints' std in pixels scaled with the lens (one angle).
  rel = _rel_poses(6, seed=7)
  points = rel + np.float64([1500.0, 300.0, 4500.0])
  lifted = []
  for name, lens, sigma in (("wide", WIDE, 2.0), ("tele", TELE, 3.6)):
    path = _video(tmp_path / f"{name}.npz", points, **lens)
    lifted.append(lift.lift_keypoints(
        str(dp_dir), path, num_hypotheses=3,
        keypoints={"focal_px": lens["focal"], "sigma_px": sigma}))
  wide, tele = lifted
  assert wide.hypotheses_mm.shape == (6, 3, 17, 3)
  assert np.isfinite(wide.hypotheses_mm).all()
  assert np.abs(wide.hypotheses_mm - tele.hypotheses_mm).max() < 1.0
