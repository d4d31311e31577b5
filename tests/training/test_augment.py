"""Mirror augmentation: drawn in the loss from the step's key, each row
mirrored or not, for every method that can mirror its rows."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import dposer_quickstart
from experiments.configs import quickstart
from jaxpose import config as config_lib
from jaxpose import methods
from jaxpose import settings
from jaxpose.methods import lifting
from jaxpose.pose import mirror as mirror_lib
from jaxpose.pose.skeleton import H36M_17
from jaxpose.training import augment


def _negate(batch):
  return {"x": -batch["x"], "id": batch["id"]}


def _seen(params, batch, key):
  del params, key
  return batch


def test_zero_probability_is_the_loss_itself():
  assert augment.mirrored(_seen, None, 0.0, "any") is _seen


def test_each_row_is_mirrored_or_not_by_the_key():
  batch = {"x": jnp.arange(1.0, 201.0)[:, None] * jnp.ones((1, 3)),
           "id": jnp.arange(200)}
  every = augment.mirrored(_seen, _negate, 1.0, "toy")(None, batch,
                                                      jax.random.key(0))
  np.testing.assert_array_equal(every["x"], -batch["x"])
  half = jax.jit(augment.mirrored(_seen, _negate, 0.5, "toy"))
  out = half(None, batch, jax.random.key(1))
  flipped = np.asarray(out["x"][:, 0] < 0)
  assert 70 < flipped.sum() < 130  # Binomial(200, 0.5)
  np.testing.assert_array_equal(np.abs(out["x"]), batch["x"])  # whole rows
  np.testing.assert_array_equal(out["id"], batch["id"])
  again = half(None, batch, jax.random.key(1))
  np.testing.assert_array_equal(again["x"], out["x"])


def test_a_method_without_a_mirror_is_refused_naming_the_key():
  with pytest.raises(settings.ConfigError, match="train.mirror=0.5.*'toy'"):
    augment.mirrored(_seen, None, 0.5, "toy")


def test_lifting_rows_mirror_in_model_units_as_in_millimetres():
  _, run = methods.parse(quickstart.get_config())
  rep = run.sections.representation
  rng = np.random.default_rng(0)
  mm = rng.normal(0, 300, (4, 17, 3)).astype(np.float32)
  mm -= mm[:, :1]
  flip = lifting.mirror(rep)
  out = flip({"pose3d": rep.pose3d_to_model(mm),
              "pose2d": np.zeros((4, 17, 2), np.float32)})
  np.testing.assert_allclose(out["pose3d"], rep.pose3d_to_model(
      mirror_lib.mirror_joints(mm, H36M_17)), atol=1e-5)


def test_dposer_rows_mirror_in_radians_through_its_z_score():
  from jaxpose.methods.dposer import body as body_lib
  from jaxpose.methods.dposer import model as model_lib
  rng = np.random.default_rng(1)
  poses = rng.normal(0, 0.3, (64, 63)).astype(np.float32)
  zscore = body_lib.ZScore.fit(poses)
  fake = type("M", (), dict(zscore=zscore, loss=None,
                            standardize=lambda self, x: zscore.standardize(x)))()
  data = methods.base.Data(dataset=None, splits={"train": {"body_pose": poses}})
  training = model_lib.training(fake, data, {})
  out = training.mirror({"x": training.arrays["x"]})
  np.testing.assert_allclose(zscore.unstandardize(out["x"]),
                             mirror_lib.mirror_body_pose(poses), atol=1e-5)


def test_configs_train_without_mirroring_unless_asked():
  for config in (quickstart.get_config(), dposer_quickstart.get_config()):
    _, run = methods.parse(config)
    assert run.train.mirror == 0.0
  # A workdir trained before the keys resumes under a config that has them.
  from experiments.configs import baseline_quickstart
  stored = config_lib.to_plain(baseline_quickstart.get_config())
  del stored["train"]["mirror"], stored["inputs"]
  assert config_lib.resume_changes(stored,
                                   baseline_quickstart.get_config()) == {}


def test_dposer_on_mocap_mirrors_and_its_older_workdirs_stay_unmirrored(
    tmp_path):
  from experiments.configs import dposer_mocap
  from jaxpose import files
  from jaxpose import run_lib
  _, run = methods.parse(dposer_mocap.get_config())
  assert run.train.mirror == 0.5
  # A DPoser trained before mirroring existed ran unmirrored: continuing it
  # under today's default would change the run, and an evaluation that
  # restates the old default (as the results pages' commands do) agrees
  # with it.
  stored = config_lib.to_plain(dposer_mocap.get_config())
  del stored["train"]["mirror"]
  assert config_lib.resume_changes(stored, dposer_mocap.get_config()) == {
      "train.mirror": ("<absent>", 0.5)}
  files.write_json_atomic(str(tmp_path / "config.json"), stored)
  config = run_lib.evaluation_config(str(tmp_path), {"train.mirror": 0.0})
  assert config.train.mirror == 0.0
  with pytest.raises(settings.ConfigError, match="train.mirror=0.5"):
    run_lib.evaluation_config(str(tmp_path), {"train.mirror": 0.5})


@pytest.mark.parametrize("name", ["gfpose", "dposer"])
def test_a_run_trains_with_mirrored_rows(tmp_path, name):
  from jaxpose import run_lib
  from tests.test_end_to_end import tiny_config
  if name == "gfpose":
    config = tiny_config(num_steps=2)
  else:
    config = dposer_quickstart.get_config()
    config.model.update(hidden=16, embed_dim=16, num_groups=4)
    config.data.update(n_train=1200, n_test=360)
    config.train.update(num_steps=2, batch_size=32, log_every=1,
                        ckpt_every=2, warmup_steps=1)
  config.train.mirror = 0.5
  run_lib.train(config, str(tmp_path / name))
  assert run_lib.load_trained(str(tmp_path / name)).step == 2
