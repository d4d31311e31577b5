"""Windows inside clips: runs split at gaps, centred windows with edge
padding, consecutive windows, and the errors that name short clips."""
import numpy as np
import pytest

from jaxpose.data import windows

# Two clips, rows shuffled.  Clip "a" is sampled every 2nd frame with frames
# 6 dropped (a gap: 4 -> 8); clip "b" every frame.
#          row:  0    1    2    3    4    5    6    7    8
CLIP = np.array(["b", "a", "a", "b", "a", "a", "a", "b", "b"])
FRAME = np.array([0, 4, 0, 1, 2, 8, 10, 2, 3])
# Sorted by frame: a: rows 2 (0), 4 (2), 1 (4) | 5 (8), 6 (10); b: 0, 3, 7, 8.
RUNS = [[2, 4, 1], [5, 6], [0, 3, 7, 8]]


def as_lists(runs):
  return [r.tolist() for r in runs]


def test_runs_split_at_gaps_and_clip_boundaries():
  assert as_lists(windows.clip_runs(CLIP, FRAME)) == RUNS
  # Integer clip ids; the order of the rows does not matter.
  perm = np.array([8, 2, 5, 0, 7, 1, 4, 6, 3])
  codes = np.where(CLIP == "a", 7, 3)
  runs = windows.clip_runs(codes[perm], FRAME[perm])
  assert [perm[r].tolist() for r in runs] == [[0, 3, 7, 8], [2, 4, 1], [5, 6]]
  assert windows.clip_runs(np.array([], str), np.array([], int)) == []


def test_usual_step_is_the_most_common_one():
  # Every 4th frame (steps 4, 4, 4) then 12: one gap.  A clip of one frame
  # is one run; ties between steps keep the smaller as the usual step.
  clip = np.array([0, 0, 0, 0, 0, 1, 2, 2, 2])
  frame = np.array([0, 4, 8, 12, 24, 5, 0, 1, 3])
  assert as_lists(windows.clip_runs(clip, frame)) == [[0, 1, 2, 3], [4], [5],
                                                      [6, 7], [8]]


def test_bad_rows_are_named():
  with pytest.raises(ValueError, match="clip 'a' has frame 3 in more than one "
                     r"row \(rows 0 and 1\).*camera"):
    windows.clip_runs(np.array(["a", "a"]), np.array([3, 3]))
  with pytest.raises(ValueError, match=r"frame: expected shape \(3,\)"):
    windows.clip_runs(np.zeros(3, int), np.zeros(2, int))
  with pytest.raises(ValueError, match="integer frame numbers"):
    windows.clip_runs(np.zeros(2, int), np.array([0.0, 1.0]))
  with pytest.raises(ValueError, match=r"clip: expected shape \(N,\)"):
    windows.clip_runs(np.zeros((2, 1), int), np.zeros((2, 1), int))


def test_centred_windows_by_hand():
  got = windows.centred_windows(CLIP, FRAME, 3, pad_short=True)
  expected = {
      # run a1: 2, 4, 1 (ends repeated)
      2: [2, 2, 4], 4: [2, 4, 1], 1: [4, 1, 1],
      # run a2: 5, 6 (shorter than 3 frames: both ends repeated)
      5: [5, 5, 6], 6: [5, 6, 6],
      # run b: 0, 3, 7, 8
      0: [0, 0, 3], 3: [0, 3, 7], 7: [3, 7, 8], 8: [7, 8, 8]}
  assert got.shape == (9, 3)
  for row, window in expected.items():
    assert got[row].tolist() == window, row
  wide = windows.centred_windows(CLIP, FRAME, 5, pad_short=True)
  assert wide[3].tolist() == [0, 0, 3, 7, 8]
  assert wide[4].tolist() == [2, 2, 4, 1, 1]
  assert wide[5].tolist() == [5, 5, 5, 6, 6]


def test_centred_windows_stay_in_their_run():
  rng = np.random.default_rng(0)
  clip = np.repeat(np.arange(6), 40)
  frame = np.tile(np.arange(40) * 3, 6)
  keep = rng.random(len(clip)) > 0.1  # dropped frames make gaps
  clip, frame = clip[keep], frame[keep]
  perm = rng.permutation(len(clip))
  clip, frame = clip[perm], frame[perm]
  run_of = np.empty(len(clip), int)
  for i, run in enumerate(windows.clip_runs(clip, frame)):
    run_of[run] = i
  got = windows.centred_windows(clip, frame, 7, pad_short=True)
  assert np.array_equal(got[:, 3], np.arange(len(clip)))  # centre = the row
  assert np.all(run_of[got] == run_of[:, None])  # never across a gap or clip
  assert np.all(np.diff(frame[got], axis=1) >= 0)  # frame order, ends repeated


