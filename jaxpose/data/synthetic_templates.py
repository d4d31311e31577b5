"""The activity model of the synthetic poses (`synthetic_poses`, whose
module docstring describes the activities and which re-exports every
public name here).

SYNTHETIC DATA.  Joint-angle names and anatomical limits (degrees) of the
generator's H36M_17 body, and one template per activity: (rng, n) -> angle
arrays [n] in degrees, unclipped, drawn around hand-written means.
"""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

ACTIVITIES = ("standing", "walking", "sitting", "crouching", "reaching",
              "waving", "bending")


# Anatomical ranges in degrees, applied after sampling.
JOINT_LIMITS = {
    "root_pitch": (-20, 85), "root_roll": (-15, 15),
    "spine_flex": (-25, 90), "spine_lat": (-30, 30), "spine_twist": (-40, 40),
    "neck_flex": (-40, 50), "head_turn": (-70, 70),
    "hip_flex": (-30, 130), "hip_abd": (-20, 50), "hip_rot": (-35, 35),
    "knee": (0, 150),
    "sh_flex": (-50, 180), "sh_abd": (-20, 170), "sh_rot": (-60, 60),
    "elbow": (0, 150),
}
_SIDED = ("hip_flex", "hip_abd", "hip_rot", "knee", "sh_flex", "sh_abd",
          "sh_rot", "elbow")
ANGLE_NAMES = tuple(
    [k for k in JOINT_LIMITS if k not in _SIDED]
    + [f"{k}_{s}" for k in _SIDED for s in ("l", "r")])

# Standing defaults (mean, std) in degrees, shared by all templates.
_BASE = {
    "root_pitch": (0, 3), "root_roll": (0, 2),
    "spine_flex": (3, 4), "spine_lat": (0, 3), "spine_twist": (0, 5),
    "neck_flex": (5, 6), "head_turn": (0, 15),
    "hip_flex": (2, 5), "hip_abd": (5, 3), "hip_rot": (0, 5), "knee": (5, 4),
    "sh_flex": (5, 10), "sh_abd": (10, 5), "sh_rot": (0, 10), "elbow": (15, 10),
}


# --------------------------------------------------------------------------
# Activity templates: (rng, n) -> angle arrays [n] in degrees (unclipped).

def _base(rng, n):
  """Standing: every angle around its `_BASE` mean."""
  out = {}
  for name, (mean, std) in _BASE.items():
    if name in _SIDED:
      for s in ("l", "r"):
        out[f"{name}_{s}"] = mean + std * rng.standard_normal(n)
    else:
      out[name] = mean + std * rng.standard_normal(n)
  return out


def _normal(rng, n, mean, std):
  return mean + std * rng.standard_normal(n)


def _walking(rng, n):
  a = _base(rng, n)
  phase = rng.uniform(0, 2 * np.pi, n)
  stride = rng.uniform(15, 30, n)  # hip swing amplitude
  for s, shift in (("r", 0.0), ("l", np.pi)):
    ph = phase + shift
    a[f"hip_flex_{s}"] = 5 + stride * np.sin(ph) + _normal(rng, n, 0, 3)
    # The knee flexes most in mid-swing, while the hip travels forward.
    a[f"knee_{s}"] = (8 + 50 * np.clip(np.cos(ph), 0, None) ** 2
                      + _normal(rng, n, 0, 4))
    # Arms swing against the leg of the same side.
    a[f"sh_flex_{s}"] = -0.8 * stride * np.sin(ph) + _normal(rng, n, 0, 5)
    a[f"elbow_{s}"] = _normal(rng, n, 20, 8) + 10 * np.clip(-np.sin(ph), 0, None)
  a["root_pitch"] = _normal(rng, n, 5, 3)
  return a


def _sitting(rng, n):
  a = _base(rng, n)
  hip = _normal(rng, n, 90, 8)
  knee = _normal(rng, n, 90, 12)
  for s in ("l", "r"):
    a[f"hip_flex_{s}"] = hip + _normal(rng, n, 0, 5)
    a[f"knee_{s}"] = knee + _normal(rng, n, 0, 8)
    a[f"hip_abd_{s}"] = _normal(rng, n, 10, 6)
    a[f"sh_flex_{s}"] = _normal(rng, n, 25, 15)
    a[f"elbow_{s}"] = _normal(rng, n, 60, 20)
  a["root_pitch"] = _normal(rng, n, 0, 6)
  a["spine_flex"] = _normal(rng, n, 10, 8)
  return a


