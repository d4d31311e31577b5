"""Windows of consecutive frames inside clips, as row indices.

Per-row data carry each row's clip (`clip` [N], str or int ids) and frame
number in it (`frame` [N] int), rows in any order; these functions return
indices into the rows, so the caller gathers whatever per-row field it
needs.

A *run* is a stretch of a clip without dropped frames: the rows of one
clip sorted by frame, split wherever the frame step is larger than the
clip's usual step (its most common step; the smallest of equally common
ones), so a subsampled clip (every 4th frame) is one run, and a clip with
a hole is two.  A window never spans a gap nor a clip boundary.

  clip_runs(clip, frame)             -> [row indices of each run]
  centred_windows(clip, frame, T)    -> [N, T]: every row's window centred
                                        on it (VideoPose3D's edge padding)
  clip_windows(clip, frame, T)       -> [W, T]: windows of consecutive rows
                                        (motion clips of fixed length)
  heldout_clips(clip, fraction, seed) -> [N] bool: rows of whole clips set
                                        aside (a lifter's held-out rows)
"""
from __future__ import annotations

import warnings

import numpy as np

# Runs named in an error message before "and N more".
_MAX_NAMED = 5


def _check_rows(clip, frame) -> tuple[np.ndarray, np.ndarray]:
  clip = np.asarray(clip)
  frame = np.asarray(frame)
  if clip.ndim != 1:
    raise ValueError(f"clip: expected shape (N,) (one clip id per row), got "
                     f"{clip.shape}")
  if frame.shape != clip.shape:
    raise ValueError(f"frame: expected shape {clip.shape} (one frame number per "
                     f"row, as clip), got {frame.shape}")
  if frame.size and not np.issubdtype(frame.dtype, np.integer):
    raise ValueError(f"frame: expected integer frame numbers, got dtype "
                     f"{frame.dtype}")
  return clip, frame.astype(np.int64)


def _check_length(length, name: str = "length",
                  what: str = "(frames per window)") -> int:
  if isinstance(length, bool) or not isinstance(length, (int, np.integer)) \
      or length < 1:
    raise ValueError(f"{name}: expected a positive int {what}, got {length!r}")
  return int(length)


def _run_order(clip, frame):
  """(rows sorted by clip then frame, run id of each sorted row, clip code
  and frame of each sorted row, the clip ids by code)."""
  clip, frame = _check_rows(clip, frame)
  names, code = np.unique(clip, return_inverse=True)
  code = code.reshape(-1)
  order = np.lexsort((frame, code))  # [N]
  c, f = code[order], frame[order]
  same = c[1:] == c[:-1]
  step = np.diff(f)
  dup = same & (step == 0)
  if np.any(dup):
    i = int(np.flatnonzero(dup)[0])
    raise ValueError(
        f"clip {names[c[i]].item()!r} has frame {int(f[i])} in more than one row "
        f"(rows {int(order[i])} and {int(order[i + 1])}): a window needs one row "
        "per frame; key the clips by view too (e.g. clip and camera) when "
        "rows repeat frames")
  # Each clip's usual step (module docstring): its first (clip, step) pair
  # in the order clip, count descending, step.
  pairs, counts = np.unique(np.stack([c[1:][same], step[same]], 1), axis=0,
                            return_counts=True)
  usual = np.zeros(len(names), np.int64)
  if len(pairs):
    best = np.lexsort((pairs[:, 1], -counts, pairs[:, 0]))
    first = np.ones(len(best), bool)
    first[1:] = pairs[best[1:], 0] != pairs[best[:-1], 0]
    usual[pairs[best[first], 0]] = pairs[best[first], 1]
  new_run = np.ones(len(order), bool)
  new_run[1:] = ~same | (step > usual[c[1:]])
  return order, np.cumsum(new_run) - 1, c, f, names


def clip_runs(clip, frame) -> list[np.ndarray]:
  """The rows of each clip in frame order, split at dropped frames.

  Args:
    clip: the clip of each row (str or int ids).  # [N]
    frame: the row's frame number in its clip.  # [N] int

  Returns:
    A list of int arrays of row indices, one per run, each in frame order;
    runs ordered by clip id (sorted), then frame.  Every row is in exactly
    one run.

  Raises:
    ValueError: shapes that disagree, non-integer frames, or a frame that
      appears twice in one clip (naming the clip and rows).
  """
  order, run, _, _, _ = _run_order(clip, frame)
  if not len(order):
    return []
  starts = np.flatnonzero(np.diff(run)) + 1
  return np.split(order, starts)


def _run_table(clip, frame):
  """Sorted rows, each sorted row's run, the runs' starts and lengths (in
  sorted positions) and a name for each run (its clip and frames)."""
  order, run, code, f, names = _run_order(clip, frame)
  n = len(order)
  starts = np.flatnonzero(np.r_[True, np.diff(run) != 0]) if n else np.zeros(0, int)
  lengths = np.diff(np.r_[starts, n]).astype(np.int64)

  def label(i: int) -> str:
    s, k = starts[i], lengths[i]
    return f"clip {names[code[s]].item()!r} frames {f[s]}-{f[s + k - 1]}"

  return order, run, starts, lengths, label


def _short_message(label, lengths, short, length: int, fix: str) -> str:
  idx = np.flatnonzero(short)
  listed = ", ".join(f"{label(i)} ({int(lengths[i])} frames)"
                     for i in idx[:_MAX_NAMED])
  more = f" and {len(idx) - _MAX_NAMED} more" if len(idx) > _MAX_NAMED else ""
  return (f"a window of {length} frames is longer than {len(idx)} clip run(s) "
          f"(a clip, or a stretch of one between dropped frames): "
          f"{listed}{more}; {fix}")


