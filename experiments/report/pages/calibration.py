"""Results page docs/results/calibration.md: can the hypotheses' spread be
trusted, before and after calibrating it on rows held out of training."""
from experiments.report import spec
from experiments.report.pages import diffpose

_DPOSER_HW = "2 CPU cores (AMD EPYC)"  # where the DPoser seeds were trained
_DPOSER = "dposer"  # a DPoser file's own command: in the keys of now


def _coverage(before: str) -> tuple[spec.Col, ...]:
  """The test rows' coverage before (`before`: the uncalibrated block,
  'calibration' or DPoser's 'calibration_before') and after calibration."""
  col = lambda title, when, level: spec.Col(
      title, ("across_seeds", f"{when}.coverage.{level}"), ".2f")
  return (col("50% before", before, "0.5"),
          col("50% after", "calibration_after", "0.5"),
          col("90% before", before, "0.9"),
          col("90% after", "calibration_after", "0.9"))


def _calibrated(before: str) -> tuple[spec.Col, ...]:
  """The columns of a table of calibrated results (seed summaries)."""
  return (spec.Col("kept", ("heldout_calibration", "kept", "0"), "s"),
          *_coverage(before),
          spec.Col("held-out 90% before",
                   ("heldout_calibration", "before.coverage.0.9"), ".2f"),
          spec.Col("error held-out",
                   ("heldout_calibration", "after.mean_mpjpe_mm")),
          spec.Col("error test",
                   ("across_seeds", "calibration_after.mean_mpjpe_mm"),
                   change="pct"))


def _row(label: str, file: str, *cells: str, baseline: str = "",
         name: str = "", at: spec.Path = "", method: str = "") -> spec.Row:
  """A summary over training seeds: its command, seeds and hardware are
  the file's own (`method`: the method whose keys that command names; a
  DiffPose per-row file's command names the variant by its name today)."""
  renamed = diffpose.ORACLE if "_per_row_kernel_" in file else {}
  return spec.Row(label=label, file=file, cells=cells, baseline=baseline,
                  name=name or file, at=at, method=method,
                  configs_renamed=renamed)


def _dposer_row(label: str, file: str, *cells: str, **kw) -> spec.Row:
  """`_row` of a DPoser summary over seeds."""
  return _row(label, file, *cells, method=_DPOSER, **kw)


def _spread_row(label: str, file: str, input_2d: str) -> spec.Row:
  """A row of the spread table: the figures over seeds of a summary."""
  return _row(label, file, input_2d, at=("across_seeds",))


SPREAD = spec.Table(
    title="The hypotheses' spread before any calibration",
    intro=("Per joint and coordinate, the share of the test joints inside the "
           "central 50% and 90% intervals of the hypotheses (ideally 0.50 and "
           "0.90), the Pearson correlation of each joint's spread with its "
           "error, and the energy score (mm, lower is better), from the "
           "`calibration` block of each result. H or N: the number of "
           "hypotheses; test 2D: what the model receives (noisy: 5 px of "
           "noise and 5% outliers)."),
    columns=tuple(spec.Col(title, (f"calibration.{key}",), fmt)
                  for title, key, fmt in (
                      ("coverage 50%", "coverage.0.5", ".2f"),
                      ("coverage 90%", "coverage.0.9", ".2f"),
                      ("spread-error r", "spread_error_pearson", ".2f"),
                      ("energy score", "energy_score_mm", ".1f"))),
    rows=(*(_spread_row(label, file, input_2d) for label, file, input_2d in (
        ("GFPose mocap small, H=200",
         "gfpose_mocap_small_cpu_seeds_estimate.json", "exact"),
        ("GFPose mocap small, H=200",
         "gfpose_mocap_small_cpu_seeds_estimate_noisy2d.json", "noisy"),
        ("DiffPose quickstart, N=20", "diffpose_quickstart_cpu_seeds_n20.json",
         "exact"),
        ("DiffPose mocap small (H_K fitted on its encoder's held-out clips), "
         "N=20",
         "diffpose_mocap_small_heldout_cpu_seeds_estimate_noisy2d_n20.json",
         "noisy"),
        ("DiffPose mocap small on an encoder trained on every clip, a single "
         "Gaussian H_K (M=1), N=5",
         "diffpose_mocap_small_m1_cpu_seeds_estimate_noisy2d.json", "noisy"),
        ("DiffPose mocap small on an encoder trained on every clip, M=5, N=20",
         "diffpose_mocap_small_cpu_seeds_estimate_noisy2d_n20.json", "noisy"),
        ("DiffPose mocap small on an encoder trained on every clip, denoiser "
         "trained on exact 2D, N=20",
         "diffpose_mocap_small_exacttrain_cpu_seeds_estimate_n20.json",
         "exact"))),
        *(_dposer_row(label, file, "3D of the other joints", at=(
            "settings_across_seeds[prior=dposer,part=l_leg]", "figures"))
          for label, file in (
              ("DPoser quickstart, left leg completed, 10 hypotheses",
               "dposer_quickstart_cpu_seeds_complete.json"),
              ("DPoser mocap small, left leg completed, 10 hypotheses",
               "dposer_mocap_small_v2_cpu_seeds_complete.json")))),
    label_titles=("model", "test input"),
    note=("Only the DiffPose quickstart, whose test rows are drawn like its "
          "training rows, holds both levels. On the mocap test people every "
          "model's intervals are too narrow, and more so with noisy 2D: the "
          "error grows faster than the spread. Spread and error are "
          "correlated, so the spread says which joints are the uncertain "
          "ones, but not by how much; the tables below calibrate it."))

