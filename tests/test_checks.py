"""Input checks: shapes with named dims, and non-finite rows named."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpose import checks


def test_non_finite_message_names_the_rows():
  pose2d = np.zeros((100, 17, 2), np.float32)
  pose2d[4, 0, 0] = np.nan
  pose2d[17, 3, 1] = np.inf
  pose2d[90, 16, 0] = -np.inf
  pose2d[90, 2, 1] = np.nan  # a second value in the same row: one row
  with pytest.raises(ValueError) as err:
    checks.check_array("pose2d", pose2d, ("N", 17, 2))
  assert str(err.value) == (
      "pose2d: non-finite values (NaN or inf) in 3 of 100 rows: 4, 17, 90 "
      "(shape (100, 17, 2))")


def test_non_finite_message_lists_the_first_rows_only():
  x = np.zeros((50, 3))
  x[10:40:3] = np.nan  # 10 rows
  with pytest.raises(ValueError) as err:
    checks.check_array("poses", x, (None, 3))
  assert str(err.value) == (
      "poses: non-finite values (NaN or inf) in 10 of 50 rows: "
      "10, 13, 16, 19, 22, ... (shape (50, 3))")


def test_non_finite_vectors_and_scalars():
  with pytest.raises(ValueError, match=r"^t: non-finite values \(NaN or inf\) "
                     r"in 1 of 3 entries: 2 \(shape \(3,\)\)$"):
    checks.check_array("t", np.array([0.0, 1.0, np.nan]), (3,))
  with pytest.raises(ValueError, match=r"^scale: non-finite value \(inf\)"):
    checks.check_array("scale", np.float32(np.inf), ())


def test_finite_integer_and_traced_arrays_pass():
  checks.check_array("x", np.ones((2, 3)), ("B", 3))
  checks.check_array("idx", np.arange(4), (4,))
  checks.check_array("x", np.full((2, 3), np.nan), ("B", 3), finite=False)

  @jax.jit
  def f(x):  # only the shape is checked under jit
    return checks.check_array("x", x, ("B", 3))
  assert np.isnan(f(jnp.full((2, 3), jnp.nan))).all()


def test_shape_messages_name_the_argument():
  sizes = {}
  checks.check_array("pose3d", np.zeros((4, 17, 3)), ("N", 17, 3), sizes=sizes)
  with pytest.raises(ValueError, match=r"pose2d: expected shape \(N, 17, 2\) "
                     r"with N=4 \(as in the other arguments\), got "
                     r"\(5, 17, 2\)"):
    checks.check_array("pose2d", np.zeros((5, 17, 2)), ("N", 17, 2),
                       sizes=sizes)
  with pytest.raises(ValueError, match=r"pose2d: expected shape \(N, 17, 2\), "
                     r"got \(4, 16, 2\)"):
    checks.check_array("pose2d", np.zeros((4, 16, 2)), ("N", 17, 2))
