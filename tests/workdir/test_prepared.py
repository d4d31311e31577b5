"""Prepared artefacts: stored with digests, read back exactly, refused when
changed or made from other settings."""
import json

import numpy as np
import pytest

from jaxpose.workdir import prepared


def _artefacts():
  return {"stats": prepared.Artefact(
      arrays={"mean": np.arange(4, dtype=np.float32),
              "rows": np.array([3, 1], np.int64)},
      info={"rows": 2})}


def test_round_trip_keeps_arrays_digests_and_settings(tmp_path):
  made_from = {"holdout.seed": 0, "data.n_train": 10}
  index = prepared.save(str(tmp_path), _artefacts(), made_from)
  loaded, on_disk = prepared.load(str(tmp_path))
  assert on_disk == index == json.loads(
      (tmp_path / "prepared" / "index.json").read_text())
  np.testing.assert_array_equal(loaded["stats"]["mean"], np.arange(4))
  assert loaded["stats"]["rows"].dtype == np.int64
  assert loaded["stats"].digest() == _artefacts()["stats"].digest()
  assert prepared.digests(loaded) == {"stats": index["artefacts"]["stats"]["digest"]}
  assert loaded["stats"].info == {"rows": 2}
  prepared.check_made_from(str(tmp_path), index, made_from)


def test_digest_sees_values_dtypes_and_shapes():
  base = _artefacts()["stats"]
  for arrays in ({"mean": np.arange(4, dtype=np.float64), "rows": base["rows"]},
                 {"mean": base["mean"] + 1, "rows": base["rows"]},
                 {"mean": base["mean"].reshape(2, 2), "rows": base["rows"]}):
    assert prepared.Artefact(arrays).digest() != base.digest()


def test_other_settings_and_changed_files_are_refused(tmp_path):
  index = prepared.save(str(tmp_path), _artefacts(), {"holdout.seed": 0})
  with pytest.raises(prepared.PreparedError,
                     match="prepared from other settings .*holdout.seed: 0 "
                           "there, 1 here"):
    prepared.check_made_from(str(tmp_path), index, {"holdout.seed": 1})
  np.savez(tmp_path / "prepared" / "stats.npz", mean=np.zeros(4, np.float32),
           rows=np.array([3, 1]))
  with pytest.raises(prepared.PreparedError, match="stats.npz has changed"):
    prepared.load(str(tmp_path))
  (tmp_path / "prepared" / "stats.npz").write_bytes(b"not a zip")
  with pytest.raises(prepared.PreparedError, match="stats.npz cannot be read"):
    prepared.load(str(tmp_path))


def test_a_missing_index_says_why(tmp_path):
  with pytest.raises(prepared.PreparedError, match="train this workdir first"):
    prepared.load(str(tmp_path))
  (tmp_path / "checkpoints").mkdir()
  with pytest.raises(prepared.PreparedError,
                     match="trained before jaxpose kept"):
    prepared.load(str(tmp_path))


def test_a_broken_index_is_named_with_the_way_out(tmp_path):
  prepared.save(str(tmp_path), _artefacts(), {"holdout.seed": 0})
  (tmp_path / "prepared" / "index.json").write_text("{")
  with pytest.raises(prepared.PreparedError,
                     match=r"index\.json cannot be read .*delete the "
                           r"workdir's prepared/ folder"):
    prepared.read_index(str(tmp_path))


def test_a_key_left_out_when_prepared_had_its_default(tmp_path):
  """Workdirs prepared from a config without the key recorded None: it had
  the default then, so the typed default matches and another value not."""
  index = prepared.save(str(tmp_path), _artefacts(), {"holdout.fraction": None})
  prepared.check_made_from(str(tmp_path), index, {"holdout.fraction": 0.0},
                           defaults={"holdout.fraction": 0.0})
  with pytest.raises(prepared.PreparedError, match="holdout.fraction: 0.0 there, 0.1 here"):
    prepared.check_made_from(str(tmp_path), index, {"holdout.fraction": 0.1},
                             defaults={"holdout.fraction": 0.0})


def test_a_key_added_after_preparing_reads_as_its_default(tmp_path):
  """A data key added since (not recorded at all) had its default then; a
  default for a key this side does not use changes nothing."""
  index = prepared.save(str(tmp_path), _artefacts(), {"holdout.seed": 0})
  defaults = {"data.train_bodies": 0.0, "data.unused": 3}
  prepared.check_made_from(str(tmp_path), index,
                           {"holdout.seed": 0, "data.train_bodies": 0.0},
                           defaults=defaults)
  with pytest.raises(prepared.PreparedError,
                     match="data.train_bodies: 0.0 there, 0.5 here"):
    prepared.check_made_from(str(tmp_path), index,
                             {"holdout.seed": 0, "data.train_bodies": 0.5},
                             defaults=defaults)
