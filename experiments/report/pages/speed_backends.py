"""The speed page's table of XLA's CPU back ends, one per CPU that
`python -m experiments.bench.cpu_backends` ran on (its file
bench_cpu_backends_cpu<suffix>.json in experiments/results/)."""
import json
import pathlib

from experiments.report import spec
from experiments.report.pages import speed_cpus

_COMMAND = ("python -m experiments.bench.cpu_backends --install "
            "--out=experiments/results/{file}")
_PROGRAMS = (("1 x 1", "1x1"), ("1 x 200", "1x200"), ("16 x 200", "16x200"),
             ("training step", "training"))


def _table(path: pathlib.Path) -> spec.Table:
  with open(path) as f:
    record = json.load(f)
  hardware = record.get("hardware") or {}
  cores = int(hardware.get("cpu_affinity") or hardware.get("cpu_count") or 1)
  suffix = path.stem[len("bench_cpu_backends_cpu"):]
  name = next((cpu.name for cpu in speed_cpus.CPUS if cpu.suffix == suffix),
              None) or speed_cpus._name(hardware)  # pylint: disable=protected-access
  rows = tuple(spec.Row(c["name"], path.name,
                        _COMMAND.format(file=path.name), seeds="-",
                        hardware=f"{cores} CPU cores ({name})",
                        at=f"candidates[name={c['name']}]")
               for c in record["candidates"])
  return spec.Table(
      title=f"XLA's CPU back ends, and the options chosen ({name})",
      intro=("Each set of compiler options XLA 0.10 takes for its CPU back "
             "ends (`experiments.bench.cpu_backends.CANDIDATES`), first "
             "compiled in a process of its own on a small program, then, "
             "where it compiles, timed on GFPose at the paper's size "
             "(random weights): seconds per Euler-Maruyama step for poses x "
             "hypotheses, and per training step (batch 1000), each "
             "program's back ends in the same rounds. The last column is "
             "the kind of program each "
             "back end was chosen for on this CPU."),
      columns=(spec.Col("compiles", "status", "s"),
               spec.Col("same program as", "same_program_as", "s"),
               *(spec.Col(f"{title} s", ("seconds", label), ".3g")
                 for title, label in _PROGRAMS),
               spec.Col("chosen for", "chosen_text", "s")),
      rows=rows, label_titles=("back end",), no_test_rows=True,
      note=("'crashed' is a back end whose compilation killed the process, "
            "'wrong results' one whose result was not XLA's defaults' to "
            "1e-4; "
            "'same program as' names an earlier row that compiled the "
            "probe to the very same program (optimised HLO), which is "
            "timed once, under that row. A kind keeps XLA's "
            "defaults (`ynnpack_fused`) unless a back end is at least 3% "
            "faster on it, and of back ends within 3% of each other the "
            "earlier row is taken. `--install` stores the choice for this "
            "CPU model and jax version, and jaxpose's samplers and "
            "training steps use it from then on "
            "(`jaxpose.core.xla_options.cpu_choice`); elsewhere they take "
            "the built-in rule by the CPU's vector extensions."))


def tables(results: pathlib.Path = speed_cpus.RESULTS) -> tuple[spec.Table, ...]:
  """One table per CPU with a back-ends file in `results`."""
  return tuple(_table(path) for path in
               sorted(results.glob("bench_cpu_backends_cpu_*.json")))
