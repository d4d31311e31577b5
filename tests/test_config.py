"""Configs: every shipped config loads, and unknown keys name the valid ones."""
import ast
import dataclasses
import importlib
import json
import re
import pathlib
import subprocess
import sys

import pytest

from experiments import configs
from jaxpose import config as config_lib
from jaxpose import methods
from jaxpose import run_lib

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFIGS = sorted(p.stem for p in (ROOT / "experiments" / "configs").glob("*.py")
                 if p.stem != "__init__")


@pytest.mark.parametrize("name", CONFIGS)
def test_config_has_docstring_with_command_and_results_and_parses(name):
  module = importlib.import_module(f"experiments.configs.{name}")
  doc = module.__doc__ or ""
  assert "python -m experiments." in doc, f"{name}: docstring lacks the command line"
  assert "results" in doc.lower(), f"{name}: docstring names no results file"
  for path in re.findall(r"experiments/results/[\w./{},-]+\.json", doc):
    if "{" not in path:
      assert (ROOT / path).exists(), f"{name}: names a missing file {path}"
  # Measured runtimes live in results files and the README, not here (the
  # papers' own figures may be cited).
  assert not re.search(r"\d+(\.\d+)? ?(steps/s|minutes|min|ms)\b", doc), (
      f"{name}: docstring holds a measured runtime")
  config = module.get_config()
  assert config.method in methods.names()
  # Every setting, of every section, is typed and checked (no data loaded).
  methods.parse(config)


@pytest.mark.parametrize("name", CONFIGS)
def test_config_lists_every_eval_key_so_a_flag_can_set_it(name):
  """A key left to its dataclass default is not in the config, and
  `--config.eval.<key>=...` then fails as unknown."""
  from jaxpose import settings
  from jaxpose.evaluation import config as eval_config_lib
  config = importlib.import_module(f"experiments.configs.{name}").get_config()
  method = methods.get(config.method)
  keys = (set(settings.field_names(eval_config_lib.EvalConfig))
          | set(settings.field_names(method.eval_options)))
  assert sorted(keys - set(config.eval.keys())) == []
  for task, options in method.tasks.options().items():  # each task's group
    assert sorted(set(settings.field_names(options))
                  - set(config.eval[task].keys())) == [], task


@pytest.mark.parametrize("name", CONFIGS)
def test_config_lists_every_train_key_so_a_flag_can_set_it(name):
  """As for `eval`: the generic `train` keys and the method's own."""
  from jaxpose import settings
  from jaxpose.training import config as train_config_lib
  config = importlib.import_module(f"experiments.configs.{name}").get_config()
  method = methods.get(config.method)
  keys = (set(settings.field_names(train_config_lib.TrainConfig))
          | set(settings.field_names(method.train_options)))
  assert sorted(keys - set(config.train.keys())) == []


def test_unknown_key_message_lists_valid_keys():
  from experiments.configs import quickstart
  config = quickstart.get_config()
  msg = config_lib.unknown_key_message(config, "train.num_step")
  assert "train.num_step" in msg and "num_steps" in msg and "batch_size" in msg
  assert config_lib.unknown_key_message(config, "train.num_steps") is None
  msg = config_lib.unknown_key_message(config, "trian.num_steps")
  assert "'trian'" in msg and "train" in msg and "model" in msg
  msg = config_lib.unknown_key_message(config, "seed.x")
  assert "'seed' is a value" in msg


def test_check_overrides_raises_config_error():
  from experiments.configs import quickstart
  config = quickstart.get_config()
  config_lib.check_overrides(config, ["--config.model.hidden=8", "--workdir=x"])
  with pytest.raises(config_lib.ConfigError, match="valid keys: .*hidden"):
    config_lib.check_overrides(config, ["--config.model.hiden=8"])


def test_cli_unknown_key_exits_with_clear_message(tmp_path):
  proc = subprocess.run(
      [sys.executable, "-m", "experiments.main",
       "--config=experiments/configs/quickstart.py", f"--workdir={tmp_path}",
       "--config.train.num_step=3"],
      cwd=ROOT, capture_output=True, text=True, timeout=120)
  assert proc.returncode != 0
  assert "unknown config key 'train.num_step'" in proc.stderr
  assert "num_steps" in proc.stderr
  assert "Traceback" not in proc.stderr
  assert not (tmp_path / "checkpoints").exists()


def test_fingerprint_covers_model_and_sde_only():
  from experiments.configs import quickstart
  a = quickstart.get_config()
  b = quickstart.get_config()
  b.train.num_steps = 7
  b.data.n_train = 11
  assert config_lib.fingerprint(a) == config_lib.fingerprint(b)
  b.model.hidden = 64
  assert config_lib.fingerprint(a) != config_lib.fingerprint(b)


def test_fingerprint_of_an_older_config_without_space_still_matches():
  from experiments.configs import quickstart
  new = quickstart.get_config()
  old = quickstart.get_config()
  with old.unlocked():
    del old.representation["space"]  # configs written before the key
  assert config_lib.fingerprint(old) == config_lib.fingerprint(new)
  new.representation.space = "image"
  assert config_lib.fingerprint(old) != config_lib.fingerprint(new)
  assert config_lib.fingerprint(new)["representation"]["space"] == "image"


