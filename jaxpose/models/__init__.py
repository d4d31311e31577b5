"""Score networks by name, and the pure functional API over them.

Everything outside this package sees a model as two things: a `graphdef`
(static structure, closed over) and a `params` pytree (`nnx.State` of the
`nnx.Param`s).  `make_apply(graphdef)` turns them into a plain function
`apply_fn(params, x, t, cond, *, train, dropout_key)` that `jax.jit`,
`jax.vmap` and `jax.grad` go through, because the module is rebuilt with
`nnx.merge` inside every call and keeps no state between calls.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable

import jax
from flax import nnx

from jaxpose.models.lifter_mlp import LifterMLP
from jaxpose.models.score_mlp import ScoreMLP, timestep_embedding

_REGISTRY: dict[str, type[nnx.Module]] = {
    "score_mlp": ScoreMLP,
    "lifter_mlp": LifterMLP,
}

ApplyFn = Callable[..., jax.Array]


def model_names() -> tuple[str, ...]:
  return tuple(sorted(_REGISTRY))


def _constructor_kwargs(cls) -> tuple[str, ...]:
  params = inspect.signature(cls.__init__).parameters
  return tuple(n for n in params if n not in ("self", "rngs"))


def create_model(name: str, *, key: jax.Array, **kwargs: Any):
  """Builds a registered model and splits it into (graphdef, params).

  Args:
    name: registry name, one of `model_names()`.
    key: parameter initialisation key.
    **kwargs: constructor arguments of the model (everything but `rngs`).

  Returns:
    `(graphdef, params)`; params is an `nnx.State` of every `nnx.Param`.
  """
  if name not in _REGISTRY:
    raise ValueError(f"unknown model {name!r}; valid names: "
                     f"{', '.join(model_names())}")
  cls = _REGISTRY[name]
  valid = _constructor_kwargs(cls)
  unknown = sorted(set(kwargs) - set(valid))
  if unknown:
    raise ValueError(f"model {name!r} got unknown argument(s) "
                    f"{', '.join(unknown)}; valid arguments: "
                    f"{', '.join(valid)}")
  model = cls(**kwargs, rngs=nnx.Rngs(params=key))
  # Models keep nothing but parameters (dropout randomness is passed per
  # call), so the Param filter is exhaustive; nnx.split raises if it is not.
  graphdef, params = nnx.split(model, nnx.Param)
  return graphdef, params


def make_apply(graphdef) -> ApplyFn:
  """Returns the pure forward function of a model structure.

  The returned `apply_fn(params, x, t, cond=None, *, train=False,
  dropout_key=None)` takes
    params: the model's `nnx.State` of parameters;
    x: `[B, D]` noisy inputs;
    t: scalar or `[B]` diffusion times;
    cond: None or the model's condition (ScoreMLP: `(c [B, D], c_mask
      [B, D])`);
    train: dropout on (needs `dropout_key` when the model has dropout);
    dropout_key: key for the dropout masks, ignored when not training;
  and returns the `[B, D]` epsilon prediction.  Shapes are checked at trace
  time with messages naming the argument.
  """

  def apply_fn(params, x, t, cond=None, *, train: bool = False,
               dropout_key: jax.Array | None = None) -> jax.Array:
    model = nnx.merge(graphdef, params)
    rngs = None
    if train:
      if dropout_key is None and getattr(model, "dropout_rate", 0.0) > 0:
        raise ValueError("dropout_key: train=True needs a key for the dropout "
                         "masks (or pass train=False for the deterministic "
                         "network)")
      if dropout_key is not None:
        rngs = nnx.Rngs(dropout=dropout_key)
    return model(x, t, cond, deterministic=not train, rngs=rngs)

  return apply_fn


def count_params(params) -> int:
  """Total number of scalars in a parameter pytree."""
  return int(sum(leaf.size for leaf in jax.tree.leaves(params)))


__all__ = ["ScoreMLP", "create_model", "make_apply", "count_params",
           "model_names", "timestep_embedding"]
