"""DPoser: body statistics, priors, the optimisation loop and the tasks.

Closed forms: the Adam loop finds a quadratic's minimum; the regulariser
with the exact score of Gaussian data pulls masked dimensions to the data
mean while the visible ones stay exact; a one-component mixture prior is a
quadratic.  End to end: a tiny prior trained through run_lib on synthetic
clips, each task writing its JSON with a row per prior, and the errors.
"""
import json
import types

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from experiments.configs import dposer_quickstart
from jaxpose import methods
from jaxpose import run_lib
from jaxpose import settings
from jaxpose.core import gmm as gmm_lib
from jaxpose.core import regulariser
from jaxpose.core import sde as sde_lib
from jaxpose.methods.dposer import body as body_lib
from jaxpose.methods.dposer import eval_tasks as tasks
from jaxpose.methods.dposer import fitting
from jaxpose.methods.dposer import model as model_lib
from jaxpose.methods.dposer import priors as priors_lib
from jaxpose.methods.dposer import schedule as schedule_lib
from jaxpose.methods.dposer import tto
from jaxpose.pose import body_model as bm
from jaxpose.pose import body_space
from jaxpose.pose.skeleton import SMPL_22
from jaxpose.workdir import checkpoint as checkpoint_lib
from jaxpose.workdir import prepared as prepared_lib


def test_zscore_round_trip_and_floor():
  rng = np.random.default_rng(0)
  x = rng.normal(0.3, 2.0, (500, 63)).astype(np.float32)
  x[:, 5] = 0.0  # a joint the source lacks
  zs = body_lib.ZScore.fit(x)
  assert zs.std[5] == body_lib.MIN_STD
  np.testing.assert_allclose(zs.unstandardize(zs.standardize(x)), x, atol=1e-5)
  np.testing.assert_allclose(zs.standardize(x)[:, 0].std(), 1.0, atol=1e-3)
  assert not np.array_equal(body_lib.ZScore.fit(x[:400]).mean, zs.mean)
  with pytest.raises(ValueError, match=r"shape \[\.\.\., 63\].*got shape \(500, 62\)"):
    body_lib.ZScore.fit(x[:, :62])


def test_parts_move_their_descendants_only():
  assert body_lib.descendants(body_lib.PARTS["l_leg"]) == (4, 7, 10)
  assert body_lib.descendants((16,)) == (18, 20)  # left shoulder: elbow, wrist
  mask = body_lib.part_dims((4,))
  assert mask.sum() == 3 and mask[9:12].all()  # joint 4 is dims 9..11
  with pytest.raises(ValueError, match="pelvis"):
    body_lib.part_dims((0, 1))


def test_adam_loop_reaches_each_examples_minimum_and_compiles_once():
  traces = []

  def objective(v, key, step):
    traces.append(1)
    del key, step
    return jnp.sum(jnp.square(v["x"] - v["target"] * 0 - 3.0))

  run = tto.adam_loop(objective, 300, 0.1)
  solve = tto.batched(lambda x0, key: run({"x": x0, "target": x0}, key)[0]["x"])
  x0 = jnp.asarray(np.random.default_rng(1).normal(size=(8, 4)), jnp.float32)
  out = solve(x0, tto.example_keys(jax.random.key(0), 8))
  np.testing.assert_allclose(out, 3.0, atol=1e-2)
  solve(x0 + 1, tto.example_keys(jax.random.key(1), 8))
  assert len(traces) == 1  # one trace of the objective for both calls
  with pytest.raises(ValueError, match="learning_rate"):
    tto.adam_loop(objective, 10, 0.0)


def _gaussian_score(mean, var, sde):
  """The exact score of x_t when x_0 ~ N(mean, var I) (z-scored units)."""
  def score_fn(params, x, t, cond=None):
    del params, cond
    a = sde.mean_coeff(t)
    s2 = jnp.square(sde.marginal_std(t))
    return -(x - a * mean) / (a * a * var + s2)
  return score_fn


