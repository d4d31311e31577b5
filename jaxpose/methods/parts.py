"""Ready-made parts of a method: held-out training rows drawn when it
prepares (`training.holdout`), and a `training` of plain fields.

A method that samples hypotheses holds whole clips out of training so that
`--mode=calibrate` has rows to fit on: `with_heldout(prepare)` (or
`prepare` when that is all it prepares) and `fields_training(...)`, both
keyed by the method's `holdout` section.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

from jaxpose.methods.base import Data, PrepareContext, Training
from jaxpose.training import holdout as holdout_lib
from jaxpose.workdir.prepared import Artefact


def prepare(ctx: PrepareContext) -> dict[str, Artefact]:
  """A method's `prepare` when the held-out rows (`training.holdout`) are
  all it prepares."""
  return holdout_lib.draw(ctx.data.splits["train"], ctx.run.sections.holdout)


@dataclasses.dataclass(frozen=True)
class LegacyContext:
  """What a method's `legacy_prepared` is handed for a workdir trained
  before prepared/ existed.

  Attributes:
    run: the typed settings. needs: the injected trained parts.
    workdir: the `workdir.layout.Workdir` (files the older jaxpose kept).
    key: `rng.purpose_key(seed, "fit")`, as `prepare` gets it.
    load_data: the training data, loaded on demand (a method that reads
      its state back from files needs none).
  """
  run: Any
  needs: Mapping[str, Any]
  workdir: Any
  key: Any
  load_data: Callable[[], Data]

  def prepare_context(self) -> PrepareContext:
    """The context `prepare` would get, with the training data."""
    return PrepareContext(run=self.run, data=self.load_data(),
                          needs=self.needs, key=self.key)


def made_today(ctx: LegacyContext) -> tuple[dict, dict]:
  """The `legacy_prepared` of a method whose `prepare` only draws held-out
  rows (none, in such a workdir), fingerprinted by no jaxpose before."""
  del ctx
  return {}, {}


def with_heldout(prepare: Callable[[PrepareContext], Mapping[str, Artefact]]
                 ) -> Callable[[PrepareContext], dict[str, Artefact]]:
  """A method's `prepare` that first draws the held-out rows, then runs
  `prepare` on the other training rows, and returns both."""

  def prepare_all(ctx: PrepareContext) -> dict[str, Artefact]:
    train = ctx.data.splits["train"]
    held = holdout_lib.draw(train, ctx.run.sections.holdout)
    if held:
      rest = holdout_lib.without_heldout(dict(train), held)
      ctx = dataclasses.replace(ctx, data=Data(
          dataset=ctx.data.dataset, splits={**ctx.data.splits, "train": rest}))
    return {**held, **prepare(ctx)}

  return prepare_all


def fields_training(*fields: str, mirror: Callable[[Any], Any] | None = None
                    ) -> Callable[[Any, Data, Mapping], Training]:
  """`training` of a method that trains `model.loss` on these fields of the
  train split's rows, less the held-out rows when the prepared artefacts
  hold some (`training.holdout`; every row otherwise); `mirror(model)`
  gives the rows' mirror (`Training.mirror`)."""

  def training(model, data: Data, prepared) -> Training:
    train = data.splits["train"]
    return Training(arrays=holdout_lib.without_heldout(
        {k: train[k] for k in fields}, prepared), loss=model.loss,
                    mirror=mirror(model) if mirror else None)

  return training


__all__ = ["prepare", "with_heldout", "fields_training"]
