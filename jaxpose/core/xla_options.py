"""XLA compiler options for jaxpose's samplers and training steps.

On the CPU, XLA (jaxlib 0.10) gives dense products to YNNPACK, and by
default it also moves the elementwise and reduction work around them
(bias, GroupNorm, SiLU) into the same YNNPACK subgraphs.  For the score
network's sampling step that is the slower choice at large batches;
turning YNNPACK fusion off leaves the products to XLA's own CPU dot and the
rest to its loop fusions.  Samplers take these options
(SAMPLING_CPU_OPTIONS) from SAMPLING_MIN_ROWS rows (poses x hypotheses)
on, and below that YNNPACK's products alone; the speed-ups are measured in
experiments/results/bench_cpu_backends_*.json. A network with bfloat16
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

Which options a kind of program gets depends on the CPU (`cpu_choice`):
a choice measured on this very CPU by `python -m experiments.bench.
cpu_backends --install` (every dense-product back end XLA offers, timed on
the samplers and the training step; kept in DEFAULT_CHOICE_FILE, or where
JAXPOSE_XLA_CHOICE points, for the CPU model and jax version it was
measured with), else the built-in rule by the CPU's vector extensions
(`builtin_choice`): on x86 CPUs with AVX2 and FMA the options above,
where they were measured, and XLA's defaults on any other CPU.

The options name CPU passes only: where JAX's default backend is a GPU or
a TPU, programs compile with none.  `experiments.bench.sampling`
times the sampler both ways, so the choice can be checked on other
hardware; JAXPOSE_XLA_DEFAULTS=1 in the environment turns the options off.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import platform
from typing import Mapping

from absl import logging
import jax

from jaxpose import checks
from jaxpose import files

# An empty list of YNNPACK fusion types: no YNNPACK subgraphs at all.
SAMPLING_CPU_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": ""}

# The products alone in YNNPACK, one subgraph each; the elementwise work
# around them in XLA's own fusions.
PRODUCTS_ALONE_CPU_OPTIONS = {
    "xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT"}

# bfloat16 products (`models.precision`): YNNPACK multiplies them on the
# CPU's bfloat16 units where XLA's own dot converts them to float32, and
# YNNPACK subgraphs that also take the elementwise work are slower at large
# batches: so the products alone go to YNNPACK, one by one, at every size
# (experiments.bench.precision).
BFLOAT16_CPU_OPTIONS = PRODUCTS_ALONE_CPU_OPTIONS

# Training steps: products alone in YNNPACK, the rest in XLA's fusions.
TRAINING_CPU_OPTIONS = PRODUCTS_ALONE_CPU_OPTIONS

DEFAULTS_ENV = "JAXPOSE_XLA_DEFAULTS"

# Rows (poses x hypotheses) a sampler program needs for the options.
SAMPLING_MIN_ROWS = 400


@functools.cache
def _supported(name: str, value) -> bool:
  """Whether this jaxlib knows the option (it is experimental in XLA)."""
  try:
    jax.jit(lambda x: x, compiler_options={name: value}).lower(0.0).compile()
  except Exception as e:  # jaxlib's error type has moved between releases
    if "compile option" in str(e) or "not a valid" in str(e):
      return False
    raise
  return True


def _cpuinfo() -> str:
  try:
    with open("/proc/cpuinfo") as f:
      return f.read()
  except OSError:
    return ""


def cpu_model(cpuinfo: str | None = None) -> str:
  """The CPU's model name (/proc/cpuinfo), else what `platform` says."""
  for line in (_cpuinfo() if cpuinfo is None else cpuinfo).splitlines():
    if line.lower().startswith("model name"):
      return line.split(":", 1)[1].strip()
  return platform.processor() or platform.machine()


def cpu_flags(cpuinfo: str | None = None) -> set[str] | None:
  """The host CPU's feature flags (/proc/cpuinfo), None where unknown."""
  for line in (_cpuinfo() if cpuinfo is None else cpuinfo).splitlines():
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


# ------------------------------------------------- the options by CPU
CHOICE_ENV = "JAXPOSE_XLA_CHOICE"
DEFAULT_CHOICE_FILE = os.path.join(os.path.expanduser("~"), ".cache",
                                   "jaxpose", "xla_cpu_choice.json")
# The kinds of program a choice gives options for: samplers below and from
# SAMPLING_MIN_ROWS rows, training steps.
CHOICE_KINDS = ("sampling_small", "sampling_large", "training")


@dataclasses.dataclass(frozen=True)
class CpuChoice:
  """XLA options for each kind of program (`CHOICE_KINDS`) on a CPU.

  source: where the choice comes from (the built-in rule and why, or the
  file measured on this CPU).
  """
  sampling_small: Mapping[str, object]
  sampling_large: Mapping[str, object]
  training: Mapping[str, object]
  source: str

  def options(self) -> dict[str, dict]:
    return {kind: dict(getattr(self, kind)) for kind in CHOICE_KINDS}


# Measured on a 2-core AMD EPYC (Zen 4, AVX-512) and a 2-core Intel Xeon
# (AVX-512 and AMX): within a few percent of the fastest back end for each
# kind on both (experiments/results/bench_cpu_backends_*.json).
MEASURED_X86 = CpuChoice(PRODUCTS_ALONE_CPU_OPTIONS, SAMPLING_CPU_OPTIONS,
                         TRAINING_CPU_OPTIONS,
                         "built in: an x86 CPU with AVX2 and FMA")
UNMEASURED = CpuChoice({}, {}, {},
                       "built in: XLA's defaults (jaxpose's options were "
                       "never measured on a CPU without AVX2 and FMA)")


