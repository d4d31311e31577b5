"""Left/right swaps of a 2D detector, found by temporal consistency and
undone.

A detector may label a person's left arm or leg as the right one (and the
right as the left) for a stretch of frames, as when it takes the back of a
body for its front. Each limb pair (the arms, the legs) is looked at on its
own: in every frame it is either as detected or swapped, and the labelling
chosen for the whole clip is the one whose joints move least from frame to
frame (a two-state Viterbi path). Each change between the two states costs
`SWITCH_PRICE` times the clip's median frame-to-frame motion of the pair,
so a stretch is undone where the jumps at its two ends outweigh that,
however long it lasts; each swapped frame costs a little (`SWAP_PRICE`),
so that where motion cannot tell (a left and a right close together), the
detection is believed. A body that really turns moves its joints smoothly
and is left as it is; a swap makes them jump across the body and back.
"""
from __future__ import annotations

import numpy as np

from jaxpose.pose.skeleton import H36M_17

# (name, left joints, right joints) of each limb pair, in H36M_17.
PAIRS = (
    ("arms", ("l_shoulder", "l_elbow", "l_wrist"),
     ("r_shoulder", "r_elbow", "r_wrist")),
    ("legs", ("l_hip", "l_knee", "l_ankle"), ("r_hip", "r_knee", "r_ankle")),
)
# The price of each change between as-detected and swapped, and of each
# swapped frame, in units of the clip's median frame-to-frame motion of
# the pair. A price per frame alone would leave a long stretch swapped
# (its price grows with its length; the jumps at its ends do not).
SWITCH_PRICE = 4.0
SWAP_PRICE = 0.3


def _motion(a, b, seen_a, seen_b) -> np.ndarray:
  """Mean distance of the joints seen in both frames (0 if none).  [T-1]"""
  both = seen_a & seen_b
  dist = np.where(both, np.linalg.norm(a - b, axis=-1), 0.0)
  return dist.sum(-1) / np.maximum(both.sum(-1), 1)


def swapped_frames(pixels: np.ndarray, visible: np.ndarray,
                   left: list[int], right: list[int]) -> np.ndarray:
  """Which frames hold the pair (`left`, `right` joint indices) swapped:
  the labelling that moves least, as the module docstring says.  # [T]"""
  t = len(pixels)
  if t < 3:
    return np.zeros(t, bool)
  order = {0: left + right, 1: right + left}  # labels as detected, swapped
  xy = {s: np.nan_to_num(pixels[:, idx]) for s, idx in order.items()}
  seen = {s: visible[:, idx] for s, idx in order.items()}
  # cost[a][b][k]: motion from frame k in state a to frame k + 1 in state b.
  cost = {a: {b: _motion(xy[a][:-1], xy[b][1:], seen[a][:-1], seen[b][1:])
              for b in (0, 1)} for a in (0, 1)}
  moving = cost[0][0][cost[0][0] > 0]
  unit = max(float(np.median(moving)) if moving.size else 1.0, 1e-6)
  switch = SWITCH_PRICE * unit * (1.0 - np.eye(2))  # [to, from]
  stay = np.array([0.0, SWAP_PRICE * unit])
  total = stay.copy()
  back = np.zeros((t, 2), int)
  for k in range(1, t):
    step = np.array([[total[a] + cost[a][b][k - 1] for a in (0, 1)]
                     for b in (0, 1)]) + switch  # [b, a]
    back[k] = step.argmin(axis=1)
    total = step.min(axis=1) + stay
  states = np.zeros(t, int)
  states[-1] = int(total.argmin())
  for k in range(t - 1, 0, -1):
    states[k - 1] = back[k, states[k]]
  return states.astype(bool)


def undo_swaps(pixels: np.ndarray, confidence: np.ndarray,
               visible: np.ndarray, *per_joint: np.ndarray
               ) -> tuple[np.ndarray, ...]:
  """(pixels, confidence, visible, *per_joint, {pair: frames swapped}) with
  each limb pair's swapped frames relabelled (H36M_17 order) in all of
  them: `per_joint` are more [T, J, ...] arrays of the same keypoints
  (a detector's depth)."""
  pixels, confidence = np.array(pixels), np.array(confidence)
  visible = np.array(visible)
  arrays = (pixels, confidence, visible) + tuple(np.array(a) for a in per_joint)
  counts = {}
  for name, left_names, right_names in PAIRS:
    left = [H36M_17.index(n) for n in left_names]
    right = [H36M_17.index(n) for n in right_names]
    frames = swapped_frames(pixels, visible, left, right)
    counts[name] = int(frames.sum())
    if frames.any():
      for array in arrays:
        array[np.ix_(frames, left + right)] = array[np.ix_(frames,
                                                           right + left)]
  return (*arrays, counts)


__all__ = ["PAIRS", "SWAP_PRICE", "SWITCH_PRICE", "swapped_frames", "undo_swaps"]
