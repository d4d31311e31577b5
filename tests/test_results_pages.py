"""The results pages come from the spec and the JSON files runs wrote."""
import dataclasses
import json
import pathlib
import re

import pytest

from experiments.report import changes
from experiments.report import lookup
from experiments.report import pages
from experiments.report import render
from experiments.report import spec
from experiments.report.pages import diffpose as diffpose_page
from jaxpose.evaluation import inputs


def test_pages_and_readme_match_the_spec():
  expected = render.outputs(pages.PAGES, pages.HEADLINE)
  stale = render.stale(expected) + render.strays(expected)
  assert not stale, f"stale: {stale}; run python -m experiments.results"


def test_every_row_on_every_page_says_what_its_model_sees():
  # A row whose file predates the test-inputs record must declare them
  # (spec.Row.sees); "not recorded" would leave a comparison unexplained.
  expected = render.outputs(pages.PAGES, pages.HEADLINE)
  unexplained = [f"{path.name}: {line}" for path, text in expected.items()
                 for line in text.splitlines()
                 if line.startswith("|") and lookup.sees_text(None) in line]
  assert not unexplained, unexplained


def test_headline_table_is_short():
  assert 0 < len(pages.HEADLINE.rows) <= 12


def test_paths_select_fields_items_and_dotted_keys():
  result = {"a": {"b": 1.5}, "settings": [{"part": "legs", "mpjpe_mm": 3},
                                          {"part": "arms", "mpjpe_mm": 4}],
            "coverage": {"0.9": 0.88}}
  assert lookup.get(result, "a.b") == 1.5
  assert lookup.get(result, "settings[part=arms].mpjpe_mm") == 4
  assert lookup.get(result, "settings[0].part") == "legs"
  assert lookup.get(result, ("coverage", "0.9")) == 0.88
  nested = {"rows": [{"k": "a", "figures": {"calibration.coverage.0.9": 0.8}}]}
  assert lookup.get(nested, ("rows[k=a]", "figures",
                             "calibration.coverage.0.9")) == 0.8
  with pytest.raises(KeyError, match="settings\\[part=hands\\]"):
    lookup.get(result, "settings[part=hands].mpjpe_mm", "here")
  with pytest.raises(KeyError, match="no 'a.c'"):
    lookup.get(result, "a.c")


def test_a_row_places_its_fields():
  col = spec.Col("MPJPE", "mpjpe_mm")
  assert spec.Row("x", "f").path(col) == "mpjpe_mm"
  assert spec.Row("x", "f", at="settings[1]").path(col) == "settings[1].mpjpe_mm"
  assert spec.Row("x", "f", at=("across_seeds",)).path(
      spec.Col("c", ("encoder.mpjpe_mm",))) == ("across_seeds", "encoder.mpjpe_mm")
  assert spec.Row("x", "f", at="a", fields={"MPJPE": ("b", "c.d")}).path(
      col) == ("b", "c.d")


def test_cells_print_means_over_seeds_and_changes():
  assert lookup.text({"mean": 74.5, "std": 0.5, "n": 3}, ".1f") == "74.5 ± 0.5"
  assert lookup.text({"mean": 74.5, "std": None, "n": 1}, ".1f") == "74.5"
  assert lookup.text(True, "met") == "met"
  assert lookup.text(None, ".1f") == "-"
  assert lookup.text(float("nan"), ".1f") == "-"
  assert lookup.text(0.875, ".1%") == "87.5%"
  assert lookup.change(110.0, 100.0, "pct", ".1f") == "+10%"
  assert lookup.change(103.74, 100.0, "pct1", ".1f") == "+3.7%"
  assert lookup.change({"mean": 95.0}, {"mean": 100.0}, "pct", ".1f") == "-5%"
  assert lookup.change(98.5, 100.0, "diff", ".1f") == "-1.5"


def _table(tmp_path, rows, **result_fields):
  folder = tmp_path / render.RESULTS
  folder.mkdir(parents=True)
  (folder / "a.json").write_text(json.dumps(
      {"mpjpe_mm": 100.0, "hardware": "2 CPU cores", **result_fields}))
  (folder / "b.json").write_text(json.dumps(
      {"mpjpe_mm": 90.0, "hardware": "1 H100", "seed": 3}))
  table = spec.Table(title="T", columns=(spec.Col("MPJPE", "mpjpe_mm",
                                                  change="pct"),),
                     rows=rows)
  return render.table_lines(table, render.Reader(tmp_path), "")


