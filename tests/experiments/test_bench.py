"""Tests of experiments/bench: timing, roofline shapes, the bench entry
point, the time-embedding check, the sampler curves and the choice of the
default sampler."""
import contextlib
import json
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.bench import curves
from experiments.bench import programs
from experiments.bench import roofline
from experiments.bench import throughput
from experiments.bench import timing
from experiments.bench import torch_client
from jaxpose import files
from jaxpose import models
from jaxpose.core import host_memory
from jaxpose.core import sampling
from jaxpose.core import xla_options
from jaxpose.methods.gfpose import problems

SMALL = dict(hidden=16, embed_dim=8, num_blocks=1, num_groups=4)
EPS = 1e-3  # the samplers' end time


@pytest.fixture(scope="module")
def small_net():
  """A small GFPose model (gfpose_base's SDE and layout) and its parameters."""
  model, _ = throughput.bench_model(**SMALL)
  return model, model.init(jax.random.key(0))


def test_time_fn_median_and_warmup():
  calls = []

  def fn(x):
    calls.append(1)
    return x + 1

  out = timing.time_fn(fn, jnp.ones(3), warmup=2, repeats=3)
  assert len(calls) == 5
  assert len(out["times_s"]) == 3
  assert out["median_s"] == sorted(out["times_s"])[1]
  assert out["first_call_s"] > 0 and out["min_s"] <= out["median_s"]
  with pytest.raises(ValueError, match="repeats"):
    timing.time_fn(fn, 1.0, repeats=0)


def test_dense_shapes_match_parameters(small_net):
  params = small_net[1]
  d, h, e = 51, SMALL["hidden"], SMALL["embed_dim"]
  # Layers: time_embed, cond_embed, first (lin, lin_t, lin_c), one block of
  # two such layers, out; the time path sees one row when t is shared.
  expected = sorted([
      (1, e, e), (7, d, h),
      (7, d, h), (1, e, h), (7, h, h),
      (7, h, h), (1, e, h), (7, h, h),
      (7, h, h), (1, e, h), (7, h, h),
      (7, h, d)])
  got = roofline.dense_shapes(params, 7, shared_rows=1)
  assert sorted(got) == expected
  # Every kernel is counted once, and flops of the products equal the
  # weight count times 2 m (no bias in the products).
  kernels = sum(k * n for _, k, n in got)
  biases = sum(n for _, _, n in got)
  norm = 2 * 3 * h  # GroupNorm scale and bias of the three layers
  assert kernels + biases + norm == models.count_params(params)
  train_shapes = roofline.dense_shapes(params, 7)
  assert all(m == 7 for m, _, _ in train_shapes)
  assert roofline.matmul_flops(train_shapes, backward=True) == 3 * 2 * 7 * kernels


def test_dense_shapes_rejects_params_without_kernels():
  with pytest.raises(ValueError, match="kernel"):
    roofline.dense_shapes({"w": jnp.ones(3)}, 4)


def test_matmul_roofline_positive():
  out = roofline.matmul_roofline([(4, 8, 16), (1, 8, 8)], repeats=2)
  assert out["median_s"] > 0 and out["gflops"] > 0
  assert out["flops"] == 2 * (4 * 8 * 16 + 8 * 8)
  back = roofline.matmul_roofline([(4, 8, 16)], backward=True, repeats=1)
  assert back["flops"] == 3 * 2 * 4 * 8 * 16
  with pytest.raises(ValueError, match="shapes"):
    roofline.matmul_roofline([(4, 0, 2)])


def test_time_embedding_once_per_step_under_vmap(small_net):
  model, params = small_net
  b, h = 2, 3
  task = problems.estimation_problem(jnp.zeros((b, 17, 2)))
  sampler = model.make_sampler("euler_maruyama", 4, eps=EPS)
  info = roofline.time_embedding_is_shared(
      programs.make_hypotheses_fn(sampler, h), params, jax.random.key(0), task)
  assert info["once_per_step"], info
  assert info["host_callbacks"] == [] and "scan" in info["loop_primitives"]

  # The check can fail: a time per example embeds B rows per hypothesis
  # batch, and a time that depends on x (so vmap batches it) B * H rows.
  for time_of, rows in ((lambda x, t: jnp.full((x.shape[0],), t), b),
                        (lambda x, t: t + 0.0 * x[:, 0, 0], b * h)):
    def per_example_t(p, x, t, cond, time_of=time_of):
      return model.score_fn(p, x, time_of(x, t), cond)
    bad = sampling.make_sampler("euler_maruyama", model.sde, per_example_t,
                                num_steps=4)
    info = roofline.time_embedding_is_shared(
        programs.make_hypotheses_fn(bad, h), params, jax.random.key(0), task)
    assert not info["once_per_step"] and info["embedding_rows"] == [rows]


