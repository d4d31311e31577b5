"""The MPI-INF-3DHP test set (`data.mpi_inf_3dhp`) on tiny files in the
authors' layout: TS1 a MATLAB v7.3 file (HDF5 behind the 512-byte MATLAB
header, arrays stored column-major so h5py sees their axes reversed), TS5 a
v5 file.  Expected values are written out here, by joint name, not taken
from the loader's tables."""
import pathlib

import h5py
import numpy as np
import pytest
import scipy.io

from jaxpose import settings
from jaxpose.config import ConfigError
from jaxpose.data import file_checks
from jaxpose.data import mpi_inf_3dhp as hp
from jaxpose.pose.skeleton import H36M_17

JOINTS_3DHP = ["head_top", "neck", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder",
               "l_elbow", "l_wrist", "r_hip", "r_knee", "r_ankle", "l_hip",
               "l_knee", "l_ankle", "pelvis", "spine", "head"]
# H36M_17 joint -> the 3DHP joint it is, where the names differ.
RENAMED = {"thorax": "neck", "neck": "head", "head": "head_top"}
# Per sequence: valid_frame and activity_annotation, frame by frame.
VALID = {"TS1": [1, 0, 1, 1, 0], "TS5": [0, 1, 1, 1]}
ACTIVITY = {"TS1": [1, 3, 2, 7, 0], "TS5": [0, 6, 5, 4]}


def _annotations(sequence):
  """MATLAB-order arrays: joint j of frame t at x = 10 j + t, y = 7 j - 2 t,
  z = 4000 + j + 100 s (s: sequence number) mm; univ_annot3 0.9 times that
  about the pelvis; annot2 = 3 x + 1, 2 y + 5 px."""
  frames = len(VALID[sequence])
  t = np.arange(frames)[:, None]
  j = np.arange(17)[None]
  s = int(sequence[2:])
  annot3 = np.stack(np.broadcast_arrays(10.0 * j + t, 7.0 * j - 2 * t,
                                        4000.0 + j + 100 * s + 0 * t), -1)
  univ = 0.9 * (annot3 - annot3[:, 14:15]) + annot3[:, 14:15]
  annot2 = np.stack([3 * annot3[..., 0] + 1, 2 * annot3[..., 1] + 5], -1)
  # Invalid frames may hold anything: they are never read.
  for f in np.flatnonzero(np.array(VALID[sequence]) == 0):
    annot2[f] = np.nan
  to_matlab = lambda x: x.transpose(2, 1, 0)[:, :, None, :]  # [T,17,C] -> C x 17 x 1 x T
  return dict(annot2=to_matlab(annot2), annot3=to_matlab(annot3),
              univ_annot3=to_matlab(univ),
              valid_frame=np.array([VALID[sequence]], float),
              activity_annotation=np.array([ACTIVITY[sequence]], float),
              bb_crop=np.zeros((4, frames)))


def write_v73(path, arrays):
  """A MATLAB -v7.3 file: HDF5 with a 512-byte user block holding MATLAB's
  header; each array stored column-major (h5py sees the axes reversed)."""
  with h5py.File(path, "w", userblock_size=512) as f:
    for key, value in arrays.items():
      f.create_dataset(key, data=np.asarray(value).T)
      f[key].attrs["MATLAB_class"] = np.bytes_("double")
  header = (b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Tue Jan 16 "
            b"10:00:00 2018 HDF5 schema 1.00 .")
  with open(path, "r+b") as f:
    f.write(header.ljust(116) + bytes(8) + b"\x00\x02IM")


def write_v5(path, arrays):
  scipy.io.savemat(path, arrays, format="5")


def _make(root, v73=("TS1",), v5=("TS5",), edit=None):
  """<root>/mpi_inf_3dhp_test_set/TS*/annot_data.mat; `edit(sequence,
  arrays)` may change the arrays first."""
  folder = pathlib.Path(root) / "mpi_inf_3dhp_test_set"
  for sequence in (*v73, *v5):
    arrays = _annotations(sequence)
    if edit:
      edit(sequence, arrays)
    (folder / sequence).mkdir(parents=True, exist_ok=True)
    write = write_v73 if sequence in v73 else write_v5
    write(folder / sequence / "annot_data.mat", arrays)
  return pathlib.Path(root)


