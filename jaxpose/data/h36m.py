"""Human3.6M as the papers use it, from VideoPose3D's files (`data.name=h36m`).

Input files (VideoPose3D's DATASETS.md makes them; jaxpose never ships them:
the Human3.6M licence forbids it):
  * `data_3d_h36m.npz`: 'positions_3d' subject -> action take -> [F, 32, 3]
    world coordinates in metres (read by `videopose3d.load_videopose3d_3d`).
  * a 2D file in the same layout, `data_2d_h36m_<name>.npz`: 'positions_2d'
    subject -> take -> 4 arrays [F', 17, 2] pixels, one per camera in the
    order 54138969, 55011271, 58860488, 60457274, and 'metadata'
    (`videopose3d.load_videopose3d_2d`).  `gt` holds the (distorted) projections
    of the 3D; detector files (`cpn_ft_h36m_dbb`, `detectron_ft_h36m`, ...)
    may hold a few more frames than the 3D take and are trimmed to its length.

The protocol (Martinez et al. 2017, VideoPose3D, GFPose, ...):
  * Joints: the 17 of 32 VideoPose3D keeps (0 1 2 3 6 7 8 12 13 14 15 17 18
    19 25 26 27), in `skeleton.H36M_17` order.
  * Subjects: train S1 S5 S6 S7 S8, test S9 S11 (`TRAIN_SUBJECTS`,
    `TEST_SUBJECTS`).  S11's "Directions" take (a corrupt video) is never
    used, as in every paper; S11's other "Directions" take keeps the action.
  * Cameras: every frame is seen by the subject's four published cameras
    (`cameras.h36m_cameras(subject)`), 4 rows per frame, frame-major with the
    camera fastest.  3D goes to each camera frame (`cameras.world_to_camera`)
    in millimetres, then is made root-relative; 2D is the file's pixels,
    screen-normalised with that camera's image size.
  * Actions: the 15 actions, takes merged ("Directions 1" -> "Directions");
    S1's "TakingPhoto"/"WalkingDog" (files from Martinez's archive) are
    "Photo"/"WalkDog".  Activity ids index `ACTIONS`, the sorted names.
  * Frame strides: every `stride`-th frame of each take (frames 0, s, 2s,
    ...), counted after trimming; 1 keeps every frame (the papers).

Split fields (the `datasets` contract plus bookkeeping):
  pose3d [N, 17, 3] float32 camera frame, root-relative mm; pose2d [N, 17, 2]
  float32 screen-normalised; activity [N] int32; root_cam_mm [N, 3] float32;
  intrinsics [N, 6] float32 (fx, fy, cx, cy, width, height); camera [N] int32
  (0-3, the order above); frame [N] int32 (frame of the take); subject,
  take [N] str (take: the merged-naming take, e.g. "Photo 1").
"""
from __future__ import annotations

import dataclasses
import os
import pathlib
import re
from typing import Literal, Mapping, Sequence

from absl import logging
import numpy as np

from jaxpose.checks import check_positive_int
from jaxpose.config import ConfigError
from jaxpose.data import data_fields
from jaxpose.data import data_files
from jaxpose.data import videopose3d
from jaxpose.data.file_checks import FormatError
from jaxpose.pose import cameras as cam_lib

TRAIN_SUBJECTS = ("S1", "S5", "S6", "S7", "S8")
TEST_SUBJECTS = ("S9", "S11")
ACTIONS = tuple(sorted((
    "Directions", "Discussion", "Eating", "Greeting", "Phoning", "Photo",
    "Posing", "Purchases", "Sitting", "SittingDown", "Smoking", "Waiting",
    "WalkDog", "Walking", "WalkTogether")))
ACTION_ALIASES = {"TakingPhoto": "Photo", "WalkingDog": "WalkDog"}
EXCLUDED_TAKES = frozenset({("S11", "Directions")})
NUM_CAMERAS = 4
_FILE_2D = re.compile(r"data_2d_h36m_(.+)")


class H36MError(FormatError):
  """A Human3.6M file that does not match the protocol (names the file)."""


