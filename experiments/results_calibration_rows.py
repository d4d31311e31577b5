"""The results files behind the calibration tables of the README
(`experiments.results_calibration`): which JSON each row reads, and its
label. Data only, so the renderers stay short.
"""
from __future__ import annotations

R = "experiments/results/"

# (label, JSON, where the calibration block is): multi-hypothesis results.
CALIBRATION = (
    ("GFPose mocap small, exact 2D, H=200", R + "gfpose_mocap_small_h100_estimate.json", None),
    ("GFPose mocap small, noisy 2D, H=200",
     R + "gfpose_mocap_small_h100_estimate_noisy2d.json", None),
    ("GFPose mocap paper size, exact 2D, H=200",
     R + "gfpose_mocap_paper_h100_estimate.json", None),
    ("DiffPose quickstart, N=20", R + "diffpose_quickstart_cpu_n20.json", None),
    ("DiffPose mocap small (H_K on held-out clips), noisy 2D, N=20",
     R + "diffpose_mocap_small_heldout_cpu_estimate_noisy2d_n20.json", None),
    ("DiffPose mocap small, single Gaussian H_K (M=1), noisy 2D, N=5",
     R + "diffpose_mocap_small_m1_cpu_estimate_noisy2d.json", None),
    ("DiffPose mocap small (noisy-trained), noisy 2D, N=20",
     R + "diffpose_mocap_small_cpu_estimate_noisy2d_n20.json", None),
    ("DiffPose mocap small (exact-trained), exact 2D, N=20",
     R + "diffpose_mocap_small_exacttrain_cpu_estimate_n20.json", None),
    ("DPoser quickstart, left-leg completion, best-of-10 set",
     R + "dposer_quickstart_cpu_complete.json", ("dposer", "l_leg")),
    ("DPoser mocap small (body-space caches of version 1), "
     "left-leg completion, best-of-10 set",
     R + "dposer_mocap_small_cpu_complete.json", ("dposer", "l_leg")),
    ("DPoser mocap small v2 (calibrated body space, rigs balanced), left-leg "
     "completion, best-of-10 set",
     R + "dposer_mocap_small_v2_cpu_complete.json", ("dposer", "l_leg")),
)

# A CALIBRATION row's summary over training seeds whose name
# `results_files.seeds_file` does not give (the seeds of the small GFPose
# ran on CPU cores where its single run had an H100).
SPREAD_OVER_SEEDS = {
    **{R + f"gfpose_mocap_small_h100_estimate{s}.json":
       R + f"gfpose_mocap_small_cpu_seeds_estimate{s}.json" for s in ("", "_noisy2d")},
    R + "diffpose_quickstart_cpu_n20.json": R + "diffpose_quickstart_cpu_seeds_n20.json",
    R + "dposer_quickstart_cpu_complete.json":
        R + "dposer_quickstart_cpu_seeds_complete.json",
    R + "dposer_mocap_small_v2_cpu_complete.json":
        R + "dposer_mocap_small_v2_cpu_seeds_complete.json",
}

# (label, JSON of an evaluation after --mode=calibrate, where the "before"
# block is, the held-out report WORKDIR/calibration/<task>.json or None):
# coverage before and after the calibration kept.
CALIBRATED = (
    ("GFPose quickstart, a tenth held out, H=200",
     R + "quickstart_gfpose_holdout_cpu_estimate.json", None, None),
    ("DiffPose quickstart, half its encoder's held-out fifth, N=20",
     R + "diffpose_quickstart_holdout_cpu_estimate.json", None, None),
    ("DPoser quickstart, a tenth held out, left-leg completion, H=10",
     R + "dposer_quickstart_holdout_cpu_complete.json", None, None),
    ("GFPose mocap small (CMU 005/007), a tenth held out, H=200",
     R + "gfpose_mocap_small_holdout_cpu_estimate.json", None,
     R + "gfpose_mocap_small_holdout_cpu_calibration_heldout.json"),
    ("DiffPose mocap small per_row_kernel (CMU 005/007), half its encoder's "
     "held-out tenth, N=5, exact 2D",
     R + "diffpose_mocap_small_per_row_kernel_holdout_cpu_estimate.json", None,
     R + "diffpose_mocap_small_per_row_kernel_holdout_cpu_calibration_heldout.json"),
    ("the same, noisy 2D",
     R + "diffpose_mocap_small_per_row_kernel_holdout_cpu_estimate_noisy2d.json",
     None,
     R + "diffpose_mocap_small_per_row_kernel_holdout_cpu_calibration_heldout.json"),
    ("DPoser mocap small v2 (CMU 005/007), a tenth held out, left-leg "
     "completion, H=10", R + "dposer_mocap_small_v2_cpu_complete.json", None,
     R + "dposer_mocap_small_v2_cpu_calibration_heldout.json"),
    ("DPoser mocap small v2, CMU subject 006 held out whole (and a tenth of "
     "the other clips), left-leg completion, H=10",
     R + "dposer_mocap_small_v2_subject006_cpu_complete.json", None,
     R + "dposer_mocap_small_v2_subject006_cpu_calibration_heldout.json"),
)


