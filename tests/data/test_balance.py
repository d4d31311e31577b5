"""Training batches balanced across sources: per-row sampling weights
(`pipeline.ArrayDataset(weights=...)`, `pipeline.balanced_weights`) and the
mocap dataset's `train_balance` option."""
import numpy as np
import pytest

from jaxpose.data import mocap_cache, mocap_dataset, pipeline, synthetic_poses


def _two_sources(n_a=1900, n_b=100):
  source = np.array(["a"] * n_a + ["b"] * n_b)
  return {"x": np.arange(n_a + n_b), "source": source}


def _share(dataset, name, steps):
  return np.mean([np.mean(dataset.batch(s)["source"] == name) for s in steps])


def test_balanced_weights_give_each_source_half_of_the_batches():
  arrays = _two_sources()
  w = pipeline.balanced_weights(arrays["source"])
  assert w.dtype == np.float32 and w.mean() == pytest.approx(1.0)
  assert w[arrays["source"] == "a"].sum() == pytest.approx(w[arrays["source"] == "b"].sum())
  plain = pipeline.ArrayDataset(arrays, batch_size=200, seed=0)
  balanced = pipeline.ArrayDataset(arrays, batch_size=200, seed=0, weights=w)
  steps = range(40)  # 4 epochs of 10 batches
  assert _share(plain, "b", steps) == pytest.approx(0.05, abs=0.005)
  assert _share(balanced, "b", steps) == pytest.approx(0.5, abs=0.03)
  # Every batch, not only the mean, is near half and half.
  shares = [np.mean(balanced.batch(s)["source"] == "b") for s in steps]
  assert min(shares) > 0.35 and max(shares) < 0.65
  # Still a pure function of (seed, step): any order of calls, a fresh copy.
  again = pipeline.ArrayDataset(arrays, batch_size=200, seed=0, weights=w)
  first = balanced.batch(13)["x"].copy()
  balanced.batch(2)
  np.testing.assert_array_equal(balanced.batch(13)["x"], first)
  np.testing.assert_array_equal(again.batch(13)["x"], first)
  other = pipeline.ArrayDataset(arrays, batch_size=200, seed=1, weights=w)
  assert not np.array_equal(other.batch(13)["x"], first)


def test_bad_weights_are_refused():
  arrays = _two_sources(8, 2)
  for bad in (np.ones(9), -np.ones(10), np.zeros(10), np.full(10, np.nan)):
    with pytest.raises(ValueError, match="weights"):
      pipeline.ArrayDataset(arrays, batch_size=2, seed=0, weights=bad)
  with pytest.raises(ValueError, match="shuffle"):
    pipeline.ArrayDataset(arrays, batch_size=2, seed=0, weights=np.ones(10),
                          shuffle=False)


def _cache(path, subjects, frames, seed):
  n = len(subjects) * frames
  pose = synthetic_poses.generate_poses(n, seed=seed)["pose3d"].astype(np.float32)
  mocap_cache.save_cache(path, dict(
      version=np.int32(mocap_cache.CACHE_VERSION), stride=np.int32(1), pose17=pose,
      clip=np.repeat(np.arange(len(subjects), dtype=np.int32), frames),
      frame=np.tile(np.arange(frames, dtype=np.int32), len(subjects)),
      subject=np.repeat(np.arange(len(subjects), dtype=np.int16), frames),
      subject_names=np.array(subjects), clip_names=np.array([f"{s}_01" for s in subjects])))


def test_mocap_train_balance_weights_the_rigs_equally(tmp_path):
  _cache(tmp_path / "bandai.npz", ["bandai-1", "bandai-2"], 60, seed=0)
  _cache(tmp_path / "cmu.npz", ["001", "002", "003", "005", "006", "007"], 8, seed=1)
  plain = mocap_dataset.load_splits(mocap_dataset.MocapSettings(cache_dir=str(tmp_path)))
  assert pipeline.SAMPLE_WEIGHT not in plain["train"]  # the default: unchanged
  split = mocap_dataset.load_splits(mocap_dataset.MocapSettings(
      cache_dir=str(tmp_path), train_balance="rigs"))["train"]
  for key, value in plain["train"].items():
    np.testing.assert_array_equal(split[key], value, err_msg=key)  # same rows
  source = split["dataset"]
  assert np.mean(source == "cmu") == pytest.approx(16 / 136)  # CMU train stride 2
  w = split[pipeline.SAMPLE_WEIGHT]
  assert w[source == "cmu"].sum() == pytest.approx(w[source == "bandai"].sum())
  batches = pipeline.ArrayDataset({"source": source}, batch_size=32, seed=0, weights=w)
  assert _share(batches, "cmu", range(100)) == pytest.approx(0.5, abs=0.05)
  assert "test" in plain and pipeline.SAMPLE_WEIGHT not in plain["test"]

