"""WORKSPACE.md's "Adding a method (checklist)", followed literally.

A fifth method, a Gaussian pose prior, is written as a package into a copy
of jaxpose (never into the repository), with a config in the copy's
experiments/configs/, then trained, evaluated and sampled by
`python -m experiments.main` alone. Passing means a method package plus a
config is all a new method takes: `methods.names()` finds it, the generic
runner serves it, the layout rules hold and no generic file changed.
"""
import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
LAYOUT_CHECK = ROOT.parent / "shared" / "tools" / "layout_check.py"
PACKAGE = pathlib.Path("jaxpose", "methods", "toy_gaussian")
CONFIG = "experiments/configs/toy_gaussian_quickstart.py"
HIDDEN_JOINTS = (3, 6, 13, 16)  # feet and wrists: their knees and elbows stay visible
NUM_SAMPLES = 2000
NUM_POSES = 64

# Step 1 of the checklist: settings, eval options, a frozen pure model, build.
MODEL_PY = '''\
"""The toy Gaussian prior's settings and model.

The prior is the training poses' mean and covariance (`prepare`, a
prepared artefact), in model units over the flattened J * 3 coordinates.
The trained parameters are a plain pytree, `{"mean": [J * 3]}`, whose loss
is minimised by the data mean: something for the generic loop to train.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from jaxpose import settings
from jaxpose.methods import base
from jaxpose.pose import representation as rep_lib

GAUSSIAN = "gaussian"


@dataclasses.dataclass(frozen=True)
class GaussianSection:
  """`config.gaussian`: added to the covariance's diagonal (model units
  squared) before it is factorised or inverted, since the root joint of a
  root-relative pose never moves and leaves the covariance singular."""
  ridge: float = settings.field(above=0.0)


@dataclasses.dataclass(frozen=True)
class Sections:
  representation: rep_lib.Representation
  gaussian: GaussianSection


@dataclasses.dataclass(frozen=True)
class EvalOptions:
  """hidden_joints: joints `complete` hides (the root is always known);
  num_samples: poses `sample` draws."""
  hidden_joints: tuple[int, ...] = settings.field(at_least=1, at_most=16)
  num_samples: int = settings.field(at_least=2)


@dataclasses.dataclass(frozen=True)
class GaussianModel:
  representation: rep_lib.Representation
  mean: np.ndarray  # [D] model units, D = J * 3
  cov: np.ndarray  # [D, D]
  ridge: float

  @property
  def num_joints(self) -> int:
    return self.representation.num_joints

  def init(self, key):
    del key
    return {"mean": jnp.zeros(self.mean.shape, jnp.float32)}

  def loss(self, params, batch, key):
    del key
    x = batch["pose3d"].reshape(batch["pose3d"].shape[0], -1)  # [B, D]
    err = x - params["mean"]
    return jnp.mean(jnp.square(err)), {
        "mean_gap": jnp.linalg.norm(params["mean"] - self.mean)}

  def regularised_cov(self) -> np.ndarray:
    cov = np.asarray(self.cov, np.float64)
    return cov + self.ridge * np.eye(len(cov))

  def sample(self, key, num: int) -> np.ndarray:
    """[num, J, 3] model units."""
    chol = np.linalg.cholesky(self.regularised_cov())
    z = np.asarray(jax.random.normal(key, (num, len(self.mean))), np.float64)
    x = np.asarray(self.mean, np.float64) + z @ chol.T
    return x.reshape(num, self.num_joints, 3)

  def complete(self, pose3d, hidden) -> np.ndarray:
    """The conditional mean of the hidden joints given the visible ones.

    pose3d: [N, J, 3] model units; hidden: joint indices. -> [N, J, 3]
    """
    n = len(pose3d)
    x = np.asarray(pose3d, np.float64).reshape(n, -1)
    h = np.zeros(self.num_joints, bool)
    h[list(hidden)] = True
    h = np.repeat(h, 3)
    mean, cov = np.asarray(self.mean, np.float64), self.regularised_cov()
    gain = cov[np.ix_(h, ~h)] @ np.linalg.inv(cov[np.ix_(~h, ~h)])
    out = x.copy()
    out[:, h] = mean[h] + (x[:, ~h] - mean[~h]) @ gain.T
    return out.reshape(n, self.num_joints, 3)


def build(run: base.RunSettings, prepared, needs) -> GaussianModel:
  del needs
  fitted = prepared[GAUSSIAN]
  return GaussianModel(representation=run.sections.representation,
                       mean=np.asarray(fitted["mean"]),
                       cov=np.asarray(fitted["cov"]),
                       ridge=run.sections.gaussian.ridge)


# Step 2: state fitted on the training data.
def prepare(ctx: base.PrepareContext) -> dict:
  x = np.asarray(ctx.data.splits["train"]["pose3d"], np.float64)
  x = x.reshape(len(x), -1)  # [N, D]
  return {GAUSSIAN: base.Artefact(
      arrays={"mean": x.mean(0), "cov": np.cov(x, rowvar=False)},
      info={"rows": len(x)})}


def sample(trained: base.Trained, key, num: int) -> np.ndarray:
  """`--mode=sample`: [num, J, 3] root-relative mm."""
  model = trained.model
  return np.asarray(model.representation.pose3d_from_model(
      model.sample(key, num)))
'''