def test_flat_hypotheses_same_shape_and_distribution_family(small_net):
  model, params = small_net
  task = problems.estimation_problem(jnp.zeros((2, 17, 2)))
  sampler = model.make_sampler("deterministic", 3, eps=EPS)
  key = jax.random.key(1)
  vm = programs.make_hypotheses_fn(sampler, 4)(params, key, task)
  flat = programs.make_flat_hypotheses_fn(sampler, 4)(params, key, task)
  assert vm.shape == flat.shape == (4, 2, 17, 3)
  # A deterministic sampler from the same start gives the same output, so
  # hypothesis h of the flat batch equals the sampler on its own start.
  x0 = sampler(params, key, sampling.Problem(
      x_init=jnp.zeros((8, 17, 3)), cond=jax.tree.map(
          lambda a: jnp.concatenate([a] * 4), task.cond)))
  np.testing.assert_allclose(flat, x0.reshape(4, 2, 17, 3), rtol=1e-5,
                             atol=1e-5)


def test_nfe_counts(small_net):
  model, params = small_net
  sde, score_fn = model.sde, model.score_fn
  task = problems.estimation_problem(jnp.zeros((1, 17, 2)))
  key = jax.random.key(0)
  for name, steps in (("euler_maruyama", 3), ("pc", 2), ("ode", 2)):
    n = curves.count_nfe(name, sde, score_fn, params, key, task,
                         num_steps=steps, num_hypotheses=2)
    assert n == steps * curves.nfe_per_step(name), name
  assert curves.nfe_per_step("pc", num_corrector_steps=2) == 3
  assert curves.nfe_per_step("ode", solver="euler") == 1
  n = curves.count_nfe("ode_adaptive", sde, score_fn, params, key, task,
                       num_steps=10, num_hypotheses=2, rtol=1e-2, atol=1e-2)
  # Tsit5: 6 new evaluations per attempted step (first-same-as-last), plus
  # possibly the one at the start.
  assert n >= 6 and n % 6 in (0, 1), n
  with pytest.raises(ValueError, match="method"):
    curves.nfe_per_step("ode_adaptive")


@pytest.mark.slow
def test_curve_point_samples_like_the_evaluation(small_net):
  """A curve point is GFPoseModel.sample_rows' output, compilation timed apart."""
  model, params = small_net
  rng = np.random.default_rng(0)
  rows = {"pose2d": rng.normal(size=(3, 17, 2)).astype(np.float32),
          "pose3d_mm": rng.normal(scale=100, size=(3, 17, 3)).astype(np.float32)}
  key = jax.random.key(2)
  row = curves.curve_point(model, params, rows, spec="ddim:eta=1", eps=EPS,
                           num_steps=2, num_hypotheses=2, chunk_size=2, key=key)
  assert (row["sampler"], row["steps"], row["nfe"]) == ("ddim:eta=1", 2, 2)
  assert row["label"] == "ddim:eta=1 2" and row["options"] == {"eta": 1}
  assert row["compile_s"] > 0 and row["wall_s"] > 0
  assert np.isfinite(row["best_of_h_mm"]) and set(row["best_of_h"]) == {"1", "2"}
  # The same hypotheses as the evaluation's own path (same keys per chunk).
  hyps = model.sample_rows(
      model.make_sampler("ddim:eta=1", 2, eps=EPS), params, key,
      lambda c: problems.estimation_problem(c["pose2d"]), {"pose2d": rows["pose2d"]},
      num_hypotheses=2, chunk_size=2, desc="test")
  from jaxpose.evaluation import estimation
  m = estimation.estimation_metrics(model.to_mm(hyps, rows), rows["pose3d_mm"],
                                    hypotheses_list=(1, 2))
  assert row["best_of_h_mm"] == pytest.approx(m["min_mpjpe_mm"], rel=1e-5)
  adaptive = curves.curve_point(
      model, params, rows, spec="ode_adaptive:rtol=0.01,atol=0.01", eps=EPS,
      num_hypotheses=1, chunk_size=3, key=key)
  assert adaptive["sampler"] == "ode_adaptive" and adaptive["steps"] is None
  assert adaptive["label"] == "ode_adaptive rtol=0.01" and adaptive["nfe"] >= 6
  with pytest.raises(ValueError, match="num_steps"):
    curves.curve_point(model, params, rows, spec="ddim", eps=EPS,
                       num_hypotheses=1, chunk_size=1, key=key)
  with pytest.raises(ValueError, match="adaptive_tols"):
    curves.run_sampler_curves(model, params, rows, key=key, eps=EPS,
                              samplers=["ode_adaptive:rtol=0.1"])


