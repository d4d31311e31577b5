"""GFPose's evaluation tasks end to end, with an "oracle" score whose answer
is known.

The oracle is the exact score of an isotropic Gaussian N(mu, sigma0^2 I) in
model units, ignoring the condition: with a small sigma0 every sample is
mu (up to sigma0), so every error the suite reports is predictable from mu
and the ground truth alone.  Those tests sample with DDIM, which is stable
for so narrow a target at a few steps (Euler-Maruyama is not: its last
steps amplify x - mu by 1 - g^2 dt / s^2 < -1).

The oracle is a GFPose model whose `score_fn` is replaced, handed to
`run_lib.evaluate` as a `base.Trained` value: every task runs through the
same runner, results file and summary as a trained workdir's.
"""
import dataclasses
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import quickstart
from jaxpose import config as config_lib
from jaxpose import methods
from jaxpose import run_lib
from jaxpose import settings
from jaxpose.methods import base
from jaxpose.methods.gfpose import options
from jaxpose.pose.skeleton import H36M_17

TASKS = ("estimate", "estimate_single", "complete2d", "complete3d", "denoise",
         "generate")


def _tiny_config(**eval_overrides):
  c = quickstart.get_config()
  c.model.update(hidden=32, embed_dim=16, num_groups=8)
  c.data.update(n_train=200, n_test=24)
  values = _eval_values(**eval_overrides)
  for task, group in GROUPS.items():
    c.eval[task].update(values.pop(task))
  c.eval.update(values)
  return c


@dataclasses.dataclass
class Setup:
  """An in-memory GFPose: its config, trained parts and data."""
  config: object
  trained: base.Trained
  data: base.Data


def _method(oracle_sigma0=None, *, init_params=False, **eval_overrides):
  """(the setup, mu in mm or None); the oracle's score when sigma0 is given,
  else the untrained network (initial parameters when `init_params`)."""
  config = _tiny_config(**eval_overrides)
  method, run = methods.parse(config)
  model = method.build(run, {}, {})
  data = method.load_data(run, {})
  mu_mm = None
  if oracle_sigma0 is not None:
    mu = jnp.asarray(data.splits["train"]["pose3d"].mean(0))  # [J, 3]
    sde = model.sde

    def score_fn(params, x, t, cond):
      del params, cond
      a, s = sde.mean_coeff(t), sde.marginal_std(t)
      return -(x - a * mu) / (a**2 * oracle_sigma0**2 + s**2)

    model = dataclasses.replace(model, score_fn=score_fn)
    mu_mm = np.asarray(model.representation.pose3d_from_model(mu))
  params = model.init(jax.random.key(0)) if init_params else None
  trained = base.Trained(method=method, run=run, model=model, params=params,
                         prepared={}, needs={}, workdir="(in memory)", step=0)
  return Setup(config=config, trained=trained, data=data), mu_mm


def _run(setup, task, tmp_path, seed=0):
  """Runs `task` through run_lib.evaluate, writing under tmp_path."""
  config = setup.config.copy_and_resolve_references()
  config.seed = seed  # the evaluation's key: purpose_key(seed, "eval")
  config.eval.update(task=task, output_dir=str(tmp_path))
  return run_lib.evaluate(config, str(tmp_path), trained=setup.trained)


# Each task's own options, as the tests set them (`eval.<task>`).
GROUPS = dict(
    estimate_single=dict(sampler="ddim", num_steps=0),
    complete2d=dict(missing_joints=(2,), missing_parts=("l_arm",)),
    complete3d=dict(missing_joints=(2,), missing_parts=("l_arm",)),
    denoise=dict(sampler="ddim", noise_levels_mm=(10.0,),
                 noise_types=("gaussian",), full_grid_steps=0),
    generate=dict(num=10, batch=8))


def _eval_values(**kw):
  """The shared eval keys, and each task's group; `kw` may name a group
  (a dict: the options it changes) or a shared key."""
  c = dict(
      task="estimate", sampler="ddim", num_steps=12, eps=1e-3,
      num_hypotheses=4, num_poses=10, batch_poses=4, use_ema=True,
      plot_poses=1, plot_hypotheses=2, hypotheses_list=(1, 2, 50),
      **{task: dict(group) for task, group in GROUPS.items()})
  for key, value in kw.items():
    if key in GROUPS:
      c[key].update(value)
    else:
      c[key] = value
  return c


