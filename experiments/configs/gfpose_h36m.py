"""GFPose at the paper's size on Human3.6M, the papers' protocol.

Data: VideoPose3D's files (github.com/facebookresearch/VideoPose3D,
DATASETS.md; the Human3.6M licence lets nobody ship them): data_3d_h36m.npz
and a 2D file, data_2d_h36m_gt.npz (ground truth) or a detector's such as
data_2d_h36m_cpn_ft_h36m_dbb.npz (CPN, the default: the stacked-hourglass
file has 16 joints).  Train S1 S5 S6 S7 S8, test S9 S11, all four cameras,
17 joints, per-action figures over the 15 actions (jaxpose/data/h36m.py).
GFPose runs in its own image space at its authors' data scale
(gfpose_base.image_space); metrics are root-relative mm.  The test keeps
every 64th frame of each take (--config.data.test_stride=1: every frame,
as the papers score).  For an accelerator (gfpose_mocap.py:paper's
network, batch and steps on every training frame).

Commands (H36M = the folder holding the files):
  python -m experiments.main --config=experiments/configs/gfpose_h36m.py \
      --workdir=runs/gfpose_h36m_cpn --config.data.dir=$H36M
  # ground-truth 2D, train and test:
  python -m experiments.main --config=experiments/configs/gfpose_h36m.py \
      --workdir=runs/gfpose_h36m_gt --config.data.dir=$H36M \
      --config.data.path_2d=data_2d_h36m_gt.npz
  # the detection-trained model on ground-truth 2D (its own eval files):
  python -m experiments.main --config=experiments/configs/gfpose_h36m.py \
      --workdir=runs/gfpose_h36m_cpn --config.data.dir=$H36M --mode=eval \
      --config.data.test_path_2d=data_2d_h36m_gt.npz --config.eval.output_suffix=gt2d
Per-action figures: WORKDIR/eval/estimate.json, "per_activity".  Other
tasks: --mode=eval --config.eval.task=NAME.

Expected: not run here (no results file: the licensed data was not at hand); GFPose reports best-of-200 MPJPE / PA-MPJPE 35.6 / 30.5 mm with detected 2D, 16.9 mm MPJPE with ground-truth 2D.
"""
import ml_collections

from experiments.configs import gfpose_base


def data_config() -> ml_collections.ConfigDict:
  """The data section shared with baseline_h36m.py."""
  return ml_collections.ConfigDict(dict(
      name="h36m",
      # Folder of the files; '' looks in the working directory, then
      # $JAXPOSE_DATA (or ../shared/data) and its h36m/ subfolder.
      dir="",
      path_3d="data_3d_h36m.npz",
      # Any 17-joint 2D file in VideoPose3D's layout; its name after
      # 'data_2d_h36m_' is what the results call the input 2D.
      path_2d="data_2d_h36m_cpn_ft_h36m_dbb.npz",
      test_path_2d="",  # '' = path_2d
      train_subjects="S1,S5,S6,S7,S8", test_subjects="S9,S11",
      train_stride=1, test_stride=64,
      # Used by data.name=npz (any .npz of poses, jaxpose/data/npz_poses.py):
      # one file per split, either may be '' (no rows), and the published
      # cameras ('h36m:S1') for world-frame poses without their own.
      train_path="", test_path="", cameras="",
  ))


def get_config():
  c = gfpose_base.image_space(gfpose_base.get_config())
  c.data = data_config()
  # Every row of the strided test split; an accelerator samples 100 poses x
  # 200 hypotheses per call easily.
  c.eval.update(num_poses=10_000_000, batch_poses=100)
  return c
