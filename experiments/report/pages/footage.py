"""Results page docs/results/footage.md: lifts of real people filmed by real
cameras, from a real detector's keypoints."""
from experiments.bench import public_clips
from experiments.report import spec
from experiments.report.pages import footage_depth
from experiments.report.pages import footage_speed

_HARDWARE = "2 CPU cores (x86_64)"
_MAP_CMD = ("python -m experiments.studies.detector_joints "
            "--workdir=runs/lifter_cam --name=lifter_cam --cache_dir=caches")
_MAP_FILE = "experiments/results/detector_joints_lifter_cam_cpu.json"
_TRAIN = ("python -m experiments.main --config=experiments/configs/"
          "{config}.py:camera --workdir=runs/{name} "
          "--config.data.cache_dir=caches; " + _MAP_CMD + "; then python -m "
          "experiments.studies.real_footage --workdir=runs/{name} "
          "--name={name} --joint_map=" + _MAP_FILE + " --detect_every=2")
# (the model's words, its config, the results file's name part)
_MODELS = (("Martinez lifter camera", "baseline_mocap", "lifter_cam"),
           ("GFPose mocap camera (mean of 20)", "gfpose_mocap", "gfpose_cam"))
_VIEWS = tuple(f"pose2sim_cam0{i}" for i in range(1, 5))


# (fitted onto its 2D, the camera, the row's words)
_AS_LIFTED = (False, "default", "as lifted")
_FITTED = (True, "default", "fitted")
_CALIBRATED = ((False, "calibrated", "as lifted"), (True, "calibrated", "fitted"),
               (True, "default", "fitted, default camera"),
               (True, "calibrated_map", "fitted, joint map"),
               (True, "calibrated_level", "fitted, level"),
               (True, "calibrated_level_map", "fitted, level, joint map"),
               (True, "calibrated_every2", "fitted, 1 frame in 2 detected"))
# The people's table and the seeds': fitted, at the calibrated focal length.
_PEOPLE_CAMERAS = (("calibrated", "fitted"),
                   ("calibrated_map", "fitted, joint map"),
                   ("calibrated_level", "fitted, level"),
                   ("calibrated_level_map", "fitted, level, joint map"))


def _rows(clips, variants=(_AS_LIFTED, _FITTED)) -> tuple[spec.Row, ...]:
  return tuple(
      spec.Row(words, f"real_footage_{name}_cpu.json",
               _TRAIN.format(config=config, name=name), seeds="0",
               hardware=_HARDWARE,
               at=f"rows[clip={clip},fit_2d={fit},camera={camera}]",
               cells=(clip.replace("pose2sim_", "").replace("_demo", ""),
                      label),
               name=f"{name}/{clip}/{'fit' if fit else 'lift'}/{camera}")
      for words, config, name in _MODELS for clip in clips
      for fit, camera, label in variants)


# What the level models' files (the Xeon's) hold of the two-person clip.
_EARLIER = ("These files were made before the detector's tracks compared "
            "the torso's colour: in them cam03 unfollowed is one track, "
            "and P1 followed in cam03 is P2 from frame 78 on (the tables "
            "of models trained on any roll, below, are made with it).")

# What the Xeon's files (the level models') predate.
_NO_DEPTH = ("These files were made before the fit to 2D took the "
             "detector's own depth: their fitted rows fit the lift's depths "
             "alone.")