def test_a_table_names_each_rows_seeds_hardware_and_command(tmp_path):
  rows = (spec.Row("base", "a.json", command="cmd a", seeds="0, 1"),
          spec.Row("ours", "b.json", command="cmd b", baseline="base"))
  table, runs = _table(tmp_path, rows)
  assert table[0] == "| model | MPJPE | seeds | hardware | run |"
  assert table[2] == "| base | 100.0 | 0, 1 | 2 CPU cores | 1 |"
  assert table[3] == "| ours | 90.0 (-10%) | 3 | 1 H100 | 2 |"
  assert runs == ["1. [`a.json`](experiments/results/a.json): `cmd a`",
                  "2. [`b.json`](experiments/results/b.json): `cmd b`"]


@pytest.mark.parametrize("row, match", [
    (spec.Row("x", "a.json", seeds="0"), "no command"),
    (spec.Row("x", "a.json", command="c"), "no seeds"),
    (spec.Row("x", "missing.json", command="c", seeds="0"), "does not exist"),
    (spec.Row("x", "a.json", command="c", seeds="0", baseline="y"),
     "baseline 'y'"),
])
def test_a_row_that_cannot_say_where_it_came_from_is_refused(tmp_path, row,
                                                             match):
  with pytest.raises((ValueError, KeyError, FileNotFoundError), match=match):
    _table(tmp_path, (row,))


def test_two_rows_of_one_name_are_refused(tmp_path):
  row = spec.Row("x", "a.json", command="c", seeds="0")
  with pytest.raises(ValueError, match="two rows named"):
    _table(tmp_path, (row, row))


def test_readme_without_markers_is_refused():
  with pytest.raises(ValueError, match="markers"):
    render.with_headline("no markers", "x")


def test_every_spec_row_reads_an_existing_file():
  root = render.ROOT / render.RESULTS
  tables = [t for p in pages.PAGES for t in p.tables] + [pages.HEADLINE]
  missing = sorted({r.file for t in tables for r in t.rows
                    if not (root / r.file).is_file()})
  assert not missing, missing


def test_a_damaged_results_file_is_named(tmp_path):
  folder = tmp_path / render.RESULTS
  folder.mkdir(parents=True)
  (folder / "cut.json").write_text('{"mpjpe_mm": 1')
  table = spec.Table(title="T", columns=(spec.Col("MPJPE", "mpjpe_mm"),),
                     rows=(spec.Row("x", "cut.json", command="c", seeds="0",
                                    hardware="h"),))
  with pytest.raises(ValueError, match="cut.json"):
    render.table_lines(table, render.Reader(tmp_path), "")


def test_readme_figures_come_from_its_headline_table():
  # The methods' sections quote headline figures by hand: each must be one
  # the generated table shows, so a rerun that changes it fails here.
  text = (render.ROOT / "README.md").read_text()
  head, rest = text.split(render.HEADLINE_BEGIN, 1)
  block = rest.split(render.HEADLINE_END, 1)[0]
  head = head.replace("Human3.6M", "")
  quoted = set(re.findall(r"(?<![\d.])\d+\.\d(?!\d)", head))
  shown = set(re.findall(r"(?<![\d.])\d+\.\d(?!\d)", block))
  assert quoted and quoted <= shown, sorted(quoted - shown)


def test_hardware_a_file_keeps_as_a_record_must_be_given(tmp_path):
  row = spec.Row("x", "a.json", command="c", seeds="0")
  with pytest.raises(ValueError, match="no hardware in the file as text"):
    _table(tmp_path, (row,), hardware={"cpu_model": "AMD EPYC"})


def test_a_recorded_command_prints_under_the_current_key_names():
  renamed = {"eval.fit_lr": "eval.fit2d.lr",
             "eval.denoise_weights": "eval.denoise_motion.weights"}
  command = ("python -m experiments.main --config.eval.fit_lr=0.1 "
             "--config.eval.fit_lr_x=2 --set=eval.denoise_weights.gmm=3 "
             "--config.eval.denoise_t_start=0.2")
  assert lookup.with_keys_renamed(command, renamed) == (
      "python -m experiments.main --config.eval.fit2d.lr=0.1 "
      "--config.eval.fit_lr_x=2 --set=eval.denoise_motion.weights.gmm=3 "
      "--config.eval.denoise_t_start=0.2")
  assert lookup.renamed_keys("dposer")["eval.complete_steps"] == (
      "eval.complete.steps")