def test_completion_with_the_exact_gaussian_score_fills_the_data_mean():
  sde = sde_lib.get_sde("subvp", beta_min=0.1, beta_max=20.0)
  zs = body_lib.ZScore(mean=np.full(63, 0.2, np.float32),
                       std=np.full(63, 0.5, np.float32))
  # Data: z ~ N(0.8, 0.1^2): the prior should pull masked z to about 0.8.
  prior = priors_lib.DiffusionPrior(
      score_fn=_gaussian_score(0.8, 0.01, sde), params=None, sde=sde, zscore=zs,
      schedule=regulariser.TimeSchedule.truncated(0.3, 0.05))
  solver = tasks.make_completion_solver(prior, zs, num_steps=300, learning_rate=0.05)
  masked = body_lib.part_dims(body_lib.PARTS["r_arm"])
  observed = np.random.default_rng(2).normal(size=(4, 63)).astype(np.float32)
  z0 = np.random.default_rng(3).normal(size=(4, 63)).astype(np.float32)
  out = np.asarray(solver(z0, observed, np.broadcast_to(masked, (4, 63)),
                          tto.example_keys(jax.random.key(0), 4)))
  np.testing.assert_array_equal(out[:, ~masked], observed[:, ~masked])
  z = (out[:, masked] - 0.2) / 0.5
  assert abs(z.mean() - 0.8) < 0.05 and z.std() < 0.1


def test_a_one_component_mixture_prior_is_the_gaussian_quadratic():
  zs = body_lib.ZScore(mean=np.zeros(63, np.float32), std=np.ones(63, np.float32))
  g = gmm_lib.GMM(weights=jnp.ones(1), means=jnp.full((1, 63), 0.5),
                  covs=jnp.eye(63)[None] * 4.0)
  prior = priors_lib.GMMPrior(gmm=g, zscore=zs)
  x = jnp.asarray(np.random.default_rng(4).normal(size=(3, 63)), jnp.float32)
  grad = jax.grad(lambda x: prior(x, None, 0, 1))(x)
  # d/dx of the mean NLL per dimension: (x - 0.5) / 4 / (63 * 3 rows).
  np.testing.assert_allclose(grad, (x - 0.5) / 4.0 / 63 / 3, rtol=1e-4, atol=1e-7)
  # The precomputed factors give the library's mixture density.
  rng = np.random.default_rng(8)
  a = rng.normal(size=(3, 63, 63)) / 8
  g3 = gmm_lib.GMM(weights=jnp.asarray([0.2, 0.5, 0.3]),
                   means=jnp.asarray(rng.normal(size=(3, 63)), jnp.float32),
                   covs=jnp.asarray(a @ a.transpose(0, 2, 1) + np.eye(63), jnp.float32))
  np.testing.assert_allclose(priors_lib.GMMPrior(gmm=g3, zscore=zs).logpdf(x),
                             gmm_lib.gmm_logpdf(g3, x), rtol=1e-4)


def test_a_joint_prior_regularises_body_poses_through_kinematics():
  from jaxpose.methods import protocols
  from jaxpose.pose.skeleton import H36M_17
  sde = sde_lib.get_sde("subvp", beta_min=0.1, beta_max=20.0)
  body = body_lib.BodyJoints(
      bone_lengths=np.full(22, 100.0, np.float32),
      regressor=np.eye(22, dtype=np.float32)[:17])
  joint_prior = protocols.JointPrior(
      skeleton=H36M_17, to_model=lambda mm: mm / 300.0,
      score_fn=_gaussian_score(0.0, 1.0, sde), params=None, sde=sde,
      sample=lambda key, num: np.zeros((num, 17, 3), np.float32))
  prior = priors_lib.JointsPrior(joint_prior=joint_prior, body=body,
                                 schedule=regulariser.TimeSchedule.fixed(0.1))
  x = jnp.asarray(np.random.default_rng(5).normal(0, 0.3, (2, 63)), jnp.float32)
  grad = jax.grad(lambda x: prior(x, jax.random.key(0), 0, 1))(x)
  assert np.all(np.isfinite(grad)) and np.abs(grad).max() > 0


