"""Rig adapters, rotations, tree conversion and the protocol loader."""
import numpy as np
import pytest

from jaxpose.data import (bvh, clip_checks, mocap_cache, mocap_conversion, mocap_protocol,
                          rig_rotations, rigs)
from jaxpose.pose import kinematics, rotations
from jaxpose.pose.skeleton import H36M_17

# A Bandai-like rig in cm, Y up, facing +Z (so the subject's left is +X).
_JOINTS = [  # name, parent, offset
    ("joint_Root", None, (0, 0, 0)), ("Hips", "joint_Root", (0, 90, 0)),
    ("Spine", "Hips", (0, 10, 0)), ("Chest", "Spine", (0, 15, 0)),
    ("Neck", "Chest", (0, 20, 0)), ("Head", "Neck", (0, 8, 0)),
    ("Shoulder_L", "Chest", (5, 15, 0)), ("UpperArm_L", "Shoulder_L", (10, 0, 0)),
    ("LowerArm_L", "UpperArm_L", (25, 0, 0)), ("Hand_L", "LowerArm_L", (22, 0, 0)),
    ("Shoulder_R", "Chest", (-5, 15, 0)), ("UpperArm_R", "Shoulder_R", (-10, 0, 0)),
    ("LowerArm_R", "UpperArm_R", (-25, 0, 0)), ("Hand_R", "LowerArm_R", (-22, 0, 0)),
    ("UpperLeg_L", "Hips", (9, -5, 0)), ("LowerLeg_L", "UpperLeg_L", (0, -40, 0)),
    ("Foot_L", "LowerLeg_L", (0, -40, 0)), ("Toes_L", "Foot_L", (0, -5, 12)),
    ("UpperLeg_R", "Hips", (-9, -5, 0)), ("LowerLeg_R", "UpperLeg_R", (0, -40, 0)),
    ("Foot_R", "LowerLeg_R", (0, -40, 0)), ("Toes_R", "Foot_R", (0, -5, 12)),
]
_SIX = "CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation"
_THREE = "CHANNELS 3 Zrotation Xrotation Yrotation"


def make_bvh(frames, *, drop=(), mirror=False):
  """BVH text for the rig above; `frames` [F, C] channel values."""
  joints = [j for j in _JOINTS if j[0] not in drop]
  children = {}
  for name, parent, _ in joints:
    children.setdefault(parent, []).append(name)
  info = {n: o for n, _, o in joints}
  lines = ["HIERARCHY"]

  def emit(name, depth):
    pad = "  " * depth
    x, y, z = info[name]
    lines.append(pad + ("ROOT " if depth == 0 else "JOINT ") + name)
    lines.append(pad + "{")
    lines.append(pad + f"  OFFSET {-x if mirror else x} {y} {z}")
    lines.append(pad + "  " + (_SIX if name in ("joint_Root", "Hips") else _THREE))
    for c in children.get(name, []):
      emit(c, depth + 1)
    if name not in children:
      lines.extend([pad + "  End Site", pad + "  {", pad + "    OFFSET 0 0 0", pad + "  }"])
    lines.append(pad + "}")

  emit("joint_Root", 0)
  lines += ["MOTION", f"Frames: {len(frames)}", "Frame Time: 0.0333333"]
  lines += [" ".join(f"{v:.6f}" for v in row) for row in frames]
  return "\n".join(lines) + "\n"


NUM_CHANNELS = 6 * 2 + 3 * (len(_JOINTS) - 2)


def rest_frames(f=3):
  frames = np.zeros((f, NUM_CHANNELS))
  frames[:, 6:9] = [0, 90, 0]  # Hips' position channels hold its OFFSET
  return frames


def random_frames(f=6, seed=0, angle=25.0, height=50.0):
  rng = np.random.default_rng(seed)
  frames = rest_frames(f)
  frames[:, 0:3] = rng.normal(scale=50, size=(f, 3))
  frames[:, 1] *= height / 50
  rot_cols = [c for c in range(NUM_CHANNELS) if c not in range(0, 3) and c not in range(6, 9)]
  frames[:, rot_cols] = rng.uniform(-angle, angle, size=(f, len(rot_cols)))
  return frames


