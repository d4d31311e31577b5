"""Checked conversion of a state dict: other dtypes than float32 are cast
with one line saying so."""
import logging

import numpy as np

from jaxpose.interop import state_dicts

RULES = state_dicts.linear("fc", "out", 3, 2)


def _state(**dtypes):
  rng = np.random.default_rng(0)
  return {"fc.weight": rng.standard_normal((2, 3)).astype(
              dtypes.get("weight", np.float32)),
          "fc.bias": np.array([1, 0], dtypes.get("bias", np.float32))}


def test_float32_weights_convert_silently(caplog):
  with caplog.at_level(logging.WARNING):
    out = state_dicts.convert(_state(), RULES, source="f.pth")
  assert out["out/kernel"].shape == (3, 2)
  assert not caplog.records


def test_other_dtypes_are_cast_with_one_line(caplog):
  state = _state(weight=np.float16, bias=np.int64)
  with caplog.at_level(logging.WARNING):
    out = state_dicts.convert(state, RULES, source="f.pth")
  assert all(v.dtype == np.float32 for v in out.values())
  np.testing.assert_array_equal(out["out/bias"], [1.0, 0.0])
  np.testing.assert_array_equal(out["out/kernel"],
                                state["fc.weight"].astype(np.float32).T)
  lines = [r.getMessage() for r in caplog.records]
  assert len(lines) == 1, lines
  assert lines[0] == ("f.pth: 2 weights stored as float16/int64, imported "
                      "as float32 (first: 'fc.weight', float16)")


def test_bool_weights_are_named(caplog):
  with caplog.at_level(logging.WARNING):
    state_dicts.convert(_state(bias=np.bool_), RULES, source="f.pth")
  assert "1 weight stored as bool" in caplog.records[0].getMessage()
