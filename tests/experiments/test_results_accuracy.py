"""experiments.results_accuracy: claims of the papers as rows, from JSON."""
import json

from experiments import results_accuracy as ra


def _write(root, rel, data):
  path = root / rel
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(json.dumps(data))


def test_rows_say_gap_and_whether_the_target_is_met(tmp_path):
  ours = dict(across_seeds={"mpjpe_mm": dict(mean=72.0, std=1.5, n=3)},
              seeds={"0": {}, "1": {}, "2": {}}, same_rows=dict(num_poses=500),
              hardware="2 CPU cores", command="train $S")
  _write(tmp_path, "ours.json", ours)
  _write(tmp_path, "base.json", dict(mpjpe_mm=80.0, num_poses=500))
  _write(tmp_path, "worse.json", dict(mpjpe_mm=90.0, num_poses=500))
  comparisons = (ra.Comparison("claim A", "ours.json", "ours", "base.json", "base"),
                 ra.Comparison("claim B", "worse.json", "worse", "base.json", "base"),
                 ra.Comparison("missing", "nope.json", "x", "base.json", "base"))
  old = ra.COMPARISONS
  try:
    ra.COMPARISONS = comparisons
    text = "\n".join(ra.lines(tmp_path))
  finally:
    ra.COMPARISONS = old
  assert "| claim A | ours: 72.0 ± 1.5 | base: 80.0 | -10.0% | met | 0,1,2 | 500 |" in text
  assert "| claim B | worse: 90.0 | base: 80.0 | +12.5% | not met | 1 run |" in text
  assert "missing" not in text
  assert "Rows marked '1 run' are one seed each." in text
  assert "`ours.json`: `train $S`" in text


def test_no_files_no_section(tmp_path):
  assert ra.lines(tmp_path) == []


def test_a_baseline_inside_a_seeds_file(tmp_path):
  seeds = dict(across_seeds={"mpjpe_mm": dict(mean=100.0, std=2.0, n=3),
                             "encoder.mpjpe_mm": dict(mean=125.0, std=1.0, n=3)},
               seeds={"0": {}, "1": {}, "2": {}}, same_rows=dict(num_poses=500),
               hardware="2 CPU cores", command="c")
  _write(tmp_path, "d.json", seeds)
  old = ra.COMPARISONS
  try:
    ra.COMPARISONS = (ra.Comparison("claim", "d.json", "ours", "d.json", "enc",
                                    ratio=0.97, baseline_figure="encoder.mpjpe_mm"),)
    text = "\n".join(ra.lines(tmp_path))
  finally:
    ra.COMPARISONS = old
  assert "| claim | ours: 100.0 ± 2.0 | enc: 125.0 ± 1.0 | -20.0% | met | 0,1,2 |" in text
  assert "'1 run'" not in text.split("Notes:")[1]  # every row over seeds


def _three_seeds(**figures):
  """A seed_summary file of seeds 0, 1, 2: {figure: (mean, std)}."""
  return dict(across_seeds={k: dict(mean=m, std=sd, n=3)
                            for k, (m, sd) in figures.items()},
              seeds={"0": {}, "1": {}, "2": {}}, same_rows=dict(num_poses=500),
              hardware="2 CPU cores", command="c")


def test_a_seeds_file_takes_the_place_of_its_single_run(tmp_path, monkeypatch):
  _write(tmp_path, "one.json", dict(mpjpe_mm=107.0, num_poses=500,
                                    encoder=dict(mpjpe_mm=125.0)))
  monkeypatch.setattr(ra, "COMPARISONS", (ra.Comparison(
      "claim", "one.json", "ours", "one.json", "enc", ratio=0.97,
      baseline_figure="encoder.mpjpe_mm"),))
  monkeypatch.setattr(ra, "OVER_SEEDS", {"one.json": "three.json"})
  assert "| claim | ours: 107.0 | enc: 125.0 |" in "\n".join(ra.lines(tmp_path))
  _write(tmp_path, "three.json", _three_seeds(
      **{"mpjpe_mm": (110.0, 3.0), "encoder.mpjpe_mm": (125.0, 0.0)}))
  text = "\n".join(ra.lines(tmp_path))
  assert "| claim | ours: 110.0 ± 3.0 | enc: 125.0 ± 0.0 | -12.0% | met | 0,1,2 |" in text
  assert "107.0" not in text