@pytest.fixture(scope="module")
def test_set(tmp_path_factory):
  return _make(tmp_path_factory.mktemp("3dhp"))


def test_files_are_in_the_authors_layout(test_set):
  ts1 = test_set / "mpi_inf_3dhp_test_set" / "TS1" / "annot_data.mat"
  ts5 = test_set / "mpi_inf_3dhp_test_set" / "TS5" / "annot_data.mat"
  assert hp.mat_version(ts1) == "7.3" and hp.mat_version(ts5) == "5"
  with h5py.File(ts1, "r") as f:  # what h5py users of the real files see
    assert f["annot3"].shape == (5, 1, 17, 3)
    assert f["valid_frame"].shape == (5, 1)
  assert scipy.io.loadmat(ts5)["annot3"].shape == (3, 17, 1, 4)
  with pytest.raises(NotImplementedError):  # scipy cannot read v7.3
    scipy.io.loadmat(ts1)


def test_reads_both_versions_alike(test_set):
  folder = test_set / "mpi_inf_3dhp_test_set"
  for sequence in ("TS1", "TS5"):
    seq = hp.read_sequence(folder / sequence / "annot_data.mat")
    made = _annotations(sequence)
    frames = len(VALID[sequence])
    assert seq["annot2"].shape == (frames, 17, 2)
    assert seq["annot3"].shape == seq["pose3d"].shape == (frames, 17, 3)
    np.testing.assert_array_equal(seq["valid_frame"], np.array(VALID[sequence], bool))
    # Frame 2, joint 5 (l_shoulder): x = 10 * 5 + 2, y = 7 * 5 - 2 * 2.
    assert seq["annot3"][2, 5, :2].tolist() == [52.0, 31.0]
    np.testing.assert_array_equal(seq["pose3d"], made["univ_annot3"][:, :, 0].T)


def test_rows_map_joints_filter_frames_and_carry_cameras(test_set):
  split = hp.load_split(test_set, ("TS1", "TS5"))
  assert split["sequence"].tolist() == ["TS1"] * 3 + ["TS5"] * 3
  assert split["clip"].tolist() == [0, 0, 0, 4, 4, 4]
  assert split["frame"].tolist() == [0, 2, 3, 1, 2, 3]  # the valid frames
  assert split["activity"].tolist() == [1, 2, 7, 6, 5, 4]
  assert split["pose3d"].shape == (6, 17, 3) and split["pose3d"].dtype == np.float32
  for row, (sequence, frame) in enumerate(zip(split["sequence"], split["frame"])):
    s = int(sequence[2:])
    for h36m_index, name in enumerate(H36M_17.joint_names):
      j = JOINTS_3DHP.index(RENAMED.get(name, name))
      x, y, z = 10.0 * j + frame, 7.0 * j - 2 * frame, 4000.0 + j + 100 * s
      pelvis = np.array([140.0 + frame, 98.0 - 2 * frame, 4014.0 + 100 * s])
      # univ_annot3, root-relative: 0.9 (joint - pelvis).
      np.testing.assert_allclose(split["pose3d"][row, h36m_index],
                                 0.9 * (np.array([x, y, z]) - pelvis), atol=1e-3)
      np.testing.assert_allclose(split["pose2d_px"][row, h36m_index],
                                 [3 * x + 1, 2 * y + 5], atol=1e-3)
    np.testing.assert_allclose(split["root_cam_mm"][row], pelvis, atol=1e-3)  # annot3's
  # Spot checks of the renamed joints: H36M's head is 3DHP's head_top (0),
  # its thorax 3DHP's neck (1), its neck 3DHP's head (16).
  px = split["pose2d_px"][0]
  assert px[10, 0] == 1.0 and px[8, 0] == 31.0 and px[9, 0] == 481.0
  # Screen normalisation with each sequence's image: u / w * 2 - 1, v / w * 2 - h / w.
  u, v = split["pose2d_px"][3, 4]
  np.testing.assert_allclose(split["pose2d"][3, 4],
                             [u / 1920 * 2 - 1, v / 1920 * 2 - 1080 / 1920], rtol=1e-6)
  # Intrinsics from the calibration files by hand: fx = focal / sensor * px,
  # fy = fx * pixelAspect, c = (sensor / 2 + offset) / sensor * px.
  studio = [7.32506 * 204.8, 7.32506 * 204.8 * 1.00044, 4.9677116 * 204.8,
            5.0929296 * 204.8, 2048, 2048]
  outdoor = [8.770747185 * 192, 8.770747185 * 192 * 0.993236423,
             4.895091355 * 192, 2.917399704 * 192, 1920, 1080]
  np.testing.assert_allclose(split["intrinsics"][:3], [studio] * 3, rtol=1e-7)
  np.testing.assert_allclose(split["intrinsics"][3:], [outdoor] * 3, rtol=1e-7)
  np.testing.assert_array_equal(split["distortion"][:3], 0.0)
  np.testing.assert_allclose(split["distortion"][3], [-0.276859611, 0.131125256,
                                                      -0.000360494, -0.001149441,
                                                      -0.049318332], rtol=1e-6)


