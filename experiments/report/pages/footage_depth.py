"""The footage page's tables of the detector's own depth (`footage.py`):
how it compares with the calibrated reference's, and how hard the fit to
2D lets it pull (experiments/studies/detector_depth.py)."""
from experiments.report import spec
from experiments.report.pages import footage_speed

_CMD = ("python -m experiments.studies.detector_depth --workdir=runs/{name} "
        "--name={name} --sigmas=0,20,30,45,60,90 --bone_sigmas=0,20,30,45")
_SIGMAS = ("0", "20", "30", "45", "60", "90")
# (the model's words, the workdir and results name part)
_MODELS = (("Martinez lifter camera, any roll", "lifter_roll"),
           ("GFPose mocap camera, any roll (mean of 20)", "gfpose_roll"))
_PARTS = (("choose", "two-person clip (choice)"),
          ("held_out", "single-person clip (held out)"))
_BONE_SIGMAS = ("0", "20", "30", "45")
# `FitSettings`' defaults: sigma_depth_mm (a column of the pull table) and
# sigma_depth_bone_mm (a row).
DEFAULT_SIGMA, DEFAULT_BONE_SIGMA = "60", "20"
_VIEWS = (*((person, f"pose2sim_multi_cam0{i}") for person in ("P1", "P2")
            for i in range(1, 5)),
          *(("single-person clip", f"pose2sim_cam0{i}") for i in range(1, 5)))


def _detector_rows(kind: str) -> tuple:
  """One row per view of the depth study's model-free rows of `kind`."""
  return tuple(spec.Row("MediaPipe Pose 0.10.14", "detector_depth_lifter_roll"
                        "_cpu.json", _CMD.format(name="lifter_roll"),
                        seeds="-", hardware=footage_speed.ZEN4,
                        at=f"rows[kind={kind},person={person},view={view}]",
                        cells=(person, view.replace("pose2sim_multi_", "")
                               .replace("pose2sim_", "")),
                        name=f"{kind}/{person}/{view}")
               for person, view in _VIEWS)


SCALE = spec.Table(
    title="The detector's depth against the reference's",
    intro=("MediaPipe Pose gives each landmark a depth beside its x and y, "
           "estimated from the image, on x's scale by its documentation. "
           "Per view of the calibrated clips, each person followed and "
           "triangulated alone as above: the least-squares factor from "
           "that depth (made millimetres at the reference's pelvis depth) "
           "onto the reference's depth behind its pelvis, over the joints "
           "the detector gave, and their correlation. "
           "`keypoints.DEPTH_SCALE` is the median of the two-person clip's "
           "factors, rounded. 'height slope': how much farther than the "
           "reference the depth as read (times that scale) puts a joint "
           "per millimetre of its height above the pelvis, a lean of the "
           "body; the least-squares slope over the same joints."),
    columns=(spec.Col("scale", "scale", ".3f"),
             spec.Col("correlation", "correlation", ".3f"),
             spec.Col("joints", "joints", "d"),
             spec.Col("height slope", "height_slope", ".2f")),
    rows=_detector_rows("scale"),
    label_titles=("detector", "person", "view"),
    note=("The detector's depth runs several times too deep in every view "
          "and for every person, and rises and falls with the reference's, "
          "more closely for the person filmed alone than for the two "
          "people. In cam03 and cam04 its error also grows with the "
          "joint's height, for every person, most in cam03, the steepest "
          "camera; in cam01 and cam02 less or not at all. Measured against "
          "the pelvis, that lean adds up toward the head; between a bone's "
          "two ends most of it cancels (the table of the pull below)."))

