"""GFPose's released checkpoint: the authors' layout imported and compared
with a torch network of their keys; the conventions as options; refusals
with one-line errors and nothing written."""
import json
import os

import ml_collections
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from experiments import released_configs  # noqa: E402
from jaxpose import import_lib  # noqa: E402
from jaxpose import models  # noqa: E402
from jaxpose import run_lib  # noqa: E402
from jaxpose.methods.gfpose import released  # noqa: E402
from jaxpose.pose import image_space  # noqa: E402
from jaxpose.pose import representation as rep_lib  # noqa: E402
from tests.helpers import authors_gfpose as helper  # noqa: E402
from tests.helpers import released_weights  # noqa: E402

# 4 channels per GroupNorm group (hidden 64 would leave 2, a norm so badly
# conditioned that float32 alone differs by ~1e-3 between any two codes).
SIZES = dict(hidden=128, embed=32, blocks=2)
SMALL_CONFIG = '''
from experiments.configs import quickstart


def get_config():
  c = quickstart.get_config()
  c.model.update(hidden=128, embed_dim=32)
  c.data.update(n_train=200, n_test=24)
  c.eval.update(num_poses=4, num_hypotheses=2, hypotheses_list=(1, 2),
                batch_poses=4, num_steps=4, plot_poses=0,
                sampler="euler_maruyama", eps=1e-3)
  c.eval.estimate_single.num_steps = 4
  return c
'''


@pytest.fixture(scope="module")
def files(tmp_path_factory):
  d = tmp_path_factory.mktemp("gfpose_released")
  out = dict(dir=d, config=str(d / "small_config.py"),
             ckpt=str(d / "best_model.pth"))
  (d / "small_config.py").write_text(SMALL_CONFIG)
  nets = dict(raw=helper.AuthorsLayoutNet(seed=1, **SIZES),
              ema=helper.AuthorsLayoutNet(seed=2, **SIZES))
  for net in nets.values():
    net.eval()
  helper.save(nets["raw"], nets["ema"], out["ckpt"])
  out["nets"] = nets
  return out


def _import(files, checkpoint, workdir, *, options=None):
  return released_weights.import_checkpoint("gfpose", checkpoint, workdir,
                                    config=files["config"], options=options)


@pytest.fixture(scope="module")
def ema_workdir(files, tmp_path_factory):
  return _import(files, files["ckpt"], tmp_path_factory.mktemp("w") / "ema")


def _inputs(n=48, seed=0):
  """x_t, t and the authors' (condition, mask) variants, model units."""
  rs = np.random.RandomState(seed)
  pose = (rs.randn(n, 17, 3) * 5).astype(np.float32)
  x = (pose + rs.randn(n, 17, 3)).astype(np.float32)
  t = np.concatenate([[1e-3, 0.05, 0.5, 1.0],
                      rs.uniform(1e-3, 1.0, n - 4)]).astype(np.float32)
  c2 = pose.copy()
  c2[..., 2] = 0
  hide = np.ones_like(pose)
  hide[np.arange(n), rs.randint(0, 17, n)] = 0
  est = np.ones_like(pose)
  est[..., 2] = 0
  variants = {"2d": (c2, None), "2d_est_mask": (c2, est),
              "2d_hidden_joints": (c2, hide * est), "3d": (pose, None),
              "3d_hidden_joints": (pose, hide),
              "null": (np.zeros_like(pose), np.zeros_like(pose))}
  return x, t, variants


def _theirs(net, x, t, c, m, what="forward"):
  fn = net if what == "forward" else net.score
  with torch.no_grad():
    return fn(torch.tensor(x), torch.tensor(t), torch.tensor(c),
              None if m is None else torch.tensor(m)).numpy()


# Both sides compute in float32 with other summation orders (XLA against
# PyTorch's CPU kernels), and XLA's CPU rounding depends on the batch size:
# differences reached 1.02e-5 (relative) and 1.2e-5 (absolute, one batch
# against another) on JAX 0.10.2, under 1e-5 and 1e-6 on 0.11.
_F32_REL = 2e-5


_rel = released_weights.rel


def _ours(trained, x, t, c, m):
  cond = released.condition_from_authors(c, m)
  return trained.model.network.apply(trained.params, x, t, cond)


