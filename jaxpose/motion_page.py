"""An interactive HTML page that plays a lifted 3D motion beside its 2D input.

`write_motion_page` writes one self-contained .html file (it works offline):
a 3D view of the chosen motion beside the 2D keypoints it was lifted from,
a slider (and the arrow keys) to scrub frame by frame, play/pause, and the
frame number and time.  Each joint's spread over the hypotheses colours its
markers on a colour bar in mm fixed over the whole motion (none for one
hypothesis).  Given the video's frames, each is drawn behind the 2D view.

Built with plotly, whose Python package ships plotly.js (embedded, so
nothing is fetched).  The figure is JSON in a script element
(`FIGURE_ELEMENT_ID`), which `read_motion_page` parses back.  The view
shows the camera frame with the body's up vertical (`camera_to_viewer`);
its size, margins, legend and axis ranges are fixed: no frame moves them.
"""
from __future__ import annotations

import html
import json
import math
import os
from typing import Any

import numpy as np
from plotly.offline import get_plotlyjs

from jaxpose import files
from jaxpose import motion_layout
from jaxpose.checks import check_array, check_positive_int
from jaxpose.pose.skeleton import H36M_17, Skeleton

# The most frames a page holds by default: 20 s at 30 fps.  Longer motions
# are shown every k-th frame, so the file stays small and playback smooth.
MAX_PAGE_FRAMES = 600
# The most hypotheses drawn (faintly) per frame; more only clutter the view.
MAX_DRAWN_HYPOTHESES = 5
FIGURE_ELEMENT_ID = "jaxpose-motion-figure"  # the figure's JSON element
PLOT_ELEMENT_ID = "jaxpose-motion"  # the plot's <div>
DECIMALS = motion_layout.DECIMALS

# jaxpose.plotting's colours (tab:blue, tab:red, black) as CSS colours.
LEFT_COLOR, RIGHT_COLOR, MID_COLOR = "#1f77b4", "#d62728", "#222222"
MASKED_COLOR = "#999999"
HYPOTHESIS_COLOR = "rgba(80, 80, 80, 0.3)"
SPREAD_COLORSCALE = motion_layout.SPREAD_COLORSCALE

def camera_to_viewer(points_mm) -> np.ndarray:
  """Camera-frame points (x right, y down, z forward) in the 3D view's axes
  (x, z, -y): right, depth, up, so the body's up is the viewer's vertical;
  a rotation, no mirror.  [..., 3] -> [..., 3]"""
  x, y, z = np.moveaxis(np.asarray(points_mm), -1, 0)
  return np.stack([x, z, -y], -1)


_rounded = motion_layout.rounded


def _segments(points, bones) -> np.ndarray:
  """Bone endpoints, a NaN break after each; no bone: one NaN.  [N, D]"""
  if not bones:
    return np.full((1, points.shape[-1]), np.nan)
  child, parent = np.array(bones).T
  gap = np.full((len(bones), points.shape[-1]), np.nan)
  return np.stack([points[parent], points[child], gap], 1).reshape(
      -1, points.shape[-1])


def _bone_groups(skeleton: Skeleton) -> list[tuple[str, str, list]]:
  """(name, colour, bones) for the left, right and middle bones."""
  side = {**{j: "left" for j in skeleton.left},
          **{j: "right" for j in skeleton.right}}
  colors = {"left": LEFT_COLOR, "right": RIGHT_COLOR, "middle": MID_COLOR}
  return [(name, color, [bone for bone in skeleton.bones
                         if side.get(bone[0], "middle") == name])
          for name, color in colors.items()]


def _axis_ranges(points) -> tuple[list[list[float]], dict[str, float]]:
  """Per-axis [lo, hi] over all points, and an aspect ratio proportional to
  the spans (a millimetre is as long on every axis).  Each axis spans its
  extent, at least a quarter of the largest (a flat motion is not squashed
  to a line), plus 10%."""
  points = np.asarray(points).reshape(-1, 3)
  lo, hi = points.min(0), points.max(0)
  largest = max(float((hi - lo).max()), 1.0)
  spans = np.maximum(hi - lo, 0.25 * largest) * 1.1
  ranges = [_rounded([m - s / 2, m + s / 2])
            for m, s in zip((lo + hi) / 2, spans)]
  ratio = spans / spans.max()
  return ranges, dict(zip("xyz", ratio.tolist()))