TRUE_DEPTH = spec.Table(
    title="What each view's own 2D leaves with every depth right",
    intro=("Per view of the calibrated clips: the reference moved onto the "
           "view's own keypoints, each joint the detector gave placed on "
           "its pixel's ray at the reference's depth (the others left "
           "where the reference has them), against the reference. A lift "
           "that lands on its 2D, as the fit to 2D makes it, keeps this "
           "error however right its depths are; 'moved' is the median "
           "distance of the joints placed."),
    columns=(spec.Col("MPJPE", "mpjpe_mm"), spec.Col("PA-MPJPE", "pa_mpjpe_mm"),
             spec.Col("moved", "moved_median_mm"),
             spec.Col("frames", "frames_scored", "d")),
    rows=_detector_rows("true_depth"),
    label_titles=("detector", "person", "view"),
    note=("For the person filmed alone each view's own 2D stands far "
          "inside the targets, so what a lift there misses is depth. "
          "Of the two people's, P1's in cam03 stands beyond the PA-MPJPE "
          "target on its own: no lift that lands on that view's keypoints "
          "can meet it against this reference, whichever of the view's "
          "detections or the other views' is the wrong one."))

PULL = spec.Table(
    title=("How hard the detector's depth pulls the fit, joint by joint "
           "and bone by bone"),
    intro=("Each view lifted at its calibrated focal length (seed 0) and "
           "fitted onto its 2D with the detector's depth pulling the "
           "body's (`jaxpose.pose.fit_2d`): each joint's depth behind the "
           "pelvis toward the detector's (`sigma_depth_mm`, the columns), "
           "and each bone's change in depth, child less parent "
           "(`sigma_depth_bone_mm`, the rows); the lower, the harder; 0 "
           "leaves a term out, both 0 the fit of the lift's depths alone. "
           "MPJPE and PA-MPJPE averaged over the views of each part: the "
           "two-person clip (both people, four views each), on which the "
           "defaults were chosen, and the single-person clip, held out; "
           f"'worse at {DEFAULT_SIGMA}': the views whose MPJPE the pull at "
           "that `sigma_depth_mm` (the default's) leaves above the fit "
           "without the detector's depth."),
    columns=(*(spec.Col(f"{what} {sigma}", f"by_sigma.s{sigma}.{key}")
               for sigma in _SIGMAS
               for what, key in (("MPJPE", "mpjpe_mm"),
                                 ("PA", "pa_mpjpe_mm"))),
             spec.Col(f"worse at {DEFAULT_SIGMA}",
                      f"by_sigma.s{DEFAULT_SIGMA}.worse_views", "d")),
    rows=tuple(spec.Row(words, f"detector_depth_{name}_cpu.json",
                        _CMD.format(name=name), seeds="0",
                        hardware=footage_speed.ZEN4,
                        at=f"rows[kind=mean,part={part},bone_key=s{bone}]",
                        cells=(label, bone),
                        name=f"pull/{name}/{part}/bone{bone}")
               for words, name in _MODELS for part, label in _PARTS
               for bone in _BONE_SIGMAS),
    label_titles=("model", "views", "bone by bone"),
    note=("Column titles give `sigma_depth_mm` (joint by joint), the rows "
          "`sigma_depth_bone_mm` (bone by bone). The detector sees what "
          "the 2D cannot show, a leg stepping toward the camera or an arm "
          "behind the body, and pulled toward it both models come nearer "
          "the reference on both clips. Joint by joint alone, its error "
          "that grows with a joint's height (the scale table above) adds "
          "up toward the head and leans the body: in cam03 the fit then "
          "ends farther from the reference than without it, for every "
          "person and both models. Bone by bone, each bone carries only "
          "its own share. The default (`FitSettings`: " + DEFAULT_SIGMA +
          " joint by joint, " + DEFAULT_BONE_SIGMA + " bone by bone) is "
          "the pair nearest the reference in MPJPE on the two-person "
          "clip, averaged over both models; the pairs near it are within "
          "a millimetre or so. On the clip held out it is nearer in MPJPE "
          "than the joint-by-joint pull alone for both models, about as "
          "near in PA-MPJPE for the lifter and farther for GFPose; in "
          "cam03 it still ends farther than without the detector's depth, "
          "but less so. The tables of three seeds above give it view by "
          "view beside the fit without it."))

TABLES = (SCALE, TRUE_DEPTH, PULL)
