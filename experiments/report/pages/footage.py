"""Results page docs/results/footage.md: lifts of real people filmed by real
cameras, from a real detector's keypoints."""
from experiments.bench import public_clips
from experiments.report import spec

_HARDWARE = "2 CPU cores (x86_64)"
_TRAIN = ("python -m experiments.main --config=experiments/configs/"
          "{config}.py:camera --workdir=runs/{name} "
          "--config.data.cache_dir=caches; then python -m "
          "experiments.studies.real_footage --workdir=runs/{name} "
          "--name={name}")
# (the model's words, its config, the results file's name part)
_MODELS = (("Martinez lifter camera", "baseline_mocap", "lifter_cam"),
           ("GFPose mocap camera (mean of 20)", "gfpose_mocap", "gfpose_cam"))
_VIEWS = tuple(f"pose2sim_cam0{i}" for i in range(1, 5))


def _rows(clips) -> tuple[spec.Row, ...]:
  return tuple(
      spec.Row(words, f"real_footage_{name}_cpu.json",
               _TRAIN.format(config=config, name=name), seeds="0",
               hardware=_HARDWARE, at=f"rows[clip={clip},fit_2d={fit}]",
               cells=(clip.replace("pose2sim_", "").replace("_demo", ""),
                      "fitted" if fit else "as lifted"),
               name=f"{name}/{clip}{'/fit' if fit else ''}")
      for words, config, name in _MODELS for clip in clips
      for fit in (False, True))


_SELF = (spec.Col("bone-length variation %", "bone_length_variation_pct"),
         spec.Col("asymmetry %", "asymmetry_pct"),
         spec.Col("acceleration mm/s^2", "acceleration_mm_s2", ".0f"),
         spec.Col("reprojection px", "reprojection_px"),
         spec.Col("completed joints", "completed_joints", "d"))

REFERENCE = spec.Table(
    title="One view lifted, against four calibrated cameras",
    intro=(f"{public_clips.SOURCES['pose2sim']}, 100 frames at 60 fps of "
           "1080 x 1920. Each view's keypoints come from MediaPipe Pose "
           "0.10.14 (`experiments.lift --video`'s detector), left/right "
           "swaps undone; the four views' keypoints, triangulated with "
           "each view weighted by the detector's confidence, are the 3D "
           "reference (its reprojection into the view: column 'reference "
           "px'). Each view alone is lifted at its calibrated focal length "
           "(and then fitted onto its own 2D: `jaxpose.pose.fit_2d`, "
           "what `experiments.lift` does unless --nofit_2d) "
           "and scored in that camera's frame: MPJPE about the pelvis, "
           "PA-MPJPE, the root's depth error, and the lifted body's size "
           "(total bone length) over the reference's; then the lift's own "
           "figures: bone-length variation over time, left/right "
           "asymmetry, acceleration, and its reprojection onto the 2D it "
           "was lifted from."),
    columns=(spec.Col("MPJPE", "mpjpe_mm"),
             spec.Col("PA-MPJPE", "pa_mpjpe_mm"),
             spec.Col("root depth error", "root_depth_error_mm", ".0f"),
             spec.Col("size ratio", "size_ratio", ".2f"),
             spec.Col("reference px", "reference_reprojection_px"),
             *_SELF),
    rows=_rows(_VIEWS),
    label_titles=("model", "view", "motion"),
    note=("The reference is the detector's own landmarks in 3D: a hip is "
          "where the detector puts it, not a mocap joint centre, so part of "
          "the error is the difference between the detector's joints and "
          "the ones the models trained on. The lifted body's size follows "
          "the training people's proportions, and its root depth follows "
          "from the 2D torso's length and a 500 mm torso. The fit to 2D "
          "keeps that depth and the body's total size; it moves each "
          "joint within the image toward its keypoint, which brings the "
          "reprojection from tens of pixels to a few and the lift nearer "
          "the reference, yet leaves the error along the camera's axis, "
          "which the 2D cannot show."))

SINGLE = spec.Table(
    title="One camera, no reference",
    intro=(f"{public_clips.SOURCES['sports2d']}: the lift's own figures, "
           "as in the table above."),
    columns=_SELF,
    rows=_rows(("sports2d_demo",)),
    label_titles=("model", "clip", "motion"))

_BENCH = ("python -m experiments.bench.video "
          "--workdirs=runs/lifter_cam,runs/gfpose_cam")

SPEED = spec.Table(
    title="Speed: a video file to 3D motion",
    intro=("`experiments.lift --video`'s way, timed stage by stage "
           "(`experiments/bench/video.py`): the detector (decoding and "
           "MediaPipe Pose on two processes), the lift (restoring the "
           "model, compiling, every frame; GFPose: 20 hypotheses, its "
           "workdir's sampler and steps) and the outputs; frames per "
           "second of each, and the clip's duration over the whole time "
           "(above 1: faster than real time)."),
    columns=(spec.Col("frames", "frames", "d"),
             spec.Col("clip fps", "clip_fps", ".0f"),
             spec.Col("detect fps", "detect_fps"),
             spec.Col("lift fps", "lift_fps"),
             spec.Col("seconds", "total_seconds"),
             spec.Col("x real time", "realtime_factor", ".2f")),
    rows=tuple(spec.Row(words, "bench_video_cpu.json", _BENCH, seeds="0",
                        hardware=_HARDWARE,
                        at=f"rows[clip={clip},method={method}]",
                        cells=(clip.replace("pose2sim_", "").replace(
                            "_demo", ""),), name=f"{method}/{clip}")
               for clip in ("pose2sim_cam01", "sports2d_demo")
               for words, method in (("Martinez lifter camera", "baseline"),
                                     ("GFPose mocap camera", "gfpose"))),
    label_titles=("model", "clip"),
    note=("The detector sets the lifter's pace (25-33 frames a second on "
          "two cores), and the model's start (restoring and compiling, a "
          "second or two) weighs on a short clip: neither model is faster "
          "than real time on these 2 cores yet. GFPose's 20 hypotheses are "
          "slower than the detector."))

PAGE = spec.Page(
    name="footage", title="Real footage",
    intro=("Lifts of real people filmed by real cameras, from a real "
           "detector's keypoints: clips that registry packages ship, "
           "fetched at run time (`experiments/bench/public_clips.py`), "
           "never committed."),
    tables=(REFERENCE, SINGLE, SPEED))