def test_motion_solver_without_noise_or_prior_recovers_the_motion():
  rng = np.random.default_rng(6)
  lengths = np.full(22, 120.0, np.float32)
  body = body_lib.BodyJoints(bone_lengths=lengths,
                             regressor=np.eye(22, dtype=np.float32)[:17])
  pose = (0.2 * rng.normal(size=(1, 10, 63)) + np.linspace(0, 0.3, 10)[None, :, None]
          ).astype(np.float32)
  root = np.tile(np.array([0.1, 0.4, -0.2], np.float32), (1, 10, 1))
  gt = np.asarray(body.joints(pose, root, None), np.float32)  # [1, 10, 22, 3]
  solver = fitting.make_motion_solver(
      priors_lib.NoPrior(), body, num_steps=400, learning_rate=0.05,
      prior_weight=0.0, smooth_weight=0.0, init_pose=np.zeros(63, np.float32))
  # The torso of a rest-posed body gives its root orientation exactly.
  rest_turned = body.joints(np.zeros((1, 10, 63), np.float32), root, None)
  np.testing.assert_allclose(fitting.root_from_joints(body, rest_turned), root,
                             atol=1e-4)
  root0 = fitting.root_from_joints(body, gt)
  out = np.asarray(solver(gt, root0, lengths[None], tto.example_keys(jax.random.key(0), 1)))
  assert np.linalg.norm(out - gt, axis=-1).mean() < 5.0  # mm


def test_released_motion_terms_are_unsquared_distances_in_metres():
  """The released script's data and temporal terms are mean joint distances
  in metres; jaxpose's are mean squared distances in units of 10 cm."""
  noisy = np.zeros((4, 22, 3), np.float32)
  noisy[..., 0] = 5.0 * np.arange(4)[:, None]  # 5 mm per frame along x
  joints = noisy + np.array([3.0, 4.0, 0.0], np.float32)  # 5 mm off everywhere
  data, smooth = fitting.motion_terms(joints, noisy, "released")
  assert float(data) == pytest.approx(0.005, rel=1e-4)
  assert float(smooth) == pytest.approx(0.005, rel=1e-4)
  for schedule in ("fixed", "annealed"):
    data, smooth = fitting.motion_terms(joints, noisy, schedule)
    assert (float(data), float(smooth)) == pytest.approx((25e-4, 25e-4))
  # A joint at rest (no displacement) keeps the gradient finite.
  still = jnp.zeros((3, 22, 3))
  grad = jax.grad(lambda j: sum(fitting.motion_terms(j, still + 1.0, "released")))(still)
  assert np.all(np.isfinite(grad))
  with pytest.raises(settings.ConfigError, match="weight_schedule"):
    fitting.motion_terms(joints, noisy, "l1")


def test_released_prior_term_sums_over_dimensions_with_weight_one_half():
  """The released script's DPoser term is 1/2 ||x - x0_hat||^2 summed over
  the pose's 63 dimensions: 63 x the mean form under the same draw, and
  1/2 where jaxpose's weight is 1/2 sqrt(1 + a/s)."""
  sde = sde_lib.get_sde("subvp", beta_min=0.1, beta_max=20.0)
  zs = body_lib.ZScore(mean=np.zeros(63, np.float32), std=np.ones(63, np.float32))
  x = jnp.asarray(np.random.default_rng(7).normal(size=(3, 63)), jnp.float32)
  schedule = regulariser.TimeSchedule.fixed(0.1)

  def value(form):
    prior = priors_lib.DiffusionPrior(
        score_fn=_gaussian_score(0.0, 1.0, sde), params=None, sde=sde, zscore=zs,
        schedule=schedule, **form)
    return float(prior(x, jax.random.key(1), 0, 1))

  assert schedule_lib.denoise_prior_form("released") == dict(weight="constant",
                                                             reduce="sum")
  assert schedule_lib.denoise_prior_form("fixed") == schedule_lib.PRIOR_FORM
  released = value(schedule_lib.denoise_prior_form("released"))
  mean_constant = value(dict(weight="constant", reduce="mean"))
  assert released == pytest.approx(63 * mean_constant, rel=1e-5)
  snr = float(regulariser.snr_weight(jnp.float32(0.1), sde))
  assert value(schedule_lib.PRIOR_FORM) == pytest.approx(
      mean_constant * snr / 0.5, rel=1e-5)


