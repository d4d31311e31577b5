"""DiffPose's released checkpoints: the importer against checkpoints in the
authors' exact key layout (tests/helpers/authors_diffpose.py), the graph
conventions it sets, the eval task on the import, and its refusals."""
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

torch = pytest.importorskip("torch")

from experiments import released_configs  # pylint: disable=g-import-not-at-top
from jaxpose import import_lib
from jaxpose import models
from jaxpose import run_lib
from jaxpose.core import sampling
from jaxpose.core import sde as sde_lib
from jaxpose.interop import state_dicts
from jaxpose.methods.baseline import released as lifter_released
from jaxpose.methods.diffpose import released
from jaxpose.models import graph_layers as gl
from tests.helpers import authors_diffpose as authors
from tests.helpers import released_weights  # noqa: E402

SIZES = dict(hidden=16, layers=2, heads=4)
CONFIG = '''
from experiments.configs import diffpose_authors

def get_config():
  c = diffpose_authors.get_config("synthetic")
  c.data.update(n_train=64, n_test=12)
  c.eval.update(num_poses=8, batch_poses=8, plot_poses=0)
  c.diffpose.encoder_batch_size = 64
  return c
'''


_rel = released_weights.rel


@pytest.fixture(scope="module")
def files(tmp_path_factory):
  root = tmp_path_factory.mktemp("released_diffpose")
  lifter = authors.AuthorsLayoutGraFormer(**SIZES, seed=1).eval()
  denoiser = authors.AuthorsLayoutGraFormer(**SIZES, denoiser=True,
                                            seed=2).eval()
  authors.save_checkpoint(lifter, root / "gcn_xyz_cpn.pth", ema_offset=None)
  authors.save_checkpoint(denoiser, root / "diffpose_uvxyz_cpn.pth")
  (root / "small_config.py").write_text(CONFIG)
  return dict(root=root, lifter=lifter, denoiser=denoiser,
              config=str(root / "small_config.py"),
              checkpoint=str(root / "diffpose_uvxyz_cpn.pth"),
              encoder=str(root / "gcn_xyz_cpn.pth"))


def _request(files, workdir, *, method="diffpose", checkpoint=None,
             encoder=None, options=None):
  named = {} if method == "baseline" else {
      "encoder": encoder or files["encoder"]}
  return released_configs.request(
      method, checkpoint or files["checkpoint"], str(workdir), files=named,
      options=options, config_file=files["config"])


def _steps():
  return np.array([0, 6, 12, 50])


def _check_forward(files, trained):
  """The denoiser at integer steps and the lifter, against the helper."""
  x5 = np.random.default_rng(0).normal(0, 0.5, (4, 17, 5)).astype(np.float32)
  with torch.no_grad():
    want = files["denoiser"](torch.tensor(x5), torch.tensor(_steps())).numpy()
  model = trained.model
  got = jax.jit(model.network.apply)(trained.params, x5,
                                     model.sde.time(_steps()))
  assert _rel(got, want) < 1e-5
  # The conventions the importer set, each an option of jaxpose's code.
  kw = model.network.kwargs
  assert (kw["cond_dim"], kw["time_input"], kw["laplacian"],
          kw["layer_norm"], kw["adjacency_norm"]) == (
              0, "step", "row_normalised", "graformer", "graformer")
  encoder = trained.needs["encoder"]
  assert encoder.model.network.kwargs["root"] == "zeroed"
  x2 = np.random.default_rng(1).normal(0, 0.5, (8, 17, 2)).astype(np.float32)
  with torch.no_grad():
    lifted = files["lifter"](torch.tensor(x2)).numpy()
  lifted[:, 0] = 0.0  # their in-place re-centring, as torch computes it
  features, pose3d = encoder.encode({"pose2d": x2}, batch_size=8)
  assert _rel(pose3d, lifted) < 1e-5
  return x2, features, pose3d


