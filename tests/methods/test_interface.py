"""The method interface, followed as WORKSPACE.md's checklist says, by a
fourth method defined here, outside the package: its own network
(registered in the model registry from outside), a prepared artefact, and
a dependency on a trained GFPose, trained and evaluated by the generic
runner with no generic file touched."""
import dataclasses
import json
import os

import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from flax import nnx

from experiments.configs import quickstart
from jaxpose import methods
from jaxpose import models
from jaxpose import run_lib
from jaxpose import settings
from jaxpose.evaluation import estimation
from jaxpose.evaluation.runner import EvalContext
from jaxpose.methods import base
from jaxpose.methods import lifting
from jaxpose.methods import parts
from jaxpose.methods import protocols
from jaxpose.pose import representation as rep_lib
from jaxpose.workdir import checkpoint as checkpoint_lib
from jaxpose.workdir import prepared as prepared_lib


def test_registry_finds_methods_by_name():
  assert {"gfpose", "baseline", "diffpose", "dposer"} <= set(methods.names())
  assert methods.get("gfpose").name == "gfpose"
  assert isinstance(methods.get("baseline"), base.Method)
  with pytest.raises(settings.ConfigError,
                     match="unknown method 'gfpos'; valid: .*gfpose"):
    methods.get("gfpos")


# --- The fourth method, step by step as WORKSPACE.md's checklist says. ---


# Step 1: a network registered from outside jaxpose.
@models.register("test_offset_lifter")
class OffsetLifter(nnx.Module):
  """2D [B, J, 2] -> an offset of every joint from the prepared mean pose."""

  def __init__(self, *, num_joints: int = 17, hidden: int = 32,
               rngs: nnx.Rngs):
    self.num_joints = num_joints
    self.fc1 = nnx.Linear(num_joints * 2, hidden, rngs=rngs)
    self.fc2 = nnx.Linear(hidden, num_joints * 3, rngs=rngs)

  def __call__(self, pose2d, *, deterministic=True, rngs=None):
    del deterministic, rngs
    h = jnp.tanh(self.fc1(pose2d.reshape(pose2d.shape[0], -1)))
    return self.fc2(h).reshape(-1, self.num_joints, 3)


@dataclasses.dataclass(frozen=True)
class ToySection:
  """`config.toy`: the GFPose workdir whose prior scores the predictions."""
  prior_workdir: str
  prior_t: float = settings.field(above=0.0, at_most=1.0)


@dataclasses.dataclass(frozen=True)
class Sections:
  representation: rep_lib.Representation
  model: models.NetworkSpec
  toy: ToySection


@dataclasses.dataclass(frozen=True)
class EvalOptions:
  shift_mm: float


@dataclasses.dataclass(frozen=True)
class OffsetModel:
  representation: rep_lib.Representation
  network: models.Network
  mean_pose: np.ndarray  # [J, 3] model units, prepared

  def init(self, key):
    return self.network.init(key)

  def predict(self, params, pose2d):
    return self.mean_pose + self.network.apply(params, pose2d)

  def loss(self, params, batch, key):
    del key
    err = self.predict(params, batch["pose2d"]) - batch["pose3d"]
    return jnp.mean(jnp.square(err)), {}


def build(run, prepared, needs):
  del needs
  s = run.sections
  return OffsetModel(
      representation=s.representation,
      network=s.model.build(num_joints=s.representation.num_joints),
      mean_pose=jnp.asarray(prepared["mean_pose"]["pose3d"]))


# Step 2: state fitted on the training data.
def prepare(ctx: base.PrepareContext):
  train = ctx.data.splits["train"]
  return {"mean_pose": base.Artefact(
      arrays={"pose3d": np.asarray(train["pose3d"]).mean(0)},
      info={"rows": len(train["pose3d"])})}


# Step 3: a trained GFPose, through the protocol it provides.
PRIOR = base.Need(name="prior", config_key="toy.prior_workdir",
                  protocol=protocols.JointPrior, part_of_model=True,
                  hint="train experiments/configs/quickstart.py there")

# Step 4: evaluation tasks by name.
TASKS = base.Tasks()


@TASKS.register("estimate")
def estimate(trained: base.Trained, opts: EvalOptions, ctx: EvalContext):
  model, prior = trained.model, trained.needs["prior"]
  pred = np.asarray(model.predict(trained.params, ctx.test["pose2d"]))
  pred_mm = np.asarray(model.representation.pose3d_from_model(pred))
  pred_mm = pred_mm + opts.shift_mm
  result = estimation.estimation_result(ctx, pred_mm[None], title="toy")
  t = trained.run.sections.toy.prior_t
  score = prior.score_fn(prior.params, prior.to_model(jnp.asarray(pred_mm)),
                         jnp.float32(t), None)
  result.figures["prior_score_norm"] = float(jnp.mean(jnp.linalg.norm(
      score.reshape(score.shape[0], -1), axis=-1)))
  return result


# Step 5: registered (here, by this test module: outside the package).
METHOD = methods.register(base.Method(
    name="test_offset", settings=Sections, eval_options=EvalOptions,
    fingerprint_sections=("method", "model", "representation"),
    load_data=lifting.load_data, build=build,
    training=parts.fields_training("pose3d", "pose2d"), tasks=TASKS,
    prepare=prepare, needs=(PRIOR,)))