# Step 4: tasks by name; they write no file (the runner does).
EVAL_TASKS_PY = '''\
"""The toy Gaussian prior's tasks: sample (its draws against the fitted
moments) and complete (hidden joints from the visible ones)."""
from __future__ import annotations

import numpy as np

from jaxpose.evaluation.runner import EvalContext, TaskResult
from jaxpose.methods import base

TASKS = base.Tasks()


def _mm(model, pose3d):
  return np.asarray(model.representation.pose3d_from_model(pose3d))


@TASKS.register("sample")
def sample(trained: base.Trained, opts, ctx: EvalContext) -> TaskResult:
  model, n = trained.model, opts.num_samples
  x = model.sample(ctx.key, n).reshape(n, -1)
  mean, cov = np.asarray(model.mean, np.float64), model.regularised_cov()
  # Standard errors of a sample mean, and the expected Frobenius error of
  # a sample covariance of Gaussian draws (Wishart moments).
  z = (x.mean(0) - mean) / np.sqrt(np.diag(cov) / n)
  cov_error = np.linalg.norm(np.cov(x, rowvar=False) - cov) / np.linalg.norm(cov)
  expected = np.sqrt((np.trace(cov) ** 2 + np.sum(cov ** 2)) / n) / np.linalg.norm(cov)
  gap = _mm(model, (x.mean(0) - mean).reshape(model.num_joints, 3))
  learnt = _mm(model, (np.asarray(trained.params["mean"]) - mean).reshape(
      model.num_joints, 3))
  figures = {
      "mean_error_mm": float(np.linalg.norm(gap, axis=-1).mean()),
      "max_abs_mean_z": float(np.abs(z).max()),
      "cov_rel_error": float(cov_error),
      "cov_rel_error_expected": float(expected),
      "learnt_mean_error_mm": float(np.linalg.norm(learnt, axis=-1).mean()),
      "fitted_mean_norm_mm": float(np.linalg.norm(
          _mm(model, mean.reshape(model.num_joints, 3)), axis=-1).mean()),
  }
  return TaskResult(figures=figures, num_poses=n, table=[
      ("sample mean error", figures["mean_error_mm"]),
      ("learnt mean error", figures["learnt_mean_error_mm"])])


@TASKS.register("complete")
def complete(trained: base.Trained, opts, ctx: EvalContext) -> TaskResult:
  model, hidden = trained.model, list(opts.hidden_joints)
  truth = np.asarray(ctx.test["pose3d_mm"], np.float64)  # [N, J, 3]
  completed = _mm(model, model.complete(ctx.test["pose3d"], hidden))
  mean = np.broadcast_to(_mm(model, model.mean.reshape(model.num_joints, 3)),
                         truth.shape)
  err = lambda pred: float(np.linalg.norm(
      pred[:, hidden] - truth[:, hidden], axis=-1).mean())
  figures = {"mpjpe_hidden_mm": err(completed),
             "mpjpe_hidden_mean_pose_mm": err(mean)}
  return TaskResult(
      figures=figures, num_poses=len(truth),
      table=[("hidden joints, conditional mean", figures["mpjpe_hidden_mm"]),
             ("hidden joints, mean pose", figures["mpjpe_hidden_mean_pose_mm"])],
      predictions={"completed_mm": completed, "pose3d_mm": truth})
'''