def _all_finite(obj):
  if isinstance(obj, dict):
    # Figures a single hypothesis cannot have are null by design (its
    # calibration says so in a "note"); any other null is a NaN.
    return all(_all_finite(v) for v in obj.values()
               if not (v is None and "note" in obj))
  if isinstance(obj, list):
    return all(_all_finite(v) for v in obj)
  if obj is None:
    return False
  if isinstance(obj, float):
    return math.isfinite(obj)
  return True


@pytest.mark.slow
def test_every_task_writes_json_and_oracle_figures(tmp_path, capsys):
  setup, mu_mm = _method(oracle_sigma0=1e-3)  # 1 mm
  gt = setup.data.splits["test"]["pose3d_mm"][:10]
  mu_err = np.linalg.norm(mu_mm[None] - gt, axis=-1)  # [N, J]
  assert set(setup.trained.method.tasks.names()) == set(TASKS)
  for task in TASKS:
    res = _run(setup, task, tmp_path)
    on_disk = json.loads((tmp_path / f"{task}.json").read_text())
    assert on_disk == res
    for field in ("task", "num_poses", "num_hypotheses", "sampler",
                  "num_steps", "input_2d", "eps", "data", "method"):
      assert field in res, (task, field)
    assert res["task"] == task and res["input_2d"] == "exact"
    assert res["method"] == "gfpose" and res["data"] == "synthetic"
    assert _all_finite(res), task
    for png in res["plots"]:
      assert (tmp_path / png).stat().st_size > 1000
    assert task in capsys.readouterr().out
    # The summary beside the results: this task's entry and picture.
    summary = json.loads((tmp_path / "metrics.json").read_text())[task]
    assert summary["results_file"] == f"{task}.json"
    assert summary["sampler"] == res["sampler"]
    assert (tmp_path / f"{task}.png").stat().st_size > 1000

    if task == "estimate":
      assert res["num_poses"] == 10 and res["num_hypotheses"] == 4
      # Every hypothesis is mu (to ~1 mm): errors are mu's own errors.
      assert res["mpjpe_mm"] == pytest.approx(mu_err.mean(), abs=1.0)
      assert summary["mpjpe_mm"] == res["mpjpe_mm"]
      assert sorted(res["best_of_h"], key=int) == ["1", "2", "4"]
      curve = [res["best_of_h"][k]["mpjpe_mm"] for k in ("1", "2", "4")]
      assert curve[0] >= curve[1] >= curve[2]
      assert len(res["per_joint_mpjpe_mm"]) == 17
      np.testing.assert_allclose(res["per_joint_mpjpe_mm"], mu_err.mean(0), atol=1.0)
      assert res["apd_mm"] < 2.0 and res["activity_names"][0] == "standing"
      assert (tmp_path / "estimate_error_vs_h.png").exists()
    if task == "estimate_single":
      assert res["num_hypotheses"] == 1 and res["sampler"] == "ddim"
      assert res["mpjpe_mm"] == pytest.approx(mu_err.mean(), abs=1.0)
    if task == "complete3d":
      assert res["test_inputs"]["masks"] == (
          "2 limb-end joint(s) drawn per row / part l_arm (one setting at a "
          "time); the visible joints' true 3D, in place of the 2D")
      # Visible joints are imputed exactly, missing ones come out as mu.
      part = res["settings"][1]
      assert part["name"] == "part l_arm"
      arm = list(H36M_17.parts["l_arm"])
      assert part["missing_mpjpe_mm"] == pytest.approx(mu_err[:, arm].mean(), abs=1.0)
      assert part["all_mpjpe_mm"] == pytest.approx(mu_err[:, arm].sum(1).mean() / 17, abs=0.5)
      assert res["settings"][0]["missing_joints_per_pose"] == 2.0
    if task == "denoise":
      (s,) = res["settings"]
      # 16 noisy joints of 17, E|N(0, s^2 I_3)| = s sqrt(8 / pi).
      expected = 10.0 * math.sqrt(8 / math.pi) * 16 / 17
      assert s["mpjpe_before_mm"] == pytest.approx(expected, rel=0.1)
    if task == "generate":
      assert res["num_generated"] == 10 and res["num_real_reference"] == 12
      assert res["generated"]["apd_mm"] < 2.0  # all samples ~ mu
      # Generated poses all sit at mu: nearest real pose is mu's nearest.
      real = setup.data.splits["test"]["pose3d_mm"]
      nn_mu = np.linalg.norm(real - mu_mm, axis=-1).mean(-1)  # [N]
      assert res["generated"]["nn_mpjpe_mm"] >= nn_mu.min() - 1.0
      assert res["real_vs_real"]["apd_mm"] > 20.0
      # The training-poses row scores real poses: spread like real ones.
      assert res["train_vs_real"]["apd_mm"] > 20.0
  # Every task kept its own entry in the one summary file.
  assert set(json.loads((tmp_path / "metrics.json").read_text())) == set(TASKS)