def _positive_finite(value) -> bool:
  try:
    return math.isfinite(float(value)) and float(value) > 0
  except (TypeError, ValueError):
    return False


def _check_inputs(joints3d_mm, keypoints2d_px, spread_mm, visible, skeleton,
                  fps, image_size, hypotheses_mm, max_frames):
  """Validates the arguments of `motion_figure`; returns numpy arrays."""
  if not isinstance(skeleton, Skeleton):
    raise ValueError(f"skeleton: expected a Skeleton, got "
                     f"{type(skeleton).__name__}")
  num_joints = skeleton.num_joints
  sizes: dict = {}
  check_array("joints3d_mm", joints3d_mm, ("T", num_joints, 3), sizes=sizes)
  joints3d_mm = np.asarray(joints3d_mm, np.float64)
  if joints3d_mm.shape[0] == 0:
    raise ValueError("joints3d_mm: expected at least one frame (T >= 1), got "
                     f"shape {joints3d_mm.shape}")
  # Masked 2D joints may be NaN (there was no detection); visible ones not.
  check_array("keypoints2d_px", keypoints2d_px, ("T", num_joints, 2),
              sizes=sizes, finite=False)
  check_array("spread_mm", spread_mm, ("T", num_joints), sizes=sizes)
  check_array("visible", visible, ("T", num_joints), sizes=sizes)
  keypoints2d_px = np.asarray(keypoints2d_px, np.float64)
  spread_mm = np.asarray(spread_mm, np.float64)
  visible = np.asarray(visible)
  is_0_1 = (np.issubdtype(visible.dtype, np.number) and
            np.isin(visible, (0, 1)).all())
  if visible.dtype != np.bool_ and not is_0_1:
    raise ValueError(f"visible: expected booleans (or 0/1), got dtype "
                     f"{visible.dtype} with values other than 0 and 1")
  visible = visible.astype(bool)
  if np.any(spread_mm < 0):
    raise ValueError(f"spread_mm: expected values >= 0, got minimum "
                     f"{spread_mm.min()}")
  bad = visible & ~np.isfinite(keypoints2d_px).all(-1)
  if bad.any():
    t, j = np.argwhere(bad)[0]
    raise ValueError(
        f"keypoints2d_px: non-finite coordinates at {int(bad.sum())} visible "
        f"joints, first at frame {t}, joint {j} ({skeleton.joint_names[j]}); "
        "only joints with visible=False may be NaN")
  if not _positive_finite(fps):
    raise ValueError(f"fps: expected a positive frame rate, got {fps!r}")
  if image_size is not None:
    if (np.ndim(image_size) != 1 or len(image_size) != 2 or
        not all(_positive_finite(v) for v in image_size)):
      raise ValueError("image_size: expected (width, height) in pixels, both "
                       f"positive, or None; got {image_size!r}")
    image_size = (float(image_size[0]), float(image_size[1]))
  if hypotheses_mm is not None:
    check_array("hypotheses_mm", hypotheses_mm, ("T", None, num_joints, 3),
                sizes=sizes)
    hypotheses_mm = np.asarray(hypotheses_mm, np.float64)
    if hypotheses_mm.shape[1] == 0:
      raise ValueError("hypotheses_mm: expected at least one hypothesis "
                       f"(H >= 1) or None, got shape {hypotheses_mm.shape}")
  max_frames = check_positive_int("max_frames", max_frames)
  return (joints3d_mm, keypoints2d_px, spread_mm, visible, float(fps),
          image_size, hypotheses_mm, max_frames)


_3D = {"type": "scatter3d", "scene": "scene"}
_2D = {"type": "scatter", "xaxis": "x", "yaxis": "y"}
# No trace a frame changes is in the legend (`_legend_keys` says why).
_LINES = {"mode": "lines", "showlegend": False, "hoverinfo": "skip"}
_SPREAD_MARKER = {"coloraxis": "coloraxis"}
_COMPLETED_BONES = "bones to completed joints"
_COMPLETED_LINE = {"color": MASKED_COLOR, "width": 2, "dash": "dot"}
_HYPOTHESIS_LINE = {"color": HYPOTHESIS_COLOR, "width": 2}
_JOINT_2D_KINDS = (("2D condition (visible)", "circle"),
                   ("completed (masked in 2D)", "circle-open"))


