"""experiments.seed_summary: the mean and spread of one row over seeds."""
import json
import os

import numpy as np
import pytest

from experiments import seed_summary


def _result(mpjpe, **over):
  r = dict(task="estimate", data="mocap", input_2d="exact", num_poses=500,
           num_hypotheses=1, sampler="deterministic", num_steps=1000,
           mpjpe_mm=mpjpe, pa_mpjpe_mm=mpjpe / 2, min_mpjpe_mm=mpjpe,
           train_step=20000,
           calibration=dict(coverage={"0.5": 0.4, "0.9": 0.8}, radial_coverage=None))
  r.update(over)
  return r


def test_mean_and_sample_std_over_seeds():
  s = seed_summary.summarise({0: _result(70.0), 1: _result(72.0), 2: _result(77.0)},
                             what="w", command="c $S", hardware="cpu")
  m = s["across_seeds"]["mpjpe_mm"]
  assert m["mean"] == pytest.approx(73.0)
  assert m["std"] == pytest.approx(np.std([70, 72, 77], ddof=1))
  assert (m["min"], m["max"], m["n"]) == (70.0, 77.0, 3)
  assert s["across_seeds"]["calibration.coverage.0.9"]["mean"] == pytest.approx(0.8)
  assert s["seeds"]["1"]["pa_mpjpe_mm"] == 36.0
  assert s["same_rows"]["num_poses"] == 500


def test_spread_error_and_energy_score_over_seeds():
  def with_scores(r, energy):
    cal = dict(coverage={"0.5": 0.4, "0.9": 0.8}, spread_error_pearson=r,
               energy_score_mm=energy)
    return _result(70.0, calibration=cal)
  s = seed_summary.summarise({0: with_scores(0.4, 430.0), 1: with_scores(0.5, 436.0),
                              2: with_scores(0.6, 442.0)},
                             what="w", command="c", hardware="cpu")
  r = s["across_seeds"]["calibration.spread_error_pearson"]
  assert (r["mean"], r["min"], r["max"]) == (pytest.approx(0.5), 0.4, 0.6)
  e = s["across_seeds"]["calibration.energy_score_mm"]
  assert (e["mean"], e["std"]) == (pytest.approx(436.0), pytest.approx(6.0))
  # A figure one seed lacks is no figure of the row.
  partial = seed_summary.summarise({0: with_scores(0.4, 430.0), 1: _result(70.0)},
                                   what="w", command="c", hardware="cpu")
  assert "calibration.energy_score_mm" not in partial["across_seeds"]


def test_each_settings_row_over_seeds():
  def denoise(after_none, after_dposer, extra=()):
    rows = [dict(prior="none", noise_mm=20.0, weights="fixed", mpjpe_after_mm=after_none,
                 moved_joints=["a"]),
            dict(prior="dposer", noise_mm=20.0, weights="fixed",
                 mpjpe_after_mm=after_dposer, flag=True)]
    return _result(1.0, task="denoise_motion", settings=rows + list(extra))
  only_one = [dict(prior="gmm", noise_mm=20.0, weights="fixed", mpjpe_after_mm=9.0)]
  s = seed_summary.summarise({0: denoise(27.0, 29.0, only_one), 1: denoise(29.0, 30.0),
                              2: denoise(28.0, 34.0)},
                             what="w", command="c", hardware="cpu")
  rows = s["settings_across_seeds"]
  # A row only one seed has is no row of the three; names are not figures.
  assert [(r["prior"], r["noise_mm"], r["weights"]) for r in rows] == [
      ("none", 20.0, "fixed"), ("dposer", 20.0, "fixed")]
  assert set(rows[1]["figures"]) == {"mpjpe_after_mm"}
  assert rows[0]["figures"]["mpjpe_after_mm"]["mean"] == pytest.approx(28.0)
  assert rows[1]["figures"]["mpjpe_after_mm"]["std"] == pytest.approx(
      np.std([29, 30, 34], ddof=1))
  assert "settings_across_seeds" not in seed_summary.summarise(
      {0: _result(70.0)}, what="w", command="c", hardware="cpu")