def canonical_take(take: str) -> str:
  """The take in merged naming: "TakingPhoto 1" -> "Photo 1"."""
  head, sep, rest = take.strip().partition(" ")
  return ACTION_ALIASES.get(head, head) + sep + rest


def action_of(take: str) -> str:
  """The action of a take: "Directions 1" -> "Directions" ("" if unknown)."""
  head = canonical_take(take).partition(" ")[0]
  return head if head in ACTIONS else ""


def input_2d_name(path) -> str:
  """Which 2D a file holds, from its name: data_2d_h36m_gt.npz -> "gt"."""
  stem = pathlib.Path(os.fspath(path)).name
  stem = stem[:-4] if stem.endswith(".npz") else stem
  match = _FILE_2D.fullmatch(stem)
  return match.group(1) if match else stem


def _subjects(key: str, value) -> tuple[str, ...]:
  """'S9,S11' or ('S9', 'S11') -> ('S9', 'S11')."""
  items = value.split(",") if isinstance(value, str) else list(value)
  out = tuple(str(s).strip() for s in items if str(s).strip())
  if not out:
    raise ValueError(f"data.{key}: expected subjects such as 'S9,S11', got {value!r}")
  return out


def resolve_path(key: str, path: str, data_dir: str = "") -> pathlib.Path:
  """The file `path` of config key `data.<key>`.

  An absolute path, or one relative to `data_dir` when that is given; else
  the first existing of `path` (from the working directory), `<data>/path`
  and `<data>/h36m/path`, where <data> is $JAXPOSE_DATA or ../shared/data.

  Raises:
    FileNotFoundError: naming the key and every place searched.
  """
  if not path:
    raise ValueError(f"data.{key}: empty; give the file's path")
  p = pathlib.Path(os.fspath(path)).expanduser()
  if p.is_absolute():
    candidates = [p]
  elif data_dir:
    candidates = [pathlib.Path(data_dir).expanduser() / p]
  else:
    candidates = [p]
    root = data_files.resolve_data_dir()
    if root is not None:
      candidates += [root / p, root / "h36m" / p]
  for cand in candidates:
    if cand.is_file():
      return cand
  raise FileNotFoundError(
      f"data.{key}: no file {path!r} (searched {', '.join(map(str, candidates))}). "
      "Make VideoPose3D's Human3.6M files (github.com/facebookresearch/VideoPose3D, "
      "DATASETS.md) and pass --config.data.dir=<their folder>.")


def _by_take(path, subject: str, takes: Mapping) -> dict:
  """{merged take name: (file's take name, value)}; refuses ambiguous pairs."""
  out = {}
  for take, value in takes.items():
    key = canonical_take(take)
    if key in out:
      raise H36MError(f"{path}: subject {subject!r} has both {out[key][0]!r} and "
                      f"{take!r}, one take under two names")
    out[key] = (take, value)
  return out


def check_2d_layout(path, metadata: Mapping) -> None:
  """Refuses 2D files whose joints are not Human3.6M's 17 in H36M_17 order."""
  n, layout = metadata["num_joints"], metadata["layout_name"]
  if n != 17:
    raise H36MError(
        f"{path}: {n} joints per pose (metadata num_joints); jaxpose lifts the 17 "
        "Human3.6M joints (VideoPose3D's 16-joint stacked-hourglass files have no "
        "neck/nose joint): use data_2d_h36m_gt.npz, data_2d_h36m_cpn_ft_h36m_dbb.npz "
        "or another 17-joint file in the 'h36m' layout")
  if layout not in ("h36m", ""):
    raise H36MError(f"{path}: joint layout {layout!r} (metadata layout_name); "
                    "expected the 'h36m' layout (e.g. not COCO's joint order)")


