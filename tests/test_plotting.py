"""Tests of jaxpose.plotting: PNGs are written, readable and sized as asked."""
import matplotlib.image as mpimg
import numpy as np
import pytest

from jaxpose import plotting
from jaxpose.data import synthetic


@pytest.fixture(scope="module")
def data():
  ds = synthetic.make_lifting_dataset(8, 2, seed=0)
  return ds["train"]


def _read(path):
  assert path.exists() and path.stat().st_size > 1000
  return mpimg.imread(str(path))


def test_plot_hypotheses(tmp_path, data):
  rng = np.random.default_rng(0)
  gt = data["pose3d"][0]
  hyps = gt[None] + rng.normal(0, 40, (30, 17, 3))
  path = tmp_path / "sub" / "hyps.png"
  fig = plotting.plot_hypotheses(data["pose2d_px"][0], gt, hyps, path=path,
                                 title="synthetic", dpi=50)
  img = _read(path)
  assert img.shape[:2] == (200, 600)  # 4 x 12 inches at 50 dpi
  assert len(fig.axes) == 3
  # Not a blank canvas.
  assert img[..., :3].std() > 0.05
  ax2d, gt_ax, hyps_ax = fig.axes
  assert (ax2d.get_xlabel(), ax2d.get_ylabel()) == ("x (px)", "y (px)")
  for ax in (gt_ax, hyps_ax):  # camera frame: depth and up drawn as y, z
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_zlabel()) == (
        "x (mm)", "z, depth (mm)", "-y, up (mm)")


def test_every_axis_names_its_unit(data):
  fig = plotting.plot_hypotheses(
      data["pose2d"][0], data["pose3d"][0], data["pose3d"][:1] / 1000,
      unit="m", unit_2d=plotting.SCREEN_UNIT, up="z")
  assert fig.axes[0].get_xlabel() == "x (half image widths)"
  assert fig.axes[1].get_zlabel() == "z, up (m)"
  fig = plotting.plot_poses_3d(data["pose3d_world"][:2])
  for ax in fig.axes:
    labels = (ax.get_xlabel(), ax.get_ylabel(), ax.get_zlabel())
    assert labels == ("x (mm)", "y (mm)", "z, up (mm)")
  with pytest.raises(ValueError, match="up"):
    plotting.plot_poses_3d(data["pose3d_world"][:2], up="x")


def test_plot_poses_3d(tmp_path, data):
  path = tmp_path / "grid.png"
  plotting.plot_poses_3d(data["pose3d_world"][:6], titles=[str(i) for i in range(6)],
                         ncols=3, path=path, dpi=40)
  img = _read(path)
  assert img.shape[:2] == (240, 360)  # 2 x 3 panels of 3 inches


def test_plot_curve(tmp_path):
  path = tmp_path / "curve.png"
  plotting.plot_curve([1, 10, 100], {"minMPJPE": [60, 45, 35], "mean": [62, 61, 60]},
                      xlabel="hypotheses H", ylabel="error (mm)", logx=True,
                      path=path, dpi=50)
  img = _read(path)
  assert img.shape[:2] == (200, 300)


def test_no_path_returns_figure(data):
  fig = plotting.plot_poses_3d(data["pose3d_world"][:2])
  assert len(fig.axes) == 2


def test_bad_shapes(data):
  gt = data["pose3d"][0]
  with pytest.raises(ValueError, match="pose2d"):
    plotting.plot_hypotheses(np.zeros((17, 3)), gt, gt[None])
  with pytest.raises(ValueError, match="hyps3d"):
    plotting.plot_hypotheses(np.zeros((17, 2)), gt, gt)
  with pytest.raises(ValueError, match="poses"):
    plotting.plot_poses_3d(np.zeros((2, 16, 3)))
  with pytest.raises(ValueError, match="titles"):
    plotting.plot_poses_3d(np.zeros((2, 17, 3)), titles=["a"])
  with pytest.raises(ValueError, match="ys_by_label"):
    plotting.plot_curve([1, 2], {"a": [1, 2, 3]}, xlabel="x", ylabel="y")
  with pytest.raises(ValueError, match="logx"):
    plotting.plot_curve([0, 2], {"a": [1, 2]}, xlabel="x", ylabel="y", logx=True)