def test_options_and_layouts(test_set):
  # annot3 instead of univ_annot3: the subject's own size.
  split = hp.load_split(test_set, "TS5", annotation_3d="annot3")
  np.testing.assert_allclose(split["pose3d"][0, 10], [-140.0, -98.0, -14.0])
  # The folder holding TS1..TS6 itself; sequences in the order asked.
  split = hp.load_split(test_set / "mpi_inf_3dhp_test_set", "TS5,TS1")
  assert split["sequence"].tolist() == ["TS5"] * 3 + ["TS1"] * 3
  # The settings section and the dataset's splits.
  data = settings.parse(hp.MPIINF3DHPSettings, dict(dir=str(test_set),
                                                    sequences="TS1"), "data")
  assert data.annotation_3d == "univ_annot3"
  splits, input_2d = hp.load_splits(data)
  assert set(splits) == {"test"} and input_2d == {"test": "gt"}
  assert len(splits["test"]["pose3d"]) == 3
  assert hp.ACTIVITY_NAMES[1:] == ("Standing/Walking", "Exercising", "Sitting",
                                   "Reaching/Crouching", "On The Floor", "Sports",
                                   "Miscellaneous")
  with pytest.raises(ConfigError, match="data.sequences"):
    hp.MPIINF3DHPSettings(sequences="TS1,TS7")
  with pytest.raises(ConfigError, match="annotation_3d"):
    settings.parse(hp.MPIINF3DHPSettings, dict(annotation_3d="annot2"), "data")


def test_projection():
  studio, outdoor = hp.CAMERAS["TS1"], hp.CAMERAS["TS6"]
  np.testing.assert_allclose(hp.project([0.0, 0.0, 3000.0], outdoor),
                             [outdoor.cx, outdoor.cy])
  np.testing.assert_allclose(hp.project([300.0, -600.0, 3000.0], studio),
                             [studio.fx * 0.1 + studio.cx, studio.fy * -0.2 + studio.cy])
  # On the x axis (y = 0): x' = x (1 + k1 r2 + k2 r2^2 + k3 r2^3) + 3 p2 x^2,
  # y' = p1 x^2 (OpenCV's model).
  k1, k2, p1, p2, k3 = outdoor.distortion
  x = 0.2
  r2 = x * x
  xd = x * (1 + k1 * r2 + k2 * r2 ** 2 + k3 * r2 ** 3) + 3 * p2 * x * x
  np.testing.assert_allclose(hp.project([600.0, 0.0, 3000.0], outdoor),
                             [outdoor.fx * xd + outdoor.cx,
                              outdoor.fy * p1 * x * x + outdoor.cy])
  np.testing.assert_allclose(hp.project([600.0, 0.0, 3000.0], outdoor, distort=False),
                             [outdoor.fx * x + outdoor.cx, outdoor.cy])


def _error(tmp_path, edit=None, v73=("TS1",), v5=("TS5",), sequences=("TS1", "TS5")):
  root = _make(tmp_path, v73=v73, v5=v5, edit=edit)
  with pytest.raises(hp.MPIINF3DHPError) as caught:
    hp.load_split(root, sequences)
  assert isinstance(caught.value, file_checks.FormatError)
  return str(caught.value)


def _drop(key, sequence="TS1"):
  return lambda s, a: a.pop(key) if s == sequence else None