GFPOSE = spec.Table(
    title="GFPose: coverage after calibration",
    intro=("GFPose (200 hypotheses) calibrated on the rows held out of its "
           "training and scored on the test rows: the coverage of the 50% and "
           "90% intervals before and after; held-out 90% before: the "
           "uncalibrated coverage of the held-out rows; error: the MPJPE (mm) "
           "of the hypotheses' mean on the held-out and on the test rows, the "
           "latter against the same model trained on every row (the same 500 "
           "test rows and exact 2D on both sides); kept: the calibration the "
           "held-out rows chose (seed 0's; every seed chose the same)."),
    columns=_calibrated("calibration"),
    rows=(_row("GFPose quickstart",
               "quickstart_gfpose_holdout_cpu_seeds_estimate.json",
               "a tenth of the training poses", "exact"),
          _row("GFPose mocap small",
               "gfpose_mocap_small_holdout_cpu_seeds_estimate.json",
               "a tenth of the clips", "exact", baseline="every row"),
          _row("GFPose mocap small",
               "gfpose_mocap_small_subject006_cpu_seeds_estimate.json",
               "CMU 006", "exact", baseline="every row"),
          _row("GFPose mocap small",
               "gfpose_mocap_small_subjects001_006_cpu_seeds_estimate.json",
               "CMU 001 and 006", "exact", baseline="every row"),
          _row("GFPose mocap small, trained on every row",
               "gfpose_mocap_small_borrowed001_006_cpu_seeds_estimate.json",
               "none: borrows the calibration of the row above "
               "(`eval.calibration_from`)", "exact", name="every row"),
          _row("GFPose mocap small",
               "gfpose_mocap_small_subjects001_006_noisycal_cpu_seeds_estimate_"
               "noisy2d.json", "CMU 001 and 006, calibrated on their noisy 2D "
               "(`eval.calibration_2d=noisy`)", "noisy"),
          _row("GFPose mocap small, trained on noisy 2D",
               "gfpose_mocap_small_noisytrain_subjects001_006_cpu_seeds_"
               "estimate_noisy2d.json", "CMU 001 and 006 (their noisy 2D)",
               "noisy")),
    label_titles=("model", "held out and calibrated on", "test 2D"),
    note=("A tenth of random mocap clips, mostly from the Bandai set, is far "
          "easier than the test people (compare the two error columns), so "
          "intervals sized on them stay too narrow on the test people. "
          "People held out whole are closer to the test people: with CMU 001 "
          "and 006, whose error is near the test people's, both targets are "
          "met (0.40-0.60 and 0.85-0.95), at a cost in the mean, as their "
          "rows are most of the test rig's training rows. The model trained "
          "on every row meets them too by borrowing that calibration, "
          "without the cost. With noisy test 2D it is enough to calibrate on "
          "the held-out people's noisy 2D; training on noisy 2D instead costs "
          "accuracy (the test error) and adds no coverage."))