def builtin_choice(flags: set[str] | None) -> CpuChoice:
  """The built-in rule by the CPU's flags: MEASURED_X86 with AVX2 and
  FMA, else UNMEASURED (XLA's defaults)."""
  if not flags or not {"avx2", "fma"} <= flags:
    return UNMEASURED
  return MEASURED_X86


def parse_choice(record, *, path: str = "the choice") -> CpuChoice:
  """A CpuChoice from a choice file's JSON (`write_choice`).

  Raises:
    ValueError: naming `path` and what is wrong with the record.
  """
  if not isinstance(record, dict) or not isinstance(record.get("options"),
                                                     dict):
    raise ValueError(f"{path}: not a choice record (no 'options' object)")
  options = record["options"]
  missing = [kind for kind in CHOICE_KINDS if kind not in options]
  unknown = sorted(set(options) - set(CHOICE_KINDS))
  if missing or unknown:
    raise ValueError(f"{path}: options need exactly the kinds "
                     f"{list(CHOICE_KINDS)}; missing {missing}, unknown "
                     f"{unknown}")
  for kind, opts in options.items():
    if not isinstance(opts, dict) or not all(
        isinstance(k, str) and k.startswith("xla_")
        and isinstance(v, (str, bool, int)) for k, v in opts.items()):
      raise ValueError(f"{path}: options[{kind!r}] must map XLA option "
                       f"names (xla_...) to strings, booleans or integers, "
                       f"not {opts!r}")
  return CpuChoice(**{kind: dict(options[kind]) for kind in CHOICE_KINDS},
                   source=f"measured on this CPU ({home_relative(path)})")


def home_relative(path: str) -> str:
  """`path` with the user's home folder written '~': records and logs that
  name it then carry no machine's account."""
  home = os.path.expanduser("~")
  if home not in ("", "~", "/") and (path == home
                                     or path.startswith(home + os.sep)):
    return "~" + path[len(home):]
  return path


def write_choice(path: str, options: Mapping[str, Mapping], *,
                 measured_by: str) -> str:
  """Stores a measured choice for this CPU model and jax version (atomic);
  `cpu_choice` uses it from then on. Returns the path."""
  record = dict(cpu_model=cpu_model(), jax_version=jax.__version__,
                measured_by=measured_by,
                options={kind: dict(options[kind]) for kind in CHOICE_KINDS})
  parse_choice(record, path=path)
  return files.write_json_atomic(path, record)


def choice_file() -> str:
  """The measured choice's path: JAXPOSE_XLA_CHOICE where set ('' for
  none), else DEFAULT_CHOICE_FILE."""
  return os.environ.get(CHOICE_ENV, DEFAULT_CHOICE_FILE)


@functools.lru_cache(maxsize=None)
def _measured(path: str, mtime_ns: int) -> CpuChoice | None:
  """The file's choice if it was measured on this CPU model with this jax;
  None (with one warning per file state) otherwise."""
  del mtime_ns  # the cache key: a file rewritten is read again
  try:
    record = files.read_json(path)
    choice = parse_choice(record, path=path)
  except ValueError as e:
    logging.warning("XLA options: ignoring %s; using the built-in choice", e)
    return None
  here = (cpu_model(), jax.__version__)
  there = (record.get("cpu_model"), record.get("jax_version"))
  if here != there:
    logging.warning(
        "XLA options: %s was measured on %s with jax %s, this is %s with jax "
        "%s; using the built-in choice (measure again: python -m "
        "experiments.bench.cpu_backends --install)", path, *there, *here)
    return None
  return choice


@functools.cache
def _host_flags() -> set[str] | None:
  return cpu_flags()


def cpu_choice() -> CpuChoice:
  """The options this CPU's programs get: a choice measured on it
  (`choice_file`), else `builtin_choice` of its flags."""
  path = choice_file()
  if path:
    try:
      mtime = os.stat(path).st_mtime_ns
    except OSError:
      mtime = None
    if mtime is not None and (measured := _measured(path, mtime)) is not None:
      return measured
  return builtin_choice(_host_flags())


def _known(options: Mapping[str, object]) -> dict[str, object]:
  """`options` unless JAXPOSE_XLA_DEFAULTS is set or JAX's default backend
  is not the CPU (a measured choice may name any CPU option), less those
  this jaxlib does not know."""
  if (os.environ.get(DEFAULTS_ENV, "") not in ("", "0")
      or jax.default_backend() != "cpu"):
    return {}
  return {name: value for name, value in options.items()
          if _supported(name, value)}


def training_options() -> dict[str, object]:
  """`compiler_options` for a jitted training step: this CPU's choice
  (`cpu_choice`; TRAINING_CPU_OPTIONS on x86 CPUs with AVX2 and FMA), or
  {} under JAXPOSE_XLA_DEFAULTS or a jaxlib without them.  Initialises
  JAX's backend (see `sampling_options`)."""
  return _known(cpu_choice().training)


def sampling_options(rows: int | None = None, *,
                     matmul_dtype: str = "float32") -> dict[str, object]:
  """`compiler_options` for a jitted sampler: this CPU's choice
  (`cpu_choice`) for programs of fewer than SAMPLING_MIN_ROWS `rows` (the
  batch the network sees; None means large) or of more, or
  BFLOAT16_CPU_OPTIONS for a network whose products are bfloat16.

  Empty when JAXPOSE_XLA_DEFAULTS is set to a non-empty value other than
  0; options this jaxlib does not know are left out.
  The first call compiles a trivial program to find out, so it initialises
  JAX's backend: call it at run time, not at import.
  """
  if matmul_dtype == "bfloat16":
    return _known(BFLOAT16_CPU_OPTIONS)
  choice = cpu_choice()
  if rows is not None and rows < SAMPLING_MIN_ROWS:
    return _known(choice.sampling_small)
  return _known(choice.sampling_large)


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