# Step 5: registered by its own package; no other file names it.
INIT_PY = '''\
"""A toy Gaussian pose prior: the training poses' mean and covariance,
sampled and conditioned in closed form.

  model.py       settings, `GaussianModel` (init, loss, sample, complete),
                 build, prepare
  eval_tasks.py  sample, complete
"""
from jaxpose import methods
from jaxpose.methods import base
from jaxpose.methods import lifting
from jaxpose.methods import parts
from jaxpose.methods.toy_gaussian import eval_tasks
from jaxpose.methods.toy_gaussian import model

METHOD = methods.register(base.Method(
    name="toy_gaussian",
    settings=model.Sections,
    eval_options=model.EvalOptions,
    fingerprint_sections=("method", "representation", "gaussian"),
    load_data=lifting.load_data,
    build=model.build,
    prepare=model.prepare,
    training=parts.fields_training("pose3d"),
    tasks=eval_tasks.TASKS,
    capabilities=base.Capabilities(sample=model.sample),
))

__all__ = ["METHOD"]
'''

# Step 6: exactly the method's sections plus the generic ones; every train
# and eval key.
CONFIG_PY = f'''\
"""The toy Gaussian pose prior on a few embedded synthetic poses.

The training poses' mean and covariance (prepared), a learnt mean trained
by the generic loop, completion of hidden joints by the conditional mean,
and samples compared with the fitted moments.

Command:
  python -m experiments.main --config={CONFIG} \\
      --workdir=runs/toy_gaussian

Expected: not run as it stands (no results file); written by
tests/test_add_a_method.py into a copy of the repository.
"""
import ml_collections

from experiments import configs as configs_lib
from experiments.configs import quickstart


def get_config():
  q = quickstart.get_config()
  c = ml_collections.ConfigDict()
  c.method = "toy_gaussian"
  c.seed = 0
  c.representation = q.representation.to_dict()
  c.gaussian = dict(ridge=1e-6)
  c.data = q.data.to_dict()
  c.data.update(n_train=1024, n_test={NUM_POSES})
  c.train = dict(num_steps=40, batch_size=64, learning_rate=0.1,
                 warmup_steps=1, grad_clip=0.0, ema_decay=0.5, log_every=20,
                 ckpt_every=40, keep_ckpts=1, max_param_norm_growth=0.0,
                 allow_changed_resume=False, mirror=0.0)
  c.eval = configs_lib.generic_eval(
      task="complete", num_poses={NUM_POSES}, plot_poses=0, plot_hypotheses=0,
      hidden_joints={HIDDEN_JOINTS!r}, num_samples={NUM_SAMPLES})
  return c
'''


def _project_copy(root: pathlib.Path) -> None:
  """jaxpose/ copied (the method goes into it); experiments/ linked entry
  by entry, so the new config lands in the copy and not in the repo."""
  shutil.copytree(ROOT / "jaxpose", root / "jaxpose",
                  ignore=shutil.ignore_patterns("__pycache__"))
  real_dirs = ("experiments", "experiments/configs")
  for top in real_dirs:
    (root / top).mkdir()
  for top in real_dirs:
    for entry in (ROOT / top).iterdir():
      if entry.name != "__pycache__" and not (root / top / entry.name).exists():
        (root / top / entry.name).symlink_to(entry)


