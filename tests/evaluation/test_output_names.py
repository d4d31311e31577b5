"""An evaluation never overwrites another made with other settings: it
writes beside it, named by what differs (`evaluation.output_names`)."""
import json

import pytest

from experiments import workdir_config
from jaxpose import run_lib
from jaxpose import settings
from jaxpose.evaluation import output_names
from tests.test_end_to_end import tiny_config


def _write(path, settings_=None):
  path.write_text(json.dumps({} if settings_ is None else
                             {output_names.FIELD: settings_}))


def test_stem_is_kept_for_the_same_settings_and_named_for_others(tmp_path):
  ours = {"eval.num_hypotheses": 50, "eval.task": "estimate", "seed": 0}
  choose = lambda s, **kw: output_names.choose(str(tmp_path), "estimate", s,
                                               **kw)
  assert choose(ours) == "estimate"  # a free name
  _write(tmp_path / "estimate.json", dict(ours, **{"eval.num_hypotheses": 20}))
  assert choose(dict(ours, **{"eval.num_hypotheses": 20})) == "estimate"
  assert choose(ours) == "estimate_num_hypotheses-50"
  assert choose(ours, overwrite=True) == "estimate"
  # Two keys, a long value: their digest.
  long = dict(ours, seed=123456789012345678901234567890)
  stem = choose(long)
  assert stem.startswith("estimate_") and len(stem) == len("estimate_") + 8
  # A key the record lacks counts at its default; without one, not at all.
  assert choose(dict(ours, **{"eval.num_hypotheses": 20, "eval.new": 1}),
                defaults={"eval.new": 1}) == "estimate"
  assert choose(dict(ours, **{"eval.num_hypotheses": 20, "eval.new": 2}),
                defaults={"eval.new": 1}) == "estimate_new-2"
  assert choose(dict(ours, **{"eval.num_hypotheses": 20, "eval.other": 2})
                ) == "estimate"
  # The name beside holding yet other settings: the whole settings' digest;
  # when that is taken too, a refusal naming the ways out.
  _write(tmp_path / "estimate_num_hypotheses-50.json",
         dict(ours, seed=9))
  whole = choose(ours)
  assert whole.startswith("estimate_") and whole != "estimate_num_hypotheses-50"
  _write(tmp_path / f"{whole}.json", dict(ours, seed=8))
  with pytest.raises(settings.ConfigError,
                     match="eval.output_suffix.*eval.overwrite=True"):
    choose(ours)


def test_a_results_file_without_settings_is_written_beside(tmp_path):
  _write(tmp_path / "estimate.json")  # written before settings were recorded
  stem = output_names.choose(str(tmp_path), "estimate", {"seed": 0})
  assert stem.startswith("estimate_") and stem != "estimate"
  _write(tmp_path / f"{stem}.json", {"seed": 0})
  assert output_names.choose(str(tmp_path), "estimate", {"seed": 0}) == stem


def test_presentation_keys_are_not_settings():
  config = {"eval": {"num_hypotheses": 4, "plot_poses": 3, "output_suffix": "x",
                     "save_predictions": True, "overwrite": False},
            "data": {"name": "synthetic", "n_test": [1, 2]}, "seed": 0,
            "model": {"hidden": 64}}
  assert output_names.evaluation_settings(config, ("eval", "data", "seed")) == {
      "data.n_test": [1, 2], "data.name": "synthetic",
      "eval.num_hypotheses": 4, "seed": 0}


