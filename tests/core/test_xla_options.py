"""jaxpose.xla_options: the samplers' XLA options, where they apply, and
that they change speed only, not results."""
import ast
import inspect
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpose import models
from jaxpose.core import losses
from jaxpose.core import sampling
from jaxpose.core import sde as sde_lib
from jaxpose.core import xla_options

SMALL = dict(hidden=32, embed_dim=16, num_blocks=1, num_groups=8)


@pytest.fixture(scope="module")
def sampler():
  graphdef, params = models.create_model("score_mlp", key=jax.random.key(0),
                                         **SMALL)
  sde = sde_lib.get_sde("subvp", beta_min=0.1, beta_max=20.0)
  score_fn = losses.make_score_fn(models.make_apply(graphdef), sde)
  sample_fn = sampling.make_sampler("euler_maruyama", sde, score_fn,
                                    num_steps=4)
  problem = _task(jax.random.normal(jax.random.key(1), (3, 51)))
  return sample_fn, params, problem


@pytest.fixture(autouse=True)
def _an_avx2_cpu(monkeypatch):
  """The built-in rule of an x86 CPU with AVX2 and FMA, whatever the host
  (the tests of other CPUs set their own flags)."""
  monkeypatch.setattr(xla_options, "_host_flags", lambda: {"avx2", "fma"})


def _task(c):
  """A conditional problem: c `[B, 51]` with every entry observed."""
  return sampling.Problem(x_init=jnp.zeros_like(c), cond=(c, jnp.ones_like(c)))


def test_options_known_to_this_jaxlib_and_switched_off_by_env(monkeypatch):
  monkeypatch.delenv(xla_options.DEFAULTS_ENV, raising=False)
  assert xla_options.sampling_options() == xla_options.SAMPLING_CPU_OPTIONS
  monkeypatch.setenv(xla_options.DEFAULTS_ENV, "1")
  assert xla_options.sampling_options() == {}
  monkeypatch.setenv(xla_options.DEFAULTS_ENV, "0")
  assert xla_options.sampling_options() == xla_options.SAMPLING_CPU_OPTIONS


def test_no_options_where_the_default_backend_is_not_the_cpu(monkeypatch):
  monkeypatch.delenv(xla_options.DEFAULTS_ENV, raising=False)
  assert xla_options.sampling_options()
  monkeypatch.setattr(xla_options.jax, "default_backend", lambda: "gpu")
  assert xla_options.sampling_options() == {}
  assert xla_options.training_options() == {}
  assert xla_options.sampling_options(matmul_dtype="bfloat16") == {}


def test_training_options_and_the_env_switch(monkeypatch):
  monkeypatch.delenv(xla_options.DEFAULTS_ENV, raising=False)
  assert xla_options.training_options() == xla_options.TRAINING_CPU_OPTIONS
  monkeypatch.setenv(xla_options.DEFAULTS_ENV, "1")
  assert xla_options.training_options() == {}


def test_small_and_large_samplers_get_their_own_options(monkeypatch):
  monkeypatch.delenv(xla_options.DEFAULTS_ENV, raising=False)
  monkeypatch.setattr(xla_options, "_host_flags", lambda: {"avx2", "fma"})
  small = xla_options.SAMPLING_MIN_ROWS - 1
  assert xla_options.sampling_options(rows=small) == (
      xla_options.PRODUCTS_ALONE_CPU_OPTIONS)
  assert xla_options.sampling_options(rows=small + 1) == (
      xla_options.SAMPLING_CPU_OPTIONS)


def test_bfloat16_products_go_to_ynnpack_one_by_one(monkeypatch):
  """At every size: the products alone in YNNPACK subgraphs, the rest in
  XLA's fusions (what experiments.bench.precision measured fastest)."""
  monkeypatch.delenv(xla_options.DEFAULTS_ENV, raising=False)
  for rows in (1, None):
    assert xla_options.sampling_options(rows, matmul_dtype="bfloat16") == (
        xla_options.BFLOAT16_CPU_OPTIONS)
  _, params = models.create_model("score_mlp", key=jax.random.key(0), **SMALL)
  network = models.NetworkSpec("score_mlp", SMALL).build()
  low = models.with_matmul_dtype(network, "bfloat16")
  x, c = jnp.ones((4, 51)), (jnp.ones((4, 51)), jnp.ones((4, 51)))
  text = jax.jit(low.apply, compiler_options=xla_options.sampling_options(
      matmul_dtype="bfloat16")).lower(params, x, 0.5, c).compile().as_text()
  assert "ynn_fusion" in text
  # Each YNNPACK subgraph is one product, the elementwise work around them
  # XLA's own.
  fusions = [line for line in text.splitlines()
             if line.strip().startswith("%ynn_fusion")]
  assert len(fusions) >= 5
  assert all('op_name="jit(apply_fn)/dot_general"' in line
             for line in fusions), fusions
  monkeypatch.setenv(xla_options.DEFAULTS_ENV, "1")
  assert xla_options.sampling_options(matmul_dtype="bfloat16") == {}


