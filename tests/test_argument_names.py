"""Errors at public entry points name the caller's argument, not an internal
array: a user's wrong-sized pose is reported where it enters, in its terms.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpose import models
from jaxpose.core import losses
from jaxpose.core import sampling
from jaxpose.core import sde as sde_lib
from jaxpose.evaluation import generative
from jaxpose.pose import metrics


def _problems():
  # Imported here: the method package registers GFPose on import.
  # pylint: disable-next=import-outside-toplevel
  from jaxpose.methods.gfpose import problems
  return problems


def test_estimation_problem_names_pose2d_and_its_expected_shape():
  problems = _problems()
  with pytest.raises(ValueError) as err:
    problems.estimation_problem(np.zeros((4, 16, 2), np.float32))
  assert str(err.value) == (
      "pose2d: expected shape (N, 17, 2), got (4, 16, 2)")
  with pytest.raises(ValueError, match=r"^visible: expected shape \(N, 17\) "
                     r"with N=4"):
    problems.estimation_problem(np.zeros((4, 17, 2), np.float32),
                                visible=np.ones((3, 17)))
  problem = problems.estimation_problem(np.zeros((4, 17, 2), np.float32))
  assert problem.x_init.shape == (4, 17, 3)


def test_other_problems_name_their_poses():
  problems = _problems()
  with pytest.raises(ValueError, match=r"^pose3d: expected shape \(N, 17, 3\)"):
    problems.completion_problem(np.zeros((2, 16, 3)), np.ones((2, 16)))
  with pytest.raises(ValueError, match=r"^visible: expected shape \(N, 17\)"):
    problems.completion_problem(np.zeros((2, 17, 3)), np.ones((2, 16)))
  with pytest.raises(ValueError,
                     match=r"^noisy_pose3d: expected shape \(N, 17, 3\)"):
    problems.denoising_problem(np.zeros((2, 16, 3)))
  assert problems.denoising_problem(
      np.zeros((2, 5, 3)), num_joints=5).x_init.shape == (2, 5, 3)


def _gfpose_like_sampler(example_shape):
  sde = sde_lib.get_sde("vp")
  graphdef, params = models.create_model(
      "score_mlp", key=jax.random.key(0), data_dim=51, cond_dim=51, hidden=32,
      embed_dim=16, num_blocks=1, num_groups=4)
  score_fn = losses.make_score_fn(models.make_apply(graphdef), sde)
  sampler = sampling.make_sampler("ddim", sde, score_fn, num_steps=2,
                                  example_shape=example_shape)
  return sampler, params


def test_sampler_with_an_example_shape_names_the_problem():
  sampler, params = _gfpose_like_sampler((17, 3))
  wrong = sampling.Problem(x_init=jnp.zeros((4, 16, 3)))
  with pytest.raises(ValueError) as err:
    sampler(params, jax.random.key(1), wrong)
  assert str(err.value) == (
      "problem.x_init: expected shape (B, 17, 3), got (4, 16, 3)")
  with pytest.raises(ValueError, match=r"^problem.x_init: expected shape"):
    sampler.hypotheses(params, jax.random.key(1), wrong, 2)
  right = sampling.Problem(x_init=jnp.zeros((4, 17, 3)))
  assert sampler(params, jax.random.key(1), right).shape == (4, 17, 3)
  # Without it, only the network can tell, in its own terms.
  loose, params = _gfpose_like_sampler(None)
  assert loose is not sampler
  with pytest.raises(ValueError, match=r"^x: expected shape"):
    loose(params, jax.random.key(1), wrong)
  with pytest.raises(ValueError, match="example_shape"):
    _gfpose_like_sampler((17, 0))


def test_hypotheses_that_do_not_match_gt_are_named():
  hyps, gt = np.zeros((2, 5, 17, 3)), np.zeros((4, 17, 3))
  for reduction in (metrics.best_of_h, metrics.mean_of_h):
    with pytest.raises(ValueError) as err:
      reduction(hyps, gt)
    assert str(err.value).startswith(
        "hyps: expected shape (H, *gt.shape) = (H, 4, 17, 3)"), err.value
    assert "pred" not in str(err.value)
  # Dims of size 1 still broadcast.
  assert metrics.best_of_h(np.zeros((2, 1, 17, 3)), gt).shape == (4,)


def test_generation_figures_need_two_joints_named():
  poses = np.zeros((3, 1, 3))
  with pytest.raises(ValueError, match=r"^poses_mm: need at least 2 joints"):
    generative.generation_figures(poses, np.zeros((3, 1, 3)))
  with pytest.raises(ValueError, match=r"^reference_mm: expected shape"):
    generative.generation_figures(np.zeros((3, 2, 3)), np.zeros((3, 1, 3)))