def test_a_settings_rows_own_calibration_over_seeds():
  # DPoser's completion reports a calibration block per prior and part.
  def complete(cover90, energy, pearson=0.5):
    cal = dict(coverage={"0.5": 0.1, "0.9": cover90}, radial_coverage=None,
               energy_score_mm=energy, spread_error_pearson=pearson,
               num_hypotheses=10, per_joint=[1.0, 2.0])
    rows = [dict(prior="dposer", part="l_leg", missing_mpjpe_mm=300.0,
                 calibration=cal),
            dict(prior="none", part="l_leg", missing_mpjpe_mm=350.0)]
    return _result(1.0, task="complete", settings=rows)
  s = seed_summary.summarise(
      {0: complete(0.15, 600.0), 1: complete(0.17, 630.0, float("nan")),
       2: complete(0.16, 615.0)}, what="w", command="c", hardware="cpu")
  dposer, none = s["settings_across_seeds"]
  figures = dposer["figures"]
  assert figures["calibration.coverage.0.9"]["mean"] == pytest.approx(0.16)
  assert figures["calibration.coverage.0.5"]["std"] == pytest.approx(0.0)
  assert figures["calibration.energy_score_mm"]["mean"] == pytest.approx(615.0)
  assert figures["calibration.energy_score_mm"]["std"] == pytest.approx(15.0)
  # A figure one seed has no finite value of is no figure of the row; the
  # block's own metadata and lists are not figures.
  assert "calibration.spread_error_pearson" not in figures
  assert not any("num_hypotheses" in k or "per_joint" in k for k in figures)
  assert set(none["figures"]) == {"missing_mpjpe_mm"}


def test_seeds_on_other_rows_are_refused():
  with pytest.raises(ValueError, match="num_poses=100 .* not evaluated on the same rows"):
    seed_summary.summarise({0: _result(70.0), 1: _result(70.0, num_poses=100)},
                           what="w", command="c", hardware="cpu")
  with pytest.raises(ValueError, match="no seeds"):
    seed_summary.summarise({}, what="w", command="c", hardware="cpu")


def test_read_results_from_workdirs(tmp_path):
  dirs = []
  for seed in (3, 4):
    d = tmp_path / f"w{seed}"
    (d / "eval").mkdir(parents=True)
    (d / "eval" / "estimate.json").write_text(json.dumps(_result(60.0 + seed)))
    (d / "config.json").write_text(json.dumps(dict(seed=seed)))
    dirs.append(str(d))
  results = seed_summary.read_results(dirs, "estimate")
  assert sorted(results) == [3, 4]
  out = tmp_path / "summary.json"
  seed_summary.write(str(out), seed_summary.summarise(
      results, what="w", command="c", hardware="cpu"))
  assert json.loads(out.read_text())["across_seeds"]["mpjpe_mm"]["mean"] == 63.5
  with pytest.raises(FileNotFoundError, match="no results of 'estimate_noisy2d'"):
    seed_summary.read_results(dirs, "estimate_noisy2d")
  # Other data than the training data: one folder below eval/.
  for d in dirs:
    os.makedirs(os.path.join(d, "eval", "mocap-abc"))
    with open(os.path.join(d, "eval", "mocap-abc", "estimate_noisy2d.json"), "w") as f:
      json.dump(_result(90.0, input_2d="noisy"), f)
  assert seed_summary.read_results(dirs, "estimate_noisy2d")[4]["input_2d"] == "noisy"
  os.makedirs(os.path.join(dirs[0], "eval", "mocap-def"))
  with open(os.path.join(dirs[0], "eval", "mocap-def", "estimate_noisy2d.json"), "w") as f:
    json.dump(_result(91.0), f)
  with pytest.raises(ValueError, match="several results files"):
    seed_summary.read_results(dirs, "estimate_noisy2d")
  with pytest.raises(ValueError, match="seed 3 given twice"):
    seed_summary.read_results([dirs[0], dirs[0]], "estimate")
  assert os.path.exists(out)


def test_the_encoder_on_the_same_rows_is_kept_over_seeds():
  seeds = {s: _result(100.0 + s, encoder=dict(mpjpe_mm=120.0 + 2 * s, network="g"))
           for s in range(3)}
  s = seed_summary.summarise(seeds, what="w", command="c", hardware="cpu")
  enc = s["across_seeds"]["encoder.mpjpe_mm"]
  assert enc["mean"] == pytest.approx(122.0) and enc["std"] == pytest.approx(2.0)
  assert "encoder.pa_mpjpe_mm" not in s["across_seeds"]


def test_warnings_are_counted_per_seed():
  s = seed_summary.summarise(
      {0: _result(70.0, warnings=[]), 1: _result(72.0, warnings=["far", "far"])},
      what="w", command="c", hardware="cpu")
  assert s["seeds"]["1"]["num_warnings"] == 2.0
  assert s["across_seeds"]["num_warnings"]["mean"] == 1.0
  assert "num_warnings" not in seed_summary.seed_figures(_result(70.0))


