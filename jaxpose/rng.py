"""Random keys with named purposes, all derived from one seed.

A run's randomness comes from `jax.random.key(seed)` alone; each use gets
its own stream by `fold_in` with a fixed purpose number, so no two purposes
of one seed, nor of two seeds, share a key (with `key(seed + k)` the
training key of seed s was the initialisation key of seed s + 1).
"""
from __future__ import annotations

import jax

# Purpose -> fold_in constant.  Never renumber: results depend on them.
PURPOSES = {
    "init": 0,      # network parameters
    "train": 1,     # per-step keys of the training loop (then fold_in(step))
    "eval": 2,      # evaluation tasks (then fold_in per task and chunk)
    "sample": 3,    # unconditional samples of `run_lib.sample`
    "fit": 4,       # data-derived fits made before training (DiffPose's H_K)
    "lift": 5,      # hypotheses of a video's frames (`jaxpose.lift`)
}


def purpose_key(seed: int, purpose: str) -> jax.Array:
  """The key of `purpose` (one of `PURPOSES`) for a run with `seed`."""
  if purpose not in PURPOSES:
    raise ValueError(f"purpose: unknown key purpose {purpose!r}; valid: "
                     f"{', '.join(PURPOSES)}")
  return jax.random.fold_in(jax.random.key(int(seed)), PURPOSES[purpose])


__all__ = ["PURPOSES", "purpose_key"]
