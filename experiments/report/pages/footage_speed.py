"""The footage page's speed tables (`footage.py`): a video file to 3D
motion, stage by stage, on each CPU met."""
from experiments.report import spec

ZEN4 = "2 CPU cores (AMD EPYC, Zen 4)"
_BENCH = ("python -m experiments.bench.video "
          "--workdirs=runs/lifter_cam,runs/{gfpose} --detect_every=1,2"
          "{out}")
_SPEED_INTRO = (
    "`experiments.lift --video`'s way, timed stage by stage "
    "(`experiments/bench/video.py`): the detector (decoding and "
    "MediaPipe Pose on two processes), the lift (restoring the "
    "model, compiling, every frame; GFPose: 20 hypotheses, its "
    "workdir's sampler and steps), its fit to the 2D (compiling "
    "included) and the outputs; frames per "
    "second of each, and the clip's duration over the whole time "
    "(above 1: faster than real time). Each as a user's first "
    "command on the machine and as the next, whose compiled "
    "programs the compilation cache keeps; detecting every frame "
    "or one in two (`--detect_every=2`).")


def _speed_table(title: str, file: str, hardware: str, command: str,
                 intro: str, note: str = "") -> spec.Table:
  return spec.Table(
      title=title, intro=intro,
      columns=(spec.Col("frames", "frames", "d"),
               spec.Col("clip fps", "clip_fps", ".0f"),
               spec.Col("detect fps", "detect_fps"),
               spec.Col("lift fps", "lift_fps"),
               spec.Col("fit s", "fit_seconds", ".2f"),
               spec.Col("seconds", "total_seconds"),
               spec.Col("x real time", "realtime_factor", ".2f")),
      rows=tuple(spec.Row(words, file, command, seeds="0", hardware=hardware,
                          at=(f"rows[clip={clip},method={method},"
                              f"detected_every={every},run={run}]"),
                          cells=(clip.replace("pose2sim_", "").replace(
                              "_demo", ""), f"1 in {every}",
                                 {"first": "first", "again": "later"}[run]),
                          name=f"{method}/{clip}/{every}/{run}")
                 for clip in ("pose2sim_cam01", "sports2d_demo")
                 for words, method in (("Martinez lifter camera", "baseline"),
                                       ("GFPose mocap camera", "gfpose"))
                 for every in (1, 2) for run in ("first", "again")),
      label_titles=("model", "clip", "frames detected", "command run"),
      note=note)


SPEED = _speed_table(
    "Speed: a video file to 3D motion", "bench_video_cpu.json",
    "2 CPU cores (Intel Xeon)",
    _BENCH.format(gfpose="gfpose_cam", out=""), _SPEED_INTRO,
    note=("The detector sets the lifter's pace; what else keeps a short "
          "clip from real time is the start (restoring the model, tracing "
          "and compiling the lift and the fit to 2D), which a later run "
          "shortens by loading the compiled programs and a longer clip "
          "spreads over more frames. Pose2Sim's clip is filmed at 60 fps, "
          "twice what the detector reaches on two cores. GFPose's 20 "
          "hypotheses are slower than the detector."))

SPEED_ZEN4 = _speed_table(
    "Speed on an AMD EPYC (Zen 4)", "bench_video_cpu_epyc_zen4.json", ZEN4,
    _BENCH.format(gfpose="gfpose_roll",
                  out=(" --out=experiments/results/"
                       "bench_video_cpu_epyc_zen4.json")),
    "The table above's command on another 2-core machine (GFPose: the "
    "any-roll workdir, whose work is the level one's).",
    note=("Here the lifter lifts the 30 fps clip faster than real time "
          "with every frame detected, its first run included: each core "
          "runs MediaPipe Pose faster than on the machine above. "
          "Pose2Sim's 60 fps clip is still out of reach of two cores."))