def test_the_held_out_calibration_reports_over_seeds(tmp_path):
  def report(cover_after, mpjpe, kind):
    return dict(task="estimate",
                before=dict(coverage={"0.5": 0.3, "0.9": 0.6}),
                after=dict(kind=kind, coverage={"0.5": 0.5, "0.9": cover_after},
                           mean_mpjpe_mm=mpjpe),
                task_figures={"encoder/mpjpe_mm": mpjpe - 3.0, "mpjpe_mm": mpjpe},
                num_rows=500)
  dirs = []
  for seed, (cover, mpjpe, kind) in enumerate(
      [(0.88, 80.0, "conformal"), (0.92, 84.0, "spread_scale")]):
    d = tmp_path / f"w{seed}"
    (d / "eval").mkdir(parents=True)
    (d / "eval" / "estimate.json").write_text(json.dumps(_result(90.0)))
    (d / "config.json").write_text(json.dumps(dict(seed=seed)))
    dirs.append(str(d))
  results = seed_summary.read_results(dirs, "estimate")
  assert seed_summary.read_heldout(dirs, results) is None  # not calibrated
  for seed, (cover, mpjpe, kind) in enumerate(
      [(0.88, 80.0, "conformal"), (0.92, 84.0, "spread_scale")]):
    (tmp_path / f"w{seed}" / "calibration").mkdir()
    (tmp_path / f"w{seed}" / "calibration" / "estimate.json").write_text(
        json.dumps(report(cover, mpjpe, kind)))
  held = seed_summary.summarise(results, what="w", command="c", hardware="cpu",
                                heldout=seed_summary.read_heldout(dirs, results))[
      "heldout_calibration"]
  assert held["after.coverage.0.9"]["mean"] == pytest.approx(0.90)
  assert held["after.mean_mpjpe_mm"]["std"] == pytest.approx(np.std([80, 84], ddof=1))
  assert held["before.coverage.0.5"]["mean"] == pytest.approx(0.3)
  assert held["kept"] == {"0": "conformal", "1": "spread_scale"}
  assert held["task_figures.encoder/mpjpe_mm"]["mean"] == pytest.approx(79.0)
  assert held["task_figures.mpjpe_mm"]["mean"] == pytest.approx(82.0)
  assert held["num_rows"]["mean"] == 500
  without_encoder = {s: dict(report(0.9, 80.0, "conformal"), task_figures={})
                     for s in results}
  assert "task_figures.encoder/mpjpe_mm" not in seed_summary.summarise(
      results, what="w", command="c", hardware="cpu",
      heldout=without_encoder)["heldout_calibration"]
  with pytest.raises(ValueError, match="held-out reports of seeds"):
    seed_summary.summarise(results, what="w", command="c", hardware="cpu",
                           heldout={0: report(0.9, 80.0, "conformal")})


def test_seeds_whose_models_received_other_inputs_are_refused():
  exact = dict(test_inputs={"2d": "exact", "uncertainty": "none"})
  s = seed_summary.summarise({0: _result(70.0, **exact), 1: _result(72.0, **exact)},
                             what="w", command="c", hardware="cpu")
  assert s["same_rows"]["test_inputs"] == exact["test_inputs"]
  sigma = dict(test_inputs={"2d": "exact", "uncertainty": "pose2d_sigma"})
  with pytest.raises(ValueError, match="seed 1: test_inputs="):
    seed_summary.summarise({0: _result(70.0, **exact), 1: _result(72.0, **sigma)},
                           what="w", command="c", hardware="cpu")


def test_seeds_trained_with_other_settings_are_refused(tmp_path):
  def workdir(name, **config):
    d = tmp_path / name
    (d / "eval").mkdir(parents=True)
    (d / "eval" / "estimate.json").write_text(json.dumps(_result(60.0)))
    (d / "config.json").write_text(json.dumps(config))
    return str(d)
  base = dict(train=dict(mirror=0.0, num_steps=100, log_every=10),
              data=dict(cache_dir="caches"))
  first = workdir("a", seed=0, **base)
  # Another seed, log interval and cache folder: seeds of one row.
  same = workdir("b", seed=1, train=dict(mirror=0.0, num_steps=100, log_every=5),
                 data=dict(cache_dir="elsewhere"))
  assert sorted(seed_summary.read_results([first, same], "estimate")) == [0, 1]
  mirrored = workdir("c", seed=2, train=dict(mirror=0.5, num_steps=100),
                     data=dict(cache_dir="caches"))
  with pytest.raises(ValueError, match=r"train.mirror: 0.0 there, 0.5 here"):
    seed_summary.read_results([first, mirrored], "estimate")
  longer = workdir("d", seed=3, train=dict(mirror=0.0, num_steps=200),
                   data=dict(cache_dir="caches"))
  with pytest.raises(ValueError, match=r"train.num_steps: 100 there, 200 here"):
    seed_summary.read_results([first, longer], "estimate")