def load_split(poses_3d: Mapping, poses_2d: Mapping, subjects: Sequence[str], *,
               stride: int = 1, path_3d="3D file", path_2d="2D file") -> dict:
  """One split's rows from loaded VideoPose3D dictionaries.

  Args:
    poses_3d: {subject: {take: [F, 17, 3] world mm}} (`load_videopose3d_3d`).
    poses_2d: {subject: {take: 4 x [F', 17, 2+] pixels}} (`load_videopose3d_2d`).
    subjects: the split's subjects.
    stride: keep every `stride`-th frame of each take.
    path_3d, path_2d: the files, for messages.

  Returns:
    The split (module docstring), rows ordered subject, take (sorted), frame,
    camera.
  """
  stride = check_positive_int("stride", stride)
  action_id = {a: i for i, a in enumerate(ACTIONS)}
  parts = []
  for subject in subjects:
    if subject not in poses_3d:
      raise H36MError(f"{path_3d}: no subject {subject!r} in positions_3d; found "
                      f"{sorted(poses_3d)}")
    if subject not in poses_2d:
      raise H36MError(f"{path_2d}: no subject {subject!r} in positions_2d; found "
                      f"{sorted(poses_2d)}")
    try:
      cams = cam_lib.h36m_cameras(subject)
    except KeyError as e:
      raise ValueError(f"data subjects: {e.args[0]}") from None
    takes_3d = _by_take(path_3d, subject, poses_3d[subject])
    takes_2d = _by_take(path_2d, subject, poses_2d[subject])
    for key in sorted(takes_3d):
      take, world = takes_3d[key]
      if (subject, key) in EXCLUDED_TAKES:
        logging.info("h36m: skipping %s %r (corrupt video, unused by the papers)",
                     subject, take)
        continue
      action = action_of(key)
      if not action:
        raise H36MError(f"{path_3d}: positions_3d[{subject!r}][{take!r}]: unknown "
                        f"action; expected a take of one of {', '.join(ACTIONS)} "
                        "(or S1's TakingPhoto, WalkingDog)")
      if key not in takes_2d:
        raise H36MError(f"{path_2d}: no 2D for positions_3d[{subject!r}][{take!r}]; "
                        f"the file's takes of {subject}: {sorted(poses_2d[subject])}")
      views = takes_2d[key][1]
      if len(views) != NUM_CAMERAS:
        raise H36MError(f"{path_2d}: positions_2d[{subject!r}][{takes_2d[key][0]!r}]: "
                        f"expected {NUM_CAMERAS} cameras, got {len(views)}")
      num_frames = len(world)
      for c, view in enumerate(views):
        if len(view) < num_frames:
          raise H36MError(
              f"{path_2d}: positions_2d[{subject!r}][{takes_2d[key][0]!r}][{c}]: "
              f"{len(view)} frames, fewer than the {num_frames} of the 3D take")
      frames = np.arange(0, num_frames, stride)
      world = np.asarray(world, np.float64)[frames]  # [M, 17, 3] mm
      m = len(frames)
      pose3d = np.empty((m, NUM_CAMERAS, 17, 3), np.float32)
      root = np.empty((m, NUM_CAMERAS, 3), np.float32)
      pose2d = np.empty((m, NUM_CAMERAS, 17, 2), np.float32)
      intr = np.empty((m, NUM_CAMERAS, 6), np.float32)
      for c, cam in enumerate(cams):
        # float64 throughout: world mm are ~5e3, root-relative parts ~1e2.
        in_cam = cam_lib.world_to_camera(world, cam)  # [M, 17, 3]
        root[:, c] = in_cam[:, 0]
        pose3d[:, c] = in_cam - in_cam[:, :1]
        px = np.asarray(views[c], np.float64)[:num_frames][frames, :, :2]
        pose2d[:, c] = cam_lib.normalize_screen(px, cam.width, cam.height)
        intr[:, c] = (cam.fx, cam.fy, cam.cx, cam.cy, cam.width, cam.height)
      parts.append(dict(
          pose3d=pose3d.reshape(-1, 17, 3), pose2d=pose2d.reshape(-1, 17, 2),
          activity=np.full(m * NUM_CAMERAS, action_id[action], np.int32),
          root_cam_mm=root.reshape(-1, 3), intrinsics=intr.reshape(-1, 6),
          camera=np.tile(np.arange(NUM_CAMERAS, dtype=np.int32), m),
          frame=np.repeat(frames.astype(np.int32), NUM_CAMERAS),
          subject=np.full(m * NUM_CAMERAS, subject),
          take=np.full(m * NUM_CAMERAS, key)))
  if not parts:
    raise H36MError(f"{path_3d}: no takes of subjects {list(subjects)}")
  return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _read_2d(path) -> dict:
  poses_2d, metadata = videopose3d.load_videopose3d_2d(path)
  check_2d_layout(path, metadata)
  return poses_2d