def test_bfloat16_on_a_cpu_without_its_units_is_warned_once(monkeypatch,
                                                            caplog):
  amx = "processor : 0\nflags : fpu sse2 avx512f avx512_bf16 amx_bf16\n"
  assert {"avx512_bf16", "amx_bf16"} <= xla_options.cpu_flags(amx)
  assert xla_options.cpu_flags("no flags here") is None
  xla_options.warn_if_emulated.cache_clear()
  monkeypatch.setattr(xla_options, "cpu_flags", lambda: {"avx2", "fma"})
  with caplog.at_level("WARNING"):
    assert xla_options.warn_if_emulated("bfloat16")
    assert xla_options.warn_if_emulated("bfloat16")  # cached: said once
  assert caplog.text.count("without bfloat16 units") == 1
  assert not xla_options.warn_if_emulated("float32")
  monkeypatch.setattr(xla_options, "cpu_flags", lambda: {"avx512_bf16"})
  xla_options.warn_if_emulated.cache_clear()
  assert not xla_options.warn_if_emulated("bfloat16")
  xla_options.warn_if_emulated.cache_clear()


_ARM = "processor : 0\nFeatures : fp asimd evtstrm aes crc32 atomics\n"


def test_builtin_choice_by_the_cpus_extensions(monkeypatch):
  """x86 with AVX2 and FMA (where the options were measured) gets them; any
  other CPU keeps XLA's defaults for every kind of program."""
  monkeypatch.delenv(xla_options.DEFAULTS_ENV, raising=False)
  assert xla_options.builtin_choice({"sse4_2", "avx2", "fma"}) is (
      xla_options.MEASURED_X86)
  assert xla_options.builtin_choice({"avx2", "fma", "avx512f", "amx_tile"}) is (
      xla_options.MEASURED_X86)
  assert xla_options.MEASURED_X86.sampling_small == (
      xla_options.PRODUCTS_ALONE_CPU_OPTIONS)
  assert xla_options.builtin_choice({"avx"}) is xla_options.UNMEASURED
  assert xla_options.builtin_choice(xla_options.cpu_flags(_ARM)) is (
      xla_options.UNMEASURED)
  assert xla_options.MEASURED_X86.sampling_large == (
      xla_options.SAMPLING_CPU_OPTIONS)
  monkeypatch.setattr(xla_options, "_host_flags", lambda: None)
  assert xla_options.sampling_options() == {}
  assert xla_options.training_options() == {}
  monkeypatch.setattr(xla_options, "_host_flags", lambda: {"avx2", "fma"})
  assert xla_options.sampling_options() == xla_options.SAMPLING_CPU_OPTIONS
  assert xla_options.cpu_model("model name\t: Some CPU @ 2GHz\n") == (
      "Some CPU @ 2GHz")


def test_a_choice_measured_on_this_cpu_is_used(tmp_path, monkeypatch):
  monkeypatch.delenv(xla_options.DEFAULTS_ENV, raising=False)
  path = str(tmp_path / "choice.json")
  monkeypatch.setenv(xla_options.CHOICE_ENV, path)
  assert xla_options.cpu_choice() is xla_options.MEASURED_X86  # no file yet
  dots = dict(xla_options.TRAINING_CPU_OPTIONS)
  xla_options.write_choice(path, {"sampling_small": dots,
                                  "sampling_large": dots, "training": {}},
                           measured_by="a test")
  choice = xla_options.cpu_choice()
  assert path in choice.source  # tmp_path: outside the home folder
  assert xla_options.sampling_options(rows=1) == dots
  assert xla_options.sampling_options() == dots
  assert xla_options.training_options() == {}
  monkeypatch.setenv(xla_options.DEFAULTS_ENV, "1")
  assert xla_options.sampling_options() == {}