def test_released_motion_objective_keeps_a_held_pose():
  """Without noise or prior the released objective's minimum is the motion
  itself where the motion holds still (its temporal term is then 0)."""
  rng = np.random.default_rng(9)
  lengths = np.full(22, 120.0, np.float32)
  body = body_lib.BodyJoints(bone_lengths=lengths,
                             regressor=np.eye(22, dtype=np.float32)[:17])
  pose = np.tile(0.2 * rng.normal(size=(1, 1, 63)), (1, 8, 1)).astype(np.float32)
  root = np.tile(np.array([0.1, 0.4, -0.2], np.float32), (1, 8, 1))
  gt = np.asarray(body.joints(pose, root, None), np.float32)
  solver = fitting.make_motion_solver(
      priors_lib.NoPrior(), body, num_steps=300, learning_rate=0.03,
      prior_weight=0.0, smooth_weight=123.0, init_pose=np.zeros(63, np.float32),
      weight_schedule="released", num_stages=3)
  out = np.asarray(solver(gt, fitting.root_from_joints(body, gt), lengths[None],
                          tto.example_keys(jax.random.key(0), 1)))
  assert np.linalg.norm(out - gt, axis=-1).mean() < 5.0  # mm


def test_released_weights_need_the_authors_noise_levels():
  c = dposer_quickstart.get_config()
  c.eval.denoise_motion.weight_schedules = ("fixed", "released")
  c.eval.denoise_motion.noise_mm = (20.0, 30.0)
  with pytest.raises(settings.ConfigError, match="denoise_motion.noise_mm.*30.0"):
    methods.parse(c)


def _tiny_config():
  c = dposer_quickstart.get_config()
  c.model.update(hidden=32, embed_dim=16, num_groups=8)
  c.data.update(n_train=1200, n_test=360)
  c.train.update(num_steps=20, batch_size=64, log_every=10, ckpt_every=20,
                 warmup_steps=2)
  c.eval.update(num_poses=6, plot_poses=1, plot_hypotheses=2, gmm_components=2,
                gmm_rows=600, batch_size=64, priors=("none", "gmm", "dposer"))
  c.eval.complete.update(parts=("l_leg", "trunk"), hypotheses=3, steps=5)
  c.eval.denoise_motion.update(max_windows=2, noise_mm=(40.0,), steps=5,
                               schedule_ablation=("truncated", "uniform"))
  c.eval.fit2d.steps = 6
  c.eval.generate.update(num=20, steps=3)
  return c


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("dposer"))
  config = _tiny_config()
  run_lib.train(config, workdir)
  return config, workdir


@pytest.mark.slow
@pytest.mark.parametrize("task", ["complete", "denoise_motion", "fit2d", "generate"])
def test_every_task_writes_a_row_per_prior(trained, task):
  config, workdir = trained
  config = ml_collections.ConfigDict(config.to_dict())
  config.eval.task = task
  if task == "fit2d":  # each prior is one more compile
    config.eval.priors = ("none", "dposer")
  if task == "denoise_motion":  # so is each weight schedule
    config.eval.priors = ("dposer",)
    config.eval.denoise_motion.weight_schedules = schedule_lib.DENOISE_WEIGHT_SCHEDULES
  res = run_lib.evaluate(config, workdir)
  out = json.loads(open(f"{workdir}/eval/{task}.json").read())
  assert res["method"] == "dposer"
  if task == "generate":
    assert {"none", "gmm", "dposer", "train_vs_real"} <= set(out)
    assert out["dposer"]["apd_mm"] > 0
    return
  kinds = {s["prior"] for s in out["settings"]}
  assert kinds == set(config.eval.priors)
  assert any("gfpose" in n for n in out["notes"]) is False  # not asked for
  if task == "complete":
    row = next(s for s in out["settings"] if s["prior"] == "dposer")
    assert row["missing_min_mpjpe_mm"] <= row["missing_mean_hypothesis_mpjpe_mm"]
    assert "coverage" in json.dumps(row["calibration"])
  if task == "denoise_motion":
    assert [a["schedule"] for a in out["schedule_ablation"]] == ["truncated", "uniform"]
    # Each weight schedule asked for, a row each per prior.
    assert sorted((s["prior"], s["weights"]) for s in out["settings"]) == sorted(
        (p, w) for p in config.eval.priors for w in ("fixed", "annealed", "released"))
    assert all(s["mpjpe_before_mm"] > 40 for s in out["settings"])
  if task == "fit2d":
    assert {s["input_2d"] for s in out["settings"]} == {"exact"}
    assert "noisy 2D: not in this test split, left out" in out["notes"]


