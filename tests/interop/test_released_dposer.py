"""DPoser's released checkpoints: both of the authors' layouts imported and
compared with a torch network of their keys; the conventions as options;
refusals with one-line errors and nothing written."""
import argparse
import json
import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from flax import nnx

torch = pytest.importorskip("torch")

from jaxpose import import_lib  # noqa: E402
from jaxpose import models  # noqa: E402
from jaxpose import run_lib  # noqa: E402
from jaxpose.core import losses  # noqa: E402
from jaxpose.core import regulariser  # noqa: E402
from jaxpose.core import sde as sde_lib  # noqa: E402
from jaxpose.interop import state_dicts  # noqa: E402
from jaxpose.interop import torch_files  # noqa: E402
from jaxpose.methods.dposer import body as body_lib  # noqa: E402
from jaxpose.methods.dposer import eval_tasks  # noqa: E402
from jaxpose.methods.dposer import priors as priors_lib  # noqa: E402
from jaxpose.methods.dposer import released  # noqa: E402
from tests.helpers import authors_dposer as helper  # noqa: E402
from tests.helpers import released_weights  # noqa: E402

# 4 channels per GroupNorm group: 2 (hidden 64) makes the norm so badly
# conditioned that float32 alone differs by ~1e-3 between any two codes.
SIZES = dict(hidden=128, embed=32, blocks=2)
SMALL_CONFIG = '''
from experiments.configs import dposer_quickstart


def get_config():
  c = dposer_quickstart.get_config()
  c.model.update(hidden=128, embed_dim=32)
  c.data.update(n_train=1200, n_test=360)
  c.eval.update(num_poses=4, plot_poses=0, batch_size=4, priors=("dposer",))
  c.eval.complete.update(parts=("l_leg",), hypotheses=2, steps=4,
                         objective="dposer_released", stages=2, t=(0.3, 0.05))
  return c
'''


@pytest.fixture(scope="module")
def files(tmp_path_factory):
  d = tmp_path_factory.mktemp("dposer_released")
  out = dict(dir=d, config=str(d / "small_config.py"),
             stats=str(d / "axis_normalize2.pt"),
             v1=str(d / "axis-zscore-400k.pth"), v2=str(d / "epoch=36.ckpt"))
  (d / "small_config.py").write_text(SMALL_CONFIG)
  helper.save_statistics(out["stats"])
  nets = dict(v1_raw=helper.AuthorsLayoutNet(v1=True, seed=1, **SIZES),
              v1_ema=helper.AuthorsLayoutNet(v1=True, seed=2, **SIZES),
              v2_raw=helper.AuthorsLayoutNet(seed=3, **SIZES),
              v2_ema=helper.AuthorsLayoutNet(seed=4, **SIZES))
  helper.save_v1(nets["v1_raw"], nets["v1_ema"], out["v1"])
  helper.save_v2(nets["v2_raw"], nets["v2_ema"], out["v2"])
  out["nets"] = nets
  return out


def _import(files, checkpoint, workdir, *, statistics=True, options=None):
  return released_weights.import_checkpoint(
      "dposer", checkpoint, workdir, config=files["config"], options=options,
      files={"statistics": files["stats"]} if statistics else {})


@pytest.fixture(scope="module")
def v2_workdir(files, tmp_path_factory):
  return _import(files, files["v2"], tmp_path_factory.mktemp("w") / "v2")


def _inputs(n=64, seed=0):
  rs = np.random.RandomState(seed)
  t = np.concatenate([[1e-3, 0.05, 0.1, 0.3, 0.5, 0.999, 1.0],
                      rs.uniform(1e-3, 1.0, n - 7)]).astype(np.float32)
  return rs.randn(n, 63).astype(np.float32), t


def _theirs(net, x, t, what="forward"):
  with torch.no_grad():
    fn = net if what == "forward" else net.score
    return fn(torch.tensor(x), torch.tensor(t)).numpy()


_rel = released_weights.rel