def _crouching(rng, n):
  a = _base(rng, n)
  pitch = _normal(rng, n, 35, 10)
  for s in ("l", "r"):
    a[f"hip_flex_{s}"] = pitch + _normal(rng, n, 75, 12)
    a[f"knee_{s}"] = _normal(rng, n, 125, 10)
    a[f"hip_abd_{s}"] = _normal(rng, n, 20, 8)
    # Arms forward, roughly horizontal: keeps the hands off the floor.
    a[f"sh_flex_{s}"] = _normal(rng, n, 60, 12)
    a[f"elbow_{s}"] = _normal(rng, n, 30, 15)
  a["root_pitch"] = pitch
  a["spine_flex"] = _normal(rng, n, 15, 10)
  a["neck_flex"] = _normal(rng, n, -15, 8)
  return a


def _reaching(rng, n):
  a = _base(rng, n)
  which = rng.integers(0, 3, n)  # 0 left, 1 right, 2 both
  for s, active in (("l", which != 1), ("r", which != 0)):
    a[f"sh_flex_{s}"] = np.where(active, rng.uniform(60, 170, n), a[f"sh_flex_{s}"])
    a[f"sh_abd_{s}"] = np.where(active, rng.uniform(0, 40, n), a[f"sh_abd_{s}"])
    a[f"elbow_{s}"] = np.where(active, rng.uniform(0, 30, n), a[f"elbow_{s}"])
  lean = rng.uniform(0, 20, n)
  a["root_pitch"] = lean
  for s in ("l", "r"):
    a[f"hip_flex_{s}"] = lean + _normal(rng, n, 0, 5)
  a["spine_lat"] = _normal(rng, n, 0, 6)
  return a


def _waving(rng, n):
  a = _base(rng, n)
  left = rng.random(n) < 0.5
  for s, active in (("l", left), ("r", ~left)):
    a[f"sh_abd_{s}"] = np.where(active, rng.uniform(90, 160, n), a[f"sh_abd_{s}"])
    a[f"sh_flex_{s}"] = np.where(active, rng.uniform(0, 40, n), a[f"sh_flex_{s}"])
    a[f"sh_rot_{s}"] = np.where(active, rng.uniform(-30, 30, n), a[f"sh_rot_{s}"])
    a[f"elbow_{s}"] = np.where(active, rng.uniform(30, 110, n), a[f"elbow_{s}"])
  return a


def _bending(rng, n):
  a = _base(rng, n)
  pitch = rng.uniform(30, 80, n)
  a["root_pitch"] = pitch
  a["spine_flex"] = rng.uniform(10, 40, n)
  a["neck_flex"] = _normal(rng, n, -20, 8)
  for s in ("l", "r"):
    knee = rng.uniform(0, 30, n)
    a[f"knee_{s}"] = knee
    # Hips flex by the pelvis pitch (legs stay near vertical) plus a bit.
    a[f"hip_flex_{s}"] = pitch + 0.5 * knee + _normal(rng, n, 0, 6)
    # Arms hang towards the floor.
    a[f"sh_flex_{s}"] = pitch + a["spine_flex"] + _normal(rng, n, 0, 15)
    a[f"elbow_{s}"] = _normal(rng, n, 10, 10)
  return a


TEMPLATES: Mapping[str, Callable[[np.random.Generator, int], dict]] = {
    "standing": _base, "walking": _walking, "sitting": _sitting,
    "crouching": _crouching, "reaching": _reaching, "waving": _waving,
    "bending": _bending,
}


def clip_angles(angles: Mapping[str, np.ndarray]) -> dict:
  """Clips angle arrays (degrees) to `JOINT_LIMITS`."""
  out = {}
  for name, v in angles.items():
    base = name[:-2] if name[-2:] in ("_l", "_r") else name
    lo, hi = JOINT_LIMITS[base]
    out[name] = np.clip(v, lo, hi)
  return out
