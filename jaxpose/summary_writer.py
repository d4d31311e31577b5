"""TensorBoard event files beside a run's JSON records.

Training writes `train/...` scalars and evaluation `eval/<stem>/...` scalars
and plots into the workdir, next to `metrics.jsonl` and `eval/*.json`, so
`tensorboard --logdir runs` shows every run under `runs/`. The JSON files
stay the record; event files are a view of them. Written with tensorboardX
(no TensorFlow, no torch), by process 0 only: on any other process every
call is a no-op and no file is created.

A resumed run hides the events an interrupted run logged past its last
checkpoint with a purge marker (`SessionLog.START`) at its first new step.
TensorBoard's Python loader ignores a run's first such marker, so training
writes one from its very first start (`purge_step`); evaluation, which
must hide nothing, writes none. The default (Rust) loader ignores the
markers and drops a tag's points from where that tag's steps go back.

Each writer's event file name ends in a nanosecond timestamp: TensorBoard
reads a run's files in name order, and the library's own whole-second names
would misorder (or overwrite) two files opened within one second.
"""
from __future__ import annotations

import io
import math
import numbers
import os
import time
from typing import Any, Mapping, Sequence

import jax
import numpy as np
import tensorboardX
from absl import logging
from tensorboardX.proto import summary_pb2

# How often the library's writer thread flushes events to the file; the
# TensorBoard UI reloads every 5 s by default.
FLUSH_SECONDS = 5

ImageSource = str | os.PathLike | np.ndarray


def scalar_value(value: Any) -> float | None:
  """`value` as a finite float, or None when it is not one (Python and
  numpy numbers and 0-d arrays count; bools, strings, None, lists, arrays
  with a shape and NaN or inf do not)."""
  if isinstance(value, (bool, np.bool_)):
    return None
  if isinstance(value, numbers.Real):
    number = float(value)
  elif getattr(value, "shape", None) == () and getattr(
      value, "dtype", np.dtype(object)).kind in "iuf":
    number = float(value)
  else:
    return None
  return number if math.isfinite(number) else None


def flat_scalars(figures: Mapping, prefix: str = "") -> dict[str, float]:
  """The finite numeric leaves of a nested results dict, as tags.

  Args:
    figures: a results dict as evaluation JSON files hold it: numbers,
      nested dicts, lists, strings.
    prefix: the tags' first part, e.g. `"eval/estimate"`.

  Returns:
    `{"<prefix>/<key>/<key>": value}` for every `scalar_value` reached
    through dicts only (lists, e.g. per-joint arrays, are left out).
  """
  tags = {}

  def visit(node, tag):
    if isinstance(node, Mapping):
      for key, child in node.items():
        visit(child, f"{tag}/{key}" if tag else str(key))
      return
    value = scalar_value(node)
    if value is not None:
      tags[tag] = value

  visit(figures, prefix.rstrip("/"))
  return tags


def _image_summary(image: ImageSource) -> summary_pb2.Summary.Image:
  """An encoded image for an event: a file's bytes as they are, or an
  `[H, W]` / `[H, W, C]` uint8 array (C in 1, 3, 4) encoded as PNG."""
  # Pillow comes with matplotlib; imported here, where images are written.
  from PIL import Image  # pylint: disable=g-import-not-at-top
  if isinstance(image, (str, os.PathLike)):
    with open(image, "rb") as f:
      encoded = f.read()
    with Image.open(io.BytesIO(encoded)) as decoded:
      width, height = decoded.size
      channels = len(decoded.getbands())
  else:
    pixels = np.asarray(image)
    if pixels.dtype != np.uint8:
      raise ValueError(f"an image array must be uint8, got {pixels.dtype}")
    if pixels.ndim == 3 and pixels.shape[-1] == 1:
      pixels = pixels[..., 0]
    if not (pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[-1] in
                                 (3, 4))):
      raise ValueError("an image array must be [H, W] or [H, W, C] with C "
                       f"in 1, 3, 4; got shape {np.shape(image)}")
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    encoded = buffer.getvalue()
    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[-1]
  return summary_pb2.Summary.Image(height=height, width=width,
                                   colorspace=channels,
                                   encoded_image_string=encoded)