def _row(sampler, steps, nfe, err, wall=None):
  return dict(sampler=sampler, steps=steps, nfe=nfe, best_of_h_mm=err,
              wall_s=wall, label=f"{sampler} {steps}")


def test_pick_default_on_hand_made_table():
  rows = [
      _row("euler_maruyama", 1000, 1000, 40.0, 100.0),
      _row("euler_maruyama", 100, 100, 40.8, 10.0),
      _row("euler_maruyama", 10, 10, 55.0, 1.0),
      _row("ode", 50, 100, 40.9, 9.0),      # same NFE, worse error than EM 100
      _row("pc", 20, 40, 41.2, 4.0),        # 1.2 mm worse: out
      _row("deterministic", 20, 20, 60.0, 2.0),
      _row("ode_adaptive", None, 60, 40.5, 6.0),
  ]
  d = curves.pick_default(rows)
  assert (d["sampler"], d["steps"]) == ("ode_adaptive", None)
  assert d["nfe_ratio"] == pytest.approx(1000 / 60)
  assert d["speedup"] == pytest.approx(100 / 6)
  assert d["meets_target"]
  # Without the adaptive row, the tie at NFE 100 goes to the lower error.
  d = curves.pick_default(rows[:-1])
  assert (d["sampler"], d["steps"], d["nfe_ratio"]) == ("euler_maruyama", 100, 10.0)
  # A tighter tolerance leaves only the reference itself: ratio 1, target missed.
  d = curves.pick_default(rows, tolerance_mm=0.1)
  assert (d["sampler"], d["steps"], d["nfe_ratio"]) == ("euler_maruyama", 1000, 1.0)
  assert not d["meets_target"] and d["speedup"] == pytest.approx(1.0)
  with pytest.raises(ValueError, match="reference"):
    curves.pick_default(rows[1:])
  # A diverged setting (NaN error) is never chosen, however cheap.
  d = curves.pick_default(rows + [_row("pc", 10, 20, float("nan"), 0.1)])
  assert d["sampler"] == "ode_adaptive"
  # Variants of a method are rows of their own, named by their spec, and a
  # variant at the reference's step count is not the reference.
  variants = rows[:-1] + [_row("euler_maruyama:grid_rho=2", 1000, 1000, 10.0, 100.0),
                          _row("ddim:eta=1", 30, 30, 40.5, 3.0)]
  d = curves.pick_default(variants)
  assert (d["sampler"], d["steps"]) == ("ddim:eta=1", 30)
  assert d["reference"]["best_of_h_mm"] == 40.0


def test_write_curves_turns_nan_into_null_and_plot_skips_it(tmp_path):
  rows = [_row("euler_maruyama", 10, 10, 50.0, 1.0),
          _row("euler_maruyama", 20, 20, 45.0, 2.0),
          _row("pc", 10, 20, float("nan"), 1.0)]
  for r in rows:
    r["mean_of_h_mm"] = r["best_of_h_mm"] + 5
  path, png = curves.write_curves(
      dict(rows=rows, num_poses=np.int64(3), num_hypotheses=2),
      os.path.join(tmp_path, "eval"))
  with open(path) as f:
    loaded = json.load(f)
  assert loaded["rows"][2]["best_of_h_mm"] is None and loaded["num_poses"] == 3
  assert os.path.basename(png) == "sampler_curves.png"
  assert os.path.getsize(png) > 0


