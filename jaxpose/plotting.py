"""Matplotlib figures: 2D/3D skeletons, hypothesis fans, curves.

Uses the non-interactive Agg backend through `matplotlib.figure.Figure`
(no pyplot state, never shows a window).  Every function returns the
Figure and writes a PNG when `path` is given.  Left limbs are drawn in
blue, right limbs in red, the torso in black.  Every axis is labelled with
its unit: 3D poses in `unit` (mm by default), 2D poses in `unit_2d` (px, or
`SCREEN_UNIT` for `cameras.normalize_screen` coordinates); a curve's labels
are the caller's, e.g. "error (mm)".
"""
from __future__ import annotations

import os
from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import numpy as np  # noqa: E402

from jaxpose import files  # noqa: E402
from jaxpose.checks import check_array, check_positive_int  # noqa: E402
from jaxpose.pose.skeleton import H36M_17, Skeleton  # noqa: E402

LEFT_COLOR, RIGHT_COLOR, MID_COLOR = "tab:blue", "tab:red", "black"

# The unit of screen-normalised 2D (x_n = u / w * 2 - 1): half the image width.
SCREEN_UNIT = "half image widths"


def _bone_colors(skeleton: Skeleton) -> list[str]:
  left, right = set(skeleton.left), set(skeleton.right)
  colors = []
  for child, _ in skeleton.bones:
    colors.append(LEFT_COLOR if child in left else
                  RIGHT_COLOR if child in right else MID_COLOR)
  return colors


def _new_figure(width_in: float, height_in: float, dpi: int) -> Figure:
  fig = Figure(figsize=(width_in, height_in), dpi=dpi)
  FigureCanvasAgg(fig)
  return fig


def _save(fig: Figure, path, title: str | None = None) -> Figure:
  """Lays `fig` out (under `title`) and writes it to `path` (None: not)."""
  if title:
    fig.suptitle(title)
  fig.tight_layout()
  if path is not None:
    directory = os.path.dirname(os.fspath(path))
    if directory:
      os.makedirs(directory, exist_ok=True)
    # Atomic: a full disk never leaves an empty plot under its name.
    files.write_binary_atomic(path, lambda f: fig.savefig(
        f, format="png", dpi=fig.dpi))
  return fig


def draw_skeleton_2d(ax, pose2d, skeleton: Skeleton = H36M_17, *,
                     alpha: float = 1.0, lw: float = 2.0,
                     invert_y: bool = True, unit: str | None = "px") -> None:
  """Draws one 2D skeleton.  pose2d: [J, 2] (image coordinates, y down).

  unit: the coordinates' unit, written on both axes (None: no labels).
  """
  pose2d = np.asarray(pose2d)
  if unit is not None:
    ax.set_xlabel(f"x ({unit})")
    ax.set_ylabel(f"y ({unit})")
  for (c, p), color in zip(skeleton.bones, _bone_colors(skeleton)):
    ax.plot(pose2d[[p, c], 0], pose2d[[p, c], 1], color=color, alpha=alpha,
            lw=lw)
  ax.scatter(pose2d[:, 0], pose2d[:, 1], s=8, color="gray", alpha=alpha,
             zorder=3)
  ax.set_aspect("equal", adjustable="datalim")
  if invert_y and not ax.yaxis_inverted():
    ax.invert_yaxis()


def label_axes_3d(ax, up: str, unit: str = "mm") -> None:
  """Names a 3D axis's x, y, z after the pose's own axes (see `up`)."""
  names = {"z": ("x", "y", "z, up"), "-y": ("x", "z, depth", "-y, up")}
  if up not in names:
    _to_plot_axes(np.zeros((1, 3)), up)  # raises, naming `up`
  for set_label, name in zip((ax.set_xlabel, ax.set_ylabel, ax.set_zlabel),
                             names[up]):
    set_label(f"{name} ({unit})", fontsize=7, labelpad=-4)