# Against a reference: the errors and the trunk's wrong lean.
_SCORES = (spec.Col("MPJPE", "mpjpe_mm"), spec.Col("PA-MPJPE", "pa_mpjpe_mm"),
           spec.Col("lean error deg", "trunk_angle_error_deg"))

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
           "what `experiments.lift` does unless --nofit_2d; and, fitted, "
           "under the default camera a user without intrinsics gets, a "
           "47.1 degree field of view across the longer side where these "
           "cameras have 59.5) "
           "and scored in that camera's frame: MPJPE about the pelvis, "
           "PA-MPJPE, the median angle between the lift's pelvis-thorax "
           "line and the reference's ('lean error'), the root's depth "
           "error, and the lifted body's size (total bone length) over the "
           "reference's; then the lift's own "
           "figures: bone-length variation over time, left/right "
           "asymmetry, acceleration, and its reprojection onto the 2D it "
           "was lifted from. " + _NO_DEPTH),
    columns=(*_SCORES,
             spec.Col("root depth error", "root_depth_error_mm", ".0f"),
             spec.Col("size ratio", "size_ratio", ".2f"),
             spec.Col("reference px", "reference_reprojection_px"),
             spec.Col("camera roll deg", "camera_roll_deg"),
             *_SELF),
    rows=_rows(_VIEWS, _CALIBRATED),
    label_titles=("model", "view", "motion"),
    note=("The reference is the detector's own landmarks in 3D: a hip is "
          "where the detector puts it, not a mocap joint centre, so part of "
          "the error is the difference between the detector's joints and "
          "the ones the models trained on. The lifted body's size follows "
          "the training people's proportions, and its root depth follows "
          "from the 2D torso's length and a 500 mm torso. Without the "
          "calibration the pose is the same within a few millimetres and "
          "the root lands too far, by the ratio of the default focal "
          "length to the true one. The fit to 2D "
          "keeps that depth and the body's total size; it moves each "
          "joint within the image toward its keypoint, which brings the "
          "reprojection from tens of pixels to a few and the lift nearer "
          "the reference, yet leaves the error along the camera's axis, "
          "which the 2D cannot show. 'joint map': the view's keypoints "
          "first moved to the training rig's joints by the map of the "
          "table below (`--joint_map`; its root depth from the rig's "
          "torso), the lift moved back to the detector's joints to be "
          "scored. 'level': the calibration's roll given as well "
          "(`--roll_deg`; column 'camera roll'): the keypoints turned as "
          "a level camera would see them, the lift turned back. The map "
          "was "
          "measured on this clip's reference, so "
          "these rows have seen this person's proportions (eight ratios; "
          "a person's own differ from another's by a few percent, the "
          "detector's from the rig's by tens). '1 frame in 2 detected': "
          "the detector run on every second frame, the others filled in "
          "(`--detect_every=2`), against the same reference."))

_BODIES = (("detector (triangulated)", "detector"), ("training rig", "rig"),
           ("detector, mapped", "detector_mapped"))

JOINTS = spec.Table(
    title="The detector's joints against the training rig's",
    intro=("`experiments/studies/detector_joints.py`: the body of the "
           "table above's reference (the detector's keypoints, "
           "triangulated) and the training rows' body, each as lengths "
           "over the leg's (thigh + shin; medians over frames), and the "
           "detector's body moved by the joint map "
           "(`jaxpose.pose.detector_joints`) measured to match them: the "
           "hips and shoulders drawn in and moved along the trunk, the "
           "thorax lowered, the neck moved from the nose toward the "
           "thorax. The results file is itself the map file "
           "(`experiments.lift --joint_map`)."),
    columns=tuple(spec.Col(title, key, ".3f") for title, key in (
        ("thigh", "thigh"), ("upper arm", "upper_arm"),
        ("hip width", "hip_width"), ("shoulder width", "shoulder_width"),
        ("pelvis-thorax", "trunk"), ("thorax-neck", "thorax_to_neck"),
        ("neck-head", "neck_to_head"),
        ("thorax-shoulder", "thorax_to_shoulder"))),
    rows=tuple(spec.Row(words, "detector_joints_lifter_cam_cpu.json",
                        _MAP_CMD, seeds="0", hardware=_HARDWARE,
                        at=f"ratios.{key}", name=f"ratios/{key}")
               for words, key in _BODIES),
    label_titles=("body",),
    note=("A definition, not a person: against the leg, MediaPipe's hips "
          "and shoulders lie far wider apart than the rig's joints, its "
          "trunk is longer, and its 'neck' is the nose, far above the "
          "rig's neck joint. The elbows and knees are left where the "
          "detector puts them, so the arm and thigh keep their "
          "difference."))

