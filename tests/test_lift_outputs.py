"""`jaxpose.lift`'s outputs without a model (seconds): the BVH stands on a
floor at the origin (or keeps camera coordinates), its fit's error against
motion.npz is recorded, branch joints make every bone's direction exact; a
wrong `--smooth_with` is refused before any lifting."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from jaxpose import lift
from jaxpose import settings
from jaxpose.data import bvh
from jaxpose.data import bvh_export
from jaxpose.data import bvh_fit
from jaxpose.pose.skeleton import H36M_17
from tests.data.test_bvh_export import _rigid_motion

T = 40
ANKLES = [H36M_17.index("l_ankle"), H36M_17.index("r_ankle")]


def _camera_motion(seed=0, jitter_mm=15.0):
  """A person in the camera frame (x right, y down, z forward), upright
  (the T-pose's bones swung a little), 1.2 m below and 6 m in front of the
  camera, its bones changing length by `jitter_mm` from frame to frame."""
  rng = np.random.default_rng(seed)
  world = _rigid_motion(rng, T, spread=0.15)  # BVH world, Y up
  world = world - world[:, :1]
  world = world + rng.normal(0, jitter_mm, world.shape)
  cam = world @ bvh_export.AXIS_CONVERSIONS["-y"]  # its own inverse
  return cam + np.array([300.0, 1200.0, 6000.0])


def _lifted(cam):
  root = cam[:, 0]
  rel = (cam - root[:, None]).astype(np.float32)
  hyps = np.repeat(rel[:, None], 2, axis=1)
  return lift.Lifted(
      hypotheses_mm=hyps, mean_mm=rel, spread_mm=np.zeros((T, 17), np.float32),
      root_mm=root.astype(np.float32),
      pixels=np.zeros((T, 17, 2), np.float32), visible=np.ones((T, 17), bool),
      confidence=np.ones((T, 17), np.float32), frame=np.arange(T),
      info=dict(method="fake", hypotheses=2, keypoints={}))


def _read(out):
  motion = bvh.load_bvh(out / "motion.bvh")
  fk = bvh.forward_kinematics(motion) * 10.0  # cm -> mm
  idx = [motion.skeleton.index(n) for n in H36M_17.joint_names]
  return motion, fk[:, idx], json.loads((out / "lift.json").read_text())["bvh"]


def test_the_bvh_stands_on_a_floor_at_the_origin_and_states_its_fit(tmp_path):
  cam = _camera_motion()
  lift.write_outputs(_lifted(cam), str(tmp_path / "out"))
  motion, world, info = _read(tmp_path / "out")
  assert info["frame"] == "floor" and info["joints"] == 22
  # Y up: the head above the pelvis; the floor under the lowest ankle.
  assert (world[:, H36M_17.index("head"), 1] > world[:, 0, 1] + 300).all()
  lowest = world[:, ANKLES, 1].min()
  assert abs(lowest - bvh_fit.ANKLE_HEIGHT_MM) < 20  # the fit's error at most
  np.testing.assert_allclose(world[0, 0, [0, 2]], 0.0, atol=1e-3)
  # The fit's error is the BVH's against motion.npz's joints (mean, max,
  # per joint), measured again here from the file.
  npz = np.load(tmp_path / "out" / "motion.npz")
  placed, _ = bvh_fit.place_on_floor(npz["mean_mm"] + npz["root_mm"][:, None])
  error = np.linalg.norm(world - placed, axis=-1)
  assert info["fit"]["mean_mm"] == pytest.approx(error.mean(), abs=0.11)
  assert info["fit"]["max_mm"] == pytest.approx(error.max(), abs=0.11)
  assert set(info["fit"]["per_joint"]) == set(H36M_17.joint_names)
  assert 0 < info["fit"]["mean_mm"] < 60


def test_camera_coordinates_on_request(tmp_path):
  cam = _camera_motion()
  lift.write_outputs(_lifted(cam), str(tmp_path / "out"), bvh_frame="camera")
  _, world, info = _read(tmp_path / "out")
  assert info["frame"] == "camera"
  # (x, -y, -z) of the camera frame: the root 6 m away along -Z, 1.2 m down.
  np.testing.assert_allclose(world[:, 0], cam[:, 0] * [1, -1, -1], atol=1e-3)
  with pytest.raises(settings.ConfigError, match="bvh frame"):
    lift.write_outputs(_lifted(cam), str(tmp_path / "x"), bvh_frame="world")


def test_branch_joints_make_every_bone_direction_exact():
  cam = _camera_motion(seed=1)
  parents = np.array([max(p, 0) for p in H36M_17.parents])
  unit = lambda v: v / np.linalg.norm(v, axis=-1, keepdims=True)
  worst = {}
  for branches in (False, True):
    motion = bvh_export.motion_from_joints(cam, branches=branches)
    fk = bvh.forward_kinematics(motion)[:, [motion.skeleton.index(n) for n in
                                            H36M_17.joint_names]]
    fk = fk * 10.0 @ bvh_export.AXIS_CONVERSIONS["-y"]
    cos = (unit((fk - fk[:, parents])[:, 1:])
           * unit((cam - cam[:, parents])[:, 1:])).sum(-1)
    worst[branches] = np.degrees(np.arccos(np.clip(cos, -1, 1))).max()
    errors = bvh_fit.fit_error(cam, motion)
    assert errors.shape == (T, 17)
  assert worst[True] < 1e-3 < 1.0 < worst[False]
  names = bvh_export.motion_from_joints(cam, branches=True).skeleton.names
  assert names[:3] == ("pelvis", "pelvis_r_hip", "r_hip")
  assert "thorax_neck" in names and len(names) == 22


def test_a_rigid_motion_is_fitted_exactly_with_branches():
  rng = np.random.default_rng(2)
  world = _rigid_motion(rng, T, spread=0.3)
  motion = bvh_export.motion_from_joints(world, up="+y", branches=True)
  assert bvh_fit.fit_error(world, motion, up="+y").max() < 1e-3


def test_a_wrong_smooth_with_is_refused_before_lifting(tmp_path):
  with pytest.raises(settings.ConfigError, match="no such directory"):
    lift.check_smoother(str(tmp_path / "nowhere"))
  with pytest.raises(settings.ConfigError, match="not a trained workdir"):
    lift.check_smoother(str(tmp_path))
  gfpose = tmp_path / "gfpose"
  gfpose.mkdir()
  (gfpose / "config.json").write_text(json.dumps({"method": "gfpose"}))
  with pytest.raises(settings.ConfigError, match="'gfpose' model, which smooths"):
    lift.check_smoother(str(gfpose))
  dposer = tmp_path / "dposer"
  dposer.mkdir()
  (dposer / "config.json").write_text(json.dumps({"method": "dposer"}))
  with pytest.raises(settings.ConfigError, match="no checkpoint"):
    lift.check_smoother(str(dposer))


@pytest.mark.slow
def test_the_command_refuses_a_wrong_smooth_with_before_reading_keypoints(
    tmp_path):
  gfpose = tmp_path / "gfpose"
  gfpose.mkdir()
  (gfpose / "config.json").write_text(json.dumps({"method": "gfpose"}))
  proc = subprocess.run(
      [sys.executable, "-m", "experiments.lift", f"--keypoints={tmp_path}/none.json",
       f"--workdir={tmp_path}/none", f"--out={tmp_path}/out",
       f"--smooth_with={gfpose}"], capture_output=True, text=True, timeout=300,
      cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  assert proc.returncode != 0
  last = proc.stderr.strip().splitlines()[-1]
  assert last.startswith("error: ") and "smooth_with=" in last, last
  assert "none.json" not in last


def _outputs(out):
  return sorted(p.name for p in out.iterdir() if not p.name.startswith("."))


def test_overwrite_replaces_only_a_lifts_own_files(tmp_path):
  lifted = _lifted(_camera_motion())
  out = tmp_path / "out"
  lift.write_outputs(lifted, str(out))
  first = (out / "motion.npz").stat().st_ino
  # Without --overwrite a lift's outputs are kept ...
  with pytest.raises(FileExistsError, match="pass --overwrite"):
    lift.write_outputs(lifted, str(out))
  # ... with it, they alone are replaced, file by file, in the same folder.
  folder = out.stat().st_ino
  lift.write_outputs(lifted, str(out), overwrite=True)
  assert out.stat().st_ino == folder
  assert (out / "motion.npz").stat().st_ino != first
  assert _outputs(out) == sorted(set(lift.OUTPUT_FILES) - {"keypoints.json"})
  # A folder holding anything else is refused, naming the file, and kept.
  (out / "notes.txt").write_text("mine")
  with pytest.raises(FileExistsError, match="'notes.txt', which a lift does "
                     "not write"):
    lift.write_outputs(lifted, str(out), overwrite=True)
  assert (out / "notes.txt").read_text() == "mine"
  assert not [p for p in os.listdir(tmp_path) if ".tmp-" in p]


def test_a_file_made_in_out_meanwhile_is_never_removed(tmp_path, monkeypatch):
  # --out was empty when the lift began; a user's file appears before the
  # outputs are moved in: the lift refuses and the file stays.
  lifted = _lifted(_camera_motion())
  out = tmp_path / "out"
  out.mkdir()
  write_json = lift.files.write_json_atomic

  def and_a_user_file(path, obj):
    (out / "theirs.txt").write_text("keep me")
    return write_json(path, obj)

  monkeypatch.setattr(lift.files, "write_json_atomic", and_a_user_file)
  with pytest.raises(FileExistsError, match="theirs.txt"):
    lift.write_outputs(lifted, str(out))
  assert _outputs(out) == ["theirs.txt"]
  assert (out / "theirs.txt").read_text() == "keep me"
  # The same when --out did not exist at the start.
  fresh = tmp_path / "fresh"

  def and_a_folder(path, obj):
    fresh.mkdir(exist_ok=True)
    (fresh / "theirs.txt").write_text("keep me")
    return write_json(path, obj)

  monkeypatch.setattr(lift.files, "write_json_atomic", and_a_folder)
  with pytest.raises(FileExistsError, match="theirs.txt"):
    lift.write_outputs(lifted, str(fresh))
  assert _outputs(fresh) == ["theirs.txt"]
  assert not [p for p in os.listdir(tmp_path) if ".tmp-" in p]