def _to_plot_axes(pose3d, up: str):
  """Reorders coordinates so the body's up axis is matplotlib's z."""
  pose3d = np.asarray(pose3d)
  if up == "z":
    return pose3d
  if up == "-y":  # camera frame: x right, y down, z forward
    return np.stack([pose3d[..., 0], pose3d[..., 2], -pose3d[..., 1]], -1)
  raise ValueError(f"up: expected 'z' (world frame) or '-y' (camera frame), "
                   f"got {up!r}")


def draw_skeleton_3d(ax, pose3d, skeleton: Skeleton = H36M_17, *,
                     alpha: float = 1.0, lw: float = 2.0, color=None,
                     up: str = "-y") -> None:
  """Draws one 3D skeleton [J, 3] on a 3D axis; `up` names the vertical axis."""
  pts = _to_plot_axes(pose3d, up)
  colors = _bone_colors(skeleton)
  for (c, p), col in zip(skeleton.bones, colors):
    ax.plot(pts[[p, c], 0], pts[[p, c], 1], pts[[p, c], 2],
            color=color or col, alpha=alpha, lw=lw)


def _frame_3d(ax, pts, up: str, unit: str) -> None:
  """Equal scales around `pts` (plot axes), labels and the usual view."""
  label_axes_3d(ax, up, unit)
  ax.view_init(elev=15, azim=-70)
  pts = np.asarray(pts).reshape(-1, 3)
  mid = (pts.max(0) + pts.min(0)) / 2
  half = max(float((pts.max(0) - pts.min(0)).max()) / 2, 1e-6) * 1.05
  ax.set_xlim(mid[0] - half, mid[0] + half)
  ax.set_ylim(mid[1] - half, mid[1] + half)
  ax.set_zlim(mid[2] - half, mid[2] + half)
  ax.set_box_aspect((1, 1, 1))
  # Few small ticks: enough to read the scale without crowding a panel.
  for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
    axis.set_major_locator(MaxNLocator(4))
  ax.tick_params(labelsize=5, pad=0)


def plot_hypotheses(pose2d, gt3d, hyps3d, *, skeleton: Skeleton = H36M_17,
                    path=None, title: str | None = None,
                    max_hyps: int = 20, up: str = "-y", unit: str = "mm",
                    unit_2d: str = "px", dpi: int = 100) -> Figure:
  """Three panels: the 2D input, the 3D ground truth, hypotheses over it.

  Args:
    pose2d: 2D input skeleton (pixels or normalised screen).  # [J, 2]
    gt3d: ground-truth 3D pose.  # [J, 3]
    hyps3d: sampled hypotheses, drawn faint.  # [H, J, 3]
    skeleton: kinematic tree for the bones.
    path: where to write the PNG (directories are created).
    title: figure title.
    max_hyps: cap on the hypotheses drawn.
    up: vertical axis of the 3D poses: "-y" (camera frame) or "z" (world).
    unit: the 3D poses' unit, on the 3D axes.
    unit_2d: the 2D input's unit: "px", or `SCREEN_UNIT` for screen-
      normalised coordinates.
    dpi: resolution; the figure is 12 x 4 inches.
  """
  num_j = skeleton.num_joints
  check_array("pose2d", pose2d, (num_j, 2))
  check_array("gt3d", gt3d, (num_j, 3))
  check_array("hyps3d", hyps3d, (None, num_j, 3))
  hyps3d = np.asarray(hyps3d)[:check_positive_int("max_hyps", max_hyps)]
  fig = _new_figure(12, 4, dpi)
  ax = fig.add_subplot(1, 3, 1)
  draw_skeleton_2d(ax, pose2d, skeleton, unit=unit_2d)
  ax.set_title("2D input")
  ax2 = fig.add_subplot(1, 3, 2, projection="3d")
  draw_skeleton_3d(ax2, gt3d, skeleton, up=up)
  ax2.set_title("ground truth")
  ax3 = fig.add_subplot(1, 3, 3, projection="3d")
  for h in hyps3d:
    draw_skeleton_3d(ax3, h, skeleton, alpha=0.25, lw=1.0, up=up)
  draw_skeleton_3d(ax3, gt3d, skeleton, color="black", lw=2.0, up=up)
  ax3.set_title(f"{len(hyps3d)} hypotheses (black: truth)")
  pts = _to_plot_axes(np.concatenate([np.asarray(gt3d)[None], hyps3d]), up)
  for a in (ax2, ax3):
    _frame_3d(a, pts, up, unit)
  return _save(fig, path, title)