def h36m17(m, rig="bandai"):
  """Human3.6M joints, mm, Z up, as the cache holds them."""
  return mocap_conversion.convert_clip(m, rig).pose17


def facing(m, rig="bandai"):
  rig = rigs.get_rig(rig)
  idx, _, world_p, _ = rigs.world_pose(m, rig, check_up=False)
  return rigs.facing_from_world(world_p, idx, rig)


def rebuilt_h36m17(r, rig):
  """Human3.6M joints from a `rig_rotations.rotations_from_world` dict by FK:
  the body root first, then the body joints (parents shifted by one)."""
  frames = len(r["trans"])
  local = rotations.axis_angle_to_matrix(
      np.concatenate([r["root_orient"][:, None], r["rotvec"]], 1))
  offsets = np.concatenate([r["trans"][:, None], np.broadcast_to(
      r["rest_offsets"], (frames,) + r["rest_offsets"].shape)], 1)
  parents = [-1] + [int(p) + 1 for p in r["parents"]]
  _, pos = kinematics.forward_kinematics(local, offsets, parents)
  at = {n: pos[:, i] for i, n in enumerate((r["root_name"],) + r["names"])}
  rig = rigs.get_rig(rig)
  out = np.zeros((frames, 17, 3))
  for h, b in rig.joints.items():
    out[:, H36M_17.index(h)] = at[b]
  out[:, H36M_17.index("neck")] = sum(w * at[n] for n, w in rig.nose)
  out[:, H36M_17.index("head")] = at[rig_rotations.HEAD_TOP]
  return out


def test_rest_pose_by_hand():
  m = bvh.parse_bvh(make_bvh(rest_frames()))
  pose = h36m17(m)
  j = H36M_17.index
  # cm, Y up -> mm, Z up: (x, y, z) -> 10 * (x, -z, y).
  np.testing.assert_allclose(pose[0, j("pelvis")], [0, 0, 900], atol=1e-4)
  np.testing.assert_allclose(pose[0, j("l_hip")], [90, 0, 850], atol=1e-4)
  np.testing.assert_allclose(pose[0, j("r_ankle")], [-90, 0, 50], atol=1e-4)
  np.testing.assert_allclose(pose[0, j("spine")], [0, 0, 1150], atol=1e-4)  # Chest
  np.testing.assert_allclose(pose[0, j("neck")], [0, 0, 1430], atol=1e-4)  # Head
  np.testing.assert_allclose(pose[0, j("head")], [0, 0, 1530], atol=1e-4)  # +10 cm
  np.testing.assert_allclose(pose[0, j("l_wrist")], [620, 0, 1300], atol=1e-4)


def test_rotations_reproduce_positions():
  m = bvh.parse_bvh(make_bvh(random_frames()))
  clip = mocap_conversion.convert_clip(m, "bandai")
  r = clip.rotations
  assert r["root_name"] == "Hips"
  # Body: the 20 joints below Hips, plus the synthetic head top.
  assert len(r["names"]) == 21 and r["names"][-1] == rig_rotations.HEAD_TOP
  assert r["rotvec"].shape == (6, 21, 3) and r["rest_offsets"].shape == (21, 3)
  np.testing.assert_allclose(r["rest_offsets"][r["names"].index("LowerLeg_L")], [0, -400, 0], atol=1e-4)
  np.testing.assert_allclose(rebuilt_h36m17(r, "bandai"), clip.pose17, atol=1e-2)


def test_missing_joint_is_named():
  m = bvh.parse_bvh(make_bvh(rest_frames()[:, :-3], drop=("Toes_R",)))
  with pytest.raises(KeyError, match="'Toes_R' \\(for facing direction\\)"):
    h36m17(m)
  cols = NUM_CHANNELS - 3 * 2  # Hand_L and Toes_R gone
  m = bvh.parse_bvh(make_bvh(rest_frames()[:, :cols], drop=("Hand_L", "Toes_R")))
  with pytest.raises(KeyError, match="'Hand_L' \\(for l_wrist\\)"):
    mocap_conversion.convert_clip(m, "bandai")


