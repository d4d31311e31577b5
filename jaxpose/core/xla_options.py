"""XLA compiler options for jaxpose's samplers and training steps.

On the CPU, XLA (jaxlib 0.10) gives dense products to YNNPACK, and by
default it also moves the elementwise and reduction work around them
(bias, GroupNorm, SiLU) into the same YNNPACK subgraphs.  For the score
network's sampling step that is the slower choice at large batches;
turning YNNPACK fusion off leaves the products to XLA's own CPU dot and the
rest to its loop fusions.  Small programs go the other way, so samplers
take these options (SAMPLING_CPU_OPTIONS) from SAMPLING_MIN_ROWS rows
(poses x hypotheses) on; the speed-ups by rows are measured in
experiments/results/bench_sampling_cpu.json. A network with bfloat16
products (`eval.matmul_dtype`) gets BFLOAT16_CPU_OPTIONS instead: its
products alone in YNNPACK, which runs them on the CPU's bfloat16 units.

Training steps get TRAINING_CPU_OPTIONS (`training_options`): the products
alone in YNNPACK (XLA's own dot is slower on a training step's backward
products) and the elementwise work (GroupNorm, SiLU, dropout's hash, Adam,
EMA) in XLA's own loop fusions; `training.parallel.jit_train_step`
compiles with them, and `experiments.bench.sampling`/`.tto` time the
training steps both ways.

The generic samplers in `jaxpose.core.sampling` pick no options.  A caller
opts in either explicitly,

  sampler.hypotheses(params, key, problem, H,
                     compiler_options=sampling_options(rows=B * H))

or by wrapping the sampler, `fast_sampling(sampler)`, which picks them by
rows on every call from outside any jit.

The options name CPU passes only, which GPU and TPU compilers do not run
(XLA accepts every option on every backend).  `experiments.bench.sampling`
times the sampler both ways, so the choice can be checked on other
hardware; JAXPOSE_XLA_DEFAULTS=1 in the environment turns the options off.
"""
from __future__ import annotations

import functools
import os

from absl import logging
import jax

from jaxpose import checks

# An empty list of YNNPACK fusion types: no YNNPACK subgraphs at all.
SAMPLING_CPU_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": ""}

# bfloat16 products (`models.precision`): YNNPACK multiplies them on the
# CPU's bfloat16 units where XLA's own dot converts them to float32, and
# YNNPACK subgraphs that also take the elementwise work are slower at large
# batches: so the products alone go to YNNPACK, one by one, at every size
# (experiments.bench.precision).
BFLOAT16_CPU_OPTIONS = {
    "xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT"}

# Training steps: products alone in YNNPACK, the rest in XLA's fusions.
TRAINING_CPU_OPTIONS = {
    "xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT"}

DEFAULTS_ENV = "JAXPOSE_XLA_DEFAULTS"

# Rows (poses x hypotheses) a sampler program needs for the options.
SAMPLING_MIN_ROWS = 400


@functools.cache
def _supported(name: str, value: str) -> bool:
  """Whether this jaxlib knows the option (it is experimental in XLA)."""
  try:
    jax.jit(lambda x: x, compiler_options={name: value}).lower(0.0).compile()
  except Exception as e:  # jaxlib's error type has moved between releases
    if "compile option" in str(e) or "not a valid" in str(e):
      return False
    raise
  return True


def cpu_flags(cpuinfo: str | None = None) -> set[str] | None:
  """The host CPU's feature flags (/proc/cpuinfo), None where unknown."""
  if cpuinfo is None:
    try:
      with open("/proc/cpuinfo") as f:
        cpuinfo = f.read()
    except OSError:
      return None
  for line in cpuinfo.splitlines():
    if line.startswith("flags"):
      return set(line.partition(":")[2].split())
  return None


@functools.lru_cache(maxsize=None)
def warn_if_emulated(matmul_dtype: str) -> bool:
  """Warns (once) when bfloat16 products run on a CPU without bfloat16 units
  (AVX-512 bf16, AMX): XLA then emulates them, likely slower than float32.
  Whether it warned."""
  if matmul_dtype != "bfloat16" or jax.default_backend() != "cpu":
    return False
  flags = cpu_flags()
  if flags is None or flags & {"avx512_bf16", "amx_bf16"}:
    return False
  logging.warning("eval.matmul_dtype=bfloat16 on a CPU without bfloat16 "
                  "units (no avx512_bf16 or amx_bf16): the products are "
                  "emulated and likely slower than float32; measure with "
                  "experiments.bench.precision")
  return True


