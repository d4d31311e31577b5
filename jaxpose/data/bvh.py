"""A BVH reader for files as found in the wild, and vectorised forward kinematics.

Handles any channel count and order per joint (position channels on non-root
joints too), any Euler order, End Sites, CRLF or CR line ends, tabs and extra
whitespace.  Errors name the file and the line and say what was expected.

Semantics (documented because exporters disagree):
  * A joint's local transform is a translation followed by its rotation
    channels composed in file order (intrinsic Euler angles, degrees):
    channels `Zrotation Xrotation Yrotation` give `R = Rz @ Rx @ Ry`.
  * The translation is the OFFSET unless the joint has position channels:
    `position_mode='replace'` (default; MotionBuilder, Blender, the Bandai
    files) replaces the OFFSET components they name, 'add' adds them (the
    iClone export of the CMU data, `rigs.CMU`).
  * World positions are in the file's units and axes; nothing is converted.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import re

import numpy as np

from jaxpose import settings
from jaxpose.pose import rotations

_ROT = {"xrotation": "X", "yrotation": "Y", "zrotation": "Z"}
_POS = {"xposition": 0, "yposition": 1, "zposition": 2}
POSITION_MODES = ("replace", "add")


class BvhError(ValueError):
  """A malformed BVH file; the message starts with `file:line:`."""


@dataclasses.dataclass(frozen=True, eq=False)
class BvhSkeleton:
  """The HIERARCHY section.

  Attributes:
    names: joint names in file order (parents precede children).
    parents: parent index per joint, -1 for a ROOT.
    offsets: float array [J, 3], OFFSET of each joint in its parent's frame.
    channels: channel names per joint, as in the file (e.g. 'Zrotation').
    end_site_parents: joint index of each End Site.
    end_site_offsets: float array [E, 3], End Site OFFSETs.
  """
  names: tuple[str, ...]
  parents: tuple[int, ...]
  offsets: np.ndarray  # [J, 3]
  channels: tuple[tuple[str, ...], ...]
  end_site_parents: tuple[int, ...] = ()
  end_site_offsets: np.ndarray = dataclasses.field(
      default_factory=lambda: np.zeros((0, 3)))  # [E, 3]

  @property
  def num_joints(self) -> int:
    return len(self.names)

  @property
  def num_channels(self) -> int:
    return sum(len(c) for c in self.channels)

  @functools.cached_property
  def channel_starts(self) -> np.ndarray:
    """int [J]: column of each joint's first channel in the motion array."""
    sizes = [len(c) for c in self.channels]
    return np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)

  def index(self, name: str) -> int:
    try:
      return self.names.index(name)
    except ValueError:
      raise KeyError(f"BVH skeleton has no joint {name!r}; it has "
                     f"{', '.join(self.names)}") from None

  @functools.cached_property
  def _rotation_groups(self):
    """(axes string, joint indices [G], column indices [G, n]) per Euler order."""
    groups: dict[str, tuple[list, list]] = {}
    for j, chans in enumerate(self.channels):
      cols, axes = [], ""
      for c, name in enumerate(chans):
        if name.lower() in _ROT:
          cols.append(self.channel_starts[j] + c)
          axes += _ROT[name.lower()]
      if axes:
        groups.setdefault(axes, ([], []))
        groups[axes][0].append(j)
        groups[axes][1].append(cols)
    return [(a, np.array(js), np.array(cs)) for a, (js, cs) in groups.items()]

  @functools.cached_property
  def _position_columns(self):
    """(joint [P], axis [P], column [P]) of every position channel."""
    out = [(j, _POS[n.lower()], self.channel_starts[j] + c)
           for j, chans in enumerate(self.channels)
           for c, n in enumerate(chans) if n.lower() in _POS]
    return tuple(np.array(v, dtype=np.int64) for v in zip(*out)) if out else (
        np.zeros(0, np.int64),) * 3


@dataclasses.dataclass(frozen=True, eq=False)
class BvhMotion:
  """A parsed BVH file.

  Attributes:
    skeleton: the hierarchy.
    frame_time: seconds per frame.
    motion: float64 [F, C] raw channel values (degrees, file units).
    source: the file name used in messages.
  """
  skeleton: BvhSkeleton
  frame_time: float
  motion: np.ndarray  # [F, C]
  source: str = "<string>"

  @property
  def num_frames(self) -> int:
    return self.motion.shape[0]

  @property
  def fps(self) -> float:
    return 1.0 / self.frame_time


