"""The data on disk: where it lives, the mocap archives, BVH trees, subjects.

* Data location (mocap archives and caches, Human3.6M files):
  `resolve_data_dir()` (flag, then $JAXPOSE_DATA, then `../shared/data`
  beside the project root), or None, so tests skip cleanly.
* `ARCHIVES`: the publishers' archives in that folder.
* `find_bvh_files` lists a raw tree; `subject_of` reads a clip's subject
  from its place in the publisher's tree.
"""
from __future__ import annotations

import os
import pathlib

PROJECT_ROOT = pathlib.Path(__file__).resolve().parents[2]

# The archives of ../shared/data and the raw trees inside them.
ARCHIVES = {
    "bandai": "bandai-namco-motion.tar.xz",
    "cmu": "cmu-mocap-6-subjects.tar.xz",
}


def resolve_data_dir(flag: str | os.PathLike | None = None) -> pathlib.Path | None:
  """The mocap data directory: `flag`, else $JAXPOSE_DATA, else ../shared/data.

  Returns None when none exists (callers skip or fail with a clear message).
  """
  for cand in (flag, os.environ.get("JAXPOSE_DATA"),
               PROJECT_ROOT.parent / "shared" / "data"):
    if cand and pathlib.Path(cand).is_dir():
      return pathlib.Path(cand)
  return None


def subject_of(dataset: str, path: str | os.PathLike) -> str:
  """Subject id of a clip from its place in the publisher's tree.

  CMU: the subject folder ('005').  Bandai ships no actor id, so the subject
  is the release ('bandai-1', 'bandai-2').
  """
  parts = pathlib.Path(path).parts
  if dataset == "cmu":
    return parts[-2]
  for p in reversed(parts):
    if p.startswith("Bandai-Namco-Research-Motiondataset-"):
      return "bandai-" + p.rsplit("-", 1)[-1]
  return "bandai"


def find_bvh_files(src: str | os.PathLike) -> list[pathlib.Path]:
  """Every .bvh file under `src`, sorted (FileNotFoundError naming `src`)."""
  src = pathlib.Path(src)
  if not src.is_dir():
    raise FileNotFoundError(f"src: {src} is not a directory")
  return sorted(p for p in src.rglob("*") if p.suffix.lower() == ".bvh" and p.is_file())
