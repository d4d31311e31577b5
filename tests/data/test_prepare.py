"""`prepare` on trees with bad files, and caches that survive interruption.

Small synthetic BVH files (the Bandai-like rig of test_mocap) stand in for
the publishers' trees: good clips beside an all-NaN one, a truncated one, one
lacking a joint the rig needs and one with another body tree.
"""
import os

import numpy as np
import pytest

from experiments import prepare
from jaxpose import files
from jaxpose.data import mocap_cache, mocap_conversion, mocap_protocol
from tests.data.test_mocap import make_bvh, random_frames, rest_frames


def _all_nan():
  frames = random_frames(4)
  frames[:] = np.nan
  return make_bvh(frames)


def _gap():  # one lost frame in a good take
  frames = random_frames(4, seed=3)
  frames[1, 10] = np.nan
  return make_bvh(frames)


def _truncated():  # 'Frames: 4' but the last two rows are cut off
  return "\n".join(make_bvh(random_frames(4)).splitlines()[:-2]) + "\n"


def _missing_joint():  # no Toes_R (its channels are the last three)
  return make_bvh(rest_frames()[:, :-3], drop=("Toes_R",))


def _other_body():  # every joint the rig maps is there, but the chain differs
  return make_bvh(random_frames(4, seed=4)).replace("JOINT Spine\n", "JOINT Spine1\n")


BAD = {  # file -> what its reason must say
    "d_all_nan.bvh": (_all_nan, "d_all_nan.bvh: all 4 frames have a NaN/inf channel"),
    "e_truncated.bvh": (_truncated, "expected 4 frame rows (as 'Frames' says), found 2"),
    "f_missing_joint.bvh": (_missing_joint, "'Toes_R' (for facing direction)"),
    "g_other_body.bvh": (_other_body, "body joints differ from the other files'"),
}
_DATA = "Bandai-Namco-Research-Motiondataset-1/data"


def _tree(root, good=("a_good.bvh", "b_good.bvh"), gap=True, bad=tuple(BAD)):
  data = root / _DATA
  data.mkdir(parents=True)
  for k, name in enumerate(good):
    (data / name).write_text(make_bvh(random_frames(4, seed=k)))
  if gap:
    (data / "c_gap.bvh").write_text(_gap())
  for name in bad:
    (data / name).write_text(BAD[name][0]())
  return root


def _main(src, out, *flags):
  return prepare.main(["--dataset=bandai", f"--src={src}", f"--out={out}",
                       "--no_progress", *flags])


@pytest.mark.parametrize("workers", [1, 2])
def test_prepare_converts_good_files_and_names_every_bad_one(tmp_path, capsys, workers):
  src, out = _tree(tmp_path / "src"), tmp_path / "bandai.npz"
  assert _main(src, out, f"--workers={workers}") == 0
  text = capsys.readouterr().out
  assert "3/7 files" in text and f"wrote {out}" in text
  for name, (_, reason) in BAD.items():
    line, = [l for l in text.splitlines() if f"skipped {_DATA}/{name}:" in l]
    assert reason in line, line
  # Lost frames are dropped from a good clip, with a warning.
  assert (f"warning {_DATA}/c_gap.bvh: dropped 1 of 4 frames with a NaN/inf "
          "channel") in text
  cache = mocap_cache.load_cache(out)
  assert [os.path.basename(n) for n in cache["clip_names"]] == [
      "a_good.bvh", "b_good.bvh", "c_gap.bvh"]
  assert cache["pose17"].shape == (4 + 4 + 3, 17, 3)
  assert np.isfinite(cache["pose17"]).all() and np.isfinite(cache["rotvec"]).all()
  np.testing.assert_array_equal(cache["frame"][-3:], [0, 2, 3])


def test_strict_fails_on_the_first_bad_file_and_writes_nothing(tmp_path, capsys):
  src, out = _tree(tmp_path / "src"), tmp_path / "bandai.npz"
  assert _main(src, out, "--workers=1", "--strict") == 1
  err = capsys.readouterr().err
  assert "d_all_nan.bvh: ValueError: d_all_nan.bvh: all 4 frames" in err
  assert "--strict" in err and "Traceback" not in err and not out.exists()
  # A body unlike the others' is found once all files are read; still fatal.
  src2 = _tree(tmp_path / "src2", gap=False, bad=("g_other_body.bvh",))
  with pytest.raises(mocap_conversion.ConversionError, match="g_other_body.bvh: body joints"):
    mocap_conversion.convert_tree("bandai", src2, workers=1, progress=False, strict=True)


@pytest.mark.parametrize("strict", [False, True])
def test_when_every_file_fails_each_reason_is_listed(tmp_path, capsys, strict):
  bad = ("d_all_nan.bvh", "e_truncated.bvh", "f_missing_joint.bvh")
  src, out = _tree(tmp_path / "src", good=(), gap=False, bad=bad), tmp_path / "x.npz"
  assert _main(src, out, "--workers=1", *["--strict"] * strict) == 1
  err = capsys.readouterr().err
  assert not out.exists() and "Traceback" not in err
  for name in bad[:1] if strict else bad:
    assert name in err and BAD[name][1] in err
  if not strict:
    assert "none of the 3 .bvh files" in err


