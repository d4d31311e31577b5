"""Mocap data on disk: where it lives, tree conversion to caches, named splits.

* Data location: `resolve_data_dir()` (flag, then $JAXPOSE_DATA, then
  `../shared/data` beside the project root), or None, so tests skip cleanly.
* `convert_tree` turns a raw BVH tree (as the publishers ship it) into one
  cache of Human3.6M poses and rotations (the rig's own, and the shared
  body space's `body_*` keys), skipping and naming bad files;
  `prepare_cache` also writes the cache atomically (`save_cache`) and reads
  it back; `experiments/prepare.py` is its command line.
* `load_protocol('jaxpose-mocap-v1', cache_dir)` gives the benchmark splits.
"""
from __future__ import annotations

import dataclasses
import multiprocessing
import os
import pathlib
import tarfile
import time
from typing import Callable, Mapping

import numpy as np

from jaxpose import files as files_lib
from jaxpose.checks import check_positive_int
from jaxpose.data import bvh as bvh_lib
from jaxpose.data import mocap
from jaxpose.data import body_sources

CACHE_VERSION = 1
_PROJECT_ROOT = pathlib.Path(__file__).resolve().parents[2]

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
               _PROJECT_ROOT.parent / "shared" / "data"):
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
  src = pathlib.Path(src)
  if not src.is_dir():
    raise FileNotFoundError(f"src: {src} is not a directory")
  return sorted(p for p in src.rglob("*") if p.suffix.lower() == ".bvh" and p.is_file())


def sample_files(dest: str | os.PathLike, *, per_dataset: int = 2,
                 data_dir: str | os.PathLike | None = None) -> dict | None:
  """A few real BVH files extracted from the archives (for tests).

  Streams each .tar.xz only up to its first `per_dataset` .bvh members, so
  this takes seconds; reuses `dest` when already filled.

  Returns:
    {'bandai': [paths], 'cmu': [paths]}, or None without the data.
  """
  data = resolve_data_dir(data_dir)
  if data is None or not all((data / a).is_file() for a in ARCHIVES.values()):
    return None
  dest = pathlib.Path(dest)
  out = {}
  for name, archive in ARCHIVES.items():
    folder = dest / name
    done = folder / ".complete"
    if not done.exists():
      folder.mkdir(parents=True, exist_ok=True)
      found = 0
      with tarfile.open(data / archive, "r|xz") as tar:
        for member in tar:
          if member.isfile() and member.name.endswith(".bvh"):
            target = folder / member.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(tar.extractfile(member).read())
            found += 1
            if found == per_dataset:
              break
      done.touch()
    out[name] = find_bvh_files(folder)
  return out


# ----------------------------------------------------------------------------
# Tree conversion

# Files listed in full when none converts (the rest are counted).
_MAX_LISTED = 10


class ConversionError(RuntimeError):
  """A tree could not be converted (strict mode met a bad file, or every file
  was bad); the message names the file(s) and the reason(s)."""


class CacheError(ValueError):
  """A cache file that cannot be read or was made by another version."""


def _convert_one(args):
  """Worker: one file -> (index, Clip or the reason it is bad, as a string).

  Every failure becomes a reason, so one odd file never ends a conversion of
  thousands; an unexpected exception type is labelled as such (it may be a
  jaxpose bug worth reporting) but is still tied to its file.
  """
  i, path, rig, stride = args
  try:
    clip = mocap.convert_clip(bvh_lib.load_bvh(path), rig, stride=stride,
                              body_fn=body_sources.clip_body_space)
  except (bvh_lib.BvhError, KeyError, ValueError, OSError) as e:
    message = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
    return i, f"{type(e).__name__}: {message}"
  except Exception as e:  # pylint: disable=broad-except
    return i, (f"unexpected {type(e).__name__} ({e}) while converting "
               f"{pathlib.Path(path).name}; please report it as a jaxpose bug")
  if clip.problems:
    return i, "failed sanity checks: " + "; ".join(clip.problems)
  return i, clip


