"""Each task's own typed options (`methods.tasks`), and a DPoser workdir
written when its evaluation keys were flat, evaluated by today's code."""
import dataclasses
import json
import pathlib
import shutil
import subprocess
import sys

import pytest

from jaxpose import config as config_lib
from jaxpose import methods
from jaxpose import run_lib
from jaxpose import settings
from jaxpose.methods import tasks as tasks_lib

ROOT = pathlib.Path(__file__).resolve().parents[2]
# Trained and evaluated (eval/complete.json) at commit 82db3ba, whose
# DPoser config had 34 flat eval keys (complete_steps, denoise_t, ...).
FLAT_WORKDIR = ROOT / "tests" / "fixtures" / "dposer_workdir_82db3ba"


@dataclasses.dataclass(frozen=True)
class _Solve:
  steps: int = settings.field(at_least=1)
  lr: float = 0.1


@dataclasses.dataclass(frozen=True)
class _Draw:
  num: int
  steps: int = 3


def _tasks():
  registry = tasks_lib.Tasks()
  registry.register("solve", options=_Solve,
                    formerly={"solve_steps": "steps", "solve_lr": "lr"})(
                        lambda *a: None)
  registry.register("draw", options=_Draw)(lambda *a: None)
  registry.register("score")(lambda *a: None)  # the shared options
  return registry


def test_each_task_parses_its_own_group():
  rest, parsed = _tasks().parse(
      {"task": "solve", "solve": {"steps": 5}, "draw": {"num": 2}},
      shared=("task",))
  assert rest == {"task": "solve"}
  assert parsed == {"solve": _Solve(steps=5, lr=0.1), "draw": _Draw(num=2)}


@pytest.mark.parametrize("section, message", [
    ({"draw": {"num": 1, "lr": 0.2}, "solve": {"steps": 1}},
     r"eval.draw.lr: not an option of task 'draw'; it is an option of task "
     r"solve: eval.solve.lr"),
    ({"draw": {"num": 1, "seed": 2}, "solve": {"steps": 1}},
     r"eval.draw.seed: not an option of task 'draw'; its options: num, steps"),
    ({"steps": 4, "draw": {"num": 1}, "solve": {"steps": 1}},
     r"eval.steps: an option of task solve and draw, in its own group"),
    ({"draw": {"num": 1}}, r"eval.solve: missing; the options of task "
                           r"'solve': steps, lr"),
    ({"draw": 3, "solve": {"steps": 1}}, r"eval.draw: expected the group"),
    ({"draw": {"num": 1}, "solve": {"steps": 0}}, r"eval.solve.steps"),
])
def test_a_key_in_the_wrong_place_is_refused_naming_its_task(section, message):
  with pytest.raises(settings.ConfigError, match=message):
    _tasks().parse(section, shared=())


def test_flat_keys_of_older_configs_move_into_their_group():
  registry = _tasks()
  assert registry.upgrade({"solve_steps": 7, "draw": {"num": 1}}) == {
      "solve": {"steps": 7}, "draw": {"num": 1}}
  assert registry.upgrade({"solve_steps": 7, "solve": {"steps": 7}}) == {
      "solve": {"steps": 7}}
  with pytest.raises(settings.ConfigError, match="given twice"):
    registry.upgrade({"solve_steps": 7, "solve": {"steps": 8}})
  assert registry.renamed_keys() == {"eval.solve_steps": "eval.solve.steps",
                                     "eval.solve_lr": "eval.solve.lr"}
  assert registry.defaults() == {"solve": {"lr": 0.1}, "draw": {"steps": 3}}
  with pytest.raises(ValueError, match="names options it lacks"):
    registry.register("other", formerly={"a": "b"})