class _Parser:
  """Token stream over the HIERARCHY section that remembers line numbers."""

  def __init__(self, lines, source):
    self.lines, self.source = lines, source
    self.line = -1  # index of the line holding the tokens in `self.toks`
    self.toks: list[str] = []
    self.pos = 0

  def error(self, msg, line=None) -> BvhError:
    line = self.line + 1 if line is None else line
    return BvhError(f"{self.source}:{line}: {msg}")

  def peek(self, what):
    while self.pos >= len(self.toks):
      self.line += 1
      if self.line >= len(self.lines):
        raise self.error(f"unexpected end of file, expected {what}",
                         line=len(self.lines))
      self.toks, self.pos = self.lines[self.line].split(), 0
    return self.toks[self.pos]

  def next(self, what):
    tok = self.peek(what)
    self.pos += 1
    return tok

  def expect(self, word):
    tok = self.next(repr(word))
    if tok.upper() != word.upper():
      raise self.error(f"expected {word!r}, found {tok!r}")

  def rest_of_line(self, what):
    """Remaining tokens of the current line, joined (names with spaces)."""
    self.peek(what)
    out = " ".join(self.toks[self.pos:])
    self.pos = len(self.toks)
    if out.endswith("{"):  # "JOINT Hips{" or "JOINT Hips {"
      out = out[:-1].rstrip()
      self.toks.append("{")
    if not out:
      raise self.error(f"expected {what}")
    return out

  def floats(self, n, what):
    out = []
    for _ in range(n):
      tok = self.next(what)
      try:
        out.append(float(tok))
      except ValueError:
        raise self.error(f"expected {what}, found {tok!r}") from None
    return out


def _parse_joint(p: _Parser, parent: int, acc: dict, keyword_line: int):
  name = p.rest_of_line("a joint name")
  j = len(acc["names"])
  acc["names"].append(name)
  acc["parents"].append(parent)
  acc["offsets"].append(None)
  acc["channels"].append(())
  p.expect("{")
  while True:
    tok = p.next("OFFSET, CHANNELS, JOINT, End Site or '}'")
    key = tok.upper()
    if key == "OFFSET":
      acc["offsets"][j] = p.floats(3, f"3 OFFSET values for joint {name!r}")
    elif key == "CHANNELS":
      count_tok = p.next("a channel count")
      if not count_tok.isdigit():
        raise p.error(f"expected a channel count after CHANNELS, found {count_tok!r}")
      chans = []
      for _ in range(int(count_tok)):
        c = p.next(f"{count_tok} channel names for joint {name!r}")
        if c.lower() not in _ROT and c.lower() not in _POS:
          raise p.error(f"expected a channel name (Xposition ... Zrotation) for "
                        f"joint {name!r}, found {c!r}")
        chans.append(c)
      acc["channels"][j] = tuple(chans)
    elif key == "JOINT":
      _parse_joint(p, j, acc, p.line + 1)
    elif key == "END":
      p.expect("Site")
      p.expect("{")
      p.expect("OFFSET")
      acc["end_parents"].append(j)
      acc["end_offsets"].append(p.floats(3, "3 End Site OFFSET values"))
      p.expect("}")
    elif key == "}":
      break
    else:
      raise p.error(f"expected OFFSET, CHANNELS, JOINT, End Site or '}}' in "
                    f"joint {name!r}, found {tok!r}")
  if acc["offsets"][j] is None:
    raise p.error(f"expected 'OFFSET' in joint {name!r} (opened on line "
                  f"{keyword_line})")


_FRAMES = re.compile(r"^\s*frames\s*:\s*(\S+)\s*$", re.IGNORECASE)
_FRAME_TIME = re.compile(r"^\s*frame\s+time\s*:\s*(\S+)\s*$", re.IGNORECASE)


def parse_bvh(text: str, *, source: str = "<string>") -> BvhMotion:
  """Parses BVH text.

  Args:
    text: the whole file.
    source: name used in error messages ("walk.bvh:123: expected ...").

  Returns:
    BvhMotion with raw channel values.

  Raises:
    BvhError: malformed or truncated text; names the line and the expectation.
  """
  lines = text.splitlines()  # \n, \r\n and \r alike
  p = _Parser(lines, source)
  p.expect("HIERARCHY")
  acc = dict(names=[], parents=[], offsets=[], channels=[], end_parents=[],
             end_offsets=[])
  while True:
    tok = p.next("ROOT or MOTION")
    if tok.upper() == "ROOT":
      _parse_joint(p, -1, acc, p.line + 1)
    elif tok.upper() == "MOTION":
      break
    else:
      raise p.error(f"expected 'ROOT' or 'MOTION', found {tok!r}")
  if not acc["names"]:
    raise p.error("expected at least one ROOT before MOTION")
  if p.pos < len(p.toks):
    raise p.error(f"unexpected {p.toks[p.pos]!r} after MOTION")
  skeleton = BvhSkeleton(
      names=tuple(acc["names"]), parents=tuple(acc["parents"]),
      offsets=np.array(acc["offsets"], dtype=np.float64).reshape(-1, 3),
      channels=tuple(acc["channels"]),
      end_site_parents=tuple(acc["end_parents"]),
      end_site_offsets=np.array(acc["end_offsets"], np.float64).reshape(-1, 3))

  # MOTION: "Frames: N", "Frame Time: t", then N rows.
  i = p.line + 1
  header = {}
  for key, pattern, what in (("frames", _FRAMES, "'Frames: <count>'"),
                             ("time", _FRAME_TIME, "'Frame Time: <seconds>'")):
    while i < len(lines) and not lines[i].strip():
      i += 1
    if i >= len(lines):
      raise BvhError(f"{source}:{len(lines)}: unexpected end of file, expected {what}")
    m = pattern.match(lines[i])
    try:
      header[key] = (int if key == "frames" else float)(m.group(1)) if m else None
    except ValueError:
      header[key] = None
    if header[key] is None or header[key] < 0 or (key == "time" and header[key] == 0):
      raise BvhError(f"{source}:{i + 1}: expected {what}, found {lines[i].strip()[:60]!r}")
    i += 1
  num_frames = header["frames"]
  row_lines = [k for k in range(i, len(lines)) if lines[k].strip()]
  rows = [lines[k].split() for k in row_lines]
  num_channels = skeleton.num_channels
  for k, row in zip(row_lines, rows):
    if len(row) != num_channels:
      raise BvhError(f"{source}:{k + 1}: expected {num_channels} values in a frame "
                     f"row, found {len(row)}")
  if len(rows) != num_frames:
    where = row_lines[-1] + 1 if row_lines else len(lines)
    raise BvhError(f"{source}:{where}: expected {num_frames} frame rows (as "
                   f"'Frames' says), found {len(rows)}"
                   + ("; file truncated?" if len(rows) < num_frames else ""))
  try:
    motion = np.array(rows, dtype=np.float64).reshape(num_frames, num_channels)
  except ValueError:
    for k, row in zip(row_lines, rows):
      try:
        [float(v) for v in row]
      except ValueError:
        raise BvhError(f"{source}:{k + 1}: expected numbers in a frame row, found "
                       f"{next(v for v in row if not _is_float(v))!r}") from None
    raise
  return BvhMotion(skeleton=skeleton, frame_time=header["time"], motion=motion,
                   source=source)


