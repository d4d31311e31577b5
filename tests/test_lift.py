"""A video's keypoints to 3D (`jaxpose.lift`, `experiments/lift.py`) on
keypoint files made from the synthetic test rows' own 2D: a lifter lifts
them exactly as it estimates those rows; GFPose completes masked joints;
the outputs are all or nothing; a lifter refuses masked joints and the
keypoints dataset cannot be scored."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from experiments.configs import baseline_quickstart
from jaxpose import lift
from jaxpose import run_lib
from jaxpose import settings
from jaxpose.data import bvh
from jaxpose.data import datasets
from jaxpose.data import keypoints
from jaxpose.data import keypoints_dataset as kd
from jaxpose.methods import protocols
from jaxpose.pose import cameras as cam_lib
from jaxpose.pose import detector_joints
from jaxpose.pose import fit_2d
from jaxpose.pose.skeleton import H36M_17
from tests.test_calibrate_end_to_end import gfpose_config

N = 12


@pytest.fixture(scope="module")
def video(tmp_path_factory):
  """The first N synthetic test rows as a detector's .npz (pixels, image size)
  and their truth."""
  root = tmp_path_factory.mktemp("video")
  data = baseline_quickstart.get_config().data
  data.update(n_train=400, n_test=N)  # the lifter's data
  test = datasets.load(data).splits["test"]
  intr = np.asarray(test["intrinsics"][:N])
  w, h = int(intr[0, 4]), int(intr[0, 5])
  px = cam_lib.unnormalize_screen(np.asarray(test["pose2d"][:N]), w, h)
  path = root / "video.npz"
  np.savez(path, keypoints=px, image_size=np.array([w, h]))
  return dict(path=str(path), px=px, size=(w, h), root=root,
              pose3d=np.asarray(test["pose3d"][:N]))


@pytest.fixture(scope="module")
def lifter(tmp_path_factory):
  c = baseline_quickstart.get_config()
  c.data.update(n_train=2000, n_test=N)
  c.model.update(hidden=64)
  # Trained enough that its 3D depends on its 2D (so a wrong 2D shows).
  c.train.update(num_steps=600, batch_size=64, log_every=200, ckpt_every=600,
                 warmup_steps=10)
  c.eval.update(num_poses=N, plot_poses=0, save_predictions=True)
  workdir = str(tmp_path_factory.mktemp("lifter") / "w")
  run_lib.run("train_and_eval", c, workdir)
  return workdir


@pytest.mark.slow
def test_a_lifter_lifts_the_frames_as_it_estimates_the_rows(video, lifter,
                                                           monkeypatch):
  lifted = lift.lift_keypoints(lifter, video["path"], num_hypotheses=5)
  saved = np.load(os.path.join(lifter, "eval", "estimate_predictions.npz"))
  assert lifted.hypotheses_mm.shape == (N, 1, 17, 3)  # one answer, whatever H
  np.testing.assert_allclose(lifted.mean_mm, saved["hypotheses_mm"][0], atol=1e-3)
  assert not lifted.spread_mm.any()
  info = lifted.info
  assert info["method"] == "baseline" and info["keypoints"]["format"] == "npz"
  assert "field of view" in info["keypoints"]["camera"]
  np.testing.assert_allclose(lifted.pixels, video["px"], atol=1e-3)
  # A masked joint: a lifter cannot complete it, and says where it is.
  scores = np.ones((N, 17))
  scores[3, H36M_17.index("l_wrist")] = 0.1
  masked = video["root"] / "masked.npz"
  np.savez(masked, keypoints=video["px"], scores=scores,
           image_size=np.array(video["size"]))
  # A lifter needs every joint: an unsure one is filled in across time
  # (between frames 2 and 4, which see it), marked completed, and lifted.
  filled = lift.lift_keypoints(lifter, str(masked))
  wrist = H36M_17.index("l_wrist")
  assert filled.completed[3, wrist] and filled.completed.sum() == 1
  assert filled.info["keypoints"]["completed"].startswith("across time")
  others = np.arange(N) != 3
  np.testing.assert_allclose(filled.mean_mm[others], lifted.mean_mm[others],
                             atol=1e-3)
  assert np.isfinite(filled.mean_mm[3]).all()
  with pytest.raises(settings.ConfigError, match="--steps: baseline lifts in "
                     "one pass"):
    lift.lift_keypoints(lifter, video["path"], num_steps=10)
  empty = video["root"] / "empty.json"
  empty.write_text("")
  with pytest.raises(keypoints.KeypointsError, match="empty.json: empty file"):
    lift.lift_keypoints(lifter, str(empty))
  # A bad score or camera is refused before the model is restored.
  with monkeypatch.context() as patch:
    patch.setattr(run_lib, "load_trained", None)  # a call: TypeError
    scores[3, H36M_17.index("l_wrist")] = -0.1
    np.savez(masked, keypoints=video["px"], scores=scores,
             image_size=np.array(video["size"]))
    with pytest.raises(keypoints.KeypointsError,
                       match=r"frame 3: keypoint 13 \(l_wrist\) has the negative"):
      lift.lift_keypoints(lifter, str(masked))
    with pytest.raises(ValueError, match="focal_px: 1e.09 px"):
      lift.lift_keypoints(lifter, video["path"],
                          keypoints={"focal_px": 1e9})
  # Keypoints have no 3D truth: evaluation refuses them.
  config = run_lib.evaluation_config(lifter, lift.keypoints_section(video["path"]))
  with pytest.raises(settings.ConfigError, match="no 3D truth .* experiments.lift"):
    run_lib.evaluate(config, lifter)


@pytest.mark.slow
def test_a_rolled_camera_lifts_as_the_level_one_turned(video, lifter):
  # The frames as a camera rolled 25 degrees about its axis sees them: the
  # lift with --roll_deg is the level camera's lift, turned about the axis.
  centre = np.array(video["size"], np.float64) / 2
  rolled = video["root"] / "rolled.npz"
  np.savez(rolled, keypoints=kd.level(video["px"], centre, -25.0),
           image_size=np.array(video["size"]))
  level = lift.lift_keypoints(lifter, video["path"])
  turned = lift.lift_keypoints(lifter, str(rolled),
                               keypoints={"roll_deg": 25.0})
  np.testing.assert_allclose(turned.mean_mm, kd.unlevel(level.mean_mm, 25.0),
                             atol=0.05)
  np.testing.assert_allclose(turned.root_mm, kd.unlevel(level.root_mm, 25.0),
                             atol=0.05)
  assert "rolled 25 degrees" in turned.info["keypoints"]["camera"]
  np.testing.assert_allclose(turned.pixels, np.load(rolled)["keypoints"],
                             atol=1e-3)  # the keypoints as given


@pytest.mark.slow
def test_a_lift_fitted_to_its_2d_lands_on_it_and_keeps_its_spread(video,
                                                                   lifter):
  lifted = lift.lift_keypoints(lifter, video["path"])
  # The "video" is unrelated test rows, not a motion: no smoothness.
  still = fit_2d.FitSettings(sigma_accel_mm_s2=1e9, sigma_root_accel_mm_s2=1e9)
  fitted = lift.fit_to_2d(lifted, settings=still)
  fit = fitted.info["fit_2d"]
  assert fit["reprojection_px_after"] < fit["reprojection_px_before"] / 3
  assert fit["scale"] == 1.0 and fit["fps"] == 30.0
  np.testing.assert_allclose(fitted.hypotheses_mm.mean(1), fitted.mean_mm,
                             atol=1e-3)
  np.testing.assert_allclose(fitted.spread_mm, lifted.spread_mm, atol=1e-4)
  np.testing.assert_allclose(fitted.root_mm[:, 2], lifted.root_mm[:, 2],
                             rtol=1e-6)  # the depth is the lift's
  # A stature sizes the body and places it: 1.5x the chain, 1.5x as far.
  chain = fit_2d.joint_chain_mm(lifted.mean_mm)
  tall = lift.fit_to_2d(lifted, settings=still,
                        height_mm=1.5 * chain / fit_2d.JOINT_CHAIN_OF_STATURE)
  assert tall.info["fit_2d"]["scale"] == pytest.approx(1.5, rel=1e-3)
  np.testing.assert_allclose(tall.root_mm[:, 2], 1.5 * lifted.root_mm[:, 2],
                             rtol=1e-5)
  assert tall.info["fit_2d"]["reprojection_px_after"] < 2 * fit[
      "reprojection_px_after"] + 1


@pytest.mark.slow
def test_every_detector_format_of_the_frames_lifts_within_the_models_error(
    video, lifter, tmp_path):
  from tests.data import test_keypoints as kp_tests
  w, h = video["size"]
  frames = video["px"]  # [N, 17, 2]: the synthetic rows' exact pixels
  coco = [{"frame_id": t, "instances": [{"keypoints": np.concatenate(
      [kp_tests._source(x, kp_tests.COCO), np.full((17, 1), 0.9)], 1).tolist()}]}
          for t, x in enumerate(frames)]
  (tmp_path / "coco.json").write_text(json.dumps(coco))
  openpose = tmp_path / "openpose"
  openpose.mkdir()
  for t, x in enumerate(frames):
    xy = kp_tests._source(x, kp_tests.BODY_25, mid_hip=x[0],
                          neck_base=x[H36M_17.index("thorax")])
    flat = np.concatenate([xy, np.full((25, 1), 0.8)], 1).reshape(-1)
    (openpose / f"clip_{t:012d}_keypoints.json").write_text(json.dumps(
        {"people": [{"person_id": [-1], "pose_keypoints_2d": flat.tolist()}]}))
  mediapipe = [[dict(x=float(a / w), y=float(b / h), z=0.0, visibility=0.9)
                for a, b in kp_tests._source(x, kp_tests.MEDIAPIPE)] for x in frames]
  (tmp_path / "mediapipe.json").write_text(json.dumps(mediapipe))
  truth = video["pose3d"] - video["pose3d"][:, :1]
  error = lambda lifted: float(np.linalg.norm(
      lifted.mean_mm - lifted.mean_mm[:, :1] - truth, axis=-1).mean())
  known = error(lift.lift_keypoints(lifter, video["path"]))  # the exact 2D
  for path in ("coco.json", "openpose", "mediapipe.json"):
    lifted = lift.lift_keypoints(lifter, str(tmp_path / path),
                                 keypoints={"image_size": (w, h)})
    assert lifted.num_frames == N and lifted.visible.all(), path
    # Only the joints a format lacks (derived by rule) differ from the
    # exact 2D: the error stays the model's (a few mm either way).
    assert error(lifted) < known + 10.0, (path, error(lifted), known)


@pytest.mark.slow
def test_a_detectors_depth_reaches_the_fit_and_right_brings_it_nearer(
    video, lifter, tmp_path):
  # MediaPipe landmarks on the exact 2D whose z is the truth's depth behind
  # the pelvis (in MediaPipe's units): the fit pulled by it lands nearer the
  # truth than the fit without it; the .npz of the same 2D gives no depth.
  from tests.data import test_keypoints as kp_tests
  w, h = video["size"]
  truth = video["pose3d"] - video["pose3d"][:, :1]
  first = lift.lift_keypoints(lifter, video["path"])
  assert first.detector_depth_px is None
  focal = first.info["keypoints"]["intrinsics"][0]
  depth_px = truth[..., 2] * focal / first.root_mm[:, 2:3]  # [N, 17]
  scale = keypoints.DEPTH_SCALE["mediapipe"]
  frames = []
  for x, z in zip(video["px"], depth_px):
    z_src = kp_tests._source(np.stack([z, np.zeros(17)], -1),
                             kp_tests.MEDIAPIPE)[:, 0]
    frames.append([dict(x=float(a / w), y=float(b / h), visibility=0.9,
                        z=float(c / w / scale))
                   for (a, b), c in zip(kp_tests._source(x, kp_tests.MEDIAPIPE),
                                        z_src)])
  (tmp_path / "mp.json").write_text(json.dumps(frames))
  lifted = lift.lift_keypoints(lifter, str(tmp_path / "mp.json"),
                               keypoints={"image_size": (w, h)})
  # Spine and thorax are derived (midpoints), so theirs differ a little.
  copied = [j for j in range(17) if H36M_17.joint_names[j] not in ("spine",
                                                                   "thorax")]
  np.testing.assert_allclose(lifted.detector_depth_px[:, copied],
                             depth_px[:, copied], atol=0.05)
  still = fit_2d.FitSettings(sigma_accel_mm_s2=1e9, sigma_root_accel_mm_s2=1e9)
  error = lambda f: float(np.abs(f.mean_mm[..., 2] - f.mean_mm[:, :1, 2]
                                 - truth[..., 2]).mean())
  pulled = lift.fit_to_2d(lifted, settings=still)
  alone = lift.fit_to_2d(lifted, settings=fit_2d.without_detector_depth(
      still))
  assert pulled.info["fit_2d"]["detector_depth_joints"] == N * 17
  assert alone.info["fit_2d"]["detector_depth_joints"] == 0
  assert error(pulled) < 0.5 * error(alone), (error(pulled), error(alone))


def test_a_joint_map_gives_the_model_its_rigs_joints_back(video, lifter,
                                                          tmp_path):
  # A detector that puts the hips and shoulders wider and the thorax and
  # neck higher than the rig: the map measured for it undoes that.
  from tests.data import test_keypoints as kp_tests
  joint_map = detector_joints.JointMap(hip_width=0.6, shoulder_width=0.6,
                                       thorax_raise=-0.2, neck_to_nose=0.4,
                                       torso_mm=kd.TORSO_MM)
  map_path = tmp_path / "map.json"
  map_path.write_text(json.dumps({"joint_map": detector_joints.to_json(
      joint_map)}))
  w, h = video["size"]
  detector = detector_joints.to_detector(joint_map, video["px"])
  coco = [{"frame_id": t, "instances": [{"keypoints": np.concatenate(
      [kp_tests._source(x, kp_tests.COCO), np.full((17, 1), 0.9)], 1).tolist()}]}
          for t, x in enumerate(detector)]
  (tmp_path / "coco.json").write_text(json.dumps(coco))
  keys = {"image_size": (w, h)}
  # Against the lift of the rig's own 2D (the synthetic rows' exact pixels).
  known = lift.lift_keypoints(lifter, video["path"]).mean_mm
  error = lambda lifted: float(np.linalg.norm(lifted.mean_mm - known,
                                              axis=-1).mean())
  as_read = lift.lift_keypoints(lifter, str(tmp_path / "coco.json"),
                                keypoints=keys)
  mapped = lift.lift_keypoints(lifter, str(tmp_path / "coco.json"),
                               keypoints={**keys, "joint_map": str(map_path)})
  assert mapped.info["keypoints"]["joint_map"]["hip_width"] == 0.6
  # What is left: the rig's thorax, spine and head, which no map of the
  # detector's trunk reaches exactly.
  assert error(mapped) < 0.4 * error(as_read), (error(mapped), error(as_read))


@pytest.mark.slow
def test_gfpose_completes_masked_joints_and_writes_every_output(video, tmp_path):
  workdir = str(tmp_path / "gfpose")
  run_lib.train(gfpose_config(fraction=0.0), workdir)
  scores = np.ones((N, 17))
  wrist = H36M_17.index("r_wrist")
  scores[:, wrist] = 0.05
  path = tmp_path / "masked.npz"
  np.savez(path, keypoints=video["px"], scores=scores,
           image_size=np.array(video["size"]))
  lifted = lift.lift_keypoints(workdir, str(path), num_hypotheses=6, num_steps=4)
  assert lifted.hypotheses_mm.shape == (N, 6, 17, 3)
  assert np.isfinite(lifted.hypotheses_mm).all()
  assert not lifted.visible[:, wrist].any() and lifted.visible[:, :wrist].all()
  assert (lifted.spread_mm > 0).all()
  assert lifted.info["keypoints"]["masked_joints"] == N

  out = tmp_path / "out"
  written = lift.write_outputs(lifted, str(out))
  assert sorted(os.listdir(out)) == ["lift.json", "motion.bvh", "motion.html",
                                     "motion.npz"]
  assert written[0] == str(out / "motion.npz")
  npz = np.load(out / "motion.npz")
  np.testing.assert_allclose(npz["mean_mm"], lifted.mean_mm)
  assert npz["hypotheses_mm"].shape == (N, 6, 17, 3)
  motion = bvh.load_bvh(out / "motion.bvh")
  assert motion.num_frames == N
  info = json.loads((out / "lift.json").read_text())
  assert info["hypotheses"] == 6
  assert info["bvh"]["frame"] == "floor" and info["bvh"]["fit"]["max_mm"] >= 0
  # A non-empty folder is never overwritten unless asked, and a failed
  # write leaves no partial folder behind.
  with pytest.raises(FileExistsError, match="holds a lift's outputs"):
    lift.write_outputs(lifted, str(out))
  bad = lift.Lifted(**{**lifted.__dict__, "mean_mm": lifted.mean_mm * np.nan})
  with pytest.raises(ValueError):
    lift.write_outputs(bad, str(tmp_path / "never"))
  assert not (tmp_path / "never").exists()
  assert not [p for p in os.listdir(tmp_path) if ".tmp-" in p]


def test_the_command_ends_an_error_in_one_line(tmp_path):
  empty = tmp_path / "empty.json"
  empty.write_text("")
  proc = subprocess.run(
      [sys.executable, "-m", "experiments.lift", f"--keypoints={empty}",
       f"--workdir={tmp_path / 'untrained'}", f"--out={tmp_path / 'out'}"],
      capture_output=True, text=True, cwd=os.path.dirname(os.path.dirname(
          os.path.abspath(__file__))), timeout=300)
  assert proc.returncode != 0
  last = proc.stderr.strip().splitlines()[-1]
  assert last.startswith("error: ") and "--debug" in last and "untrained" in last
  assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_diffpose_lifts_around_its_encoder(video, tmp_path):
  from tests.methods import test_diffpose_end_to_end as dp_tests
  enc_dir, dp_dir = str(tmp_path / "encoder"), str(tmp_path / "diffpose")
  run_lib.train(dp_tests.encoder_config(), enc_dir)
  run_lib.train(dp_tests.diffpose_config(enc_dir), dp_dir)
  lifted = lift.lift_keypoints(dp_dir, video["path"], num_hypotheses=4)
  assert lifted.hypotheses_mm.shape == (N, 4, 17, 3)
  assert np.isfinite(lifted.hypotheses_mm).all() and (lifted.spread_mm > 0).any()
  assert lifted.info["method"] == "diffpose"
  scores = np.ones((N, 17))
  scores[0, 0] = 0.0
  masked = tmp_path / "masked.npz"
  np.savez(masked, keypoints=video["px"], scores=scores,
           image_size=np.array(video["size"]))
  # DiffPose needs every joint: frame 0's pelvis is filled in from frame 1.
  filled = lift.lift_keypoints(dp_dir, str(masked), num_hypotheses=2)
  assert filled.completed[0, 0] and filled.completed.sum() == 1
  assert np.isfinite(filled.hypotheses_mm).all()


def test_windows_overlap_and_cover_every_frame():
  from jaxpose.methods.dposer import smoothing
  assert smoothing.window_starts(50, 60).tolist() == [0]
  assert smoothing.window_starts(120, 60).tolist() == [0, 40, 60]  # a third
  assert smoothing.window_starts(130, 60, overlap=30).tolist() == [0, 30, 60, 70]
  assert smoothing.window_starts(130, 60, overlap=0).tolist() == [0, 60, 70]
  for overlap in (20, 30):
    w = smoothing.window_weights(60, overlap)
    assert (w > 0).all() and np.allclose(w[:overlap] + w[60 - overlap:], 1.0)
    assert (w[overlap:60 - overlap] == 1).all()


def _windowed_least_squares(weight):
  """A stand-in for DPoser's window fit: each window's data + temporal
  least squares (its objective without the prior), in closed form; its
  ends bend as the real fit's do (no neighbours past them)."""
  def fit(clips, starts):
    del starts
    length = clips.shape[1]
    d = np.diff(np.eye(length), axis=0)
    flat = clips.reshape(len(clips), length, -1)
    solved = np.linalg.solve((np.eye(length) + weight * d.T @ d)[None], flat)
    return (solved - flat).reshape(clips.shape)
  return fit