def test_statistics_are_prepared_and_part_of_the_fingerprint(trained):
  config, workdir = trained
  artefacts, index = prepared_lib.load(workdir)
  body = artefacts[model_lib.ARTEFACT]
  assert set(body.arrays) == {"zscore_mean", "zscore_std", "bone_lengths",
                              "regressor"}
  fp = json.loads(open(f"{workdir}/checkpoints/fingerprint.json").read())
  assert fp["prepared"] == {model_lib.ARTEFACT: body.digest()}
  # They are the training split's statistics.
  method, run = methods.parse(config)
  train = method.load_data(run, {}).splits["train"]
  assert body.info["train_rows"] == len(train["body_pose"])
  zscore = body_lib.ZScore.fit(train["body_pose"])
  np.testing.assert_array_equal(body["zscore_mean"], zscore.mean)
  np.testing.assert_array_equal(body["zscore_std"], zscore.std)
  assert index["made_from"]["data.data_seed"] == config.data.data_seed
  # Other data, other statistics: training on is refused, naming the key.
  other = ml_collections.ConfigDict(config.to_dict())
  other.data.data_seed = 99
  with pytest.raises(prepared_lib.PreparedError,
                     match="data.data_seed: 1234 there, 99 here"):
    run_lib.train(other, workdir)
  # An evaluation on other data normalises with the stored statistics, never
  # with a refit on the data at hand.
  loaded = run_lib.load_trained(workdir, config=other)
  np.testing.assert_array_equal(loaded.model.zscore.mean, zscore.mean)
  np.testing.assert_array_equal(loaded.model.zscore.std, zscore.std)
  other_train = method.load_data(methods.parse(other)[1], {}).splits["train"]
  assert not np.array_equal(body_lib.ZScore.fit(other_train["body_pose"]).mean,
                            zscore.mean)
  # Statistics other than the model's (recorded as properly prepared) are
  # refused by the checkpoint's fingerprint.
  shifted = prepared_lib.Artefact(
      arrays=dict(body.arrays, zscore_mean=body["zscore_mean"] + 0.1),
      info=body.info)
  try:
    prepared_lib.save(workdir, {model_lib.ARTEFACT: shifted},
                      index["made_from"])
    with pytest.raises(checkpoint_lib.CheckpointMismatchError,
                       match="prepared.body"):
      run_lib.load_trained(workdir)
  finally:
    prepared_lib.save(workdir, {model_lib.ARTEFACT: body}, index["made_from"])
  assert prepared_lib.load(workdir)[0][model_lib.ARTEFACT].digest() == body.digest()


def test_bad_input_is_named(trained, tmp_path):
  config, workdir = trained
  c = ml_collections.ConfigDict(config.to_dict())
  c.data.body = False
  with pytest.raises(settings.ConfigError, match="data.body"):
    methods.parse(c)
  # A dataset with no rotations to give: what DPoser lacks, and where it is.
  c.data = ml_collections.ConfigDict(dict(name="mpi_inf_3dhp", dir=str(tmp_path)))
  with pytest.raises(settings.ConfigError,
                     match="'mpi_inf_3dhp'.*body-space rotations.*npz and h36m"):
    methods.parse(c)
  # Joint positions alone: rotations fitted to them when asked for.
  c.data = ml_collections.ConfigDict(dict(name="npz", test_path="poses.npz"))
  with pytest.raises(settings.ConfigError, match="set data.body=True"):
    methods.parse(c)
  c = ml_collections.ConfigDict(config.to_dict())
  c.eval.body_model_path = str(tmp_path / "missing.npz")
  with pytest.raises(FileNotFoundError, match="no body model file"):
    run_lib.load_trained(workdir, config=c)
  np.savez(tmp_path / "bad.npz", v_template=np.zeros((5, 3)))
  c.eval.body_model_path = str(tmp_path / "bad.npz")
  with pytest.raises(bm.BodyModelError, match="shapedirs"):
    run_lib.load_trained(workdir, config=c)
  c = ml_collections.ConfigDict(config.to_dict())
  c.eval.task = "denoise_motion"
  c.eval.denoise_motion.window = 500
  with pytest.raises(ValueError, match="shorter than the window"):
    run_lib.evaluate(c, workdir)
  c = ml_collections.ConfigDict(config.to_dict())
  c.eval.priors = ("none", "vposer")
  with pytest.raises(settings.ConfigError, match="eval.priors.*vposer"):
    methods.parse(c)
  # Prior weights are named by prior; a name that is no weighted prior is
  # refused, naming the key.
  c = ml_collections.ConfigDict(config.to_dict())
  c.eval.denoise_motion.weights = dict(gmm=0.3, vposer=1.0)
  with pytest.raises(settings.ConfigError,
                     match="eval.denoise_motion.weights.*vposer"):
    methods.parse(c)
  c = ml_collections.ConfigDict(config.to_dict())
  c.eval.fit2d.weights = dict(gmm=0.01, dposer=-1.0)
  with pytest.raises(settings.ConfigError, match="eval.fit2d.weights"):
    methods.parse(c)


