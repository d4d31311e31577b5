"""experiments.bench.cpu_backends: probing XLA's CPU back ends, timing them,
and the choice of options it makes."""
import sys

import pytest

from experiments.bench import cpu_backends
from jaxpose.core import xla_options

KINDS = {"1x1": "sampling_small", "1x200": "sampling_small",
         "16x200": "sampling_large", "training": "training"}


def _ratios(**by_label):
  return {label: by_label.get(label, {"ynnpack_fused": 1.0})
          for label in KINDS}


def test_pick_keeps_the_defaults_unless_a_back_end_is_clearly_faster():
  ratios = _ratios(**{
      "1x1": {"ynnpack_fused": 1.0, "xla_dot": 0.99},
      "1x200": {"ynnpack_fused": 1.0, "xla_dot": 0.98},
      "16x200": {"ynnpack_fused": 1.0, "xla_dot": 0.60},
      "training": {"ynnpack_fused": 1.0, "xla_dot": 1.20}})
  assert cpu_backends.pick(ratios, KINDS) == {
      "sampling_small": "ynnpack_fused", "sampling_large": "xla_dot",
      "training": "ynnpack_fused"}


def test_pick_scores_a_kind_by_the_geometric_mean_of_its_programs():
  # 0.5 and 1.8 (geometric mean 0.95) beat 0.96 and 0.96.
  ratios = _ratios(**{
      "1x1": {"ynnpack_fused": 1.0, "a": 0.5, "b": 0.96},
      "1x200": {"ynnpack_fused": 1.0, "a": 1.8, "b": 0.96}})
  assert cpu_backends.pick(ratios, KINDS, min_gain=0.0)["sampling_small"] == "a"
  # 0.95 is not 6% faster than the defaults.
  assert cpu_backends.pick(ratios, KINDS, min_gain=0.06)["sampling_small"] == (
      "ynnpack_fused")
  ratios = _ratios(**{"16x200": {"ynnpack_fused": 1.0, "a": 0.70,
                                 "b": 0.71}})
  assert cpu_backends.pick(ratios, KINDS)["sampling_large"] == "a"


def test_pick_prefers_the_earlier_back_end_where_they_are_alike():
  ratios = _ratios(**{"16x200": {"ynnpack_fused": 1.0, "xla_dot": 0.70,
                                 "xnnpack_dots": 0.69}})
  assert cpu_backends.pick(ratios, KINDS)["sampling_large"] == "xla_dot"
  ratios = _ratios(**{"16x200": {"ynnpack_fused": 1.0, "xla_dot": 0.70,
                                 "xnnpack_dots": 0.60}})
  assert cpu_backends.pick(ratios, KINDS)["sampling_large"] == "xnnpack_dots"


def test_probe_tells_refused_options_from_ones_that_change_the_program():
  defaults = cpu_backends.probe({})
  assert defaults["status"] == "ok" and defaults["max_rel_diff"] == 0.0
  xla_dot = cpu_backends.probe(cpu_backends.CANDIDATES["xla_dot"])
  assert xla_dot["status"] == "ok" and xla_dot["max_rel_diff"] < 1e-5
  assert xla_dot["program_digest"] != defaults["program_digest"]
  refused = cpu_backends.probe({"xla_cpu_no_such_option_anywhere": ""})
  assert refused["status"] == "refused"
  assert "xla_cpu_no_such_option_anywhere" in refused["message"]


def test_a_programs_digest_ignores_where_its_source_was():
  """A program loaded from the compilation cache numbers its source
  locations otherwise than the same program compiled afresh."""
  text = """HloModule jit_loss, is_scheduled=true

FileLocations
1 {file_name_id=1 function_name_id=2 line=7 column=%d}

ENTRY %%main (p: f32[4]) -> f32[4] {
  %%p = f32[4]{0} parameter(0)
  ROOT %%m = f32[4]{0} multiply(%%p, %%p), metadata={op_name="jit(loss)/mul" stack_frame_id=%d}
}"""
  digest = cpu_backends.program_digest
  assert digest(text % (47, 5)) == digest(text % (6, 3))
  assert digest(text % (47, 5)) != digest(
      (text % (47, 5)).replace("multiply", "add"))


