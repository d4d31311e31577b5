"""Tables of the video page (docs/results/video.md): one clip's keypoints
lifted and smoothed by DPoser, a joint the detector missed, and DPoser's
smoothing over every test clip. `video.py` puts `TABLES` on the page."""
from experiments.report import spec

_DEMO = ("python -m experiments.studies.lift_demo --workdir=runs/gfpose_img_s0 "
         "--config.data.cache_dir=caches --out=runs/lift_demo{suffix} "
         "--json=experiments/results/lift_demo{suffix}_cpu.json "
         "--smooth_with=runs/dposer_s0 --smooth_prior_weights=1,0{flag}")
# (the 2D's words, the JSON, the command)
_DEMOS = (("exact 2D", "lift_demo_cpu.json", _DEMO.format(suffix="", flag="")),
          ("noisy 2D (5 px + outliers)", "lift_demo_noisy_cpu.json",
           _DEMO.format(suffix="_noisy", flag=" --noisy")))
_SMOOTHED = (("smoothed: DPoser prior and temporal term (prior weight 1)",
              "smoothed[0]"),
             ("smoothed: temporal term alone (prior weight 0)", "smoothed[1]"))


def _demo_rows(words: str, file: str, command: str) -> list[spec.Row]:
  lifted = f"{words}/lifted"
  return [spec.Row(words, file, command, seeds="0", cells=(
      "lifted (mean of 20 hypotheses)",), name=lifted)] + [
          spec.Row(words, file, command, seeds="0", cells=(motion,), at=at,
                   name=f"{words}/{at}", baseline=lifted)
          for motion, at in _SMOOTHED]


DEMO = spec.Table(
    title="A video's keypoints lifted, and smoothed by DPoser",
    intro=("One test clip of jaxpose-mocap v1 (141 frames of CMU 005, people "
           "never seen in training, the first camera) written as a "
           "detector's keypoint file, from its exact 2D and from its noisy "
           "2D, lifted by GFPose mocap small in image space (20 hypotheses, "
           "ddim:eta=1 x 50) with `experiments/studies/lift_demo.py`, then smoothed "
           "by DPoser mocap small (windows of 60 frames, 180 Adam steps) "
           "with its prior and with the temporal term alone. MPJPE and the "
           "acceleration error (mm per frame^2, against the truth's) of the "
           "motion, their change against the lifted motion from the same "
           "2D, and seconds of the lift or the smoothing."),
    columns=(spec.Col("MPJPE", "mpjpe_mm", change="pct"),
             spec.Col("acceleration error", "accel_error_mm", change="pct"),
             spec.Col("seconds", "seconds")),
    rows=tuple(row for demo in _DEMOS for row in _demo_rows(*demo)),
    label_titles=("2D", "motion"),
    note=("The smoothing returns the motion plus its correction (the fit "
          "with the temporal term and the prior minus the fit without), so "
          "what the body cannot follow cancels. With noisy 2D it removes "
          "jitter and error alike; with exact 2D it trades a little error "
          "for less jitter. DPoser's prior adds nothing the temporal term "
          "does not give on these unseen people."),
    images=(("The lift's page for the exact 2D (headless Chromium "
             "screenshot)", "lift_demo_cpu.png"),
            ("The same for the noisy 2D", "lift_demo_noisy_cpu.png")))

MASKED = spec.Table(
    title="A joint the detector missed",
    intro=("The same clip with the left wrist's score below the detector "
           "threshold for one second (frames 60-89), so that GFPose "
           "completes it: its error (mm) where masked and where seen, and "
           "the spread of the 20 hypotheses (mm) in each."),
    columns=(spec.Col("error masked", "error_masked_mm"),
             spec.Col("error seen", "error_seen_mm"),
             spec.Col("spread masked", "spread_masked_mm"),
             spec.Col("spread seen", "spread_seen_mm")),
    rows=tuple(spec.Row(words, file, command, seeds="0", at="masked_joint")
               for words, file, command in _DEMOS),
    label_titles=("2D",),
    note=("Where the wrist is masked, its error and the hypotheses' spread "
          "both grow several-fold: the spread says where not to trust the "
          "completed joint."))

_CLIPS = ("python -m experiments.studies.smoothing_clips --workdir=runs/baseline_mocap "
          "--smooth_with=runs/dposer_s0 --config.data.cache_dir=caches "
          "--hypotheses=1 --json=experiments/results/smoothing_clips_{name}"
          "_cpu.json{flag}")
_CLIP_SETS = (("noisy", _CLIPS.format(name="noisy", flag="")),
              ("exact", _CLIPS.format(name="exact", flag=" --exact")))
# smoothed[0]: the DPoser workdir's own prior weight (`prior_weight` None);
# smoothed[1]: prior weight 0.
_WEIGHTS = (("smoothed, its own prior weight", "smoothed[0]"),
            ("smoothed, prior weight 0", "smoothed[1]"))


def _clip_rows(words: str, command: str, lifted_row: bool) -> list[spec.Row]:
  file = f"smoothing_clips_{words}_cpu.json"
  lifted = f"{words}/lifted"
  rows = [spec.Row(words, file, command, seeds="0", cells=(motion,), at=at,
                   name=f"{words}/{at}", baseline=lifted if lifted_row else "")
          for motion, at in _WEIGHTS]
  if lifted_row:
    rows.insert(0, spec.Row(words, file, command, seeds="0",
                            cells=("lifted",), at="lifted", name=lifted))
  return rows


CLIPS = spec.Table(
    title="DPoser's smoothing over every test clip",
    intro=("Every jaxpose-mocap v1 test clip (32 clips of CMU 005 and 007, "
           "2885 frames; the first camera, at most 300 frames a clip) "
           "written as a keypoint file of its noisy or exact 2D, lifted by "
           "the Martinez lifter (`runs/baseline_mocap`), then smoothed by "
           "DPoser mocap small at its own prior weight and with the "
           "temporal term alone. Frame-weighted means of MPJPE and the "
           "acceleration error (mm), and their change against the lifted "
           "motion from the same 2D."),
    columns=(spec.Col("MPJPE", "mpjpe_mm", change="pct"),
             spec.Col("acceleration error", "accel_error_mm", change="pct")),
    rows=tuple(row for words, command in _CLIP_SETS
               for row in _clip_rows(words, command, True)),
    label_titles=("2D", "motion"))

CLIPS_TARGET = spec.Table(
    title="DPoser's smoothing over every test clip: the target",
    intro=("The smoothed rows above against the target: the acceleration "
           "error at least 30% lower ('drop') with MPJPE at most 2% higher "
           "('rise')."),
    columns=(spec.Col("MPJPE rise", "mpjpe_rise", "+.1%"),
             spec.Col("acceleration error drop", "accel_drop", ".1%"),
             spec.Col("target", "met", "met")),
    rows=tuple(row for words, command in _CLIP_SETS
               for row in _clip_rows(words, command, False)),
    label_titles=("2D", "motion"),
    note=("The target is the noisy 2D's: smoothing is for a detector's "
          "jitter. From exact 2D the lifted motion's acceleration error is "
          "already a fraction of the noisy one's, there is little to remove, "
          "and the temporal term pulls the poses off: a clean detector's "
          "output is better left unsmoothed."))

TABLES = (DEMO, MASKED, CLIPS, CLIPS_TARGET)
