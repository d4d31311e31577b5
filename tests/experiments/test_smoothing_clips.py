"""experiments/studies/smoothing_clips.py: frame-weighted figures and the target's
verdict by hand, and a toy run (a lifter and a DPoser trained a few steps on
synthetic motion clips) through every clip of the test split."""
import math

import pytest

from experiments.studies import smoothing_clips
from experiments.configs import baseline_quickstart
from jaxpose import run_lib
from tests.test_calibrate_end_to_end import dposer_config


def _clip(frames, lifted, smoothed):
  return dict(clip="c", frames=frames,
              lifted=dict(mpjpe_mm=lifted[0], accel_error_mm=lifted[1]),
              smoothed=[dict(prior_weight=w, by="b", mpjpe_mm=m, accel_error_mm=a)
                        for w, (m, a) in smoothed.items()])


def test_summary_weights_clips_by_frames_and_judges_the_target():
  clips = [_clip(100, (100.0, 20.0), {None: (101.0, 12.0), 0.0: (110.0, 10.0)}),
           _clip(300, (60.0, 10.0), {None: (61.0, 6.0), 0.0: (60.0, 9.0)})]
  s = smoothing_clips.summarise(clips)
  assert (s["frames"], s["clips"]) == (400, 2)
  assert s["lifted"]["mpjpe_mm"] == pytest.approx(70.0)  # (100 + 3 x 60) / 4
  assert s["lifted"]["accel_error_mm"] == pytest.approx(12.5)
  own, temporal = s["smoothed"]
  assert own["accel_error_mm"] == pytest.approx(7.5)
  assert own["accel_drop"] == pytest.approx(0.4) and own["met"]
  assert own["mpjpe_rise"] == pytest.approx(71.0 / 70.0 - 1)
  # 27.5% less acceleration error is not 30%, though MPJPE holds.
  assert temporal["accel_error_mm"] == pytest.approx(9.25) and not temporal["met"]


@pytest.mark.slow
def test_every_test_clip_is_lifted_and_smoothed(tmp_path):
  lifter = baseline_quickstart.get_config()
  lifter.data.update(n_train=400, n_test=120, clip_frames=60)
  lifter.model.update(hidden=32)
  lifter.train.update(num_steps=4, batch_size=32, log_every=2, ckpt_every=4,
                      warmup_steps=1)
  run_lib.train(lifter, str(tmp_path / "lifter"))
  prior = dposer_config(num_steps=4, fraction=0.0)
  prior.eval.denoise_motion.update(window=30, steps=20)
  run_lib.train(prior, str(tmp_path / "dposer"))
  result = smoothing_clips.run(str(tmp_path / "lifter"), str(tmp_path / "dposer"), "",
                               frames=40, max_clips=2, noisy=False, hypotheses=1,
                               prior_weights=[None, 0.0])
  assert result["clips"] == 2 and result["frames"] == sum(
      c["frames"] for c in result["per_clip"])
  assert all(c["frames"] <= 40 for c in result["per_clip"])
  assert [r["prior_weight"] for r in result["smoothed"]] == [None, 0.0]
  assert "prior weight 0," in result["smoothed"][1]["by"]
  for row in result["smoothed"]:
    assert math.isfinite(row["mpjpe_mm"]) and math.isfinite(row["accel_error_mm"])
  assert result["workdir"] == "runs/lifter" and result["input_2d"] == "exact"
