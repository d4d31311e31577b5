"""Score networks by name, and the pure functional API over them.

Everything outside this package sees a model as two things: a `graphdef`
(static structure, closed over) and a `params` pytree (`nnx.State` of the
`nnx.Param`s).  `make_apply(graphdef)` turns them into a plain function
`apply_fn(params, x, t, cond, *, train, dropout_key)` that `jax.jit`,
`jax.vmap` and `jax.grad` go through, because the module is rebuilt with
`nnx.merge` inside every call and keeps no state between calls.
"""
from __future__ import annotations

import dataclasses
import inspect
import typing
from typing import Any, Callable, Mapping

import jax
from flax import nnx

from jaxpose import settings
from jaxpose.core import xla_options

from jaxpose.models.context_encoder import (GraphLifter, LifterOutput,
                                            TemporalLifter)
from jaxpose.models.diffpose_denoiser import DiffPoseDenoiser
from jaxpose.models.lifter_mlp import LifterMLP
from jaxpose.models import precision
from jaxpose.models.precision import MATMUL_DTYPES
from jaxpose.models.score_mlp import ScoreMLP, timestep_embedding

_REGISTRY: dict[str, type[nnx.Module]] = {
    "score_mlp": ScoreMLP,
    "lifter_mlp": LifterMLP,
    "diffpose_denoiser": DiffPoseDenoiser,
    "graph_lifter": GraphLifter,
    "temporal_lifter": TemporalLifter,
}

# Returns the model's output: an array, or a `LifterOutput` (features,
# pose3d) for a context encoder.
ApplyFn = Callable[..., Any]


def model_names() -> tuple[str, ...]:
  return tuple(sorted(_REGISTRY))


def register(name: str):
  """Class decorator: makes an `nnx.Module` a network by name, so a config's
  `model.name` can pick it (from inside jaxpose or from a user's module)."""

  def wrap(cls):
    if name in _REGISTRY and _REGISTRY[name] is not cls:
      raise ValueError(f"model {name!r} is registered twice")
    _REGISTRY[name] = cls
    return cls

  return wrap


def _constructor_kwargs(cls) -> tuple[str, ...]:
  params = inspect.signature(cls.__init__).parameters
  return tuple(n for n in params if n not in ("self", "rngs"))


def create_model_module(name: str, *, key: jax.Array, **kwargs: Any) -> nnx.Module:
  """The registered model `name` as an `nnx.Module`, arguments checked."""
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
  return cls(**kwargs, rngs=nnx.Rngs(params=key))


def create_model(name: str, *, key: jax.Array, **kwargs: Any):
  """Builds a registered model and splits it into (graphdef, params).

  Args:
    name: registry name, one of `model_names()`.
    key: parameter initialisation key.
    **kwargs: constructor arguments of the model (everything but `rngs`).

  Returns:
    `(graphdef, params)`; params is an `nnx.State` of every `nnx.Param`.
  """
  model = create_model_module(name, key=key, **kwargs)
  # Models keep nothing but parameters (dropout randomness is passed per
  # call), so the Param filter is exhaustive; nnx.split raises if it is not.
  graphdef, params = nnx.split(model, nnx.Param)
  return graphdef, params


def _abstract_module(name: str, **kwargs: Any) -> nnx.Module:
  """A registered model without its parameters allocated (`nnx.eval_shape`)."""
  return nnx.eval_shape(
      lambda: create_model_module(name, key=jax.random.key(0), **kwargs))


def model_graphdef(name: str, **kwargs: Any):
  """The static structure of a registered model, without allocating its
  parameters; pairs with `create_model(...)[1]`."""
  return nnx.split(_abstract_module(name, **kwargs), nnx.Param)[0]


def make_apply(graphdef) -> ApplyFn:
  """Returns the pure forward function of a model structure.

  `apply_fn(params, *inputs, train=False, dropout_key=None)` rebuilds the
  module from `params` (its `nnx.State` of parameters) and calls it on
  `inputs`, the model's own arguments: `(x, t, cond)` for a score network
  (`x [B, J, C]`, t scalar or `[B]`, cond None or the model's condition),
  `(pose2d,)` for a lifter (a context encoder returns a `LifterOutput`).
  `train` turns dropout on (it needs `dropout_key` when the model has
  dropout); the key is ignored otherwise.
  Shapes are checked at trace time with messages naming the argument.
  """

  def apply_fn(params, *inputs, train: bool = False,
               dropout_key: jax.Array | None = None):
    model = nnx.merge(graphdef, params)
    rngs = None
    if train:
      if dropout_key is None and getattr(model, "dropout_rate", 0.0) > 0:
        raise ValueError("dropout_key: train=True needs a key for the dropout "
                         "masks (or pass train=False for the deterministic "
                         "network)")
      if dropout_key is not None:
        rngs = nnx.Rngs(dropout=dropout_key)
    return model(*inputs, deterministic=not train, rngs=rngs)

  return apply_fn


