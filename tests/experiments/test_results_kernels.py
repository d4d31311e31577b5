"""The README rows of experiments/diffpose_kernels.py's JSON: one per model
and 2D, or per M over the models of several seeds, read from the JSON."""
import json

from experiments import results_diffpose


def _workdir(m, shift=0.0, offsets=None, name="runs/w"):
  offsets = offsets or [10.0 * k for k in range(m)]
  return dict(num_kernels=m, workdir=name, encoder=dict(mpjpe_mm=80.0),
              per_kernel=[dict(mean_of_n_mpjpe_mm=90.0 + k + shift) for k in range(m)],
              kernels=[dict(mean_3d_mm=o) for o in offsets],
              versus_n=[dict(num_hypotheses=h, mean_of_n_mpjpe_mm=100.0 - h + shift)
                        for h in (1, 5, 20)],
              oracle=dict(best_kernel_after_the_fact=dict(mean_of_n_mpjpe_mm=70.0 + shift)))


def _write(root, rel, data):
  path = root / rel
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(json.dumps(data))


def test_kernel_rows(tmp_path):
  assert results_diffpose._kernel_lines(tmp_path) == []
  _write(tmp_path, results_diffpose.KERNELS[0][1],
         dict(workdirs=[_workdir(5), _workdir(1)]))
  text = "\n".join(results_diffpose._kernel_lines(tmp_path))
  assert ("| exact 2D | M = 5 | 1 | 80.0 | 99.0 / 95.0 / 80.0 | 90.0, 91.0, 92.0, "
          "93.0, 94.0 | 0, 10, 20, 30, 40 | 70.0 |") in text
  assert "| exact 2D | M = 1 | 1 | 80.0 | 99.0 / 95.0 / 80.0 | 90.0 | 0 | 70.0 |" in text
  assert "M5_WORKDIR,M1_WORKDIR" in text  # no name: the generic command


def test_seeds_are_one_row_per_m_with_kernels_lined_up_by_offset(tmp_path):
  _write(tmp_path, results_diffpose.KERNELS[0][1],
         dict(name="one", workdirs=[_workdir(5), _workdir(1)]))
  # Seed 1's fit lists its kernels in another order: by offset, its kernel
  # 0 (offset 30) is the fourth, as seed 0's kernel 3 is.
  seeds = [_workdir(2, 0.0, [0.0, 30.0], "runs/m2_s0"), _workdir(1, 0.0, None, "runs/m1_s0"),
           _workdir(2, 2.0, [30.0, 10.0], "runs/m2_s1"), _workdir(1, 2.0, None, "runs/m1_s1")]
  for w in seeds:
    w["settings"] = dict(overrides={"data.test_2d": "noisy"})
  _write(tmp_path, results_diffpose.KERNELS[0][2], dict(name="seeds", workdirs=seeds))
  text = "\n".join(results_diffpose._kernel_lines(tmp_path))
  assert "| exact 2D | M = 5 |" not in text  # the one-model file is replaced
  # By offset, seed 0: (90, 0), (91, 30); seed 1: (93, 10), (92, 30).
  assert ("| exact 2D | M = 2 | 2 | 80.0 | 100.0 ± 1.4 / 96.0 ± 1.4 / 81.0 ± 1.4 "
          "| 91.5, 91.5 | 5, 30 | 71.0 ± 1.4 |") in text
  assert "| exact 2D | M = 1 | 2 | 80.0 | 100.0 ± 1.4 / 96.0 ± 1.4" in text
  assert ("--workdirs=runs/m2_s0,runs/m1_s0,runs/m2_s1,runs/m1_s1 --name=seeds "
          "--set=data.test_2d=noisy`") in text
  # Seed 0: 96.0 against 96.0; seed 1: 98.0 against 98.0 (the same shifts).
  assert ("Seed by seed (the i-th mixture model beside the i-th M = 1, trained with "
          "the same seed): with exact 2D M = 1's mean of 5 is below M = 2's on 0 of "
          "2 seeds, by 0.0, 0.0 mm.") in text
