"""The torch.save reader: tensors of every dtype and layout, without torch
in the reading, and one-line errors for damaged or foreign files."""
import collections
import pickle
import zipfile

import numpy as np
import pytest

from jaxpose.interop import torch_files


def test_not_a_checkpoint(tmp_path):
  path = tmp_path / "notes.pth"
  path.write_text("hello")
  with pytest.raises(torch_files.TorchFileError, match="not a torch checkpoint"):
    torch_files.load(path)
  with pytest.raises(FileNotFoundError, match="no such checkpoint file"):
    torch_files.load(tmp_path / "absent.pth")


def test_zip_without_pickle(tmp_path):
  path = tmp_path / "a.zip"
  with zipfile.ZipFile(path, "w") as z:
    z.writestr("x/readme.txt", "no pickle here")
  with pytest.raises(torch_files.TorchFileError, match="data.pkl"):
    torch_files.load(path)


def test_unknown_classes_are_kept_inert(tmp_path):
  # A pickle naming a class this reader does not know (as a Lightning
  # checkpoint's hyper-parameters do) is read as a record, never imported.
  class Marker:  # stands for any foreign class
    def __reduce__(self):
      return (print, ("this must not run",))

  path = tmp_path / "foreign.pth"
  with zipfile.ZipFile(path, "w") as z:
    z.writestr("foreign/data.pkl", pickle.dumps({"hp": Marker(), "step": 3},
                                                protocol=2))
  out = torch_files.load(path)
  assert out["step"] == 3
  assert isinstance(out["hp"], torch_files.Opaque)
  assert out["hp"].name.endswith(".print")
  assert out["hp"].args == ("this must not run",)


@pytest.fixture
def saved(tmp_path):
  torch = pytest.importorskip("torch")
  g = torch.Generator().manual_seed(0)
  state = collections.OrderedDict(
      weight=torch.randn(4, 3, generator=g),
      transposed=torch.randn(3, 5, generator=g).t(),  # non-contiguous
      sliced=torch.randn(10, generator=g)[3:7],  # storage offset
      half=torch.randn(3, generator=g).half(),
      bf16=torch.randn(3, generator=g).bfloat16(),
      long=torch.arange(6).reshape(2, 3),
      flags=torch.tensor([True, False]),
      scalar=torch.tensor(2.5, dtype=torch.float64),
      param=torch.nn.Parameter(torch.randn(2, generator=g)))
  shared = torch.randn(6, generator=g)
  obj = {"state_dict": state, "step": 12, "names": ["a", "b"],
         "views": (shared[:3], shared[3:]),
         "array": np.arange(4.0)}
  path = tmp_path / "ckpt.pth"
  torch.save(obj, path)
  return torch, obj, path


def test_reads_what_torch_saved(saved):
  torch, obj, path = saved
  out = torch_files.load(path)
  for k, v in obj["state_dict"].items():
    want = v.detach().float().numpy() if v.dtype == torch.bfloat16 \
        else v.detach().numpy()
    got = out["state_dict"][k]
    assert got.shape == want.shape and got.dtype == want.dtype, k
    np.testing.assert_array_equal(got, want, err_msg=k)
  assert out["step"] == 12 and out["names"] == ["a", "b"]
  np.testing.assert_array_equal(out["views"][1], obj["views"][1].numpy())
  np.testing.assert_array_equal(out["array"], obj["array"])


def test_truncated_file_is_named(saved, tmp_path):
  _, _, path = saved
  data = path.read_bytes()
  for cut in (len(data) // 3, len(data) - 200):
    bad = tmp_path / f"cut{cut}.pth"
    bad.write_bytes(data[:cut])
    with pytest.raises(torch_files.TorchFileError, match=str(bad.name)):
      torch_files.load(bad)


def test_legacy_format_through_torch(tmp_path):
  torch = pytest.importorskip("torch")
  path = tmp_path / "legacy.pth"
  torch.save({"w": torch.ones(2, 2)}, path, _use_new_zipfile_serialization=False)
  out = torch_files.load(path)
  np.testing.assert_array_equal(out["w"], np.ones((2, 2), np.float32))