def test_up_axis_is_checked_not_assumed():
  m = bvh.parse_bvh(make_bvh(rest_frames()))
  assert rigs.detect_up_axis(h36m17(m)) == "+z"
  z_up = rigs.RigSpec(**{**rigs.BANDAI.__dict__, "up_axis": "+z"})
  with pytest.raises(ValueError, match=r"declares up axis \+z .* along \+y"):
    h36m17(m, z_up)


def test_sanity_checks_catch_mirrors_and_stretch():
  # Small turns and feet on the ground, so the feet show the facing.
  m = bvh.parse_bvh(make_bvh(random_frames(seed=2, angle=5, height=0)))
  pose, faces = h36m17(m), facing(m)
  np.testing.assert_allclose(faces[0], [0, -1, 0], atol=0.2)  # +Z (file) -> -Y (jaxpose)
  assert clip_checks.sanity_problems(pose, faces) == []
  assert clip_checks.left_is_left(pose, faces).all() and clip_checks.feet_below_head(pose).all()
  assert clip_checks.bone_length_spread(pose).max() < 1e-5
  # A mirrored skeleton (left joints at -X) is a right-handed lie.
  mirrored = bvh.parse_bvh(make_bvh(rest_frames(), mirror=True))
  problems = clip_checks.sanity_problems(h36m17(mirrored), facing(mirrored))
  assert any("left hip" in p for p in problems)
  stretched = pose.copy()
  stretched[1:, H36M_17.index("l_wrist")] += 100.0
  assert any("l_elbow-l_wrist" in p for p in clip_checks.sanity_problems(stretched))
  upside_down = pose * np.array([1, 1, -1], np.float32)
  assert any("ankles below the head" in p for p in clip_checks.sanity_problems(upside_down))


def test_nonfinite_frames_dropped_with_count():
  frames = random_frames(5)
  frames[1, 20] = np.nan
  frames[2, 0] = np.inf
  m = bvh.parse_bvh(make_bvh(frames))
  clip = mocap_conversion.convert_clip(m, "bandai")
  assert clip.dropped == 2 and clip.pose17.shape == (3, 17, 3)
  assert np.isfinite(clip.pose17).all() and clip.problems == ()
  np.testing.assert_array_equal(clip.frame, [0, 3, 4])  # the file's frame numbers
  # The stride counts the file's frames (0, 2, 4); only frame 2 is then bad.
  half = mocap_conversion.convert_clip(m, "bandai", stride=2)
  assert half.pose17.shape == (2, 17, 3) and half.fps == pytest.approx(15.0, rel=1e-4)
  assert half.dropped == 1 and half.frame.tolist() == [0, 4]


def _bandai_tree(root, bad=True):
  data = root / "Bandai-Namco-Research-Motiondataset-1" / "data"
  data.mkdir(parents=True)
  frames = random_frames(4)
  frames[2, 5] = np.nan
  (data / "a.bvh").write_text(make_bvh(frames))
  (data / "b.bvh").write_text(make_bvh(random_frames(3, seed=5)))
  if bad:  # truncated in the middle of the hierarchy
    (data / "c.bvh").write_text("\n".join(make_bvh(random_frames(3)).splitlines()[:20]))
  return data


def test_convert_tree_skips_and_reports_bad_file(tmp_path):
  _bandai_tree(tmp_path)
  arrays, summary = mocap_conversion.convert_tree("bandai", tmp_path, workers=1, progress=False)
  assert summary["files"] == 3 and summary["converted"] == 2
  assert summary["frames"] == 3 + 3 and summary["dropped_nonfinite"] == 1
  (path, why), = summary["skipped"]
  assert path.endswith("c.bvh") and "c.bvh:" in why and "unexpected end of file" in why
  assert arrays["pose17"].shape == (6, 17, 3) and arrays["rotvec"].shape == (6, 21, 3)
  np.testing.assert_array_equal(arrays["clip"], [0, 0, 0, 1, 1, 1])
  np.testing.assert_array_equal(arrays["frame"], [0, 1, 3, 0, 1, 2])  # a.bvh lost frame 2
  assert arrays["subject_names"].tolist() == ["bandai-1"]
  (path, why), = summary["warnings"]
  assert path.endswith("a.bvh") and why == "dropped 1 of 4 frames with a NaN/inf channel"
  text = mocap_conversion.format_summary(summary)
  assert "2/3 files" in text and "1 non-finite" in text and "c.bvh" in text
  assert "warning Bandai-Namco-Research-Motiondataset-1/data/a.bvh: dropped 1" in text
  with pytest.raises(RuntimeError, match="c.bvh.*--strict"):
    mocap_conversion.convert_tree("bandai", tmp_path, workers=1, progress=False, strict=True)


