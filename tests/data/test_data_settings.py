"""Typed `config.data` sections: each dataset's keys, checked before loading."""
import dataclasses
import importlib
import pathlib

import ml_collections
import numpy as np
import pytest

from jaxpose import settings
from jaxpose.data import data_fields
from jaxpose.data import datasets
from jaxpose.data import h36m
from jaxpose.data import mocap_dataset
from jaxpose.data import npz_poses
from jaxpose.data import synthetic

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONFIGS = sorted(p.stem for p in (ROOT / "experiments" / "configs").glob("*.py")
                 if p.stem != "__init__")
SYNTHETIC = dict(name="synthetic", n_train=40, n_test=8, data_seed=3)


def _h36m_section(**kw):
  from experiments.configs import gfpose_h36m
  section = gfpose_h36m.get_config().data
  section.update(kw)
  return section


@pytest.mark.parametrize("name", CONFIGS)
def test_every_shipped_data_section_parses(name):
  config = importlib.import_module(f"experiments.configs.{name}").get_config()
  parsed = datasets.parse_settings(config.data)
  assert parsed.name == config.data.name
  assert datasets.parse_settings(parsed) is parsed


def test_unknown_key_is_refused_with_the_valid_keys():
  with pytest.raises(settings.ConfigError,
                     match=r"data\.n_trian: not a setting of dataset 'synthetic'; "
                           r"valid keys: .*data_seed.*n_test, n_train"):
    datasets.parse_settings(dict(SYNTHETIC, n_trian=5))
  # A ConfigDict, as configs hold it, and load itself refuse it too.
  section = ml_collections.ConfigDict(dict(SYNTHETIC, noise_px=1.0))
  with pytest.raises(settings.ConfigError, match=r"data\.noise_px: .*noise_2d_px"):
    datasets.load(section)
  with pytest.raises(settings.ConfigError, match="data.name: expected one of "
                     ".*synthetic.*, got 'synthtic'"):
    datasets.parse_settings(dict(SYNTHETIC, name="synthtic"))


def test_wrong_type_and_out_of_range_are_named_by_dotted_key():
  with pytest.raises(settings.ConfigError, match=r"data\.n_train: expected int, got '40'"):
    datasets.parse_settings(dict(SYNTHETIC, n_train="40"))
  with pytest.raises(settings.ConfigError, match=r"data\.n_test: expected values >= 1"):
    datasets.parse_settings(dict(SYNTHETIC, n_test=0))
  with pytest.raises(settings.ConfigError, match=r"data\.noise_2d_px: expected values >= 0"):
    datasets.parse_settings(dict(SYNTHETIC, noise_2d_px=-1.0))
  mocap = dict(name="mocap", cache_dir="")
  with pytest.raises(settings.ConfigError, match=r"data\.noise_outlier_prob: .*<= 1"):
    datasets.parse_settings(dict(mocap, noise_outlier_prob=1.5))
  with pytest.raises(settings.ConfigError,
                     match=r"data\.test_2d: expected one of exact, noisy, got 'noisey'"):
    datasets.parse_settings(dict(mocap, test_2d="noisey"))
  with pytest.raises(settings.ConfigError, match=r"data\.camera_subject: .*'S2'"):
    datasets.parse_settings(dict(mocap, camera_subject="S2"))
  with pytest.raises(settings.ConfigError, match=r"data\.train_stride: expected values >= 1"):
    datasets.parse_settings(_h36m_section(train_stride=0))
  with pytest.raises(settings.ConfigError, match=r"data\.test_subjects: expected subjects"):
    datasets.parse_settings(_h36m_section(test_subjects=" , "))
  with pytest.raises(settings.ConfigError, match="data.cameras: expected '' or 'h36m:"):
    datasets.parse_settings(dict(name="npz", test_path="t.npz", cameras="S1"))
  with pytest.raises(settings.ConfigError, match="data.n_train: missing"):
    datasets.parse_settings(dict(name="synthetic", n_test=8, data_seed=0))


def test_another_datasets_key_is_accepted_and_ignored():
  # gfpose_h36m's section holds the npz keys beside the h36m ones.
  section = _h36m_section(test_path="elsewhere.npz")
  parsed = datasets.parse_settings(section)
  assert isinstance(parsed, h36m.H36MSettings)
  assert not hasattr(parsed, "test_path")
  parsed = datasets.parse_settings(_h36m_section(name="npz", test_path="t.npz"))
  assert isinstance(parsed, npz_poses.NpzSettings) and parsed.test_path == "t.npz"
  assert not hasattr(parsed, "path_2d")
  # Mocap's keys beside the synthetic ones.
  parsed = datasets.parse_settings(dict(SYNTHETIC, cache_dir="caches", max_test=3))
  assert parsed == synthetic.SyntheticSettings(n_train=40, n_test=8, data_seed=3)


