"""TensorBoard event files beside a run's JSON records.

Training writes `train/...` scalars and evaluation `eval/<stem>/...` scalars
and plots into the workdir, next to `metrics.jsonl` and `eval/*.json`, so
`tensorboard --logdir runs` shows every run under `runs/`. The JSON files
stay the record; event files are a view of them. Written with tensorboardX's
record writer (no TensorFlow, no torch) in the calling thread, by process 0
only: on any other process every call is a no-op and no file is created.

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

import contextlib
import io
import math
import numbers
import os
import time
from typing import Any, Mapping, Sequence

import jax
import numpy as np
from absl import logging
from tensorboardX import event_file_writer
from tensorboardX.proto import event_pb2
from tensorboardX.proto import summary_pb2

from jaxpose import files

# How often events are flushed to the file; the TensorBoard UI reloads
# every 5 s by default.
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

  A no-op except on process 0. Events are written in the calling thread
  (tensorboardX's own writer thread dies silently on a full disk, and its
  close then waits for it forever): a failed write raises an OSError naming
  the event file, and `discard()` removes the file. The file is flushed
  every FLUSH_SECONDS and on `flush()` / `close()`.

  Attributes:
    logdir: the directory of the event file (a TensorBoard run).
    path: the event file (None on other processes).
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
    self._writer, self.path, self._flushed = None, None, time.monotonic()
    if not self.enabled:
      return
    suffix = f".{time.time_ns()}"
    with files.naming(self.logdir):
      os.makedirs(self.logdir, exist_ok=True)
      try:  # it writes its first event (the file version) at once
        self._writer = event_file_writer.EventsWriter(
            os.path.join(self.logdir, "events"), suffix)
      except BaseException:
        for name in os.listdir(self.logdir):
          if name.startswith("events.out.") and name.endswith(suffix):
            os.remove(os.path.join(self.logdir, name))
        raise
    self.path = self._writer._file_name  # pylint: disable=protected-access
    if purge_step is not None:
      self._write(event_pb2.Event(step=int(purge_step),
                                  file_version="brain.Event:2"))
      self._write(event_pb2.Event(step=int(purge_step), session_log=(
          event_pb2.SessionLog(status=event_pb2.SessionLog.START))))

  def _write(self, event) -> None:
    event.wall_time = event.wall_time or time.time()
    with files.naming(self.path):
      self._writer.write_event(event)
      if time.monotonic() - self._flushed > FLUSH_SECONDS:
        self._writer.flush()
        self._flushed = time.monotonic()

  def _summary(self, step: int, values) -> None:
    self._write(event_pb2.Event(step=int(step), summary=summary_pb2.Summary(
        value=values)))

  def scalars(self, step: int, values: Mapping[str, Any]) -> None:
    """Writes `{tag: number}` at `step`, skipping non-`scalar_value`s."""
    if self._writer is None:
      return
    numbers = [(tag, scalar_value(value)) for tag, value in values.items()]
    entries = [summary_pb2.Summary.Value(tag=tag, simple_value=number)
               for tag, number in numbers if number is not None]
    if entries:
      self._summary(step, entries)

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
      self._summary(step, [summary_pb2.Summary.Value(
          tag=tag, image=_image_summary(image))])

  def flush(self) -> None:
    """Writes every event so far to disk."""
    if self._writer is not None:
      with files.naming(self.path):
        self._writer.flush()
      self._flushed = time.monotonic()

  def close(self) -> None:
    """Writes every event and closes the file; idempotent."""
    writer, self._writer = self._writer, None
    if writer is not None:
      with files.naming(self.path):
        writer.close()

  def discard(self) -> None:
    """Closes and removes the event file (a write that failed part way)."""
    writer, self._writer = self._writer, None
    if writer is not None:
      with contextlib.suppress(OSError):
        writer.close()
    if self.path and os.path.exists(self.path):
      os.remove(self.path)

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
                     = ()) -> str | None:
  """One evaluation's figures and plots as TensorBoard events, in a new
  event file; returns its path (None on processes other than 0).

  Args:
    logdir: the run's directory (the workdir, beside training's events).
    step: the step of the evaluated parameters.
    stem: the evaluation's output stem (`eval/<stem>.json`).
    figures: its results dict; every finite number reached through dicts
      becomes the scalar `eval/<stem>/<key>/...`.
    plot_paths: its plot files; each becomes the image
      `eval/<stem>/<what>` (`<what>` from `<stem>_<what>.png`). A missing
      file is skipped with a warning. A failed write (a full disk) removes
      the event file and raises an OSError naming it.
  """
  writer = SummaryWriter(logdir)
  if not writer.enabled:
    return None
  try:
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
    writer.close()
  except BaseException:
    writer.discard()  # no half an evaluation in TensorBoard
    raise
  return writer.path


__all__ = ["FLUSH_SECONDS", "SummaryWriter", "flat_scalars", "scalar_value",
           "write_evaluation"]