GFPOSE_AUGMENTED = spec.Table(
    title="GFPose with other bodies and mirror: coverage after calibration",
    intro=("The rows 'CMU 001 and 006' and 'trained on every row' of the "
           "table above, refitted for GFPose trained with wide bodies and "
           "mirror (`--config.data.train_bodies=0.5 "
           "--config.data.train_body_spread=4 --config.train.mirror=0.5`, "
           "the bodies page's 'wide' arm, 20,000 steps): the model with CMU "
           "001 and 006 held out calibrated on them, and the model trained "
           "on every row borrowing that calibration; columns as above, one "
           "seed."),
    columns=_calibrated("calibration"),
    rows=(_row("GFPose mocap small, wide bodies and mirror",
               "gfpose_mocap_small_wide_subjects001_006_cpu_seeds_estimate.json",
               "CMU 001 and 006", "exact"),
          _row("GFPose mocap small, wide bodies and mirror, trained on every "
               "row", "gfpose_mocap_small_wide_borrowed001_006_cpu_seeds_"
               "estimate.json", "none: borrows the calibration of the row "
               "above", "exact")),
    label_titles=("model", "held out and calibrated on", "test 2D"),
    note=("The augmented model keeps what the unaugmented one showed: "
          "calibrated on the two held-out people its intervals meet both "
          "targets on the test people, and the model trained on every row "
          "meets them by borrowing that calibration. Its intervals are a "
          "little wider before calibration, and its mean a little closer "
          "to the truth."))

DIFFPOSE = spec.Table(
    title="DiffPose: coverage after calibration",
    intro=("DiffPose (the quickstart with 20 hypotheses; the mocap "
           "`per_row_kernel_oracle` config with 5, denoiser seeds on one encoder) "
           "calibrated on rows held out of both its networks, scored on the "
           "test rows; columns as in the GFPose table, the test error of the "
           "denoiser trained on exact 2D with a person held out against the "
           "same denoiser trained on every row (the same 500 test rows and "
           "exact 2D on both sides)."),
    columns=_calibrated("calibration"),
    rows=(_row("DiffPose quickstart",
               "diffpose_quickstart_holdout_cpu_seeds_estimate.json",
               "half its encoder's held-out fifth", "exact"),
          _row("DiffPose mocap small",
               "diffpose_mocap_small_per_row_kernel_holdout_cpu_seeds_"
               "estimate.json", "half its encoder's held-out tenth of the "
               "clips", "exact"),
          _row("DiffPose mocap small",
               "diffpose_mocap_small_per_row_kernel_holdout_cpu_seeds_estimate_"
               "noisy2d.json", "half its encoder's held-out tenth of the clips",
               "noisy"),
          _row("DiffPose mocap small",
               "diffpose_mocap_small_per_row_kernel_subject006_cpu_seeds_"
               "estimate.json", "CMU 006", "exact"),
          _row("DiffPose mocap small",
               "diffpose_mocap_small_per_row_kernel_subject006_cpu_seeds_"
               "estimate_noisy2d.json", "CMU 006", "noisy"),
          _row("DiffPose mocap small, trained on exact 2D",
               "diffpose_mocap_small_per_row_kernel_exacttrain_subject006_cpu_"
               "seeds_estimate.json", "CMU 006", "exact", baseline="every row"),
          _row("DiffPose mocap small, trained on exact 2D on every row",
               "diffpose_mocap_small_per_row_kernel_exacttrain_borrowed006_cpu_"
               "seeds_estimate.json", "none: borrows the calibration of the row "
               "above", "exact", name="every row")),
    label_titles=("model", "held out and calibrated on", "test 2D"),
    note=("The mocap denoiser is trained on noisy 2D, so its held-out rows "
          "carry noisy 2D and its intervals are sized for it: with noisy test "
          "2D a held-out person brings it into both targets where held-out "
          "clips do not, and with exact test 2D the intervals are wide "
          "(those of a held-out person over-cover). Trained on exact 2D, one "
          "held-out person is enough for both targets, and the denoiser "
          "trained on every row meets them too by borrowing that "
          "calibration, without the cost in the mean."))