def _set(key, value, sequence="TS1"):
  def edit(s, arrays):
    if s == sequence:
      arrays[key] = value(arrays[key]) if callable(value) else value
  return edit


def _nan_in_valid_frame(s, arrays):
  arrays["univ_annot3"][1, 4, 0, 2] = np.nan  # TS*, frame 2 (valid in both)


@pytest.mark.parametrize("edit, sequence, expected", [
    (_drop("activity_annotation"), "TS1", ["TS1", "annot_data.mat",
                                           "missing key(s) ['activity_annotation']"]),
    (_drop("annot2", "TS5"), "TS5", ["TS5", "missing key(s) ['annot2']"]),
    (_set("annot3", lambda a: a[:, :16]), "TS1", ["'annot3'", "3 x 16 x 1 x 5",
                                                 "expected 3 x 17 x 1 x T"]),
    (_set("annot2", lambda a: a[:, :, :, :3], "TS5"), "TS5",
     ["frame counts disagree", "annot2 3", "annot3 4"]),
    (_set("valid_frame", np.array([[1, 0, 1, 1]], float)), "TS1",
     ["frame counts disagree", "valid_frame 4", "annot2 5"]),
    (_set("valid_frame", np.ones((2, 5))), "TS1", ["'valid_frame'", "2 x 5"]),
    (_nan_in_valid_frame, "TS1", ["TS1", "'univ_annot3'", "NaN/inf", "frame(s) [2]"]),
    (_set("valid_frame", np.array([[1, 0, 2, 1, 0]], float)), "TS1",
     ["'valid_frame' holds [2.0]", "0 or 1"]),
    (_set("activity_annotation", np.array([[1, 3, 9, 7, 0]], float)), "TS1",
     ["'activity_annotation'", "[9.0]", "frame(s) [2]", "1..7"]),
    (_set("activity_annotation", np.array([[0, 6, 5.5, 4]], float), "TS5"), "TS5",
     ["'activity_annotation'", "[5.5]"]),
])
def test_each_error_names_the_file_and_the_key(tmp_path, edit, sequence, expected):
  message = _error(tmp_path, edit)
  assert f"{sequence}/annot_data.mat" in message
  for part in expected:
    assert part in message, message


def test_folder_and_sequence_errors(tmp_path):
  with pytest.raises(hp.MPIINF3DHPError, match="no MPI-INF-3DHP test set"):
    hp.load_split(tmp_path / "nowhere")
  message = _error(tmp_path, sequences=("TS1", "TS2"))
  assert "TS2/annot_data.mat: missing" in message and "['TS1', 'TS5']" in message
  with pytest.raises(ValueError, match="data.sequences"):
    hp.load_split(tmp_path, ("TS1", "TS1"))
  with pytest.raises(ValueError, match="annotation_3d"):
    hp.load_split(tmp_path, "TS1", annotation_3d="annot2")


def test_file_level_errors(tmp_path):
  folder = _make(tmp_path) / "mpi_inf_3dhp_test_set"
  path = folder / "TS1" / "annot_data.mat"
  path.write_bytes(b"not a mat file at all")
  with pytest.raises(hp.MPIINF3DHPError, match="not a MATLAB MAT-file"):
    hp.load_split(tmp_path, "TS1")
  path.write_bytes(b"MATLAB 7.3 MAT-file".ljust(600, b" "))
  with pytest.raises(hp.MPIINF3DHPError, match="no HDF5 file after"):
    hp.load_split(tmp_path, "TS1")
  arrays = _annotations("TS1")
  write_v73(path, arrays)
  with h5py.File(path, "a") as f:  # a MATLAB struct is an HDF5 group
    del f["annot2"]
    f.create_group("annot2")
  with pytest.raises(hp.MPIINF3DHPError, match="'annot2' is a MATLAB struct"):
    hp.load_split(tmp_path, "TS1")
  arrays["valid_frame"][:] = 0
  write_v5(folder / "TS5" / "annot_data.mat", dict(arrays, valid_frame=np.zeros((1, 5))))
  with pytest.raises(hp.MPIINF3DHPError, match="no valid frame in TS5"):
    hp.load_split(tmp_path, "TS5")