def _gfpose_config(num_steps=20):
  c = quickstart.get_config()
  c.model.update(hidden=64, embed_dim=32, num_blocks=1, num_groups=8)
  c.data.update(n_train=512, n_test=16)
  c.train.update(num_steps=num_steps, batch_size=32, log_every=10,
                 ckpt_every=10, warmup_steps=1)
  return c


# Step 6: a config with exactly the method's sections.
def _toy_config(prior_workdir):
  gf = _gfpose_config()
  return ml_collections.ConfigDict(dict(
      method="test_offset", seed=0, data=gf.data.to_dict(),
      representation=gf.representation.to_dict(),
      model=dict(name="test_offset_lifter", hidden=32),
      toy=dict(prior_workdir=prior_workdir, prior_t=0.1),
      train=dict(num_steps=60, batch_size=32, learning_rate=1e-2,
                 warmup_steps=1, grad_clip=1.0, ema_decay=0.5, log_every=20,
                 ckpt_every=60, keep_ckpts=1),
      eval=dict(task="estimate", num_poses=8, use_ema=True, plot_poses=1,
                plot_hypotheses=1, output_suffix="", output_dir="",
                save_predictions=False, shift_mm=0.0)))


@pytest.mark.slow
def test_a_fourth_method_defined_outside_runs_through_run_lib(tmp_path):
  gf_dir, toy_dir = str(tmp_path / "gfpose"), str(tmp_path / "toy")
  run_lib.train(_gfpose_config(), gf_dir)
  config = _toy_config(gf_dir)
  res = run_lib.run("train_and_eval", config, toy_dir)
  assert res["method"] == "test_offset" and res["train_step"] == 60
  assert res["num_poses"] == 8 and np.isfinite(res["prior_score_norm"])
  assert "sampler" not in res  # it samples nothing and says so by omission
  # The prepared artefact: written beside the checkpoints, recorded with
  # its digest and the settings it came from, and in the fingerprint.
  artefacts, index = prepared_lib.load(toy_dir)
  mean = artefacts["mean_pose"]["pose3d"]
  assert mean.shape == (17, 3) and index["artefacts"]["mean_pose"]["info"] == {
      "rows": 512}
  trained = run_lib.load_trained(toy_dir)
  np.testing.assert_array_equal(trained.model.mean_pose, mean)
  # The dependency: injected, and its parameters' digest in the fingerprint.
  gf = run_lib.load_trained(gf_dir)
  assert isinstance(trained.needs["prior"], protocols.JointPrior)
  fp = json.loads(open(os.path.join(toy_dir, "checkpoints",
                                    "fingerprint.json")).read())
  from jaxpose import digest
  assert fp["needs"]["prior"] == digest.digest(gf.params)
  assert fp["prepared"]["mean_pose"] == artefacts["mean_pose"].digest()
  # The same summary file as every method's.
  summary = json.loads(open(os.path.join(toy_dir, "metrics.json")).read())
  assert summary["estimate"]["mpjpe_mm"] == res["mpjpe_mm"]
  # Evaluation from the workdir alone, changing only an evaluation setting.
  shifted = run_lib.evaluate(run_lib.evaluation_config(
      toy_dir, {"eval.shift_mm": 10.0, "eval.output_suffix": "shift"}), toy_dir)
  assert shifted["mpjpe_mm"] != res["mpjpe_mm"]
  with pytest.raises(settings.ConfigError, match="toy.prior_t"):
    run_lib.evaluation_config(toy_dir, {"toy.prior_t": 0.5})
  # A GFPose trained further in place is another prior: refused by name.
  run_lib.train(_gfpose_config(num_steps=30), gf_dir)
  with pytest.raises(checkpoint_lib.CheckpointMismatchError,
                     match="needs.prior"):
    run_lib.load_trained(toy_dir)


def test_a_need_of_the_wrong_kind_or_missing_is_named(tmp_path):
  config = _toy_config("")
  with pytest.raises(settings.ConfigError,
                     match="toy.prior_workdir: empty; train experiments"):
    run_lib.train(config, str(tmp_path / "a"))
  config = _toy_config(str(tmp_path / "nowhere"))
  with pytest.raises(settings.ConfigError, match="no such directory"):
    run_lib.train(config, str(tmp_path / "b"))
  assert not os.path.exists(tmp_path / "b" / "checkpoints")


def test_settings_are_checked_before_anything_runs(tmp_path):
  config = _toy_config(str(tmp_path))
  config.toy.prior_t = 2.0
  with pytest.raises(settings.ConfigError,
                     match=r"toy.prior_t: expected values > 0.0 and <= 1.0"):
    methods.parse(config)
  config = _toy_config(str(tmp_path))
  config.model.width = 3
  with pytest.raises(settings.ConfigError,
                     match="model.width: not an argument of network "
                           "'test_offset_lifter'; valid keys: name, num_joints, hidden"):
    methods.parse(config)
  config = _toy_config(str(tmp_path))
  config.sde = dict(name="subvp")
  with pytest.raises(settings.ConfigError,
                     match="sde: not a section of method 'test_offset'"):
    methods.parse(config)
  config = _toy_config(str(tmp_path))
  config.eval.task = "complete3d"
  with pytest.raises(settings.ConfigError,
                     match="eval.task: expected one of estimate, got 'complete3d'"):
    methods.parse(config)
  config = _toy_config(str(tmp_path)).to_dict()
  config["eval"]["shift_mm"] = "10"
  with pytest.raises(settings.ConfigError, match="eval.shift_mm: expected float"):
    methods.parse(config)