DPOSER = spec.Table(
    title="DPoser: coverage after calibration",
    intro=("DPoser's completion of the left leg (10 hypotheses), calibrated "
           "on rows held out of its prior's training, scored on the test "
           "rows (the quickstart's, or 200 rows of the mocap test people); "
           "columns as in the GFPose table, the error on the completed "
           "joints, the test error against the same prior trained without "
           "holding people out (the same test rows and 3D input on both "
           "sides)."),
    columns=_calibrated("calibration_before"),
    rows=(_dposer_row("DPoser quickstart",
                      "dposer_quickstart_holdout_cpu_seeds_complete.json",
                      "a tenth of the training poses"),
          _dposer_row("DPoser mocap small",
                      "dposer_mocap_small_v2_tenth_cpu_seeds_complete.json",
                      "a tenth of the clips"),
          _dposer_row("DPoser mocap small",
                      "dposer_mocap_small_v2_subject006_cpu_seeds_"
                      "complete.json",
                      "CMU 006 and a tenth of the other clips",
                      baseline="every row"),
          _dposer_row("DPoser mocap small",
                      "dposer_mocap_small_v2_subjects001_006_cpu_seeds_"
                      "complete.json",
                      "CMU 001 and 006 and a tenth of the other clips",
                      baseline="every row"),
          _dposer_row("DPoser mocap small, people not held out",
                      "dposer_mocap_small_v2_borrowed001_006_cpu_seeds_"
                      "complete.json", "none (a tenth of the clips): borrows "
                      "the calibration of the row above", name="every row")),
    label_titles=("model", "held out and calibrated on"),
    note=("On the quickstart the calibration holds. On the mocap test people "
          "no calibration reaches the 90% target: the error of the mean on "
          "the test people is well above that on any held-out rows, "
          "whether clips or people, and the seeds of the prior trained "
          "without holding people out differ widely in their test error. "
          "The next tables look at why."))

_BY_PERSON = "dposer_mocap_small_v2_{}_cpu_seeds_complete_by_subject.json"
BY_PERSON = spec.Table(
    title="DPoser: coverage on each test person",
    intro=("The two calibrations of DPoser's completion fitted on CMU 001 and "
           "006 (the prior trained with them held out, and the prior trained "
           "without holding people out that borrows it), scored on each test "
           "person alone: means over the three seeds, from each seed's saved "
           "predictions (`--config.eval.save_predictions=True`). q for 90%: "
           "the multiple of the hypotheses' standard deviation that would "
           "cover that person's joints 90% of the time (the 0.9-quantile of "
           "|y - m| / sigma)."),
    columns=(spec.Col("rows", "rows", ".0f"),
             spec.Col("mean's error", "mean_mpjpe_mm"),
             *(spec.Col(f"{level}% {when}", (f"{when}.0.{level // 10}",), ".2f")
               for level in (50, 90) for when in ("before", "after")),
             spec.Col("q for 90%", ("score_quantile.0.9",))),
    rows=tuple(spec.Row(
        label=f"CMU {person}", cells=(words,), file=_BY_PERSON.format(stem),
        at=("mean_over_seeds", person), hardware=_DPOSER_HW,
        name=f"{stem}/{person}", method=_DPOSER)
        for stem, words in (("subjects001_006", "CMU 001 and 006 held out"),
                            ("borrowed001_006", "borrowed"))
        for person in ("005", "007")),
    label_titles=("test person", "prior"),
    note=("The calibration fitted on the held-out people has a q well below "
          "what the test people need (next table). CMU 007, whose error is "
          "close to the held-out people's, is nearly covered by the borrowed "
          "calibration; CMU 005, harder and most of the test rows, is not. "
          "A calibration fitted on training people cannot anticipate a test "
          "person whose motions are harder than theirs."))