def convert_tree(dataset: str, src: str | os.PathLike, *, stride: int = 1,
                 strict: bool = False, workers: int | None = None,
                 progress: bool = True, files=None):
  """Converts every BVH file under `src` with the dataset's rig.

  A bad file (unreadable or truncated, without a joint the rig needs, with
  no finite frame, failing the sanity checks, or with body joints unlike the
  other files') is skipped and reported with its reason, or with `strict`
  ends the conversion.  Frames with a NaN/inf channel are dropped from an
  otherwise good clip and reported as a warning: a capture gap spoils those
  frames, not the rest of the take.  Nothing non-finite reaches the arrays.

  Args:
    dataset: 'bandai' or 'cmu' (also the rig name).
    src: root of the publisher's tree (e.g. the unpacked archive).
    stride: keep every stride-th frame of each clip.
    strict: raise on the first bad file instead of skipping it.
    workers: processes (default: min(2, cpus)); 1 runs in-process.
    progress: show a tqdm bar.
    files: explicit file list instead of searching `src`.

  Returns:
    (arrays, summary): arrays as stored by `save_cache`; summary with files,
    converted, frames, dropped_nonfinite, skipped [(file, reason)],
    warnings [(file, message)], seconds.

  Raises:
    ConversionError: with `strict`, the first bad file; without, when no
      file converts (listing each file's reason).
  """
  from tqdm import tqdm
  t0 = time.time()
  rig = mocap.get_rig(dataset)
  stride = check_positive_int("stride", stride)  # once, not once per file
  src = pathlib.Path(src)
  files = find_bvh_files(src) if files is None else [pathlib.Path(f) for f in files]
  if not files:
    raise FileNotFoundError(f"src: no .bvh files under {src}")
  jobs = [(i, str(f), rig.name, stride) for i, f in enumerate(files)]
  workers = workers or min(2, os.cpu_count() or 1)
  results: dict[int, object] = {}
  bar = tqdm(total=len(files), desc=f"prepare {dataset}", unit="file", disable=not progress)
  try:
    if workers > 1:
      ctx = multiprocessing.get_context("spawn")  # jax is imported: no fork
      with ctx.Pool(workers) as pool:
        for i, res in pool.imap_unordered(_convert_one, jobs, chunksize=4):
          _collect(results, i, res, files, strict)
          bar.update()
    else:
      for job in jobs:
        i, res = _convert_one(job)
        _collect(results, i, res, files, strict)
        bar.update()
  finally:
    bar.close()
  _reject_odd_bodies(results, files, strict)
  good = [(i, results[i]) for i in sorted(results) if isinstance(results[i], mocap.Clip)]
  skipped = [(_rel(files[i], src), results[i]) for i in sorted(results)
             if isinstance(results[i], str)]
  if not good:
    raise ConversionError(_none_converted(dataset, src, skipped))
  warnings = [(_rel(files[i], src), f"dropped {c.dropped} of "
               f"{c.dropped + len(c.frame)} frames with a NaN/inf channel")
              for i, c in good if c.dropped]
  if any(c.body is not None for _, c in good):  # else: a rig without a body map
    warnings += [(_rel(files[i], src), "no body-space rotations (the file lacks a "
                  "joint they read), so the cache has no body_* keys")
                 for i, c in good if c.body is None]
  arrays = _stack(dataset, rig, stride, [(files[i], c) for i, c in good], src)
  summary = dict(
      dataset=dataset, files=len(files), converted=len(good),
      frames=int(arrays["pose17"].shape[0]),
      dropped_nonfinite=int(sum(c.dropped for _, c in good)),
      skipped=skipped, warnings=warnings, seconds=time.time() - t0)
  return arrays, summary


def _rel(path, src):
  try:
    return str(pathlib.Path(path).relative_to(src))
  except ValueError:
    return str(path)


def _collect(results, i, res, files, strict):
  if strict and isinstance(res, str):
    raise ConversionError(f"{files[i]}: {res} (run without --strict to skip "
                          "bad files)")
  results[i] = res


