"""The precision of a network's dense products, chosen where it runs.

A trained network is float32. `models.with_matmul_dtype(network,
"bfloat16")`
gives the same network, on the same parameters, whose dense layers
(`nnx.Linear`) multiply bfloat16 copies of their inputs and weights and
accumulate in float32; everything else (biases, norms, activations, the
sampler's state) stays float32. On a CPU with AVX-512 bf16 or AMX and on
GPUs/TPUs these products run on the bfloat16 units; elsewhere XLA may
emulate them, slower than float32: measure before choosing
(`experiments.bench.precision`).
"""
from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp

MATMUL_DTYPES = ("float32", "bfloat16")
MatmulDtype = Literal["float32", "bfloat16"]


def bfloat16_dot_general(lhs, rhs, dimension_numbers, precision=None,
                         preferred_element_type=None, **kwargs):
  """`lax.dot_general` of bfloat16 operands, accumulated in float32."""
  del precision, preferred_element_type
  return jax.lax.dot_general(lhs.astype(jnp.bfloat16), rhs.astype(jnp.bfloat16),
                             dimension_numbers,
                             preferred_element_type=jnp.float32, **kwargs)


__all__ = ["MATMUL_DTYPES", "MatmulDtype", "bfloat16_dot_general"]