@dataclasses.dataclass(frozen=True, kw_only=True)
class H36MSettings:
  """The `config.data` keys of the "h36m" dataset.

  Attributes:
    name: "h36m".
    dir: folder of the files; '' searches (`resolve_path`).
    path_3d: VideoPose3D's 3D file.
    path_2d: its 2D file (e.g. 'data_2d_h36m_cpn_ft_h36m_dbb.npz'); the
      name after 'data_2d_h36m_' is what the results call the input 2D.
    test_path_2d: another 2D file for the test split (e.g. train on
      detections, test on ground truth); '' = path_2d.
    train_subjects, test_subjects: the splits' subjects, 'S9,S11' or a
      tuple of names.
    train_stride, test_stride: every n-th frame of each take.
    body: also body-space rotations fitted to every row's joints
      (`joints_to_body.with_body`; what DPoser trains on) and a `clip` per
      take and camera.
  """
  name: Literal["h36m"] = data_fields.field(default="h36m", decides_train_rows=True)
  dir: str = data_fields.field(default="", decides_train_rows=False)
  path_3d: str = data_fields.field(default="data_3d_h36m.npz", decides_train_rows=True)
  path_2d: str = data_fields.field(default="data_2d_h36m_gt.npz",
                                   decides_train_rows=True)
  test_path_2d: str = data_fields.field(default="", decides_train_rows=False)
  train_subjects: str | tuple[str, ...] = data_fields.field(
      default=TRAIN_SUBJECTS, decides_train_rows=True)
  test_subjects: str | tuple[str, ...] = data_fields.field(
      default=TEST_SUBJECTS, decides_train_rows=False)
  train_stride: int = data_fields.field(default=1, at_least=1, decides_train_rows=True)
  test_stride: int = data_fields.field(default=1, at_least=1, decides_train_rows=False)
  body: bool = data_fields.field(default=False, decides_train_rows=True)

  def __post_init__(self):
    for key in ("train_subjects", "test_subjects"):
      try:
        _subjects(key, getattr(self, key))
      except ValueError as e:
        raise ConfigError(str(e)) from None


def load_splits(data: H36MSettings) -> tuple[dict, dict]:
  """The `h36m` dataset's splits and which 2D each holds.

  Args:
    data: the parsed data keys (`H36MSettings`).

  Returns:
    ({"train": split, "test": split}, {"train": name, "test": name}) where a
    name says which 2D (`input_2d_name`: "gt", "cpn_ft_h36m_dbb", ...).
  """
  data_dir = data.dir
  path_3d = resolve_path("path_3d", data.path_3d, data_dir)
  files_2d = {"train": ("path_2d", data.path_2d)}
  files_2d["test"] = (("test_path_2d", data.test_path_2d) if data.test_path_2d
                      else files_2d["train"])
  subjects = {"train": _subjects("train_subjects", data.train_subjects),
              "test": _subjects("test_subjects", data.test_subjects)}
  strides = {"train": data.train_stride, "test": data.test_stride}
  poses_3d = videopose3d.load_videopose3d_3d(path_3d)
  read_2d = {}  # path -> poses: one read when both splits share the file
  splits, input_2d = {}, {}
  for split in ("train", "test"):
    path_2d = resolve_path(*files_2d[split], data_dir)
    if path_2d not in read_2d:
      read_2d[path_2d] = _read_2d(path_2d)
    splits[split] = load_split(poses_3d, read_2d[path_2d], subjects[split],
                               stride=strides[split], path_3d=path_3d, path_2d=path_2d)
    input_2d[split] = input_2d_name(path_2d)
  return splits, input_2d


__all__ = ["ACTIONS", "TRAIN_SUBJECTS", "TEST_SUBJECTS", "H36MError", "H36MSettings",
           "action_of", "canonical_take", "input_2d_name", "load_split",
           "load_splits", "resolve_path"]
