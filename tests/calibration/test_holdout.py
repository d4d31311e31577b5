"""Held-out training clips, shared by every method: drawn whole, left out
of training and of the other prepared state, and at fraction 0 nothing,
so configs, fingerprints and resumes from before the section are as they
were."""
import ml_collections
import numpy as np
import pytest

from experiments.configs import diffpose_mocap
from experiments.configs import dposer_quickstart
from experiments.configs import quickstart
from jaxpose import config as config_lib
from jaxpose import methods
from jaxpose import run_lib
from jaxpose import settings
from jaxpose.calibration import heldout
from jaxpose.methods import base
from jaxpose.methods import parts
from jaxpose.training import holdout


def _train(n=100, clip_len=10):
  return {"clip": np.repeat(np.arange(n // clip_len), clip_len).astype(str),
          "x": np.arange(n, dtype=np.float32), "table": np.zeros(3)}


def test_draw_takes_whole_clips_from_the_pool_and_training_leaves_them_out():
  train = _train()
  assert holdout.draw(train, holdout.Holdout()) == {}
  artefact = holdout.draw(train, holdout.Holdout(fraction=0.2, seed=3))[
      holdout.ARTEFACT]
  rows = artefact["rows"]
  assert artefact.info == dict(fraction=0.2, seed=3, num_rows=20, train_rows=100)
  clips = set(train["clip"][rows])
  assert len(clips) == 2 and set(np.flatnonzero(np.isin(train["clip"], list(clips)))) == set(rows)
  prepared = {holdout.ARTEFACT: artefact}
  kept = holdout.without_heldout(train, prepared)
  assert len(kept["x"]) == 80 and not set(kept["x"].astype(int)) & set(rows)
  assert kept["table"].shape == (3,)  # not a per-row array: whole
  # Drawn within a pool: only its rows, a fraction of it.
  pool = np.arange(50, 100)
  rows = holdout.draw(train, holdout.Holdout(fraction=0.2, seed=0), pool=pool)[
      holdout.ARTEFACT]["rows"]
  assert len(rows) == 10 and rows.min() >= 50


def test_rows_are_checked_against_the_data_and_the_section():
  prepared = holdout.draw(_train(), holdout.Holdout(fraction=0.2))
  assert len(holdout.rows(prepared, 100)) == 20
  with pytest.raises(settings.ConfigError, match="has 90 rows.*other data"):
    holdout.rows(prepared, 90)
  with pytest.raises(settings.ConfigError, match="drawn with fraction=0.2"):
    holdout.rows(prepared, holdout=holdout.Holdout(fraction=0.3))
  with pytest.raises(settings.ConfigError, match="drawn with fraction=0.0"):
    holdout.rows({}, holdout=holdout.Holdout(fraction=0.1))
  assert holdout.rows({}, 100, holdout=holdout.Holdout()) is None
  with pytest.raises(settings.ConfigError, match="holdout.fraction=0.95: .*all 10"):
    holdout.draw(_train(), holdout.Holdout(fraction=0.95))


def _people():
  """Three people: 'a' in clips 0-1, 'b' in 2-5, 'c' in 6-9 (10 rows each)."""
  train = _train()
  train["subject"] = np.array(["a"] * 20 + ["b"] * 40 + ["c"] * 40)
  train["dataset"] = np.array(["cmu"] * 100)
  return train


def test_named_subjects_are_held_out_whole_and_the_fraction_is_of_the_rest():
  train = _people()
  art = holdout.draw(train, holdout.Holdout(subjects=("cmu:a",)))[holdout.ARTEFACT]
  np.testing.assert_array_equal(art["rows"], np.arange(20))
  assert art.info == dict(fraction=0.0, seed=0, num_rows=20, train_rows=100,
                          subjects=["cmu:a"], subject_rows=20)
  # Besides them, whole clips of the other people: a quarter of their 80 rows.
  rows = holdout.draw(train, holdout.Holdout(fraction=0.25, seed=1,
                                             subjects=("cmu:a",)))[
      holdout.ARTEFACT]["rows"]
  assert set(range(20)) <= set(rows) and len(rows) == 20 + 20
  others = train["clip"][rows[rows >= 20]]
  assert all((train["clip"] == c).sum() == (others == c).sum() for c in set(others))
  # Within a pool, only its rows of the subject.
  rows = holdout.draw(train, holdout.Holdout(subjects=("cmu:b",)),
                      pool=np.arange(30, 100))[holdout.ARTEFACT]["rows"]
  np.testing.assert_array_equal(rows, np.arange(30, 60))
  # A split without dataset names subjects by their own names.
  del train["dataset"]
  assert len(holdout.draw(train, holdout.Holdout(subjects=("c",)))[
      holdout.ARTEFACT]["rows"]) == 40


def test_bad_subjects_are_refused_by_name():
  with pytest.raises(settings.ConfigError,
                     match=r"\['cmu:z'\] not among .*\['cmu:a', 'cmu:b', 'cmu:c'\]"):
    holdout.draw(_people(), holdout.Holdout(subjects=("cmu:a", "cmu:z")))
  with pytest.raises(settings.ConfigError, match="every training row"):
    holdout.draw(_people(), holdout.Holdout(subjects=("cmu:a", "cmu:b", "cmu:c")))
  with pytest.raises(settings.ConfigError, match="names no subjects"):
    holdout.draw(_train(), holdout.Holdout(subjects=("a",)))
  # The section must name the subjects the workdir's rows were drawn with.
  prepared = holdout.draw(_people(), holdout.Holdout(subjects=("cmu:a",)))
  assert len(holdout.rows(prepared, 100,
                          holdout=holdout.Holdout(subjects=("cmu:a",)))) == 20
  with pytest.raises(settings.ConfigError, match=r"subjects=\['cmu:a'\]; use"):
    holdout.rows(prepared, holdout=holdout.Holdout(subjects=("cmu:b",)))
  with pytest.raises(settings.ConfigError, match=r"subjects=\['cmu:a'\]; use"):
    holdout.rows(prepared, holdout=holdout.Holdout())


def test_calibration_fits_on_the_named_subjects_alone():
  train = _people()
  prepared = holdout.draw(train, holdout.Holdout(fraction=0.25, subjects=("cmu:a",)))
  held = holdout.rows(prepared, 100)
  assert len(held) == 40
  np.testing.assert_array_equal(
      heldout.calibration_rows(held, prepared, train, 500), np.arange(20))
  np.testing.assert_array_equal(
      heldout.calibration_rows(held, prepared, train, 3), [0, 10, 19])
  # Without subjects: evenly over every held-out row.
  prepared = holdout.draw(train, holdout.Holdout(fraction=0.25))
  held = holdout.rows(prepared, 100)
  np.testing.assert_array_equal(
      heldout.calibration_rows(held, prepared, train, 2), held[[0, -1]])


def test_calibration_run_loads_the_named_2d_as_the_training_2d():
  config = diffpose_mocap.get_config()
  _, run = methods.parse(config)
  assert heldout.calibration_run(run) is run  # '' : the training 2D
  config.eval.calibration_2d = "noisy"
  _, run = methods.parse(config)
  assert run.data.train_2d == "exact"
  other = heldout.calibration_run(run)
  assert other.data.train_2d == "noisy" and other.data.test_2d == run.data.test_2d
  assert other.eval == run.eval and other.sections == run.sections
  config.eval.calibration_2d = "detector"
  _, run = methods.parse(config)
  with pytest.raises(settings.ConfigError,
                     match="calibration_2d='detector': the data's 2D are "
                     "'exact', 'noisy'"):
    heldout.calibration_run(run)
  # The quickstart's synthetic rows have one 2D.
  config = quickstart.get_config()
  config.eval.calibration_2d = "noisy"
  _, run = methods.parse(config)
  with pytest.raises(settings.ConfigError, match="carry one 2D"):
    heldout.calibration_run(run)


def test_trained_on_is_the_split_less_its_held_out_rows_when_it_is_whole():
  train = _people()
  prepared = holdout.draw(train, holdout.Holdout(subjects=("cmu:a",)))
  kept = holdout.trained_on(train, prepared)
  np.testing.assert_array_equal(kept["x"], np.arange(20, 100))
  # heldout_splits' train already lacks them; other data is not the split
  # they were drawn from; a model without held-out rows trained on all.
  for split in (kept, {k: v[:50] for k, v in train.items()}):
    np.testing.assert_array_equal(holdout.trained_on(split, prepared)["x"],
                                  split["x"])
  assert len(holdout.trained_on(train, {})["x"]) == 100


def test_with_heldout_prepares_the_rest_on_the_other_rows():
  seen = {}

  def inner(ctx):
    seen["rows"] = len(ctx.data.splits["train"]["x"])
    return {"other": base.Artefact(arrays={"a": np.zeros(1)})}

  config = quickstart.get_config()
  config.holdout.fraction = 0.2
  _, run = methods.parse(config)
  ctx = base.PrepareContext(run=run, data=base.Data(dataset=None, splits={
      "train": _train()}), needs={}, key=None)
  out = parts.with_heldout(inner)(ctx)
  assert set(out) == {"holdout", "other"} and seen["rows"] == 80


def test_fields_training_leaves_out_the_held_out_rows_when_there_are_some():
  model = type("Model", (), {"loss": None})()
  data = base.Data(dataset=None, splits={"train": _train()})
  training = parts.fields_training("x")
  assert len(training(model, data, {}).arrays["x"]) == 100
  prepared = holdout.draw(_train(), holdout.Holdout(fraction=0.2))
  kept = training(model, data, prepared).arrays["x"]
  np.testing.assert_array_equal(kept, holdout.without_heldout(_train(), prepared)["x"])
  assert len(kept) == 80


@pytest.mark.parametrize("get_config", [quickstart.get_config,
                                        dposer_quickstart.get_config])
def test_at_fraction_zero_configs_and_fingerprints_are_as_before(get_config):
  new = get_config()
  old = get_config()
  with old.unlocked():
    del old["holdout"]  # a config written before the section
  method, run_new = methods.parse(new)
  _, run_old = methods.parse(old)
  assert run_old.sections.holdout == run_new.sections.holdout == holdout.Holdout()
  assert (run_lib.fingerprint(method, run_old, {}, {})
          == run_lib.fingerprint(method, run_new, {}, {}))
  # A training resumed with the section at its default is the same run.
  assert config_lib.resume_changes(old, new) == {}
  changed = get_config()
  changed.holdout.fraction = 0.1
  assert config_lib.resume_changes(old, changed) == {
      "holdout.fraction": ("<absent>", 0.1)}
  changed = get_config()
  changed.holdout.subjects = ("cmu:006",)
  assert config_lib.resume_changes(old, changed) == {
      "holdout.subjects": ("<absent>", ["cmu:006"])}


def test_every_method_with_hypotheses_has_the_section():
  for name in ("gfpose", "diffpose", "dposer", "baseline"):
    fields = methods.get(name).settings.__dataclass_fields__
    assert fields["holdout"].type in ("holdout_lib.Holdout", "Holdout",
                                      holdout.Holdout), name
  config = ml_collections.ConfigDict(quickstart.get_config().to_dict())
  config.holdout.fraction = 1.0
  with pytest.raises(settings.ConfigError, match="holdout.fraction"):
    methods.parse(config)


def test_a_sibling_may_hold_people_out_but_not_train_another_way():
  """The siblings of the calibration table differ only in what a sibling
  may change; one trained on noisy 2D is another model for an exact-2D
  one, though the fingerprint (the network) is the same."""
  method = methods.get("diffpose")
  ours = diffpose_mocap.get_config("per_row_kernel")
  ours.diffpose.update(noisy_train_2d=False, encoder_workdir="runs/encoder")
  sibling = ml_collections.ConfigDict(ours.to_dict())
  sibling.holdout.subjects = ("cmu:006",)
  sibling.diffpose.encoder_workdir = "runs/encoder_without_006"
  sibling.seed = 1
  sibling.data.max_test = 10  # test rows: not training
  sibling.eval.num_hypotheses = 7
  sibling.train.log_every = 3
  assert heldout.training_differences(ours, sibling, method) == {}
  sibling.diffpose.noisy_train_2d = True
  sibling.train.learning_rate = 2 * ours.train.learning_rate
  assert heldout.training_differences(ours, sibling, method) == {
      "diffpose.noisy_train_2d": (False, True),
      "train.learning_rate": (ours.train.learning_rate,
                              2 * ours.train.learning_rate)}
  # A resume may extend a run; a sibling trained longer is another model.
  sibling.train.num_steps = ours.train.num_steps + 1
  assert heldout.training_differences(ours, sibling, method)["train.num_steps"] == (
      ours.train.num_steps, ours.train.num_steps + 1)
  # Another method's trained parts are not this one's to change.
  assert heldout.training_differences(
      ours, sibling, methods.get("gfpose"))["diffpose.encoder_workdir"] == (
          "runs/encoder", "runs/encoder_without_006")