_FITTED = _BY_PERSON.format("subjects001_006")
FITTED_Q = spec.Table(
    title="DPoser: the q fitted on the held-out people",
    intro=("The conformal q (intervals m +- q sigma, sigma the standard "
           "deviation of the ten hypotheses per coordinate) that "
           "`--mode=calibrate` fitted on CMU 001 and 006, by seed and their "
           "mean: what both calibrations of the table above apply."),
    columns=(spec.Col("q for 50%", ("0.5",)), spec.Col("q for 90%", ("0.9",))),
    rows=(*(spec.Row(label=f"seed {seed}", file=_FITTED, seeds=seed,
                     at=("fitted_quantile", seed), hardware=_DPOSER_HW,
                     method=_DPOSER)
            for seed in ("0", "1", "2")),
          spec.Row(label="mean over seeds", file=_FITTED, seeds="0, 1, 2",
                   at=("fitted_quantile_mean",), hardware=_DPOSER_HW,
                   method=_DPOSER)),
    label_titles=("calibration",))

_NOVELTY = "dposer_mocap_small_v2_{}_cpu_seeds_novelty.json"
_TWO, _FOUR = _NOVELTY.format("subjects001_006"), _NOVELTY.format("subjects4")
NOVELTY = spec.Table(
    title="Intervals that widen with a row's novelty",
    intro=("A row's novelty: the mean distance of its visible joints to the 10 "
           "nearest training poses of the prior (mm per joint; "
           "`jaxpose.evaluation.novelty`). Intervals m +- q sigma (novelty / "
           "median) ^ a, the exponent a fitted between the held-out people "
           "(the one that makes their score quantiles most alike), against "
           "plain conformal intervals, both fitted on the held-out people and "
           "scored on the test people (DPoser's left-leg completion, coverage "
           "the mean over the three seeds)."),
    columns=(spec.Col("a by seed", "exponent", ".2f"),
             spec.Col("plain 50%", ("to_test_plain", "0.5"), ".2f"),
             spec.Col("plain 90%", ("to_test_plain", "0.9"), ".2f"),
             spec.Col("scaled 50%", ("to_test_scaled", "0.5"), ".2f"),
             spec.Col("scaled 90%", ("to_test_scaled", "0.9"), ".2f")),
    rows=(spec.Row(label="CMU 001 and 006", file=_TWO, seeds="0, 1, 2",
                   method=_DPOSER),
          spec.Row(label="CMU 001, 002, 003 and 006", file=_FOUR,
                   seeds="0, 1, 2", method=_DPOSER)),
    label_titles=("held out",),
    note=("With two people held out the fitted exponent is large and the "
          "scaled intervals cover more of the test people, but that fit "
          "rests on two people who differ in both novelty and error, and the "
          "scaled form was chosen after seeing these test rows, so the "
          "figure is optimistic. With four people held out the exponent "
          "fitted is about zero and the scaling changes nothing, so the "
          "calibration stays plain conformal."))

_PEOPLE = (("heldout_people", "001"), ("heldout_people", "002"),
           ("heldout_people", "003"), ("heldout_people", "006"),
           ("test_people", "005"), ("test_people", "007"))


def _people_cols(*figure: str) -> tuple[spec.Col, ...]:
  """One column per person of the four-people study: `figure` of each."""
  return tuple(spec.Col(f"CMU {person}" + (" (test)" if group == "test_people"
                                           else ""),
                        (group, person, *figure))
               for group, person in _PEOPLE)


NOVELTY_BY_PERSON = spec.Table(
    title="Each person's novelty, four people held out",
    intro=("The mean novelty (mm) of each held-out person's rows and of each "
           "test person's, four people held out; it depends only on the rows "
           "and the training poses, the same for every seed (seed 0's "
           "workdir shown)."),
    columns=_people_cols("novelty_mm"),
    rows=(spec.Row(label="DPoser mocap small", file=_FOUR, seeds="0",
                   at=("workdirs", "runs/nov4_s0"), method=_DPOSER),),
    label_titles=("prior",))

Q_BY_PERSON = spec.Table(
    title="The q each person needs at 90%, four people held out",
    intro=("Each person's 0.9-quantile of |y - m| / sigma (the q that would "
           "cover their joints 90% of the time), by seed."),
    columns=_people_cols("score_quantile", "0.9"),
    rows=tuple(spec.Row(label="DPoser mocap small", file=_FOUR, seeds=seed,
                        at=("workdirs", f"runs/nov4_s{seed}"), name=seed,
                        method=_DPOSER)
               for seed in ("0", "1", "2")),
    label_titles=("prior",),
    note=("The held-out people need similar q whatever their novelty; the "
          "test people need about twice as much on most seeds, CMU 007 "
          "included, though it is no more novel than the held-out people. "
          "Novelty does not explain what makes the test people hard."))

