"""Results page docs/results/accuracy.md: each model's error on held-out
people, and each method against the baseline its paper claims to beat."""
from experiments.report import spec
from jaxpose.pose.skeleton import H36M_17

_MAIN = "python -m experiments.main --config=experiments/configs/{config}.py{variant} "
_QS = _MAIN.format(config="quickstart", variant="") + "--workdir=runs/quickstart"
_NOISY = (" --mode=eval --config.data.test_2d=noisy "
          "--config.eval.output_suffix=noisy2d")
_CPU, _H100 = "2 CPU cores", "1 H100"


def _mocap(config: str, workdir: str, variant: str = "") -> str:
  """The train-and-evaluate command of a mocap config (a variant such as
  ':paper' also names the workdir)."""
  return (_MAIN.format(config=config, variant=variant) + "--workdir=runs/"
          + workdir + variant.replace(":", "_") + " --config.data.cache_dir=caches")


_GF = _mocap("gfpose_mocap", "mocap")
_GF_PAPER = _mocap("gfpose_mocap", "mocap", ":paper")
_LIFTER = _mocap("baseline_mocap", "baseline_mocap")
_ENCODER = _mocap("encoder_mocap", "encoder_mocap")

# Columns of an estimation run (one results JSON of --config.eval.task=estimate).
_ESTIMATE = (spec.Col("MPJPE", "mpjpe_mm"), spec.Col("PA-MPJPE", "pa_mpjpe_mm"),
             spec.Col("best-of-H MPJPE", "min_mpjpe_mm"),
             spec.Col("best-of-H PA-MPJPE", "min_pa_mpjpe_mm"),
             spec.Col("H", "num_hypotheses", "d"), spec.Col("APD", "apd_mm"),
             spec.Col("train steps", "train_step", "d"))


def _row(label, file, command, hardware, *cells) -> spec.Row:
  """A single run of the default seed (0), named by its file."""
  return spec.Row(label=label, file=file, command=command, seeds="0",
                  hardware=hardware, cells=cells, name=file)


def _exact_noisy(label, stem, command, hardware) -> list[spec.Row]:
  """A mocap model scored with exact test 2D, then with noisy test 2D."""
  return [_row(label, f"{stem}.json", command, hardware, "exact"),
          _row(label, f"{stem}_noisy2d.json", command + _NOISY, hardware, "noisy")]


QUICKSTART = spec.Table(
    title="Quickstart (synthetic data)",
    intro=("100 held-out poses of the embedded synthetic data, exact 2D; "
           "errors in mm. MPJPE and PA-MPJPE are of the mean of GFPose's H "
           "hypotheses (ddim:eta=1 sampler, 50 steps), best-of-H of the "
           "hypothesis closest to the truth per pose, APD the mean distance "
           "between two hypotheses of a pose (their diversity); a lifter "
           "gives one pose (H = 1). Predictions are not re-centred on their "
           "own root joint (GFPose predicts it too), as in the authors' "
           "evaluation."),
    columns=_ESTIMATE,
    rows=(_row("GFPose quickstart", "quickstart_gfpose_cpu.json", _QS, _CPU),
          _row("GFPose quickstart", "quickstart_gfpose_h100.json", _QS,
               "1 H100 (JAX 0.11.2 with CUDA)"),
          _row("GFPose quickstart, GFPose's image space (true root depth given)",
               "quickstart_gfpose_image_cpu.json",
               _QS.replace("runs/quickstart", "runs/quickstart_image")
               + " --config.representation.space=image", _CPU),
          _row("Martinez et al. lifter", "quickstart_baseline_cpu.json",
               _MAIN.format(config="baseline_quickstart", variant="")
               + "--workdir=runs/baseline_quickstart", _CPU),
          _row("Graph lifter (DiffPose's context encoder)",
               "encoder_quickstart_cpu.json",
               _MAIN.format(config="encoder_quickstart", variant="")
               + "--workdir=runs/encoder_quickstart", _CPU)),
    note=("The synthetic data checks the pipeline, not the method: its "
          "figures say nothing of accuracy on real people. The CPU and H100 "
          "runs of the same command agree."))

