"""The `train` section every method shares, typed (`settings.parse_shared`).

A method's own keys of the section (e.g. its loss's reduction) live in its
own dataclass beside this one; the runner parses both from one section.
"""
from __future__ import annotations

import dataclasses

import optax

from jaxpose import settings
from jaxpose.training import train as train_lib


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  """How long and how a model is trained, logged and saved.

  Attributes:
    num_steps: updates to train (a resumed run trains up to this many).
    batch_size: rows per update (the global batch, over all devices).
    learning_rate: Adam's rate after the warm-up.
    warmup_steps: updates over which the rate ramps up from 0.
    grad_clip: maximum global gradient norm (0: no clipping).
    ema_decay: the EMA's largest decay (it is warmed up too).
    log_every: updates between log lines (and checks for divergence).
    ckpt_every: updates between checkpoints.
    keep_ckpts: checkpoints kept on disk.
    max_param_norm_growth: stop when the parameter norm grows more than
      this factor between two checks (0: never).
    allow_changed_resume: resume even with settings that break an exact
      resume (the change is recorded in config_history.jsonl).
    mirror: the probability that a training row is replaced by its
      left-right mirror (`training.augment`); 0 (the default of configs
      written before it) trains on the rows as they are.
  """
  num_steps: int = settings.field(at_least=1)
  batch_size: int = settings.field(at_least=1)
  learning_rate: float = settings.field(above=0.0)
  warmup_steps: int = settings.field(at_least=0)
  grad_clip: float = settings.field(at_least=0.0)
  ema_decay: float = settings.field(at_least=0.0, below=1.0)
  log_every: int = settings.field(at_least=1)
  ckpt_every: int = settings.field(at_least=1)
  keep_ckpts: int = settings.field(at_least=1)
  max_param_norm_growth: float = settings.field(default=0.0, at_least=0.0)
  allow_changed_resume: bool = False
  mirror: float = settings.field(default=0.0, at_least=0.0, at_most=1.0)

  def __post_init__(self):
    if 0 < self.max_param_norm_growth <= 1:
      raise settings.ConfigError(
          f"train.max_param_norm_growth: expected > 1 (or 0 to disable the "
          f"check), got {self.max_param_norm_growth!r}")

  def optimizer(self) -> optax.GradientTransformation:
    """Adam with the warm-up and clipping of these settings."""
    return train_lib.make_optimizer(learning_rate=self.learning_rate,
                                    warmup_steps=self.warmup_steps,
                                    grad_clip=self.grad_clip)


__all__ = ["TrainConfig"]