def test_a_recorded_command_names_a_config_variant_by_its_name_today():
  row = spec.Row("x", "a.json", configs_renamed={
      "m.py:per_row_kernel": "m.py:per_row_kernel_oracle"})
  command = ("python -m experiments.main --config=m.py:per_row_kernel "
             "--workdir=w; --config=m.py:per_row_kernel_x; --config=m.py:per_row")
  assert lookup.command(row, {"command": command}) == (
      "python -m experiments.main --config=m.py:per_row_kernel_oracle "
      "--workdir=w; --config=m.py:per_row_kernel_x; --config=m.py:per_row")


def test_a_default_changed_since_is_restated_in_the_older_files_commands():
  change = changes.DefaultChange("m.py", "--config.train.mirror=0",
                                 frozenset({"old.json"}))
  command = ("python -m experiments.main --config=experiments/configs/m.py "
             "--workdir=w, then --config=m.py:paper --mode=eval")
  assert changes.restated("old.json", command, (change,)) == (
      "python -m experiments.main --config=experiments/configs/m.py "
      "--config.train.mirror=0 --workdir=w, then --config=m.py:paper "
      "--mode=eval")
  # A file written under the new default, or a command that says, is left.
  assert changes.restated("new.json", command, (change,)) == command
  said = command + " --config.train.mirror=0.5"
  assert changes.restated("old.json", said, (change,)) == said
  # The rows of the pages print it, the row's own command and the file's.
  for own in ("", command):
    row = spec.Row("x", next(iter(changes.DEFAULTS_CHANGED[0].files)),
                   command=own.replace("m.py", "dposer_mocap.py"))
    file_command = command.replace("m.py", "dposer_mocap.py")
    assert "mirror=0 --workdir" in lookup.command(row, {"command": file_command})


def test_every_file_a_changed_default_names_exists():
  for change in changes.DEFAULTS_CHANGED:
    for name in change.files:
      assert (render.ROOT / render.RESULTS / name).is_file(), name


# A DiffPose-style results file: a per-row H_K that reads each keypoint's
# noise std (an oracle) beside the 2D, its encoder's figures beside, which
# read the 2D alone; and one of a global H_K, which reads the 2D alone.
_SIGMA = "pose2d_sigma (the noise model's own record: an oracle)"
_PER_ROW = inputs.records("noisy", inputs.Reads(
    uncertainty=_SIGMA, baseline=inputs.Reads(), baseline_figures="encoder"), {})
_GLOBAL = inputs.records("noisy", inputs.Reads(
    baseline=inputs.Reads(), baseline_figures="encoder"), {})


def _sees_table(tmp_path, rows, **table):
  folder = tmp_path / render.RESULTS
  folder.mkdir(parents=True)
  for name, records in (("per_row", _PER_ROW), ("global", _GLOBAL),
                        ("old", {})):
    (folder / f"{name}.json").write_text(json.dumps(
        {"mpjpe_mm": 100.0, "hardware": "cpu", "command": "c", "seed": 0,
         **records}))
  table = spec.Table(title="T", columns=(spec.Col("MPJPE", "mpjpe_mm"),),
                     rows=rows, **table)
  return render.table_lines(table, render.Reader(tmp_path), "")


def test_a_row_that_sees_more_than_its_baseline_is_not_like_for_like(tmp_path):
  table, _ = _sees_table(tmp_path, (
      spec.Row("per-row H_K", "per_row.json"),
      spec.Row("global H_K", "global.json"),
      spec.Row("lifter", "old.json", name="lifter", sees={"2d": "noisy"}),
      spec.Row("global again", "old.json", baseline="lifter",
               sees={"2d": "noisy"}),
      spec.Row("unknown", "old.json", name="unknown"),
      spec.Row("against unknown", "global.json", baseline="unknown")))
  assert table[0] == ("| model | MPJPE | sees at test time | seeds | hardware "
                      "| run |")
  cells = [line.split(" | ")[2] for line in table[2:]]
  assert cells == [
      f"**not like for like**: noisy 2D; uncertainty: {_SIGMA}; encoder: "
      "noisy 2D",
      "noisy 2D; encoder: the same",
      "noisy 2D",  # a declared row of a file written before the record
      "noisy 2D; baseline: the same",
      "not recorded",
      "noisy 2D; baseline: not recorded; encoder: the same"]


def test_a_row_compared_with_a_matched_row_alone_is_like_for_like(tmp_path):
  # The per-row H_K beside a baseline row that reads the same std; the
  # encoder its file holds (the 2D alone) is not shown on that row.
  matched = {"2d": "noisy", "uncertainty": _SIGMA}
  rows = (spec.Row("encoder + std", "old.json", name="matched", sees=matched),
          spec.Row("per-row H_K", "per_row.json", baseline="matched",
                   file_baseline_compared=False))
  table, _ = _sees_table(tmp_path, rows, like_for_like_only=True)
  assert table[3].split(" | ")[2] == (
      f"noisy 2D; uncertainty: {_SIGMA}; baseline: the same")
  with pytest.raises(ValueError, match="not like for like"):
    _sees_table(tmp_path / "b", (rows[0], dataclasses.replace(
        rows[1], file_baseline_compared=True)), like_for_like_only=True)