@pytest.mark.slow
def test_ema_import_is_the_authors_network(files, ema_workdir):
  trained = run_lib.load_trained(ema_workdir)
  x, t, variants = _inputs()
  net = files["nets"]["ema"]
  # Every variant in one batch: one compiled call each for eps and score.
  conds = [released.condition_from_authors(c, m) for c, m in variants.values()]
  k = len(variants)
  xs, ts = np.concatenate([x] * k), np.concatenate([t] * k)
  cond = tuple(np.concatenate([c[i] for c in conds]) for i in (0, 1))
  eps = np.asarray(trained.model.network.apply(trained.params, xs, ts, cond))
  score = np.asarray(trained.model.score_fn(trained.params, xs, ts, cond))
  late = t >= 0.01
  for i, (name, (c, m)) in enumerate(variants.items()):
    rows = slice(i * len(x), (i + 1) * len(x))
    assert _rel(eps[rows], _theirs(net, x, t, c, m)) < _F32_REL, name
    # Scores divide by s(t) = 1 - a^2: theirs by 1 - exp(.), ours by expm1
    # (the float32 rounding differs most at the smallest t).
    assert _rel(score[rows][late],
                _theirs(net, x, t, c, m, "score")[late]) < _F32_REL, name
  # The null condition is jaxpose's cond=None.
  null = list(variants).index("null") * len(x)
  np.testing.assert_allclose(
      trained.model.network.apply(trained.params, x, t, None),
      eps[null:null + len(x)], atol=_F32_REL)  # another batch size: rounding
  config = trained.run.config
  assert config["model"] == dict(name="score_mlp", hidden=128, embed_dim=32,
                                 num_blocks=2, dropout=0.25, num_groups=32,
                                 time_scale=999.0)
  assert config["sde"] == dict(name="subvp", beta_min=0.1, beta_max=20.0)
  rep = trained.model.representation
  assert (rep.space, rep.scale_2d * rep.data_scale) == ("image", 30.0)
  assert rep.image_depth == "focal"  # the small config's (synthetic data)
  assert trained.step == 950000
  assert models.count_params(trained.params) == sum(
      p.numel() for p in net.parameters())
  with open(os.path.join(ema_workdir, import_lib.PROVENANCE)) as f:
    source = json.load(f)
  assert source["weights"] == "ema" and source["epoch"] == 120
  assert source["ema"] == {"decay": 0.9999, "num_updates": 40}


def test_raw_weights_and_the_config_representation(files, tmp_path):
  workdir = _import(files, files["ckpt"], tmp_path / "w",
                    options={"weights": "raw", "representation": "config"})
  trained = run_lib.load_trained(workdir)
  x, t, variants = _inputs(seed=1)
  c, m = variants["3d_hidden_joints"]
  assert _rel(_ours(trained, x, t, c, m),
              _theirs(files["nets"]["raw"], x, t, c, m)) < _F32_REL
  # representation='config' keeps the config's (the quickstart's space).
  assert trained.model.representation.space == "root_relative"


def test_checkpoint_reading_and_the_layout():
  net = helper.AuthorsLayoutNet(seed=3, **SIZES)
  state = {k: v.numpy() for k, v in net.state_dict().items()}
  sizes = released.read_sizes(state, "net")
  assert sizes == released.Sizes(hidden=128, embed_dim=32, num_blocks=2)
  # One rule per parameter, in their parameter order (their EMA's).
  assert [r.key for r in released.rules(sizes)] == [
      n for n, _ in net.named_parameters()]
  assert state["sigmas"].dtype == np.float64  # their buffer, dropped


def test_module_prefix_is_read(files, tmp_path):
  path = str(tmp_path / "dp.pth")
  helper.save(files["nets"]["raw"], files["nets"]["ema"], path,
              prefix="module.")
  ckpt = released.read_checkpoint(path)
  assert "pre_dense.weight" in ckpt.state and ckpt.step == 950000
  flat = released.weights(ckpt, "ema", path)
  np.testing.assert_array_equal(
      flat["out/kernel"], files["nets"]["ema"].post_dense.weight.detach()
      .numpy().T)