def _coords(points) -> dict[str, list]:
  """{"x": [...], "y": [...](, "z": [...])} of points, rounded.  [N, D]"""
  return {axis: _rounded(points[:, i])
          for i, axis in enumerate("xyz"[:points.shape[-1]])}


def _trace_styles(groups, joint_names, hypotheses_name) -> list[dict]:
  """The traces' fixed properties, in `_frame_traces`'s order."""
  styles = []
  if hypotheses_name is not None:
    styles.append(dict(_3D, **_LINES, name=hypotheses_name,
                       legendgroup=hypotheses_name, line=_HYPOTHESIS_LINE))
  for name, color, _ in groups:
    styles.append(dict(_3D, **_LINES, name=f"3D {name}",
                       line={"color": color, "width": 6}))
  styles.append(dict(_3D, mode="markers", name="3D joints", showlegend=False,
                     text=joint_names, marker=dict(_SPREAD_MARKER),
                     hovertemplate="%{text}<br>spread %{marker.color:.1f} mm"
                                   "<extra></extra>"))
  for name, color, _ in groups:
    styles.append(dict(_2D, **_LINES, name=f"2D {name}",
                       line={"color": color, "width": 3}))
  styles.append(dict(_2D, **_LINES, name=_COMPLETED_BONES,
                     legendgroup=_COMPLETED_BONES, line=_COMPLETED_LINE))
  for name, symbol in _JOINT_2D_KINDS:
    styles.append(dict(
        _2D, mode="markers", name=name, text=joint_names, showlegend=False,
        legendgroup=name,
        marker=dict(_SPREAD_MARKER, symbol=symbol, size=9, line={"width": 2}),
        hovertemplate="%{text} (%{x:.0f}, %{y:.0f}) px<br>"
                      "spread %{marker.color:.1f} mm<extra></extra>"))
  return styles


def _legend_keys(hypotheses_name) -> list[dict]:
  """The legend: grey keys (one point, not drawn) that no frame changes, as
  plotly drops an empty trace's entry and a changing legend moves the
  layout.  A click on an entry shows or hides its group."""
  key = dict(_2D, x=[None], y=[None], hoverinfo="skip")
  lines = [(hypotheses_name, _HYPOTHESIS_LINE)] * (hypotheses_name is not None)
  return ([dict(key, mode="lines", name=name, legendgroup=name, line=line)
           for name, line in lines + [(_COMPLETED_BONES, _COMPLETED_LINE)]] +
          [dict(key, mode="markers", name=name, legendgroup=name,
                marker={"symbol": symbol, "size": 9, "color": MASKED_COLOR,
                        "line": {"width": 2}})
           for name, symbol in _JOINT_2D_KINDS])


def _frame_traces(t, view, drawn_hyps, keypoints, visible, spread_mm,
                  spread_max, groups, bones) -> list[dict]:
  """Frame t's data for each trace of `_trace_styles`, in its order."""
  traces = []
  if drawn_hyps is not None:
    traces.append(_coords(np.concatenate(
        [_segments(h, bones) for h in drawn_hyps[t]])))
  for _, _, group_bones in groups:
    traces.append(_coords(_segments(view[t], group_bones)))
  traces.append(dict(_coords(view[t]), marker={
      "color": _rounded(spread_mm[t]),
      "size": _rounded(4.0 + 8.0 * spread_mm[t] / spread_max)}))
  seen, kp = visible[t], keypoints[t]
  for _, _, group_bones in groups:  # 2D bones between two visible joints
    both = [b for b in group_bones if seen[b[0]] and seen[b[1]]]
    traces.append(_coords(_segments(kp, both)))
  to_completed = [b for b in bones if not (seen[b[0]] and seen[b[1]])]
  traces.append(_coords(_segments(kp, to_completed)))
  for kind in (seen, ~seen):  # NaN (no marker) where a joint is the other
    traces.append(dict(_coords(np.where(kind[:, None], kp, np.nan)),
                       marker={"color": _rounded(spread_mm[t])}))
  return traces