@pytest.mark.slow
def test_import_matches_the_authors_layout_and_runs_the_estimate_task(files):
  out = import_lib.import_weights("diffpose",
                                  _request(files, files["root"] / "w"))
  trained = run_lib.load_trained(out)
  x2, features, pose3d = _check_forward(files, trained)
  # The released refiner: 2 DDIM steps from the lifter's pose at step 12.
  want = authors.refine(files["lifter"], files["denoiser"], torch.tensor(x2),
                        released.RELEASED_START_STEPS["cpn"]).numpy()
  opts = trained.run.eval_options
  assert (opts.start, opts.start_step, opts.num_steps) == ("centre", 12, 2)
  states = trained.model.sample_states(
      trained.params, jax.random.key(0),
      dict(pose2d=x2, enc_features=features, enc_pose3d=pose3d), opts,
      num_hypotheses=1)
  # float32 through two passes of random-weight networks (the helper's own
  # float32 and float64 runs differ by 1e-4 of the largest coordinate).
  assert _rel(states[0], want) < 3e-4
  # A jaxpose task on the imported workdir (proof that tasks use it).
  results = run_lib.evaluate(run_lib.stored_config(out), out, trained=trained)
  with open(os.path.join(out, "eval", "estimate.json")) as f:
    written = json.load(f)
  assert np.isfinite(results["mpjpe_mm"])
  assert written["num_hypotheses"] == 1 and written["num_steps"] == 2
  assert written["diffpose"]["start_step"] == 12
  assert written["encoder"]["workdir"] == os.path.join(out, "encoder")
  with open(os.path.join(out, import_lib.PROVENANCE)) as f:
    source = json.load(f)
  assert source["weights"] == "raw" and source["variant"] == "cpn"
  assert source["step"] == 1234 and "encoder" in source


def test_the_grid_visits_their_steps():
  sde = sde_lib.DiscreteVP.linear(released.NUM_STEPS, released.BETA_START,
                                  released.BETA_END)
  for step in released.RELEASED_START_STEPS.values():
    rho = released.released_grid_rho(step)
    ts = sampling.time_grid(sde.time(step), 0.0, 2, rho)
    np.testing.assert_array_equal(sde.index(ts), [step, 0, -1])


def test_raw_weights_by_default_and_ema_on_request(files):
  ckpt = lifter_released.read_checkpoint(files["checkpoint"], "test")
  sizes = lifter_released.read_sizes(ckpt.state, files["checkpoint"], "test")
  assert (sizes.hidden, sizes.num_layers, sizes.order, sizes.embed_dim) == (
      16, 2, 2, 64)
  assert (ckpt.epoch, ckpt.step) == (3, 1234)
  rules = released.denoiser_rules(sizes)
  weight = files["denoiser"].temb.dense[0].weight.detach().numpy()
  raw = lifter_released.weights(ckpt, rules, "raw", files["checkpoint"])
  ema = lifter_released.weights(ckpt, rules, "ema", files["checkpoint"])
  np.testing.assert_array_equal(raw["time_in/kernel"], weight.T)
  np.testing.assert_allclose(ema["time_in/kernel"], weight.T + 0.01,
                             rtol=1e-6)
  cheb = files["denoiser"].gconv_input.weight.detach().numpy()  # [3,1,5,16]
  np.testing.assert_array_equal(raw["input_conv/kernel"], cheb[:, 0])


def test_lifter_alone_as_a_baseline_model(files, tmp_path):
  req = _request(files, tmp_path / "lifter", method="baseline",
                 checkpoint=files["encoder"])
  imported = lifter_released.import_checkpoint(req)
  assert imported.config["method"] == "baseline"
  assert "temb.dense" in imported.source["dropped"][0]
  spec = models.NetworkSpec.from_section(imported.config["model"])
  network = spec.build(num_joints=17)
  params = state_dicts.fill(
      nnx.state(network.abstract, nnx.Param), imported.params, source="test")
  x2 = np.random.default_rng(3).normal(0, 0.5, (3, 17, 2)).astype(np.float32)
  with torch.no_grad():
    want = files["lifter"](torch.tensor(x2)).numpy()
  want[:, 0] = 0.0
  assert _rel(jax.jit(network.apply)(params, x2).pose3d, want) < 1e-5


def _edited(files, tmp_path, name, edit):
  return released_weights.edited(files["checkpoint"], tmp_path / name,
                         lambda state: edit(state[0]))