def _constructor_types(cls) -> dict[str, Any]:
  try:
    return typing.get_type_hints(cls.__init__)
  except Exception:  # pylint: disable=broad-except
    return {}  # unresolvable annotations: values pass as given


@dataclasses.dataclass(frozen=True)
class NetworkSpec:
  """A config's `model` section, typed: a registered network and its
  constructor arguments (checked against the constructor's signature).

  Attributes:
    name: the registry name (`model_names()`).
    kwargs: the section's other keys, typed by the constructor's
      annotations.
  """
  name: str
  kwargs: Mapping[str, Any]

  @classmethod
  def from_section(cls, section, where: str = "model") -> "NetworkSpec":
    """The section as a spec; unknown networks and arguments are named."""
    def arguments(name):
      ctor = _REGISTRY[name]
      types = _constructor_types(ctor)
      return {k: types.get(k, Any) for k in _constructor_kwargs(ctor)}

    name, kwargs = settings.parse_named(section, where, model_names(),
                                        arguments, "network")
    return cls(name=name, kwargs=kwargs)

  def build(self, **fixed) -> "Network":
    """The network with these arguments and `fixed` (data-derived ones the
    config does not hold, e.g. `data_dim`), its structure checked now."""
    clash = sorted(set(self.kwargs) & set(fixed))
    if clash:
      raise settings.ConfigError(
          f"model.{clash[0]}: set by the method from its data, not by the "
          "config; remove it from the model section")
    kwargs = {**self.kwargs, **fixed}
    module = _abstract_module(self.name, **kwargs)
    graphdef = nnx.split(module, nnx.Param)[0]
    return Network(name=self.name, kwargs=kwargs, graphdef=graphdef,
                   apply=make_apply(graphdef), abstract=module)


@dataclasses.dataclass(frozen=True)
class Network:
  """A built network: its structure, pure forward function and initialiser.

  Attributes:
    name, kwargs: what it was built from.
    graphdef: the static structure (`nnx.split`).
    apply: `apply(params, *inputs, train=False, dropout_key=None)`.
    abstract: the module without parameters, for its attributes (e.g. a
      context encoder's `feature_dim`).
  """
  name: str
  kwargs: Mapping[str, Any]
  graphdef: Any
  apply: ApplyFn
  abstract: Any = dataclasses.field(repr=False, compare=False)

  def init(self, key: jax.Array):
    """Freshly initialised parameters (an `nnx.State`)."""
    return create_model(self.name, key=key, **self.kwargs)[1]


def with_matmul_dtype(network: Network, dtype: str) -> Network:
  """`network` (a `models.Network`) with its dense products in `dtype`;
  the network itself when `dtype` is float32. Its parameters are unchanged,
  so the same `params` go with either."""
  if dtype not in precision.MATMUL_DTYPES:
    raise ValueError(f"matmul dtype {dtype!r}: expected one of "
                     f"{', '.join(precision.MATMUL_DTYPES)}")
  if dtype == "float32":
    return network
  xla_options.warn_if_emulated(dtype)
  module = _abstract_module(network.name, **network.kwargs)
  dense = [m for _, m in nnx.iter_graph(module) if isinstance(m, nnx.Linear)]
  if not dense:
    raise ValueError(f"network {network.name!r} has no dense layers whose "
                     f"products could run in {dtype}")
  for layer in dense:
    layer.dot_general = precision.bfloat16_dot_general
  graphdef = nnx.split(module, nnx.Param)[0]
  return dataclasses.replace(network, graphdef=graphdef,
                             apply=make_apply(graphdef), abstract=module)


def count_params(params) -> int:
  """Total number of scalars in a parameter pytree."""
  return int(sum(leaf.size for leaf in jax.tree.leaves(params)))


__all__ = ["MATMUL_DTYPES", "with_matmul_dtype", "NetworkSpec", "Network", "register", "ScoreMLP", "DiffPoseDenoiser", "GraphLifter", "TemporalLifter",
           "LifterOutput", "create_model", "create_model_module", "model_graphdef", "make_apply", "count_params",
           "model_names", "timestep_embedding"]