SINGLE = spec.Table(
    title="One camera, no reference",
    intro=(f"{public_clips.SOURCES['sports2d']}: the lift's own figures, "
           "as in the table above, over the frames of the person lifted "
           "(the clip shows three people in turn: the tracks, as below)."),
    columns=(spec.Col("tracks", "followed", "s"),
             spec.Col("frames lifted", "frames_seen", "d"), *_SELF),
    rows=_rows(("sports2d_demo",)),
    label_titles=("model", "clip", "motion"))

MULTI = spec.Table(
    title="Two people: the person followed",
    intro=(f"{public_clips.source('pose2sim_multi_cam01')}. MediaPipe's Pose "
           "follows one person and may jump to the other; its keypoints are "
           "split into tracks where the torso jumps or changes size between "
           "frames (`jaxpose.video.tracks`), and the largest, most central, "
           "most persistent track is lifted (`--person` chooses another). "
           "'tracks': frames per track; then the lift's own figures over "
           "the frames of the person lifted. " + _EARLIER),
    columns=(spec.Col("tracks", "followed", "s"),
             spec.Col("frames lifted", "frames_seen", "d"), *_SELF),
    rows=_rows(tuple(f"pose2sim_multi_cam0{i}" for i in range(1, 5))),
    label_titles=("model", "view", "motion"),
    note=("The views follow different people (the one in front in each, "
          "bar one view where the detector began on the person behind); "
          "the table below follows each person in every view."))

PEOPLE = spec.Table(
    title="Two people, each followed, each against their own reference",
    intro=("The two-person clip with each person followed in every view "
           "from a pixel on their torso in the first frame (`--person_at`: "
           "the detector sees only the part of each frame around them), "
           "the four views triangulated into that person's reference "
           "(its reprojection: 'reference px'), and each view lifted at its "
           "calibrated focal length and fitted, as in the first table, "
           "through the joint map measured on the single-person clip, and "
           "level (the calibration's roll given). P1, "
           "who looks like the single-person clip's person, stands behind "
           "P2 in two views; P2 is someone else. " + _EARLIER + " "
           + _NO_DEPTH),
    columns=(*_SCORES,
             spec.Col("size ratio", "size_ratio", ".2f"),
             spec.Col("reference px", "reference_reprojection_px"),
             spec.Col("reprojection px", "reprojection_px")),
    rows=tuple(
        spec.Row(words, f"real_footage_{name}_cpu.json",
                 _TRAIN.format(config=config, name=name), seeds="0",
                 hardware=_HARDWARE,
                 at=f"rows[clip={clip},subject={subject},camera={camera}]",
                 cells=(subject, clip.replace("pose2sim_multi_", ""), label),
                 name=f"{name}/{subject}/{clip}/{camera}")
        for words, config, name in _MODELS for subject in ("P1", "P2")
        for clip in tuple(f"pose2sim_multi_cam0{i}" for i in range(1, 5))
        for camera, label in _PEOPLE_CAMERAS),
    label_titles=("model", "person", "view", "motion"),
    note=("A person hidden behind another in some views gets a noisier "
          "reference and a worse lift (P1). On P2, whose body is the least "
          "like the training people's, GFPose's mean is closer than the "
          "lifter in every view; on P1, as on the single-person clip, the "
          "two are close. The joint map, scored back in the detector's "
          "joints (which multiplies an error of the hips' or shoulders' "
          "width by the inverse of the map's narrowing), lowers PA-MPJPE "
          "in nearly every view of people it was not measured on, as of "
          "the one it was; it raises the lean error and the size about as "
          "often, so MPJPE goes either way."))

