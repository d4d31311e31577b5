"""BVH parsing and forward kinematics against hand-computed answers."""
import numpy as np
import pytest

from jaxpose.data import bvh

CHAIN = """HIERARCHY
ROOT root
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT a
  {
    OFFSET 1 0 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT b
    {
      OFFSET 0 2 0
      CHANNELS 3 Zrotation Xrotation Yrotation
      End Site
      {
        OFFSET 0 0 3
      }
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.5
0 0 0 0 0 0 0 0 0 0 0 0
10 20 30 90 0 0 0 90 0 0 0 0
"""

# CRLF, tabs, a root without position channels in Y X Z order, a non-root
# joint with a position channel between... and a name glued to its brace.
ODD = ("HIERARCHY\r\nROOT\tHips\r\n{\r\n\tOFFSET  0 0 0\r\n"
       "\tCHANNELS 3 Yrotation Xrotation Zrotation\r\n"
       "\tJOINT Slider{\r\n\t\tOFFSET 0 1 0\r\n\t\tCHANNELS 2 Yposition Xrotation\r\n"
       "\t\tEnd Site\r\n\t\t{\r\n\t\t\tOFFSET 0 0 1\r\n\t\t}\r\n\t}\r\n}\r\n"
       "MOTION\r\nFrames:\t1\r\nFrame Time:\t0.033333\r\n"
       "90\t90 0  5 90\r\n\r\n")


def test_parse_structure():
  m = bvh.parse_bvh(CHAIN)
  sk = m.skeleton
  assert sk.names == ("root", "a", "b")
  assert sk.parents == (-1, 0, 1)
  np.testing.assert_array_equal(sk.offsets, [[0, 0, 0], [1, 0, 0], [0, 2, 0]])
  assert sk.channels[1] == ("Zrotation", "Xrotation", "Yrotation")
  assert sk.end_site_parents == (2,)
  assert list(sk.channel_starts) == [0, 6, 9]
  assert m.motion.shape == (2, 12) and m.frame_time == 0.5 and m.fps == 2.0


def test_fk_chain_by_hand():
  m = bvh.parse_bvh(CHAIN)
  pos, ends = bvh.forward_kinematics(m, end_sites=True)
  np.testing.assert_allclose(pos[0], [[0, 0, 0], [1, 0, 0], [1, 2, 0]], atol=1e-12)
  np.testing.assert_allclose(ends[0], [[1, 2, 3]], atol=1e-12)
  # Root at (10,20,30) turned 90 deg about z; joint a turned 90 deg about x.
  np.testing.assert_allclose(pos[1], [[10, 20, 30], [10, 21, 30], [10, 21, 32]], atol=1e-12)
  np.testing.assert_allclose(ends[1], [[13, 21, 32]], atol=1e-12)
  local = bvh.local_rotations(m)
  np.testing.assert_allclose(local[1, 1], [[1, 0, 0], [0, 0, -1], [0, 1, 0]], atol=1e-12)
  np.testing.assert_allclose(bvh.forward_kinematics(m, frames=slice(1, 2)), pos[1:], atol=1e-12)


def test_odd_file_position_channel_and_order():
  m = bvh.parse_bvh(ODD)
  assert m.skeleton.names == ("Hips", "Slider")
  assert m.skeleton.channels == (("Yrotation", "Xrotation", "Zrotation"),
                                 ("Yposition", "Xrotation"))
  # Hips: R = Ry(90) @ Rx(90); Slider's Yposition 5 replaces OFFSET y = 1.
  pos, ends = bvh.forward_kinematics(m, end_sites=True)
  np.testing.assert_allclose(pos[0], [[0, 0, 0], [5, 0, 0]], atol=1e-12)
  np.testing.assert_allclose(ends[0], [[4, 0, 0]], atol=1e-12)
  added = bvh.forward_kinematics(m, position_mode="add")
  np.testing.assert_allclose(added[0, 1], [6, 0, 0], atol=1e-12)
  with pytest.raises(ValueError, match="position_mode"):
    bvh.forward_kinematics(m, position_mode="absolute")


def _lines(text):
  return text.splitlines()


@pytest.mark.parametrize("edit, line, message", [
    # Truncated: the last frame row is missing.
    (lambda t: "\n".join(_lines(t)[:-1]) + "\n", 24, "expected 2 frame rows"),
    # A frame row with a value missing.
    (lambda t: t.replace("10 20 30 90 0 0 0 90 0 0 0 0", "10 20 30 90 0 0 0 90 0 0 0"), 25,
     "expected 12 values"),
    (lambda t: t.replace("10 20 30 90", "10 20 x 90"), 25, "expected numbers"),
    (lambda t: t.replace("    OFFSET 1 0 0\n", ""), 18, "expected 'OFFSET' in joint 'a'"),
    (lambda t: t.replace("Zrotation Xrotation Yrotation\n    JOINT b",
                         "Zrotation Xrotaton Yrotation\n    JOINT b"), 9, "channel name"),
    (lambda t: t.replace("OFFSET 0 2 0", "OFFSET 0 2"), 13, "3 OFFSET values"),
    (lambda t: t.replace("Frame Time: 0.5", "Frame Tim: 0.5"), 23, "Frame Time"),
    (lambda t: "\n".join(_lines(t)[:12]), 12, "unexpected end of file"),
])
def test_malformed_names_file_and_line(tmp_path, edit, line, message):
  path = tmp_path / "walk.bvh"
  path.write_text(edit(CHAIN))
  with pytest.raises(bvh.BvhError, match=message) as info:
    bvh.load_bvh(path)
  assert str(info.value).startswith(f"walk.bvh:{line}:"), str(info.value)


def test_nan_values_parse_and_stay():
  m = bvh.parse_bvh(CHAIN.replace("10 20 30", "nan 20 30"))
  assert np.isnan(m.motion[1, 0]) and np.isfinite(m.motion[0]).all()


@pytest.mark.parametrize("dataset", ["bandai", "cmu"])
def test_real_files_parse_and_fk(real_files, dataset):
  for path in real_files[dataset]:
    m = bvh.load_bvh(path)
    sk = m.skeleton
    assert m.motion.shape == (m.num_frames, sk.num_channels) and m.num_frames > 10
    assert np.isfinite(m.motion).all()
    mode = "replace" if dataset == "bandai" else "add"
    pos = bvh.forward_kinematics(m, position_mode=mode)
    assert pos.shape == (m.num_frames, sk.num_joints, 3)
    if dataset == "bandai":
      assert sk.num_joints == 22 and all(len(c) == 6 for c in sk.channels)
      assert m.frame_time == pytest.approx(1 / 30, rel=1e-3)
    else:
      assert sk.channels[sk.index("CC_Base_L_Thigh")] == ("Zrotation", "Yrotation", "Xrotation")
      assert m.frame_time == pytest.approx(1 / 60, rel=1e-3)
    # Rigid thigh: hip-knee distance constant (cm) over the clip.
    knee = [n for n in sk.names if n in ("LowerLeg_L", "CC_Base_L_Calf")][0]
    k = sk.index(knee)
    length = np.linalg.norm(pos[:, k] - pos[:, sk.parents[k]], axis=-1)
    assert np.ptp(length) < 1e-3 and 30 < length.mean() < 60