_PAIRS = ("001+002", "001+003", "001+006", "002+003", "002+006", "003+006")
PAIRS = spec.Table(
    title="Plain and novelty-scaled intervals between held-out people",
    intro=("Four people held out: each pair of them fits the intervals (plain "
           "conformal, and novelty-scaled with the exponent a fitted on that "
           "pair), scored on the other two, by seed."),
    columns=(spec.Col("a", "exponent", ".2f"),
             spec.Col("plain 50%", ("plain", "0.5"), ".2f"),
             spec.Col("plain 90%", ("plain", "0.9"), ".2f"),
             spec.Col("scaled 50%", ("scaled", "0.5"), ".2f"),
             spec.Col("scaled 90%", ("scaled", "0.9"), ".2f")),
    rows=tuple(spec.Row(
        label="CMU " + pair.replace("+", " and "), file=_FOUR, seeds=seed,
        at=("workdirs", f"runs/nov4_s{seed}", "leave_pairs_out", pair),
        name=f"{pair}/{seed}", method=_DPOSER)
        for pair in _PAIRS for seed in ("0", "1", "2")),
    label_titles=("fitted on",),
    note=("Between training people plain conformal intervals already carry "
          "over, close to 0.50 and 0.90, and scaling by novelty adds "
          "nothing."))

PAGE = spec.Page(
    name="calibration", title="Can the hypotheses' spread be trusted?",
    intro=(
        "Whether the spread of a method's hypotheses can be read as its "
        "uncertainty: how often the true joint lies inside the central 50% "
        "and 90% intervals of the hypotheses (the targets: 0.40-0.60 and "
        "0.85-0.95), before and after calibrating them on rows held out of "
        "training, and why they fall short on the mocap test people.\n\n"
        "To calibrate, train with whole clips held out "
        "(`--config.holdout.fraction=0.1`) or whole people "
        "(`--config.holdout.subjects=cmu:006`), then `python -m "
        "experiments.main --workdir=W --mode=calibrate` runs the config's "
        "task on up to `eval.num_poses` of those held-out training rows "
        "(never the test split; the named people's alone when there are "
        "some) and fits two calibrations of the hypotheses' mean m: a "
        "spread scale (each hypothesis m + s (x - m): still hypotheses, the "
        "mean unchanged) and split-conformal intervals (m +- q sigma, q a "
        "finite-sample quantile per level: intervals, not hypotheses). Each "
        "is fitted on half the held-out rows and scored on the other half; "
        "the spread scale is kept unless conformal's worst coverage error is "
        "smaller by more than 0.01. `W/calibration.json` records the choice "
        "with the checkpoint, and every later `--mode=eval` there reports "
        "`calibration_after` beside `calibration` "
        "(`--config.eval.apply_calibration=False`: off). A model trained on "
        "every row can borrow the calibration of a sibling trained with "
        "people held out (`--mode=calibrate "
        "--config.eval.calibration_from=SIBLING_WORKDIR`); its coverage is "
        "then not guaranteed, as the sibling's held-out rows are not "
        "exchangeable with this model's test rows, but the two models differ "
        "in a small share of their training rows. DiffPose holds its rows "
        "out of its encoder's training too; DPoser calibrates its prior's "
        "completion of the left leg (`--mode=calibrate "
        "\"--config.eval.priors=('dposer',)\" "
        "\"--config.eval.complete.parts=('l_leg',)\"`). Test rows: the "
        "quickstart's synthetic test split, or the mocap test people, CMU "
        "005 and 007 (500 rows; DPoser 200). A row over seeds is the mean "
        "± standard deviation (ddof 1) over its training seeds."),
    tables=(SPREAD, GFPOSE, GFPOSE_AUGMENTED, DIFFPOSE, DPOSER, BY_PERSON, FITTED_Q, NOVELTY,
            NOVELTY_BY_PERSON, Q_BY_PERSON, PAIRS))