def plot_poses_3d(poses, *, skeleton: Skeleton = H36M_17, path=None,
                  titles: Sequence[str] | None = None, ncols: int = 4,
                  up: str = "z", title: str | None = None,
                  unit: str = "mm", dpi: int = 100) -> Figure:
  """A grid of 3D skeletons, each on its own axis.

  Args:
    poses: poses to draw.  # [N, J, 3]
    skeleton: kinematic tree.
    path: where to write the PNG.
    titles: one caption per pose.
    ncols: columns of the grid.
    up: "z" (world frame, default) or "-y" (camera frame).
    title: figure title.
    unit: the poses' unit, on every axis.
    dpi: resolution; each panel is 3 x 3 inches.
  """
  check_array("poses", poses, (None, skeleton.num_joints, 3))
  poses = np.asarray(poses)
  n = poses.shape[0]
  if n == 0:
    raise ValueError("poses: expected at least one pose, got shape "
                     f"{poses.shape}")
  if titles is not None and len(titles) != n:
    raise ValueError(f"titles: expected {n} captions, got {len(titles)}")
  ncols = min(check_positive_int("ncols", ncols), n)
  nrows = -(-n // ncols)
  fig = _new_figure(3 * ncols, 3 * nrows, dpi)
  for i in range(n):
    ax = fig.add_subplot(nrows, ncols, i + 1, projection="3d")
    draw_skeleton_3d(ax, poses[i], skeleton, up=up)
    _frame_3d(ax, _to_plot_axes(poses[i], up), up, unit)
    if titles is not None:
      ax.set_title(titles[i], fontsize=9)
  return _save(fig, path, title)


def plot_curve(xs, ys_by_label: Mapping[str, Sequence[float]], *, xlabel: str,
               ylabel: str, path=None, logx: bool = False,
               title: str | None = None, dpi: int = 100) -> Figure:
  """Line plot of one or more series over shared x values.

  Args:
    xs: x values (e.g. training steps or hypothesis counts H).  # [K]
    ys_by_label: legend label -> y values, each of length K.
    xlabel, ylabel: axis labels, each with its unit if any, e.g. "error (mm)".
    path: where to write the PNG.
    logx: logarithmic x axis (for error-vs-H).
    title: axis title.
    dpi: resolution; the figure is 6 x 4 inches.
  """
  xs = np.asarray(xs, np.float64)
  check_array("xs", xs, ("K",))
  if not ys_by_label:
    raise ValueError("ys_by_label: expected at least one series")
  if logx and np.any(xs <= 0):
    raise ValueError("xs: logx needs positive x values")
  fig = _new_figure(6, 4, dpi)
  ax = fig.add_subplot(1, 1, 1)
  for label, ys in ys_by_label.items():
    ys = np.asarray(ys, np.float64)
    if ys.shape != xs.shape:
      raise ValueError(f"ys_by_label[{label!r}]: expected shape {xs.shape} "
                       f"like xs, got {ys.shape}")
    ax.plot(xs, ys, marker="o", ms=3, label=str(label))
  if logx:
    ax.set_xscale("log")
  ax.set_xlabel(xlabel)
  ax.set_ylabel(ylabel)
  if title:
    ax.set_title(title)
  ax.grid(True, alpha=0.3)
  ax.legend()
  return _save(fig, path)
