"""Chunk sizes chosen from the memory at hand (`chunks.fit_to_memory`):
measured on the compiled program, halved until it fits, said in the log."""
import jax
import jax.numpy as jnp
import numpy as np

from jaxpose.core import xla_options
from jaxpose.evaluation import chunks
from jaxpose.methods.dposer import tto
from jaxpose.methods.gfpose import problems
from tests.methods import test_baseline as baseline
from tests.methods import test_gfpose_eval as gf


def _compile_for(size):
  """A program whose memory grows with the chunk: [size, 256] @ [256, 256]."""
  w = jnp.ones((256, 256), jnp.float32)
  return jax.jit(lambda x: jnp.tanh(x @ w) @ w).lower(
      jnp.ones((size, 256), jnp.float32)).compile()


def test_the_measured_program_grows_with_its_chunk():
  small, large = (chunks.program_bytes(_compile_for(s)) for s in (8, 512))
  # Each row holds at least its input and output, 2 x 256 float32.
  assert large - small >= (512 - 8) * 2 * 256 * 4
  assert chunks.free_memory_bytes() > 0


def test_a_chunk_that_fits_is_kept_and_one_that_does_not_is_halved(caplog):
  need = {s: chunks.program_bytes(_compile_for(s)) for s in (64, 32, 16)}
  size, compiled = chunks.fit_to_memory(64, 1000, _compile_for, desc="t",
                                        free_bytes=10 * need[64])
  assert size == 64 and chunks.program_bytes(compiled) == need[64]
  # Room for 16 rows' program (at half the free memory), not for 32.
  free = int(2 * need[16]) + 1
  assert need[32] > free / 2
  with caplog.at_level("INFO"):
    size, compiled = chunks.fit_to_memory(64, 1000, _compile_for, desc="t",
                                          free_bytes=free)
  assert size == 16
  assert compiled(jnp.ones((16, 256))).shape == (16, 256)
  assert "running chunks of 16" in caplog.text
  assert "chunks of 16 rows need" in caplog.text
  # Never below one row, and never above the rows there are.
  assert chunks.fit_to_memory(64, 1000, _compile_for, desc="t",
                              free_bytes=1)[0] == 1
  assert chunks.fit_to_memory(64, 5, _compile_for, desc="t",
                              free_bytes=10**12)[0] == 5


def test_gfpose_samples_in_the_chunks_its_memory_allows(monkeypatch, caplog):
  setup, _ = gf._method(init_params=True, num_poses=6, num_hypotheses=3,
                        num_steps=2, batch_poses=6)
  trained = setup.trained
  model = trained.model
  rows = {"pose2d": np.asarray(setup.data.splits["test"]["pose2d"][:6])}

  def draw():
    return model.sample_rows(
        model.make_sampler("ddim", 2, eps=1e-3), trained.params,
        jax.random.key(0), lambda c: problems.estimation_problem(c["pose2d"]),
        rows, num_hypotheses=3, chunk_size=6, desc="estimate")

  roomy = draw()
  # As before sizes were fitted: the jitted sampler in one chunk of 6.
  sampler = model.make_sampler("ddim", 2, eps=1e-3)
  problem = problems.estimation_problem(jnp.asarray(rows["pose2d"]))
  before = sampler.hypotheses(
      trained.params, jax.random.fold_in(jax.random.key(0), 0), problem, 3,
      compiler_options=xla_options.sampling_options(rows=18))
  np.testing.assert_array_equal(roomy, np.asarray(before))
  monkeypatch.setattr(chunks, "free_memory_bytes", lambda device=None: 1)
  with caplog.at_level("INFO"):
    tight = draw()
  assert tight.shape == roomy.shape == (3, 6, 17, 3)
  assert np.isfinite(tight).all()
  assert "estimate: 6 rows in chunks of 1" in caplog.text


def test_a_lifter_sizes_its_chunks_and_lifts_the_same(monkeypatch, caplog):
  """A lifter draws nothing: chunks of any size lift the same poses."""
  model, _ = baseline._model(baseline.tiny_config())
  params = model.init(jax.random.key(0))
  x = np.asarray(jax.random.normal(jax.random.key(3), (13, 17, 2)))
  roomy = model.predict(params, x, batch_size=13)
  np.testing.assert_allclose(roomy, np.asarray(model.lift(params, x)),
                             rtol=1e-5, atol=1e-6)
  monkeypatch.setattr(chunks, "free_memory_bytes", lambda device=None: 1)
  with caplog.at_level("INFO"):
    tight = model.predict(params, x, batch_size=13)
  assert "lift: 13 rows in chunks of 1" in caplog.text
  np.testing.assert_allclose(tight, roomy, rtol=1e-5, atol=1e-6)


def test_tto_examples_are_sized_from_memory(monkeypatch, caplog):
  # Each example: its x doubled, then one draw from its own key.
  solve = tto.batched(lambda x, key: jnp.concatenate(
      [x * 2.0, jax.random.uniform(key, (1,))]))
  inputs = {"x": np.arange(12, dtype=np.float32).reshape(6, 2)}
  key = jax.random.key(0)
  roomy = tto.map_examples(solve, inputs, key, batch_size=6, desc="fit")
  # As before sizes were fitted: the jitted solve on one chunk of 6.
  before = solve(x=jnp.asarray(inputs["x"]), key=tto.example_keys(
      jax.random.fold_in(key, 0), 6))
  np.testing.assert_array_equal(roomy, np.asarray(before))
  monkeypatch.setattr(chunks, "free_memory_bytes", lambda device=None: 1)
  with caplog.at_level("INFO"):
    tight = tto.map_examples(solve, inputs, key, batch_size=6, desc="fit")
  assert "fit: 6 rows in chunks of 1" in caplog.text
  np.testing.assert_array_equal(tight[:, :2], roomy[:, :2])
  assert not np.array_equal(tight[:, 2], roomy[:, 2])  # other keys, said