def _circling(num_frames):
  """Every joint on its own circle at one speed: a smooth motion whose
  velocity is the same in every frame."""
  t = np.arange(num_frames)[:, None]
  phase = np.arange(17)[None]
  joints = np.stack([200 * np.cos(2 * np.pi * t / 90 + phase),
                     200 * np.sin(2 * np.pi * t / 90 + phase),
                     10.0 * phase + 0 * t], -1)
  return (joints - joints[:, :1]).astype(np.float32)


@pytest.mark.parametrize("num_frames, overlap", [
    (250, None), (250, 30), (181, None), (47, None)])
def test_blended_windows_leave_no_seam_in_velocity(num_frames, overlap):
  from jaxpose.methods.dposer import smoothing
  motion = _circling(num_frames)
  fit = _windowed_least_squares(5.0)
  speed = lambda x: np.linalg.norm(np.diff(x, axis=0), axis=-1)[:, 1:].mean(-1)
  out = smoothing.smooth_in_windows(motion, 60, fit, overlap)
  assert out.shape == motion.shape and not out[:, 0].any()
  v = speed(out)
  inner = v[10:-10]  # the clip's own ends bend in any fit
  assert inner.max() < 1.1 * np.median(inner), (inner.max(), np.median(inner))
  assert inner.min() > 0.9 * np.median(inner), (inner.min(), np.median(inner))
  if num_frames >= 120:
    # Cut windows (the former rule): a jump at every seam.
    cut = speed(smoothing.smooth_in_windows(motion, 60, fit, overlap=0))
    assert cut[59] > 1.5 * np.median(cut[10:-10])
  if num_frames < 60:
    # One window for a motion shorter than it: its own fit, unblended.
    alone = motion + fit(motion[None], [0])[0]
    np.testing.assert_allclose(out, alone - alone[:, :1], atol=1e-3)