def test_a_choice_from_another_cpu_or_a_broken_file_is_ignored_with_a_warning(
    tmp_path, monkeypatch, caplog):
  monkeypatch.delenv(xla_options.DEFAULTS_ENV, raising=False)
  builtin = xla_options.MEASURED_X86
  path = tmp_path / "choice.json"
  monkeypatch.setenv(xla_options.CHOICE_ENV, str(path))
  xla_options.write_choice(str(path), {k: {} for k in xla_options.CHOICE_KINDS},
                           measured_by="a test")
  record = json.loads(path.read_text())
  record["cpu_model"] = "Another CPU"
  path.write_text(json.dumps(record))
  with caplog.at_level("WARNING"):
    assert xla_options.cpu_choice() == builtin
  assert "Another CPU" in caplog.text and "--install" in caplog.text
  caplog.clear()
  path.write_text("{not json")
  with caplog.at_level("WARNING"):
    assert xla_options.cpu_choice() == builtin
  assert str(path) in caplog.text
  monkeypatch.setenv(xla_options.CHOICE_ENV, "")
  assert xla_options.cpu_choice() == builtin


def test_paths_in_the_home_folder_are_written_from_tilde(monkeypatch):
  monkeypatch.setenv("HOME", "/home/someone")
  assert xla_options.home_relative("/home/someone/.cache/x.json") == (
      "~/.cache/x.json")
  assert xla_options.home_relative("/home/someone2/x.json") == (
      "/home/someone2/x.json")
  assert xla_options.home_relative("/tmp/x.json") == "/tmp/x.json"
  source = xla_options.parse_choice(
      {"options": {k: {} for k in xla_options.CHOICE_KINDS}},
      path="/home/someone/.cache/jaxpose/xla_cpu_choice.json").source
  assert "~/.cache/jaxpose/xla_cpu_choice.json" in source
  assert "/home/someone" not in source


def test_a_choice_record_is_checked():
  good = {k: {} for k in xla_options.CHOICE_KINDS}
  assert xla_options.parse_choice({"options": good}).training == {}
  with pytest.raises(ValueError, match=r"missing \['training'\]"):
    xla_options.parse_choice({"options": {"sampling_small": {},
                                          "sampling_large": {}}})
  with pytest.raises(ValueError, match="xla_"):
    xla_options.parse_choice({"options": {**good, "training": {"fast": 1}}})
  with pytest.raises(ValueError, match="not a choice record"):
    xla_options.parse_choice([1, 2])


def test_fast_sampling_picks_the_program_by_rows(sampler, monkeypatch):
  monkeypatch.delenv(xla_options.DEFAULTS_ENV, raising=False)
  monkeypatch.setattr(xla_options, "_host_flags", lambda: {"avx2", "fma"})
  sample_fn, params, _ = sampler
  fast = xla_options.fast_sampling(sample_fn)
  assert xla_options.fast_sampling(fast) is fast
  assert fast.jitted is sample_fn.jitted  # the sampler's own attributes
  key = jax.random.key(2)
  rows = xla_options.SAMPLING_MIN_ROWS
  big = _task(jnp.zeros((rows, 51)))
  small = _task(jnp.zeros((8, 51)))
  top_level = sample_fn.program(xla_options.sampling_options())
  assert top_level is not sample_fn.jitted
  small_program = sample_fn.program(xla_options.sampling_options(rows=8))
  assert small_program is not top_level
  before = (top_level._cache_size(), small_program._cache_size())
  fast(params, key, big)
  assert top_level._cache_size() == before[0] + 1
  fast(params, key, small)
  assert small_program._cache_size() == before[1] + 1
  assert top_level._cache_size() == before[0] + 1
  # Hypotheses count rows as poses x hypotheses: 8 x 50 = 400.
  hyp = sample_fn.hypotheses_program(xla_options.sampling_options())
  before = hyp._cache_size()
  fast.hypotheses(params, key, small, rows // 8)
  assert hyp._cache_size() == before + 1
  fast.hypotheses(params, key, small, 2)
  assert hyp._cache_size() == before + 1


def test_generic_sampler_imports_no_options():
  from jaxpose.core import samplers
  for module in (sampling, samplers):
    tree = ast.parse(inspect.getsource(module))
    imported = [alias.name for node in ast.walk(tree)
                if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in node.names]
    assert "xla_options" not in imported, module.__name__
    assert not any("xla_options" in name for name in imported)


def test_unknown_option_is_reported_unsupported_not_raised():
  assert not xla_options._supported("xla_cpu_no_such_option_in_any_xla", "")
  assert xla_options._supported("xla_cpu_experimental_ynn_fusion_type", "")


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="CPU passes only")
def test_top_level_sampler_program_has_no_ynnpack_subgraphs(sampler):
  sample_fn, params, problem = sampler
  key = jax.random.key(0)
  top_level = sample_fn.program(xla_options.sampling_options())
  ours = top_level.lower(params, key, problem).compile().as_text()
  default = sample_fn.jitted.lower(params, key, problem).compile().as_text()
  assert "ynn_fusion" not in ours
  # If XLA ever stops making YNNPACK subgraphs by default, the option (and
  # the measurement in experiments/results/bench_sampling_cpu.json) need a
  # second look.
  assert "ynn_fusion" in default