def test_untrained_network_runs_completion_and_denoising(tmp_path):
  setup, _ = _method(init_params=True, num_poses=6, num_hypotheses=2,
                     num_steps=5, sampler="euler_maruyama",
                     estimate_single=dict(sampler="deterministic"),
                     denoise=dict(sampler="deterministic"),
                     complete2d=dict(missing_joints=(1,), missing_parts=()),
                     output_suffix="noisy2d")
  for task in ("complete2d", "estimate_single", "denoise"):
    res = _run(setup, task, tmp_path, seed=1)
    assert _all_finite(res)
    assert (tmp_path / f"{task}_noisy2d.json").exists()
    assert not (tmp_path / f"{task}.json").exists()
    # What the model received of each test row (`evaluation.inputs`).
    on_disk = json.loads((tmp_path / f"{task}_noisy2d.json").read_text())
    assert on_disk["test_inputs"] == res["test_inputs"]
    # denoise reads a noisy 3D pose, no 2D.
    assert res["test_inputs"]["2d"] == ("none" if task == "denoise" else "exact")
    assert res["test_inputs"]["uncertainty"] == "none"
    assert res["test_inputs"]["calibration_rows"] == ""
    assert "baseline_test_inputs" not in res
    assert res["test_inputs"]["masks"] == (
        "1 limb-end joint(s) drawn per row (one setting at a time); the "
        "visible joints' 2D" if task == "complete2d" else "none")
  summary = json.loads((tmp_path / "metrics.json").read_text())
  assert set(summary) == {"complete2d_noisy2d", "estimate_single_noisy2d",
                          "denoise_noisy2d"}


def test_denoise_without_noise_at_tiny_time_keeps_the_pose(tmp_path):
  # A wide prior barely moves a pose in t < 2e-3.
  setup, _ = _method(oracle_sigma0=0.2, eps=1e-3, denoise=dict(
      noise_levels_mm=(0.0,), noise_types=("uniform",), t_start=2e-3))
  (s,) = _run(setup, "denoise", tmp_path, seed=2)["settings"]
  assert s["mpjpe_before_mm"] == 0.0
  assert s["mpjpe_after_mm"] < 1.0


def test_bad_evaluation_settings_fail_when_the_config_is_parsed():
  with pytest.raises(settings.ConfigError,
                     match="eval.task: expected one of estimate, .*got 'fly'"):
    methods.parse(_tiny_config(task="fly"))
  with pytest.raises(settings.ConfigError,
                     match="eval.sampler: .*unknown sampling method 'foo'"):
    methods.parse(_tiny_config(sampler="foo"))
  for bad, message in ((dict(num_hypotheses=0), "eval.num_hypotheses: expected values >= 1"),
                       (dict(num_steps=-5), "eval.num_steps: expected values >= 1"),
                       (dict(num_poses=0), "eval.num_poses"),
                       (dict(complete3d=dict(missing_parts=("tail",))),
                        "eval.complete3d: missing_parts: .*'tail'"),
                       (dict(denoise=dict(t_start=1e-4)),
                        r"eval.eps, eval.denoise.t_start: expected eps < t_start"),
                       (dict(denoise=dict(noise_types=("salt",))),
                        "eval.denoise: noise_types: .*'salt'"),
                       (dict(sampler="ddim:eta=abc"), "eval.sampler: .*option eta"),
                       (dict(estimate_single=dict(sampler="ddim:bogus=1")),
                        "eval.estimate_single: sampler: .*bogus")):
    with pytest.raises(settings.ConfigError, match=message):
      methods.parse(_tiny_config(**bad))
  config = _tiny_config()
  del config.eval["batch_poses"]
  with pytest.raises(settings.ConfigError, match="eval.batch_poses: missing"):
    methods.parse(config)


def test_generation_task_samples_with_no_condition():
  setup, _ = _method(init_params=True, num_steps=3)
  trained = setup.trained
  poses = trained.method.capabilities.sample(trained, jax.random.key(1), 5)
  assert poses.shape == (5, 17, 3) and np.isfinite(poses).all()
  # The same key, the same poses.
  np.testing.assert_array_equal(
      poses, trained.method.capabilities.sample(trained, jax.random.key(1), 5))


