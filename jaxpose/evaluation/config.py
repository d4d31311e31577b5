"""`config.eval` as typed values, checked before anything runs.

A config's `eval` section holds the generic fields of `EvalConfig` and the
fields of the method's own options dataclass, side by side. `parse` builds
both and refuses a missing field, an unknown one (naming the valid keys)
or a value of the wrong type. Defaults live in the configs only
(experiments/configs/), never here.
"""
from __future__ import annotations

import dataclasses
import typing
from typing import Any

from jaxpose import config as config_lib


class EvalConfigError(config_lib.ConfigError):
  """An evaluation setting jaxpose cannot use."""


@dataclasses.dataclass(frozen=True)
class EvalConfig:
  """What every method's evaluation reads from `config.eval`.

  Attributes:
    task: the evaluation task to run (one of the method's `eval_tasks()`).
    num_poses: held-out poses scored (the first rows of the test split).
    use_ema: evaluate the EMA weights rather than the raw ones.
    plot_poses: poses drawn in the task's plots.
    plot_hypotheses: hypotheses drawn per pose.
    output_suffix: appended to every output name (`<task>_<suffix>.json`),
      so an evaluation of other inputs (e.g. noisy 2D) keeps its own files.
    output_dir: where results go ('' = WORKDIR/eval, or
      WORKDIR/eval/<dataset> for data other than the training data).
    save_predictions: also write `<task>_predictions.npz` (the outputs,
      the ground truth and row ids per test row).
  """
  task: str
  num_poses: int
  use_ema: bool
  plot_poses: int
  plot_hypotheses: int
  output_suffix: str
  output_dir: str
  save_predictions: bool

  def __post_init__(self):
    require_at_least("num_poses", self.num_poses, 1)
    require_at_least("plot_poses", self.plot_poses, 0)
    require_at_least("plot_hypotheses", self.plot_hypotheses, 0)


def require_at_least(name: str, value, lowest, *, where: str = "eval"):
  """EvalConfigError unless every number in `value` is >= `lowest`."""
  values = value if isinstance(value, tuple) else (value,)
  for v in values:
    if not v >= lowest:
      raise EvalConfigError(f"{where}.{name}: expected values >= {lowest}, "
                            f"got {value!r}")


def _type_name(tp) -> str:
  return getattr(tp, "__name__", str(tp))


def _coerce(name: str, value: Any, tp) -> Any:
  """value as the annotated type `tp`, or EvalConfigError naming `name`."""
  origin = typing.get_origin(tp)
  if origin is tuple:
    (item,) = {a for a in typing.get_args(tp) if a is not Ellipsis}
    seq = value if isinstance(value, (list, tuple)) else (value,)
    return tuple(_coerce(name, v, item) for v in seq)
  if tp is bool:
    if isinstance(value, bool):
      return value
  elif tp is int:
    if isinstance(value, int) and not isinstance(value, bool):
      return value
  elif tp is float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
      return float(value)
  elif tp is str:
    if isinstance(value, str):
      return value
  else:
    return value
  raise EvalConfigError(f"eval.{name}: expected {_type_name(tp)}, got "
                        f"{value!r} ({type(value).__name__})")


def _build(cls, values: dict, prefix: str = "eval"):
  hints = typing.get_type_hints(cls)
  kwargs = {}
  for field in dataclasses.fields(cls):
    if field.name not in values:
      raise EvalConfigError(
          f"{prefix}.{field.name}: missing from the config (every "
          f"evaluation setting is given by the config; see "
          f"experiments/configs/)")
    kwargs[field.name] = _coerce(field.name, values[field.name], hints[field.name])
  return cls(**kwargs)


def parse(section, options_cls) -> tuple[EvalConfig, Any]:
  """`config.eval` -> (EvalConfig, options_cls instance), checked.

  Raises:
    EvalConfigError: a field of either dataclass is missing, a key of the
      section belongs to neither, or a value has the wrong type.
  """
  values = dict(config_lib.to_plain(section))
  known = ({f.name for f in dataclasses.fields(EvalConfig)} |
           {f.name for f in dataclasses.fields(options_cls)})
  unknown = sorted(set(values) - known)
  if unknown:
    raise EvalConfigError(
        f"eval.{unknown[0]}: not an evaluation setting of this method; "
        f"valid keys: {', '.join(sorted(known))}")
  return _build(EvalConfig, values), _build(options_cls, values)


__all__ = ["EvalConfig", "EvalConfigError", "parse", "require_at_least"]