@pytest.mark.slow
def test_readme_reevaluation_writes_beside_the_first(tmp_path):
  """README: `--mode=eval --config.eval.num_hypotheses=50` in a trained
  workdir keeps the first evaluation's files and its metrics.json entry."""
  workdir = str(tmp_path)
  config = tiny_config(num_steps=2)
  config.train.update(ckpt_every=2, log_every=2)
  config.eval.update(num_poses=4, num_steps=2, plot_poses=1)
  run_lib.train(config, workdir)
  run_lib.evaluate(config, workdir)
  first = json.loads((tmp_path / "eval" / "estimate.json").read_text())
  assert first["num_hypotheses"] == 4
  assert first[output_names.FIELD]["eval.num_hypotheses"] == 4

  def main_eval(**flags):  # what experiments.main does for --mode=eval
    return run_lib.run("eval", workdir_config.get_config(workdir), workdir,
                       overrides={f"eval.{k}": v for k, v in flags.items()})

  second = main_eval(num_hypotheses=50)
  beside = tmp_path / "eval" / "estimate_num_hypotheses-50.json"
  assert json.loads((tmp_path / "eval" / "estimate.json").read_text()) == first
  on_disk = json.loads(beside.read_text())
  assert on_disk == second and on_disk["num_hypotheses"] == 50
  assert on_disk[output_names.FIELD]["eval.num_hypotheses"] == 50
  summary = json.loads((tmp_path / "metrics.json").read_text())
  assert summary["estimate"]["num_hypotheses"] == 4
  assert summary["estimate_num_hypotheses-50"]["num_hypotheses"] == 50
  assert summary["estimate_num_hypotheses-50"]["results_file"] == (
      "eval/estimate_num_hypotheses-50.json")
  assert (tmp_path / "estimate_num_hypotheses-50.png").exists()

  # The same settings again (a rerun, here drawing other plots) write no
  # new file.
  names = sorted(p.name for p in (tmp_path / "eval").iterdir())
  main_eval(num_hypotheses=50, plot_hypotheses=2)
  assert sorted(p.name for p in (tmp_path / "eval").iterdir()) == names
  assert sorted(json.loads((tmp_path / "metrics.json").read_text())) == [
      "estimate", "estimate_num_hypotheses-50"]
  # Asked for, it writes over the first.
  main_eval(num_hypotheses=50, overwrite=True)
  assert json.loads((tmp_path / "eval" / "estimate.json").read_text())[
      "num_hypotheses"] == 50


def _hold(out_dir, settings, ready, done):
  output_names._reserve(  # pylint: disable=protected-access
      str(out_dir / "estimate.json"), settings)
  ready.set()
  done.wait(60)


def test_a_stem_reserved_by_a_live_evaluation_is_not_taken(tmp_path):
  # Two evaluations of one folder at once: the second sees the first's
  # reservation (its settings) before any results file exists.
  import multiprocessing
  ctx = multiprocessing.get_context("spawn")
  ready, done = ctx.Event(), ctx.Event()
  holder = ctx.Process(target=_hold, args=(
      tmp_path, {"eval.num_hypotheses": 10}, ready, done))
  holder.start()
  try:
    assert ready.wait(60)
    assert not (tmp_path / "estimate.json").exists()
    assert output_names.choose(str(tmp_path), "estimate",
                               {"eval.num_hypotheses": 20}) == (
                                   "estimate_num_hypotheses-20")
    # The same settings may share it: they write the same figures.
    assert output_names.choose(str(tmp_path), "estimate",
                               {"eval.num_hypotheses": 10}) == "estimate"
  finally:
    done.set()
    holder.join(60)
  # Its holder gone without releasing, the reservation is ignored.
  assert (tmp_path / "estimate.json.reserved").exists()
  assert output_names.choose(str(tmp_path), "estimate",
                             {"eval.num_hypotheses": 20}) == "estimate"


def test_release_removes_this_process_reservation(tmp_path):
  path = str(tmp_path / "estimate.json")
  output_names._reserve(path, {"eval.seed": 1})  # pylint: disable=protected-access
  assert (tmp_path / "estimate.json.reserved").exists()
  output_names.release(str(tmp_path), "estimate")
  assert not (tmp_path / "estimate.json.reserved").exists()
  output_names.release(str(tmp_path), "estimate")  # nothing held: nothing


@pytest.mark.slow
def test_two_evaluations_of_one_workdir_at_once_keep_both_results(tmp_path):
  import subprocess
  import sys
  from tests.test_full_disk import ROOT, TINY
  workdir = tmp_path / "run"
  run = lambda *a: subprocess.Popen(
      [sys.executable, "-m", "experiments.main", f"--workdir={workdir}", *a],
      cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  trained = run(*TINY, "--config.train.num_steps=4", "--mode=train")
  assert trained.wait(600) == 0, trained.stderr.read()[-2000:]
  procs = [run("--mode=eval", f"--config.eval.num_hypotheses={h}")
           for h in (2, 3)]
  for proc in procs:
    assert proc.wait(600) == 0, proc.stderr.read()[-2000:]
  written = sorted(p.name for p in (workdir / "eval").glob("estimate*.json"))
  assert len(written) == 2, written
  hypotheses = {json.loads((workdir / "eval" / n).read_text())[
      "num_hypotheses"] for n in written}
  assert hypotheses == {2, 3}
  assert not list((workdir / "eval").glob("*.reserved"))