def test_a_declared_input_must_agree_with_the_files_record(tmp_path):
  row = spec.Row("per-row H_K", "per_row.json",
                 sees={"2d": "noisy"})  # the file says it read more
  with pytest.raises(ValueError, match="disagree with the file's test_inputs"):
    _sees_table(tmp_path, (row,))


def test_a_like_for_like_table_refuses_a_row_that_sees_more(tmp_path):
  rows = (spec.Row("per-row H_K", "per_row.json"),)
  with pytest.raises(ValueError, match=re.escape(
      f"not like for like (uncertainty: {_SIGMA}, baseline: none)")):
    _sees_table(tmp_path, rows, like_for_like_only=True)
  table, _ = _sees_table(tmp_path / "b", (spec.Row("global", "global.json"),),
                         like_for_like_only=True)
  assert "encoder: the same" in table[2]


def test_the_headline_refuses_diffposes_per_row_h_k_against_its_encoder():
  # The per-row H_K reads each keypoint's noise std; its encoder (a row of
  # the headline) the 2D alone.
  per_row = spec.Row(
      "DiffPose, per-row H_K", "diffpose_mocap_small_per_row_kernel_cpu_seeds"
      "_estimate_noisy2d.json", cells=("estimate, noisy",), at=("across_seeds",),
      baseline="encoder noisy",
      sees={"2d": "noisy", "uncertainty": diffpose_page._SIGMA})
  headline = dataclasses.replace(pages.HEADLINE,
                                 rows=(*pages.HEADLINE.rows, per_row))
  assert headline.like_for_like_only
  with pytest.raises(ValueError, match="DiffPose, per-row H_K.*not like for "
                                       "like \\(uncertainty: pose2d_sigma"):
    render.headline_block(headline, render.Reader(render.ROOT))
  # The method's own page shows the same comparison, labelled.
  page = render.page_text(diffpose_page.PAGE, render.Reader(render.ROOT))
  assert "**not like for like**: noisy 2D; uncertainty: pose2d_sigma" in page
  assert page.count(render.SEES_NOTE) == 1


def test_a_cpu_not_on_the_speed_page_is_discovered_from_its_files(tmp_path):
  """Both benchmark files of another CPU under experiments/results/ give it
  its own set of tables, named from the files' hardware record."""
  from experiments.report.pages import speed_cpus
  src = pathlib.Path(__file__).resolve().parents[1] / render.RESULTS
  folder = tmp_path / render.RESULTS
  folder.mkdir(parents=True)
  sampling = json.loads((src / "bench_sampling_cpu_xeon_amx.json").read_text())
  sampling["hardware"].update(cpu_model="Graviton", cpu_affinity=4,
                              cpu_vector_extensions=["avx2"])
  (folder / "bench_sampling_cpu_new.json").write_text(json.dumps(sampling))
  (folder / "bench_tto_cpu_new.json").write_text(
      (src / "bench_tto_cpu_xeon_amx.json").read_text())
  # A sampling file alone, and a CPU the page knows, are not new CPUs.
  (folder / "bench_sampling_cpu_half.json").write_text(json.dumps(sampling))
  (folder / "bench_sampling_cpu_xeon_amx.json").write_text(json.dumps(sampling))
  (folder / "bench_tto_cpu_xeon_amx.json").write_text("{}")
  found = speed_cpus.discovered(folder)
  assert [(c.name, c.suffix, c.cores, c.full_records) for c in found] == [
      ("Graviton with AVX2", "_new", 4, True)]
  tables = speed_cpus.tables(found[0])
  assert any("training XLA options" in t.title for t in tables)
  read = render.Reader(tmp_path)
  for table in tables:
    lines, _ = render.table_lines(table, read, "")
    assert "4 CPU cores (Graviton with AVX2)" in "\n".join(lines)
  assert speed_cpus.discovered() == ()  # the project's own: all on the page


