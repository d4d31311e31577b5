"""The method interface: registry by name, a method defined outside the
library trained and evaluated by the generic runner, and the import graph
(no cycle; generic modules import no method)."""
import ast
import dataclasses
import functools
import json
import pathlib

import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from flax import nnx

from jaxpose import methods
from jaxpose import run_lib
from jaxpose.data import datasets
from jaxpose.evaluation.runner import TaskResult
from jaxpose.methods import base

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_registry_finds_methods_by_name():
  assert {"gfpose", "baseline"} <= set(methods.names())
  assert methods.get("gfpose").name == "gfpose"
  assert issubclass(methods.get("baseline"), base.Method)
  with pytest.raises(ValueError, match="unknown method 'gfpos'; valid: .*gfpose"):
    methods.get("gfpos")


@dataclasses.dataclass(frozen=True)
class _MeanOptions:
  shift_mm: float


@methods.register("test_mean_pose")
class _MeanPose(base.Method):
  """A toy method: learns the mean 3D pose; "estimate" predicts it + shift."""

  train_fields = ("pose3d",)
  EvalOptions = _MeanOptions

  @functools.cached_property
  def _dataset(self):
    return datasets.Dataset(
        name="toy", splits={s: dict(pose3d=np.full((n, 2, 3), 10.0, np.float32),
                                    pose3d_mm=np.full((n, 2, 3), 10.0, np.float32))
                            for s, n in (("train", 32), ("test", 6))},
        activity_names={}, input_2d={})

  @property
  def dataset(self):
    return self._dataset

  @property
  def splits(self):
    return self._dataset.splits

  def init_params(self, key):
    return nnx.State({"mean": nnx.Param(jnp.zeros((2, 3)))})

  def loss_fn(self):
    def loss_fn(params, batch, key):
      del key
      loss = jnp.mean(jnp.square(batch["pose3d"] - params["mean"][...]))
      return loss, {}
    return loss_fn

  def eval_tasks(self):
    def estimate(ctx):
      pred = np.asarray(ctx.params["mean"][...]) + self.eval_options.shift_mm
      err = np.linalg.norm(pred[None] - ctx.test["pose3d_mm"], axis=-1).mean()
      return TaskResult(figures={"mpjpe_mm": float(err)}, table=[("MPJPE", err)],
                        num_poses=ctx.num_poses, num_hypotheses=1,
                        sampler="mean", num_steps=0)
    return {"estimate": estimate}


def test_a_method_defined_outside_the_library_runs_through_run_lib(tmp_path):
  c = ml_collections.ConfigDict(dict(
      method="test_mean_pose", seed=0, model=dict(name="mean"),
      train=dict(num_steps=300, batch_size=8, learning_rate=0.1, warmup_steps=1,
                 grad_clip=100.0, ema_decay=0.5, log_every=100, ckpt_every=300,
                 keep_ckpts=1),
      eval=dict(task="estimate", num_poses=4, use_ema=False, plot_poses=0,
                plot_hypotheses=1, output_suffix="", output_dir="",
                save_predictions=False, shift_mm=0.0)))
  res = run_lib.run("train_and_eval", c, str(tmp_path))
  assert res["mpjpe_mm"] < 0.5 and res["num_poses"] == 4
  assert res["method"] == "test_mean_pose" and res["train_step"] == 300
  assert json.loads((tmp_path / "metrics.json").read_text())["mpjpe_mm"] == res["mpjpe_mm"]
  with pytest.raises(ValueError, match="does not generate samples"):
    run_lib.run("sample", c, str(tmp_path))
  # Another method reaches the trained network knowing only the workdir.
  method, params, stored = run_lib.load_trained(str(tmp_path), use_ema=False)
  assert isinstance(method, _MeanPose) and stored.train.num_steps == 300
  np.testing.assert_allclose(np.asarray(params["mean"][...]), 10.0, atol=0.5)
  with pytest.raises(FileNotFoundError, match="not a trained jaxpose workdir"):
    run_lib.load_trained(str(tmp_path / "nothing"))
  c.eval.task = "complete3d"
  with pytest.raises(ValueError, match="has no task 'complete3d'; valid: estimate"):
    run_lib.build(c)


def _import_graph():
  """jaxpose module -> jaxpose modules it imports (function-local too)."""
  lib = ROOT / "jaxpose"
  mods = {}
  for path in lib.rglob("*.py"):
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    mods[name.removesuffix(".__init__")] = path
  graph = {}
  for name, path in mods.items():
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    edges = set()
    for node in ast.walk(ast.parse(path.read_text())):
      targets = []
      if isinstance(node, ast.Import):
        targets = [a.name for a in node.names]
      elif isinstance(node, ast.ImportFrom):
        module = node.module or ""
        if node.level:
          parts = package.split(".")[:len(package.split(".")) - node.level + 1]
          module = ".".join(parts + ([module] if module else []))
        targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in mods else module
                   for a in node.names]
      for target in targets:
        while target and target not in mods:
          target = target.rpartition(".")[0]
        if target and target != name:
          edges.add(target)
    graph[name] = edges
  return graph


def test_import_graph_has_no_cycle_and_generic_code_imports_no_method():
  graph = _import_graph()
  state = {}

  def visit(node, stack):
    state[node] = "open"
    for nxt in graph[node]:
      if state.get(nxt) == "open":
        cycle = stack[stack.index(nxt):] + [nxt]
        pytest.fail("import cycle: " + " -> ".join(cycle))
      if nxt not in state:
        visit(nxt, stack + [nxt])
    state[node] = "done"

  for node in graph:
    if node not in state:
      visit(node, [node])
  method_packages = {f"jaxpose.methods.{m}" for m in methods.names()}
  for node, edges in graph.items():
    if node.startswith("jaxpose.methods"):
      continue
    for target in edges:
      assert not any(target == p or target.startswith(p + ".")
                     for p in method_packages), f"{node} imports {target}"
