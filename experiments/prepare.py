r"""Turns a raw BVH tree into a jaxpose mocap cache (.npz).

    python -m experiments.prepare --dataset=bandai \
        --src=~/.cache/jaxpose-data/dataset --out=caches/bandai.npz
    python -m experiments.prepare --dataset=cmu \
        --src=~/.cache/jaxpose-data/IClone-CMU-Mocap --out=caches/cmu.npz

The cache holds Human3.6M 17 joints (mm, Z up), the rig's own body
rotations, the same frames in the shared body space (`body_pose` [N, 63],
`body_root_orient`, `body_trans`, `body_bone_lengths` per clip; see
jaxpose/pose/body_space.py and jaxpose/data/body_sources.py), clip and subject
ids and frame rates (see jaxpose/data/mocap_cache.py).  Bad files are
reported by name and reason and skipped, or with --strict end the run at the
first; frames with NaN/inf channels are dropped with a warning.  The cache
is written atomically, so an interrupted run keeps the previous one.  The
logic lives in jaxpose.data.mocap_conversion.prepare_cache.
"""
from __future__ import annotations

import argparse
import sys

from jaxpose.data import data_files
from jaxpose.data import mocap_conversion


def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--dataset", required=True, choices=sorted(data_files.ARCHIVES))
  p.add_argument("--src", required=True, help="root of the unpacked BVH tree")
  p.add_argument("--out", required=True, help="output .npz")
  p.add_argument("--stride", type=int, default=1, help="keep every N-th frame")
  p.add_argument("--strict", action="store_true", help="fail on the first bad file")
  p.add_argument("--workers", type=int, default=None, help="processes (default 2)")
  p.add_argument("--no_progress", action="store_true")
  return p.parse_args(argv)


def main(argv=None) -> int:
  args = parse_args(argv)
  try:
    summary = mocap_conversion.prepare_cache(
        args.dataset, args.src, args.out, stride=args.stride, strict=args.strict,
        workers=args.workers, progress=not args.no_progress)
  except (mocap_conversion.ConversionError, ValueError, OSError) as e:
    # jaxpose's messages name the file or argument and the fix; a traceback
    # through the library adds nothing for the user.
    print(f"prepare: {e}", file=sys.stderr)
    return 1
  print(mocap_conversion.format_summary(summary))
  return 0


if __name__ == "__main__":
  sys.exit(main())
