"""The speed page's tables of each GPU met: the files that
`python -m experiments.bench.gpu --name=gpu<suffix>` wrote on it.

A GPU is on the page once its GFPose file (bench_sampling_gpu<suffix>.json)
is in experiments/results/. Its DPoser tables and its whole-test-set row
come with their own files (the command's `--parts`, which a machine lent
for minutes may run apart); until they exist, its first table says which
parts have not run on it and how to run them. The samplers' CPU options
have no GPU tables: on a GPU, programs compile without them.
"""
import dataclasses
import json
import pathlib

from experiments.report import spec
from experiments.report.pages import speed_cpus

# The parts of `experiments.bench.gpu` beyond GFPose's table: --parts name,
# the `Cpu` property naming its file, what the page lacks without it.
_LATER_PARTS = (("tto", "tto_file", "DPoser's table"),
                ("test_set", "test_set_file", "the whole test set"))

_UNREAD = {key: text for key, text in speed_cpus.UNREAD_NOTES.items()
           if key != "training_options"}

# What the figures mean on the GPUs someone has read (by file suffix).
NOTES = {
    "_h200": dict(_UNREAD, **{
        "gfpose_sampling": (
            "At one pose a step is kernel launches more than arithmetic: "
            "jaxpose runs the whole step as one compiled program on the GPU, "
            "where PyTorch, eager or compiled, launches the network's "
            "kernels from Python, so jaxpose is many times faster. At 16 "
            "poses x 200 hypotheses the step is its matrix products, and in "
            "float32 itself XLA multiplies them slower than PyTorch's cuBLAS "
            "on the same shapes (the products' columns), so the margin over "
            "torch.compile is what jaxpose saves around them: under the 2x "
            "target there."),
        "gfpose_training": (
            "Half of jaxpose's training step lies outside its products (the "
            "roofline fraction), and PyTorch multiplies the products faster "
            "here (the last columns): the margin over torch.compile comes "
            "from running the backward pass, clipping, Adam and the EMA as "
            "one program, and falls short of the 2x target."),
    }),
}


def discovered(results: pathlib.Path = speed_cpus.RESULTS
               ) -> tuple[speed_cpus.Cpu, ...]:
  """The GPUs with a GFPose file of `experiments.bench.gpu` in `results`."""
  out = []
  for path in sorted(results.glob("bench_sampling_gpu_*.json")):
    suffix = path.name[len("bench_sampling_gpu"):-len(".json")]
    with open(path) as f:
      record = json.load(f)
    hardware = record.get("hardware") or {}
    out.append(speed_cpus.Cpu(
        hardware.get("device_kind") or "an unnamed GPU", suffix,
        NOTES.get(suffix, _UNREAD), kind="gpu",
        full_records="torch_matmul_gflops" in (record.get("train") or {})))
  return tuple(out)


def tables(gpu: speed_cpus.Cpu, results: pathlib.Path = speed_cpus.RESULTS
           ) -> tuple[spec.Table, ...]:
  """`speed_cpus.tables` of `gpu`, less the rows (and tables) whose file
  has not been written on it; the first table's note names those parts."""
  missing = [later for later in _LATER_PARTS
             if not (results / getattr(gpu, later[1])).exists()]
  absent = {getattr(gpu, attr) for _, attr, _ in missing}
  out = []
  for table in speed_cpus.tables(gpu):
    rows = tuple(row for row in table.rows if row.file not in absent)
    if rows:
      out.append(dataclasses.replace(table, rows=rows))
  if missing:
    parts = ",".join(part for part, _, _ in missing)
    out[0] = dataclasses.replace(out[0], note=(
        f"{out[0].note} Not yet run on this GPU: "
        f"{' and '.join(words for _, _, words in missing)} "
        f"(`{gpu.gpu_command()} --parts={parts}`)."))
  return tuple(out)


def test_set_tables(gpus: tuple[speed_cpus.Cpu, ...],
                    results: pathlib.Path = speed_cpus.RESULTS
                    ) -> tuple[spec.Table, ...]:
  """The whole-test-set table of the GPUs that have its file (none: ())."""
  measured = tuple(g for g in gpus if (results / g.test_set_file).exists())
  return (speed_cpus.test_set_table(measured),) if measured else ()