@pytest.mark.slow
def test_run_bench_quick_writes_json(tmp_path):
  result = throughput.run_bench(quick=True, configs=((1, 1), (2, 3)),
                                train_batch=8, log=lambda s: None)
  path = files.write_json_atomic(os.path.join(tmp_path, "bench.json"), result)
  with open(path) as f:
    loaded = json.load(f)
  for key in ("hardware", "compile_s", "sampling", "train", "memory",
              "torch_reference", "network", "load_average_after"):
    assert key in loaded, key
  for key in ("devices", "cpu_model", "cpu_count", "jax_version",
              "load_average_1_5_15"):
    assert key in loaded["hardware"], key
  assert [(r["poses"], r["hypotheses"]) for r in loaded["sampling"]] == [(1, 1), (2, 3)]
  for r in loaded["sampling"]:
    assert r["hypothesis_steps_per_s"] > 0 and r["roofline_fraction"] > 0
    assert r["time_embedding"]["once_per_step"]
    assert "speedup_vs_torch" not in r  # quick sizes are not the paper's
  assert "flat_step_s" in loaded["sampling"][1]
  assert loaded["train"]["steps_per_s"] > 0
  assert loaded["train"]["roofline_fraction"] > 0
  assert np.isfinite(loaded["train"]["loss"])
  assert loaded["memory"]["host_peak_rss_mib"] > 0
  # Every row's own memory: the host's peak during it, its program's need.
  for r in loaded["sampling"] + [loaded["train"]]:
    assert r["memory"]["host_scope"] in ("row", "process")
    assert 0 < r["memory"]["host_peak_mib"] <= loaded["memory"][
        "host_peak_rss_mib"] + 1
    assert r["memory"]["program_mib"] > 0
  # More hypotheses, more memory for the program.
  assert (loaded["sampling"][1]["memory"]["program_mib"]
          > loaded["sampling"][0]["memory"]["program_mib"])


def test_time_interleaved_alternates_and_skips_warmup():
  order = []
  calls = {"a": (lambda: order.append("a") or 1.0, ()),
           "b": (lambda x: order.append("b") or x, (2.0,))}
  times = timing.time_interleaved(calls, rounds=3, warmup=1)
  assert order == ["a", "b"] * 4  # one warm-up round, then three timed ones
  assert {k: len(v) for k, v in times.items()} == {"a": 3, "b": 3}
  assert all(t >= 0 for v in times.values() for t in v)
  with pytest.raises(ValueError, match="rounds"):
    timing.time_interleaved(calls, rounds=0)


# A stand-in for experiments/bench/torch_reference.py --serve (no torch needed):
# it answers with fixed times, or fails, as the real server would.
_FAKE_SERVER = '''
import json, sys
args = sys.argv[1:]
for line in sys.stdin:
  req = json.loads(line)
  if req["op"] == "info":
    reply = {"torch_version": "fake", "compiled": "--compile" in args}
  elif req["op"] == "em":
    reply = {"s": 0.001 * req["steps"]}
  elif req["op"] == "memory":
    reply = {"host_peak_mib": 100.0, "host_scope": "since the last memory call"}
  elif req["op"] == "matmul":
    reply = {"s": 0.002 * (3 if req["backward"] else 1)}
  elif req["op"] == "train":
    if "--die" in args:
      sys.exit(3)
    reply = {"s": 0.5}
  else:
    reply = {"error": "ValueError: unknown op " + repr(req["op"])}
  print(json.dumps(reply), flush=True)
'''


@pytest.fixture
def fake_server(tmp_path):
  path = os.path.join(tmp_path, "fake_torch_reference.py")
  with open(path, "w") as f:
    f.write(_FAKE_SERVER)
  return path


def test_torch_reference_client_speaks_the_protocol(fake_server):
  with torch_client.TorchReference(sys.executable, fake_server) as ref:
    assert ref.info == {"torch_version": "fake", "compiled": False}
    assert ref.em(rows=3200, steps=10) == pytest.approx(0.01)
    assert ref.train(batch=1000) == 0.5
    with pytest.raises(RuntimeError, match="unknown op"):
      ref.request(op="nonsense")
    # The server survives a failed request.
    assert ref.train(batch=8) == 0.5
  with torch_client.TorchReference(sys.executable, fake_server,
                                   extra_args=["--die"]) as ref:
    with pytest.raises(RuntimeError, match="exited with code 3"):
      ref.train(batch=8)
  with pytest.raises(FileNotFoundError, match="torch reference"):
    torch_client.TorchReference(sys.executable, fake_server + ".missing")


