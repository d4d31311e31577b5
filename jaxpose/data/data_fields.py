"""How a dataset declares its `config.data` keys: typed, checked fields that
also say whether they decide which rows form the TRAIN split.

Each registered dataset (`datasets.register`) declares a frozen dataclass of
its keys, every field made by `field` below:

  @dataclasses.dataclass(frozen=True)
  class NpzSettings:
    train_path: str = data_fields.field(default="", decides_train_rows=True)
    test_path: str = data_fields.field(default="", decides_train_rows=False)

A key decides the train rows unless it only picks test rows (which 2D,
stride, count or cameras of the test split) or only says where the same
files lie (e.g. a cache folder): a model trained with another value of such
a key saw the same training rows.  `datasets.training_data` gives the keys
that do, e.g. so that a frozen encoder can be refused when it was trained on
other rows.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from jaxpose import settings

# The metadata keys of `field`.
DECIDES_TRAIN_ROWS = "decides_train_rows"
TRAINING_FILE = "training_file"


def field(*, decides_train_rows: bool, default: Any = dataclasses.MISSING,
          at_least=None, above=None, at_most=None, below=None,
          training_file: bool = False):
  """A data-section field: `settings.field` (bounds, default) plus whether
  the key decides which rows form the train split.

  Args:
    decides_train_rows: False for a key that only picks test rows or only
      says where the same files lie.
    default: the value when the section leaves the key out (none: the key
      is required).
    at_least, above, at_most, below: bounds (inclusive, exclusive) that
      `settings.parse` checks.
    training_file: the key names a file read for the train split alone,
      '' giving no training rows: an evaluation does without it when the
      file is missing (`datasets.for_evaluation`), since the workdir holds
      what the model keeps of its training data.
  """
  base = settings.field(default=default, at_least=at_least, above=above,
                        at_most=at_most, below=below)
  return dataclasses.field(default=base.default,
                           metadata={**base.metadata,
                                     DECIDES_TRAIN_ROWS: bool(decides_train_rows),
                                     TRAINING_FILE: bool(training_file)})


def check_declared(settings_class) -> None:
  """TypeError unless `settings_class` is a frozen dataclass whose every
  field says whether it decides the train rows (made by `field`)."""
  if not dataclasses.is_dataclass(settings_class) or not getattr(
      settings_class, "__dataclass_params__").frozen:
    raise TypeError(f"{settings_class!r}: a dataset's settings must be a frozen "
                    "dataclass")
  undeclared = [f.name for f in dataclasses.fields(settings_class)
                if DECIDES_TRAIN_ROWS not in f.metadata]
  if undeclared:
    raise TypeError(f"{settings_class.__name__}: field(s) {undeclared} do not say "
                    "whether they decide the train rows; make them with "
                    "data_fields.field(decides_train_rows=...)")


def train_row_keys(settings_class) -> tuple[str, ...]:
  """The fields of `settings_class` that decide which rows form the train split."""
  return tuple(f.name for f in dataclasses.fields(settings_class)
               if f.metadata[DECIDES_TRAIN_ROWS])


def training_file_keys(settings_class) -> tuple[str, ...]:
  """The fields of `settings_class` naming a file of the train split alone."""
  return tuple(f.name for f in dataclasses.fields(settings_class)
               if f.metadata.get(TRAINING_FILE, False))


__all__ = ["DECIDES_TRAIN_ROWS", "TRAINING_FILE", "field", "check_declared",
           "train_row_keys", "training_file_keys"]