def centred_windows(clip, frame, length: int, *,
                    pad_short: bool = False) -> np.ndarray:
  """Every row's window of its own run, centred on it.

  Row i's window holds the rows of frames f - h ... f + h of its run (h =
  length // 2), in frame order, so column h is i itself.  Near a run's ends
  the missing frames repeat the run's first or last row (VideoPose3D's
  edge padding), so every row has a full window and none crosses a gap or
  a clip boundary.

  Args:
    clip: the clip of each row (str or int ids).  # [N]
    frame: the row's frame number in its clip.  # [N] int
    length: T, odd (a centre frame).
    pad_short: also pad runs shorter than the window (each of their rows
      then sees its whole run plus repeated ends, as VideoPose3D does for
      clips shorter than its receptive field); False raises instead.

  Returns:
    Row indices.  # [N, T] int64

  Raises:
    ValueError: an even or non-positive length, bad clip/frame arrays
      (`clip_runs`), or, unless pad_short, runs shorter than the window
      (naming them, their lengths and the window length).
  """
  length = _check_length(length)
  if length % 2 == 0:
    raise ValueError(f"length: a centred window needs an odd length (a centre "
                     f"frame), got {length}")
  order, run, starts, lengths, label = _run_table(clip, frame)
  short = lengths < length
  if np.any(short) and not pad_short:
    raise ValueError(_short_message(
        label, lengths, short, length,
        "use a shorter window, longer clips or pad_short=True"))
  start = starts[run]  # [N] sorted position of each sorted row's run start
  last = start + lengths[run] - 1
  pos = np.arange(len(order))
  offsets = np.arange(length) - length // 2  # [T]
  src = np.clip(pos[:, None] + offsets, start[:, None], last[:, None])  # [N, T]
  out = np.empty((len(order), length), np.int64)
  out[order] = order[src]
  return out


def clip_windows(clip, frame, length: int, *, stride: int | None = None,
                 skip_short: bool = False) -> np.ndarray:
  """Windows of `length` consecutive frames inside runs.

  In each run the windows start at its frames 0, stride, 2 * stride, ...
  while a whole window fits; frames after the last window that fits are
  not used (with stride = length the windows do not overlap).

  Args:
    clip: the clip of each row (str or int ids).  # [N]
    frame: the row's frame number in its clip.  # [N] int
    length: T, frames per window.
    stride: frames between window starts; None for `length`.
    skip_short: skip runs shorter than the window, with a `UserWarning`
      naming them (the return value stays one array); False raises instead.

  Returns:
    Row indices, runs in `clip_runs` order.  # [W, T] int64

  Raises:
    ValueError: a bad length or stride, bad clip/frame arrays, or, unless
      skip_short, runs shorter than the window (naming them, their lengths
      and the window length).
  """
  length = _check_length(length)
  stride = length if stride is None else _check_length(
      stride, "stride", "(frames between window starts) or None")
  order, _, starts, lengths, label = _run_table(clip, frame)
  short = lengths < length
  if np.any(short):
    if not skip_short:
      raise ValueError(_short_message(
          label, lengths, short, length,
          "use a shorter window or skip_short=True"))
    warnings.warn(_short_message(label, lengths, short, length,
                                 "skipped (skip_short=True)"),
                  UserWarning, stacklevel=2)
  counts = np.where(short, 0, (lengths - length) // stride + 1)  # per run
  first = np.repeat(starts, counts) + stride * (
      np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
  return order[first[:, None] + np.arange(length)].astype(np.int64)


def heldout_clips(clip, fraction: float, *, seed: int = 0) -> np.ndarray:
  """Rows of whole clips, drawn at random, that make up `fraction` of rows.

  Frames of one clip are near-copies of each other (and every camera's view
  of a frame is the same pose), so rows held out one by one would sit
  beside their own training neighbours: an error measured on them would be
  a training error.  Whole clips are set aside instead, in a random order
  (from `seed`) until at least `fraction` of the rows are.

  Args:
    clip: the clip of each row (str or int ids); for independent poses
      give each row its own id.  # [N]
    fraction: the share of rows to hold out, in (0, 1).
    seed: which clips (the same seed, rows and fraction give the same ones).

  Returns:
    True where a row is held out.  # [N] bool

  Raises:
    ValueError: a fraction outside (0, 1), or too few clips to leave some
      on each side.
  """
  clip = np.asarray(clip)
  if clip.ndim != 1:
    raise ValueError(f"clip: expected one id per row, shape [N], got {clip.shape}")
  fraction = float(fraction)
  if not 0.0 < fraction < 1.0:
    raise ValueError(f"fraction: expected a share of rows in (0, 1), got {fraction}")
  ids, code = np.unique(clip, return_inverse=True)
  code = code.reshape(-1)
  order = np.random.default_rng(int(seed)).permutation(len(ids))
  taken = np.cumsum(np.bincount(code, minlength=len(ids))[order])
  count = int(np.searchsorted(taken, fraction * len(clip))) + 1
  if count >= len(ids):
    raise ValueError(
        f"heldout_clips: holding out {fraction:.0%} of {len(clip)} rows takes "
        f"all {len(ids)} clip(s); the data need more clips, or a smaller "
        "fraction")
  held = np.zeros(len(ids), bool)
  held[order[:count]] = True
  return held[code]


__all__ = ["clip_runs", "centred_windows", "clip_windows", "heldout_clips"]