class SummaryWriter:
  """Scalars and images into one new event file under `logdir`.

  A no-op except on process 0. Use it as a context manager, or `close()`:
  only `close()` waits for the background thread that writes the events.

  Attributes:
    logdir: the directory of the event file (a TensorBoard run).
    enabled: whether this process writes.
  """

  def __init__(self, logdir: str | os.PathLike, *,
               purge_step: int | None = None):
    """Opens the event file (process 0 only).

    Args:
      logdir: the run's directory; created if missing.
      purge_step: the first step this run writes: TensorBoard hides earlier
        files' events of steps >= it (module doc; pass it from a run's first
        start too). None writes no marker and hides nothing.
    """
    if purge_step is not None and (isinstance(purge_step, bool)
                                   or int(purge_step) < 0):
      raise ValueError(f"purge_step must be None or >= 0, got {purge_step!r}")
    self.logdir = os.fspath(logdir)
    self.enabled = jax.process_index() == 0
    self._writer = None
    if not self.enabled:
      return
    os.makedirs(self.logdir, exist_ok=True)
    self._writer = tensorboardX.SummaryWriter(
        self.logdir,
        purge_step=None if purge_step is None else int(purge_step),
        flush_secs=FLUSH_SECONDS, filename_suffix=f".{time.time_ns()}")

  def scalars(self, step: int, values: Mapping[str, Any]) -> None:
    """Writes `{tag: number}` at `step`, skipping non-`scalar_value`s."""
    if self._writer is None:
      return
    for tag, value in values.items():
      number = scalar_value(value)
      if number is not None:
        self._writer.add_scalar(tag, number, global_step=int(step))

  def images(self, step: int, images: Mapping[str, ImageSource]) -> None:
    """Writes `{tag: image}` at `step`.

    Args:
      step: the step the images belong to.
      images: an image file's path (PNG, or any format a browser shows;
        stored as it is) or a uint8 `[H, W]` / `[H, W, C]` array.
    """
    if self._writer is None:
      return
    for tag, image in images.items():
      summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(
          tag=tag, image=_image_summary(image))])
      self._writer.file_writer.add_summary(summary, global_step=int(step))

  def flush(self) -> None:
    """Flushes the event file. Events handed over in the last moments may
    still be queued in the library's writer thread; `close()` writes all."""
    if self._writer is not None:
      self._writer.flush()

  def close(self) -> None:
    """Writes every pending event and closes the file; idempotent."""
    if self._writer is not None:
      self._writer.close()
      self._writer = None

  def __enter__(self) -> SummaryWriter:
    return self

  def __exit__(self, *exc_info) -> None:
    self.close()


def _plot_name(path: str | os.PathLike, stem: str) -> str:
  """`<stem>_<what>.png` -> `<what>` (any other file: its name's stem)."""
  name = os.path.splitext(os.path.basename(os.fspath(path)))[0]
  return name[len(stem) + 1:] if name.startswith(f"{stem}_") else name


def write_evaluation(logdir: str | os.PathLike, step: int, stem: str,
                     figures: Mapping, plot_paths: Sequence[str | os.PathLike]
                     = ()) -> None:
  """One evaluation's figures and plots as TensorBoard events.

  Args:
    logdir: the run's directory (the workdir, beside training's events).
    step: the step of the evaluated parameters.
    stem: the evaluation's output stem (`eval/<stem>.json`).
    figures: its results dict; every finite number reached through dicts
      becomes the scalar `eval/<stem>/<key>/...`.
    plot_paths: its plot files; each becomes the image
      `eval/<stem>/<what>` (`<what>` from `<stem>_<what>.png`). A missing
      file is skipped with a warning: the JSON results are already written.
  """
  with SummaryWriter(logdir) as writer:
    if not writer.enabled:
      return
    prefix = f"eval/{stem}"
    writer.scalars(step, flat_scalars(figures, prefix))
    images = {}
    for path in plot_paths:
      if not os.path.isfile(path):
        logging.warning("write_evaluation: plot %s is missing; not in "
                        "TensorBoard", os.fspath(path))
        continue
      images[f"{prefix}/{_plot_name(path, stem)}"] = path
    writer.images(step, images)


__all__ = ["FLUSH_SECONDS", "SummaryWriter", "flat_scalars", "scalar_value",
           "write_evaluation"]