def test_options_change_speed_not_samples(sampler):
  sample_fn, params, problem = sampler
  key = jax.random.key(5)
  options = xla_options.sampling_options()
  ours = sample_fn(params, key, problem, compiler_options=options)
  default = sample_fn(params, key, problem)
  np.testing.assert_allclose(ours, default, rtol=1e-4, atol=1e-4)
  ours = sampling.sample_hypotheses(sample_fn, params, key, problem, 3,
                                    compiler_options=options)
  default = sampling.sample_hypotheses(sample_fn, params, key, problem, 3)
  np.testing.assert_allclose(ours, default, rtol=1e-4, atol=1e-4)


def test_sampling_inside_a_users_jit_and_vmap(sampler):
  # Options are only legal on a top-level jit: nested calls must drop them.
  sample_fn, params, problem = sampler
  key = jax.random.key(6)
  options = xla_options.sampling_options()
  direct = sampling.sample_hypotheses(sample_fn, params, key, problem, 2,
                                      compiler_options=options)
  fast = xla_options.fast_sampling(sample_fn)

  @jax.jit
  def users_program(p, k):
    a = sampling.sample_hypotheses(sample_fn, p, k, problem, 2,
                                   compiler_options=options)
    return a, fast.hypotheses(p, k, problem, 2), fast(p, k, problem)

  inside, inside_fast, one_fast = users_program(params, key)
  np.testing.assert_allclose(inside_fast, direct, rtol=1e-4, atol=1e-4)
  assert one_fast.shape == direct.shape[1:]
  np.testing.assert_allclose(inside, direct, rtol=1e-4, atol=1e-4)

  keys = jax.random.split(key, 2)
  vmapped = jax.vmap(lambda k: sample_fn(params, k, problem))(keys)
  np.testing.assert_allclose(vmapped, direct, rtol=1e-4, atol=1e-4)
  one = jax.jit(lambda k: sample_fn(params, k, problem))(key)
  assert one.shape == direct.shape[1:] and bool(jnp.all(jnp.isfinite(one)))


def test_the_compilation_cache_keeps_a_slow_program_for_the_next_process(
    tmp_path):
  # In a child process: the global config is left alone here. The fit to
  # 2D compiles for well over CACHE_MIN_COMPILE_S; a second process loads
  # its program (JAX's compiler log says so).
  import subprocess  # pylint: disable=import-outside-toplevel
  import sys  # pylint: disable=import-outside-toplevel
  root = __file__.rsplit("/tests/", 1)[0]
  script = (
      "import logging; import numpy as np\n"
      "logging.basicConfig()\n"
      "logging.getLogger('jax._src.compiler').setLevel(logging.DEBUG)\n"
      "from jaxpose.core import xla_options\n"
      f"assert xla_options.use_compilation_cache({str(tmp_path)!r})\n"
      "from jaxpose.pose import fit_2d\n"
      "pose = np.random.default_rng(0).normal(0, 200, (5, 17, 3))\n"
      "root = np.tile([0.0, 0.0, 4000.0], (5, 1))\n"
      "px = np.full((5, 17, 2), 500.0)\n"
      "s = fit_2d.FitSettings(iterations=3)\n"
      "fit_2d.fit(pose, root, px, np.ones((5, 17)), [1e3, 1e3, 500, 500],"
      " fps=30.0, settings=s)\n")
  run = lambda: subprocess.run([sys.executable, "-c", script], cwd=root,
                               check=True, capture_output=True,
                               text=True).stderr
  hit = "Persistent compilation cache hit for 'jit__solve'"
  assert hit not in run()
  assert any(p.name.startswith("jit__solve") for p in tmp_path.iterdir())
  assert hit in run()
  assert xla_options.use_compilation_cache("") == ""
