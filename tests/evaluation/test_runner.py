"""Tests of the generic evaluation layer: typed settings, chunking, the
runner's JSON and suffix rule."""
import dataclasses
import json

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from jaxpose import files
from jaxpose.settings import ConfigError
from jaxpose.evaluation import chunks
from jaxpose.evaluation import config as eval_config
from jaxpose.evaluation import inputs
from jaxpose.evaluation import runner


@dataclasses.dataclass(frozen=True)
class _Options:
  sampler: str
  steps: int
  levels: tuple[float, ...]


def _section(**kw):
  values = dict(task="estimate", num_poses=5, use_ema=True, plot_poses=1,
                plot_hypotheses=2, output_suffix="", output_dir="",
                save_predictions=False, sampler="ddim", steps=3,
                levels=(1, 2.5))
  values.update(kw)
  return ml_collections.ConfigDict(values)


def test_parse_gives_typed_values():
  generic, opts = eval_config.parse(_section(), _Options)
  assert generic.task == "estimate" and generic.num_poses == 5
  assert opts == _Options(sampler="ddim", steps=3, levels=(1.0, 2.5))
  assert isinstance(opts.levels[0], float)


@pytest.mark.parametrize("change, message", [
    (dict(steps="3"), "eval.steps: expected int, got '3'"),
    (dict(num_poses=2.5), "eval.num_poses: expected int"),
    (dict(use_ema=1), "eval.use_ema: expected bool"),
    (dict(levels=("a",)), "eval.levels: expected float"),
])
def test_parse_names_the_badly_typed_field(change, message):
  with pytest.raises(ConfigError, match=message):
    eval_config.parse(_section(**change), _Options)


def test_parse_refuses_unknown_and_missing_fields():
  with pytest.raises(ConfigError,
                     match=r"eval.num_step: not a setting here; valid keys: .*num_poses"):
    eval_config.parse(_section(num_step=3), _Options)
  section = _section()
  del section["steps"]
  with pytest.raises(ConfigError, match="eval.steps: missing"):
    eval_config.parse(section, _Options)


def test_map_chunks_pads_the_last_chunk_and_compiles_once():
  traces = []

  @jax.jit
  def double(x):
    traces.append(x.shape)
    return 2 * x

  x = np.arange(7 * 2, dtype=np.float32).reshape(7, 2)
  seen = []

  def fn(chunk, index):
    seen.append(index)
    out = double(chunk["x"])
    return jnp.stack([out, out + 1])  # [H=2, rows, 2]

  out = chunks.map_chunks(fn, {"x": x}, chunk_size=3, row_axis=1)
  assert out.shape == (2, 7, 2)
  np.testing.assert_array_equal(out[0], 2 * x)
  np.testing.assert_array_equal(out[1], 2 * x + 1)
  assert seen == [0, 1, 2] and traces == [(3, 2)]
  with pytest.raises(ValueError, match="one leading size"):
    chunks.map_chunks(fn, {"x": x, "y": x[:3]}, chunk_size=3)


def test_run_task_writes_strict_json_with_the_suffix(tmp_path, capsys):
  generic, _ = eval_config.parse(_section(output_suffix="noisy2d"), _Options)
  stem = runner.output_stem("estimate", generic.output_suffix)
  assert stem == "estimate_noisy2d" and runner.output_stem("estimate") == "estimate"
  reads = inputs.Reads(uncertainty="pose2d_sigma (an oracle)",
                       baseline=inputs.Reads(), baseline_figures="encoder")
  ctx = runner.EvalContext(test={"a": np.zeros(4)}, splits={},
                           key=jax.random.key(0), config=generic,
                           out_dir=str(tmp_path), stem=stem, input_2d="exact",
                           data_name="toy", reads=reads)

  def task(c):
    assert c.num_poses == 4
    return runner.TaskResult(figures={"err_mm": np.float32(1.5), "bad": float("nan")},
                             table=[("err", 1.5)], num_poses=4)

  extra_file = tmp_path / "summary.txt"

  def after(c, result, results):
    assert results["err_mm"] == 1.5 and result.num_poses == 4
    extra_file.write_text("x")
    return [str(extra_file)]

  res = runner.run_task("estimate", task, ctx, extra={"train_step": 3},
                        after=after)
  on_disk = json.loads((tmp_path / "estimate_noisy2d.json").read_text())
  assert on_disk == res and res["bad"] is None and res["err_mm"] == 1.5
  assert res["data"] == "toy" and res["train_step"] == 3
  # A task that does not sample records no sampler.
  assert "sampler" not in res and "num_steps" not in res
  # What the model and the baseline beside it received of each test row.
  assert on_disk["test_inputs"] == inputs.record("exact", reads)
  assert on_disk["test_inputs"]["uncertainty"] == "pose2d_sigma (an oracle)"
  assert on_disk["baseline_test_inputs"] == dict(
      inputs.record("exact", inputs.Reads()), figures="encoder")
  # The table ends with every file the run wrote.
  out = capsys.readouterr().out.strip().splitlines()
  assert out[-1].startswith("wrote: ") and "estimate_noisy2d.json" in out[-1]
  assert str(extra_file) in out[-1]


def test_write_json_atomic_keeps_the_old_file_on_failure(tmp_path):
  path = tmp_path / "r.json"
  files.write_json_atomic(path, {"a": 1})
  with pytest.raises(TypeError):
    files.write_json_atomic(path, {"a": object()})
  assert json.loads(path.read_text()) == {"a": 1}
  assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_write_text_atomic_writes_utf8_and_leaves_no_temporary(tmp_path):
  path = tmp_path / "motion.bvh"
  files.write_text_atomic(path, "HIERARCHY\nROOT pelvis \u00b0\n")
  assert path.read_bytes() == "HIERARCHY\nROOT pelvis \u00b0\n".encode("utf-8")
  with pytest.raises(AttributeError):
    files.write_text_atomic(path, None)  # fails inside the write
  assert path.read_text(encoding="utf-8").startswith("HIERARCHY")
  assert [p.name for p in tmp_path.iterdir()] == ["motion.bvh"]


def test_read_json_names_a_broken_file_and_misses_a_missing_one(tmp_path):
  path = tmp_path / "r.json"
  assert files.read_json(path) is None
  files.write_json_atomic(path, {"a": [1, None]})
  assert files.read_json(path) == {"a": [1, None]}
  path.write_text('{"a": ')
  with pytest.raises(ValueError, match=r"r\.json cannot be read \(JSONDecodeError"):
    files.read_json(path)


def test_scored_rows_spread_over_a_file_and_take_a_prefix_of_a_shuffle():
  split = {"pose3d": np.arange(100)[:, None], "activity": np.arange(100) // 25}
  spread, said = runner.scored_rows(split, 4, "file")
  # One activity after another: every activity is scored, not the first.
  assert spread["pose3d"][:, 0].tolist() == [0, 33, 66, 99]
  assert sorted(set(spread["activity"].tolist())) == [0, 1, 2, 3]
  assert said.startswith("4 of 100 spread evenly")
  first, said = runner.scored_rows(split, 4, "shuffled")
  assert first["pose3d"][:, 0].tolist() == [0, 1, 2, 3]
  assert said.startswith("the first 4 of 100")
  whole, said = runner.scored_rows(split, 500, "file")
  assert len(whole["pose3d"]) == 100 and said == "all 100"
  with pytest.raises(ValueError, match="order"):
    runner.scored_rows(split, 4, "sorted")
  with pytest.raises(ValueError, match="empty"):
    runner.scored_rows({"pose3d": np.zeros((0, 1))}, 4, "file")