@pytest.mark.parametrize("code, message", [
    ("import sys; sys.stderr.write('Fatal Python error: Illegal instruction"
     "\\nmore\\n'); sys.exit(1)", "Illegal instruction"),
    ("import os, signal; os.kill(os.getpid(), signal.SIGABRT)",
     "killed by SIGABRT"),
    ("print('not json')", "exit status 0"),
])
def test_a_probe_that_dies_is_reported_not_raised(monkeypatch, code, message):
  monkeypatch.setattr(cpu_backends, "_child_command",
                      lambda options: [sys.executable, "-c", code])
  record = cpu_backends.probe_in_subprocess({})
  assert record["status"] == "crashed"
  assert record["message"].startswith(message), record


def test_a_back_end_with_wrong_results_is_set_aside(monkeypatch):
  records = {"a": dict(status="ok", max_rel_diff=0.0, program_digest="x"),
             "b": dict(status="ok", max_rel_diff=0.5, program_digest="y"),
             "c": dict(status="ok", max_rel_diff=float("nan"),
                       program_digest="z"),
             "d": dict(status="ok", max_rel_diff=1e-7, program_digest="x")}
  monkeypatch.setattr(cpu_backends, "probe_in_subprocess",
                      lambda options: dict(records[options["name"]]))
  out = cpu_backends.probe_all({n: {"name": n} for n in records},
                               log=lambda s: None)
  assert out["a"]["status"] == "ok" and out["a"]["same_program_as"] is None
  assert out["b"]["status"] == out["c"]["status"] == "wrong results"
  assert "0.5 from XLA's defaults'" in out["b"]["message"]
  assert out["d"]["same_program_as"] == "a"


def test_a_probe_in_its_own_process_answers():
  record = cpu_backends.probe_in_subprocess({"xla_cpu_no_such_option": ""})
  assert record["status"] == "refused", record


def test_quick_run_times_what_compiles_and_chooses_per_kind(monkeypatch):
  monkeypatch.setattr(cpu_backends, "probe_in_subprocess",
                      lambda options: cpu_backends.probe(options))
  candidates = {"ynnpack_fused": {},
                "xla_dot": cpu_backends.CANDIDATES["xla_dot"],
                "bogus": {"xla_cpu_no_such_option_anywhere": ""},
                "xla_dot_again": dict(cpu_backends.CANDIDATES["xla_dot"])}
  result = cpu_backends.run_bench(quick=True, steps=1, rounds=1,
                                  candidates=candidates, log=lambda s: None)
  rows = {row["name"]: row for row in result["candidates"]}
  labels = [p["label"] for p in result["programs"]]
  assert set(rows["xla_dot"]["seconds"]) == set(labels)
  assert all(v == 1.0 for v in rows["ynnpack_fused"]["over_defaults"].values())
  assert rows["bogus"]["status"] == "refused"
  assert set(rows["bogus"]["seconds"].values()) == {None}
  # The same compiled program is not timed twice.
  assert rows["xla_dot_again"]["same_program_as"] == "xla_dot"
  assert set(rows["xla_dot_again"]["seconds"].values()) == {None}
  assert set(result["chosen"]) == set(xla_options.CHOICE_KINDS)
  assert set(result["chosen"].values()) <= {"ynnpack_fused", "xla_dot"}
  for kind, name in result["chosen"].items():
    assert result["chosen_options"][kind] == candidates[name]
    assert kind in rows[name]["chosen_for"]
  xla_options.parse_choice({"options": result["chosen_options"]})
  assert "xla_options_by_kind" in result["hardware"]
  with pytest.raises(ValueError, match="start with 'ynnpack_fused'"):
    cpu_backends.run_bench(quick=True, candidates={"xla_dot": {}})