MOCAP = spec.Table(
    title="jaxpose-mocap v1: 3D from 2D on unseen people",
    intro=("Real motion capture (jaxpose-mocap v1, not Human3.6M: see the "
           "papers for Human3.6M figures); the test people and activities "
           "are never seen in training. Each model reads the test rows' "
           "exact 2D, then the same rows' 2D under the data's noise model "
           "('noisy'). Columns as in the quickstart table; GFPose draws 200 "
           "hypotheses with ddim:eta=1 x 50, a lifter gives one pose. Every "
           "JSON also holds the errors per joint and per activity and the "
           "per-joint spread."),
    columns=(*_ESTIMATE, spec.Col("poses", "num_poses", "d")),
    rows=(_row("GFPose mocap small", "gfpose_mocap_small_cpu_estimate.json",
               _GF, _CPU, "exact"),
          *_exact_noisy("GFPose mocap small", "gfpose_mocap_small_h100_estimate",
                        _GF, _H100),
          *_exact_noisy("Martinez et al. lifter", "baseline_mocap_h100_estimate",
                        _LIFTER, _H100),
          *_exact_noisy("Graph lifter (DiffPose's context encoder), every clip",
                        "encoder_mocap_graph_cpu_estimate",
                        _ENCODER + " --config.holdout.fraction=0", _CPU),
          *_exact_noisy("Graph lifter, 90% of clips (DiffPose's default encoder)",
                        "encoder_mocap_graph_heldout_cpu_estimate", _ENCODER, _CPU),
          *(row for t in ("27", "81") for row in _exact_noisy(
              f"Temporal lifter, T={t}, reduced for the CPU (:temporal{t}_cpu)",
              f"encoder_mocap_temporal{t}_cpu_cpu_estimate",
              _mocap("encoder_mocap", "encoder_mocap", f":temporal{t}_cpu"), _CPU)),
          *_exact_noisy("GFPose mocap paper size", "gfpose_mocap_paper_h100_estimate",
                        _GF_PAPER, _H100)),
    label_titles=("model", "test 2D"),
    note=("With exact 2D the single-frame lifters are the most accurate and "
          "the mean of GFPose's hypotheses trails them; with noisy 2D GFPose's "
          "mean beats every lifter, and its best of 200 is far below all of "
          "them with either 2D. The paper-size GFPose scores lower than "
          "the small one (on 2000 test poses rather than 500); the temporal "
          "lifters, cut down to train on the CPU, do not beat the "
          "single-frame ones."),
    images=(("GFPose mocap paper size: 10 of 200 hypotheses beside the truth",
             "gfpose_mocap_paper_h100_estimate_pose0.png"),
            ("GFPose mocap paper size: error against H",
             "gfpose_mocap_paper_h100_estimate_error_vs_h.png")))

# GFPose's claim: its single hypothesis is comparable to a deterministic
# lifter. Files over training seeds (experiments.seed_summary).
_SINGLE = (("GFPose small, root-relative",
            "gfpose_mocap_small_cpu_seeds_estimate_single"),
           ("GFPose small, image space x30, range guard",
            "gfpose_mocap_small_image_cpu_seeds_estimate_single"))
_SEEDS_MM = (spec.Col("MPJPE", "across_seeds.mpjpe_mm", change="diff"),
             spec.Col("PA-MPJPE", "across_seeds.pa_mpjpe_mm"))


def _against_lifter(lifter_label: str, lifter_stem: str) -> list[spec.Row]:
  """The lifter, then each GFPose model against it, exact then noisy 2D."""
  rows = []
  for suffix, words in (("", "exact"), ("_noisy2d", "noisy")):
    base = lifter_stem + suffix
    rows.append(spec.Row(label=lifter_label, file=f"{base}.json", cells=(words,),
                         name=base))
    rows += [spec.Row(label=label, file=f"{stem}{suffix}.json", cells=(words,),
                      name=stem + suffix, baseline=base) for label, stem in _SINGLE]
  return rows


_CLAIM_INTRO = (
    "GFPose's paper claims its single hypothesis is comparable to a "
    "deterministic lifter. Here GFPose small (2.80M parameters) gives one "
    "pose by its deterministic sampler (1000 steps), in its authors' pose "
    "space (image space, data scale 30, with the samplers' range guard "
    "`eval.x0_clip`) or in root-relative millimetres (the mocap config's "
    "default), and each lifter reads the same 2D of the same 500 test rows "
    "(exact, or under the data's noise model). MPJPE and PA-MPJPE in mm, "
    "mean ± standard deviation (ddof 1) over three training seeds "
    "(`python -m experiments.seed_summary` over the seeds' workdirs); the "
    "change is GFPose's MPJPE minus the lifter's, in mm.")