def _bad_files(files, tmp_path):
  def drop(sd):
    del sd["module.gconv_layers.1.temb_proj.bias"]

  def extra(sd):
    sd["module.extra_head.weight"] = torch.zeros(3)

  def reshape(sd):
    sd["module.temb.dense.1.bias"] = torch.zeros(7)

  def output_3d(sd):
    sd["module.gconv_output.weight"] = sd["module.gconv_output.weight"][0]

  truncated = released_weights.truncated(
      files["checkpoint"], tmp_path / "diffpose_uvxyz_cpn_truncated.pth", 3000)
  other = tmp_path / "dposer.pth"
  torch.save({"model_state_dict": {"pre_dense.weight": torch.zeros(4, 63)},
              "step": 1}, other)
  return {
      "missing key": (dict(checkpoint=_edited(files, tmp_path, "m.pth", drop)),
                      "'gconv_layers.1.temb_proj.bias' missing"),
      "extra key": (dict(checkpoint=_edited(files, tmp_path, "e.pth", extra)),
                    "unexpected key 'extra_head.weight'"),
      "wrong shape": (dict(checkpoint=_edited(files, tmp_path, "s.pth",
                                              reshape)),
                      "'temb.dense.1.bias' has shape"),
      "3-D output layer": (dict(checkpoint=_edited(files, tmp_path, "o.pth",
                                                   output_3d)),
                           "'gconv_output.weight' has shape"),
      "truncated": (dict(checkpoint=str(truncated)), "truncated"),
      "another method's": (dict(checkpoint=str(other)), "DPoser's layout"),
      "lifter as the denoiser": (dict(checkpoint=files["encoder"]),
                                 "give it as --encoder"),
      "denoiser as the lifter": (dict(encoder=files["checkpoint"]),
                                 "--method=diffpose"),
  }


@pytest.mark.parametrize("case", [
    "missing key", "extra key", "wrong shape", "3-D output layer",
    "truncated", "another method's",
    "lifter as the denoiser", "denoiser as the lifter"])
def test_bad_input_is_refused_in_one_line_and_nothing_is_written(
    files, tmp_path, case):
  kwargs, match = _bad_files(files, tmp_path)[case]
  released_weights.assert_refused(lambda w: import_lib.import_weights(
      "diffpose", _request(files, w, **kwargs)), tmp_path, match)


def test_encoder_required_and_variants_must_agree(files, tmp_path):
  req = released_configs.request("diffpose", files["checkpoint"],
                                 str(tmp_path / "w"),
                                 config_file=files["config"])
  with pytest.raises(lifter_released.ReleasedCheckpointError,
                     match="--encoder: missing"):
    import_lib.import_weights("diffpose", req)
  gt = tmp_path / "diffpose_uvxyz_gt.pth"
  gt.write_bytes(open(files["checkpoint"], "rb").read())
  with pytest.raises(lifter_released.ReleasedCheckpointError,
                     match="matching pair"):
    import_lib.import_weights("diffpose", _request(
        files, tmp_path / "w", checkpoint=str(gt)))
  assert not (tmp_path / "w").exists()


# ----------------------------------------------------------- conventions
def test_released_basis_layer_norm_and_adjacency_norm():
  np.testing.assert_allclose(
      gl.chebyshev_basis(17, gl.H36M_EDGES, 2, laplacian="row_normalised"),
      authors.chebyshev(2).numpy(), atol=1e-6)
  x = jax.random.normal(jax.random.key(0), (2, 17, 8))
  norm = gl.GraFormerLayerNorm(8)
  xn = np.asarray(x, np.float64)
  want = (xn - xn.mean(-1, keepdims=True)) / (xn.std(-1, ddof=1,
                                                      keepdims=True) + 1e-6)
  np.testing.assert_allclose(norm(x), want, rtol=1e-5, atol=1e-6)
  ffn = gl.LearnedGraphFFN(8, 17, adjacency_norm="graformer",
                           rngs=nnx.Rngs(0))
  m = jnp.eye(17) + 0.1
  ffn.adjacency[...] = m
  d = (m.sum(0) + 1e-5) ** -0.5
  plain = gl.LearnedGraphFFN(8, 17, rngs=nnx.Rngs(0))
  plain.adjacency[...] = d[:, None] * m * d[None, :]
  np.testing.assert_allclose(ffn(x), plain(x), rtol=1e-5, atol=1e-6)
  # jaxpose's defaults are unchanged.
  assert gl.Conventions() == gl.Conventions(
      laplacian="scaled", layer_norm="nnx", adjacency_norm="none",
      attention_dropout=0.0)
  with pytest.raises(ValueError, match="laplacian: expected one of"):
    gl.chebyshev_basis(17, gl.H36M_EDGES, 2, laplacian="row")
