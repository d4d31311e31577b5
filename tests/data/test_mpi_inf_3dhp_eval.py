"""`--config.data.name=mpi_inf_3dhp --config.data.dir=...` evaluates a model
trained elsewhere: a lifter trained on a .npz, scored on a test set in the
authors' layout (TS1 MATLAB v7.3, TS5 v5) with the protocol's PCK, AUC and
MPJPE per sequence and per activity."""
import json
import os

import numpy as np
import pytest

from jaxpose import methods
from jaxpose import run_lib
from jaxpose.data import mpi_inf_3dhp as hp
from jaxpose.evaluation import pck
from tests.data.test_mpi_inf_3dhp import write_v5, write_v73
from tests.methods.test_baseline import _npz_poses

VALID = {"TS1": [1, 1, 0, 1, 1, 1], "TS5": [1, 0, 1, 1]}
ACTIVITY = {"TS1": [1, 1, 2, 2, 7, 7], "TS5": [6, 6, 5, 5]}


def _write_test_set(root):
  """H36M-17 camera-frame poses in 3DHP's joint order, projected through
  each sequence's camera, in MATLAB's axis order."""
  truth = {}
  for i, (sequence, valid) in enumerate(VALID.items()):
    poses = _npz_poses(len(valid), seed=10 + i)  # [T, 17, 3] H36M order
    truth[sequence] = poses[np.asarray(valid, bool)]
    annot3 = np.empty_like(poses)
    annot3[:, hp.TO_H36M] = poses  # H36M joint k is 3DHP joint TO_H36M[k]
    annot2 = hp.project(annot3, hp.CAMERAS[sequence])
    to_matlab = lambda x: x.transpose(2, 1, 0)[:, :, None, :]
    arrays = dict(annot2=to_matlab(annot2), annot3=to_matlab(annot3),
                  univ_annot3=to_matlab(annot3),
                  valid_frame=np.array([valid], float),
                  activity_annotation=np.array([ACTIVITY[sequence]], float))
    folder = root / "mpi_inf_3dhp_test_set" / sequence
    folder.mkdir(parents=True)
    (write_v73 if sequence == "TS1" else write_v5)(folder / "annot_data.mat", arrays)
  return truth


@pytest.mark.slow
def test_a_lifter_trained_elsewhere_is_scored_by_the_protocol(tmp_path):
  from experiments.configs import baseline_h36m
  truth = _write_test_set(tmp_path / "3dhp")
  intr = np.array([1100.0, 1090.0, 480.0, 500.0, 960.0, 1000.0])
  np.savez(tmp_path / "train.npz", pose3d=_npz_poses(60), intrinsics=intr)
  config = baseline_h36m.get_config()
  config.data.update(name="npz", train_path=str(tmp_path / "train.npz"))
  config.model.update(hidden=32)
  config.train.update(num_steps=4, batch_size=16, log_every=2, ckpt_every=4)
  config.eval.update(plot_poses=0, lift_batch_size=8, save_predictions=True)
  workdir = str(tmp_path / "w")
  run_lib.train(config, workdir)

  eval_config = run_lib.evaluation_config(workdir, {
      "data.name": "mpi_inf_3dhp", "data.dir": str(tmp_path / "3dhp"),
      "data.sequences": "TS1,TS5"})
  results = run_lib.evaluate(eval_config, workdir)
  assert results["num_poses"] == 5 + 3  # valid frames only
  protocol = results["pck"]
  assert set(protocol["per_sequence"]) == {"TS1", "TS5"}
  assert protocol["per_sequence"]["TS1"]["num_poses"] == 5
  assert set(protocol["per_activity"]) == {
      hp.ACTIVITY_NAMES[i] for i in (1, 2, 7, 6, 5)}
  assert results["pck150"] == protocol["overall"]["pck"]
  # The figures are the protocol's on the predictions written beside them.
  out = run_lib.eval_output_dir(methods.parse(eval_config)[1], workdir)
  saved = np.load(os.path.join(out, "estimate_predictions.npz"))
  gt = np.concatenate([truth["TS1"], truth["TS5"]])
  np.testing.assert_allclose(saved["pose3d_mm"], gt - gt[:, :1], atol=1e-2)
  pred = saved["hypotheses_mm"].mean(axis=0)
  again = pck.protocol_metrics(pred, saved["pose3d_mm"])["overall"]
  assert again["pck"] == pytest.approx(results["pck150"])
  assert again["auc"] == pytest.approx(results["auc"])
  assert again["mpjpe_mm"] == pytest.approx(results["mpjpe_mm"], rel=1e-4)
  assert json.loads(open(os.path.join(out, "estimate.json")).read()) == results