LIFTER = spec.Table(
    title="GFPose's single hypothesis against the Martinez et al. lifter",
    intro=_CLAIM_INTRO + (" The lifter (hidden 1024, 4.30M parameters) trains "
                          "on the same data, batches and steps."),
    columns=_SEEDS_MM,
    rows=_against_lifter("Martinez et al. lifter", "baseline_mocap_cpu_seeds_estimate"),
    label_titles=("model", "test 2D"),
    note=("With noisy 2D GFPose's single hypothesis beats the lifter by about "
          "a fifth: the claim holds. With exact 2D it misses, by more than "
          "the seeds' spread; the next table shows how much of that is the "
          "lifter's larger network."))

LIFTER_832 = spec.Table(
    title="GFPose's single hypothesis against a lifter of its size",
    intro=_CLAIM_INTRO + (" The lifter is the same Martinez et al. network cut "
                          "to hidden 832 (2.84M parameters), GFPose small's size."),
    columns=_SEEDS_MM,
    rows=_against_lifter("Martinez et al. lifter, hidden 832",
                         "baseline_mocap_hidden832_cpu_seeds_estimate"),
    label_titles=("model", "test 2D"),
    note=("At equal size the root-relative GFPose's single hypothesis is as "
          "good as the lifter with exact 2D, within what three seeds can "
          "resolve, though not better; with noisy 2D it beats it as it beats "
          "the full lifter. The image space does not beat the root-relative "
          "model, which is why the mocap config keeps root-relative."))

_R = ("across_seeds",)
COVERAGE = spec.Table(
    title="GFPose small's 200 hypotheses over training seeds",
    intro=("The same two GFPose small models drawing H = 200 hypotheses "
           "(ddim:eta=1 x 50) on the same 500 test rows, exact 2D: MPJPE of "
           "the hypotheses' mean and best-of-H in mm, the share of true "
           "coordinates inside the hypotheses' central 50% and 90% "
           "intervals, and the most implausibility warnings (poses far from "
           "any body) one seed raised; mean ± standard deviation over three "
           "training seeds."),
    columns=(spec.Col("mean MPJPE", _R + ("mpjpe_mm",)),
             spec.Col("best-of-H", _R + ("min_mpjpe_mm",)),
             spec.Col("coverage 50%", _R + ("calibration.coverage.0.5",), ".2f"),
             spec.Col("coverage 90%", _R + ("calibration.coverage.0.9",), ".2f"),
             spec.Col("warnings (most on one seed)", _R + ("num_warnings", "max"),
                      ".0f")),
    rows=(spec.Row(label="GFPose small, image space x30, range guard",
                   file="gfpose_mocap_small_image_cpu_seeds_estimate.json"),
          spec.Row(label="GFPose small, root-relative",
                   file="gfpose_mocap_small_cpu_seeds_estimate.json")),
    note=("On the test people both models' intervals are too narrow (90% "
          "intervals hold well under 90% of the truth) whatever the seed. A "
          "calibration fitted on held-out clips of the training people does "
          "not correct that; one fitted on held-out people does (see the "
          "calibration page)."))

_PER_JOINT_ROWS = (
    spec.Row(label="GFPose mocap small, mean of 200",
             file="gfpose_mocap_small_h100_estimate.json", at="per_joint_mpjpe_mm",
             name="mean", command=_GF, seeds="0", hardware=_H100),
    spec.Row(label="GFPose mocap small, best of 200",
             file="gfpose_mocap_small_h100_estimate.json",
             at="per_joint_min_mpjpe_mm", name="best", command=_GF, seeds="0",
             hardware=_H100),
    spec.Row(label="Martinez et al. lifter", file="baseline_mocap_h100_estimate.json",
             at="per_joint_mpjpe_mm", command=_LIFTER, seeds="0", hardware=_H100))
_JOINTS = H36M_17.joint_names


def _per_joint(title: str, first: int, last: int) -> spec.Table:
  return spec.Table(
      title=title,
      intro=("MPJPE in mm per joint on the 500 jaxpose-mocap v1 test rows, "
             "exact 2D: the mean and the best of GFPose small's 200 "
             "hypotheses and the lifter's one pose, on the same rows."),
      columns=tuple(spec.Col(_JOINTS[i], f"[{i}]") for i in range(first, last)),
      rows=_PER_JOINT_ROWS)


PER_JOINT_LOWER = _per_joint("Error per joint: pelvis, legs and spine", 0, 8)
PER_JOINT_UPPER = _per_joint("Error per joint: upper body", 8, len(_JOINTS))

# The other tasks of the same two trained GFPose models (H100).
_TASK_MODELS = (("GFPose mocap small", "gfpose_mocap_small_h100", _GF),
                ("GFPose mocap paper size", "gfpose_mocap_paper_h100", _GF_PAPER))