def test_defaults_are_the_loaders():
  parsed = datasets.parse_settings(dict(name="mocap"))
  assert parsed == mocap_dataset.MocapSettings()
  options = mocap_dataset.lifting_options(parsed)
  assert options == mocap_dataset.mocap_2d.LiftingOptions()
  parsed = datasets.parse_settings(dict(name="h36m"))
  assert (parsed.path_3d, parsed.path_2d, parsed.test_path_2d) == (
      "data_3d_h36m.npz", "data_2d_h36m_gt.npz", "")
  assert parsed.train_subjects == h36m.TRAIN_SUBJECTS
  parsed = datasets.parse_settings(SYNTHETIC)
  assert (parsed.noise_2d_px, parsed.body, parsed.clip_frames) == (0.0, False, 0)


def test_training_data_leaves_out_test_side_keys():
  ours = datasets.training_data(dict(SYNTHETIC, n_test=8))
  assert ours == dict(name="synthetic", n_train=40, data_seed=3, noise_2d_px=0.0,
                      body=False, clip_frames=0)
  assert datasets.training_data(dict(SYNTHETIC, n_test=99)) == ours
  assert datasets.training_data(dict(SYNTHETIC, n_train=41)) != ours
  mocap = datasets.training_data(dict(name="mocap", cache_dir="a", max_test=5,
                                      test_2d="noisy", test_stride=4,
                                      test_cameras="random"))
  assert mocap == datasets.training_data(dict(name="mocap"))
  assert not {"cache_dir", "max_test", "n_test"} & set(mocap)
  assert not [k for k in mocap if k.startswith("test_")]
  assert {"train_2d", "train_stride", "max_train", "data_seed"} <= set(mocap)
  h36m_keys = datasets.training_data(_h36m_section())
  assert set(h36m_keys) == {"name", "path_3d", "path_2d", "train_subjects",
                            "train_stride", "body"}
  # Plain values (tuples as lists), comparable with a config read from JSON.
  assert datasets.training_data(dict(name="h36m", train_subjects=("S1", "S5"))
                                )["train_subjects"] == ["S1", "S5"]
  npz = datasets.training_data(dict(name="npz", train_path="a.npz", test_path="b.npz"))
  assert npz == dict(name="npz", train_path="a.npz", cameras="", body=False)


def test_every_registered_field_says_whether_it_decides_train_rows():
  for cls in (synthetic.SyntheticSettings, mocap_dataset.MocapSettings,
              h36m.H36MSettings, npz_poses.NpzSettings):
    data_fields.check_declared(cls)

  @dataclasses.dataclass(frozen=True)
  class Undeclared:
    name: str = "x"
  with pytest.raises(TypeError, match=r"\['name'\].*decides_train_rows"):
    datasets.register("test_undeclared", Undeclared)


def test_load_takes_parsed_settings_and_a_test_only_npz(tmp_path):
  parsed = datasets.parse_settings(SYNTHETIC)
  a, b = datasets.load(parsed), datasets.load(SYNTHETIC)
  for key in a.splits["train"]:
    np.testing.assert_array_equal(a.splits["train"][key], b.splits["train"][key])
  rng = np.random.default_rng(0)
  pose = rng.uniform(-400, 400, (5, 17, 3)) + [0.0, 0.0, 4500.0]
  np.savez(tmp_path / "test.npz", pose3d=pose,
           intrinsics=np.array([1100.0, 1090.0, 480.0, 500.0, 960.0, 1000.0]))
  ds = datasets.load(_h36m_section(name="npz", test_path=str(tmp_path / "test.npz")))
  assert len(ds.splits["train"]["pose3d"]) == 0 and len(ds.splits["test"]["pose3d"]) == 5
  assert datasets.training_data(_h36m_section(name="npz", test_path="x.npz")) == dict(
      name="npz", train_path="", cameras="", body=False)


def test_a_dataset_without_settings_reads_its_own_section(monkeypatch):
  monkeypatch.setitem(datasets._LOADERS, "test_plain", lambda section: {
      "train": dict(pose3d=np.zeros((2, 17, 3)), pose2d=np.zeros((2, 17, 2))),
      "test": dict(pose3d=np.zeros((1, 17, 3)), pose2d=np.zeros((1, 17, 2)),
                   views=np.array([section.views]))})
  monkeypatch.setitem(datasets._SETTINGS, "test_plain", None)
  section = ml_collections.ConfigDict(dict(name="test_plain", views="all", n_test=3,
                                           test_x=1, seed=2))
  assert datasets.parse_settings(section) is section
  assert datasets.load(section).splits["test"]["views"][0] == "all"
  assert datasets.training_data(section) == dict(name="test_plain", views="all", seed=2)
