"""Question: How far do the new-rig protocol's test bodies lie from its training body, in the units of the proportion augmentation's spread?

  python -m experiments.studies.rig_proportions --cache_dir=caches

For the training and test people of a mocap protocol (default
'jaxpose-mocap-newrig': Bandai trains, CMU 005 and 007 test), each bone's
median length per person (mm, H36M-17 joints as the caches hold them);
per bone, the log ratio of the test people's length to the training
people's, and that ratio in standard deviations of one bone's log factor
under `data.train_bodies` (`pose.proportions`, at spread 1 and at the
spreads asked for); and the share of drawn bodies whose every bone lies
within 10% of the test rig's.  A ratio many deviations out is a difference
of joint conventions between rigs (where a rig puts a hip or a shoulder),
which no adult spread reaches.  Writes
experiments/results/rig_proportions_<protocol>.json.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from jaxpose import files
from jaxpose.data import mocap_cache
from jaxpose.data import mocap_protocol
from jaxpose.pose import proportions
from jaxpose.pose.skeleton import H36M_17

RESULTS = os.path.join("experiments", "results")


def bone_lengths(joints) -> np.ndarray:
  """`[N, J - 1]` length of the bone ending at each joint but the root."""
  parents = np.asarray(H36M_17.parents)[1:]
  return np.linalg.norm(joints[:, 1:] - joints[:, parents], axis=-1)


def person_lengths(split) -> dict:
  """{person: median bone lengths [J - 1] over their frames} of a split."""
  people = np.char.add(np.char.add(split["dataset"].astype(str), ":"),
                       split["subject"].astype(str))
  lengths = bone_lengths(split["pose3d"])
  return {p: np.median(lengths[people == p], axis=0)
          for p in sorted(set(people))}


def compare(train: dict, test: dict, spreads=(1.0,), draws: int = 20000,
            seed: int = 0) -> dict:
  """The training and test people's bones side by side (module doc)."""
  train_mm = np.median(np.stack(list(train.values())), axis=0)
  test_mm = np.median(np.stack(list(test.values())), axis=0)
  log_ratio = np.log(test_mm / train_mm)
  sd = float(np.hypot(proportions.STATURE_CV, proportions.SEGMENT_CV))
  names = H36M_17.joint_names[1:]
  out = {"bones": {n: {"train_mm": round(float(a), 1),
                       "test_mm": round(float(b), 1),
                       "log_ratio": round(float(r), 3)}
                   for n, a, b, r in zip(names, train_mm, test_mm, log_ratio)},
         "people_mm": {p: [round(float(v), 1) for v in lengths]
                       for p, lengths in {**train, **test}.items()},
         "bone_log_sd_at_spread_1": round(sd, 4), "spreads": {}}
  rng = np.random.default_rng(seed)
  for spread in spreads:
    scales = proportions.draw_bone_scales(rng, draws, H36M_17, spread)[:, 1:]
    within = np.all(np.abs(np.log(scales) - log_ratio) < np.log(1.1), axis=1)
    deviations = np.abs(log_ratio) / (sd * spread) if spread else np.inf
    out["spreads"][str(spread)] = {
        "max_deviations": round(float(np.max(deviations)), 1),
        "median_deviations": round(float(np.median(deviations)), 1),
        "share_of_bodies_within_10pct": float(np.mean(within))}
  return out


def parse_args(argv=None) -> argparse.Namespace:
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--cache_dir", default="")
  p.add_argument("--protocol", default="jaxpose-mocap-newrig",
                 choices=sorted(mocap_protocol.PROTOCOLS))
  p.add_argument("--spreads", default="1,2,4")
  p.add_argument("--out", default="")
  return p.parse_args(argv)


def main(argv=None) -> int:
  args = parse_args(argv)
  try:
    cache_dir = mocap_cache.resolve_cache_dir(args.cache_dir or None)
  except FileNotFoundError as e:
    print(f"rig_proportions: {e}", file=sys.stderr)
    return 1
  splits = mocap_protocol.load_protocol(args.protocol, cache_dir)
  result = compare(person_lengths(splits["train"]),
                   person_lengths(splits["test"]),
                   spreads=[float(s) for s in args.spreads.split(",")])
  result.update(protocol=args.protocol,
                command="python -m experiments.studies.rig_proportions "
                        f"--protocol={args.protocol} --spreads={args.spreads}")
  out = args.out or os.path.join(RESULTS, f"rig_proportions_{args.protocol}.json")
  files.write_json_atomic(out, result)
  for name, bone in result["bones"].items():
    print(f"{name:12s} {bone['train_mm']:7.1f} {bone['test_mm']:7.1f} "
          f"{bone['log_ratio']:+.3f}")
  for spread, s in result["spreads"].items():
    print(f"spread {spread}: {s}")
  print("wrote", out)
  return 0


if __name__ == "__main__":
  sys.exit(main())
