"""Tests of the stateless batch pipeline and the normaliser."""

import numpy as np
import pytest

from jaxpose.data.pipeline import ArrayDataset


def _arrays(n=103):
  return {"x": np.arange(n, dtype=np.int64),
          "y": np.arange(n * 6, dtype=np.float32).reshape(n, 3, 2)}


def test_deterministic_and_fixed_shapes():
  a = ArrayDataset(_arrays(), batch_size=10, seed=3)
  b = ArrayDataset(_arrays(), batch_size=10, seed=3)
  assert a.steps_per_epoch == 10 and a.num_examples == 103
  for step in (0, 7, 25, 1000):
    ba, bb = a.batch(step), b.batch(step)
    np.testing.assert_array_equal(ba["x"], bb["x"])
    assert ba["x"].shape == (10,) and ba["y"].shape == (10, 3, 2)
    np.testing.assert_array_equal(ba["y"][:, 0, 0], ba["x"] * 6)  # rows aligned
  # Random access is a pure function of the step (order of calls irrelevant).
  first = a.batch(3)["x"].copy()
  a.batch(57)
  np.testing.assert_array_equal(a.batch(3)["x"], first)
  c = ArrayDataset(_arrays(), batch_size=10, seed=4)
  assert not np.array_equal(c.batch(0)["x"], a.batch(0)["x"])


def test_every_example_once_per_epoch_and_reshuffle():
  ds = ArrayDataset(_arrays(100), batch_size=10, seed=0)
  epochs = []
  for e in range(2):
    seen = np.concatenate([ds.batch(e * 10 + s)["x"] for s in range(10)])
    np.testing.assert_array_equal(np.sort(seen), np.arange(100))
    epochs.append(seen)
  assert not np.array_equal(epochs[0], epochs[1])


def test_drop_remainder_false_pads_with_mask():
  ds = ArrayDataset(_arrays(25), batch_size=10, seed=0, drop_remainder=False)
  assert ds.steps_per_epoch == 3
  batches = [ds.batch(s) for s in range(3)]
  assert all(b["x"].shape == (10,) for b in batches)
  valid = np.concatenate([b["valid"] for b in batches])
  seen = np.concatenate([b["x"] for b in batches])[valid]
  assert valid.sum() == 25
  np.testing.assert_array_equal(np.sort(seen), np.arange(25))


def test_unshuffled_order():
  ds = ArrayDataset(_arrays(20), batch_size=5, seed=0, shuffle=False)
  np.testing.assert_array_equal(ds.batch(5)["x"], np.arange(5, 10))


def test_process_shares_partition_global_batch():
  ds = ArrayDataset(_arrays(), batch_size=12, seed=1)
  for step in (0, 9):
    full = ds.batch(step)["x"]
    parts = [ds.batch(step, process_index=i, process_count=4)["x"]
             for i in range(4)]
    assert all(p.shape == (3,) for p in parts)
    np.testing.assert_array_equal(np.concatenate(parts), full)


def test_errors():
  with pytest.raises(ValueError, match="leading dimensions"):
    ArrayDataset({"a": np.zeros(5), "b": np.zeros(6)}, batch_size=2, seed=0)
  with pytest.raises(ValueError, match="larger than the dataset"):
    ArrayDataset(_arrays(5), batch_size=6, seed=0)
  ds = ArrayDataset(_arrays(), batch_size=10, seed=0)
  with pytest.raises(ValueError, match="does not divide"):
    ds.batch(0, process_count=3)
  with pytest.raises(ValueError, match="process_index"):
    ds.batch(0, process_index=2, process_count=2)
  with pytest.raises(ValueError, match="batch_size"):
    ArrayDataset(_arrays(), batch_size=0, seed=0)