def test_prepare_cli_and_cache_round_trip(tmp_path):
  from experiments import prepare
  _bandai_tree(tmp_path / "src", bad=False)
  out = tmp_path / "bandai.npz"
  assert prepare.main(["--dataset=bandai", f"--src={tmp_path / 'src'}", f"--out={out}",
                       "--no_progress", "--workers=1"]) == 0
  cache = mocap_cache.load_cache(out)
  assert cache["pose17"].shape == (6, 17, 3) and str(cache["rig"]) == "bandai"
  assert cache["clip_fps"].tolist() == pytest.approx([30.0, 30.0], rel=1e-4)


def _fake_cache(path, subjects, frames_per_clip, stride=1):
  n = len(subjects) * frames_per_clip
  pose = np.random.default_rng(0).normal(size=(n, 17, 3)).astype(np.float32) + 1000
  mocap_cache.save_cache(path, dict(
      version=np.int32(mocap_cache.CACHE_VERSION), stride=np.int32(stride), pose17=pose,
      clip=np.repeat(np.arange(len(subjects), dtype=np.int32), frames_per_clip),
      frame=np.tile(np.arange(frames_per_clip, dtype=np.int32) * stride, len(subjects)),
      subject=np.repeat(np.arange(len(subjects), dtype=np.int16), frames_per_clip),
      subject_names=np.array(subjects), clip_names=np.array([f"{s}_01" for s in subjects])))


def test_load_protocol_splits_subjects_and_strides(tmp_path):
  _fake_cache(tmp_path / "bandai.npz", ["bandai-1", "bandai-2"], 4)
  _fake_cache(tmp_path / "cmu.npz", ["001", "002", "003", "005", "006", "007"], 8)
  seen = []
  out = mocap_protocol.load_protocol("jaxpose-mocap-v1", tmp_path,
                                add_2d=lambda name, s: seen.append(name) or {"n": len(s["pose3d"])})
  train, test = out["train"], out["test"]
  assert set(train["subject"]) == {"bandai-1", "bandai-2", "001", "002", "003", "006"}
  assert set(test["subject"]) == {"005", "007"}
  # Bandai stride 1 (8 frames), CMU train stride 2 (4 x 4), test stride 4 (2 x 2).
  assert len(train["pose3d"]) == 8 + 16 and len(test["pose3d"]) == 4
  assert (test["frame"] % 4 == 0).all()
  np.testing.assert_allclose(train["pose3d"][:, 0], 0.0)
  assert seen == ["train", "test"] and test["n"] == 4
  with pytest.raises(ValueError, match="unknown protocol"):
    mocap_protocol.load_protocol("h36m-p9", tmp_path)
  _fake_cache(tmp_path / "cmu.npz", ["001", "005"], 8, stride=3)
  with pytest.raises(ValueError, match="stride 3"):
    mocap_protocol.load_protocol("jaxpose-mocap-v1", tmp_path)


# --------------------------------------------------------------------- real data


@pytest.mark.parametrize("dataset", ["bandai", "cmu"])
def test_real_clips_are_people(real_files, dataset):
  for path in real_files[dataset]:
    m = bvh.load_bvh(path)
    clip = mocap_conversion.convert_clip(m, dataset, stride=2)
    assert clip.problems == (), (path, clip.problems)
    pose = clip.pose17
    assert rigs.detect_up_axis(pose) == "+z"
    height = pose[:, H36M_17.index("head"), 2] - pose[:, [3, 6], 2].min(1)
    assert 1300 < np.median(height) < 2000, np.median(height)  # mm
    np.testing.assert_allclose(rebuilt_h36m17(clip.rotations, dataset), pose,
                               atol=0.05)  # mm