def test_window_longer_than_a_clip_is_named():
  with pytest.raises(ValueError, match=(
      r"a window of 3 frames is longer than 1 clip run.*clip 'a' frames 8-10 "
      r"\(2 frames\).*pad_short=True")):
    windows.centred_windows(CLIP, FRAME, 3)
  with pytest.raises(ValueError, match="longer than 3 clip run"):
    windows.centred_windows(CLIP, FRAME, 5)
  clip = np.repeat(np.arange(8), 2)
  with pytest.raises(ValueError, match="and 3 more"):
    windows.centred_windows(clip, np.tile([0, 1], 8), 3)
  with pytest.raises(ValueError, match="odd length"):
    windows.centred_windows(CLIP, FRAME, 4)
  with pytest.raises(ValueError, match="positive int"):
    windows.centred_windows(CLIP, FRAME, 0)


def test_clip_windows_consecutive_inside_runs():
  # Non-overlapping by default; a run's tail that does not fill a window is
  # left out.
  assert windows.clip_windows(CLIP, FRAME, 2).tolist() == [[2, 4], [5, 6],
                                                           [0, 3], [7, 8]]
  assert windows.clip_windows(CLIP, FRAME, 2, stride=1).tolist() == [
      [2, 4], [4, 1], [5, 6], [0, 3], [3, 7], [7, 8]]
  with pytest.warns(UserWarning, match="clip 'a' frames 8-10"):
    got = windows.clip_windows(CLIP, FRAME, 3, stride=2, skip_short=True)
  assert got.tolist() == [[2, 4, 1], [0, 3, 7]]
  with pytest.raises(ValueError, match="clip 'a' frames 8-10 \\(2 frames\\)"):
    windows.clip_windows(CLIP, FRAME, 3)
  with pytest.warns(UserWarning, match="clip 'a' frames 8-10.*skipped"):
    got = windows.clip_windows(CLIP, FRAME, 4, skip_short=True)
  assert got.tolist() == [[0, 3, 7, 8]]
  with pytest.warns(UserWarning):
    assert windows.clip_windows(CLIP, FRAME, 9, skip_short=True).shape == (0, 9)
  with pytest.raises(ValueError, match="stride"):
    windows.clip_windows(CLIP, FRAME, 2, stride=0)


def test_heldout_clips_takes_whole_clips_up_to_the_fraction():
  rng = np.random.default_rng(3)
  lengths = rng.integers(1, 40, size=30)
  clip = rng.permutation(np.repeat(np.arange(30), lengths))  # rows shuffled
  held = windows.heldout_clips(clip, 0.2, seed=5)
  # Whole clips: a clip is all held out or all kept.
  for c in range(30):
    assert len(set(held[clip == c])) == 1
  # At least the fraction, and the last clip drawn was needed to reach it.
  assert held.mean() >= 0.2
  largest_held = max(np.sum(clip == c) for c in np.unique(clip[held]))
  assert held.sum() - largest_held < 0.2 * len(clip)
  # The same seed picks the same clips; another seed others.
  assert np.array_equal(held, windows.heldout_clips(clip, 0.2, seed=5))
  assert not np.array_equal(held, windows.heldout_clips(clip, 0.2, seed=6))
  # String ids, one row per id (independent poses): row by row.
  one_each = windows.heldout_clips(np.arange(1000), 0.1, seed=0)
  assert one_each.sum() == 100


def test_heldout_clips_bad_input_is_named():
  with pytest.raises(ValueError, match="fraction"):
    windows.heldout_clips(np.arange(10), 1.0)
  with pytest.raises(ValueError, match="fraction"):
    windows.heldout_clips(np.arange(10), 0.0)
  with pytest.raises(ValueError, match="all 2 clip"):
    windows.heldout_clips(np.array(["a"] * 9 + ["b"]), 0.95)
  with pytest.raises(ValueError, match=r"shape \[N\]"):
    windows.heldout_clips(np.zeros((3, 2)), 0.5)