def _reject_odd_bodies(results, files, strict):
  """Marks clips whose body joints differ from most clips' as bad.

  The cache stores one body tree; the majority decides it, so a single odd
  file (e.g. from another exporter) cannot reject all the good ones.
  """
  clips = {i: r for i, r in results.items() if isinstance(r, mocap.Clip)}
  if not clips:
    return
  bodies = [tuple(c.rotations["names"]) for c in clips.values()]
  common = max(dict.fromkeys(bodies), key=bodies.count)  # ties: the first seen
  for i, c in sorted(clips.items()):
    names = tuple(c.rotations["names"])
    if names != common:
      extra, lacks = sorted(set(names) - set(common)), sorted(set(common) - set(names))
      why = ("body joints differ from the other files' (another rig or "
             f"exporter?): extra {extra or 'none'}, lacking {lacks or 'none'}"
             + ("" if extra or lacks else ", in another order"))
      _collect(results, i, why, files, strict)


def _none_converted(dataset, src, skipped) -> str:
  lines = [f"{dataset}: none of the {len(skipped)} .bvh files under {src} could "
           "be converted:"]
  lines += [f"  {f}: {why}" for f, why in skipped[:_MAX_LISTED]]
  if len(skipped) > _MAX_LISTED:
    lines.append(f"  ... and {len(skipped) - _MAX_LISTED} more")
  return "\n".join(lines)


def _stack(dataset, rig, stride, clips, src):
  rot0 = clips[0][1].rotations
  subjects = sorted({subject_of(dataset, p) for p, _ in clips})
  n = [c.pose17.shape[0] for _, c in clips]
  cat = lambda key: np.concatenate([c.rotations[key] for _, c in clips])
  out = dict(
      version=np.int32(CACHE_VERSION), dataset=np.str_(dataset), rig=np.str_(rig.name),
      stride=np.int32(stride),
      pose17=np.concatenate([c.pose17 for _, c in clips]),  # [N, 17, 3] mm, Z up
      rotvec=cat("rotvec"), root_orient=cat("root_orient"), trans=cat("trans"),
      clip=np.repeat(np.arange(len(clips), dtype=np.int32), n),
      # Frame numbers in the file, gaps where non-finite frames were dropped.
      frame=np.concatenate([c.frame for _, c in clips]).astype(np.int32),
      subject=np.repeat(np.array([subjects.index(subject_of(dataset, p)) for p, _ in clips],
                                 np.int16), n),
      subject_names=np.array(subjects),
      clip_names=np.array([_rel(p, src) for p, _ in clips]),
      clip_fps=np.array([c.fps for _, c in clips], np.float32),
      rest_offsets=np.stack([c.rotations["rest_offsets"] for _, c in clips]),  # [C, Jb, 3]
      parents=rot0["parents"], body_names=np.array(rot0["names"]),
      root_name=np.str_(rot0["root_name"]),
  )
  if all(c.body is not None for _, c in clips):
    # The body space (jaxpose.pose.body_space): one rotation space for every
    # rig.  Caches without these keys (older ones, other rigs) still load.
    body_cat = lambda key: np.concatenate([c.body[key] for _, c in clips])
    out.update(
        body_pose=body_cat("body_pose"),  # [N, 63] axis-angle, SMPL_22 joints 1..21
        body_root_orient=body_cat("root_orient"),  # [N, 3] body axes -> world
        body_trans=body_cat("trans"),  # [N, 3] pelvis, mm, Z up
        body_bone_lengths=np.stack([c.body["bone_lengths"] for _, c in clips]),  # [C, 22]
    )
  return out


def _prepare_hint(path) -> str:
  stem = pathlib.Path(path).stem
  dataset = stem if stem in ARCHIVES else "<dataset>"
  return (f"re-run python -m experiments.prepare --dataset={dataset} "
          f"--src=<raw tree> --out={path}")