def test_v2_ema_import_is_the_authors_network(files, v2_workdir):
  trained = run_lib.load_trained(v2_workdir)
  x, t = _inputs()
  ours = trained.model.network.apply(trained.params, x, t, None)
  assert _rel(ours, _theirs(files["nets"]["v2_ema"], x, t)) < 1e-5
  score = trained.model.score_fn(trained.params, x, t)
  # Scores divide by s(t) = 1 - a^2: theirs by 1 - exp(.), ours by expm1
  # (its rounding differs most at the smallest t).
  assert _rel(score, _theirs(files["nets"]["v2_ema"], x, t, "score")) < 1e-3
  assert _rel(score[1:], _theirs(files["nets"]["v2_ema"], x[1:], t[1:],
                                 "score")) < 1e-5
  config = trained.run.config
  assert config["model"]["output_scale"] == "ve_sigma"
  assert config["model"]["hidden"] == 128 and config["model"]["embed_dim"] == 32
  assert config["sde"] == dict(name="subvp", beta_min=0.1, beta_max=20.0)
  stats = torch_files.load(files["stats"])
  np.testing.assert_array_equal(trained.model.zscore.mean, stats["mean_poses"])
  np.testing.assert_array_equal(trained.model.zscore.std, stats["std_poses"])
  assert trained.step == 150000
  with open(os.path.join(v2_workdir, import_lib.PROVENANCE)) as f:
    source = json.load(f)
  assert source["layout"] == "v2" and source["weights"] == "ema"
  assert source["ema"] == {"decay": 0.9999, "num_updates": 40}


def test_v2_hyper_parameters_are_recorded_as_text_never_run(
    files, tmp_path, monkeypatch):
  # A Lightning file as DPoser's trainer writes it: `save_hyperparameters()`
  # pickles their ml_collections ConfigDict (NEWOBJ + BUILD) beside other
  # objects of classes jaxpose does not rebuild.
  obj = torch.load(files["v2"], weights_only=False)
  config = ml_collections.ConfigDict()
  config.optim = ml_collections.ConfigDict(dict(optimizer="RAdam", lr=2e-4))
  config.model = ml_collections.ConfigDict(dict(type="TimeFC", HIDDEN_DIM=128))
  config.seed = 42
  obj["hyper_parameters"] = {
      "config": config, "bodymodel_path": "SMPLX_NEUTRAL.npz",
      "data_path": "data/AMASS", "N_POSES": 21,
      "args": argparse.Namespace(name="default", sample=None)}
  obj["hparams_name"] = "kwargs"
  path = str(tmp_path / "lightning.ckpt")
  torch.save(obj, path)

  def constructed(*args, **kwargs):
    raise AssertionError("the importer rebuilt a pickled ConfigDict")

  monkeypatch.setattr(ml_collections.ConfigDict, "__setstate__", constructed)
  workdir = _import(files, path, tmp_path / "w")
  with open(os.path.join(workdir, import_lib.PROVENANCE)) as f:
    source = json.load(f)
  hp = source["hyper_parameters"]
  assert hp["N_POSES"] == 21 and hp["bodymodel_path"] == "SMPLX_NEUTRAL.npz"
  # Inert records: the class by name, with what the pickle held.
  assert hp["config"]["class"].endswith(".ConfigDict")
  assert hp["args"]["class"] == "argparse.Namespace"
  text = json.dumps(hp)
  for value in ('"RAdam"', "0.0002", '"TimeFC"', "42", '"default"'):
    assert value in text, value
  assert source["layout"] == "v2" and source["step"] == 150000
  # The weights are the file's, as without hyper-parameters.
  trained = run_lib.load_trained(workdir)
  x, t = _inputs()
  ours = trained.model.network.apply(trained.params, x, t, None)
  assert _rel(ours, _theirs(files["nets"]["v2_ema"], x, t)) < 1e-5


def test_huge_hyper_parameters_are_cut():
  ckpt_like = {"hyper_parameters": {"notes": "x" * (
      released.HYPER_PARAMETERS_CHARS + 100)}}
  got = released._hyper_parameters(ckpt_like)
  assert "truncated" in got
  assert len(got["text"]) == released.HYPER_PARAMETERS_CHARS
  assert released._hyper_parameters({}) is None


@pytest.mark.parametrize("weights", ["raw", "ema"])
def test_v1_import_is_the_authors_network(files, tmp_path, weights):
  workdir = _import(files, files["v1"], tmp_path / "w",
                    options={"weights": weights})
  trained = run_lib.load_trained(workdir)
  x, t = _inputs(seed=1)
  ours = trained.model.network.apply(trained.params, x, t, None)
  assert _rel(ours, _theirs(files["nets"][f"v1_{weights}"], x, t)) < 1e-5
  assert trained.step == 400000
  # The unused layer is not part of jaxpose's network: the paper's count.
  assert models.count_params(trained.params) == sum(
      p.numel() for n, p in files["nets"]["v1_raw"].named_parameters()
      if not n.startswith("pre_dense_cond"))