_SEEDS_CMD = (
    "for S in 1 2; do python -m experiments.main --config=experiments/"
    "configs/gfpose_mocap.py:camera --workdir=runs/gfpose_cam_s$S "
    "--config.data.cache_dir=caches --config.seed=$S; python -m "
    "experiments.studies.real_footage --workdir=runs/gfpose_cam_s$S "
    "--name=gfpose_cam_s$S --seed=$S --joint_map=" + _MAP_FILE
    + " --detect_every=2; done; python -m experiments.studies."
    "real_footage_seeds --names=gfpose_cam,gfpose_cam_s1,gfpose_cam_s2 "
    "--out_name=gfpose_cam")
# The any-roll seeds' files hold the fit without the detector's depth too.
_ROLL_SEED_CAMERAS = (_PEOPLE_CAMERAS[0],
                      ("calibrated_nodepth", "fitted, the lift's depths alone"),
                      *_PEOPLE_CAMERAS[1:])


def _seed_views(cameras):
  return (*((f"pose2sim_cam0{i}", "", camera, label) for i in range(1, 5)
            for camera, label in cameras),
          *((f"pose2sim_multi_cam0{i}", subject, camera, label)
            for subject in ("P1", "P2") for i in range(1, 5)
            for camera, label in cameras))

_SEEDS_COLUMNS = (spec.Col("MPJPE", "mpjpe_mm"),
                  spec.Col("MPJPE sd", "mpjpe_std_mm"),
                  spec.Col("PA-MPJPE", "pa_mpjpe_mm"),
                  spec.Col("PA-MPJPE sd", "pa_mpjpe_std_mm"),
                  spec.Col("targets", "targets_met", "met"))


def _seed_rows(words: str, name: str, command: str, hardware: str,
               cameras=_PEOPLE_CAMERAS) -> tuple[spec.Row, ...]:
  return tuple(
      spec.Row(words, f"real_footage_{name}_seeds_cpu.json", command,
               seeds="0, 1, 2", hardware=hardware,
               at=(f"rows[clip={clip},camera={camera},fit_2d=True,"
                   f"detected_every=1" + (f",subject={subject}]"
                                          if subject else "]")),
               cells=(subject or "single-person clip", clip.replace(
                   "pose2sim_multi_", "").replace("pose2sim_", ""), label),
               name=f"seeds/{name}/{subject}/{clip}/{camera}")
      for clip, subject, camera, label in _seed_views(cameras))


SEEDS = spec.Table(
    title="GFPose over three training seeds, against the targets",
    intro=("The camera-aware GFPose trained with seeds 0, 1 and 2, each "
           "lifting every calibrated view of the tables above (mean of 20 "
           "hypotheses, fitted; through the joint map; level): MPJPE and "
           "PA-MPJPE over the seeds (mean and standard deviation), and "
           "whether the mean meets the targets of at most 120 mm MPJPE "
           "and 75 mm PA-MPJPE. " + _EARLIER + " " + _NO_DEPTH),
    columns=_SEEDS_COLUMNS,
    rows=_seed_rows("GFPose mocap camera (mean of 20)", "gfpose_cam",
                    _SEEDS_CMD, _HARDWARE),
    label_titles=("model", "person", "view", "motion"),
    note=("The seeds agree within a few millimetres, so the differences "
          "between views, people and the joint map above are the model's, "
          "not one seed's. The targets are met on three views: two of the "
          "single-person clip through the joint map, and one of P2's "
          "level. Given the roll, the rolled views' MPJPE falls most; "
          "the distance left elsewhere is still mostly MPJPE, the body's "
          "lean and depth order, which PA-MPJPE forgives."))

_ZEN4 = footage_speed.ZEN4
_ROLL_TRAIN = ("python -m experiments.main --config=experiments/configs/"
               "{config}.py:{variant} --workdir=runs/{workdir} "
               "--config.data.cache_dir=caches; python -m experiments.studies."
               "real_footage --workdir=runs/{workdir} --name={name} "
               "--joint_map=" + _MAP_FILE + " --detect_every=2")