def test_authors_depth_scale_is_an_option_with_jaxpose_default():
  rng = np.random.default_rng(0)
  root = np.array([[100.0, -50.0, 5200.0], [-300.0, 80.0, 4300.0]])
  pose = root[:, None] + rng.normal(0, 300, (2, 17, 3))
  pose[:, 0] = root
  intr = np.array([[1145.0, 1144.0, 512.5, 515.4, 1000.0, 1000.0]] * 2)
  ratio = np.round(2000 * intr[:, 0] / root[:, 2]) / 2000  # whole-pixel crops
  meta = dict(root_cam_mm=root, intrinsics=intr, depth_ratio=ratio)
  default = rep_lib.Representation(scale_2d=1.0, data_scale=30.0,
                                   space="image")
  assert default.image_depth == "focal"
  theirs = rep_lib.Representation.from_section(ml_collections.ConfigDict(dict(
      skeleton="h36m_17", scale_3d_mm=1000.0, scale_2d=1.0, data_scale=30.0,
      root_relative_2d=False, space="image", image_depth="crop_ratio")))
  rel = pose - pose[:, :1]
  x = theirs.pose3d_to_model(rel, meta)
  # Their normalisation: z = (Z - Z_r) r pixels, then / 1000 * 2, x 30.
  want_z = (pose[..., 2] - root[:, None, 2]) * ratio[:, None] / 500 * 30
  np.testing.assert_allclose(x[..., 2], want_z, rtol=1e-9)
  np.testing.assert_allclose(x[..., :2], default.pose3d_to_model(rel, meta)[
      ..., :2], rtol=1e-12)  # x, y are the pinhole's either way
  np.testing.assert_allclose(theirs.pose3d_from_model(x, meta), rel,
                             atol=1e-9)
  # The default ignores the ratio; the option refuses rows without one.
  focal = default.pose3d_to_model(rel, meta)
  assert 0 < np.abs(focal[..., 2] - x[..., 2]).max() < 0.1
  with pytest.raises(ValueError, match="depth_ratio"):
    theirs.pose3d_to_model(rel, {k: meta[k] for k in image_space.META_KEYS})


@pytest.mark.slow
def test_an_eval_task_runs_on_the_imported_weights(ema_workdir):
  trained = run_lib.load_trained(ema_workdir)
  config = ml_collections.ConfigDict(trained.run.config)
  config.eval.task = "estimate"
  res = run_lib.evaluate(config, ema_workdir)
  assert res["method"] == "gfpose"
  with open(os.path.join(ema_workdir, "eval", "estimate.json")) as f:
    out = json.load(f)
  assert out["num_hypotheses"] == 2 and np.isfinite(out["mpjpe_mm"])


def _refused(files, tmp_path, checkpoint, match, **kw):
  released_weights.assert_refused(lambda w: _import(files, checkpoint, w, **kw),
                          tmp_path, match)


def _edited(files, tmp_path, edit):
  return released_weights.edited(files["ckpt"], tmp_path / "edited.pth", edit)


def test_refusals(files, tmp_path):
  sd = lambda o: o["model_state_dict"]  # noqa: E731
  missing = _edited(files, tmp_path, lambda o: sd(o).pop("b2_gnorm2.bias"))
  _refused(files, tmp_path, missing, "'b2_gnorm2.bias' missing")
  extra = _edited(files, tmp_path, lambda o: sd(o).update(
      {"b1_extra.weight": torch.zeros(3)}))
  _refused(files, tmp_path, extra, "unexpected key 'b1_extra.weight'")
  shape = _edited(files, tmp_path, lambda o: sd(o).update(
      {"post_dense.bias": torch.zeros(50)}))
  _refused(files, tmp_path, shape, r"'post_dense.bias' has shape \(50,\)")
  no_ema = _edited(files, tmp_path, lambda o: o.pop("ema"))
  _refused(files, tmp_path, no_ema, "no EMA weights.*--weights=raw")
  short_ema = _edited(files, tmp_path, lambda o: o["ema"][
      "shadow_params"].pop())
  _refused(files, tmp_path, short_ema, "the EMA holds")
  # Another method's checkpoints: DPoser's (63-D, unconditional) and a bare
  # state dict (DiffPose's).
  dposer = _edited(files, tmp_path, lambda o: sd(o).update(
      {"pre_dense.weight": torch.zeros(128, 63)}))
  _refused(files, tmp_path, dposer, "DPoser")
  bare = str(tmp_path / "diffpose.pth")
  torch.save({"gcn.weight": torch.zeros(3, 3)}, bare)
  _refused(files, tmp_path, bare, "no 'model_state_dict'.*not a GFPose")
  truncated = released_weights.truncated(files["ckpt"], tmp_path / "truncated.pth")
  _refused(files, tmp_path, truncated, "truncated|damaged|unreadable")
  _refused(files, tmp_path, files["ckpt"], "--weights=best",
           options={"weights": "best"})
  _refused(files, tmp_path, files["ckpt"], "option 'steps'",
           options={"steps": "3"})


@pytest.mark.slow
def test_command_line_error_is_one_line(files, tmp_path):
  bad = _edited(files, tmp_path, lambda o: o["model_state_dict"].pop(
      "cond_embed.0.bias"))
  released_weights.assert_command_line_refuses(
      ["--method=gfpose", f"--checkpoint={bad}", f"--config={files['config']}"],
      tmp_path / "w", "'cond_embed.0.bias' missing")


def test_released_config_builds():
  for variant in ("", ":lcn"):
    config = released_configs.base_config(
        "gfpose", f"experiments/configs/gfpose_released.py{variant}")
    assert config["representation"]["data_scale"] == 30.0
    assert config["eval"]["sampler"] == "euler_maruyama"