def _known(options: dict[str, str]) -> dict[str, str]:
  """`options` unless JAXPOSE_XLA_DEFAULTS is set, less those this jaxlib
  does not know."""
  if os.environ.get(DEFAULTS_ENV, "") not in ("", "0"):
    return {}
  return {name: value for name, value in options.items()
          if _supported(name, value)}


def training_options() -> dict[str, str]:
  """`compiler_options` for a jitted training step: TRAINING_CPU_OPTIONS,
  or {} under JAXPOSE_XLA_DEFAULTS or a jaxlib without them.  Initialises
  JAX's backend (see `sampling_options`)."""
  return _known(TRAINING_CPU_OPTIONS)


def sampling_options(rows: int | None = None, *,
                     matmul_dtype: str = "float32") -> dict[str, str]:
  """`compiler_options` for a jitted sampler: SAMPLING_CPU_OPTIONS, or
  BFLOAT16_CPU_OPTIONS for a network whose products are bfloat16, or {}.

  Empty for float32 programs of fewer than SAMPLING_MIN_ROWS `rows` (the
  batch the network sees; None means large), when JAXPOSE_XLA_DEFAULTS is
  set to a non-empty value other than 0, and for options this jaxlib does
  not know.
  The first call compiles a trivial program to find out, so it initialises
  JAX's backend: call it at run time, not at import.
  """
  if matmul_dtype == "bfloat16":
    return _known(BFLOAT16_CPU_OPTIONS)
  if rows is not None and rows < SAMPLING_MIN_ROWS:
    return {}
  return _known(SAMPLING_CPU_OPTIONS)


class FastSampler:
  """A `sampling.Sampler` that compiles with `sampling_options` by rows.

  Same call signatures as the sampler; other attributes (`jitted`, `spec`,
  `program`, ...) are the wrapped sampler's.  Inside another jit no options
  are picked (the outer program's rule).

  Attributes:
    sampler: the wrapped sampler.
  """

  def __init__(self, sampler, matmul_dtype: str = "float32"):
    self.sampler = sampler
    self.matmul_dtype = matmul_dtype

  def __repr__(self):
    return f"fast_sampling({self.sampler!r})"

  def __getattr__(self, name):
    if name in ("sampler", "matmul_dtype"):  # not set yet (copy, pickle)
      raise AttributeError(name)
    return getattr(self.sampler, name)

  def __call__(self, params, key, problem):
    options = None
    if not checks.under_trace(params, key, problem):
      options = sampling_options(rows=problem.x_init.shape[0],
                                 matmul_dtype=self.matmul_dtype)
    return self.sampler(params, key, problem, compiler_options=options)

  def hypotheses(self, params, key, problem, num_hypotheses: int, *,
                 compiler_options=None):
    """The sampler's `hypotheses`; options by B * H rows unless given."""
    if compiler_options is None and not checks.under_trace(params, key, problem):
      compiler_options = sampling_options(
          rows=problem.x_init.shape[0] * int(num_hypotheses),
          matmul_dtype=self.matmul_dtype)
    return self.sampler.hypotheses(params, key, problem, num_hypotheses,
                                   compiler_options=compiler_options)


def fast_sampling(sampler, matmul_dtype: str = "float32") -> FastSampler:
  """Wraps a sampler so that top-level calls use `sampling_options(rows)`
  (of a network whose products are in `matmul_dtype`)."""
  if isinstance(sampler, FastSampler):
    return sampler
  return FastSampler(sampler, matmul_dtype)


DEFAULT_COMPILATION_CACHE = os.path.join(os.path.expanduser("~"), ".cache",
                                         "jaxpose", "xla")
# Programs that compile faster than this are not worth a file: compiling
# one again costs less than reading it.
CACHE_MIN_COMPILE_S = 0.2


def use_compilation_cache(path: str = DEFAULT_COMPILATION_CACHE) -> str:
  """Keeps compiled programs in `path` across processes (JAX's persistent
  compilation cache), so that a command run again with the same shapes
  loads its programs instead of compiling them; '' leaves caching off.
  Call before the first compile. Returns the folder ('' when off)."""
  if not path:
    return ""
  os.makedirs(path, exist_ok=True)
  jax.config.update("jax_compilation_cache_dir", path)
  jax.config.update("jax_persistent_cache_min_compile_time_secs",
                    CACHE_MIN_COMPILE_S)
  return path