def _task_rows(task: str, settings) -> list[spec.Row]:
  """Each model's file of `task`, one row per (cells, at) of `settings`."""
  rows = []
  for label, stem, command in _TASK_MODELS:
    file = f"{stem}_{task}.json"
    cmd = f"{command} --mode=eval --config.eval.task={task}"
    for cells, at in settings:
      rows.append(spec.Row(label=label, file=file, command=cmd, seeds="0",
                           hardware=_H100, at=at, cells=cells,
                           name=f"{file} {at}"))
  return rows


SINGLE = spec.Table(
    title="Single hypothesis",
    intro=("The mocap GFPose models' one pose from the deterministic sampler "
           "(1000 steps), exact 2D; errors in mm. The same setting over "
           "three training seeds is in the comparison with the lifter above."),
    columns=(spec.Col("MPJPE", "mpjpe_mm"), spec.Col("PA-MPJPE", "pa_mpjpe_mm"),
             spec.Col("poses", "num_poses", "d")),
    rows=_task_rows("estimate_single", (((), ""),)))

_COMPLETION = (("1 limb-end joint",), "settings[name=1 limb-end joint(s)]"), (
    ("3 limb-end joints",), "settings[name=3 limb-end joint(s)]"), (
    ("left leg",), "settings[name=part l_leg]"), (
    ("right arm",), "settings[name=part r_arm]")


def _completion(what: str, task: str, how: str) -> spec.Table:
  return spec.Table(
      title=f"{what} completion",
      intro=(f"{how}, by 200 hypotheses (ddim:eta=1 x 50) on the test rows "
             "(500; the paper-size model's 2000): MPJPE in mm on the missing "
             "joints only, of the hypotheses' mean and of the best of them."),
      columns=(spec.Col("mean of 200", "missing_mpjpe_mm"),
               spec.Col("best of 200", "missing_min_mpjpe_mm")),
      rows=_task_rows(task, _COMPLETION),
      label_titles=("model", "missing"))


COMPLETE2D = _completion("2D", "complete2d", (
    "The 3D pose lifted from exact 2D with some joints' 2D removed"))
COMPLETE3D = _completion("3D", "complete3d", (
    "The joints removed from a true 3D pose filled in from the others"))

DENOISE = spec.Table(
    title="Denoising 3D poses",
    intro=("Noise added to every non-root joint of the true 3D test poses "
           "(500; the paper-size model's 2000), then removed by the "
           "deterministic sampler from t = 0.05: MPJPE in mm before and "
           "after."),
    columns=(spec.Col("before", "mpjpe_before_mm"),
             spec.Col("after", "mpjpe_after_mm")),
    # By position: a selector cannot hold the level's '.0' (a path's dot).
    rows=_task_rows("denoise", tuple(
        ((f"{kind} {mm} mm",), f"settings[{i}]") for i, (kind, mm) in enumerate(
            (k, mm) for k in ("gaussian", "uniform") for mm in (20, 50)))),
    label_titles=("model", "noise"))

_GENERATE_COLS = (spec.Col("APD", "apd_mm"),
                  spec.Col("Frechet distance (sqrt)", "fd_sqrt_mm"),
                  spec.Col("nearest-neighbour MPJPE", "nn_mpjpe_mm"))
_CPU_GENERATE = "gfpose_mocap_small_cpu_generate.json"
GENERATE = spec.Table(
    title="Unconditional generation",
    intro=("5770 poses generated without any 2D, training poses, and other "
           "held-out poses, each scored against the held-out real poses in "
           "mm: APD (diversity), the square root of the Frechet distance, "
           "and each pose's MPJPE to its nearest real pose."),
    columns=_GENERATE_COLS,
    rows=(*_task_rows("generate", ((("generated",), "generated"),
                                   (("other held-out poses",), "real_vs_real"))),
          *(spec.Row(label="GFPose mocap small", file=_CPU_GENERATE,
                     command=_GF + " --mode=eval --config.eval.task=generate",
                     seeds="0", hardware=_CPU, at=at, cells=(words,),
                     name=f"cpu {at}")
            for words, at in (("generated", "generated"),
                              ("training poses", "train_vs_real"),
                              ("other held-out poses", "real_vs_real")))),
    label_titles=("model", "poses scored"),
    note=("The held-out people and activities differ from the training set, "
          "so a perfect model of the training distribution scores what the "
          "training poses score, not what other held-out poses score: "
          "GFPose small's generated poses score about what the training "
          "poses score on nearest-neighbour error, and are a little less "
          "diverse."))