def save_cache(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> str:
  """Writes a cache atomically: an interrupted write keeps the old file.

  Uncompressed .npz, so loading is a read of about 0.5 KB per frame.

  Raises:
    ValueError: a float array holds NaN/inf (named), so a cache is never
      written with values no model should train on.
  """
  for key, value in arrays.items():
    value = np.asarray(value)
    if np.issubdtype(value.dtype, np.inexact) and not np.isfinite(value).all():
      bad = int(value.size - np.count_nonzero(np.isfinite(value)))
      raise ValueError(f"arrays[{key!r}]: {bad} non-finite value(s); {path} "
                       "was not written")
  return files_lib.write_npz_atomic(path, arrays)


def load_cache(path: str | os.PathLike) -> dict:
  """Reads a cache written by `save_cache`.

  Raises:
    CacheError: the file is not a readable cache (truncated, empty, not an
      .npz) or has another version; the message names it and says how to
      rebuild it.
  """
  try:
    with np.load(path, allow_pickle=False) as f:
      out = {k: f[k] for k in f.files}
  except FileNotFoundError:
    raise FileNotFoundError(f"{path} missing: {_prepare_hint(path)}") from None
  except Exception as e:  # zip, EOF, OS and format errors alike
    raise CacheError(f"{path}: not a readable cache ({type(e).__name__}: {e}); "
                     f"it may be truncated by an interrupted write: "
                     f"{_prepare_hint(path)}") from e
  if "version" not in out or int(out["version"]) != CACHE_VERSION:
    raise CacheError(f"{path}: cache version {out.get('version')} != {CACHE_VERSION}; "
                     f"{_prepare_hint(path)}")
  return out


def prepare_cache(dataset: str, src: str | os.PathLike, out: str | os.PathLike,
                  **convert_kw) -> dict:
  """`experiments.prepare`: convert a tree, write the cache, read it back.

  Args:
    dataset, src: as for `convert_tree`.
    out: the cache path (written atomically).
    **convert_kw: stride, strict, workers, progress, files (`convert_tree`).

  Returns:
    The conversion summary plus out and load_seconds.
  """
  arrays, summary = convert_tree(dataset, src, **convert_kw)
  save_cache(out, arrays)
  t = time.time()
  load_cache(out)
  return dict(summary, out=str(out), load_seconds=time.time() - t)


def format_summary(summary: dict) -> str:
  lines = [f"{summary['dataset']}: {summary['converted']}/{summary['files']} files, "
           f"{summary['frames']} frames, {summary['dropped_nonfinite']} non-finite "
           f"frames dropped, {len(summary['skipped'])} skipped, "
           f"{summary['seconds']:.1f} s"]
  lines += [f"  skipped {f}: {why}" for f, why in summary["skipped"]]
  lines += [f"  warning {f}: {why}" for f, why in summary.get("warnings", ())]
  if "out" in summary:
    lines.append(f"wrote {summary['out']}; loading it takes "
                 f"{summary['load_seconds']:.2f} s")
  return "\n".join(lines)


# ----------------------------------------------------------------------------
# Named protocols


@dataclasses.dataclass(frozen=True)
class Split:
  """Clips of one split: per dataset, the subjects kept (None = all)."""
  sources: Mapping[str, tuple[str, ...] | None]
  strides: Mapping[str, int]  # frame stride per dataset, of the raw frame rate


@dataclasses.dataclass(frozen=True)
class Protocol:
  name: str
  splits: Mapping[str, Split]
  description: str


PROTOCOLS = {
    "jaxpose-mocap-v1": Protocol(
        name="jaxpose-mocap-v1",
        splits={
            # Bandai is 30 fps, CMU 60 fps: both train at 30 fps.
            "train": Split(sources={"bandai": None, "cmu": ("001", "002", "003", "006")},
                           strides={"bandai": 1, "cmu": 2}),
            # Unseen people; every 4th frame of 60 fps (15 fps).
            "test": Split(sources={"cmu": ("005", "007")}, strides={"cmu": 4}),
        },
        description=("train: all Bandai (stride 1 of 30 fps) + CMU 001, 002, 003, "
                     "006 (stride 2 of 60 fps); test: CMU 005, 007 (stride 4 of "
                     "60 fps); poses root-relative, mm, Z up."),
    ),
}


# The body-space arrays of a cache and their widths; bone lengths are per clip
# (gathered to rows), the rest per frame.
_BODY_WIDTHS = {"body_pose": 63, "body_root_orient": 3, "body_trans": 3,
                "body_bone_lengths": 22}


def _body_rows(dataset, path, c, keep) -> dict:
  """The body-space arrays of the kept rows of one cache, float32."""
  missing = [k for k in _BODY_WIDTHS if k not in c]
  if missing:
    raise CacheError(
        f"{path}: no body-space arrays ({', '.join(missing)} missing; the cache "
        f"was prepared by an older jaxpose or from a rig without a body map), "
        f"but body=True needs them: re-run python -m experiments.prepare "
        f"--dataset={dataset} --src=<raw tree> --out={path}")
  num_clips = len(c["clip_names"]) if "clip_names" in c else int(c["clip"].max()) + 1
  for k, width in _BODY_WIDTHS.items():
    rows = num_clips if k == "body_bone_lengths" else len(keep)
    if c[k].shape != (rows, width):
      raise CacheError(f"{path}: {k} has shape {c[k].shape}, expected "
                       f"{(rows, width)}; {_prepare_hint(path)}")
  out = dict(body_pose=c["body_pose"][keep],  # [N, 63]
             body_root_orient=c["body_root_orient"][keep],  # [N, 3]
             body_trans=c["body_trans"][keep],  # [N, 3] mm
             body_bone_lengths=c["body_bone_lengths"][c["clip"][keep]])  # [N, 22]
  return {k: v.astype(np.float32) for k, v in out.items()}


def load_protocol(name: str, cache_dir: str | os.PathLike, *,
                  add_2d: Callable[[str, dict], Mapping] | None = None,
                  body: bool = False) -> dict:
  """The splits of a named protocol from the caches in `cache_dir`.

  Needs `<cache_dir>/<dataset>.npz` from `experiments.prepare` for each
  dataset the protocol uses, prepared with a stride that divides the
  protocol's strides (stride 1 always works).

  Args:
    name: e.g. 'jaxpose-mocap-v1'.
    cache_dir: folder with bandai.npz, cmu.npz.
    add_2d: the hook for 2D inputs: called as add_2d(split_name, split) and
      its dict is merged into the split (e.g. virtual-camera projections from
      jaxpose/cameras.py, exact and noisy).
    body: also give each row its body-space rotations
      (jaxpose.pose.body_space), same row order as pose3d.

  Returns:
    {split: dict(pose3d float32 [N, 17, 3] root-relative mm Z up,
                 pose3d_world [N, 17, 3], dataset [N] str, subject [N] str,
                 clip [N] str, frame [N] int32)}, plus 'protocol' (description).
    With `body`, each split also holds float32 body_pose [N, 63] (axis-angle
    of SMPL_22 joints 1..21), body_root_orient [N, 3] (body axes -> world),
    body_trans [N, 3] (pelvis, mm, Z up) and body_bone_lengths [N, 22] (mm,
    its clip's).

  Raises:
    CacheError: with `body`, a cache without the body_* arrays (named, with
      the command that rebuilds it).
  """
  if name not in PROTOCOLS:
    raise ValueError(f"name: unknown protocol {name!r}; known: {sorted(PROTOCOLS)}")
  proto = PROTOCOLS[name]
  cache_dir = pathlib.Path(cache_dir)
  caches = {}
  out = {"protocol": proto.description}
  for split_name, split in proto.splits.items():
    parts = []
    for dataset, subjects in split.sources.items():
      if dataset not in caches:
        path = cache_dir / f"{dataset}.npz"
        if not path.is_file():
          raise FileNotFoundError(
              f"{path} missing: run python -m experiments.prepare --dataset={dataset} "
              f"--src=<raw tree> --out={path}")
        caches[dataset] = load_cache(path)
      c = caches[dataset]
      stride = split.strides[dataset]
      if stride % int(c["stride"]):
        raise ValueError(f"{dataset}.npz was prepared with stride {int(c['stride'])}, "
                         f"which does not divide the protocol stride {stride}")
      names = c["subject_names"][c["subject"]]
      keep = c["frame"] % stride == 0
      if subjects is not None:
        missing = set(subjects) - set(c["subject_names"].tolist())
        if missing:
          raise ValueError(f"{dataset}.npz lacks subject(s) {sorted(missing)}")
        keep &= np.isin(names, subjects)
      pose = c["pose17"][keep]
      part = dict(pose3d_world=pose, pose3d=pose - pose[:, :1],
                  dataset=np.full(pose.shape[0], dataset),
                  subject=names[keep], clip=c["clip_names"][c["clip"][keep]],
                  frame=c["frame"][keep])
      if body:
        part.update(_body_rows(dataset, cache_dir / f"{dataset}.npz", c, keep))
      parts.append(part)
    split_out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    if add_2d is not None:
      split_out.update(add_2d(split_name, split_out))
    out[split_name] = split_out
  return out