def _main(root: pathlib.Path, *args: str) -> None:
  env = dict(os.environ, PYTHONPATH=str(root))
  proc = subprocess.run([sys.executable, "-m", "experiments.main", *args],
                        cwd=root, env=env, capture_output=True, text=True,
                        timeout=600)
  assert proc.returncode == 0, proc.stderr[-4000:]


def _library_files(top: pathlib.Path) -> set:
  return {p.relative_to(top) for p in top.rglob("*")
          if p.is_file() and "__pycache__" not in p.parts}


@pytest.mark.slow
def test_a_new_method_package_and_config_are_all_it_takes(tmp_path):
  root, workdir = tmp_path / "project", tmp_path / "run"
  root.mkdir()
  _project_copy(root)
  package = root / PACKAGE
  package.mkdir()
  for name, text in (("model.py", MODEL_PY), ("eval_tasks.py", EVAL_TASKS_PY),
                     ("__init__.py", INIT_PY)):
    (package / name).write_text(text)
  (root / CONFIG).write_text(CONFIG_PY)

  # What tests/test_config.py demands of every config, on this one.
  env = dict(os.environ, PYTHONPATH=str(root))
  (root / "tests").mkdir()
  for name in ("conftest.py", "test_config.py"):
    shutil.copyfile(ROOT / "tests" / name, root / "tests" / name)
  proc = subprocess.run(
      [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
       "tests/test_config.py", "-k", "toy_gaussian_quickstart"],
      cwd=root, env=env, capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0 and "3 passed" in proc.stdout, proc.stdout[-4000:]

  _main(root, f"--config={CONFIG}", f"--workdir={workdir}")
  _main(root, f"--workdir={workdir}", "--mode=eval",
        "--config.eval.task=sample")
  _main(root, f"--workdir={workdir}", "--mode=sample")

  complete = json.loads((workdir / "eval" / "complete.json").read_text())
  assert complete["method"] == "toy_gaussian" and complete["train_step"] == 40
  assert complete["num_poses"] == NUM_POSES and complete["warnings"] == []
  # The conditional mean is the least-squares completion under the fitted
  # Gaussian: on poses of the same distribution it beats the mean pose.
  assert complete["mpjpe_hidden_mm"] < 0.8 * complete["mpjpe_hidden_mean_pose_mm"]

  fitted = np.load(workdir / "prepared" / "gaussian.npz")
  mean, cov = fitted["mean"], fitted["cov"] + 1e-6 * np.eye(len(fitted["mean"]))
  sample = json.loads((workdir / "eval" / "sample.json").read_text())
  assert sample["num_poses"] == NUM_SAMPLES
  assert sample["max_abs_mean_z"] < 5.0  # 51 coordinates of N(0, 1)
  assert sample["cov_rel_error"] < 3 * sample["cov_rel_error_expected"]
  # The loss's minimiser is the data mean: training moved the learnt mean
  # from zero to near the fitted one.
  assert sample["learnt_mean_error_mm"] < 0.3 * sample["fitted_mean_norm_mm"]

  samples = np.load(workdir / "samples.npz")["pose3d_mm"]
  assert samples.shape == (NUM_POSES, 17, 3)
  scale = 300.0  # representation.scale_3d_mm of the quickstart
  x = samples.reshape(NUM_POSES, -1) / scale
  z = (x.mean(0) - mean) / np.sqrt(np.diag(cov) / NUM_POSES)
  assert np.abs(z).max() < 5.0

  if LAYOUT_CHECK.exists():
    proc = subprocess.run([sys.executable, str(LAYOUT_CHECK), str(root)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout
  # Nothing generic changed: the copy is the repo's jaxpose/ plus the package.
  copy, repo = root / "jaxpose", ROOT / "jaxpose"
  outside = {p for p in _library_files(copy)
             if not str(p).startswith(str(PACKAGE.relative_to("jaxpose")))}
  assert outside == _library_files(repo)
  changed = [str(p) for p in sorted(outside)
             if (copy / p).read_bytes() != (repo / p).read_bytes()]
  assert changed == []
  if not LAYOUT_CHECK.exists():
    pytest.skip(f"{LAYOUT_CHECK} absent: the layout rules were not checked")
