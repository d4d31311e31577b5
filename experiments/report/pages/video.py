"""Results page docs/results/video.md: a video's keypoints to 3D motion."""
from experiments.report import spec
from experiments.report.pages import video_lift

_CAMERA = ("python -m experiments.main --config=experiments/configs/"
           "{config}.py:camera --workdir=runs/{config}_camera "
           "--config.data.cache_dir=caches")
_UNSEEN = (" --mode=eval --config.data.test_cameras={set} "
           "--config.eval.output_suffix={set}")
_SETS = (("training-range cameras", ""), ("distance unseen", "unseen_distance"),
         ("pitch unseen", "unseen_pitch"), ("focal length unseen", "unseen_focal"),
         ("all three unseen", "unseen"))


def _camera_rows(config: str, stem: str, model: str) -> list[spec.Row]:
  """The training-range row, then each unseen set against it."""
  return [spec.Row(
      label=model, cells=(words,), name=model + (name and "/" + name),
      file=f"{stem}{'_' + name if name else ''}.json",
      command=_CAMERA.format(config=config) + (
          _UNSEEN.format(set=name) if name else ""),
      seeds="0", hardware="2 CPU cores (x86_64)",
      baseline=model if name else "") for words, name in _SETS]


CAMERAS = spec.Table(
    title="Lifting under cameras never trained on",
    intro=("The camera-aware configs (`gfpose_mocap.py:camera`, "
           "`baseline_mocap.py:camera`) train on cameras drawn over "
           "3.5-6.5 m, -5 to 20 degrees of pitch and 1000-2000 px of focal "
           "length on a 1920 x 1080 image (`jaxpose/data/camera_rigs.py`). "
           "They are scored on the test people (CMU 005 and 007, first 500 "
           "rows, exact 2D) seen by one camera per clip from those ranges, "
           "then with one parameter outside its range (2.5-3.2 or 7.5-9.5 m; "
           "-15 to -8 or 25 to 35 degrees; 600-850 or 2400-3200 px) and "
           "with all three. MPJPE of the hypotheses' mean (GFPose, 200 "
           "hypotheses) or of the lifter's one pose, and its change against "
           "the training-range cameras."),
    columns=(spec.Col("MPJPE", "mpjpe_mm", change="pct"),
             spec.Col("PA-MPJPE", "pa_mpjpe_mm")),
    rows=(*_camera_rows("gfpose_mocap", "gfpose_mocap_camera_cpu_estimate",
                        "GFPose mocap camera"),
          *_camera_rows("baseline_mocap", "baseline_mocap_camera_cpu_estimate",
                        "Martinez lifter camera")),
    label_titles=("model", "cameras"),
    note=("Distance and focal length, what reading 2D in the camera's "
          "geometry is for, carry over. Pitch does not: a camera steeply "
          "above or below shows the body at an angle no training row did, "
          "which no normalisation of the 2D removes, and GFPose, which "
          "models the whole distribution of poses given the 2D, pays more "
          "for it than the lifter. PA-MPJPE, which aligns each pose's "
          "rotation and scale first, moves less than MPJPE: the cost is "
          "the body's orientation more than its shape. The target, every "
          "unseen set within 10% of the training range, is missed on pitch."))

PAGE = spec.Page(
    name="video", title="A video's keypoints to 3D motion",
    intro=("How well a lift reads 2D from cameras it never trained on, what "
           "DPoser's smoothing does to the lifted motion, and how long the "
           "lift command takes."),
    tables=(CAMERAS, *video_lift.TABLES))
