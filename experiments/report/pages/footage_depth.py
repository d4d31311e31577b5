"""The footage page's tables of the detector's own depth (`footage.py`):
how it compares with the calibrated reference's, and how hard the fit to
2D lets it pull (experiments/studies/detector_depth.py)."""
from experiments.report import spec
from experiments.report.pages import footage_speed

_CMD = ("python -m experiments.studies.detector_depth --workdir=runs/{name} "
        "--name={name} --sigmas=0,20,30,45,60,90")
_SIGMAS = ("0", "20", "30", "45", "60", "90")
# (the model's words, the workdir and results name part)
_MODELS = (("Martinez lifter camera, any roll", "lifter_roll"),
           ("GFPose mocap camera, any roll (mean of 20)", "gfpose_roll"))
_PARTS = (("choose", "two-person clip (choice)"),
          ("held_out", "single-person clip (held out)"))
_VIEWS = (*((person, f"pose2sim_multi_cam0{i}") for person in ("P1", "P2")
            for i in range(1, 5)),
          *(("single-person clip", f"pose2sim_cam0{i}") for i in range(1, 5)))

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
           "factors, rounded."),
    columns=(spec.Col("scale", "scale", ".3f"),
             spec.Col("correlation", "correlation", ".3f"),
             spec.Col("joints", "joints", "d")),
    rows=tuple(spec.Row("MediaPipe Pose 0.10.14", "detector_depth_lifter_roll"
                        "_cpu.json", _CMD.format(name="lifter_roll"),
                        seeds="-", hardware=footage_speed.ZEN4,
                        at=f"rows[kind=scale,person={person},view={view}]",
                        cells=(person, view.replace("pose2sim_multi_", "")
                               .replace("pose2sim_", "")),
                        name=f"scale/{person}/{view}")
               for person, view in _VIEWS),
    label_titles=("detector", "person", "view"),
    note=("The detector's depth runs several times too deep in every view "
          "and for every person, and rises and falls with the reference's, "
          "more closely for the person filmed alone than for the two "
          "people. In the single-person clip's cam03, which sees the "
          "person from behind and from the steepest angle, it follows the "
          "reference over the clip yet is far off in the frames where the "
          "person turns toward the camera: there the fit with it is the "
          "farther (the tables of three seeds above)."))

PULL = spec.Table(
    title="How hard the detector's depth pulls the fit",
    intro=("Each view lifted at its calibrated focal length (seed 0) and "
           "fitted onto its 2D with the detector's depth pulling each "
           "joint's depth behind the pelvis (`jaxpose.pose.fit_2d`, "
           "`sigma_depth_mm`: the lower, the harder; 0: left out, the "
           "fit of the lift's depths alone), MPJPE and PA-MPJPE averaged "
           "over the views of each part: the two-person clip (both people, "
           "four views each), on which the default was chosen, and the "
           "single-person clip, held out."),
    columns=tuple(spec.Col(f"{what} {sigma}", f"by_sigma.s{sigma}.{key}")
                  for sigma in _SIGMAS
                  for what, key in (("MPJPE", "mpjpe_mm"),
                                    ("PA", "pa_mpjpe_mm"))),
    rows=tuple(spec.Row(words, f"detector_depth_{name}_cpu.json",
                        _CMD.format(name=name), seeds="0",
                        hardware=footage_speed.ZEN4,
                        at=f"rows[kind=mean,part={part}]", cells=(label,),
                        name=f"pull/{name}/{part}")
               for words, name in _MODELS for part, label in _PARTS),
    label_titles=("model", "views"),
    note=("Column titles give `sigma_depth_mm`. The detector sees what "
          "the 2D cannot show, a leg stepping toward the camera or an arm "
          "behind the body, and pulled toward it both models come nearer "
          "the reference on both clips. The default "
          "(`FitSettings.sigma_depth_mm`) is the pull that did best for "
          "the lifter on the two-person clip, and near the best for GFPose "
          "there; on the clip held out it does as well for both. The "
          "tables of three seeds above give it view by view beside the fit "
          "without it."))

TABLES = (SCALE, PULL)
