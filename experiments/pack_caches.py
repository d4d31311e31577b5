r"""Packs the mocap caches small enough to carry to an accelerator, and
unpacks them there.

    python -m experiments.pack_caches --cache_dir=caches --out=pack [--body]
    python -m experiments.pack_caches --unpack --src=pack --cache_dir=caches

Packing writes <out>/<dataset>.pack.npz for each cache in --cache_dir
(bandai, cmu): positions on a 0.5 mm grid (and with --body the body
space's rotations on a 1e-3 rad grid, what DPoser trains on), compressed;
it prints each file's size and the largest error it measured. Unpacking
writes the caches back into --cache_dir, which training and evaluation
read with --config.data.cache_dir. docs/accelerators.md has the way to a
GPU run; the logic is jaxpose.data.mocap_pack.
"""
from __future__ import annotations

import argparse
import os
import sys

from jaxpose.data import mocap_cache
from jaxpose.data import mocap_pack

SUFFIX = ".pack.npz"


def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--cache_dir", required=True,
                 help="the caches' folder (read when packing, written when "
                      "unpacking)")
  p.add_argument("--out", help="the packs' folder (packing)")
  p.add_argument("--unpack", action="store_true")
  p.add_argument("--src", help="the packs' folder (unpacking)")
  p.add_argument("--body", action="store_true",
                 help="also pack the body space's rotations (DPoser)")
  p.add_argument("--resolution_mm", type=float, default=0.5)
  p.add_argument("--resolution_rad", type=float, default=1e-3)
  return p.parse_args(argv)


def pack_all(cache_dir: str, out: str, *, body: bool, **resolution) -> dict:
  """{dataset: what `write_pack` measured} for each cache in `cache_dir`."""
  os.makedirs(out, exist_ok=True)
  done = {}
  for name in mocap_cache.CACHE_FILES:
    dataset = name[:-len(".npz")]
    done[dataset] = mocap_pack.write_pack(
        os.path.join(out, dataset + SUFFIX), os.path.join(cache_dir, name),
        body=body, **resolution)
  return done


def unpack_all(src: str, cache_dir: str) -> list[str]:
  """The caches written into `cache_dir` from the packs in `src`."""
  os.makedirs(cache_dir, exist_ok=True)
  written = []
  for name in mocap_cache.CACHE_FILES:
    dataset = name[:-len(".npz")]
    cache = mocap_pack.read_pack(os.path.join(src, dataset + SUFFIX))
    written.append(mocap_cache.save_cache(os.path.join(cache_dir, name),
                                          cache))
  return written


def main(argv=None) -> int:
  args = parse_args(argv)
  try:
    if args.unpack:
      if not args.src:
        raise ValueError("--unpack needs --src (the packs' folder)")
      print("wrote " + ", ".join(unpack_all(args.src, args.cache_dir)))
      return 0
    if not args.out:
      raise ValueError("packing needs --out (the packs' folder)")
    for dataset, got in pack_all(
        args.cache_dir, args.out, body=args.body,
        resolution_mm=args.resolution_mm,
        resolution_rad=args.resolution_rad).items():
      print(f"{dataset}: {got['cache_bytes'] / 2**20:.1f} MiB -> "
            f"{got['pack_bytes'] / 2**20:.1f} MiB, largest error "
            + ", ".join(f"{k} {v:.3g}" for k, v in got["max_error"].items()))
  except (OSError, ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 1
  return 0


if __name__ == "__main__":
  sys.exit(main())