# The bodies page's 'wide' arm: other proportions and mirrored rows.
_WIDE = ("--config.data.train_bodies=0.5 --config.data.train_body_spread=4 "
         "--config.train.mirror=0.5")
# (the model's words, config, variant, workdir, results name part, hardware)
_ROLL_MODELS = (
    ("Martinez lifter camera, level training", "baseline_mocap", "camera",
     "lifter_cam", "lifter_cam_zen4", _ZEN4),
    ("Martinez lifter camera, any roll", "baseline_mocap", "camera_roll",
     "lifter_roll", "lifter_roll", _ZEN4),
    ("Martinez lifter camera, any roll, wide bodies and mirror",
     "baseline_mocap", "camera_roll " + _WIDE, "lifter_roll_wide",
     "lifter_roll_wide", _ZEN4),
    ("GFPose mocap camera, level training (mean of 20)", "gfpose_mocap",
     "camera", "gfpose_cam", "gfpose_cam", "2 CPU cores (Intel Xeon)"),
    ("GFPose mocap camera, any roll (mean of 20)", "gfpose_mocap",
     "camera_roll", "gfpose_roll", "gfpose_roll", _ZEN4))
_ROLL_CAMERAS = (("calibrated", "fitted"),
                 ("calibrated_map", "fitted, joint map"),
                 ("calibrated_level_map", "fitted, level, joint map"))

ROLL = spec.Table(
    title="A roll nobody gives: training on turned cameras",
    intro=("The camera-aware models trained on cameras turned about their "
           "optical axes by up to 30 degrees either way "
           "(`:camera_roll`, `train_cameras='varied_roll'`) beside the "
           "same models trained on level cameras (within 3 degrees), on the "
           "single-person clip's four views as in the first table: fitted "
           "at the calibrated focal length, with the roll not given (the "
           "first two motions of each view) and given ('level'); and the "
           "two-person clip's people, each followed as in the table of "
           "two people, lifted as a user would (fitted, neither map nor "
           "roll given). Seed 0 of each. The single-person clip's "
           "keypoints, and so its reference, are the same on both "
           "machines; the level GFPose's file, the Xeon's, holds the "
           "two-person clip as detected before the colour check (the "
           "tables above), so its P1 rows are not comparable with the "
           "others', and it predates the detector's depth in the fit (its "
           "fitted rows fit the lift's depths alone; every other row here "
           "is fitted with it). The level lifter here is a second "
           "training of the first table's, on this machine. 'wide bodies "
           "and mirror': the any-roll lifter trained as well on clips "
           "re-posed with bodies of other proportions and on mirrored rows "
           "(the bodies page's 'wide' arm)."),
    columns=(*_SCORES, spec.Col("camera roll deg", "camera_roll_deg")),
    rows=tuple(
        spec.Row(words, f"real_footage_{name}_cpu.json",
                 _ROLL_TRAIN.format(config=config, variant=variant,
                                    workdir=workdir, name=name),
                 seeds="0", hardware=hardware,
                 at=(f"rows[clip={clip},fit_2d=True,camera={camera}"
                     + (f",subject={subject}]" if subject else "]")),
                 cells=(subject or "single-person clip", clip.replace(
                     "pose2sim_multi_", "").replace("pose2sim_", ""), label),
                 name=f"{name}/{subject}/{clip}/{camera}")
        for words, config, variant, workdir, name, hardware in _ROLL_MODELS
        for clip, subject, camera, label in (
            *((clip, "", camera, label) for clip in _VIEWS
              for camera, label in _ROLL_CAMERAS),
            *((f"pose2sim_multi_cam0{i}", subject, "calibrated", "fitted")
              for subject in ("P1", "P2") for i in range(1, 5)))),
    label_titles=("model", "person", "view", "motion"),
    note=("Trained on turned cameras, a model no longer reads a turned "
          "camera as a leaning body: with the roll not given, the two "
          "turned views come out about as close as with the roll given, "
          "and the any-roll lifter closer than the level-trained one (the "
          "level GFPose's rows, fitted without the detector's depth, are "
          "not like for like with the others'). Fitted with it, "
          "cam03 is the farthest from the targets for every model: there "
          "that depth is the farther from the reference (the tables of "
          "the detector's depth below). Other bodies and mirrored rows "
          "leave the lifter no closer: farther through the joint map in "
          "every view of the single-person clip, either way without it."))


