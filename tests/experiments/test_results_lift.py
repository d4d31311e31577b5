"""experiments/results_lift.py: the README table of a lifted clip, read from
lift_demo's JSONs (changes worked out by hand), and nothing without them."""
import json

from experiments import results_lift


def _write(root, rel, **over):
  r = dict(frames=10, workdir="runs/g", hardware="2 CPU cores", hypotheses=20,
           mpjpe_mm=100.0, accel_error_mm=50.0, seconds=3.0,
           smoothed=[dict(by="DPoser (step 5)", mpjpe_mm=90.0, accel_error_mm=20.0,
                          seconds=4.0)],
           masked_joint=dict(name="l_wrist", error_seen_mm=1.0,
                             error_masked_mm=2.0, spread_seen_mm=3.0,
                             spread_masked_mm=4.0))
  r.update(over)
  path = root / rel
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(json.dumps(r))


def test_rows_and_changes(tmp_path):
  assert results_lift.lines(tmp_path) == []
  _write(tmp_path, results_lift.RUNS[0][1])
  text = "\n".join(results_lift.lines(tmp_path))
  assert "| exact 2D | lifted (20 hypotheses' mean) | 100.0 | 50.0 | 3.0 |" in text
  assert "| 90.0 (-10%) | 20.0 (-60%) | 4.0 |" in text
  assert "error 2.0 mm where masked" in text and "| noisy 2D" not in text


def test_bench_rows(tmp_path):
  _write(tmp_path, results_lift.RUNS[0][1])
  path = tmp_path / results_lift.BENCH
  path.write_text(json.dumps(dict(
      what="1800 frames", hardware="2 CPU cores",
      rows=[dict(hypotheses=20, smoothed=True, seconds=50.0,
                 second_run_seconds=40.0, realtime_factor=1.2)],
      target=dict(what="faster than real time", met=True))))
  text = "\n".join(results_lift.lines(tmp_path))
  assert "| 20 | yes | 50.0 | 40.0 | 1.20 |" in text and "): met." in text


def test_every_clip_rows(tmp_path):
  _write(tmp_path, results_lift.RUNS[0][1])
  (tmp_path / results_lift.CLIPS[0][1]).write_text(json.dumps(dict(
      clips=3, frames=600, workdir="runs/b", smooth_with="runs/d", hypotheses=1,
      hardware="2 CPU cores", target=dict(what="30% less"),
      lifted=dict(mpjpe_mm=100.0, accel_error_mm=40.0),
      smoothed=[dict(prior_weight=None, mpjpe_mm=101.0, accel_error_mm=20.0, met=True),
                dict(prior_weight=0.0, mpjpe_mm=110.0, accel_error_mm=30.0,
                     met=False)])))
  text = "\n".join(results_lift.lines(tmp_path))
  assert "Over every test clip (3 clips, 600 frames" in text
  assert "lifted by `runs/b` (one hypothesis)" in text
  assert "| noisy | lifted | 100.0 | 40.0 | |" in text
  assert "| noisy | smoothed, its own prior weight | 101.0 (+1%) | 20.0 (-50%) | met |" in text
  assert "| noisy | smoothed, prior weight 0 | 110.0 (+10%) | 30.0 (-25%) | missed |" in text


def test_clips_split_by_the_smoothing_window():
  def clip(frames, before, after):
    return dict(frames=frames, lifted=dict(mpjpe_mm=before),
                smoothed=[dict(mpjpe_mm=after)])
  result = dict(smoothed=[dict(prior_weight=None, by="windows of 60 frames, 180 Adam steps")],
                per_clip=[clip(30, 40.0, 50.0), clip(10, 80.0, 90.0), clip(100, 100.0, 90.0)])
  line = results_lift._by_clip_length("exact", result)
  # Frame-weighted: (30 * 40 + 10 * 80) / 40 = 50 before, (30 * 50 + 10 * 90) / 40 = 60 after.
  assert "the 2 clips shorter than one window (60 frames) 50.0 -> 60.0 (+20%)" in line
  assert "the other 1 100.0 -> 90.0 (-10%)" in line
  assert results_lift._by_clip_length("exact", dict(result, per_clip=[])) == ""
  assert results_lift._by_clip_length("exact", {"smoothed": result["smoothed"]}) == ""