@pytest.mark.slow
def test_released_completion_matches_the_procedure_in_torch():
  net = helper.AuthorsLayoutNet(seed=6, **SIZES)
  state = {k: v.numpy() for k, v in net.state_dict().items()}
  sizes = released.read_sizes(state, "net")
  flat = released.weights(released.Checkpoint("v2", state, None, {}, 0),
                          "raw", "net")
  network = models.NetworkSpec.from_section(
      released.network_section(sizes)).build(data_dim=63, cond_dim=0)
  params = state_dicts.fill(nnx.state(network.abstract, nnx.Param), flat,
                            source="net")
  sde = sde_lib.SubVPSDE(0.1, 20.0)
  rs = np.random.RandomState(2)
  b, stages, steps = 3, 2, 4
  zscore = body_lib.ZScore(mean=(0.1 * rs.randn(63)).astype(np.float32),
                           std=(0.2 + 0.3 * rs.rand(63)).astype(np.float32))
  masked = np.zeros(63, bool)
  masked[body_lib.part_dims(body_lib.PARTS["l_leg"])] = True
  gt = rs.randn(b, 63).astype(np.float32)  # z-scored
  obs = np.where(masked, rs.randn(b, 63), gt).astype(np.float32)
  draws = rs.randn(stages * steps, b, 63).astype(np.float32)
  theirs = helper.complete(
      net, torch.tensor(obs), torch.tensor(np.broadcast_to(~masked, obs.shape)),
      torch.tensor(draws), t_max=0.3, t_min=0.05, stages=stages,
      steps=steps).numpy()
  prior = priors_lib.DiffusionPrior(
      score_fn=losses.make_score_fn(network.apply, sde), params=params,
      sde=sde, zscore=zscore,
      schedule=regulariser.TimeSchedule.truncated(0.3, 0.05, hit_t_max=False))
  solve = eval_tasks.make_released_completion_solver(
      prior, zscore, num_steps=stages * steps, stages=stages,
      learning_rate=0.1, loss_scale=1.0 / b, replay=True)
  poses = solve(obs, np.asarray(zscore.unstandardize(gt)),
                np.broadcast_to(masked, obs.shape),
                jax.random.split(jax.random.key(0), b),
                np.moveaxis(draws, 1, 0))
  ours = np.asarray(zscore.standardize(poses))
  np.testing.assert_allclose(ours, theirs, atol=2e-5)
  assert np.abs(ours - obs)[:, masked].min() > 0  # the masked part moved


def test_conventions_are_options_with_jaxpose_defaults():
  # The authors' truncated grid: t_min + (n - 1 - i)/n (t_max - t_min).
  ours = regulariser.TimeSchedule.truncated(0.3, 0.05).sequence(4)
  theirs = regulariser.TimeSchedule.truncated(
      0.3, 0.05, hit_t_max=False).sequence(4)
  np.testing.assert_allclose(ours, [0.3, 0.3 - 0.25 / 3, 0.05 + 0.25 / 3, 0.05],
                             rtol=1e-6)
  np.testing.assert_allclose(theirs, [0.05 + 0.25 * k / 4 for k in (3, 2, 1, 0)],
                             rtol=1e-6)
  # The VE ladder: sigma_max at t = 0, sigma_min at t = 1, floor(999 t).
  kw = dict(data_dim=63, cond_dim=0, hidden=64, embed_dim=32)
  _, p = models.create_model("score_mlp", key=jax.random.key(0), **kw)
  plain = models.model_graphdef("score_mlp", **kw)
  scaled = models.model_graphdef("score_mlp", output_scale="ve_sigma", **kw)
  x = np.ones((4, 63), np.float32)
  t = np.array([0.0, 0.5, 0.5006, 1.0], np.float32)  # 999 t: 0, 499.5, 500.1, 999
  ratio = (models.make_apply(plain)(p, x, t, None)
           / models.make_apply(scaled)(p, x, t, None))[:, 0]
  ladder = np.exp(np.linspace(np.log(50.0), np.log(0.01), 1000))
  np.testing.assert_allclose(ratio, ladder[[0, 499, 500, 999]], rtol=1e-5)
  # A given draw replaces the key's noise (replay) and is refused where t
  # is drawn too.
  sde = sde_lib.SubVPSDE()
  score = lambda params, x, t, cond: -x
  z = np.full((1, 63), 0.5, np.float32)
  kw = dict(sde=sde, schedule=regulariser.TimeSchedule.fixed(0.2))
  got = regulariser.scheduled_regulariser(score, None, x[:1], jnp.asarray(z),
                                          0, 1, **kw)
  a, s = float(sde.mean_coeff(0.2)), float(sde.marginal_std(0.2))
  x_t = a + s * 0.5
  want = 0.5 * np.sqrt(1 + a / s) * 63 * (1 - (x_t - s ** 2 * x_t) / a) ** 2
  np.testing.assert_allclose(got, want, rtol=1e-5)
  with pytest.raises(ValueError, match="draws t at random"):
    regulariser.scheduled_regulariser(
        score, None, x[:1], jnp.asarray(z), 0, 1, sde=sde,
        schedule=regulariser.TimeSchedule.uniform())


