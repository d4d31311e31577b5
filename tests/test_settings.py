"""Typed settings: every kind of bad key or value is named by its dotted key."""
import dataclasses
from typing import Literal, Mapping

import ml_collections
import pytest

from jaxpose import settings
from jaxpose.settings import ConfigError


@dataclasses.dataclass(frozen=True)
class Inner:
  rate: float = settings.field(default=0.5, at_least=0.0, below=1.0)


@dataclasses.dataclass(frozen=True)
class Outer:
  kind: Literal["a", "b"]
  steps: tuple[int, ...] = settings.field(at_least=1)
  weights: Mapping[str, float] = settings.field(at_least=0.0)
  inner: Inner = Inner()
  flag: bool = False


def _values(**kw):
  return dict(dict(kind="a", steps=(1, 2), weights=dict(x=1.0)), **kw)


def test_parse_gives_typed_frozen_values():
  got = settings.parse(Outer, ml_collections.ConfigDict(_values(
      steps=[3, 4], weights=dict(x=2), inner=dict(rate=0))), "s")
  assert got.steps == (3, 4) and got.weights["x"] == 2.0
  assert isinstance(got.weights["x"], float) and got.inner == Inner(rate=0.0)
  with pytest.raises(TypeError):
    got.weights["y"] = 1.0  # read-only
  assert settings.parse(Outer, _values(), "s").inner == Inner()
  assert settings.as_dict(got)["inner"] == {"rate": 0.0}


@pytest.mark.parametrize("change, message", [
    (dict(kind="c"), "s.kind: expected one of a, b, got 'c'"),
    (dict(steps=(0,)), r"s.steps: expected values >= 1, got \(0,\)"),
    (dict(weights=dict(x=-1.0)), "s.weights: expected values >= 0.0"),
    (dict(weights=dict(x="1")), "s.weights.x: expected float, got '1'"),
    (dict(inner=dict(rate=1.0)), "s.inner.rate: expected values >= 0.0 and < 1.0"),
    (dict(inner=dict(rte=0.1)), "s.inner.rte: not a setting here; valid keys: rate"),
    (dict(flag=1), "s.flag: expected bool, got 1"),
    (dict(stepz=3), "s.stepz: not a setting here; valid keys: flag, inner, kind"),
])
def test_bad_keys_and_values_are_named(change, message):
  with pytest.raises(ConfigError, match=message):
    settings.parse(Outer, _values(**change), "s")


def test_missing_required_key_is_named():
  values = _values()
  del values["kind"]
  with pytest.raises(ConfigError, match="s.kind: missing from the config"):
    settings.parse(Outer, values, "s")


def test_parse_shared_splits_one_section():
  a, b = settings.parse_shared(dict(rate=0.25, kind="b", steps=(1,),
                                    weights={}), (Inner, Outer), "eval")
  assert a == Inner(rate=0.25) and b.kind == "b"
  with pytest.raises(ConfigError, match="eval.other: not a setting here"):
    settings.parse_shared(dict(rate=0.25, other=1), (Inner,), "eval")


def test_parse_named_checks_the_name_and_its_arguments():
  args = {"mlp": {"width": int}, "gru": {"cells": int}}.get
  assert settings.parse_named(dict(name="mlp", width=3), "model", ("mlp", "gru"),
                              args, "network") == ("mlp", {"width": 3})
  with pytest.raises(ConfigError, match="model.name: missing"):
    settings.parse_named(dict(width=3), "model", ("mlp",), args, "network")
  with pytest.raises(ConfigError, match="model.cells: not an argument of "
                     "network 'mlp'; valid keys: name, width"):
    settings.parse_named(dict(name="mlp", cells=3), "model", ("mlp", "gru"),
                         args, "network")


def test_one_of_helpers():
  assert settings.one_of("x", 2, (1, 2)) == 2
  with pytest.raises(ConfigError, match="x: expected one of 1, 2, got 3"):
    settings.one_of("x", 3, (1, 2))
  with pytest.raises(ConfigError, match=r"xs: unknown \['c'\]; valid: a, b"):
    settings.each_one_of("xs", ("a", "c"), ("a", "b"))