@pytest.mark.slow
def test_dposer_smooths_a_jittery_motion(video, lifter, tmp_path):
  from jaxpose import methods
  from tests.test_calibrate_end_to_end import dposer_config
  workdir = str(tmp_path / "dposer")
  c = dposer_config(fraction=0.0)
  # A prior trained 10 steps knows nothing: weighted low, the fit is the
  # data and temporal terms' (enough steps to converge from the mean pose).
  c.eval.denoise_motion.update(
      window=30, steps=200, lr=0.05,
      weights=dict(gmm=0.3, gfpose=3.0, dposer=0.01))
  run_lib.train(c, workdir)
  trained = run_lib.load_trained(workdir)
  method, run = methods.parse(c)
  test = method.load_data(run, trained.needs).splits["test"]
  body = trained.model.body
  rows = slice(0, 50)  # 50 frames of the first clip: two windows of 30
  truth = np.asarray(body.h36m(body.joints(
      test["body_pose"][rows], test["body_root_orient"][rows],
      test["body_trans"][rows], bone_lengths=test["body_bone_lengths"][rows])))
  truth = truth - truth[:, :1]
  noisy = truth + np.random.default_rng(0).normal(0, 20.0, truth.shape)
  noisy = (noisy - noisy[:, :1]).astype(np.float32)
  _, smoother = run_lib.provided(workdir, protocols.MotionSmoother, where="w", hint="")
  smoothed = smoother.smooth(noisy, jax_key())
  assert smoothed.shape == noisy.shape and not smoothed[:, 0].any()
  error = lambda x: float(np.linalg.norm(x - truth, axis=-1).mean())
  accel = lambda x: float(np.linalg.norm(x[2:] - 2 * x[1:-1] + x[:-2], axis=-1).mean())
  assert error(smoothed) < error(noisy)
  # Jitter the rigid body cannot make (bone lengths changing) is kept: the
  # output is the motion plus the smoothing's correction.
  assert accel(smoothed) < 0.9 * accel(noisy)
  # Through the library: the smoothed motion is what is exported.
  lifted = lift.lift_keypoints(lifter, video["path"])
  smoothed_lift = lift.smooth(lifted, workdir)
  assert smoothed_lift.smoothed_mm.shape == lifted.mean_mm.shape
  assert smoothed_lift.motion_mm is smoothed_lift.smoothed_mm
  assert "DPoser" in smoothed_lift.info["smoothing"]["by"]
  # The temporal term alone: the prior's network is left out of the fit's
  # program altogether (a prior that fails when traced is never called).
  alone = lift.smooth(lifted, workdir, prior_weight=0)
  assert "prior weight 0," in alone.info["smoothing"]["by"]
  # A workdir that lifts nothing is refused before the detector runs (which
  # would fail here: no such clip or detector).
  with pytest.raises(settings.ConfigError, match="DPoser needs the body-"):
    lift.lift_video(workdir, str(tmp_path / "absent.mp4"),
                    str(tmp_path / "video_out"),
                    detector_python=str(tmp_path / "no_python"))
  assert np.isfinite(alone.smoothed_mm).all()
  with pytest.raises(ValueError, match="prior_weight"):
    lift.smooth(lifted, workdir, prior_weight=-1)

  from jaxpose.methods.dposer import smoothing

  def never(*args):
    raise AssertionError("the prior was traced with weight 0")

  solve = smoothing.make_solver(
      never, body, num_steps=3, learning_rate=0.05, prior_weight=0.0,
      smooth_weight=1.0, init_pose=trained.model.zscore.mean)
  out = solve(noisy[None, :30], np.zeros((1, 30, 3), np.float32),
              np.zeros(1, np.float32), jax_key()[None])
  assert out.shape == (1, 30, 17, 3)
  with pytest.raises(settings.ConfigError, match="provides no MotionSmoother"):
    lift.smooth(lifted, lifter)


def jax_key():
  import jax
  return jax.random.key(0)
