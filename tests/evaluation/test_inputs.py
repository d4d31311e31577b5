"""evaluation.inputs: what each side of a comparison receives at test time."""
from experiments.configs import baseline_mocap
from experiments.configs import dposer_quickstart
from experiments.configs import gfpose_base
from experiments.configs import gfpose_mocap
from jaxpose import methods
from jaxpose.evaluation import inputs

_SIGMA = "pose2d_sigma (the noise model's record: an oracle)"


def test_a_record_names_every_field():
  record = inputs.record("noisy", inputs.Reads(uncertainty=_SIGMA), "held-out")
  assert record == {"2d": "noisy", "uncertainty": _SIGMA, "masks": "none",
                    "camera": "none", "calibration_rows": "held-out",
                    "weights_chosen_on": ""}
  assert tuple(record) == inputs.FIELDS


def test_sees_more_lists_what_the_method_receives_beyond_its_baseline():
  method = inputs.record("noisy", inputs.Reads(uncertainty=_SIGMA))
  baseline = inputs.record("noisy", inputs.Reads())
  assert inputs.sees_more(method, baseline) == [
      f"uncertainty: {_SIGMA}, baseline: none"]
  assert inputs.sees_more(baseline, method) == []
  assert not inputs.like_for_like(method, baseline)
  assert inputs.like_for_like(baseline, dict(baseline))


def test_a_missing_or_empty_field_counts_as_nothing():
  # A record written before a field existed, or declared with fewer fields.
  assert inputs.like_for_like({"2d": "exact"},
                              inputs.record("exact", inputs.Reads()))
  assert inputs.sees_more({"2d": "exact", "masks": ""}, {"2d": "exact"}) == []


def test_other_2d_is_not_like_for_like_either_way():
  exact, noisy = {"2d": "exact"}, {"2d": "noisy"}
  assert inputs.sees_more(exact, noisy) == ["2d: exact, baseline: noisy"]
  assert inputs.sees_more(noisy, exact) == ["2d: noisy, baseline: exact"]
  assert not inputs.like_for_like(exact, noisy)


def test_masks_and_calibration_count_as_inputs():
  base = inputs.record("exact", inputs.Reads())
  masked = inputs.record("exact", inputs.Reads(masks="part legs"))
  calibrated = inputs.record("exact", inputs.Reads(), "held-out rows")
  assert inputs.sees_more(masked, base) == ["masks: part legs, baseline: none"]
  assert inputs.sees_more(calibrated, base) == [
      "calibration_rows: held-out rows, baseline: none"]


def test_a_camera_aware_representation_records_the_camera_it_reads():
  _, screen = methods.parse(baseline_mocap.get_config())
  method, camera = methods.parse(baseline_mocap.get_config("camera"))
  assert method.reads(screen, "estimate").camera == inputs.NONE
  read = method.reads(camera, "estimate").camera
  assert "intrinsics" in read and "root_cam_mm" in read
  # The image space back-projects with the true root depth: recorded too.
  gf, image_run = methods.parse(
      gfpose_base.image_space(gfpose_mocap.get_config()))
  assert "true root depth" in gf.reads(image_run, "estimate").camera
  aware = inputs.record("exact", method.reads(camera, "estimate"))
  assert inputs.sees_more(aware, inputs.record("exact", inputs.Reads())) == [
      f"camera: {read}, baseline: none"]


def test_records_hold_the_baseline_beside_and_the_calibration_applied():
  reads = inputs.Reads(uncertainty=_SIGMA, baseline=inputs.Reads(),
                       baseline_figures="encoder")
  figures = {"calibration_after": {"calibration": {"fitted_on": {
      "input_2d": "noisy", "num_rows": 60}}}}
  out = inputs.records("noisy", reads, figures)
  assert out["test_inputs"]["uncertainty"] == _SIGMA
  assert out["test_inputs"]["calibration_rows"] == (
      "this model's held-out training rows, noisy 2D")
  assert out[inputs.BASELINE] == dict(
      inputs.record("noisy", inputs.Reads()), figures="encoder")
  assert inputs.records("exact", inputs.Reads(), {}) == {
      "test_inputs": inputs.record("exact", inputs.Reads())}


def test_calibration_rows_name_a_borrowed_calibration():
  assert inputs.calibration_rows({}) == ""
  assert inputs.calibration_rows({"calibration_note": "not applied"}) == ""
  borrowed = {"calibration_after": {"calibration": {"fitted_on": {
      "borrowed_from": {"workdir": "runs/sibling"}}}}}
  assert inputs.calibration_rows(borrowed) == (
      "a sibling workdir's held-out training rows (eval.calibration_from)")


def test_a_task_that_reads_no_2d_records_none_whatever_the_dataset_holds():
  assert inputs.record("exact", inputs.Reads(reads_2d=False))["2d"] == "none"
  dposer, run = methods.parse(dposer_quickstart.get_config())
  records = {task: inputs.record("exact", dposer.reads(run, task))
             for task in ("denoise_motion", "complete", "generate", "fit2d")}
  assert [records[t]["2d"] for t in records] == ["none"] * 3 + ["exact"]
  assert records["complete"]["masks"].startswith(
      f"part {' / '.join(run.task_options['complete'].parts)}")
  assert "intrinsics" in records["fit2d"]["camera"]
  assert records["denoise_motion"]["camera"] == "none"
  gfpose, gf_run = methods.parse(gfpose_mocap.get_config())
  reads_2d = {task: gfpose.reads(gf_run, task).reads_2d
              for task in ("estimate", "estimate_single", "complete2d",
                           "complete3d", "denoise", "generate")}
  assert reads_2d == {"estimate": True, "estimate_single": True,
                      "complete2d": True, "complete3d": False,
                      "denoise": False, "generate": False}