def _is_float(v):
  try:
    float(v)
    return True
  except ValueError:
    return False


def load_bvh(path: str | os.PathLike) -> BvhMotion:
  """Reads a BVH file (any line ends); errors name the file's base name."""
  with open(path, "r", encoding="utf-8", errors="replace", newline="") as f:
    text = f.read()
  return parse_bvh(text, source=os.path.basename(os.fspath(path)))


def _check_mode(position_mode):
  settings.one_of("position_mode", position_mode, POSITION_MODES)


def local_rotations(motion: BvhMotion, *, frames=slice(None)) -> np.ndarray:
  """Rotation of each joint relative to its parent: float [F, J, 3, 3]
  (the identity for a joint without rotation channels)."""
  sk = motion.skeleton
  values = motion.motion[frames]  # [F, C]
  out = np.broadcast_to(np.eye(3), (values.shape[0], sk.num_joints, 3, 3)).copy()
  for axes, joints, cols in sk._rotation_groups:
    out[:, joints] = rotations.euler_to_matrix(values[:, cols], axes, degrees=True)
  return out


def local_translations(motion: BvhMotion, *, frames=slice(None),
                       position_mode: str = "replace") -> np.ndarray:
  """Translation of each joint in its parent's frame: float [F, J, 3]."""
  _check_mode(position_mode)
  sk = motion.skeleton
  values = motion.motion[frames]  # [F, C]
  out = np.broadcast_to(sk.offsets, (values.shape[0],) + sk.offsets.shape).copy()
  joints, axes, cols = sk._position_columns
  if joints.size:
    if position_mode == "replace":
      out[:, joints, axes] = values[:, cols]
    else:
      np.add.at(out, (slice(None), joints, axes), values[:, cols])
  return out


def world_transforms(motion: BvhMotion, *, frames=slice(None),
                     position_mode: str = "replace"):
  """World rotations [F, J, 3, 3] and positions [F, J, 3] of every joint."""
  sk = motion.skeleton
  local_r = local_rotations(motion, frames=frames)  # [F, J, 3, 3]
  local_t = local_translations(motion, frames=frames, position_mode=position_mode)
  world_r = np.empty_like(local_r)
  world_p = np.empty_like(local_t)
  for j, p in enumerate(sk.parents):
    if p < 0:
      world_r[:, j], world_p[:, j] = local_r[:, j], local_t[:, j]
    else:
      world_r[:, j] = world_r[:, p] @ local_r[:, j]
      world_p[:, j] = world_p[:, p] + np.einsum("fab,fb->fa", world_r[:, p], local_t[:, j])
  return world_r, world_p


def forward_kinematics(motion: BvhMotion, *, frames=slice(None),
                       position_mode: str = "replace", end_sites: bool = False):
  """World joint positions, in file units and axes.

  Args:
    motion: a parsed file.
    frames: a slice or index array selecting frames.
    position_mode: how position channels combine with OFFSETs ('replace' or
      'add'; see the module docstring).
    end_sites: also return End Site positions.

  Returns:
    positions [F, J, 3], and with end_sites=True a pair (positions,
    end-site positions [F, E, 3]).
  """
  world_r, world_p = world_transforms(motion, frames=frames, position_mode=position_mode)
  if not end_sites:
    return world_p
  sk = motion.skeleton
  par = np.asarray(sk.end_site_parents, dtype=np.int64)
  ends = world_p[:, par] + np.einsum("feab,eb->fea", world_r[:, par], sk.end_site_offsets)
  return world_p, ends