def test_an_older_value_of_another_form_is_converted_as_it_moves():
  """DPoser's prior weights were three numbers (gmm, gfpose, dposer) before
  they were named."""
  tasks = methods.get("dposer").tasks
  upgraded = tasks.upgrade({"denoise_weights": [0.3, 3.0, 2.0],
                            "fit_weights": {"gmm": 1.0}})
  assert upgraded["denoise_motion"]["weights"] == {
      "gmm": 0.3, "gfpose": 3.0, "dposer": 2.0}
  assert upgraded["fit2d"]["weights"] == {"gmm": 1.0}
  assert tasks.renamed_keys()["eval.denoise_weights"] == (
      "eval.denoise_motion.weights")
  with pytest.raises(settings.ConfigError, match="one per prior"):
    tasks.upgrade({"fit_weights": [1.0, 2.0]})


def test_dposer_tasks_get_their_options_and_refuse_misplaced_keys():
  from experiments.configs import dposer_quickstart
  from experiments.configs import quickstart
  c = dposer_quickstart.get_config()
  _, run = methods.parse(c)
  assert run.task_options["fit2d"].steps == c.eval.fit2d.steps
  assert run.task_options["complete"].parts == tuple(c.eval.complete.parts)
  _, gfpose = methods.parse(quickstart.get_config())  # no options of its own
  assert gfpose.task_options["estimate"] is gfpose.eval_options
  assert run.setting("eval.denoise_motion.window") == 60
  assert run.default("eval.complete.objective") == "prior"
  plain = config_lib.to_plain(c)
  plain["eval"]["fit2d"]["parts"] = ["arms"]
  with pytest.raises(settings.ConfigError, match=(
      r"eval.fit2d.parts: not an option of task 'fit2d'; it is an option of "
      r"task complete: eval.complete.parts")):
    methods.parse(plain)


@pytest.fixture
def flat_workdir(tmp_path):
  workdir = tmp_path / "dposer_flat"
  shutil.copytree(FLAT_WORKDIR, workdir)
  return str(workdir)


def test_a_workdir_with_flat_eval_keys_loads_its_options(flat_workdir):
  stored = json.loads(pathlib.Path(flat_workdir, "config.json").read_text())
  assert stored["eval"]["complete_steps"] == 2 and "complete" not in stored["eval"]
  trained = run_lib.load_trained(flat_workdir)  # its stored config, typed
  options = trained.run.task_options
  assert options["complete"].steps == 2 and options["complete"].parts == ("l_leg",)
  assert options["denoise_motion"].weight_schedules == ("fixed",)
  assert options["generate"].num == 8 and options["fit2d"].inputs == ("exact",)


@pytest.mark.slow
def test_a_workdir_with_flat_eval_keys_evaluates(flat_workdir):
  from experiments import workdir_config
  before = json.loads(pathlib.Path(flat_workdir, "eval", "complete.json").read_text())
  config = workdir_config.get_config(flat_workdir)  # --mode=eval --workdir=W
  assert config.eval.complete.steps == 2 and "complete_steps" not in config.eval
  run_lib.evaluate(config, flat_workdir)
  # The same settings as the record written with flat keys: rewritten,
  # not beside it.
  written = sorted(p.name for p in pathlib.Path(flat_workdir, "eval").glob("*.json"))
  assert written == ["complete.json"]
  after = json.loads(pathlib.Path(flat_workdir, "eval", "complete.json").read_text())
  assert after["eval_settings"]["eval.complete.steps"] == 2
  assert (after["settings"][0]["missing_mpjpe_mm"]
          == pytest.approx(before["settings"][0]["missing_mpjpe_mm"], rel=1e-4))
  config.eval.complete.steps = 3  # other settings: beside it
  run_lib.evaluate(config, flat_workdir)
  assert pathlib.Path(flat_workdir, "eval", "complete_steps-3.json").exists()
  # A flag naming a task's option, on the command line.
  proc = subprocess.run(
      [sys.executable, "-m", "experiments.main", "--mode=eval",
       f"--workdir={flat_workdir}", "--config.eval.task=generate",
       "--config.eval.generate.num=6"],
      cwd=ROOT, capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  out = json.loads(pathlib.Path(flat_workdir, "eval", "generate.json").read_text())
  assert out["num_generated"] == 6