def _roll_seeds_cmd(config: str, name: str) -> str:
  return (_ROLL_TRAIN.format(config=config, variant="camera_roll",
                             workdir=name, name=name)
          + "; for S in 1 2; do python -m experiments.main --config="
          f"experiments/configs/{config}.py:camera_roll --workdir=runs/"
          f"{name}_s$S --config.data.cache_dir=caches --config.seed=$S; "
          f"python -m experiments.studies.real_footage --workdir=runs/"
          f"{name}_s$S --name={name}_s$S --seed=$S --joint_map={_MAP_FILE}"
          " --detect_every=2; done; python -m experiments.studies."
          f"real_footage_seeds --names={name},{name}_s1,{name}_s2 "
          f"--out_name={name}")


ROLL_SEEDS = spec.Table(
    title="Trained on any roll, over three training seeds",
    intro=("The table of three seeds above, for the models trained on "
           "turned cameras (`:camera_roll`)."),
    columns=_SEEDS_COLUMNS,
    rows=(*_seed_rows("GFPose mocap camera, any roll (mean of 20)",
                      "gfpose_roll", _roll_seeds_cmd("gfpose_mocap",
                                                     "gfpose_roll"), _ZEN4,
                      _ROLL_SEED_CAMERAS),
          *_seed_rows("Martinez lifter camera, any roll", "lifter_roll",
                      _roll_seeds_cmd("baseline_mocap", "lifter_roll"),
                      _ZEN4, _ROLL_SEED_CAMERAS)),
    label_titles=("model", "person", "view", "motion"),
    note=("Fitted with the detector's depth, as `experiments.lift` "
          "fits, both any-roll models meet both targets over three seeds "
          "in four views without a map: cam01 and cam04 of the "
          "single-person clip and P2's cam02 and cam04; with the lift's "
          "depths alone GFPose meets them in two and the lifter in none. "
          "Neither meets them in cam02 with that depth (PA-MPJPE misses "
          "by a few millimetres), nor in cam03, where the detector's "
          "depth leaves both models farther than the lift's depths alone, "
          "nor in any view of P1 (in cam03 P1's own 2D stands beyond the "
          "PA-MPJPE target with every depth right: the table of what each "
          "view's 2D leaves, below). The seeds agree within a few millimetres. "
          "Lifted as a user would, GFPose's mean and the lifter are within "
          "a few millimetres on the single-person clip, the lifter a "
          "little the closer for P1 on the whole, GFPose the closer in "
          "MPJPE in every view of P2, least like the training people."))

_BY_FRAMES = tuple(
    spec.Col(f"{kind} {title}", f"by_frames.{kind}.{field}", fmt)
    for kind in ("whole", "completed")
    for title, field, fmt in (("frames", "frames", "d"),
                              ("MPJPE", "mpjpe_mm", ".1f"),
                              ("PA-MPJPE", "pa_mpjpe_mm", ".1f")))

