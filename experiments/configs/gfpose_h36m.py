"""GFPose at the paper's size on Human3.6M, the papers' protocol.

Data: VideoPose3D's files (github.com/facebookresearch/VideoPose3D,
DATASETS.md; the Human3.6M licence lets nobody ship them): data_3d_h36m.npz
and a 2D file, data_2d_h36m_gt.npz (ground truth) or a detector's such as
data_2d_h36m_cpn_ft_h36m_dbb.npz.  Train S1 S5 S6 S7 S8, test S9 S11, all
four cameras, 17 joints, camera frame in mm, per-action figures over the 15
actions (jaxpose/data/h36m.py has every choice).  GFPose runs in its own
image space at its authors' data scale (gfpose_base.image_space:
representation.space='image', normalised image coordinates times 30),
which these files support: they carry each row's camera.  Metrics are
root-relative mm, as in every space.

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
Per-action figures: WORKDIR/eval/estimate.json, "per_activity" (names in
"activity_names"), and the 15-action means beside them (README "Your own
data").  Other tasks: --mode=eval --config.eval.task=NAME.

Frame strides: the papers train on every frame (train_stride=1).  Martinez
et al. and VideoPose3D score every test frame; GFPose's released evaluation
scores every 640th row of its own test file (`--sample 640`, about 850
rows).  Here test_stride=64 keeps every 64th frame of each test take with
its four cameras (1/64 of the rows, every action), and eval.num_poses
covers them all; --config.data.test_stride=1 scores every frame (64 times
the rows to sample).

Runtime: for an accelerator: the network, batch and steps of
gfpose_mocap.py:paper, on every training frame; not for a CPU.
Results: none in experiments/results/ (the licensed files were not at
hand).  What the papers report on this protocol, best-of-200 MPJPE /
PA-MPJPE in mm averaged over the 15 actions: GFPose 35.6 / 30.5 with
detected 2D (the HPJ2D-000 setting; the authors' code reads
stacked-hourglass detections fine-tuned on Human3.6M, whose VideoPose3D
file has 16 joints and cannot feed a 17-joint model: CPN detections, the
default here, are the usual 17-joint stand-in and are more accurate) and
16.9 MPJPE with ground-truth 2D.  The Martinez et al. baseline
(baseline_h36m.py): 62.9 with detections, 45.5 with ground-truth 2D.
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