def test_a_baseline_over_seeds_takes_the_place_of_its_single_run(tmp_path, monkeypatch):
  _write(tmp_path, "gf.json", dict(mpjpe_mm=79.0, num_poses=500))
  _write(tmp_path, "lifter.json", dict(mpjpe_mm=74.0, num_poses=500))
  monkeypatch.setattr(ra, "COMPARISONS", (ra.Comparison(
      "claim", "gf.json", "gf", "lifter.json", "lifter"),))
  monkeypatch.setattr(ra, "OVER_SEEDS", {"lifter.json": "lifters.json"})
  assert "| claim | gf: 79.0 | lifter: 74.0 | +6.8% | not met |" in "\n".join(
      ra.lines(tmp_path))
  _write(tmp_path, "lifters.json", _three_seeds(mpjpe_mm=(80.0, 1.0)))
  text = "\n".join(ra.lines(tmp_path))
  assert "| claim | gf: 79.0 | lifter: 80.0 ± 1.0 | -1.2% | met | 1 run |" in text


def test_hypotheses_rows_over_seeds(tmp_path, monkeypatch):
  _write(tmp_path, "gf.json", dict(mpjpe_mm=79.0, num_poses=500))
  _write(tmp_path, "lifter.json", dict(mpjpe_mm=74.0, num_poses=500))
  _write(tmp_path, "h200.json", dict(
      mpjpe_mm=83.0, min_mpjpe_mm=52.6, num_poses=500, num_hypotheses=200,
      calibration=dict(coverage={"0.5": 0.34, "0.9": 0.68})))
  monkeypatch.setattr(ra, "COMPARISONS", (ra.Comparison(
      "claim", "gf.json", "gf", "lifter.json", "lifter"),))
  monkeypatch.setattr(ra, "HYPOTHESES", (("rr", "h200.json"),))
  monkeypatch.setattr(ra, "OVER_SEEDS", {"h200.json": "h200_seeds.json"})
  text = "\n".join(ra.lines(tmp_path))
  assert "| rr | 200 | 83.0 | 52.6 | 0.34 | 0.68 | - | 1 run | - | `h200.json` |" in text
  assert "The image-space row is still one run." in text
  seeds = _three_seeds(**{"mpjpe_mm": (80.0, 2.0), "min_mpjpe_mm": (50.0, 1.0),
                          "calibration.coverage.0.5": (0.36, 0.02),
                          "calibration.coverage.0.9": (0.7, 0.01),
                          "num_warnings": (1 / 3, 0.58)})
  seeds["same_rows"]["num_hypotheses"] = 200
  _write(tmp_path, "h200_seeds.json", seeds)
  assert ("| rr | 200 | 80.0 ± 2.0 | 50.0 ± 1.0 | 0.36 ± 0.02 | 0.70 ± 0.01 | 1 "
          "| 0,1,2 | 2 CPU cores | `h200_seeds.json` |" in "\n".join(ra.lines(tmp_path)))
  # The text under the table compares seed 0 with the single run it replaces.
  seed0 = {"mpjpe_mm": 83.0, "min_mpjpe_mm": 52.6, "calibration.coverage.0.9": 0.68}
  seeds["seeds"] = {"0": seed0, "1": dict(seed0, mpjpe_mm=78.5, **{
      "calibration.coverage.0.9": 0.71}), "2": dict(seed0, mpjpe_mm=79.0)}
  _write(tmp_path, "h200_seeds.json", seeds)
  text = "\n".join(ra.lines(tmp_path))
  assert ("seed 0 reproduces the earlier single run exactly (83.0 mm mean, 52.6 "
          "best-of-200, 90% coverage 0.68), and the seeds' MPJPE of the mean "
          "spans 78.5 to 83.0 mm." in text)
  assert "(90% coverage 0.68 to 0.71)" in text
  seeds["seeds"]["0"] = dict(seed0, mpjpe_mm=84.0)
  _write(tmp_path, "h200_seeds.json", seeds)
  assert "seed 0 scores 84.0 mm against the earlier run's 83.0" in "\n".join(
      ra.lines(tmp_path))