@pytest.mark.slow
def test_an_eval_task_runs_on_the_imported_weights(v2_workdir):
  trained = run_lib.load_trained(v2_workdir)
  config = ml_collections.ConfigDict(trained.run.config)
  config.eval.task = "complete"
  res = run_lib.evaluate(config, v2_workdir)
  assert res["method"] == "dposer"
  with open(os.path.join(v2_workdir, "eval", "complete.json")) as f:
    out = json.load(f)
  assert out["objective"] == "dposer_released"
  row = out["settings"][0]
  assert row["prior"] == "dposer" and np.isfinite(row["missing_mpjpe_mm"])


def _refused(files, tmp_path, checkpoint, match, **kw):
  released_weights.assert_refused(lambda w: _import(files, checkpoint, w, **kw),
                          tmp_path, match)


def _edited_v1(files, tmp_path, edit):
  return released_weights.edited(files["v1"], tmp_path / "edited.pth", edit)


def test_refusals(files, tmp_path):
  _refused(files, tmp_path, files["v2"], "--statistics: missing",
           statistics=False)
  sd = lambda o: o["model_state_dict"]
  missing = _edited_v1(files, tmp_path, lambda o: sd(o).pop("b2_gnorm2.bias"))
  _refused(files, tmp_path, missing, "'b2_gnorm2.bias' missing")
  extra = _edited_v1(files, tmp_path, lambda o: sd(o).update(
      {"b1_extra.weight": torch.zeros(3)}))
  _refused(files, tmp_path, extra, "unexpected key 'b1_extra.weight'")
  shape = _edited_v1(files, tmp_path, lambda o: sd(o).update(
      {"post_dense.bias": torch.zeros(62)}))
  _refused(files, tmp_path, shape, r"'post_dense.bias' has shape \(62,\)")
  # A layer that reads the time embedding is refused under its own key.
  time_in = _edited_v1(files, tmp_path, lambda o: sd(o).update(
      {"pre_dense_t.weight": sd(o)["pre_dense_t.weight"][:, :-1]}))
  _refused(files, tmp_path, time_in, r"'pre_dense_t.weight' has shape")
  no_ema = _edited_v1(files, tmp_path, lambda o: o.pop("ema"))
  _refused(files, tmp_path, no_ema, "no EMA weights.*--weights=raw")
  sigmas = _edited_v1(files, tmp_path, lambda o: sd(o).update(
      {"sigmas": sd(o)["sigmas"] * 2}))
  _refused(files, tmp_path, sigmas, "'sigmas' is not the geometric ladder")
  # Another method's checkpoints: GFPose's layout (51-D, conditional) and a
  # bare state dict (DiffPose's).
  gfpose = _edited_v1(files, tmp_path, lambda o: sd(o).update(
      {"pre_dense.weight": torch.zeros(128, 51)}))
  _refused(files, tmp_path, gfpose, "takes the 63-D body pose")
  bare = str(tmp_path / "diffpose.pth")
  torch.save({"gcn.weight": torch.zeros(3, 3)}, bare)
  _refused(files, tmp_path, bare, "not a DPoser checkpoint")
  truncated = released_weights.truncated(files["v2"], tmp_path / "truncated.ckpt")
  _refused(files, tmp_path, truncated, "truncated|damaged|unreadable")
  # Statistics of another kind: min-max (axis_normalize1.pt), rot6d.
  minmax = str(tmp_path / "axis_normalize1.pt")
  torch.save({"min_poses": torch.zeros(63), "max_poses": torch.ones(63)},
             minmax)
  _refused(dict(files, stats=minmax), tmp_path, files["v2"],
           "axis_normalize2.pt")
  rot6d = str(tmp_path / "rot6d_normalize2.pt")
  torch.save({"mean_poses": torch.zeros(126), "std_poses": torch.ones(126)},
             rot6d)
  _refused(dict(files, stats=rot6d), tmp_path, files["v2"],
           r"'mean_poses' has shape \(126,\)")
  _refused(files, tmp_path, files["v2"], "--weights=best",
           options={"weights": "best"})


@pytest.mark.slow
def test_command_line_error_is_one_line(files, tmp_path):
  released_weights.assert_command_line_refuses(
      ["--method=dposer", f"--checkpoint={files['v2']}",
       f"--config={files['config']}"],
      tmp_path / "w", "--statistics: missing")