def test_start_torch_refs_names_modes_and_rejects_unknown(fake_server):
  assert torch_client.start_torch_refs(None, fake_server) == {}
  with pytest.raises(ValueError, match="torch modes"):
    torch_client.start_torch_refs(sys.executable, fake_server, ["jit"])
  with contextlib.ExitStack() as stack:
    refs = torch_client.start_torch_refs(sys.executable, fake_server,
                                         torch_client.TORCH_MODES, stack)
    assert {n: r.info["compiled"] for n, r in refs.items()} == {
        "torch_eager": False, "torch_compiled": True}


def test_self_timed_calls_report_their_own_time():
  calls = {"ours": (lambda: None, ()), "theirs": (lambda: 7.0, ())}
  times = timing.time_interleaved(calls, rounds=2, self_timed=["theirs"])
  assert times["theirs"] == [7.0, 7.0] and times["ours"][0] < 1.0
  with pytest.raises(ValueError, match="self_timed"):
    timing.time_interleaved(calls, rounds=1, self_timed=["other"])


def test_side_by_side_torch_ratio_is_per_round(small_net, fake_server):
  model, params = small_net
  with torch_client.TorchReference(sys.executable, fake_server) as ref:
    # Enough rows for the samplers' XLA options (core.xla_options).
    r = throughput.bench_sampling_config(
        model, params, eps=EPS, num_poses=2, num_hypotheses=512, num_steps=3,
        repeats=3, flat=False, compare_torch=False,
        torch_refs={"torch_fake": ref})
  fake = r["torch_measured"]["torch_fake"]
  assert fake["step_s"] == pytest.approx(0.001)  # 0.003 s over 3 steps
  assert fake["speedup"] == pytest.approx(
      float(np.median([0.003 / t for t in r["run_times_s"]])))
  assert r["torch_fastest"] == "torch_fake"
  assert r["torch_memory"]["torch_fake"]["host_peak_mib"] == 100.0
  assert r["speedup_vs_torch_measured"] == fake["speedup"]
  # PyTorch's speed on the same products, beside jaxpose's.
  assert r["torch_matmul_gflops"] == pytest.approx(
      r["network_gflops_per_step"] / 0.002)
  # The sampler is also timed under XLA's default options, for comparison.
  assert r["compiler_options"] and r["xla_defaults_step_s"] > 0
  with pytest.raises(ValueError, match="quick sizes"):
    throughput.run_bench(quick=True, torch_refs={"torch_fake": ref})


_CPUINFO = """processor\t: 0
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC
physical id\t: 0
core id\t\t: 0
flags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512_bf16 amx_tile amx_bf16

processor\t: 1
physical id\t: 0
core id\t\t: 0
flags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512_bf16 amx_tile amx_bf16

processor\t: 2
physical id\t: 1
core id\t\t: 0
flags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512_bf16 amx_tile amx_bf16
"""


def test_cpu_details_count_cores_against_threads_and_name_the_extensions(
    monkeypatch):
  monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_use_thunk_runtime=true")
  monkeypatch.delenv("JAXPOSE_XLA_DEFAULTS", raising=False)
  got = timing.cpu_details(_CPUINFO)
  # Two hardware threads share package 0's core 0; package 1 has its own.
  assert got["cpu_physical_cores"] == 2 and got["cpu_hardware_threads"] == 3
  assert got["cpu_vector_extensions"] == [
      "sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_bf16", "amx_tile",
      "amx_bf16"]
  assert got["xla_flags"] == "--xla_cpu_use_thunk_runtime=true"
  assert got["cpu_family_model"] == "family 25 model 17"
  assert got["host_memory"] == host_memory.describe()
  assert got["xla_options_by_kind"] == xla_options.cpu_choice().options()
  assert got["xla_options_source"] == xla_options.cpu_choice().source
  monkeypatch.setenv("JAXPOSE_XLA_DEFAULTS", "1")
  off = timing.cpu_details(_CPUINFO)
  assert off["xla_options_by_kind"] == {}
  assert "JAXPOSE_XLA_DEFAULTS" in off["xla_options_source"]
  monkeypatch.setattr(timing.jax, "default_backend", lambda: "gpu")
  gpu = timing.cpu_details(_CPUINFO)  # the host CPU of a GPU machine
  assert gpu["xla_options_by_kind"] == {}
  assert gpu["xla_options_source"] == ("none: the options are the CPU's, not "
                                       "used on a GPU")
  empty = timing.cpu_details("")
  assert empty["cpu_physical_cores"] is None and not empty[
      "cpu_vector_extensions"] and empty["cpu_family_model"] is None
  assert "cpu_vector_extensions" in timing.hardware_info()
