"""Generative figures: how close a set of generated poses is to real ones.

Frechet distance between Gaussians fitted to root-relative pose vectors,
mean nearest-neighbour MPJPE to a reference set, and APD, in mm;
`generation_figures` computes all three the same way for any set, so a
generated set, held-out real poses and training poses sit in one table.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxpose import checks
from jaxpose.pose import metrics as metrics_lib


def frechet_distance_from_stats(mu1, cov1, mu2, cov2) -> float:
  """Frechet distance between N(mu1, cov1) and N(mu2, cov2).

  |mu1 - mu2|^2 + tr(C1 + C2 - 2 (C1^1/2 C2 C1^1/2)^1/2).  The square roots
  are of symmetric PSD matrices, taken by eigen-decomposition (negative
  round-off eigenvalues clipped), in float64.
  """
  mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
  cov1, cov2 = np.asarray(cov1, np.float64), np.asarray(cov2, np.float64)
  d = mu1.shape[-1]
  checks.check_array("mu1", mu1, (d,))
  checks.check_array("mu2", mu2, (d,))
  checks.check_array("cov1", cov1, (d, d))
  checks.check_array("cov2", cov2, (d, d))

  def psd_sqrt(m):
    w, v = np.linalg.eigh((m + m.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T

  root1 = psd_sqrt(cov1)
  # tr sqrt(C1^1/2 C2 C1^1/2) = sum of square roots of its eigenvalues.
  w = np.linalg.eigvalsh(root1 @ cov2 @ root1)
  trace_term = np.sum(np.sqrt(np.clip(w, 0.0, None)))
  fd = np.sum((mu1 - mu2)**2) + np.trace(cov1) + np.trace(cov2) - 2 * trace_term
  return float(max(fd, 0.0))


def frechet_distance(x, y) -> float:
  """Frechet distance between the Gaussians fitted to two sample sets.

  x: [N, D], y: [M, D] (N, M >= 2); sample covariances with N - 1.
  """
  x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
  checks.check_array("x", x, (None, "D"))
  checks.check_array("y", y, (None, "D"), sizes={"D": x.shape[-1]})
  for name, v in (("x", x), ("y", y)):
    if len(v) < 2:  # a sample covariance needs two
      raise ValueError(f"{name}: need at least 2 samples (rows), got {len(v)}")
  metrics_lib.check_nonempty("x", x, {1: "dimensions (D)"})
  return frechet_distance_from_stats(x.mean(0), np.cov(x, rowvar=False),
                                     y.mean(0), np.cov(y, rowvar=False))


def nearest_neighbor_distance(query_mm, reference_mm) -> np.ndarray:
  """Per query pose, the MPJPE to its nearest reference pose.

  query_mm [N, J, 3], reference_mm [M, J, 3] -> [N] (mm); N, M, J >= 1.
  """
  sizes = {}
  checks.check_array("query_mm", query_mm, (None, "J", 3), sizes=sizes)
  checks.check_array("reference_mm", reference_mm, (None, "J", 3), sizes=sizes)
  metrics_lib.check_nonempty("query_mm", query_mm, {0: "poses (N)", 1: "joints (J)"})
  metrics_lib.check_nonempty("reference_mm", reference_mm, {0: "poses (M)"})
  return np.asarray(_nn_distance(jnp.asarray(query_mm, jnp.float32),
                                 jnp.asarray(reference_mm, jnp.float32)))


@jax.jit
def _nn_distance(query, reference):
  def one(q):  # [J, 3] -> scalar; memory O(M J) per query in a batch
    return jnp.min(jnp.linalg.norm(reference - q, axis=-1).mean(-1))
  return jax.lax.map(one, query, batch_size=64)


def generation_figures(poses_mm, reference_mm) -> dict:
  """APD, Frechet distance (mm^2 and its root) and NN MPJPE of a pose set.

  poses_mm [N, J, 3], reference_mm [M, J, 3] (N, M, J >= 2), root-relative.
  The Frechet distance compares root-relative vectors without the root
  joint (always zero there).
  """
  sizes = {}
  checks.check_array("poses_mm", poses_mm, (None, "J", 3), sizes=sizes)
  checks.check_array("reference_mm", reference_mm, (None, "J", 3), sizes=sizes)
  for name, v in (("poses_mm", poses_mm), ("reference_mm", reference_mm)):
    if len(v) < 2:  # APD needs a pair, a covariance two samples
      raise ValueError(f"{name}: need at least 2 poses, got {len(v)}")
    if np.shape(v)[1] < 2:  # the Frechet distance drops the root joint
      raise ValueError(f"{name}: need at least 2 joints (the root and one "
                       f"more), got shape {np.shape(v)}")
  vec = lambda p: (p[:, 1:] - p[:, :1]).reshape(len(p), -1)
  fd = frechet_distance(vec(poses_mm), vec(reference_mm))
  return dict(apd_mm=float(metrics_lib.apd(poses_mm)), fd_mm2=fd,
              fd_sqrt_mm=float(np.sqrt(fd)),
              nn_mpjpe_mm=float(nearest_neighbor_distance(poses_mm, reference_mm).mean()))


__all__ = ["frechet_distance", "frechet_distance_from_stats",
           "nearest_neighbor_distance", "generation_figures"]