# A CALIBRATED row's summary over training seeds (each seed calibrated on
# its own held-out clips, then evaluated), which replaces the one run once
# it exists.
CALIBRATED_OVER_SEEDS = {
    R + "quickstart_gfpose_holdout_cpu_estimate.json":
        R + "quickstart_gfpose_holdout_cpu_seeds_estimate.json",
    R + "dposer_quickstart_holdout_cpu_complete.json":
        R + "dposer_quickstart_holdout_cpu_seeds_complete.json",
    R + "diffpose_quickstart_holdout_cpu_estimate.json":
        R + "diffpose_quickstart_holdout_cpu_seeds_estimate.json",
    R + "dposer_mocap_small_v2_cpu_complete.json":
        R + "dposer_mocap_small_v2_tenth_cpu_seeds_complete.json",
    R + "dposer_mocap_small_v2_subject006_cpu_complete.json":
        R + "dposer_mocap_small_v2_subject006_cpu_seeds_complete.json",
    R + "gfpose_mocap_small_holdout_cpu_estimate.json":
        R + "gfpose_mocap_small_holdout_cpu_seeds_estimate.json",
    **{R + f"diffpose_mocap_small_per_row_kernel_holdout_cpu_estimate{s}.json":
       R + f"diffpose_mocap_small_per_row_kernel_holdout_cpu_seeds_estimate{s}.json"
       for s in ("", "_noisy2d")},
}

# The held-out-person rows over seeds (seed_summary JSON of evaluations after
# --mode=calibrate, each seed's held-out report summarised beside them).
GF_SUBJECT = R + "gfpose_mocap_small_subject006_cpu_seeds_estimate.json"
GF_SUBJECTS = R + "gfpose_mocap_small_subjects001_006_cpu_seeds_estimate.json"
GF_BORROWED = R + "gfpose_mocap_small_borrowed001_006_cpu_seeds_estimate.json"
# GFPose with noisy test 2D, CMU 001 and 006 held out: trained on exact 2D
# and calibrated on their noisy 2D (`eval.calibration_2d`), or trained and
# calibrated on noisy 2D; and the uncalibrated model of every row.
GF_NOISY_CAL = (R + "gfpose_mocap_small_subjects001_006_noisycal_cpu_seeds_"
                "estimate_noisy2d.json")
GF_NOISY_TRAINED = (R + "gfpose_mocap_small_noisytrain_subjects001_006_cpu_"
                    "seeds_estimate_noisy2d.json")
GF_NOISY_PLAIN = R + "gfpose_mocap_small_cpu_seeds_estimate_noisy2d.json"
DP_SUBJECT = R + "diffpose_mocap_small_per_row_kernel_subject006_cpu_seeds_estimate{}.json"
# DiffPose trained on exact 2D: one person held out, the model trained on
# every row borrowing that calibration, and the accuracy table's seeds of
# that model (on another encoder).
_DP_EXACT = R + "diffpose_mocap_small_per_row_kernel_exacttrain{}_cpu_seeds_estimate.json"
DP_EXACT_SUBJECT = _DP_EXACT.format("_subject006")
DP_EXACT_BORROWED = _DP_EXACT.format("_borrowed006")
DP_EXACT_PLAIN = _DP_EXACT.format("")
DPOSER_SUBJECTS = R + "dposer_mocap_small_v2_subjects001_006_cpu_seeds_complete.json"
DPOSER_BORROWED = R + "dposer_mocap_small_v2_borrowed001_006_cpu_seeds_complete.json"
DPOSER_PLAIN = R + "dposer_mocap_small_v2_cpu_seeds_complete.json"
# experiments.coverage_by_group of the two rows above: each test person.
DPOSER_BY_SUBJECT = tuple(rel.replace(".json", "_by_subject.json")
                          for rel in (DPOSER_SUBJECTS, DPOSER_BORROWED))
CALIBRATED_SEEDS = (
    ("GFPose mocap small (CMU 005/007), CMU subject 006 held out whole, H=200",
     GF_SUBJECT),
    ("the same, CMU subjects 001 and 006 held out whole", GF_SUBJECTS),
    ("GFPose trained on every row, the calibration of the row above borrowed "
     "(`eval.calibration_from`)", GF_BORROWED),
    ("GFPose trained on exact 2D, CMU subjects 001 and 006 held out whole and "
     "calibrated on their noisy 2D (`eval.calibration_2d=noisy`), noisy test 2D",
     GF_NOISY_CAL),
    ("GFPose trained on noisy 2D, the same people held out and calibrated on "
     "(their noisy 2D), noisy test 2D", GF_NOISY_TRAINED),
    ("DiffPose mocap small per_row_kernel, CMU subject 006 held out whole "
     "(from both networks; denoiser seeds on one encoder), N=5, exact 2D",
     DP_SUBJECT.format("")),
    ("the same, noisy 2D", DP_SUBJECT.format("_noisy2d")),
    ("DiffPose mocap small per_row_kernel trained on exact 2D, CMU subject "
     "006 held out whole (from both networks; denoiser seeds on one encoder), "
     "N=5, exact 2D", DP_EXACT_SUBJECT),
    ("DiffPose trained on exact 2D on every row, the calibration of the row "
     "above borrowed", DP_EXACT_BORROWED),
    ("DPoser mocap small v2, CMU subjects 001 and 006 held out whole (and a "
     "tenth of the other clips), left-leg completion, H=10", DPOSER_SUBJECTS),
    ("DPoser trained without holding people out, the calibration of the row "
     "above borrowed", DPOSER_BORROWED),
)


__all__ = ["R", "CALIBRATION", "SPREAD_OVER_SEEDS", "CALIBRATED",
           "CALIBRATED_OVER_SEEDS", "CALIBRATED_SEEDS", "GF_SUBJECT",
           "GF_SUBJECTS", "GF_BORROWED", "GF_NOISY_CAL", "GF_NOISY_TRAINED",
           "GF_NOISY_PLAIN", "DP_SUBJECT", "DP_EXACT_SUBJECT",
           "DP_EXACT_BORROWED", "DP_EXACT_PLAIN", "DPOSER_SUBJECTS",
           "DPOSER_BORROWED", "DPOSER_PLAIN", "DPOSER_BY_SUBJECT"]