def motion_figure(*, joints3d_mm, keypoints2d_px, spread_mm, visible,
                  skeleton: Skeleton = H36M_17, fps: float = 30.0,
                  image_size: tuple[float, float] | None = None,
                  title: str = "", hypotheses_mm=None,
                  max_frames: int = MAX_PAGE_FRAMES,
                  frame_images=None) -> dict[str, Any]:
  """The page's plotly figure as a JSON-ready dict (data, layout, frames).

  Arguments as for `write_motion_page`.  Each frame is named after the
  input frame it shows (str(t)); its traces are the 3D bones and joints
  (and hypotheses) in the view's axes (`camera_to_viewer`) and the 2D
  bones and joints in pixels, rounded to 0.1; with `frame_images`, its
  layout holds the video frame behind the 2D view.
  """
  (joints3d_mm, keypoints2d_px, spread_mm, visible, fps, image_size,
   hypotheses_mm, max_frames) = _check_inputs(
       joints3d_mm, keypoints2d_px, spread_mm, visible, skeleton, fps,
       image_size, hypotheses_mm, max_frames)
  num_frames = joints3d_mm.shape[0]
  stride = -(-num_frames // max_frames)
  shown = range(0, num_frames, stride)
  view = camera_to_viewer(joints3d_mm)
  drawn_hyps, hypotheses_name = None, None
  all_points = view.reshape(-1, 3)
  if hypotheses_mm is not None and hypotheses_mm.shape[1] > 1:
    drawn_hyps = camera_to_viewer(hypotheses_mm[:, :MAX_DRAWN_HYPOTHESES])
    hypotheses_name = (f"{drawn_hyps.shape[1]} of {hypotheses_mm.shape[1]} "
                       "hypotheses drawn")
    all_points = np.concatenate([all_points, drawn_hyps.reshape(-1, 3)])
  ranges, aspect = _axis_ranges(all_points)
  spread_max = max(float(spread_mm.max()), 1.0)
  groups = _bone_groups(skeleton)

  def frame_traces(t):
    return _frame_traces(t, view, drawn_hyps, keypoints2d_px, visible,
                         spread_mm, spread_max, groups, skeleton.bones)

  styles = _trace_styles(groups, list(skeleton.joint_names), hypotheses_name)
  data = [_merge(style, trace)
          for style, trace in zip(styles, frame_traces(shown[0]))]
  changing = list(range(len(data)))  # the legend keys stay as they are
  frames = [{"name": str(t), "data": frame_traces(t), "traces": changing}
            for t in shown]
  images = _images(frame_images, shown, image_size)
  for frame, image in zip(frames, images):
    if image is not None:
      frame["layout"] = {"images": [image]}
  note = (f"{num_frames} frames at {fps:g} fps (arrow keys: one frame)" +
          (f"; the page shows one frame in {stride} ({len(shown)} frames, "
           f"at most {max_frames} a page)" if stride > 1 else ""))
  layout = motion_layout.page_layout(
      title=title, note=note, ranges=ranges, aspect=aspect,
      range_2d=motion_layout.range_2d(keypoints2d_px, image_size), image_size=image_size,
      spread_max=spread_max, frame_ms=1000.0 * stride / fps,
      steps=[(str(t), f"{t} ({t / fps:.2f} s)") for t in shown],
      show_spread=bool(spread_mm.max() > 0), image=images[0])
  return {"data": data + _legend_keys(hypotheses_name), "layout": layout,
          "frames": frames}


def _images(frame_images, shown, image_size) -> list[dict | None]:
  """Each shown frame's background image (its own, else the last one
  before it that has one), or None for each without an image size."""
  if frame_images is None or image_size is None:
    return [None] * len(shown)
  if len(frame_images) < shown[-1] + 1:
    raise ValueError(f"frame_images: {len(frame_images)} entries for "
                     f"{shown[-1] + 1} frames")
  latest, path = [], None  # the last image at or before each frame
  for image in frame_images[:shown[-1] + 1]:
    path = image if image is not None else path
    latest.append(path)
  out, cache = [], {}
  for t in shown:
    if latest[t] is not None and latest[t] not in cache:
      with open(latest[t], "rb") as f:
        cache[latest[t]] = motion_layout.frame_image(f.read(), image_size)
    out.append(cache.get(latest[t]))
  return out


def _merge(style: dict, trace: dict) -> dict:
  """`style` updated by `trace`, merging nested dicts one level deep."""
  return {**style, **{key: {**style[key], **value} if isinstance(value, dict)
                      and key in style else value
                      for key, value in trace.items()}}


def write_motion_page(path: str | os.PathLike, *, joints3d_mm, keypoints2d_px,
                      spread_mm, visible, skeleton: Skeleton = H36M_17,
                      fps: float = 30.0,
                      image_size: tuple[float, float] | None = None,
                      title: str = "", hypotheses_mm=None,
                      max_frames: int = MAX_PAGE_FRAMES,
                      frame_images=None) -> str:
  """Writes the motion page to `path` (atomically); returns it as a str.

  Args:
    path: the .html file to write (directories are created).
    joints3d_mm: the chosen motion (e.g. the mean of the hypotheses), in
      the camera frame: x right, y down, z forward.  # [T, J, 3]
    keypoints2d_px: the 2D keypoints, image coordinates (y down); joints
      with visible=False may be NaN.  # [T, J, 2]
    spread_mm: each joint's spread over the hypotheses.  # [T, J]
    visible: True where a 2D joint was a condition, False where it was
      masked and completed.  # [T, J]
    skeleton: the joints' kinematic tree (bones and left/right colours).
    fps: the motion's frame rate, for the time shown and playback speed.
    image_size: (width, height) of the image in pixels, drawn as a
      rectangle and used as the 2D view's extent; None: fit the keypoints.
    title: shown above the views and as the page's title.
    hypotheses_mm: a few hypotheses drawn faintly, in the camera frame; at
      most `MAX_DRAWN_HYPOTHESES` are drawn.  # [T, H, J, 3]
    max_frames: the most frames the page holds; a longer motion is shown
      every k-th frame, k = ceil(T / max_frames), and the page says so.
    frame_images: per frame, a JPEG of the video frame (a path) or None;
      drawn behind the 2D view (needs `image_size`). A shown frame without
      one keeps the last image before it. The page embeds one image per
      shown frame: about 15 kB each at 320 px wide, so at most about 9 MB
      at `max_frames`=600.

  Raises:
    ValueError: an argument has the wrong shape or disagrees with the
      others in T, T is 0, joints3d_mm, spread_mm or hypotheses_mm hold
      NaN or inf, a visible 2D joint is NaN, or a setting is out of range;
      the message names the argument.
  """
  figure = motion_figure(
      joints3d_mm=joints3d_mm, keypoints2d_px=keypoints2d_px,
      spread_mm=spread_mm, visible=visible, skeleton=skeleton, fps=fps,
      image_size=image_size, title=title, hypotheses_mm=hypotheses_mm,
      max_frames=max_frames, frame_images=frame_images)
  figure_json = json.dumps(figure, separators=(",", ":"), allow_nan=False)
  # "<" escaped so no text in the data (a title) can close the script tag.
  figure_json = figure_json.replace("<", "\\u003c")
  page = motion_layout.PAGE_TEMPLATE.format(
      title=html.escape(title or "jaxpose motion"), plot_id=PLOT_ELEMENT_ID,
      figure_id=FIGURE_ELEMENT_ID, figure_json=figure_json,
      plotly_js=get_plotlyjs())
  return files.write_text_atomic(path, page)


def read_motion_page(path: str | os.PathLike) -> dict[str, Any]:
  """The figure (data, layout, frames) embedded in a page written here.

  Raises:
    ValueError: `path` holds no figure element of this module's pages.
  """
  with open(path, encoding="utf-8") as f:
    page = f.read()
  start_tag = f'<script type="application/json" id="{FIGURE_ELEMENT_ID}">'
  start = page.find(start_tag)
  end = page.find("</script>", start)
  if start < 0 or end < 0:
    raise ValueError(f"{os.fspath(path)}: no motion figure element "
                     f"(id {FIGURE_ELEMENT_ID!r}) found")
  return json.loads(page[start + len(start_tag):end])


__all__ = ["FIGURE_ELEMENT_ID", "MAX_DRAWN_HYPOTHESES", "MAX_PAGE_FRAMES",
           "camera_to_viewer", "motion_figure", "read_motion_page",
           "write_motion_page"]