def test_each_cpu_back_ends_file_gives_its_table(tmp_path):
  """`experiments.bench.cpu_backends`' file: one row per back end, '-' where
  one was not timed, the kinds each was chosen for."""
  from experiments.report.pages import speed_backends
  folder = tmp_path / render.RESULTS
  folder.mkdir(parents=True)
  labels = ("1x1", "1x200", "16x200", "training")

  def candidate(name, status, seconds, chosen=None, **extra):
    return {"name": name, "status": status, "message": None,
            "same_program_as": None, "seconds": dict(zip(labels, seconds)),
            "chosen_text": chosen, **extra}
  record = dict(
      hardware=dict(cpu_model="Graviton", cpu_affinity=4,
                    cpu_vector_extensions=[]),
      candidates=[candidate("ynnpack_fused", "ok", (1e-3, 2e-2, 0.5, 0.9),
                            "sampling_small"),
                  candidate("xla_dot", "ok", (1e-3, 2e-2, 0.25, 0.6),
                            "sampling_large, training"),
                  candidate("onednn_dots", "crashed", (None,) * 4,
                            message="Illegal instruction")])
  (folder / "bench_cpu_backends_cpu_new.json").write_text(json.dumps(record))
  (table,) = speed_backends.tables(folder)
  assert "Graviton" in table.title
  lines, runs = render.table_lines(table, render.Reader(tmp_path), "")
  text = "\n".join(lines)
  assert "| xla_dot | ok | - | 0.001 | 0.02 | 0.25 | 0.6 | sampling_large, " \
      "training |" in text
  assert "| onednn_dots | crashed | - | - | - | - | - | - |" in text
  assert "4 CPU cores (Graviton)" in text
  assert "--install" in runs[0]


def test_a_gpus_files_give_its_tables_part_by_part(tmp_path):
  """`experiments.bench.gpu`'s files of a GPU put it on the speed page: its
  GFPose file alone gives the GFPose tables and a note naming the parts not
  run; the DPoser rows and the whole test set come with their files."""
  from experiments.report.pages import speed_cpus
  from experiments.report.pages import speed_gpus
  src = pathlib.Path(__file__).resolve().parents[1] / render.RESULTS
  folder = tmp_path / render.RESULTS
  folder.mkdir(parents=True)
  assert speed_gpus.discovered(folder) == ()
  sampling = json.loads((src / "bench_sampling_cpu_xeon_amx.json").read_text())
  sampling["hardware"].update(device_kind="NVIDIA H100", backend="gpu")
  (folder / "bench_sampling_gpu_h100.json").write_text(json.dumps(sampling))
  gpus = speed_gpus.discovered(folder)
  assert [(g.name, g.hardware, g.sampling_file) for g in gpus] == [
      ("NVIDIA H100", "1 GPU (NVIDIA H100)", "bench_sampling_gpu_h100.json")]
  alone = speed_gpus.tables(gpus[0], folder)
  files = {row.file for table in alone for row in table.rows}
  assert files == {"bench_sampling_gpu_h100.json"}
  assert not any("XLA options" in table.title for table in alone)
  assert ("Not yet run on this GPU: DPoser's table and the whole test set "
          "(`python -m experiments.bench.gpu --name=gpu_h100 "
          "--torch_python=python3 --parts=tto,test_set`)." in alone[0].note)
  assert "near what this GPU can do" in alone[0].intro
  assert speed_gpus.test_set_tables(gpus, folder) == ()

  (folder / "bench_tto_gpu_h100.json").write_text(
      (src / "bench_tto_cpu_xeon_amx.json").read_text())
  side = {"wall_s": 30.0, "speedup": 3.0}
  (folder / "bench_test_set_gpu_h100.json").write_text(json.dumps(dict(
      poses=100000, hypotheses=200, steps=20, wall_s=10.0,
      memory={"device_peak_mib": 900.0},
      torch_measured={"torch_eager": side, "torch_compiled": side},
      torch_memory={"torch_eager": {"device_peak_mib": 1200.0},
                    "torch_compiled": {"device_peak_mib": 1100.0}},
      target_speedup=2.0, target_met=True)))
  whole = speed_gpus.tables(gpus[0], folder)
  assert len(whole) == len(alone) + 1  # DPoser's table
  assert "Not yet run" not in whole[0].note
  read = render.Reader(tmp_path)
  assert "on the same GPU" in whole[0].intro
  for table in whole:
    lines, runs = render.table_lines(table, read, "")
    assert "1 GPU (NVIDIA H100)" in "\n".join(lines)
    assert "experiments.bench.gpu --name=gpu_h100" in "\n".join(runs)
  (test_set,) = speed_gpus.test_set_tables(gpus, folder)
  lines, _ = render.table_lines(test_set, read, "")
  assert lines[2].startswith("| NVIDIA H100 | 100000 | 200 | 20 | 10.0 | 900 |"
                             " 30.0 | 3.00 | 1200 |"), lines[2]
  assert speed_cpus.discovered(folder) == ()
