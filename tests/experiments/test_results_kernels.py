"""The README rows of experiments/diffpose_kernels.py's JSON: one per model
and 2D, figures read from the JSON."""
import json

from experiments import results_diffpose


def _workdir(m):
  return dict(num_kernels=m, encoder=dict(mpjpe_mm=80.0),
              per_kernel=[dict(mean_of_n_mpjpe_mm=90.0 + k) for k in range(m)],
              kernels=[dict(mean_3d_mm=10.0 * k) for k in range(m)],
              versus_n=[dict(num_hypotheses=h, mean_of_n_mpjpe_mm=100.0 - h)
                        for h in (1, 5, 20)],
              oracle=dict(best_kernel_after_the_fact=dict(mean_of_n_mpjpe_mm=70.0)))


def test_kernel_rows(tmp_path):
  assert results_diffpose._kernel_lines(tmp_path) == []
  path = tmp_path / results_diffpose.KERNELS[0][1]
  path.parent.mkdir(parents=True)
  path.write_text(json.dumps(dict(workdirs=[_workdir(5), _workdir(1)])))
  text = "\n".join(results_diffpose._kernel_lines(tmp_path))
  assert ("| exact 2D | M = 5 | 80.0 | 99.0 / 95.0 / 80.0 | 90.0, 91.0, 92.0, "
          "93.0, 94.0 | 0, 10, 20, 30, 40 | 70.0 |") in text
  assert "| exact 2D | M = 1 | 80.0 | 99.0 / 95.0 / 80.0 | 90.0 | 0 | 70.0 |" in text