@pytest.mark.parametrize("module", ["gfpose_mocap", "baseline_mocap"])
def test_camera_roll_variant_is_camera_trained_on_any_roll(module):
  config = importlib.import_module(f"experiments.configs.{module}")
  rolled = config.get_config("camera_roll").to_dict()
  level = config.get_config("camera").to_dict()
  assert rolled["data"].pop("train_cameras") == "varied_roll"
  assert level["data"].pop("train_cameras") == "varied"
  assert rolled == level


def test_a_config_switches_to_another_datasets_keys():
  from experiments import dataset_config
  from experiments import main
  path = "experiments/configs/dposer_quickstart.py"
  argv = main.with_dataset_config(
      ["main", "--config", path, "--workdir=w", "--config.data.name=npz",
       "--config.data.train_path=a.npz"])
  assert argv[1] == f"--config={main._DATASET_CONFIG}:{path}@npz"  # pylint: disable=protected-access
  assert path not in argv[2:] and "--workdir=w" in argv
  config = dataset_config.get_config(f"{path}@npz")
  # The npz keys with their defaults; data.body, which both declare, kept.
  assert dict(config.data) == dict(name="npz", train_path="", test_path="",
                                   cameras="", body=True)
  assert config.model == dataset_config.load_config(path).model
  # The same dataset, a config with a variant argument: left as written.
  mocap = dataset_config.get_config("experiments/configs/gfpose_mocap.py:small@mocap")
  assert mocap.data.cache_dir == dataset_config.load_config(
      "experiments/configs/gfpose_mocap.py:small").data.cache_dir
  # A required key of the new dataset is refused until given.
  synthetic = dataset_config.get_config("experiments/configs/gfpose_mocap.py@synthetic")
  with pytest.raises(config_lib.ConfigError, match="n_train"):
    methods.parse(synthetic)
  # No data.name flag, or an unknown name (refused later with the valid ones).
  assert main.with_dataset_config(["main", f"--config={path}"]) == ["main", f"--config={path}"]
  unknown = ["main", f"--config={path}", "--config.data.name=nope"]
  assert main.with_dataset_config(unknown) == unknown


def test_cli_evaluates_on_another_dataset_with_its_keys(tmp_path):
  # MPI-INF-3DHP's keys on a config written for mocap: known (the run then
  # stops at the missing checkpoint, not at the flags).
  proc = subprocess.run(
      [sys.executable, "-m", "experiments.main",
       "--config=experiments/configs/gfpose_mocap.py", f"--workdir={tmp_path}",
       "--mode=eval", "--config.data.name=mpi_inf_3dhp", f"--config.data.dir={tmp_path}"],
      cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert proc.returncode != 0
  assert "unknown config key" not in proc.stderr, proc.stderr
  assert "no checkpoint" in proc.stderr, proc.stderr


def test_a_workdir_trained_before_an_eval_key_was_added_takes_its_flag(tmp_path):
  """An older workdir's config.json lacks evaluation keys added since; the
  config `--mode=eval --workdir=W` uses holds them at their defaults, so
  `--config.eval.<new key>` works there, and what it had stays."""
  from experiments import workdir_config
  from jaxpose import files
  # A DPoser workdir's config, written when its eval keys were flat.
  plain = json.loads((pathlib.Path(__file__).parent / "fixtures" /
                      "dposer_workdir_82db3ba" / "config.json").read_text())
  del plain["eval"]["calibration_2d"]  # generic
  del plain["eval"]["denoise_weight_schedules"]  # DPoser's own
  plain["eval"]["window"] = 30  # a key it has, not at its default
  files.write_json_atomic(str(tmp_path / "config.json"), plain)
  config = workdir_config.get_config(str(tmp_path))
  assert config.eval.calibration_2d == ""
  assert tuple(config.eval.denoise_motion.weight_schedules) == ("fixed",)
  assert config.eval.denoise_motion.window == 30
  config.eval.calibration_2d = "noisy"  # what the flag does
  _, run = methods.parse(config)
  assert run.eval.calibration_2d == "noisy"


def test_configs_take_the_generic_eval_keys_from_one_helper():
  """`experiments.configs.generic_eval` spells EvalConfig's keys; a config
  that restated them would drift from it."""
  from jaxpose.evaluation import config as eval_config
  generic_only = {"output_suffix", "output_dir", "save_predictions",
                  "apply_calibration", "calibration_from", "calibration_2d",
                  "rows", "overwrite", "use_ema"}
  for name in CONFIGS:
    tree = ast.parse((ROOT / "experiments" / "configs" / f"{name}.py").read_text())
    given = {k.arg for node in ast.walk(tree) if isinstance(node, ast.Call)
             for k in node.keywords}
    assert not given & generic_only, name
  generic = configs.generic_eval(task="t", num_poses=1, plot_poses=0,
                                 plot_hypotheses=0)
  assert set(generic) == {f.name for f in dataclasses.fields(
      eval_config.EvalConfig)}