def _smpl_like_model(path, lengths):
  """A tiny model file in the publishers' layout on the SMPL_22 tree."""
  rng = np.random.default_rng(7)
  rest = body_space.forward_kinematics(np.zeros(63), lengths) / 1000.0  # m
  nv = 44
  weights = np.eye(22)[np.arange(nv) % 22]
  v_template = rest[np.arange(nv) % 22] + rng.normal(0, 0.01, (nv, 3))
  reg = np.zeros((22, nv))
  reg[np.arange(nv) % 22, np.arange(nv)] = 0.5
  np.savez(path, v_template=v_template, shapedirs=rng.normal(0, 0.01, (nv, 3, 2)),
           posedirs=np.zeros((nv, 3, 9 * 21)), J_regressor=reg,
           kintree_table=np.array([[-1] + list(SMPL_22.parents[1:]), range(22)]),
           weights=weights, f=np.array([[0, 1, 2]]))


def test_a_body_model_file_gives_joints_vertices_and_mpvpe(trained, tmp_path):
  config, workdir = trained
  path = tmp_path / "smpl_like.npz"
  _smpl_like_model(path, np.full(22, 150.0))
  c = ml_collections.ConfigDict(config.to_dict())
  c.eval.update(body_model_path=str(path), task="complete", output_suffix="smpl",
                priors=("none", "dposer"))
  run_lib.evaluate(c, workdir)
  out = json.loads(open(f"{workdir}/eval/complete_smpl.json").read())
  row = out["settings"][0]
  # The mean over hypotheses is at least their minimum (to float32 rounding:
  # hypotheses that converged to one pose tie).
  assert row["mpvpe_min_mm"] >= 0
  assert row["mpvpe_mean_hypothesis_mm"] >= row["mpvpe_min_mm"] * (1 - 1e-6)


def test_fit2d_names_non_finite_keypoints_and_converts_screen_to_pixels():
  import types
  screen = np.zeros((3, 17, 2), np.float32)
  intrinsics = np.tile(np.array([1000, 1000, 500, 500, 1000, 1000], np.float32), (3, 1))
  ctx = types.SimpleNamespace(test=dict(pose2d_exact=screen, intrinsics=intrinsics),
                              input_2d="exact")
  # Screen 0 is the image centre: (0 + 1) * w / 2 = 500 px.
  np.testing.assert_allclose(fitting._keypoints(ctx, "exact"), 500.0)
  assert fitting._keypoints(ctx, "noisy") is None
  screen[1, 4, 0] = np.nan
  with pytest.raises(ValueError, match=r"exact 2D keypoints of test rows \[1\]"):
    fitting._keypoints(ctx, "exact")


def test_training_passes_the_splits_sampling_weights_on():
  """DPoser's training rows carry the train split's sampling weights
  (`data.train_balance`; run_lib samples by them and keeps them out of the
  batch); without them the rows are as before."""
  from jaxpose.data import pipeline
  from jaxpose.methods import base
  fake = types.SimpleNamespace(standardize=lambda x: 2 * x, loss=None)
  train = {"body_pose": np.ones((5, 63), np.float32)}
  plain = model_lib.training(fake, base.Data(dataset=None, splits={"train": train}), {})
  assert set(plain.arrays) == {"x"}
  train[pipeline.SAMPLE_WEIGHT] = np.arange(5, dtype=np.float32)
  weighted = model_lib.training(fake, base.Data(dataset=None, splits={"train": train}), {})
  np.testing.assert_array_equal(weighted.arrays[pipeline.SAMPLE_WEIGHT], np.arange(5))
  np.testing.assert_array_equal(weighted.arrays["x"], 2 * train["body_pose"])