def test_saved_predictions_load_with_numpy_alone(tmp_path):
  setup, mu_mm = _method(oracle_sigma0=1e-3, save_predictions=True)
  res = _run(setup, "estimate", tmp_path)
  assert res["predictions_file"] == "estimate_predictions.npz"
  with np.load(tmp_path / "estimate_predictions.npz") as f:  # no pickles
    assert f["hypotheses_mm"].shape == (4, 10, 17, 3)
    np.testing.assert_allclose(f["hypotheses_mm"][0], np.broadcast_to(mu_mm, (10, 17, 3)),
                               atol=2.0)
    np.testing.assert_array_equal(f["pose3d_mm"],
                                  setup.data.splits["test"]["pose3d_mm"][:10])
    np.testing.assert_array_equal(f["id_row"], np.arange(10))
    assert f["activity_names"][f["activity"][0]] in res["per_activity"]["mpjpe_mm"]
  # Per-activity figures are keyed by name, all four averaged over activities.
  names = set(res["activity_names"])
  assert set(res["per_activity"]["mpjpe_mm"]) <= names
  for key in ("mpjpe_mm", "pa_mpjpe_mm", "min_mpjpe_mm", "min_pa_mpjpe_mm"):
    by_act = res["per_activity"][key]
    assert res[f"{key}_activity_mean"] == pytest.approx(np.mean(list(by_act.values())))
  setup, _ = _method(init_params=True, save_predictions=True)
  with pytest.raises(ValueError, match="save_predictions: task 'generate'"):
    _run(setup, "generate", tmp_path)


def test_options_are_typed_per_task_and_older_flat_keys_still_read():
  _, run = methods.parse(_tiny_config())
  assert isinstance(run.task_options["denoise"], options.DenoiseOptions)
  assert run.task_options["estimate"] is run.eval_options  # no group
  # A key of another task's group is refused, naming its owners.
  with pytest.raises(settings.ConfigError,
                     match=r"eval.denoise.missing_joints: not an option of "
                           r"task 'denoise'; it is an option of task "
                           r"complete2d and complete3d"):
    methods.parse(_tiny_config(denoise=dict(missing_joints=(1,))))
  with pytest.raises(settings.ConfigError,
                     match=r"eval.t_start: an option of task denoise, in its "
                           r"own group.*write eval.denoise.t_start"):
    methods.parse(_tiny_config(t_start=0.1))
  with pytest.raises(settings.ConfigError,
                     match=r"eval.num_generate=3 and eval.generate.num=10: "
                           r"the same option of task 'generate' given twice"):
    methods.parse(_tiny_config(num_generate=3))
  # A config.json of before the groups: its flat keys read in their tasks'
  # groups; one that fed two tasks feeds both.
  flat = config_lib.to_plain(_tiny_config())
  for task in GROUPS:
    del flat["eval"][task]
  flat["eval"].update(
      single_sampler="ddim:eta=0.5", single_num_steps=7, complete_sampler="",
      missing_joints=[3], missing_parts=["r_leg"], noise_types=["uniform"],
      noise_levels_mm=[5.0], denoise_t_start=0.2, denoise_num_steps=4,
      num_generate=6, batch_generate=3)
  _, old = methods.parse(flat)
  assert old.task_options["estimate_single"] == options.EstimateSingleOptions(
      sampler="ddim:eta=0.5", num_steps=7)
  assert old.task_options["denoise"] == options.DenoiseOptions(
      sampler="ddim:eta=0.5", noise_types=("uniform",), noise_levels_mm=(5.0,),
      t_start=0.2, num_steps=4, full_grid_steps=7)
  for task in ("complete2d", "complete3d"):
    assert old.task_options[task] == options.CompleteOptions(
        sampler="", missing_joints=(3,), missing_parts=("r_leg",))
  assert old.task_options["generate"] == options.GenerateOptions(num=6, batch=3)
  # A recorded command prints each flat key under the task's own name.
  renamed = methods.get("gfpose").tasks.renamed_keys("denoise")
  assert renamed["eval.single_sampler"] == "eval.denoise.sampler"
  assert methods.get("gfpose").tasks.renamed_keys("estimate_single")[
      "eval.single_sampler"] == "eval.estimate_single.sampler"