_MASK = "gfpose_mocap_camera_cpu_estimate_single_noisy2d_mask{}.json"
CONFIDENCE_MASK = spec.Table(
    title="GFPose masking the joints a detector is unsure of",
    intro=("GFPose camera-aware (`gfpose_mocap.py:camera`, seed 0), one "
           "hypothesis, on the 500 test rows' noisy 2D; each keypoint's "
           "detector-like confidence (`pose2d_confidence`: informative but "
           "imperfect, an outlier ranking AUC of about 0.86; "
           "jaxpose/pose/detector_confidence.py) below the threshold masks it "
           "in GFPose's condition (`eval.mask_below_confidence`). MPJPE in mm "
           "and its change against no masking."),
    columns=(spec.Col("MPJPE", "mpjpe_mm", change="pct1"),
             spec.Col("PA-MPJPE", "pa_mpjpe_mm"),
             spec.Col("joints masked", "masked_joint_share", ".1%")),
    rows=tuple(spec.Row(f"threshold {t}", _MASK.format(t), name=t,
                        baseline="" if t == "0.0" else "0.0",
                        fields={} if t != "0.0" else {"joints masked": None})
               for t in ("0.0", "0.3", "0.5", "0.7")),
    label_titles=("masking",),
    note=("Masking does not pay: at 0.3 it drops 1.5% of the joints and "
          "changes nothing; higher thresholds drop more good joints than "
          "outliers and the error grows. The score separates outliers from "
          "inliers too loosely for GFPose to do better completing a joint "
          "than reading a noisy one, so the option stays off by default."))

_LIFTER_READS = "lifter_mocap_{}_6k_cpu_seeds_{}.json"


def _lifter_confidence_rows() -> tuple[spec.Row, ...]:
  """The lifter trained on noisy 2D reading nothing, then each keypoint's
  confidence besides, against the first; noisy then exact test 2D."""
  rows = []
  for test_2d, stem in (("noisy", "estimate_noisy2d"), ("exact", "estimate")):
    rows += [spec.Row("2D alone", _LIFTER_READS.format("noisytrain", stem),
                      cells=(test_2d,), name=f"alone/{test_2d}"),
             spec.Row("2D and each keypoint's confidence",
                      _LIFTER_READS.format("confidence", stem),
                      cells=(test_2d,), name=f"confidence/{test_2d}",
                      baseline=f"alone/{test_2d}")]
  return tuple(rows)


LIFTER_CONFIDENCE = spec.Table(
    title="The lifter reading each keypoint's confidence",
    intro=("The Martinez lifter (`baseline_mocap.py`, 6000 steps) trained "
           "on the data's noisy 2D, reading the 2D alone or with each "
           "keypoint's detector-like confidence as a third input channel "
           "(`inputs.uncertainty=confidence`), on the 500 test rows with "
           "noisy 2D and with exact 2D (whose confidence is 1). MPJPE in mm "
           "and its change against the lifter that reads the 2D alone."),
    columns=(spec.Col("MPJPE", ("across_seeds", "mpjpe_mm"), change="pct1"),
             spec.Col("PA-MPJPE", ("across_seeds", "pa_mpjpe_mm"))),
    rows=_lifter_confidence_rows(),
    label_titles=("reads", "test 2D"),
    note=("Reading the confidence lowers the error by 2.5% on noisy 2D, about "
          "what it gives DiffPose's graph encoder (2%, the DiffPose page), "
          "and by a ninth on exact 2D, where a confidence of 1 tells the "
          "lifter every keypoint is right. Both read more than a lifter "
          "trained on exact 2D, which is far better on exact 2D (the v1 "
          "table above). One seed, at a shorter budget than the "
          "config's 20,000 steps."))

PAGE = spec.Page(
    name="accuracy", title="Accuracy on people never seen in training",
    intro=("How close each model's 3D poses come to the truth on held-out "
           "people: the quickstart on synthetic data, then real motion "
           "capture (jaxpose-mocap v1) for GFPose, the Martinez et al. "
           "lifter and the graph and temporal lifters; then each method "
           "against the baseline its paper claims to beat (GFPose's single "
           "hypothesis against a lifter; DiffPose against its encoder is on "
           "its own page), the error per joint, and GFPose's other tasks (single hypothesis, 2D "
           "and 3D completion, denoising, generation). Errors are in mm."),
    tables=(QUICKSTART, MOCAP, LIFTER, LIFTER_832, CONFIDENCE_MASK, LIFTER_CONFIDENCE, COVERAGE, PER_JOINT_LOWER, PER_JOINT_UPPER, SINGLE,
            COMPLETE2D, COMPLETE3D, DENOISE, GENERATE))