BY_FRAMES = spec.Table(
    title="Where the error lies: frames seen whole, frames completed",
    intro=("The any-roll models' three-seed rows above (calibrated focal "
           "length, fitted), their errors apart over the frames where the "
           "detector placed every joint ('whole') and over those with a "
           "joint the lift completed ('completed': below the detector's "
           "threshold, or the followed person not found): how far the "
           "completed frames can be trusted, and how much of a view's "
           "error they carry."),
    columns=_BY_FRAMES,
    rows=tuple(row for row in ROLL_SEEDS.rows
               if row.at.startswith("rows[") and
               ",camera=calibrated," in row.at),
    label_titles=("model", "person", "view", "motion"),
    note=("Completed joints are not what makes a view miss the targets. On "
          "the single-person clip and for P2, the frames with a completed "
          "joint have about the PA-MPJPE of the frames seen whole (their "
          "MPJPE is sometimes higher: a completed joint moves the body's "
          "depth more than its shape). For P1 in cam03 the frames seen "
          "whole are the worst: there the detector placed every joint with "
          "confidence while P1 was hidden behind P2."))

_SIZE_CMD = ("python -m experiments.studies.body_size "
             "--workdirs=runs/lifter_cam,runs/gfpose_cam --cache_dir=caches")

SIZE = spec.Table(
    title="The test rows: size, not orientation",
    intro=("The camera-aware models of the table above on the project's own "
           "mocap test rows (`experiments/studies/body_size.py`): the same "
           "500 rows, exact 2D; GFPose's mean of 20 hypotheses. N-MPJPE "
           "scales the answer by the one factor that fits best "
           "(`metrics.n_mpjpe`): what remains once the body's size is "
           "forgiven; PA-MPJPE forgives its orientation as well. 'size': "
           "the answer's total bone length over the truth's, for the mean "
           "and for one hypothesis."),
    columns=(spec.Col("MPJPE", "mpjpe_mm"),
             spec.Col("N-MPJPE", "n_mpjpe_mm"),
             spec.Col("PA-MPJPE", "pa_mpjpe_mm"),
             spec.Col("size", "size_ratio", ".2f"),
             spec.Col("size of one hypothesis", "hypothesis_size_ratio",
                      ".2f")),
    rows=tuple(spec.Row(words, "body_size_cpu.json", _SIZE_CMD, seeds="0",
                        hardware=_HARDWARE, at=f"rows[method={method}]",
                        name=f"size/{method}")
               for words, method in (("Martinez lifter camera", "baseline"),
                                     ("GFPose mocap camera (mean of 20)",
                                      "gfpose"))),
    label_titles=("model",),
    note=("Most of GFPose's extra error is size: scaled to fit, it is "
          "within a few centimetres of the lifter, and aligned in rotation "
          "too, within one. A generative model draws the bodies it was "
          "trained on, and these were nearly all Bandai-Namco's single "
          "skeleton, smaller than the CMU people of the test rows (the "
          "table below); the lifter, which regresses, lands nearer the "
          "test people's size. A lift of a video inherits this: "
          "`--height_mm` gives the person's size where it is known."))

SIZES = spec.Table(
    title="The bodies trained on and tested on",
    intro="Total bone length of the mocap rows, by source and split.",
    columns=(spec.Col("rows", "rows", "d"),
             spec.Col("total bone length mm", "total_bone_length_mm", ".0f")),
    rows=tuple(spec.Row(words, "body_size_cpu.json", _SIZE_CMD, seeds="-",
                        hardware=_HARDWARE, at=f"data.{key}", name=key,
                        )
               for words, key in (("training: Bandai-Namco", "train_bandai"),
                                  ("training: CMU", "train_cmu"),
                                  ("test: CMU", "test_cmu"))),
    label_titles=("people",))

PAGE = spec.Page(
    name="footage", title="Real footage",
    intro=("Lifts of real people filmed by real cameras, from a real "
           "detector's keypoints: clips that registry packages ship, "
           "fetched at run time (`experiments/bench/public_clips.py`), "
           "never committed."),
    tables=(REFERENCE, JOINTS, SINGLE, MULTI, PEOPLE, SEEDS, ROLL, ROLL_SEEDS,
            BY_FRAMES, *footage_depth.TABLES, SIZE, SIZES,
            footage_speed.SPEED, footage_speed.SPEED_ZEN4))