def test_the_list_of_reasons_is_bounded(tmp_path):
  data = tmp_path / _DATA
  data.mkdir(parents=True)
  for k in range(12):
    (data / f"t{k:02d}.bvh").write_text(_truncated())
  with pytest.raises(mocap_conversion.ConversionError) as e:
    mocap_conversion.convert_tree("bandai", tmp_path, workers=1, progress=False)
  message = str(e.value)
  assert "t09.bvh" in message and "t10.bvh" not in message
  assert message.endswith("... and 2 more")


def test_an_unexpected_error_is_tied_to_its_file(tmp_path, monkeypatch):
  src = _tree(tmp_path / "src", gap=False, bad=())
  convert = mocap_conversion.convert_clip

  def fragile(motion, rig, **kw):
    if motion.source == "b_good.bvh":
      raise IndexError("index -1 is out of bounds for axis 0 with size 0")
    return convert(motion, rig, **kw)

  monkeypatch.setattr(mocap_conversion, "convert_clip", fragile)
  arrays, summary = mocap_conversion.convert_tree("bandai", src, workers=1, progress=False)
  (path, why), = summary["skipped"]
  assert path.endswith("b_good.bvh") and why.startswith("unexpected IndexError")
  assert "b_good.bvh" in why and summary["converted"] == 1


def test_bad_stride_is_one_message(tmp_path, capsys):
  src = _tree(tmp_path / "src", gap=False, bad=())
  assert _main(src, tmp_path / "x.npz", "--workers=1", "--stride=0") == 1
  assert "stride: expected a positive int, got 0" in capsys.readouterr().err


# ----------------------------------------------------------------------------
# Caches


def test_interrupted_cache_write_keeps_the_previous_cache(tmp_path, monkeypatch):
  src, out = _tree(tmp_path / "src", bad=()), tmp_path / "bandai.npz"
  assert _main(src, out, "--workers=1") == 0
  before = out.read_bytes()
  savez = np.savez

  def interrupted(f, **arrays):  # half a file, then Ctrl-C
    f.write(b"PK\x03\x04 half a zip")
    raise KeyboardInterrupt

  monkeypatch.setattr(np, "savez", interrupted)
  with pytest.raises(KeyboardInterrupt):
    _main(src, out, "--workers=1")
  monkeypatch.setattr(np, "savez", savez)
  assert out.read_bytes() == before
  assert mocap_cache.load_cache(out)["pose17"].shape == (11, 17, 3)
  assert sorted(os.listdir(tmp_path)) == ["bandai.npz", "src"]  # no temporary left


def test_truncated_or_empty_cache_is_named_with_the_fix(tmp_path):
  good = tmp_path / "good.npz"
  arrays = dict(version=np.int32(mocap_cache.CACHE_VERSION),
                pose17=np.ones((5, 17, 3), np.float32))
  assert mocap_cache.save_cache(good, arrays) == str(good)
  cmu = tmp_path / "cmu.npz"
  for content in (b"", good.read_bytes()[:len(good.read_bytes()) // 2]):
    cmu.write_bytes(content)
    with pytest.raises(mocap_cache.CacheError,
                       match=f"{cmu}: not a readable cache.*experiments.prepare "
                             f"--dataset=cmu .*--out={cmu}"):
      mocap_cache.load_cache(cmu)
  bandai = tmp_path / "bandai.npz"  # the protocol reads it first
  bandai.write_bytes(cmu.read_bytes())
  with pytest.raises(mocap_cache.CacheError, match=f"{bandai}.*--dataset=bandai"):
    mocap_protocol.load_protocol("jaxpose-mocap-v1", tmp_path)
  with pytest.raises(FileNotFoundError, match="nope.npz missing.*experiments.prepare"):
    mocap_cache.load_cache(tmp_path / "nope.npz")


def test_save_cache_refuses_nonfinite_arrays(tmp_path):
  pose = np.ones((3, 17, 3), np.float32)
  pose[1, 4, 2] = np.nan
  path = tmp_path / "c.npz"
  with pytest.raises(ValueError, match=r"arrays\['pose17'\]: non-finite values \(NaN or inf\) in 1 of 3 rows: 1 "):
    mocap_cache.save_cache(path, dict(version=np.int32(1), pose17=pose))
  assert not path.exists()


def test_write_npz_atomic_writes_exactly_the_path(tmp_path):
  path = tmp_path / "sub" / "arrays.bin"  # numpy would append '.npz'
  files.write_npz_atomic(path, dict(a=np.arange(3)), compressed=True)
  assert os.listdir(path.parent) == ["arrays.bin"]
  with np.load(path) as f:
    np.testing.assert_array_equal(f["a"], [0, 1, 2])
